-- stack_vars: the variables PolarDB Stack sets (`srv_opr_type='..' ... python /docker_script/entry_point.py`),
-- read from the environment, checked and turned into runbook inputs for runbooks/stack.lua.
--
--   local v = require("stack_vars").load()
--   v.get("srv_opr_user_name")          -- nil when unset or empty
--   v.need("srv_opr_user_name")         -- usage error naming the Stack variable when missing
--   v.json.cluster_custins_info         -- decoded JSON (every JSON variable is decoded up front)
--   v.port()                            -- access_port[0] of srv_opr_host_ip

local M = {}

-- Variables holding JSON: malformed JSON in any of them fails the action before anything runs.
M.json_vars = {"srv_opr_host_ip", "cluster_custins_info", "mycnf_dict", "params", "port"}
-- Variables holding secrets (json_decode masks password-like keys inside JSON by itself).
M.secret_vars = {"srv_opr_password", "password"}

function M.load()
  local v = {json = {}}
  for _, name in ipairs(M.secret_vars) do
    local s = env(name)
    if s and s ~= "" then secret(s) end
  end
  for _, name in ipairs(M.json_vars) do
    local text = env(name)
    if text and text:match("%S") then
      local ok, val = pcall(json_decode, text)
      if not ok then
        raise("usage", string.format("%s is not valid JSON: %s", name, tostring(val)))
      end
      v.json[name] = val
    end
  end

  function v.get(name)
    local s = env(name)
    if s == nil or s == "" then return nil end
    return s
  end

  function v.need(name)
    local s = v.get(name)
    if not s then raise("usage", "the Stack variable " .. name .. " is missing") end
    return s
  end

  --- access_port[0] of srv_opr_host_ip (the port of this pod's postgres), or nil.
  --- Install sends no srv_opr_host_ip but the ConfigMap's `port` ({"<ins_id>": {...}}, §4.7 step 7).
  function v.port()
    local hip = v.json.srv_opr_host_ip
    if hip == nil and type(v.json.port) == "table" and v.get("ins_id") then
      hip = v.json.port[v.get("ins_id")]
      if hip == nil then raise("usage", "port has no entry for ins_id " .. v.get("ins_id") .. ": " .. json_encode(v.json.port)) end
    end
    if hip == nil then return nil end
    local ap = type(hip) == "table" and hip.access_port
    local port = type(ap) == "table" and ap[1] or nil
    port = tonumber(port)
    if not port or port ~= math.floor(port) or port < 1 or port > 65535 then
      raise("usage", "srv_opr_host_ip has no valid access_port[0]: " .. json_encode(hip))
    end
    return math.tointeger(port)
  end

  --- The object of the parameters to merge: `params`, else `mycnf_dict`.
  function v.conf_params()
    local t = v.json.params or v.json.mycnf_dict
    if t == nil then raise("usage", "update_conf needs params or mycnf_dict") end
    if type(t) ~= "table" or (next(t) ~= nil and #t > 0) then
      raise("usage", "params / mycnf_dict must be a JSON object of name -> value")
    end
    return t
  end

  --- replica (RO node, synchronous) or standby (standby cluster, asynchronous), from service_type.
  function v.slot_kind()
    local st = (v.get("service_type") or ""):lower()
    return st:find("standby", 1, true) and "standby" or "replica"
  end

  --- The shared disk's name for grow_pfs, found in cluster_custins_info: a `disk_name` /
  --- `pfs_disk_name` key, else a `volume_name` / `volume_id` as `mapper_<volume>` (SAN).
  function v.disk_name()
    local found = {}
    local function walk(t, depth)
      if type(t) ~= "table" or depth > 8 then return end
      for k, x in pairs(t) do
        if type(x) == "string" and x ~= "" and type(k) == "string" then
          local key = k:lower()
          if key == "disk_name" or key == "pfs_disk_name" then found.disk = found.disk or x
          elseif key == "volume_name" or key == "volume_id" or key == "volume" then found.volume = found.volume or x end
        end
        walk(x, depth + 1)
      end
    end
    walk(v.json.cluster_custins_info, 0)
    if found.disk then return found.disk end
    if found.volume then
      return found.volume:match("^mapper_") and found.volume or ("mapper_" .. found.volume)
    end
    raise("usage", "cluster_custins_info names no disk (disk_name, pfs_disk_name, volume_name or volume_id)")
  end

  return v
end

return M
