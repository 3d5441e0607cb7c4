import XCTest

/// The command line as an operator meets it: exit statuses, messages, --json, --list, secrets.
final class CLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTempDir(self)
    }

    func runbook(_ name: String, _ source: String) throws -> String {
        let path = "\(dir)/\(name)"
        try write(source, to: path)
        return path
    }

    func testVersionAndHelp() throws {
        let v = try polarrun(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.stdout.contains("0."), v.all)
        let h = try polarrun(["--help"])
        XCTAssertEqual(h.status, 0)
        for word in ["--timeout", "--json", "--list", "--describe", "Exit status", "Examples"] {
            XCTAssertTrue(h.stdout.contains(word), "help lacks \(word)")
        }
    }

    func testMissingRunbookIsUsageError() throws {
        let r = try polarrun(["\(dir)/nope.lua"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("runbook not found"), r.stderr)
        let byName = try polarrun(["no_such_runbook"], env: ["POLARRUN_PATH": dir])
        XCTAssertEqual(byName.status, 2)
        XCTAssertTrue(byName.stderr.contains("'no_such_runbook' not found"), byName.stderr)
        let none = try polarrun([])
        XCTAssertEqual(none.status, 2)
    }

    func testSyntaxErrorNamesFileAndLine() throws {
        let p = try runbook("bad.lua", "log.info('x')\nlocal = 3\n")
        let r = try polarrun([p])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad.lua:2:"), r.stderr)
    }

    func testUncaughtErrorPrintsLineAndTraceback() throws {
        let p = try runbook("boom.lua", "local function f()\n  error('it broke')\nend\nf()\n")
        let r = try polarrun([p])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("boom.lua:2: it broke"), r.stderr)
        XCTAssertTrue(r.stderr.contains("stack traceback"), r.stderr)
        XCTAssertTrue(r.stderr.contains("boom.lua:4"), r.stderr)
    }

    func testPrimitiveFailureNamesItsLineAndTracebackOnlyWhenVerbose() throws {
        let p = try runbook("fail.lua", "log.info('x')\nproc.run({'false'})\n")
        let r = try polarrun([p])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("fail.lua:2: false exited with status 1"), r.stderr)
        XCTAssertFalse(r.stderr.contains("stack traceback"), r.stderr)
        let v = try polarrun(["--verbose", p])
        XCTAssertTrue(v.stderr.contains("stack traceback"), v.stderr)
    }

    func testInputsAreValidatedBeforeAnything() throws {
        let marker = "\(dir)/marker"
        let p = try runbook("in.lua", """
        polarrun.inputs { user = {type="string", required=true}, count = {type="integer", default=1},
                 mode = {type="string", enum={"fast", "smart"}}, on = {type="boolean"} }
        fs.write("\(marker)", "changed")
        return polarrun.params
        """)
        let cases: [([String], String)] = [
            ([], "missing required input 'user'"),
            (["user=a", "count=x"], "input 'count' must be an integer"),
            (["user=a", "mode=slow"], "must be one of fast, smart"),
            (["user=a", "on=maybe"], "must be a boolean"),
            (["user=a", "usr=b"], "unknown input 'usr'"),
            (["user=a", "broken"], "is not key=value"),
            (["user=a", "=x"], "is not key=value"),
            (["user=a", "user=b"], "given twice"),
            (["user=a", "bad key=1"], "may only contain"),
        ]
        for (args, message) in cases {
            let r = try polarrun([p] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.all)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(args) changed something")
        }
        let ok = try polarrun(["--json", p, "user=a", "count=7", "on=yes"])
        XCTAssertEqual(ok.status, 0, ok.all)
        XCTAssertTrue(ok.stdout.contains("\"count\" : 7"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("\"on\" : true"), ok.stdout)
    }

    /// The common invocation is parsed without ArgumentParser; both paths must agree.
    func testFlagsWorkBeforeAndAfterTheRunbookAndUnknownFlagsAreUsageErrors() throws {
        let p = try runbook("f.lua", "polarrun.inputs { n = {type = 'integer'} }\nreturn {dry = polarrun.dry_run, n = polarrun.params.n}")
        for args in [["--dry-run", "--json", p, "n=1"], [p, "n=1", "--dry-run", "--json"], ["--json", "--timeout=5", p, "--dry-run", "n=1"],
                     ["--timeout", "5", "--log-file", dir + "/l.log", p, "--json", "--dry-run", "n=1"]] {
            let r = try polarrun(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.all)")
            XCTAssertTrue(r.stdout.contains("\"dry\" : true") && r.stdout.contains("\"n\" : 1"), "\(args): \(r.stdout)")
        }
        let unknown = try polarrun([p, "--frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("--frobnicate"), unknown.stderr)
        let badTimeout = try polarrun(["--timeout", "soon", p])
        XCTAssertEqual(badTimeout.status, 2, badTimeout.all)
        let twice = try polarrun([p, "n=1", "n=2"])
        XCTAssertEqual(twice.status, 2)
        XCTAssertTrue(twice.stderr.contains("given twice"), twice.stderr)
    }

    func testDescribeListsInputs() throws {
        let p = try runbook("d.lua", "polarrun.inputs { user = {type='string', required=true, desc='the role'} }\nerror('must not run')")
        let r = try polarrun(["--describe", p])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.contains("user (string, required)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("the role"), r.stdout)
    }

    func testListShowsRunbooksWithSummary() throws {
        _ = try runbook("mine.lua", "-- does my thing\nreturn 1\n")
        let r = try polarrun(["--list"], env: ["POLARRUN_PATH": dir])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("mine.lua") && r.stdout.contains("does my thing"), r.stdout)
    }

    /// The Stack's install sends no srv_opr_host_ip, only the ConfigMap's `port` keyed by ins_id
    /// (spec §2.3, §4.7): the port comes from there; a map without this pod's entry, or
    /// malformed JSON in it, is refused before anything runs.
    func testStackPortFromTheConfigMapPortOfThisInsId() throws {
        let entry = "\(Repo.root)/rootfs/docker_script/entry_point.py"
        func stack(_ port: String, pgdata: String = "/nonexistent-pgdata") throws -> CommandResult {
            try command([Repo.binary, entry], env: ["srv_opr_type": "health_check", "srv_opr_action": "hostins_check",
                                                    "ins_id": "2", "port": port, "PGDATA": pgdata, "POLARRUN_DB_USER": "postgres"])
        }
        let used = try stack(#"{"2":{"link":[5999],"access_port":[5999],"perf_port":[5999]}}"#)
        XCTAssertEqual(used.status, 1, used.all)   // no instance there, but asked on the ConfigMap's port
        XCTAssertTrue(used.all.contains("port=5999"), used.all)
        let missing = try stack(#"{"1":{"access_port":[5999]}}"#)
        XCTAssertEqual(missing.status, 2, missing.all)
        XCTAssertTrue(missing.stderr.contains("port has no entry for ins_id 2"), missing.stderr)
        let broken = try stack(#"{"2":"#)
        XCTAssertEqual(broken.status, 2, broken.all)
        XCTAssertTrue(broken.stderr.contains("port is not valid JSON"), broken.stderr)
    }

    /// A newcomer whose search path finds nothing is told where polarrun looked and what to set.
    func testListWithNoRunbooksSaysWhereItLookedAndHowToSetThePath() throws {
        let empty = try makeTempDir(self)
        let r = try polarrun(["--list"], env: ["POLARRUN_PATH": "/nonexistent/runbooks", "POLARRUN_RUNBOOKS": empty])
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("no runbooks found; looked in /nonexistent/runbooks (does not exist), \(empty)."), r.stderr)
        XCTAssertTrue(r.stderr.contains("Set POLARRUN_PATH=DIR[:DIR...]") && r.stderr.contains("POLARRUN_RUNBOOKS=DIR"), r.stderr)
        let n = try polarrun(["no_such_runbook"], env: ["POLARRUN_PATH": "", "POLARRUN_RUNBOOKS": empty])
        XCTAssertEqual(n.status, 2, n.all)
        XCTAssertTrue(n.stderr.contains("runbook 'no_such_runbook' not found: not a file, and looked in \(empty)"), n.stderr)
    }

    func testRequireFindsLibModules() throws {
        try write("local M = {} function M.twice(x) return 2 * x end return M", to: "\(dir)/lib/util.lua")
        let p = try runbook("use.lua", "return require('util').twice(21)")
        let r = try polarrun(["--json", p])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "42")
        let missing = try runbook("miss.lua", "require('nothing_here')")
        let m = try polarrun([missing])
        XCTAssertEqual(m.status, 2)
        XCTAssertTrue(m.stderr.contains("module 'nothing_here' not found"), m.stderr)
    }

    func testTimeoutStopsLoopsAndChildren() throws {
        let loop = try runbook("loop.lua", "while true do pcall(function() while true do end end) end")
        let start = Date()
        let r = try polarrun(["--timeout", "0.5", loop])
        XCTAssertEqual(r.status, 124, r.all)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)

        let pidFile = "\(dir)/child.pid"
        let child = try runbook("child.lua", "proc.run({'sh', '-c', 'echo $$ > \(pidFile); exec sleep 60'})")
        let t0 = Date()
        let c = try polarrun(["--timeout", "1", child])
        XCTAssertEqual(c.status, 124, c.all)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 8)
        let pid = Int32(read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(pid, 0)
        XCTAssertTrue(eventually(5) { kill(pid, 0) != 0 }, "child \(pid) still alive")

        let bad = try polarrun(["--timeout", "0", loop])
        XCTAssertEqual(bad.status, 2)
    }

    func testSecretsNeverLeave() throws {
        let secret = "S3cr3t-'pa$$\\word"
        let log = "\(dir)/manager.log"
        let p = try runbook("leak.lua", """
        polarrun.inputs { password = {type="string", secret=true}, token = {type="string"} }
        log.info("the password is " .. polarrun.params.password)
        print("stdout sees " .. polarrun.params.password .. " and " .. polarrun.params.token)
        local t = json.decode('{"accounts": {"a": {"password": "InnerPw-123456"}}}')
        log.warn("decoded", t)
        error("failing with " .. polarrun.params.password .. " InnerPw-123456")
        """)
        let r = try polarrun(["--json", "--log-file", log, p, "password=\(secret)", "token=tok-987654"])
        XCTAssertEqual(r.status, 1)
        let everything = r.stdout + r.stderr + read(log)
        XCTAssertTrue(read(log).contains("the password is ******"), read(log))
        for s in [secret, "tok-987654", "InnerPw-123456"] {
            XCTAssertFalse(everything.contains(s), "\(s) leaked:\n\(everything)")
        }
    }

    func testJsonOutputIsMasked() throws {
        let p = try runbook("j.lua", "polarrun.inputs { password = {type='string'} }\nreturn {user='x', password=polarrun.params.password, n=json.null}")
        let r = try polarrun(["--json", p, "password=hunter2hunter2"])
        XCTAssertEqual(r.status, 0)
        XCTAssertFalse(r.stdout.contains("hunter2hunter2"))
        XCTAssertTrue(r.stdout.contains("\"password\" : \"******\""), r.stdout)
        XCTAssertTrue(r.stdout.contains("\"n\" : null"), r.stdout)
    }

    func testRunTakesArgvListsOnly() throws {
        let p = try runbook("r.lua", """
        local r = proc.run({"printf", "%s|", "a b", "$(id)", ";rm -rf /"})
        assert(r.stdout == "a b|$(id)|;rm -rf /|", r.stdout)
        local ok, err = pcall(proc.run, "echo hi")
        assert(not ok and tostring(err):find("argv list"), tostring(err))
        local f = proc.run({"false"}, {check = false})
        assert(f.status == 1)
        local ok2, e2 = pcall(proc.run, {"false"})
        assert(not ok2 and e2.kind == "process" and e2.status == 1)
        local i = proc.run({"cat"}, {stdin = "in\\0put"})
        assert(i.stdout == "in\\0put")
        local w = proc.run({"pwd"}, {cwd = "/tmp"})
        assert(w.stdout == "/tmp\\n")
        local e = proc.run({"sh", "-c", "echo $FOO"}, {env = {FOO = "bar"}})
        assert(e.stdout == "bar\\n")
        local ok3, e3 = pcall(proc.run, {"no-such-program-xyz"})
        assert(not ok3 and tostring(e3):find("command not found"), tostring(e3))
        return "ok"
        """)
        let r = try polarrun([p])
        XCTAssertEqual(r.status, 0, r.all)
    }

    /// pg_ctl start and registries leave daemons that inherit stdout: run() must not wait for them.
    func testRunReturnsWhenTheChildExitsEvenIfADaemonKeepsItsOutput() throws {
        let p = try runbook("d.lua", "local t = polarrun.now() local r = proc.run({'sh', '-c', 'echo up; sleep 20 & echo done'}) return {out = r.stdout, s = polarrun.now() - t}")
        let r = try polarrun(["--json", p], timeout: 15)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.contains(#""out" : "up\ndone\n""#), r.stdout)
        let secs = Double(r.stdout.split(separator: "\"s\" : ").last?.split(separator: "\n").first ?? "99") ?? 99
        XCTAssertLessThan(secs, 3)
    }

    /// As a container's PID 1 (the engine's supervisor), polarrun inherits every orphan and
    /// must reap them: a zombie postmaster still "exists" for pg_ctl.
    func testAsPidOneOrphansAreReaped() throws {
        let p = try runbook("init.lua", """
        proc.run({"sh", "-c", "sleep 0.3 & echo started"})   -- the sleep is orphaned to PID 1
        polarrun.sleep(1.5)
        local zombies = 0
        for _, n in ipairs(fs.list("/proc")) do
          local st = n:match("^%d+$") and fs.read("/proc/" .. n .. "/stat")
          if st and st:match("^%d+ %b() Z") then zombies = zombies + 1 end
        end
        return {pid1 = fs.read("/proc/self/stat"):match("^(%d+)") == "1", zombies = zombies}
        """)
        let r = try command(["unshare", "--pid", "--fork", "--mount-proc", Repo.binary, "--json", p])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.contains("\"zombies\" : 0"), r.stdout)
    }

    func testDryRunChangesNothing() throws {
        let target = "\(dir)/out.txt"
        let p = try runbook("w.lua", "fs.write('\(target)', 'x') lock_file('\(dir)/ins_lock') proc.run({'touch', '\(dir)/t'}) return polarrun.dry_run")
        let r = try polarrun(["--dry-run", "--json", p])
        XCTAssertEqual(r.status, 0, r.all)
        // a result that is not a table is wrapped, beside the dry run's record
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(doc["result"] as? Bool, true)
        XCTAssertEqual((doc["would_summary"] as? [String: Any])?["line"] as? String,
                       "dry run: 2 file(s) would change, 0 statement(s) would run, 1 action(s)")
        let would = try XCTUnwrap(doc["would"] as? [[String: Any]])
        XCTAssertEqual(would.first?["what"] as? String, "run touch \(dir)/t")
        XCTAssertEqual(would.map { $0["path"] as? String }, [nil, target, "\(dir)/ins_lock"])
        XCTAssertEqual(would[1]["diff"] as? String, "--- /dev/null\n+++ b\(target)\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n")
        XCTAssertTrue(r.stderr.contains("[dry-run] would write"), r.stderr)
        for f in [target, "\(dir)/ins_lock", "\(dir)/t"] { XCTAssertFalse(FileManager.default.fileExists(atPath: f), f) }
    }
}
