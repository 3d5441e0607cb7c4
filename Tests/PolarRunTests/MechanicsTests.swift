import XCTest
@testable import PolarRun

/// One source of truth per mechanic (issue 12 item 5): a detached child, the account database,
/// conf_set's lock and unquoting, the pod defaults, and child handling shared by proc.run and
/// proc.spawn — each checked against real processes, users and files.
final class MechanicsTests: XCTestCase, ScratchRunbooks {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTempDir(self)
    }

    private func json(_ r: CommandResult) throws -> [String: Any] {
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: [.fragmentsAllowed])
        return (obj as? [String: Any]) ?? [:]
    }

    // MARK: proc.spawn{detach = true}

    func testADetachedChildOutlivesTheRunInASessionOfItsOwn() throws {
        let out = "\(dir)/child.log"
        let p = try runbook("detach.lua", """
            return proc.spawn({"sh", "-c", "echo started; sleep 30"}, {detach = true, output = "\(out)"})
            """)
        let r = try polarrun(["--json", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        let pid = try XCTUnwrap((try json(r))["pid"] as? Int, r.stdout)
        defer { kill(pid_t(pid), SIGKILL) }
        // polarrun has exited; the child runs on, in a session polarrun's is not
        XCTAssertEqual(kill(pid_t(pid), 0), 0, "the detached child is gone with polarrun")
        XCTAssertNotEqual(getsid(pid_t(pid)), getsid(0))
        XCTAssertTrue(eventually(5) { read(out).contains("started") }, read(out))
        XCTAssertTrue(r.stderr.contains("start detached: sh -c"), r.stderr)
        let st = try FileManager.default.attributesOfItem(atPath: out)
        XCTAssertEqual((st[.posixPermissions] as? Int) ?? 0, 0o600)
    }

    func testADetachedChildSurvivesTheRunsDeadline() throws {
        // --timeout kills the run's own children (their process groups); a detached one is not among them
        let p = try runbook("deadline.lua", """
            local r = proc.spawn({"sleep", "30"}, {detach = true})
            fs.write("\(dir)/pid", tostring(r.pid))
            polarrun.sleep(30)
            """)
        let r = try polarrun(["--timeout", "1", p])
        XCTAssertEqual(r.status, 124, r.stderr)
        let pid = try XCTUnwrap(pid_t(read("\(dir)/pid")), read("\(dir)/pid"))
        defer { kill(pid, SIGKILL) }
        XCTAssertEqual(kill(pid, 0), 0, "the detached child died with the run")
    }

    func testADetachedChildRunsAsTheGivenUserAndWritesItsOutputFile() throws {
        try XCTSkipUnless(getuid() == 0, "needs root to run as postgres")
        let out = "\(dir)/id.log"
        let p = try runbook("as.lua", """
            return proc.spawn({"id", "-un"}, {detach = true, output = "\(out)", user = "postgres", cwd = "/"})
            """)
        let r = try polarrun(["--json", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(eventually(5) { read(out) == "postgres\n" }, read(out))
    }

    func testBadDetachedSpawnsAreRefusedAndADryRunStartsNothing() throws {
        let out = "\(dir)/never.log"
        /// runs `code` as a runbook: it must exit with `status` and say `message`
        func refused(_ name: String, _ code: String, _ status: Int32, _ message: String, line: UInt = #line) throws {
            let r = try polarrun([try runbook(name, code)])
            XCTAssertEqual(r.status, status, r.stderr, line: line)
            XCTAssertTrue(r.stderr.contains(message), r.stderr, line: line)
        }
        try refused("t.lua", "proc.spawn({'true'}, {detach = true, timeout = 5, prefix = 'x'})", 2,
                    "timeout, prefix cannot be used with detach = true")
        try refused("r.lua", "proc.spawn({'true'}, {detach = true, output = 'x.log'})", 2, "output must be an absolute path, got 'x.log'")
        try refused("o.lua", "proc.spawn({'true'}, {output = '/tmp/x'})", 2, "output is for detach = true")
        try refused("m.lua", "proc.spawn({'no-such-program-x'}, {detach = true})", 1, "command not found: no-such-program-x")
        try refused("c.lua", "proc.spawn({'true'}, {detach = true, cwd = '\(dir)/nope'})", 1, "cannot start true")
        let dry = try polarrun(["--dry-run", "--json", try runbook("d.lua", """
            return proc.spawn({"sh", "-c", "echo ran"}, {detach = true, output = "\(out)"})
            """)])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stderr.contains("would start detached: sh -c"), dry.stderr)
        XCTAssertNil((try json(dry))["pid"])
        usleep(300_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    // MARK: proc.user / proc.group

    func testUsersAndGroupsComeFromTheAccountDatabase() throws {
        let p = try runbook("acct.lua", """
            local root, pg, g = proc.user("root"), proc.user("postgres"), proc.group("postgres")
            return {root = root, by_uid = proc.user("0").name, pg = pg, group = g,
                    none = proc.user("no-such-user-x") == nil, nogroup = proc.group("no-such-group-x") == nil}
            """)
        let r = try polarrun(["--json", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try json(r)
        let root = try XCTUnwrap(j["root"] as? [String: Any])
        XCTAssertEqual(root["uid"] as? Int, 0)
        XCTAssertEqual(root["gid"] as? Int, 0)
        XCTAssertEqual(root["home"] as? String, "/root")
        XCTAssertEqual(j["by_uid"] as? String, "root")
        let pw = try XCTUnwrap(getpwnam("postgres"), "the postgres OS user (postgresql-15) is missing")
        let pg = try XCTUnwrap(j["pg"] as? [String: Any])
        XCTAssertEqual(pg["uid"] as? Int, Int(pw.pointee.pw_uid))
        XCTAssertEqual(pg["shell"] as? String, String(cString: pw.pointee.pw_shell))
        let group = try XCTUnwrap(j["group"] as? [String: Any])
        XCTAssertEqual(group["gid"] as? Int, Int(getgrnam("postgres").pointee.gr_gid))
        XCTAssertEqual(j["none"] as? Bool, true)
        XCTAssertEqual(j["nogroup"] as? Bool, true)
        let bad = try polarrun([try runbook("b.lua", "proc.user({})")])
        XCTAssertEqual(bad.status, 2, bad.stderr)
    }

    // MARK: conf.unquote / conf.lock

    func testUnquotingIsPostgresqlsOneCopy() {
        XCTAssertEqual(ConfFile.unquoteChecked("'it''s'")?.text, "it's")
        XCTAssertEqual(ConfFile.unquoteChecked(#"'a\101\tb\q\\'"#)?.text, "aA\tbq\\")
        XCTAssertEqual(ConfFile.unquoteChecked(#"'\b\f\r\n'"#)?.text, "\u{8}\u{c}\r\n")
        XCTAssertEqual(ConfFile.unquoteChecked("16MB")?.quoted, false)
        XCTAssertNil(ConfFile.unquoteChecked("'a'b'"))
        // conf.get reads through the same code
        var f = ConfFile(text: "x = '\\101b'\n")
        XCTAssertEqual(f.value("x"), "Ab")
        f.set("y", formatted: "'it''s'")
        XCTAssertEqual(f.value("y"), "it's")
    }

    func testConfLockIsTheLockConfSetTakes() throws {
        let conf = "\(dir)/postgresql.conf"
        try write("work_mem = 4MB\n", to: conf)
        // inside conf.lock the run's own conf_set does not wait for itself
        let inside = try polarrun(["--timeout", "20", try runbook("in.lua", """
            local l <close> = conf.lock("\(conf)", {timeout = 5})
            conf_set("\(conf)", {work_mem = "8MB"})
            return fs.exists("\(dir)/.postgresql.conf.lock")
            """)])
        XCTAssertEqual(inside.status, 0, inside.stderr)
        XCTAssertEqual(read(conf), "work_mem = 8MB\n")
        // another run holding conf.lock makes conf_set wait
        let holder = try runbook("hold.lua", """
            local l <close> = conf.lock("\(conf)")
            fs.write("\(dir)/held", "yes")
            polarrun.sleep(2)
            """)
        let start = try Subprocess.start({ var s = ProcessSpec([Repo.binary, holder]); s.environment = ProcessInfo.processInfo.environment; return s }())
        defer { var st: Int32 = 0; waitpid(start.pid, &st, 0); close(start.out); close(start.err) }
        XCTAssertTrue(eventually(10) { FileManager.default.fileExists(atPath: "\(dir)/held") })
        let t0 = Date()
        let waited = try polarrun([try runbook("set.lua", "conf_set('\(conf)', {work_mem = '16MB'})")])
        XCTAssertEqual(waited.status, 0, waited.stderr)
        XCTAssertTrue(waited.stderr.contains("waiting for the lock on \(conf)"), waited.stderr)
        XCTAssertGreaterThan(Date().timeIntervalSince(t0), 0.5)
        XCTAssertEqual(read(conf), "work_mem = 16MB\n")
    }

    // MARK: polarrun.defaults

    func testThePodDefaultsAreOneSwiftCopyExposedToRunbooks() throws {
        let p = try runbook("d.lua", "return polarrun.defaults")
        let r = try polarrun(["--json", p], env: ["PGDATA": "/srv/pg", "POLARRUN_DB_USER": "dba", "PGPORT": "6543"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try json(r)
        XCTAssertEqual(j["pgdata"] as? String, "/srv/pg")
        XCTAssertEqual(j["db_user"] as? String, "dba")
        XCTAssertEqual(j["port"] as? Int, 6543)
        XCTAssertEqual(j["bindir"] as? String, PodDefaults.engineBin)
        XCTAssertEqual(j["log_dir"] as? String, PodDefaults.logDir)
        XCTAssertEqual(j["lock_name"] as? String, "ins_lock")
        var env = ProcessInfo.processInfo.environment
        for k in ["PGDATA", "POLARRUN_DB_USER", "PGPORT"] { env[k] = nil }
        XCTAssertEqual(PodDefaults.pgdata(env), "/data")
        XCTAssertEqual(PodDefaults.dbUser(env), "postgres")
        // lib/instance.lua takes its input defaults from there
        let described = try polarrun(["--describe", "start"], env: ["PGDATA": "/srv/pg"])
        XCTAssertTrue(described.all.contains("/srv/pg"), described.all)
    }

    // MARK: child handling shared by proc.run and proc.spawn

    func testLinesAreSplitOnceForBothKindsOfChild() {
        var s = LineSplitter()
        var got: [String] = []
        s.feed(Array("a\nb\r\n\nc".utf8)) { got.append($0) }
        s.feed(Array("d\n".utf8)) { got.append($0) }
        s.feed(Array("tail".utf8)) { got.append($0) }
        s.flush { got.append($0) }
        XCTAssertEqual(got, ["a", "b", "cd", "tail"])
    }

    func testExitStatusAndTermThenKillAreTheSameForRunAndSpawn() throws {
        let p = try runbook("kids.lua", """
            local function both(argv, timeout)
              local _, r = pcall(proc.run, argv, {check = false, timeout = timeout})   -- a timeout raises, with status
              local h = proc.spawn(argv, {timeout = timeout})
              local s = h:wait()
              return {run = r.status, spawn = s.status}
            end
            local t0 = polarrun.now()
            local stubborn = both({"sh", "-c", "trap '' TERM; sleep 30"}, 0.3)
            return {exit3 = both({"sh", "-c", "exit 3"}), killed = both({"sh", "-c", "kill -9 $$"}),
                    stubborn = stubborn, seconds = polarrun.now() - t0}
            """)
        let r = try polarrun(["--json", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try json(r)
        for (name, want) in [("exit3", 3), ("killed", 137), ("stubborn", 137)] {
            let t = try XCTUnwrap(j[name] as? [String: Any], name)
            XCTAssertEqual(t["run"] as? Int, want, name)
            XCTAssertEqual(t["spawn"] as? Int, want, name)
        }
        // a child that ignores SIGTERM is killed ChildMechanics.killGrace seconds later, in both
        let seconds = try XCTUnwrap(j["seconds"] as? Double)
        XCTAssertGreaterThan(seconds, 2 * ChildMechanics.killGrace)
        XCTAssertLessThan(seconds, 2 * ChildMechanics.killGrace + 6)
    }
}
