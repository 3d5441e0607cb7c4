---@meta polarrun
-- polarrun's runbook API for editors (LuaLS, https://luals.github.io). Generated from the
-- primitives' declarations (Sources/PolarRun/API) by `polarrun --stubs DIR`: do not edit.
-- The reference is docs/primitives.md.

---SQL NULL and JSON null: one sentinel value (`sql.null == json.null`).
---@class polarrun.null

---An input declaration of `polarrun.inputs`.
---@class polarrun.InputSpec
---@field type? "string"|"integer"|"number"|"boolean"|"json"|"list" default string
---@field required? boolean
---@field default? any
---@field secret? boolean masked everywhere
---@field enum? any[] the allowed values
---@field desc? string shown by `polarrun --describe`

---What a finished `proc.spawn` child did.
---@class polarrun.ProcessResult
---@field status integer
---@field ok boolean
---@field stdout string
---@field stderr string
---@field elapsed number seconds
---@field timed_out boolean
---@field image? string docker_build/push handles: the image
---@field id? string docker_build handles: the image id
---@field digest? string push handles: the registry digest
---@field attempts? integer push handles: how many attempts
---@field error? string docker_build/push handles: why it failed (`ok = false`)

-- SQL

---Options of `sql`.
---@class polarrun.sql.opts
---@field host? string a host name, or a directory holding the unix socket (default `PGHOST`, `PGDATA`, `/data`)
---@field port? string|integer default `PGPORT`
---@field user? string default `PGUSER`, `postgres`
---@field dbname? string default `PGDATABASE`, `postgres`
---@field password? string masked in every log line and error
---@field connect_timeout? string|integer seconds (default 3)
---@field application_name? string default `polarrun`
---@field sslmode? string libpq's sslmode
---@field options? string libpq's options (`-c name=value`)
---@field timeout? number seconds for the statement; then it is cancelled (SQLSTATE 57014)

---Options of `sql.connect`.
---@class polarrun.sql.connect.opts
---@field host? string a host name, or a directory holding the unix socket (default `PGHOST`, `PGDATA`, `/data`)
---@field port? string|integer default `PGPORT`
---@field user? string default `PGUSER`, `postgres`
---@field dbname? string default `PGDATABASE`, `postgres`
---@field password? string masked in every log line and error
---@field connect_timeout? string|integer seconds (default 3)
---@field application_name? string default `polarrun`
---@field sslmode? string libpq's sslmode
---@field options? string libpq's options (`-c name=value`)

---SQL through libpq; `sql(...)` itself runs a statement.
---
---`sql(query, params?, opts?)`: Runs one statement with `$1, $2 …` parameters (never string-built SQL) on the run's cached connection for these options. Rows come back typed: integers, numbers, booleans, `sql.null` for SQL NULL, strings otherwise.
---
---```lua
---local rows = sql("select rolname from pg_roles where rolname = $1", {user})
---```
---@class polarrun.sql
---@field null polarrun.null SQL NULL (the same value as `json.null`)
---@overload fun(query: string, params?: any[], opts?: polarrun.sql.opts): table[]|{command: string, affected: integer}
sql = {}

---Opens a connection of its own (a handle with `:query(query, params?, {timeout=})` and `:close()`).
---
---Errors: `connect`: the server cannot be reached or refuses the login.
---
---```lua
---local c <close> = sql.connect{dbname = "app"}
---```
---@param opts? polarrun.sql.connect.opts options
---@return polarrun.Connection # the connection; `local c <close> = sql.connect{...}` closes it at the end of the scope
function sql.connect(opts) end

---Quotes an identifier for the rare DDL that cannot take parameters (role names).
---
---```lua
---sql("create role " .. sql.quote_ident(user) .. " login")
---```
---@param identifier string the name
---@return string # `"name"` with embedded quotes doubled
function sql.quote_ident(identifier) end

---Quotes a literal for DDL that cannot take parameters (`PASSWORD '...'`); uses `E'...'` when the text has backslashes, so it means the same whatever `standard_conforming_strings` is.
---
---```lua
---sql("alter role x password " .. sql.quote_literal(password))
---```
---@param literal string the text
---@return string # the quoted literal
function sql.quote_literal(literal) end


-- Configuration files

