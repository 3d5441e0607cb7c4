import CLibYAML

/// YAML text → Lua values, with duplicate keys reported by line.
///
/// libyaml's event parser builds a small node tree (an alias is the anchored node itself, so
/// aliases expand when the tree is converted); plain scalars then resolve as YAML 1.1 does
/// (null, booleans, integers, floats), everything else stays a string. libyaml rather than a
/// Swift YAML package: those import Foundation, whose ICU data made up most of the binary.
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
        guard let root = try compose(text, source: source) else { return .nil }
        var budget = maxValues
        return try convert(root, source: source, depth: 0, budget: &budget)
    }

    /// Refuses flow collections nested deeper than `maxDepth` before the parser sees them
    /// (`[[[[...` a million deep). Block nesting needs indentation, which `maxBytes` bounds;
    /// `compose` and `convert` check the depth of both.
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

    // MARK: - Composing: libyaml events → nodes

    final class Node {
        enum Kind {
            /// `resolve`: a plain scalar without an explicit `!!str` tag, so `true`, `12`, `~` are typed.
            case scalar(String, resolve: Bool, plain: Bool)
            case sequence([Node])
            case mapping([(key: Node, value: Node)])
        }
        let kind: Kind
        let line: Int
        init(_ kind: Kind, line: Int) { self.kind = kind; self.line = line }
    }

    /// A collection being read: its items so far, and for a mapping the key waiting for its value.
    private struct Frame {
        var isMapping: Bool
        var anchor: String?
        var line: Int
        var items: [Node] = []
        var pairs: [(key: Node, value: Node)] = []
        var key: Node?
    }

    /// The single document in `text`, or nil when there is none (empty text, only comments).
    static func compose(_ text: String, source: String) throws -> Node? {
        var bytes = Array(text.utf8)
        let count = bytes.count
        bytes.append(0)   // a valid pointer even for empty text
        return try bytes.withUnsafeBufferPointer { buf -> Node? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) != 0 else { throw HostError.usage("\(source): cannot start the YAML parser (out of memory)") }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buf.baseAddress, count)

            var anchors: [String: Node] = [:]
            var stack: [Frame] = []
            var root: Node?
            var documents = 0

            func place(_ node: Node, anchor: String?) {
                if let anchor { anchors[anchor] = node }
                guard !stack.isEmpty else { root = node; return }
                if !stack[stack.count - 1].isMapping {
                    stack[stack.count - 1].items.append(node)
                } else if let key = stack[stack.count - 1].key {
                    stack[stack.count - 1].pairs.append((key, node))
                    stack[stack.count - 1].key = nil
                } else {
                    stack[stack.count - 1].key = node
                }
            }

            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) != 0 else { throw syntaxError(parser, source: source) }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                let at = "line \(line), column \(Int(event.start_mark.column) + 1)"
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return root
                case YAML_DOCUMENT_START_EVENT:
                    documents += 1
                    if documents > 1 {
                        throw HostError.usage("\(source): YAML syntax error: \(at): expected a single document, but found another document")
                    }
                case YAML_SCALAR_EVENT:
                    let s = event.data.scalar
                    let value = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
                    let tag = s.tag.map { String(cString: $0) }
                    let plain = s.style == YAML_PLAIN_SCALAR_STYLE
                    let resolve = plain && tag != "tag:yaml.org,2002:str"
                    place(Node(.scalar(value, resolve: resolve, plain: plain), line: line), anchor: s.anchor.map { String(cString: $0) })
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    guard stack.count < maxDepth else { throw HostError.usage("\(source): YAML nested more than \(maxDepth) levels deep") }
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                    stack.append(Frame(isMapping: event.type == YAML_MAPPING_START_EVENT, anchor: anchor.map { String(cString: $0) }, line: line))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    let f = stack.removeLast()
                    place(Node(f.isMapping ? .mapping(f.pairs) : .sequence(f.items), line: f.line), anchor: f.anchor)
                case YAML_ALIAS_EVENT:
                    let name = String(cString: event.data.alias.anchor)
                    guard let node = anchors[name] else {
                        throw HostError.usage("\(source): YAML syntax error: \(at): found undefined alias '\(name)'")
                    }
                    place(node, anchor: nil)
                default:
                    break   // stream start, document end
                }
            }
        }
    }

    /// libyaml's error as polarrun has always worded it: "line L, column C: problem (context)".
    static func syntaxError(_ p: yaml_parser_t, source: String) -> HostError {
        let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
        let detail: String
        switch p.error {
        case YAML_SCANNER_ERROR, YAML_PARSER_ERROR:
            let mark = "line \(Int(p.problem_mark.line) + 1), column \(Int(p.problem_mark.column) + 1)"
            detail = "\(mark): \(problem)" + (p.context.map { " (\(String(cString: $0)))" } ?? "")
        case YAML_READER_ERROR:
            detail = "\(problem) at byte \(p.problem_offset)"
        default:
            detail = problem
        }
        return HostError.usage("\(source): YAML syntax error: \(detail)")
    }

    // MARK: - Converting: nodes → Lua values

    static func convert(_ node: Node, source: String, depth: Int, budget: inout Int) throws -> LuaValue {
        budget -= 1
        guard budget >= 0 else {
            throw HostError.usage("\(source): YAML decodes to more than \(maxValues) values (aliases expanding without bound?)")
        }
        guard depth <= maxDepth else { throw HostError.usage("\(source): YAML nested more than \(maxDepth) levels deep") }
        switch node.kind {
        case .scalar(let s, let resolve, _):
            return resolve ? resolvePlain(s) : .string(s)
        case .sequence(let seq):
            var items: [LuaValue] = []
            items.reserveCapacity(seq.count)
            for n in seq { items.append(try convert(n, source: source, depth: depth + 1, budget: &budget)) }
            return .table(LuaTable(array: items))
        case .mapping(let pairs):
            var t = LuaTable()
            var seen = Set<String>()
            for (k, v) in pairs {
                guard case .scalar(let ks, _, let plain) = k.kind else {
                    throw HostError.usage("\(source): line \(k.line): only scalar mapping keys are supported")
                }
                if ks == "<<" && plain {
                    throw HostError.usage("\(source): line \(k.line): merge keys ('<<') are not supported; write the keys out")
                }
                if !seen.insert(ks).inserted {
                    throw HostError.usage("\(source): line \(k.line): duplicate key '\(ks)'")
                }
                t.fields[.string(ks)] = try convert(v, source: source, depth: depth + 1, budget: &budget)
            }
            return .table(t)
        }
    }

    /// A plain scalar's YAML 1.1 type: `~`/`null`/empty → null; true/false/yes/no/on/off (any
    /// case) → boolean; decimal, 0x, 0o, 0b and leading-0 octal integers (underscores allowed)
    /// → integer; decimal floats and .inf/.nan → number; anything else → string.
    static func resolvePlain(_ s: String) -> LuaValue {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        default: break
        }
        switch s.lowercased() {
        case "true", "yes", "on": return .bool(true)
        case "false", "no", "off": return .bool(false)
        case ".inf", "+.inf": return .number(.infinity)
        case "-.inf": return .number(-.infinity)
        case ".nan": return .number(.nan)
        default: break
        }
        guard let first = s.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+")
                || first == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return .string(s) }
        let digits = s.filter { $0 != "_" }
        if let i = integer(digits) { return .int(i) }
        // Double() alone would also take "inf", "nan" and hex floats: only decimal notation here.
        if digits.utf8.contains(where: { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
           digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || "+-.eE".utf8.contains($0) }),
           let d = Double(digits) {
            return .number(d)
        }
        return .string(s)
    }

    static func integer(_ t: String) -> Int64? {
        if t == "0" { return 0 }
        let negative = t.hasPrefix("-")
        let body = t.dropFirst(negative || t.hasPrefix("+") ? 1 : 0)
        guard !body.isEmpty, !body.hasPrefix("-"), !body.hasPrefix("+") else { return nil }
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where body.hasPrefix(prefix) {
            let rest = body.dropFirst(prefix.count)
            guard !rest.isEmpty, !rest.hasPrefix("-"), !rest.hasPrefix("+") else { return nil }
            return Int64((negative ? "-" : "") + rest, radix: radix)
        }
        return Int64(t)
    }
}
