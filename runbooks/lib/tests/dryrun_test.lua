-- The check mode from a runbook test: polarrun.call(name, params, {dry_run = true}) returns what
-- the runbook would do (its file diffs, SQL and actions, as `--dry-run --json` shows them) and
-- changes nothing. See docs/dry-run.md.

local function args(extra)
  local a = {pgdata = cluster.pgdata, port = cluster.port, bindir = cluster.bin}
  for k, v in pairs(extra or {}) do a[k] = v end
  return a
end

local function diff_of(result, path)
  for _, w in ipairs(result.would) do
    if w.kind == "file" and w.path == path then return w.diff end
  end
end

test("refresh_params: the diff of postgresql.conf, nothing written or reloaded", function()
  local conf_path = cluster.pgdata .. "/postgresql.conf"
  local before = fs.read(conf_path)
  local loaded = sql("select pg_conf_load_time()::text as t")[1].t
  local r = polarrun.call("refresh_params", args{params = {work_mem = "12MB"}}, {dry_run = true})
  assert(r.results.work_mem.status == "would apply", r.results.work_mem.status)
  assert(r.would_summary.files == 1, r.would_summary.line)
  local diff = diff_of(r, conf_path)
  assert(diff and diff:find("\n+work_mem = 12MB\n", 1, true), tostring(diff))
  assert(fs.read(conf_path) == before, "postgresql.conf is unchanged")
  assert(sql("select pg_conf_load_time()::text as t")[1].t == loaded, "the server was not reloaded")
end)

test("create_user: the statement is listed with its password masked, and no role is made", function()
  local r = polarrun.call("create_user", args{user = "dry_app", password = "dry-run-pw-1", privilege = 1}, {dry_run = true})
  local listed
  for _, w in ipairs(r.would) do
    if w.kind == "sql" and w.what:find('CREATE ROLE "dry_app"', 1, true) then listed = w.what end
  end
  assert(listed and not listed:find("dry-run-pw-1", 1, true), tostring(listed))
  assert(#sql("select 1 from pg_roles where rolname = 'dry_app'") == 0, "no role was created")
end)
