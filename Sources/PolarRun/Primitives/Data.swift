import Foundation
import Yams

/// json_encode, json_decode, yaml_load.
extension Runtime {
    func installData() {
        lua.setGlobal("json_encode") { call in
            let opts = Options(try call.optTable(2, "options"), context: "json_encode")
            try opts.allow(["pretty"])
            return [.string(try JSON.encode(call[1], pretty: try opts.bool("pretty") ?? false))]
        }
        lua.setGlobal("json_decode") { [unowned self] call in
            let v = try JSON.decode(try call.string(1, "JSON text"))
            self.secrets.collect(from: v)
            return [v]
        }
        lua.setGlobal("yaml_load") { [unowned self] call in
            let text = try call.string(1, "YAML text")
            let name = try call.optString(2, "source name") ?? "YAML"
            let v = try YAML.load(text, source: name)
            self.secrets.collect(from: v)
            return [v]
        }
    }
}

/// YAML text → Lua values, with duplicate keys reported by line.
public enum YAML {
    public static func load(_ text: String, source: String) throws -> LuaValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw HostError.usage("\(source): YAML syntax error: \(describe(e))")
        } catch {
            throw HostError.usage("\(source): YAML syntax error: \(error)")
        }
        guard let node else { return .nil }
        return try convert(node, source: source)
    }

    static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)" + (context.map { " (\($0.text))" } ?? "")
        default:
            return "\(e)".split(separator: "\n").first.map(String.init) ?? "\(e)"
        }
    }

    static func convert(_ node: Node, source: String) throws -> LuaValue {
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
            return .table(LuaTable(array: try seq.map { try convert($0, source: source) }))
        case .mapping(let map):
            var t = LuaTable()
            var seen = Set<String>()
            for (k, v) in map {
                guard case .scalar(let ks) = k else { throw HostError.usage("\(source): only scalar mapping keys are supported") }
                if !seen.insert(ks.string).inserted {
                    throw HostError.usage("\(source): line \((k.mark?.line).map(String.init) ?? "?"): duplicate key '\(ks.string)'")
                }
                t.fields[.string(ks.string)] = try convert(v, source: source)
            }
            return .table(t)
        case .alias:
            throw HostError.usage("\(source): YAML aliases are not supported")
        }
    }
}
