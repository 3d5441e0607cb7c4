-- unlock_disk_full: let ordinary users write again (undoes lock_disk_full); also prepares the lock ahead of time
--
-- Overwrites the pre-sized include file in place with no setting, reloads, and — when there
-- is room — re-creates the emergency reserve and the per-role exemptions of superusers, so
-- the next lock_disk_full works on a full disk.

local instance = require("instance")
local diskfull = require("diskfull")
local p = instance.open {
  reserve_mb = {type = "integer", default = 16, desc = "size of the emergency reserve file to re-create (0: none)"},
}
if p.reserve_mb < 0 or p.reserve_mb > 1024 then polarrun.raise("usage", "reserve_mb must be between 0 and 1024") end

local lock <close> = instance.exclusive(p)
log.info("unlock_disk_full on " .. p.pgdata)

if diskfull.prepared(p) then
  log.info("clearing " .. diskfull.include_path(p) .. " (in place)")
  fs.write_in_place(diskfull.include_path(p), diskfull.unlocked_content())
else
  diskfull.prepare(p)   -- first run: nothing was locked through the include file
end

-- a lock set directly in postgresql.conf (by the original manager) is undone too
local conf_path = instance.conf_file(p)
local v = conf.get(conf_path, "polar_force_trans_ro_non_sup")
if v and (v == "on" or v == "true" or v == "1") then
  log.info("polar_force_trans_ro_non_sup = on found in " .. conf_path .. ": turning it off")
  conf_set(conf_path, {polar_force_trans_ro_non_sup = "off"})
end

local running = instance.running(p)
if running then
  instance.reload(p)
  if not instance.engine(p).force_ro then diskfull.exempt_superusers(p) end
else
  log.info("the instance is not running: the change takes effect when it starts")
end
local reserve = diskfull.ensure_reserve(p)
log.info(polarrun.dry_run and "dry run: the disk-full lock would be OFF" or "disk-full lock is OFF")
return {locked = false, running = running, reserve = reserve}
