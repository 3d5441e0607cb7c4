-- ha_rejoin: turn this (old primary) instance into a streaming standby of a new primary, pg_rewind where needed
--
-- Checklist:
--   1. the new primary answers, is not in recovery, and belongs to the same cluster (system identifier)
--   2. this data directory can be rewound (wal_log_hints = on or data checksums)
--   3. already a standby streaming from that primary: nothing to do. Where pg_rewind cannot run —
--      a new primary with its unix socket in its data directory (the pod layout), or PolarDB
--      (full_page_writes = off in its sample configuration; the WAL lives in polar_datadir) — decide
--      here, before anything changes, whether a rewind is needed (did this instance write WAL past
--      the new primary's fork point?), and refuse if so, offering method=basebackup
--   4. stop this instance (fast), pg_rewind from the new primary (it says when no rewind is required),
--      keeping this instance's own configuration files (pg_rewind would copy the primary's);
--      method=basebackup: rebuild it from a fresh base backup of the new primary instead
--      (lib/rejoin_rebuild.lua)
--   5. physical slot on the new primary (slot_name), primary_conninfo and primary_slot_name in
--      postgresql.auto.conf, standby.signal
--   6. start, and wait until the WAL receiver streams from the new primary
local instance = require("instance")
local repl = require("replication")
local engine = require("engine")
local rebuild = require("rejoin_rebuild")

local p = instance.inputs {
  primary_host = {type = "string", required = true, desc = "the new primary: host name, address or unix socket directory"},
  primary_port = {type = "integer", required = true, desc = "the new primary's port"},
  primary_user = {type = "string", default = "postgres", desc = "superuser on the new primary (pg_rewind, replication)"},
  primary_password = {type = "string", secret = true, desc = "its password (written into primary_conninfo when given)"},
  slot_name = {type = "string", desc = "physical slot on the new primary to stream through (created when missing)"},
  application_name = {type = "string", desc = "application_name of this standby (default: slot_name)"},
  start_timeout = {type = "integer", default = 60, desc = "seconds to wait for the standby to stream"},
  method = {type = "string", default = "rewind", enum = {"rewind", "basebackup"},
            desc = "rewind: pg_rewind where needed (refused where it cannot work); basebackup: rebuild this " ..
                   "instance from a fresh base backup of the new primary (its own data is replaced)"},
}
if p.slot_name and not p.slot_name:match("^[a-z0-9_]+$") then
  polarrun.raise("usage", "slot_name may only contain lowercase letters, digits and '_', got '" .. p.slot_name .. "'")
end
if not repl.is_local_pgdata(p.pgdata) then polarrun.raise("usage", p.pgdata .. " is not a data directory on this machine") end
local appname = p.application_name or p.slot_name
repl.secret_password(p.primary_password)
local as_user = polarrun.is_root and p.db_user or nil
local primary = {host = p.primary_host, port = p.primary_port, user = p.primary_user, password = p.primary_password,
                 dbname = "postgres", connect_timeout = p.connect_timeout}

local lock <close> = instance.exclusive(p)

log.info(string.format("step 1/6: checking the new primary %s port %d", p.primary_host, p.primary_port))
local np = sql([[select pg_is_in_recovery() as recovery,
                        (select system_identifier::text from pg_control_system()) as sysid]], {}, primary)[1]
if np.recovery then polarrun.raise("refused", "the new primary " .. p.primary_host .. " is in recovery: not a primary") end
local cd = repl.controldata(p.pgdata, p)
if cd["Database system identifier"] ~= np.sysid then
  polarrun.raise("refused", string.format("%s belongs to another cluster (system identifier %s, the new primary's is %s)",
    p.pgdata, tostring(cd["Database system identifier"]), np.sysid))
end

log.info("step 2/6: can " .. p.pgdata .. " be rewound?")
if p.method == "rewind" and cd["wal_log_hints setting"] ~= "on" and (cd["Data page checksum version"] or "0") == "0" then
  polarrun.raise("refused", p.pgdata .. " has neither wal_log_hints = on nor data checksums: pg_rewind cannot rewind it " ..
    "(rebuild it from a base backup instead)")
