/// The generated parts of docs/primitives.md (the reference: one section per primitive) and of
/// .luacheckrc (the globals and their fields), both written by `polarrun --docs FILE`.
extension API {
    /// The reference in Markdown.
    public static func markdownReference() -> String {
        var out = "## Reference\n\nOne entry per primitive, generated from its declaration. Every call is checked against it before the primitive runs: a missing or mistyped argument, an extra one, or an unknown option is a `usage` error naming it (exit status 2).\n"
        for section in sections {
            out += "\n### \(section.title)\n"
            if let ns = section.namespace {
                out += "\n`\(ns.name)`: \(ns.summary).\n"
                if !ns.values.isEmpty {
                    out += "\n| value | type | |\n|---|---|---|\n"
                    for v in ns.values { out += "| `\(ns.name).\(v.name)` | \(code(v.annotation)) | \(cell(v.doc)) |\n" }
                }
            }
            if section.declarations.contains(where: { $0.receiver != nil }) {
                out += "\nHandles are values with methods, called as `handle:method(...)`:\n\n"
                for t in Handles.types { out += "- `\(t.label)` (`\(t.luaClass)`): \(t.summary)\n" }
            }
            for d in section.declarations { out += "\n" + entry(d) }
        }
        return out
    }

    private static func entry(_ d: Declaration) -> String {
        var out = "#### `\(d.signature)`\n\n\(d.summary)\n"
        if !d.args.isEmpty || d.rest != nil {
            out += "\n| argument | type | |\n|---|---|---|\n"
            for a in d.args {
                out += "| `\(a.name)` | \(code(a.annotation ?? a.type.rawValue))\(a.optional ? ", optional" : "") | \(cell(a.doc)) |\n"
            }
            if let r = d.rest { out += "| `...` | \(code(r.annotation ?? r.type.rawValue)) | \(cell(r.doc)) |\n" }
        }
        for a in d.args {
            guard let opts = a.options else { continue }
            out += "\n| option of `\(a.name)` | type | |\n|---|---|---|\n"
            for o in opts {
                out += "| `\(o.name)` | \(code(o.annotation ?? o.type.rawValue))\(o.required ? ", required" : "") | \(cell(o.doc)) |\n"
            }
        }
        if !d.returns.isEmpty {
            out += "\nReturns " + d.returns.map { r in "`\(r.annotation)`" + (r.doc.isEmpty ? "" : ": \(r.doc)") }.joined(separator: "; and ") + ".\n"
        }
        if !d.errors.isEmpty { out += "\nErrors: " + d.errors.joined(separator: "; ") + ".\n" }
        if d.inPrelude { out += "\n(Written in Lua by the prelude.)\n" }
        return out + "\n```lua\n\(d.example)\n```\n"
    }

    /// A type in a table cell: code, with `|` escaped so it does not split the cell (GFM).
    private static func code(_ s: String) -> String { "`" + s.replacing("|", with: "\\|") + "`" }
    private static func cell(_ s: String) -> String { s.replacing("|", with: "\\|") }

    /// `read_globals` for luacheck: each global, and each namespace's fields, so `fs.raed`
    /// is reported before a run.
    public static func luacheckGlobals() -> String {
        var out = "read_globals = {\n"
        for name in globals {
            let fields = all.filter { !$0.callable && $0.namespace == name }.compactMap(\.field)
                + (namespaces.first { $0.name == name }?.values.map(\.name) ?? [])
            if fields.isEmpty { out += "  \(name) = {},\n"; continue }
            let values = namespaces.first { $0.name == name }?.values ?? []
            let defs = fields.sorted().map { f in
                // the inputs are the runbook's own: any field, and `polarrun.inputs` replaces the table
                if name == "polarrun" && f == "params" { return "params = {read_only = false, other_fields = true}" }
                // a record value (`polarrun.defaults`): its keys, so a misspelt one is reported too
                if let v = values.first(where: { $0.name == f }), v.annotation.hasPrefix("{") {
                    let keys = recordKeys(v.annotation)
                    if !keys.isEmpty { return "\(f) = {fields = {" + keys.map { "\($0) = {}" }.joined(separator: ", ") + "}}" }
                }
                return "\(f) = {}"
            }
            out += "  \(name) = {fields = {\n" + defs.map { "    \($0),\n" }.joined() + "  }},\n"
        }
        return out + "}\n"
    }

    /// The keys of a flat LuaLS record type `{a: string, b: integer?}`, sorted.
    static func recordKeys(_ annotation: String) -> [String] {
        let inner = annotation.dropFirst().dropLast()
        return inner.split(separator: ",").compactMap { part in
            let key = part.split(separator: ":").first.map { $0.trimmingBlanks() } ?? ""
            return key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) && !key.isEmpty ? key : nil
        }.sorted()
    }
}
