-- diskfull: the parts of lock_disk_full that must work on a file system with 0 bytes free.
--
-- Prepared ahead of time (by supervise at container start, by lock/unlock_disk_full):
--   * <pgdata>/polarrun_diskfull.conf, a pre-sized (4 KiB) include file, and the line
--     `include_if_exists = 'polarrun_diskfull.conf'` at the end of postgresql.conf;
--   * <pgdata>/pgsql_tmp.polarrun_reserve, an emergency reserve (reserve_mb, default 16 MiB;
--     the pgsql_tmp prefix keeps it out of base backups) that lock_disk_full deletes so
--     superusers have room to work.
-- Locking and unlocking only overwrite the include file IN PLACE (fs.write_in_place: same
-- size, no new blocks) and reload: no file is created, renamed or grown.

local M = {}

M.SIZE = 4096
M.INCLUDE = "polarrun_diskfull.conf"
M.RESERVE = "pgsql_tmp.polarrun_reserve"
M.MARK = "# polarrun lock_disk_full (do not remove)"

function M.include_path(p) return p.pgdata .. "/" .. M.INCLUDE end
function M.reserve_path(p) return p.pgdata .. "/" .. M.RESERVE end

--- The include file's text, padded with a comment to exactly M.SIZE bytes.
function M.content(lines)
  local body = table.concat(lines, "\n") .. "\n"
  local pad = M.SIZE - #body - 2
  assert(pad >= 0, "include file content too large")
  return body .. "#" .. string.rep(" ", pad) .. "\n"
end

function M.unlocked_content()
  return M.content({"# polarrun: disk-full lock is OFF (this file is overwritten in place by lock_disk_full)"})
end

--- The settings line(s) of the lock for this engine.
function M.locked_content(param)
  return M.content({
    "# polarrun: disk-full lock is ON since " .. os.date("!%Y-%m-%dT%H:%M:%SZ") .. "; remove with unlock_disk_full",
    param .. " = on",
  })
end

--- Whether the include file exists with the right size and postgresql.conf includes it.
function M.prepared(p)
  local st = fs.stat(M.include_path(p))
  if not st or st.size ~= M.SIZE then return false end
  local conf = fs.read(require("instance").conf_file(p)) or ""
  return conf:find(M.MARK, 1, true) ~= nil
end

--- Creates what the lock needs while there is room (idempotent). Needs a few KiB.
function M.prepare(p)
  local instance = require("instance")
  local inc = M.include_path(p)
  local st = fs.stat(inc)
  if not st or st.size ~= M.SIZE then
    log.info("creating the pre-sized include file " .. inc)
    fs.write(inc, M.unlocked_content(), {owner = p.db_user, mode = "0600"})
  end
  local conf_path = instance.conf_file(p)
  local lk <close> = conf.lock(conf_path, {timeout = 60})  -- conf_set's own lock: no edit in between
  local conf = fs.read(conf_path)
  if not conf then polarrun.raise("config", conf_path .. " does not exist") end
  if not conf:find(M.MARK, 1, true) then
    log.info("adding include_if_exists = '" .. M.INCLUDE .. "' at the end of " .. conf_path)
    if conf ~= "" and conf:sub(-1) ~= "\n" then conf = conf .. "\n" end
    fs.write(conf_path, conf .. "include_if_exists = '" .. M.INCLUDE .. "'\t" .. M.MARK .. "\n")
  end
end

--- Makes sure the emergency reserve exists when there is room for it (never fills the disk:
--- it is created only when at least twice its size is free). Returns whether it exists.
function M.ensure_reserve(p)
  local path = M.reserve_path(p)
  local bytes = (p.reserve_mb or 0) * 1024 * 1024
  if bytes <= 0 then return false end
  local st = fs.stat(path)
  if st and st.size >= bytes then return true end
  if fs.free_bytes(p.pgdata) < 2 * bytes then
    log.warn(string.format("not creating the %d MiB emergency reserve %s: less than %d MiB free",
      p.reserve_mb, path, 2 * p.reserve_mb))
    return false
  end
  log.info(string.format("creating the %d MiB emergency reserve %s", p.reserve_mb, path))
  fs.write(path, string.rep("\0", bytes), {owner = p.db_user, mode = "0600"})
  return true
end

--- Deletes the reserve; returns the bytes freed.
function M.release_reserve(p)
  local st = fs.stat(M.reserve_path(p))
  if not st then return 0 end
  fs.remove(M.reserve_path(p))
  log.warn(string.format("released the emergency reserve %s (%d bytes) so superusers can work",
    M.reserve_path(p), st.size))
  return st.size
end

--- Community PostgreSQL: per-role `default_transaction_read_only = off` for every superuser
--- lacking it (role settings override the conf file). Returns the roles changed; on failure
--- (e.g. no room for the catalog row) warns and returns what it could do.
function M.exempt_superusers(p)
  local instance = require("instance")
  local missing = sql([[
    select r.rolname from pg_roles r
     where r.rolsuper and not exists (
       select 1 from pg_db_role_setting s
        where s.setrole = r.oid and s.setdatabase = 0
          and 'default_transaction_read_only=off' = any(s.setconfig))
     order by 1]], {}, instance.conn(p))
  local done = {}
  for _, r in ipairs(missing) do
    local ok, err = pcall(sql, "alter role " .. sql.quote_ident(r.rolname) .. " set default_transaction_read_only = off",
      {}, instance.conn(p))
    if ok then
      log.info((polarrun.dry_run and "would set for superuser " or "superuser ") .. r.rolname
        .. ": per-role default_transaction_read_only = off")
      done[#done + 1] = r.rolname
    else
      log.warn("could not exempt superuser " .. r.rolname .. " from the lock: " .. tostring(err))
    end
  end
  return done
end

--- Active settings of `param` that would override the include file: lines of postgresql.conf
--- after the include line, and any line of postgresql.auto.conf (read after postgresql.conf).
--- Returns a list of {file=, line=, text=, auto=bool}.
function M.overrides(p, param)
  local found = {}
  local function scan(path, from_mark, auto)
    local text = fs.read(path)
    if not text then return end
    local after, n = not from_mark, 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      if from_mark and line:find(M.MARK, 1, true) then after = true
      elseif after then
        local name = line:match("^%s*([%w_%.]+)%s*=?")
        if name and name:lower() == param then found[#found + 1] = {file = path, line = n, text = line, auto = auto} end
      end
    end
  end
  scan(require("instance").conf_file(p), true, false)
  scan(p.pgdata .. "/postgresql.auto.conf", false, true)
  return found
end

--- Comments out the settings of `param` that come after the include line in postgresql.conf
--- (conf_set rewrites the last active line each time). Needs a few KiB free.
function M.remove_overrides(p, param)
  for _, o in ipairs(M.overrides(p, param)) do
    if not o.auto then
      log.warn(string.format("%s line %d (%s) would override the lock: commenting it out", o.file, o.line, o.text))
    end
  end
  for _ = 1, 20 do
    local left = 0
    for _, o in ipairs(M.overrides(p, param)) do if not o.auto then left = left + 1 end end
    if left == 0 then return end
    conf_set(require("instance").conf_file(p), {[param] = sql.null})
  end
end

return M
