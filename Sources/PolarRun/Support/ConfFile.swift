#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// A postgresql.conf-style file edited line by line: comments, blank lines and the order of
/// settings are kept; a changed setting is rewritten in place with its trailing comment.
public struct ConfFile {
    public private(set) var lines: [String]
    /// Whether the original ended with a newline.
    private var trailingNewline: Bool

    public init(text: String) {
        var l = text.components(separatedBy: "\n")
        trailingNewline = text.hasSuffix("\n")
        if trailingNewline { l.removeLast() }
        if text.isEmpty { l = [] }
        lines = l
    }

    public var text: String { lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n") }

    /// A parsed active setting line.
    struct Setting {
        var name: String
        var value: String
        var comment: String?
        var indent: String
    }

    /// Parses `name [=] value [# comment]`; nil for comments, blank and malformed lines.
    static func parse(_ line: String) -> Setting? {
        let chars = Array(line)
        var i = 0
        while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
        let indent = String(chars[0..<i])
        guard i < chars.count, chars[i].isLetter || chars[i] == "_" else { return nil }
        let nameStart = i
        while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "." { i += 1 }
        let name = String(chars[nameStart..<i])
        while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
        if i < chars.count, chars[i] == "=" { i += 1 }
        while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
        var value = ""
        if i < chars.count, chars[i] == "'" {
            var j = i + 1
            while j < chars.count {
                if chars[j] == "\\" { j += 2; continue }
                if chars[j] == "'" {
                    if j + 1 < chars.count, chars[j + 1] == "'" { j += 2; continue }
                    break
                }
                j += 1
            }
            guard j < chars.count else { return nil }
            value = String(chars[i...j])
            i = j + 1
        } else {
            let start = i
            while i < chars.count, chars[i] != "#", chars[i] != " ", chars[i] != "\t" { i += 1 }
            value = String(chars[start..<i])
        }
        while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
        var comment: String? = nil
        if i < chars.count {
            guard chars[i] == "#" else { return nil }
            comment = String(chars[i...])
        }
        return Setting(name: name, value: value, comment: comment, indent: indent)
    }

    /// The raw (still quoted) value of the last active line for `name`.
    public func rawValue(_ name: String) -> String? {
        for line in lines.reversed() {
            if let s = ConfFile.parse(line), s.name.lowercased() == name.lowercased() { return s.value }
        }
        return nil
    }

    /// The value of `name` with quotes removed, as PostgreSQL would read it.
    public func value(_ name: String) -> String? { rawValue(name).map(ConfFile.unquote) }

    /// Every active setting, in file order (a later line wins).
    public var settings: [(String, String)] {
        lines.compactMap { ConfFile.parse($0) }.map { ($0.name, ConfFile.unquote($0.value)) }
    }

    /// Sets `name` to an already-formatted value; returns whether the file changed.
    /// The last active line is rewritten in place; a new name is appended.
    @discardableResult
    public mutating func set(_ name: String, formatted value: String) -> Bool {
        for idx in lines.indices.reversed() {
            guard let s = ConfFile.parse(lines[idx]), s.name.lowercased() == name.lowercased() else { continue }
            if s.value == value { return false }
            lines[idx] = "\(s.indent)\(s.name) = \(value)" + (s.comment.map { "\t\t\($0)" } ?? "")
            return true
        }
        lines.append("\(name) = \(value)")
        return true
    }

    /// Comments out every active line for `name`; returns whether the file changed.
    @discardableResult
    public mutating func remove(_ name: String) -> Bool {
        var changed = false
        for idx in lines.indices {
            if let s = ConfFile.parse(lines[idx]), s.name.lowercased() == name.lowercased() {
                lines[idx] = "#" + lines[idx] + "\t# removed by polarrun"
                changed = true
            }
        }
        return changed
    }

    /// A setting name PostgreSQL accepts (letters, digits, `_`, and `.` for extension settings).
    public static func isValidName(_ name: String) -> Bool {
        guard let f = name.first, f.isLetter || f == "_" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == "." }
    }

    /// Formats a value as postgresql.conf expects: numbers (with units) and simple words
    /// bare, anything else single-quoted with `'` and `\` escaped. An already quoted
    /// value (`'UTC'`) is kept as it is.
    public static func format(_ value: String) throws -> String {
        if value.contains("\n") || value.contains("\r") || value.contains("\0") {
            throw HostError.usage("configuration values cannot contain line breaks or NUL")
        }
        if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'"),
           let s = parse("x = \(value)"), s.value == value { return value }
        // what PostgreSQL's configuration lexer (guc-file.l) reads as one token: an INTEGER may
        // carry unit letters ("64MB"), a REAL may not ("5.5MB" must be quoted), or an ID
        let bare = value.firstRange(of: #/^-?[0-9]+[A-Za-z]*$/#) != nil
            || value.firstRange(of: #/^-?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/#) != nil
            || value.firstRange(of: #/^[A-Za-z_][A-Za-z0-9_]*$/#) != nil
        if bare { return value }
        return "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "''") + "'"
    }

    /// Removes quoting from a raw value (`'a''b'` → `a'b`); see `unquoteChecked`.
    public static func unquote(_ raw: String) -> String { unquoteChecked(raw)?.text ?? raw }

    /// A value as PostgreSQL reads it (guc-file.l's GUC_scanstr): a single-quoted value loses its
    /// quotes, `''` is `'`, `\b \f \n \r \t` are control characters, `\ooo` is an octal byte
    /// and `\x` is `x`. Returns the text and whether it was quoted; nil when a lone `'` sits
    /// inside the quotes (malformed). An unquoted value is returned as it is.
    public static func unquoteChecked(_ raw: String) -> (text: String, quoted: Bool)? {
        let bytes = Array(raw.utf8)
        guard bytes.count >= 2, bytes.first == 0x27, bytes.last == 0x27 else { return (raw, false) }
        let inner = bytes[1..<(bytes.count - 1)]
        var out: [UInt8] = []
        var i = inner.startIndex
        func isOctal(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x37 }
        while i < inner.endIndex {
            let c = inner[i]
            if c == 0x27 {
                guard i + 1 < inner.endIndex, inner[i + 1] == 0x27 else { return nil }
                out.append(0x27); i += 2
            } else if c == 0x5C, i + 1 < inner.endIndex {
                let n = inner[i + 1]
                i += 2
                switch n {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case _ where isOctal(n):
                    var v = Int(n - 0x30)
                    var k = 1
                    while k < 3, i < inner.endIndex, isOctal(inner[i]) { v = v * 8 + Int(inner[i] - 0x30); i += 1; k += 1 }
                    out.append(UInt8(v & 0xFF))
                default: out.append(n)
                }
            } else {
                out.append(c); i += 1
            }
        }
        return (String(decoding: out, as: UTF8.self), true)
    }
}
