-- stack_vars: the variables PolarDB Stack sets (`srv_opr_type='..' ... python /docker_script/entry_point.py`),
-- read from the environment, checked and turned into runbook inputs for runbooks/stack.lua.
--
--   local v = require("stack_vars").load()
--   v.get("srv_opr_user_name")          -- nil when unset or empty
--   v.need("srv_opr_user_name")         -- usage error naming the Stack variable when missing
--   v.json.cluster_custins_info         -- decoded JSON (every JSON variable is decoded up front)
--   v.port()                            -- access_port[0] of srv_opr_host_ip

local M = {}

-- Variables holding JSON (spec 2.3): malformed JSON in any of them fails the action before
-- anything runs. `port` is the ConfigMap's {"<ins_id>": {...}} or, from entry_point_cm.py, a number.
M.json_vars = {"srv_opr_host_ip", "srv_opr_hosts", "cluster_custins_info", "mycnf_dict", "params", "port",
               "current_ins", "ro_custins_current", "ro_custins_all", "ins_topology_4_replication",
               "create_tablespace_env", "pitr_fetch_logs_env", "restore_job_env", "recovery_conf", "tde_attribute"}
-- Variables holding secrets (json_decode masks password-like keys inside JSON by itself).
M.secret_vars = {"srv_opr_password", "password"}

