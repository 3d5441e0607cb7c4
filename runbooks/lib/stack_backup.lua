-- stack_backup: what backup_start and backup_stop (PolarDB Stack backup/pre_action and
-- post_action) share: where the backup in progress is recorded, and the one-line JSON answer.
local M = {}

--- The directory recording the backup in progress (pgsql_tmp*: left out of base backups).
function M.state_dir(p)
  return p.pgdata .. "/pgsql_tmp.polarrun_backup"
end

--- Prints the Stack's one-line JSON {"status": ..., "msg": ..., extra...} on stdout.
function M.answer(status, msg, extra)
  local t = {status = status, msg = msg}
  for k, x in pairs(extra or {}) do t[k] = x end
  print(json.encode(t))
end

return M
