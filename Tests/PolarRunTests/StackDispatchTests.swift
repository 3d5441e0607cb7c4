import Foundation
import XCTest

/// stack.lua's dispatch without a pod or a database: the inputs the callers' variables are
/// turned into, and the refusals that come before anything runs (exit 2, the reason on stderr).
/// Every action is also exercised in a pod (StackPodTests).
final class StackDispatchTests: XCTestCase {
    func entry(_ vars: [String: String], script: String = "entry_point.py") throws -> CommandResult {
        let dir = try makeTempDir(self)
        return try command([Repo.binary, "--log-file", dir + "/manager.log", "\(Repo.root)/rootfs/docker_script/\(script)"],
                           env: vars.merging(["PGDATA": dir + "/nodata", "POLARRUN_DB_USER": "postgres"]) { a, _ in a })
    }

    func usage(_ r: CommandResult, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, r.all, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(reason), "expected '\(reason)':\n\(r.all)", file: file, line: line)
    }

    /// Malformed JSON in every JSON variable is refused before anything runs.
    func testMalformedJSONInAnyVariable() throws {
        for name in ["srv_opr_host_ip", "srv_opr_hosts", "cluster_custins_info", "mycnf_dict", "params", "port", "current_ins",
                     "ro_custins_current", "ro_custins_all", "ins_topology_4_replication", "create_tablespace_env",
                     "pitr_fetch_logs_env", "restore_job_env", "recovery_conf", "tde_attribute"] {
            usage(try entry(["srv_opr_type": "health_check", "srv_opr_action": "hostins_check", name: "{\"a\":"]), "\(name) is not valid JSON")
        }
    }

    /// Replication slots: only the instance the caller names, in the Stack's shape.
    func testReplicaFormsAreCheckedBeforeAnySQL() throws {
        let port = #"{"link":[1],"access_port":[1],"perf_port":[1]}"#
        func replica(_ extra: [String: String]) throws -> CommandResult {
            try entry(["srv_opr_type": "replica", "srv_opr_action": "create_replication", "srv_opr_host_ip": port].merging(extra) { _, b in b })
        }
        usage(try replica([:]), "ro_custins_current is missing")
        usage(try replica(["ro_custins_current": #"{"custins_id":"a-b","slot_unique_name":"c"}"#]), "custins_id")
        usage(try replica(["ro_custins_current": #"{"custins_id":"a","slot_unique_name":"b_c"}"#]), "slot_unique_name")
        usage(try replica(["ins_topology_4_replication": #"{"polardb_mpd_rw":{"1":{}}}"#, "current_ins": #"{"custins_id":"9","slot_unique_name":"x"}"#]),
              "current_ins.custins_id 9 is in no service type")
    }

    /// Ports: srv_opr_host_ip, the box form's srv_opr_hosts, entry_point_cm.py's port=P.
    func testPortForms() throws {
        let hc = ["srv_opr_type": "health_check", "srv_opr_action": "hostins_check"]
        // a port that answers nothing: the check fails (1) naming the port it used
        let box = try entry(hc.merging(["srv_opr_host_ip": "{}", "srv_opr_hosts": #"[{"access_port":[5977]}]"#]) { _, b in b })
        XCTAssertEqual(box.status, 1, box.all)
        XCTAssertTrue(box.all.contains("port=5977"), box.all)
        usage(try entry(hc.merging(["srv_opr_host_ip": "{}", "srv_opr_hosts": "[]"]) { _, b in b }), "srv_opr_hosts must be a JSON list")
        let cm = try entry(["srv_opr_type": "node", "srv_opr_action": "unlock-ins-diskfull", "port": "5978"], script: "entry_point_cm.py")
        XCTAssertNotEqual(cm.status, 0, cm.all)
        usage(try entry(["srv_opr_type": "node", "srv_opr_action": "lock-ins-diskfull", "port": "99999"], script: "entry_point_cm.py"),
              "port has no valid access_port[0]")
    }

    /// grow_pfs: this pod's pbd_list from cluster_custins_info, nothing guessed.
    func testGrowPfsNeedsThisInstancesPbdList() throws {
        let base = ["srv_opr_type": "hostins_ops", "srv_opr_action": "grow_pfs", "srv_opr_host_ip": #"{"access_port":[1]}"#,
                    "service_type": "polardb_mpd_rw", "cust_ins_id": "1001"]
        usage(try entry(base.merging(["cluster_custins_info": #"{"polardb_mpd_rw":{"1002":{}}}"#]) { _, b in b }), "has no polardb_mpd_rw instance 1001")
        usage(try entry(base.merging(["cluster_custins_info": #"{"polardb_mpd_rw":{"1001":{"pbd_list":[{"engine_type":"san"}]}}}"#,
                                      "san_device_name": "mapper/vol1"]) { _, b in b }), "san_device_name must be a device path")
    }

    /// Refused actions: exit 1, one line.
    func testRefusedActionsSayWhatIsMissing() throws {
        let r = try entry(["srv_opr_type": "anything", "srv_opr_action": "rotate_tde_key"])
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("TDE"), r.stderr)
    }
}
