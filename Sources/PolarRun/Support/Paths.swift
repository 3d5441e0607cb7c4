#if canImport(Glibc)
import Glibc
#endif

// Path arithmetic on plain strings, with NSString's results for the cases polarrun meets
// (absolute and relative paths, trailing slashes). Here rather than `as NSString` so the
// binary needs FoundationEssentials only: NSString lives in Foundation, which links ICU's data
// (~40 MB) into a static binary.
extension String {
    /// "a/b/c" → "c"; "a/b/" → "b"; "/" → "/"; "" → "".
    var lastPathComponent: String {
        let t = trimmingTrailingSlashes
        if t == "/" || t.isEmpty { return t }
        if let i = t.lastIndex(of: "/") { return String(t[t.index(after: i)...]) }
        return t
    }

    /// "/a/b" → "/a"; "/a" → "/"; "a" → ""; "a/b/" → "a"; "/" → "/".
    var deletingLastPathComponent: String {
        let t = trimmingTrailingSlashes
        if t == "/" { return "/" }
        guard let i = t.lastIndex(of: "/") else { return "" }
        if i == t.startIndex { return "/" }
        var head = t[..<i]
        while head.count > 1 && head.hasSuffix("/") { head = head.dropLast() }
        return String(head)
    }

    /// "a" + "b" → "a/b"; "a/" + "b" → "a/b"; "" + "b" → "b".
    func appendingPathComponent(_ component: String) -> String {
        if isEmpty { return component.trimmingTrailingSlashes }
        if component.isEmpty { return trimmingTrailingSlashes }
        let c = component.hasPrefix("/") ? String(component.drop(while: { $0 == "/" })) : component
        return (hasSuffix("/") ? self + c : self + "/" + c).trimmingTrailingSlashes
    }

    private var trimmingTrailingSlashes: String {
        var s = Substring(self)
        while s.count > 1 && s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}

/// `$TMPDIR` with a trailing slash, else "/tmp/" (what NSTemporaryDirectory returns on Linux).
func temporaryDirectory() -> String {
    guard let t = getenv("TMPDIR").map({ String(cString: $0) }), !t.isEmpty else { return "/tmp/" }
    return t.hasSuffix("/") ? t : t + "/"
}
