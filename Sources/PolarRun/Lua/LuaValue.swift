/// A Lua value copied into Swift. Tables are copied deeply; functions are kept
/// as registry references so Swift can call them back later.
public enum LuaValue {
    case `nil`
    /// The `null` sentinel: SQL NULL and JSON null, distinct from Lua's nil.
    case null
    case bool(Bool)
    case int(Int64)
    case number(Double)
    case string(String)
    case table(LuaTable)
    case function(LuaRef)
    /// A userdata (host handle) argument; read it with `HostCall.object(_:as:)`.
    case userdata
    /// A host handle to return to Lua (becomes a userdata with the handle's methods).
    case object(any HostObject)
    /// A result that builds its Lua tables itself when pushed (a query's rows, straight from
    /// libpq's buffer: a Swift copy of a million rows in between costs ~400 bytes a row).
    case pushable(any LuaPushable)

    /// The Lua type name, for error messages.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .table, .pushable: return "table"
        case .function: return "function"
        case .userdata, .object: return "userdata"
        }
    }

    public var isNil: Bool { if case .nil = self { return true } else { return false } }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var tableValue: LuaTable? { if case .table(let t) = self { return t } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// Integers, and floats with an exact integer value.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .number(let d) where d == d.rounded() && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }
}

/// A value that pushes itself onto the Lua stack (one value, using at most 4 stack slots).
public protocol LuaPushable: AnyObject {
    func push(_ L: OpaquePointer)
}

/// A key of a Lua table that Swift can hold (functions and tables as keys are not bridged).
public enum LuaKey: Hashable, Comparable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case number(Double)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .number(let d): return String(d)
        case .bool(let b): return String(b)
        }
    }

    public static func < (a: LuaKey, b: LuaKey) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.string(let x), .string(let y)): return x < y
        default: return a.rank < b.rank || (a.rank == b.rank && a.description < b.description)
        }
    }

    private var rank: Int {
        switch self { case .int: return 0; case .number: return 1; case .string: return 2; case .bool: return 3 }
    }
}

/// A Lua table: its sequence part `1...n` in `array`, every other key in `fields`.
public struct LuaTable {
    public var array: [LuaValue]
    public var fields: [LuaKey: LuaValue]

    public init(array: [LuaValue] = [], fields: [LuaKey: LuaValue] = [:]) {
        self.array = array
        self.fields = fields
    }

    /// A table with string keys.
    public init(_ dict: [String: LuaValue]) {
        self.array = []
        self.fields = Dictionary(uniqueKeysWithValues: dict.map { (LuaKey.string($0.key), $0.value) })
    }

    public subscript(key: String) -> LuaValue {
        get { fields[.string(key)] ?? .nil }
        set {
            if case .nil = newValue { fields[.string(key)] = nil } else { fields[.string(key)] = newValue }
        }
    }

    public var isEmpty: Bool { array.isEmpty && fields.isEmpty }

    /// True when the table has only a sequence part (or nothing): JSON encodes it as an array.
    public var isSequence: Bool { fields.isEmpty && !array.isEmpty }

    /// String-keyed entries in key order (other keys are skipped).
    public var stringFields: [(String, LuaValue)] {
        fields.compactMap { k, v in if case .string(let s) = k { return (s, v) } else { return nil } }
            .sorted { $0.0 < $1.0 }
    }
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension LuaValue {
    /// Convenience for building results: `.string` of an optional, `nil` when absent.
    public static func optional(_ s: String?) -> LuaValue { s.map { .string($0) } ?? .nil }
    /// A sequence of strings.
    public static func list(_ items: [String]) -> LuaValue { .table(LuaTable(array: items.map { .string($0) })) }
    /// A table with string keys.
    public static func record(_ dict: [String: LuaValue]) -> LuaValue { .table(LuaTable(dict)) }
}
