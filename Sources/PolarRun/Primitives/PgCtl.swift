#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// pg_ctl(action, opts) and pg_bin(name): the engine's own tools, run as the database OS user.
extension Runtime {
    func installPgCtl() {
        lua.define(API.PgCtl.bin) { [unowned self] call in
            let name = try call.string(1, "program")
            let o = Options(try call.optTable(2, "options"), context: call.name)
            return [.string(try self.pgBinary(name, bindir: try o.string("bindir")))]
        }
        lua.define(API.PgCtl.call) { [unowned self] call in
            let action = try call.string(1, "action")
            let o = Options(try call.optTable(2, "options"), context: call.name)
            return [try self.pgCtl(action, o)]
        }
    }

    /// The database OS user: `opts.user`, `POLARRUN_DB_USER`, or `postgres` when running as root.
    func dbUser(_ given: String?) -> String? {
        if let u = given, !u.isEmpty { return u }
        if let u = options.environment["POLARRUN_DB_USER"], !u.isEmpty { return u }
        return getuid() == 0 ? PodDefaults.dbUser : nil
    }

    /// Finds an engine program: `bindir`, `POLARRUN_PG_BIN`, `/u01/polardb_pg/bin`, PATH, then
    /// the newest `/usr/lib/postgresql/*/bin`.
    func pgBinary(_ name: String, bindir: String?) throws -> String {
        guard !name.contains("/") else { throw HostError.usage("pg_ctl.bin: give a program name, not a path") }
        var dirs: [String] = []
        if let b = bindir { dirs.append(b) }
        if let b = options.environment["POLARRUN_PG_BIN"], !b.isEmpty { dirs.append(b) }
        if bindir != nil || !dirs.isEmpty {
            for d in dirs { if let p = Subprocess.resolve("\(d)/\(name)", path: nil) { return p } }
            throw HostError.usage("\(name) not found in \(dirs.joined(separator: ", "))")
        }
        dirs.append(PodDefaults.engineBin)
        for d in dirs { if let p = Subprocess.resolve("\(d)/\(name)", path: nil) { return p } }
        if let p = Subprocess.resolve(name, path: options.environment["PATH"]) { return p }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for v in versions { if let p = Subprocess.resolve("/usr/lib/postgresql/\(v)/bin/\(name)", path: nil) { return p } }
        throw HostError.usage("\(name) not found: set bindir, POLARRUN_PG_BIN or PATH")
    }

    func pgCtl(_ action: String, _ o: Options) throws -> LuaValue {
        let pgdata = try o.string("pgdata") ?? PodDefaults.pgdata(options.environment)
        let exe = try pgBinary("pg_ctl", bindir: try o.string("bindir"))
        let user = dbUser(try o.string("user"))
        let timeout = try o.int("timeout") ?? 60
        guard timeout > 0 else { throw HostError.usage("pg_ctl: timeout must be a positive number of seconds") }
        let mode = try o.string("mode") ?? "fast"
        guard ["smart", "fast", "immediate"].contains(mode) else {
            throw HostError.usage("pg_ctl: mode must be smart, fast or immediate, got '\(mode)'")
        }
        func spec(_ args: [String]) -> ProcessSpec {
            var s = ProcessSpec([exe] + args)
            s.user = user
            s.environment = childEnvironment.filter { !$0.key.hasPrefix("PG") }
            s.cwd = "/"
            s.timeout = Double(timeout + 10)
            return s
        }
        let status = try runProcess(spec(["status", "-D", pgdata]), check: false, readonly: true, quiet: true)
        let simulated = recorder?.instances[FileView.normalize(pgdata)]
        let running = simulated ?? (status.status == 0)
        let pid = status.stdout.firstRange(of: #/PID: (\d+)/#)
            .map { Int64(status.stdout[$0].dropFirst(5)) ?? 0 } ?? 0
        if action == "status" {
            if simulated == nil && (status.status == 4 || status.stderr.contains("is not a database cluster directory")) {
                throw HostError.usage("pg_ctl: \(pgdata) is not a database cluster directory")
            }
            if let simulated {
                return .record(["running": .bool(simulated), "pid": simulated ? .int(pid) : .nil, "dry_run": true,
                                "output": .string("dry run: the instance would be \(simulated ? "running" : "stopped")")])
            }
            return .record(["running": .bool(running), "pid": running ? .int(pid) : .nil,
                            "output": .string(status.stdout + status.stderr)])
        }
        var args: [String]
        switch action {
        case "start":
            if running { log(.info, "pg_ctl start: already running (pid \(pid))"); return .record(["changed": false, "running": true]) }
            args = ["start", "-D", pgdata, "-t", String(timeout)]
            if try o.bool("wait") ?? true { args.append("-w") } else { args.append("-W") }
            if let l = try o.string("logfile") { args += ["-l", l] }
            if let opts = try o.string("options") { args += ["-o", opts] }
        case "stop", "restart":
            if action == "stop" && !running { log(.info, "pg_ctl stop: not running"); return .record(["changed": false, "running": false]) }
            // stop {wait=false}: signal and return (pg_ctl -W); the caller waits its own way
            let waitOption = try o.bool("wait") ?? true
            let wait = action == "restart" || waitOption
            args = [action, "-D", pgdata, "-m", mode, "-t", String(timeout), wait ? "-w" : "-W"]
            if action == "restart" {
                if let l = try o.string("logfile") { args += ["-l", l] }
                if let opts = try o.string("options") { args += ["-o", opts] }
            }
        case "reload":
            guard running else { throw HostError("process", "pg_ctl reload: the instance in \(pgdata) is not running") }
            args = ["reload", "-D", pgdata]
        default: // promote
            guard running else { throw HostError("process", "pg_ctl promote: the instance in \(pgdata) is not running") }
            args = ["promote", "-D", pgdata, "-t", String(timeout), "-w"]
        }
        if let recorder {
            // not run: later calls see the state it would leave (see `DryRun.instances`)
            let after = action == "stop" ? false : true
            log(.info, "[dry-run] would \(action) the instance in \(pgdata)")
            recorder.action("pg_ctl \(action) the instance in \(pgdata)")
            recorder.instances[FileView.normalize(pgdata)] = after
            return .record(["changed": true, "running": .bool(after), "dry_run": true,
                            "output": .string("dry run: pg_ctl \(args.map(shellQuote).joined(separator: " ")) not run")])
        }
        let r = try runProcess(spec(args))
        let after = try runProcess(spec(["status", "-D", pgdata]), check: false, readonly: true, quiet: true)
        return .record(["changed": true, "running": .bool(after.status == 0), "output": .string(r.stdout + r.stderr)])
    }
}
