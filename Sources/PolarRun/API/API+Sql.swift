extension API {
    /// `sql(...)` and the SQL namespace.
    public enum Sql {
        static let connection: [Declaration.Option] = [
            .init("host", .string, "a host name, or a directory holding the unix socket (default `PGHOST`, `PGDATA`, `/data`)"),
            .init("port", .string, "default `PGPORT`", annotation: "string|integer"),
            .init("user", .string, "default `PGUSER`, `postgres`"),
            .init("dbname", .string, "default `PGDATABASE`, `postgres`"),
            .init("password", .string, "masked in every log line and error"),
            .init("connect_timeout", .string, "seconds (default 3)", annotation: "string|integer"),
            .init("application_name", .string, "default `polarrun`"),
            .init("sslmode", .string, "libpq's sslmode"),
            .init("options", .string, "libpq's options (`-c name=value`)"),
        ]

        public static let call = Declaration(
            "sql", "Runs one statement with `$1, $2 …` parameters (never string-built SQL) on the run's cached connection for these options. Rows come back typed: integers, numbers, booleans, `sql.null` for SQL NULL, strings otherwise.",
            args: [.init("query", .string, "one SQL statement"),
                   .opt("params", .table, "values for `$1, $2 …`; `sql.null` (or nil with `n`) is SQL NULL", annotation: "any[]"),
                   .opts(connection + [.init("timeout", .number, "seconds for the statement; then it is cancelled (SQLSTATE 57014)")])],
            returns: [.init("table[]|{command: string, affected: integer}", "the rows, each keyed by column name; a command returns `{command=, affected=}`")],
            errors: ["`sql`: the server's error, with `sqlstate`, `severity`, `detail`, `hint`",
                     "`connect`: the server cannot be reached", "`timeout`: the statement or the run's deadline passed"],
            example: #"local rows = sql("select rolname from pg_roles where rolname = $1", {user})"#,
            callable: true)

        public static let connect = Declaration(
            "sql.connect", "Opens a connection of its own (a handle with `:query(query, params?, {timeout=})` and `:close()`).",
            args: [.opts(connection)],
            returns: [.init("polarrun.Connection", "the connection; `local c <close> = sql.connect{...}` closes it at the end of the scope")],
            errors: ["`connect`: the server cannot be reached or refuses the login"],
            example: #"local c <close> = sql.connect{dbname = "app"}"#)

        public static let quoteIdent = Declaration(
            "sql.quote_ident", "Quotes an identifier for the rare DDL that cannot take parameters (role names).",
            args: [.init("identifier", .string, "the name")],
            returns: [.init("string", "`\"name\"` with embedded quotes doubled")],
            example: #"sql("create role " .. sql.quote_ident(user) .. " login")"#)

        public static let quoteLiteral = Declaration(
            "sql.quote_literal", "Quotes a literal for DDL that cannot take parameters (`PASSWORD '...'`); uses `E'...'` when the text has backslashes, so it means the same whatever `standard_conforming_strings` is.",
            args: [.init("literal", .string, "the text")],
            returns: [.init("string", "the quoted literal")],
            example: #"sql("alter role x password " .. sql.quote_literal(password))"#)

        public static let section = APISection(
            "SQL", namespace: Namespace("sql", "SQL through libpq; `sql(...)` itself runs a statement", values: [
                .init("null", "polarrun.null", "SQL NULL (the same value as `json.null`)"),
            ]), [call, connect, quoteIdent, quoteLiteral])
    }
}
