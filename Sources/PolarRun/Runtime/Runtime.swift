import CLua
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import Logging
import LuaShim

/// How one run is configured (the CLI fills this from its flags).
public struct RunOptions {
    /// `key=value` inputs as given; `inputs{}` converts and validates them.
    public var params: [String: String] = [:]
    /// Typed inputs (when a runbook calls another runbook); take precedence over `params`.
    public var typedParams: LuaTable? = nil
    /// Print the runbook's return value as JSON on stdout.
    public var json = false
    /// Seconds before the run is stopped (exit 124); nil for no deadline.
    public var timeout: Double? = nil
    /// The manager log file; nil picks `/log/manager.log` when `/log` exists.
    public var logFile: String? = nil
    /// Mutating primitives only say what they would do.
    public var dryRun = false
    public var consoleLevel: Logger.Level = .info
    /// Log lines to stdout instead of stderr (what PolarDB Stack reads).
    public var logToStdout = false
    public var environment: [String: String] = processEnvironment()
    /// Stop at `inputs{}` and describe the runbook's inputs instead of running it.
    public var describeOnly = false
    /// Bytes Lua's heap may hold (see `Limits`); 0 for no cap.
    public var memoryLimit = Limits.defaultMemoryLimit
    /// How deep `polarrun.call` may nest runbooks; `callDepth` is this run's depth (0 at the top).
    public var maxCallDepth = Limits.defaultMaxCallDepth
    public var callDepth = 0

    public init() {}
}

/// What a run produced.
public struct RunOutcome {
    /// 0 success, 1 the runbook failed, 2 bad usage or inputs, 124 timeout.
    public var exitCode: Int32
    /// The runbook's first return value.
    public var result: LuaValue = .nil
    public var failure: LuaFailure? = nil
}

/// Runs runbooks: owns the Lua state, the log, the secrets and every open resource.
public final class Runtime {
    public let lua: LuaState
    public let secrets: Secrets
    public let sink: LogSink
    /// Mutable only for the test harness's `with_env` (a case sees the variables it sets).
    public internal(set) var options: RunOptions
    public let searchPath: SearchPath
    public let runID: String
    /// The runbook being run (for `require` next to it and log locations).
    public private(set) var runbook: Runbook?
    /// Cached default SQL connections, keyed by connection string.
    var connections: [String: PGConnection] = [:]
    /// conf.lock handles by lock file, so conf_set inside one does not wait for its own run.
    var confLocks: [String: WeakFileLock] = [:]
    /// Set by `inputs{}` under `--describe`.
    var describedInputs: String?
    /// Under `--dry-run`: what the run would do, and the files as it would leave them.
    public let recorder: DryRun?

    /// A runtime for one run. A nested run (`polarrun.call`) shares its parent's log and secrets.
    public init(options: RunOptions, sink: LogSink? = nil, secrets: Secrets? = nil, recorder: DryRun? = nil) throws {
        self.options = options
        self.searchPath = SearchPath(environment: options.environment)
        let secrets = secrets ?? Secrets()
        self.secrets = secrets
        self.recorder = options.dryRun ? (recorder ?? DryRun(secrets: secrets)) : nil
        if let sink {
            self.sink = sink
            self.runID = sink.runID
        } else {
            self.runID = Runtime.makeRunID()
            let logPath = options.logFile ?? PodDefaults.managerLog
            // POLARRUN_LOG_MAX_BYTES / POLARRUN_LOG_KEEP change the rotation (10 MiB × 15 by default)
            let maxBytes = options.environment["POLARRUN_LOG_MAX_BYTES"].flatMap(Int.init) ?? ManagerLog.defaultMaxBytes
            let keep = options.environment["POLARRUN_LOG_KEEP"].flatMap(Int.init) ?? ManagerLog.defaultKeep
            let file: ManagerLog? = try logPath.map { try ManagerLog(path: $0, maxBytes: max(1024, maxBytes), keep: max(1, keep)) }
            self.sink = LogSink(file: file, runID: runID, secrets: secrets, consoleLevel: options.consoleLevel)
            self.sink.consoleIsStdout = options.logToStdout
            if !options.logToStdout && !options.json { self.sink.board = ProgressBoard.make(environment: options.environment) }
        }
        lua = try LuaState(memoryLimit: options.memoryLimit)
        lua.errorFilter = { [secrets] in secrets.mask($0) }
        lua.owner = self
        try installPrimitives()
    }

