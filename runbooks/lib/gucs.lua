-- gucs: refresh_params's mechanics — the shape of the input, validation against pg_settings and
-- the engine itself, the write, and what the server made of each value. refresh_params.lua keeps
-- the checklist; the pure parts (parse, validate) take the server's facts as a table so
-- lib/tests/gucs_test.lua can check them without a server.
local guc_value = require("guc_value")
local numeric, bools, mem = guc_value.numeric, guc_value.bools, guc_value.mem

local M = {}

--- The name -> value object of the input, checked: returns wanted (name -> {raw=}) and the
--- sorted names. Names are lowercased; booleans become on/off, numbers their text.
function M.parse(params)
  if type(params) ~= "table" or #params > 0 then polarrun.raise("usage", "params must be a JSON object of name -> value") end
  local wanted, names = {}, {}
  for k, v in pairs(params) do
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
  return wanted, names
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

--- What validate() needs to know of the running server and this machine.
function M.facts(conn)
  local settings = {}
  for _, s in ipairs(sql([[select name, vartype, unit, min_val, max_val, context,
                                  coalesce(array_to_json(enumvals)::text, '[]') as enumvals
                             from pg_settings]], {}, conn)) do
    settings[s.name] = s
  end
  -- what would stop the next start: libraries the engine does not have, memory it cannot get
  local pkglibdir = (sql("select setting from pg_config where name = 'PKGLIBDIR'", {}, conn)[1] or {}).setting
  return {
    settings = settings,
    pkglibdir = pkglibdir,
    library_exists = function(lib)   -- as shared_preload_libraries names it
      local path = lib:gsub("^%$libdir", pkglibdir or "")
      if not path:find("/", 1, true) then path = (pkglibdir or "") .. "/" .. path end
      return fs.exists(path) or fs.exists(path .. ".so")
    end,
    memory = machine_memory,
    huge_pages = function() return tonumber((fs.read("/proc/meminfo") or ""):match("HugePages_Total:%s*(%d+)")) end,
  }
end

local function is_secret_name(name)
  return name:find("password") or name:find("passwd") or name:find("secret") or name:find("token")
end

