#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import Yams

/// json_encode, json_decode, yaml_load.
extension Runtime {
    func installData() {
        lua.define(API.Json.encode) { call in
            let opts = Options(try call.optTable(2, "options"), context: call.name)
            return [.string(try JSON.encode(call[1], pretty: try opts.bool("pretty") ?? false))]
        }
        lua.define(API.Json.decode) { [unowned self] call in
            let v = try JSON.decode(try call.string(1, "JSON text"))
            self.secrets.collect(from: v)
            return [v]
        }
        lua.define(API.Yaml.load) { [unowned self] call in
            let text = try call.string(1, "YAML text")
            let name = try call.optString(2, "source name") ?? "YAML"
            let v = try YAML.load(text, source: name)
            self.secrets.collect(from: v)
            return [v]
        }
    }
}

/// YAML text → Lua values, with duplicate keys reported by line.
///
/// Limits are checked before and during decoding, so hostile input fails as bad input instead
/// of exhausting memory: the text's size, and the number of values it decodes to (an alias
/// bomb is a few hundred bytes whose anchors expand to billions of values).
public enum YAML {
    /// Bytes of YAML text accepted (image.yml files are a few KiB).
    public static let maxBytes = 1 << 20
    /// Values (scalars, lists, mappings) one document may decode to, aliases expanded.
    public static let maxValues = 200_000
    /// Nesting depth of lists and mappings.
    public static let maxDepth = 64

    public static func load(_ text: String, source: String) throws -> LuaValue {
        guard text.utf8.count <= maxBytes else {
            throw HostError.usage("\(source): YAML text is \(text.utf8.count) bytes; at most \(maxBytes) are accepted")
        }
        var text = text
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }   // a UTF-8 byte order mark (editors on Windows)
        try checkNesting(text, source: source)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw HostError.usage("\(source): YAML syntax error: \(describe(e))")
        } catch {
            throw HostError.usage("\(source): YAML syntax error: \(error)")
        }
        guard let node else { return .nil }
        var budget = maxValues
        return try convert(node, source: source, depth: 0, budget: &budget)
    }

    /// Refuses flow collections nested deeper than `maxDepth` before the (recursive) parser sees
    /// them: `[[[[...` a million deep would overflow its stack. Block nesting needs indentation,
    /// which `maxBytes` bounds; `convert` checks the depth of both.
    static func checkNesting(_ text: String, source: String) throws {
        var depth = 0
        for b in text.utf8 {
            if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") {
                depth += 1
                if depth > maxDepth * 4 {   // brackets inside quoted strings count too: be generous
                    throw HostError.usage("\(source): YAML nested more than \(maxDepth) levels deep")
                }
            } else if (b == UInt8(ascii: "]") || b == UInt8(ascii: "}")) && depth > 0 {
                depth -= 1
            }
        }
    }

    static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)" + (context.map { " (\($0.text))" } ?? "")
        default:
            return "\(e)".split(separator: "\n").first.map(String.init) ?? "\(e)"
        }
    }

    static func convert(_ node: Node, source: String, depth: Int, budget: inout Int) throws -> LuaValue {
        budget -= 1
        guard budget >= 0 else {
            throw HostError.usage("\(source): YAML decodes to more than \(maxValues) values (aliases expanding without bound?)")
        }
        guard depth <= maxDepth else { throw HostError.usage("\(source): YAML nested more than \(maxDepth) levels deep") }
        switch node {
        case .scalar(let s):
            if s.style == .plain {
                if node.null != nil, s.string.isEmpty || ["~", "null", "Null", "NULL"].contains(s.string) { return .null }
                if let b = node.bool { return .bool(b) }
                if let i = node.int { return .int(Int64(i)) }
                if let d = node.float { return .number(d) }
            }
            return .string(s.string)
        case .sequence(let seq):
            var items: [LuaValue] = []
            for n in seq { items.append(try convert(n, source: source, depth: depth + 1, budget: &budget)) }
            return .table(LuaTable(array: items))
        case .mapping(let map):
            var t = LuaTable()
            var seen = Set<String>()
            for (k, v) in map {
                guard case .scalar(let ks) = k else { throw HostError.usage("\(source): only scalar mapping keys are supported") }
                if ks.string == "<<" && ks.style == .plain {
                    throw HostError.usage("\(source): line \((k.mark?.line).map(String.init) ?? "?"): merge keys ('<<') are not supported; write the keys out")
                }
                if !seen.insert(ks.string).inserted {
                    throw HostError.usage("\(source): line \((k.mark?.line).map(String.init) ?? "?"): duplicate key '\(ks.string)'")
                }
                t.fields[.string(ks.string)] = try convert(v, source: source, depth: depth + 1, budget: &budget)
            }
            return .table(t)
        case .alias:
            throw HostError.usage("\(source): YAML aliases are not supported")
        }
    }
}
