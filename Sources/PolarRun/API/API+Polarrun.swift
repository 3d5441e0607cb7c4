extension API {
    /// The `polarrun` namespace: the run itself.
    public enum Polarrun {
        public static let inputs = Declaration(
            "polarrun.inputs", "Declares and validates the run's inputs before anything else happens: unknown inputs, missing required ones, wrong types and values outside `enum` are all reported at once (exit 2). Replaces `polarrun.params` with the converted values. Types: string, integer, number, boolean, json, list.",
            args: [.init("spec", .table, "name = {type=, required=, default=, secret=, enum=, desc=}",
                         annotation: "table<string, polarrun.InputSpec>")],
            returns: [.init("table<string, any>", "the converted inputs")],
            errors: ["`usage`: invalid inputs, or an invalid declaration"],
            example: #"local p = polarrun.inputs{user = {type = "string", required = true}, password = {type = "string", secret = true}}"#)

        public static let secret = Declaration(
            "polarrun.secret", "Masks a value in every log line, error and output from now on.",
            args: [.init("value", .string, "the secret")], returns: [.init("string", "the value")],
            example: #"local pw = polarrun.secret(fs.read(path))"#)

        public static let raise = Declaration(
            "polarrun.raise", "Raises an error table like the primitives do; kind `usage` exits 2, a field `exit_code` sets the exit status.",
            args: [.init("kind", .string, "usage, engine, io …"), .init("message", .string, "what went wrong"),
                   .opt("fields", .table, "more fields of the error")],
            example: #"polarrun.raise("usage", "give either host or pgdata")"#,
            inPrelude: true)

        public static let call = Declaration(
            "polarrun.call", "Runs another runbook in a fresh state with typed inputs, under what is left of this run's deadline.",
            args: [.init("runbook", .string, "a name or path"), .opt("params", .table, "its inputs"),
                   .opts([.init("dry_run", .boolean, "run it as a dry run (docs/dry-run.md): nothing changes, and its result gains `would` and `would_summary` as under `--json` (a runbook test checks a diff this way); inside a dry run every call is one")])],
            returns: [.init("any", "its return value")],
            errors: ["the called runbook's error, prefixed with its name", "`call_depth`: runbooks nested too deep"],
            example: #"local health = polarrun.call("health_check", {pgdata = pgdata})"#)

        public static let sleep = Declaration(
            "polarrun.sleep", "Sleeps; a deadline or a termination signal ends it at once.",
            args: [.init("seconds", .number, "how long")],
            errors: ["`timeout`, `terminated`"], example: #"polarrun.sleep(0.5)"#)

        public static let now = Declaration(
            "polarrun.now", "The wall clock.", returns: [.init("number", "seconds since 1970")],
            example: #"local started = polarrun.now()"#)

        public static let waitUntil = Declaration(
            "polarrun.wait_until", "Calls `fn` until it returns a true value, and returns that.",
            args: [.init("fn", .function, "the condition"), .opt("timeout", .number, "seconds (default 30)"),
                   .opt("interval", .number, "seconds between calls (default 0.2)")],
            returns: [.init("any", "the first true value")],
            errors: ["`wait`: not met within the timeout"],
            example: #"polarrun.wait_until(function() return pg_ctl("status", {pgdata = d}).running end, 60)"#,
            inPrelude: true)

        public static let runbookDir = Declaration(
            "polarrun.runbook_dir", "The directory of the running runbook.",
            returns: [.init("string?", "")], example: #"local here = polarrun.runbook_dir()"#)

        public static let would = Declaration(
            "polarrun.would", "In a dry run, lists an action the runbook skips because its effect cannot be shown (a step that waits on a real change): logged as `[dry-run] would …` and counted in the report. Outside a dry run it does nothing.",
            args: [.init("what", .string, "what would be done, e.g. \"make the old primary a standby of …\""),
                   .opts([.init("quiet", .boolean, "only in the report and the manager log, not as a console line (the runbook shows it itself)")])],
            returns: [.init("boolean", "`polarrun.dry_run`: whether the caller should skip the step")],
            example: #"if not polarrun.would("run ha_rejoin on " .. old) then polarrun.call("ha_rejoin", params) end"#)

        public static let section = APISection(
            "The run", namespace: Namespace("polarrun", "the run itself", values: [
                .init("params", "table<string, any>", "the run's inputs: `key=value` strings until `polarrun.inputs` converts them"),
                .init("version", "string", "polarrun's version"),
                .init("run_id", "string", "this run's id (in every log line)"),
                .init("dry_run", "boolean", "true under `--dry-run`"),
                .init("json", "boolean", "true under `--json`: stdout carries only the result document"),
                .init("is_root", "boolean", "whether polarrun runs as root"),
                .init("executable", "string", "the polarrun binary"),
                .init("runbooks_dir", "string?", "the bundled runbooks"),
                .init("defaults", "{pgdata: string, port: integer, db_user: string, log_dir: string, bindir: string, role: string, dbname: string, connect_timeout: integer, lock_name: string}",
                      "the pod's layout (Support/PodDefaults.swift) with this run's PGDATA, PGPORT and POLARRUN_DB_USER applied"),
            ]), [inputs, secret, raise, call, sleep, now, waitUntil, runbookDir, would])
    }
}
