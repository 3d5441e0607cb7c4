import CSpawn
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import LuaShim

/// What to run: an argv list (never a shell string) and how.
public struct ProcessSpec {
    public var argv: [String]
    public var cwd: String? = nil
    /// The full environment of the child; nil inherits this process's.
    public var environment: [String: String]? = nil
    public var stdin: String? = nil
    /// Seconds before the child is killed (SIGTERM to its process group, then SIGKILL).
    public var timeout: Double? = nil
    /// Run as this OS user (needs root).
    public var user: String? = nil
    /// Called with each line of output as it arrives (`true` for stderr).
    public var onLine: ((String, Bool) -> Void)? = nil
    /// When polarrun receives a termination signal, send the child this signal instead of
    /// SIGTERM (e.g. [SIGTERM: SIGINT] turns `docker stop` into a fast shutdown of postgres).
    public var forwardSignals: [Int32: Int32] = [:]

    public init(_ argv: [String]) { self.argv = argv }
}

public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The child was killed because its time ran out.
    public var timedOut: Bool
    /// The signal polarrun received and passed on to the child while it ran (0: none).
    public var forwarded: Int32 = 0
}

/// Children running now, so a signal to polarrun can take them down too. Locked: the host
/// is single-threaded, but the test suite runs commands from several threads at once.
struct ChildRegistry {
    private static let lock = PosixLock()
    nonisolated(unsafe) private static var running = Set<pid_t>()

    static var pids: Set<pid_t> { lock.withLock { running } }
    // the watchdog kills these process groups when it has to end a run that does not stop
    static func insert(_ pid: pid_t) { lock.withLock { _ = running.insert(pid) }; sl_watchdog_child(pid, 1) }
    static func remove(_ pid: pid_t) { lock.withLock { _ = running.remove(pid) }; sl_watchdog_child(pid, 0) }

    /// As PID 1 (the engine container's `polarrun supervise`), every orphan of the container
    /// becomes our child: a postmaster started by `pg_ctl` in an `exec`, backends that outlive
    /// their postmaster. Reap the ones we do not own, or they stay zombies, and a zombie
    /// postmaster still "exists" for pg_ctl and /proc.
    static func reapOrphans() {
        guard getpid() == 1 else { return }
        let keep = Array(pids)
        while keep.withUnsafeBufferPointer({ cs_reap_orphan($0.baseAddress, Int32($0.count)) }) > 0 {}
    }
}

/// Runs child processes with fork/exec (C), pipes and poll.
public enum Subprocess {
    /// Bytes of each output stream kept for the result when the output is also streamed.
    static let streamedTail = 256 * 1024