function M.load()
  local v = {json = {}}
  for _, name in ipairs(M.secret_vars) do
    local s = proc.env(name)
    if s and s ~= "" then polarrun.secret(s) end
  end
  for _, name in ipairs(M.json_vars) do
    local text = proc.env(name)
    -- the Stack writes an empty cluster_custins_info as "" (spec 2.3): that is {}
    if text == '""' then text = "{}" end
    if text and text:match("%S") then
      local ok, val = pcall(json.decode, text)
      if not ok then
        polarrun.raise("usage", string.format("%s is not valid JSON: %s", name, tostring(val)))
      end
      v.json[name] = val
    end
  end

  function v.get(name)
    local s = proc.env(name)
    if s == nil or s == "" then return nil end
    return s
  end

  function v.need(name)
    local s = v.get(name)
    if not s then polarrun.raise("usage", "the Stack variable " .. name .. " is missing") end
    return s
  end

  --- access_port[0] of this pod's postgres, or nil. In the order the callers send it:
  ---   srv_opr_host_ip {"access_port":[P],...}  (Stack-Common, when it asks for the port)
  ---   srv_opr_hosts [{"access_port":[P]}] with srv_opr_host_ip="{}"  (ClusterManager "box" lock)
  ---   port: a number (entry_point_cm.py `port=P`) or the ConfigMap's {"<ins_id>": {...}} (install, spec 4.7)
  function v.port()
    local function access_port(hip, what)
      local ap = type(hip) == "table" and hip.access_port
      local port = tonumber(type(ap) == "table" and ap[1] or nil)
      if not port or port ~= math.floor(port) or port < 1 or port > 65535 then
        polarrun.raise("usage", what .. " has no valid access_port[0]: " .. json.encode(hip))
      end
      return math.tointeger(port)
    end
    local hip, hosts = v.json.srv_opr_host_ip, v.json.srv_opr_hosts
    if type(hip) == "table" and next(hip) ~= nil then return access_port(hip, "srv_opr_host_ip") end
    if hosts ~= nil then
      if type(hosts) ~= "table" or type(hosts[1]) ~= "table" then
        polarrun.raise("usage", "srv_opr_hosts must be a JSON list of {\"access_port\":[P]}: " .. json.encode(hosts))
      end
      return access_port(hosts[1], "srv_opr_hosts[0]")
    end
    local port = v.json.port
    if type(port) == "number" then return access_port({access_port = {port}}, "port") end
    if type(port) == "table" and v.get("ins_id") then
      local entry = port[v.get("ins_id")]
      if entry == nil then polarrun.raise("usage", "port has no entry for ins_id " .. v.get("ins_id") .. ": " .. json.encode(port)) end
      return access_port(entry, "port[" .. v.get("ins_id") .. "]")
    end
    if hip ~= nil and type(hip) ~= "table" then polarrun.raise("usage", "srv_opr_host_ip must be a JSON object: " .. json.encode(hip)) end
    return nil
  end

  --- The object of the parameters to merge: `params`, else `mycnf_dict`.
  function v.conf_params()
    local t = v.json.params or v.json.mycnf_dict
    if t == nil then polarrun.raise("usage", "update_conf needs params or mycnf_dict") end
    if type(t) ~= "table" or (next(t) ~= nil and #t > 0) then
      polarrun.raise("usage", "params / mycnf_dict must be a JSON object of name -> value")
    end
    return t
  end

  --- The slot a replica/* call names (spec 4.2), as {kind=, custins_id=, slot_unique_name=}:
  --- with ins_topology_4_replication, current_ins under the service type whose map holds
  --- current_ins.custins_id; otherwise (the legacy form Stack-Common sends) ro_custins_current,
  --- prefix replica. The pieces are checked by lib/replication.lua's slot_name.
  function v.slot()
    local topo = v.json.ins_topology_4_replication
    local ins, service_type
    if topo ~= nil then
      ins = v.json.current_ins
      if type(ins) ~= "table" or type(ins.custins_id) ~= "string" then
        polarrun.raise("usage", "ins_topology_4_replication is given but current_ins has no custins_id")
      end
      for st, map in pairs(type(topo) == "table" and topo or {}) do
        if type(map) == "table" and map[ins.custins_id] ~= nil then service_type = st end
      end
      if not service_type then
        polarrun.raise("usage", "current_ins.custins_id " .. ins.custins_id .. " is in no service type of ins_topology_4_replication")
      end
    else
      ins = v.json.ro_custins_current
      if type(ins) ~= "table" then polarrun.raise("usage", "the Stack variable ro_custins_current is missing") end
      service_type = "polardb_mpd_ro"
    end
    local kind = ({polardb_mpd_standby = "standby", polardb_mpd_rw = "replica", polardb_mpd_ro = "replica"})[service_type]
    if not kind then polarrun.raise("usage", "no replication slot for service type " .. tostring(service_type)) end
    if type(ins.custins_id) ~= "string" or type(ins.slot_unique_name) ~= "string" then
      polarrun.raise("usage", "the instance of a replica call needs custins_id and slot_unique_name: " .. json.encode(ins))
    end
    return {kind = kind, custins_id = ins.custins_id, slot_unique_name = ins.slot_unique_name}
  end

  --- This pod's entry of cluster_custins_info (spec 2.3), as the original's get_inst_attr:
  --- cluster_custins_info[service_type][cust_ins_id]; for a standby cluster's nodes, under
  --- polardb_mpd_standby/<id>/<rw|ro>/cust_ins_id.
  function v.instance()
    local cci, st, id = v.json.cluster_custins_info, v.need("service_type"), v.need("cust_ins_id")
    if type(cci) ~= "table" or next(cci) == nil then polarrun.raise("usage", "cluster_custins_info is missing or empty") end
    local found = type(cci[st]) == "table" and cci[st][id]
    if not found then
      for _, cluster in pairs(type(cci.polardb_mpd_standby) == "table" and cci.polardb_mpd_standby or {}) do
        for _, sub in ipairs({"polardb_mpd_rw", "polardb_mpd_ro"}) do
          if type(cluster) == "table" and type(cluster[sub]) == "table" and cluster[sub][id] then found = cluster[sub][id] end
        end
      end
    end
    if type(found) ~= "table" then
      polarrun.raise("usage", "cluster_custins_info has no " .. st .. " instance " .. id)
    end
    return found
  end

  --- The shared disk's name for grow_pfs from pbd_list[0].engine_type (spec 4.8): pangu ->
  --- pbd_name; san -> mapper_<vol> from san_device_name (spec 4.7 step 5); else <pbd_number>-<data_version>.
  function v.disk_name()
    local list = v.instance().pbd_list
    local pbd = type(list) == "table" and list[1]
    if type(pbd) ~= "table" then polarrun.raise("usage", "cluster_custins_info: this instance has no pbd_list") end
    if pbd.engine_type == "pangu" then
      if type(pbd.pbd_name) ~= "string" or pbd.pbd_name == "" then polarrun.raise("usage", "pbd_list[0] (pangu) has no pbd_name") end
      return pbd.pbd_name
    elseif pbd.engine_type == "san" then
      return v.san_disk()
    end
    if pbd.pbd_number == nil or pbd.data_version == nil then
      polarrun.raise("usage", "pbd_list[0] has no pbd_number / data_version")
    end
    return string.format("%s-%s", math.tointeger(pbd.pbd_number) or pbd.pbd_number, math.tointeger(pbd.data_version) or pbd.data_version)
  end

  --- san_device_name /dev/<a>/<b> -> <a>_<b> (e.g. /dev/mapper/vol1 -> mapper_vol1).
  function v.san_disk()
    local dev = (v.need("san_device_name")):match("^%s*(.-)%s*$")
    local rest = dev:match("^/dev/(.+)$")
    if not rest or rest:match("^/") or rest:match("/$") then
      polarrun.raise("usage", "san_device_name must be a device path /dev/..., got '" .. dev .. "'")
    end
    return (rest:gsub("/", "_"))
  end

  return v
end

return M
