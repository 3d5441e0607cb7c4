-- backup_start / backup_stop (PolarDB Stack backup pre/post_action) against the test cluster:
-- backup_start leaves backup_session running detached (proc.spawn{detach = true}), and it holds
-- the backup until backup_stop asks it to end.

test("backup_start starts a backup that a detached session holds; backup_stop ends it", function()
  local started = polarrun.call("backup_start", {pgdata = cluster.pgdata, port = cluster.port, timeout = 60})
  assert(started.start_lsn and started.start_lsn:match("^%x+/%x+$"), tostring(started.start_lsn))
  local state = cluster.pgdata .. "/pgsql_tmp.polarrun_backup"
  assert(fs.exists(state .. "/session.log"), "the session's output file")
  local rows = sql("select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and state is not null")
  assert(rows[1].n >= 1)
  local stopped = polarrun.call("backup_stop", {pgdata = cluster.pgdata, port = cluster.port, timeout = 60})
  assert(stopped.stop_lsn, "stop_lsn")
  assert(not fs.exists(state), "the state directory is removed")
end)
