-- restart: stop then start the instance (starts it when it was down)
--
-- Under the supervisor, postgres may be started again by the supervisor between the two
-- steps; the restart then succeeds once the instance runs.

local instance = require("instance")
local p = instance.open {
  mode = {type = "string", default = "fast", enum = {"smart", "fast", "immediate"}, desc = "shutdown mode"},
  timeout = instance.timeout("seconds for each of stop and start"),
  logfile = {type = "string", desc = "server output file for the start (default: <pgdata>/pg_log/startup.log)"},
}

local lock <close> = instance.exclusive(p)
instance.refuse_if_locked(p)
log.info("restart: stopping (" .. p.mode .. ")")
local stopped = pg_ctl("stop", instance.ctl(p, {mode = p.mode, timeout = p.timeout}))
local logfile = instance.startup_log(p, p.logfile)
log.info("restart: starting")
local ok, err = pcall(pg_ctl, "start", instance.ctl(p, {timeout = p.timeout, logfile = logfile}))
if not ok then
  -- the supervisor may have started it in between
  if not instance.running(p) then error(err, 0) end
  log.info("the instance was started by someone else (the supervisor)")
end
log.info(polarrun.dry_run and "would restart it" or "restarted")
return {stopped = stopped.changed, running = true}
