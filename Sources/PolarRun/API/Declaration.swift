/// One primitive of the runbook API, declared once: the host registers it from this
/// (`LuaState.define`), checks every call against it before the body runs, and
/// docs/primitives.md, .luacheckrc and the LuaLS definition file are generated from it.
/// A primitive cannot exist without one: DeclarationTests walks the live globals.
public struct Declaration: Sendable {
    /// `conf_set` (a global), `sql.connect` (a namespace's field), `sql` with `callable`
    /// (the namespace table itself is called), or `process:wait` (a method of a handle).
    public let name: String
    public let summary: String
    public let args: [Arg]
    /// Extra arguments of any number (`log.info(...)`); nil: at most `args.count`.
    public let rest: Arg?
    public let returns: [Result]
    /// Error kinds and when they happen ("usage: ...").
    public let errors: [String]
    public let example: String
    /// The namespace table is the function (`sql(...)`, `pg_ctl(...)`).
    public let callable: Bool
    /// Written in Lua by the prelude, which checks its calls against this through the host.
    public let inPrelude: Bool
    /// A handle's method (`process:wait`): argument 1 of a call is the handle.
    public let isMethod: Bool

    public init(_ name: String, _ summary: String, args: [Arg] = [], rest: Arg? = nil, returns: [Result] = [],
                errors: [String] = [], example: String, callable: Bool = false, inPrelude: Bool = false) {
        self.name = name
        self.summary = summary
        self.args = args
        self.rest = rest
        self.returns = returns
        self.errors = errors
        self.example = example
        self.callable = callable
        self.inPrelude = inPrelude
        self.isMethod = name.contains(":")
    }

    /// The handle type of a method (`process` of `process:wait`), nil for a function.
    public var receiver: String? {
        guard let colon = name.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return String(name[..<colon])
    }

    /// The method's name (`wait` of `process:wait`).
    public var method: String? {
        guard let colon = name.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return String(name[name.utf8.index(after: colon)...])
    }

    /// The namespace part of the name (`sql` of `sql.connect`), nil for a global or a method.
    public var namespace: String? {
        if callable { return name }
        if receiver != nil { return nil }
        guard let dot = name.utf8.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        return String(name[..<dot])
    }

    /// The name inside its namespace (`connect` of `sql.connect`).
    public var field: String? {
        guard !callable, receiver == nil, let dot = name.utf8.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        return String(name[name.utf8.index(after: dot)...])
    }

    /// `"a"|"b"`: the LuaLS type of a string that is one of `choices`.
    static func literalUnion(_ choices: [String]) -> String { choices.map { "\"\($0)\"" }.joined(separator: "|") }

    /// `proc.run(argv, opts?)`.
    public var signature: String {
        var parts = args.map { $0.optional ? "\($0.name)?" : $0.name }
        if rest != nil { parts.append("...") }
        return "\(name)(\(parts.joined(separator: ", ")))"
    }
}

/// The Lua types a declaration names; `annotation` in `Arg`/`Option` refines them for
/// editors (`string[]`, `table<string, string>`).
public enum LuaType: String, Sendable {
    case string, integer, number, boolean, table, function, any

    /// "a string", "an integer".
    var withArticle: String {
        switch self {
        case .integer: return "an integer"
        case .any: return "a value"
        default: return "a \(rawValue)"
        }
    }
}

extension Declaration {
    /// One positional argument.
    public struct Arg: Sendable {
        public let name: String
        public let type: LuaType
        public let optional: Bool
        public let doc: String
        /// The LuaLS type when it says more than `type` (`string[]`).
        public let annotation: String?
        /// When this argument is an options table: its keys (anything else is refused).
        public let options: [Option]?
        /// Said after a type error, when the type alone does not tell what is wanted.
        public let hint: String?
        /// The only strings it may be (`pg_ctl`'s action); nil: any.
        public let choices: [String]?

        public init(_ name: String, _ type: LuaType, _ doc: String, optional: Bool = false, annotation: String? = nil,
                    options: [Option]? = nil, hint: String? = nil, choices: [String]? = nil) {
            self.hint = hint
            self.choices = choices
            self.name = name
            self.type = type
            self.optional = optional
            self.doc = doc
            self.annotation = annotation ?? choices.map(Declaration.literalUnion)
            self.options = options
        }

        /// An optional argument.
        public static func opt(_ name: String, _ type: LuaType, _ doc: String, annotation: String? = nil,
                               options: [Option]? = nil) -> Arg {
            Arg(name, type, doc, optional: true, annotation: annotation, options: options)
        }

        /// The usual trailing `opts` table.
        public static func opts(_ options: [Option], required: Bool = false) -> Arg {
            Arg("opts", .table, "options", optional: !required, options: options)
        }
    }

    /// One key of an options table.
    public struct Option: Sendable {
        public let name: String
        public let type: LuaType
        public let doc: String
        public let annotation: String?
        /// The call is refused without it (`git_clone`'s `dest`).
        public let required: Bool
        /// The only strings it may be (`pg_ctl`'s mode); nil: any.
        public let choices: [String]?

        public init(_ name: String, _ type: LuaType, _ doc: String, annotation: String? = nil, required: Bool = false,
                    choices: [String]? = nil) {
            self.name = name
            self.type = type
            self.doc = doc
            self.annotation = annotation ?? choices.map(Declaration.literalUnion)
            self.required = required
            self.choices = choices
        }
    }

    /// One return value.
    public struct Result: Sendable {
        /// The LuaLS type (`{dir: string, commit: string}`, `string[]`, `boolean`).
        public let annotation: String
        public let doc: String

        public init(_ annotation: String, _ doc: String) {
            self.annotation = annotation
            self.doc = doc
        }
    }
}

/// A namespace table (`fs`, `proc`, `polarrun` …): what it is for, and the plain values it
/// holds besides functions (`polarrun.version`, `sql.null`).
public struct Namespace: Sendable {
    public let name: String
    public let summary: String
    public let values: [Value]

    public init(_ name: String, _ summary: String, values: [Value] = []) {
        self.name = name
        self.summary = summary
        self.values = values
    }

    public struct Value: Sendable {
        public let name: String
        public let annotation: String
        public let doc: String

        public init(_ name: String, _ annotation: String, _ doc: String) {
            self.name = name
            self.annotation = annotation
            self.doc = doc
        }
    }
}

/// One catalog file's worth of the API: a heading in the reference, the namespace it
/// describes (if any) and its primitives.
public struct APISection: Sendable {
    public let title: String
    public let namespace: Namespace?
    public let declarations: [Declaration]

    public init(_ title: String, namespace: Namespace? = nil, _ declarations: [Declaration]) {
        self.title = title
        self.namespace = namespace
        self.declarations = declarations
    }
}
