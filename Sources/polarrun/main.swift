import ArgumentParser
import Foundation
import Logging
import PolarRun

/// The command line: `polarrun [options] RUNBOOK [key=value ...]`.
struct PolarRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polarrun",
        abstract: "Run a Lua runbook that builds or operates PolarDB for PostgreSQL.",
        discussion: """
        A runbook is a path, or a name found in POLARRUN_PATH (colon-separated directories) \
        and then in the bundled runbooks. Inputs are given as key=value after the runbook; \
        `--describe RUNBOOK` lists the inputs a runbook takes.

        Exit status: 0 success, 1 the runbook failed, 2 bad usage or invalid inputs \
        (nothing was changed), 124 the --timeout passed, 128+N stopped by signal N.

        Environment: POLARRUN_PATH (runbook directories), POLARRUN_RUNBOOKS (the bundled \
        runbooks), PGDATA/PGHOST/PGPORT (the instance; default the socket in /data), \
        POLARRUN_PG_BIN (engine programs), POLARRUN_DB_USER (database OS user, default \
        postgres), POLARRUN_DOCKER and DOCKER_HOST (image builds), POLARRUN_LOG_MAX_BYTES \
        and POLARRUN_LOG_KEEP (manager log rotation, 10 MiB x 15).

        Documentation: docs/runbooks.md (writing runbooks), docs/primitives.md (the Lua \
        API), docs/operations.md, docs/build.md, docs/stack.md.

        Examples:
          polarrun --list
          polarrun build.lua --dry-run
          polarrun build.lua image_file=./image.yml push=false
          polarrun health_check --json pgdata=/data port=5432
          polarrun create_user user=app password=secret privilege=1
          polarrun --timeout 30 my_runbook.lua key=value
        """,
        version: Host.version
    )

    @Flag(name: .long, help: "List the runbooks on the search path with their first comment line.")
    var list = false

    @Flag(name: .long, help: "Describe the inputs RUNBOOK takes, without running it.")
    var describe = false

    @Flag(name: .long, help: "Print the runbook's return value as one JSON document on stdout.")
    var json = false

    @Flag(name: .long, help: "Say what would be done without changing anything.")
    var dryRun = false

    @Option(name: .long, help: "Stop the runbook after this many seconds (exit status 124).")
    var timeout: Double?

    @Option(name: .long, help: "The manager log file (default: /log/manager.log when /log exists).")
    var logFile: String?

    @Flag(name: .long, help: "Also show debug events (SQL statements, commands) on the console.")
    var verbose = false

    @Flag(name: .long, help: "Show only warnings and errors on the console.")
    var quiet = false

    @Flag(name: .long, help: "Write log lines to stdout instead of stderr (PolarDB Stack reads stdout).")
    var logStdout = false

    @Argument(help: "The runbook to run (a path or a name).")
    var runbook: String?

    @Argument(help: "Inputs for the runbook, as key=value.")
    var inputs: [String] = []

    mutating func validate() throws {
        if let t = timeout, !(t > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        if !list && runbook == nil { throw ValidationError("name a runbook to run (or use --list)") }
        for a in inputs {
            guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
                throw ValidationError("input '\(a)' is not key=value")
            }
            let key = a[..<eq]
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
                throw ValidationError("input name '\(key)' may only contain letters, digits, '_', '-' and '.'")
            }
        }
    }

    func run() throws {
        var options = RunOptions()
        var seen = Set<String>()
        for a in inputs {
            let eq = a.firstIndex(of: "=")!
            let key = String(a[..<eq])
            guard seen.insert(key).inserted else { throw ValidationError("input '\(key)' is given twice") }
            options.params[key] = String(a[a.index(after: eq)...])
        }
        options.json = json
        options.timeout = timeout
        options.logFile = logFile
        options.dryRun = dryRun
        options.describeOnly = describe
        options.logToStdout = logStdout
        options.consoleLevel = verbose ? .debug : quiet ? .warning : .info

        if list {
            let path = SearchPath(environment: options.environment)
            for rb in path.list() {
                print(rb.name.padding(toLength: max(24, rb.name.count + 2), withPad: " ", startingAt: 0) + rb.summary)
            }
            return
        }
        let outcome: RunOutcome
        do {
            let runtime = try Runtime(options: options)
            let rb = try runtime.searchPath.resolve(runbook!)
            outcome = runtime.run(rb)
            if let f = outcome.failure {
                var text = "polarrun: \(f.message)\n"
                // a traceback helps with a runbook's own bug (a Lua error); a failure a primitive
                // reported (SQL, process, lock …) already names its line, so it gets one on --verbose
                if !f.traceback.isEmpty && (verbose || (f.kind == "runtime" && !logStdout)) { text += f.traceback + "\n" }
                FileHandle.standardError.write(Data(text.utf8))
            } else if describe, case .string(let s) = outcome.result {
                print(s)
            } else if json {
                let text = try JSON.encode(outcome.result, pretty: true)
                print(runtime.secrets.mask(text))
            }
        } catch let e as HostError {
            FileHandle.standardError.write(Data("polarrun: \(e.message)\n".utf8))
            throw ExitCode(e.kind == "usage" ? 2 : 1)
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }
}

/// ArgumentParser exits 64 for usage errors; polarrun promises 2.
Host.installSignalHandlers()

/// Invoked as `python SCRIPT` (a `python` symlink to polarrun in the manager image, so that
/// PolarDB Stack's `python /docker_script/entry_point.py` reaches polarrun unchanged): run
/// SCRIPT as a runbook with log lines on stdout, as the Stack expects.
func commandLineArguments() -> [String] {
    var args = Array(CommandLine.arguments.dropFirst())
    let name = (CommandLine.arguments.first ?? "").split(separator: "/").last.map(String.init) ?? ""
    if name.hasPrefix("python"), let script = args.first, !script.hasPrefix("-") {
        args = ["--log-stdout", script] + args.dropFirst()
    }
    return args
}

do {
    var command = try PolarRunCommand.parseAsRoot(commandLineArguments())
    try command.run()
} catch let e as ExitCode {
    exit(e.rawValue)
} catch {
    let code = PolarRunCommand.exitCode(for: error)
    if code == .success {
        PolarRunCommand.exit(withError: error)
    }
    FileHandle.standardError.write(Data((PolarRunCommand.fullMessage(for: error) + "\n").utf8))
    exit(code == .validationFailure ? 2 : code.rawValue)
}
