import CLua
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import LuaShim
import Logging

/// spawn(argv, opts) → a process handle that runs while the runbook goes on, and
/// wait_any(handles, timeout) → index, result of the first handle to finish.
///
/// A handle's output is read, split into lines and logged (with `[prefix]`) whenever the
/// runbook is inside `:poll()`, `:wait()` or `wait_any()`; a runbook that starts children
/// should spend its waiting time there (pipes hold 1 MiB, then the child blocks).
///
///   local h = spawn({"docker", "build", ...}, {prefix = "engine", timeout = 3600})
///   local i, r = wait_any({h, h2}, 10)   -- nil when nothing finished within 10 s
///   r = h:wait()                          -- {status=, ok=, stdout=, stderr=, elapsed=, timed_out=}
///   h:kill()                              -- SIGTERM to its process group (SIGKILL 3 s later)
///
/// A handle that is closed or collected while its child runs kills the child.
extension Runtime {
    func installParallel() {
        lua.define(API.Proc.spawn) { [unowned self] call in
            let argv = try argvList(call, call.name)
            let o = Options(try call.optTable(2, "options"), context: call.name)
            var spec = ProcessSpec(argv)
            spec.cwd = try o.string("cwd")
            spec.timeout = try o.double("timeout")
            spec.user = try o.string("user")
            var env = self.childEnvironment
            for (k, v) in try o.stringMap("env") ?? [:] { env[k] = v }
            spec.environment = env
            let shown = argv.map(shellQuote).joined(separator: " ")
            if try o.bool("detach") == true {
                return [try self.spawnDetached(spec, o, shown: shown)]
            }
            if o.has("output") { throw HostError.usage("proc.spawn: output is for detach = true (a handle's output is logged)") }
            let prefix = try o.string("prefix")
            let place = self.whereInLua()
            let child = ChildProcess(sink: self.sink, place: place, prefix: prefix, since: try o.double("since"),
                                     capture: try o.bool("capture") ?? true, logOutput: try o.bool("log_output") ?? true,
                                     progress: try o.string("progress"))
            if try o.bool("readonly") != true && self.mutating("run \(shown)") {
                child.finishWithoutRunning()
                return [.object(child)]
            }
            if try o.bool("quiet") != true { self.log(.info, (prefix.map { "[\($0)] " } ?? "") + "start: \(shown)") }
            try child.start(spec)
            if let state = child.progress, let label = prefix { self.sink.board?.begin(label, state: state) }
            return [.object(child)]
        }
        lua.define(API.Proc.waitAny) { [unowned self] call in
            guard call[1].tableValue != nil else { throw HostError.usage("proc.wait_any: argument #1 must be a list of process handles") }
            let handles = try ChildProcess.handles(in: call, index: 1)
            guard !handles.isEmpty else { throw HostError.usage("proc.wait_any: the list of process handles is empty") }
            let timeout = call[2].isNil ? nil : try call.number(2, "timeout (seconds)")
            guard let i = try self.waitAny(handles, timeout: timeout) else { return [.nil] }
            return [.int(Int64(i + 1)), .table(handles[i].result())]
        }
    }

    /// proc.spawn{detach = true}: a child that is not ours (its own session, adopted by init),
    /// outlives the run, and writes to `output`. Returns {pid=, output=} (pid nil in a dry run).
    func spawnDetached(_ spec: ProcessSpec, _ o: Options, shown: String) throws -> LuaValue {
        // what only a handle can do makes no sense for a child nobody waits for
        let handleOnly = ["timeout", "prefix", "since", "capture", "log_output", "progress", "readonly"].filter { o.has($0) }
        guard handleOnly.isEmpty else {
            throw HostError.usage("proc.spawn: \(handleOnly.joined(separator: ", ")) cannot be used with detach = true " +
                                  "(nobody waits for a detached child)")
        }
        let output = try o.string("output")
        if let out = output, !out.hasPrefix("/") {
            throw HostError.usage("proc.spawn: output must be an absolute path, got '\(out)'")
        }
        let what = "start detached: \(shown)" + (output.map { " >> \($0)" } ?? "") + (spec.user.map { " (as \($0))" } ?? "")
        if mutating(what) { return .record(["output": .optional(output)]) }
        let pid = try Subprocess.startDetached(spec, output: output)
        if try o.bool("quiet") != true { log(.info, what + " (pid \(pid))") }
        return .record(["pid": .int(Int64(pid)), "output": .optional(output)])
    }