---Options of `conf.lock`.
---@class polarrun.conf.lock.opts
---@field timeout? number seconds to wait for another writer (default 60)

---Configuration files (`conf_set` is the verb that writes).
---@class polarrun.conf
conf = {}

---Edits a `postgresql.conf`-style file: the last active line of each name is rewritten in place (its comment kept), new names are appended, comments and order stay. Booleans become on/off, `sql.null` comments a setting out. Atomic, and serialized between processes by the lock file `.<file>.lock`.
---
---Errors: `usage`: an invalid name, a line break or NUL in a value (the file is untouched); `io`: the file does not exist; `lock`: another writer holds the file's lock for 60 s.
---
---```lua
---local changed = conf_set(pgdata .. "/postgresql.conf", {work_mem = "64MB", log_connections = true})
---```
---@param file string the configuration file
---@param settings table<string, string|number|boolean|polarrun.null> name = value
---@return string[] # the names that changed
function conf_set(file, settings) end

---Reads a `postgresql.conf`-style file: the unquoted value of one setting, or every active setting.
---
---Errors: `io`: the file does not exist.
---
---```lua
---local port = conf.get(pgdata .. "/postgresql.conf", "port")
---```
---@param file string the configuration file
---@param name? string the setting; absent: all of them
---@return string|table<string, string>|nil # the value (nil when not set), or a table of every active setting
function conf.get(file, name) end

---A value as PostgreSQL reads it from a configuration file — the code `conf.get` uses: a single-quoted value loses its quotes, `''` is `'`, `\n \t \r \b \f` and octal `\ooo` escapes are decoded; an unquoted value is returned as it is.
---
---```lua
---local v, quoted = conf.unquote("'it''s'")   -- "it's", true
---```
---@param value string the value as written in the file
---@return string? # the text; nil when a lone `'` sits inside the quotes
---@return boolean|string # whether it was quoted; the reason when the text is nil
function conf.unquote(value) end

---Holds the lock `conf_set` takes on a file (the lock file `.<file>.lock` beside it) until the handle is closed, for a runbook that reads and rewrites the file itself. `conf_set` on the same file inside it does not wait for its own run.
---
---Errors: `lock`: another writer holds it for `timeout` seconds; `io`: the lock file cannot be created.
---
---```lua
---local l <close> = conf.lock(pgdata .. "/postgresql.conf")
---```
---@param file string the configuration file
---@param opts? polarrun.conf.lock.opts options
---@return polarrun.Lock # close it (`<close>`) to release the lock
function conf.lock(file, opts) end


-- The engine

---Options of `pg_ctl`.
---@class polarrun.pg_ctl.opts
---@field pgdata? string the data directory (default `PGDATA`, `/data`)
---@field bindir? string where the engine's programs are (see `pg_ctl.bin`)
---@field user? string the database OS user (default `POLARRUN_DB_USER`, `postgres` as root)
---@field mode? "smart"|"fast"|"immediate" stop mode (default fast)
---@field timeout? integer seconds (default 60)
---@field wait? boolean false: start or stop signals and returns without waiting
---@field logfile? string the server's log file (start, restart)
---@field options? string server options (`-o`) for start and restart

---Options of `pg_ctl.bin`.
---@class polarrun.pg_ctl.bin.opts
---@field bindir? string look only here

---The engine's `pg_ctl`; `pg_ctl(...)` itself runs it.
---
---`pg_ctl(action, opts?)`: Starts, stops, restarts, reloads, promotes or asks the status of an instance with the engine's own `pg_ctl`, run as the database OS user when polarrun runs as root. Start of a running and stop of a stopped instance succeed with `changed = false`.
---
---```lua
---pg_ctl("reload", {pgdata = pgdata})
---```
---@class polarrun.pg_ctl
---@overload fun(action: "start"|"stop"|"restart"|"reload"|"promote"|"status", opts?: polarrun.pg_ctl.opts): {changed: boolean, running: boolean, output: string, pid: integer?}
pg_ctl = {}

---The path of an engine program: `bindir`, `POLARRUN_PG_BIN`, `/u01/polardb_pg/bin`, `PATH`, then the newest `/usr/lib/postgresql/*/bin`.
---
---Errors: `usage`: not found, or a path instead of a name.
---
---```lua
---local initdb = pg_ctl.bin("initdb")
---```
---@param name string a program name such as `initdb`
---@param opts? polarrun.pg_ctl.bin.opts options
---@return string # the program's path
function pg_ctl.bin(name, opts) end


