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

test("install makes a working instance once, and a second run leaves it as it is", function()
  local base = fs.temp_dir("install")
  proc.run({"chmod", "0755", base}, {quiet = true})      -- the database OS user walks through it
  local pgdata, logs = base .. "/data", base .. "/log"
  local port = cluster.port + 17
  local args = {pgdata = pgdata, port = port, log_dir = logs, bindir = cluster.bin, hba_override = base .. "/none",
                template = base .. "/none.sample", mycnf_dict = {work_mem = "'8MB'"}}
  local ok, err = pcall(polarrun.call, "install", args)
  assert(not ok and err.kind == "usage" and tostring(err):find("cannot read the config template"), tostring(err))
  assert(#fs.list(pgdata) == 1 and fs.exists(pgdata .. "/.polarrun.lock"), "a refused install changes nothing")
  args.template = nil
  local r = polarrun.call("install", args)
  assert(r.installed == true and r.pgdata == pgdata)
  assert(fs.exists(pgdata .. "/polarrun_installed") and not fs.exists(pgdata .. "/.polarrun_install"))
  assert(conf.get(pgdata .. "/postgresql.conf", "port") == tostring(port))
  assert(conf.get(pgdata .. "/postgresql.conf", "work_mem") == "8MB")
  assert(fs.read(pgdata .. "/pg_hba.conf") == installer.DEFAULT_HBA)
  assert(fs.stat(logs .. "/pg_log"), "the /log/pg_log link")
  assert(polarrun.call("install", args).installed == false)
  polarrun.call("start", {pgdata = pgdata, port = port, bindir = cluster.bin, log_dir = logs})
  local rows = sql("select current_setting('work_mem') as w", {}, {host = pgdata, port = port})
  assert(rows[1].w == "8MB", rows[1].w)
  polarrun.call("stop", {pgdata = pgdata, port = port, bindir = cluster.bin, log_dir = logs})
  fs.remove(base, {recursive = true})
end)
