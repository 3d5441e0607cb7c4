-- unlock_expired: remove the instance lock file; the supervisor then starts postgres
--
-- Also serves unlock_start_instance / start_instance. With wait > 0, waits that many
-- seconds for the instance to accept connections (the supervisor must be running). Idempotent.

local instance = require("instance")
local p = instance.open {
  wait = {type = "integer", default = 0, desc = "seconds to wait for the supervisor to bring the instance up (0: do not wait)"},
}
if p.wait < 0 then polarrun.raise("usage", "wait must be >= 0") end

local lock <close> = instance.exclusive(p)
local removed = fs.unlock_file(p.lock_path)
log.info(removed and polarrun.dry_run and ("would remove " .. p.lock_path)
  or removed and ("removed " .. p.lock_path .. "; the supervisor starts the instance")
                  or (p.lock_path .. " was not there: nothing to do"))
if p.wait > 0 then
  -- up means it answers a query: a postmaster that exists may still be starting (recovery)
  polarrun.wait_until(function() return (pcall(sql, "select 1", {}, instance.conn(p, {connect_timeout = 2}))) end, p.wait, 0.25)
  log.info("the instance accepts connections")
end
return {unlocked = removed}
