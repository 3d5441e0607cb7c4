import Foundation
import XCTest

/// A PolarDB Stack pod run the way Kubernetes runs it, on the test daemon: an engine container
/// (`polarrun supervise`) and a manager container sharing its process namespace
/// (`--pid=container:`), both with the same `/data` and `/log` (bind mounts of temporary
/// directories), `--network=host` (the test daemon has no bridge), and `logic_ins_id` in the
/// environment. Postgres listens on `port` (the pod's `access_port[0]`). Both containers mount
/// `/disk1`, the local-storage pod's node-wide directory where PolarDB keeps its shared data:
/// one per node — an RO pod is given its RW's (`disk1:`), as two pods on one node share it.
struct StackPod {
    let docker: DockerEnv
    let name: String
    let data: String
    let log: String
    let port: Int
    let logicInsId: Int
    let disk1: String
    var engine: String { name + "-engine" }
    var manager: String { name + "-manager" }
    var uid: Int { logicInsId % 10000 + 10000 }
    var hostIP: String { #"{"link":[\#(port)],"access_port":[\#(port)],"perf_port":[\#(port)]}"# }

    /// Starts the two containers. `etcPostgres` is mounted read-only at /etc/postgres.
    static func start(_ test: XCTestCase, docker: DockerEnv, engineImage: String, managerImage: String,
                      name: String, logicInsId: Int, data: String? = nil, port: Int? = nil, etcPostgres: String? = nil,
                      disk1: String? = nil) throws -> StackPod {
        let dir = try makeTempDir(test, prefix: "polarrun-pod")
        let pod = StackPod(docker: docker, name: "\(name)-\(getpid())", data: data ?? dir + "/data", log: dir + "/log",
                           port: port ?? PGCluster.freePort(), logicInsId: logicInsId, disk1: disk1 ?? dir + "/disk1")
        for d in [pod.data, pod.log, pod.disk1] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        _ = try? docker.docker(["rm", "-f", pod.engine, pod.manager])
        test.addTeardownBlock { _ = try? docker.docker(["rm", "-f", pod.manager, pod.engine]) }
        var common = ["--network=host", "-e", "logic_ins_id=\(logicInsId)", "-v", "\(pod.data):/data", "-v", "\(pod.log):/log",
                      "-v", "\(pod.disk1):/disk1"]
        if let e = etcPostgres { common += ["-v", "\(e):/etc/postgres:ro"] }
        // the entrypoint given explicitly: the release engine's ENTRYPOINT is already `polarrun supervise`
        // (arguments after the image would double it), the fixture's is not
        let e = try docker.docker(["run", "-d", "--name", pod.engine, "--entrypoint", "/usr/local/bin/polarrun"] + common + [engineImage, "supervise"])
        guard e.status == 0 else { throw NSError(domain: "engine container", code: 1, userInfo: [NSLocalizedDescriptionKey: e.all]) }
        let m = try docker.docker(["run", "-d", "--name", pod.manager, "--pid=container:\(pod.engine)"] + common + [managerImage])
        guard m.status == 0 else { throw NSError(domain: "manager container", code: 1, userInfo: [NSLocalizedDescriptionKey: m.all]) }
        return pod
    }

    /// The pod's ConfigMap (spec §2.3), set by the test once the pod's port is known.
    var configMap: [String: String] = [:]

    /// `bash -c "<ENVSTRING> python /docker_script/entry_point.py"` in the manager container,
    /// exactly as Stack-Common runs it (no stdin, no TTY). `envString` comes from StackCommand.
    @discardableResult
    func exec(_ envString: String, timeout: TimeInterval = 300) throws -> CommandResult {
        try docker.docker(["exec", manager] + StackCommand.entryPoint(envString), timeout: timeout)
    }

    /// A Stack-Common call built by GetCommonEnv from this pod's ConfigMap (plus `extra` pairs
    /// the caller adds with TranslateEnvMap2StringWithBase).
    @discardableResult
    func common(_ type: String, _ action: String, allFields: Bool = false, _ fields: [String] = [],
                extra: [String: String] = [:], timeout: TimeInterval = 300) throws -> CommandResult {
        try exec(commonString(type, action, allFields: allFields, fields, extra: extra), timeout: timeout)
    }

    /// The ENVSTRING of `common` (pairs in a new random order each time).
    func commonString(_ type: String, _ action: String, allFields: Bool = false, _ fields: [String] = [],
                      extra: [String: String] = [:]) -> String {
        var env = ["srv_opr_type": type, "srv_opr_action": action]
        if fields.contains("srv_opr_host_ip") { env["srv_opr_host_ip"] = StackCommand.hostIP(configMap) }
        if allFields { for (k, v) in configMap { env[k] = v } }
        for f in fields where f != "srv_opr_host_ip" { env[f] = configMap[f]! }
        return StackCommand.pairs(extra, base: StackCommand.pairs(env))
    }

    /// `bash -c "<command>"` in the manager container: ClusterManager's exec (its own strings).
    @discardableResult
    func bash(_ command: String, container: String? = nil, timeout: TimeInterval = 120) throws -> CommandResult {
        try docker.docker(["exec", container ?? manager, "bash", "-c", command], timeout: timeout)
    }

    /// The ConfigMap the Operator writes for a pod (GetFlushEnvConfigMap): `cluster` is
    /// cluster_custins_info, the pod named `<cluster>-<custInsId>-<unique>`.
    static func configMap(pod: StackPod, serviceType: String, custInsId: String, unique: String,
                          cluster: String, mycnf: String) -> [String: String] {
        ["cluster_custins_info": cluster, "cust_ins_id": custInsId, "mycnf_dict": mycnf, "storage_type": "fcsan",
         "port": #"{"\#(pod.logicInsId)":{"link":[\#(pod.port)],"access_port":[\#(pod.port)],"perf_port":[\#(pod.port)]}}"#,
         "logic_ins_id": String(pod.logicInsId), "ins_id": String(pod.logicInsId), "pod_name": "pc-\(custInsId)-\(unique)",
         "slot_unique_name": unique, "on_pfs": "True", "san_device_name": "/dev/mapper/vol\(custInsId)",
         "polarfs_host_id": "1", "service_type": serviceType]
    }

    /// One physical instance of cluster_custins_info: its accounts, pbd_list, one host instance.
    static func physical(_ pod: StackPod, role: String, accounts: [String: (String, Int)], engineType: String = "san") -> [String: Any] {
        var acc: [String: Any] = [:]
        for (name, (pw, code)) in accounts { acc[name] = ["account": name, "password": pw, "priviledge_type": code] }
        return ["accounts": acc,
                "pbd_list": [["pbd_number": 7, "pbd_name": "pbd-7", "label": "pc", "data_version": 3, "custins_id": 1, "engine_type": engineType]],
                "hostins": [String(pod.logicInsId): ["role": role, "port": pod.port, "ins_ip": "127.0.0.1"]],
                "ins_type": 0]
    }

    /// psql in the manager container: the unix socket in /data as postgres, or TCP as `user`.
    func psql(_ query: String, user: String? = nil, password: String? = nil) throws -> CommandResult {
        var args = ["exec"]
        if let pw = password { args += ["-e", "PGPASSWORD=\(pw)"] }
        args += [manager, "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-p", String(port), "-d", "postgres", "-c", query]
        args += user.map { ["-h", "127.0.0.1", "-U", $0] } ?? ["-h", "/data", "-U", "postgres"]
        return try docker.docker(args, timeout: 30)
    }

    func value(_ query: String) throws -> String {
        let r = try psql(query)
        guard r.status == 0 else { throw NSError(domain: "psql", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.all]) }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var answers: Bool { (try? psql("select 1").status) == 0 }

    /// Whether the running engine is PolarDB (it has polar_* settings), as lib/engine.lua asks it.
    var isPolarDB: Bool { (try? value("select current_setting('polar_enable_shared_storage_mode', true) is not null")) == "t" }

    func owner(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.ownerAccountID] as? NSNumber)?.intValue
    }
}
