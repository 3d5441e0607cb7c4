-- health_check: connect and run `select 1` within a timeout; exit 0 only when the instance answers
--
-- Read-only. --json gives role (primary / replica / standby), in_recovery, replay lag
-- (seconds and bytes, never negative) and uptime. A recovering instance is a "replica" when it is
-- one of PolarDB's shared-storage replicas (replica.signal in its data directory; polar_replica =
-- on in PolarDB 11), or — on community PostgreSQL, which has no such node — when it streams
-- through a replica_* slot; otherwise a "standby".

local instance = require("instance")
local p = instance.open({
  timeout = instance.timeout("seconds for the query to answer", 3, "number"),
}, {need_dir = false})

local ok, rows = pcall(sql, [[
  select 1 as ok,
         pg_is_in_recovery() as in_recovery,
         extract(epoch from now() - pg_postmaster_start_time())::float8 as uptime_s,
         case when pg_is_in_recovery()
              then extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 end as replay_lag_s,
         case when pg_is_in_recovery()
              then pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 end as replay_lag_bytes,
         (pg_stat_file('replica.signal', true)).size is not null as replica_signal,
         current_setting('polar_enable_shared_storage_mode', true) is not null as polardb,
         (select slot_name from pg_stat_wal_receiver limit 1) as slot_name,
         current_setting('primary_slot_name', true) as primary_slot_name,
         current_setting('polar_replica', true) as polar_replica,
         current_setting('server_version') as version
]], {}, instance.conn(p, {connect_timeout = math.max(1, math.ceil(p.timeout)), timeout = p.timeout}))
if not ok then
  polarrun.raise("unhealthy", "instance in " .. p.pgdata .. " does not answer: " .. tostring(rows))
end
local r = rows[1]
-- a replica can replay WAL it has not "received" (PolarDB's replica reads it from shared storage),
-- and the clocks of two hosts differ: a lag below zero is no lag
for _, k in ipairs({"replay_lag_s", "replay_lag_bytes"}) do
  if r[k] ~= sql.null and r[k] < 0 then r[k] = 0.0 end
end
local role = "primary"
if r.in_recovery then
  local slot = (r.slot_name ~= sql.null and r.slot_name) or (r.primary_slot_name ~= sql.null and r.primary_slot_name) or ""
  if r.replica_signal or r.polar_replica == "on" then role = "replica"
  elseif r.polardb then role = "standby"                      -- PolarDB says which it is: not a replica
  elseif slot:match("^replica_") then role = "replica"
  else role = "standby" end
end
log.info(string.format("healthy: %s, uptime %.0fs%s", role, r.uptime_s,
  r.in_recovery and string.format(", replay lag %s s / %s bytes",
    r.replay_lag_s == sql.null and "?" or string.format("%.1f", r.replay_lag_s),
    r.replay_lag_bytes == sql.null and "?" or string.format("%.0f", r.replay_lag_bytes)) or ""))
return {healthy = true, role = role, in_recovery = r.in_recovery, uptime_s = r.uptime_s,
        replay_lag_s = r.replay_lag_s, replay_lag_bytes = r.replay_lag_bytes, version = r.version}
