import XCTest
@testable import PolarRun

/// `polarrun test`: the harness operators run their runbook tests with.
final class RunbookTestHarnessTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTempDir(self)
    }

    func testPassingAndFailingCasesAndTheSummary() throws {
        try write("""
        test("passes", function() assert(1 + 1 == 2) end)
        test("fails on assert", function()
          assert(false, "two is not three")
        end)
        test("fails on error", function() error("boom") end)
        test("still runs after failures", function() assert(true) end)
        """, to: dir + "/math_test.lua")
        let r = try polarrun(["test", "--no-cluster", dir])
        XCTAssertEqual(r.status, 1, r.all)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("ok   passes"), r.all)
        XCTAssertTrue(lines.contains { $0.hasPrefix("FAIL fails on assert — ") && $0.contains("math_test.lua:3: two is not three") }, r.all)
        XCTAssertTrue(lines.contains { $0.hasPrefix("FAIL fails on error — ") && $0.contains("boom") }, r.all)
        XCTAssertTrue(lines.contains("ok   still runs after failures"), r.all)
        XCTAssertEqual(lines.last, "2 passed, 2 failed")
    }

    func testAllPassingExitsZeroAndOnlyTestFilesRun() throws {
        try write("test('a', function() end)\n", to: dir + "/sub/a_test.lua")
        try write("error('not a test file')\n", to: dir + "/helper.lua")
        let r = try polarrun(["test", "--no-cluster", dir])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(r.stdout.split(separator: "\n").last, "1 passed, 0 failed")
    }

    func testBadUsageExitsTwo() throws {
        let none = try polarrun(["test", "--no-cluster", dir])
        XCTAssertEqual(none.status, 2, none.all)
        XCTAssertTrue(none.stderr.contains("no *_test.lua files"), none.all)
        try write("test('x', function(\n", to: dir + "/broken_test.lua")
        try write("test('ok', function() end)\n", to: dir + "/good_test.lua")
        let broken = try polarrun(["test", "--no-cluster", dir])
        XCTAssertEqual(broken.status, 2, broken.all)
        XCTAssertTrue(broken.stdout.contains("broken_test.lua does not load"), broken.all)
        XCTAssertTrue(broken.stdout.contains("ok   ok"), "the other files still run: \(broken.all)")
        let unknown = try polarrun(["test", "--bogus"])
        XCTAssertEqual(unknown.status, 2)
    }

    func testWithEnvSetsAndRestoresVariables() throws {
        try write("""
        test("env", function()
          with_env({POLARRUN_HARNESS_X = "1"}, function() assert(proc.env("POLARRUN_HARNESS_X") == "1") end)
          assert(proc.env("POLARRUN_HARNESS_X") == nil)
        end)
        """, to: dir + "/env_test.lua")
        let r = try polarrun(["test", "--no-cluster", dir])
        XCTAssertEqual(r.status, 0, r.all)
    }

    func testClusterIsReachableAndRemovedAfterwards() throws {
        try write("""
        test("cluster", function()
          local rows = sql("select setting from pg_settings where name = 'data_directory'")
          assert(rows[1].setting == cluster.pgdata, rows[1].setting)
          fs.write("\(dir)/pgdata.txt", cluster.pgdata)
        end)
        """, to: dir + "/db_test.lua")
        let r = try polarrun(["test", "--pg-bin", PGCluster.bin, dir])
        XCTAssertEqual(r.status, 0, r.all)
        let pgdata = read(dir + "/pgdata.txt")
        XCTAssertFalse(pgdata.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pgdata), "the cluster directory is removed")
    }

    func testSIGINTStopsTheRunAndRemovesTheCluster() throws {
        try write("""
        test("slow", function() fs.write("\(dir)/pgdata.txt", cluster.pgdata); polarrun.sleep(60) end)
        test("never runs", function() end)
        """, to: dir + "/slow_test.lua")
        var spec = ProcessSpec([Repo.binary, "test", "--pg-bin", PGCluster.bin, dir])
        spec.environment = ProcessInfo.processInfo.environment
        let child = try Subprocess.start(spec)
        XCTAssertTrue(eventually(60) { !read(dir + "/pgdata.txt").isEmpty }, "the case never started")
        kill(child.pid, SIGINT)
        var st: Int32 = 0
        _ = waitpid(child.pid, &st, 0)
        close(child.out); close(child.err)
        if child.input >= 0 { close(child.input) }
        XCTAssertEqual((st >> 8) & 0xff, 130, "exit 128+SIGINT")
        let pgdata = read(dir + "/pgdata.txt")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pgdata), "the cluster directory is removed")
        let ps = try command(["pgrep", "-f", "postgres -D \(pgdata)"])
        XCTAssertNotEqual(ps.status, 0, "no postmaster is left: \(ps.all)")
    }

    func testHelpMentionsTheHarness() throws {
        XCTAssertTrue(try polarrun(["--help"]).stdout.contains("polarrun test"))
        let h = try polarrun(["test", "--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("--no-cluster"))
    }
}
