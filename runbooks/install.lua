-- install: create the instance in an empty data directory (PolarDB Stack's setup_install_instance, local storage)
--
-- Checklist (idempotent: a finished install is left as it is; an interrupted one is redone or finished):
--   1. nothing to do when <pgdata>/polarrun_installed exists (only the /log/pg_log link is checked)
--   2. the data directory must be empty (apart from files polarrun itself leaves: .polarrun.lock,
--      an empty pg_log, lost+found); a cluster already there without the marker is adopted
--   3. initdb into <pgdata>/.polarrun_install as the database OS user (trust on the socket)
--   4. postgresql.conf from the engine's config template (/postgresql.conf.sample), then the pod's
--      settings (port, unix_socket_directories='.', logging to pg_log) and mycnf_dict on top
--   5. pg_hba.conf: /etc/postgres/pg_hba.conf when the pod mounts one, else socket trust + md5
--   6. move the files up into <pgdata> (PG_VERSION last), link /log/pg_log, write the marker last:
--      the engine's supervisor starts postgres only then
-- PolarDB (the engine's binaries say so, lib/engine.lua): shared-storage mode, lib/polardb.lua —
-- polardb.conf.sample after the template, polar_datadir, and polar-initdb.sh before step 6 (RW);
-- an RO on the RW's shared storage, a standby on its own (lib/install_follower.lua).
local instance = require("instance")
local si = require("stack_install")
local follower = require("install_follower")   -- RO / standby / ssl / tablespace: lib/install_follower.lua
local engine = require("engine")
local polardb = require("polardb")             -- PolarDB's shared storage for an RW: lib/polardb.lua
local spec = follower.with_inputs {
  mycnf_dict = {type = "json", desc = "JSON object of parameters, values in postgresql.conf syntax"},
  template = {type = "string", desc = "config template (default: /postgresql.conf.sample, else the engine's pg_config --sharedir)"},
  hba_override = {type = "string", default = "/etc/postgres/pg_hba.conf", desc = "pg_hba.conf used as it is when it exists"},
  encoding = {type = "string", default = "UTF8"},
  locale = {type = "string", default = "C"},
}
for k, v in pairs(polardb.inputs) do spec[k] = v end
local p = instance.inputs(spec)
if p.mycnf_dict ~= nil and (type(p.mycnf_dict) ~= "table" or (next(p.mycnf_dict) ~= nil and #p.mycnf_dict > 0)) then
  polarrun.raise("usage", "mycnf_dict must be a JSON object of name -> value")
end
local pgdata = p.pgdata:gsub("/+$", "")
local marker, work = pgdata .. "/" .. si.marker, pgdata .. "/" .. si.work
local as_user = polarrun.is_root and p.db_user or nil

local function link_logs()
  local ok, err = pcall(function()
    if not fs.is_dir(pgdata .. "/pg_log") then fs.mkdir(pgdata .. "/pg_log", {mode = "0700", owner = as_user}) end
    if not fs.is_dir(p.log_dir) then fs.mkdir(p.log_dir) end
    if fs.symlink(pgdata .. "/pg_log", p.log_dir .. "/pg_log") then log.info("linked " .. p.log_dir .. "/pg_log -> " .. pgdata .. "/pg_log") end
  end)
  if not ok then log.warn("could not link " .. p.log_dir .. "/pg_log: " .. tostring(err)) end
end

if not fs.is_dir(pgdata) then fs.mkdir(pgdata, {mode = "0700", owner = as_user}) end
local lock <close> = instance.exclusive(p)

-- 1. done before
if fs.exists(marker) then
  log.info("the instance in " .. pgdata .. " is installed already (" .. marker .. "): nothing to do")
  link_logs()
  return {installed = false, pgdata = pgdata}
end

-- 2. an instance moved up but no marker yet (interrupted after the move), or made another way
if fs.exists(pgdata .. "/PG_VERSION") and not fs.exists(work) then
  log.info(pgdata .. " already holds a cluster: adopting it")
  link_logs()
  fs.write(marker, "installed by polarrun run " .. polarrun.run_id .. "\n", {owner = as_user})
  return {installed = false, adopted = true, pgdata = pgdata}
end
local ignorable = {[".polarrun.lock"] = true, ["lost+found"] = true, ["pg_log"] = true, [si.work] = true}
for _, name in ipairs(fs.list(pgdata)) do
  if not ignorable[name] or (name == "pg_log" and #fs.list(pgdata .. "/pg_log") > 0) then
    polarrun.raise("refused", pgdata .. " is not empty (" .. name .. "): refusing to install over it")
  end
end
-- PolarDB: which engine (from its binaries), and where its shared storage goes; checked before any change
local eng = engine.from_binaries(p)
local shared = eng.polardb and polardb.plan(p, pgdata) or nil
local ro = p.follower and p.follower.kind == "replica"
if shared then
  log.info("engine: " .. engine.name(eng) .. "; shared storage " .. shared.polar_datadir .. " (storage_type " .. shared.kind ..
           (ro and ", the RW's" or "") .. ")")
  -- an RO's shared storage is the RW's: never cleared, it must hold the RW's instance
  if ro then polardb.check_replica_storage(shared, p) else polardb.check_storage(shared, fs.exists(work)) end
end
if fs.exists(work) then
  log.warn("removing the work directory of an interrupted install: " .. work)
  fs.remove(work, {recursive = true})
end

-- 3. initdb
local initdb = pg_ctl.bin("initdb", {bindir = p.bindir})
proc.run({"chown", p.db_user, pgdata}, {quiet = true})
proc.run({"chmod", "0700", pgdata}, {quiet = true})
local shared_marker   -- the shared storage this install fills (RW, PolarDB standby): cleared of it at the end
if p.follower then shared_marker = follower.make(p, work, shared) else
log.info("step 1/4: initdb into " .. work)
local initdb_argv = {initdb, "-D", work, "-U", "postgres", "-E", p.encoding, "--locale=" .. p.locale,
                     "--auth-local=trust", "--auth-host=md5"}
if shared then table.move(polardb.initdb_args, 1, #polardb.initdb_args, #initdb_argv + 1, initdb_argv) end
proc.run(initdb_argv, {user = as_user, env = {LC_ALL = "C"}, stream = true})
end

-- 4. postgresql.conf
local template = p.template
if not template then
  -- the engine's own sample (pg_config --sharedir), never another engine's
  local share = engine.sharedir(p)
  for _, t in ipairs({"/postgresql.conf.sample", share and (share .. "/postgresql.conf.sample")}) do
    if fs.exists(t) then template = t; break end
  end
end
if template then
  log.info("step 2/4: postgresql.conf from " .. template)
  local text = fs.read(template)
  if not text then polarrun.raise("usage", "cannot read the config template " .. template) end
  if shared then text = polardb.conf_text(shared, text) end                    -- PolarDB: + polardb.conf.sample
  fs.write(work .. "/postgresql.conf", text, {mode = "0600", owner = as_user})
else
  log.warn("no config template found: keeping initdb's postgresql.conf")
  if shared then fs.write(work .. "/postgresql.conf", polardb.conf_text(shared, fs.read(work .. "/postgresql.conf")), {owner = as_user}) end
end
local settings = {port = p.port, listen_addresses = "*", unix_socket_directories = ".",
                  logging_collector = true, log_directory = "pg_log"}
for k, val in pairs(p.mycnf_dict or {}) do settings[k] = val end
for k, v in pairs(shared and shared.settings or {}) do settings[k] = v end       -- PolarDB: polar_datadir ... win
local changed = conf_set(work .. "/postgresql.conf", settings)
log.info("postgresql.conf: set " .. table.concat(changed, ", "))

-- 5. pg_hba.conf
local hba = fs.exists(p.hba_override) and fs.read(p.hba_override)
if hba then
  log.info("step 3/4: pg_hba.conf from " .. p.hba_override)
else
  log.info("step 3/4: pg_hba.conf: trust on the unix socket, md5 over TCP")
  hba = table.concat({
    "# written by polarrun install.lua (mount /etc/postgres/pg_hba.conf to replace it)",
    "local   all          all                 trust",
    "local   replication  all                 trust",
    "host    all          all   0.0.0.0/0     md5",
    "host    all          all   ::/0          md5",
    "host    replication  all   0.0.0.0/0     md5",
    "host    replication  all   ::/0          md5",
  }, "\n") .. "\n"
end
fs.write(work .. "/pg_hba.conf", hba, {mode = "0600", owner = as_user})
follower.configure(p, work, shared)

-- PolarDB RW: the shared files (base, global, pg_wal, ...) go to the shared storage
if shared and not p.follower then shared_marker = polardb.init_shared(shared, work, p, as_user) end

-- 6. move up (PG_VERSION last), link the logs, the marker last
log.info("step 4/4: moving the instance into " .. pgdata)
local names = {}
for _, name in ipairs(fs.list(work)) do
  if name ~= "PG_VERSION" then names[#names + 1] = work .. "/" .. name end
end
local argv = {"mv", "-t", pgdata}
for _, n in ipairs(names) do argv[#argv + 1] = n end
proc.run(argv, {quiet = true})
proc.run({"mv", "-t", pgdata, work .. "/PG_VERSION"}, {quiet = true})
fs.remove(work, {recursive = true})
link_logs()
follower.finish(p, pgdata)
fs.write(marker, "installed by polarrun run " .. polarrun.run_id .. "\n", {owner = as_user})
if shared_marker then polardb.finish(shared_marker) end
log.info("instance installed in " .. pgdata .. " (port " .. p.port .. "); the supervisor starts it")
return {installed = true, pgdata = pgdata, template = template, engine = engine.name(eng),
        polar_datadir = shared and shared.polar_datadir or sql.null}
