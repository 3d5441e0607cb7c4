#!/usr/local/bin/polarrun
-- PolarDB Stack's entry point, kept at the path and name the Stack calls. This is not Python:
-- it is a polarrun runbook (Lua). In the images /usr/local/bin/python is a link to polarrun,
-- so `python /docker_script/entry_point.py` runs it, and the shebang makes the engine's
-- preStop hook (`/docker_script/entry_point.py` run directly) work too.
-- The inputs are the environment variables the Stack sets; runbooks/stack.lua dispatches them.
log.console("stdout")   -- the Stack reads the log lines on stdout, the error on stderr
local ok, result = pcall(polarrun.call, "stack", {})
if not ok then   -- the reason as the runbook gave it (stderr), exit 1 (2: bad input)
  local e = type(result) == "table" and result or {kind = "runtime", message = tostring(result)}
  polarrun.raise(e.kind or "runtime", (tostring(e.message or result):gsub("^stack%.lua: ", "")))
end
return result
