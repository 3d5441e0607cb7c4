-- logagent_config: the log agent's description of this pod (PolarDB Stack's setup_logagent_config)
--
-- Checklist:
--   1. every value is one line (an INI value cannot hold a newline)
--   2. <dir>/insinfo: an [insinfo] section with base_collect_path, pod_collect_path, ins_name,
--      port, container_mount_path, host_mount_path (the keys the original writes; a variable
--      the Stack does not send is written empty, not as the original's "None")
--   3. <dir>/insname: the instance name alone
-- Both files are written atomically; running it again rewrites them.
local p = polarrun.inputs {
  dir = {type = "string", default = "/home/pgsql/data", desc = "the log agent's data directory"},
  base_collect_path = {type = "string", default = ""},
  pod_collect_path = {type = "string", default = ""},
  ins_name = {type = "string", required = true, desc = "the instance's name (Stack: ins_name)"},
  port = {type = "string", default = "", desc = "the pod's access port (Stack: access_port)"},
  container_mount_path = {type = "string", default = ""},
  host_mount_path = {type = "string", default = ""},
}
local keys = {"base_collect_path", "pod_collect_path", "ins_name", "port", "container_mount_path", "host_mount_path"}
for _, k in ipairs(keys) do
  if p[k]:find("[\r\n]") then polarrun.raise("usage", k .. " must be one line") end
end
local lines = {"[insinfo]"}
for _, k in ipairs(keys) do lines[#lines + 1] = k .. "=" .. p[k] end
fs.mkdir(p.dir)
fs.write(p.dir .. "/insinfo", table.concat(lines, "\n") .. "\n", {mode = "0644"})
fs.write(p.dir .. "/insname", p.ins_name, {mode = "0644"})
log.info("log agent config written to " .. p.dir .. "/insinfo and insname (" .. p.ins_name .. ")")
return {dir = p.dir, ins_name = p.ins_name}
