#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The throwaway PostgreSQL cluster `polarrun test` runs cases against: initdb in a temporary
/// directory (as the `postgres` OS user when run as root, since initdb refuses root), a unix
/// socket in that directory and a free loopback port. `remove()` stops it and deletes it.
public final class TestCluster {
    public let root: String
    public let pgdata: String
    public let port: Int
    public let bin: String
    /// The OS user the server runs as (nil: this process's user).
    let runAs: String?

    /// The engine's programs: `--pg-bin`, POLARRUN_TEST_PG_BIN, Debian's PostgreSQL 15, the pod's PolarDB.
    public static func binDirectory(option: String?, environment: [String: String]) -> String? {
        var candidates: [String] = []
        if let o = option, !o.isEmpty { return o }
        if let e = environment["POLARRUN_TEST_PG_BIN"], !e.isEmpty { return e }
        candidates = ["/usr/lib/postgresql/15/bin", "/u01/polardb_pg/bin"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    /// Environment for the runbooks and `sql()` of the cases (SQL.swift's defaults read these).
    public var environment: [String: String] {
        ["PGDATA": pgdata, "PGHOST": pgdata, "PGPORT": String(port), "PGUSER": "postgres", "POLARRUN_PG_BIN": bin]
    }

    public init(bin: String) throws {
        self.bin = bin
        self.runAs = getuid() == 0 ? "postgres" : nil
        var template = Array(temporaryDirectory().appendingPathComponent("polarrun-harness.XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw HostError.usage("cannot create a temporary directory") }
        root = String(cString: template)
        pgdata = root + "/pgdata"
        port = TestCluster.freePort()
        do {
            try create()
        } catch {
            remove()
            throw error
        }
    }

    private func create() throws {
        guard FileManager.default.isExecutableFile(atPath: bin + "/initdb") else {
            throw HostError.usage("no initdb in \(bin) (set --pg-bin or POLARRUN_TEST_PG_BIN)")
        }
        if let u = runAs { try check(["chown", u, root], "chown") }
        try check(["\(bin)/initdb", "-D", pgdata, "-U", "postgres", "--auth-local=trust", "--auth-host=trust",
                   "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], "initdb")
        let conf = "\nport = \(port)\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '\(pgdata)'\nfsync = off\nlogging_collector = off\n"
        let fd = open(pgdata + "/postgresql.conf", O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw HostError.io("cannot open \(pgdata)/postgresql.conf: \(errnoText())") }
        Stdio.write(fd, conf)
        close(fd)
        try check(["\(bin)/pg_ctl", "start", "-D", pgdata, "-w", "-t", "60", "-l", root + "/server.log"], "pg_ctl start")
    }

    /// Stops the server and deletes the directory. The postmaster gets SIGQUIT (immediate
    /// shutdown: nothing to keep) straight from its pid file rather than through pg_ctl, since
    /// after a SIGINT to polarrun Subprocess refuses to start children.
    public func remove() {
        if let text = try? String(contentsOfFile: pgdata + "/postmaster.pid", encoding: .utf8),
           let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), pid > 0 {
            kill(pid, SIGQUIT)
            // wait for it (and its children, which leave with it) before deleting its files
            for _ in 0..<200 where kill(pid, 0) == 0 { usleep(50_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    private func check(_ argv: [String], _ what: String) throws {
        let (status, output) = try run(argv)
        guard status == 0 else { throw HostError.usage("test cluster: \(what) failed (exit \(status)): \(output)") }
    }

    /// Runs argv as `runAs` (Subprocess: Foundation's Process does not reap under the
    /// host's signal handling), returning the exit status and the combined output.
    private func run(_ argv: [String]) throws -> (Int32, String) {
        var spec = ProcessSpec(argv)
        spec.cwd = "/"
        spec.timeout = 120
        if argv.first != "chown" { spec.user = runAs }
        if argv.first == "chown" { spec.argv[0] = "/bin/chown" }
        let r = try Subprocess.run(spec)
        return (r.status, r.stdout + r.stderr)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