-- Files and locks

---Options of `fs.write`.
---@class polarrun.fs.write.opts
---@field mode? string octal permissions such as "0644"
---@field owner? string an OS user name (needs root)

---Options of `fs.mkdir`.
---@class polarrun.fs.mkdir.opts
---@field mode? string octal permissions such as "0644"
---@field owner? string an OS user name (needs root)

---Options of `fs.remove`.
---@class polarrun.fs.remove.opts
---@field recursive? boolean needed for a directory

---Options of `fs.flock`.
---@class polarrun.fs.flock.opts
---@field timeout? number seconds to wait (default 600)
---@field shared? boolean a shared (reader) lock

---Files, instance lock markers and run locks.
---@class polarrun.fs
fs = {}

---Creates an instance lock marker such as `/data/ins_lock`, durably (fsync of the file and its directory).
---
---Errors: `io`: it cannot be written.
---
---```lua
---lock_file(pgdata .. "/../ins_lock")
---```
---@param path string the file
---@param content? string what the marker says (default: the run id and time)
---@return boolean # whether it was created (false: already there)
function lock_file(path, content) end

---Reads a whole file.
---
---Errors: `io`: it exists but cannot be read.
---
---```lua
---local text = fs.read("/etc/hostname")
---```
---@param path string the file
---@return string? # the content, nil when the file does not exist
---@return string? # why it is nil
function fs.read(path) end

---Writes a file atomically (temp file, fsync, rename, fsync of the directory).
---
---Errors: `io`: it cannot be written; `usage`: a bad mode or an unknown owner.
---
---```lua
---fs.write(dir .. "/standby.signal", "", {mode = "0600"})
---```
---@param path string the file
---@param content string the new content
---@param opts? polarrun.fs.write.opts options
function fs.write(path, content, opts) end

---Overwrites the bytes of an existing file of exactly that size, then fsyncs: no new blocks, so it works on a full disk. Not atomic: keep such files small.
---
---Errors: `io`: not an existing regular file; `usage`: the content's size differs from the file's.
---
---```lua
---fs.write_in_place(include, text .. string.rep(" ", size - #text))
---```
---@param path string the file
---@param content string exactly the file's size (pad it)
function fs.write_in_place(path, content) end

---Whether anything exists at the path.
---
---```lua
---if fs.exists(pgdata .. "/PG_VERSION") then ... end
---```
---@param path string the file
---@return boolean
function fs.exists(path) end

---Whether the path is a directory.
---
---```lua
---if not fs.is_dir(dir) then fs.mkdir(dir) end
---```
---@param path string the file
---@return boolean
function fs.is_dir(path) end

---What is at the path (a symbolic link itself, not its target).
---
---```lua
---local st = fs.stat(pgdata)
---```
---@param path string the file
---@return {type: string, size: integer, mode: integer, uid: integer, gid: integer, mtime: number}? # type is file, directory, link or other; nil when nothing is there
function fs.stat(path) end

---The names in a directory, sorted.
---
---Errors: `io`: no such directory or no access.
---
---```lua
---for _, name in ipairs(fs.list(dir)) do ... end
---```
---@param directory string the directory
---@return string[]
function fs.list(directory) end

---Creates a directory and its parents.
---
---Errors: `io`; `usage`: a bad mode or an unknown owner.
---
---```lua
---fs.mkdir("/log/pg_log", {mode = "0700", owner = "postgres"})
---```
---@param path string the file
---@param opts? polarrun.fs.mkdir.opts options
function fs.mkdir(path, opts) end

---Removes a file, or a directory tree with `recursive = true`.
---
---Errors: `usage`: a directory without `recursive`; `io`.
---
---```lua
---fs.remove(tmp, {recursive = true})
---```
---@param path string the file
---@param opts? polarrun.fs.remove.opts options
---@return boolean # whether something was removed
function fs.remove(path, opts) end

---Points a symbolic link at a target, replacing an existing link atomically.
---
---Errors: `io`: the path exists and is not a link.
---
---```lua
---fs.symlink("/data/pg_log", "/log/pg_log")
---```
---@param target string what the link points to
---@param link string the link's path
---@return boolean # whether it changed
function fs.symlink(target, link) end

