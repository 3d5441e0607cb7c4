-- create_tablespace: a tablespace in an empty directory (PolarDB Stack's create_tablespace)
--
-- Checklist:
--   1. the name is a plain identifier, the path absolute and outside the data directory
--   2. a tablespace of that name exists already: nothing to do (the directory is left alone)
--   3. (re)create the directory empty, owned by the database OS user
--   4. CREATE TABLESPACE <name> LOCATION '<path>' (identifier and literal quoted)
local instance = require("instance")
local follower = require("install_follower")
local p = instance.inputs {
  name = {type = "string", required = true, desc = "tablespace name (create_tablespace_env.tablespace_name)"},
  path = {type = "string", required = true, desc = "its directory (create_tablespace_env.tablespace_path)"},
}
if not p.name:match("^[%a_][%w_]*$") or #p.name > 63 or p.name:match("^pg_") then
  polarrun.raise("usage", "tablespace_name must be an identifier (letters, digits, _; not pg_...), got '" .. p.name .. "'")
end
local lock <close> = instance.exclusive(p)
local conn = instance.conn(p)
if sql("select 1 from pg_tablespace where spcname = $1", {p.name}, conn)[1] then
  log.info("tablespace " .. p.name .. " exists already: nothing to do")
  return {created = false, name = p.name}
end
follower.tablespace_dir(p, p.path)
sql("create tablespace " .. sql.quote_ident(p.name) .. " location " .. sql.quote_literal(p.path), {}, conn)
log.info((polarrun.dry_run and "would create tablespace " or "created tablespace ") .. p.name .. " in " .. p.path)
return {created = true, name = p.name, path = p.path}