    /// Finds an executable on PATH (or checks an explicit path).
    public static func resolve(_ name: String, path: String?) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for dir in (path ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            var st = stat()
            if stat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    public static func run(_ spec: ProcessSpec) throws -> ProcessResult {
        let p = try start(spec)
        ChildRegistry.insert(p.pid)
        defer { ChildRegistry.remove(p.pid) }
        return collect(pid: p.pid, out: p.out, err: p.err, input: p.input, spec: spec)
    }

    /// A started child: its pid (leader of its own process group) and the parent's pipe ends.
    struct Started {
        var pid: pid_t
        var out: Int32
        var err: Int32
        /// The write end of stdin (-1 without `spec.stdin`).
        var input: Int32
    }

    /// The program, environment and user a child starts with (`start` and `startDetached`).
    private static func prepare(_ spec: ProcessSpec) throws -> (exe: String, env: [String: String], uid: Int, gid: Int) {
        guard let first = spec.argv.first, !first.isEmpty else { throw HostError.usage("proc.run: argv must not be empty") }
        var env = spec.environment ?? ChildEnvironment.inherited(processEnvironment())
        var uid: Int = -1, gid: Int = -1
        if let user = spec.user {
            let u = try lookupUser(user)
            if u.uid != getuid() {
                guard getuid() == 0 else { throw HostError.usage("running as user '\(user)' needs root") }
                uid = Int(u.uid); gid = Int(u.gid)
                env["HOME"] = u.home
                env["USER"] = user
                env["LOGNAME"] = user
            }
        }
        guard let exe = resolve(first, path: env["PATH"]) else {
            throw HostError("process", "command not found: \(first)")
        }
        return (exe, env, uid, gid)
    }

    /// Why a child could not be exec'd, for the error message.
    private static func execFailure(_ first: String, _ err: Int32, cwd: String?) -> HostError {
        let why = err == ENOENT && cwd != nil ? "\(errnoText(err)) (or working directory \(cwd!) missing)" : errnoText(err)
        return HostError("process", "cannot start \(first): \(why)")
    }

    /// Starts a child detached from polarrun (see cs_spawn_detached): its own session, adopted
    /// by init, stdout and stderr appended to `output` (created 0600 when missing; /dev/null
    /// when nil), so it outlives this run. Returns its pid; nobody waits for it.
    static func startDetached(_ spec: ProcessSpec, output: String?) throws -> pid_t {
        let (exe, env, uid, gid) = try prepare(spec)
        let first = spec.argv[0]
        let out = output.map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) } ?? open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard out >= 0 else { throw HostError.io("cannot open \(output ?? "/dev/null") for the output of \(first): \(errnoText())") }
        defer { close(out) }
        if let o = output, uid >= 0 { _ = chown(o, uid_t(uid), gid_t(gid)) }   // the child writes it as its user
        var cargv = spec.argv.map { strdup($0) } + [nil]
        var cenv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cargv.forEach { free($0) }; cenv.forEach { free($0) } }
        var execErr: Int32 = 0
        let pid = cs_spawn_detached(exe, &cargv, &cenv, spec.cwd, uid, gid, out, &execErr)
        guard pid > 0 else { throw HostError("process", "cannot start \(first): \(errnoText(-pid))") }
        if execErr != 0 { throw execFailure(first, execErr, cwd: spec.cwd) }
        return pid
    }

    /// Starts a child without waiting for it (`run` and `spawn` both start here).
    static func start(_ spec: ProcessSpec) throws -> Started {
        let (exe, env, uid, gid) = try prepare(spec)
        let first = spec.argv[0]

        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard cs_pipe(&outPipe) == 0, cs_pipe(&errPipe) == 0 else {
            throw HostError.io("pipe: \(errnoText())")
        }
        var devnull: Int32 = -1
        if spec.stdin != nil {
            guard cs_pipe(&inPipe) == 0 else { throw HostError.io("pipe: \(errnoText())") }
        } else {
            devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        let fds: [Int32] = [spec.stdin != nil ? inPipe[0] : devnull, outPipe[1], errPipe[1]]

        var cargv = spec.argv.map { strdup($0) } + [nil]
        var cenv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cargv.forEach { free($0) }; cenv.forEach { free($0) } }
        var execErr: Int32 = 0
        let pid = fds.withUnsafeBufferPointer { fdp in
            cs_spawn(exe, &cargv, &cenv, spec.cwd, uid, gid, fdp.baseAddress, &execErr)
        }
        close(outPipe[1]); close(errPipe[1])
        if inPipe[0] >= 0 { close(inPipe[0]) }
        if devnull >= 0 { close(devnull) }
        guard pid > 0 else {
            close(outPipe[0]); close(errPipe[0]); if inPipe[1] >= 0 { close(inPipe[1]) }
            throw HostError("process", "cannot start \(first): \(errnoText(-pid))")
        }
        if execErr != 0 {
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            close(outPipe[0]); close(errPipe[0]); if inPipe[1] >= 0 { close(inPipe[1]) }
            throw execFailure(first, execErr, cwd: spec.cwd)
        }
        return Started(pid: pid, out: outPipe[0], err: errPipe[0], input: inPipe[1])
    }

    private static func collect(pid: pid_t, out: Int32, err: Int32, input: Int32, spec: ProcessSpec) -> ProcessResult {
        var outBuf: [UInt8] = [], errBuf: [UInt8] = []
        var outLines = LineSplitter(), errLines = LineSplitter()
        var stdinBytes = Array((spec.stdin ?? "").utf8)
        var stdinOff = 0
        var inputFD = input
        if inputFD >= 0 { _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK) }
        if inputFD >= 0 && stdinBytes.isEmpty { close(inputFD); inputFD = -1 }
        var open = [out, err]
        let start = sl_now()
        var timedOut = false
        var killedAt: Double? = nil
        var forwarded: Int32 = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        var reaped: Int32? = nil          // wait status, once the child has exited
        var exitedAt: Double? = nil

        func deliver(_ data: ArraySlice<UInt8>, _ isErr: Bool) {
            guard let onLine = spec.onLine else { return }
            if isErr { errLines.feed(data) { onLine($0, true) } } else { outLines.feed(data) { onLine($0, false) } }
        }

        while !open.isEmpty || inputFD >= 0 {
            var pfds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if inputFD >= 0 { pfds.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
            var waitMs: Int32 = 200
            if let t = spec.timeout {
                let left = t - (sl_now() - start)
                if left <= 0 && killedAt == nil {
                    timedOut = true
                    ChildMechanics.terminate(pid)
                    killedAt = sl_now()
                } else if left > 0 {
                    waitMs = Int32(min(200, max(1, left * 1000)))
                }
            }
            let received = sl_signal_received()
            if received != 0 && forwarded == 0 {
                forwarded = received
                let sig = spec.forwardSignals[received] ?? SIGTERM
                ChildMechanics.signal(pid, sig)
            }
            ChildMechanics.killIfOverdue(pid, terminatedAt: killedAt)
            if killedAt != nil && sl_now() - killedAt! > 5 { break }   // grandchildren holding the pipes
            // A daemon started by the child (pg_ctl start, a registry) may keep our pipes open
            // for ever: once the child itself has exited, take what is left and stop reading.
            ChildRegistry.reapOrphans()
            if reaped == nil {
                var st: Int32 = 0
                if waitpid(pid, &st, WNOHANG) == pid { reaped = st; exitedAt = sl_now() }
            }
            if let e = exitedAt {
                let left = 0.3 - (sl_now() - e)
                if left <= 0 { break }
                waitMs = min(waitMs, Int32(max(1, left * 1000)))
            }
            let n = poll(&pfds, nfds_t(pfds.count), waitMs)
            if n < 0 && errno != EINTR { break }
            if n <= 0 { if exitedAt != nil { break } else { continue } }
            for p in pfds where p.revents != 0 {
                if p.fd == inputFD {
                    let w = stdinBytes.withUnsafeBytes { Glibc.write(inputFD, $0.baseAddress! + stdinOff, stdinBytes.count - stdinOff) }
                    if w > 0 { stdinOff += w }
                    if w < 0 && errno != EAGAIN || stdinOff >= stdinBytes.count {
                        close(inputFD); inputFD = -1; stdinBytes = []
                    }
                    continue
                }
                let r = chunk.withUnsafeMutableBytes { Glibc.read(p.fd, $0.baseAddress!, $0.count) }
                if r > 0 {
                    let data = chunk[0..<r]
                    if p.fd == out { outBuf.append(contentsOf: data); deliver(data, false) }
                    else { errBuf.append(contentsOf: data); deliver(data, true) }
                    // streamed output is in the log already: keep only its tail in memory, so a
                    // long-lived child (a supervised postmaster) cannot grow polarrun without bound
                    if spec.onLine != nil {
                        if outBuf.count > Subprocess.streamedTail * 2 { outBuf.removeFirst(outBuf.count - Subprocess.streamedTail) }
                        if errBuf.count > Subprocess.streamedTail * 2 { errBuf.removeFirst(errBuf.count - Subprocess.streamedTail) }
                    }
                } else if r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN) {
                    close(p.fd)
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        for fd in open { close(fd) }
        if inputFD >= 0 { close(inputFD) }
        if let onLine = spec.onLine {
            outLines.flush { onLine($0, false) }
            errLines.flush { onLine($0, true) }
        }
        var st: Int32 = reaped ?? 0
        if reaped == nil { while waitpid(pid, &st, 0) < 0 && errno == EINTR {} }
        let status = ChildMechanics.exitStatus(st)
        return ProcessResult(status: status, stdout: String(decoding: outBuf, as: UTF8.self),
                             stderr: String(decoding: errBuf, as: UTF8.self), timedOut: timedOut, forwarded: forwarded)
    }
}

/// Monotonic seconds.
func sl_now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