---Copies a file or a directory tree (symbolic links as links).
---
---Errors: `io`.
---
---```lua
---fs.copy(template, rootfs .. "/postgresql.conf")
---```
---@param source string file or directory
---@param destination string the new path
function fs.copy(source, destination) end

---The bytes available to unprivileged users on the file system holding the path.
---
---Errors: `io`.
---
---```lua
---if fs.free_bytes(pgdata) < 1 << 30 then ... end
---```
---@param path string the file
---@return integer
function fs.free_bytes(path) end

---Creates a fresh directory under /tmp.
---
---Errors: `io`.
---
---```lua
---local dir = fs.temp_dir("backup")
---```
---@param prefix? string the name's start (default polarrun)
---@return string # its path
function fs.temp_dir(prefix) end

---Removes an instance lock marker created by `lock_file`, durably.
---
---Errors: `io`.
---
---```lua
---fs.unlock_file("/data/ins_lock")
---```
---@param path string the file
---@return boolean # whether it was there
function fs.unlock_file(path) end

---Mutual exclusion between runs: an advisory lock held until the handle is closed. Waits (logging that it waits) up to `timeout`.
---
---Errors: `lock`: still held by another run after `timeout`; `timeout`: the run's deadline passed.
---
---```lua
---local l <close> = fs.flock("/run/polarrun.ha.lock", {timeout = 30})
---```
---@param path string the lock file (created if needed)
---@param opts? polarrun.fs.flock.opts options
---@return polarrun.Lock # `local l <close> = fs.flock(p)` releases it at the end of the scope
function fs.flock(path, opts) end


-- Processes

---Options of `proc.run`.
---@class polarrun.proc.run.opts
---@field cwd? string the working directory
---@field env? table<string, string> variables added to the environment
---@field timeout? number seconds; then SIGTERM to its process group, SIGKILL 3 s later
---@field readonly? boolean also run in a dry run (it changes nothing)
---@field quiet? boolean do not log the command line
---@field stdin? string text for its standard input
---@field user? string run as this OS user (needs root)
---@field check? boolean false: a non-zero exit is returned, not raised
---@field stream? boolean log each output line as it arrives (the result keeps the last 256 KiB)
---@field clear_env? boolean start from an empty environment
---@field forward_signals? table<string, string> what to send the child when polarrun is asked to stop, such as `{TERM = "INT"}`

---Options of `proc.spawn`.
---@class polarrun.proc.spawn.opts
---@field cwd? string the working directory
---@field env? table<string, string> variables added to the environment
---@field timeout? number seconds; then SIGTERM to its process group, SIGKILL 3 s later
---@field readonly? boolean also run in a dry run (it changes nothing)
---@field quiet? boolean do not log the command line
---@field prefix? string shown before each output line
---@field since? number a start time (`polarrun.now()`) shown as elapsed seconds
---@field capture? boolean keep the output for the result (default true)
---@field log_output? boolean log the output lines (default true)
---@field progress? string a state such as "building": a row of the live progress board on a terminal
---@field user? string run as this OS user (needs root)
---@field detach? boolean true: a child that is not polarrun's (double fork, its own session, adopted by init) and outlives the run; returns `{pid=, output=}`, no handle; only `cwd`, `env`, `user`, `quiet`, `output` go with it
---@field output? string with `detach`: the absolute path its stdout and stderr are appended to (created 0600; default /dev/null)

---Child processes (argv lists only), the environment, termination, OS accounts.
---@class polarrun.proc
proc = {}

---Runs a program and waits for it. The run's `--timeout` kills it too.
---
---Errors: `process`: a non-zero exit (unless `check = false`) or its timeout, with `status`, `stdout`, `stderr`; `usage`: argv is not a list of strings; `timeout`, `terminated`: the run's deadline or a signal.
---
---```lua
---local r = proc.run({"pg_controldata", pgdata}, {user = "postgres", readonly = true})
---```
---@param argv string[] the program and its arguments: a list, never a shell string
---@param opts? polarrun.proc.run.opts options
---@return {status: integer, stdout: string, stderr: string, signal: string?} # `signal`: the signal forwarded to it, if any
function proc.run(argv, opts) end

