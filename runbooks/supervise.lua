-- supervise: the engine container's entrypoint: run postgres in the foreground, restart it, keep it down while locked
--
-- Loop:
--   * while the instance lock file (<pgdata>/ins_lock) exists: wait;
--   * start `postgres -D <pgdata>` as the database OS user in the foreground;
--   * when it exits: lock file present -> wait; exit 0 (a clean stop, e.g. pg_ctl stop) ->
--     start again (after restart_pause, so `pg_ctl stop -w` sees it gone); killed by a signal (a crash, SIGKILL) -> start again after a short pause
--     (the old backends must let go of shared memory); any other exit code (postgres could
--     not start: bad config, corrupt data...) -> exit with that code so the container restarts.
-- SIGTERM (docker/kubelet stop) is forwarded to postgres as SIGINT (fast shutdown); the
-- supervisor then exits 0. A postmaster started outside the supervisor is watched, not
-- doubled. Creates <log_dir>/pg_log -> <pgdata>/pg_log, and prepares the disk-full lock.
-- In a PolarDB Stack pod (logic_ins_id in the environment) the database OS user gets the uid
-- (logic_ins_id mod 10000) + 10000 first (lib/stack_user.lua). An empty data directory is
-- waited for until install (setup_install_instance) has written its marker (lib/stack_install.lua).

local instance = require("instance")
local diskfull = require("diskfull")
local stack_user = require("stack_user")
local stack_install = require("stack_install")
local p = instance.inputs {
  poll = {type = "number", default = 0.5, desc = "seconds between checks of the lock file"},
  restart_pause = {type = "number", default = 1, desc = "seconds to wait before starting postgres again (lets pg_ctl stop -w see it gone, and old backends release shared memory)"},
  reserve_mb = {type = "integer", default = 16, desc = "emergency reserve for lock_disk_full (0: none)"},
}
if not (p.poll > 0) or p.restart_pause < 0 then polarrun.raise("usage", "poll must be > 0 and restart_pause >= 0") end
if not fs.is_dir(p.pgdata) then polarrun.raise("usage", "pgdata " .. p.pgdata .. " is not a directory") end
local postgres = pg_ctl.bin("postgres", {bindir = p.bindir})
proc.trap_termination()

-- the pod's database OS user, and an installed instance
stack_user.ensure(p.db_user, proc.env("logic_ins_id"), {p.pgdata})
if not stack_install.installed(p.pgdata) then
  log.info("waiting for the instance to be installed in " .. p.pgdata .. " (setup_install_instance)")
  while not stack_install.installed(p.pgdata) do
    if proc.terminating() then
      log.info("termination requested before install: supervisor exits")
      return {status = 0, terminated = true}
    end
    polarrun.sleep(p.poll)
  end
  log.info("the instance is installed")
end

-- logs: /log/pg_log -> /data/pg_log
local pg_log = p.pgdata .. "/pg_log"
if not fs.is_dir(pg_log) then fs.mkdir(pg_log, {mode = "0700", owner = p.db_user}) end
local ok, err = pcall(function()
  if not fs.is_dir(p.log_dir) then fs.mkdir(p.log_dir) end
  if fs.symlink(pg_log, p.log_dir .. "/pg_log") then log.info("linked " .. p.log_dir .. "/pg_log -> " .. pg_log) end
end)
if not ok then log.warn("could not link " .. p.log_dir .. "/pg_log to " .. pg_log .. ": " .. tostring(err)) end

-- the disk-full lock must work later on a full disk: prepare it while there is room
ok, err = pcall(function()
  local l <close> = instance.exclusive(p, 30)
  diskfull.prepare(p)
  diskfull.ensure_reserve(p)
end)
if not ok then log.warn("could not prepare the disk-full lock: " .. tostring(err)) end

local said = nil
local function once(what, msg)
  if said ~= what then log.info(msg); said = what end
end

local starts = 0
while not proc.terminating() do
  if fs.exists(p.lock_path) then
    once("locked", "instance locked by " .. p.lock_path .. ": waiting")
    polarrun.sleep(p.poll)
  elseif instance.running(p) then
    once("foreign", "a postmaster started outside the supervisor runs in " .. p.pgdata .. ": watching it")
    polarrun.sleep(p.poll)
  elseif said == "foreign" then
    -- it is gone: pause as after our own postgres, so `pg_ctl stop -w` sees it gone
    said = nil
    log.info(string.format("the postmaster started outside the supervisor is gone: starting postgres in %gs", p.restart_pause))
    polarrun.sleep(p.restart_pause)
  else
    said = nil
    starts = starts + 1
    log.info(string.format("starting postgres -D %s as %s (start #%d)", p.pgdata, p.db_user, starts))
    local r = proc.run({postgres, "-D", p.pgdata}, {user = p.db_user, cwd = p.pgdata, check = false, stream = true,
                                                forward_signals = {TERM = "INT", INT = "INT", HUP = "INT"}})
    if proc.terminating() then
      log.info(string.format("postgres stopped (status %d) after SIG%s; supervisor exits", r.status, r.signal or "TERM"))
      return {status = r.status, terminated = true}
    end
    if fs.exists(p.lock_path) then
      log.info(string.format("postgres exited (status %d) with the instance locked", r.status))
    elseif r.status == 0 then
      log.info(string.format("postgres exited normally (status 0): starting it again in %gs", p.restart_pause))
      polarrun.sleep(p.restart_pause)
    elseif r.status > 128 then
      log.warn(string.format("postgres was killed by signal %d: restarting in %gs", r.status - 128, p.restart_pause))
      polarrun.sleep(p.restart_pause)
    else
      polarrun.raise("postgres", string.format("postgres exited with status %d: the supervisor exits with it", r.status),
        {exit_code = r.status})
    end
  end
end
log.info("termination requested: supervisor exits")
return {status = 0, terminated = true}
