-- replication: what the replication, backup and HA runbooks share — slot names, the
-- synchronous_standby_names list, connections to other servers, pg_controldata.
--
--   local repl = require("replication")
--   local slot = repl.slot_name("replica", "pc1", "ro-1")         --> replica_pc1_ro_1

local M = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
M.trim = trim

--- The physical slot (and application_name) of a replica or standby: `<kind>_<custins>_<unique>`,
--- '-' in the unique name turned into '_' (spec 4.2). The pieces must have the shape the Stack
--- gives them (custins_id and slot_unique_name are segments of a pod name, split at '-'), so that
--- two different pairs never map to one slot: custins_id has no '-' or '_', slot_unique_name no
--- '_'. Without that, custins `a-b`/slot `c`, `a`/`b-c` and `a_b`/`c` were all `replica_a_b_c`.
--- A name PostgreSQL would reject is a usage error too, raised before any change.
function M.slot_name(kind, custins_id, unique)
  if kind ~= "replica" and kind ~= "standby" then
    polarrun.raise("usage", "kind must be replica or standby, got '" .. tostring(kind) .. "'")
  end
  for what, v in pairs {custins_id = custins_id, slot_unique_name = unique} do
    if v == nil or v == "" then polarrun.raise("usage", "missing required input '" .. what .. "'") end
  end
  if not custins_id:match("^[a-z0-9]+$") then
    polarrun.raise("usage", string.format("input 'custins_id' may only contain lowercase letters and digits " ..
      "(one segment of a PolarDB Stack pod name), got %q", custins_id))
  end
  if not unique:match("^[a-z0-9%-]+$") then
    polarrun.raise("usage", string.format("input 'slot_unique_name' may only contain lowercase letters, digits and '-' " ..
      "(one segment of a PolarDB Stack pod name), got %q", unique))
  end
  local name = kind .. "_" .. custins_id .. "_" .. unique:gsub("-", "_")
  if #name > 63 then polarrun.raise("usage", "slot name " .. name .. " is longer than 63 bytes") end
  return name
end

-- synchronous_standby_names -------------------------------------------------------------

