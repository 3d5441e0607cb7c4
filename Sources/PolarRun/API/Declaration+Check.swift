/// The checks every call of a declared primitive passes before its body runs: argument
/// count, argument types, and the keys and types of its options table. The body still reads
/// its arguments with `HostCall`'s accessors; after these checks they cannot fail on type.
extension Declaration {
    public func check(_ call: HostCall) throws {
        // a method's argument 1 is the handle itself: numbering starts after it
        try check(arguments: isMethod ? call.args.dropFirst() : call.args[...])
    }

    /// The checks on the arguments themselves (a method's without the handle).
    public func check(arguments passed: ArraySlice<LuaValue>) throws {
        // trailing nils are what Lua passes for absent arguments (`f(a, nil)`)
        var given = passed.count
        while given > 0 && passed[passed.startIndex + given - 1].isNil { given -= 1 }
        if rest == nil && given > args.count {
            throw HostError.usage("\(name): takes at most \(args.count) argument\(args.count == 1 ? "" : "s") (\(signature)), got \(given)")
        }
        for (i, a) in args.enumerated() {
            let v = i < passed.count ? passed[passed.startIndex + i] : .nil
            if v.isNil && a.optional { continue }
            guard a.type.accepts(v) else {
                throw HostError.usage("\(name): argument \(i + 1) (\(a.name)) must be \(a.type.withArticle), got \(v.typeName)"
                    + (a.hint.map { ": \($0)" } ?? ""))
            }
            if let known = a.options, case .table(let t) = v { try checkOptions(t, known) }
            if let choices = a.choices, case .string(let text) = v, !choices.contains(text) {
                throw HostError.usage("\(name): argument \(i + 1) (\(a.name)) must be one of \(choices.joined(separator: ", ")), got '\(text)'")
            }
        }
        if let r = rest, r.type != .any {
            for i in args.count..<given where !r.type.accepts(passed[passed.startIndex + i]) {
                throw HostError.usage("\(name): argument \(i + 1) (\(r.name)) must be \(r.type.withArticle), got \(passed[passed.startIndex + i].typeName)")
            }
        }
    }

    /// Unknown keys are refused (a typo must not be silently ignored), and each known key's
    /// value must convert the way `Options` reads it.
    func checkOptions(_ t: LuaTable, _ known: [Option]) throws {
        if !t.array.isEmpty { throw HostError.usage("\(name): options must be a table of key = value") }
        for (k, v) in t.fields {
            guard case .string(let key) = k, let o = known.first(where: { $0.name == key }) else {
                throw HostError.usage("\(name): unknown option '\(k)' (known: \(known.map(\.name).sorted().joined(separator: ", ")))")
            }
            guard o.type.acceptsOption(v) else {
                throw HostError.usage("\(name): option '\(key)' must be \(o.type.withArticle), got \(v.typeName)")
            }
            if let choices = o.choices, case .string(let text) = v, !choices.contains(text) {
                throw HostError.usage("\(name): option '\(key)' must be one of \(choices.joined(separator: ", ")), got '\(text)'")
            }
        }
        for o in known where o.required && t[o.name].isNil {
            throw HostError.usage("\(name): option '\(o.name)' is required (\(o.doc))")
        }
    }
}

extension LuaType {
    /// An argument of this type (strict, as Lua's own `luaL_check*` minus number→string).
    func accepts(_ v: LuaValue) -> Bool {
        switch self {
        case .any: return true
        case .string: return v.stringValue != nil
        case .integer: return v.intValue != nil
        case .number: return v.doubleValue != nil
        case .boolean: return v.boolValue != nil
        case .table: return v.tableValue != nil
        case .function: if case .function = v { return true } else { return false }
        }
    }

    /// An option value: also the spellings `Options` converts (`timeout = "30"`,
    /// `check = "no"`), since inputs arrive as strings.
    func acceptsOption(_ v: LuaValue) -> Bool {
        if accepts(v) { return true }
        switch (self, v) {
        case (.string, .int): return true
        case (.integer, .string(let s)): return Int(s) != nil
        case (.number, .string(let s)): return Double(s) != nil
        case (.boolean, .string(let s)): return ["true", "yes", "on", "1", "false", "no", "off", "0"].contains(s.lowercased())
        default: return false
        }
    }
}

extension Declaration {
    /// A handle's method behind this declaration's checks, for `HostObject.methods()`.
    public func method(_ body: @escaping HostFunction) -> (String, HostFunction) {
        let decl = self
        return (method ?? name, { call in
            try decl.check(call)
            return try body(call)
        })
    }
}
