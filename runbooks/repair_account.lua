-- repair_account: give the superuser back its name after a restore (PolarDB Stack's restore/repair_account)
--
-- A restored instance may carry another instance's superuser name; /log/pg_safe.cnf
-- (`[pg_safe]` with `user=<name>`) records the name the data came with.
-- Checklist:
--   1. no pg_safe.cnf: the data came with postgres; succeed if postgres is a superuser
--   2. the role postgres exists: nothing to rename
--   3. otherwise rename the recorded user to postgres, connected as another superuser (aurora
--      first; trust on the socket): a session cannot rename its own user
--   4. record user=postgres in pg_safe.cnf
-- Unlike the original, pg_hba.conf is left as it is (the pod's /etc/postgres override stays).
local instance = require("instance")
local p = instance.inputs {
  safe_cnf = {type = "string", default = polarrun.defaults.log_dir .. "/pg_safe.cnf", desc = "where the restored data's superuser is recorded"},
  superuser = {type = "string", default = "postgres"},
}
local lock <close> = instance.exclusive(p)
local text = fs.read(p.safe_cnf)
local old = text and text:match("%[pg_safe%][^%[]-\n%s*user%s*=%s*([^\r\n]-)%s*\n") or
            text and text:match("%[pg_safe%][^%[]-\n%s*user%s*=%s*([^\r\n]-)%s*$")
if text and not old then polarrun.raise("usage", p.safe_cnf .. " has no [pg_safe] user=") end
old = old or p.superuser

local function exists(conn, name)
  return sql("select rolsuper from pg_roles where rolname = $1", {name}, conn)[1]
end
local ok, have = pcall(exists, instance.conn(p, {user = p.superuser}), p.superuser)
if ok and have then
  if not have.rolsuper then polarrun.raise("refused", "role " .. p.superuser .. " exists but is not a superuser") end
  log.info("role " .. p.superuser .. " exists: nothing to repair")
  return {changed = false}
end
if old == p.superuser then polarrun.raise("runtime", "cannot connect as " .. p.superuser .. ": " .. tostring(have)) end
-- A session cannot rename its own user: look for another superuser (the Stack's aurora first)
local conn = instance.conn(p, {user = old})
local r = exists(conn, old)
if not (r and r.rolsuper) then polarrun.raise("refused", "the recorded superuser " .. old .. " is not a superuser here") end
local other = sql([[select rolname from pg_roles where rolsuper and rolcanlogin and rolname <> $1
                    order by rolname <> 'aurora', rolname limit 1]], {old}, conn)[1]
if not other then polarrun.raise("refused", "no other superuser can rename " .. old .. " (a session cannot rename its own user)") end
sql("alter role " .. sql.quote_ident(old) .. " rename to " .. sql.quote_ident(p.superuser), {}, instance.conn(p, {user = other.rolname}))
fs.write(p.safe_cnf, "[pg_safe]\nuser=" .. p.superuser .. "\n", {mode = "0600"})
log.info((polarrun.dry_run and "would rename the superuser " or "renamed the superuser ") .. old .. " to " .. p.superuser)
return {changed = not polarrun.dry_run, would_change = polarrun.dry_run or nil, from = old, to = p.superuser}
