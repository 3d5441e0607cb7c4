#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The secrets of one run: declared `secret` inputs, values of password-like keys, and
/// anything a runbook marks with `secret(value)`. Every text that leaves the process
/// (log lines, errors, `--json`, stdout) passes through `mask`.
public final class Secrets {
    private var values: [String] = []
    public static let placeholder = "******"

    public init() {}

    /// Secrets shorter than this are not masked: masking every "p" or "1" in the output would
    /// garble logs and errors while hiding nothing a guess would not find.
    public static let minimumLength = 3

    /// Remembers a secret value (values shorter than `minimumLength` are ignored).
    public func add(_ value: String) {
        guard value.count >= Secrets.minimumLength, !values.contains(value) else { return }
        // the forms a secret takes on its way out, whatever bytes it holds: as written, inside a
        // JSON string (a newline becomes \n), inside an SQL literal (a quote is doubled), and as
        // a one-line log message (line breaks folded) — so no byte of it decides whether it is masked
        var forms = [value]
        if let json = try? JSON.encode(.string(value)), json.count >= 2 { forms.append(String(json.dropFirst().dropLast())) }
        forms.append(value.replacingAll("'", with: "''"))
        forms.append(value.replacingAll("\\", with: "\\\\").replacingAll("'", with: "''"))
        forms.append(value.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingBlanks() }.joined(separator: " "))
        for f in forms where f.count >= Secrets.minimumLength && !values.contains(f) { values.append(f) }
        values.sort { $0.count > $1.count }   // longest first, so a secret containing another is masked whole
    }

    public var isEmpty: Bool { values.isEmpty }

    /// Replaces every occurrence of every secret.
    public func mask(_ text: String) -> String {
        guard !values.isEmpty else { return text }
        var out = text
        for v in values where out.contains(v) {
            out = out.replacingAll(v, with: Secrets.placeholder)
        }
        return out
    }

    /// Whether a key names a secret by convention (`password`, `srv_opr_password`, `token` ...).
    public static func isSecretKey(_ key: String) -> Bool {
        let k = key.lowercased()
        return ["password", "passwd", "secret", "token", "pwd"].contains { k.contains($0) }
    }

    /// Adds the values of password-like keys found anywhere in `value`.
    public func collect(from value: LuaValue) {
        guard case .table(let t) = value else { return }
        for (k, v) in t.fields {
            if case .string(let key) = k, Secrets.isSecretKey(key), case .string(let s) = v { add(s) }
            collect(from: v)
        }
        for v in t.array { collect(from: v) }
    }
}

extension String {
    /// Replaces every occurrence of `target` (non-empty) without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            result += rest[..<r.lowerBound]
            result += replacement
            rest = rest[r.upperBound...]
        }
        result += rest
        return result
    }
}
