-- ha_rejoin: turn this (old primary) instance into a streaming standby of a new primary, pg_rewind where needed
--
-- Checklist:
--   1. the new primary answers, is not in recovery, and belongs to the same cluster (system identifier)
--   2. this data directory can be rewound (wal_log_hints = on or data checksums)
--   3. already a standby streaming from that primary: nothing to do. Where pg_rewind cannot run —
--      a new primary with its unix socket in its data directory (the pod layout), or PolarDB
--      (full_page_writes = off in its sample configuration; the WAL lives in polar_datadir) — decide
--      here, before anything changes, whether a rewind is needed (did this instance write WAL past
--      the new primary's fork point?), and refuse if so, offering method=basebackup
--   4. stop this instance (fast), pg_rewind from the new primary (it says when no rewind is required),
--      keeping this instance's own configuration files (pg_rewind would copy the primary's);
--      method=basebackup: rebuild it from a fresh base backup of the new primary instead
--      (lib/rejoin_rebuild.lua)
--   5. physical slot on the new primary (slot_name), primary_conninfo and primary_slot_name in
--      postgresql.auto.conf, standby.signal
--   6. start, and wait until the WAL receiver streams from the new primary
-- The mechanics are in lib/rejoin.lua.
local instance = require("instance")
local rejoin = require("rejoin")

local p = instance.inputs(rejoin.inputs)
local rj = rejoin.plan(p)
local lock <close> = instance.exclusive(p)

log.info(string.format("step 1/6: checking the new primary %s port %d", p.primary_host, p.primary_port))
rejoin.check_primary(rj)
log.info("step 2/6: can " .. p.pgdata .. " be rewound?")
rejoin.check_rewindable(rj)

log.info("step 3/6: current state of " .. p.pgdata)
if rejoin.already_streaming(rj) then
  log.info(p.pgdata .. " already streams from " .. p.primary_host .. ":" .. p.primary_port .. "; nothing to do")
  return {changed = false, rewound = false, streaming = true}
end
rejoin.decide(rj)
if rj.running then
  log.info("stopping " .. p.pgdata .. " (fast)")
  pg_ctl("stop", instance.ctl(p, {mode = "fast"}))
end

if p.method == "basebackup" then
  log.info("step 4/6: rebuilding " .. p.pgdata .. " from a fresh base backup of the new primary")
  rejoin.rebuild(rj)
else
  log.info("step 4/6: pg_rewind from the new primary")
  rejoin.rewind(rj)
end
rejoin.restore_conf(rj)

log.info("step 5/6: standby configuration")
rejoin.configure_standby(rj)
log.info("step 6/6: starting " .. p.pgdata .. " as a standby")
rejoin.start_standby(rj)
log.info(p.pgdata .. (polarrun.dry_run and " would be a standby streaming from " or " is a standby streaming from ")
  .. p.primary_host .. ":" .. p.primary_port)
return {changed = not polarrun.dry_run, would_change = polarrun.dry_run or nil, rewound = rj.rewound,
        rebuilt = p.method == "basebackup", streaming = not polarrun.dry_run, slot = p.slot_name,
        application_name = rj.appname}