    deinit {
        for c in connections.values { c.close() }
        // host functions hold this Runtime unowned: finalizers must not reach them now
        lua.closeDetached()
        if options.callDepth == 0 && options.timeout != nil { sl_watchdog_disarm() }
    }

    /// Ends a run: closes the Lua state while this Runtime is alive, so `__gc` finalizers may
    /// still log or query, under the run's deadline. A deadline that passed meanwhile (a
    /// finalizer's host call cut short) turns a success into 124.
    public func finish(_ outcome: RunOutcome) -> RunOutcome {
        lua.close()
        if options.callDepth == 0 && options.timeout != nil { sl_watchdog_disarm() }
        for c in connections.values { c.close() }
        connections = [:]
        var out = outcome
        if lua.deadlineHitAtClose && out.exitCode == 0 {
            out.exitCode = 124
            out.failure = LuaFailure(kind: "timeout", message: "runbook deadline (--timeout) passed in a __gc finalizer", traceback: "")
        }
        return out
    }

    static func makeRunID() -> String {
        let chars = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return String((0..<8).map { _ in chars[Int.random(in: 0..<chars.count)] })
    }

    /// The environment children start from (see `ChildEnvironment`); runbooks add to it.
    var childEnvironment: [String: String] { ChildEnvironment.inherited(options.environment) }

    /// "runbook.lua:LINE" of the Lua code calling the current host function.
    public func whereInLua(level: Int32 = 1) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        sl_where(lua.L, level, &buf, buf.count)
        return String(cString: buf)
    }

    /// Logs an event from a primitive, located at the runbook line that called it.
    public func log(_ level: Logger.Level, _ message: String) {
        sink.emit(level: level, where: whereInLua(), message: message)
    }

    private func installPrimitives() throws {
        installCore()
        installData()
        installFiles()
        installProcess()
        installSQL()
        installConf()
        installPgCtl()
        installGit()
        installImages()
        installParallel()
        installAccounts()
        let chunk = try lua.load(source: prelude, chunkName: "prelude")
        _ = try lua.call(chunk)
    }

    /// Loads and runs a runbook, returning its outcome (never throws).
    public func run(_ runbook: Runbook) -> RunOutcome {
        self.runbook = runbook
        let chunk: LuaRef
        do {
            chunk = try lua.load(source: runbook.source, chunkName: runbook.path)
        } catch {
            let message = secrets.mask("\(error)")
            return RunOutcome(exitCode: 2, failure: LuaFailure(kind: "usage", message: message, traceback: ""))
        }
        lua.freezeGlobals()
        sink.emit(level: .debug, where: runbook.name, message: "start \(runbook.path)")
        if let t = options.timeout {
            lua.setDeadline(seconds: t)
            if options.callDepth == 0 { Limits.armWatchdog(deadline: t, environment: options.environment) }
        } else {
            sl_arm_hook(lua.L)
        }
        // the deadline stays armed for finalizers run by `finish`
        do {
            let results = try lua.call(chunk)
            let value = results.first ?? .nil
            sink.emit(level: .debug, where: runbook.name, message: "done")
            return RunOutcome(exitCode: 0, result: value)
        } catch var f as LuaFailure {
            f.message = secrets.mask(f.message)
            f.traceback = secrets.mask(f.traceback)
            if lua.deadlineHit { f.kind = "timeout" }
            if f.kind == "describe", let text = describedInputs { return RunOutcome(exitCode: 0, result: .string(text)) }
            let code: Int32 = f.kind == "timeout" ? 124 : f.kind == "usage" ? 2 : f.kind == "memory" ? 1
                : f.kind == "terminated" ? 128 + max(1, sl_signal_received()) : (f.exitCode ?? 1)
            f.value = nil
            sink.emit(level: .error, where: runbook.name, message: "failed: \(f.message)", console: false)
            return RunOutcome(exitCode: code, failure: f)
        } catch {
            return RunOutcome(exitCode: 1, failure: LuaFailure(kind: "runtime", message: secrets.mask("\(error)"), traceback: ""))
        }
    }
}
