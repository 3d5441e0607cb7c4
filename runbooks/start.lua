-- start: start the instance with pg_ctl (success when it already runs)
--
-- Refuses while the instance lock file (lock_expired) exists: remove it with
-- unlock_expired, and under the supervisor let it start postgres.

local instance = require("instance")
local p = instance.inputs {
  timeout = {type = "integer", default = 60, desc = "seconds to wait for the server to accept connections"},
  logfile = {type = "string", desc = "server output before the logging collector takes over (default: <pgdata>/pg_log/startup.log)"},
}
if p.timeout <= 0 then raise("usage", "timeout must be positive") end
if not fs.is_dir(p.pgdata) then raise("usage", "pgdata " .. p.pgdata .. " is not a directory") end

local lock <close> = instance.exclusive(p)
if fs.exists(p.lock_path) then
  raise("locked", "the instance is locked by " .. p.lock_path .. " (lock_expired): run unlock_expired")
end
local logfile = p.logfile
if not logfile then
  fs.mkdir(p.pgdata .. "/pg_log", {mode = "0700", owner = p.db_user})
  logfile = p.pgdata .. "/pg_log/startup.log"
end
log.info("starting the instance in " .. p.pgdata)
local r = pg_ctl("start", instance.ctl(p, {timeout = p.timeout, logfile = logfile}))
log.info(r.changed and "started" or "already running")
return {changed = r.changed, running = r.running}
