/// Lua run in each test file's state before the file: `test`, `with_env`, a positioned
/// `assert`, and `run_cases` (called by the harness after the file has registered its cases).
/// The `_test_*` host functions are captured here and removed from `_G`.
let testPrelude = #"""
local report, swap_env = _test_report, _test_swap_env
_test_report, _test_swap_env = nil, nil
cluster = _test_cluster
_test_cluster = nil

local cases = {}

--- test(name, fn): registers a case; cases run in file order after the file has loaded.
function test(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("test(name, fn): a string and a function are expected", 2)
  end
  cases[#cases + 1] = {name = name, fn = fn}
end

-- Lua's assert has no position ("assertion failed!"): this one names the test's file:line.
function assert(v, msg, ...)
  if not v then error(msg == nil and "assertion failed!" or msg, 2) end
  return v, msg, ...
end

--- with_env({NAME = "value" | false}, fn): proc.env() sees these (false: unset) while fn runs.
function with_env(vars, fn)
  local old = swap_env(vars)
  local ok, err = pcall(fn)
  swap_env(old)
  if not ok then error(err, 0) end
end

function _test_run_cases()
  for _, c in ipairs(cases) do
    local ok, err = pcall(c.fn)
    report(c.name, ok, not ok and tostring(err) or nil, type(err) == "table" and err.kind or nil)
  end
  return #cases
end
"""#
