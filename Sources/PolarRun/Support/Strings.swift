#if canImport(Glibc)
import Glibc
#endif

// The few Foundation string conveniences polarrun used, on the standard library alone (see
// Paths.swift for why the binary links FoundationEssentials only). Named apart from
// Foundation's so code that imports both (the tests) sees no ambiguity.
extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line breaks.
    func trimmingWhitespace() -> String { trimming { $0 == " " || $0 == "\t" || $0.isNewline } }

    /// Without leading and trailing spaces and tabs (line breaks kept).
    func trimmingBlanks() -> String { trimming { $0 == " " || $0 == "\t" } }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Left-aligned in a column of `width` characters: padded with spaces, or cut to fit.
    public func padded(to width: Int) -> String {
        count >= width ? String(prefix(width)) : String(self) + String(repeating: " ", count: width - count)
    }
}

/// printf-style formatting of numbers ("%6.1f"), through the C library's vsnprintf.
func cFormat(_ format: String, _ args: CVarArg...) -> String {
    withVaList(args) { va in
        var buf = [CChar](repeating: 0, count: 128)
        let n = buf.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, va) }
        return n < 0 ? "" : String(decoding: buf.prefix(min(Int(n), buf.count - 1)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
