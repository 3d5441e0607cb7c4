import Foundation
import XCTest
@testable import PolarRun

/// The dry run's diffs: exact output for known cases, and for random edits a diff that
/// GNU patch applies to give the new text back.
final class UnifiedDiffTests: XCTestCase {
    func testKnownDiffs() {
        XCTAssertEqual(UnifiedDiff.diff("a\n", "a\n", path: "/f"), "")
        XCTAssertEqual(UnifiedDiff.diff(nil, "x\ny\n", path: "/d/f"), "--- /dev/null\n+++ b/d/f\n@@ -0,0 +1,2 @@\n+x\n+y\n")
        XCTAssertEqual(UnifiedDiff.diff("x\n", nil, path: "/f"), "--- a/f\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n")
        XCTAssertEqual(UnifiedDiff.diff("a\nb\nc\n", "a\nB\nc\n", path: "/f"),
                       "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
        // a missing final newline is a change of its own, shown as diff shows it
        XCTAssertEqual(UnifiedDiff.diff("a\nb", "a\nb\n", path: "/f"),
                       "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n")
        // two changes far apart are two hunks with three lines of context each
        let old = (1...20).map { "l\($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "l2\n", with: "L2\n").replacingOccurrences(of: "l18\n", with: "")
        XCTAssertEqual(UnifiedDiff.diff(old, new, path: "/f"), """
            --- a/f
            +++ b/f
            @@ -1,5 +1,5 @@
             l1
            -l2
            +L2
             l3
             l4
             l5
            @@ -15,6 +15,5 @@
             l15
             l16
             l17
            -l18
             l19
             l20

            """)
        // binary or huge content is summarised, not listed
        XCTAssertEqual(UnifiedDiff.diff(String(repeating: "\0", count: 10), nil, path: "/r"),
                       "--- a/r\n+++ /dev/null\nBinary file /r: 10 bytes -> absent\n")
    }

    /// Myers' script is minimal: as many lines kept as a longest common subsequence.
    func testTheScriptIsMinimal() {
        let a = UnifiedDiff.lines("a\nb\nc\na\nb\nb\na\n"), b = UnifiedDiff.lines("c\nb\na\nb\na\nc\n")
        let script = UnifiedDiff.edits(a, b)
        XCTAssertEqual(script.filter { $0.0 != .keep }.count, 5)   // the classic example: D = 5
    }

    func testRandomEditsApplyWithPatch() throws {
        let dir = try makeTempDir(self)
        var rng = SystemRandomNumberGenerator()
        for round in 0..<60 {
            var lines = (0..<Int.random(in: 0...30, using: &rng)).map { _ in "line \(Int.random(in: 0..<8, using: &rng))" }
            let old = lines.joined(separator: "\n") + (lines.isEmpty || round % 5 == 0 ? "" : "\n")
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let i = Int.random(in: 0...lines.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: lines.insert("new \(round)", at: i)
                case 1: if i < lines.count { lines.remove(at: i) }
                default: if i < lines.count { lines[i] = "changed \(round)" }
                }
            }
            let new = lines.joined(separator: "\n") + (lines.isEmpty || round % 7 == 0 ? "" : "\n")
            let file = dir + "/f\(round)"
            try write(old, to: file)
            let d = UnifiedDiff.diff(old, new, path: file)
            if old == new { XCTAssertEqual(d, ""); continue }
            let r = try command(["patch", "-s", "-p0", file], stdin: d.replacingOccurrences(of: "--- a/", with: "--- /")
                                    .replacingOccurrences(of: "+++ b/", with: "+++ /"))
            XCTAssertEqual(r.status, 0, "round \(round): \(r.all)\n\(d)")
            XCTAssertEqual(read(file), new, "round \(round):\n\(d)")
        }
    }
}
