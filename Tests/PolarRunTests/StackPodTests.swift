import Foundation
import XCTest

/// The manager image as a drop-in for PolarDB Stack: images built by `polarrun build.lua`
/// (fixture engine: Debian's PostgreSQL 15), pods run as Kubernetes runs them (Support/StackPod),
/// and every operation driven through `docker exec` with the exact command strings the Stack
/// builds, each checked by its effect on the database or the files.
final class StackPodTests: XCTestCase {
    /// Builds the fixture engine and manager images (no push) and returns their names.
    func images(_ docker: DockerEnv) throws -> (engine: String, manager: String) {
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
        return (try XCTUnwrap(imgs["engine_release"]?["image"] as? String), try XCTUnwrap(imgs["manager"]?["image"] as? String))
    }

    func ok(_ r: CommandResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 0, "\(what):\n\(r.all)", file: file, line: line)
    }

    func testStackOperationsInAPodAndPromotionOfAStandbyPod() throws {
        let docker = try DockerEnv.require()
        let (engineImage, managerImage) = try images(docker)
        let etc = try makeTempDir(self)
        // the pod's /etc/postgres/pg_hba.conf override: trust over loopback (the standby streams from it)
        let hba = "# test override\nlocal all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 md5\nhost replication postgres 127.0.0.1/32 trust\n"
        try write(hba, to: etc + "/pg_hba.conf")
        let pod = try StackPod.start(self, docker: docker, engineImage: engineImage, managerImage: managerImage,
                                     name: "stackpod-a", logicInsId: 123457, etcPostgres: etc)

        // install: an empty /data -> an instance the supervisor starts; idempotent
        let mycnf = #"{"shared_buffers":"32MB","log_timezone":"'UTC'","max_wal_senders":"10"}"#
        let install = try pod.op("hostins_ops", "setup_install_instance", [("mycnf_dict", mycnf)])
        ok(install, "install")
        XCTAssertTrue(install.stdout.contains("instance installed"), install.stdout)
        XCTAssertTrue(eventually(60) { pod.answers }, (try? docker.docker(["logs", pod.engine]).all) ?? "")
        XCTAssertEqual(try pod.value("show shared_buffers"), "32MB")
        XCTAssertEqual(try pod.value("show port"), String(pod.port))
        XCTAssertEqual(read(pod.data + "/pg_hba.conf"), hba)
        XCTAssertTrue(FileManager.default.fileExists(atPath: pod.data + "/polarrun_installed"))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: pod.log + "/pg_log"), "/data/pg_log")
        XCTAssertEqual(pod.owner(pod.data + "/PG_VERSION"), pod.uid, "the data belongs to uid (logic_ins_id mod 10000) + 10000")
        XCTAssertEqual(try docker.docker(["exec", pod.manager, "id", "-u", "postgres"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), String(pod.uid))
        XCTAssertEqual(try docker.docker(["exec", pod.engine, "id", "-u", "postgres"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), String(pod.uid))
        let again = try pod.op("hostins_ops", "setup_install_instance", [("mycnf_dict", mycnf)])
        ok(again, "second install")
        XCTAssertTrue(again.stdout.contains("installed already"), again.stdout)

        // health check
        for action in ["hostins_check", "service_check"] {
            let h = try pod.op("health_check", action)
            ok(h, action)
            XCTAssertTrue(h.stdout.contains("health_check"), h.stdout)
        }

        // accounts 1, 7, 15; every password masked, also those inside cluster_custins_info
        let custins = #"{"polardb_mpd_rw":{"pc-1":{"accounts":{"aurora":{"account":"aurora","password":"InnerSecret#42","priviledge_type":7}},"hostins":{"1":{"role":"master","port":\#(pod.port),"ins_ip":"127.0.0.1"}}}}}"#
        for (user, code) in [("app_user", 1), ("dba_user", 7), ("repl_user", 15)] {
            let r = try pod.op("account", "create", [("srv_opr_user_name", user), ("srv_opr_password", "Pw-\(user)-Secret"),
                                                     ("srv_opr_privilege", String(code)), ("cluster_custins_info", custins)])
            ok(r, "account create \(code)")
            XCTAssertFalse(r.all.contains("Pw-\(user)-Secret"), r.all)
            XCTAssertFalse(r.all.contains("InnerSecret#42"), r.all)
        }
        XCTAssertFalse(read(pod.log + "/manager.log").contains("Secret"), "secrets in /log/manager.log")
        XCTAssertEqual(try pod.value("select rolsuper::text || rolcreaterole::text || rolcreatedb::text || rolreplication::text from pg_roles where rolname = 'app_user'"), "falsetruetruefalse")
        XCTAssertEqual(try pod.value("select rolsuper::text || rolreplication::text from pg_roles where rolname = 'dba_user'"), "truefalse")
        XCTAssertEqual(try pod.value("select rolsuper::text || rolreplication::text from pg_roles where rolname = 'repl_user'"), "truetrue")
        XCTAssertTrue(try pod.value("select array_to_string(setconfig, ',') from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where rolname = 'repl_user'").lowercased().contains("timezone=utc"))

        // account modify (7 -> 1) and delete
        ok(try pod.op("account", "modify", [("srv_opr_user_name", "dba_user"), ("srv_opr_privilege", "1")]), "account modify")
        XCTAssertEqual(try pod.value("select rolsuper::text || rolcreatedb::text from pg_roles where rolname = 'dba_user'"), "falsetrue")
        ok(try pod.op("account", "create", [("srv_opr_user_name", "tmp_user"), ("srv_opr_password", "Pw-tmp-Secret"), ("srv_opr_privilege", "1")]), "create tmp_user")
        ok(try pod.op("account", "delete", [("srv_opr_user_name", "tmp_user")]), "account delete")
        XCTAssertEqual(try pod.value("select count(*) from pg_roles where rolname = 'tmp_user'"), "0")

        // replication slot
        let slotVars = [("slot_unique_name", "ro-node-1"), ("service_type", "polardb_mpd_ro")]
        ok(try pod.op("replica", "create_replication", slotVars), "create_replication")
        let slot = "replica_pc_\(pod.logicInsId)_ro_node_1"
        XCTAssertEqual(try pod.value("select count(*) from pg_replication_slots where slot_name = '\(slot)'"), "1")
        ok(try pod.op("replica", "remove_replication", slotVars), "remove_replication")
        XCTAssertEqual(try pod.value("select count(*) from pg_replication_slots where slot_name = '\(slot)'"), "0")
        XCTAssertEqual(try pod.value("show synchronous_standby_names"), "")

        // disk-full lock: an ordinary user's write refused, then allowed
        XCTAssertEqual(try pod.value("create table t(i int); grant all on t to app_user; select 1"), "1")
        ok(try pod.op("lock_ins", "lock_ins_diskfull"), "lock_ins_diskfull")
        let refused = try pod.psql("insert into t values (1)", user: "app_user", password: "Pw-app_user-Secret")
        XCTAssertNotEqual(refused.status, 0, refused.all)
        XCTAssertTrue(refused.stderr.contains("read-only"), refused.stderr)
        XCTAssertEqual(try pod.value("insert into t values (0); select count(*) from t"), "1", "a superuser still writes")
        ok(try pod.op("lock_ins", "unlock_ins_diskfull"), "unlock_ins_diskfull")
        ok(try pod.psql("insert into t values (2)", user: "app_user", password: "Pw-app_user-Secret"), "write after unlock")

        // stop via lock file (ClusterManager: no srv_opr_type): the supervisor keeps it down
        ok(try pod.stack([("srv_opr_action", "lock_stop_instance"), ("shutdown_mode", "fast"), ("srv_opr_host_ip", pod.hostIP)]),
           "lock_stop_instance")
        XCTAssertTrue(FileManager.default.fileExists(atPath: pod.data + "/ins_lock"))
        XCTAssertFalse(pod.answers)
        sleep(3)
        XCTAssertFalse(pod.answers, "the supervisor must keep the instance down while /data/ins_lock exists")
        // grow_pfs with postgres down: success without action (disk name from cluster_custins_info)
        let grow = try pod.op("hostins_ops", "grow_pfs", [("cluster_custins_info", #"{"polardb_mpd_rw":{"pc-1":{"volume_name":"vol1"}}}"#)])
        ok(grow, "grow_pfs")
        XCTAssertTrue(grow.stdout.contains("not running: nothing to do"), grow.stdout)
        ok(try pod.stack([("srv_opr_action", "unlock_start_instance"), ("srv_opr_host_ip", pod.hostIP)]), "unlock_start_instance")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pod.data + "/ins_lock"))
        XCTAssertTrue(eventually(30) { pod.answers }, "the supervisor brings it back")
        // the same through lock_ins/lock_ins_expire and hostins_ops/start_instance
        ok(try pod.op("lock_ins", "lock_ins_expire"), "lock_ins_expire")
        XCTAssertFalse(pod.answers)
        ok(try pod.op("hostins_ops", "start_instance"), "start_instance")
        XCTAssertTrue(eventually(30) { pod.answers })

        // restart
        let started = try pod.value("select pg_postmaster_start_time()")
        ok(try pod.op("hostins_ops", "restart_instance"), "restart_instance")
        XCTAssertTrue(eventually(30) { pod.answers })
        XCTAssertNotEqual(try pod.value("select pg_postmaster_start_time()"), started)

        // update_conf: params as key="value" with " escaped
        ok(try pod.op("update_conf", "update", [("params", #"{"work_mem":"8MB","log_min_duration_statement":"1000"}"#)]), "update_conf")
        XCTAssertEqual(try pod.value("show work_mem"), "8MB")
        XCTAssertTrue(read(pod.data + "/postgresql.conf").contains("work_mem = 8MB"), read(pod.data + "/postgresql.conf"))

        // generate_new_wal
        let lsn = try pod.value("insert into t values (3); select pg_current_wal_lsn()")
        ok(try pod.op("hostins_ops", "generate_new_wal"), "generate_new_wal")
        // the insert position moved on to the start of a new segment
        XCTAssertEqual(try pod.value("select pg_current_wal_lsn() > '\(lsn)' and (pg_current_wal_lsn() - '0/0'::pg_lsn) % pg_size_bytes(current_setting('wal_segment_size')) = 0"), "t")

        // get_system_identifier: pg_controldata output, as the Stack matches it
        let sid = try pod.op("hostins_ops", "get_system_identifier")
        ok(sid, "get_system_identifier")
        let m = try XCTUnwrap(sid.stdout.range(of: #"system identifier:\s*(\d+)"#, options: .regularExpression), sid.stdout)
        XCTAssertTrue(sid.stdout[m].hasSuffix(try pod.value("select system_identifier from pg_control_system()")), sid.stdout)

        // backup pre/post actions: one-line JSON
        let pre = try pod.op("backup", "pre_action")
        ok(pre, "backup pre_action")
        XCTAssertTrue(pre.stdout.contains(#"{"msg":"backup started at"#) && pre.stdout.contains(#""status":"success""#), pre.stdout)
        XCTAssertEqual(try pod.value("select count(*) from pg_stat_activity where backend_type = 'client backend' and state is not null and query ilike '%backup_start%' and pid <> pg_backend_pid()"), "1")
        let post = try pod.op("backup", "post_action")
        ok(post, "backup post_action")
        XCTAssertTrue(post.stdout.contains(#""status":"success""#) && post.stdout.contains("stop_lsn"), post.stdout)

        // clear errors: unknown type/action, malformed JSON
        let unknown = try pod.op("hostins_ops", "no_such_action")
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("unknown operation srv_opr_type=hostins_ops srv_opr_action=no_such_action"), unknown.stderr)
        let noType = try pod.stack([("srv_opr_type", "nonsense"), ("srv_opr_action", "create")])
        XCTAssertNotEqual(noType.status, 0)
        XCTAssertTrue(noType.stderr.contains("unknown operation"), noType.stderr)
        let bad = try pod.op("account", "create", [("srv_opr_user_name", "x"), ("srv_opr_password", "Pw-x-Secret"),
                                                   ("srv_opr_privilege", "1"), ("cluster_custins_info", "{not json")])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("cluster_custins_info is not valid JSON"), bad.stderr)
        let badConf = try pod.op("update_conf", "update", [("params", "{\"work_mem\": ")])
        XCTAssertNotEqual(badConf.status, 0)
        XCTAssertTrue(badConf.stderr.contains("params is not valid JSON"), badConf.stderr)
        XCTAssertEqual(try pod.value("select count(*) from pg_roles where rolname = 'x'"), "0")

        // process_cleanup: the engine's preStop hook, run directly (shebang, exec bit)
        let before = try pod.value("select pg_postmaster_start_time()")
        let cleanup = try docker.docker(["exec", pod.engine, "/bin/sh", "-c",
                                         "srv_opr_type=hostins_ops srv_opr_action=process_cleanup /docker_script/entry_point.py"])
        ok(cleanup, "process_cleanup")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pod.data + "/ins_lock"), "process_cleanup does not lock")
        XCTAssertTrue(eventually(30) { ((try? pod.value("select pg_postmaster_start_time()")) ?? before) != before },
                      "postgres was stopped (the supervisor started it again)")

        // a second pod from the same images, a standby of the first, promoted by ClusterManager
        let dir2 = try makeTempDir(self)
        let data2 = dir2 + "/data"
        let port2 = PGCluster.freePort()
        let base = try docker.docker(["run", "--rm", "--network=host", "-v", "\(dir2):/d", managerImage, "bash", "-c",
            "mkdir /d/data && chown postgres /d/data && chmod 0700 /d/data && su postgres -c 'pg_basebackup -h 127.0.0.1 -p \(pod.port) -U postgres -D /d/data -R -X stream' && echo 'port = \(port2)' >> /d/data/postgresql.auto.conf"],
            timeout: 300)
        ok(base, "pg_basebackup for the standby")
        let s2 = try StackPod.start(self, docker: docker, engineImage: engineImage, managerImage: managerImage,
                                    name: "stackpod-b", logicInsId: 98765, data: data2, port: port2)
        XCTAssertTrue(eventually(60) { (try? s2.value("select pg_is_in_recovery()")) == "t" }, (try? docker.docker(["logs", s2.engine]).all) ?? "")
        XCTAssertEqual(s2.owner(data2 + "/PG_VERSION"), s2.uid, "the standby's data was given to its pod's uid")
        let promote = try docker.docker(["exec", s2.manager, "su", "-", "postgres", "-c", "pg_ctl promote -D /data -t 5"])
        ok(promote, "promote")
        XCTAssertTrue(eventually(30) { (try? s2.value("select pg_is_in_recovery()")) == "f" })
        XCTAssertEqual(try s2.value("select count(*) from t"), "3", "the standby had the primary's data")
    }
}
