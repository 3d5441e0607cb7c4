/// Lua code run before every runbook: the parts of the runbook API that are plain Lua
/// on top of the host functions (`_polarrun_*` globals are removed afterwards).
let prelude = #"""
local host = {}
for k, v in pairs(_G) do
  if type(k) == "string" and k:sub(1, 10) == "_polarrun_" then host[k:sub(11)] = v end
end
for k in pairs(host) do _G["_polarrun_" .. k] = nil end

-- Error values raised by primitives are tables {kind=, message=, ...}; they print as
-- their message and answer string methods, so `err:match(...)` works as for strings.
local error_mt = {}
error_mt.__tostring = function(e) return rawget(e, "message") or "error" end
error_mt.__concat = function(a, b) return tostring(a) .. tostring(b) end
error_mt.__index = function(e, k)
  local f = string[k]
  if f then return function(self, ...) return f(tostring(self), ...) end end
end
host.set_error_mt(error_mt)

-- The prelude's own primitives are checked against their declarations like the host's: a bad
-- call is a usage error located at the runbook's line (level 4: pcall's error, checked, the
-- primitive, its caller).
local function checked(name, ...)
  local problem = host.check(name, ...)
  if problem then
    local _, located = pcall(error, problem, 4)
    error(setmetatable({kind = "usage", message = located}, error_mt), 0)
  end
end

--- polarrun.raise(kind, message [, fields]): raise an error table like the primitives do.
function polarrun.raise(kind, message, fields)
  checked("polarrun.raise", kind, message, fields)
  local e = {}
  for k, v in pairs(fields or {}) do e[k] = v end
  e.kind, e.message = kind, message
  error(setmetatable(e, error_mt), 2)
end

-- SQL NULL and JSON null are one sentinel value
sql.null, json.null = null, null
null = nil

-- Text chunks only: bytecode is never loaded.
local raw_load = load
load = function(chunk, name, mode, env) return raw_load(chunk, name, "t", env) end

function print(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  host.print(table.concat(t, "\t"))
end

local loaded = {}
--- require(name): modules from the runbook's lib/, POLARRUN_PATH and the bundled runbooks/lib/.
function require(name)
  if loaded[name] ~= nil then return loaded[name] end
  local path, source = host.find_module(name)
  local chunk, err = raw_load(source, "@" .. path, "t")
  if not chunk then error(err, 2) end
  local r = chunk(name, path)
  if r == nil then r = true end
  loaded[name] = r
  return r
end

--- polarrun.wait_until(fn, timeout_s [, interval_s]): calls fn until it returns a true value; returns it.
function polarrun.wait_until(fn, timeout, interval)
  checked("polarrun.wait_until", fn, timeout, interval)
  timeout = timeout or 30
  interval = interval or 0.2
  local deadline = host.monotonic() + timeout
  while true do
    local v = fn()
    if v then return v end
    if host.monotonic() >= deadline then
      polarrun.raise("wait", string.format("polarrun.wait_until: condition not met within %gs", timeout))
    end
    polarrun.sleep(interval)
  end
end

-- `_G` is frozen when the runbook starts (the host sets this metatable): a typo or a name
-- from before the namespaces is an error naming it, not a silent nil.
local moved = {
  connect = "sql.connect", quote_ident = "sql.quote_ident", quote_literal = "sql.quote_literal",
  null = "sql.null (or json.null)", conf_get = "conf.get", pg_bin = "pg_ctl.bin",
  unlock_file = "fs.unlock_file", flock = "fs.flock", run = "proc.run", spawn = "proc.spawn",
  wait_any = "proc.wait_any", trap_termination = "proc.trap_termination",
  terminating = "proc.terminating", env = "proc.env", json_encode = "json.encode",
  json_decode = "json.decode", yaml_load = "yaml.load", inputs = "polarrun.inputs",
  params = "polarrun.params", secret = "polarrun.secret", sleep = "polarrun.sleep",
  now = "polarrun.now", wait_until = "polarrun.wait_until", raise = "polarrun.raise",
  io = "fs.* (files) and proc.run (processes)", dofile = "require", loadfile = "require",
}
local frozen = {}
frozen.__index = function(_, name)
  local hint = moved[name]
  error(string.format("unknown global '%s'%s", tostring(name),
    hint and (": use " .. hint) or " (declare it with local, or see docs/primitives.md)"), 2)
end
frozen.__newindex = function(_, name)
  error(string.format("assignment to undeclared global '%s': declare it with local", tostring(name)), 2)
end
host.set_globals_guard(frozen)
"""#
