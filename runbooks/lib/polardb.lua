-- polardb: the PolarDB for PostgreSQL part of install — shared-storage mode, as PolarDB runs in
-- the pod. install.lua calls it only when the engine's binaries say they are PolarDB
-- (lib/engine.lua); on community PostgreSQL none of this runs.
--
--   storage_type = local (default): shared storage on a local directory, through polar_vfs's
--     file-dio layer (the engine's build.sh `init`): polar_datadir = 'file-dio://<shared_dir>',
--     polar_vfs.localfs_mode = on.
--   storage_type = fcsan | polarstore: shared storage on PFS (spec §4.7): the disk is
--     mapper_<volume> of san_device (fcsan) or the given disk name, polar_datadir =
--     '/<disk>/data', polar_storage_cluster_name = 'disk'; needs the pfs tool and a running
--     pfsdaemon, which this machine has not: the install refuses before changing anything.
--
-- Steps (install.lua's order): check (before initdb) -> settings for postgresql.conf (after
-- the template) -> polar-initdb.sh moves the shared files out of the new data directory
-- (before it is moved into place).

local engine = require("engine")
local M = {}

M.storage_types = {"local", "fcsan", "polarstore"}
M.PFS = "/usr/local/bin/pfs"

--- The install inputs PolarDB adds (merged into install.lua's inputs).
M.inputs = {
  storage_type = {type = "string", default = "local", enum = M.storage_types,
                  desc = "PolarDB: local (shared storage on a local directory, file-dio) or fcsan / polarstore (PFS)"},
  shared_dir = {type = "string", desc = "PolarDB, storage_type=local: the shared data directory (default: /disk1/polar_data " ..
                                        "when /disk1 exists, else <pgdata>.shared)"},
  san_device = {type = "string", desc = "PolarDB, storage_type=fcsan: the LUN, e.g. /dev/mapper/<volume>"},
  disk_name = {type = "string", desc = "PolarDB, storage_type=polarstore: the PFS disk name (<pbd_number>-<data_version>)"},
  polar_hostid = {type = "integer", default = 1, desc = "PolarDB: polar_hostid of this node"},
  polardb_conf = {type = "string", desc = "PolarDB: the engine's polardb.conf.sample (default: in pg_config --sharedir)"},
}

--- What the shared storage of this install is: {kind=, polar_datadir=, dir= (local) / disk= (PFS), settings=}.
--- Validates the polarrun.inputs (exit 2) and checks the storage (exit 1), before anything is changed.
function M.plan(p, pgdata)
  local s = {kind = p.storage_type}
  local share = engine.sharedir(p)
  s.sample = p.polardb_conf or (share and share .. "/polardb.conf.sample")
  if not s.sample or not fs.exists(s.sample) then
    polarrun.raise("refused", "PolarDB needs its polardb.conf.sample (not found" .. (s.sample and (" at " .. s.sample) or "") ..
      "; the engine image installs it in pg_config --sharedir, or give polardb_conf=)")
  end
  s.settings = {polar_hostid = p.polar_hostid}
  if p.storage_type == "local" then
    local dir = p.shared_dir or (fs.is_dir("/disk1") and "/disk1/polar_data" or (pgdata .. ".shared"))
    dir = dir:gsub("/+$", "")
    if dir:sub(1, 1) ~= "/" then polarrun.raise("usage", "shared_dir must be an absolute path, got '" .. dir .. "'") end
    if dir == pgdata or dir:sub(1, #pgdata + 1) == pgdata .. "/" or pgdata:sub(1, #dir + 1) == dir .. "/" then
      polarrun.raise("usage", "shared_dir " .. dir .. " must be outside the data directory " .. pgdata .. " (and not contain it)")
    end
    s.dir, s.polar_datadir = dir, "file-dio://" .. dir
    s.settings["polar_vfs.localfs_mode"] = true
    s.settings.polar_datadir = s.polar_datadir
  else
    local disk
    if p.storage_type == "fcsan" then
      if not p.san_device or not p.san_device:match("^/dev/[%w_%-/%.]+$") then
        polarrun.raise("usage", "storage_type=fcsan needs san_device=/dev/mapper/<volume>")
      end
      disk = p.san_device:gsub("^/dev/", ""):gsub("/", "_")
    else
      if not p.disk_name or not p.disk_name:match("^[%w_%-%.]+$") then
        polarrun.raise("usage", "storage_type=polarstore needs disk_name=<pbd_number>-<data_version>")
      end
      disk = p.disk_name
    end
    s.disk, s.polar_datadir = disk, "/" .. disk .. "/data"
    s.settings["polar_vfs.localfs_mode"] = false
    s.settings.polar_disk_name = disk
    s.settings.polar_datadir = s.polar_datadir
    s.settings.polar_storage_cluster_name = "disk"
  end
  return s
end

--- Checks that the shared storage can take a new primary; clears what an interrupted install of
--- ours left there (marked by <dir>.polarrun-installing). Refuses (nothing changed) otherwise.
function M.check_storage(s, interrupted)
  if s.kind ~= "local" then
    if not fs.exists(M.PFS) then
      polarrun.raise("refused", "storage_type=" .. s.kind .. " needs PolarDB's PFS tools (" .. M.PFS .. ") and a running pfsdaemon, " ..
        "which this machine does not have; nothing was changed (use storage_type=local for shared storage on a local directory)")
    end
    return
  end
  local marker = s.dir .. ".polarrun-installing"
  if fs.is_dir(s.dir) and #fs.list(s.dir) > 0 then
    if interrupted and fs.exists(marker) then
      log.warn("removing the shared data an interrupted install left in " .. s.dir)
      for _, name in ipairs(fs.list(s.dir)) do fs.remove(s.dir .. "/" .. name, {recursive = true}) end
    else
      polarrun.raise("refused", "the shared data directory " .. s.dir .. " is not empty: refusing to install over it")
    end
  elseif fs.exists(s.dir) and not fs.is_dir(s.dir) then
    polarrun.raise("refused", "shared_dir " .. s.dir .. " exists and is not a directory")
  end
end

--- Extra initdb arguments: data checksums, as PolarDB's build.sh and the original manager do.
M.initdb_args = {"--data-checksums"}

--- postgresql.conf: the template, then polardb.conf.sample (as build.sh appends it). Returns the
--- settings that go on top of it (before the pod's and mycnf_dict's).
function M.conf_text(s, template_text)
  local text = template_text
  if text ~= "" and text:sub(-1) ~= "\n" then text = text .. "\n" end
  return text .. "\n# PolarDB: " .. s.sample .. "\n" .. fs.read(s.sample)
end

--- An RO shares its RW's storage (spec §4.7): it must hold the RW's finished instance, and on a
--- local directory (two pods on one node mounting the same /disk1) be readable by this pod's
--- database OS user — PFS has no file owners, a local directory does. Refuses, nothing changed.
function M.check_replica_storage(s, p)
  if s.kind ~= "local" then return M.check_storage(s) end
  if not fs.exists(s.dir .. "/global/pg_control") or fs.exists(s.dir .. ".polarrun-installing") then
    polarrun.raise("refused", "an RO shares its RW's storage, but " .. s.dir .. " holds no installed PolarDB instance " ..
      "(global/pg_control); the RO pod must mount the RW's /disk1 (or give shared_dir=); nothing was changed")
  end
  if polarrun.is_root then
    local uid = tonumber((proc.run({"id", "-u", p.db_user}, {quiet = true, readonly = true}).stdout:match("%d+")))
    local st = fs.stat(s.dir)
    if st and uid and st.uid ~= uid then
      polarrun.raise("refused", string.format("the RW's shared storage %s belongs to uid %d, this pod's %s is uid %d: " ..
        "an RO on a local shared directory must run as the RW's uid (logic_ins_id mod 10000 equal); nothing was changed",
        s.dir, st.uid, p.db_user, uid))
    end
  end
end

--- Marks the local shared directory as being installed (an interrupted install of ours is then
--- cleared by check_storage) and creates it for the database OS user. Returns the marker.
function M.begin_shared(s, p, as_user)
  local marker = s.dir .. ".polarrun-installing"
  fs.write(marker, "install by polarrun run " .. polarrun.run_id .. "\n")
  if not fs.is_dir(s.dir) then fs.mkdir(s.dir, {mode = "0700", owner = as_user}) end
  proc.run({"chown", p.db_user, s.dir}, {quiet = true})
  return marker
end

--- Moves the shared files (base, global, pg_wal, pg_xact, ...) of the new data directory `work`
--- into the shared storage with the engine's polar-initdb.sh, as the database OS user.
function M.init_shared(s, work, p, as_user)
  local script = pg_ctl.bin("polar-initdb.sh", {bindir = p.bindir})
  if s.kind == "local" then
    local marker = M.begin_shared(s, p, as_user)
    log.info("PolarDB: polar-initdb.sh moves the shared files into " .. s.dir .. " (file-dio)")
    proc.run({"bash", script, work .. "/", s.dir .. "/", "primary", "localfs"}, {user = as_user, cwd = "/", stream = true})
    return marker
  end
  proc.run({M.PFS, "-C", "disk", "mkdir", s.polar_datadir}, {stream = true})
  log.info("PolarDB: polar-initdb.sh moves the shared files into PFS " .. s.polar_datadir)
  proc.run({"bash", script, work .. "/", s.polar_datadir .. "/", "primary", "disk"}, {cwd = "/", stream = true})
end

--- The last step, after the marker: the shared storage is no longer "being installed".
function M.finish(marker)
  if marker then fs.remove(marker) end
end

return M
