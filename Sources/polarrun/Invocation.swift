#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import PolarRun

/// One run of the command line, as plain values: what `PolarRunCommand` parses, and what
/// `fast(_:)` builds directly for the common case.
struct Invocation {
    var list = false
    var describe = false
    var json = false
    var dryRun = false
    var timeout: Double? = nil
    /// --memory-limit MiB (overrides POLARRUN_MEMORY_LIMIT).
    var memoryLimit: String? = nil
    var logFile: String? = nil
    var verbose = false
    var quiet = false
    var logStdout = false
    var runbook: String? = nil
    var inputs: [String] = []
    /// --stubs DIR / --docs FILE: generate from the declarations instead of running a runbook.
    var stubs: String? = nil
    var docs: [String] = []

    var generates: Bool { stubs != nil || !docs.isEmpty }

    struct UsageError: Error { let message: String }

    /// Parses `[flags] RUNBOOK [key=value | flags ...]` without ArgumentParser, whose first
    /// parse costs about 3 ms of protocol-conformance scans (callgrind: a third of a trivial
    /// run). Only flags that `PolarRunCommand` defines are accepted; anything else (`--help`,
    /// `--version`, `--list`, `--`, an unknown flag) returns nil and goes through ArgumentParser,
    /// which stays the one definition users see.
    static func fast(_ args: [String]) -> Invocation? {
        var inv = Invocation()
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("-") {
                switch a {
                case "--json": inv.json = true
                case "--dry-run": inv.dryRun = true
                case "--verbose": inv.verbose = true
                case "--quiet": inv.quiet = true
                case "--log-stdout": inv.logStdout = true
                case "--describe": inv.describe = true
                case "--timeout", "--log-file", "--memory-limit":
                    guard i + 1 < args.count else { return nil }
                    i += 1
                    if a == "--timeout" {
                        guard let t = Double(args[i]) else { return nil }
                        inv.timeout = t
                    } else if a == "--memory-limit" {
                        inv.memoryLimit = args[i]
                    } else {
                        inv.logFile = args[i]
                    }
                default:
                    if a.hasPrefix("--timeout="), let t = Double(a.dropFirst(10)) { inv.timeout = t }
                    else if a.hasPrefix("--memory-limit=") { inv.memoryLimit = String(a.dropFirst(15)) }
                    else if a.hasPrefix("--log-file="), a.count > 11 { inv.logFile = String(a.dropFirst(11)) }
                    else { return nil }
                }
            } else if inv.runbook == nil {
                inv.runbook = a
            } else {
                inv.inputs.append(a)
            }
            i += 1
        }
        return inv.runbook == nil ? nil : inv
    }

    func validate() throws {
        if let t = timeout, !(t > 0) { throw UsageError(message: "--timeout must be a positive number of seconds") }
        if generates {
            guard runbook == nil && !list && !describe && !dryRun && !json else {
                throw UsageError(message: "--stubs and --docs write generated files and run nothing: give them without a runbook, --list, --describe, --dry-run or --json")
            }
            return
        }
        if !list && runbook == nil { throw UsageError(message: "name a runbook to run (or use --list)") }
        var probe = RunOptions()
        do {
            try Limits.apply(environment: probe.environment, to: &probe)
            if let m = memoryLimit { _ = try Limits.memoryLimit(mebibytes: m, source: "--memory-limit") }
        } catch let e as Limits.Invalid { throw UsageError(message: e.message) }
        var seen = Set<Substring>()
        for a in inputs {
            guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
                throw UsageError(message: "input '\(a)' is not key=value")
            }
            let key = a[..<eq]
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
                throw UsageError(message: "input name '\(key)' may only contain letters, digits, '_', '-' and '.'")
            }
            guard seen.insert(key).inserted else { throw UsageError(message: "input '\(key)' is given twice") }
        }
    }

    /// Runs it (after `validate`); returns the exit status.
    func execute() throws -> Int32 {
        if generates { return generate() }
        var options = RunOptions()
        for a in inputs {
            let eq = a.firstIndex(of: "=")!
            options.params[String(a[..<eq])] = String(a[a.index(after: eq)...])
        }
        options.json = json
        options.timeout = timeout
        options.logFile = logFile
        options.dryRun = dryRun
        options.describeOnly = describe
        options.logToStdout = logStdout
        options.consoleLevel = verbose ? .debug : quiet ? .warning : .info
        try Limits.apply(environment: options.environment, to: &options)
        if let m = memoryLimit { options.memoryLimit = try Limits.memoryLimit(mebibytes: m, source: "--memory-limit") }
        Limits.watchSignals(environment: options.environment)

        if list {
            let path = SearchPath(environment: options.environment)
            let found = path.list()
            if found.isEmpty {
                Stdio.err("polarrun: no runbooks found; \(path.whereLooked). \(SearchPath.howToSet)\n")
                return 1
            }
            for rb in found {
                print(rb.name.padded(to: max(24, rb.name.count + 2)) + rb.summary)
            }
            return 0
        }
        do {
            // the runbook first: its text says whether to start loading libpq alongside the Lua state
            let rb = try SearchPath(environment: options.environment).resolve(runbook!)
            rb.prefetchLibraries()
            let runtime = try Runtime(options: options)
            var outcome = runtime.finish(runtime.run(rb))
            // a run refused before it recorded anything (bad inputs: exit 2) gets no report
            if let recorder = runtime.recorder, !describe, outcome.failure == nil || !recorder.isEmpty {
                // the dry run's report: in the --json document, else after the run on stdout
                // (stderr when the run failed, beside the error)
                if json && outcome.failure == nil {
                    outcome.result = DryRunReport.merge(recorder, into: outcome.result)
                } else {
                    runtime.sink.console(runtime.secrets.mask(recorder.report()), toStdout: outcome.failure == nil)
                }
                runtime.sink.emit(level: .info, where: rb.name, message: recorder.summary(files: recorder.fileChanges().count), console: false)
            }
            if let f = outcome.failure {
                var text = "polarrun: \(f.message)\n"
                // a traceback helps with a runbook's own bug (a Lua error); a failure a primitive
                // reported (SQL, process, lock …) already names its line, so it gets one on --verbose
                if !f.traceback.isEmpty && (verbose || (f.kind == "runtime" && !logStdout)) { text += f.traceback + "\n" }
                Stdio.err(text)
            } else if describe, case .string(let s) = outcome.result {
                print(s)
            } else if json {
                print(runtime.secrets.mask(try JSON.encode(outcome.result, pretty: true)))
            }
            return outcome.exitCode
        } catch let e as HostError {
            Stdio.err("polarrun: \(e.message)\n")
            return e.kind == "usage" ? 2 : 1
        }
    }

    /// --stubs / --docs: every target is checked first; a bad one is exit 2 with nothing written.
    private func generate() -> Int32 {
        do {
            for line in try GeneratedFiles.write(stubsDir: stubs, docs: docs) { print(line) }
            return 0
        } catch let e as HostError {
            Stdio.err("polarrun: \(e.message)\n")
            return e.kind == "usage" ? 2 : 1
        } catch {
            Stdio.err("polarrun: \(error)\n")
            return 1
        }
    }
}
