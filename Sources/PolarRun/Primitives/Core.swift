import CLua
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import Logging
import LuaShim

/// log.*, print, params, inputs, secret, env, sleep and the `polarrun` info table.
extension Runtime {
    func installCore() {
        // the run itself: first, so the fields below land in it
        lua.setGlobal("polarrun", value: .record([
            "version": .string(Host.version),
            "run_id": .string(runID),
            "dry_run": .bool(options.dryRun),
            "executable": .string(Host.executablePath),
            "runbooks_dir": .optional(SearchPath.bundledDirectory(environment: options.environment, executable: nil)),
            "is_root": .bool(getuid() == 0),
            // the pod's layout (Support/PodDefaults.swift) with this run's environment applied
            "defaults": PodDefaults.table(options.environment),
            // --json: stdout carries only the result document, so print nothing else there
            "json": .bool(options.json),
        ]))
        lua.setGlobal("_polarrun_set_error_mt") { call in
            let L = call.state.L
            lua_pushstring(L, "polarrun.error")
            lua_pushvalue(L, 1)
            lua_rawset(L, sl_registryindex())
            return []
        }
        lua.setGlobal("_polarrun_set_globals_guard") { call in
            let L = call.state.L
            lua_pushstring(L, LuaState.globalsGuardKey)
            lua_pushvalue(L, 1)
            lua_rawset(L, sl_registryindex())
            return []
        }
        lua.setGlobal("_polarrun_print") { [unowned self] call in
            let text = self.secrets.mask(try call.string(1, "text")) + "\n"
            self.sink.console(text, toStdout: true)
            return []
        }
        lua.setGlobal("_polarrun_find_module") { [unowned self] call in
            let name = try call.string(1, "module name")
            let near = self.runbook.map { $0.path.deletingLastPathComponent }
            guard let path = self.searchPath.module(name, near: near) else {
                throw HostError.usage("module '\(name)' not found in lib/ next to the runbook, POLARRUN_PATH or the bundled runbooks/lib")
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw HostError.io("cannot read \(path)") }
            return [.string(path), .string(String(decoding: data, as: UTF8.self))]
        }
        // the prelude's primitives (polarrun.raise, polarrun.wait_until) check their arguments
        // here: nil when they are right, else the message
        lua.setGlobal("_polarrun_check") { call in
            let name = try call.string(1, "declared name")
            guard let decl = API.declaration(name) else { throw HostError.runtime("no declaration named \(name)") }
            do { try decl.check(arguments: call.args.dropFirst()) } catch let e as HostError { return [.string(e.message)] }
            return []
        }
        lua.setGlobal("_polarrun_monotonic") { _ in [.number(sl_monotonic())] }

        // log.*(...): the arguments joined by spaces, tables as JSON
        func logText(_ args: [LuaValue]) -> String {
            args.map { v -> String in
                switch v {
                case .string(let s): return s
                case .int(let i): return String(i)
                case .number(let d): return String(d)
                case .bool(let b): return String(b)
                case .nil: return "nil"
                case .null: return "null"
                default: return (try? JSON.encode(v)) ?? v.typeName
                }
            }.joined(separator: " ")
        }
        for (decl, level) in [(API.Log.debug, Logger.Level.debug), (API.Log.info, .info), (API.Log.warn, .warning), (API.Log.error, .error)] {
            lua.define(decl) { [unowned self] call in
                self.log(level, logText(call.args))
                return []
            }
        }

        // log.console("stdout"|"stderr"): where console log lines go (PolarDB Stack reads stdout)
        // log.file(...): the manager log only, for what the runbook also prints for reading
        lua.define(API.Log.file) { [unowned self] call in
            self.sink.emit(level: .info, where: self.whereInLua(), message: logText(call.args), console: false)
            return []
        }
        lua.define(API.Log.console) { [unowned self] call in
            let stream = try call.string(1, "stream")
            guard stream == "stdout" || stream == "stderr" else {
                throw HostError.usage("log.console: stream must be \"stdout\" or \"stderr\", got '\(stream)'")
            }
            self.sink.consoleIsStdout = stream == "stdout"
            return []
        }
        lua.define(API.Polarrun.secret) { [unowned self] call in
            let s = try call.string(1, "value")
            self.secrets.add(s)
            return [.string(s)]
        }
        lua.define(API.Proc.env) { [unowned self] call in
            let name = try call.string(1, "name")
            // Foundation turns invalid UTF-8 into U+FFFD, so distinct values (role names the
            // Stack sends) would collide: such a variable is refused, not repaired
            if Host.environmentNamesWithInvalidUTF8.contains(name) {
                throw HostError.usage("environment variable \(name) is not valid UTF-8")
            }
            return [.optional(self.options.environment[name])]
        }
        lua.define(API.Polarrun.sleep) { [unowned self] call in
            let secs = try call.number(1, "seconds")
            guard secs >= 0 else { throw HostError.usage("polarrun.sleep: seconds must be >= 0") }
            let end = sl_monotonic() + secs
            // sleep in short steps so a deadline or a termination signal is noticed at once
            while sl_monotonic() < end {
                if sl_signal_received() != 0 {
                    if sl_signal_trapped() != 0 { return [] }
                    throw HostError("terminated", "sleep interrupted: polarrun received SIG\(signalName(sl_signal_received()))")
                }
                if self.lua.deadlineRemaining <= 0 {
                    self.lua.markDeadlineHit()
                    throw HostError("timeout", "runbook deadline (--timeout) passed during sleep")
                }
                ChildRegistry.reapOrphans()
                usleep(UInt32(min(0.05, max(0, end - sl_monotonic())) * 1_000_000))
            }
            return []
        }
        lua.define(API.Proc.trapTermination) { _ in
            sl_set_signal_trapped(1)
            return []
        }
        lua.define(API.Proc.terminating) { _ in [.bool(sl_signal_received() != 0)] }
        lua.define(API.Polarrun.would) { [unowned self] call in
            let o = Options(try call.optTable(2, "options"), context: "polarrun.would")
            return [.bool(self.mutating(try call.string(1, "what"), console: try o.bool("quiet") != true))]
        }
        lua.define(API.Polarrun.now) { _ in [.number(Date().timeIntervalSince1970)] }

        installParams()
        lua.define(API.Polarrun.runbookDir) { [unowned self] _ in
            [.optional(self.runbook.map { $0.path.deletingLastPathComponent })]
        }
        lua.define(API.Polarrun.call) { [unowned self] call in
            try self.callRunbook(call)
        }
    }

