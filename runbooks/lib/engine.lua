-- engine: which engine an instance runs — PolarDB for PostgreSQL or community PostgreSQL — and
-- what it offers, from what the engine itself says:
--   * running: the server (pg_settings, pg_proc, pg_available_extensions);
--   * stopped: its binaries (`postgres --describe-config` lists the settings it shows,
--     `postgres -C NAME -D PGDATA` the value it would start with, `pg_config --version`).
-- Never from postgresql.conf alone: PolarDB's sample file does not list every polar_* setting
-- (polar_force_trans_ro_non_sup is not in it), and a conf file can name settings its engine lacks.
--
--   local engine = require("engine")
--   local e = engine.detect(p)       -- p: the common instance polarrun.inputs (pgdata, port, bindir, db_user)
--   if e.polardb then ... end
--   log.info("engine: " .. engine.name(e))

local M = {}

local function as_user(p) return polarrun.is_root and p.db_user or nil end

--- The facts, asked of the running server over `conn`.
function M.from_server(conn)
  local r = sql([[
    select current_setting('server_version_num')::int as version_num,
           current_setting('server_version') as server_version,
           substring(version() from 'PolarDB ([0-9][0-9.]*)') as polar_version,
           exists(select 1 from pg_settings where name = 'polar_force_trans_ro_non_sup') as force_ro,
           coalesce(current_setting('polar_enable_shared_storage_mode', true), 'off') = 'on' as shared_storage,
           current_setting('polar_datadir', true) as polar_datadir,
           current_setting('polar_disk_name', true) as polar_disk_name,
           coalesce(current_setting('polar_vfs.localfs_mode', true), 'off') = 'on' as localfs,
           exists(select 1 from pg_proc where proname = 'polar_vfs_disk_expansion') as disk_expansion,
           exists(select 1 from pg_available_extensions where name = 'polar_vfs') as polar_vfs_available,
           current_setting('polar_enable_shared_storage_mode', true) is not null as polardb,
           current_setting('full_page_writes') = 'on' as full_page_writes
  ]], {}, conn)[1]
  local function opt(v) return (v ~= sql.null and v ~= "") and v or nil end
  return {source = "server", polardb = r.polardb, version_num = r.version_num,
          server_version = r.server_version, polar_version = opt(r.polar_version),
          force_ro = r.force_ro, shared_storage = r.shared_storage, polar_datadir = opt(r.polar_datadir),
          polar_disk_name = opt(r.polar_disk_name), localfs = r.localfs,
          disk_expansion = r.disk_expansion, polar_vfs_available = r.polar_vfs_available,
          full_page_writes = r.full_page_writes}
end

--- One setting as the stopped engine would start with it (`postgres -C`), nil when it has none.
local function configured(postgres, p, name)
  local r = proc.run({postgres, "-C", name, "-D", p.pgdata}, {user = as_user(p), cwd = "/", check = false,
                 readonly = true, quiet = true, env = {LC_ALL = "C"}})
  if r.status ~= 0 then return nil end
  local v = r.stdout:gsub("%s+$", "")
  return v ~= "" and v or nil
end

--- The facts, asked of the engine's binaries (the instance need not run). `--describe-config`
--- lists the settings the engine shows (PolarDB's include polar_*); `postgres -C` answers for
--- the hidden ones (polar_force_trans_ro_non_sup) when the data directory has a postgresql.conf.
function M.from_binaries(p)
  local postgres = pg_ctl.bin("postgres", {bindir = p.bindir})
  local r = proc.run({postgres, "--describe-config"}, {user = as_user(p), cwd = "/", readonly = true, quiet = true,
                 env = {LC_ALL = "C"}})
  local polar = false
  for line in r.stdout:gmatch("[^\n]+") do
    if line:match("^polar_") then polar = true; break end
  end
  local ver = proc.run({postgres, "--version"}, {user = as_user(p), cwd = "/", readonly = true, quiet = true}).stdout
  local e = {source = "binaries", polardb = polar, force_ro = false,
             server_version = ver:match("(%d+%.%d+)") or (ver:gsub("%s+$", "")),
             disk_expansion = false, polar_vfs_available = false, shared_storage = false}
  local major, minor = e.server_version:match("^(%d+)%.(%d+)")
  e.version_num = major and (tonumber(major) * 10000 + tonumber(minor)) or nil
  if polar then
    local pg_config = pcall(pg_ctl.bin, "pg_config", {bindir = p.bindir}) and pg_ctl.bin("pg_config", {bindir = p.bindir})
    local pv = pg_config and proc.run({pg_config, "--version"}, {check = false, readonly = true, quiet = true, cwd = "/"}).stdout
    e.polar_version = pv and pv:match("PolarDB (%d[%d%.]*)")
    local share = M.sharedir(p)
    e.polar_vfs_available = share ~= nil and fs.exists(share .. "/extension/polar_vfs.control")
    if fs.exists(p.pgdata .. "/postgresql.conf") then
      e.force_ro = configured(postgres, p, "polar_force_trans_ro_non_sup") ~= nil
      e.shared_storage = configured(postgres, p, "polar_enable_shared_storage_mode") == "on"
      e.polar_datadir = configured(postgres, p, "polar_datadir")
      e.full_page_writes = configured(postgres, p, "full_page_writes") == "on"
    end
  end
  return e
end

--- The running server's facts when it answers, else the binaries'. `running` (optional) says
--- whether the instance is known to run; an instance that runs but does not answer is an error.
function M.detect(p, conn)
  local ok, e = pcall(M.from_server, conn or require("instance").conn(p))
  if ok then return e end
  if require("instance").running(p) then
    polarrun.raise("sql", "the instance in " .. p.pgdata .. " runs but does not answer: " .. tostring(e))
  end
  return M.from_binaries(p)
end

--- "PolarDB for PostgreSQL 15.8.2.0" / "community PostgreSQL 15.8", for messages.
function M.name(e)
  if e.polardb then
    return "PolarDB for PostgreSQL " .. (e.polar_version or e.server_version or "")
  end
  return "community PostgreSQL " .. (e.server_version or "")
end

--- The engine's share directory (`pg_config --sharedir`), nil when pg_config is missing.
function M.sharedir(p)
  local ok, pg_config = pcall(pg_ctl.bin, "pg_config", {bindir = p.bindir})
  if not ok then return nil end
  local r = proc.run({pg_config, "--sharedir"}, {check = false, readonly = true, quiet = true, cwd = "/"})
  if r.status ~= 0 then return nil end
  return (r.stdout:gsub("%s+$", ""))
end

--- The local path behind polar_datadir ('file-dio:///x' or 'file:///x' -> '/x'); nil for a
--- shared-storage path that is not a local directory (PFS: '/<disk>/data').
function M.local_polar_datadir(e)
  local d = e.polar_datadir
  if not d then return nil end
  local path = d:match("^file%-dio://(/.*)$") or d:match("^file://(/.*)$")
  if path then return (path:gsub("/+$", "")) end
  return nil
end

return M
