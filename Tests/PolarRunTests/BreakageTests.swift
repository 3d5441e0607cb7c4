import Foundation
import XCTest

/// Issue 13: requests that look valid but would break the instance are refused (exit 2,
/// nothing changed), against a real PostgreSQL 15 cluster.
final class BreakageTests: XCTestCase {
    var logFile = ""

    override func setUpWithError() throws {
        logFile = try makeTempDir(self, prefix: "polarrun-brklog") + "/manager.log"
    }

    @discardableResult
    func rb(_ name: String, _ args: [String], _ c: PGCluster, json: Bool = false) throws -> CommandResult {
        try polarrun(["--log-file", logFile] + (json ? ["--json"] : []) + [Repo.runbooks + "/\(name).lua"] + args, env: c.env)
    }

    func conf(_ c: PGCluster) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: c.pgdata + "/postgresql.conf")) }

    func testRefreshParamsWritesWhatTheEngineParsesAndRefusesWhatWouldStopTheNextStart() throws {
        let c = try PGCluster.started(self)
        let ok = try rb("refresh_params", [#"params={"work_mem":"5.5MB","statement_timeout":"1.5min"}"#], c)
        XCTAssertEqual(ok.status, 0, ok.all)
        XCTAssertEqual(try c.value("show work_mem"), "5632kB")
        XCTAssertEqual(try c.value("show statement_timeout"), "90s")
        XCTAssertEqual(try rb("restart", [], c).status, 0, "the instance restarts with what was written")

        let before = try conf(c)
        for bad in [#"{"shared_preload_libraries":"no_such_lib_xyz"}"#, #"{"shared_preload_libraries":"pg_stat_statements,nope_lib"}"#,
                    #"{"polar_vfs.localfs_mode":"on"}"#, #"{"shared_buffers":"4TB"}"#, "[]", #"{"password":"do-not-print-me"}"#]
                    + (Self.hugePagesTotal == 0 ? [#"{"huge_pages":"on"}"#] : []) {
            let r = try rb("refresh_params", ["params=\(bad)"], c)
            XCTAssertEqual(r.status, 2, "\(bad): \(r.all)")
            XCTAssertEqual(try conf(c), before, "conf changed by \(bad)")
            XCTAssertFalse(r.all.contains("do-not-print-me"), r.all)
        }
        XCTAssertFalse(read(logFile).contains("do-not-print-me"))
        // a library the engine has is accepted (pending restart)
        let lib = try rb("refresh_params", [#"params={"shared_preload_libraries":"pg_stat_statements"}"#], c)
        XCTAssertEqual(lib.status, 0, lib.all)
        XCTAssertEqual(try rb("restart", [], c).status, 0)
    }

    /// HugePages_Total of /proc/meminfo (huge_pages=on cannot start without them).
    static var hugePagesTotal: Int? {
        let info = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").first { $0.hasPrefix("HugePages_Total:") }
            .flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    func testManagerAndStackRolesCannotBeDemoted() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try rb("create_user", ["user=aurora", "password=aurora-pw-1", "privilege=7"], c).status, 0)
        XCTAssertEqual(try rb("create_user", ["user=replicator", "password=repl-pw-1", "privilege=15"], c).status, 0)
        for (runbook, args) in [("modify_user", ["user=postgres", "privilege=1"]), ("create_user", ["user=postgres", "password=pg-pw-1", "privilege=1"]),
                                ("modify_user", ["user=aurora", "privilege=1"]), ("modify_user", ["user=replicator", "privilege=7"])] {
            let r = try rb(runbook, args, c)
            XCTAssertEqual(r.status, 2, "\(runbook) \(args): \(r.all)")
            XCTAssertTrue(r.stderr.contains("allow_demote=true"), r.stderr)
        }
        XCTAssertEqual(try c.value("select string_agg(rolname || ':' || rolsuper || rolreplication, ',' order by rolname) from pg_roles where rolname in ('postgres','aurora','replicator')"),
                       "aurora:truefalse,postgres:truetrue,replicator:truetrue")
        XCTAssertEqual(try rb("modify_user", ["user=aurora", "privilege=1", "allow_demote=true"], c).status, 0)
        XCTAssertEqual(try c.value("select rolsuper from pg_roles where rolname = 'aurora'"), "f")
    }

    func testEmptyOrRelativePgdataAndPaddedNumbersAreRefusedEverywhere() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try rb("create_user", ["user=victim", "password=victim-pw-1", "privilege=1"], c).status, 0)
        let confBefore = try conf(c)
        let runbooks = try FileManager.default.contentsOfDirectory(atPath: Repo.runbooks)
            .filter { $0.hasSuffix(".lua") && read(Repo.runbooks + "/" + $0).contains("instance.inputs") }
        XCTAssertGreaterThan(runbooks.count, 15)
        for name in runbooks.sorted() {
            for bad in ["pgdata=", "pgdata=  ", "pgdata=data", "pgdata=/"] {
                let r = try polarrun(["--log-file", logFile, "--timeout", "30", Repo.runbooks + "/" + name, bad, "user=victim"], env: c.env, timeout: 60)
                XCTAssertEqual(r.status, 2, "\(name) \(bad): \(r.all)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/.polarrun.lock"))
        XCTAssertEqual(try c.value("select count(*) from pg_roles where rolname = 'victim'"), "1")
        XCTAssertEqual(try conf(c), confBefore)
        XCTAssertEqual(try rb("modify_user", ["user=victim", "privilege= 1"], c).status, 2)
    }

    /// The DEBUG line of the CREATE ROLE statement once held a password with a newline: the
    /// statement was folded onto one line before it was masked.
    func testPasswordWithANewlineNeverReachesTheLog() throws {
        let c = try PGCluster.started(self)
        let pw = "first-line\nsecond'line\\x"
        let r = try polarrun(["--log-file", logFile, "--verbose", Repo.runbooks + "/create_user.lua", "user=nl_user", "password=\(pw)", "privilege=1"], env: c.env)
        XCTAssertEqual(r.status, 0, r.all)
        let everything = read(logFile) + r.all
        XCTAssertTrue(everything.contains("CREATE ROLE"), "the statement is logged at debug level")
        for part in ["first-line", "second'line", "second''line"] { XCTAssertFalse(everything.contains(part), "'\(part)' leaked:\n\(everything)") }
    }

    /// The Stack's variables reached every child, including the long-lived postmaster.
    func testThePostmasterStartedByARunbookDoesNotInheritTheStacksSecrets() throws {
        let c = try PGCluster.started(self)
        c.stop()
        var env = c.env
        env["srv_opr_password"] = "stack-secret-in-environ"
        env["cluster_custins_info"] = #"{"password":"other-secret"}"#
        let r = try polarrun(["--log-file", logFile, Repo.runbooks + "/start.lua"], env: env)
        XCTAssertEqual(r.status, 0, r.all)
        let pid = read(c.pgdata + "/postmaster.pid").split(separator: "\n").first.map(String.init) ?? ""
        let environ = try XCTUnwrap(FileManager.default.contents(atPath: "/proc/\(pid)/environ"), "no postmaster \(pid)")
        let text = String(decoding: environ, as: UTF8.self)
        XCTAssertFalse(text.contains("stack-secret-in-environ") || text.contains("srv_opr_password") || text.contains("cluster_custins_info"), text)
        XCTAssertTrue(text.contains("PATH="), text)
    }
}
