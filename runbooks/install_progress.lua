-- install_progress: how far setup_install_instance is (PolarDB Stack's query_installation_progress)
--
-- Stack-Common's CheckInstallIsReady looks in stdout for the text between the first and the
-- last literal `\u0001` (six characters, as its Go source writes "\\u0001"), reads it as JSON
-- and expects status running | succeed | failed with a message. The state comes from the pod:
--   succeed  <pgdata>/polarrun_installed exists (install finished; the supervisor starts it)
--   failed   <log_dir>/polarrun_install.failed exists (written by stack.lua when install fails;
--            the message is its first line)
--   running  otherwise (an install in progress, or none started yet)
local si = require("stack_install")
local p = require("instance").inputs {}
local status, message
if fs.exists(p.pgdata .. "/" .. si.marker) then
  status, message = "succeed", "installed"
elseif fs.exists(p.log_dir .. "/" .. si.failed) then
  status = "failed"
  message = ((fs.read(p.log_dir .. "/" .. si.failed) or ""):match("[^\n]+") or "install failed")
elseif fs.exists(p.pgdata .. "/" .. si.work) then
  status, message = "running", "installing"
else
  status, message = "running", "not started"
end
log.info("installation progress: " .. status .. " (" .. message .. ")")
print("\\u0001" .. json.encode({status = status, message = message}) .. "\\u0001")
return {status = status, message = message}
