extension API {
    /// The `proc` namespace: child processes, the environment and termination signals.
    public enum Proc {
        static let argv = Declaration.Arg("argv", .table, "the program and its arguments: a list, never a shell string",
                                          annotation: "string[]", hint: "an argv list such as {\"ls\", \"-l\"}, never a shell string")
        static let common: [Declaration.Option] = [
            .init("cwd", .string, "the working directory"),
            .init("env", .table, "variables added to the environment", annotation: "table<string, string>"),
            .init("timeout", .number, "seconds; then SIGTERM to its process group, SIGKILL 3 s later"),
            .init("readonly", .boolean, "also run in a dry run (it changes nothing)"),
            .init("quiet", .boolean, "do not log the command line"),
        ]

        public static let run = Declaration(
            "proc.run", "Runs a program and waits for it. The run's `--timeout` kills it too.",
            args: [argv, .opts(common + [
                .init("stdin", .string, "text for its standard input"),
                .init("user", .string, "run as this OS user (needs root)"),
                .init("check", .boolean, "false: a non-zero exit is returned, not raised"),
                .init("stream", .boolean, "log each output line as it arrives (the result keeps the last 256 KiB)"),
                .init("clear_env", .boolean, "start from an empty environment"),
                .init("forward_signals", .table, "what to send the child when polarrun is asked to stop, such as `{TERM = \"INT\"}`",
                      annotation: "table<string, string>"),
            ])],
            returns: [.init("{status: integer, stdout: string, stderr: string, signal: string?}", "`signal`: the signal forwarded to it, if any")],
            errors: ["`process`: a non-zero exit (unless `check = false`) or its timeout, with `status`, `stdout`, `stderr`",
                     "`usage`: argv is not a list of strings", "`timeout`, `terminated`: the run's deadline or a signal"],
            example: #"local r = proc.run({"pg_controldata", pgdata}, {user = "postgres", readonly = true})"#)

        public static let spawn = Declaration(
            "proc.spawn", "Starts a program that runs while the runbook goes on; its output is logged line by line as `[prefix] line` while the runbook waits in `:wait()`, `:poll()` or `proc.wait_any`.",
            args: [argv, .opts(common + [
                .init("prefix", .string, "shown before each output line"),
                .init("since", .number, "a start time (`polarrun.now()`) shown as elapsed seconds"),
                .init("capture", .boolean, "keep the output for the result (default true)"),
                .init("log_output", .boolean, "log the output lines (default true)"),
                .init("progress", .string, "a state such as \"building\": a row of the live progress board on a terminal"),
                .init("user", .string, "run as this OS user (needs root)"),
                .init("detach", .boolean, "true: a child that is not polarrun's (double fork, its own session, adopted by init) and outlives the run; returns `{pid=, output=}`, no handle; only `cwd`, `env`, `user`, `quiet`, `output` go with it"),
                .init("output", .string, "with `detach`: the absolute path its stdout and stderr are appended to (created 0600; default /dev/null)"),
            ])],
            returns: [.init("polarrun.Process|{pid: integer?, output: string?}", "a handle: `:wait(timeout?)`, `:poll()`, `:running()`, `:kill()`, `:pid()`; with `detach`: the child's pid (nil in a dry run)")],
            errors: ["`usage`: argv is not a list of strings; an option a detached child cannot have", "`process`: it cannot be started (not found, a missing `cwd`)"],
            example: #"local h = proc.spawn({"make", "-j4"}, {prefix = "make", cwd = src})"#)

        public static let waitAny = Declaration(
            "proc.wait_any", "Waits for the first of several spawned processes to finish; the run's deadline kills them all.",
            args: [.init("handles", .table, "handles from `proc.spawn`", annotation: "polarrun.Process[]"),
                   .opt("timeout", .number, "seconds; absent: no limit")],
            returns: [.init("integer?", "the index of the first to finish, nil when the timeout passed"),
                      .init("polarrun.ProcessResult?", "its result: `{status=, ok=, stdout=, stderr=, elapsed=, timed_out=}`")],
            errors: ["`usage`: an empty list or something that is not a handle", "`timeout`: the run's deadline"],
            example: #"local i, r = proc.wait_any({engine, manager}, 10)"#)

        public static let env = Declaration(
            "proc.env", "An environment variable of the run.",
            args: [.init("name", .string, "the variable")],
            returns: [.init("string?", "its value, nil when unset")],
            errors: ["`usage`: the value is not valid UTF-8"],
            example: #"local lang = proc.env("LANG") or "C""#)

        public static let trapTermination = Declaration(
            "proc.trap_termination", "Declares that the runbook handles SIGTERM/SIGINT itself (a supervisor): the signal is passed to the running child and `proc.terminating()` becomes true, instead of stopping the run.",
            example: #"proc.trap_termination()"#)

        public static let terminating = Declaration(
            "proc.terminating", "Whether polarrun was asked to stop (SIGTERM, SIGINT).",
            returns: [.init("boolean", "")],
            example: #"while not proc.terminating() do ... end"#)

        public static let user = Declaration(
            "proc.user", "An OS user from the system's account database (`getpwnam`: NSS sources count, not only /etc/passwd).",
            args: [.init("name", .string, "the user name, or a uid as text")],
            returns: [.init("{name: string, uid: integer, gid: integer, home: string, shell: string}?", "nil when there is no such user")],
            errors: ["`io`: the account database cannot be read"],
            example: #"local pg = proc.user("postgres"); if pg then log.info("uid " .. pg.uid) end"#)

        public static let group = Declaration(
            "proc.group", "An OS group from the system's account database (`getgrnam`).",
            args: [.init("name", .string, "the group name, or a gid as text")],
            returns: [.init("{name: string, gid: integer, members: string[]}?", "nil when there is no such group")],
            errors: ["`io`: the group database cannot be read"],
            example: #"local g = proc.group("postgres")"#)

        public static let section = APISection(
            "Processes", namespace: Namespace("proc", "child processes (argv lists only), the environment, termination, OS accounts"),
            [run, spawn, waitAny, env, trapTermination, terminating, user, group])
    }
}
