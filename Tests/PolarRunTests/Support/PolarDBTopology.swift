import Foundation
import XCTest

/// A real PolarDB for PostgreSQL 15 build, named by `POLARRUN_TEST_POLARDB` (its installation
/// prefix, e.g. /work/polardb/install with polardb.conf.sample in its share directory; see
/// docs/runbooks.md). Without it the PolarDB tests are skipped with that reason (CI has no engine).
enum PolarDB {
    static let variable = "POLARRUN_TEST_POLARDB"

    static func require() throws -> String {
        let prefix = ProcessInfo.processInfo.environment[variable] ?? ""
        guard !prefix.isEmpty else {
            throw XCTSkip("\(variable) is not set: no PolarDB for PostgreSQL 15 build to run the PolarDB suite against " +
                          "(set it to the installation prefix, see docs/runbooks.md)")
        }
        guard FileManager.default.isExecutableFile(atPath: prefix + "/bin/postgres") else {
            throw XCTSkip("\(variable)=\(prefix) has no bin/postgres")
        }
        return prefix
    }
}

/// One PolarDB node (primary, own-storage standby or shared-storage replica) in a temporary
/// directory, run as the `postgres` OS user with its unix socket in its data directory.
final class PolarNode {
    let pgdata: String
    let port: Int
    let bin: String
    let log: String
    var env: [String: String] { ["PGDATA": pgdata, "PGHOST": pgdata, "PGPORT": String(port), "POLARRUN_PG_BIN": bin] }

    init(pgdata: String, port: Int, bin: String) {
        self.pgdata = pgdata
        self.port = port
        self.bin = bin
        self.log = pgdata + ".server.log"
    }

    @discardableResult
    func asPostgres(_ argv: [String], env: [String: String] = [:], timeout: TimeInterval = 300) throws -> CommandResult {
        try command(["/usr/sbin/runuser", "-u", "postgres", "--", "env"] + env.map { "\($0.key)=\($0.value)" } + argv,
                    cwd: "/", timeout: timeout)
    }

    func start() throws {
        let r = try asPostgres([bin + "/pg_ctl", "start", "-D", pgdata, "-w", "-t", "120", "-l", log])
        guard r.status == 0 else { throw TopologyError("pg_ctl start \(pgdata): \(r.all)\n\(read(log))") }
    }

    func stop(mode: String = "fast") { _ = try? asPostgres([bin + "/pg_ctl", "stop", "-D", pgdata, "-m", mode, "-w", "-t", "120"]) }

    var isRunning: Bool { (try? asPostgres([bin + "/pg_ctl", "status", "-D", pgdata]).status) == 0 }

    @discardableResult
    func psql(_ query: String, user: String = "postgres", password: String? = nil, tcp: Bool = false) throws -> CommandResult {
        var env: [String: String] = [:]
        if let password { env["PGPASSWORD"] = password }
        return try asPostgres([bin + "/psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", tcp ? "127.0.0.1" : pgdata, "-p", String(port),
                               "-U", user, "-d", "postgres", "-Atc", query], env: env, timeout: 60)
    }

    func value(_ query: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try psql(query)
        XCTAssertEqual(r.status, 0, r.all, file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func poll(_ query: String) -> String? {
        guard let r = try? psql(query), r.status == 0 else { return nil }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func appendConf(_ text: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: pgdata + "/postgresql.conf"))
        h.seekToEndOfFile()
        h.write(Data(("\n" + text + "\n").utf8))
        try h.close()
    }
}

/// A PolarDB cluster as PolarDB runs in the pod: a primary made by the `install` runbook (shared
/// storage on a local directory, file-dio), and optionally an own-storage standby (pg_basebackup
/// --polardata, streaming through `standby_pc42_sb_1`) and a shared-storage replica
/// (polar-initdb.sh replica on the primary's shared directory, replica.signal, streaming through
/// `replica_pc42_ro_1`, synchronous). Slots come from the `create_replication` runbook.
final class PolarDBTopology {
    static let standbySlot = "standby_pc42_sb_1"
    static let replicaSlot = "replica_pc42_ro_1"
    /// Settings that keep three nodes small on a test machine (PolarDB's sample is sized for a server).
    static let small = #"{"shared_buffers":"128MB","max_connections":"50","listen_addresses":"'127.0.0.1'"}"#

    let root: String
    let bin: String
    let primary: PolarNode
    let shared: String
    private(set) var standby: PolarNode?
    private(set) var replica: PolarNode?
    private(set) var installResult: CommandResult
    var managerLog: String { root + "/manager.log" }

