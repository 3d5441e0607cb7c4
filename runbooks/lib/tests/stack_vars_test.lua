-- Unit tests for lib/stack_vars.lua: Stack variables are read with proc.env(); with_env sets them per case.
local sv = require("stack_vars")

test("JSON variables are decoded and get() returns plain ones", function()
  with_env({srv_opr_user_name = "app", cluster_custins_info = '{"a": 1}', srv_opr_host_ip = false}, function()
    local v = sv.load()
    assert(v.get("srv_opr_user_name") == "app")
    assert(v.json.cluster_custins_info.a == 1)
  end)
end)

test("an empty cluster_custins_info (\"\") reads as {}", function()
  with_env({cluster_custins_info = '""'}, function()
    local v = sv.load()
    assert(next(v.json.cluster_custins_info) == nil)
  end)
end)

test("malformed JSON fails naming the variable", function()
  with_env({mycnf_dict = "{not json"}, function()
    local ok, err = pcall(sv.load)
    assert(not ok and tostring(err):find("mycnf_dict"), tostring(err))
  end)
end)

test("with_env restores the previous value", function()
  with_env({srv_opr_user_name = "x"}, function() end)
  assert(proc.env("srv_opr_user_name") == nil)
end)
