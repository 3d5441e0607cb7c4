-- stack_user: the database OS user of a PolarDB Stack pod. Its uid is
-- (logic_ins_id mod 10000) + 10000 in both containers (engine and manager), so files on
-- the shared volumes have one owner. Used by supervise (engine) and stack (manager).
--
--   require("stack_user").ensure("postgres", proc.env("logic_ins_id"), {"/data"})

local M = {}

function M.uid_for(logic_ins_id)
  local n = tonumber(logic_ins_id)
  if not n or n ~= math.floor(n) or n < 0 then
    polarrun.raise("usage", "logic_ins_id must be a non-negative integer, got '" .. tostring(logic_ins_id) .. "'")
  end
  return math.tointeger(n % 10000 + 10000)
end

--- (Re)creates `user` with the pod's uid (gid the same) and chowns each directory of `dirs`
--- whose owner is not that uid. Without logic_ins_id, or when not root, does nothing.
--- Returns the uid (or nil).
function M.ensure(user, logic_ins_id, dirs)
  if logic_ins_id == nil or logic_ins_id == "" then return nil end
  local uid = M.uid_for(logic_ins_id)
  if not polarrun.is_root then
    log.warn("not root: cannot give " .. user .. " the uid " .. uid)
    return nil
  end
  -- the system's account database (proc.user/proc.group: getpwnam/getgrnam, NSS included)
  local pw, gr = proc.user(user), proc.group(user)
  local cur_uid, cur_gid = pw and pw.uid, pw and pw.gid
  local gid = gr and gr.gid
  if gid == nil then
    proc.run({"groupadd", "-g", tostring(uid), user})
  elseif gid ~= uid then
    proc.run({"groupmod", "-g", tostring(uid), user})
  end
  if cur_uid == nil then
    proc.run({"useradd", "-u", tostring(uid), "-g", tostring(uid), "-m", "-s", "/bin/bash", user})
    log.info(string.format("created the OS user %s with uid %d", user, uid))
  elseif cur_uid ~= uid or cur_gid ~= uid then
    proc.run({"usermod", "-u", tostring(uid), "-g", tostring(uid), user})
    log.info(string.format("OS user %s: uid %d -> %d (logic_ins_id %s)", user, cur_uid, uid, logic_ins_id))
  end
  for _, dir in ipairs(dirs or {}) do
    local st = fs.stat(dir)
    if st and st.type == "directory" and st.uid ~= uid then
      log.info(string.format("%s is owned by uid %d: giving it to %s (%d)", dir, st.uid, user, uid))
      proc.run({"chown", "-R", string.format("%d:%d", uid, uid), dir})
    end
  end
  return uid
end

return M
