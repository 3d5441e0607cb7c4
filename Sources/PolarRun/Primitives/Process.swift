#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import LuaShim

/// run(argv, opts): a subprocess from an argv list.
extension Runtime {
    func installProcess() {
        lua.define(API.Proc.run) { [unowned self] call in
            let argv = try argvList(call, call.name)
            let o = Options(try call.optTable(2, "options"), context: call.name)
            var spec = ProcessSpec(argv)
            spec.cwd = try o.string("cwd")
            spec.stdin = try o.string("stdin")
            spec.timeout = try o.double("timeout")
            spec.user = try o.string("user")
            if let extra = try o.stringMap("env") {
                var env = (try o.bool("clear_env") ?? false) ? [:] : self.childEnvironment
                for (k, v) in extra { env[k] = v }
                spec.environment = env
            } else if try o.bool("clear_env") == true {
                spec.environment = [:]
            } else {
                spec.environment = self.childEnvironment
            }
            if try o.bool("stream") == true {
                spec.onLine = { [unowned self] line, _ in self.log(.info, "  | \(line)") }
            }
            for (from, to) in try o.stringMap("forward_signals") ?? [:] {
                guard let f = signalNumber(from), let t = signalNumber(to) else {
                    throw HostError.usage("proc.run: forward_signals maps signal names such as TERM = \"INT\", got \(from) = \(to)")
                }
                spec.forwardSignals[f] = t
            }
            let readonly = try o.bool("readonly") ?? false
            let result = try self.runProcess(spec, check: try o.bool("check") ?? true,
                                             readonly: readonly, quiet: try o.bool("quiet") ?? false)
            return [.record(["status": .int(Int64(result.status)), "stdout": .string(result.stdout),
                             "stderr": .string(result.stderr),
                             "signal": result.forwarded != 0 ? .string(signalName(result.forwarded)) : .nil])]
        }
    }

    /// Runs a child under the run's deadline, logging the command; with `check`, a non-zero
    /// exit is an error that quotes the end of stderr. `readonly` commands also run in a dry run.
    @discardableResult
    public func runProcess(_ spec: ProcessSpec, check: Bool = true, readonly: Bool = false, quiet: Bool = false) throws -> ProcessResult {
        let shown = spec.argv.map(shellQuote).joined(separator: " ")
        if !readonly && mutating("run \(shown)") { return ProcessResult(status: 0, stdout: "", stderr: "", timedOut: false) }
        if !quiet { log(.info, "run: \(shown)" + (spec.user.map { " (as \($0))" } ?? "")) }
        var spec = spec
        let remaining = lua.deadlineRemaining
        let byDeadline = spec.timeout == nil || remaining < spec.timeout!
        if remaining < 1e8 { spec.timeout = min(spec.timeout ?? remaining, max(0.001, remaining)) }
        let result = try Subprocess.run(spec)
        if result.forwarded != 0 && sl_signal_trapped() == 0 {
            throw HostError("terminated", "\(spec.argv[0]) stopped: polarrun received SIG\(signalName(result.forwarded))")
        }
        if result.timedOut {
            if byDeadline && remaining < 1e8 {
                lua.markDeadlineHit()
                throw HostError("timeout", "\(spec.argv[0]) was killed: runbook deadline (--timeout) passed")
            }
            throw HostError("process", "\(spec.argv[0]) was killed after its timeout of \(spec.timeout!)s",
                            fields: ["status": .int(Int64(result.status)), "stdout": .string(result.stdout), "stderr": .string(result.stderr)])
        }
        if check && result.status != 0 {
            let tail = result.stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
            let outTail = result.stdout.split(separator: "\n").suffix(5).joined(separator: "\n")
            throw HostError("process", "\(spec.argv[0]) exited with status \(result.status)" + (tail.isEmpty ? (outTail.isEmpty ? "" : ": \(outTail)") : ": \(tail)"),
                            fields: ["status": .int(Int64(result.status)), "stdout": .string(result.stdout), "stderr": .string(result.stderr)])
        }
        return result
    }
}

/// Argument 1 of run/spawn: a non-empty list of strings (numbers converted), never a shell string.
func argvList(_ call: HostCall, _ function: String) throws -> [String] {
    guard case .table(let t) = call[1], !t.array.isEmpty, t.fields.isEmpty else {
        throw HostError.usage("\(function): the first argument is an argv list such as {\"ls\", \"-l\"} (never a shell string)")
    }
    return try t.array.map {
        switch $0 {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .number(let d): return String(d)
        default: throw HostError.usage("\(function): argv items must be strings, got \($0.typeName)")
        }
    }
}

/// Quotes one argv item for display in logs (never executed).
func shellQuote(_ s: String) -> String {
    if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }) { return s }
    return "'" + s.replacing("'", with: "'\\''") + "'"
}

/// "TERM", "SIGTERM" or "15" → 15.
func signalNumber(_ name: String) -> Int32? {
    if let n = Int32(name), n > 0, n < 65 { return n }
    let n = name.uppercased().hasPrefix("SIG") ? String(name.uppercased().dropFirst(3)) : name.uppercased()
    let table: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "USR1": SIGUSR1,
                                  "USR2": SIGUSR2, "TERM": SIGTERM]
    return table[n]
}

func signalName(_ n: Int32) -> String {
    [SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGKILL: "KILL", SIGUSR1: "USR1", SIGUSR2: "USR2", SIGTERM: "TERM"][n] ?? String(n)
}
