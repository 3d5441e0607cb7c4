-- Unit tests for lib/guc_value.lua and conf.unquote: the GUC value parser refresh_params validates with.
local g = require("guc_value")

local work_mem = {unit = "kB", vartype = "integer", min_val = "64", max_val = "2147483647"}
local timeout = {unit = "ms", vartype = "integer", min_val = "0", max_val = "2147483647"}

test("conf.unquote: quoted values lose their quotes and unescape as PostgreSQL reads them", function()
  local v, quoted = conf.unquote("'it''s\\n'")
  assert(v == "it's\n" and quoted == true, v)
  assert(conf.unquote("'a\\101\\tb\\q'") == "aA\tbq")
  local plain, q = conf.unquote("16MB")
  assert(plain == "16MB" and q == false)
end)

test("conf.unquote: a lone quote inside is malformed", function()
  local v, why = conf.unquote("'a'b'")
  assert(v == nil and why:find("malformed"), why)
end)

test("memory and time units convert to the base unit", function()
  assert(g.numeric("16MB", work_mem) == 16384)
  assert(g.numeric("1min", timeout) == 60000)
  assert(g.numeric("0x100", work_mem) == 256)
end)

test("bad numbers, units and ranges are explained", function()
  local _, why = g.numeric("lots", work_mem)
  assert(why == "is not a number", why)
  _, why = g.numeric("5s", work_mem)
  assert(why:find("valid units for this parameter: B, GB, MB, TB, kB"), why)
  _, why = g.numeric("1kB", work_mem)
  assert(why:find("out of range 64 .. 2147483647 kB"), why)
  _, why = g.numeric("5MB", {unit = sql.null, vartype = "integer"})
  assert(why == "takes no unit", why)
end)

test("boolean spellings PostgreSQL accepts", function()
  for _, b in ipairs({"on", "off", "t", "fals", "y", "1", "0"}) do assert(g.bools[b], b) end
  assert(not g.bools["maybe"])
end)