    init(_ test: XCTestCase, standby withStandby: Bool = false, replica withReplica: Bool = false) throws {
        bin = try PolarDB.require() + "/bin"
        root = try makeTempDir(test, prefix: "polarrun-polardb")
        try command(["chown", "postgres:postgres", root])
        shared = root + "/shared"
        primary = PolarNode(pgdata: root + "/primary", port: PGCluster.freePort(), bin: bin)
        installResult = CommandResult(status: -1, stdout: "", stderr: "")
        installResult = try runbook("install", ["port=\(primary.port)", "log_dir=\(root)/log", "shared_dir=\(shared)",
                                                "hba_override=\(root)/no-hba-override", "mycnf_dict=\(PolarDBTopology.small)"])
        guard installResult.status == 0 else { throw TopologyError("install: \(installResult.all)") }
        try primary.start()
        test.addTeardownBlock { [primary] in primary.stop(mode: "immediate") }
        if withStandby {
            let r = try runbook("create_replication", ["kind=standby", "custins_id=pc42", "slot_unique_name=sb-1"])
            guard r.status == 0 else { throw TopologyError("create_replication standby: \(r.all)") }
            standby = try makeStandby(test)
        }
        if withReplica {
            let r = try runbook("create_replication", ["kind=replica", "custins_id=pc42", "slot_unique_name=ro-1"])
            guard r.status == 0 else { throw TopologyError("create_replication replica: \(r.all)") }
            replica = try makeReplica(test)
        }
        let expected = (withStandby ? 1 : 0) + (withReplica ? 1 : 0)
        guard try eventually(60, { primary.poll("select count(*) from pg_stat_replication where state = 'streaming'") == String(expected) }) else {
            throw TopologyError("nodes not streaming: " + (primary.poll("select * from pg_stat_replication") ?? "?"))
        }
    }

    /// An own-storage standby: pg_basebackup with --polardata into its own shared directory.
    private func makeStandby(_ test: XCTestCase) throws -> PolarNode {
        let node = PolarNode(pgdata: root + "/standby", port: PGCluster.freePort(), bin: bin)
        let r = try node.asPostgres([bin + "/pg_basebackup", "-D", node.pgdata, "--polardata=\(root)/standby_shared",
                                     "-h", primary.pgdata, "-p", String(primary.port), "-U", "postgres", "-X", "stream", "-c", "fast"])
        guard r.status == 0 else { throw TopologyError("pg_basebackup standby: \(r.all)") }
        try node.appendConf("""
        port = \(node.port)
        polar_datadir = 'file-dio://\(root)/standby_shared'
        primary_conninfo = 'host=\(primary.pgdata) port=\(primary.port) user=postgres application_name=\(PolarDBTopology.standbySlot)'
        primary_slot_name = '\(PolarDBTopology.standbySlot)'
        """)
        try node.asPostgres(["touch", node.pgdata + "/standby.signal"])
        try node.start()
        test.addTeardownBlock { node.stop(mode: "immediate") }
        return node
    }

    /// A shared-storage replica: local directory by polar-initdb.sh, the primary's configuration.
    private func makeReplica(_ test: XCTestCase) throws -> PolarNode {
        let node = PolarNode(pgdata: root + "/replica", port: PGCluster.freePort(), bin: bin)
        try node.asPostgres(["mkdir", "-m", "0700", node.pgdata])
        let r = try node.asPostgres(["bash", bin + "/polar-initdb.sh", node.pgdata + "/", shared + "/", "replica", "localfs"])
        guard r.status == 0 else { throw TopologyError("polar-initdb.sh replica: \(r.all)") }
        for f in ["postgresql.conf", "pg_hba.conf"] {
            try node.asPostgres(["cp", primary.pgdata + "/" + f, node.pgdata + "/" + f])
        }
        try node.appendConf("""
        port = \(node.port)
        primary_conninfo = 'host=\(primary.pgdata) port=\(primary.port) user=postgres application_name=\(PolarDBTopology.replicaSlot)'
        primary_slot_name = '\(PolarDBTopology.replicaSlot)'
        """)
        try node.asPostgres(["touch", node.pgdata + "/replica.signal"])
        try node.start()
        test.addTeardownBlock { node.stop(mode: "immediate") }
        return node
    }

    /// Runs a bundled runbook against `node` (default: the primary).
    @discardableResult
    func runbook(_ name: String, _ args: [String], on node: PolarNode? = nil, json: Bool = true,
                 env extra: [String: String] = [:]) throws -> CommandResult {
        var env = (node ?? primary).env
        for (k, v) in extra { env[k] = v }
        return try polarrun(["--log-file", managerLog] + (json ? ["--json"] : []) + [Repo.runbooks + "/\(name).lua"] + args,
                            env: env, timeout: 600)
    }
}
