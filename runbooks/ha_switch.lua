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
-- following is taken up at step 6.
local instance = require("instance")
local repl = require("replication")

local p = instance.inputs {
  target_host = {type = "string", desc = "connect to the target over TCP (remote: promoted with pg_promote()); " ..
                                         "default: the unix socket in pgdata, promoted with pg_ctl"},
  target_user = {type = "string", default = "postgres", desc = "superuser on the target"},
  target_password = {type = "string", secret = true},
  primary_host = {type = "string", desc = "the current primary (default: primary_pgdata's socket, else the target's WAL sender)"},
  primary_port = {type = "integer", desc = "its port (default: the target's WAL sender's)"},
  primary_user = {type = "string", default = "postgres"},
  primary_password = {type = "string", secret = true},
  primary_pgdata = {type = "string", desc = "the current primary's data directory on this machine (old_primary=stop|rejoin)"},
  max_lag_bytes = {type = "integer", default = 16 * 1024 * 1024, desc = "largest acceptable replay lag of the target"},
  old_primary = {type = "string", default = "keep", enum = {"keep", "stop", "rejoin"},
                 desc = "keep: leave it running (it diverges if written to); stop: stop it before promoting; " ..
                        "rejoin: stop it, promote, then make it a standby of the new primary"},
  rejoin_slot = {type = "string", desc = "slot on the new primary for the rejoined old primary (created when missing)"},
  promote_timeout = {type = "integer", default = 60},
  catchup_timeout = {type = "integer", default = 60, desc = "seconds for the target to replay the old primary's last WAL"},
}
if p.max_lag_bytes < 0 then polarrun.raise("usage", "max_lag_bytes must be >= 0") end
if p.old_primary ~= "keep" and not repl.is_local_pgdata(p.primary_pgdata) then
  polarrun.raise("usage", "old_primary=" .. p.old_primary .. " needs primary_pgdata, the old primary's data directory on this machine" ..
    (p.primary_pgdata and (" (" .. p.primary_pgdata .. " is not one)") or ""))
end
if p.rejoin_slot and not p.rejoin_slot:match("^[a-z0-9_]+$") then
  polarrun.raise("usage", "rejoin_slot may only contain lowercase letters, digits and '_'")
end
local local_target = p.target_host == nil
if local_target and not repl.is_local_pgdata(p.pgdata) then
  polarrun.raise("usage", p.pgdata .. " is not a data directory on this machine: give pgdata, or target_host for a remote target")
end
local target = local_target and instance.conn(p) or
  {host = p.target_host, port = p.port, user = p.target_user, password = p.target_password, dbname = "postgres",
   connect_timeout = p.connect_timeout}
local target_name = (p.target_host or p.pgdata) .. ":" .. p.port
local old_pg = p.primary_pgdata and {pgdata = p.primary_pgdata, bindir = p.bindir, db_user = p.db_user}

local target_lock <close> = local_target and instance.exclusive(p) or nil

