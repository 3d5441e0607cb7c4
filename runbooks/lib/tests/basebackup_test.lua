-- Unit tests for lib/basebackup.lua's pure parts: the target's paths and the manifest summary.
local basebackup = require("basebackup")

local function kind_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  return err.kind, tostring(err)
end

test("target_paths splits the target and names its incomplete marker", function()
  local t = basebackup.target_paths({target = "/backups/b1/", pgdata = "/data"})
  assert(t.target == "/backups/b1" and t.parent == "/backups" and t.base == "b1", t.target)
  assert(t.marker == "/backups/b1.polarrun-incomplete")
  assert(basebackup.target_paths({target = "/b1", pgdata = "/data"}).parent == "/")
end)

test("target_paths refuses a relative target, one inside pgdata, and a bad max_rate", function()
  local k, msg = kind_of(basebackup.target_paths, {target = "rel", pgdata = "/data"})
  assert(k == "usage" and msg:find("absolute path"), msg)
  k, msg = kind_of(basebackup.target_paths, {target = "/data/backup", pgdata = "/data/"})
  assert(k == "usage" and msg:find("inside the data directory"), msg)
  k, msg = kind_of(basebackup.target_paths, {target = "/b", pgdata = "/data", max_rate = "fast"})
  assert(k == "usage" and msg:find("max_rate"), msg)
end)

test("summary reads the WAL range, files and bytes; no WAL range is an error", function()
  local s = basebackup.summary({["WAL-Ranges"] = {{["Start-LSN"] = "0/2000028", ["End-LSN"] = "0/2000100", Timeline = 1},
                                                  {["Start-LSN"] = "0/3000000", ["End-LSN"] = "0/3000200", Timeline = 2}},
                                Files = {{Size = 10}, {Size = 32}}}, "/b")
  assert(s.start_lsn == "0/2000028" and s.end_lsn == "0/3000200" and s.timeline == 2)
  assert(s.files == 2 and s.bytes == 42)
  local k = kind_of(basebackup.summary, {Files = {}}, "/b")
  assert(k == "backup")
end)
