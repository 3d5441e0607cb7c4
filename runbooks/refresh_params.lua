-- refresh_params: merge parameters into postgresql.conf, reload, report each as applied / pending_restart / rejected
--
-- `params` is a JSON object of name -> value (PolarDB Stack's mycnf_dict; values may already
-- be in postgresql.conf syntax, e.g. "'UTC'"). Every name and value is checked BEFORE the
-- file is written — against pg_settings (type, enum values, range, units) and then by the
-- engine itself (`postgres -C` with the new values) — so a rejected run leaves the file
-- byte-identical. Comments and order are kept; postgresql.auto.conf is never touched.

local instance = require("instance")
-- `[]` decodes to the same empty table as `{}`: tell them apart on the text
if type(polarrun.params.params) == "string" and polarrun.params.params:match("^%s*%[") then
  polarrun.raise("usage", "params must be a JSON object of name -> value, got a JSON array")
end
local p = instance.inputs {
  params = {type = "json", required = true, desc = "JSON object of parameter name -> value"},
}

-- 1. shape of the input
if type(p.params) ~= "table" or #p.params > 0 then polarrun.raise("usage", "params must be a JSON object of name -> value") end
local wanted, names = {}, {}
for k, v in pairs(p.params) do
  if type(k) ~= "string" or not k:match("^[%a_][%w_%.]*$") then
    polarrun.raise("usage", "params: '" .. tostring(k) .. "' is not a valid parameter name")
  end
  local tv = type(v)
  if tv == "boolean" then v = v and "on" or "off"
  elseif tv == "number" then v = (math.type(v) == "integer" or v ~= math.floor(v)) and tostring(v) or string.format("%d", v)
  elseif tv ~= "string" then polarrun.raise("usage", "params: value of '" .. k .. "' must be a string, number or boolean") end
  if v:find("[\r\n%z]") then polarrun.raise("usage", "params: value of '" .. k .. "' contains a line break or NUL") end
  local name = k:lower()
  if wanted[name] then polarrun.raise("usage", "params: '" .. k .. "' is given twice") end
  wanted[name] = {raw = v}
  names[#names + 1] = name
end
table.sort(names)
if #names == 0 then
  log.info("no parameters given: nothing to do")
  return {changed = {}, results = {}}
end

if not instance.running(p) then
  polarrun.raise("not_running", "the instance in " .. p.pgdata .. " is not running: parameters cannot be validated; nothing was written")
end

-- 2. validation against pg_settings
local guc_value = require("guc_value")
local unquote, numeric, bools, mem = guc_value.unquote, guc_value.numeric, guc_value.bools, guc_value.mem

local settings = {}
for _, s in ipairs(sql([[select name, vartype, unit, min_val, max_val, context,
                                coalesce(array_to_json(enumvals)::text, '[]') as enumvals
                           from pg_settings]], {}, instance.conn(p))) do
  settings[s.name] = s
end

-- what would stop the next start: libraries the engine does not have, memory it cannot get
local pkglibdir = (sql("select setting from pg_config where name = 'PKGLIBDIR'", {}, instance.conn(p))[1] or {}).setting

--- Whether the engine can load library `lib` (as shared_preload_libraries names it).
local function library_exists(lib)
  local path = lib:gsub("^%$libdir", pkglibdir or "")
  if not path:find("/", 1, true) then path = (pkglibdir or "") .. "/" .. path end
  return fs.exists(path) or fs.exists(path .. ".so")
end

--- Bytes of memory this machine (or its cgroup) can give; nil when unknown.
local function machine_memory()
  local total = (fs.read("/proc/meminfo") or ""):match("MemTotal:%s*(%d+) kB")
  total = total and tonumber(total) * 1024
  for _, f in ipairs({"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) do
    local v = tonumber(((fs.exists(f) and fs.read(f)) or ""):match("^(%d+)"))
    if v and (not total or v < total) then total = v end
  end
  return total
end

local function is_secret_name(name)
  return name:find("password") or name:find("passwd") or name:find("secret") or name:find("token")
end

local problems = {}
local function reject(name, why)
  local shown = is_secret_name(name) and "******" or wanted[name].raw
  problems[#problems + 1] = name .. " = " .. shown .. ": " .. why
end
for _, name in ipairs(names) do
  local w, s = wanted[name], settings[name]
  local v, quoted = unquote(w.raw)
  if v == nil then reject(name, "malformed quoted value")
  elseif not s then
    -- an extension's setting is known once its library is loaded; postgres accepts any dotted
    -- name as a placeholder, so a prefix no library of this engine defines is refused here
    local prefix = name:match("^([^.]+)%.")
    local defined = false
    if prefix then
      for known in pairs(settings) do
        if known:sub(1, #prefix + 1) == prefix .. "." then defined = true break end
      end
    end
    if defined then
      -- the library is loaded and has defined its settings: this one is not among them, and
      -- the server would drop it as invalid (its prefix is reserved), never apply it
      reject(name, "unknown parameter: extension '" .. prefix .. "' is loaded and defines no such setting")
    elseif prefix and library_exists(prefix) then
      w.value, w.custom = v, true   -- not loaded yet: a placeholder; the engine check below still runs
    elseif prefix then
      reject(name, "unknown parameter: this engine has no extension '" .. prefix .. "' defining it")
    else reject(name, "unknown parameter") end
  elseif s.context == "internal" then reject(name, "cannot be changed (internal)")
  else
    local ok, why = true, nil
    if s.vartype == "bool" then
      if not bools[v:lower()] then ok, why = false, "is not a boolean (on/off/true/false/yes/no/1/0)" end
    elseif s.vartype == "integer" or s.vartype == "real" then
      local n, e = numeric(v, s)
      if not n then ok, why = false, e end
    elseif s.vartype == "enum" then
      local found = false
      local vals = json.decode(s.enumvals)
      for _, e in ipairs(vals) do if e:lower() == v:lower() then found = true end end
      if not found then ok, why = false, "must be one of: " .. table.concat(vals, ", ") end
    end
    if ok and name == "shared_preload_libraries" then
      for lib in v:gmatch("[^,]+") do
        lib = lib:match("^%s*(.-)%s*$"):gsub('^"(.*)"$', "%1")
        if lib ~= "" and not library_exists(lib) then
          ok, why = false, "library '" .. lib .. "' is not in this engine (" .. tostring(pkglibdir) .. "); the next start would fail"
        end
      end
    end
    if ok and name == "shared_buffers" then
      local n = numeric(v, s)
      local bnum, bunit = s.unit:match("^(%d*)(%a+)$")
      local bytes = n * tonumber(bnum ~= "" and bnum or "1") * mem[bunit]
      local avail = machine_memory()
      if avail and bytes >= avail then
        ok, why = false, string.format("is %d MiB but this machine can give %d MiB; the next start would fail",
                                       bytes // 1048576, avail // 1048576)
      end
    end
    if ok and name == "huge_pages" and v:lower() == "on" then
      -- `on` (unlike `try`) makes the postmaster refuse to start without huge pages
      local hp = tonumber((fs.read("/proc/meminfo") or ""):match("HugePages_Total:%s*(%d+)"))
      if hp == 0 then ok, why = false, "is on but this machine has no huge pages (HugePages_Total: 0); the next start would fail (use try)" end
    end
    if ok then w.value, w.quoted = v, quoted else reject(name, why) end
  end
end

-- 3. the engine's own check (check hooks, parsing): postgres -C with every new value
if #problems == 0 then
  local argv = {pg_ctl.bin("postgres", {bindir = p.bindir}), "-D", p.pgdata, "-C", names[1]}
  for _, name in ipairs(names) do
    argv[#argv + 1] = "-c"
    argv[#argv + 1] = name .. "=" .. wanted[name].value
  end
  local r = proc.run(argv, {user = p.db_user, check = false, cwd = "/", readonly = true, quiet = true, timeout = 30})
  if r.status ~= 0 then
    local msg = (r.stderr:match("FATAL:%s*([^\n]+)") or r.stderr:match("([^\n]+)") or "rejected by postgres")
    local who = msg:match('parameter "([^"]+)"')
    problems[#problems + 1] = (who and wanted[who] and (who .. " = " .. wanted[who].raw .. ": ") or "") .. msg
  end
end

if #problems > 0 then
  for _, pr in ipairs(problems) do log.error("rejected: " .. pr) end
  polarrun.raise("usage", "rejected, nothing written:\n  - " .. table.concat(problems, "\n  - "))
end

-- 4. write, reload
local lock <close> = instance.exclusive(p)
local conf_path = instance.conf_file(p)
local before = {}
local changes = {}
for _, name in ipairs(names) do
  before[name] = conf.get(conf_path, name)
  changes[name] = wanted[name].quoted and wanted[name].raw or wanted[name].value
end
local changed = conf_set(conf_path, changes)
log.info(#changed > 0 and ("changed in " .. conf_path .. ": " .. table.concat(changed, ", ")) or "postgresql.conf already had these values")
instance.reload(p)

-- 5. read back what the server made of it
local function report()
  local out = {}
  for _, name in ipairs(names) do
    local fsr = sql([[select sourcefile, applied, error from pg_file_settings
                       where lower(name) = $1 order by seqno desc limit 1]], {name}, instance.conn(p))[1]
    local st = sql([[select setting, unit, pending_restart from pg_settings where name = $1]], {name}, instance.conn(p))[1]
    local res = {value = wanted[name].value, setting = st and st.setting or sql.null}
    if fsr and fsr.error ~= sql.null and fsr.error ~= "setting could not be applied" then
      res.status, res.message = "rejected", fsr.error
    elseif (st and st.pending_restart) or (fsr and fsr.error == "setting could not be applied") then
      res.status = "pending_restart"
    elseif fsr and fsr.sourcefile ~= conf_path then
      res.status, res.message = "overridden", "a later setting in " .. fsr.sourcefile .. " wins"
    else
      res.status = "applied"
    end
    out[name] = res
  end
  return out
end
local results = report()

-- a value the server refused after all: put the file back for it
local undo = {}
for name, res in pairs(results) do
  if res.status == "rejected" then undo[name] = before[name] or sql.null end
end
if next(undo) then
  log.warn("the server refused some values: restoring their previous lines")
  conf_set(conf_path, undo)
  instance.reload(p)
end

for _, name in ipairs(names) do
  local r = results[name]
  local line = string.format("%s = %s: %s%s", name, wanted[name].value, r.status, r.message and (" (" .. r.message .. ")") or "")
  if r.status == "applied" or r.status == "pending_restart" then log.info(line) else log.warn(line) end
end
return {changed = changed, results = results}
