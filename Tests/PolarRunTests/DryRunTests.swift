import Foundation
import XCTest
@testable import PolarRun

/// `--dry-run` on the bundled mutating runbooks, against real PostgreSQL 15 clusters: each
/// dry run exits 0, changes nothing on disk or in the database, and shows as diffs exactly
/// the file changes the real run then makes.
final class DryRunTests: XCTestCase {
    var logFile = ""

    override func setUpWithError() throws {
        logFile = try makeTempDir(self, prefix: "polarrun-drylog") + "/manager.log"
    }

    /// Runbooks that operate on an instance get its pgdata and port; the others only `args`.
    static let standalone: Set<String> = ["logagent_config", "init_sysctl"]

    func rb(_ name: String, _ args: [String], _ c: PGCluster, dry: Bool, json: Bool = true) throws -> CommandResult {
        let instance = DryRunTests.standalone.contains(name) ? [] : ["pgdata=\(c.pgdata)", "port=\(c.port)"]
        return try polarrun(["--log-file", logFile] + (dry ? ["--dry-run"] : []) + (json ? ["--json"] : [])
                            + [Repo.runbooks + "/\(name).lua"] + instance + args, env: c.env)
    }

    /// Files the server and the locks keep to themselves: not changes a runbook makes.
    static let ignored: Set<String> = ["postmaster.pid", "postmaster.opts", "current_logfiles", ".polarrun.lock", ".postgresql.conf.lock"]

