-- accounts: database roles by PolarDB Stack privilege code (create_user, modify_user, delete_user).
--
-- Role names and passwords are DDL (CREATE ROLE takes no parameters): they go through
-- quote_ident / quote_literal, the quoted password is registered as a secret, and the
-- session turns statement logging off so the server log never holds the password.

local instance = require("instance")
local M = {}

-- `reset`: added when ALTERing an existing role, so it ends up as a freshly created one
M.codes = {
  [1]  = {attrs = "NOSUPERUSER CREATEROLE CREATEDB LOGIN", reset = "NOREPLICATION"},
  [6]  = {attrs = "POLAR_SUPERUSER REPLICATION LOGIN", reset = "NOSUPERUSER", polardb = true},
  [7]  = {attrs = "SUPERUSER LOGIN", reset = "NOREPLICATION NOCREATEDB NOCREATEROLE", settings = true},
  [15] = {attrs = "SUPERUSER REPLICATION LOGIN", reset = "NOCREATEDB NOCREATEROLE", settings = true},
}
-- per-role settings of codes 7 and 15, in this order
M.settings = {
  {"timezone", "UTC"}, {"datestyle", "ISO,YMD"}, {"extra_float_digits", "0"},
  {"lock_timeout", "0"}, {"statement_timeout", "0"}, {"idle_in_transaction_session_timeout", "3600000"},
}

-- PolarDB Stack's own accounts (privilege 7 and 15): the Stack logs in as them to manage the
-- instance, and replicator carries replication
M.stack_accounts = {aurora = "SUPERUSER", replicator = "SUPERUSER REPLICATION"}

--- Refuses (exit 2, nothing changed) to take SUPERUSER away from the role(s) the manager
--- connects as or from the Stack's accounts, or REPLICATION from replicator: every later
--- runbook would fail and recovery needs single-user mode. `p.allow_demote` overrides.
function M.check_not_demoting(p, user, code, connected_as)
  if p.allow_demote then return end
  local attrs = " " .. M.codes[code].attrs .. " "
  local needs = M.stack_accounts[user]
  if user == connected_as or user == instance.conn(p).user then needs = "SUPERUSER" end
  if not needs then return end
  for want in needs:gmatch("%S+") do
    if not attrs:find(" " .. want .. " ", 1, true) then
      polarrun.raise("usage", string.format("privilege code %d would take %s away from role %s, which %s; nothing was changed "
        .. "(pass allow_demote=true if that is really meant)", code, want, sql.quote_ident(user),
        M.stack_accounts[user] and "PolarDB Stack uses to manage the instance" or "this manager connects as"))
    end
  end
end

local reserved = {public = true, none = true, current_user = true, session_user = true, current_role = true}

--- Validates a role name: exit 2 (nothing changed) for a name PostgreSQL would alter or refuse.
function M.check_name(name)
  if name == "" then polarrun.raise("usage", "user name must not be empty") end
  if #name > 63 then polarrun.raise("usage", string.format("user name is %d bytes; PostgreSQL allows 63", #name)) end
  if not utf8.len(name) then polarrun.raise("usage", "user name is not valid UTF-8") end
  if name:find("%z") then polarrun.raise("usage", "user name must not contain NUL") end
  if name:sub(1, 3):lower() == "pg_" then polarrun.raise("usage", "user names starting with pg_ are reserved") end
  if reserved[name:lower()] then polarrun.raise("usage", "'" .. name .. "' is a reserved role name") end
end

function M.check_code(code)
  if not M.codes[code] then
    polarrun.raise("usage", "unknown privilege code " .. tostring(code) .. " (known: 1, 6, 7, 15)")
  end
end

--- Creates or alters `user` with the attributes (and settings) of `code`, in one transaction.
--- `password` nil leaves the password as it is. Returns {created=bool}.
function M.apply(p, user, password, code)
  local spec = M.codes[code]
  local c <close> = sql.connect(instance.conn(p))
  -- the statements below hold a password: never in the server log
  c:query("set log_statement = 'none'")
  c:query("set log_min_error_statement = 'panic'")
  c:query("set log_min_duration_statement = -1")
  M.check_not_demoting(p, user, code, c:query("select current_user as u")[1].u)
  local exists = c:query("select 1 from pg_roles where rolname = $1", {user})[1] ~= nil
  local stmt = (exists and "ALTER ROLE " or "CREATE ROLE ") .. sql.quote_ident(user) .. " " .. spec.attrs
    .. (exists and (" " .. spec.reset) or "")
  if password then
    local lit = polarrun.secret(sql.quote_literal(password))
    stmt = stmt .. " PASSWORD " .. lit
  end
  log.info((exists and "altering" or "creating") .. " role " .. sql.quote_ident(user) .. " " .. spec.attrs
    .. (password and " with a password" or ""))
  c:query("begin")
  local ok, err = pcall(function()
    c:query(stmt)
    if spec.settings then
      for _, s in ipairs(M.settings) do
        c:query("ALTER ROLE " .. sql.quote_ident(user) .. " SET " .. s[1] .. " = " .. sql.quote_literal(s[2]))
      end
      log.info("per-role settings: timezone, datestyle, extra_float_digits, lock_timeout, statement_timeout, idle_in_transaction_session_timeout")
    end
    c:query("commit")
  end)
  if not ok then
    pcall(function() c:query("rollback") end)
    if spec.polardb and type(err) == "table" and err.sqlstate == "42601" then
      -- the grammar is the detection (no catalog says which role attributes an engine has);
      -- open-source PolarDB for PostgreSQL 15 has no POLAR_SUPERUSER either
      local engine = require("engine")
      local ok_e, eng = pcall(engine.from_server, instance.conn(p))
      polarrun.raise("unsupported", "privilege code 6 needs POLAR_SUPERUSER, which this engine ("
        .. (ok_e and engine.name(eng) or "unknown") .. ") does not have; nothing was changed")
    end
    error(err, 0)
  end
  return {created = not exists}
end

return M
