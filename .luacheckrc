-- luacheck (Debian's lua-check) over runbooks/: the globals are polarrun's, nothing else.
std = "lua54"
read_globals = {
  "sql", "conf_set", "conf", "pg_ctl", "lock_file", "git_clone", "docker_build", "push",
  "fs", "proc", "json", "yaml", "log", "polarrun",
}
-- `polarrun test` files also see the harness's functions
files["**/*_test.lua"] = {read_globals = {"test", "with_env", "cluster"}}
-- `not (x > y)` is how the runbooks reject NaN as well as small numbers
-- and a lock held in a `<close>` variable is used by holding it to the end of its scope
ignore = {"581", "211/.*lock", "211/lk", "211/l"}
max_line_length = false
