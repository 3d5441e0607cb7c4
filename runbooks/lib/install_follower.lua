-- install_follower: the parts of PolarDB Stack's setup_install_instance that are not the RW's
-- initdb (spec 4.7): an RO or standby node made from its primary, the SSL files, the
-- tablespace directory, and the RO's install lock. install.lua calls the three hooks:
--
--   follower.make(p, work, shared)       -- instead of initdb: the follower's data directory in work
--   follower.configure(p, work, shared)  -- after postgresql.conf: recovery settings, ssl files
--   follower.finish(p, pgdata)           -- before the marker: ins_lock (lock_install_ins), tablespace dir
-- `shared` is lib/polardb.lua's plan on PolarDB (nil on community PostgreSQL).
--
-- The polarrun.inputs (install.lua declares them, stack.lua fills them from the Stack's variables):
--   p.follower  {kind = "replica"|"standby", host=, port=, user=, slot=}  (nil for an RW)
--   p.replicator_password  (secret)        p.ssl_cert, p.ssl_key       p.lock_install
--   p.tablespace_path
--
-- PolarDB 15 (as the engine's build.sh makes its followers): an RO shares the RW's storage —
-- `polar-initdb.sh <work>/ <shared>/ replica` makes an empty local directory, the shared files
-- stay the RW's — and starts from replica.signal; a standby copies both parts,
-- `pg_basebackup --polardata=<its own shared dir>`, and starts from standby.signal. On community
-- PostgreSQL (the fixture engine) both are streaming standbys with their own copy (pg_basebackup).
local repl = require("replication")

local M = {}

M.inputs = {
  follower = {type = "json", desc = "RO/standby: {kind=, host=, port=, user=, slot=} of the primary to copy and follow"},
  replicator_password = {type = "string", secret = true, desc = "password of follower.user (the code-15 account)"},
  ssl_cert = {type = "string", desc = "PEM certificate written to <pgdata>/server.crt"},
  ssl_key = {type = "string", secret = true, desc = "PEM key written to <pgdata>/server.key"},
  lock_install = {type = "boolean", default = false, desc = "create <pgdata>/ins_lock: the instance stays down until start_instance"},
  tablespace_path = {type = "string", desc = "directory created empty for the tablespace (create_tablespace_env)"},
}

--- `spec` (install.lua's own inputs) plus the inputs above.
function M.with_inputs(spec)
  for k, v in pairs(M.inputs) do spec[k] = v end
  return spec
end

-- Files of the primary's data directory that describe the primary's pod, not the copy.
local not_copied = {"polarrun_installed", "ins_lock", ".polarrun.lock", "pg_log", "log",
                    "postmaster.opts", "standby.signal", "recovery.signal", "server.crt", "server.key"}

local function owner(p) return polarrun.is_root and p.db_user or nil end

--- The follower's data directory in `work`: on PolarDB an RO's local part of the RW's storage, else
--- a copy of the primary's data (pg_basebackup as the database OS user, WAL streamed; a PolarDB
--- standby's shared part into its own shared directory). Returns the shared storage's install
--- marker when this made one (PolarDB standby), for polardb.finish.
function M.make(p, work, shared)
  local f = p.follower
  for _, k in ipairs({"kind", "host", "port", "user", "slot"}) do
    if f[k] == nil or f[k] == "" then polarrun.raise("usage", "follower." .. k .. " is missing") end
  end
  repl.secret_password(p.replicator_password)
  fs.mkdir(work, {mode = "0700", owner = owner(p)})
  if shared and f.kind == "replica" then
    log.info("step 1/4: replica: polar-initdb.sh makes the local directory " .. work .. " on the RW's shared storage " .. shared.dir)
    proc.run({"bash", pg_ctl.bin("polar-initdb.sh", {bindir = p.bindir}), work .. "/", shared.dir .. "/", "replica", "localfs"},
        {user = owner(p), cwd = "/", stream = true})
    return nil
  end
  local argv = {pg_ctl.bin("pg_basebackup", {bindir = p.bindir}), "-D", work, "-h", f.host, "-p", tostring(f.port),
                "-U", f.user, "-X", "stream", "-c", "fast", "--no-password"}
  local marker
  if shared then
    -- the standby's own shared storage, cleared by check_storage if this install is interrupted
    marker = require("polardb").begin_shared(shared, p, owner(p))
    argv[#argv + 1] = "--polardata=" .. shared.dir
  end
  log.info(string.format("step 1/4: %s: pg_basebackup from %s:%s as %s into %s%s", f.kind, f.host, f.port, f.user, work,
    shared and (" (shared files into " .. shared.dir .. ")") or ""))
  proc.run(argv, {user = owner(p), env = {PGPASSWORD = p.replicator_password or "", PGCONNECT_TIMEOUT = "10"}, stream = true, timeout = 3600})
  for _, name in ipairs(not_copied) do
    if fs.exists(work .. "/" .. name) or (fs.stat(work .. "/" .. name) ~= nil) then fs.remove(work .. "/" .. name, {recursive = true}) end
  end
  return marker
end

--- Recovery settings (a follower) and the SSL files (any node), into the instance in `work`.
function M.configure(p, work, shared)
  local f = p.follower
  if f then
    local major = tonumber((fs.read(work .. "/PG_VERSION") or ""):match("^(%d+)")) or 0
    local settings = {
      primary_conninfo = repl.conninfo {host = f.host, port = f.port, user = f.user,
                                        password = p.replicator_password, application_name = f.slot},
      primary_slot_name = f.slot,
      recovery_target_timeline = "latest",
      hot_standby = true,
    }
    -- a PolarDB RO says it shares the RW's storage: replica.signal from 15 on (there is no
    -- polar_replica setting any more), polar_replica in recovery.conf before (spec §4.7)
    local polar_replica = shared ~= nil and f.kind == "replica"
    if major >= 12 then
      conf_set(work .. "/postgresql.conf", settings)
      local signal = polar_replica and "replica.signal" or "standby.signal"
      fs.write(work .. "/" .. signal, "", {mode = "0600", owner = owner(p)})
      if not fs.exists(work .. "/pg_ident.conf") then   -- an RO's local directory has none (it is not a copy)
        fs.write(work .. "/pg_ident.conf", "", {mode = "0600", owner = owner(p)})
      end
      log.info(string.format("%s of %s:%s through slot %s (%s, primary_conninfo in postgresql.conf)",
        f.kind, f.host, f.port, f.slot, signal))
    else
      if polar_replica then settings.polar_replica = true end
      settings.hot_standby = nil
      settings.standby_mode = true
      fs.write(work .. "/recovery.conf", "", {mode = "0600", owner = owner(p)})
      conf_set(work .. "/recovery.conf", settings)
      log.info(string.format("%s of %s:%s through slot %s (recovery.conf)", f.kind, f.host, f.port, f.slot))
    end
  end
  if p.ssl_cert or p.ssl_key then
    if not (p.ssl_cert and p.ssl_key) then polarrun.raise("usage", "ssl_cert and ssl_key go together") end
    M.write_ssl(p, work)
    conf_set(work .. "/postgresql.conf", {ssl = true, ssl_cert_file = "server.crt", ssl_key_file = "server.key"})
  end
end

--- server.crt / server.key (mode 600, the database OS user's) in `dir`.
function M.write_ssl(p, dir)
  local function pem(s) return s:match("\n$") and s or (s .. "\n") end
  fs.write(dir .. "/server.crt", pem(p.ssl_cert), {mode = "0600", owner = owner(p)})
  fs.write(dir .. "/server.key", pem(p.ssl_key), {mode = "0600", owner = owner(p)})
  log.info("wrote " .. dir .. "/server.crt and server.key")
end

--- The RO's install lock and the tablespace directory, before install writes its marker.
function M.finish(p, pgdata)
  if p.tablespace_path then M.tablespace_dir(p, p.tablespace_path) end
  if p.lock_install then
    local path = p.lock_path or (pgdata .. "/" .. polarrun.defaults.lock_name)
    lock_file(path, "lock_install_ins\n")
    log.info("lock_install_ins: " .. path .. ": the instance stays down until start_instance")
  end
end

--- An empty directory for a tablespace, owned by the database OS user (mode 0700, as
--- PostgreSQL wants it). An absolute path outside the data directory only.
function M.tablespace_dir(p, path)
  if not path:match("^/") or path:match("/%.%./") or path:match("/%.%.$") then
    polarrun.raise("usage", "tablespace_path must be an absolute path, got '" .. path .. "'")
  end
  local pgdata = p.pgdata:gsub("/+$", "")
  if path == pgdata or path:sub(1, #pgdata + 1) == pgdata .. "/" then
    polarrun.raise("usage", "tablespace_path must be outside the data directory " .. pgdata .. ", got '" .. path .. "'")
  end
  if fs.exists(path) then fs.remove(path, {recursive = true}) end
  fs.mkdir(path, {mode = "0700", owner = owner(p)})
  log.info("tablespace directory " .. path .. " (empty)")
end

return M
