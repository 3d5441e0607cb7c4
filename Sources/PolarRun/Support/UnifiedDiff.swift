/// Unified diffs of two texts (`diff -u` format), from a Myers shortest-edit-script diff of
/// their lines. Used by the dry run to show what a file write would change.
public enum UnifiedDiff {
    /// One line of a text: its bytes, and whether a newline ends it (only the last line of a
    /// text may lack one, and then it differs from the same line with a newline, as in diff).
    struct Line: Equatable {
        let text: Substring
        let newline: Bool
    }

    enum Op { case keep, delete, insert }

    /// Texts larger than this (or with NUL bytes) are summarised, not diffed line by line:
    /// the emergency reserve lock_disk_full deletes is 16 MiB of zeros.
    public static let maxBytes = 1 << 20

    /// The unified diff turning `old` into `new` (nil: the file does not exist), with `context`
    /// lines around each change; "" when they are equal. `path` names both sides (a/ and b/).
    public static func diff(_ old: String?, _ new: String?, path: String, context: Int = 3) -> String {
        if old == new { return "" }
        let from = old == nil ? "/dev/null" : "a" + absolute(path)
        let to = new == nil ? "/dev/null" : "b" + absolute(path)
        let header = "--- \(from)\n+++ \(to)\n"
        let oldText = old ?? "", newText = new ?? ""
        if isBinary(oldText) || isBinary(newText) {
            return header + "Binary file \(path): \(describe(old)) -> \(describe(new))\n"
        }
        let a = lines(oldText), b = lines(newText)
        let script = edits(a, b)
        return header + hunks(script, a, b, context: context)
    }

    static func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : "/" + path }

    static func isBinary(_ s: String) -> Bool { s.utf8.count > maxBytes || s.utf8.contains(0) }

    static func describe(_ s: String?) -> String { s.map { "\($0.utf8.count) bytes" } ?? "absent" }

    static func lines(_ s: String) -> [Line] {
        guard !s.isEmpty else { return [] }
        var out: [Line] = []
        var start = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "\n" {
                out.append(Line(text: s[start..<i], newline: true))
                start = s.index(after: i)
            }
            i = s.index(after: i)
        }
        if start < s.endIndex { out.append(Line(text: s[start...], newline: false)) }
        return out
    }

    /// Myers' O((N+M)D) algorithm: the shortest edit script, as (op, index in a, index in b).
    static func edits(_ a: [Line], _ b: [Line]) -> [(Op, Int, Int)] {
        let n = a.count, m = b.count, max = n + m
        if max == 0 { return [] }
        let off = max + 1
        var v = [Int](repeating: 0, count: 2 * max + 3)
        var trace: [[Int]] = []
        var found = -1
        outer: for d in 0...max {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x = (k == -d || (k != d && v[k - 1 + off] < v[k + 1 + off])) ? v[k + 1 + off] : v[k - 1 + off] + 1
                var y = x - k
                while x < n && y < m && a[x] == b[y] { x += 1; y += 1 }
                v[k + off] = x
                if x >= n && y >= m { found = d; break outer }
            }
        }
        var script: [(Op, Int, Int)] = []
        var x = n, y = m
        for d in stride(from: found, through: 0, by: -1) {
            let v = trace[d]
            let k = x - y
            let prevK = (k == -d || (k != d && v[k - 1 + off] < v[k + 1 + off])) ? k + 1 : k - 1
            let prevX = v[prevK + off], prevY = prevX - prevK
            while x > prevX && y > prevY { script.append((.keep, x - 1, y - 1)); x -= 1; y -= 1 }
            if d > 0 {
                if x == prevX { script.append((.insert, x, y - 1)); y -= 1 } else { script.append((.delete, x - 1, y)); x -= 1 }
            }
        }
        return script.reversed()
    }

    /// Groups the script into `@@ -l,s +l,s @@` hunks with `context` unchanged lines around changes.
    static func hunks(_ script: [(Op, Int, Int)], _ a: [Line], _ b: [Line], context: Int) -> String {
        let changed = script.indices.filter { script[$0].0 != .keep }
        guard !changed.isEmpty else { return "" }
        var out = ""
        var i = 0
        while i < changed.count {
            // extend the hunk while the next change is within 2*context kept lines
            var j = i
            while j + 1 < changed.count && changed[j + 1] - changed[j] <= 2 * context + 1 { j += 1 }
            let lo = Swift.max(0, changed[i] - context), hi = Swift.min(script.count - 1, changed[j] + context)
            var body = ""
            var oldCount = 0, newCount = 0
            for (op, ai, bi) in script[lo...hi] {
                switch op {
                case .keep: body += render(" ", a[ai]); oldCount += 1; newCount += 1
                case .delete: body += render("-", a[ai]); oldCount += 1
                case .insert: body += render("+", b[bi]); newCount += 1
                }
            }
            // the first line of each side in the hunk (diff numbers an empty side by the line before it)
            let first = script[lo]
            let oldStart = oldCount == 0 ? first.1 : first.1 + 1
            let newStart = newCount == 0 ? first.2 : first.2 + 1
            out += "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n" + body
            i = j + 1
        }
        return out
    }

    static func range(_ start: Int, _ count: Int) -> String { count == 1 ? "\(start)" : "\(start),\(count)" }

    static func render(_ mark: String, _ line: Line) -> String {
        mark + line.text + (line.newline ? "\n" : "\n\\ No newline at end of file\n")
    }
}
