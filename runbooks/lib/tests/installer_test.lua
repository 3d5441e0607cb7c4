-- Unit tests for lib/installer.lua's pure parts: the plan of an install and its default pg_hba.conf.
local installer = require("installer")

test("plan strips trailing slashes and puts the marker and work directory in pgdata", function()
  local ins = installer.plan({pgdata = "/data/", db_user = "postgres"})
  assert(ins.pgdata == "/data" and ins.marker == "/data/polarrun_installed" and ins.work == "/data/.polarrun_install")
end)

test("plan refuses a mycnf_dict that is not an object", function()
  local ok, err = pcall(installer.plan, {pgdata = "/data", mycnf_dict = {"a"}})
  assert(not ok and err.kind == "usage" and tostring(err):find("mycnf_dict"), tostring(err))
  assert(installer.plan({pgdata = "/data", mycnf_dict = {}}))
end)

test("the default pg_hba.conf trusts the socket and asks md5 over TCP", function()
  assert(installer.DEFAULT_HBA:find("local   all          all                 trust", 1, true))
  assert(installer.DEFAULT_HBA:find("host    replication  all   ::/0          md5", 1, true))
end)
