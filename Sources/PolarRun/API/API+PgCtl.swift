extension API {
    /// `pg_ctl(...)` and the engine's programs.
    public enum PgCtl {
        public static let call = Declaration(
            "pg_ctl", "Starts, stops, restarts, reloads, promotes or asks the status of an instance with the engine's own `pg_ctl`, run as the database OS user when polarrun runs as root. Start of a running and stop of a stopped instance succeed with `changed = false`.",
            args: [.init("action", .string, "what to do", choices: ["start", "stop", "restart", "reload", "promote", "status"]),
                   .opts([
                       .init("pgdata", .string, "the data directory (default `PGDATA`, `/data`)"),
                       .init("bindir", .string, "where the engine's programs are (see `pg_ctl.bin`)"),
                       .init("user", .string, "the database OS user (default `POLARRUN_DB_USER`, `postgres` as root)"),
                       .init("mode", .string, "stop mode (default fast)", choices: ["smart", "fast", "immediate"]),
                       .init("timeout", .integer, "seconds (default 60)"),
                       .init("wait", .boolean, "false: start or stop signals and returns without waiting"),
                       .init("logfile", .string, "the server's log file (start, restart)"),
                       .init("options", .string, "server options (`-o`) for start and restart"),
                   ])],
            returns: [.init("{changed: boolean, running: boolean, output: string, pid: integer?}", "`status` gives `{running=, pid=, output=}`")],
            errors: ["`usage`: an unknown action or mode, not a cluster directory",
                     "`process`: pg_ctl failed, or reload/promote of an instance that is not running"],
            example: #"pg_ctl("reload", {pgdata = pgdata})"#,
            callable: true)

        public static let bin = Declaration(
            "pg_ctl.bin", "The path of an engine program: `bindir`, `POLARRUN_PG_BIN`, `/u01/polardb_pg/bin`, `PATH`, then the newest `/usr/lib/postgresql/*/bin`.",
            args: [.init("name", .string, "a program name such as `initdb`"),
                   .opts([.init("bindir", .string, "look only here")])],
            returns: [.init("string", "the program's path")],
            errors: ["`usage`: not found, or a path instead of a name"],
            example: #"local initdb = pg_ctl.bin("initdb")"#)

        public static let section = APISection(
            "The engine", namespace: Namespace("pg_ctl", "the engine's `pg_ctl`; `pg_ctl(...)` itself runs it"),
            [call, bin])
    }
}
