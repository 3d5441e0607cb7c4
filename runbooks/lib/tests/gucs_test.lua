-- Unit tests for lib/gucs.lua (refresh_params's mechanics): the input's shape and the validation
-- against a server's settings, given as a facts table, and facts read from the test cluster.
local gucs = require("gucs")

local function refused(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  return err
end

local function facts(extra)
  local f = {
    settings = {
      work_mem = {name = "work_mem", vartype = "integer", unit = "kB", min_val = "64", max_val = "2147483647", context = "user"},
      log_connections = {name = "log_connections", vartype = "bool", unit = sql.null, context = "sighup"},
      wal_level = {name = "wal_level", vartype = "enum", unit = sql.null, context = "postmaster",
                   enumvals = '["minimal","replica","logical"]'},
      block_size = {name = "block_size", vartype = "integer", unit = sql.null, context = "internal"},
      ["pg_stat_statements.max"] = {name = "pg_stat_statements.max", vartype = "integer", unit = sql.null, context = "postmaster"},
    },
    pkglibdir = "/nowhere",
    library_exists = function(lib) return lib == "auto_explain" end,
    memory = function() return nil end,
    huge_pages = function() return 0 end,
  }
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end

test("parse lowercases names, sorts them and turns booleans and numbers into text", function()
  local wanted, names = gucs.parse({Work_Mem = 4096, log_connections = true, x = 1.5})
  assert(table.concat(names, ",") == "log_connections,work_mem,x", table.concat(names, ","))
  assert(wanted.work_mem.raw == "4096" and wanted.log_connections.raw == "on" and wanted.x.raw == "1.5")
end)

test("parse refuses bad names, arrays, nested values and line breaks with exit-2 errors", function()
  assert(refused(gucs.parse, {["bad name"] = "1"}).kind == "usage")
  assert(refused(gucs.parse, {"a", "b"}):find("JSON object"))
  assert(refused(gucs.parse, {work_mem = {1}}):find("must be a string, number or boolean"))
  assert(refused(gucs.parse, {work_mem = "1\n2"}):find("line break"))
  assert(refused(gucs.parse, {work_mem = "1", WORK_MEM = "2"}):find("given twice"))
end)

test("validate accepts good values and keeps whether they were quoted", function()
  local wanted, names = gucs.parse({work_mem = "16MB", log_connections = "'on'", wal_level = "replica"})
  local problems = gucs.validate(wanted, names, facts())
  assert(#problems == 0, table.concat(problems, "; "))
  assert(wanted.log_connections.value == "on" and wanted.log_connections.quoted == true)
  assert(wanted.work_mem.value == "16MB" and wanted.work_mem.quoted == false)
end)

test("validate names each problem: type, enum, internal, unknown, extension prefix", function()
  local wanted, names = gucs.parse({work_mem = "lots", log_connections = "maybe", wal_level = "archive",
                                    block_size = "16384", nonsense = "1", ["pg_stat_statements.nope"] = "1",
                                    ["foo.bar"] = "1", ["auto_explain.log_min_duration"] = "1s"})
  local problems = table.concat(gucs.validate(wanted, names, facts()), "\n")
  assert(problems:find("work_mem = lots: is not a number", 1, true), problems)
  assert(problems:find("log_connections = maybe: is not a boolean", 1, true), problems)
  assert(problems:find("wal_level = archive: must be one of: minimal, replica, logical", 1, true), problems)
  assert(problems:find("block_size = 16384: cannot be changed (internal)", 1, true), problems)
  assert(problems:find("nonsense = 1: unknown parameter", 1, true), problems)
  assert(problems:find("extension 'pg_stat_statements' is loaded and defines no such setting", 1, true), problems)
  assert(problems:find("this engine has no extension 'foo'", 1, true), problems)
  assert(not problems:find("auto_explain", 1, true), "a loadable extension's setting is a placeholder")
  assert(wanted["auto_explain.log_min_duration"].custom)
end)

test("validate refuses what would stop the next start, and masks secret values", function()
  local f = facts()
  f.settings.shared_buffers = {name = "shared_buffers", vartype = "integer", unit = "8kB", min_val = "16", max_val = "1073741823",
                               context = "postmaster"}
  f.settings.shared_preload_libraries = {name = "shared_preload_libraries", vartype = "string", unit = sql.null, context = "postmaster"}
  f.settings.huge_pages = {name = "huge_pages", vartype = "enum", unit = sql.null, context = "postmaster", enumvals = '["off","on","try"]'}
  f.settings.my_password = {name = "my_password", vartype = "integer", unit = sql.null, context = "user"}
  f.memory = function() return 1024 * 1024 * 1024 end
  local wanted, names = gucs.parse({shared_buffers = "2GB", shared_preload_libraries = "auto_explain,missing_lib",
                                    huge_pages = "on", my_password = "hunter2"})
  local problems = table.concat(gucs.validate(wanted, names, f), "\n")
  assert(problems:find("shared_buffers = 2GB: is 2048 MiB but this machine can give 1024 MiB", 1, true), problems)
  assert(problems:find("library 'missing_lib' is not in this engine", 1, true), problems)
  assert(problems:find("huge_pages = on: is on but this machine has no huge pages", 1, true), problems)
  assert(problems:find("my_password = ******", 1, true) and not problems:find("hunter2"), problems)
end)

test("changes keep a quoted value as given and undo lists the refused ones", function()
  local wanted, names = gucs.parse({work_mem = "16MB", log_connections = "'on'"})
  gucs.validate(wanted, names, facts())
  local c = gucs.changes(wanted, names)
  assert(c.work_mem == "16MB" and c.log_connections == "'on'")
  local undo = gucs.undo({work_mem = {status = "rejected"}, log_connections = {status = "applied"}}, {})
  assert(undo.work_mem == sql.null and undo.log_connections == nil)
  assert(gucs.undo({work_mem = {status = "applied"}}, {}) == nil)
end)

test("facts from the test cluster know work_mem and validate a real value", function()
  local f = gucs.facts({host = cluster.pgdata, port = cluster.port})
  assert(f.settings.work_mem and f.settings.work_mem.unit == "kB")
  local wanted, names = gucs.parse({work_mem = "8MB"})
  assert(#gucs.validate(wanted, names, f) == 0)
end)
