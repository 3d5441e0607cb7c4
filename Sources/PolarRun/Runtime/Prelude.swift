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

--- raise(kind, message [, fields]): raise an error table like the primitives do.
function raise(kind, message, fields)
  local e = {}
  for k, v in pairs(fields or {}) do e[k] = v end
  e.kind, e.message = kind, message
  error(setmetatable(e, error_mt), 2)
end

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

--- wait_until(fn, timeout_s [, interval_s]): calls fn until it returns a true value; returns it.
function wait_until(fn, timeout, interval)
  timeout = timeout or 30
  interval = interval or 0.2
  local deadline = host.monotonic() + timeout
  while true do
    local v = fn()
    if v then return v end
    if host.monotonic() >= deadline then
      raise("wait", string.format("wait_until: condition not met within %gs", timeout))
    end
    sleep(interval)
  end
end
"""#
