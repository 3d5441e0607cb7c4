import Foundation
import XCTest

/// Manager runbooks proven by their effect on real PostgreSQL 15 clusters.
final class OpsTests: XCTestCase {
    var logFile = ""
    /// Everything polarrun printed in this test (checked for secrets).
    var printed = ""

    override func setUpWithError() throws {
        logFile = try makeTempDir(self, prefix: "polarrun-oplog") + "/manager.log"
        printed = ""
    }

    /// Runs a bundled runbook against `c` with the test's manager log.
    @discardableResult
    func rb(_ name: String, _ args: [String] = [], _ c: PGCluster, json: Bool = false, env: [String: String] = [:]) throws -> CommandResult {
        var e = c.env
        for (k, v) in env { e[k] = v }
        let r = try polarrun(["--log-file", logFile] + (json ? ["--json"] : []) + [Repo.runbooks + "/\(name).lua"] + args, env: e)
        printed += r.all
        return r
    }

    func assertNoSecret(_ secrets: [String], file: StaticString = #filePath, line: UInt = #line) {
        let log = read(logFile)
        XCTAssertFalse(log.isEmpty, "manager log is empty", file: file, line: line)
        for s in secrets {
            XCTAssertFalse(log.contains(s), "secret in the manager log", file: file, line: line)
            XCTAssertFalse(printed.contains(s), "secret on stdout/stderr", file: file, line: line)
        }
    }

    func roles(_ c: PGCluster) throws -> String {
        try c.value("select string_agg(rolname || ':' || rolsuper || rolcanlogin || rolreplication || rolcreatedb || rolcreaterole, ',' order by rolname) from pg_roles")
    }

    func dollar(_ s: String) -> String { "$q$" + s + "$q$" }

    // MARK: health, start, stop, restart

    func testHealthCheckAnswersAndFailsWhenDown() throws {
        let c = try PGCluster.started(self)
        let r = try rb("health_check", [], c, json: true)
        XCTAssertEqual(r.status, 0, r.all)
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(j?["role"] as? String, "primary")
        XCTAssertEqual(j?["in_recovery"] as? Bool, false)
        XCTAssertGreaterThanOrEqual(j?["uptime_s"] as? Double ?? -1, 0)
        c.stop()
        let down = try rb("health_check", ["timeout=2"], c)
        XCTAssertEqual(down.status, 1, down.all)
        XCTAssertTrue(down.stderr.contains("does not answer"), down.stderr)
        XCTAssertEqual(try rb("health_check", ["timeout=0"], c).status, 2)
        XCTAssertEqual(try rb("health_check", ["timeout=soon"], c).status, 2)
    }