---Starts a program that runs while the runbook goes on; its output is logged line by line as `[prefix] line` while the runbook waits in `:wait()`, `:poll()` or `proc.wait_any`.
---
---Errors: `usage`: argv is not a list of strings; an option a detached child cannot have; `process`: it cannot be started (not found, a missing `cwd`).
---
---```lua
---local h = proc.spawn({"make", "-j4"}, {prefix = "make", cwd = src})
---```
---@param argv string[] the program and its arguments: a list, never a shell string
---@param opts? polarrun.proc.spawn.opts options
---@return polarrun.Process|{pid: integer?, output: string?} # a handle: `:wait(timeout?)`, `:poll()`, `:running()`, `:kill()`, `:pid()`; with `detach`: the child's pid (nil in a dry run)
function proc.spawn(argv, opts) end

---Waits for the first of several spawned processes to finish; the run's deadline kills them all.
---
---Errors: `usage`: an empty list or something that is not a handle; `timeout`: the run's deadline.
---
---```lua
---local i, r = proc.wait_any({engine, manager}, 10)
---```
---@param handles polarrun.Process[] handles from `proc.spawn`
---@param timeout? number seconds; absent: no limit
---@return integer? # the index of the first to finish, nil when the timeout passed
---@return polarrun.ProcessResult? # its result: `{status=, ok=, stdout=, stderr=, elapsed=, timed_out=}`
function proc.wait_any(handles, timeout) end

---An environment variable of the run.
---
---Errors: `usage`: the value is not valid UTF-8.
---
---```lua
---local lang = proc.env("LANG") or "C"
---```
---@param name string the variable
---@return string? # its value, nil when unset
function proc.env(name) end

---Declares that the runbook handles SIGTERM/SIGINT itself (a supervisor): the signal is passed to the running child and `proc.terminating()` becomes true, instead of stopping the run.
---
---```lua
---proc.trap_termination()
---```
function proc.trap_termination() end

---Whether polarrun was asked to stop (SIGTERM, SIGINT).
---
---```lua
---while not proc.terminating() do ... end
---```
---@return boolean
function proc.terminating() end

---An OS user from the system's account database (`getpwnam`: NSS sources count, not only /etc/passwd).
---
---Errors: `io`: the account database cannot be read.
---
---```lua
---local pg = proc.user("postgres"); if pg then log.info("uid " .. pg.uid) end
---```
---@param name string the user name, or a uid as text
---@return {name: string, uid: integer, gid: integer, home: string, shell: string}? # nil when there is no such user
function proc.user(name) end

---An OS group from the system's account database (`getgrnam`).
---
---Errors: `io`: the group database cannot be read.
---
---```lua
---local g = proc.group("postgres")
---```
---@param name string the group name, or a gid as text
---@return {name: string, gid: integer, members: string[]}? # nil when there is no such group
function proc.group(name) end


-- Git

---Options of `git_clone`.
---@class polarrun.git_clone.opts
---@field dest string the directory to clone into
---@field branch? string a branch or tag
---@field depth? integer a shallow clone of this many commits
---@field submodules? boolean also clone the submodules
---@field mirror? string the directory of a bare mirror to keep and clone from
---@field timeout? number seconds (default 1800)

---Clones a repository into `dest` (empty or absent). With `mirror`, a bare mirror of the URL is created once and fetched afterwards, and the clone is made from it.
---
---Errors: `git`: a missing branch or an unreachable repository; `usage`: a bad URL or branch, `dest` not empty.
---
---```lua
---local src = git_clone("https://github.com/ApsaraDB/PolarDB-for-PostgreSQL", {dest = dir, branch = "POLARDB_15_STABLE", depth = 1})
---```
---@param url string the repository (https, ssh, git or a path)
---@param opts polarrun.git_clone.opts options
---@return {dir: string, commit: string, branch: string, url: string}
function git_clone(url, opts) end


-- Images