end

log.info("step 3/6: current state of " .. p.pgdata)
local np_eng = engine.from_server(primary)
local running = instance.running(p)
local me = instance.conn(p, {port = p.port})
if running then
  local r = sql([[select pg_is_in_recovery() as recovery,
                         (select status from pg_stat_wal_receiver) as status,
                         (select sender_host from pg_stat_wal_receiver) as sender_host,
                         (select sender_port from pg_stat_wal_receiver) as sender_port]], {}, me)[1]
  if r.recovery and r.status == "streaming" and r.sender_host == p.primary_host and r.sender_port == p.primary_port then
    log.info(p.pgdata .. " already streams from " .. p.primary_host .. ":" .. p.primary_port .. "; nothing to do")
    return {changed = false, rewound = false, streaming = true}
  end
end
-- pg_rewind reads the source's timeline from its control file, which a fresh promotion updates
-- only at its first checkpoint
sql("checkpoint", {}, primary)
-- Where pg_rewind cannot run, the fork point decides (before anything changes).
local src = sql([[select current_setting('data_directory') as d, current_setting('unix_socket_directories') as s]], {}, primary)[1]
local socket_in_source = false
for dir in src.s:gmatch("[^,]+") do
  dir = repl.trim(dir):gsub("/+$", "")
  if dir == "." or dir == src.d:gsub("/+$", "") then socket_in_source = true end
end
local no_rewind_why = nil
if np_eng.polardb and not np_eng.full_page_writes then
  no_rewind_why = string.format("pg_rewind refuses a source with full_page_writes = off, as %s runs " ..
    "(PolarDB's sample configuration)", engine.name(np_eng))
elseif np_eng.polardb then
  no_rewind_why = engine.name(np_eng) .. " keeps its WAL and data files in polar_datadir, which pg_rewind does not handle"
elseif socket_in_source then
  no_rewind_why = string.format("the new primary keeps its unix socket in its data directory " ..
    "(unix_socket_directories = '%s'), which pg_rewind cannot copy", src.s)
end
local rewound = nil
if p.method == "rewind" and no_rewind_why then
  local at = repl.wal_end(p, running, me)
  local fork = repl.fork_point(primary, at.tli, p)
  rewound = fork ~= nil and sql("select $1::pg_lsn >= $2::pg_lsn as diverged", {at.lsn, fork}, primary)[1].diverged
  log.info(string.format("this instance: WAL to %s (%s) on timeline %d; the new primary left timeline %d at %s",
    at.lsn, at.what, at.tli, at.tli, tostring(fork or "- (same timeline)")))
  if rewound then
    polarrun.raise("refused", string.format("%s has diverged from the new primary and needs pg_rewind, but %s. " ..
      "%s is unchanged%s; rebuild it from a fresh base backup of the new primary with method=basebackup " ..
      "(its own data is replaced), or run ha_rejoin again once pg_rewind can work",
      p.pgdata, no_rewind_why, p.pgdata, running and " and still running" or ""))
  end
end

if running then
  log.info("stopping " .. p.pgdata .. " (fast)")
  pg_ctl("stop", instance.ctl(p, {mode = "fast"}))
end

