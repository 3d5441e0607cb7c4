-- instance: what every manager runbook shares — the pod's paths, the database OS user,
-- how to connect, the per-data-directory lock, and what the engine can do.
--
--   local instance = require("instance")
--   local p = instance.inputs { mode = {type="string", default="fast"} }
--   local lock <close> = instance.exclusive(p)
--   sql("select 1", {}, instance.conn(p))

local M = {}

-- Inputs every manager runbook takes; defaults are the pod layout (PolarDB Stack), the host's
-- one copy of it: polarrun.defaults (PGDATA, PGPORT and POLARRUN_DB_USER already applied).
local pod = polarrun.defaults
M.common_inputs = {
  pgdata   = {type = "string",  default = pod.pgdata, desc = "data directory"},
  port     = {type = "integer", default = pod.port, desc = "PostgreSQL port"},
  bindir   = {type = "string",  desc = "engine bin directory (default: POLARRUN_PG_BIN, " .. pod.bindir .. ", PATH)"},
  db_user  = {type = "string",  default = pod.db_user, desc = "database OS user"},
  log_dir  = {type = "string",  default = pod.log_dir, desc = "log directory of the pod"},
  lock_path = {type = "string", desc = "instance lock file (default: <pgdata>/" .. pod.lock_name .. ")"},
  connect_timeout = {type = "integer", default = pod.connect_timeout, desc = "seconds to wait for a connection"},
}

--- Declares the common inputs plus `extra`, validates them, and returns `params`.
function M.inputs(extra)
  local spec = {}
  for k, v in pairs(M.common_inputs) do spec[k] = v end
  for k, v in pairs(extra or {}) do spec[k] = v end
  local p = polarrun.inputs(spec)
  M.check_paths(p)
  p.lock_path = p.lock_path or (p.pgdata .. "/" .. pod.lock_name)
  return p
end

--- A `timeout` input in seconds (instance.open refuses one that is not positive).
function M.timeout(desc, default, kind)
  return {type = kind or "integer", default = default or 60, desc = desc}
end

--- The preamble of a runbook that works on an existing data directory: the common inputs
--- plus `extra` (instance.inputs), a declared `timeout` must be positive, and pgdata must be
--- a directory (unless opts.need_dir == false). Bad input: exit 2 before anything is touched.
function M.open(extra, opts)
  local p = M.inputs(extra)
  if extra and extra.timeout and not (p.timeout > 0) then polarrun.raise("usage", "timeout must be positive") end
  if (opts or {}).need_dir ~= false and not fs.is_dir(p.pgdata) then
    polarrun.raise("usage", "pgdata " .. p.pgdata .. " is not a directory")
  end
  return p
end

--- Refuses path and name inputs that would silently mean something else: an empty `pgdata=`
--- makes libpq fall back to its defaults (another instance), puts the lock at the root, and
--- edits whatever conf file "" resolves to. Exit 2, before anything is touched.
function M.check_paths(p)
  for _, k in ipairs({"pgdata", "bindir", "db_user", "log_dir", "lock_path"}) do
    local v = p[k]
    if v ~= nil and (v == "" or v:match("^%s*$") or v:find("%c")) then
      polarrun.raise("usage", string.format("input '%s' must not be empty or contain control characters; nothing was changed", k))
    end
  end
  if p.pgdata:sub(1, 1) ~= "/" or p.pgdata:match("^/+$") then
    polarrun.raise("usage", "input 'pgdata' must be an absolute path below / (got '" .. p.pgdata .. "'); nothing was changed")
  end
end

--- Connection options for sql(): the unix socket in the data directory, user postgres.
function M.conn(p, overrides)
  local c = {host = p.pgdata, port = p.port, user = pod.role, dbname = pod.dbname,
             connect_timeout = p.connect_timeout}
  for k, v in pairs(overrides or {}) do c[k] = v end
  return c
end

--- Options for pg_ctl().
function M.ctl(p, extra)
  local o = {pgdata = p.pgdata, bindir = p.bindir, user = p.db_user}
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

--- The lock that keeps two mutating runbooks on one data directory from interleaving.
--- Use as `local lock <close> = instance.exclusive(p)`.
function M.exclusive(p, timeout)
  return fs.flock(p.pgdata .. "/.polarrun.lock", {timeout = timeout or 600})
end

--- Refuses while the instance lock file (lock_expired) exists: the instance must stay down.
function M.refuse_if_locked(p)
  if fs.exists(p.lock_path) then
    polarrun.raise("locked", "the instance is locked by " .. p.lock_path .. " (lock_expired): run unlock_expired")
  end
end

--- Where pg_ctl start writes server output before the logging collector takes over.
function M.startup_log(p, given)
  if given then return given end
  fs.mkdir(p.pgdata .. "/pg_log", {mode = "0700", owner = p.db_user})
  return p.pgdata .. "/pg_log/startup.log"
end

--- <log_dir>/pg_log -> <pgdata>/pg_log, the pod's log layout (pg_log made, owned by `owner`,
--- when missing). A link that cannot be made is a warning: the instance runs without it.
function M.link_logs(p, owner)
  local pg_log = p.pgdata:gsub("/+$", "") .. "/pg_log"
  if not fs.is_dir(pg_log) then fs.mkdir(pg_log, {mode = "0700", owner = owner}) end
  local ok, err = pcall(function()
    if not fs.is_dir(p.log_dir) then fs.mkdir(p.log_dir) end
    if fs.symlink(pg_log, p.log_dir .. "/pg_log") then log.info((polarrun.dry_run and "would link " or "linked ") .. p.log_dir .. "/pg_log -> " .. pg_log) end
  end)
  if not ok then log.warn("could not link " .. p.log_dir .. "/pg_log to " .. pg_log .. ": " .. tostring(err)) end
end

--- The PID in <pgdata>/postmaster.pid (nil when there is none).
function M.postmaster_pid(p)
  local text = fs.read(p.pgdata .. "/postmaster.pid")
  return text and tonumber(text:match("^(%d+)")) or nil
end

--- Whether the postmaster of this data directory is running.
function M.running(p)
  return pg_ctl("status", M.ctl(p)).running
end

--- What the running engine offers (lib/engine.lua: asked of the server, never assumed).
function M.engine(p)
  return require("engine").from_server(M.conn(p))
end

--- postgresql.conf of the instance.
function M.conf_file(p)
  return p.pgdata .. "/postgresql.conf"
end

--- Reloads the configuration and waits until the postmaster has read it (a fresh session
--- sees a newer pg_conf_load_time()), so new sessions get the new settings.
function M.reload(p, timeout)
  local before = sql("select extract(epoch from pg_conf_load_time())::float8 as t", {}, M.conn(p))[1].t
  sql("select pg_reload_conf()", {}, M.conn(p))
  if polarrun.dry_run then log.info("would reload the configuration"); return end   -- nothing to wait for
  polarrun.wait_until(function()
    local c <close> = sql.connect(M.conn(p))
    return c:query("select extract(epoch from pg_conf_load_time())::float8 as t")[1].t > before
  end, timeout or 10, 0.02)
  log.info("configuration reloaded")
end

return M
