-- backup_start: start a non-exclusive backup (PolarDB Stack backup/pre_action); prints one-line JSON {"status","msg",...}
--
-- Starts backup_session in the background (it holds the backup's session) and waits until the
-- backup has started. Prints {"status":"success","msg":...,"start_lsn":...}; on failure
-- {"status":"failed","msg":...} and exits 1. End it with backup_stop (post_action).
local instance = require("instance")
local backup = require("stack_backup")
local p = instance.inputs {
  label = {type = "string", default = "polarrun stack backup"},
  timeout = {type = "integer", default = 600, desc = "seconds to wait for the backup to start (checkpoint)"},
}
local state = backup.state_dir(p)
local answer = backup.answer
local lock <close> = instance.exclusive(p)
if fs.exists(state .. "/started.json") and not fs.exists(state .. "/stopped.json") then
  answer("failed", "a backup is already in progress (" .. state .. ")")
  polarrun.raise("refused", "a backup is already in progress")
end
fs.remove(state, {recursive = true})
fs.mkdir(state, {mode = "0700"})
-- detached: the session must outlive this run (backup_stop ends it)
proc.spawn({polarrun.executable, "--log-stdout", "backup_session",
            "pgdata=" .. p.pgdata, "port=" .. p.port, "state_dir=" .. state, "label=" .. p.label},
           {detach = true, output = state .. "/session.log"})
if polarrun.dry_run then   -- the session was listed, not started: nothing to wait for
  answer("success", "dry run: would start a backup")
  return {would_start = true}
end
local ok, err = pcall(polarrun.wait_until, function()
  return fs.exists(state .. "/started.json") or fs.exists(state .. "/error")
end, p.timeout, 0.1)
if ok and fs.exists(state .. "/started.json") then
  local s = json.decode(fs.read(state .. "/started.json"))
  answer("success", "backup started at " .. s.start_lsn, {start_lsn = s.start_lsn})
  return s
end
local why = fs.read(state .. "/error") or tostring(err)
answer("failed", (why:gsub("%s+$", "")))
polarrun.raise("backup", "the backup did not start: " .. why)
