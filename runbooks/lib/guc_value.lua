-- guc_value: parsing postgresql.conf parameter values (booleans, numbers with units), as
-- refresh_params validates them against pg_settings. Kept here so it has unit tests. Quoting is
-- conf.unquote's (the host's one copy of how PostgreSQL reads a quoted value).
local M = {}

M.bools = {}
local bools = M.bools
for _, w in ipairs({"true", "false", "yes", "no"}) do
  for n = 1, #w do bools[w:sub(1, n)] = true end
end
bools.on, bools.off, bools.of, bools["1"], bools["0"] = true, true, true, true, true

M.mem = {B = 1, kB = 1024, MB = 1024^2, GB = 1024^3, TB = 1024^4}
local mem = M.mem
local time = {us = 0.001, ms = 1, s = 1000, min = 60000, h = 3600000, d = 86400000}

--- numeric(v, s): v in the parameter's base unit (s: its pg_settings row), or nil and why.
function M.numeric(v, s)
  local num, unit = v:match("^%s*([%+%-]?[%d%.]+[eE]?[%+%-]?%d*)%s*(%a*)%s*$")
  local n
  if not num then
    local hex = v:match("^%s*0[xX](%x+)%s*$")
    if hex then n, unit = tonumber(hex, 16), "" else return nil, "is not a number" end
  else
    n = tonumber(num)
  end
  if not n then return nil, "is not a number" end
  if unit ~= "" then
    if s.unit == sql.null then return nil, "takes no unit" end
    local bnum, bunit = s.unit:match("^(%d*)(%a+)$")
    local base = tonumber(bnum ~= "" and bnum or "1")
    local family = mem[bunit] and mem or time[bunit] and time or nil
    if not family then return nil, "has an unknown unit" end
    if not family[unit] then
      local valid = {}
      for u in pairs(family) do valid[#valid + 1] = u end
      table.sort(valid)
      return nil, "has unit '" .. unit .. "'; valid units for this parameter: " .. table.concat(valid, ", ")
    end
    n = n * family[unit] / (family[bunit] * base)
  end
  if s.vartype == "integer" then n = math.floor(n + 0.5) end
  local lo, hi = tonumber(s.min_val), tonumber(s.max_val)
  if lo and n < lo or hi and n > hi then
    return nil, string.format("is out of range %s .. %s%s", s.min_val, s.max_val, s.unit ~= sql.null and (" " .. s.unit) or "")
  end
  return n
end

return M