--- Splits a standby name list ("a, \"B c\", *") into {raw=, name=} items; quoted names keep
--- their text, unquoted ones are compared case-insensitively (as PostgreSQL does).
local function split_names(list)
  local items, i, n = {}, 1, #list
  while i <= n do
    while i <= n and list:sub(i, i):match("[%s,]") do i = i + 1 end
    if i > n then break end
    local raw, name
    if list:sub(i, i) == '"' then
      local j, buf = i + 1, {}
      while true do
        if j > n then polarrun.raise("usage", "synchronous_standby_names: unterminated quoted name in '" .. list .. "'") end
        local c = list:sub(j, j)
        if c == '"' then
          if list:sub(j + 1, j + 1) == '"' then buf[#buf + 1] = '"'; j = j + 2 else break end
        else buf[#buf + 1] = c; j = j + 1 end
      end
      raw, name = list:sub(i, j), table.concat(buf)
      i = j + 1
    else
      local j = list:find(",", i, true) or (n + 1)
      raw = trim(list:sub(i, j - 1))
      name = raw
      i = j
    end
    items[#items + 1] = {raw = raw, name = name}
  end
  return items
end

--- Parses synchronous_standby_names: nil when empty, else {method="FIRST"|"ANY", num=, names={...}}.
--- A plain list "a, b" means FIRST 1 (a, b).
function M.parse_sync(value)
  local s = trim(value or "")
  if s == "" then return nil end
  local method, rest = s:match("^(%a+)%s+(%d.*)$")
  if method and (method:upper() == "FIRST" or method:upper() == "ANY") then
    s = rest
    method = method:upper()
  else
    method = nil
  end
  local num, inner = s:match("^(%d+)%s*%((.*)%)$")
  if num then
    return {method = method or "FIRST", num = tonumber(num), names = split_names(inner)}
  end
  if method then polarrun.raise("usage", "synchronous_standby_names: cannot parse '" .. value .. "'") end
  return {method = "FIRST", num = 1, names = split_names(s)}
end

local function quote_name(name)
  if name == "*" or name:match("^[%a_][%w_$]*$") then return name end
  return '"' .. name:gsub('"', '""') .. '"'
end

--- Formats a parsed list back: "" when it holds no names, else "METHOD num (a, b)".
function M.format_sync(spec)
  if spec == nil or #spec.names == 0 then return "" end
  local raws = {}
  for _, it in ipairs(spec.names) do raws[#raws + 1] = it.raw end
  local num = math.max(1, math.min(spec.num, #spec.names))
  return string.format("%s %d (%s)", spec.method, num, table.concat(raws, ", "))
end

local function same(a, b) return a:lower() == b:lower() end

--- The list with `name` added (new lists are `ANY 1 (name)`: any one connected replica confirms).
function M.sync_add(value, name)
  local spec = M.parse_sync(value) or {method = "ANY", num = 1, names = {}}
  for _, it in ipairs(spec.names) do
    if same(it.name, name) then return M.format_sync(spec), false end
  end
  spec.names[#spec.names + 1] = {raw = quote_name(name), name = name}
  return M.format_sync(spec), true
end

--- The list without `name`; the count is lowered so it never exceeds the names left.
function M.sync_remove(value, name)
  local spec = M.parse_sync(value)
  if not spec then return "", false end
  local kept, removed = {}, false
  for _, it in ipairs(spec.names) do
    if same(it.name, name) then removed = true else kept[#kept + 1] = it end
  end
  spec.names = kept
  return M.format_sync(spec), removed
end

--- Edits synchronous_standby_names in the server's postgresql.conf with `edit(current) -> new, changed`,
--- reloads and waits until the server uses the new value. Refuses when another file
--- (postgresql.auto.conf, from ALTER SYSTEM) overrides postgresql.conf.
function M.update_sync_names(conn, conf_file, edit)
  local file = conf_file or sql("select current_setting('config_file') as f", {}, conn)[1].f
  local over = sql([[select sourcefile, sourceline from pg_file_settings
                     where name = 'synchronous_standby_names' and applied and sourcefile <> $1]], {file}, conn)
  if #over > 0 then
    polarrun.raise("refused", string.format("synchronous_standby_names is set in %s line %d, which overrides %s; " ..
      "remove it there first (ALTER SYSTEM RESET synchronous_standby_names)", over[1].sourcefile, over[1].sourceline, file))
  end
  local current = conf.get(file, "synchronous_standby_names") or ""
  local new, changed = edit(current)
  if changed then
    log.info(string.format("synchronous_standby_names: '%s' -> '%s' in %s", current, new, file))
    conf_set(file, {synchronous_standby_names = new})
  else
    log.info("synchronous_standby_names already right: '" .. current .. "'")
  end
  local live = sql("select current_setting('synchronous_standby_names') as v", {}, conn)[1].v
  if live ~= new then
    log.info("reloading the configuration")
    sql("select pg_reload_conf()", {}, conn)
    polarrun.wait_until(function()
      return sql("select current_setting('synchronous_standby_names') as v", {}, conn)[1].v == new
    end, 15, 0.1)
  end
  return new, changed
end

-- other servers and local data directories -----------------------------------------------

--- A libpq connection string from a table (values quoted), for pg_rewind and primary_conninfo.
function M.conninfo(t)
  local keys, parts = {}, {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = tostring(t[k])
    parts[#parts + 1] = k .. "='" .. v:gsub("\\", "\\\\"):gsub("'", "\\'") .. "'"
  end
  return table.concat(parts, " ")
end

--- Marks a password secret in every form it takes on its way into a file: as given, escaped for a
--- conninfo string, and that escaped again for postgresql.conf (so the masked log shows none of them).
function M.secret_password(pw)
  if not pw or pw == "" then return end
  polarrun.secret(pw)
  local ci = pw:gsub("\\", "\\\\"):gsub("'", "\\'")
  polarrun.secret(ci)
  polarrun.secret((ci:gsub("\\", "\\\\"):gsub("'", "''")))
end

--- Whether a directory holds a PostgreSQL data directory on this machine.
function M.is_local_pgdata(dir)
  return dir ~= nil and fs.exists(dir .. "/PG_VERSION")
end

--- pg_controldata of a local data directory as a table {["Database cluster state"]=..., ...}.
function M.controldata(pgdata, p)
  local r = proc.run({pg_ctl.bin("pg_controldata", {bindir = p.bindir}), "-D", pgdata},
                {user = polarrun.is_root and p.db_user or nil, readonly = true, quiet = true, env = {LC_ALL = "C"}})
  local t = {}
  for line in r.stdout:gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    if k then t[k] = v end
  end
  return t
end

--- The server log for a postmaster polarrun starts (pg_ctl needs one: the server keeps its output open).
function M.server_log(pgdata, p)
  local dir = pgdata .. "/pg_log"
  if not fs.is_dir(dir) then fs.mkdir(dir, {mode = "0700", owner = polarrun.is_root and p.db_user or nil}) end
  return dir .. "/polarrun-start.log"
end

--- The port a local data directory is configured for (postgresql.auto.conf wins over postgresql.conf).
function M.configured_port(pgdata)
  for _, f in ipairs {pgdata .. "/postgresql.auto.conf", pgdata .. "/postgresql.conf"} do
    if fs.exists(f) then
      local v = conf.get(f, "port")
      if v then return tonumber(v) end
    end
  end
  return 5432
end

--- Where the server at `conn` left timeline `tli` (its timeline history), or nil when it is still on it.
--- The history comes over a replication connection (TIMELINE_HISTORY, through psql): the server
--- reads it wherever it keeps its WAL (PolarDB: polar_datadir, possibly on PFS).
function M.fork_point(conn, tli, p)
  local cur = sql(M.current_tli_sql, {}, conn)[1].tli
  if cur == tli then return nil end
  local ci = M.conninfo {host = conn.host, port = conn.port, user = conn.user, dbname = "postgres", replication = "true"}
  local env = {PGCONNECT_TIMEOUT = tostring(conn.connect_timeout or 10)}
  if conn.password then env.PGPASSWORD = conn.password end
  local r = proc.run({pg_ctl.bin("psql", {bindir = p.bindir}), "-X", "-A", "-t", "-d", ci, "-c", "TIMELINE_HISTORY " .. cur},
                {user = polarrun.is_root and p.db_user or nil, env = env, cwd = "/", readonly = true, quiet = true})
  local history = r.stdout:gsub("^[^|]*|", "")        -- "00000002.history|<content>"
  for line in history:gmatch("[^\n]+") do
    local t, lsn = line:match("^%s*(%d+)%s+([0-9A-Fa-f]+/[0-9A-Fa-f]+)")
    if t and tonumber(t) == tli then return lsn end
  end
  polarrun.raise("refused", string.format("timeline %d is not in the history of the new primary (timeline %d)", tli, cur))
end

--- Where the WAL of a local instance ends, and on which timeline: running as a primary, its insert
--- position (stopping it writes a checkpoint there); in recovery, what it replayed; stopped, its
--- last checkpoint (pg_controldata). Returns {lsn=, tli=, what=}.
function M.wal_end(p, running, conn)
  local cd = M.controldata(p.pgdata, p)
  local tli = tonumber(cd["Latest checkpoint's TimeLineID"])
  if running then
    local r = sql([[select pg_is_in_recovery() as rec,
                           (case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
                                 else pg_current_wal_insert_lsn() end)::text as lsn]], {}, conn)[1]
    if not r.rec then tli = sql(M.current_tli_sql, {}, conn)[1].tli end
    return {lsn = r.lsn, tli = tli, what = r.rec and "replayed" or "written, running"}
  end
  return {lsn = cd["Latest checkpoint location"], tli = tli, what = "last checkpoint, stopped"}
end

--- The timeline a primary writes on.
M.current_tli_sql = "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tli, " ..
                    "pg_current_wal_lsn()::text as lsn"

return M
