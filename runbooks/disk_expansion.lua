-- disk_expansion: grow PolarDB's shared-storage file system after the volume grew (polar_vfs_disk_expansion)
--
-- Nothing to do (success) when the instance is down, or when PolarDB keeps its shared data on a
-- local file system (storage_type=local: polar_vfs.localfs_mode; the OS grows that file system).
-- The polar_vfs extension is created when missing. On community PostgreSQL it fails with a
-- clear message.

local instance = require("instance")
local engine = require("engine")
local p = instance.inputs {
  disk = {type = "string", required = true, desc = "the shared disk's name, e.g. mapper_<volume>"},
}
if not p.disk:match("^[%w_%-%.]+$") then
  polarrun.raise("usage", "disk must be a device name (letters, digits, _ - .), got '" .. p.disk .. "'")
end

local lock <close> = instance.exclusive(p)
log.info("disk " .. p.disk)
if not instance.running(p) then
  log.info("the instance is not running: nothing to do")
  return {expanded = false, running = false}
end
local eng = instance.engine(p)
if not eng.polardb then
  polarrun.raise("unsupported", "disk_expansion is not available on this engine (" .. engine.name(eng) .. "): polar_vfs_disk_expansion() "
    .. "exists only in PolarDB for PostgreSQL (its polar_vfs extension)")
end
if not eng.shared_storage or eng.localfs then
  log.info(engine.name(eng) .. " keeps its shared data on a local file system (polar_vfs.localfs_mode): " ..
    "there is no PFS to grow; nothing to do")
  return {expanded = false, running = true, reason = "local storage"}
end
if p.disk ~= eng.polar_disk_name then
  polarrun.raise("usage", "disk " .. p.disk .. " is not this instance's shared disk (polar_disk_name = " .. tostring(eng.polar_disk_name) .. ")")
end
if not eng.disk_expansion then
  -- the function comes with the polar_vfs extension (the original manager creates it with every account)
  log.info("create extension polar_vfs (polar_vfs_disk_expansion is part of it)")
  sql("create extension if not exists polar_vfs", {}, instance.conn(p))
end
log.info("polar_vfs_disk_expansion(" .. p.disk .. ")")
sql("select polar_vfs_disk_expansion($1)", {p.disk}, instance.conn(p, {timeout = 600}))
log.info("disk " .. p.disk .. " expanded")
return {expanded = true, running = true, disk = p.disk}
