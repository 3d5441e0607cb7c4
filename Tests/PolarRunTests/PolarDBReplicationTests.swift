import Foundation
import XCTest

/// Replication, health roles and switchover on a real PolarDB for PostgreSQL 15 cluster: a primary,
/// an own-storage standby and a shared-storage replica (Support/PolarDBTopology.swift). Skipped
/// unless POLARRUN_TEST_POLARDB names a PolarDB build.
final class PolarDBReplicationTests: XCTestCase {
    /// health_check tells the three roles apart (the replica by replica.signal, whatever its slot is
    /// called); lags are never negative; slots are created and removed by the runbooks.
    func testRolesAndReplicationSlots() throws {
        let topo = try PolarDBTopology(self, standby: true, replica: true)
        let p = topo.primary
        XCTAssertEqual(try p.value("select current_setting('synchronous_standby_names')"), "ANY 1 (\(PolarDBTopology.replicaSlot))")
        XCTAssertEqual(try p.psql("create table t as select 1 as x").status, 0, "synchronous commit through the replica")
        for (node, role) in [(p, "primary"), (topo.standby!, "standby"), (topo.replica!, "replica")] {
            let r = try topo.runbook("health_check", [], on: node)
            XCTAssertEqual(r.status, 0, r.all)
            let j = jsonResult(r)
            XCTAssertEqual(j["role"] as? String, role, "\(node.pgdata): \(r.stdout)")
            for k in ["replay_lag_s", "replay_lag_bytes"] {
                if let v = j[k] as? Double { XCTAssertGreaterThanOrEqual(v, 0, "\(role) \(k)") }
            }
        }
        XCTAssertTrue(try eventually(20) { topo.replica!.poll("select x from t") == "1" })
        XCTAssertTrue(try eventually(20) { topo.standby!.poll("select x from t") == "1" })
        // the replica streaming through a slot not named replica_*: still a replica (replica.signal)
        let ro = topo.replica!
        XCTAssertEqual(try p.psql("select pg_create_physical_replication_slot('ro_other')").status, 0)
        ro.stop()
        try ro.appendConf("primary_slot_name = 'ro_other'")
        try ro.start()
        XCTAssertTrue(try eventually(60) { ro.poll("select slot_name from pg_stat_wal_receiver") == "ro_other" },
                      ro.poll("select * from pg_stat_wal_receiver") ?? "?")
        let renamed = try topo.runbook("health_check", [], on: ro)
        XCTAssertEqual(jsonResult(renamed)["role"] as? String, "replica", renamed.all)
        let sys = try topo.runbook("system_identifier", [], on: topo.standby!, json: false)
        XCTAssertEqual(sys.status, 0, sys.all)
        // create_replication on a node in recovery is refused; remove_replication drops the slot
        XCTAssertEqual(try topo.runbook("create_replication", ["kind=standby", "custins_id=pc42", "slot_unique_name=x"],
                                        on: topo.standby!).status, 1)
        let rm = try topo.runbook("remove_replication", ["kind=standby", "custins_id=pc42", "slot_unique_name=sb-1"])
        XCTAssertEqual(rm.status, 0, rm.all)
        XCTAssertEqual(try p.value("select count(*) from pg_replication_slots where slot_name = '\(PolarDBTopology.standbySlot)'"), "0")
    }

    /// Switchover to the own-storage standby with old_primary=rejoin: promoted on a new timeline,
    /// the old primary follows without a rewind (the timeline history is read over the replication
    /// protocol: PolarDB keeps pg_wal in polar_datadir).
    func testSwitchoverToTheStandbyAndTheOldPrimaryFollows() throws {
        let topo = try PolarDBTopology(self, standby: true)
        let p = topo.primary, s = topo.standby!
        XCTAssertEqual(try p.psql("create table t (x text); insert into t values ('before')").status, 0)
        XCTAssertTrue(try eventually(20) { s.poll("select count(*) from t") == "1" })
        let r = try topo.runbook("ha_switch", ["old_primary=rejoin", "primary_pgdata=\(p.pgdata)", "rejoin_slot=standby_pc_42_old"], on: s)
        XCTAssertEqual(r.status, 0, r.all)
        let out = jsonResult(r)
        XCTAssertEqual(out["promoted"] as? Bool, true)
        XCTAssertEqual(out["new_timeline"] as? Int, 2)
        XCTAssertEqual((out["rejoin"] as? [String: Any])?["rewound"] as? Bool, false)
        XCTAssertEqual(try s.psql("insert into t values ('after')").status, 0)
        XCTAssertEqual(try p.value("select pg_is_in_recovery()"), "t")
        XCTAssertTrue(try eventually(30) { p.poll("select string_agg(x, ',' order by x) from t") == "after,before" })
        let h = try topo.runbook("health_check", [], on: p)
        XCTAssertEqual(jsonResult(h)["role"] as? String, "standby")
    }

