extension API {
    /// The `log` namespace: the manager log and the console.
    public enum Log {
        static func level(_ name: String, _ what: String) -> Declaration {
            Declaration(
                "log.\(name)", "Logs \(what): one line in the manager log (time, level, run id, `runbook.lua:LINE`, message) and on the console. Arguments are joined by spaces, tables shown as JSON; secrets are masked.",
                rest: .init("...", .any, "what to say"),
                example: "log.\(name)(\"checkpoint done in\", secs, \"s\")")
        }
        public static let debug = level("debug", "a detail shown with `--verbose`")
        public static let info = level("info", "an event")
        public static let warn = level("warn", "a warning")
        public static let error = level("error", "an error (the run goes on)")

        public static let file = Declaration(
            "log.file", "Logs an event to the manager log only, for what the runbook also prints for reading.",
            rest: .init("...", .any, "what to say"), example: #"log.file("plan:", json.encode(plan))"#)

        public static let console = Declaration(
            "log.console", "Where console log lines go from now on (PolarDB Stack reads stdout).",
            args: [.init("stream", .string, "where console lines go", choices: ["stdout", "stderr"])],
            errors: ["`usage`: another stream"], example: #"log.console("stdout")"#)

        public static let section = APISection(
            "Logging", namespace: Namespace("log", "the manager log and the console"),
            [debug, info, warn, error, file, console])
    }
}
