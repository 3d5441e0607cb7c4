-- Unit tests for lib/imagename.lua (image reference parsing).
local n = require("imagename")

test("registry, path and tag are split", function()
  local r = n.parse("reg.example:5000/polardb/pg:15.1")
  assert(r.registry == "reg.example:5000", r.registry)
  assert(r.path == "polardb/pg" and r.tag == "15.1")
  assert(r.name == "reg.example:5000/polardb/pg", r.name)
end)

test("a name without a registry keeps the first component in the path", function()
  local r = n.parse("polardb/pg")
  assert(r.registry == nil and r.path == "polardb/pg" and r.tag == nil)
end)

test("digests, white space, uppercase and empty components are refused", function()
  for _, bad in ipairs({"pg@sha256:abc", "pg 15", "PolarDB/pg", "a//b", ""}) do
    local r, why = n.parse(bad)
    assert(r == nil and type(why) == "string", "accepted: " .. bad)
  end
end)

test("a bad tag is named in the message", function()
  local _, why = n.parse("pg:-bad")
  assert(why:find("tag '%-bad'"), why)
end)
