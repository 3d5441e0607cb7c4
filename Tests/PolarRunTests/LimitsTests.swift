import Foundation
import XCTest
@testable import PolarRun

/// Runaway runbooks end with a clear message and the promised exit status, never a crash:
/// finalizers at exit, self-calling runbooks, the memory cap, and the watchdog behind the
/// deadline and termination signals (docs/runbooks.md, "Limits").
final class LimitsTests: XCTestCase, ScratchRunbooks {
    var dir = ""

    override func setUpWithError() throws { dir = try makeTempDir(self) }

    func testFinalizerCallingTheHostAtExitRunsAndExitsZero() throws {
        let p = try runbook("gc.lua", """
            setmetatable({}, {__gc = function() log.info("bye from gc", proc.env("HOME") ~= nil) end})
            return 1
            """)
        let r = try polarrun([p, "--log-file", "\(dir)/m.log"])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(read("\(dir)/m.log").contains("bye from gc true"), read("\(dir)/m.log"))
    }

    func testRunbookCallingItselfStopsAtTheDepthLimit() throws {
        _ = try runbook("rec.lua", "return polarrun.call('rec', {})\n")
        let r = try polarrun(["rec"], env: ["POLARRUN_PATH": dir], timeout: 60)
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertTrue(r.stderr.contains("nested 16 deep"), r.stderr)
        XCTAssertTrue(r.stderr.contains("POLARRUN_MAX_CALL_DEPTH"), r.stderr)
        let shallow = try polarrun(["rec"], env: ["POLARRUN_PATH": dir, "POLARRUN_MAX_CALL_DEPTH": "3"], timeout: 60)
        XCTAssertTrue(shallow.stderr.contains("nested 3 deep"), shallow.stderr)
        let bad = try polarrun(["rec"], env: ["POLARRUN_PATH": dir, "POLARRUN_MAX_CALL_DEPTH": " 3"])
        XCTAssertEqual(bad.status, 2, bad.all)
    }

    func testMemoryCapEndsTheRunWithAClearError() throws {
        let p = try runbook("mem.lua", "local t = {} for i = 1, 1e9 do t[i] = {i} end\n")
        let r = try polarrun(["--memory-limit", "64", p], timeout: 120)
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertTrue(r.stderr.contains("memory limit of 64 MiB"), r.stderr)
        // a pcall does not hide it: the run still fails as out of memory
        let caught = try runbook("caught.lua", """
            local ok = pcall(function() local t = {} for i = 1, 1e9 do t[i] = {i} end end)
            error("after: " .. tostring(ok))
            """)
        let c = try polarrun([caught], env: ["POLARRUN_MEMORY_LIMIT": "32"], timeout: 120)
        XCTAssertEqual(c.status, 1, c.all)
        XCTAssertTrue(c.stderr.contains("memory limit of 32 MiB"), c.stderr)
        let bad = try polarrun(["--memory-limit", "lots", p])
        XCTAssertEqual(bad.status, 2, bad.all)
        // the limit is not hit by an ordinary run
        let ok = try polarrun([try runbook("ok.lua", "local s = string.rep('x', 1 << 20) return #s\n"), "--json"])
        XCTAssertEqual(ok.status, 0, ok.all)
    }

    func testDeadlineStopsLoopingFinalizerAndErrorHandler() throws {
        let env = ["POLARRUN_WATCHDOG_GRACE": "1"]
        for (name, src) in [
            ("gcloop.lua", "setmetatable({}, {__gc = function() while true do end end})\ncollectgarbage()\nwhile true do end\n"),
            ("gcexit.lua", "setmetatable({}, {__gc = function() while true do end end})\nreturn 1\n"),
            ("xploop.lua", "xpcall(error, function() while true do end end)\n"),
        ] {
            let p = try runbook(name, src)
            let start = Date()
            let r = try polarrun(["--timeout", "1", p], env: env, timeout: 30)
            XCTAssertEqual(r.status, 124, "\(name): \(r.all)")
            XCTAssertLessThan(Date().timeIntervalSince(start), 10, name)
        }
    }

    func testSigtermStopsLoopingFinalizer() throws {
        let p = try runbook("gcterm.lua", "setmetatable({}, {__gc = function() while true do end end})\nreturn 1\n")
        var spec = ProcessSpec([Repo.binary, p])
        spec.environment = ProcessInfo.processInfo.environment.merging(["POLARRUN_WATCHDOG_GRACE": "1"]) { $1 }
        let child = try Subprocess.start(spec)
        usleep(500_000)
        kill(child.pid, SIGTERM)
        let start = Date()
        var st: Int32 = 0
        while waitpid(child.pid, &st, WNOHANG) == 0 && Date().timeIntervalSince(start) < 15 { usleep(100_000) }
        if Date().timeIntervalSince(start) >= 15 { kill(child.pid, SIGKILL); XCTFail("still running after SIGTERM") }
        XCTAssertEqual((st >> 8) & 0xff, 128 + SIGTERM)
    }

    func testDeadlineInsideAFinalizersHostCallIs124() throws {
        let p = try runbook("gcsleep.lua", "setmetatable({}, {__gc = function() polarrun.sleep(5) end})\nreturn 1\n")
        let r = try polarrun(["--timeout", "1", p], timeout: 30)
        XCTAssertEqual(r.status, 124, r.all)
    }

    func testLockWaitCutShortByTheDeadlineIs124() throws {
        let lock = "\(dir)/x.lock"
        let waiter = try runbook("waiter.lua", "local l = fs.flock('\(lock)')\n")
        let holder = try runbook("holder.lua", """
            local l = fs.flock('\(lock)')
            return proc.run({polarrun.executable, '--timeout', '1', '\(waiter)'}, {check = false}).status
            """)
        let r = try polarrun(["--json", holder], timeout: 60)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "124", r.all)
    }
}
