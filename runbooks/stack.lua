-- stack: PolarDB Stack's entry: dispatch srv_opr_type/srv_opr_action (from the environment) to a runbook
--
-- PolarDB Stack runs `bash -c "srv_opr_type='account' srv_opr_action='create' ... python
-- /docker_script/entry_point.py"`; entry_point.py is a polarrun runbook that calls this one.
-- Result contract: exit 0 on success; non-zero with the reason on stderr; log lines on stdout.
--
-- ClusterManager's PolarPure lock comes the same way through entry_point_cm.py (type `node`).
--
-- The table below is the whole mapping: "type/action" (or the action alone for the
-- type-less actions of ClusterManager) -> runbook, and how the callers' variables become that
-- runbook's inputs. `v` reads the variables (lib/stack_vars.lua): v.get (optional), v.need
-- (required), v.json.<name> (decoded), v.port(), v.conf_params(), v.slot(), v.disk_name();
-- install's inputs come from lib/stack_follower.lua. Every call also gets pgdata, db_user and
-- port (spec 2.3: srv_opr_host_ip, srv_opr_hosts or port), except those marked instance = false.
-- `refused` below lists the catalogue actions this engine cannot do, with the reason.

local ops = {
  ["account/create"] = {"create_user", function(v) return
    {user = v.need("srv_opr_user_name"), password = v.need("srv_opr_password"), privilege = v.need("srv_opr_privilege")} end},
  ["account/modify"] = {"modify_user", function(v) return
    {user = v.need("srv_opr_user_name"), password = v.get("srv_opr_password"), privilege = v.need("srv_opr_privilege")} end},
  ["account/delete"] = {"delete_user", function(v) return {user = v.need("srv_opr_user_name")} end},

  -- the slot comes from ro_custins_current (legacy) or current_ins + ins_topology_4_replication
  -- (spec 4.2); ClusterManager, not the manager, edits synchronous_standby_names
  ["replica/create_replication"] = {"create_replication", function(v)
    local s = v.slot(); s.synchronous = false; return s end},
  ["replica/remove_replication"] = {"remove_replication", function(v) return v.slot() end},

  ["lock_ins/lock_ins_diskfull"]   = {"lock_disk_full"},
  ["lock_ins/unlock_ins_diskfull"] = {"unlock_disk_full"},
  ["lock_ins/lock_ins_expire"]     = {"lock_expired", function(v) return {shutdown_mode = v.get("shutdown_mode")} end},
  ["lock_ins/unlock_ins_expire"]   = {"unlock_expired"},

  ["hostins_ops/setup_install_instance"] = {"install", function(v) return require("stack_follower").install_args(v) end},
  ["hostins_ops/query_installation_progress"] = {"install_progress"},
  ["hostins_ops/setup_logagent_config"] = {"logagent_config", function(v) return
    {ins_name = v.need("ins_name"), base_collect_path = v.get("base_collect_path"), pod_collect_path = v.get("pod_collect_path"),
     port = v.get("access_port"), container_mount_path = v.get("container_mount_path"),
     host_mount_path = v.get("host_mount_path")} end, instance = false},
  ["hostins_ops/stop_instance"]    = {"lock_expired", function(v) return {shutdown_mode = v.get("shutdown_mode")} end},
  ["hostins_ops/start_instance"]   = {"unlock_expired"},
  ["hostins_ops/restart_instance"] = {"restart", function(v) return {mode = v.get("shutdown_mode")} end},
  ["hostins_ops/process_cleanup"]  = {"stop", function(v) return {mode = v.get("shutdown_mode")} end},
  ["hostins_ops/grow_pfs"]         = {"disk_expansion", function(v) return {disk = v.disk_name()} end},
  ["hostins_ops/generate_new_wal"] = {"generate_new_wal"},
  ["hostins_ops/get_system_identifier"] = {"system_identifier"},
  ["hostins_ops/enable_ssl"]  = {"ssl", function(v) return {enable = true, ssl_cert = v.need("ssl_cert"), ssl_key = v.need("ssl_key")} end},
  ["hostins_ops/disable_ssl"] = {"ssl", function() return {enable = false} end},
  ["hostins_ops/create_tablespace"] = {"create_tablespace", function(v)
    local t = v.json.create_tablespace_env
    if type(t) ~= "table" or not t.tablespace_name or not t.tablespace_path then
      polarrun.raise("usage", "create_tablespace_env must be {\"tablespace_name\": ..., \"tablespace_path\": ...}")
    end
    return {name = tostring(t.tablespace_name), path = tostring(t.tablespace_path)} end},

  ["update_conf/update"] = {"refresh_params", function(v) return {params = v.conf_params()} end},
  ["update_conf/init_sysctl"] = {"init_sysctl", function(v) return {mem_size = v.need("mem_size")} end, instance = false},

  ["health_check/hostins_check"] = {"health_check"},
  ["health_check/service_check"] = {"health_check"},

  ["backup/pre_action"]  = {"backup_start"},
  ["backup/post_action"] = {"backup_stop"},
  ["restore/repair_account"] = {"repair_account"},

  ["stop/graceful_stop"] = {"stop", function(v) return {mode = "fast", timeout = v.get("srv_opr_timeout")} end},
  ["init_ins/initdb"] = {nil, note = "init_ins/initdb: nothing to do (setup_install_instance creates the instance)"},

  -- ClusterManager's PolarPure read-only lock: /docker_script/entry_point_cm.py with port=P
  ["node/lock-ins-diskfull"]   = {"lock_disk_full"},
  ["node/unlock-ins-diskfull"] = {"unlock_disk_full"},

  -- ClusterManager: no srv_opr_type; these match whatever the type (spec 2.5 step 5)
  ["lock_stop_instance"]    = {"lock_expired", function(v) return {shutdown_mode = v.get("shutdown_mode")} end},
  ["unlock_start_instance"] = {"unlock_expired"},
}

