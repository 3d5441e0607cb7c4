import Foundation
import XCTest

/// The manager runbooks on a real PolarDB for PostgreSQL 15 primary (shared-storage mode on a local
/// directory, made by `install`). Skipped unless POLARRUN_TEST_POLARDB names a PolarDB build.
final class PolarDBOpsTests: XCTestCase {
    func json(_ r: CommandResult, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] { jsonResult(r, file: file, line: line) }

    /// install: shared-storage layout (polardb.conf.sample, polar_datadir, polar-initdb.sh); idempotent;
    /// refusals change nothing.
    func testInstallMakesASharedStorageInstance() throws {
        let topo = try PolarDBTopology(self)
        let p = topo.primary
        let j = json(topo.installResult)
        XCTAssertEqual(j["polar_datadir"] as? String, "file-dio://\(topo.shared)")
        XCTAssertTrue((j["engine"] as? String ?? "").hasPrefix("PolarDB for PostgreSQL 15"), "\(j)")
        XCTAssertTrue((j["template"] as? String ?? "").hasPrefix(p.bin.replacingOccurrences(of: "/bin", with: "/share")), "\(j)")
        XCTAssertTrue(try p.value("select version()").contains("PolarDB 15"))
        XCTAssertEqual(try p.value("select current_setting('polar_enable_shared_storage_mode')"), "on")
        XCTAssertEqual(try p.value("select current_setting('polar_datadir')"), "file-dio://\(topo.shared)")
        XCTAssertEqual(try p.value("select current_setting('data_checksums')"), "on")
        XCTAssertEqual(try p.value("select current_setting('shared_buffers')"), "128MB", "mycnf_dict applied")
        // the shared files are in the shared directory, not in the data directory
        XCTAssertTrue(FileManager.default.fileExists(atPath: topo.shared + "/global/pg_control"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: topo.shared + "/pg_wal"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: p.pgdata + "/pg_wal"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: topo.shared + ".polarrun-installing"))
        XCTAssertEqual(try p.psql("create table t as select 1 as x").status, 0)
        // again: nothing to do
        let again = try topo.runbook("install", ["port=\(p.port)", "log_dir=\(topo.root)/log", "shared_dir=\(topo.shared)"])
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertEqual(json(again)["installed"] as? Bool, false)

        // a second instance onto a shared directory in use: refused, its data directory untouched
        let other = topo.root + "/other"
        let used = try topo.runbook("install", ["pgdata=\(other)", "port=\(PGCluster.freePort())", "log_dir=\(topo.root)/log2",
                                                "shared_dir=\(topo.shared)"])
        XCTAssertEqual(used.status, 1, used.all)
        XCTAssertTrue(used.stderr.contains("is not empty"), used.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other).filter { $0 != ".polarrun.lock" }, [])
        // PFS layouts: bad input exits 2; without PFS tools on this machine, refused before any change
        let noDevice = try topo.runbook("install", ["pgdata=\(other)", "storage_type=fcsan"])
        XCTAssertEqual(noDevice.status, 2, noDevice.all)
        let bad = try topo.runbook("install", ["pgdata=\(other)", "storage_type=nfs"])
        XCTAssertEqual(bad.status, 2, bad.all)
        let san = try topo.runbook("install", ["pgdata=\(other)", "storage_type=fcsan", "san_device=/dev/mapper/vol-1"])
        XCTAssertEqual(san.status, 1, san.all)
        XCTAssertTrue(san.stderr.contains("PFS tools"), san.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other).filter { $0 != ".polarrun.lock" }, [])
        XCTAssertEqual(try p.value("select x from t"), "1")
    }

    func testHealthStartStopRestartAndTheExpiryLock() throws {
        let topo = try PolarDBTopology(self)
        let p = topo.primary
        let h = try topo.runbook("health_check", [])
        XCTAssertEqual(h.status, 0, h.all)
        XCTAssertEqual(json(h)["role"] as? String, "primary")
        XCTAssertEqual(try topo.runbook("stop", []).status, 0)
        XCTAssertFalse(p.isRunning)
        XCTAssertEqual(try topo.runbook("health_check", ["timeout=2"]).status, 1)
        XCTAssertEqual(try topo.runbook("start", []).status, 0)
        XCTAssertTrue(p.isRunning)
        let before = try p.value("select pg_postmaster_start_time()")
        XCTAssertEqual(try topo.runbook("restart", []).status, 0)
        XCTAssertNotEqual(try p.value("select pg_postmaster_start_time()"), before)

        // lock_expired stops it and keeps it down; unlock_expired wait=N returns once the
        // supervisor's postgres accepts connections (not when the postmaster merely exists)
        XCTAssertEqual(try topo.runbook("lock_expired", []).status, 0)
        XCTAssertFalse(p.isRunning)
        XCTAssertEqual(try topo.runbook("start", []).status, 1, "start refuses while locked")
        let sup = try command(["sh", "-c", "setsid \"$0\" --log-file \"$1\" supervise log_dir=\"$2\" > \"$3\" 2>&1 < /dev/null & echo $!",
                               Repo.binary, topo.managerLog, topo.root + "/log", topo.root + "/supervise.out"], env: p.env)
        let supPid = Int32(sup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(supPid, 0)
        defer { kill(supPid, SIGTERM); _ = eventually(30) { kill(supPid, 0) != 0 } }
        sleep(1)
        XCTAssertFalse(p.isRunning, "the supervisor keeps a locked instance down")
        let un = try topo.runbook("unlock_expired", ["wait=120"])
        XCTAssertEqual(un.status, 0, un.all + read(topo.root + "/supervise.out"))
        XCTAssertEqual(try p.psql("select 1").status, 0, "accepts connections as soon as unlock_expired returns")
    }

    func testUsersAndPrivilegeCodeSix() throws {
        let topo = try PolarDBTopology(self)
        let p = topo.primary
        for (code, attrs) in [("1", "ftt"), ("7", "tft"), ("15", "ttt")] {
            let r = try topo.runbook("create_user", ["user=u\(code)", "password=pw'\(code)", "privilege=\(code)"])
            XCTAssertEqual(r.status, 0, r.all)
            XCTAssertEqual(try p.value("select substr(rolsuper::text,1,1) || substr(rolreplication::text,1,1) || substr(rolcanlogin::text,1,1) from pg_roles where rolname = 'u\(code)'"),
                           attrs == "ftt" ? "fft" : attrs)
            XCTAssertEqual(try p.psql("select 1", user: "u\(code)", password: "pw'\(code)", tcp: true).status, 0)
        }
        // open-source PolarDB 15 has no POLAR_SUPERUSER: refused, named as what it is, nothing created
        let six = try topo.runbook("create_user", ["user=u6", "password=pw", "privilege=6"])
        XCTAssertEqual(six.status, 1, six.all)
        XCTAssertTrue(six.stderr.contains("PolarDB for PostgreSQL 15"), six.stderr)
        XCTAssertFalse(six.stderr.contains("community"), six.stderr)
        XCTAssertEqual(try p.value("select count(*) from pg_roles where rolname = 'u6'"), "0")
        XCTAssertEqual(try topo.runbook("modify_user", ["user=u7", "privilege=1"]).status, 0)
        XCTAssertEqual(try p.value("select rolsuper from pg_roles where rolname = 'u7'"), "f")
        XCTAssertEqual(try topo.runbook("delete_user", ["user=u7"]).status, 0)
        XCTAssertEqual(try p.value("select count(*) from pg_roles where rolname = 'u7'"), "0")
    }

    /// lock_disk_full on PolarDB: polar_force_trans_ro_non_sup, also when the instance is stopped
    /// (asked of the binaries), also with a later line in postgresql.conf; an ALTER SYSTEM override
    /// is refused before anything changes.
    func testDiskFullLockUsesForceReadOnly() throws {
        let topo = try PolarDBTopology(self)
        let p = topo.primary
        XCTAssertEqual(try p.psql("create table t (x int); create role app login password 'app'; grant all on t to app").status, 0)
        XCTAssertEqual(try topo.runbook("unlock_disk_full", []).status, 0)       // prepares the include file and reserve
        let reserve = p.pgdata + "/pgsql_tmp.polarrun_reserve"
        XCTAssertTrue(FileManager.default.fileExists(atPath: reserve))

        func checkLocked(_ what: String) throws {
            let w = try p.psql("insert into t values (1)", user: "app", password: "app", tcp: true)
            XCTAssertNotEqual(w.status, 0, "\(what): an ordinary user wrote: \(w.all)")
            let escape = try p.psql("set default_transaction_read_only = off; insert into t values (2)", user: "app", password: "app", tcp: true)
            XCTAssertNotEqual(escape.status, 0, "\(what): an ordinary user SET its way out")
            let su = try p.psql("insert into t values (3)")
            XCTAssertEqual(su.status, 0, "\(what): superuser cannot write: \(su.all)")
        }

        // running
        let r = try topo.runbook("lock_disk_full", [])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(json(r)["parameter"] as? String, "polar_force_trans_ro_non_sup")
        try checkLocked("running")
        XCTAssertEqual(try topo.runbook("unlock_disk_full", []).status, 0)
        XCTAssertEqual(try p.psql("insert into t values (4)", user: "app", password: "app", tcp: true).status, 0)

        // stopped: the binaries say which parameter (PolarDB's conf does not list it)
        p.stop()
        let s = try topo.runbook("lock_disk_full", [])
        XCTAssertEqual(s.status, 0, s.all)
        XCTAssertEqual(json(s)["parameter"] as? String, "polar_force_trans_ro_non_sup")
        XCTAssertEqual(json(s)["running"] as? Bool, false)
        try p.start()
        try checkLocked("locked while stopped")
        XCTAssertEqual(try topo.runbook("unlock_disk_full", []).status, 0)

        // a later line in postgresql.conf (as refresh_params appends) is commented out by the lock
        try p.appendConf("polar_force_trans_ro_non_sup = off")
        let later = try topo.runbook("lock_disk_full", [])
        XCTAssertEqual(later.status, 0, later.all)
        XCTAssertTrue(later.stderr.contains("would override the lock"), later.stderr)
        try checkLocked("with a later line")
        XCTAssertEqual(try topo.runbook("unlock_disk_full", []).status, 0)

        // ALTER SYSTEM: refused before the reserve is released
        XCTAssertEqual(try p.psql("alter system set polar_force_trans_ro_non_sup = off").status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: reserve))
        let auto = try topo.runbook("lock_disk_full", [])
        XCTAssertEqual(auto.status, 1, auto.all)
        XCTAssertTrue(auto.stderr.contains("ALTER SYSTEM RESET polar_force_trans_ro_non_sup"), auto.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: reserve), "the reserve is kept when the lock is refused")
        XCTAssertEqual(try p.psql("insert into t values (5)", user: "app", password: "app", tcp: true).status, 0)
    }

    func testRefreshParamsDiskExpansionWalAndSystemIdentifier() throws {
        let topo = try PolarDBTopology(self)
        let p = topo.primary
        let r = try topo.runbook("refresh_params", [#"params={"work_mem":"8MB","polar_bg_replay_batch_size":"2000"}"#])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(try p.value("show work_mem"), "8MB")
        XCTAssertEqual(try p.value("show polar_bg_replay_batch_size"), "2000")
        // issue 11 item 8: polar_vfs is loaded, so a name it does not define is refused before
        // anything is written (the server would drop it as invalid, never apply it)
        let conf = p.pgdata + "/postgresql.conf"
        let before = try String(contentsOfFile: conf, encoding: .utf8)
        let unknown = try topo.runbook("refresh_params", [#"params={"polar_vfs.no_such_thing":"1"}"#])
        XCTAssertEqual(unknown.status, 2, unknown.all)
        XCTAssertTrue(unknown.stderr.contains("polar_vfs.no_such_thing"), unknown.stderr)
        XCTAssertEqual(try String(contentsOfFile: conf, encoding: .utf8), before, "nothing written")
        // disk_expansion: shared data on a local file system, nothing to grow (a dry run says the same and lists nothing)
        let dry = try topo.runbook("disk_expansion", ["--dry-run", "disk=home"])
        XCTAssertEqual(dry.status, 0, dry.all)
        XCTAssertEqual(json(dry)["expanded"] as? Bool, false, dry.stdout)
        XCTAssertTrue(dry.all.contains("dry run: 0 file(s) would change, 0 statement(s) would run, 0 action(s)"), dry.all)
        let d = try topo.runbook("disk_expansion", ["disk=home"])
        XCTAssertEqual(d.status, 0, d.all)
        XCTAssertEqual(json(d)["expanded"] as? Bool, false)
        XCTAssertEqual(try topo.runbook("disk_expansion", ["disk=bad name"]).status, 2)
        let w = try topo.runbook("generate_new_wal", [])
        XCTAssertEqual(w.status, 0, w.all)
        XCTAssertNotNil(json(w)["closed"] as? String)
        let id = try topo.runbook("system_identifier", [], json: false)
        XCTAssertEqual(id.status, 0, id.all)
        XCTAssertTrue(id.stdout.range(of: #"system identifier:\s*\d+"#, options: .regularExpression) != nil, id.stdout)
    }

    /// backup: PolarDB's pg_verifybackup cannot read a shared-storage manifest; the runbook says so
    /// before anything and checks the backup against the manifest itself.
    func testBackupIsVerifiedAgainstTheManifest() throws {
        let topo = try PolarDBTopology(self)
        let p = topo.primary
        XCTAssertEqual(try p.psql("create table t as select generate_series(1, 1000) as x").status, 0)
        let dir = topo.root + "/backups"
        try command(["install", "-d", "-o", "postgres", dir])
        let refused = try topo.runbook("backup", ["target=\(dir)/b1", "verify=pg_verifybackup"])
        XCTAssertEqual(refused.status, 1, refused.all)
        XCTAssertTrue(refused.stderr.contains("verify=manifest"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/b1"), "nothing was done")
        let b = try topo.runbook("backup", ["target=\(dir)/b1"])
        XCTAssertEqual(b.status, 0, b.all)
        XCTAssertEqual(json(b)["verified_by"] as? String, "manifest")
        XCTAssertTrue(b.stderr.contains("pg_verifybackup cannot read"), b.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/b1.polarrun-incomplete"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/b1/polar_shared_data/global/pg_control"))
        // Stack's backup/pre_action and post_action
        let start = try topo.runbook("backup_start", [], json: false)
        XCTAssertEqual(start.status, 0, start.all)
        let stop = try topo.runbook("backup_stop", [], json: false)
        XCTAssertEqual(stop.status, 0, stop.all)
        XCTAssertTrue(stop.stdout.contains("\"status\":\"success\"") || stop.stdout.contains("\"status\" : \"success\""), stop.stdout)
    }
}
