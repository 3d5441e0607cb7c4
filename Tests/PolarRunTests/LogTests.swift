import XCTest
@testable import PolarRun

/// The manager log: line format, rotation, several writers at once.
final class LogTests: XCTestCase {
    func testLineFormat() throws {
        let dir = try makeTempDir(self)
        try write("log.info('hello', 42)\nlog.warn('multi\\nline')", to: dir + "/l.lua")
        let r = try polarrun(["--log-file", dir + "/manager.log", dir + "/l.lua"])
        XCTAssertEqual(r.status, 0, r.all)
        let line = read(dir + "/manager.log").split(separator: "\n").first { $0.contains("hello") }.map(String.init) ?? ""
        // time, level, run id, runbook:line, message
        XCTAssertNotNil(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  [a-z0-9]{8} l\.lua:1 hello 42$"#, options: .regularExpression), line)
        XCTAssertTrue(read(dir + "/manager.log").contains("WARN  "), "warn level written")
    }

    func testRotationKeepsLimitsWithConcurrentWriters() throws {
        let dir = try makeTempDir(self)
        let log = dir + "/manager.log"
        try write("for i = 1, 400 do log.info(string.format('writer %s line %04d %s', polarrun.params.w, i, string.rep('x', 60))) end", to: dir + "/w.lua")
        let env = ["POLARRUN_LOG_MAX_BYTES": "20000", "POLARRUN_LOG_KEEP": "100"]
        let group = DispatchGroup()
        for w in 1...4 {
            group.enter()
            Thread {
                _ = try? polarrun(["--quiet", "--log-file", log, dir + "/w.lua", "w=\(w)"], env: env)
                group.leave()
            }.start()
        }
        group.wait()
        var all: [Substring] = []
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("manager.log") && !$0.hasSuffix(".lock") }
        XCTAssertGreaterThan(files.count, 5, "rotated into several files")
        for f in files {
            let text = read(dir + "/" + f)
            XCTAssertLessThanOrEqual(text.utf8.count, 20000, "\(f) exceeds the limit")
            all += text.split(separator: "\n")
        }
        let lines = all.filter { $0.contains(" writer ") }
        XCTAssertEqual(lines.count, 1600, "every line written exactly once")
        for l in lines { XCTAssertTrue(l.hasSuffix(String(repeating: "x", count: 60)), "torn line: \(l)") }
        for w in 1...4 {
            XCTAssertEqual(Set(lines.filter { $0.contains("writer \(w) ") }).count, 400)
        }
    }

    func testOldestFilesAreDropped() throws {
        let dir = try makeTempDir(self)
        let log = try ManagerLog(path: dir + "/m.log", maxBytes: 1024, keep: 3)
        for i in 0..<200 { log.write("line \(i) " + String(repeating: "y", count: 40)) }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasSuffix(".lock") }.sorted()
        XCTAssertEqual(files, ["m.log", "m.log.1", "m.log.2", "m.log.3"])
        XCTAssertTrue(read(dir + "/m.log").contains("line 199 "))
    }
}