local conf_files = {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"}
local saved = p.pgdata:gsub("/+$", "") .. ".polarrun-rejoin-conf"
local env = {PGCONNECT_TIMEOUT = tostring(p.connect_timeout)}
if p.primary_password then env.PGPASSWORD = p.primary_password end
local function save_conf()
  -- pg_rewind and pg_basebackup copy the primary's configuration files: keep this instance's own
  if fs.is_dir(saved) then
    log.info("keeping the configuration saved by an earlier run in " .. saved)
    return
  end
  fs.mkdir(saved .. ".tmp", {mode = "0700"})
  for _, f in ipairs(conf_files) do
    if fs.exists(p.pgdata .. "/" .. f) then fs.write(saved .. ".tmp/" .. f, fs.read(p.pgdata .. "/" .. f), {mode = "0600"}) end
  end
  proc.run({"mv", saved .. ".tmp", saved}, {quiet = true})
end

if p.method == "basebackup" then
  log.info("step 4/6: rebuilding " .. p.pgdata .. " from a fresh base backup of the new primary")
  save_conf()
  rebuild.run(p, {host = p.primary_host, port = p.primary_port, user = p.primary_user}, env, as_user)
  rewound = false
else
  log.info("step 4/6: pg_rewind from the new primary")
  local rewind = {pg_ctl.bin("pg_rewind", {bindir = p.bindir}), "-D", p.pgdata, "--source-server=" ..
                  repl.conninfo {host = p.primary_host, port = p.primary_port, user = p.primary_user, dbname = "postgres"}}
  local function pg_rewind(extra)
    local argv = {table.unpack(rewind)}
    for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
    local r = proc.run(argv, {user = as_user, env = env, cwd = "/", stream = true})
    return r.stdout .. r.stderr
  end
  if rewound == nil then
    rewound = not pg_rewind({"--dry-run"}):find("no rewind required", 1, true)
  end
  if rewound then
    save_conf()
    pg_rewind()
    log.info("pg_rewind rewound " .. p.pgdata)
  else
    log.info("no rewind required")
  end
end
-- socket lock files copied from the source (pg_basebackup and pg_rewind copy them) would stop the start
for _, name in ipairs(fs.list(p.pgdata)) do
  if name:match("^%.s%.PGSQL%.%d+%.lock$") then fs.remove(p.pgdata .. "/" .. name) end
end
if fs.is_dir(saved) then
  log.info("restoring this instance's configuration files from " .. saved)
  for _, f in ipairs(conf_files) do
    if fs.exists(saved .. "/" .. f) then
      fs.write(p.pgdata .. "/" .. f, fs.read(saved .. "/" .. f), {mode = "0600", owner = as_user})
    end
  end
  fs.remove(saved, {recursive = true})
end

log.info("step 5/6: standby configuration")
if p.slot_name then
  local ok, err = pcall(sql, [[select pg_create_physical_replication_slot($1, true)
                               where not exists (select 1 from pg_replication_slots where slot_name = $1)]],
                        {p.slot_name}, primary)
  if not ok and not (type(err) == "table" and err.sqlstate == "42710") then error(err, 0) end
end
local ci = {host = p.primary_host, port = p.primary_port, user = p.primary_user, application_name = appname,
            password = p.primary_password}
local auto = p.pgdata .. "/postgresql.auto.conf"
if not fs.exists(auto) then fs.write(auto, "", {mode = "0600", owner = as_user}) end
conf_set(auto, {primary_conninfo = repl.conninfo(ci), primary_slot_name = p.slot_name or sql.null})
fs.write(p.pgdata .. "/standby.signal", "", {mode = "0600", owner = as_user})

log.info("step 6/6: starting " .. p.pgdata .. " as a standby")
local server_log = repl.server_log(p.pgdata, p)
local started, err = pcall(pg_ctl, "start", instance.ctl(p, {logfile = server_log, timeout = p.start_timeout}))
if not started then
  local tail = (fs.exists(server_log) and fs.read(server_log) or ""):sub(-1500)
  polarrun.raise("ha", tostring(err) .. "\nend of " .. server_log .. ":\n" .. tail)
end
polarrun.wait_until(function()
  local ok, r = pcall(sql, "select status from pg_stat_wal_receiver", {}, me)
  return ok and r[1] and r[1].status == "streaming"
end, p.start_timeout, 0.2)
log.info(p.pgdata .. " is a standby streaming from " .. p.primary_host .. ":" .. p.primary_port)
return {changed = true, rewound = rewound, rebuilt = p.method == "basebackup", streaming = true, slot = p.slot_name,
        application_name = appname}
