import Foundation
import XCTest

/// ha_switch and ha_rejoin on a real primary and asynchronous standby (see Support/Topology.swift).
final class HASwitchTests: XCTestCase {
    /// The state that a refusal must leave untouched.
    func roles(_ topo: Topology) throws -> String {
        let s = topo.standby!
        return "\(try topo.inRecovery(topo.primary)) \(try topo.inRecovery(s)) \(try s.value("select status from pg_stat_wal_receiver"))"
            + " \(try s.value("select timeline_id from pg_control_checkpoint()"))"
    }

    func testRefusalsChangeNothing() throws {
        let topo = try Topology(self, replica: false)
        let p = topo.primary, s = topo.standby!
        let before = try roles(topo)
        XCTAssertEqual(before, "false true streaming 1")

        // the target is the primary itself: not a standby
        let notStandby = try topo.runbook("ha_switch", ["pgdata=\(p.pgdata)", "port=\(p.port)"], on: p)
        XCTAssertEqual(notStandby.status, 1, notStandby.all)
        XCTAssertTrue(notStandby.stderr.contains("is not a standby"), notStandby.stderr)

        // replay paused and lagging: both reasons are given
        XCTAssertEqual(try s.psql("select pg_wal_replay_pause()").status, 0)
        XCTAssertEqual(try p.psql("create table big as select generate_series(1, 20000) as x").status, 0)
        XCTAssertTrue(try eventually(10) {
            try s.value("select pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) > 100000") == "t"
        })
        let lag = try topo.runbook("ha_switch", ["max_lag_bytes=1024", "old_primary=rejoin", "primary_pgdata=\(p.pgdata)"], on: s)
        XCTAssertEqual(lag.status, 1, lag.all)
        XCTAssertTrue(lag.stderr.contains("nothing was changed"), lag.stderr)
        XCTAssertTrue(lag.stderr.contains("replay lag"), lag.stderr)
        XCTAssertTrue(lag.stderr.contains("replay is paused"), lag.stderr)
        XCTAssertEqual(try s.psql("select pg_wal_replay_resume()").status, 0)

        // primary_pgdata naming another server than the one the standby streams from
        let other = try PGCluster.started(self)
        let wrong = try topo.runbook("ha_switch", ["old_primary=stop", "primary_pgdata=\(other.pgdata)",
                                                   "primary_host=\(p.pgdata)", "primary_port=\(p.port)"], on: s)
        XCTAssertEqual(wrong.status, 1, wrong.all)
        XCTAssertTrue(wrong.stderr.contains("runs from"), wrong.stderr)
        // a primary of another cluster
        let foreign = try topo.runbook("ha_switch", ["primary_host=\(other.pgdata)", "primary_port=\(other.port)"], on: s)
        XCTAssertEqual(foreign.status, 1, foreign.all)
        XCTAssertTrue(foreign.stderr.contains("different clusters"), foreign.stderr)

        XCTAssertTrue(try eventually(10) { try roles(topo) == before })
        XCTAssertTrue(other.isRunning && p.isRunning)
        XCTAssertEqual(try s.value("select count(*) from big"), "20000")
    }

    /// Switchover with old_primary=rejoin: the standby is promoted and writes on timeline 2, the old
    /// primary streams from it; running it again changes nothing.
    func testSwitchoverPromotesStandbyAndOldPrimaryFollows() throws {
        let topo = try Topology(self, replica: false)
        let p = topo.primary, s = topo.standby!
        XCTAssertEqual(try p.psql("create table t (x text); insert into t values ('before')").status, 0)
        let args = ["old_primary=rejoin", "primary_pgdata=\(p.pgdata)", "rejoin_slot=standby_pc_42_old",
                    "target_password=Tg-s3cret'x", "primary_password=Pr-s3cret\\y"]
        let r = try topo.runbook("ha_switch", args, on: s)
        XCTAssertEqual(r.status, 0, r.all)
        let out = jsonResult(r)
        XCTAssertEqual(out["promoted"] as? Bool, true)
        XCTAssertEqual(out["old_timeline"] as? Int, 1)
        XCTAssertEqual(out["new_timeline"] as? Int, 2)
        XCTAssertEqual((out["rejoin"] as? [String: Any])?["rewound"] as? Bool, false, "clean switchover: no rewind needed")

        // the new primary writes; the old one is its standby and receives the write
        XCTAssertEqual(try topo.inRecovery(s), false)
        XCTAssertEqual(try s.psql("insert into t values ('after')").status, 0)
        XCTAssertEqual(try topo.inRecovery(p), true)
        XCTAssertTrue(try eventually(20) { p.poll("select string_agg(x, ',' order by x) from t") == "after,before" })
        XCTAssertEqual(try s.value("select application_name || ':' || state from pg_stat_replication"), "standby_pc_42_old:streaming")
        XCTAssertEqual(try s.value("select active from pg_replication_slots where slot_name = 'standby_pc_42_old'"), "t")

        // again: the target is already the primary and the old primary follows it: nothing to do
        let again = try topo.runbook("ha_switch", args, on: s)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertEqual(jsonResult(again)["promoted"] as? Bool, false)
        XCTAssertEqual((jsonResult(again)["rejoin"] as? [String: Any])?["changed"] as? Bool, false)
        for text in [r.stdout, r.stderr, again.stdout, again.stderr, read(topo.managerLog)] {
            XCTAssertFalse(text.contains("Tg-s3cret") || text.contains("Pr-s3cret"), "secret leaked: \(text)")
        }
    }

