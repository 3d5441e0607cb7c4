-- installer: install.lua's mechanics. install.lua keeps the checklist; each step here works on
-- one table `ins` made by installer.plan(p). PolarDB's shared storage is lib/polardb.lua, an
-- RO / standby / ssl / tablespace lib/install_follower.lua.
local instance = require("instance")
local si = require("stack_install")
local follower = require("install_follower")
local engine = require("engine")
local polardb = require("polardb")

local M = {}

--- install.lua's inputs (besides instance's): its own, the follower's and PolarDB's.
function M.inputs()
  local spec = follower.with_inputs {
    mycnf_dict = {type = "json", desc = "JSON object of parameters, values in postgresql.conf syntax"},
    template = {type = "string", desc = "config template (default: /postgresql.conf.sample, else the engine's pg_config --sharedir)"},
    hba_override = {type = "string", default = "/etc/postgres/pg_hba.conf", desc = "pg_hba.conf used as it is when it exists"},
    encoding = {type = "string", default = "UTF8"},
    locale = {type = "string", default = "C"},
  }
  for k, v in pairs(polardb.inputs) do spec[k] = v end
  return spec
end

-- the pg_hba.conf of a pod that mounts none: trust on the unix socket, md5 over TCP
M.DEFAULT_HBA = table.concat({
  "# written by polarrun install.lua (mount /etc/postgres/pg_hba.conf to replace it)",
  "local   all          all                 trust",
  "local   replication  all                 trust",
  "host    all          all   0.0.0.0/0     md5",
  "host    all          all   ::/0          md5",
  "host    replication  all   0.0.0.0/0     md5",
  "host    replication  all   ::/0          md5",
}, "\n") .. "\n"

