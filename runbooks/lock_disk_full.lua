-- lock_disk_full: make the instance read-only for ordinary users (superusers keep writing); works with 0 bytes free
--
-- PolarDB: polar_force_trans_ro_non_sup = on.
-- Community PostgreSQL: default_transaction_read_only = on for everyone, with a per-role
-- `default_transaction_read_only = off` on every superuser. LIMIT: this is a default, not a
-- guard — any session can `SET default_transaction_read_only = off` (or BEGIN READ WRITE)
-- and write again. The lock stops ordinary applications, not a determined user.
--
-- The setting lives in a pre-sized include file that is overwritten in place, so the lock
-- needs no free space (see lib/diskfull.lua); the emergency reserve is released.

local instance = require("instance")
local diskfull = require("diskfull")
local p = instance.inputs {
  reserve_mb = {type = "integer", default = 16, desc = "size of the emergency reserve file (0: none); released by the lock"},
  terminate = {type = "boolean", default = true, desc = "end the sessions of ordinary users"},
}
if p.reserve_mb < 0 or p.reserve_mb > 1024 then raise("usage", "reserve_mb must be between 0 and 1024") end
if not fs.is_dir(p.pgdata) then raise("usage", "pgdata " .. p.pgdata .. " is not a directory") end

local lock <close> = instance.exclusive(p)
log.info(string.format("lock_disk_full on %s (%d bytes free)", p.pgdata, fs.free_bytes(p.pgdata)))

-- 1. room for superusers: the emergency reserve goes first
local freed = diskfull.release_reserve(p)

-- 2. which engine, which parameter
local answered, eng = pcall(instance.engine, p)   -- a connection is faster than pg_ctl status
local running = answered or instance.running(p)
if running and not answered then raise("sql", "the instance runs but does not answer: " .. tostring(eng)) end
local param, limits
if running then
  if eng.force_ro then
    param = "polar_force_trans_ro_non_sup"
  else
    param = "default_transaction_read_only"
    limits = "community PostgreSQL has no polar_force_trans_ro_non_sup: the lock sets "
      .. "default_transaction_read_only = on (superusers exempt per role); any session can still "
      .. "run SET default_transaction_read_only = off and write"
  end
else
  -- down: decide from the conf (PolarDB ships polar_force_trans_ro_non_sup in postgresql.conf)
  local conf = conf_get(instance.conf_file(p))
  param = conf.polar_force_trans_ro_non_sup and "polar_force_trans_ro_non_sup" or "default_transaction_read_only"
  log.warn("the instance is not running: the lock takes effect when it starts")
end

-- 3. the include file (created ahead of time; created now if there is still room)
if not diskfull.prepared(p) then
  log.warn("the disk-full include file was not prepared ahead of time; preparing it now")
  diskfull.prepare(p)
end

-- 4. superusers keep writing (community PostgreSQL): role settings beat the conf file
local exempted = {}
if running and param == "default_transaction_read_only" then
  exempted = diskfull.exempt_superusers(p)
end

-- 5. the switch: overwrite the include file in place, reload
log.info("setting " .. param .. " = on in " .. diskfull.include_path(p) .. " (in place)")
fs.write_in_place(diskfull.include_path(p), diskfull.locked_content(param))

local terminated = {}
if running then
  instance.reload(p)
  local fsrow = sql([[select applied, error from pg_file_settings
                      where name = $1 and sourcefile = $2 order by seqno desc limit 1]],
    {param, diskfull.include_path(p)}, instance.conn(p))[1]
  if not fsrow or not fsrow.applied then
    raise("config", param .. " from " .. diskfull.include_path(p) .. " is not in effect"
      .. (fsrow and fsrow.error ~= null and (": " .. fsrow.error) or ": a later line in the configuration overrides it"))
  end
  -- 6. end the sessions of ordinary users (superusers and replication connections stay)
  if p.terminate then
    terminated = sql([[
      select a.pid, a.usename, pg_terminate_backend(a.pid) as terminated
        from pg_stat_activity a join pg_roles r on r.oid = a.usesysid
       where a.backend_type = 'client backend' and not r.rolsuper and a.pid <> pg_backend_pid()]],
      {}, instance.conn(p))
    log.info(string.format("terminated %d session(s) of ordinary users", #terminated))
  end
end
if limits then log.warn("limits: " .. limits) end
log.info("disk-full lock is ON")
return {locked = true, parameter = param, running = running, released_reserve_bytes = freed,
        exempted_superusers = exempted, terminated_sessions = #terminated, limits = limits or null}
