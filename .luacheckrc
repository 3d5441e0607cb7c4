-- luacheck (Debian's lua-check) over runbooks/: the globals are polarrun's, nothing else.
std = "lua54"
-- The globals and their fields come from the primitives' declarations: refresh with
-- `polarrun --docs .luacheckrc` (DeclarationTests fails when this block is stale).
-- generated:globals begin
read_globals = {
  sql = {fields = {
    connect = {},
    null = {},
    quote_ident = {},
    quote_literal = {},
  }},
  conf_set = {},
  conf = {fields = {
    get = {},
    lock = {},
    unquote = {},
  }},
  pg_ctl = {fields = {
    bin = {},
  }},
  lock_file = {},
  fs = {fields = {
    copy = {},
    exists = {},
    flock = {},
    free_bytes = {},
    is_dir = {},
    list = {},
    mkdir = {},
    read = {},
    remove = {},
    stat = {},
    symlink = {},
    temp_dir = {},
    unlock_file = {},
    write = {},
    write_in_place = {},
  }},
  proc = {fields = {
    env = {},
    group = {},
    run = {},
    spawn = {},
    terminating = {},
    trap_termination = {},
    user = {},
    wait_any = {},
  }},
  git_clone = {},
  docker_build = {},
  push = {},
  json = {fields = {
    decode = {},
    encode = {},
    null = {},
  }},
  yaml = {fields = {
    load = {},
  }},
  log = {fields = {
    console = {},
    debug = {},
    error = {},
    file = {},
    info = {},
    warn = {},
  }},
  polarrun = {fields = {
    call = {},
    defaults = {fields = {bindir = {}, connect_timeout = {}, db_user = {}, dbname = {}, lock_name = {}, log_dir = {}, pgdata = {}, port = {}, role = {}}},
    dry_run = {},
    executable = {},
    inputs = {},
    is_root = {},
    json = {},
    now = {},
    params = {read_only = false, other_fields = true},
    raise = {},
    run_id = {},
    runbook_dir = {},
    runbooks_dir = {},
    secret = {},
    sleep = {},
    version = {},
    wait_until = {},
    would = {},
  }},
}
-- generated:globals end
-- the editor stubs define the globals; they are not a runbook
exclude_files = {"**/.types/**"}
-- `polarrun test` files also see the harness's functions
files["**/*_test.lua"] = {read_globals = {"test", "with_env", "cluster"}}
-- `not (x > y)` is how the runbooks reject NaN as well as small numbers
-- and a lock held in a `<close>` variable is used by holding it to the end of its scope
ignore = {"581", "211/.*lock", "211/lk", "211/l"}
max_line_length = false
