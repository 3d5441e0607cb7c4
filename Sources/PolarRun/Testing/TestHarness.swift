import CLua
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import Logging
import LuaShim

/// `polarrun test [FILE|DIR ...]`: runs `*_test.lua` files, each in a fresh Lua state with the
/// whole runbook API, against one throwaway PostgreSQL cluster per run (see TestCluster).
public struct TestHarness {
    public var paths: [String] = []
    public var pgBin: String? = nil
    public var useCluster = true
    public var verbose = false
    public var environment = processEnvironment()
    /// Where lines go (stdout in the CLI; tests capture it).
    public var out: (String) -> Void = { print($0); fflush(stdout) }

    public init() {}

    final class Tally {
        var passed = 0, failed = 0
        /// Files that did not load (or broke the harness), each printed as an ERROR line when met.
        var broken: [String] = [] { didSet { if let b = broken.last { out("ERROR \(b)") } } }
        let out: (String) -> Void
        init(out: @escaping (String) -> Void) { self.out = out }
    }

    /// The `*_test.lua` files named or found (recursively, sorted) under the paths.
    public static func findFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        for p in paths {
            var isDir = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw HostError.usage("no such file or directory: \(p)") }
            if !isDir { files.append(p); continue }
            let found = ((try? fm.subpathsOfDirectory(atPath: p)) ?? []).filter { $0.hasSuffix("_test.lua") }.sorted()
            files += found.map { p.appendingPathComponent($0) }
        }
        return files
    }

    /// Runs everything; returns the exit status (0 all passed, 1 a case failed, 2 bad usage
    /// or a file that does not load).
    public func run() -> Int32 {
        let files: [String]
        do { files = try TestHarness.findFiles(paths.isEmpty ? ["."] : paths) } catch {
            Stdio.err("polarrun test: \(error)\n"); return 2
        }
        if files.isEmpty {
            Stdio.err("polarrun test: no *_test.lua files in \((paths.isEmpty ? ["."] : paths).joined(separator: ", ")) (a test file is named NAME_test.lua)\n")
            return 2
        }
        var cluster: TestCluster? = nil
        if useCluster {
            guard let bin = TestCluster.binDirectory(option: pgBin, environment: environment) else {
                Stdio.err("polarrun test: no PostgreSQL binaries (set --pg-bin or POLARRUN_TEST_PG_BIN, or use --no-cluster)\n")
                return 2
            }
            do { cluster = try TestCluster(bin: bin) } catch {
                Stdio.err("polarrun test: \(error)\n"); return 2
            }
            if verbose { out("# cluster \(cluster!.pgdata) port \(cluster!.port) (\(bin))") }
        }
        // removed on every way out; a SIGINT/SIGTERM is recorded (Host.installSignalHandlers),
        // ends the running case and stops the run here
        defer { cluster?.remove() }
        let tally = Tally(out: out)
        for f in files {
            if sl_signal_received() != 0 { break }
            runFile(f, cluster: cluster, tally: tally)
        }
        out("\(tally.passed) passed, \(tally.failed) failed")
        if sl_signal_received() != 0 { return 128 + sl_signal_received() }
        return !tally.broken.isEmpty ? 2 : tally.failed > 0 ? 1 : 0
    }

    private func runFile(_ path: String, cluster: TestCluster?, tally: Tally) {
        var options = RunOptions()
        options.environment = environment
        for (k, v) in cluster?.environment ?? [:] { options.environment[k] = v }
        options.consoleLevel = verbose ? .info : .warning
        options.logFile = cluster.map { $0.root + "/manager.log" }
        let rb: Runbook
        let runtime: Runtime
        do {
            rb = try Runbook(path: path)
            runtime = try Runtime(options: options)
        } catch {
            tally.broken.append("\(path): \(error)"); return
        }
        var counts = (0, 0)
        let out = self.out
        runtime.lua.setGlobal("_test_report") { call in
            let name = (try? call.string(1, "name")) ?? "?"
            if case .bool(true) = call[2] {
                counts.0 += 1
                out("ok   \(name)")
            } else {
                counts.1 += 1
                out("FAIL \(name) — \((try? call.optString(3, "message")) ?? nil ?? "error")")
            }
            // a SIGINT/SIGTERM stops the run after this case
            if sl_signal_received() != 0 { throw HostError("terminated", "polarrun test interrupted") }
            return []
        }
        runtime.lua.setGlobal("_test_swap_env") { [unowned runtime] call in
            let vars = try call.table(1, "variables")
            var old: [String: LuaValue] = [:]
            for (k, v) in vars.fields {
                guard case .string(let name) = k else { throw HostError.usage("with_env: variable names are strings") }
                old[name] = runtime.options.environment[name].map { .string($0) } ?? .bool(false)
                switch v {
                case .string(let s): runtime.options.environment[name] = s
                case .bool(false): runtime.options.environment[name] = nil
                default: throw HostError.usage("with_env: \(name) must be a string or false")
                }
            }
            return [.table(LuaTable(old))]
        }
        if let c = cluster {
            runtime.lua.setGlobal("_test_cluster", value: .table(LuaTable([
                "pgdata": .string(c.pgdata), "host": .string(c.pgdata), "port": .int(Int64(c.port)),
                "bin": .string(c.bin), "user": .string("postgres")])))
        }
        do {
            _ = try runtime.lua.call(try runtime.lua.load(source: testPrelude, chunkName: "=test"))
        } catch {
            tally.broken.append("\(path): \(error)"); return
        }
        // the file itself runs as a runbook (require finds lib/ next to it); it registers cases
        let loaded = runtime.run(rb)
        if let f = loaded.failure {
            tally.broken.append("\(path) does not load: \(f.message)")
            _ = runtime.finish(loaded)
            return
        }
        out("# \(path)")
        do {
            guard case .function(let runCases) = try runtime.lua.global("_test_run_cases") else {
                throw HostError.usage("the file replaced _test_run_cases")
            }
            _ = try runtime.lua.call(runCases)
        } catch {
            // an interrupt ends the file on purpose (the run's exit status says so)
            if sl_signal_received() == 0 { tally.broken.append("\(path): \(error)") }
        }
        _ = runtime.finish(loaded)
        tally.passed += counts.0
        tally.failed += counts.1
    }
}