--- The reason `v` (unquoted) is refused for the known setting `s`, or nil.
local function refusal(name, v, s, facts)
  if s.context == "internal" then return "cannot be changed (internal)" end
  if s.vartype == "bool" then
    if not bools[v:lower()] then return "is not a boolean (on/off/true/false/yes/no/1/0)" end
  elseif s.vartype == "integer" or s.vartype == "real" then
    local n, e = numeric(v, s)
    if not n then return e end
  elseif s.vartype == "enum" then
    local vals = json.decode(s.enumvals)
    local found = false
    for _, e in ipairs(vals) do if e:lower() == v:lower() then found = true end end
    if not found then return "must be one of: " .. table.concat(vals, ", ") end
  end
  if name == "shared_preload_libraries" then
    for lib in v:gmatch("[^,]+") do
      lib = lib:match("^%s*(.-)%s*$"):gsub('^"(.*)"$', "%1")
      if lib ~= "" and not facts.library_exists(lib) then
        return "library '" .. lib .. "' is not in this engine (" .. tostring(facts.pkglibdir) .. "); the next start would fail"
      end
    end
  end
  if name == "shared_buffers" then
    local n = numeric(v, s)
    local bnum, bunit = s.unit:match("^(%d*)(%a+)$")
    local bytes = n * tonumber(bnum ~= "" and bnum or "1") * mem[bunit]
    local avail = facts.memory()
    if avail and bytes >= avail then
      return string.format("is %d MiB but this machine can give %d MiB; the next start would fail", bytes // 1048576, avail // 1048576)
    end
  end
  -- `on` (unlike `try`) makes the postmaster refuse to start without huge pages
  if name == "huge_pages" and v:lower() == "on" and facts.huge_pages() == 0 then
    return "is on but this machine has no huge pages (HugePages_Total: 0); the next start would fail (use try)"
  end
end

--- Checks every wanted value against the server's settings (facts: see M.facts). Sets
--- wanted[name].value (unquoted) and .quoted for the good ones; returns the list of problems.
function M.validate(wanted, names, facts)
  local problems = {}
  local function reject(name, why)
    local shown = is_secret_name(name) and "******" or wanted[name].raw
    problems[#problems + 1] = name .. " = " .. shown .. ": " .. why
  end
  for _, name in ipairs(names) do
    local w, s = wanted[name], facts.settings[name]
    local v, quoted = conf.unquote(w.raw)
    if v == nil then reject(name, "malformed quoted value")
    elseif not s then
      -- an extension's setting is known once its library is loaded; postgres accepts any dotted
      -- name as a placeholder, so a prefix no library of this engine defines is refused here
      local prefix = name:match("^([^.]+)%.")
      local defined = false
      if prefix then
        for known in pairs(facts.settings) do
          if known:sub(1, #prefix + 1) == prefix .. "." then defined = true break end
        end
      end
      if defined then
        -- the library is loaded and has defined its settings: this one is not among them, and
        -- the server would drop it as invalid (its prefix is reserved), never apply it
        reject(name, "unknown parameter: extension '" .. prefix .. "' is loaded and defines no such setting")
      elseif prefix and facts.library_exists(prefix) then
        w.value, w.custom = v, true   -- not loaded yet: a placeholder; the engine check still runs
      elseif prefix then
        reject(name, "unknown parameter: this engine has no extension '" .. prefix .. "' defining it")
      else reject(name, "unknown parameter") end
    else
      local why = refusal(name, v, s, facts)
      if why then reject(name, why) else w.value, w.quoted = v, quoted end
    end
  end
  return problems
end

--- The engine's own check (check hooks, parsing): `postgres -C` with every new value.
--- Returns a problem line, or nil when the engine accepts them all.
function M.engine_check(p, wanted, names)
  local argv = {pg_ctl.bin("postgres", {bindir = p.bindir}), "-D", p.pgdata, "-C", names[1]}
  for _, name in ipairs(names) do
    argv[#argv + 1] = "-c"
    argv[#argv + 1] = name .. "=" .. wanted[name].value
  end
  local r = proc.run(argv, {user = p.db_user, check = false, cwd = "/", readonly = true, quiet = true, timeout = 30})
  if r.status == 0 then return nil end
  local msg = (r.stderr:match("FATAL:%s*([^\n]+)") or r.stderr:match("([^\n]+)") or "rejected by postgres")
  local who = msg:match('parameter "([^"]+)"')
  return (who and wanted[who] and (who .. " = " .. wanted[who].raw .. ": ") or "") .. msg
end

--- The line conf_set writes for each name: a value given quoted stays as given.
function M.changes(wanted, names)
  local changes = {}
  for _, name in ipairs(names) do
    changes[name] = wanted[name].quoted and wanted[name].raw or wanted[name].value
  end
  return changes
end

--- What the server made of each name after the reload: {value=, setting=, status=, message=},
--- status applied / pending_restart / rejected / overridden.
function M.report(conn, wanted, names, conf_path)
  local out = {}
  for _, name in ipairs(names) do
    local fsr = sql([[select sourcefile, applied, error from pg_file_settings
                       where lower(name) = $1 order by seqno desc limit 1]], {name}, conn)[1]
    local st = sql([[select setting, unit, pending_restart from pg_settings where name = $1]], {name}, conn)[1]
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

--- A dry run's report: status "would apply", "would need a restart" (a postmaster
--- parameter) or "unchanged" (the file already had it), from pg_settings' context.
function M.would(conn, wanted, names, changed)
  local is_changed, out = {}, {}
  for _, name in ipairs(changed) do is_changed[name] = true end
  for _, name in ipairs(names) do
    local st = sql("select setting, context from pg_settings where name = $1", {name}, conn)[1]
    local status = not is_changed[name] and "unchanged"
      or (st and st.context == "postmaster") and "would need a restart" or "would apply"
    out[name] = {value = wanted[name].value, setting = st and st.setting or sql.null, status = status}
  end
  return out
end

--- The previous lines of the values the server refused after all (name -> old value or
--- sql.null to comment it out); nil when none was refused.
function M.undo(results, before)
  local undo = {}
  for name, res in pairs(results) do
    if res.status == "rejected" then undo[name] = before[name] or sql.null end
  end
  return next(undo) and undo or nil
end

--- One log line per name: info when applied or pending a restart, else a warning.
function M.log_results(wanted, names, results)
  for _, name in ipairs(names) do
    local r = results[name]
    local line = string.format("%s = %s: %s%s", name, wanted[name].value, r.status, r.message and (" (" .. r.message .. ")") or "")
    local fine = r.status == "applied" or r.status == "pending_restart" or r.status == "unchanged" or r.status:match("^would")
    if fine then log.info(line) else log.warn(line) end
  end
end

return M