    /// old_primary=keep leaves the old primary writable; what it writes afterwards diverges, and
    /// ha_rejoin rewinds it (pg_rewind) onto the new primary's timeline. The target is given as
    /// connection info (target_host): promoted with pg_promote(), as a remote target would be.
    func testRejoinRewindsADivergedOldPrimary() throws {
        let topo = try Topology(self, replica: false, standbySocketOutside: true)
        let p = topo.primary, s = topo.standby!
        XCTAssertEqual(try p.psql("create table t (x text); insert into t values ('before')").status, 0)
        XCTAssertTrue(try eventually(10) { s.poll("select count(*) from t") == "1" })
        // primary found through the standby's WAL receiver
        let r = try topo.runbook("ha_switch", ["target_host=\(s.socketDir)", "port=\(s.port)", "pgdata=/nonexistent"], on: s)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(jsonResult(r)["new_timeline"] as? Int, 2)
        XCTAssertTrue(r.stderr.contains("pg_promote"), r.stderr)
        XCTAssertEqual(try p.psql("insert into t values ('diverged'); checkpoint").status, 0)
        XCTAssertEqual(try s.psql("insert into t values ('new')").status, 0)

        let j = try topo.runbook("ha_rejoin", ["pgdata=\(p.pgdata)", "port=\(p.port)", "primary_host=\(s.socketDir)",
                                               "primary_port=\(s.port)", "slot_name=standby_pc_42_old",
                                               "primary_password=Rj-s3cret'pw"], on: p)
        XCTAssertEqual(j.status, 0, j.all)
        XCTAssertEqual(jsonResult(j)["rewound"] as? Bool, true, j.all)
        XCTAssertEqual(try topo.inRecovery(p), true)
        XCTAssertTrue(try eventually(20) { p.poll("select string_agg(x, ',' order by x) from t") == "before,new" })
        XCTAssertEqual(try p.value("select current_setting('port')"), String(p.port), "own configuration kept")
        XCTAssertFalse(FileManager.default.fileExists(atPath: p.pgdata + ".polarrun-rejoin-conf"))
        for text in [j.stdout, j.stderr, read(topo.managerLog)] { XCTAssertFalse(text.contains("Rj-s3cret"), text) }
    }

    /// A rewind from a new primary whose unix socket is in its data directory (the pod layout) is
    /// refused before anything is copied, with the reason.
    func testRejoinRefusesRewindFromSocketInDataDirectory() throws {
        let topo = try Topology(self, replica: false)
        let p = topo.primary, s = topo.standby!
        XCTAssertEqual(try topo.runbook("ha_switch", [], on: s).status, 0)
        XCTAssertEqual(try p.psql("create table diverged (x int)").status, 0)
        let conf = read(p.pgdata + "/postgresql.conf")
        let j = try topo.runbook("ha_rejoin", ["pgdata=\(p.pgdata)", "port=\(p.port)", "primary_host=\(s.pgdata)",
                                               "primary_port=\(s.port)"], on: p)
        XCTAssertEqual(j.status, 1, j.all)
        XCTAssertTrue(j.stderr.contains("pg_rewind cannot copy"), j.stderr)
        XCTAssertEqual(read(p.pgdata + "/postgresql.conf"), conf)
        XCTAssertFalse(FileManager.default.fileExists(atPath: p.pgdata + "/standby.signal"))
    }
}