---Options of `docker_build`.
---@class polarrun.docker_build.build
---@field tag string the image name
---@field context string the build context directory
---@field dockerfile? string default `<context>/Dockerfile`
---@field build_args? table<string, string> `--build-arg` values
---@field labels? table<string, string> image labels
---@field network? string default host
---@field prefix? string shown before each output line (default the tag)
---@field timeout? number seconds (default 7200)
---@field pull? boolean pull newer base images
---@field no_cache? boolean do not use the build cache; cache mounts start empty too
---@field wait? boolean false: return a process handle at once (for `proc.wait_any`, `:wait()`); its result never raises for the image's own failure (`ok = false`, `error`)
---@field since? number a start time (`polarrun.now()`) shown as elapsed seconds in each logged line
---@field progress? string a state such as "building": a live row on a terminal
---@field quiet? boolean leave out the built/pushed line

---Options of `push`.
---@class polarrun.push.opts
---@field retries? integer default 4
---@field backoff? number seconds before the first retry, doubled each time (default 1)
---@field timeout? number seconds per attempt (default 3600)
---@field prefix? string shown before each output line (default the image)
---@field wait? boolean false: return a process handle at once (for `proc.wait_any`, `:wait()`); its result never raises for the image's own failure (`ok = false`, `error`)
---@field since? number a start time (`polarrun.now()`) shown as elapsed seconds in each logged line
---@field progress? string a state such as "building": a live row on a terminal
---@field quiet? boolean leave out the built/pushed line

---Builds an image with BuildKit (`DOCKER_BUILDKIT=1`, built into Docker 20.10 and later, so `RUN --mount=type=cache` works), streaming the build's output (plain progress) to the log as `[prefix] line`.
---
---Errors: `docker`: the build failed; `usage`: a missing tag, context or Dockerfile.
---
---```lua
---local img = docker_build{tag = "polardb/engine:15", context = ".", dockerfile = "docker/Dockerfile.engine"}
---```
---@param build polarrun.docker_build.build what to build (below)
---@return {image: string, id: string}|polarrun.Process # a handle with `wait = false`
function docker_build(build) end

---Pushes an image, retrying transient failures with exponential backoff (doubling, at most 30 s); an answer no retry can change (denied, unauthorized, authentication required, does not exist, invalid reference) fails at once.
---
---Errors: `docker`: a permanent failure, or every attempt failed (field `attempts`).
---
---```lua
---local digest = push("registry.local/polardb/engine:15")
---```
---@param image string the image name
---@param opts? polarrun.push.opts options
---@return string|polarrun.Process # the registry digest `sha256:…`; a handle with `wait = false`
function push(image, opts) end


-- JSON

---Options of `json.encode`.
---@class polarrun.json.encode.opts
---@field pretty? boolean indented, one key per line

---JSON text.
---@class polarrun.json
---@field null polarrun.null JSON null (the same value as `sql.null`)
json = {}

---Encodes a value as JSON: sorted keys, an empty table is `{}`, `json.null` is null.
---
---Errors: `usage`: a value JSON cannot hold (a function, a mixed table).
---
---```lua
---fs.write(path, json.encode(result, {pretty = true}))
---```
---@param value any tables, strings, numbers, booleans, `json.null`
---@param opts? polarrun.json.encode.opts options
---@return string
function json.encode(value, opts) end

---Decodes JSON text; null becomes `json.null`; password-like keys are masked from then on.
---
---Errors: `usage`: not valid JSON.
---
---```lua
---local v = json.decode(r.stdout)
---```
---@param text string JSON text
---@return any
function json.decode(text) end


-- YAML

---YAML text.
---@class polarrun.yaml
yaml = {}

---Decodes one YAML document (no aliases or merge keys; at most 1 MiB).
---
---Errors: `usage`: a syntax error or a duplicate key, naming the line.
---
---```lua
---local doc = yaml.load(fs.read("image.yml"), "image.yml")
---```
---@param text string YAML text
---@param source? string the name errors mention (a file name)
---@return any
function yaml.load(text, source) end


-- Logging

---The manager log and the console.
---@class polarrun.log
log = {}

---Logs a detail shown with `--verbose`: one line in the manager log (time, level, run id, `runbook.lua:LINE`, message) and on the console. Arguments are joined by spaces, tables shown as JSON; secrets are masked.
---
---```lua
---log.debug("checkpoint done in", secs, "s")
---```
---@param ... any what to say
function log.debug(...) end

---Logs an event: one line in the manager log (time, level, run id, `runbook.lua:LINE`, message) and on the console. Arguments are joined by spaces, tables shown as JSON; secrets are masked.
---
---```lua
---log.info("checkpoint done in", secs, "s")
---```
---@param ... any what to say
function log.info(...) end