    /// The regular files at the top of the data directory, every file under `trees`, and the
    /// `extra` paths, by content (a link as "-> target", a directory as "dir").
    func files(_ c: PGCluster, extra: [String] = [], trees: [String] = []) -> [String: String] {
        var out: [String: String] = [:]
        func add(_ p: String, recurse: Bool) {
            var st = stat()
            guard lstat(p, &st) == 0 else { return }
            switch st.st_mode & S_IFMT {
            case S_IFREG: out[p] = FileManager.default.contents(atPath: p).map { String(decoding: $0, as: UTF8.self) }
            case S_IFLNK: out[p] = "-> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: p)) ?? "")
            case S_IFDIR where recurse:
                out[p] = "dir"
                for n in (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? [] { add(p + "/" + n, recurse: true) }
            default: break
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: c.pgdata)) ?? [] where !DryRunTests.ignored.contains(name) && !name.hasPrefix(".s.PGSQL") {
            add(c.pgdata + "/" + name, recurse: false)
        }
        for p in extra { add(p, recurse: false) }
        for t in trees { add(t, recurse: true) }
        return out
    }

    /// What a runbook could change in the database: roles and their settings, slots,
    /// tablespaces, databases, non-default settings, the last reload and start, recovery and
    /// timeline; or "down".
    func database(_ c: PGCluster) throws -> String {
        guard c.isRunning else { return "down" }
        return try c.value("""
            select concat_ws(' | ',
              (select string_agg(rolname || ':' || rolsuper || rolcanlogin || rolreplication || rolcreatedb || rolcreaterole
                                 || coalesce(rolpassword, '') || coalesce(rolvaliduntil::text, ''), ',' order by rolname) from pg_authid),
              (select string_agg(coalesce(setdatabase::text, '') || '/' || setrole || '=' || array_to_string(setconfig, ';'), ',' order by 1) from pg_db_role_setting),
              (select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots),
              (select string_agg(spcname, ',' order by spcname) from pg_tablespace),
              (select string_agg(datname, ',' order by datname) from pg_database),
              (select string_agg(name || '=' || setting, ',' order by name) from pg_settings where source not in ('default', 'override', 'client', 'session')),
              pg_conf_load_time(), pg_postmaster_start_time(), pg_is_in_recovery(),
              (select timeline_id from pg_control_checkpoint()))
            """)
    }

    /// Times and run ids differ between the dry and the real run: the same change otherwise.
    func normalized(_ s: String) -> String {
        s.replacingOccurrences(of: #"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?( ?[+-]\d{4}|Z)?"#, with: "TIME", options: .regularExpression)
            .replacingOccurrences(of: #"run [0-9a-z]{8}"#, with: "run ID", options: .regularExpression)
    }

    /// Console lines of a dry run that report a change as done ("reloaded", "created" …) rather
    /// than saying "would".
    func claims(_ r: CommandResult) -> [String] {
        let done = #/\b(applied|reloaded|created|dropped|stopped|started|restarted|removed|renamed|promoted|rewound|installed|terminated|granted|linked|cleared|released)\b/#
        return r.stderr.split(separator: "\n").map(String.init).filter { line in
            (line.hasPrefix("INFO ") || line.hasPrefix("WARN ")) && line.firstMatch(of: done) != nil
                && !line.contains("would") && !line.contains("already") && !line.contains("[dry-run]") && !line.hasSuffix("?")
        }
    }

    /// The dry run's file diffs (path → diff) from its --json document.
    func diffs(_ r: CommandResult) throws -> (doc: [String: Any], diffs: [String: String]) {
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.all)
        var out: [String: String] = [:]
        for item in doc["would"] as? [[String: Any]] ?? [] where item["kind"] as? String == "file" {
            out[item["path"] as! String] = item["diff"] as? String
        }
        return (doc, out)
    }

    /// Runs `name` dry, checks that nothing changed, then for real, and checks that the dry
    /// run's diffs are the real change of every file. Returns the dry run's output and document.
    @discardableResult
    func dryThenReal(_ name: String, _ args: [String] = [], _ c: PGCluster, extra: [String] = [], trees: [String] = [],
                     onlyShown: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> (CommandResult, [String: Any]) {
        let filesBefore = files(c, extra: extra, trees: trees), dbBefore = try database(c)
        let dry = try rb(name, args, c, dry: true)
        XCTAssertEqual(dry.status, 0, "\(name) --dry-run: \(dry.all)", file: file, line: line)
        XCTAssertEqual(files(c, extra: extra, trees: trees), filesBefore, "\(name) --dry-run changed files", file: file, line: line)
        XCTAssertEqual(try database(c), dbBefore, "\(name) --dry-run changed the database", file: file, line: line)
        let (doc, shown) = try diffs(dry)
        XCTAssertNotNil(doc["would_summary"], dry.stdout, file: file, line: line)
        XCTAssertEqual(claims(dry), [], "\(name) --dry-run claims a change it did not make", file: file, line: line)

        let real = try rb(name, args, c, dry: false)
        XCTAssertEqual(real.status, 0, "\(name): \(real.all)", file: file, line: line)
        let filesAfter = files(c, extra: extra, trees: trees)
        var actual: [String: String] = [:]
        for p in Set(filesBefore.keys).union(filesAfter.keys) where filesBefore[p] != filesAfter[p] {
            let (a, b) = (filesBefore[p], filesAfter[p])
            // links and directories are lines of their own in the dry run's report
            if a == "dir" || b == "dir" || a?.hasPrefix("-> ") == true || b?.hasPrefix("-> ") == true { continue }
            actual[p] = normalized(UnifiedDiff.diff(a, b, path: p))
        }
        let watched = Set(actual.keys).union(filesBefore.keys).union(filesAfter.keys)
        // files only: a directory the run would make (pg_log) is a line of its own, not a diff
        let expected = shown.filter { ($0.value.hasPrefix("--- ") && (watched.contains($0.key) || FileView.parent($0.key) == c.pgdata)) }
            .mapValues(normalized)
        // files that programs the dry run only lists would write (initdb's) are not in its diffs
        if onlyShown { actual = actual.filter { expected[$0.key] != nil } }
        XCTAssertEqual(expected, actual, "\(name): the dry run's diffs are not the real change\n--- dry:\n\(dry.all)",
                       file: file, line: line)
        return (dry, doc)
    }

    // MARK: runbooks that make or copy instances

    /// install into an empty directory: initdb is listed, and the files install itself writes
    /// (postgresql.conf, pg_hba.conf, the marker) are shown as they will be.
    func testInstall() throws {
        let c = try PGCluster(root: try makeTempDir(self, prefix: "polarrun-pg"), initdb: false)
        let log = c.root + "/log"
        let (dry, doc) = try dryThenReal("install", ["log_dir=\(log)", "hba_override=\(c.root)/none"], c, trees: [log], onlyShown: true)
        XCTAssertEqual(doc["would_install"] as? Bool, true)
        XCTAssertTrue(dry.stderr.contains("would run " + PGCluster.bin + "/initdb"), dry.stderr)
        let shown = try diffs(dry).diffs
        XCTAssertEqual(Set(shown.filter { $0.value.hasPrefix("--- ") }.keys),
                       Set(["postgresql.conf", "pg_hba.conf", "polarrun_installed"].map { c.pgdata + "/" + $0 }))
        addTeardownBlock { c.stop(mode: "immediate") }
    }

    func testBackupAndStackBackup() throws {
        let c = try PGCluster.started(self)
        let target = try makeTempDir(self) + "/bk"
        let (dry, doc) = try dryThenReal("backup", ["target=\(target)"], c, trees: [target], onlyShown: true)
        XCTAssertEqual(doc["would_back_up"] as? Bool, true)
        XCTAssertTrue(dry.stderr.contains("would run " + PGCluster.bin + "/pg_basebackup"), dry.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: target + "/backup_manifest"), "the real run backed up")
        // backup_start/stop: the session is listed, not started, and nothing is left behind
        for name in ["backup_start", "backup_stop"] {
            let before = files(c, trees: [c.pgdata + "/pgsql_tmp.polarrun_backup"]), db = try database(c)
            let r = try rb(name, [], c, dry: true, json: false)
            XCTAssertEqual(r.status, name == "backup_start" ? 0 : 1, r.all)
            XCTAssertEqual(files(c, trees: [c.pgdata + "/pgsql_tmp.polarrun_backup"]), before, name)
            XCTAssertEqual(try database(c), db, name)
            if name == "backup_start" { XCTAssertTrue(r.stdout.contains(#""msg":"dry run: would start a backup""#), r.stdout) }
        }
    }

    /// Files outside the data directory: the log agent's description, /etc/sysctl.conf.
    func testLogAgentConfigAndSysctl() throws {
        let c = try PGCluster.started(self)
        let dir = try makeTempDir(self) + "/agent"
        try dryThenReal("logagent_config", ["ins_name=pod-1", "dir=\(dir)"], c, trees: [dir])
        // init_sysctl is not run for real here (it would change this host's kernel settings)
        let file = try makeTempDir(self) + "/sysctl.conf"
        try write("vm.swappiness = 60\n", to: file)
        let dry = try rb("init_sysctl", ["mem_size=1048576", "file=\(file)"], c, dry: true)
        XCTAssertEqual(dry.status, 0, dry.all)
        XCTAssertEqual(read(file), "vm.swappiness = 60\n")
        let shown = try diffs(dry).diffs[file] ?? ""
        XCTAssertTrue(shown.hasPrefix("--- a\(file)\n+++ b\(file)\n") && shown.contains("-vm.swappiness = 60\n"), shown)
        XCTAssertTrue(dry.stdout.contains(#""what" : "run sysctl -p \#(file)""#), dry.stdout)
        // the manager container's main loop: a dry run shows the setup and returns
        let manager = try polarrun(["--log-file", logFile, "--dry-run", "--timeout", "30", Repo.runbooks + "/manager.lua",
                                    "pgdata=\(c.pgdata)", "port=\(c.port)"], env: c.env)
        XCTAssertEqual(manager.status, 0, manager.all)
    }

    /// repair_account renames the restored data's superuser: listed in a dry run, the role kept.
    func testRepairAccount() throws {
        let c = try PGCluster.started(self)
        XCTAssertEqual(try c.psql("create role restored superuser login; create role aurora superuser login").status, 0)
        let cnf = try makeTempDir(self) + "/pg_safe.cnf"
        try write("[pg_safe]\nuser=restored\n", to: cnf)
        let (dry, doc) = try dryThenReal("repair_account", ["safe_cnf=\(cnf)", "superuser=admin"], c, extra: [cnf])
        XCTAssertEqual(doc["would_change"] as? Bool, true)
        XCTAssertTrue(dry.stderr.contains(#"would run SQL: alter role "restored" rename to "admin""#), dry.stderr)
        XCTAssertEqual(try c.value("select count(*) from pg_roles where rolname = 'admin'"), "1")
    }

    /// PolarDB Stack's entry point under --dry-run: the runbook it dispatches to shares the
    /// record, so the report lists the statement, and nothing changes.
    func testStackEntryPoint() throws {
        let c = try PGCluster.started(self)
        let db = try database(c)
        var env = c.env
        for (k, v) in ["srv_opr_type": "account", "srv_opr_action": "create", "srv_opr_user_name": "stack_app",
                       "srv_opr_password": "Stack0AppSecretPw", "srv_opr_privilege": "1", "POLARRUN_DB_USER": "postgres",
                       "srv_opr_host_ip": #"{"access_port":[\#(c.port)]}"#] { env[k] = v }
        let r = try polarrun(["--log-file", logFile, "--dry-run", Repo.root + "/rootfs/docker_script/entry_point.py"], env: env)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(try database(c), db)
        XCTAssertTrue(r.stdout.contains(#"would run SQL: CREATE ROLE "stack_app""#), r.stdout)
        XCTAssertTrue(r.stdout.contains("dry run: 0 file(s) would change, "), r.stdout)
        XCTAssertFalse(r.all.contains("Stack0AppSecretPw"), r.all)
        XCTAssertEqual(claims(r), [])
    }

    // MARK: the pod's long-running runbooks

    /// supervise on a stopped instance: the dry run prepares (shown as diffs), lists the start of
    /// postgres once and returns; the real supervisor then writes exactly those files.
    func testSupervise() throws {
        let c = try PGCluster.started(self)
        c.stop()
        let logDir = try makeTempDir(self, prefix: "polarrun-log")
        let args = ["log_dir=\(logDir)", "poll=0.2", "reserve_mb=1"]
        let before = files(c), db = try database(c)
        let dry = try rb("supervise", args, c, dry: true)
        XCTAssertEqual(dry.status, 0, dry.all)
        XCTAssertEqual(files(c), before)
        XCTAssertEqual(try database(c), db)
        XCTAssertFalse(FileManager.default.fileExists(atPath: logDir + "/pg_log"))
        XCTAssertEqual(claims(dry), [])
        let (doc, shown) = try diffs(dry)
        XCTAssertEqual(doc["would_start"] as? Bool, true, dry.stdout)
        XCTAssertTrue(dry.stdout.contains("\"what\" : \"run \(PGCluster.bin)/postgres -D \(c.pgdata)"), dry.stdout)
        XCTAssertNotNil(shown[c.pgdata + "/polarrun_diskfull.conf"], dry.stdout)

        let sup = Process()
        sup.executableURL = URL(fileURLWithPath: Repo.binary)
        sup.arguments = ["--log-file", logFile, Repo.runbooks + "/supervise.lua", "pgdata=\(c.pgdata)", "port=\(c.port)"] + args
        sup.environment = ProcessInfo.processInfo.environment.merging(c.env) { _, b in b }
        sup.standardOutput = FileHandle.nullDevice
        sup.standardError = FileHandle.nullDevice
        try sup.run()
        addTeardownBlock { if sup.isRunning { kill(sup.processIdentifier, SIGKILL) } }
        XCTAssertTrue(eventually(30) { c.isRunning })
        kill(sup.processIdentifier, SIGTERM)
        sup.waitUntilExit()
        let after = files(c)
        for (path, diff) in shown where diff.hasPrefix("--- ") {
            XCTAssertEqual(normalized(diff), normalized(UnifiedDiff.diff(before[path], after[path], path: path)), path)
        }
    }

    // MARK: switchover

    /// ha_switch and ha_rejoin, each dry then real: neither node changes in a dry run, and the
    /// files it shows are the ones the real run writes.
    func testHASwitchoverAndRejoin() throws {
        let topo = try Topology(self, replica: false, standbySocketOutside: true)
        let p = topo.primary, s = topo.standby!
        @discardableResult func dryThenReal(_ name: String, _ args: [String], on c: PGCluster, real: Bool = true) throws -> CommandResult {
            let before = (files(p), files(s), try database(p), try database(s))
            let dry = try polarrun(["--log-file", logFile, "--dry-run", "--json", Repo.runbooks + "/\(name).lua"] + args, env: c.env, timeout: 180)
            XCTAssertEqual(dry.status, 0, dry.all)
            XCTAssertEqual(files(p), before.0, name)
            XCTAssertEqual(files(s), before.1, name)
            XCTAssertEqual(try database(p), before.2, name)
            XCTAssertEqual(try database(s), before.3, name)
            XCTAssertFalse(dry.all.contains("s3cret"), dry.all)
            XCTAssertEqual(claims(dry), [], name)
            guard real else { return dry }
            let shown = try diffs(dry).diffs.filter { $0.value.hasPrefix("--- ") }.mapValues(normalized)
            let r = try polarrun(["--log-file", logFile, "--json", Repo.runbooks + "/\(name).lua"] + args, env: c.env, timeout: 180)
            XCTAssertEqual(r.status, 0, r.all)
            let after = files(p).merging(files(s)) { a, _ in a }, was = before.0.merging(before.1) { a, _ in a }
            for (path, diff) in shown {
                XCTAssertEqual(diff, normalized(UnifiedDiff.diff(was[path], after[path], path: path)), "\(name) \(path):\n\(dry.all)")
            }
            return dry
        }
        // the standby's socket is outside its data directory (pg_rewind needs that): a remote target, pg_promote()
        let target = ["target_host=\(s.socketDir)", "port=\(s.port)"]
        // old_primary=rejoin: the rejoin is listed, not run
        let rejoin = try dryThenReal("ha_switch", ["old_primary=rejoin", "primary_pgdata=\(p.pgdata)", "target_password=Tg-s3cret'x"] + target,
                                     on: s, real: false)
        XCTAssertTrue(rejoin.stdout.contains("run ha_rejoin: make the old primary \(p.pgdata) a standby of"), rejoin.stdout)
        XCTAssertTrue(rejoin.stdout.contains("select pg_promote(true, $1) as ok"), rejoin.stdout)
        // old_primary=stop, then ha_rejoin of the old primary onto the promoted standby
        try dryThenReal("ha_switch", ["old_primary=stop", "primary_pgdata=\(p.pgdata)"] + target, on: s)
        XCTAssertEqual(try topo.inRecovery(s), false)
        XCTAssertFalse(p.isRunning)
        let j = try dryThenReal("ha_rejoin", ["pgdata=\(p.pgdata)", "port=\(p.port)", "primary_host=\(s.socketDir)",
                                              "primary_port=\(s.port)", "slot_name=standby_pc_42_old", "primary_password=Rj-s3cret'pw"], on: p)
        XCTAssertFalse(j.stdout.contains("Rj-s3cret"))
        XCTAssertEqual(try topo.inRecovery(p), true, "the real rejoin made it a standby")
    }

    // MARK: the two examples of issue 12

    /// lock_disk_full on an instance that was never prepared: the include file a later step
    /// overwrites in place exists only in the dry run's overlay, and that is enough.
    func testLockDiskFullOnAnUnpreparedInstance() throws {
        let c = try PGCluster.started(self)
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.pgdata + "/polarrun_diskfull.conf"))
        let (dry, doc) = try dryThenReal("lock_disk_full", ["reserve_mb=0"], c)
        XCTAssertEqual(doc["locked"] as? Bool, false)
        XCTAssertEqual(doc["would_lock"] as? Bool, true)
        XCTAssertTrue(dry.stderr.contains("would run SQL: select pg_reload_conf()"), dry.stderr)
        XCTAssertTrue(dry.stderr.contains("would run SQL: alter role \"postgres\" set default_transaction_read_only = off"), dry.stderr)
        XCTAssertFalse(dry.stderr.contains("lock is ON\n"), dry.stderr)
        XCTAssertTrue(read(c.pgdata + "/polarrun_diskfull.conf").contains("default_transaction_read_only = on"), "the real run locked it")
        // and back: unlock_disk_full, dry then real
        try dryThenReal("unlock_disk_full", ["reserve_mb=0"], c)
        XCTAssertFalse(read(c.pgdata + "/polarrun_diskfull.conf").contains("default_transaction_read_only = on"))
        // prepared now: the lock only overwrites the include file in place
        let (again, _) = try dryThenReal("lock_disk_full", ["reserve_mb=0"], c)
        XCTAssertTrue(again.stdout.contains("+default_transaction_read_only = on"), again.stdout)
    }

    /// refresh_params says what it would do; nothing is reported applied or reloaded.
    func testRefreshParamsSaysWouldNotApplied() throws {
        let c = try PGCluster.started(self)
        let (dry, doc) = try dryThenReal("refresh_params", [#"params={"work_mem":"16MB"}"#], c)
        XCTAssertFalse(dry.stderr.contains("configuration reloaded"), dry.stderr)
        XCTAssertFalse(dry.all.contains(": applied"), dry.all)
        XCTAssertTrue(dry.stderr.contains("would"), dry.stderr)
        XCTAssertEqual((doc["would_summary"] as? [String: Any])?["files"] as? Int, 1, dry.stdout)
        XCTAssertEqual(try c.value("show work_mem"), "16MB", "the real run applied it")
    }

    // MARK: every other mutating runbook on one instance

    func testUserRunbooks() throws {
        let c = try PGCluster.started(self)
        let (dry, _) = try dryThenReal("create_user", ["user=app", "password=app-pw-secret", "privilege=1"], c)
        XCTAssertFalse(dry.all.contains("app-pw-secret"), "the password is masked in the listing: \(dry.all)")
        XCTAssertTrue(dry.stderr.contains("would run SQL: CREATE ROLE \"app\""), dry.stderr)
        XCTAssertTrue(dry.stderr.contains("role \"app\" would be created"), dry.stderr)
        XCTAssertFalse(read(logFile).contains("app-pw-secret"))
        try dryThenReal("modify_user", ["user=app", "password=other-pw-secret", "privilege=7"], c)
        try dryThenReal("delete_user", ["user=app"], c)
        // bad input in a dry run: exit 2 with the error, and no report of a run that did not happen
        let bad = try rb("create_user", ["user=app", "privilege=99"], c, dry: true, json: false)
        XCTAssertEqual(bad.status, 2, bad.all)
        XCTAssertFalse(bad.all.contains("dry run:"), bad.all)
        XCTAssertEqual(try c.value("select count(*) from pg_roles where rolname = 'app'"), "0")
    }

    func testReplicationSlotsAndWAL() throws {
        let c = try PGCluster.started(self)
        try dryThenReal("create_replication", ["kind=standby", "custins_id=pc7", "slot_unique_name=sb-2"], c)
        XCTAssertEqual(try c.value("select count(*) from pg_replication_slots"), "1")
        try dryThenReal("remove_replication", ["kind=standby", "custins_id=pc7", "slot_unique_name=sb-2"], c)
        XCTAssertEqual(try c.value("select count(*) from pg_replication_slots"), "0")
        let (dry, _) = try dryThenReal("generate_new_wal", [], c)
        XCTAssertTrue(dry.stderr.contains("would run SQL: select pg_switch_wal()"), dry.stderr)
    }

    func testTablespace() throws {
        let c = try PGCluster.started(self)
        let dir = try makeTempDir(self) + "/ts1"
        let (dry, _) = try dryThenReal("create_tablespace", ["name=ts1", "path=\(dir)"], c)
        XCTAssertTrue(dry.stderr.contains("would run SQL: create tablespace"), dry.stderr)
        XCTAssertEqual(try c.value("select count(*) from pg_tablespace where spcname = 'ts1'"), "1")
    }

    /// pg_ctl is simulated: a dry stop leaves the server up and says it would stop it.
    func testStopStartRestartLockAndUnlock() throws {
        let c = try PGCluster.started(self)
        let (stop, _) = try dryThenReal("stop", ["mode=fast"], c)
        XCTAssertTrue(stop.stderr.contains("would stop the instance"), stop.stderr)
        XCTAssertFalse(c.isRunning)
        try dryThenReal("start", [], c)
        XCTAssertTrue(c.isRunning)
        try dryThenReal("restart", ["mode=fast"], c)
        XCTAssertTrue(c.isRunning)
        try dryThenReal("lock_expired", [], c)
        XCTAssertFalse(c.isRunning)
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.pgdata + "/ins_lock"))
        try dryThenReal("unlock_expired", [], c)
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.pgdata + "/ins_lock"))
    }

    /// ssl: the key a dry run would write is not shown (it is a secret), only its size.
    func testSSLKeyIsNotShown() throws {
        let c = try PGCluster.started(self)
        let tmp = try makeTempDir(self)
        XCTAssertEqual(try command(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=polarrun-test", "-days", "2",
                                    "-keyout", tmp + "/k.pem", "-out", tmp + "/c.pem"]).status, 0)
        let key = read(tmp + "/k.pem")
        let filesBefore = files(c), dbBefore = try database(c)
        let dry = try rb("ssl", ["enable=true", "ssl_cert=\(read(tmp + "/c.pem"))", "ssl_key=\(key)"], c, dry: true, json: false)
        XCTAssertEqual(dry.status, 0, dry.all)
        XCTAssertEqual(files(c), filesBefore)
        XCTAssertEqual(try database(c), dbBefore)
        let keyLine = key.split(separator: "\n")[1]
        XCTAssertFalse(dry.all.contains(keyLine), "a line of the private key is shown:\n\(dry.all)")
        XCTAssertTrue(dry.stdout.contains("server.key: not shown, it holds a secret"), dry.stdout)
        XCTAssertEqual(claims(dry), [])
        XCTAssertTrue(dry.stdout.contains("+ssl = on"), dry.stdout)
    }
}