    private func installParams() {
        var raw = LuaTable()
        if let typed = options.typedParams {
            raw = typed
            secrets.collect(from: .table(typed))
        } else {
            for (k, v) in options.params {
                raw[k] = .string(v)
                if Secrets.isSecretKey(k) { secrets.add(v) }
            }
        }
        lua.setField("polarrun", "params", value: .table(raw))
        lua.define(API.Polarrun.inputs) { [unowned self] call in
            let spec = try call.table(1, "input declarations")
            let current = try self.lua.field("polarrun", "params")
            let given = current.tableValue ?? LuaTable()
            let declared = try InputSpec.parse(spec)
            if self.options.describeOnly {
                self.describedInputs = InputSpec.describe(declared)
                throw HostError("describe", "inputs described")
            }
            let converted = try InputSpec.validate(given, against: declared, secrets: self.secrets)
            // password-like keys inside JSON inputs (refresh_params' params) are secrets too
            self.secrets.collect(from: .table(converted))
            self.lua.setField("polarrun", "params", value: .table(converted))
            return [.table(converted)]
        }
    }

    /// polarrun.call(name, params): runs another runbook in a fresh environment and returns its result.
    private func callRunbook(_ call: HostCall) throws -> [LuaValue] {
        let name = try call.string(1, "runbook")
        let params = try call.optTable(2, "params")
        let tooDeep = HostError("call_depth", "polarrun.call(\"\(name)\"): runbooks nested \(options.maxCallDepth) deep "
            + "(does a runbook call itself?); the limit is POLARRUN_MAX_CALL_DEPTH")
        guard options.callDepth < options.maxCallDepth else { throw tooDeep }
        let o = Options(try call.optTable(3, "options"), context: "polarrun.call")
        let rb = try searchPath.resolve(name)
        var opts = options
        // {dry_run = true} from a run that is not one: the callee gets its own record, returned with its result
        let ownRecord = try o.bool("dry_run") == true && recorder == nil
        if ownRecord { opts.dryRun = true }
        opts.typedParams = params
        opts.callDepth = options.callDepth + 1
        opts.timeout = lua.deadlineRemaining < 1e8 ? max(0.001, lua.deadlineRemaining) : nil
        // the called runbook shares what is left of the cap, so nesting cannot multiply it
        if options.memoryLimit > 0 { opts.memoryLimit = max(1 << 20, options.memoryLimit - lua.memoryUsed) }
        let child = try Runtime(options: opts, sink: sink, secrets: secrets, recorder: recorder)
        let outcome = child.finish(child.run(rb))
        if let f = outcome.failure {
            if f.kind == "call_depth" { throw tooDeep }   // one message, not one prefix per level
            throw HostError(f.kind, "\(rb.name): \(f.message)")
        }
        if ownRecord, let record = child.recorder { return [DryRunReport.merge(record, into: outcome.result)] }
        return [outcome.result]
    }
}