--- Checks the inputs (exit 2) and returns the install table.
function M.plan(p)
  if p.mycnf_dict ~= nil and (type(p.mycnf_dict) ~= "table" or (next(p.mycnf_dict) ~= nil and #p.mycnf_dict > 0)) then
    polarrun.raise("usage", "mycnf_dict must be a JSON object of name -> value")
  end
  local pgdata = p.pgdata:gsub("/+$", "")
  return {p = p, pgdata = pgdata, marker = pgdata .. "/" .. si.marker, work = pgdata .. "/" .. si.work,
          as_user = polarrun.is_root and p.db_user or nil}
end

--- <log_dir>/pg_log -> <pgdata>/pg_log
function M.link_logs(ins)
  instance.link_logs(ins.p, ins.as_user)
end

--- Writes the marker the supervisor waits for.
function M.mark(ins)
  fs.write(ins.marker, "installed by polarrun run " .. polarrun.run_id .. "\n", {owner = ins.as_user})
end

--- Whether the data directory holds a cluster moved up without a marker (an interrupted
--- install) or made another way: it is adopted.
function M.adoptable(ins)
  return fs.exists(ins.pgdata .. "/PG_VERSION") and not fs.exists(ins.work)
end

--- Refuses a data directory with anything but what polarrun itself leaves there.
function M.check_empty(ins)
  local ignorable = {[".polarrun.lock"] = true, ["lost+found"] = true, ["pg_log"] = true, [si.work] = true}
  for _, name in ipairs(fs.list(ins.pgdata)) do
    if not ignorable[name] or (name == "pg_log" and #fs.list(ins.pgdata .. "/pg_log") > 0) then
      polarrun.raise("refused", ins.pgdata .. " is not empty (" .. name .. "): refusing to install over it")
    end
  end
end

--- Which engine (from its binaries), and on PolarDB where its shared storage goes; checked
--- before any change. Then the work directory of an interrupted install goes.
function M.check_engine(ins)
  local p = ins.p
  ins.eng = engine.from_binaries(p)
  ins.shared = ins.eng.polardb and polardb.plan(p, ins.pgdata) or nil
  local shared, ro = ins.shared, p.follower and p.follower.kind == "replica"
  if shared then
    log.info("engine: " .. engine.name(ins.eng) .. "; shared storage " .. shared.polar_datadir .. " (storage_type " .. shared.kind ..
             (ro and ", the RW's" or "") .. ")")
    -- an RO's shared storage is the RW's: never cleared, it must hold the RW's instance
    if ro then polardb.check_replica_storage(shared, p) else polardb.check_storage(shared, fs.exists(ins.work)) end
  end
  if fs.exists(ins.work) then
    log.warn("removing the work directory of an interrupted install: " .. ins.work)
    fs.remove(ins.work, {recursive = true})
  end
end

--- initdb into the work directory as the database OS user (a follower is copied instead).
function M.initdb(ins)
  local p = ins.p
  local initdb = pg_ctl.bin("initdb", {bindir = p.bindir})
  proc.run({"chown", p.db_user, ins.pgdata}, {quiet = true})
  proc.run({"chmod", "0700", ins.pgdata}, {quiet = true})
  if p.follower then
    ins.shared_marker = follower.make(p, ins.work, ins.shared)
    return
  end
  log.info("step 1/4: initdb into " .. ins.work)
  local argv = {initdb, "-D", ins.work, "-U", "postgres", "-E", p.encoding, "--locale=" .. p.locale,
                "--auth-local=trust", "--auth-host=md5"}
  if ins.shared then table.move(polardb.initdb_args, 1, #polardb.initdb_args, #argv + 1, argv) end
  proc.run(argv, {user = ins.as_user, env = {LC_ALL = "C"}, stream = true})
  -- a dry run listed initdb: its directory stands in for what it makes, so the later steps show their files
  if polarrun.dry_run then fs.mkdir(ins.work, {mode = "0700"}) end
end

--- The config template: the given one, /postgresql.conf.sample, else the engine's own sample
--- (pg_config --sharedir), never another engine's. nil when there is none.
local function find_template(p)
  if p.template then return p.template end
  local share = engine.sharedir(p)
  for _, t in ipairs({"/postgresql.conf.sample", share and (share .. "/postgresql.conf.sample")}) do
    if fs.exists(t) then return t end
  end
end

--- Finds the config template and reads it before anything changes: a template that cannot be
--- read is a usage error (exit 2) with the data directory untouched.
function M.check_template(ins)
  ins.template = find_template(ins.p)
  if ins.template then
    ins.template_text = fs.read(ins.template)
    if not ins.template_text then polarrun.raise("usage", "cannot read the config template " .. ins.template) end
  end
end

--- postgresql.conf from the template, then the pod's settings and mycnf_dict (PolarDB's win).
function M.write_conf(ins)
  local p, shared, conf_path = ins.p, ins.shared, ins.work .. "/postgresql.conf"
  if ins.template then
    log.info("step 2/4: postgresql.conf from " .. ins.template)
    local text = ins.template_text
    if shared then text = polardb.conf_text(shared, text) end                    -- PolarDB: + polardb.conf.sample
    fs.write(conf_path, text, {mode = "0600", owner = ins.as_user})
  else
    log.warn("no config template found: keeping initdb's postgresql.conf")
    if shared then fs.write(conf_path, polardb.conf_text(shared, fs.read(conf_path)), {owner = ins.as_user}) end
  end
  local settings = {port = p.port, listen_addresses = "*", unix_socket_directories = ".",
                    logging_collector = true, log_directory = "pg_log"}
  for k, val in pairs(p.mycnf_dict or {}) do settings[k] = val end
  for k, v in pairs(shared and shared.settings or {}) do settings[k] = v end       -- PolarDB: polar_datadir ... win
  local changed = conf_set(conf_path, settings)
  log.info("postgresql.conf: set " .. table.concat(changed, ", "))
end

--- pg_hba.conf: the pod's mounted one, else DEFAULT_HBA; then the follower's settings, and on a
--- PolarDB RW the shared files (base, global, pg_wal, ...) go to the shared storage.
function M.write_hba(ins)
  local p = ins.p
  local hba = fs.exists(p.hba_override) and fs.read(p.hba_override)
  if hba then
    log.info("step 3/4: pg_hba.conf from " .. p.hba_override)
  else
    log.info("step 3/4: pg_hba.conf: trust on the unix socket, md5 over TCP")
    hba = M.DEFAULT_HBA
  end
  fs.write(ins.work .. "/pg_hba.conf", hba, {mode = "0600", owner = ins.as_user})
  follower.configure(p, ins.work, ins.shared)
  if ins.shared and not p.follower then ins.shared_marker = polardb.init_shared(ins.shared, ins.work, p, ins.as_user) end
end

--- Moves the instance up into pgdata (PG_VERSION last), links the logs, writes the marker last.
function M.move_up(ins)
  log.info("step 4/4: moving the instance into " .. ins.pgdata)
  local argv = {"mv", "-t", ins.pgdata}
  for _, name in ipairs(fs.list(ins.work)) do
    if name ~= "PG_VERSION" then argv[#argv + 1] = ins.work .. "/" .. name end
  end
  proc.run(argv, {quiet = true})
  proc.run({"mv", "-t", ins.pgdata, ins.work .. "/PG_VERSION"}, {quiet = true})
  if polarrun.dry_run then   -- the moves were listed: the overlay follows them, so the report shows where files end up
    for _, name in ipairs(fs.list(ins.work)) do fs.copy(ins.work .. "/" .. name, ins.pgdata .. "/" .. name) end
  end
  fs.remove(ins.work, {recursive = true})
  M.link_logs(ins)
  follower.finish(ins.p, ins.pgdata)
  M.mark(ins)
  if ins.shared_marker then polardb.finish(ins.shared_marker) end
end

return M
