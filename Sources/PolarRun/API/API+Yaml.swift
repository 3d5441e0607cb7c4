extension API {
    /// The `yaml` namespace.
    public enum Yaml {
        public static let load = Declaration(
            "yaml.load", "Decodes one YAML document (no aliases or merge keys; at most 1 MiB).",
            args: [.init("text", .string, "YAML text"), .opt("source", .string, "the name errors mention (a file name)")],
            returns: [.init("any", "")],
            errors: ["`usage`: a syntax error or a duplicate key, naming the line"],
            example: #"local doc = yaml.load(fs.read("image.yml"), "image.yml")"#)

        public static let section = APISection("YAML", namespace: Namespace("yaml", "YAML text"), [load])
    }
}