    /// Waits until one of `handles` has finished (index), or `timeout` passes (nil); the
    /// runbook's deadline kills them all.
    func waitAny(_ handles: [ChildProcess], timeout: Double?) throws -> Int? {
        let start = sl_now()
        while true {
            for (i, h) in handles.enumerated() where h.finished { return i }
            let remaining = lua.deadlineRemaining
            if remaining <= 0 {
                for h in handles { h.terminate() }
                lua.markDeadlineHit()
                throw HostError("timeout", "runbook deadline (--timeout) passed while waiting for child processes; they were killed")
            }
            var slice = min(0.2, remaining)
            if let t = timeout {
                let left = t - (sl_now() - start)
                if left <= 0 { return nil }
                slice = min(slice, left)
            }
            ChildProcess.pumpAll(handles, waitSeconds: slice)
            sink.board?.tick()
        }
    }
}

/// A child process started by `spawn` (or by `docker_build`/`push` with `wait=false`).
final class ChildProcess: HostObject {
    /// What a finished attempt amounts to: the fields it adds to the result (and whether it
    /// succeeded), or another attempt after a pause (a push retried with backoff).
    enum Outcome {
        case done(ok: Bool, fields: LuaTable)
        case again(ProcessSpec, after: Double)
    }
    static let metatableName = "polarrun.process"
    static let typeLabel = "process"
    static let captureLimit = 1 << 20

    let sink: LogSink
    let place: String
    let prefix: String?
    let since: Double?
    let capture: Bool
    let logOutput: Bool
    /// The state the progress board shows while it runs ("building", "pushing"); nil: no row.
    let progress: String?
    private(set) var pid: pid_t = -1
    private var fds: [Int32] = []           // [stdout, stderr] still open
    private var outFD: Int32 = -1
    private var stdout: [UInt8] = [], stderr: [UInt8] = []
    private var outLines = LineSplitter(), errLines = LineSplitter()
    private var status: Int32? = nil
    private var startedAt = sl_now()
    private var endedAt: Double? = nil
    private var timeout: Double? = nil
    private var killedAt: Double? = nil
    private var timedOut = false
    private var exitedAt: Double? = nil
    private let createdAt = sl_now()
    /// Decides what an ended attempt means (docker_build, push); nil: the exit status says.
    var onEnd: ((ChildProcess) -> Outcome)? = nil
    private var verdict: (ok: Bool, fields: LuaTable)? = nil
    private var nextAttempt: (spec: ProcessSpec, at: Double)? = nil

    init(sink: LogSink, place: String, prefix: String?, since: Double?, capture: Bool, logOutput: Bool, progress: String? = nil) {
        self.sink = sink
        self.progress = prefix == nil ? nil : progress
        self.place = place
        self.prefix = prefix
        self.since = since
        self.capture = capture
        self.logOutput = logOutput
    }

