-- stop: stop the instance with pg_ctl (success when it is already stopped)
--
-- Does not create the instance lock: under the supervisor a clean stop is followed by a
-- restart; use lock_expired to keep it down.

local instance = require("instance")
local p = instance.open {
  mode = {type = "string", default = "fast", enum = {"smart", "fast", "immediate"}, desc = "shutdown mode"},
  timeout = instance.timeout("seconds to wait for the shutdown"),
}

local lock <close> = instance.exclusive(p)
log.info("stopping the instance in " .. p.pgdata .. " (" .. p.mode .. ")")
-- Wait for the postmaster we signal to exit, not for postmaster.pid to vanish: under the
-- supervisor a new postmaster may already be starting (pg_ctl -w would then wait it out).
local pid = instance.postmaster_pid(p)
local visible = pid and fs.exists("/proc/" .. pid)   -- not when postgres runs in another PID namespace
local r = pg_ctl("stop", instance.ctl(p, {mode = p.mode, timeout = p.timeout, wait = false}))
if r.changed and pid and not polarrun.dry_run then   -- a dry run signalled nothing
  polarrun.wait_until(function()
    if visible then return not fs.exists("/proc/" .. pid) end
    return instance.postmaster_pid(p) ~= pid           -- its pid file gone, or a new postmaster's
  end, p.timeout, 0.1)
end
local now = instance.postmaster_pid(p)
log.info(not r.changed and "already stopped" or polarrun.dry_run and "would stop it"
  or (now and now ~= pid) and ("stopped; the supervisor started it again (pid " .. now .. ")") or "stopped")
return {changed = r.changed, running = now ~= nil and now ~= pid}
