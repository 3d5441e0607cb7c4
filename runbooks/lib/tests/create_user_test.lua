-- Runs the create_user runbook against the harness's throwaway cluster and checks pg_roles.

test("sql() reaches the test cluster", function()
  assert(cluster and cluster.pgdata, "no cluster (run without --no-cluster)")
  local rows = sql("select current_setting('port') as port")
  assert(tonumber(rows[1].port) == cluster.port, rows[1].port)
end)

test("create_user creates a login role", function()
  polarrun.call("create_user", {pgdata = cluster.pgdata, user = "harness_app", password = "Secret-123", privilege = 1})
  local rows = sql("select rolcanlogin from pg_roles where rolname = $1", {"harness_app"})
  assert(#rows == 1, "role missing")
  assert(rows[1].rolcanlogin == true)
end)