    func start(_ spec: ProcessSpec) throws {
        let p = try Subprocess.start(spec)
        pid = p.pid
        outFD = p.out
        fds = [p.out, p.err]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        }
        if p.input >= 0 { Glibc.close(p.input) }
        timeout = spec.timeout
        startedAt = sl_now()
        ChildRegistry.insert(pid)
    }

    /// A dry run: the handle reports success at once.
    func finishWithoutRunning(_ fields: LuaTable? = nil) {
        status = 0
        if let f = fields { verdict = (true, f) }
        endedAt = sl_now()
    }

    /// Seconds since the handle was made (over all attempts).
    var age: Double { sl_now() - createdAt }

    var finished: Bool { endedAt != nil }

    /// Reads what the children have written (waiting up to `waitSeconds` for something to
    /// happen), reaps those that exited and enforces their timeouts.
    static func pumpAll(_ handles: [ChildProcess], waitSeconds: Double) {
        var pfds: [pollfd] = []
        var owner: [Int32: ChildProcess] = [:]
        for h in handles where !h.finished {
            for fd in h.fds {
                pfds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                owner[fd] = h
            }
        }
        if !pfds.isEmpty {
            let n = poll(&pfds, nfds_t(pfds.count), Int32(max(1, waitSeconds * 1000)))
            if n > 0 {
                for p in pfds where p.revents != 0 { owner[p.fd]?.read(p.fd) }
            }
        } else if handles.contains(where: { !$0.finished }) {
            usleep(UInt32(min(waitSeconds, 0.05) * 1_000_000))
        }
        for h in handles where !h.finished { h.check() }
    }

    private func read(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let r = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if r > 0 {
                deliver(chunk[0..<r], isErr: fd != outFD)
                if r < chunk.count { return }
            } else if r < 0 && (errno == EINTR) {
                continue
            } else if r < 0 && errno == EAGAIN {
                return
            } else {
                Glibc.close(fd)
                fds.removeAll { $0 == fd }
                return
            }
        }
    }

    private func deliver(_ data: ArraySlice<UInt8>, isErr: Bool) {
        if capture {
            if isErr { stderr.append(contentsOf: data) } else { stdout.append(contentsOf: data) }
            if stdout.count > 2 * Self.captureLimit { stdout.removeFirst(stdout.count - Self.captureLimit) }
            if stderr.count > 2 * Self.captureLimit { stderr.removeFirst(stderr.count - Self.captureLimit) }
        }
        if isErr { errLines.feed(data, emit) } else { outLines.feed(data, emit) }
    }

    private func emit(_ line: String) {
        guard logOutput else { return }
        let clean = line.replacing("\u{1B}[91m", with: "").replacing("\u{1B}[0m", with: "")
        guard !clean.trimmingBlanks().isEmpty else { return }
        var tag = prefix ?? ""
        if let s = since { tag += cFormat(tag.isEmpty ? "%.1fs" : " %.1fs", Date().timeIntervalSince1970 - s) }
        // with a progress board the line goes to the manager log and the board shows the latest one
        let onBoard = progress != nil && sink.board != nil
        sink.emit(level: .info, where: place, message: tag.isEmpty ? clean : "[\(tag)] \(clean)", console: !onBoard)
        if onBoard, let label = prefix { sink.board?.line(label, clean) }
    }

    /// The board's row ends; a failed task's whole output is printed, as it was not shown.
    private func endProgress() {
        guard progress != nil, let board = sink.board, let label = prefix else { return }
        let ok = succeeded
        board.end(label, ok: ok)
        if !ok {
            let text = String(decoding: stdout, as: UTF8.self) + String(decoding: stderr, as: UTF8.self)
            sink.console("---- output of \(label) (failed, exit status \(status ?? -1)) ----\n" + sink.secrets.mask(text)
                         + (text.hasSuffix("\n") ? "" : "\n") + "---- end of \(label) ----\n", toStdout: false)
        }
    }

    /// Reaps the child if it exited; kills it when its timeout passed.
    private func check() {
        if let next = nextAttempt {
            guard sl_now() >= next.at else { return }
            nextAttempt = nil
            do { try start(next.spec) } catch {
                verdict = (false, LuaTable(["error": .string("cannot start \(next.spec.argv.first ?? "?"): \(error)")]))
                status = 127
                endedAt = sl_now()
                endProgress()
                return
            }
        }
        if status == nil {
            var st: Int32 = 0
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid {
                status = ChildMechanics.exitStatus(st)
                exitedAt = sl_now()
                ChildRegistry.remove(pid)
            }
        }
        if status == nil, let t = timeout, killedAt == nil, sl_now() - startedAt > t {
            timedOut = true
            terminate()
        }
        if status == nil { ChildMechanics.killIfOverdue(pid, terminatedAt: killedAt) }
        // done when reaped and its pipes are drained (or held open by grandchildren for 2 s)
        if status != nil && (fds.isEmpty || sl_now() - exitedAt! > 2) {
            for fd in fds { Glibc.close(fd) }
            fds = []
            flushLines()
            if let decide = onEnd {
                switch decide(self) {
                case .done(let ok, let fields): verdict = (ok, fields)
                case .again(let spec, let after):
                    status = nil; exitedAt = nil; killedAt = nil; timedOut = false
                    stdout = []; stderr = []
                    nextAttempt = (spec, sl_now() + after)
                    return
                }
            }
            endedAt = sl_now()
            endProgress()
        }
    }

    /// What the finished attempt wrote (for `onEnd`).
    var output: (stdout: String, stderr: String) {
        (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
    var exitStatus: Int32? { status }
    var didTimeOut: Bool { timedOut }

    /// Logs the last line of each stream when it did not end with a newline.
    private func flushLines() {
        outLines.flush(emit)
        errLines.flush(emit)
    }

    /// SIGTERM to the child's process group (SIGKILL follows 3 s later while waiting).
    func terminate() {
        guard pid > 0, status == nil else { return }
        if killedAt == nil { killedAt = sl_now() }
        ChildMechanics.terminate(pid)
    }

    private var succeeded: Bool { verdict?.ok ?? (status == 0 && !timedOut) }

    func result() -> LuaTable {
        var t = verdict?.fields ?? LuaTable()
        t["status"] = status.map { .int(Int64($0)) } ?? .nil
        t["ok"] = .bool(succeeded)
        t["stdout"] = .string(String(decoding: stdout, as: UTF8.self))
        t["stderr"] = .string(String(decoding: stderr, as: UTF8.self))
        t["elapsed"] = .number(((endedAt ?? sl_now()) - createdAt))
        t["timed_out"] = .bool(timedOut)
        t["pid"] = .int(Int64(pid))
        return t
    }

    /// The handles in the list at stack index `index` (raw reads, nothing that can raise).
    static func handles(in call: HostCall, index: Int32) throws -> [ChildProcess] {
        let L = call.state.L
        var out: [ChildProcess] = []
        var i: lua_Integer = 1
        while true {
            let t = lua_rawgeti(L, index, i)
            defer { sl_pop(L, 1) }
            if t == LUA_TNIL { break }
            guard let box = sl_object_box(L, -1, metatableName) else {
                throw HostError.usage("proc.wait_any: item \(i) of the list is not an open process handle (from proc.spawn)")
            }
            out.append(Unmanaged<ObjectBox>.fromOpaque(box).takeUnretainedValue().object as! ChildProcess)
            i += 1
        }
        return out
    }

    static func methods() -> [String: HostFunction] {
        Dictionary(uniqueKeysWithValues: [
            API.Handles.poll.method { call in
                let h = try call.object(1, as: ChildProcess.self)
                if !h.finished { ChildProcess.pumpAll([h], waitSeconds: 0) }
                return h.finished ? [.table(h.result())] : [.nil]
            },
            API.Handles.wait.method { call in
                let h = try call.object(1, as: ChildProcess.self)
                let timeout = call[2].isNil ? nil : try call.number(2, "timeout (seconds)")
                guard let rt = call.state.owner as? Runtime else { throw HostError.runtime("process:wait: no runtime") }
                guard try rt.waitAny([h], timeout: timeout) != nil else { return [.nil] }
                return [.table(h.result())]
            },
            API.Handles.kill.method { call in
                let h = try call.object(1, as: ChildProcess.self)
                let running = !h.finished
                h.terminate()
                return [.bool(running)]
            },
            API.Handles.running.method { call in
                let h = try call.object(1, as: ChildProcess.self)
                if !h.finished { ChildProcess.pumpAll([h], waitSeconds: 0) }
                return [.bool(!h.finished)]
            },
            API.Handles.pid.method { call in [.int(Int64(try call.object(1, as: ChildProcess.self).pid))] },
        ])
    }

    /// Closed or collected: a child still running is killed and reaped.
    func close() {
        if nextAttempt != nil { nextAttempt = nil; endedAt = sl_now(); return }
        guard pid > 0, !finished else { return }
        terminate()
        let end = sl_now() + ChildMechanics.killGrace
        var st: Int32 = 0
        while status == nil && sl_now() < end {
            if waitpid(pid, &st, WNOHANG) == pid { status = ChildMechanics.exitStatus(st); break }
            usleep(20_000)
        }
        if status == nil { ChildMechanics.signal(pid, SIGKILL); waitpid(pid, &st, 0); status = ChildMechanics.exitStatus(st) }
        ChildRegistry.remove(pid)
        for fd in fds { Glibc.close(fd) }
        fds = []
        endedAt = sl_now()
    }
}
