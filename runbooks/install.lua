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
-- The mechanics are in lib/installer.lua.
local instance = require("instance")
local installer = require("installer")
local engine = require("engine")

local p = instance.inputs(installer.inputs())
local ins = installer.plan(p)
if not fs.is_dir(ins.pgdata) then fs.mkdir(ins.pgdata, {mode = "0700", owner = ins.as_user}) end
local lock <close> = instance.exclusive(p)

-- 1. done before
if fs.exists(ins.marker) then
  log.info("the instance in " .. ins.pgdata .. " is installed already (" .. ins.marker .. "): nothing to do")
  installer.link_logs(ins)
  return {installed = false, pgdata = ins.pgdata}
end
-- 2. an instance moved up but no marker yet (interrupted after the move), or made another way
if installer.adoptable(ins) then
  log.info(ins.pgdata .. " already holds a cluster: adopting it")
  installer.link_logs(ins)
  installer.mark(ins)
  return {installed = false, adopted = true, pgdata = ins.pgdata}
end
installer.check_empty(ins)
installer.check_template(ins)
installer.check_engine(ins)

installer.initdb(ins)       -- 3. (or the follower's copy of its primary)
installer.write_conf(ins)   -- 4. postgresql.conf
installer.write_hba(ins)    -- 5. pg_hba.conf, the follower's settings, PolarDB's shared files
installer.move_up(ins)      -- 6. move up (PG_VERSION last), link the logs, the marker last
log.info((polarrun.dry_run and "the instance would be installed in " or "instance installed in ") .. ins.pgdata
  .. " (port " .. p.port .. "); the supervisor starts it")
return {installed = not polarrun.dry_run, would_install = polarrun.dry_run or nil, pgdata = ins.pgdata, template = ins.template, engine = engine.name(ins.eng),
        polar_datadir = ins.shared and ins.shared.polar_datadir or sql.null}
