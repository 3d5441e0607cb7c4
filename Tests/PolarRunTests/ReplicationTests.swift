import Foundation
import XCTest

/// create_replication / remove_replication / backup, proven on a real primary, synchronous replica
/// and asynchronous standby (see Support/Topology.swift).
final class ReplicationTests: XCTestCase {
    /// An autocommit INSERT run by psql, killed when it has not returned after `clientTimeout` seconds.
    /// (statement_timeout cannot show the wait: PostgreSQL disables it before the commit.)
    func insert(_ c: PGCluster, _ value: Int, clientTimeout: TimeInterval = 10) throws -> CommandResult {
        try command(["/usr/sbin/runuser", "-u", "postgres", "--", PGCluster.bin + "/psql", "-X", "-h", c.socketDir,
                     "-p", String(c.port), "-U", "postgres", "-d", "postgres", "-Atc", "insert into t values (\(value))"],
                    cwd: "/", timeout: clientTimeout)
    }

    func assertNoSecret(_ secret: String, in texts: [String], file: StaticString = #filePath, line: UInt = #line) {
        for t in texts { XCTAssertFalse(t.contains(secret), "secret leaked in: \(t)", file: file, line: line) }
    }

    /// A commit waits for the synchronous replica and not for the asynchronous standby;
    /// remove_replication drops the slot and the synchronous entry (commits stop waiting), twice.
    func testCommitsWaitForSyncReplicaNotForStandbyUntilRemoved() throws {
        let topo = try Topology(self)
        let p = topo.primary
        XCTAssertEqual(try p.value("select current_setting('synchronous_standby_names')"), "ANY 1 (\(Topology.replicaSlot))")
        // a walsender reports its sync_state only once streaming has caught up: wait for it
        func syncState(_ slot: String) throws -> String {
            try p.value("select sync_state from pg_stat_replication where application_name = '\(slot)'")
        }
        XCTAssertTrue(try eventually { try syncState(Topology.replicaSlot) == "quorum" }, "replica never reported sync_state quorum")
        XCTAssertTrue(try eventually { try syncState(Topology.standbySlot) == "async" }, "standby never reported sync_state async")
        XCTAssertEqual(try p.value("select string_agg(slot_name || ':' || active, ',' order by slot_name) from pg_replication_slots"),
                       "\(Topology.replicaSlot):true,\(Topology.standbySlot):true")
        XCTAssertEqual(try p.psql("create table t (x int)").status, 0)

        // standby down: commits still return at once (asynchronous)
        topo.standby!.stop()
        let async = try insert(p, 1)   // returns at once
        XCTAssertEqual(async.status, 0, async.all)
        XCTAssertFalse(async.all.contains("synchronous replication"), async.all)

        // replica down: the commit does not return; its backend waits for synchronous replication
        topo.replica!.stop()
        let started = Date()
        let sync = try insert(p, 2, clientTimeout: 3)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 3)
        XCTAssertNotEqual(sync.status, 0, "the commit returned: \(sync.all)")
        XCTAssertEqual(try p.value("select count(*) from pg_stat_activity where wait_event = 'SyncRep'"), "1")
        XCTAssertEqual(try p.psql("select pg_cancel_backend(pid) from pg_stat_activity where wait_event = 'SyncRep'").status, 0)

        // remove the replica: slot and synchronous entry gone, commits no longer wait
        for round in 1...2 {
            let r = try topo.runbook("remove_replication", ["kind=replica", "custins_id=pc42", "slot_unique_name=ro-1"])
            XCTAssertEqual(r.status, 0, r.all)
            XCTAssertEqual(jsonResult(r)["changed"] as? Bool, round == 1, r.all)
        }
        XCTAssertEqual(try p.value("select count(*) from pg_replication_slots where slot_name = '\(Topology.replicaSlot)'"), "0")
        XCTAssertEqual(try p.value("select current_setting('synchronous_standby_names')"), "")
        XCTAssertTrue(read(p.pgdata + "/postgresql.conf").contains("synchronous_standby_names = ''"))
        let after = try insert(p, 3)
        XCTAssertEqual(after.status, 0, after.all)
        XCTAssertFalse(after.all.contains("synchronous replication"), after.all)

