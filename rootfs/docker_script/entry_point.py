#!/usr/local/bin/polarrun
-- PolarDB Stack's entry point, kept at the path and name the Stack calls. This is not Python:
-- it is a polarrun runbook (Lua). In the images /usr/local/bin/python is a link to polarrun,
-- so `python /docker_script/entry_point.py` runs it, and the shebang makes the engine's
-- preStop hook (`/docker_script/entry_point.py` run directly) work too.
-- The inputs are the environment variables the Stack sets; runbooks/stack.lua dispatches them.
log.console("stdout")   -- the Stack reads the log lines on stdout, the error on stderr
return polarrun.call("stack", {})
