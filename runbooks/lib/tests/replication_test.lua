-- Unit tests for lib/replication.lua's synchronous_standby_names parser (polarrun test --no-cluster).
local r = require("replication")

local function names(spec)
  local out = {}
  for _, it in ipairs(spec.names) do out[#out + 1] = it.name end
  return table.concat(out, ",")
end

test("an empty value means no synchronous standbys", function()
  assert(r.parse_sync("") == nil)
  assert(r.parse_sync("   ") == nil)
  assert(r.parse_sync(nil) == nil)
end)

test("a plain list is FIRST 1", function()
  local s = r.parse_sync("a, b")
  assert(s.method == "FIRST" and s.num == 1, s.method .. " " .. s.num)
  assert(names(s) == "a,b", names(s))
end)

test("ANY 2 (...) keeps method and count", function()
  local s = r.parse_sync("any 2 (s1, \"S 2\")")
  assert(s.method == "ANY" and s.num == 2)
  assert(names(s) == "s1,S 2", names(s))
end)

test("a method and count without a parenthesised list is refused", function()
  local ok, err = pcall(r.parse_sync, "FIRST 2 a, b")
  assert(not ok and tostring(err):find("cannot parse"), tostring(err))
end)

test("sync_add then sync_remove round-trips", function()
  local v = r.sync_add("FIRST 1 (a)", "b")
  assert(names(r.parse_sync(v)) == "a,b", v)
  assert(names(r.parse_sync(r.sync_remove(v, "A"))) == "b", "names compare case-insensitively")
end)
