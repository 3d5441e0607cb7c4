import Foundation
import XCTest
@testable import PolarRun

/// `--dry-run` on the bundled mutating runbooks, against real PostgreSQL 15 clusters: each
/// dry run exits 0, changes nothing on disk or in the database, and shows as diffs exactly
/// the file changes the real run then makes.
final class DryRunTests: XCTestCase {
    var logFile = ""

    override func setUpWithError() throws {
        logFile = try makeTempDir(self, prefix: "polarrun-drylog") + "/manager.log"
    }

    func rb(_ name: String, _ args: [String], _ c: PGCluster, dry: Bool, json: Bool = true) throws -> CommandResult {
        try polarrun(["--log-file", logFile] + (dry ? ["--dry-run"] : []) + (json ? ["--json"] : [])
                     + [Repo.runbooks + "/\(name).lua", "pgdata=\(c.pgdata)", "port=\(c.port)"] + args, env: c.env)
    }

    /// Files the server and the locks keep to themselves: not changes a runbook makes.
    static let ignored: Set<String> = ["postmaster.pid", "postmaster.opts", "current_logfiles", ".polarrun.lock", ".postgresql.conf.lock"]

    /// The regular files at the top of the data directory (and `extra` paths), by content.
    func files(_ c: PGCluster, extra: [String] = []) -> [String: String] {
        var out: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: c.pgdata)) ?? [] where !DryRunTests.ignored.contains(name) && !name.hasPrefix(".s.PGSQL") {
            let p = c.pgdata + "/" + name
            var st = stat()
            if lstat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG, let d = FileManager.default.contents(atPath: p) {
                out[p] = String(decoding: d, as: UTF8.self)
            }
        }
        for p in extra { if let d = FileManager.default.contents(atPath: p) { out[p] = String(decoding: d, as: UTF8.self) } }
        return out
    }

    /// What a runbook could change in the database: roles and their settings, slots,
    /// tablespaces, databases, non-default settings, the last reload, the WAL file; or "down".
    func database(_ c: PGCluster) throws -> String {
        guard c.isRunning else { return "down" }
        return try c.value("""
            select concat_ws(' | ',
              (select string_agg(rolname || ':' || rolsuper || rolcanlogin || rolreplication || rolcreatedb || rolcreaterole
                                 || coalesce(rolpassword, '') || coalesce(rolvaliduntil::text, ''), ',' order by rolname) from pg_authid),
              (select string_agg(coalesce(setdatabase::text, '') || '/' || setrole || '=' || array_to_string(setconfig, ';'), ',' order by 1) from pg_db_role_setting),
              (select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots),
              (select string_agg(spcname, ',' order by spcname) from pg_tablespace),
              (select string_agg(datname, ',' order by datname) from pg_database),
              (select string_agg(name || '=' || setting, ',' order by name) from pg_settings where source not in ('default', 'override', 'client', 'session')),
              pg_conf_load_time(), pg_postmaster_start_time(), pg_walfile_name(pg_current_wal_lsn()))
            """)
    }

    /// Times and run ids differ between the dry and the real run: the same change otherwise.
    func normalized(_ s: String) -> String {
        s.replacingOccurrences(of: #"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?( ?[+-]\d{4}|Z)?"#, with: "TIME", options: .regularExpression)
            .replacingOccurrences(of: #"run [0-9a-z]{8}"#, with: "run ID", options: .regularExpression)
    }

    /// The dry run's file diffs (path → diff) from its --json document.
    func diffs(_ r: CommandResult) throws -> (doc: [String: Any], diffs: [String: String]) {
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.all)
        var out: [String: String] = [:]
        for item in doc["would"] as? [[String: Any]] ?? [] where item["kind"] as? String == "file" {
            out[item["path"] as! String] = item["diff"] as? String
        }
        return (doc, out)
    }

    /// Runs `name` dry, checks that nothing changed, then for real, and checks that the dry
    /// run's diffs are the real change of every file. Returns the dry run's output and document.
    @discardableResult
    func dryThenReal(_ name: String, _ args: [String] = [], _ c: PGCluster, extra: [String] = [],
                     file: StaticString = #filePath, line: UInt = #line) throws -> (CommandResult, [String: Any]) {
        let filesBefore = files(c, extra: extra), dbBefore = try database(c)
        let dry = try rb(name, args, c, dry: true)
        XCTAssertEqual(dry.status, 0, "\(name) --dry-run: \(dry.all)", file: file, line: line)
        XCTAssertEqual(files(c, extra: extra), filesBefore, "\(name) --dry-run changed files", file: file, line: line)
        XCTAssertEqual(try database(c), dbBefore, "\(name) --dry-run changed the database", file: file, line: line)
        let (doc, shown) = try diffs(dry)
        XCTAssertNotNil(doc["would_summary"], dry.stdout, file: file, line: line)
        XCTAssertFalse(dry.stderr.contains("[dry-run]") && dry.stderr.contains("applied"), dry.stderr, file: file, line: line)

        let real = try rb(name, args, c, dry: false)
        XCTAssertEqual(real.status, 0, "\(name): \(real.all)", file: file, line: line)
        let filesAfter = files(c, extra: extra)
        var actual: [String: String] = [:]
        for p in Set(filesBefore.keys).union(filesAfter.keys) where filesBefore[p] != filesAfter[p] {
            actual[p] = normalized(UnifiedDiff.diff(filesBefore[p], filesAfter[p], path: p))
        }
        let watched = Set(actual.keys).union(filesBefore.keys).union(filesAfter.keys)
        // files only: a directory the run would make (pg_log) is a line of its own, not a diff
        let expected = shown.filter { watched.contains($0.key) || (FileView.parent($0.key) == c.pgdata && $0.value.hasPrefix("--- ")) }
            .mapValues(normalized)
        XCTAssertEqual(expected, actual, "\(name): the dry run's diffs are not the real change\n--- dry:\n\(dry.all)",
                       file: file, line: line)
        return (dry, doc)
    }

    // MARK: the two examples of issue 12

    /// lock_disk_full on an instance that was never prepared: the include file a later step
    /// overwrites in place exists only in the dry run's overlay, and that is enough.
    func testLockDiskFullOnAnUnpreparedInstance() throws {
        let c = try PGCluster.started(self)
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.pgdata + "/polarrun_diskfull.conf"))
        let (dry, doc) = try dryThenReal("lock_disk_full", ["reserve_mb=0"], c)
        XCTAssertEqual(doc["locked"] as? Bool, false)
        XCTAssertEqual(doc["would_lock"] as? Bool, true)
        XCTAssertTrue(dry.stderr.contains("would run SQL: select pg_reload_conf()"), dry.stderr)
        XCTAssertTrue(dry.stderr.contains("would run SQL: alter role \"postgres\" set default_transaction_read_only = off"), dry.stderr)
        XCTAssertFalse(dry.stderr.contains("lock is ON\n"), dry.stderr)
        XCTAssertTrue(read(c.pgdata + "/polarrun_diskfull.conf").contains("default_transaction_read_only = on"), "the real run locked it")
        // and back: unlock_disk_full, dry then real
        try dryThenReal("unlock_disk_full", ["reserve_mb=0"], c)
        XCTAssertFalse(read(c.pgdata + "/polarrun_diskfull.conf").contains("default_transaction_read_only = on"))
    }

    /// refresh_params says what it would do; nothing is reported applied or reloaded.
    func testRefreshParamsSaysWouldNotApplied() throws {
        let c = try PGCluster.started(self)
        let (dry, doc) = try dryThenReal("refresh_params", [#"params={"work_mem":"16MB"}"#], c)
        XCTAssertFalse(dry.stderr.contains("configuration reloaded"), dry.stderr)
        XCTAssertFalse(dry.all.contains(": applied"), dry.all)
        XCTAssertTrue(dry.stderr.contains("would"), dry.stderr)
        XCTAssertEqual((doc["would_summary"] as? [String: Any])?["files"] as? Int, 1, dry.stdout)
        XCTAssertEqual(try c.value("show work_mem"), "16MB", "the real run applied it")
    }

    // MARK: every other mutating runbook on one instance

    func testUserRunbooks() throws {
        let c = try PGCluster.started(self)
        let (dry, _) = try dryThenReal("create_user", ["user=app", "password=app-pw-secret", "privilege=1"], c)
        XCTAssertFalse(dry.all.contains("app-pw-secret"), "the password is masked in the listing: \(dry.all)")
        XCTAssertTrue(dry.stderr.contains("would run SQL: CREATE ROLE \"app\""), dry.stderr)
        XCTAssertTrue(dry.stderr.contains("role \"app\" would be created"), dry.stderr)
        XCTAssertFalse(read(logFile).contains("app-pw-secret"))
        try dryThenReal("modify_user", ["user=app", "password=other-pw-secret", "privilege=7"], c)
        try dryThenReal("delete_user", ["user=app"], c)
        XCTAssertEqual(try c.value("select count(*) from pg_roles where rolname = 'app'"), "0")
    }

    func testReplicationSlotsAndWAL() throws {
        let c = try PGCluster.started(self)
        try dryThenReal("create_replication", ["kind=standby", "custins_id=pc7", "slot_unique_name=sb-2"], c)
        XCTAssertEqual(try c.value("select count(*) from pg_replication_slots"), "1")
        try dryThenReal("remove_replication", ["kind=standby", "custins_id=pc7", "slot_unique_name=sb-2"], c)
        XCTAssertEqual(try c.value("select count(*) from pg_replication_slots"), "0")
        let (dry, _) = try dryThenReal("generate_new_wal", [], c)
        XCTAssertTrue(dry.stderr.contains("would run SQL: select pg_switch_wal()"), dry.stderr)
    }

    func testTablespace() throws {
        let c = try PGCluster.started(self)
        let dir = try makeTempDir(self) + "/ts1"
        let (dry, _) = try dryThenReal("create_tablespace", ["name=ts1", "path=\(dir)"], c)
        XCTAssertTrue(dry.stderr.contains("would run SQL: create tablespace"), dry.stderr)
        XCTAssertEqual(try c.value("select count(*) from pg_tablespace where spcname = 'ts1'"), "1")
    }

    /// pg_ctl is simulated: a dry stop leaves the server up and says it would stop it.
    func testStopStartRestartLockAndUnlock() throws {
        let c = try PGCluster.started(self)
        let (stop, _) = try dryThenReal("stop", ["mode=fast"], c)
        XCTAssertTrue(stop.stderr.contains("would stop the instance"), stop.stderr)
        XCTAssertFalse(c.isRunning)
        try dryThenReal("start", [], c)
        XCTAssertTrue(c.isRunning)
        try dryThenReal("restart", ["mode=fast"], c)
        XCTAssertTrue(c.isRunning)
        try dryThenReal("lock_expired", [], c)
        XCTAssertFalse(c.isRunning)
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.pgdata + "/ins_lock"))
        try dryThenReal("unlock_expired", [], c)
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.pgdata + "/ins_lock"))
    }

    /// ssl: the key a dry run would write is not shown (it is a secret), only its size.
    func testSSLKeyIsNotShown() throws {
        let c = try PGCluster.started(self)
        let tmp = try makeTempDir(self)
        XCTAssertEqual(try command(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=polarrun-test", "-days", "2",
                                    "-keyout", tmp + "/k.pem", "-out", tmp + "/c.pem"]).status, 0)
        let key = read(tmp + "/k.pem")
        let filesBefore = files(c), dbBefore = try database(c)
        let dry = try rb("ssl", ["enable=true", "ssl_cert=\(read(tmp + "/c.pem"))", "ssl_key=\(key)"], c, dry: true, json: false)
        XCTAssertEqual(dry.status, 0, dry.all)
        XCTAssertEqual(files(c), filesBefore)
        XCTAssertEqual(try database(c), dbBefore)
        let keyLine = key.split(separator: "\n")[1]
        XCTAssertFalse(dry.all.contains(keyLine), "a line of the private key is shown:\n\(dry.all)")
        XCTAssertTrue(dry.stdout.contains("server.key: not shown, it holds a secret"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("+ssl = on"), dry.stdout)
    }
}