---Logs a warning: one line in the manager log (time, level, run id, `runbook.lua:LINE`, message) and on the console. Arguments are joined by spaces, tables shown as JSON; secrets are masked.
---
---```lua
---log.warn("checkpoint done in", secs, "s")
---```
---@param ... any what to say
function log.warn(...) end

---Logs an error (the run goes on): one line in the manager log (time, level, run id, `runbook.lua:LINE`, message) and on the console. Arguments are joined by spaces, tables shown as JSON; secrets are masked.
---
---```lua
---log.error("checkpoint done in", secs, "s")
---```
---@param ... any what to say
function log.error(...) end

---Logs an event to the manager log only, for what the runbook also prints for reading.
---
---```lua
---log.file("plan:", json.encode(plan))
---```
---@param ... any what to say
function log.file(...) end

---Where console log lines go from now on (PolarDB Stack reads stdout).
---
---Errors: `usage`: another stream.
---
---```lua
---log.console("stdout")
---```
---@param stream "stdout"|"stderr" where console lines go
function log.console(stream) end


-- The run

---Options of `polarrun.call`.
---@class polarrun.polarrun.call.opts
---@field dry_run? boolean run it as a dry run (docs/dry-run.md): nothing changes, and its result gains `would` and `would_summary` as under `--json` (a runbook test checks a diff this way); inside a dry run every call is one

---Options of `polarrun.would`.
---@class polarrun.polarrun.would.opts
---@field quiet? boolean only in the report and the manager log, not as a console line (the runbook shows it itself)

---The run itself.
---@class polarrun.polarrun
---@field params table<string, any> the run's inputs: `key=value` strings until `polarrun.inputs` converts them
---@field version string polarrun's version
---@field run_id string this run's id (in every log line)
---@field dry_run boolean true under `--dry-run`
---@field json boolean true under `--json`: stdout carries only the result document
---@field is_root boolean whether polarrun runs as root
---@field executable string the polarrun binary
---@field runbooks_dir string? the bundled runbooks
---@field defaults {pgdata: string, port: integer, db_user: string, log_dir: string, bindir: string, role: string, dbname: string, connect_timeout: integer, lock_name: string} the pod's layout (Support/PodDefaults.swift) with this run's PGDATA, PGPORT and POLARRUN_DB_USER applied
polarrun = {}

---Declares and validates the run's inputs before anything else happens: unknown inputs, missing required ones, wrong types and values outside `enum` are all reported at once (exit 2). Replaces `polarrun.params` with the converted values. Types: string, integer, number, boolean, json, list.
---
---Errors: `usage`: invalid inputs, or an invalid declaration.
---
---```lua
---local p = polarrun.inputs{user = {type = "string", required = true}, password = {type = "string", secret = true}}
---```
---@param spec table<string, polarrun.InputSpec> name = {type=, required=, default=, secret=, enum=, desc=}
---@return table<string, any> # the converted inputs
function polarrun.inputs(spec) end

---Masks a value in every log line, error and output from now on.
---
---```lua
---local pw = polarrun.secret(fs.read(path))
---```
---@param value string the secret
---@return string # the value
function polarrun.secret(value) end

---Raises an error table like the primitives do; kind `usage` exits 2, a field `exit_code` sets the exit status.
---
---```lua
---polarrun.raise("usage", "give either host or pgdata")
---```
---@param kind string usage, engine, io …
---@param message string what went wrong
---@param fields? table more fields of the error
function polarrun.raise(kind, message, fields) end

---Runs another runbook in a fresh state with typed inputs, under what is left of this run's deadline.
---
---Errors: the called runbook's error, prefixed with its name; `call_depth`: runbooks nested too deep.
---
---```lua
---local health = polarrun.call("health_check", {pgdata = pgdata})
---```
---@param runbook string a name or path
---@param params? table its inputs
---@param opts? polarrun.polarrun.call.opts options
---@return any # its return value
function polarrun.call(runbook, params, opts) end

---Sleeps; a deadline or a termination signal ends it at once.
---
---Errors: `timeout`, `terminated`.
---
---```lua
---polarrun.sleep(0.5)
---```
---@param seconds number how long
function polarrun.sleep(seconds) end

