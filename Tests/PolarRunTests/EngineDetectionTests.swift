import Foundation
import XCTest

/// Issue 11 on community PostgreSQL (Debian's 15): the engine is asked, not the conf file, and a
/// lock that a later setting would override is fixed or refused before anything changes.
final class EngineDetectionTests: XCTestCase {
    func rb(_ name: String, _ args: [String], _ c: PGCluster) throws -> CommandResult {
        try polarrun(["--json", Repo.runbooks + "/\(name).lua"] + args, env: c.env)
    }

    func testDiskFullLockOverridesOnCommunityPostgres() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try c.psql("create table t (x int); create role app login password 'app'; grant all on t to app").status, 0)
        XCTAssertEqual(try rb("unlock_disk_full", [], c).status, 0)
        let reserve = c.pgdata + "/pgsql_tmp.polarrun_reserve"
        // ALTER SYSTEM overrides the include file: refused, reserve kept, still writable
        XCTAssertEqual(try c.psql("alter system set default_transaction_read_only = off").status, 0)
        let auto = try rb("lock_disk_full", [], c)
        XCTAssertEqual(auto.status, 1, auto.all)
        XCTAssertTrue(auto.stderr.contains("ALTER SYSTEM RESET default_transaction_read_only"), auto.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: reserve))
        XCTAssertEqual(try c.psql("insert into t values (1)", user: "app", password: "app", tcp: true).status, 0)
        XCTAssertEqual(try c.psql("alter system reset default_transaction_read_only").status, 0)
        // a later line in postgresql.conf is commented out by the lock, which then holds
        try c.appendConf("default_transaction_read_only = off")
        let later = try rb("lock_disk_full", [], c)
        XCTAssertEqual(later.status, 0, later.all)
        XCTAssertTrue(later.stderr.contains("would override the lock"), later.stderr)
        XCTAssertNotEqual(try c.psql("insert into t values (2)", user: "app", password: "app", tcp: true).status, 0)
        XCTAssertEqual(try rb("unlock_disk_full", [], c).status, 0)
        // stopped: the binaries say community PostgreSQL (no polar_force_trans_ro_non_sup), whatever the conf says
        try c.appendConf("# polar_force_trans_ro_non_sup = off")
        c.stop()
        let s = try rb("lock_disk_full", [], c)
        XCTAssertEqual(s.status, 0, s.all)
        XCTAssertEqual(jsonResult(s)["parameter"] as? String, "default_transaction_read_only")
        XCTAssertTrue(s.stderr.contains("community PostgreSQL 15"), s.stderr)
    }

    /// unlock_expired wait=N returns once the instance accepts connections, and the health check's
    /// role and lags on a primary.
    func testUnlockExpiredWaitsForConnections() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try rb("lock_expired", [], c).status, 0)
        // nothing brings it up (no supervisor): the wait times out, exit non-zero
        let r = try rb("unlock_expired", ["wait=2"], c)
        XCTAssertNotEqual(r.status, 0, r.all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.pgdata + "/ins_lock"))
    }
}