    /// A diverged old primary needs pg_rewind, which cannot work on PolarDB (full_page_writes = off):
    /// refused before anything changes (still running, unchanged); method=basebackup rebuilds it.
    func testDivergedOldPrimaryIsRefusedThenRebuiltFromABaseBackup() throws {
        let topo = try PolarDBTopology(self, standby: true)
        let p = topo.primary, s = topo.standby!
        XCTAssertEqual(try p.psql("create table t (x text); insert into t values ('before')").status, 0)
        XCTAssertTrue(try eventually(20) { s.poll("select count(*) from t") == "1" })
        XCTAssertEqual(try topo.runbook("ha_switch", [], on: s).status, 0)         // old_primary=keep
        XCTAssertEqual(try p.psql("insert into t values ('diverged')").status, 0)
        XCTAssertEqual(try s.psql("insert into t values ('new')").status, 0)
        let conf = read(p.pgdata + "/postgresql.conf")
        let args = ["port=\(p.port)", "primary_host=\(s.pgdata)", "primary_port=\(s.port)", "slot_name=standby_pc_42_old"]
        let j = try topo.runbook("ha_rejoin", args, on: p)
        XCTAssertEqual(j.status, 1, j.all)
        XCTAssertTrue(j.stderr.contains("full_page_writes = off") && j.stderr.contains("method=basebackup"), j.stderr)
        XCTAssertTrue(p.isRunning, "refused before anything changed")
        XCTAssertEqual(read(p.pgdata + "/postgresql.conf"), conf)
        XCTAssertEqual(try p.value("select pg_is_in_recovery()"), "f")

        let b = try topo.runbook("ha_rejoin", args + ["method=basebackup"], on: p)
        XCTAssertEqual(b.status, 0, b.all)
        XCTAssertEqual(jsonResult(b)["rebuilt"] as? Bool, true)
        XCTAssertEqual(try p.value("select pg_is_in_recovery()"), "t")
        XCTAssertEqual(try p.value("select current_setting('polar_datadir')"), "file-dio://\(topo.shared)", "own configuration kept")
        XCTAssertTrue(try eventually(30) { p.poll("select string_agg(x, ',' order by x) from t") == "before,new" })
        XCTAssertFalse(FileManager.default.fileExists(atPath: p.pgdata + ".polarrun-rejoin-new"))
    }

