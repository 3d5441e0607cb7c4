-- Unit tests for lib/ha.lua (ha_switch) and lib/rejoin.lua (ha_rejoin): the input checks that
-- need no server, and the first checks against the test cluster (a primary, not a standby).
local ha = require("ha")
local rejoin = require("rejoin")

local function refused(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  return err.kind, tostring(err)
end

local function switch_params(extra)
  local p = {pgdata = cluster.pgdata, port = cluster.port, max_lag_bytes = 0, old_primary = "keep",
             target_user = "postgres", connect_timeout = 3}
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

test("ha.switch refuses bad inputs before any SQL, naming them", function()
  local k, msg = refused(ha.switch, switch_params({max_lag_bytes = -1}))
  assert(k == "usage" and msg:find("max_lag_bytes must be >= 0"), msg)
  k, msg = refused(ha.switch, switch_params({old_primary = "stop"}))
  assert(k == "usage" and msg:find("old_primary=stop needs primary_pgdata"), msg)
  k, msg = refused(ha.switch, switch_params({rejoin_slot = "Bad-Slot"}))
  assert(k == "usage" and msg:find("rejoin_slot"), msg)
  k, msg = refused(ha.switch, switch_params({pgdata = "/nonexistent"}))
  assert(k == "usage" and msg:find("not a data directory on this machine"), msg)
end)

test("ha.switch: a local target is reached on its socket; a remote one over TCP", function()
  local sw = ha.switch(switch_params())
  assert(sw.local_target and sw.target.host == cluster.pgdata and sw.name == cluster.pgdata .. ":" .. cluster.port)
  local remote = ha.switch(switch_params({target_host = "10.0.0.9", target_password = "pw-secret"}))
  assert(not remote.local_target and remote.target.host == "10.0.0.9" and remote.target.password == "pw-secret")
end)

test("ha.check_target refuses a primary: nothing is changed", function()
  local sw = ha.switch(switch_params())
  local k, msg = refused(ha.check_target, sw)
  assert(k == "refused" and msg:find("is not a standby"), msg)
end)

test("ha.rejoin_params hands the old primary to ha_rejoin with the new primary's address", function()
  local sw = ha.switch(switch_params({old_primary = "rejoin", primary_pgdata = cluster.pgdata, primary_port = 6000,
                                      rejoin_slot = "old_one"}))
  local r = ha.rejoin_params(sw)
  assert(r.pgdata == cluster.pgdata and r.port == 6000 and r.primary_host == cluster.pgdata)
  assert(r.primary_port == cluster.port and r.slot_name == "old_one")
end)

test("rejoin.plan checks the slot name and the data directory, and keeps the password out of argv", function()
  local base = {pgdata = cluster.pgdata, port = cluster.port, primary_host = "h", primary_port = 5433,
                primary_user = "postgres", connect_timeout = 3, db_user = "postgres"}
  local bad = {}
  for k, v in pairs(base) do bad[k] = v end
  bad.slot_name = "No Good"
  local k, msg = refused(rejoin.plan, bad)
  assert(k == "usage" and msg:find("slot_name may only contain"), msg)
  base.primary_password = "rejoin-secret"
  base.slot_name = "standby_1"
  local rj = rejoin.plan(base)
  assert(rj.appname == "standby_1" and rj.env.PGPASSWORD == "rejoin-secret")
  assert(rj.saved == cluster.pgdata:gsub("/+$", "") .. ".polarrun-rejoin-conf")
end)

test("rejoin.already_streaming is false for a primary", function()
  local rj = rejoin.plan({pgdata = cluster.pgdata, port = cluster.port, primary_host = "h", primary_port = 5433,
                          primary_user = "postgres", connect_timeout = 3, db_user = "postgres"})
  assert(rejoin.already_streaming(rj) == false and rj.running == true)
end)
