import Foundation
import XCTest

/// The manager image as a drop-in for PolarDB Stack: images built by `polarrun build.lua`
/// (fixture engine: Debian's PostgreSQL 15), pods run as Kubernetes runs them (Support/StackPod),
/// and every action of the catalogue (spec §3) driven through `docker exec` with the command
/// strings its callers build (Support/StackCommand: §2.2 formatting, pair order random, only the
/// variables that caller sends), each checked by its effect in the pod.
///
/// With community PostgreSQL in the fixture images an "RO" is a streaming hot standby with its own
/// copy of the data (pg_basebackup); with PolarDB images (`POLARRUN_TEST_POD_IMAGES`) it shares
/// the RW's storage (its pod mounts the RW's /disk1) and a standby has its own. What differs by
/// engine is decided from the engine the pod runs (StackPod.isPolarDB), never hard-coded.
final class StackPodTests: XCTestCase {
    static var built: (engine: String, manager: String)?
    /// `ENGINE,MANAGER`: prebuilt images (e.g. the real PolarDB ones) instead of the fixtures.
    static let imagesVariable = "POLARRUN_TEST_POD_IMAGES"

    /// Builds the fixture engine and manager images once per test run (no push), unless
    /// POLARRUN_TEST_POD_IMAGES names prebuilt ones.
    func images(_ docker: DockerEnv) throws -> (engine: String, manager: String) {
        if let b = StackPodTests.built { return b }
        if let given = ProcessInfo.processInfo.environment[StackPodTests.imagesVariable], !given.isEmpty {
            let parts = given.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                XCTFail("\(StackPodTests.imagesVariable) must be ENGINE_IMAGE,MANAGER_IMAGE, got '\(given)'")
                throw XCTSkip("bad \(StackPodTests.imagesVariable)")
            }
            StackPodTests.built = (engine: parts[0], manager: parts[1])
            return StackPodTests.built!
        }
        let tmp = try makeTempDir(self)
        let yml = try BuildFixture.writeYAML("stack.yml", """
        images:
          - id: engine_release
            type: engine
            build_image_name: polarrun-fixture/engine_release
            build_image_dockerfile: ./fixtures/Dockerfile.engine.fixture
            engine_repo: ./engine
            engine_branch: main
            engine_config_template: src/backend/utils/misc/postgresql.conf.sample
            push: false
          - id: manager
            type: manager
            build_image_name: polarrun-fixture/manager
            build_image_dockerfile: ./docker/Dockerfile.manager
            engine_image_id: engine_release
            push: false
        """)
        let result = tmp + "/image.result"
        let r = try BuildFixture.build(yml, cache: tmp + "/cache", docker: docker, ["result=\(result)"])
        guard r.status == 0 else { XCTFail(r.all); throw XCTSkip("image build failed") }
        let imgs = BuildFixture.images(try BuildFixture.json(result + ".json"))
        let b = (engine: try XCTUnwrap(imgs["engine_release"]?["image"] as? String),
                 manager: try XCTUnwrap(imgs["manager"]?["image"] as? String))
        StackPodTests.built = b
        return b
    }

    func ok(_ r: CommandResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 0, "\(what):\n\(r.all)", file: file, line: line)
    }

    /// A refusal: non-zero, the reason on stderr.
    func refused(_ r: CommandResult, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, r.all, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(reason), "expected '\(reason)' on stderr:\n\(r.all)", file: file, line: line)
    }

    /// /etc/postgres/pg_hba.conf of the pods: local trust, md5 over loopback (the RO and the
    /// standby stream from the RW as the replicator account).
    func etcPostgres() throws -> String {
        let etc = try makeTempDir(self)
        try write("# test override\nlocal all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 md5\nhost replication all 127.0.0.1/32 md5\n",
                  to: etc + "/pg_hba.conf")
        return etc
    }

    static let accounts = ["aurora": ("Aur0raSecretPw7x", 7), "replicator": ("Repl1catorSecretPw", 15)]
    static let mycnf = #"{"shared_buffers":"32MB","log_timezone":"'UTC'","max_wal_senders":"10","hot_standby":"on","wal_keep_size":"'64MB'"}"#
    static let tablespaceEnv = #"{"tablespace_name":"polar_tmp","tablespace_path":"/log/pg_tmp"}"#

    /// An RW pod with its ConfigMap, installed by the operator's string.
    func rwPod(_ docker: DockerEnv, _ name: String, _ logicInsId: Int, custInsId: String) throws -> StackPod {
        let (engineImage, managerImage) = try images(docker)
        var pod = try StackPod.start(self, docker: docker, engineImage: engineImage, managerImage: managerImage,
                                     name: name, logicInsId: logicInsId, etcPostgres: try etcPostgres())
        let cluster = StackCommand.json(["polardb_mpd_rw": [custInsId: StackPod.physical(pod, role: "master", accounts: StackPodTests.accounts)]])
        pod.configMap = StackPod.configMap(pod: pod, serviceType: "polardb_mpd_rw", custInsId: custInsId, unique: "a\(logicInsId % 100)",
                                           cluster: cluster, mycnf: StackPodTests.mycnf)
        ok(try pod.common("hostins_ops", "setup_install_instance", allFields: true, extra: ["create_tablespace_env": StackPodTests.tablespaceEnv]), "install \(name)")
        XCTAssertTrue(eventually(60) { pod.answers }, (try? docker.docker(["logs", pod.engine]).all) ?? "")
        return pod
    }

    /// Stack-Common's ManagerClient, as the Operator drives it: install (RW, RO with
    /// lock_install_ins, standby), the log agent, installation progress, accounts, health,
    /// replication slots (legacy and topology forms), parameters, the disk-full lock, grow_pfs,
    /// stop/start, the system identifier — and ClusterManager's promote of the standby.
    func testStackCommonAndOperatorCalls() throws {
        let docker = try DockerEnv.require()
        let (engineImage, managerImage) = try images(docker)
        let etc = try etcPostgres()
        var rw = try StackPod.start(self, docker: docker, engineImage: engineImage, managerImage: managerImage,
                                    name: "stack-rw", logicInsId: 123457, etcPostgres: etc)
        // the RO: on the RW's node (its /disk1, where PolarDB's shared data is) and with the RW's uid —
        // a local directory has owners, PFS has not (install refuses an RO of another uid there)
        var ro = try StackPod.start(self, docker: docker, engineImage: engineImage, managerImage: managerImage,
                                    name: "stack-ro", logicInsId: 133457, etcPostgres: etc, disk1: rw.disk1)
        var sb = try StackPod.start(self, docker: docker, engineImage: engineImage, managerImage: managerImage,
                                    name: "stack-sb", logicInsId: 123459, etcPostgres: etc)
        let rwPhys = StackPod.physical(rw, role: "master", accounts: StackPodTests.accounts)
        rw.configMap = StackPod.configMap(pod: rw, serviceType: "polardb_mpd_rw", custInsId: "1001", unique: "a1b2",
                                          cluster: StackCommand.json(["polardb_mpd_rw": ["1001": rwPhys]]), mycnf: StackPodTests.mycnf)
        ro.configMap = StackPod.configMap(pod: ro, serviceType: "polardb_mpd_ro", custInsId: "1002", unique: "c3d4",
                                          cluster: StackCommand.json(["polardb_mpd_rw": ["1001": rwPhys],
                                                                      "polardb_mpd_ro": ["1002": StackPod.physical(ro, role: "slave", accounts: StackPodTests.accounts)]]),
                                          mycnf: StackPodTests.mycnf)
        sb.configMap = StackPod.configMap(pod: sb, serviceType: "polardb_mpd_standby", custInsId: "1003", unique: "e5f6",
                                          cluster: StackCommand.json(["polardb_mpd_rw": ["1001": rwPhys],
                                                                      "polardb_mpd_standby": ["1003": StackPod.physical(sb, role: "master", accounts: StackPodTests.accounts)]]),
                                          mycnf: StackPodTests.mycnf)
        var outputs: [CommandResult] = []
        func call(_ pod: StackPod, _ type: String, _ action: String, allFields: Bool = false, _ fields: [String] = [],
                  extra: [String: String] = [:]) throws -> CommandResult {
            let r = try pod.common(type, action, allFields: allFields, fields, extra: extra)
            outputs.append(r)
            return r
        }

        // query_installation_progress before any install: running
        let before = try call(rw, "hostins_ops", "query_installation_progress", allFields: true)
        ok(before, "query_installation_progress")
        XCTAssertTrue(before.stdout.contains(#"\u0001{"message":"not started","status":"running"}\u0001"#), before.stdout)

        // install (RW): GetCommonEnv(allFields) + create_tablespace_env, two orders of the pairs
        let installExtra = ["create_tablespace_env": StackPodTests.tablespaceEnv]
        let s1 = rw.commonString("hostins_ops", "setup_install_instance", allFields: true, extra: installExtra)
        var s2 = s1
        while s2 == s1 { s2 = rw.commonString("hostins_ops", "setup_install_instance", allFields: true, extra: installExtra) }
        let install = try rw.exec(s1)
        outputs.append(install)
        ok(install, "setup_install_instance (RW)")
        XCTAssertTrue(eventually(60) { rw.answers }, (try? docker.docker(["logs", rw.engine]).all) ?? "")
        let polar = rw.isPolarDB
        if polar { XCTAssertEqual(try rw.value("show polar_datadir"), "file-dio:///disk1/polar_data", "PolarDB: shared data in the pod's /disk1") }
        XCTAssertEqual(try rw.value("show shared_buffers"), "32MB")
        XCTAssertEqual(try rw.value("show log_timezone"), "UTC", "mycnf_dict's quoted value reached postgresql.conf")
        XCTAssertEqual(rw.owner(rw.log + "/pg_tmp"), rw.uid, "create_tablespace_env: the tablespace directory")
        let again = try rw.exec(s2)
        ok(again, "setup_install_instance again (other pair order)")
        XCTAssertTrue(again.stdout.contains("installed already"), again.stdout)
        let progress = try call(rw, "hostins_ops", "query_installation_progress", allFields: true)
        XCTAssertTrue(progress.stdout.contains(#"\u0001{"message":"installed","status":"succeed"}\u0001"#), progress.stdout)

        // setup_logagent_config: TranslateEnvMap2String of the operator's own pairs
        let agent = try rw.exec(StackCommand.pairs(["srv_opr_type": "hostins_ops", "srv_opr_action": "setup_logagent_config",
            "base_collect_path": "/sys/fs/cgroup/", "ins_name": "pc-1001", "pod_collect_path": "/kubepods/burstable/pod0a1b/c0ffee",
            "access_port": String(rw.port), "phy_ins_id": "1001"]))
        ok(agent, "setup_logagent_config")
        XCTAssertEqual(try rw.bash("cat /home/pgsql/data/insinfo").stdout,
                       "[insinfo]\nbase_collect_path=/sys/fs/cgroup/\npod_collect_path=/kubepods/burstable/pod0a1b/c0ffee\nins_name=pc-1001\nport=\(rw.port)\ncontainer_mount_path=\nhost_mount_path=\n")
        XCTAssertEqual(try rw.bash("cat /home/pgsql/data/insname").stdout, "pc-1001")

        // accounts: GetCreateEngineAccountEnvirons (srv_opr_host_ip + the three account pairs)
        let all = StackPodTests.accounts.map { ($0.key, $0.value.0, $0.value.1) } + [("app_user", "App0userSecretPw", 1)]
        for (name, pw, code) in all {
            ok(try call(rw, "account", "create", ["srv_opr_host_ip"],
                        extra: ["srv_opr_user_name": name, "srv_opr_password": pw, "srv_opr_privilege": String(code)]), "create \(name)")
        }
        XCTAssertEqual(try rw.value("select string_agg(rolname || ':' || rolsuper || rolreplication, ',' order by rolname) from pg_roles where rolname in ('aurora','replicator','app_user')"),
                       "app_user:falsefalse,aurora:truefalse,replicator:truetrue")

        // health check: GetCheckHealthEnvirons
        ok(try call(rw, "health_check", "hostins_check", ["srv_opr_host_ip"]), "health_check")

        // replication slots: the legacy form (current_ins, ro_custins_current, pod_name, slot_unique_name)
        func info(_ pod: StackPod) -> String {
            StackCommand.json(["pod_name": pod.configMap["pod_name"]!, "custins_id": pod.configMap["cust_ins_id"]!, "slot_unique_name": pod.configMap["slot_unique_name"]!])
        }
        let rwPort = #"{"link":[\#(rw.port)],"access_port":[\#(rw.port)],"perf_port":[\#(rw.port)]}"#
        let legacy = ["current_ins": info(rw), "ro_custins_current": info(ro), "pod_name": ro.configMap["pod_name"]!,
                      "slot_unique_name": "c3d4", "srv_opr_host_ip": rwPort]
        ok(try call(rw, "replica", "create_replication", ["service_type"], extra: legacy), "create_replication (legacy)")
        // the topology form: the slot of current_ins under the service type that lists it
        let topology = ["current_ins": info(sb), "ro_custins_current": info(ro), "pod_name": sb.configMap["pod_name"]!, "slot_unique_name": "e5f6",
                        "srv_opr_host_ip": rwPort,
                        "ins_topology_4_replication": StackCommand.json(["polardb_mpd_rw": ["1001": ["custins_id": "1001"]],
                                                                         "polardb_mpd_standby": ["1003": ["custins_id": "1003"]]])]
        ok(try call(rw, "replica", "create_replication", ["service_type"], extra: topology), "create_replication (topology)")
        XCTAssertEqual(try rw.value("select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots"), "replica_1002_c3d4,standby_1003_e5f6")
        XCTAssertEqual(try rw.value("show synchronous_standby_names"), "", "ClusterManager, not the manager, sets synchronous_standby_names")

        // RO install: lock_install_ins=True; the replicator from cluster_custins_info; stays down until start_instance
        XCTAssertTrue(try call(ro, "hostins_ops", "query_installation_progress", allFields: true).stdout.contains(#""status":"running""#))
        // a failed install (this cluster_custins_info names no replicator): exit 2, progress "failed" with the reason
        var noRepl = ro
        noRepl.configMap["cluster_custins_info"] = StackCommand.json(["polardb_mpd_rw": ["1001": StackPod.physical(rw, role: "master", accounts: [:])],
                                                                      "polardb_mpd_ro": ["1002": StackPod.physical(ro, role: "slave", accounts: [:])]])
        refused(try noRepl.common("hostins_ops", "setup_install_instance", allFields: true, extra: ["lock_install_ins": "True"]), "no replicator account")
        let failed = try call(ro, "hostins_ops", "query_installation_progress", allFields: true)
        XCTAssertTrue(failed.stdout.contains(#""status":"failed""#) && failed.stdout.contains("no replicator account"), failed.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ro.data).filter { $0 != ".polarrun.lock" }, [], "nothing changed")
        ok(try call(ro, "hostins_ops", "setup_install_instance", allFields: true,
                    extra: ["create_tablespace_env": StackPodTests.tablespaceEnv, "lock_install_ins": "True"]), "setup_install_instance (RO)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: ro.data + "/ins_lock"), "lock_install_ins")
        // PolarDB: an RO on the RW's shared storage (replica.signal, no local copy); community: a copy
        XCTAssertTrue(FileManager.default.fileExists(atPath: ro.data + (polar ? "/replica.signal" : "/standby.signal")))
        XCTAssertEqual(FileManager.default.fileExists(atPath: ro.data + "/base/1/PG_VERSION"), !polar, "PolarDB's RO has no copy of the data")
        XCTAssertEqual(ro.owner(ro.data + "/PG_VERSION"), ro.uid, "the copy belongs to the RO pod's uid")
        let roConf = read(ro.data + "/postgresql.conf")
        XCTAssertTrue(roConf.contains("primary_slot_name = replica_1002_c3d4"), roConf)
        XCTAssertTrue(roConf.contains("password=''Repl1catorSecretPw''") || roConf.contains("password=\\'Repl1catorSecretPw\\'"),
                      "the replicator's password reaches primary_conninfo")
        // grow_pfs on the locked RO (not running: nothing to do on either engine), disk from san_device_name (engine_type san)
        let grow = try call(ro, "hostins_ops", "grow_pfs", allFields: true, ["srv_opr_host_ip"])
        ok(grow, "grow_pfs")
        XCTAssertTrue(grow.stdout.contains("disk mapper_vol1002") && grow.stdout.contains("nothing to do"), grow.stdout)
        sleep(2)
        XCTAssertFalse(ro.answers, "the RO stays down while /data/ins_lock exists")
        ok(try call(ro, "hostins_ops", "start_instance"), "start_instance (RO)")
        XCTAssertTrue(eventually(60) { (try? ro.value("select pg_is_in_recovery()")) == "t" }, (try? docker.docker(["logs", ro.engine]).all) ?? "")

        // standby install: service_type polardb_mpd_standby, slot standby_<cust_ins_id>_<unique>
        // (with the optional ssl_cert / ssl_key: TLS on from the start)
        let tmp = try makeTempDir(self)
        ok(try command(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=polarrun-test", "-days", "2",
                        "-keyout", tmp + "/k.pem", "-out", tmp + "/c.pem"]), "openssl")
        ok(try call(sb, "hostins_ops", "setup_install_instance", allFields: true,
                    extra: ["create_tablespace_env": StackPodTests.tablespaceEnv, "ssl_cert": read(tmp + "/c.pem"), "ssl_key": read(tmp + "/k.pem")]),
           "setup_install_instance (standby)")
        XCTAssertTrue(eventually(60) { (try? sb.value("select pg_is_in_recovery()")) == "t" }, (try? docker.docker(["logs", sb.engine]).all) ?? "")
        XCTAssertTrue(eventually(30) {
            (try? rw.value("select string_agg(application_name || ':' || state, ',' order by application_name) from pg_stat_replication"))
                == "replica_1002_c3d4:streaming,standby_1003_e5f6:streaming"
        }, (try? rw.value("select string_agg(application_name || ':' || state, ',') from pg_stat_replication")) ?? "")
        XCTAssertEqual(try rw.value("select string_agg(slot_name || ':' || active, ',' order by slot_name) from pg_replication_slots"),
                       "replica_1002_c3d4:true,standby_1003_e5f6:true")
        XCTAssertEqual(try rw.value("create table t(i int); insert into t values (1); grant all on t to app_user; select 1"), "1")
        XCTAssertTrue(eventually(30) { (try? ro.value("select count(*) from t")) == "1" && (try? sb.value("select count(*) from t")) == "1" })
        XCTAssertTrue(try call(ro, "hostins_ops", "query_installation_progress", allFields: true).stdout.contains(#""status":"succeed""#))
        XCTAssertEqual(try sb.value("show ssl"), "on", "ssl_cert/ssl_key at install")
        if polar {
            XCTAssertEqual(try ro.value("show polar_datadir"), "file-dio:///disk1/polar_data", "the RO reads the RW's shared data")
            XCTAssertEqual(try sb.value("show polar_datadir"), "file-dio:///disk1/polar_data")
            XCTAssertNotEqual(sb.disk1, rw.disk1, "the standby's shared data is its own copy, in its own /disk1")
            XCTAssertTrue(FileManager.default.fileExists(atPath: sb.disk1 + "/polar_data/global/pg_control"))
        }

        // update_conf: GetUpdateEngineParamsEnvirons + params="..." (\ doubled, " escaped)
        ok(try rw.exec(rw.commonString("update_conf", "update", ["srv_opr_host_ip", "cluster_custins_info", "cust_ins_id", "ins_id"])
                       + StackCommand.params(#"{"work_mem":"8MB","log_line_prefix":"'%m [%p] \\ '"}"#)), "update_conf")
        XCTAssertEqual(try rw.value("show work_mem"), "8MB")
        XCTAssertTrue(read(rw.data + "/postgresql.conf").contains(#"log_line_prefix = '%m [%p] \ '"#), "the backslash arrived as sent")

        // the disk-full lock: GetLockEngineEnvirons / GetUnLockEngineEnvirons
        ok(try call(rw, "lock_ins", "lock_ins_diskfull", ["srv_opr_host_ip"]), "lock_ins_diskfull")
        let denied = try rw.psql("insert into t values (2)", user: "app_user", password: "App0userSecretPw")
        XCTAssertTrue(denied.status != 0 && denied.stderr.contains("read-only"), denied.all)
        ok(try call(rw, "lock_ins", "unlock_ins_diskfull", ["srv_opr_host_ip"]), "unlock_ins_diskfull")
        ok(try rw.psql("insert into t values (2)", user: "app_user", password: "App0userSecretPw"), "write after unlock")

        // grow_pfs on the running RW: pangu -> pbd_name, other -> <pbd_number>-<data_version>; community PG refuses
        // the expansion, PolarDB on local storage (polar_vfs.localfs_mode) has nothing to grow
        for (engineType, disk) in [("pangu", "pbd-7"), ("local_ssd", "7-3")] {
            var pod = rw
            pod.configMap["cluster_custins_info"] = StackCommand.json(["polardb_mpd_rw": ["1001": StackPod.physical(rw, role: "master", accounts: [:], engineType: engineType)]])
            let g = try pod.common("hostins_ops", "grow_pfs", allFields: true, ["srv_opr_host_ip"])
            XCTAssertTrue(g.stdout.contains("disk \(disk)"), g.stdout)
            if polar {
                ok(g, "grow_pfs (PolarDB, local storage)")
                XCTAssertTrue(g.stdout.contains("nothing to do"), g.stdout)
            } else {
                refused(g, "polar_vfs_disk_expansion")
            }
        }

        // get_system_identifier (allFields): pg_controldata's output as Stack-Common matches it
        let sid = try call(rw, "hostins_ops", "get_system_identifier", allFields: true)
        ok(sid, "get_system_identifier")
        let m = try XCTUnwrap(sid.stdout.range(of: #"system identifier:\s*(\d+)"#, options: .regularExpression), sid.stdout)
        XCTAssertTrue(sid.stdout[m].hasSuffix(try rw.value("select system_identifier from pg_control_system()")), sid.stdout)

        // stop_instance / start_instance (GracefulStopEngine / StartEngine: type and action only)
        ok(try call(rw, "hostins_ops", "stop_instance"), "stop_instance")
        XCTAssertTrue(FileManager.default.fileExists(atPath: rw.data + "/ins_lock"))
        XCTAssertFalse(rw.answers)
        ok(try call(rw, "hostins_ops", "start_instance"), "start_instance")
        XCTAssertTrue(eventually(60) { rw.answers })

        // remove_replication (legacy form): the slot goes, its WAL sender ended
        ok(try call(rw, "replica", "remove_replication", ["service_type"], extra: legacy), "remove_replication")
        XCTAssertEqual(try rw.value("select string_agg(slot_name, ',') from pg_replication_slots"), "standby_1003_e5f6")

        // ClusterManager's online promote of the standby pod
        ok(try sb.bash(#"su - postgres -c "pg_ctl promote -D /data -t 5""#), "promote")
        XCTAssertTrue(eventually(30) { (try? sb.value("select pg_is_in_recovery()")) == "f" })
        XCTAssertEqual(try sb.value("select count(*) from t"), "2", "the standby had the primary's rows")

        // secrets: no password in any output or manager.log; in the RO's file only
        let logs = [rw, ro, sb].map { read($0.log + "/manager.log") }.joined()
        for pw in ["Aur0raSecretPw7x", "Repl1catorSecretPw", "App0userSecretPw"] {
            for r in outputs { XCTAssertFalse(r.all.contains(pw), "\(pw) leaked:\n\(r.all)") }
            XCTAssertFalse(logs.contains(pw), "\(pw) in manager.log")
        }
    }

    /// ClusterManager's strings (engine_manager.go): lock_stop_instance / unlock_start_instance
    /// without a type, the read-only lock in its "box" form (srv_opr_hosts, srv_opr_host_ip="{}")
    /// and its PolarPure form (entry_point_cm.py run directly, port=P).
    func testClusterManagerCalls() throws {
        let docker = try DockerEnv.require()
        let pod = try rwPod(docker, "stack-cm", 223457, custInsId: "2001")
        ok(try pod.common("account", "create", ["srv_opr_host_ip"],
                          extra: ["srv_opr_user_name": "app_user", "srv_opr_password": "App0userSecretPw", "srv_opr_privilege": "1"]), "app_user")
        XCTAssertEqual(try pod.value("create table t(i int); grant all on t to app_user; select 1"), "1")
        func writes() throws -> Bool { try pod.psql("insert into t values (1)", user: "app_user", password: "App0userSecretPw").status == 0 }

        ok(try pod.bash("srv_opr_action=lock_stop_instance shutdown_mode=fast python /docker_script/entry_point.py"), "lock_stop_instance")
        XCTAssertTrue(FileManager.default.fileExists(atPath: pod.data + "/ins_lock"))
        sleep(2)
        XCTAssertFalse(pod.answers, "kept down while /data/ins_lock exists")
        ok(try pod.bash("srv_opr_action=unlock_start_instance python /docker_script/entry_point.py"), "unlock_start_instance")
        XCTAssertTrue(eventually(60) { pod.answers })

        let box = #"srv_opr_hosts="[{\"access_port\":[\#(pod.port)]}]" srv_opr_host_ip="{}" python /docker_script/entry_point.py"#
        ok(try pod.bash("srv_opr_action=lock_ins_diskfull srv_opr_type=lock_ins " + box), "box lock")
        XCTAssertFalse(try writes())
        ok(try pod.bash("srv_opr_action=unlock_ins_diskfull srv_opr_type=lock_ins " + box), "box unlock")
        XCTAssertTrue(try writes())

        ok(try pod.bash("srv_opr_type=node srv_opr_action=lock-ins-diskfull port=\(pod.port) /docker_script/entry_point_cm.py"), "PolarPure lock")
        XCTAssertFalse(try writes())
        ok(try pod.bash("srv_opr_type=node srv_opr_action=unlock-ins-diskfull port=\(pod.port) /docker_script/entry_point_cm.py"), "PolarPure unlock")
        XCTAssertTrue(try writes())
    }

    /// The kubelet's preStop hook in the ENGINE container: the script run directly (shebang, exec bit).
    func testKubeletPreStopInTheEngineContainer() throws {
        let docker = try DockerEnv.require()
        let pod = try rwPod(docker, "stack-prestop", 323457, custInsId: "3001")
        let before = try pod.value("select pg_postmaster_start_time()")
        ok(try docker.docker(["exec", pod.engine, "/bin/sh", "-c",
                              "srv_opr_type=hostins_ops srv_opr_action=process_cleanup /docker_script/entry_point.py"]), "process_cleanup")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pod.data + "/ins_lock"), "process_cleanup does not lock")
        XCTAssertTrue(eventually(60) { ((try? pod.value("select pg_postmaster_start_time()")) ?? before) != before },
                      "postgres was stopped (the supervisor started it again)")
    }

    /// The catalogue's actions no caller sends today (spec §3 "–"), built by the same rules from
    /// the variables §3 lists; the ones this engine cannot do are refused with their reason;
    /// malformed JSON in any variable and unknown actions change nothing.
    func testCatalogueActionsWithoutACallerAndBadInput() throws {
        let docker = try DockerEnv.require()
        let pod = try rwPod(docker, "stack-other", 423457, custInsId: "4001")
        func call(_ type: String?, _ action: String, port: Bool = true, _ extra: [String: String] = [:]) throws -> CommandResult {
            var env = extra
            if let type { env["srv_opr_type"] = type }
            env["srv_opr_action"] = action
            if port { env["srv_opr_host_ip"] = StackCommand.hostIP(pod.configMap) }
            return try pod.exec(StackCommand.pairs(env))
        }
        func startTime() throws -> String { try pod.value("select pg_postmaster_start_time()") }

        // enable_ssl / disable_ssl
        let tmp = try makeTempDir(self)
        let gen = try command(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=polarrun-test", "-days", "2",
                               "-keyout", tmp + "/k.pem", "-out", tmp + "/c.pem"])
        ok(gen, "openssl")
        let (cert, key) = (read(tmp + "/c.pem"), read(tmp + "/k.pem"))
        let ssl = try call("hostins_ops", "enable_ssl", ["ssl_cert": cert, "ssl_key": key])
        ok(ssl, "enable_ssl")
        XCTAssertFalse(ssl.all.contains("PRIVATE KEY-----\n"), "the key is masked")
        XCTAssertEqual(try pod.value("show ssl"), "on")
        XCTAssertEqual(read(pod.data + "/server.crt"), cert)
        ok(try call("hostins_ops", "disable_ssl"), "disable_ssl")
        XCTAssertEqual(try pod.value("show ssl"), "off")

        // create_tablespace (create_tablespace_env); again: nothing to do
        let ts = ["create_tablespace_env": #"{"tablespace_name":"polar_tmp2","tablespace_path":"/log/pg_tmp2"}"#]
        ok(try call("hostins_ops", "create_tablespace", ts), "create_tablespace")
        XCTAssertEqual(try pod.value("select pg_tablespace_location(oid) from pg_tablespace where spcname = 'polar_tmp2'"), "/log/pg_tmp2")
        ok(try call("hostins_ops", "create_tablespace", ts), "create_tablespace again")

        // account modify (7 -> 1) and delete
        ok(try call("account", "create", ["srv_opr_user_name": "dba_user", "srv_opr_password": "Dba0userSecretPw", "srv_opr_privilege": "7"]), "create")
        ok(try call("account", "modify", ["srv_opr_user_name": "dba_user", "srv_opr_password": "Dba0userSecretPw", "srv_opr_privilege": "1"]), "modify")
        XCTAssertEqual(try pod.value("select rolsuper::text || rolcreatedb::text from pg_roles where rolname = 'dba_user'"), "falsetrue")
        ok(try call("account", "delete", ["srv_opr_user_name": "dba_user"]), "delete")
        XCTAssertEqual(try pod.value("select count(*) from pg_roles where rolname = 'dba_user'"), "0")

        // restore/repair_account: the restored data's superuser (recorded in /log/pg_safe.cnf) renamed back to postgres
        ok(try call("account", "create", ["srv_opr_user_name": "other_dba", "srv_opr_password": "Oth3rDbaSecretPw", "srv_opr_privilege": "7"]), "other_dba")
        ok(try pod.psql("alter role postgres rename to restored_su", user: "other_dba", password: "Oth3rDbaSecretPw"), "rename")
        try write("[pg_safe]\nuser=restored_su\n", to: pod.log + "/pg_safe.cnf")
        ok(try call("restore", "repair_account"), "repair_account")
        XCTAssertEqual(try pod.value("select rolname from pg_roles where oid = 10"), "postgres")
        ok(try call("restore", "repair_account"), "repair_account again (nothing to do)")

        // backup pre/post: one-line JSON
        let pre = try call("backup", "pre_action")
        XCTAssertTrue(pre.status == 0 && pre.stdout.contains(#""status":"success""#), pre.all)
        let post = try call("backup", "post_action")
        XCTAssertTrue(post.status == 0 && post.stdout.contains("stop_lsn"), post.all)

        // generate_new_wal: the insert position at the start of a new segment
        let lsn = try pod.value("create table w(i int); select pg_current_wal_lsn()")   // something to switch away from
        ok(try call("hostins_ops", "generate_new_wal"), "generate_new_wal")
        XCTAssertEqual(try pod.value("select pg_current_wal_lsn() > '\(lsn)' and (pg_current_wal_lsn() - '0/0'::pg_lsn) % pg_size_bytes(current_setting('wal_segment_size')) = 0"), "t")

        // restart_instance, stop/graceful_stop (works: pg_ctl stop -m fast; the supervisor restarts it)
        var t0 = try startTime()
        ok(try call("hostins_ops", "restart_instance"), "restart_instance")
        XCTAssertTrue(eventually(60) { ((try? startTime()) ?? t0) != t0 })
        t0 = try startTime()
        ok(try call("stop", "graceful_stop", port: false, ["srv_opr_timeout": "60"]), "graceful_stop")
        XCTAssertTrue(eventually(60) { ((try? startTime()) ?? t0) != t0 })

        // lock_ins_expire / unlock_ins_expire: stop and start through the lock file
        ok(try call("lock_ins", "lock_ins_expire"), "lock_ins_expire")
        XCTAssertFalse(pod.answers)
        ok(try call("lock_ins", "unlock_ins_expire"), "unlock_ins_expire")
        XCTAssertTrue(eventually(60) { pod.answers })

        // service_check, init_ins/initdb (no-op)
        ok(try call("health_check", "service_check"), "service_check")
        let conf = read(pod.data + "/postgresql.conf")
        ok(try call("init_ins", "initdb", port: false), "initdb")

        // init_sysctl: /etc/sysctl.conf written; sysctl -p works only where the container may change kernel settings
        let sysctl = try call("update_conf", "init_sysctl", port: false, ["mem_size": "134217728"])
        let sysconf = try pod.bash("cat /etc/sysctl.conf").stdout
        XCTAssertTrue(sysconf.contains("vm.nr_hugepages = 66536") && sysconf.contains("vm.min_free_kbytes = 2097152"), sysconf)
        XCTAssertTrue(sysctl.status == 0 || sysctl.stderr.contains("sysctl"), sysctl.all)

        // refused with one line saying what is missing
        for (type, action, reason) in [("update_conf", "create", "makes no config file"),
                                       ("hostins_ops", "restore_prepared", "PITR"), ("hostins_ops", "check_restore_running_status", "PITR"),
                                       ("hostins_ops", "fetch_archive_log_from_source", "PITR"), ("hostins_ops", "do_fetch_archive_log_from_source", "PITR"),
                                       ("hostins_ops", "check_fetch_archive_from_source_status", "PITR"), ("hostins_ops", "check_download_archive_status", "PITR"),
                                       ("hostins_ops", "build_recovery", "DMA"), ("hostins_ops", "add_dma_follower_to_cluster", "DMA"),
                                       ("hostins_ops", "rotate_tde_key", "TDE"), ("hostins_ops", "rebuild_local_dir", "shared storage")] {
            let r = try call(type, action)
            refused(r, reason)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }

        // malformed JSON in any variable, unknown actions: non-zero, the reason, nothing changed
        let roles = try pod.value("select count(*) from pg_roles")
        for name in ["srv_opr_host_ip", "srv_opr_hosts", "cluster_custins_info", "port", "current_ins", "ro_custins_current",
                     "ins_topology_4_replication", "create_tablespace_env", "pitr_fetch_logs_env", "mycnf_dict"] {
            var vars = ["srv_opr_user_name": "x_user", "srv_opr_password": "Xuser0SecretPw", "srv_opr_privilege": "1", name: "{not json"]
            if name == "srv_opr_host_ip" { vars[name] = "{\"access_port\":" }
            let r = try call("account", "create", port: name != "srv_opr_host_ip", vars)
            XCTAssertEqual(r.status, 2, r.all)
            XCTAssertTrue(r.stderr.contains("\(name) is not valid JSON"), r.stderr)
        }
        let badParams = try pod.exec(pod.commonString("update_conf", "update", ["srv_opr_host_ip", "cluster_custins_info", "cust_ins_id", "ins_id"])
                                     + StackCommand.params(#"{"work_mem": "#))
        refused(badParams, "params is not valid JSON")
        refused(try call("hostins_ops", "no_such_action"), "unknown operation srv_opr_type=hostins_ops srv_opr_action=no_such_action")
        refused(try call("nonsense", "create"), "unknown operation")
        refused(try call("replica", "create_replication", ["ro_custins_current": #"{"custins_id":"a_b","slot_unique_name":"c"}"#]), "custins_id")
        XCTAssertEqual(try pod.value("select count(*) from pg_roles"), roles)
        XCTAssertEqual(try pod.value("select count(*) from pg_replication_slots"), "0")
        XCTAssertEqual(read(pod.data + "/postgresql.conf"), conf)
        XCTAssertTrue(pod.answers)
    }

    /// CheckHealth reads "the database system is starting up" on stderr as "starting" only with
    /// exit 0 (spec §2.4): a recovering node that is not consistent yet answers so. Dispatch
    /// tested with a local cluster (a copy without the WAL it needs stays in that state).
    func testHealthCheckOfAStartingInstanceIsStartingNotFailed() throws {
        let primary = try PGCluster.started(self, extraConf: "wal_level = replica\n")
        let root = try makeTempDir(self, prefix: "polarrun-pg")
        let copy = root + "/data"
        let port = PGCluster.freePort()
        _ = try command(["chown", "postgres", root])
        ok(try primary.asPostgres([PGCluster.bin + "/pg_basebackup", "-h", primary.socketDir, "-p", String(primary.port), "-U", "postgres",
                                   "-D", copy, "-X", "none", "-c", "fast"]), "pg_basebackup")
        // no WAL and nowhere to get it: recovery waits for the backup's end forever
        try write("", to: copy + "/standby.signal")
        ok(try primary.asPostgres(["bash", "-c", "echo \"port = \(port)\nunix_socket_directories = '\(copy)'\nprimary_conninfo = ''\nrestore_command = 'false'\" >> \(copy)/postgresql.auto.conf"]), "conf")
        ok(try primary.asPostgres([PGCluster.bin + "/pg_ctl", "start", "-D", copy, "-W", "-l", root + "/server.log"]), "start")
        addTeardownBlock { _ = try? primary.asPostgres([PGCluster.bin + "/pg_ctl", "stop", "-D", copy, "-m", "immediate"]) }
        let entry = "\(Repo.root)/rootfs/docker_script/entry_point.py"
        let hostIP = #"{"access_port":[\#(port)],"link":[\#(port)],"perf_port":[\#(port)]}"#
        var r = CommandResult(status: -1, stdout: "", stderr: "")
        XCTAssertTrue(try eventually(30) {
            r = try command([Repo.binary, "--log-file", root + "/manager.log", entry],
                            env: ["srv_opr_type": "health_check", "srv_opr_action": "hostins_check", "srv_opr_host_ip": hostIP,
                                  "PGDATA": copy, "POLARRUN_DB_USER": "postgres", "POLARRUN_PG_BIN": PGCluster.bin])
            return r.status == 0
        }, r.all)
        XCTAssertTrue(r.stderr.contains("the database system is starting up"), r.all)
    }
}
