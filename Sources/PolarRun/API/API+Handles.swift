extension API {
    /// The methods of the handles primitives return: a connection (`sql.connect`), a child
    /// process (`proc.spawn`, `docker_build`/`push` with `wait = false`) and a lock (`fs.flock`).
    /// Each handle also closes at the end of a `<close>` scope and when collected.
    public enum Handles {
        /// typeLabel → (LuaLS class, what it is).
        public static let types: [(label: String, luaClass: String, summary: String)] = [
            ("connection", "polarrun.Connection", "A connection from `sql.connect`; `local c <close> = sql.connect{...}`."),
            ("process", "polarrun.Process", "A child from `proc.spawn` (or `docker_build`/`push` with `wait = false`); closing or collecting it while it runs kills it."),
            ("lock", "polarrun.Lock", "A lock from `fs.flock`, held until closed; `local l <close> = fs.flock(path)`."),
        ]

        public static let query = Declaration(
            "connection:query", "Runs one statement on this connection, like `sql(...)`.",
            args: [.init("query", .string, "one SQL statement"),
                   .opt("params", .table, "values for `$1, $2 …`", annotation: "any[]"),
                   .opts([.init("timeout", .number, "seconds for the statement")])],
            returns: [.init("table[]|{command: string, affected: integer}", "rows, or `{command=, affected=}`")],
            errors: ["`sql`, `connect`, `timeout` as for `sql`"],
            example: #"local rows = c:query("select pg_is_in_recovery() as standby")"#)

        public static let connectionClose = close("connection", "Closes the connection.", "c:close()")

        public static let wait = Declaration(
            "process:wait", "Waits for it to finish, logging its output as it comes.",
            args: [.opt("timeout", .number, "seconds; absent: no limit")],
            returns: [.init("polarrun.ProcessResult?", "its result, nil when the timeout passed first")],
            errors: ["`timeout`: the run's deadline (the child is killed)"],
            example: #"local r = h:wait(60)"#)

        public static let poll = Declaration(
            "process:poll", "Its result if it has finished, else nil (logs its new output).",
            returns: [.init("polarrun.ProcessResult?", "")], example: #"local r = h:poll()"#)

        public static let running = Declaration(
            "process:running", "Whether it still runs.", returns: [.init("boolean", "")],
            example: #"while h:running() do polarrun.sleep(1) end"#)

        public static let kill = Declaration(
            "process:kill", "SIGTERM to its process group, SIGKILL 3 s later.",
            returns: [.init("boolean", "whether it was running")], example: #"h:kill()"#)

        public static let pid = Declaration(
            "process:pid", "Its process id.", returns: [.init("integer", "")], example: #"log.info("started", h:pid())"#)

        public static let processClose = close("process", "Forgets the handle; a child still running is killed and reaped.", "h:close()")

        public static let lockClose = close("lock", "Releases the lock.", "l:close()")

        static func close(_ label: String, _ summary: String, _ example: String) -> Declaration {
            Declaration("\(label):close", summary + " Also at the end of a `<close>` scope and when the handle is collected.", example: example)
        }

        public static let section = APISection(
            "Handles", [query, connectionClose, wait, poll, running, kill, pid, processClose, lockClose])
    }
}
