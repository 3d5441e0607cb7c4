/// The runbook API as declared: every section (one catalog file each, `API+*.swift`) in the
/// order the reference in docs/primitives.md shows them.
public enum API {
    public static let sections: [APISection] = [
        Sql.section, Conf.section, PgCtl.section, Fs.section, Proc.section, Git.section,
        Images.section, Json.section, Yaml.section, Log.section, Polarrun.section, Handles.section,
    ]

    /// Every primitive.
    public static var all: [Declaration] { sections.flatMap(\.declarations) }

    /// Every namespace table.
    public static var namespaces: [Namespace] { sections.compactMap(\.namespace) }

    /// The globals a runbook sees besides Lua's own: the verbs and the namespaces.
    public static var globals: [String] {
        var seen = Set<String>()
        return all.filter { $0.receiver == nil }.map { $0.namespace ?? $0.name }.filter { seen.insert($0).inserted }
    }

    /// The declaration named `name` (`proc.run`); nil when there is none.
    public static func declaration(_ name: String) -> Declaration? { all.first { $0.name == name } }
}
