-- start: start the instance with pg_ctl (success when it already runs)
--
-- Refuses while the instance lock file (lock_expired) exists: remove it with
-- unlock_expired, and under the supervisor let it start postgres.

local instance = require("instance")
local p = instance.open {
  timeout = instance.timeout("seconds to wait for the server to accept connections"),
  logfile = {type = "string", desc = "server output before the logging collector takes over (default: <pgdata>/pg_log/startup.log)"},
}

local lock <close> = instance.exclusive(p)
instance.refuse_if_locked(p)
local logfile = instance.startup_log(p, p.logfile)
log.info("starting the instance in " .. p.pgdata)
local r = pg_ctl("start", instance.ctl(p, {timeout = p.timeout, logfile = logfile}))
log.info(not r.changed and "already running" or polarrun.dry_run and "would start it" or "started")
return {changed = r.changed, running = r.running}
