-- rejoin_rebuild: ha_rejoin method=basebackup — replace a stopped instance's data with a fresh base
-- backup of the new primary. This is what works where pg_rewind cannot (PolarDB with
-- full_page_writes = off; a new primary whose unix socket is in its data directory).
--
--   1. pg_basebackup into <pgdata>.polarrun-rejoin-new; PolarDB with its own shared storage on a
--      local directory (file-dio): the shared files into <polar_datadir>.polarrun-rejoin-new
--      (pg_basebackup --polardata). The old data is untouched until the backup is complete.
--   2. then the old files go and the new ones move in (PG_VERSION last), for the data directory
--      and the shared directory; polarrun's own files (lock, install marker, ins_lock, pg_log) stay.
-- ha_rejoin saved this instance's configuration files before and restores them after.
-- Replicas sharing this instance's polar_datadir must be rebuilt too (their shared data changed).

local engine = require("engine")
local M = {}

local KEEP = {[".polarrun.lock"] = true, ["pg_log"] = true, ["polarrun_installed"] = true, ["ins_lock"] = true}

local function replace_contents(dir, new)
  for _, name in ipairs(fs.list(dir)) do
    if not KEEP[name] then fs.remove(dir .. "/" .. name, {recursive = true}) end
  end
  local names, last = {}, nil
  for _, name in ipairs(fs.list(new)) do
    if KEEP[name] and fs.exists(dir .. "/" .. name) then fs.remove(new .. "/" .. name, {recursive = true})
    elseif name == "PG_VERSION" then last = new .. "/" .. name
    else names[#names + 1] = new .. "/" .. name end
  end
  if #names > 0 then
    local argv = {"mv", "-t", dir}
    for _, n in ipairs(names) do argv[#argv + 1] = n end
    proc.run(argv, {quiet = true})
  end
  if last then proc.run({"mv", "-t", dir, last}, {quiet = true}) end
  fs.remove(new, {recursive = true})
end

--- Rebuilds the (stopped) instance of `p` from `src` = {host=, port=, user=}; `env` carries PGPASSWORD.
function M.run(p, src, env, as_user)
  local pgdata = p.pgdata:gsub("/+$", "")
  local eng = engine.from_binaries(p)
  local shared = nil
  if eng.polardb and eng.shared_storage then
    shared = engine.local_polar_datadir(eng)
    if not shared then
      polarrun.raise("refused", "polar_datadir " .. tostring(eng.polar_datadir) .. " is on PFS: a rebuild needs polar_basebackup " ..
        "onto the shared disk, which this runbook does not do; nothing was changed")
    end
  end
  local new, new_shared = pgdata .. ".polarrun-rejoin-new", shared and (shared .. ".polarrun-rejoin-new")
  for _, d in ipairs({new, new_shared}) do
    if d and fs.exists(d) then fs.remove(d, {recursive = true}) end
    if d then fs.mkdir(d, {mode = "0700", owner = as_user}) end
  end
  local argv = {pg_ctl.bin("pg_basebackup", {bindir = p.bindir}), "-D", new, "-h", src.host, "-p", src.port, "-U", src.user,
                "-w", "-X", "stream", "-c", "fast", "--no-manifest", "-v"}
  if new_shared then argv[#argv + 1] = "--polardata=" .. new_shared end
  log.info("pg_basebackup of " .. src.host .. ":" .. src.port .. " into " .. new .. (new_shared and (" and " .. new_shared) or ""))
  proc.run(argv, {user = as_user, env = env, cwd = "/", stream = true})
  log.info("replacing the data of " .. pgdata .. (shared and (" and " .. shared) or "") .. " with the base backup")
  if shared then replace_contents(shared, new_shared) end
  replace_contents(pgdata, new)
end

return M
