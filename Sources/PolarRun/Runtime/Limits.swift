import LuaShim

/// The limits that keep a runaway runbook from taking the host down with it (docs/runbooks.md,
/// "Limits"): Lua's heap, the nesting of `polarrun.call`, and the watchdog behind `--timeout`.
public enum Limits {
    /// Lua's heap cap: far above any bundled runbook (a few MiB), far below what a pod has.
    public static let defaultMemoryLimit = 512 << 20
    /// A runbook calling runbooks 16 deep is a loop, not a design.
    public static let defaultMaxCallDepth = 16
    /// Seconds the watchdog waits after the deadline before it ends the process (the Lua hook
    /// normally stops the runbook long before; Lua runs no hooks inside `__gc` finalizers).
    public static let defaultWatchdogGrace = 5.0
    /// Seconds after SIGTERM/SIGINT/SIGHUP: longer, because children are given the signal
    /// and may need time to stop (a postmaster's shutdown).
    public static let defaultSignalGrace = 30.0

    public struct Invalid: Error { public let message: String }

    /// `POLARRUN_MEMORY_LIMIT` / `--memory-limit`: MiB, a positive integer ("0" disables the cap).
    public static func memoryLimit(mebibytes text: String, source: String) throws -> Int {
        guard let mib = Int(text), mib >= 0, mib <= 1 << 20 else {
            throw Invalid(message: "\(source) must be a whole number of MiB (0 for no limit), got '\(text)'")
        }
        return mib << 20
    }

    /// `POLARRUN_MAX_CALL_DEPTH`: a positive integer.
    public static func maxCallDepth(_ text: String) throws -> Int {
        guard let d = Int(text), d >= 1, d <= 1000 else {
            throw Invalid(message: "POLARRUN_MAX_CALL_DEPTH must be a whole number from 1 to 1000, got '\(text)'")
        }
        return d
    }

    /// Applies the environment's limits to `options` (the command line's flags come after).
    public static func apply(environment env: [String: String], to options: inout RunOptions) throws {
        if let m = env["POLARRUN_MEMORY_LIMIT"], !m.isEmpty {
            options.memoryLimit = try memoryLimit(mebibytes: m, source: "POLARRUN_MEMORY_LIMIT")
        }
        if let d = env["POLARRUN_MAX_CALL_DEPTH"], !d.isEmpty { options.maxCallDepth = try maxCallDepth(d) }
    }

    /// Arms the process watchdog for a run with a deadline. `POLARRUN_WATCHDOG_GRACE` (seconds)
    /// replaces both graces (tests use it to keep waits short).
    static func armWatchdog(deadline seconds: Double, environment env: [String: String]) {
        let grace = env["POLARRUN_WATCHDOG_GRACE"].flatMap(Double.init).flatMap { $0 >= 0 ? $0 : nil }
        sl_watchdog_arm(seconds, grace ?? defaultWatchdogGrace, grace ?? defaultSignalGrace)
    }

    /// Starts the watchdog for termination signals alone (a run without `--timeout`).
    public static func watchSignals(environment env: [String: String]) {
        armWatchdog(deadline: 0, environment: env)
    }
}
