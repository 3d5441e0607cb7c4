-- ha_switch: switchover: promote a healthy standby; optionally stop the old primary or make it follow the new one
--
-- Checklist (every check runs before anything changes; any failure refuses with the reasons):
--   1. the target (this data directory, or target_host) is in recovery and streaming, replay not paused
--   2. the primary (primary_host, else primary_pgdata's socket, else the target's WAL sender) is a primary of the
--      same cluster (system identifier) on the target's timeline; the target's replay lag <= max_lag_bytes
--   3. old_primary=stop|rejoin: stop the old primary (fast) and wait until the target replayed its shutdown
--      checkpoint, so no committed transaction is lost (on timeout the old primary is started again)
--   4. promote (pg_ctl promote for a local target, pg_promote() for a remote one)
--   5. verify: the target writes (a temporary table, synchronous_commit = local) on a newer timeline
--   6. old_primary=rejoin: ha_rejoin the old primary to the new one (pg_rewind where needed)
-- A run that stopped half-way can be run again: a target already promoted with its old primary stopped or
-- following is taken up at step 6. The mechanics are in lib/ha.lua.
local instance = require("instance")
local ha = require("ha")

local p = instance.inputs(ha.inputs)
local sw = ha.switch(p)
local target_lock <close> = sw.local_target and instance.exclusive(p) or nil

log.info("step 1/6: checking the target " .. sw.name)
local resume = ha.check_target(sw)
if not resume then
  log.info("step 2/6: checking the primary")
  ha.check_primary(sw)
  ha.refuse_if_problems(sw)

  do  -- the old primary's lock is released before step 6 (ha_rejoin takes it)
    local old_lock <close> = sw.old_pg and instance.exclusive(sw.old_pg) or nil
    if p.old_primary ~= "keep" then
      ha.stop_old_primary(sw)
    else
      log.info("step 3/6: old_primary=keep: the old primary stays up (writes to it after the promotion diverge)")
    end
    log.info("step 4/6: promoting " .. sw.name)
    ha.promote(sw)
  end
end

log.info("step 5/6: verifying that " .. sw.name .. " accepts writes on a new timeline")
ha.verify(sw)
sw.result.promoted = not resume

if p.old_primary == "rejoin" then
  log.info("step 6/6: making the old primary " .. p.primary_pgdata .. " a standby of " .. sw.name)
  -- a dry run cannot rejoin a primary it did not stop to a standby it did not promote: it lists the step
  if not polarrun.would("run ha_rejoin: make the old primary " .. p.primary_pgdata .. " a standby of " .. sw.name) then
    sw.result.rejoin = polarrun.call("ha_rejoin", ha.rejoin_params(sw))
  end
else
  log.info("step 6/6: old_primary=" .. p.old_primary .. ": not rejoined")
end
if polarrun.dry_run then sw.result.promoted, sw.result.would_promote = false, not resume end
return sw.result
