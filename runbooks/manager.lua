-- manager: the manager container's main process: give the database OS user the pod's uid, then wait
--
-- Operations run in this container with `kubectl exec` (PolarDB Stack) and `docker exec`; this
-- process only makes sure the OS user `postgres` has the uid (logic_ins_id mod 10000) + 10000
-- from the start, so ClusterManager's `su - postgres -c "pg_ctl promote -D /data -t 5"` works
-- before any other operation ran. Exits 0 on SIGTERM.
local instance = require("instance")
local stack_user = require("stack_user")
local p = instance.inputs {}
proc.trap_termination()
local ok, err = pcall(stack_user.ensure, p.db_user, proc.env("logic_ins_id"), {})
if not ok then log.warn("could not set up the database OS user: " .. tostring(err)) end
log.info("manager container ready: operations run with exec")
while not proc.terminating() and not polarrun.dry_run do polarrun.sleep(1) end   -- a dry run shows the setup only
return {terminated = true}
