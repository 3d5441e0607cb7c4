-- stack_install: the names shared by install.lua (which creates the instance) and
-- supervise.lua (which waits for it).

local M = {}

M.marker = "polarrun_installed"       -- written last by install, in the data directory
M.work = ".polarrun_install"          -- initdb runs here, inside the data directory, then moves up
M.failed = "polarrun_install.failed"   -- in the log directory: why the last install failed (query_installation_progress)

--- Whether the data directory holds an instance the supervisor may start: install finished
--- (the marker), or a cluster made another way (initdb, pg_basebackup, an older image) with no
--- install in progress.
function M.installed(pgdata)
  if fs.exists(pgdata .. "/" .. M.marker) then return true end
  return fs.exists(pgdata .. "/PG_VERSION") and not fs.exists(pgdata .. "/" .. M.work)
end

return M
