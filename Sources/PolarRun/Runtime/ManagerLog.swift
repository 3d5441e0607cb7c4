#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import Logging

/// The manager log: one line per event, appended by any number of polarrun processes,
/// rotated at `maxBytes` keeping `keep` old files (`manager.log.1` … `.15`).
///
/// Writers serialize on an advisory lock of `<file>.lock`; each writer checks, under
/// the lock, that its descriptor still names the current file (another process may
/// have rotated it) and rotates when the next line would pass the limit.
public final class ManagerLog {
    public let path: String
    public let maxBytes: Int
    public let keep: Int
    private var fd: Int32 = -1
    private var lockFD: Int32 = -1

    public static let defaultMaxBytes = 10 * 1024 * 1024
    public static let defaultKeep = 15

    public init(path: String, maxBytes: Int = ManagerLog.defaultMaxBytes, keep: Int = ManagerLog.defaultKeep) throws {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        lockFD = open(path + ".lock", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw HostError.io("cannot open log lock \(path).lock: \(errnoText())") }
        try reopen()
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        if lockFD >= 0 { Glibc.close(lockFD) }
    }

    private func reopen() throws {
        if fd >= 0 { Glibc.close(fd) }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HostError.io("cannot open log file \(path): \(errnoText())") }
    }

    /// Appends one line (a newline is added).
    public func write(_ line: String) {
        var data = Array(line.utf8)
        data.append(0x0A)
        flock(lockFD, LOCK_EX)
        defer { flock(lockFD, LOCK_UN) }
        var st = stat(), cur = stat()
        if stat(path, &st) != 0 || fstat(fd, &cur) != 0 || st.st_ino != cur.st_ino || st.st_dev != cur.st_dev {
            try? reopen()   // rotated (or removed) by someone else
            fstat(fd, &cur)
        }
        if Int(cur.st_size) > 0 && Int(cur.st_size) + data.count > maxBytes {
            rotate()
        }
        data.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue } else { break } }
                off += n
            }
        }
    }

    /// manager.log.14 → .15, …, manager.log → .1; the oldest is dropped. Called under the lock.
    private func rotate() {
        unlink("\(path).\(keep)")
        if keep > 1 {
            for i in stride(from: keep - 1, through: 1, by: -1) {
                rename("\(path).\(i)", "\(path).\(i + 1)")
            }
        }
        rename(path, "\(path).1")
        try? reopen()
    }
}

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// Where log events go: the manager log file (if any) and the console, masked.
/// Levels are swift-log's `Logger.Level`.
public final class LogSink {
    let file: ManagerLog?
    let runID: String
    let secrets: Secrets
    /// Events at or above this level are echoed to the console.
    public var consoleLevel: Logger.Level
    /// Echo to stdout instead of stderr (PolarDB Stack reads log lines from stdout).
    public var consoleIsStdout = false
    /// Live progress of long children on a terminal (nil when the console is not one).
    public var board: ProgressBoard?

    public init(file: ManagerLog?, runID: String, secrets: Secrets, consoleLevel: Logger.Level) {
        self.file = file
        self.runID = runID
        self.secrets = secrets
        self.consoleLevel = consoleLevel
    }

    public func emit(level: Logger.Level, where place: String, message: String, console echo: Bool = true) {
        let toConsole = echo && level >= consoleLevel
        guard file != nil || toConsole else { return }   // debug events with no log file cost nothing
        let text = secrets.mask(message).replacingAll("\n", with: "\n    ")
        file?.write("\(Self.timestamp()) \(Self.label(level)) \(runID) \(place) \(text)")
        if toConsole { console("\(Self.label(level)) \(place) \(text)\n", toStdout: consoleIsStdout) }
    }

    /// Writes to the console, above the progress board when one is shown.
    public func console(_ text: String, toStdout: Bool) {
        if let b = board, b.shown { b.print(text, toStdout: toStdout) }
        else { (toStdout ? Stdio.out : Stdio.err)(text) }
    }

    static func label(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "TRACE"
        case .debug: return "DEBUG"
        case .info: return "INFO "
        case .notice: return "NOTE "
        case .warning: return "WARN "
        case .error: return "ERROR"
        case .critical: return "CRIT "
        }
    }

    /// UTC time with milliseconds, e.g. 2026-11-25T20:27:25.123Z (no String(format:): it costs
    /// more than the rest of a log line).
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = tm()
        var secs = ts.tv_sec
        gmtime_r(&secs, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):"
            + "\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
