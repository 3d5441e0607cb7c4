import Foundation
import XCTest

/// spawn / wait_any (Parallel.swift), host calls from coroutines, and runbooks/lib/jobs.lua.
final class ParallelTests: XCTestCase {
    func runLua(_ source: String, _ args: [String] = []) throws -> CommandResult {
        let dir = try makeTempDir(self)
        try write(source, to: dir + "/t.lua")
        return try polarrun(args + [dir + "/t.lua"], timeout: 60)
    }

    func testPrimitivesCalledFromACoroutineSeeTheirArguments() throws {
        let r = try runLua("""
        local co = coroutine.wrap(function(a)
          log.info("inside", a)
          coroutine.yield(json.encode({a, 2}))
          return fs.exists("/")
        end)
        print(co("x"), co())
        """)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(r.stdout, "[\"x\",2]\ttrue\n")
        XCTAssertTrue(r.stderr.contains("inside x"), r.stderr)
    }

    /// On a terminal a long child is one live line (state, step n/m, elapsed, latest output)
    /// instead of every line; the manager log still has every line, and a failed child's whole
    /// output is printed. Not on a terminal (CI, the Stack): plain lines, as before.
    func testProgressBoardOnATerminalPlainLinesOtherwise() throws {
        let dir = try makeTempDir(self)
        let source = """
        local ok = proc.spawn({"sh", "-c", "echo 'Step 1/2 : FROM x'; sleep 0.3; echo 'Step 2/2 : RUN y'; echo done-line"}, {prefix = "img-ok", progress = "building"})
        local bad = proc.spawn({"sh", "-c", "echo 'Step 1/3 : FROM x'; echo broken-line >&2; sleep 0.2; exit 4"}, {prefix = "img-bad", progress = "building"})
        ok:wait(); bad:wait()
        print("after")
        """
        try write(source, to: dir + "/p.lua")
        let forced = try polarrun(["--log-file", dir + "/board.log", dir + "/p.lua"], env: ["POLARRUN_PROGRESS": "1"], timeout: 60)
        XCTAssertEqual(forced.status, 0, forced.all)
        XCTAssertTrue(forced.stderr.contains("\u{1B}[J"), "the board redraws in place:\n" + forced.stderr)
        XCTAssertTrue(forced.stderr.range(of: #"img-ok +building +step 1/2 +[0-9.]+s  Step 1/2 : FROM x"#, options: .regularExpression) != nil, forced.stderr)
        XCTAssertTrue(forced.stderr.range(of: #"img-bad +failed"#, options: .regularExpression) != nil, forced.stderr)
        XCTAssertTrue(forced.stderr.range(of: #"img-ok +done +step 2/2"#, options: .regularExpression) != nil, forced.stderr)
        XCTAssertFalse(forced.stderr.contains("[img-ok] done-line"), "a line of a board task is not printed as a log line")
        XCTAssertTrue(forced.stderr.contains("---- output of img-bad (failed, exit status 4) ----\nStep 1/3 : FROM x\nbroken-line\n"), forced.stderr)
        XCTAssertFalse(forced.stderr.contains("---- output of img-ok"), forced.stderr)
        XCTAssertEqual(forced.stdout, "after\n")
        let log = read(dir + "/board.log")
        for line in ["[img-ok] Step 1/2 : FROM x", "[img-ok] Step 2/2 : RUN y", "[img-ok] done-line", "[img-bad] broken-line"] {
            XCTAssertTrue(log.contains(line), "manager log lacks \(line):\n\(log)")
        }

        // pipes, no terminal: every line printed as a log line, no escape sequences
        let plain = try polarrun([dir + "/p.lua"], timeout: 60)
        XCTAssertEqual(plain.status, 0, plain.all)
        XCTAssertFalse(plain.stderr.contains("\u{1B}["), plain.stderr)
        XCTAssertTrue(plain.stderr.contains("[img-ok] Step 2/2 : RUN y") && plain.stderr.contains("[img-bad] broken-line"), plain.stderr)

        // a real terminal (script(1) gives the run a pty): the board is on by itself
        let tty = try command(["script", "-qec", "\(Repo.binary) \(dir)/p.lua", "/dev/null"], env: ["TERM": "xterm"], timeout: 60)
        XCTAssertEqual(tty.status, 0, tty.all)
        XCTAssertTrue(tty.stdout.contains("\u{1B}[J") && tty.stdout.contains("---- output of img-bad"), tty.stdout)
    }

    func testSpawnRunsChildrenAtOnceAndWaitAnyReturnsTheFirstToFinish() throws {
        let r = try runLua("""
        local t0 = polarrun.now()
        local slow = proc.spawn({"sh", "-c", "echo slow-out; sleep 1; echo slow-err >&2; exit 3"}, {prefix = "slow", since = t0})
        local fast = proc.spawn({"sh", "-c", "sleep 0.2; echo fast-out"}, {prefix = "fast"})
        local hs = {slow, fast}
        local order = {}
        while #hs > 0 do
          local i, res = proc.wait_any(hs, 10)
          order[#order + 1] = (hs[i] == fast and "fast" or "slow") .. ":" .. res.status .. ":" .. tostring(res.ok)
          table.remove(hs, i)
        end
        assert(slow:poll().stderr == "slow-err\\n")
        print(table.concat(order, " "), string.format("%.1f", polarrun.now() - t0))
        """)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.hasPrefix("fast:0:true slow:3:false\t1."), r.stdout)   // both ran at once: ~1 s, not 1.2
        XCTAssertTrue(r.stderr.contains("[fast] fast-out"), r.stderr)
        XCTAssertNotNil(r.stderr.range(of: #"\[slow 1\.\ds\] slow-err"#, options: .regularExpression), r.stderr)
    }

    func testTimeoutsKillAndClosingAHandleKillsItsChild() throws {
        let dir = try makeTempDir(self)
        let r = try runLua("""
        local h = proc.spawn({"sleep", "30"}, {timeout = 0.3})
        local res = h:wait()
        print(res.timed_out, res.ok, res.status)
        local w = proc.spawn({"sleep", "30"})
        print(proc.wait_any({w}, 0.2))                  -- nothing finished yet
        print(w:running(), w:kill())
        print(w:wait(5).status)
        local last = proc.spawn({"sh", "-c", "echo $$ > \(dir)/pid; exec sleep 30"})
        polarrun.sleep(0.3)
        """)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(r.stdout, "true\tfalse\t143\nnil\ntrue\ttrue\n143\n")
        let pid = Int32(read(dir + "/pid").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(pid, 0)
        XCTAssertTrue(eventually(5) { kill(pid, 0) != 0 }, "the child of a collected handle still runs")
    }

    func testTheRunbookDeadlineKillsChildrenItWaitsFor() throws {
        let r = try runLua("""
        local h = proc.spawn({"sleep", "30"})
        proc.wait_any({h})
        """, ["--timeout", "1"])
        XCTAssertEqual(r.status, 124, r.all)
        XCTAssertTrue(r.stderr.contains("deadline"), r.stderr)
    }

    func testDryRunDoesNotStartMutatingChildren() throws {
        let dir = try makeTempDir(self)
        let r = try runLua("""
        local h = proc.spawn({"touch", "\(dir)/made"})
        print(h:wait().status)
        local ro = proc.spawn({"true"}, {readonly = true})
        print(ro:wait().ok)
        """, ["--dry-run"])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.hasPrefix("0\ntrue\n"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("would run touch \(dir)/made\ndry run: 0 file(s) would change, 0 statement(s) would run, 1 action(s)\n"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/made"))
        XCTAssertTrue(r.stderr.contains("[dry-run] would run touch"), r.stderr)
    }

    func testBadArgumentsAreUsageErrors() throws {
        XCTAssertEqual(try runLua(#"proc.spawn("ls -l")"#).status, 2)
        XCTAssertEqual(try runLua(#"proc.spawn({"ls"}, {nope = 1})"#).status, 2)
        let r = try runLua(#"proc.wait_any({1, 2})"#)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("not an open process handle"), r.stderr)
    }

    /// jobs.lua: bounded parallelism, dependencies, a failure stops dependents only.
    func testJobsRunInParallelBoundedAndAFailureStopsOnlyDependents() throws {
        let r = try runLua("""
        local jobs = require("jobs")
        local t0 = polarrun.now()
        local running, peak = 0, 0
        local function work(secs, fail)
          return function()
            running = running + 1; peak = math.max(peak, running)
            local res = jobs.exec({"sleep", tostring(secs)}, {quiet = true})
            running = running - 1
            if fail then error("boom") end
            jobs.sleep(0.1)
            return res.status
          end
        end
        local order = {}
        local r = jobs.run({
          {id = "a", fn = work(0.5)},
          {id = "b", fn = work(0.5, true)},
          {id = "c", fn = work(0.5)},
          {id = "a2", after = {"a"}, fn = work(0.1)},
          {id = "b2", after = {"b"}, fn = work(0.1)},
        }, {parallel = 2, on_done = function(j) order[#order + 1] = j.id end})
        print(peak, r.a.ok, r.b.ok, r.c.ok, r.a2.ok, r.b2.ok, r.b2.skipped, r.b2.error)
        print(r.b.error:match("boom") ~= nil, string.format("%.0f", polarrun.now() - t0))
        """)
        XCTAssertEqual(r.status, 0, r.all)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first.map(String.init), "2\ttrue\tfalse\ttrue\ttrue\tfalse\ttrue\tnot built: b failed")
        // a and b together (0.5 s), then c and a2 (0.6 s): about 1 s, not 1.7 s one after another
        XCTAssertEqual(lines.last.map(String.init), "true\t1")
    }
}
