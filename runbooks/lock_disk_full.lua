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
local engine = require("engine")
local p = instance.open {
  reserve_mb = {type = "integer", default = 16, desc = "size of the emergency reserve file (0: none); released by the lock"},
  terminate = {type = "boolean", default = true, desc = "end the sessions of ordinary users"},
}
if p.reserve_mb < 0 or p.reserve_mb > 1024 then polarrun.raise("usage", "reserve_mb must be between 0 and 1024") end

local lock <close> = instance.exclusive(p)
log.info(string.format("lock_disk_full on %s (%d bytes free)", p.pgdata, fs.free_bytes(p.pgdata)))

-- 1. which engine, which parameter: asked of the server, or of its binaries when it is down
--    (never of postgresql.conf: PolarDB's sample does not list polar_force_trans_ro_non_sup)
local eng = engine.detect(p)
local running = eng.source == "server"
local param, limits
if eng.force_ro then
  param = "polar_force_trans_ro_non_sup"
else
  param = "default_transaction_read_only"
  limits = engine.name(eng) .. " has no polar_force_trans_ro_non_sup: the lock sets "
    .. "default_transaction_read_only = on (superusers exempt per role); any session can still "
    .. "run SET default_transaction_read_only = off and write"
end
log.info("engine: " .. engine.name(eng) .. " (" .. (running and "running" or "stopped: asked its binaries") .. "); the lock sets " .. param)
if not running then log.warn("the instance is not running: the lock takes effect when it starts") end

-- 2. a later setting of the parameter would override the lock: ALTER SYSTEM's file is not ours
--    to edit (refused before any change); a later line in postgresql.conf is commented out (step 4)
for _, o in ipairs(diskfull.overrides(p, param)) do
  if o.auto then
    polarrun.raise("refused", string.format("%s line %d (%s) overrides the lock's %s; nothing was changed: run " ..
      "ALTER SYSTEM RESET %s first", o.file, o.line, o.text, param, param))
  end
end

-- 3. room for superusers: the emergency reserve goes first
local freed = diskfull.release_reserve(p)

-- 4. the include file (created ahead of time; created now if there is still room), and no later
--    line in postgresql.conf that would override it (refresh_params appends after the include)
if not diskfull.prepared(p) then
  log.warn("the disk-full include file was not prepared ahead of time; preparing it now")
  diskfull.prepare(p)
end
diskfull.remove_overrides(p, param)

-- 5. superusers keep writing (community PostgreSQL): role settings beat the conf file
local exempted = {}
if running and param == "default_transaction_read_only" then
  exempted = diskfull.exempt_superusers(p)
end

-- 6. the switch: overwrite the include file in place, reload
log.info("setting " .. param .. " = on in " .. diskfull.include_path(p) .. " (in place)")
fs.write_in_place(diskfull.include_path(p), diskfull.locked_content(param))

local terminated = {}
if running then
  instance.reload(p)
  -- a dry run changed no file the server reads, so pg_file_settings cannot show the lock yet
  if not polarrun.dry_run then
    local fsrow = sql([[select applied, error from pg_file_settings
                        where name = $1 and sourcefile = $2 order by seqno desc limit 1]],
      {param, diskfull.include_path(p)}, instance.conn(p))[1]
    if not fsrow or not fsrow.applied then
      polarrun.raise("config", param .. " from " .. diskfull.include_path(p) .. " is not in effect"
        .. (fsrow and fsrow.error ~= sql.null and (": " .. fsrow.error) or ": a later line in the configuration overrides it"))
    end
  end
  -- 7. end the sessions of ordinary users (superusers and replication connections stay)
  if p.terminate then
    terminated = sql([[
      select a.pid, a.usename, pg_terminate_backend(a.pid) as terminated
        from pg_stat_activity a join pg_roles r on r.oid = a.usesysid
       where a.backend_type = 'client backend' and not r.rolsuper and a.pid <> pg_backend_pid()]],
      {}, instance.conn(p))
    log.info(polarrun.dry_run and "would terminate the sessions of ordinary users"
      or string.format("terminated %d session(s) of ordinary users", #terminated))
  end
end
if limits then log.warn("limits: " .. limits) end
log.info(polarrun.dry_run and "dry run: the disk-full lock would be ON" or "disk-full lock is ON")
return {locked = not polarrun.dry_run, would_lock = polarrun.dry_run or nil, parameter = param, running = running, released_reserve_bytes = freed,
        exempted_superusers = exempted, terminated_sessions = #terminated, limits = limits or sql.null}
