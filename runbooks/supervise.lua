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
-- The mechanics are in lib/supervisor.lua.

local instance = require("instance")
local supervisor = require("supervisor")
local p = instance.open(supervisor.inputs)
supervisor.check(p)
local postgres = pg_ctl.bin("postgres", {bindir = p.bindir})
proc.trap_termination()

if not supervisor.wait_installed(p) then return {status = 0, terminated = true} end
supervisor.prepare(p)

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
    local r = supervisor.run_postgres(p, postgres)
    if polarrun.dry_run then   -- postgres was listed, not run: the loop would list it again forever
      log.info("would supervise postgres in " .. p.pgdata)
      return {status = 0, would_start = true}
    end
    if proc.terminating() then
      log.info(string.format("postgres stopped (status %d) after SIG%s; supervisor exits", r.status, r.signal or "TERM"))
      return {status = r.status, terminated = true}
    end
    supervisor.handle_exit(p, r)
  end
  if polarrun.dry_run then return {status = 0, waiting = said} end   -- one round shows what it would do
end
log.info("termination requested: supervisor exits")
return {status = 0, terminated = true}
