-- disk_expansion: grow PolarDB's shared-storage file system after the volume grew (polar_vfs_disk_expansion)
--
-- Nothing to do (success) when the instance is down. On an engine without
-- polar_vfs_disk_expansion (community PostgreSQL) it fails with a clear message.

local instance = require("instance")
local p = instance.inputs {
  disk = {type = "string", required = true, desc = "the shared disk's name, e.g. mapper_<volume>"},
}
if not p.disk:match("^[%w_%-%.]+$") then
  raise("usage", "disk must be a device name (letters, digits, _ - .), got '" .. p.disk .. "'")
end

local lock <close> = instance.exclusive(p)
log.info("disk " .. p.disk)
if not instance.running(p) then
  log.info("the instance is not running: nothing to do")
  return {expanded = false, running = false}
end
if not instance.engine(p).disk_expansion then
  raise("unsupported", "disk_expansion is not available on this engine: polar_vfs_disk_expansion() "
    .. "exists only in PolarDB for PostgreSQL (this is community PostgreSQL)")
end
log.info("polar_vfs_disk_expansion(" .. p.disk .. ")")
sql("select polar_vfs_disk_expansion($1)", {p.disk}, instance.conn(p, {timeout = 600}))
log.info("disk " .. p.disk .. " expanded")
return {expanded = true, running = true, disk = p.disk}
