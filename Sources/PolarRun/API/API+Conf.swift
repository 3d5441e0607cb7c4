extension API {
    /// `conf_set` and the `conf` namespace: postgresql.conf-style files.
    public enum Conf {
        public static let set = Declaration(
            "conf_set", "Edits a `postgresql.conf`-style file: the last active line of each name is rewritten in place (its comment kept), new names are appended, comments and order stay. Booleans become on/off, `sql.null` comments a setting out. Atomic, and serialized between processes by the lock file `.<file>.lock`.",
            args: [.init("file", .string, "the configuration file"),
                   .init("settings", .table, "name = value", annotation: "table<string, string|number|boolean|polarrun.null>")],
            returns: [.init("string[]", "the names that changed")],
            errors: ["`usage`: an invalid name, a line break or NUL in a value (the file is untouched)",
                     "`io`: the file does not exist", "`lock`: another writer holds the file's lock for 60 s"],
            example: #"local changed = conf_set(pgdata .. "/postgresql.conf", {work_mem = "64MB", log_connections = true})"#)

        public static let get = Declaration(
            "conf.get", "Reads a `postgresql.conf`-style file: the unquoted value of one setting, or every active setting.",
            args: [.init("file", .string, "the configuration file"),
                   .opt("name", .string, "the setting; absent: all of them")],
            returns: [.init("string|table<string, string>|nil", "the value (nil when not set), or a table of every active setting")],
            errors: ["`io`: the file does not exist"],
            example: #"local port = conf.get(pgdata .. "/postgresql.conf", "port")"#)

        public static let unquote = Declaration(
            "conf.unquote", "A value as PostgreSQL reads it from a configuration file — the code `conf.get` uses: a single-quoted value loses its quotes, `''` is `'`, `\\n \\t \\r \\b \\f` and octal `\\ooo` escapes are decoded; an unquoted value is returned as it is.",
            args: [.init("value", .string, "the value as written in the file")],
            returns: [.init("string?", "the text; nil when a lone `'` sits inside the quotes"),
                      .init("boolean|string", "whether it was quoted; the reason when the text is nil")],
            example: #"local v, quoted = conf.unquote("'it''s'")   -- "it's", true"#)

        public static let lock = Declaration(
            "conf.lock", "Holds the lock `conf_set` takes on a file (the lock file `.<file>.lock` beside it) until the handle is closed, for a runbook that reads and rewrites the file itself. `conf_set` on the same file inside it does not wait for its own run.",
            args: [.init("file", .string, "the configuration file"),
                   .opts([.init("timeout", .number, "seconds to wait for another writer (default 60)")])],
            returns: [.init("polarrun.Lock", "close it (`<close>`) to release the lock")],
            errors: ["`lock`: another writer holds it for `timeout` seconds", "`io`: the lock file cannot be created"],
            example: #"local l <close> = conf.lock(pgdata .. "/postgresql.conf")"#)

        public static let section = APISection(
            "Configuration files", namespace: Namespace("conf", "configuration files (`conf_set` is the verb that writes)"),
            [set, get, unquote, lock])
    }
}
