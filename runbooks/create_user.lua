-- create_user: create (or bring up to date) a database role by PolarDB Stack privilege code 1, 6, 7 or 15
--
--   1  NOSUPERUSER CREATEROLE CREATEDB LOGIN
--   6  POLAR_SUPERUSER REPLICATION LOGIN        (PolarDB editions with POLAR_SUPERUSER; refused elsewhere,
--                                               open-source PolarDB 15 included)
--   7  SUPERUSER LOGIN                          + per-role settings
--   15 SUPERUSER REPLICATION LOGIN              + per-role settings
-- Idempotent: an existing role is altered to match. One transaction: all or nothing.

local instance = require("instance")
local accounts = require("accounts")
local p = instance.inputs {
  user = {type = "string", required = true, desc = "role name, used exactly as given"},
  password = {type = "string", required = true, secret = true, desc = "password, used exactly as given"},
  privilege = {type = "integer", required = true, desc = "privilege code: 1, 6, 7 or 15"},
  allow_demote = {type = "boolean", default = false, desc = "allow taking SUPERUSER from the manager's or the Stack's own roles"},
}
accounts.check_name(p.user)
accounts.check_code(p.privilege)
if p.password == "" then polarrun.raise("usage", "password must not be empty") end

local lock <close> = instance.exclusive(p)
local r = accounts.apply(p, p.user, p.password, p.privilege)
log.info(string.format("role %s %s with privilege code %d", sql.quote_ident(p.user), polarrun.dry_run and (r.created and "would be created" or "would be updated")
  or r.created and "created" or "updated", p.privilege))
return {user = p.user, privilege = p.privilege, created = r.created}
