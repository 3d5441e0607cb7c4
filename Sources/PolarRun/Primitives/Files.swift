#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import LuaShim

/// fs.* file helpers, lock_file / unlock_file (instance lock markers) and flock (mutual exclusion).
extension Runtime {
    func installFiles() {
        lua.define(API.Fs.read) { [unowned self] call in
            let path = try call.string(1, "path")
            guard let bytes = try self.readFile(path) else { return [.nil, .string("no such file: \(path)")] }
            return [.string(String(decoding: bytes, as: UTF8.self))]
        }
        lua.define(API.Fs.write) { [unowned self] call in
            let path = try call.string(1, "path")
            let text = try call.string(2, "content")
            let o = Options(try call.optTable(3, "options"), context: call.name)
            let mode = try o.string("mode").map { try parseMode($0) }
            let owner = try o.string("owner").map { try lookupUser($0) }.map { ($0.uid, $0.gid) }
            if let view = self.recorder?.files {
                try view.write(path, Array(text.utf8), mode: mode)
                self.log(.info, "[dry-run] would write \(path)")
                return []
            }
            try AtomicFile.write(text, to: path, mode: mode, owner: owner)
            return []
        }
        // fs.write_in_place(path, content): overwrites an existing file's bytes where they are
        // (no temporary file, no truncation, no new blocks), then fsyncs. `content` must be exactly
        // the file's size — pad it. For files that must change when the file system is full
        // (the pre-sized include file of lock_disk_full); not atomic: keep such files small.
        lua.define(API.Fs.writeInPlace) { [unowned self] call in
            let path = try call.string(1, "path")
            let bytes = Array(try call.string(2, "content").utf8)
            if let view = self.recorder?.files {
                guard let old = view.read(path) else { throw HostError.io("fs.write_in_place: \(path) is not an existing regular file") }
                guard old.count == bytes.count else {
                    throw HostError.usage("fs.write_in_place: content is \(bytes.count) bytes but \(path) has \(old.count); pad it to the file's size")
                }
                try view.write(path, bytes, mode: nil)
                self.log(.info, "[dry-run] would overwrite \(path) in place")
                return []
            }
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw HostError.io("fs.write_in_place: \(path) is not an existing regular file")
            }
            guard Int(st.st_size) == bytes.count else {
                throw HostError.usage("fs.write_in_place: content is \(bytes.count) bytes but \(path) has \(st.st_size); pad it to the file's size")
            }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw HostError.io("cannot open \(path): \(errnoText())") }
            defer { Glibc.close(fd) }
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + off, bytes.count - off, off_t(off)) }
                if n < 0 { if errno == EINTR { continue }; throw HostError.io("cannot write \(path) in place: \(errnoText())") }
                off += n
            }
            guard fsync(fd) == 0 else { throw HostError.io("cannot fsync \(path): \(errnoText())") }
            return []
        }
        lua.define(API.Fs.exists) { [unowned self] call in
            [.bool(self.fileExists(try call.string(1, "path")))]
        }
        lua.define(API.Fs.isDir) { [unowned self] call in
            let path = try call.string(1, "path")
            if let view = self.recorder?.files { return [.bool(view.isDirectory(path))] }
            var isDir = false
            let e = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            return [.bool(e && isDir)]
        }
        lua.define(API.Fs.remove) { [unowned self] call in
            let path = try call.string(1, "path")
            let o = Options(try call.optTable(2, "options"), context: call.name)
            if let view = self.recorder?.files {
                if case .directory = view.kind(path), try o.bool("recursive") != true {
                    throw HostError.usage("fs.remove: \(path) is a directory; pass {recursive=true}")
                }
                let had = view.remove(path)
                if had { self.log(.info, "[dry-run] would remove \(path)") }
                return [.bool(had)]
            }
            AtomicFile.removeStaleTemporaries(of: path)
            var st = stat()
            guard lstat(path, &st) == 0 else { return [.bool(false)] }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                guard try o.bool("recursive") == true else {
                    throw HostError.usage("fs.remove: \(path) is a directory; pass {recursive=true}")
                }
                try FileManager.default.removeItem(atPath: path)
            } else if unlink(path) != 0 {
                throw HostError.io("cannot remove \(path): \(errnoText())")
            }
            AtomicFile.syncDirectory(path.deletingLastPathComponent)
            return [.bool(true)]
        }
        lua.define(API.Fs.mkdir) { [unowned self] call in
            let path = try call.string(1, "path")
            let o = Options(try call.optTable(2, "options"), context: call.name)
            if let view = self.recorder?.files {
                if !view.isDirectory(path) { self.log(.info, "[dry-run] would create directory \(path)") }
                try view.mkdir(path)
                return []
            }
            let mode = try o.string("mode").map { try parseMode($0) } ?? 0o755
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: Int(mode)])
            if let owner = try o.string("owner") {
                let u = try lookupUser(owner)
                guard chown(path, u.uid, u.gid) == 0 else { throw HostError.io("cannot chown \(path): \(errnoText())") }
            }
            return []
        }
        lua.define(API.Fs.symlink) { [unowned self] call in
            let target = try call.string(1, "target")
            let link = try call.string(2, "link path")
            if let view = self.recorder?.files {
                switch view.kind(link) {
                case .symlink(let t) where t == target: return [.bool(false)]
                case .symlink, .absent: break
                default: throw HostError.io("fs.symlink: \(link) exists and is not a symbolic link")
                }
                view.symlink(target, at: link)
                self.log(.info, "[dry-run] would link \(link) -> \(target)")
                return [.bool(true)]
            }
            var st = stat()
            if lstat(link, &st) == 0 {
                if (st.st_mode & S_IFMT) == S_IFLNK, (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target {
                    return [.bool(false)]   // already right
                }
                guard (st.st_mode & S_IFMT) == S_IFLNK else {
                    throw HostError.io("fs.symlink: \(link) exists and is not a symbolic link")
                }
            }
            // replace atomically: make the link under a temporary name, then rename over
            let tmp = link + ".polarrun-\(getpid())"
            unlink(tmp)
            guard symlink(target, tmp) == 0 else { throw HostError.io("cannot create symlink \(link): \(errnoText())") }
            guard rename(tmp, link) == 0 else { unlink(tmp); throw HostError.io("cannot create symlink \(link): \(errnoText())") }
            return [.bool(true)]
        }
        lua.define(API.Fs.copy) { [unowned self] call in
            let from = try call.string(1, "source")
            let to = try call.string(2, "destination")
            if let view = self.recorder?.files {
                try view.copy(from, to: to)
                self.log(.info, "[dry-run] would copy \(from) -> \(to)")
                return []
            }
            try copyTree(from, to)
            return []
        }
        lua.define(API.Fs.list) { [unowned self] call in
            let path = try call.string(1, "directory")
            if let view = self.recorder?.files {
                guard let names = view.list(path) else { throw HostError.io("cannot list \(path): no such directory or no access") }
                return [.list(names)]
            }
            do {
                return [.list(try FileManager.default.contentsOfDirectory(atPath: path).sorted())]
            } catch {
                throw HostError.io("cannot list \(path): no such directory or no access")
            }
        }
        lua.define(API.Fs.stat) { [unowned self] call in
            let path = try call.string(1, "path")
            if let view = self.recorder?.files, view.covers(path) {
                // the overlay changed it: what a stat would say after the writes
                switch view.entry(path) {
                case .absent: return [.nil]
                case .file(let b, let m):
                    return [.record(["type": "file", "size": .int(Int64(b.count)), "mode": .int(Int64(m)), "uid": .int(Int64(getuid())),
                                     "gid": .int(Int64(getgid())), "mtime": .number(Date().timeIntervalSince1970)])]
                case .directory:
                    return [.record(["type": "directory", "size": 4096, "mode": 0o755, "uid": .int(Int64(getuid())),
                                     "gid": .int(Int64(getgid())), "mtime": .number(Date().timeIntervalSince1970)])]
                case .symlink(let t):
                    return [.record(["type": "link", "size": .int(Int64(t.utf8.count)), "mode": 0o777, "uid": .int(Int64(getuid())),
                                     "gid": .int(Int64(getgid())), "mtime": .number(Date().timeIntervalSince1970)])]
                }
            }
            var st = stat()
            guard lstat(path, &st) == 0 else { return [.nil] }
            let type: String
            switch st.st_mode & S_IFMT {
            case S_IFDIR: type = "directory"
            case S_IFLNK: type = "link"
            case S_IFREG: type = "file"
            default: type = "other"
            }
            return [.record(["type": .string(type), "size": .int(Int64(st.st_size)), "mode": .int(Int64(st.st_mode & 0o7777)),
                             "uid": .int(Int64(st.st_uid)), "gid": .int(Int64(st.st_gid)),
                             "mtime": .number(Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)])]
        }
        lua.define(API.Fs.freeBytes) { call in
            let path = try call.string(1, "path")
            var s = statvfs()
            guard statvfs(path, &s) == 0 else { throw HostError.io("cannot stat file system of \(path): \(errnoText())") }
            return [.int(Int64(s.f_bavail) * Int64(s.f_frsize))]
        }
        lua.define(API.Fs.tempDir) { [unowned self] call in
            let prefix = try call.optString(1, "prefix") ?? "polarrun"
            if let view = self.recorder?.files {
                // a scratch directory in the overlay only: a dry run leaves nothing behind in /tmp
                var path: String
                repeat { path = "/tmp/\(prefix).dryrun-\(UInt32.random(in: 0...UInt32.max))" } while view.exists(path)
                try view.mkdir(path)
                return [.string(path)]
            }
            var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
            guard let p = mkdtemp(&template) else { throw HostError.io("cannot create a temporary directory: \(errnoText())") }
            return [.string(String(cString: p))]
        }

        lua.define(API.Fs.lockFile) { [unowned self] call in
            let path = try call.string(1, "path")
            let content = try call.optString(2, "content") ?? "locked by polarrun run \(self.runID) at \(Date())\n"
            if self.fileExists(path) { self.log(.info, "lock file \(path) already present"); return [.bool(false)] }
            if let view = self.recorder?.files {
                try view.write(path, Array(content.utf8), mode: nil)
                self.log(.info, "[dry-run] would create lock file \(path)")
                return [.bool(true)]
            }
            try AtomicFile.write(content, to: path)
            self.log(.info, "created lock file \(path)")
            return [.bool(true)]
        }
        lua.define(API.Fs.unlockFile) { [unowned self] call in
            let path = try call.string(1, "path")
            guard self.fileExists(path) else { return [.bool(false)] }
            if let view = self.recorder?.files {
                view.remove(path)
                self.log(.info, "[dry-run] would remove lock file \(path)")
                return [.bool(true)]
            }
            guard unlink(path) == 0 else { throw HostError.io("cannot remove lock file \(path): \(errnoText())") }
            AtomicFile.syncDirectory(path.deletingLastPathComponent)
            self.log(.info, "removed lock file \(path)")
            return [.bool(true)]
        }
        lua.define(API.Fs.flock) { [unowned self] call in
            let path = try call.string(1, "lock path")
            let o = Options(try call.optTable(2, "options"), context: call.name)
            let timeout = try o.double("timeout") ?? 600
            let lock = try self.acquireLock(path: path, shared: try o.bool("shared") ?? false, timeout: timeout,
                                            onWait: { self.log(.info, "waiting for lock \(path) (held by another run)") })
            return [.object(lock)]
        }
    }

    /// Waits for a file lock no longer than the run's deadline; a wait the deadline cut short
    /// is the deadline's failure (exit 124), not the lock's.
    func acquireLock(path: String, shared: Bool, timeout: Double, onWait: () -> Void) throws -> FileLock {
        // a dry run writes nothing, so it needs no lock a real run would have to create the file for
        if recorder != nil && access(path, F_OK) != 0 { return FileLock(path: path, fd: -1) }
        let remaining = lua.deadlineRemaining
        do {
            return try FileLock.acquire(path: path, shared: shared, timeout: min(timeout, remaining), onWait: onWait)
        } catch let e as HostError where e.kind == "lock" && remaining <= timeout {
            lua.markDeadlineHit()
            throw HostError("timeout", "runbook deadline (--timeout) passed while waiting for the lock on \(path)")
        }
    }

    /// In a dry run, logs and records what would happen and returns true (the caller then
    /// does nothing).
    func mutating(_ what: String, console: Bool = true) -> Bool {
        guard let recorder else { return false }
        sink.emit(level: .info, where: whereInLua(), message: "[dry-run] would \(what)", console: console)
        recorder.action(secrets.mask(what))
        return true
    }

    /// A file's bytes as this run sees them (the dry run's overlay first); nil when absent.
    func readFile(_ path: String) throws -> [UInt8]? {
        if let view = recorder?.files { return view.read(path) }
        return try AtomicFile.read(path)
    }

    func fileExists(_ path: String) -> Bool {
        if let view = recorder?.files { return view.exists(path) }
        return FileManager.default.fileExists(atPath: path)
    }
}

