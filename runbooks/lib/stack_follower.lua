-- stack_follower: setup_install_instance's inputs from the Stack's variables (spec 4.7): which
-- primary an RO or standby copies and follows, with which account and slot; lock_install_ins,
-- ssl_cert/ssl_key and create_tablespace_env. Only what the Stack sends is read.
local repl = require("replication")

local M = {}

local function first(map, what)
  if type(map) ~= "table" or next(map) == nil then polarrun.raise("usage", "cluster_custins_info: " .. what .. " is missing") end
  local keys = {}
  for k in pairs(map) do keys[#keys + 1] = k end
  table.sort(keys)
  return map[keys[1]], keys[1]
end

--- The primary cluster entry ({accounts, hostins, ...}) an RO (of the RW or of a standby
--- cluster's RW) or a standby follows.
local function primary_of(v, service_type, id)
  local cci = v.json.cluster_custins_info
  if type(cci) ~= "table" then polarrun.raise("usage", "cluster_custins_info is missing") end
  if service_type == "polardb_mpd_ro" and not (type(cci.polardb_mpd_ro) == "table" and cci.polardb_mpd_ro[id]) then
    for _, cluster in pairs(type(cci.polardb_mpd_standby) == "table" and cci.polardb_mpd_standby or {}) do
      if type(cluster) == "table" and type(cluster.polardb_mpd_ro) == "table" and cluster.polardb_mpd_ro[id] then
        return (first(cluster.polardb_mpd_rw, "the standby cluster's polardb_mpd_rw"))
      end
    end
  end
  return (first(cci.polardb_mpd_rw, "polardb_mpd_rw"))
end

--- {kind, host, port, user, slot} and the password of the primary's replicator (code 15).
function M.follower(v)
  local st = v.get("service_type")
  local kind = ({polardb_mpd_ro = "replica", polardb_mpd_standby = "standby"})[st or ""]
  if not kind then return nil end   -- an RW (or no service type): initdb
  local id = v.need("cust_ins_id")
  local primary = primary_of(v, st, id)
  local host = first(primary.hostins, "the primary's hostins")
  if type(host) ~= "table" or not host.ins_ip or not host.port then
    polarrun.raise("usage", "cluster_custins_info: the primary's hostins has no ins_ip / port")
  end
  local account
  for _, a in pairs(type(primary.accounts) == "table" and primary.accounts or {}) do
    if type(a) == "table" and tonumber(a.priviledge_type) == 15 then account = a end
  end
  if not account or not account.account then
    polarrun.raise("usage", "cluster_custins_info: the primary has no replicator account (priviledge_type 15)")
  end
  repl.secret_password(account.password)
  return {kind = kind, host = tostring(host.ins_ip), port = math.tointeger(tonumber(host.port)), user = account.account,
          slot = repl.slot_name(kind, id, v.need("slot_unique_name"))}, account.password
end

--- install.lua's inputs from a setup_install_instance call.
function M.install_args(v)
  local args = {mycnf_dict = v.json.mycnf_dict, ssl_cert = v.get("ssl_cert"), ssl_key = v.get("ssl_key"),
                lock_install = v.get("lock_install_ins") == "True"}
  if args.ssl_key then polarrun.secret(args.ssl_key) end
  args.follower, args.replicator_password = M.follower(v)
  local ts = v.json.create_tablespace_env
  if type(ts) == "table" and next(ts) == nil then
    log.warn("create_tablespace_env is {}: no tablespace directory made")
  elseif ts ~= nil then
    if type(ts) ~= "table" or type(ts.tablespace_path) ~= "string" then
      polarrun.raise("usage", "create_tablespace_env must be {\"tablespace_name\": ..., \"tablespace_path\": ...}")
    end
    args.tablespace_path = ts.tablespace_path
  end
  return args
end

return M
