-- ha: ha_switch's mechanics. ha_switch.lua keeps the checklist (steps 1-6); each step here works
-- on one switch table `sw` made by ha.switch(p): the target's connection, the old primary's
-- data directory, the problems found so far and the result being built.
local instance = require("instance")
local repl = require("replication")

local M = {}

M.inputs = {
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

--- Checks the inputs that need no server (exit 2) and returns the switch table.
function M.switch(p)
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
  local sw = {p = p, local_target = local_target, problems = {}, result = {old_primary = p.old_primary}}
  sw.target = local_target and instance.conn(p) or
    {host = p.target_host, port = p.port, user = p.target_user, password = p.target_password, dbname = "postgres",
     connect_timeout = p.connect_timeout}
  sw.name = (p.target_host or p.pgdata) .. ":" .. p.port
  sw.result.target = sw.name
  sw.old_pg = p.primary_pgdata and {pgdata = p.primary_pgdata, bindir = p.bindir, db_user = p.db_user}
  return sw
end

local function problem(sw, msg)
  sw.problems[#sw.problems + 1] = msg
  log.warn("check failed: " .. msg)
end

--- Refuses (nothing changed) when a check found problems.
function M.refuse_if_problems(sw)
  if #sw.problems > 0 then
    polarrun.raise("refused", "ha_switch refused, nothing was changed:\n  - " .. table.concat(sw.problems, "\n  - "))
  end
end

-- Where a previous run stopped: the target is promoted and the old primary is down or already a standby.
local function old_primary_state(sw)
  local p = sw.p
  if not sw.old_pg then return nil end
  if not instance.running(sw.old_pg) then return "stopped" end
  local port = p.primary_port or repl.configured_port(p.primary_pgdata)
  local r = sql("select pg_is_in_recovery() as recovery", {}, {host = p.primary_pgdata, port = port})[1]
  return r.recovery and "standby" or "primary"
end

--- Step 1: the target is a streaming standby with replay running. Returns true when an earlier
--- run already promoted it (and stopped or rejoined the old primary): resume after the promotion.
function M.check_target(sw)
  local t = sql([[select pg_is_in_recovery() as recovery,
                         (select system_identifier::text from pg_control_system()) as sysid]], {}, sw.target)[1]
  sw.sysid = t.sysid
  if not t.recovery then
    local st = old_primary_state(sw)
    if sw.p.old_primary ~= "keep" and (st == "stopped" or st == "standby") then
      log.info("the target is already a primary and the old primary is " .. st .. ": resuming after the promotion")
      return true
    end
    polarrun.raise("refused", "ha_switch refused, nothing was changed: the target " .. sw.name ..
      " is not a standby (it is not in recovery)")
  end
  local wr = sql([[select status, sender_host, sender_port, received_tli, slot_name from pg_stat_wal_receiver]], {}, sw.target)[1]
  sw.receiver = wr
  if not wr then problem(sw, "the target has no WAL receiver: it is not streaming from a primary")
  elseif wr.status ~= "streaming" then problem(sw, "the target's WAL receiver is " .. wr.status .. ", not streaming") end
  if sql("select pg_is_wal_replay_paused() as paused", {}, sw.target)[1].paused then
    problem(sw, "replay is paused on the target (pg_wal_replay_resume() first)")
  end
  return false
end

--- Step 2: the primary is a primary of the same cluster, on the target's timeline, and the
--- target's replay lag is small enough. Problems are collected in sw.problems.
function M.check_primary(sw)
  local p, wr, old_pg = sw.p, sw.receiver, sw.old_pg
  local host = p.primary_host or (old_pg and p.primary_pgdata) or (wr and wr.sender_host ~= sql.null and wr.sender_host) or nil
  local port = p.primary_port or (wr and wr.sender_port ~= sql.null and wr.sender_port) or
               (old_pg and repl.configured_port(p.primary_pgdata)) or nil
  if not host or not port then
    return problem(sw, "cannot tell where the primary is: give primary_host and primary_port")
  end
  local primary = {host = host, port = port, user = p.primary_user, password = p.primary_password, dbname = "postgres",
                   connect_timeout = p.connect_timeout}
  local ok, pr = pcall(sql, [[select pg_is_in_recovery() as recovery,
                                     (select system_identifier::text from pg_control_system()) as sysid,
                                     current_setting('data_directory') as data_directory,
                                     current_setting('port')::int as port,
                                     current_setting('wal_log_hints') = 'on' or current_setting('data_checksums') = 'on' as rewindable]],
                       {}, primary)
  if not ok then return problem(sw, string.format("cannot query the primary %s:%s: %s", host, port, tostring(pr))) end
  if pr[1].recovery then return problem(sw, string.format("%s:%s is in recovery, not a primary", host, port)) end
  pr = pr[1]
  sw.old_port = pr.port
  local cur = sql(repl.current_tli_sql, {}, primary)[1]
  sw.result.old_timeline = cur.tli
  if pr.sysid ~= sw.sysid then
    problem(sw, string.format("the target (system identifier %s) and the primary (%s) are different clusters", sw.sysid, pr.sysid))
  end
  if wr and wr.received_tli ~= cur.tli then
    problem(sw, string.format("the target is on timeline %d, the primary on %d", wr.received_tli, cur.tli))
  end
  local lag = sql("select greatest(0, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()))::bigint as lag",
                  {cur.lsn}, sw.target)[1].lag
  sw.result.lag_bytes = lag
  log.info(string.format("primary at %s on timeline %d; target replay lag %d bytes (max %d)", cur.lsn, cur.tli, lag, p.max_lag_bytes))
  if lag > p.max_lag_bytes then
    problem(sw, string.format("the target's replay lag is %d bytes, more than max_lag_bytes = %d", lag, p.max_lag_bytes))
  end
  if old_pg and pr.data_directory:gsub("/+$", "") ~= p.primary_pgdata:gsub("/+$", "") then
    problem(sw, string.format("primary_pgdata is %s but the primary at %s:%s runs from %s", p.primary_pgdata, host, port, pr.data_directory))
  end
  if p.old_primary == "rejoin" and not pr.rewindable then
    problem(sw, "the old primary has neither wal_log_hints = on nor data checksums: pg_rewind could not rejoin it")
  end
end

--- Step 3 (old_primary=stop|rejoin): stop the old primary and wait until the target replayed its
--- shutdown checkpoint; on timeout start it again and refuse.
function M.stop_old_primary(sw)
  local p = sw.p
  log.info("step 3/6: stopping the old primary " .. p.primary_pgdata .. " (fast) so the target receives all of its WAL")
  pg_ctl("stop", instance.ctl(sw.old_pg, {mode = "fast"}))
  if polarrun.dry_run then return end   -- nothing was stopped: no shutdown checkpoint to wait for
  local ckpt = repl.controldata(p.primary_pgdata, sw.old_pg)["Latest checkpoint location"]
  log.info("old primary's shutdown checkpoint: " .. tostring(ckpt) .. "; waiting for the target to replay it")
  local ok = pcall(polarrun.wait_until, function()
    return sql("select pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) > 0 as done", {ckpt}, sw.target)[1].done
  end, p.catchup_timeout, 0.1)
  if not ok then
    log.error("the target did not replay " .. ckpt .. " in " .. p.catchup_timeout .. "s: starting the old primary again")
    pg_ctl("start", instance.ctl(sw.old_pg, {logfile = repl.server_log(p.primary_pgdata, sw.old_pg)}))
    polarrun.raise("refused", "ha_switch refused: the target did not catch up with the old primary within " ..
      p.catchup_timeout .. "s; the old primary runs again and nothing was promoted")
  end
end

--- Step 4: pg_ctl promote for a local target, pg_promote() for a remote one; waits until it writes.
function M.promote(sw)
  local p = sw.p
  if sw.local_target then
    pg_ctl("promote", instance.ctl(p, {timeout = p.promote_timeout}))
  else
    log.info("remote target: select pg_promote(true, " .. p.promote_timeout .. ")")
    local r = sql("select pg_promote(true, $1) as ok", {p.promote_timeout}, sw.target)[1]
    if polarrun.dry_run then return end   -- listed, not run
    if not r.ok then polarrun.raise("ha", "pg_promote() did not complete within " .. p.promote_timeout .. "s") end
  end
  if polarrun.dry_run then return end   -- nothing was promoted: nothing to wait for
  polarrun.wait_until(function() return not sql("select pg_is_in_recovery() as r", {}, sw.target)[1].r end, p.promote_timeout, 0.1)
end

--- Step 5: the target accepts a write on a newer timeline; warns when synchronous commits would wait.
function M.verify(sw)
  if polarrun.dry_run then   -- the target is still a standby: there is no new timeline to check
    log.info("would check that " .. sw.name .. " accepts writes on a new timeline")
    return
  end
  do
    local c <close> = sql.connect(sw.target)
    c:query("set synchronous_commit = local")
    c:query("create temporary table polarrun_ha_write_probe as select now() as at")
    c:query("drop table polarrun_ha_write_probe")
  end
  local now_tl = sql(repl.current_tli_sql, {}, sw.target)[1]
  sw.result.new_timeline = now_tl.tli
  if sw.result.old_timeline and now_tl.tli <= sw.result.old_timeline then
    polarrun.raise("ha", string.format("the target was promoted but its timeline did not advance (%d)", now_tl.tli))
  end
  local sync = sql([[select current_setting('synchronous_standby_names') as names,
                            (select count(*) from pg_stat_replication where sync_state in ('sync', 'quorum'))::int as n]], {}, sw.target)[1]
  if sync.names ~= "" and sync.n == 0 then
    log.warn("the new primary has synchronous_standby_names = '" .. sync.names .. "' and no synchronous standby is connected: " ..
      "commits wait until one connects (create_replication/remove_replication on the new primary)")
  end
  sw.result.synchronous_standby_names = sync.names
  log.info(string.format("%s is the primary, timeline %d", sw.name, now_tl.tli))
end

--- Step 6 (old_primary=rejoin): the inputs of ha_rejoin for the old primary.
function M.rejoin_params(sw)
  local p = sw.p
  return {
    pgdata = p.primary_pgdata, port = sw.old_port or p.primary_port or repl.configured_port(p.primary_pgdata),
    bindir = p.bindir, db_user = p.db_user, connect_timeout = p.connect_timeout,
    primary_host = p.target_host or p.pgdata, primary_port = p.port,
    primary_user = p.target_user, primary_password = p.target_password, slot_name = p.rejoin_slot,
  }
end

return M
