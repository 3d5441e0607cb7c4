-- system_identifier: print pg_controldata output (PolarDB Stack matches `system identifier:\s*(\d+)`)
--
-- Works whether postgres runs or not. The output goes to stdout as it is; the identifier is
-- also returned (--json).
local instance = require("instance")
local p = instance.inputs {}
local r = proc.run({pg_ctl.bin("pg_controldata", {bindir = p.bindir}), p.pgdata},
  {user = polarrun.is_root and p.db_user or nil, readonly = true, env = {LC_ALL = "C"}})
print((r.stdout:gsub("\n$", "")))
local id = r.stdout:match("[Ss]ystem identifier:%s*(%d+)")
if not id then polarrun.raise("engine", "pg_controldata printed no database system identifier") end
return {system_identifier = id}
