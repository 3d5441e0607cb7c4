import Foundation
import XCTest

/// A PolarDB Stack pod run the way Kubernetes runs it, on the test daemon: an engine container
/// (`polarrun supervise`) and a manager container sharing its process namespace
/// (`--pid=container:`), both with the same `/data` and `/log` (bind mounts of temporary
/// directories), `--network=host` (the test daemon has no bridge), and `logic_ins_id` in the
/// environment. Postgres listens on `port` (the pod's `access_port[0]`).
struct StackPod {
    let docker: DockerEnv
    let name: String
    let data: String
    let log: String
    let port: Int
    let logicInsId: Int
    var engine: String { name + "-engine" }
    var manager: String { name + "-manager" }
    var uid: Int { logicInsId % 10000 + 10000 }
    var hostIP: String { #"{"link":[\#(port)],"access_port":[\#(port)],"perf_port":[\#(port)]}"# }

    /// Starts the two containers. `etcPostgres` is mounted read-only at /etc/postgres.
    static func start(_ test: XCTestCase, docker: DockerEnv, engineImage: String, managerImage: String,
                      name: String, logicInsId: Int, data: String? = nil, port: Int? = nil, etcPostgres: String? = nil) throws -> StackPod {
        let dir = try makeTempDir(test, prefix: "polarrun-pod")
        let pod = StackPod(docker: docker, name: "\(name)-\(getpid())", data: data ?? dir + "/data", log: dir + "/log",
                           port: port ?? PGCluster.freePort(), logicInsId: logicInsId)
        for d in [pod.data, pod.log] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        _ = try? docker.docker(["rm", "-f", pod.engine, pod.manager])
        test.addTeardownBlock { _ = try? docker.docker(["rm", "-f", pod.manager, pod.engine]) }
        var common = ["--network=host", "-e", "logic_ins_id=\(logicInsId)", "-v", "\(pod.data):/data", "-v", "\(pod.log):/log"]
        if let e = etcPostgres { common += ["-v", "\(e):/etc/postgres:ro"] }
        let e = try docker.docker(["run", "-d", "--name", pod.engine] + common + [engineImage, "polarrun", "supervise"])
        guard e.status == 0 else { throw NSError(domain: "engine container", code: 1, userInfo: [NSLocalizedDescriptionKey: e.all]) }
        let m = try docker.docker(["run", "-d", "--name", pod.manager, "--pid=container:\(pod.engine)"] + common + [managerImage])
        guard m.status == 0 else { throw NSError(domain: "manager container", code: 1, userInfo: [NSLocalizedDescriptionKey: m.all]) }
        return pod
    }

    /// The ENVSTRING PolarDB Stack builds: `key='value'`, except mycnf_dict and params, written
    /// `key="value"` with `"` escaped.
    static func envString(_ vars: [(String, String)]) -> String {
        vars.map { k, v in
            (k == "mycnf_dict" || k == "params") ? "\(k)=\"\(v.replacingOccurrences(of: "\"", with: "\\\""))\"" : "\(k)='\(v)'"
        }.joined(separator: " ")
    }

    /// `bash -c "<ENVSTRING> python /docker_script/entry_point.py"` in the manager container,
    /// exactly as the Stack runs it (no stdin, no TTY).
    @discardableResult
    func stack(_ vars: [(String, String)], timeout: TimeInterval = 120) throws -> CommandResult {
        try docker.docker(["exec", manager, "bash", "-c", StackPod.envString(vars) + " python /docker_script/entry_point.py"],
                          timeout: timeout)
    }

    /// srv_opr_type/srv_opr_action plus the variables the Stack always passes.
    @discardableResult
    func op(_ type: String?, _ action: String, _ extra: [(String, String)] = []) throws -> CommandResult {
        var vars: [(String, String)] = []
        if let t = type { vars.append(("srv_opr_type", t)) }
        vars += [("srv_opr_action", action), ("srv_opr_host_ip", hostIP), ("logic_ins_id", String(logicInsId)),
                 ("ins_id", "\(logicInsId)1"), ("cust_ins_id", "pc-\(logicInsId)")]
        return try stack(vars + extra)
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

    func owner(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.ownerAccountID] as? NSNumber)?.intValue
    }
}
