-- stack: PolarDB Stack's entry: dispatch srv_opr_type/srv_opr_action (from the environment) to a runbook
--
-- PolarDB Stack runs `bash -c "srv_opr_type='account' srv_opr_action='create' ... python
-- /docker_script/entry_point.py"`; entry_point.py is a polarrun runbook that calls this one.
-- Result contract: exit 0 on success; non-zero with the reason on stderr; log lines on stdout.
--
-- The table below is the whole mapping: "type/action" (or the action alone for the
-- type-less actions of ClusterManager) -> runbook, and how the Stack variables become that
-- runbook's inputs. `v` reads the variables (lib/stack_vars.lua): v.get (optional), v.need
-- (required), v.json.<name> (decoded), v.port(), v.conf_params(), v.slot_kind(), v.disk_name().
-- Every call also gets pgdata, db_user and port (access_port[0] of srv_opr_host_ip).

local ops = {
  ["account/create"] = {"create_user", function(v) return
    {user = v.need("srv_opr_user_name"), password = v.need("srv_opr_password"), privilege = v.need("srv_opr_privilege")} end},
  ["account/modify"] = {"modify_user", function(v) return
    {user = v.need("srv_opr_user_name"), password = v.get("srv_opr_password"), privilege = v.need("srv_opr_privilege")} end},
  ["account/delete"] = {"delete_user", function(v) return {user = v.need("srv_opr_user_name")} end},

  ["replica/create_replication"] = {"create_replication", function(v) return
    {kind = v.slot_kind(), custins_id = v.need("cust_ins_id"), slot_unique_name = v.need("slot_unique_name")} end},
  ["replica/remove_replication"] = {"remove_replication", function(v) return
    {kind = v.slot_kind(), custins_id = v.need("cust_ins_id"), slot_unique_name = v.need("slot_unique_name")} end},

  ["lock_ins/lock_ins_diskfull"]   = {"lock_disk_full"},
  ["lock_ins/unlock_ins_diskfull"] = {"unlock_disk_full"},
  ["lock_ins/lock_ins_expire"]     = {"lock_expired", function(v) return {shutdown_mode = v.get("shutdown_mode")} end},
  ["lock_ins/unlock_ins_expire"]   = {"unlock_expired"},

  ["hostins_ops/setup_install_instance"] = {"install", function(v) return {mycnf_dict = v.json.mycnf_dict} end},
  ["hostins_ops/stop_instance"]    = {"lock_expired", function(v) return {shutdown_mode = v.get("shutdown_mode")} end},
  ["hostins_ops/start_instance"]   = {"unlock_expired"},
  ["hostins_ops/restart_instance"] = {"restart", function(v) return {mode = v.get("shutdown_mode")} end},
  ["hostins_ops/process_cleanup"]  = {"stop", function(v) return {mode = v.get("shutdown_mode")} end},
  ["hostins_ops/grow_pfs"]         = {"disk_expansion", function(v) return {disk = v.disk_name()} end},
  ["hostins_ops/generate_new_wal"] = {"generate_new_wal"},
  ["hostins_ops/get_system_identifier"] = {"system_identifier"},

  ["update_conf/update"] = {"refresh_params", function(v) return {params = v.conf_params()} end},

  ["health_check/hostins_check"] = {"health_check"},
  ["health_check/service_check"] = {"health_check"},

  ["backup/pre_action"]  = {"backup_start"},
  ["backup/post_action"] = {"backup_stop"},

  -- ClusterManager: no srv_opr_type
  ["lock_stop_instance"]    = {"lock_expired", function(v) return {shutdown_mode = v.get("shutdown_mode")} end},
  ["unlock_start_instance"] = {"unlock_expired"},
}

-- The dispatcher ------------------------------------------------------------------------
local vars = require("stack_vars")
local stack_user = require("stack_user")
inputs {}

local v = vars.load()   -- malformed JSON in any variable stops here
local op_type, action = v.get("srv_opr_type"), v.get("srv_opr_action")
if not action then raise("usage", "srv_opr_action is not set (PolarDB Stack passes srv_opr_type and srv_opr_action)") end
local key = op_type and (op_type .. "/" .. action) or action
local op = ops[key]
if not op then
  local known = {}
  for k in pairs(ops) do known[#known + 1] = k end
  table.sort(known)
  raise("usage", string.format("unknown operation srv_opr_type=%s srv_opr_action=%s (known: %s)",
    op_type or "(none)", action, table.concat(known, ", ")))
end

local pgdata = env("PGDATA") or "/data"
local db_user = env("POLARRUN_DB_USER") or "postgres"
stack_user.ensure(db_user, v.get("logic_ins_id"), {pgdata})

local args = op[2] and op[2](v) or {}
args.pgdata, args.db_user, args.port = pgdata, db_user, v.port()
log.info(string.format("%s -> %s", key, op[1]))
local ok, result = pcall(polarrun.call, op[1], args)
if not ok then   -- the runbook's own message, without this file's position in front
  local e = type(result) == "table" and result or {kind = "runtime", message = tostring(result)}
  raise(e.kind or "runtime", e.message or tostring(result))
end
log.info(key .. " done")
return result
