-- delete_user: drop a database role (success when it does not exist)
--
-- DROP ROLE IF EXISTS. A role that still owns objects or holds privileges is not dropped:
-- PostgreSQL refuses and the runbook fails with its message (exit 1), nothing changed.

local instance = require("instance")
local accounts = require("accounts")
local p = instance.inputs {
  user = {type = "string", required = true, desc = "role name, exactly as created"},
}
accounts.check_name(p.user)

local lock <close> = instance.exclusive(p)
local conn = instance.conn(p)
if p.user == conn.user then polarrun.raise("usage", "refusing to drop " .. sql.quote_ident(p.user) .. ": the manager connects as it") end
local exists = sql("select 1 from pg_roles where rolname = $1", {p.user}, conn)[1] ~= nil
if not exists then
  log.info("role " .. sql.quote_ident(p.user) .. " does not exist: nothing to do")
  return {user = p.user, dropped = false}
end
sql("DROP ROLE IF EXISTS " .. sql.quote_ident(p.user), {}, conn)
log.info((polarrun.dry_run and "would drop role " or "dropped role ") .. sql.quote_ident(p.user))
return {user = p.user, dropped = not polarrun.dry_run}
