import Foundation
import XCTest
@testable import PolarRun

/// Issue 13: every bundled runbook that changes a real cluster, killed with SIGKILL at random
/// points, leaves a conf file the engine parses, and the next run succeeds and leaves no
/// temporary file behind. POLARRUN_CRASH_ROUNDS (default 3) kills per runbook.
final class CrashSafetyTests: XCTestCase {
    let rounds = ProcessInfo.processInfo.environment["POLARRUN_CRASH_ROUNDS"].flatMap(Int.init) ?? 3

    func temporaries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".polarrun-") }
    }

    func testMutatingRunbooksSurviveSIGKILLAtRandomPoints() throws {
        let c = try PGCluster.started(self)
        let logFile = try makeTempDir(self, prefix: "polarrun-crashlog") + "/manager.log"
        let repl = ["kind=standby", "custins_id=c1", "slot_unique_name=s1"]
        // (runbook, inputs): each pair after a lock_* is its unlock, so the cluster ends as it began
        let cases: [(String, [String])] = [
            ("refresh_params", [#"params={"work_mem":"7MB","statement_timeout":"1.5min"}"#]),
            ("refresh_params", [#"params={"work_mem":"9MB"}"#]),
            ("create_user", ["user=crash_u", "password=crash-pw-1", "privilege=1"]),
            ("modify_user", ["user=crash_u", "password=crash-pw-2", "privilege=7"]),
            ("delete_user", ["user=crash_u"]),
            ("create_replication", repl),
            ("remove_replication", repl),
            ("lock_disk_full", []),
            ("unlock_disk_full", []),
            ("generate_new_wal", []),
        ]
        var rng = SystemRandomNumberGenerator()
        for (name, args) in cases {
            let argv = [Repo.binary, "--log-file", logFile, "--timeout", "60", Repo.runbooks + "/\(name).lua"] + args
            for round in 0..<rounds {
                var spec = ProcessSpec(argv)
                spec.environment = ProcessInfo.processInfo.environment.merging(c.env) { $1 }
                let child = try Subprocess.start(spec)
                usleep(UInt32.random(in: 0...600_000, using: &rng))
                kill(child.pid, SIGKILL)
                var st: Int32 = 0
                _ = waitpid(child.pid, &st, 0)
                close(child.out); close(child.err)
                if child.input >= 0 { close(child.input) }

                let parsed = try c.asPostgres([PGCluster.bin + "/postgres", "-D", c.pgdata, "-C", "work_mem"])
                XCTAssertEqual(parsed.status, 0, "\(name) round \(round): postgresql.conf no longer parses: \(parsed.all)")
                let next = try polarrun(Array(argv.dropFirst()), env: c.env, timeout: 120)
                XCTAssertEqual(next.status, 0, "\(name) round \(round): the run after the kill failed: \(next.all)")
                XCTAssertEqual(temporaries(c.pgdata), [], "\(name) round \(round): temporary files left")
            }
        }
        XCTAssertEqual(try c.value("select 1"), "1")
        XCTAssertEqual(try c.value("show work_mem"), "9MB")
        XCTAssertEqual(try c.value("select count(*) from pg_roles where rolname = 'crash_u'"), "0")
    }
}
