-- supervisor: supervise.lua's mechanics — waiting for the install, preparing the pod, and what
-- to do when postgres exits. supervise.lua keeps the loop (the checklist).
local instance = require("instance")
local diskfull = require("diskfull")
local stack_user = require("stack_user")
local stack_install = require("stack_install")

local M = {}

M.inputs = {
  poll = {type = "number", default = 0.5, desc = "seconds between checks of the lock file"},
  restart_pause = {type = "number", default = 1, desc = "seconds to wait before starting postgres again (lets pg_ctl stop -w see it gone, and old backends release shared memory)"},
  reserve_mb = {type = "integer", default = 16, desc = "emergency reserve for lock_disk_full (0: none)"},
}

--- Checks supervise's own inputs (exit 2).
function M.check(p)
  if not (p.poll > 0) or p.restart_pause < 0 then polarrun.raise("usage", "poll must be > 0 and restart_pause >= 0") end
end

--- The pod's database OS user (lib/stack_user.lua), then waits until the instance is installed.
--- Returns false when termination was asked for meanwhile.
function M.wait_installed(p)
  stack_user.ensure(p.db_user, proc.env("logic_ins_id"), {p.pgdata})
  if stack_install.installed(p.pgdata) then return true end
  log.info("waiting for the instance to be installed in " .. p.pgdata .. " (setup_install_instance)")
  while not stack_install.installed(p.pgdata) do
    if proc.terminating() then
      log.info("termination requested before install: supervisor exits")
      return false
    end
    polarrun.sleep(p.poll)
  end
  log.info("the instance is installed")
  return true
end

--- /log/pg_log -> /data/pg_log, and the disk-full lock prepared while there is room (it must
--- work later on a full disk).
function M.prepare(p)
  instance.link_logs(p, p.db_user)
  local ok, err = pcall(function()
    local l <close> = instance.exclusive(p, 30)
    diskfull.prepare(p)
    diskfull.ensure_reserve(p)
  end)
  if not ok then log.warn("could not prepare the disk-full lock: " .. tostring(err)) end
end

--- What to do after postgres exited with `status` (r of proc.run): "wait" (locked), "restart"
--- (a clean stop or a signal: after restart_pause), or "fail" (postgres could not run).
function M.after_exit(status, locked)
  if locked then return "wait" end
  if status == 0 or status > 128 then return "restart" end
  return "fail"
end

--- Runs postgres in the foreground as the database OS user; TERM/INT/HUP become a fast shutdown.
function M.run_postgres(p, postgres)
  return proc.run({postgres, "-D", p.pgdata}, {user = p.db_user, cwd = p.pgdata, check = false, stream = true,
                                               forward_signals = {TERM = "INT", INT = "INT", HUP = "INT"}})
end

--- Logs (once per state) and acts on postgres's exit; raises when the supervisor must exit with it.
function M.handle_exit(p, r)
  local what = M.after_exit(r.status, fs.exists(p.lock_path))
  if what == "wait" then
    log.info(string.format("postgres exited (status %d) with the instance locked", r.status))
  elseif what == "restart" and r.status == 0 then
    log.info(string.format("postgres exited normally (status 0): starting it again in %gs", p.restart_pause))
    polarrun.sleep(p.restart_pause)
  elseif what == "restart" then
    log.warn(string.format("postgres was killed by signal %d: restarting in %gs", r.status - 128, p.restart_pause))
    polarrun.sleep(p.restart_pause)
  else
    polarrun.raise("postgres", string.format("postgres exited with status %d: the supervisor exits with it", r.status),
      {exit_code = r.status})
  end
end

return M