func parseMode(_ s: String) throws -> mode_t {
    guard let m = mode_t(s, radix: 8), m <= 0o7777 else { throw HostError.usage("file mode must be octal such as \"0644\", got '\(s)'") }
    return m
}

/// Copies a file or a directory tree (symlinks copied as links).
func copyTree(_ from: String, _ to: String) throws {
    let fm = FileManager.default
    var isDir = false
    guard fm.fileExists(atPath: from, isDirectory: &isDir) else { throw HostError.io("cannot copy \(from): no such file") }
    if isDir {
        try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: from) {
            try copyTree(from.appendingPathComponent(name), to.appendingPathComponent(name))
        }
        return
    }
    var st = stat()
    lstat(from, &st)
    if (st.st_mode & S_IFMT) == S_IFLNK {
        let dest = try fm.destinationOfSymbolicLink(atPath: from)
        unlink(to)
        guard symlink(dest, to) == 0 else { throw HostError.io("cannot copy link \(from) to \(to): \(errnoText())") }
        return
    }
    guard let data = try AtomicFile.read(from) else { throw HostError.io("cannot copy \(from): no such file") }
    try AtomicFile.write(data, to: to, mode: st.st_mode & 0o7777)
}

/// An exclusive (or shared) advisory lock on a file, held until closed.
public final class FileLock: HostObject {
    public static let metatableName = "polarrun.flock"
    public static let typeLabel = "lock"
    let path: String
    private var fd: Int32

    init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// Waits up to `timeout` seconds for the lock.
    static func acquire(path: String, shared: Bool, timeout: Double, onWait: () -> Void) throws -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HostError.io("cannot open lock file \(path): \(errnoText())") }
        let op = shared ? LOCK_SH : LOCK_EX
        if flock(fd, op | LOCK_NB) == 0 { return FileLock(path: path, fd: fd) }
        onWait()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            usleep(50_000)
            if flock(fd, op | LOCK_NB) == 0 { return FileLock(path: path, fd: fd) }
            if sl_signal_received() != 0 && sl_signal_trapped() == 0 {
                Glibc.close(fd)
                throw HostError("terminated", "stopped waiting for the lock on \(path): polarrun received SIG\(signalName(sl_signal_received()))")
            }
        }
        Glibc.close(fd)
        throw HostError("lock", "could not lock \(path) within \(Int(timeout))s: another polarrun run holds it")
    }

    public static func methods() -> [String: HostFunction] { [:] }

    /// Whether the lock is still held (not closed).
    var isOpen: Bool { fd >= 0 }

    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}