---The wall clock.
---
---```lua
---local started = polarrun.now()
---```
---@return number # seconds since 1970
function polarrun.now() end

---Calls `fn` until it returns a true value, and returns that.
---
---Errors: `wait`: not met within the timeout.
---
---```lua
---polarrun.wait_until(function() return pg_ctl("status", {pgdata = d}).running end, 60)
---```
---@param fn function the condition
---@param timeout? number seconds (default 30)
---@param interval? number seconds between calls (default 0.2)
---@return any # the first true value
function polarrun.wait_until(fn, timeout, interval) end

---The directory of the running runbook.
---
---```lua
---local here = polarrun.runbook_dir()
---```
---@return string?
function polarrun.runbook_dir() end

---In a dry run, lists an action the runbook skips because its effect cannot be shown (a step that waits on a real change): logged as `[dry-run] would …` and counted in the report. Outside a dry run it does nothing.
---
---```lua
---if not polarrun.would("run ha_rejoin on " .. old) then polarrun.call("ha_rejoin", params) end
---```
---@param what string what would be done, e.g. "make the old primary a standby of …"
---@param opts? polarrun.polarrun.would.opts options
---@return boolean # `polarrun.dry_run`: whether the caller should skip the step
function polarrun.would(what, opts) end


-- Handles

---Options of `connection:query`.
---@class polarrun.connection.query.opts
---@field timeout? number seconds for the statement

---A connection from `sql.connect`; `local c <close> = sql.connect{...}`.
---@class polarrun.Connection
local Connection = {}

---Runs one statement on this connection, like `sql(...)`.
---
---Errors: `sql`, `connect`, `timeout` as for `sql`.
---
---```lua
---local rows = c:query("select pg_is_in_recovery() as standby")
---```
---@param query string one SQL statement
---@param params? any[] values for `$1, $2 …`
---@param opts? polarrun.connection.query.opts options
---@return table[]|{command: string, affected: integer} # rows, or `{command=, affected=}`
function Connection:query(query, params, opts) end

---Closes the connection. Also at the end of a `<close>` scope and when the handle is collected.
---
---```lua
---c:close()
---```
function Connection:close() end

---A child from `proc.spawn` (or `docker_build`/`push` with `wait = false`); closing or collecting it while it runs kills it.
---@class polarrun.Process
local Process = {}

---Waits for it to finish, logging its output as it comes.
---
---Errors: `timeout`: the run's deadline (the child is killed).
---
---```lua
---local r = h:wait(60)
---```
---@param timeout? number seconds; absent: no limit
---@return polarrun.ProcessResult? # its result, nil when the timeout passed first
function Process:wait(timeout) end

---Its result if it has finished, else nil (logs its new output).
---
---```lua
---local r = h:poll()
---```
---@return polarrun.ProcessResult?
function Process:poll() end

---Whether it still runs.
---
---```lua
---while h:running() do polarrun.sleep(1) end
---```
---@return boolean
function Process:running() end

---SIGTERM to its process group, SIGKILL 3 s later.
---
---```lua
---h:kill()
---```
---@return boolean # whether it was running
function Process:kill() end

---Its process id.
---
---```lua
---log.info("started", h:pid())
---```
---@return integer
function Process:pid() end

---Forgets the handle; a child still running is killed and reaped. Also at the end of a `<close>` scope and when the handle is collected.
---
---```lua
---h:close()
---```
function Process:close() end

---A lock from `fs.flock`, held until closed; `local l <close> = fs.flock(path)`.
---@class polarrun.Lock
local Lock = {}

---Releases the lock. Also at the end of a `<close>` scope and when the handle is collected.
---
---```lua
---l:close()
---```
function Lock:close() end


-- `polarrun test` (files named *_test.lua only)

---Registers a test case; cases run in file order after the file has loaded. A failing
---`assert` or an error fails the case.
---@param name string
---@param fn fun()
function test(name, fn) end

---Runs `fn` with these environment variables as `proc.env` sees them (false: unset).
---@param vars table<string, string|false>
---@param fn fun()
function with_env(vars, fn) end

---The throwaway PostgreSQL cluster the harness created (nil without one).
---@type {pgdata: string, host: string, port: integer, bin: string, user: string}?
cluster = nil
