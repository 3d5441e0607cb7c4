import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
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
        and POLARRUN_LOG_KEEP (manager log rotation, 10 MiB x 15), POLARRUN_PROGRESS \
        (0/1: live progress lines of image builds; default on when stdout and stderr are terminals), \
        POLARRUN_MEMORY_LIMIT (MiB, default 512) and POLARRUN_MAX_CALL_DEPTH (default 16): see \
        "Limits" in docs/runbooks.md.

        Documentation: docs/runbooks.md (writing runbooks), docs/primitives.md (the Lua \
        API), docs/operations.md, docs/build.md, docs/stack.md.

        Examples:
          polarrun --list
          polarrun test runbooks/          (run *_test.lua runbook tests; polarrun test --help)
          polarrun build.lua --dry-run
          polarrun build.lua image_file=./image.yml push=false
          polarrun health_check --json pgdata=/data port=5432
          polarrun create_user user=app password=secret privilege=1
          polarrun --timeout 30 my_runbook.lua key=value
          polarrun --docs docs/primitives.md --docs .luacheckrc --stubs runbooks/.types
                                           (refresh the generated API reference, luacheck globals, editor stubs)
        """,
        version: Host.version
    )

    @Flag(name: .long, help: "List the runbooks on the search path with their first comment line.")
    var list = false

    @Flag(name: .long, help: "Describe the inputs RUNBOOK takes, without running it.")
    var describe = false

    @Flag(name: .long, help: "Print the runbook's return value as one JSON document on stdout.")
    var json = false

    @Flag(name: .long, help: "Run every read, record every write: show file diffs, the SQL and actions that would run (docs/dry-run.md).")
    var dryRun = false

    @Option(name: .long, help: "Stop the runbook after this many seconds (exit status 124).")
    var timeout: Double?

    @Option(name: .long, help: "Cap Lua's memory at this many MiB (default 512, or POLARRUN_MEMORY_LIMIT; 0: no cap). Past it the run fails (exit 1).")
    var memoryLimit: String?

    @Option(name: .long, help: "The manager log file (default: /log/manager.log when /log exists).")
    var logFile: String?

    @Flag(name: .long, help: "Also show debug events (SQL statements, commands) on the console.")
    var verbose = false

    @Flag(name: .long, help: "Show only warnings and errors on the console.")
    var quiet = false

    @Flag(name: .long, help: "Write log lines to stdout instead of stderr (PolarDB Stack reads stdout).")
    var logStdout = false

    @Option(name: .long, help: ArgumentHelp("Write DIR/polarrun.lua, the LuaLS definition file of the runbook API (editor completion), and run nothing.", valueName: "DIR"))
    var stubs: String?

    @Option(name: .long, help: ArgumentHelp("Regenerate the marked generated blocks of FILE (docs/primitives.md, .luacheckrc) from the primitives' declarations, and run nothing. May be given more than once.", valueName: "FILE"))
    var docs: [String] = []

    @Argument(help: "The runbook to run (a path or a name).")
    var runbook: String?

    @Argument(help: "Inputs for the runbook, as key=value.")
    var inputs: [String] = []

    /// The parsed command line as plain values (the fast path builds the same).
    var invocation: Invocation {
        Invocation(list: list, describe: describe, json: json, dryRun: dryRun, timeout: timeout, memoryLimit: memoryLimit, logFile: logFile,
                   verbose: verbose, quiet: quiet, logStdout: logStdout, runbook: runbook, inputs: inputs, stubs: stubs, docs: docs)
    }

    mutating func validate() throws {
        do { try invocation.validate() } catch let e as Invocation.UsageError { throw ValidationError(e.message) }
    }

    func run() throws {
        let code = try invocation.execute()
        if code != 0 { throw ExitCode(code) }
    }
}

Host.installSignalHandlers()

/// Invoked as `python SCRIPT` (a `python` symlink to polarrun in the manager image, so that
/// PolarDB Stack's `python /docker_script/entry_point.py` reaches polarrun unchanged): run
/// SCRIPT as a runbook with log lines on stdout, as the Stack expects.
func commandLineArguments() -> [String] {
    // CommandLine.arguments replaces invalid UTF-8 with U+FFFD, so distinct role names would
    // collide: such an argument is refused instead (exit 2, nothing done)
    for i in 1..<Int(CommandLine.argc) {
        guard let p = CommandLine.unsafeArgv[i], String(validatingCString: p) == nil else { continue }
        let shown = String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)), as: UTF8.self)
        Stdio.err("polarrun: argument \(i) is not valid UTF-8: \(shown.prefix(80))\n")
        exit(2)
    }
    var args = Array(CommandLine.arguments.dropFirst())
    let name = (CommandLine.arguments.first ?? "").split(separator: "/").last.map(String.init) ?? ""
    if name.hasPrefix("python"), let script = args.first, !script.hasPrefix("-") {
        args = ["--log-stdout", script] + args.dropFirst()
    }
    return args
}

do {
    let args = commandLineArguments()
    // `polarrun test ...` is the runbook test harness (TestCommand.swift), not a runbook
    if args.first == "test" { exit(TestCommand.run(Array(args.dropFirst()))) }
    // the common invocation skips ArgumentParser's start-up (see Invocation.fast)
    if let fast = Invocation.fast(args), (try? fast.validate()) != nil {
        let code = try fast.execute()
        exit(code)
    }
    var command = try PolarRunCommand.parseAsRoot(args)
    try command.run()
} catch let e as ExitCode {
    exit(e.rawValue)
} catch {
    // ArgumentParser exits 64 for usage errors; polarrun promises 2
    let code = PolarRunCommand.exitCode(for: error)
    if code == .success {
        PolarRunCommand.exit(withError: error)
    }
    Stdio.err((PolarRunCommand.fullMessage(for: error) + "\n"))
    exit(code == .validationFailure ? 2 : code.rawValue)
}