    /// The install runbook makes PolarDB's followers as setup_install_instance asks for them: an RO
    /// on the primary's shared storage (polar-initdb.sh replica, replica.signal, nothing copied) and a
    /// standby on its own (pg_basebackup --polardata), both streaming as the replicator account,
    /// whose password reaches postgresql.conf only. An RO whose shared storage holds no instance is
    /// refused before any change.
    func testInstallMakesAnROOnThePrimarysSharedStorageAndAStandbyOnItsOwn() throws {
        let topo = try PolarDBTopology(self)
        let p = topo.primary
        let pw = "Repl1catorSecretPw"
        XCTAssertEqual(try p.psql("create role repl login replication password '\(pw)'").status, 0)
        for (kind, unique) in [("replica", "ro-1"), ("standby", "sb-1")] {
            let r = try topo.runbook("create_replication", ["kind=\(kind)", "custins_id=pc42", "slot_unique_name=\(unique)", "synchronous=false"])
            XCTAssertEqual(r.status, 0, r.all)
        }
        func install(_ node: PolarNode, _ kind: String, slot: String, shared: String) throws -> CommandResult {
            let follower = #"{"kind":"\#(kind)","host":"127.0.0.1","port":\#(p.port),"user":"repl","slot":"\#(slot)"}"#
            return try topo.runbook("install", ["port=\(node.port)", "log_dir=\(node.pgdata).log", "shared_dir=\(shared)",
                                                "hba_override=\(topo.root)/no-hba-override", "mycnf_dict=\(PolarDBTopology.small)",
                                                "follower=\(follower)", "replicator_password=\(pw)"], on: node)
        }
        // refused: the RO's shared storage must hold the primary's instance
        let lost = PolarNode(pgdata: topo.root + "/lost", port: PGCluster.freePort(), bin: topo.bin)
        let empty = topo.root + "/empty_shared"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let refused = try install(lost, "replica", slot: PolarDBTopology.replicaSlot, shared: empty)
        XCTAssertEqual(refused.status, 1, refused.all)
        XCTAssertTrue(refused.stderr.contains("holds no installed PolarDB instance"), refused.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: lost.pgdata).filter { $0 != ".polarrun.lock" }, [], "nothing changed")
        // refused: a local shared directory of another uid (root's here) cannot be read by this node's postgres
        let foreign = topo.root + "/foreign_shared"
        try FileManager.default.createDirectory(atPath: foreign + "/global", withIntermediateDirectories: true)
        try write("", to: foreign + "/global/pg_control")
        let otherUid = try install(lost, "replica", slot: PolarDBTopology.replicaSlot, shared: foreign)
        XCTAssertEqual(otherUid.status, 1, otherUid.all)
        XCTAssertTrue(otherUid.stderr.contains("belongs to uid 0"), otherUid.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: lost.pgdata).filter { $0 != ".polarrun.lock" }, [], "nothing changed")

        let ro = PolarNode(pgdata: topo.root + "/ro", port: PGCluster.freePort(), bin: topo.bin)
        let sb = PolarNode(pgdata: topo.root + "/sb", port: PGCluster.freePort(), bin: topo.bin)
        let outputs = [try install(ro, "replica", slot: PolarDBTopology.replicaSlot, shared: topo.shared),
                       try install(sb, "standby", slot: PolarDBTopology.standbySlot, shared: topo.root + "/sb_shared")]
        for r in outputs { XCTAssertEqual(r.status, 0, r.all) }
        for node in [ro, sb] {
            try node.start()
            addTeardownBlock { node.stop(mode: "immediate") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: ro.pgdata + "/replica.signal"))
        // (PolarDB keeps a local copy of pg_control once it runs, never of the relations)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ro.pgdata + "/base/1/PG_VERSION"), "the RO has no copy: it reads the primary's")
        XCTAssertTrue(FileManager.default.fileExists(atPath: sb.pgdata + "/standby.signal"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: topo.root + "/sb_shared/global/pg_control"), "the standby's own shared data")
        XCTAssertFalse(FileManager.default.fileExists(atPath: topo.root + "/sb_shared.polarrun-installing"))
        XCTAssertEqual(try ro.value("show polar_datadir"), "file-dio://\(topo.shared)")
        XCTAssertEqual(try sb.value("show polar_datadir"), "file-dio://\(topo.root)/sb_shared")
        XCTAssertTrue(try eventually(60) {
            p.poll("select string_agg(application_name || ':' || state, ',' order by application_name) from pg_stat_replication")
                == "\(PolarDBTopology.replicaSlot):streaming,\(PolarDBTopology.standbySlot):streaming"
        }, p.poll("select * from pg_stat_replication") ?? "?")
        XCTAssertEqual(try p.psql("create table t as select 7 as x").status, 0)
        XCTAssertTrue(try eventually(30) { ro.poll("select x from t") == "7" && sb.poll("select x from t") == "7" })
        for node in [ro, sb] { XCTAssertEqual(try node.value("select pg_is_in_recovery()"), "t") }
        XCTAssertEqual(jsonResult(try topo.runbook("health_check", [], on: ro))["role"] as? String, "replica")
        // the replicator's password: in the followers' postgresql.conf, nowhere else
        for node in [ro, sb] { XCTAssertTrue(read(node.pgdata + "/postgresql.conf").contains(pw)) }
        for r in outputs + [refused] { XCTAssertFalse(r.all.contains(pw), r.all) }
        XCTAssertFalse(read(topo.managerLog).contains(pw), "password in manager.log")
    }
}
