-- lock_expired: create the instance lock file, then stop postgres (the supervisor keeps it down)
--
-- Also serves lock_stop_instance / stop_instance. Order matters: the lock file exists
-- before the postmaster exits, so the supervisor never restarts it. Idempotent.

local instance = require("instance")
local p = instance.open {
  shutdown_mode = {type = "string", default = "fast", enum = {"smart", "fast", "immediate"}, desc = "pg_ctl stop mode"},
  timeout = instance.timeout("seconds to wait for the shutdown"),
}

local lock <close> = instance.exclusive(p)
log.info("lock_expired: lock file " .. p.lock_path)
lock_file(p.lock_path)
log.info("lock_expired: stopping postgres (" .. p.shutdown_mode .. ")")
local r = pg_ctl("stop", instance.ctl(p, {mode = p.shutdown_mode, timeout = p.timeout}))
log.info(polarrun.dry_run and "would lock and stop the instance"
  or ("instance locked and " .. (r.changed and "stopped" or "already stopped")))
return {locked = not polarrun.dry_run, stopped = r.changed}
