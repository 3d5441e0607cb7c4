-- backup_session: hold a non-exclusive backup open (started by backup_start, ended by backup_stop)
--
-- A non-exclusive backup belongs to the session that started it, so this runbook runs in the
-- background: it starts the backup, writes <state_dir>/started.json, waits for
-- <state_dir>/stop, stops the backup and writes <state_dir>/stopped.json (with the backup label
-- file's contents). Errors go to <state_dir>/error.
local instance = require("instance")
local p = instance.inputs {
  state_dir = {type = "string", required = true},
  label = {type = "string", default = "polarrun"},
  max_hours = {type = "number", default = 24, desc = "give up (stop the backup) after this long"},
}
local ok, err = pcall(function()
  local c <close> = sql.connect(instance.conn(p))
  local v = c:query("select current_setting('server_version_num')::int as v")[1].v
  local start_sql = v >= 150000 and "select pg_backup_start($1, true)::text as lsn"
                                 or "select pg_start_backup($1, true, false)::text as lsn"
  local lsn = c:query(start_sql, {p.label})[1].lsn
  fs.write(p.state_dir .. "/started.json", json.encode({start_lsn = lsn, pid = polarrun.run_id}) .. "\n")
  log.info("backup started at " .. lsn .. "; waiting for " .. p.state_dir .. "/stop")
  local deadline = polarrun.now() + p.max_hours * 3600
  while not fs.exists(p.state_dir .. "/stop") and polarrun.now() < deadline do polarrun.sleep(0.2) end
  local stop_sql = v >= 150000 and "select lsn::text as lsn, labelfile from pg_backup_stop(true)"
                                or "select lsn::text as lsn, labelfile from pg_stop_backup(false, true)"
  local r = c:query(stop_sql)[1]
  fs.write(p.state_dir .. "/stopped.json", json.encode({start_lsn = lsn, stop_lsn = r.lsn, labelfile = r.labelfile}) .. "\n")
  log.info("backup stopped at " .. r.lsn)
end)
if not ok then
  fs.write(p.state_dir .. "/error", tostring(err) .. "\n")
  error(err, 0)
end
