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
}
