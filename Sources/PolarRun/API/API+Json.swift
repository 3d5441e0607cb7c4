extension API {
    /// The `json` namespace.
    public enum Json {
        public static let encode = Declaration(
            "json.encode", "Encodes a value as JSON: sorted keys, an empty table is `{}`, `json.null` is null.",
            args: [.init("value", .any, "tables, strings, numbers, booleans, `json.null`"),
                   .opts([.init("pretty", .boolean, "indented, one key per line")])],
            returns: [.init("string", "")],
            errors: ["`usage`: a value JSON cannot hold (a function, a mixed table)"],
            example: #"fs.write(path, json.encode(result, {pretty = true}))"#)

        public static let decode = Declaration(
            "json.decode", "Decodes JSON text; null becomes `json.null`; password-like keys are masked from then on.",
            args: [.init("text", .string, "JSON text")],
            returns: [.init("any", "")], errors: ["`usage`: not valid JSON"],
            example: #"local v = json.decode(r.stdout)"#)

        public static let section = APISection(
            "JSON", namespace: Namespace("json", "JSON text", values: [
                .init("null", "polarrun.null", "JSON null (the same value as `sql.null`)"),
            ]), [encode, decode])
    }
}
