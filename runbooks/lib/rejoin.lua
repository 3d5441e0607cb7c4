-- rejoin: ha_rejoin's mechanics. ha_rejoin.lua keeps the checklist; each step here works on one
-- table `rj` made by rejoin.plan(p). method=basebackup's rebuild is lib/rejoin_rebuild.lua.
local instance = require("instance")
local repl = require("replication")
local engine = require("engine")
local rebuild = require("rejoin_rebuild")

local M = {}

M.inputs = {
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

-- pg_rewind and pg_basebackup copy the primary's configuration files: this instance keeps its own
M.CONF_FILES = {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"}

--- Checks the inputs that need no server (exit 2) and returns the rejoin table.
function M.plan(p)
  if p.slot_name and not p.slot_name:match("^[a-z0-9_]+$") then
    polarrun.raise("usage", "slot_name may only contain lowercase letters, digits and '_', got '" .. p.slot_name .. "'")
  end
  if not repl.is_local_pgdata(p.pgdata) then polarrun.raise("usage", p.pgdata .. " is not a data directory on this machine") end
  repl.secret_password(p.primary_password)
  local rj = {p = p, appname = p.application_name or p.slot_name, as_user = polarrun.is_root and p.db_user or nil}
  rj.primary = {host = p.primary_host, port = p.primary_port, user = p.primary_user, password = p.primary_password,
                dbname = "postgres", connect_timeout = p.connect_timeout}
  rj.me = instance.conn(p, {port = p.port})
  rj.saved = p.pgdata:gsub("/+$", "") .. ".polarrun-rejoin-conf"
  rj.env = {PGCONNECT_TIMEOUT = tostring(p.connect_timeout)}
  if p.primary_password then rj.env.PGPASSWORD = p.primary_password end
  return rj
end

--- Step 1: the new primary is a primary of this instance's cluster.
function M.check_primary(rj)
  local p = rj.p
  local np = sql([[select pg_is_in_recovery() as recovery,
                          (select system_identifier::text from pg_control_system()) as sysid]], {}, rj.primary)[1]
  if np.recovery then polarrun.raise("refused", "the new primary " .. p.primary_host .. " is in recovery: not a primary") end
  rj.cd = repl.controldata(p.pgdata, p)
  if rj.cd["Database system identifier"] ~= np.sysid then
    polarrun.raise("refused", string.format("%s belongs to another cluster (system identifier %s, the new primary's is %s)",
      p.pgdata, tostring(rj.cd["Database system identifier"]), np.sysid))
  end
end

--- Step 2: method=rewind needs wal_log_hints = on or data checksums.
function M.check_rewindable(rj)
  local p, cd = rj.p, rj.cd
  if p.method == "rewind" and cd["wal_log_hints setting"] ~= "on" and (cd["Data page checksum version"] or "0") == "0" then
    polarrun.raise("refused", p.pgdata .. " has neither wal_log_hints = on nor data checksums: pg_rewind cannot rewind it " ..
      "(rebuild it from a base backup instead)")
  end
end

--- Step 3a: whether this instance already streams from the new primary (nothing to do).
function M.already_streaming(rj)
  local p = rj.p
  rj.running = instance.running(p)
  if not rj.running then return false end
  local r = sql([[select pg_is_in_recovery() as recovery,
                         (select status from pg_stat_wal_receiver) as status,
                         (select sender_host from pg_stat_wal_receiver) as sender_host,
                         (select sender_port from pg_stat_wal_receiver) as sender_port]], {}, rj.me)[1]
  return r.recovery and r.status == "streaming" and r.sender_host == p.primary_host and r.sender_port == p.primary_port
end

--- Why pg_rewind cannot run against the new primary (nil when it can).
local function no_rewind_reason(rj)
  local np_eng = engine.from_server(rj.primary)
  if np_eng.polardb and not np_eng.full_page_writes then
    return string.format("pg_rewind refuses a source with full_page_writes = off, as %s runs " ..
      "(PolarDB's sample configuration)", engine.name(np_eng))
  elseif np_eng.polardb then
    return engine.name(np_eng) .. " keeps its WAL and data files in polar_datadir, which pg_rewind does not handle"
  end
  local src = sql([[select current_setting('data_directory') as d, current_setting('unix_socket_directories') as s]], {}, rj.primary)[1]
  for dir in src.s:gmatch("[^,]+") do
    dir = repl.trim(dir):gsub("/+$", "")
    if dir == "." or dir == src.d:gsub("/+$", "") then
      return string.format("the new primary keeps its unix socket in its data directory " ..
        "(unix_socket_directories = '%s'), which pg_rewind cannot copy", src.s)
    end
  end
end

--- Step 3b: where pg_rewind cannot run, the fork point decides before anything changes: a
--- diverged instance is refused (method=basebackup offered). Sets rj.rewound when known.
function M.decide(rj)
  local p = rj.p
  -- pg_rewind reads the source's timeline from its control file, which a fresh promotion
  -- updates only at its first checkpoint
  sql("checkpoint", {}, rj.primary)
  local why = no_rewind_reason(rj)
  if p.method ~= "rewind" or not why then return end
  local at = repl.wal_end(p, rj.running, rj.me)
  local fork = repl.fork_point(rj.primary, at.tli, p)
  rj.rewound = fork ~= nil and sql("select $1::pg_lsn >= $2::pg_lsn as diverged", {at.lsn, fork}, rj.primary)[1].diverged
  log.info(string.format("this instance: WAL to %s (%s) on timeline %d; the new primary left timeline %d at %s",
    at.lsn, at.what, at.tli, at.tli, tostring(fork or "- (same timeline)")))
  if rj.rewound then
    polarrun.raise("refused", string.format("%s has diverged from the new primary and needs pg_rewind, but %s. " ..
      "%s is unchanged%s; rebuild it from a fresh base backup of the new primary with method=basebackup " ..
      "(its own data is replaced), or run ha_rejoin again once pg_rewind can work",
      p.pgdata, why, p.pgdata, rj.running and " and still running" or ""))
  end
end

--- Keeps this instance's configuration files in rj.saved (an earlier run's copy wins).
local function save_conf(rj)
  local p, saved = rj.p, rj.saved
  if fs.is_dir(saved) then
    log.info("keeping the configuration saved by an earlier run in " .. saved)
    return
  end
  fs.mkdir(saved .. ".tmp", {mode = "0700"})
  for _, f in ipairs(M.CONF_FILES) do
    if fs.exists(p.pgdata .. "/" .. f) then fs.write(saved .. ".tmp/" .. f, fs.read(p.pgdata .. "/" .. f), {mode = "0600"}) end
  end
  proc.run({"mv", saved .. ".tmp", saved}, {quiet = true})
  if polarrun.dry_run then   -- the move was listed: the overlay follows it
    fs.copy(saved .. ".tmp", saved)
    fs.remove(saved .. ".tmp", {recursive = true})
  end
end

--- Step 4, method=basebackup: replace the (stopped) instance with a base backup of the new primary.
function M.rebuild(rj)
  local p = rj.p
  save_conf(rj)
  rebuild.run(p, {host = p.primary_host, port = p.primary_port, user = p.primary_user}, rj.env, rj.as_user)
  rj.rewound = false
end

--- Step 4, method=rewind: pg_rewind from the new primary (a --dry-run first says whether it is needed).
function M.rewind(rj)
  local p = rj.p
  local base = {pg_ctl.bin("pg_rewind", {bindir = p.bindir}), "-D", p.pgdata, "--source-server=" ..
                repl.conninfo {host = p.primary_host, port = p.primary_port, user = p.primary_user, dbname = "postgres"}}
  local function pg_rewind(extra)
    local argv = {table.unpack(base)}
    for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
    -- pg_rewind --dry-run changes nothing: it runs in a dry run too, so its answer is real
    local r = proc.run(argv, {user = rj.as_user, env = rj.env, cwd = "/", stream = true, readonly = argv[#argv] == "--dry-run"})
    return r.stdout .. r.stderr
  end
  if rj.rewound == nil then
    rj.rewound = not pg_rewind({"--dry-run"}):find("no rewind required", 1, true)
  end
  if rj.rewound then
    save_conf(rj)
    pg_rewind()
    log.info((polarrun.dry_run and "pg_rewind would rewind " or "pg_rewind rewound ") .. p.pgdata)
  else
    log.info("no rewind required")
  end
end

--- After step 4: drops socket lock files copied from the source (they would stop the start)
--- and puts this instance's own configuration files back.
function M.restore_conf(rj)
  local p, saved = rj.p, rj.saved
  for _, name in ipairs(fs.list(p.pgdata)) do
    if name:match("^%.s%.PGSQL%.%d+%.lock$") then fs.remove(p.pgdata .. "/" .. name) end
  end
  if not fs.is_dir(saved) then return end
  log.info("restoring this instance's configuration files from " .. saved)
  for _, f in ipairs(M.CONF_FILES) do
    if fs.exists(saved .. "/" .. f) then
      fs.write(p.pgdata .. "/" .. f, fs.read(saved .. "/" .. f), {mode = "0600", owner = rj.as_user})
    end
  end
  fs.remove(saved, {recursive = true})
end

--- Step 5: the slot on the new primary, primary_conninfo / primary_slot_name, standby.signal.
function M.configure_standby(rj)
  local p = rj.p
  if p.slot_name then
    local ok, err = pcall(sql, [[select pg_create_physical_replication_slot($1, true)
                                 where not exists (select 1 from pg_replication_slots where slot_name = $1)]],
                          {p.slot_name}, rj.primary)
    if not ok and not (type(err) == "table" and err.sqlstate == "42710") then error(err, 0) end
  end
  local ci = {host = p.primary_host, port = p.primary_port, user = p.primary_user, application_name = rj.appname,
              password = p.primary_password}
  local auto = p.pgdata .. "/postgresql.auto.conf"
  if not fs.exists(auto) then fs.write(auto, "", {mode = "0600", owner = rj.as_user}) end
  conf_set(auto, {primary_conninfo = repl.conninfo(ci), primary_slot_name = p.slot_name or sql.null})
  fs.write(p.pgdata .. "/standby.signal", "", {mode = "0600", owner = rj.as_user})
end

--- Step 6: start, and wait until the WAL receiver streams (the server log's end on failure).
function M.start_standby(rj)
  local p = rj.p
  local server_log = repl.server_log(p.pgdata, p)
  local started, err = pcall(pg_ctl, "start", instance.ctl(p, {logfile = server_log, timeout = p.start_timeout}))
  if not started then
    local tail = (fs.exists(server_log) and fs.read(server_log) or ""):sub(-1500)
    polarrun.raise("ha", tostring(err) .. "\nend of " .. server_log .. ":\n" .. tail)
  end
  if polarrun.dry_run then return end   -- nothing was started: no WAL receiver to wait for
  polarrun.wait_until(function()
    local ok, r = pcall(sql, "select status from pg_stat_wal_receiver", {}, rj.me)
    return ok and r[1] and r[1].status == "streaming"
  end, p.start_timeout, 0.2)
end

return M
