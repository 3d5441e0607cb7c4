import Foundation
import XCTest

/// A real replication topology from Debian's PostgreSQL 15 in a temporary directory:
/// a primary, a read-only replica streaming through its `replica_…` slot and synchronous,
/// and a standby streaming through its `standby_…` slot and asynchronous. The slots (and the
/// synchronous_standby_names entry) are made by the `create_replication` runbook; the nodes by
/// `pg_basebackup -R`, with primary_slot_name = application_name = the slot name.
final class Topology {
    static let custinsID = "pc42"
    static let replicaSlot = "replica_pc42_ro_1"
    static let standbySlot = "standby_pc42_sb_1"

    let root: String
    let primary: PGCluster
    private(set) var replica: PGCluster?
    private(set) var standby: PGCluster?
    /// The manager log every runbook of this topology writes.
    var managerLog: String { root + "/manager.log" }

    /// Builds the topology; `replica`/`standby` false leave that node out (faster).
    /// `standbySocketOutside` puts the standby's unix socket outside its data directory (pg_rewind cannot
    /// copy from a server whose socket is in its data directory; see docs/operations-replication.md).
    init(_ test: XCTestCase, replica withReplica: Bool = true, standby withStandby: Bool = true,
         standbySocketOutside: Bool = false) throws {
        root = try makeTempDir(test, prefix: "polarrun-topo")
        primary = try PGCluster(root: root, name: "primary", extraConf: "wal_log_hints = on\nwal_keep_size = '64MB'")
        try primary.start()
        test.addTeardownBlock { [primary] in primary.stop(mode: "immediate") }
        if withStandby {
            let r = try runbook("create_replication", ["kind=standby", "custins_id=\(Topology.custinsID)", "slot_unique_name=sb-1"])
            guard r.status == 0 else { throw TopologyError("create_replication standby: \(r.all)") }
            standby = try attach(test, name: "standby", slot: Topology.standbySlot, socketOutside: standbySocketOutside)
        }
        if withReplica {
            let r = try runbook("create_replication", ["kind=replica", "custins_id=\(Topology.custinsID)", "slot_unique_name=ro-1"])
            guard r.status == 0 else { throw TopologyError("create_replication replica: \(r.all)") }
            replica = try attach(test, name: "replica", slot: Topology.replicaSlot)
        }
        let expected = (withStandby ? 1 : 0) + (withReplica ? 1 : 0)
        let streaming = try eventually(30) {
            try primary.value("select count(*) from pg_stat_replication where state = 'streaming'") == String(expected)
        }
        guard streaming else { throw TopologyError("nodes not streaming: " + (try primary.value("select * from pg_stat_replication"))) }
    }

    /// A node made with pg_basebackup -R from the primary, streaming through `slot`.
    private func attach(_ test: XCTestCase, name: String, slot: String, socketOutside: Bool = false) throws -> PGCluster {
        let node = try PGCluster(root: root, name: name, initdb: false)
        if socketOutside {
            node.socketDir = root + "/\(name)-socket"
            try FileManager.default.createDirectory(atPath: node.socketDir, withIntermediateDirectories: true)
            try command(["chown", "postgres:postgres", node.socketDir])
        }
        let r = try node.asPostgres([PGCluster.bin + "/pg_basebackup", "-D", node.pgdata, "-h", primary.pgdata,
                                     "-p", String(primary.port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast"])
        guard r.status == 0 else { throw TopologyError("pg_basebackup \(name): \(r.all)") }
        try node.appendConf("port = \(node.port)" + (socketOutside ? "\nunix_socket_directories = '\(node.socketDir)'" : ""))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: node.pgdata + "/postgresql.auto.conf"))
        h.seekToEndOfFile()
        h.write(Data("""
        primary_conninfo = 'host=\(primary.pgdata) port=\(primary.port) user=postgres application_name=\(slot)'
        primary_slot_name = '\(slot)'

        """.utf8))
        try h.close()
        try node.start()
        test.addTeardownBlock { node.stop(mode: "immediate") }
        return node
    }

    /// Runs a bundled runbook against `cluster` (default: the primary) with this topology's manager log.
    @discardableResult
    func runbook(_ name: String, _ args: [String], on cluster: PGCluster? = nil, json: Bool = true) throws -> CommandResult {
        let c = cluster ?? primary
        return try polarrun(["--log-file", managerLog] + (json ? ["--json"] : []) + [Repo.runbooks + "/\(name).lua"] + args,
                            env: c.env, timeout: 180)
    }

    /// Whether `cluster` is in recovery.
    func inRecovery(_ cluster: PGCluster) throws -> Bool { try cluster.value("select pg_is_in_recovery()") == "t" }
}

struct TopologyError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The JSON document a `--json` run printed.
func jsonResult(_ r: CommandResult, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
    guard let obj = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
        XCTFail("no JSON on stdout: \(r.all)", file: file, line: line)
        return [:]
    }
    return obj
}

extension PGCluster {
    /// The single value a query returns, or nil when it fails (for polling: no test failure recorded).
    func poll(_ query: String) -> String? {
        guard let r = try? psql(query, timeout: 10), r.status == 0 else { return nil }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
