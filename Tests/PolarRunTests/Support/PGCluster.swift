import Foundation
import XCTest
@testable import PolarRun

/// A real PostgreSQL 15 cluster (Debian's binaries) in a temporary directory, run as the
/// `postgres` OS user, listening on a unix socket in its data directory and on a loopback port.
final class PGCluster {
    static let bin = ProcessInfo.processInfo.environment["POLARRUN_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
    let root: String
    let pgdata: String
    let port: Int
    /// Where the server's unix socket is (the data directory unless a test moves it).
    var socketDir: String
    /// Environment for polarrun runbooks that operate on this cluster.
    var env: [String: String] {
        ["PGDATA": pgdata, "PGHOST": socketDir, "PGPORT": String(port), "POLARRUN_PG_BIN": PGCluster.bin]
    }

    /// Allocates a free loopback port (the harness's own allocator: `polarrun test` uses it too).
    static func freePort() -> Int { TestCluster.freePort() }

    /// Creates (initdb) a cluster under `root` (a directory the test owns). With `initdb: false`
    /// only the layout is prepared (for a replica made by pg_basebackup).
    init(root: String, name: String = "pg", initdb: Bool = true, extraConf: String = "") throws {
        self.root = root
        self.pgdata = root + "/" + name
        self.port = PGCluster.freePort()
        self.socketDir = pgdata
        try FileManager.default.createDirectory(atPath: pgdata, withIntermediateDirectories: true)
        chmod(pgdata, 0o700)
        try command(["chown", "-R", "postgres:postgres", root])
        if initdb {
            let r = try asPostgres([PGCluster.bin + "/initdb", "-D", pgdata, "-U", "postgres", "--auth-local=trust",
                                    "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
            guard r.status == 0 else { throw NSError(domain: "initdb", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.all]) }
            try appendConf("""
            port = \(port)
            listen_addresses = '127.0.0.1'
            unix_socket_directories = '.'
            fsync = off
            wal_level = replica
            max_wal_senders = 10
            max_replication_slots = 10
            hot_standby = on
            logging_collector = off
            \(extraConf)
            """)
            try write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n",
                      to: pgdata + "/pg_hba.conf")
            try command(["chown", "postgres:postgres", pgdata + "/pg_hba.conf"])
        }
    }

    func appendConf(_ text: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: pgdata + "/postgresql.conf"))
        h.seekToEndOfFile()
        h.write(Data(("\n" + text + "\n").utf8))
        try h.close()
    }

    /// Runs a command as the postgres OS user.
    @discardableResult
    func asPostgres(_ argv: [String], timeout: TimeInterval = 120) throws -> CommandResult {
        try command(["/usr/sbin/runuser", "-u", "postgres", "--"] + argv, cwd: "/", timeout: timeout)
    }

    func start() throws {
        let r = try asPostgres([PGCluster.bin + "/pg_ctl", "start", "-D", pgdata, "-w", "-t", "60", "-l", root + "/server.log"])
        guard r.status == 0 else {
            throw NSError(domain: "pg_ctl", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.all + read(root + "/server.log")])
        }
    }

    func stop(mode: String = "fast") {
        _ = try? asPostgres([PGCluster.bin + "/pg_ctl", "stop", "-D", pgdata, "-m", mode, "-w", "-t", "60"])
    }

    var isRunning: Bool {
        (try? asPostgres([PGCluster.bin + "/pg_ctl", "status", "-D", pgdata]).status) == 0
    }

    /// psql as `user` over the unix socket; returns unaligned, tuples-only output.
    @discardableResult
    func psql(_ query: String, user: String = "postgres", db: String = "postgres", password: String? = nil,
              tcp: Bool = false, timeout: TimeInterval = 60) throws -> CommandResult {
        var env: [String: String] = [:]
        if let password { env["PGPASSWORD"] = password }
        let host = tcp ? "127.0.0.1" : socketDir
        return try command(["/usr/sbin/runuser", "-u", "postgres", "--", "env"] + env.map { "\($0.key)=\($0.value)" } +
                           [PGCluster.bin + "/psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", user,
                            "-d", db, "-Atc", query], cwd: "/", timeout: timeout)
    }

    /// The single value a query returns (fails the test on error).
    func value(_ query: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try psql(query)
        XCTAssertEqual(r.status, 0, r.all, file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts a cluster for a test and stops it (and removes it) at the end.
    static func started(_ test: XCTestCase, extraConf: String = "") throws -> PGCluster {
        let root = try makeTempDir(test, prefix: "polarrun-pg")
        let c = try PGCluster(root: root, extraConf: extraConf)
        try c.start()
        test.addTeardownBlock { c.stop(mode: "immediate") }
        return c
    }
}
