-- init_sysctl: kernel settings for a database host (PolarDB Stack's update_conf/init_sysctl)
--
-- Checklist:
--   1. mem_size (KiB) is a positive integer
--   2. write /etc/sysctl.conf: the original's fixed settings, plus huge pages from 64 GiB and
--      free-memory reserves from 128 GiB (the original lost these: spec 10.3)
--   3. `sysctl -p`; its failure is this action's failure (a container without the right to
--      change kernel settings says so on stderr)
local p = polarrun.inputs {
  mem_size = {type = "integer", required = true, desc = "the host's memory in KiB"},
  file = {type = "string", default = "/etc/sysctl.conf"},
}
if p.mem_size <= 0 then polarrun.raise("usage", "mem_size must be a positive number of KiB") end
local settings = {
  {"fs.aio-max-nr", "1048576"}, {"fs.file-max", "76724600"}, {"fs.nr_open", "20480000"},
  {"net.core.netdev_max_backlog", "10000"}, {"net.core.rmem_default", "262144"}, {"net.core.rmem_max", "4194304"},
  {"net.core.wmem_default", "262144"}, {"net.core.wmem_max", "4194304"}, {"net.core.somaxconn", "4096"},
  {"net.ipv4.tcp_max_syn_backlog", "4096"}, {"net.ipv4.tcp_keepalive_intvl", "20"},
  {"net.ipv4.tcp_keepalive_probes", "3"}, {"net.ipv4.tcp_keepalive_time", "60"},
  {"net.ipv4.tcp_mem", "8388608 12582912 16777216"}, {"net.ipv4.tcp_fin_timeout", "5"},
  {"net.ipv4.tcp_synack_retries", "2"}, {"net.ipv4.tcp_syncookies", "1"}, {"net.ipv4.tcp_timestamps", "1"},
  {"net.ipv4.tcp_tw_reuse", "1"}, {"net.ipv4.tcp_max_tw_buckets", "262144"},
  {"net.ipv4.tcp_rmem", "8192 87380 16777216"}, {"net.ipv4.tcp_wmem", "8192 65536 16777216"},
  {"net.ipv4.ip_local_port_range", "40000 65535"},
  {"vm.dirty_background_bytes", "409600000"}, {"vm.dirty_expire_centisecs", "3000"}, {"vm.dirty_ratio", "95"},
  {"vm.dirty_writeback_centisecs", "100"}, {"vm.mmap_min_addr", "65536"}, {"vm.overcommit_memory", "0"},
  {"vm.overcommit_ratio", "90"}, {"vm.swappiness", "0"}, {"vm.zone_reclaim_mode", "0"},
}
if p.mem_size >= 67108864 then
  settings[#settings + 1] = {"vm.nr_hugepages", "66536"}
  settings[#settings + 1] = {"vm.lowmem_reserve_ratio", "1 1 1"}
end
if p.mem_size >= 134217728 then
  settings[#settings + 1] = {"vm.extra_free_kbytes", "4096000"}
  settings[#settings + 1] = {"vm.min_free_kbytes", "2097152"}
end
local lines = {"# written by polarrun init_sysctl (mem_size " .. p.mem_size .. " KiB)"}
for _, kv in ipairs(settings) do lines[#lines + 1] = kv[1] .. " = " .. kv[2] end
fs.write(p.file, table.concat(lines, "\n") .. "\n", {mode = "0644"})
log.info("wrote " .. p.file .. " (" .. #settings .. " settings)")
local ok, r = pcall(proc.run, {"sysctl", "-p", p.file}, {check = false})
if not ok then polarrun.raise("unsupported", "cannot run sysctl -p " .. p.file .. ": " .. tostring(type(r) == "table" and r.message or r)) end
if r.status ~= 0 then
  polarrun.raise("runtime", "sysctl -p " .. p.file .. " failed (" .. r.status .. "): " ..
    ((r.stderr or ""):match("[^\n]+") or "") .. " (the container may not change kernel settings)")
end
return {file = p.file, settings = #settings}
