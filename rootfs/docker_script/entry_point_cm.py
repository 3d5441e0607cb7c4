#!/usr/local/bin/polarrun
-- ClusterManager's entry point for its PolarPure read-only lock, kept at the path it runs
-- directly (shebang, exec bit): `srv_opr_type=node srv_opr_action=lock-ins-diskfull port=P
-- /docker_script/entry_point_cm.py` (and unlock-ins-diskfull). Not Python: a polarrun runbook
-- (Lua), like entry_point.py. The same dispatch table (runbooks/stack.lua, keys node/...) maps
-- it; `port` is the instance's port.
log.console("stdout")   -- ClusterManager logs stdout and stderr; the exit status decides
local ok, result = pcall(polarrun.call, "stack", {})
if not ok then
  local e = type(result) == "table" and result or {kind = "runtime", message = tostring(result)}
  polarrun.raise(e.kind or "runtime", (tostring(e.message or result):gsub("^stack%.lua: ", "")))
end
return result