    func testStartStopRestartAreIdempotent() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try rb("stop", ["mode=fast"], c).status, 0)
        XCTAssertFalse(c.isRunning)
        let again = try rb("stop", [], c, json: true)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertTrue(again.stdout.contains("\"changed\" : false") || again.stdout.contains("\"changed\": false"), again.stdout)
        XCTAssertEqual(try rb("start", [], c).status, 0)
        XCTAssertTrue(c.isRunning)
        XCTAssertEqual(try rb("start", [], c).status, 0)
        let pid1 = try c.value("select pg_postmaster_start_time()")
        let re = try rb("restart", ["mode=fast", "timeout=30"], c)
        XCTAssertEqual(re.status, 0, re.all)
        XCTAssertNotEqual(try c.value("select pg_postmaster_start_time()"), pid1)
        c.stop()
        XCTAssertEqual(try rb("restart", [], c).status, 0, "restart of a stopped instance starts it")
        XCTAssertTrue(c.isRunning)
        // bad inputs: exit 2, still running
        for args in [["mode=brutal"], ["timeout=0"], ["timeout=x"], ["bogus=1"]] {
            XCTAssertEqual(try rb("stop", args, c).status, 2, "\(args)")
            XCTAssertEqual(try rb("restart", args, c).status, 2, "\(args)")
        }
        XCTAssertTrue(c.isRunning)
        XCTAssertEqual(try rb("stop", [], c, env: ["PGDATA": c.root + "/nope"]).status, 2)
    }

    // MARK: users

    func testUsersWithHostileNamesAndPasswordsLogIn() throws {
        let c = try PGCluster.started(self)
        let names = [" we\"ird'ü;\\x ", "Ωmega; DROP ROLE postgres; --", "a'b"]
        let passwords = [" p'a\"ss\\w;ö rd ", "$$ x\\' ; select 1 --", "'); drop table x; --"]
        for (name, pw) in zip(names, passwords) {
            let r = try rb("create_user", ["user=\(name)", "password=\(pw)", "privilege=1"], c)
            XCTAssertEqual(r.status, 0, r.all)
            XCTAssertEqual(try c.value("select rolsuper::text || rolcreaterole || rolcreatedb || rolcanlogin || rolreplication from pg_roles where rolname = \(dollar(name))"),
                           "falsetruetruetruefalse")
            let login = try c.psql("select current_user", user: name, password: pw, tcp: true)
            XCTAssertEqual(login.status, 0, login.all)
            XCTAssertEqual(login.stdout.trimmingCharacters(in: .newlines), name)
            XCTAssertNotEqual(try c.psql("select 1", user: name, password: pw + "x", tcp: true).status, 0)
        }
        XCTAssertEqual(try c.value("select count(*) from pg_roles where rolname = 'postgres'"), "1")
        // idempotent: again, and up to code 15 with its per-role settings, new password
        let (name, pw, pw2) = (names[0], passwords[0], "néw ' pass\\")
        XCTAssertEqual(try rb("create_user", ["user=\(name)", "password=\(pw)", "privilege=1"], c).status, 0)
        XCTAssertEqual(try rb("create_user", ["user=\(name)", "password=\(pw2)", "privilege=15"], c).status, 0)
        XCTAssertEqual(try c.value("select rolsuper::text || rolreplication || rolcanlogin from pg_roles where rolname = \(dollar(name))"), "truetruetrue")
        let settings = try c.value("select array_to_string(setconfig, '|') from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = \(dollar(name))")
        for s in ["TimeZone=UTC", "DateStyle=ISO,YMD", "extra_float_digits=0", "lock_timeout=0", "statement_timeout=0",
                  "idle_in_transaction_session_timeout=3600000"] {
            XCTAssertTrue(settings.contains(s), "\(s) not in \(settings)")
        }
        XCTAssertEqual(try c.psql("select 1", user: name, password: pw2, tcp: true).status, 0)
        XCTAssertNotEqual(try c.psql("select 1", user: name, password: pw, tcp: true).status, 0)
        // modify: code 7 (no replication), password kept when not given
        XCTAssertEqual(try rb("modify_user", ["user=\(name)", "privilege=7"], c).status, 0)
        XCTAssertEqual(try c.value("select rolsuper::text || rolreplication from pg_roles where rolname = \(dollar(name))"), "truefalse")
        XCTAssertEqual(try c.psql("select 1", user: name, password: pw2, tcp: true).status, 0)
        // modify creates a missing role
        XCTAssertEqual(try rb("modify_user", ["user=new one", "password=pw one", "privilege=1"], c).status, 0)
        XCTAssertEqual(try c.psql("select 1", user: "new one", password: "pw one", tcp: true).status, 0)
        // delete: twice is fine
        for n in names + ["new one"] {
            XCTAssertEqual(try rb("delete_user", ["user=\(n)"], c).status, 0)
            XCTAssertEqual(try rb("delete_user", ["user=\(n)"], c).status, 0)
            XCTAssertEqual(try c.value("select count(*) from pg_roles where rolname = \(dollar(n))"), "0")
        }
        // the server log holds no password either (statement logging off for these sessions)
        assertNoSecret(passwords + [pw2, "pw one"])
        let serverLog = read(c.root + "/server.log")
        for s in passwords + [pw2] { XCTAssertFalse(serverLog.contains(s), "password in the server log") }
    }

    func testBadUserInputsChangeNothing() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try rb("create_user", ["user=keep", "password=keep-pw-1", "privilege=1"], c).status, 0)
        let before = try roles(c)
        let cases: [[String]] = [
            ["user=u1", "password=pw-bad-1", "privilege=2"], ["user=u1", "password=pw-bad-1", "privilege=0"],
            ["user=u1", "password=pw-bad-1", "privilege=99"], ["user=u1", "password=pw-bad-1", "privilege=-1"],
            ["user=u1", "password=pw-bad-1", "privilege=abc"], ["user=u1", "password=pw-bad-1"], ["password=pw-bad-1", "privilege=1"],
            ["user=", "password=pw-bad-1", "privilege=1"], ["user=pg_evil", "password=pw-bad-1", "privilege=1"],
            ["user=public", "password=pw-bad-1", "privilege=1"], ["user=" + String(repeating: "x", count: 64), "password=pw-bad-1", "privilege=1"],
            ["user=u1", "password=", "privilege=1"], ["user=u1", "password=pw-bad-1", "privilege=1", "extra=1"],
            ["user=keep", "password=pw-bad-1", "privilege=3"],
        ]
        for a in cases {
            let r = try rb("create_user", a, c)
            XCTAssertEqual(r.status, 2, "create_user \(a): \(r.all)")
            let m = try rb("modify_user", a, c)
            XCTAssertEqual(m.status, 2, "modify_user \(a): \(m.all)")
        }
        XCTAssertTrue(try rb("create_user", ["user=u1", "password=pw-bad-1", "privilege=5"], c).stderr.contains("unknown privilege code 5"))
        for a in [["user="], ["user=pg_monitor"], [], ["user=postgres"]] {
            XCTAssertEqual(try rb("delete_user", a, c).status, 2, "delete_user \(a)")
        }
        XCTAssertEqual(try roles(c), before)
        XCTAssertEqual(try c.psql("select 1", user: "keep", password: "keep-pw-1", tcp: true).status, 0, "password unchanged")
    }

    func testPolarSuperuserRefusedOnCommunityPostgres() throws {
        let c = try PGCluster.started(self)
        let before = try roles(c)
        let r = try rb("create_user", ["user=polar1", "password=secret-6", "privilege=6"], c)
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertTrue(r.stderr.contains("POLAR_SUPERUSER"), r.stderr)
        XCTAssertEqual(try roles(c), before)
        assertNoSecret(["secret-6"])
    }

    // MARK: disk-full lock

    func makeAppUser(_ c: PGCluster) throws {
        XCTAssertEqual(try rb("create_user", ["user=app", "password=app-pw-1", "privilege=1"], c).status, 0)
        XCTAssertEqual(try c.psql("create table t (x int); grant all on t to app; insert into t values (0)").status, 0)
    }

    func appInsert(_ c: PGCluster) throws -> CommandResult {
        try c.psql("insert into t values (1)", user: "app", password: "app-pw-1", tcp: true)
    }

    func testLockDiskFullKeepsSuperusersWriting() throws {
        let c = try PGCluster.started(self)
        try makeAppUser(c)
        XCTAssertEqual(try appInsert(c).status, 0)
        // an ordinary session open across the lock is ended
        let session = Process()
        session.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        session.arguments = ["-u", "postgres", "--", "env", "PGPASSWORD=app-pw-1", PGCluster.bin + "/psql", "-h", "127.0.0.1",
                             "-p", String(c.port), "-U", "app", "-d", "postgres", "-c", "select pg_sleep(60)"]
        session.standardOutput = FileHandle.nullDevice
        session.standardError = FileHandle.nullDevice
        try session.run()
        addTeardownBlock { if session.isRunning { session.terminate() } }
        XCTAssertTrue(try eventually(10) { try c.value("select count(*) from pg_stat_activity where usename = 'app'") == "1" })

        let r = try rb("lock_disk_full", [], c, json: true)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.contains("SET default_transaction_read_only = off"), "limits stated: \(r.stdout)")
        XCTAssertTrue(r.stderr.contains("limits"), r.stderr)
        let denied = try appInsert(c)
        XCTAssertNotEqual(denied.status, 0)
        XCTAssertTrue(denied.stderr.contains("read-only transaction"), denied.stderr)
        XCTAssertEqual(try c.psql("insert into t values (2)").status, 0, "superuser writes")
        XCTAssertEqual(try c.psql("select count(*) from t", user: "app", password: "app-pw-1", tcp: true).stdout, "3\n", "reads work")
        XCTAssertTrue(eventually(10) { !session.isRunning }, "ordinary session terminated")
        // again: idempotent
        XCTAssertEqual(try rb("lock_disk_full", [], c).status, 0)
        XCTAssertNotEqual(try appInsert(c).status, 0)

        let u = try rb("unlock_disk_full", [], c)
        XCTAssertEqual(u.status, 0, u.all)
        XCTAssertEqual(try appInsert(c).status, 0, "ordinary user writes again")
        XCTAssertEqual(try rb("unlock_disk_full", [], c).status, 0)
        XCTAssertEqual(try rb("lock_disk_full", ["reserve_mb=-1"], c).status, 2)
        XCTAssertEqual(try appInsert(c).status, 0, "a rejected lock changed nothing")
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.pgdata + "/postgresql.auto.conf"))
        assertNoSecret(["app-pw-1"])
    }

    /// Fills the file system holding `dir` until not one byte is free.
    func fill(_ dir: String) throws {
        _ = try command(["/usr/bin/dd", "if=/dev/zero", "of=\(dir)/fill1", "bs=1M"])
        _ = try command(["/usr/bin/dd", "if=/dev/zero", "of=\(dir)/fill2", "bs=4096"])
        _ = try command(["/usr/bin/dd", "if=/dev/zero", "of=\(dir)/fill3", "bs=1"])
        var s = statvfs()
        statvfs(dir, &s)
        XCTAssertEqual(UInt64(s.f_bavail) * UInt64(s.f_frsize), 0, "file system not full")
    }

    func freeBytes(_ dir: String) -> UInt64 {
        var s = statvfs()
        statvfs(dir, &s)
        return UInt64(s.f_bavail) * UInt64(s.f_frsize)
    }

    func testLockDiskFullOnAFullTmpfs() throws {
        let mnt = try makeTempDir(self, prefix: "polarrun-full")
        let m = try command(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", mnt])
        try XCTSkipIf(m.status != 0, "cannot mount tmpfs here: \(m.all)")
        addTeardownBlock { _ = try? command(["/usr/bin/umount", "-l", mnt]) }
        let c = try PGCluster(root: mnt)
        try c.start()
        addTeardownBlock { c.stop(mode: "immediate") }
        try makeAppUser(c)
        // prepared ahead of time (as supervise does at container start), with no reserve
        XCTAssertEqual(try rb("unlock_disk_full", ["reserve_mb=0"], c).status, 0)
        try fill(mnt)

        let r = try rb("lock_disk_full", ["reserve_mb=0"], c)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(freeBytes(mnt), 0, "the lock needed no space")
        let denied = try appInsert(c)
        XCTAssertTrue(denied.status != 0 && denied.stderr.contains("read-only transaction"), denied.all)
        XCTAssertEqual(try c.psql("insert into t values (2)").status, 0, "superuser writes on the full disk")
        let u = try rb("unlock_disk_full", ["reserve_mb=0"], c)
        XCTAssertEqual(u.status, 0, u.all)
        XCTAssertEqual(try appInsert(c).status, 0, "ordinary user writes again")

        // with the emergency reserve: made while there is room, released by the lock
        for f in ["fill1", "fill2", "fill3"] { unlink(mnt + "/" + f) }
        XCTAssertEqual(try rb("unlock_disk_full", ["reserve_mb=8"], c).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.pgdata + "/pgsql_tmp.polarrun_reserve"))
        try fill(mnt)
        let r2 = try rb("lock_disk_full", ["reserve_mb=8"], c, json: true)
        XCTAssertEqual(r2.status, 0, r2.all)
        XCTAssertGreaterThanOrEqual(freeBytes(mnt), 8 << 20)
        XCTAssertNotEqual(try appInsert(c).status, 0)
        XCTAssertEqual(try c.psql("insert into t values (3)").status, 0)
        XCTAssertEqual(try rb("unlock_disk_full", ["reserve_mb=8"], c).status, 0)
        XCTAssertEqual(try appInsert(c).status, 0)
        assertNoSecret(["app-pw-1"])
    }

    // MARK: instance lock and supervisor

    func startSupervisor(_ c: PGCluster, logDir: String) throws -> (Process, String) {
        let out = try makeTempDir(self, prefix: "polarrun-sup") + "/out"
        FileManager.default.createFile(atPath: out, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Repo.binary)
        p.arguments = ["--log-file", logFile, Repo.runbooks + "/supervise.lua", "log_dir=\(logDir)", "poll=0.2", "reserve_mb=1"]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in c.env { env[k] = v }
        p.environment = env
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardOutput = h
        p.standardError = h
        try p.run()
        addTeardownBlock { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        return (p, out)
    }

    func postmasterPID(_ c: PGCluster) -> pid_t? {
        read(c.pgdata + "/postmaster.pid").split(separator: "\n").first.flatMap { pid_t($0) }
    }

    func testLockExpiredSuperviseAndUnlock() throws {
        let c = try PGCluster.started(self)
        c.stop()
        let logDir = try makeTempDir(self, prefix: "polarrun-log")
        let (sup, out) = try startSupervisor(c, logDir: logDir)
        XCTAssertTrue(eventually(20) { c.isRunning }, read(out))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: logDir + "/pg_log"), c.pgdata + "/pg_log")

        let l = try rb("lock_expired", ["shutdown_mode=fast"], c)
        XCTAssertEqual(l.status, 0, l.all)
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.pgdata + "/ins_lock"))
        XCTAssertFalse(c.isRunning)
        sleep(2)
        XCTAssertFalse(c.isRunning, "the supervisor keeps it down while locked")
        XCTAssertEqual(try rb("lock_expired", [], c).status, 0, "idempotent")
        XCTAssertEqual(try rb("start", [], c).status, 1, "start refuses while locked")
        XCTAssertFalse(c.isRunning)

        let t0 = Date()
        XCTAssertEqual(try rb("unlock_expired", [], c).status, 0)
        XCTAssertTrue(eventually(10) { (try? c.psql("select 1").status) == 0 }, read(out))
        XCTAssertLessThan(Date().timeIntervalSince(t0), 6, "back within a few seconds")
        XCTAssertEqual(try rb("unlock_expired", [], c).status, 0, "idempotent")

        // a crash (SIGKILL of the postmaster) is restarted
        let pid = try XCTUnwrap(postmasterPID(c))
        kill(pid, SIGKILL)
        XCTAssertTrue(eventually(20) { postmasterPID(c).map { $0 != pid } == true && (try? c.psql("select 1").status) == 0 }, read(out))
        XCTAssertTrue(sup.isRunning)

        // a clean stop (pg_ctl stop without the lock) is restarted too
        let pid2 = try XCTUnwrap(postmasterPID(c))
        c.stop()
        XCTAssertTrue(eventually(20) { postmasterPID(c).map { $0 != pid2 } == true && (try? c.psql("select 1").status) == 0 }, read(out))

        // SIGTERM: fast shutdown of postgres, supervisor exits 0
        kill(sup.processIdentifier, SIGTERM)
        XCTAssertTrue(eventually(30) { !sup.isRunning }, read(out))
        XCTAssertEqual(sup.terminationStatus, 0, read(out))
        XCTAssertFalse(c.isRunning)
        XCTAssertTrue(read(logFile).contains("supervisor exits"))
    }

    func testSupervisorExitsWithPostgresFailureCode() throws {
        let c = try PGCluster.started(self)
        c.stop()
        try c.appendConf("shared_buffers = 'nonsense'")
        let logDir = try makeTempDir(self, prefix: "polarrun-log")
        let (sup, out) = try startSupervisor(c, logDir: logDir)
        XCTAssertTrue(eventually(30) { !sup.isRunning }, read(out))
        XCTAssertEqual(sup.terminationStatus, 1, read(out))
        XCTAssertTrue(read(out).contains("exited with status 1"), read(out))
    }

    // MARK: refresh_params

    func testRefreshParamsAppliedPendingAndRejected() throws {
        let c = try PGCluster.started(self)
        let conf = c.pgdata + "/postgresql.conf"
        try c.appendConf("# keep this comment\nwork_mem = 4MB\t# trailing")
        XCTAssertEqual(try c.psql("alter system set log_min_duration_statement = 1000").status, 0)
        let r = try rb("refresh_params", [#"params={"work_mem":"8MB","shared_buffers":"64MB","log_timezone":"'UTC'","statement_timeout":90000,"log_connections":"true","log_min_duration_statement":"5s"}"#], c, json: true)
        XCTAssertEqual(r.status, 0, r.all)
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let res = j?["results"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(res["work_mem"]?["status"] as? String, "applied")
        XCTAssertEqual(res["shared_buffers"]?["status"] as? String, "pending_restart")
        XCTAssertEqual(res["log_timezone"]?["status"] as? String, "applied")
        XCTAssertEqual(res["statement_timeout"]?["status"] as? String, "applied")
        XCTAssertEqual(res["log_min_duration_statement"]?["status"] as? String, "overridden")
        XCTAssertEqual(try c.value("show work_mem"), "8MB")
        XCTAssertEqual(try c.value("select pending_restart from pg_settings where name = 'shared_buffers'"), "t")
        let text = read(conf)
        XCTAssertTrue(text.contains("# keep this comment\nwork_mem = 8MB\t\t# trailing"), text)
        XCTAssertTrue(text.contains("log_timezone = 'UTC'"))
        XCTAssertTrue(read(c.pgdata + "/postgresql.auto.conf").contains("log_min_duration_statement"), "auto.conf kept")

        // rejected: nothing written, byte-identical
        let before = try Data(contentsOf: URL(fileURLWithPath: conf))
        let bad = [#"{"work_mem":"lots"}"#, #"{"work_mem":"8XB"}"#, #"{"work_mem":"1"}"#, #"{"no_such_param":"1"}"#,
                   #"{"wal_level":"maximal"}"#, #"{"log_connections":"maybe"}"#, #"{"max_connections":"-5"}"#,
                   #"{"work_mem":"8MB","shared_buffers":"huge"}"#, #"{"server_version":"1"}"#, #"{"statement_timeout":"5 parsecs"}"#,
                   #"{"log_timezone":"Mars/Olympus"}"#, #"{"random_page_cost":"-1"}"#, #"{"work_mem":"8MB\nfsync = off"}"#,
                   #"["work_mem"]"#, "not json", #"{"bad name":"1"}"#, #"{"work_mem":null}"#]
        for b in bad {
            let x = try rb("refresh_params", ["params=\(b)"], c)
            XCTAssertEqual(x.status, 2, "\(b): \(x.all)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: conf)), before, "file changed by \(b)")
        }
        let msg = try rb("refresh_params", [#"params={"wal_level":"maximal"}"#], c).stderr
        XCTAssertTrue(msg.contains("wal_level") && msg.contains("replica"), msg)
        XCTAssertEqual(try c.value("show work_mem"), "8MB")
        // idempotent
        let again = try rb("refresh_params", [#"params={"work_mem":"8MB"}"#], c)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: conf)), before)
    }

    // MARK: serialization

    func testConcurrentMutatingRunbooksSerialize() throws {
        let c = try PGCluster.started(self)
        try makeAppUser(c)
        // hold the instance lock, start two runbooks at once, release: both wait, then run one at a time
        let fd = open(c.pgdata + "/.polarrun.lock", O_RDWR | O_CREAT, 0o644)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        let conf = c.pgdata + "/postgresql.conf"
        let before = read(conf)
        final class Box: @unchecked Sendable { var results = [CommandResult?](repeating: nil, count: 2); let lock = NSLock() }
        let box = Box()
        let g = DispatchGroup()
        let jobs: [(String, [String])] = [("refresh_params", [#"params={"work_mem":"7MB"}"#]), ("lock_disk_full", [])]
        for (i, job) in jobs.enumerated() {
            g.enter()
            DispatchQueue.global().async {
                var e = c.env
                e["X"] = "1"
                let r = try? polarrun(["--log-file", self.logFile, Repo.runbooks + "/\(job.0).lua"] + job.1, env: e)
                box.lock.lock(); box.results[i] = r; box.lock.unlock()
                g.leave()
            }
        }
        sleep(2)
        XCTAssertEqual(read(conf), before, "nothing happens while the lock is held")
        XCTAssertNotEqual(try appInsert(c).status, 1, "not locked yet")
        flock(fd, LOCK_UN)
        close(fd)
        XCTAssertEqual(g.wait(timeout: .now() + 120), .success)
        let results = box.results
        for r in results { XCTAssertEqual(r?.status, 0, r?.all ?? "no result") }
        XCTAssertTrue(results.allSatisfy { $0?.stderr.contains("waiting for lock") == true })
        XCTAssertEqual(try c.value("select count(*) from pg_file_settings where error is not null"), "0", "conf never torn")
        XCTAssertEqual(try c.value("show work_mem"), "7MB")
        XCTAssertNotEqual(try appInsert(c).status, 0)
    }

    // MARK: disk expansion

    func testDiskExpansion() throws {
        let c = try PGCluster.started(self)
        let r = try rb("disk_expansion", ["disk=mapper_vol1"], c)
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertTrue(r.stderr.contains("not available on this engine"), r.stderr)
        XCTAssertEqual(try rb("disk_expansion", ["disk=x; rm -rf /"], c).status, 2)
        XCTAssertEqual(try rb("disk_expansion", [], c).status, 2)
        c.stop()
        let down = try rb("disk_expansion", ["disk=mapper_vol1"], c)
        XCTAssertEqual(down.status, 0, down.all)
        XCTAssertTrue(down.stderr.contains("nothing to do"), down.stderr)
    }
}