        // the standby's slot is removed too, even while its standby streams again (WAL sender ended)
        try topo.standby!.start()
        let active = try eventually(20) { p.poll("select count(*) from pg_replication_slots where active") == "1" }
        let diag = try p.psql("select * from pg_replication_slots").stdout + String(read(topo.root + "/server.log").suffix(3000))
        XCTAssertTrue(active, diag)
        let rs = try topo.runbook("remove_replication", ["kind=standby", "custins_id=pc42", "slot_unique_name=sb-1"])
        XCTAssertEqual(rs.status, 0, rs.all)
        XCTAssertEqual(try p.value("select count(*) from pg_replication_slots"), "0")
    }

    /// Idempotent both ways; other entries of synchronous_standby_names (quoted ones too) are kept.
    func testCreateAndRemoveAreIdempotentAndKeepOtherSyncEntries() throws {
        let c = try PGCluster.started(self, extraConf: "synchronous_standby_names = 'alpha, \"Quoted App\"'")
        let log = c.root + "/manager.log"
        func rb(_ name: String, _ args: [String]) throws -> CommandResult {
            try polarrun(["--log-file", log, "--json", Repo.runbooks + "/\(name).lua"] + args, env: c.env)
        }
        let replicaArgs = ["kind=replica", "custins_id=pc7", "slot_unique_name=ro-2"]
        for round in 1...2 {
            let r = try rb("create_replication", replicaArgs)
            XCTAssertEqual(r.status, 0, r.all)
            XCTAssertEqual(jsonResult(r)["changed"] as? Bool, round == 1)
            XCTAssertEqual(jsonResult(r)["slot"] as? String, "replica_pc7_ro_2")
        }
        XCTAssertEqual(try c.value("select current_setting('synchronous_standby_names')"), "FIRST 1 (alpha, \"Quoted App\", replica_pc7_ro_2)")
        XCTAssertEqual(try c.value("select slot_type || ':' || (restart_lsn is not null) from pg_replication_slots"), "physical:true")
        let s = try rb("create_replication", ["kind=standby", "custins_id=pc7", "slot_unique_name=sb-2"])
        XCTAssertEqual(s.status, 0, s.all)
        XCTAssertEqual(try c.value("select current_setting('synchronous_standby_names')"), "FIRST 1 (alpha, \"Quoted App\", replica_pc7_ro_2)")
        XCTAssertEqual(try c.value("select count(*) from pg_replication_slots"), "2")
        for round in 1...2 {
            let r = try rb("remove_replication", replicaArgs)
            XCTAssertEqual(r.status, 0, r.all)
            XCTAssertEqual(jsonResult(r)["changed"] as? Bool, round == 1)
        }
        XCTAssertEqual(try c.value("select current_setting('synchronous_standby_names')"), "FIRST 1 (alpha, \"Quoted App\")")
        XCTAssertEqual(try c.value("select string_agg(slot_name, ',') from pg_replication_slots"), "standby_pc7_sb_2")
        let conf = read(c.pgdata + "/postgresql.conf")
        XCTAssertTrue(conf.contains("synchronous_standby_names = 'FIRST 1 (alpha, \"Quoted App\")'"), conf)
        XCTAssertTrue(conf.contains("#synchronous_standby_names = ''"), "comments kept")
    }

    /// Bad inputs exit 2 and change nothing: no slot, the conf file byte-identical.
    func testBadInputsExitTwoAndChangeNothing() throws {
        let c = try PGCluster.started(self)
        let log = c.root + "/manager.log"
        let before = try Data(contentsOf: URL(fileURLWithPath: c.pgdata + "/postgresql.conf"))
        let cases: [[String]] = [
            ["create_replication", "custins_id=pc-1", "slot_unique_name=ro-1"],                       // kind missing
            ["create_replication", "kind=primary", "custins_id=pc-1", "slot_unique_name=ro-1"],       // bad kind
            ["create_replication", "kind=replica", "custins_id=PC-1", "slot_unique_name=ro-1"],       // upper case
            ["create_replication", "kind=replica", "custins_id=pc-1", "slot_unique_name=ro;1"],       // not a slot name
            ["create_replication", "kind=replica", "custins_id=pc-1", "slot_unique_name=ro-1", "sync=true"], // unknown input
            ["remove_replication", "kind=replica", "custins_id=pc1", "slot_unique_name=" + String(repeating: "x", count: 60)],
            // pairs that would all be replica_a_b_c (issue 13): only a/b-c has the Stack's shape
            ["create_replication", "kind=replica", "custins_id=a-b", "slot_unique_name=c"],
            ["create_replication", "kind=replica", "custins_id=a_b", "slot_unique_name=c"],
            ["create_replication", "kind=replica", "custins_id=a", "slot_unique_name=b_c"],
            ["backup", "target=relative/dir"],
            ["backup", "target=\(c.pgdata)/inside"],
            ["ha_switch", "old_primary=rejoin", "target_password=Sw0rd'fish"],                        // needs primary_pgdata
            ["ha_switch", "old_primary=later"],
            ["ha_rejoin", "primary_host=/tmp", "primary_port=x"],
        ]
        for args in cases {
            let r = try polarrun(["--log-file", log, Repo.runbooks + "/\(args[0]).lua"] + args.dropFirst(), env: c.env)
            XCTAssertEqual(r.status, 2, "\(args): \(r.all)")
            XCTAssertFalse(r.stderr.contains("Sw0rd'fish"), r.stderr)
        }
        XCTAssertEqual(try c.value("select count(*) from pg_replication_slots"), "0")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: c.pgdata + "/postgresql.conf")), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.pgdata + "/inside"))
        XCTAssertFalse(read(log).contains("Sw0rd'fish"))
    }

    /// backup: pg_verifybackup accepts it, it starts as a working cluster; a non-empty target is refused.
    func testBackupIsVerifiedAndStartsAsAWorkingCluster() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try c.psql("create table t as select generate_series(1, 1000) as x; create role bk replication login password 'Bk-p4ss;w0rd'").status, 0)
        let target = c.root + "/backups/b1"
        try FileManager.default.createDirectory(atPath: c.root + "/backups", withIntermediateDirectories: true)
        let log = c.root + "/manager.log"
        let r = try polarrun(["--log-file", log, "--json", Repo.runbooks + "/backup.lua", "target=\(target)",
                              "host=127.0.0.1", "user=bk", "password=Bk-p4ss;w0rd"], env: c.env)
        XCTAssertEqual(r.status, 0, r.all)
        let out = jsonResult(r)
        let lsn = #"^[0-9A-F]+/[0-9A-F]+$"#
        XCTAssertNotNil((out["start_lsn"] as? String)?.range(of: lsn, options: .regularExpression), r.stdout)
        XCTAssertNotNil((out["end_lsn"] as? String)?.range(of: lsn, options: .regularExpression), r.stdout)
        XCTAssertEqual(out["verified"] as? Bool, true)
        XCTAssertTrue(r.stderr.contains("WAL \(out["start_lsn"]!) .. \(out["end_lsn"]!)"), "positions logged")
        XCTAssertTrue(read(target + "/backup_manifest").contains("\"SHA256\""))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + ".polarrun-incomplete"))
        XCTAssertEqual(try c.asPostgres([PGCluster.bin + "/pg_verifybackup", target]).status, 0)
        assertNoSecret("Bk-p4ss;w0rd", in: [r.stdout, r.stderr, read(log)])

        // a second backup into the same directory is refused and leaves it as it was
        let manifest = read(target + "/backup_manifest")
        let again = try polarrun(["--log-file", log, Repo.runbooks + "/backup.lua", "target=\(target)"], env: c.env)
        XCTAssertEqual(again.status, 1, again.all)
        XCTAssertTrue(again.stderr.contains("not empty"), again.stderr)
        XCTAssertEqual(read(target + "/backup_manifest"), manifest)

        // the backup starts as a cluster of its own and holds the data
        let copy = PGClusterCopy(pgdata: target, root: c.root)
        try copy.start()
        defer { copy.stop() }
        XCTAssertEqual(try copy.value("select count(*) from t"), "1000")
        XCTAssertEqual(try copy.value("select pg_is_in_recovery()"), "f")
    }
}

/// A data directory made by a backup, started on a port of its own.
struct PGClusterCopy {
    let pgdata: String
    let root: String
    let port = PGCluster.freePort()

    func asPostgres(_ argv: [String]) throws -> CommandResult {
        try command(["/usr/sbin/runuser", "-u", "postgres", "--"] + argv, cwd: "/", timeout: 120)
    }
    func start() throws {
        let r = try asPostgres([PGCluster.bin + "/pg_ctl", "start", "-D", pgdata, "-w", "-t", "60", "-o", "-p \(port)",
                                "-l", root + "/copy.log"])
        guard r.status == 0 else { throw TopologyError("copy start: \(r.all) \(read(root + "/copy.log"))") }
    }
    func stop() { _ = try? asPostgres([PGCluster.bin + "/pg_ctl", "stop", "-D", pgdata, "-m", "immediate", "-w"]) }
    func value(_ q: String) throws -> String {
        try asPostgres([PGCluster.bin + "/psql", "-X", "-h", pgdata, "-p", String(port), "-U", "postgres", "-Atc", q])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