log.info("step 1/6: checking the target " .. target_name)
local problems = {}
local function problem(msg) problems[#problems + 1] = msg; log.warn("check failed: " .. msg) end
local t = sql([[select pg_is_in_recovery() as recovery,
                       (select system_identifier::text from pg_control_system()) as sysid]], {}, target)[1]

-- Where a previous run stopped: the target is promoted and the old primary is down or already a standby.
local function old_primary_state()
  if not old_pg then return nil end
  if not instance.running(old_pg) then return "stopped" end
  local port = p.primary_port or repl.configured_port(p.primary_pgdata)
  local r = sql("select pg_is_in_recovery() as recovery", {}, {host = p.primary_pgdata, port = port})[1]
  return r.recovery and "standby" or "primary"
end

local result = {target = target_name, old_primary = p.old_primary}
local resume = false
if not t.recovery then
  local st = old_primary_state()
  if p.old_primary ~= "keep" and (st == "stopped" or st == "standby") then
    log.info("the target is already a primary and the old primary is " .. st .. ": resuming after the promotion")
    resume = true
  else
    polarrun.raise("refused", "ha_switch refused, nothing was changed: the target " .. target_name ..
      " is not a standby (it is not in recovery)")
  end
end

local old_port
if not resume then
  local wr = sql([[select status, sender_host, sender_port, received_tli, slot_name from pg_stat_wal_receiver]], {}, target)[1]
  if not wr then problem("the target has no WAL receiver: it is not streaming from a primary")
  elseif wr.status ~= "streaming" then problem("the target's WAL receiver is " .. wr.status .. ", not streaming") end
  if sql("select pg_is_wal_replay_paused() as paused", {}, target)[1].paused then
    problem("replay is paused on the target (pg_wal_replay_resume() first)")
  end

  log.info("step 2/6: checking the primary")
  local host = p.primary_host or (old_pg and p.primary_pgdata) or (wr and wr.sender_host ~= sql.null and wr.sender_host) or nil
  local port = p.primary_port or (wr and wr.sender_port ~= sql.null and wr.sender_port) or
               (old_pg and repl.configured_port(p.primary_pgdata)) or nil
  if not host or not port then
    problem("cannot tell where the primary is: give primary_host and primary_port")
  else
    local primary = {host = host, port = port, user = p.primary_user, password = p.primary_password, dbname = "postgres",
                     connect_timeout = p.connect_timeout}
    local ok, pr = pcall(sql, [[select pg_is_in_recovery() as recovery,
                                       (select system_identifier::text from pg_control_system()) as sysid,
                                       current_setting('data_directory') as data_directory,
                                       current_setting('port')::int as port,
                                       current_setting('wal_log_hints') = 'on' or current_setting('data_checksums') = 'on' as rewindable]],
                         {}, primary)
    if not ok then
      problem(string.format("cannot query the primary %s:%s: %s", host, port, tostring(pr)))
    elseif pr[1].recovery then
      problem(string.format("%s:%s is in recovery, not a primary", host, port))
    else
      pr = pr[1]
      old_port = pr.port
      local cur = sql(repl.current_tli_sql, {}, primary)[1]
      result.old_timeline = cur.tli
      if pr.sysid ~= t.sysid then
        problem(string.format("the target (system identifier %s) and the primary (%s) are different clusters", t.sysid, pr.sysid))
      end
      if wr and wr.received_tli ~= cur.tli then
        problem(string.format("the target is on timeline %d, the primary on %d", wr.received_tli, cur.tli))
      end
      local lag = sql("select greatest(0, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()))::bigint as lag",
                      {cur.lsn}, target)[1].lag
      result.lag_bytes = lag
      log.info(string.format("primary at %s on timeline %d; target replay lag %d bytes (max %d)", cur.lsn, cur.tli, lag, p.max_lag_bytes))
      if lag > p.max_lag_bytes then
        problem(string.format("the target's replay lag is %d bytes, more than max_lag_bytes = %d", lag, p.max_lag_bytes))
      end
      if old_pg and pr.data_directory:gsub("/+$", "") ~= p.primary_pgdata:gsub("/+$", "") then
        problem(string.format("primary_pgdata is %s but the primary at %s:%s runs from %s", p.primary_pgdata, host, port, pr.data_directory))
      end
      if p.old_primary == "rejoin" and not pr.rewindable then
        problem("the old primary has neither wal_log_hints = on nor data checksums: pg_rewind could not rejoin it")
      end
    end
  end
  if #problems > 0 then
    polarrun.raise("refused", "ha_switch refused, nothing was changed:\n  - " .. table.concat(problems, "\n  - "))
  end

  do
    local old_lock <close> = old_pg and fs.flock(p.primary_pgdata .. "/.polarrun.lock", {timeout = 600}) or nil
    if p.old_primary ~= "keep" then
      log.info("step 3/6: stopping the old primary " .. p.primary_pgdata .. " (fast) so the target receives all of its WAL")
      pg_ctl("stop", instance.ctl(old_pg, {mode = "fast"}))
      local cd = repl.controldata(p.primary_pgdata, old_pg)
      local ckpt = cd["Latest checkpoint location"]
      log.info("old primary's shutdown checkpoint: " .. tostring(ckpt) .. "; waiting for the target to replay it")
      local ok = pcall(polarrun.wait_until, function()
        return sql("select pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) > 0 as done", {ckpt}, target)[1].done
      end, p.catchup_timeout, 0.1)
      if not ok then
        log.error("the target did not replay " .. ckpt .. " in " .. p.catchup_timeout .. "s: starting the old primary again")
        pg_ctl("start", instance.ctl(old_pg, {logfile = repl.server_log(p.primary_pgdata, old_pg)}))
        polarrun.raise("refused", "ha_switch refused: the target did not catch up with the old primary within " ..
          p.catchup_timeout .. "s; the old primary runs again and nothing was promoted")
      end
    else
      log.info("step 3/6: old_primary=keep: the old primary stays up (writes to it after the promotion diverge)")
    end

    log.info("step 4/6: promoting " .. target_name)
    if local_target then
      pg_ctl("promote", instance.ctl(p, {timeout = p.promote_timeout}))
    else
      log.info("remote target: select pg_promote(true, " .. p.promote_timeout .. ")")
      local r = sql("select pg_promote(true, $1) as ok", {p.promote_timeout}, target)[1]
      if not r.ok then polarrun.raise("ha", "pg_promote() did not complete within " .. p.promote_timeout .. "s") end
    end
    polarrun.wait_until(function() return not sql("select pg_is_in_recovery() as r", {}, target)[1].r end, p.promote_timeout, 0.1)
  end
end

log.info("step 5/6: verifying that " .. target_name .. " accepts writes on a new timeline")
do
  local c <close> = sql.connect(target)
  c:query("set synchronous_commit = local")
  c:query("create temporary table polarrun_ha_write_probe as select now() as at")
  c:query("drop table polarrun_ha_write_probe")
end
local now_tl = sql(repl.current_tli_sql, {}, target)[1]
result.new_timeline = now_tl.tli
if result.old_timeline and now_tl.tli <= result.old_timeline then
  polarrun.raise("ha", string.format("the target was promoted but its timeline did not advance (%d)", now_tl.tli))
end
local sync = sql([[select current_setting('synchronous_standby_names') as names,
                          (select count(*) from pg_stat_replication where sync_state in ('sync', 'quorum'))::int as n]], {}, target)[1]
if sync.names ~= "" and sync.n == 0 then
  log.warn("the new primary has synchronous_standby_names = '" .. sync.names .. "' and no synchronous standby is connected: " ..
    "commits wait until one connects (create_replication/remove_replication on the new primary)")
end
result.promoted = not resume
result.synchronous_standby_names = sync.names
log.info(string.format("%s is the primary, timeline %d", target_name, now_tl.tli))

if p.old_primary == "rejoin" then
  log.info("step 6/6: making the old primary " .. p.primary_pgdata .. " a standby of " .. target_name)
  result.rejoin = polarrun.call("ha_rejoin", {
    pgdata = p.primary_pgdata, port = old_port or p.primary_port or repl.configured_port(p.primary_pgdata),
    bindir = p.bindir, db_user = p.db_user, connect_timeout = p.connect_timeout,
    primary_host = p.target_host or p.pgdata, primary_port = p.port,
    primary_user = p.target_user, primary_password = p.target_password, slot_name = p.rejoin_slot,
  })
else
  log.info("step 6/6: old_primary=" .. p.old_primary .. ": not rejoined")
end
return result
