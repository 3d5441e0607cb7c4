#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// One declared input of a runbook: `name = {type=, required=, default=, secret=, enum=, desc=}`.
public struct InputSpec {
    public enum Kind: String, CaseIterable { case string, integer, number, boolean, json, list }

    public var name: String
    public var kind: Kind
    public var required: Bool
    public var defaultValue: LuaValue
    public var secret: Bool
    public var choices: [String]?
    public var description: String

    static let keys: Set<String> = ["type", "required", "default", "secret", "enum", "desc"]

    /// Reads the table given to `inputs{}`; a malformed declaration is the runbook author's usage error.
    public static func parse(_ spec: LuaTable) throws -> [InputSpec] {
        var out: [InputSpec] = []
        for (key, value) in spec.fields {
            guard case .string(let name) = key else { throw HostError.usage("polarrun.inputs: input names must be strings, got \(key)") }
            guard case .table(let t) = value else {
                throw HostError.usage("polarrun.inputs: '\(name)' must be declared as a table such as {type=\"string\"}")
            }
            let o = Options(t, context: "polarrun.inputs: '\(name)'")
            try o.allow(keys)
            let typeName = try o.string("type") ?? "string"
            guard let kind = Kind(rawValue: typeName) else {
                throw HostError.usage("polarrun.inputs: '\(name)' has unknown type '\(typeName)' (one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            out.append(InputSpec(name: name, kind: kind, required: try o.bool("required") ?? false,
                                 defaultValue: t["default"], secret: try o.bool("secret") ?? Secrets.isSecretKey(name),
                                 choices: try o.strings("enum"), description: try o.string("desc") ?? ""))
        }
        if !spec.array.isEmpty { throw HostError.usage("polarrun.inputs: declare inputs as name = {type=...}, not as a list") }
        return out.sorted { $0.name < $1.name }
    }

    /// Checks and converts the given inputs; every problem is reported at once.
    public static func validate(_ given: LuaTable, against specs: [InputSpec], secrets: Secrets) throws -> LuaTable {
        var problems: [String] = []
        var out = LuaTable()
        let known = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        for (key, _) in given.fields {
            guard case .string(let k) = key else { continue }
            if known[k] == nil {
                let hint = closest(k, in: Array(known.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                problems.append("unknown input '\(k)'\(hint)")
            }
        }
        for spec in specs {
            var v = given[spec.name]
            if spec.secret, case .string(let s) = v { secrets.add(s) }
            if v.isNil {
                if spec.required { problems.append("missing required input '\(spec.name)' (\(spec.kind.rawValue))"); continue }
                v = spec.defaultValue
                if v.isNil { continue }
            }
            do {
                let converted = try convert(v, to: spec)
                if let choices = spec.choices, case .string(let s) = converted, !choices.contains(s) {
                    problems.append("input '\(spec.name)' must be one of \(choices.joined(separator: ", ")), got '\(spec.secret ? Secrets.placeholder : s)'")
                    continue
                }
                out[spec.name] = converted
            } catch let e as HostError {
                problems.append(e.message)
            }
        }
        if !problems.isEmpty {
            throw HostError.usage(problems.count == 1 ? "invalid input: \(problems[0])"
                : "invalid inputs:\n  - " + problems.joined(separator: "\n  - "))
        }
        return out
    }

    static func convert(_ v: LuaValue, to spec: InputSpec) throws -> LuaValue {
        let shown: String = spec.secret ? Secrets.placeholder : {
            if case .string(let s) = v { return "'\(s)'" } else { return v.typeName }
        }()
        func bad(_ expected: String) -> HostError { .usage("input '\(spec.name)' must be \(expected), got \(shown)") }
        switch spec.kind {
        case .string:
            switch v {
            case .string: return v
            case .int(let i): return .string(String(i))
            case .number(let d): return .string(String(d))
            default: throw bad("a string")
            }
        case .integer:
            if let i = v.intValue { return .int(i) }
            // exactly digits: " 1" or "1 " is a malformed request, not a privilege code
            if case .string(let s) = v, let i = Int64(s) { return .int(i) }
            throw bad("an integer")
        case .number:
            if let d = v.doubleValue { return .number(d) }
            if case .string(let s) = v, let d = Double(s), d.isFinite { return .number(d) }
            throw bad("a number")
        case .boolean:
            if case .bool = v { return v }
            if case .string(let s) = v {
                switch s.lowercased() {
                case "true", "yes", "on", "1": return .bool(true)
                case "false", "no", "off", "0": return .bool(false)
                default: break
                }
            }
            throw bad("a boolean (true/false)")
        case .json:
            if case .string(let s) = v {
                do { return try JSON.decode(s) } catch { throw HostError.usage("input '\(spec.name)' is not valid JSON: \(error)") }
            }
            if case .table = v { return v }
            throw bad("JSON text")
        case .list:
            if case .table = v { return v }
            if case .string(let s) = v {
                return .list(s.split(separator: ",").map { $0.trimmingBlanks() }.filter { !$0.isEmpty })
            }
            throw bad("a comma-separated list")
        }
    }

    /// A text listing of the inputs, for `polarrun --describe RUNBOOK`.
    public static func describe(_ specs: [InputSpec]) -> String {
        if specs.isEmpty { return "This runbook takes no inputs." }
        var lines = ["Inputs (give them as key=value):"]
        for s in specs {
            var attrs = [s.kind.rawValue]
            if s.required { attrs.append("required") }
            if s.secret { attrs.append("secret") }
            if let c = s.choices { attrs.append("one of: " + c.joined(separator: "|")) }
            if !s.defaultValue.isNil, !s.secret {
                let d: String
                switch s.defaultValue {
                case .string(let x): d = x
                case .int(let i): d = String(i)
                case .number(let n): d = String(n)
                case .bool(let b): d = String(b)
                default: d = s.defaultValue.typeName
                }
                attrs.append("default: \(d)")
            }
            lines.append("  \(s.name) (\(attrs.joined(separator: ", ")))" + (s.description.isEmpty ? "" : "\n      \(s.description)"))
        }
        return lines.joined(separator: "\n")
    }

    /// The declared name closest to a misspelt one (edit distance ≤ 2).
    static func closest(_ name: String, in names: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var prev = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var cur = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(1, b.count) where !b.isEmpty {
                    cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                prev = cur
            }
            return prev[b.count]
        }
        return names.map { ($0, distance(Array(name), Array($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }
}
