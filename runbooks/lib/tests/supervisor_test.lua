-- Unit tests for lib/supervisor.lua's decision on postgres's exit.
local supervisor = require("supervisor")

test("a locked instance waits whatever the exit status", function()
  assert(supervisor.after_exit(0, true) == "wait")
  assert(supervisor.after_exit(1, true) == "wait")
end)

test("a clean stop and a signal restart; any other status fails", function()
  assert(supervisor.after_exit(0, false) == "restart")
  assert(supervisor.after_exit(137, false) == "restart")
  assert(supervisor.after_exit(1, false) == "fail")
  assert(supervisor.after_exit(2, false) == "fail")
end)
