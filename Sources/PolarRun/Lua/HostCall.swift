import CLua
import LuaShim

/// The arguments of one call from Lua into a host function, with typed accessors
/// whose errors name the function and the argument.
public struct HostCall {
    public let state: LuaState
    /// The function's Lua name, e.g. `sql` or `log.info`.
    public let name: String
    /// The arguments, 1-based in Lua, 0-based here.
    public let args: [LuaValue]
    /// 1 when the Lua stack holds a callable table before the arguments.
    private let stackOffset: Int32

    init(state: LuaState, name: String, dropsSelf: Bool = false) throws {
        self.state = state
        self.name = name
        let n = lua_gettop(state.L)
        let first: Int32 = dropsSelf ? 2 : 1
        self.stackOffset = first - 1
        var args: [LuaValue] = []
        args.reserveCapacity(Int(n))
        if n >= first { for i in first...n { args.append(try state.value(at: i)) } }
        self.args = args
    }

    /// The argument at Lua position `i` (1-based); nil when absent.
    public subscript(i: Int) -> LuaValue { i >= 1 && i <= args.count ? args[i - 1] : .nil }

    private func bad(_ i: Int, _ what: String, _ expected: String) -> HostError {
        .usage("\(name): argument \(i) (\(what)) must be \(expected), got \(self[i].typeName)")
    }

    public func string(_ i: Int, _ what: String) throws -> String {
        guard let s = self[i].stringValue else { throw bad(i, what, "a string") }
        return s
    }

    public func optString(_ i: Int, _ what: String) throws -> String? {
        if self[i].isNil { return nil }
        return try string(i, what)
    }

    public func table(_ i: Int, _ what: String) throws -> LuaTable {
        guard let t = self[i].tableValue else { throw bad(i, what, "a table") }
        return t
    }

    public func optTable(_ i: Int, _ what: String) throws -> LuaTable {
        if self[i].isNil { return LuaTable() }
        return try table(i, what)
    }

    public func number(_ i: Int, _ what: String) throws -> Double {
        guard let d = self[i].doubleValue else { throw bad(i, what, "a number") }
        return d
    }

    public func function(_ i: Int, _ what: String) throws -> LuaRef {
        guard case .function(let f) = self[i] else { throw bad(i, what, "a function") }
        return f
    }

    /// The host object at `i` (e.g. `self` of a method call).
    public func object<T: HostObject>(_ i: Int, as type: T.Type) throws -> T {
        guard let box = sl_object_box(state.L, Int32(i) + stackOffset, T.metatableName) else {
            throw HostError.usage("\(name): argument \(i) must be an open \(T.typeLabel)")
        }
        return Unmanaged<ObjectBox>.fromOpaque(box).takeUnretainedValue().object as! T
    }
}

/// Typed reads of option tables, with errors naming the function and the key.
public struct Options {
    public let table: LuaTable
    public let context: String

    public init(_ table: LuaTable, context: String) {
        self.table = table
        self.context = context
    }

    /// Whether the option is given (not nil).
    public func has(_ key: String) -> Bool { !table[key].isNil }

    private func bad(_ key: String, _ expected: String) -> HostError {
        .usage("\(context): option '\(key)' must be \(expected), got \(table[key].typeName)")
    }

    public func string(_ key: String) throws -> String? {
        let v = table[key]
        if v.isNil { return nil }
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: throw bad(key, "a string")
        }
    }

    public func int(_ key: String) throws -> Int? {
        let v = table[key]
        if v.isNil { return nil }
        if case .string(let s) = v, let i = Int(s) { return i }
        guard let i = v.intValue else { throw bad(key, "an integer") }
        return Int(i)
    }

    public func double(_ key: String) throws -> Double? {
        let v = table[key]
        if v.isNil { return nil }
        if case .string(let s) = v, let d = Double(s) { return d }
        guard let d = v.doubleValue else { throw bad(key, "a number") }
        return d
    }

    public func bool(_ key: String) throws -> Bool? {
        let v = table[key]
        if v.isNil { return nil }
        if case .string(let s) = v {
            switch s.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: break
            }
        }
        guard let b = v.boolValue else { throw bad(key, "a boolean") }
        return b
    }

    public func table(_ key: String) throws -> LuaTable? {
        let v = table[key]
        if v.isNil { return nil }
        guard let t = v.tableValue else { throw bad(key, "a table") }
        return t
    }

    /// A list of strings (a sequence table).
    public func strings(_ key: String) throws -> [String]? {
        guard let t = try table(key) else { return nil }
        return try t.array.map { v in
            switch v {
            case .string(let s): return s
            case .int(let i): return String(i)
            default: throw bad(key, "a list of strings")
            }
        }
    }

    /// A table of string → string (numbers and booleans are converted).
    public func stringMap(_ key: String) throws -> [String: String]? {
        guard let t = try table(key) else { return nil }
        var out: [String: String] = [:]
        for (k, v) in t.fields {
            guard case .string(let name) = k else { throw bad(key, "a table with string keys") }
            switch v {
            case .string(let s): out[name] = s
            case .int(let i): out[name] = String(i)
            case .number(let d): out[name] = String(d)
            case .bool(let b): out[name] = b ? "true" : "false"
            default: throw bad(key, "a table of strings")
            }
        }
        return out
    }

    /// Rejects keys the function does not know (a typo should not be silently ignored).
    public func allow(_ keys: Set<String>) throws {
        for (k, _) in table.fields {
            guard case .string(let s) = k, keys.contains(s) else {
                throw HostError.usage("\(context): unknown option '\(k)' (known: \(keys.sorted().joined(separator: ", ")))")
            }
        }
        if !table.array.isEmpty { throw HostError.usage("\(context): options must be a table of key = value") }
    }
}
