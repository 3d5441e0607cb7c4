#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// JSON text ⇄ Lua values. Objects encode with sorted keys; an empty table encodes as `{}`;
/// JSON null decodes to the `null` sentinel.
public enum JSON {
    public static func encode(_ v: LuaValue, pretty: Bool = false) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        let data = try enc.encode(try JSONValue(v))
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> LuaValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)).lua
        } catch let e as DecodingError {
            switch e {
            case .dataCorrupted(let ctx):
                throw HostError.usage("invalid JSON: \(ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription)")
            default: throw HostError.usage("invalid JSON: \(e)")
            }
        }
    }
}

enum JSONValue: Codable {
    case null, bool(Bool), int(Int64), double(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(_ v: LuaValue) throws {
        switch v {
        case .nil, .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .number(let d):
            guard d.isFinite else { throw HostError.usage("json.encode: \(d) has no JSON form") }
            self = .double(d)
        case .string(let s): self = .string(s)
        case .table(let t):
            if t.fields.isEmpty && !t.array.isEmpty {
                self = .array(try t.array.map(JSONValue.init))
            } else {
                var o: [String: JSONValue] = [:]
                for (i, x) in t.array.enumerated() { o[String(i + 1)] = try JSONValue(x) }
                for (k, x) in t.fields { o[k.description] = try JSONValue(x) }
                self = .object(o)
            }
        case .function, .userdata, .object, .pushable: throw   // .pushable only goes host → Lua
            HostError.usage("json.encode: a \(v.typeName) has no JSON form")
        }
    }

    var lua: LuaValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .array(let a): return .table(LuaTable(array: a.map(\.lua)))
        case .object(let o): return .table(LuaTable(o.mapValues(\.lua)))
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
