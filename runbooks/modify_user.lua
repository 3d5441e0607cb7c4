-- modify_user: change a role's privilege code and/or password (creates the role when it is missing)
--
-- Same codes and quoting as create_user. Without `password` the password is left as it is
-- (a missing role is then created without one).

local instance = require("instance")
local accounts = require("accounts")
local p = instance.inputs {
  user = {type = "string", required = true, desc = "role name, used exactly as given"},
  password = {type = "string", secret = true, desc = "new password (omit to keep the current one)"},
  privilege = {type = "integer", required = true, desc = "privilege code: 1, 6, 7 or 15"},
  allow_demote = {type = "boolean", default = false, desc = "allow taking SUPERUSER from the manager's or the Stack's own roles"},
}
accounts.check_name(p.user)
accounts.check_code(p.privilege)
if p.password == "" then polarrun.raise("usage", "password must not be empty (omit it to keep the current one)") end

local lock <close> = instance.exclusive(p)
local r = accounts.apply(p, p.user, p.password, p.privilege)
log.info(string.format("role %s %s with privilege code %d", sql.quote_ident(p.user), polarrun.dry_run and (r.created and "would be created" or "would be modified")
  or r.created and "created" or "modified", p.privilege))
return {user = p.user, privilege = p.privilege, created = r.created}