-- Catalogue actions this engine cannot do: refused with one line saying what is missing (docs/stack.md).
local pitr = "the PITR family needs PolarDB's shared-storage restore (pfs and the restore job's " ..
             "backup label on the PolarDB volume); this engine and pod have neither"
local refused = {
  ["hostins_ops/restore_prepared"] = pitr,
  ["hostins_ops/check_restore_running_status"] = pitr,
  ["hostins_ops/fetch_archive_log_from_source"] = pitr,
  ["hostins_ops/do_fetch_archive_log_from_source"] = pitr,
  ["hostins_ops/check_fetch_archive_from_source_status"] = pitr,
  ["hostins_ops/check_download_archive_status"] = pitr,
  ["hostins_ops/build_recovery"] = "build_recovery belongs to DMA (three-node) clusters, which this engine does not have",
  ["hostins_ops/add_dma_follower_to_cluster"] = "add_dma_follower_to_cluster belongs to DMA (three-node) clusters, which this engine does not have",
  ["update_conf/create"] = "update_conf/create makes no config file (setup_install_instance writes postgresql.conf)",
  ["rotate_tde_key"] = "rotate_tde_key needs PolarDB's TDE (polar_tde_update_kmgr_file) and /scripts/tde_get_plain_dk.py; this engine has no TDE",
  ["rebuild_local_dir"] = "rebuild_local_dir re-creates a node's local /data from its PolarDB shared storage " ..
                          "(polar-replica-initdb.sh); this pod keeps the instance itself in /data, which it would destroy",
}

-- The dispatcher ------------------------------------------------------------------------
local vars = require("stack_vars")
local stack_user = require("stack_user")
polarrun.inputs {}

local v = vars.load()   -- malformed JSON in any variable stops here
local op_type, action = v.get("srv_opr_type"), v.get("srv_opr_action")
if not action then polarrun.raise("usage", "srv_opr_action is not set (PolarDB Stack passes srv_opr_type and srv_opr_action)") end
local key = op_type and (op_type .. "/" .. action) or action
if not ops[key] and not refused[key] and (ops[action] or refused[action]) then key = action end   -- spec 2.5 step 5
if refused[key] then polarrun.raise("unsupported", key .. ": " .. refused[key]) end
local op = ops[key]
if not op then
  local known = {}
  for k in pairs(ops) do known[#known + 1] = k end
  table.sort(known)
  polarrun.raise("usage", string.format("unknown operation srv_opr_type=%s srv_opr_action=%s (known: %s)",
    op_type or "(none)", action, table.concat(known, ", ")))
end

local pgdata, db_user = polarrun.defaults.pgdata, polarrun.defaults.db_user   -- PGDATA, POLARRUN_DB_USER applied
stack_user.ensure(db_user, v.get("logic_ins_id"), {pgdata})

-- an install's failure is recorded for query_installation_progress (the last one only)
local failed = key == "hostins_ops/setup_install_instance" and (polarrun.defaults.log_dir .. "/" .. require("stack_install").failed)
if failed and fs.exists(failed) then fs.remove(failed) end
local ok, result = pcall(function()
  local args = op[2] and op[2](v) or {}
  if not op[1] then log.info(op.note); return {} end
  if op.instance ~= false then args.pgdata, args.db_user, args.port = pgdata, db_user, v.port() end
  log.info(string.format("%s -> %s", key, op[1]))
  return polarrun.call(op[1], args)
end)
if not ok then   -- the runbook's own message, without this file's position in front
  local e = type(result) == "table" and result or {kind = "runtime", message = tostring(result)}
  local message = (e.message or tostring(result)):gsub("^[^:]*stack%.lua:%d+: ", "")
  -- CheckHealth (Stack-Common) reads "the database system is starting up" on stderr as "starting",
  -- but only when the exit status is 0 (spec 2.4): a starting instance is not a failed one.
  -- PostgreSQL 14+ says "not yet accepting connections" while a recovering node has not reached
  -- a consistent state (what older engines called "starting up"): starting too.
  if op[1] == "health_check" and (message:find("the database system is starting up", 1, true)
      or message:find("the database system is not yet accepting connections", 1, true)) then
    log.console("stderr")
    log.warn("the database system is starting up")
    return {healthy = false, starting = true}
  end
  if failed then pcall(fs.write, failed, message:gsub("\n", " ") .. "\n") end
  polarrun.raise(e.kind or "runtime", message)
end
log.info(key .. (polarrun.dry_run and ": dry run done, nothing changed" or " done"))
return result
