-- backup_stop: stop the backup backup_start began (PolarDB Stack backup/post_action); prints one-line JSON {"status","msg",...}
local instance = require("instance")
local backup = require("stack_backup")
local p = instance.inputs {
  timeout = {type = "integer", default = 600, desc = "seconds to wait for the backup to stop (WAL archived)"},
}
local state = backup.state_dir(p)
local answer = backup.answer
local lock <close> = instance.exclusive(p)
if not fs.exists(state .. "/started.json") then
  answer("failed", "no backup in progress")
  polarrun.raise("refused", "no backup in progress (backup/pre_action first)")
end
fs.write(state .. "/stop", "stop requested by run " .. polarrun.run_id .. "\n")
if polarrun.dry_run then   -- the session never sees a request only the dry run's overlay holds
  answer("success", "dry run: would stop the backup")
  return {would_stop = true}
end
local ok, err = pcall(polarrun.wait_until, function()
  return fs.exists(state .. "/stopped.json") or fs.exists(state .. "/error")
end, p.timeout, 0.1)
if ok and fs.exists(state .. "/stopped.json") then
  local s = json.decode(fs.read(state .. "/stopped.json"))
  fs.remove(state, {recursive = true})
  answer("success", "backup stopped at " .. s.stop_lsn, {start_lsn = s.start_lsn, stop_lsn = s.stop_lsn})
  return s
end
local why = fs.read(state .. "/error") or tostring(err)
answer("failed", (why:gsub("%s+$", "")))
polarrun.raise("backup", "the backup did not stop: " .. why)
