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

        public static let section = APISection(
            "Configuration files", namespace: Namespace("conf", "configuration files (`conf_set` is the verb that writes)"),
            [set, get])
    }
}
