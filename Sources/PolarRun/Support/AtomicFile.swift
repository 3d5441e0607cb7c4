#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Durable file operations: whole-file replacement that a crash never leaves half-written.
public enum AtomicFile {
    /// Writes `data` to a temporary file next to `path`, fsyncs it, renames it over `path`
    /// and fsyncs the directory. Keeps the old file's mode and owner unless given.
    public static func write(_ data: [UInt8], to path: String, mode: mode_t? = nil, owner: (uid_t, gid_t)? = nil) throws {
        let dir = path.deletingLastPathComponent.isEmpty ? "." : path.deletingLastPathComponent
        var old = stat()
        let exists = stat(path, &old) == 0
        removeStaleTemporaries(of: path)
        let tmp = "\(dir)/\(temporaryPrefix(of: path))\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode ?? (exists ? old.st_mode & 0o7777 : 0o644))
        guard fd >= 0 else { throw HostError.io("cannot create \(tmp): \(errnoText())") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        try data.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    let e = errnoText()
                    close(fd)
                    throw HostError.io("cannot write \(path): \(e)")
                }
                off += n
            }
        }
        if let m = mode { fchmod(fd, m) } else if exists { fchmod(fd, old.st_mode & 0o7777) }
        if let (u, g) = owner { fchown(fd, u, g) } else if exists && getuid() == 0 { fchown(fd, old.st_uid, old.st_gid) }
        guard fsync(fd) == 0 else { let e = errnoText(); close(fd); throw HostError.io("cannot write \(path): \(e)") }
        close(fd)
        guard rename(tmp, path) == 0 else { throw HostError.io("cannot replace \(path): \(errnoText())") }
        ok = true
        syncDirectory(dir)
    }

    /// `.<name>.polarrun-` : the temporary files of `path` start with this, then `<pid>-<random>`.
    static func temporaryPrefix(of path: String) -> String { ".\(path.lastPathComponent).polarrun-" }

    /// Removes temporary files of `path` that a run killed between create and rename left (a
    /// SIGKILL, a power cut): they would pile up on the very disk a disk-full lock protects.
    /// A file whose writer is still alive is left alone.
    public static func removeStaleTemporaries(of path: String) {
        let dir = path.deletingLastPathComponent.isEmpty ? "." : path.deletingLastPathComponent
        let prefix = temporaryPrefix(of: path)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pidText = rest.split(separator: "-").first, let pid = pid_t(pidText) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { unlink("\(dir)/\(name)") }
        }
    }

    public static func write(_ text: String, to path: String, mode: mode_t? = nil, owner: (uid_t, gid_t)? = nil) throws {
        try write(Array(text.utf8), to: path, mode: mode, owner: owner)
    }

    /// fsyncs a directory so a rename or a new entry in it survives a crash.
    public static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Reads a whole file; nil when it does not exist.
    public static func read(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw HostError.io("cannot read \(path): \(errnoText())")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw HostError.io("cannot read \(path): \(errnoText())") }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }
}

/// The uid and gid of an OS user.
public func lookupUser(_ name: String) throws -> (uid: uid_t, gid: gid_t, home: String) {
    guard let u = try OSAccounts.user(name) else { throw HostError.usage("no such OS user '\(name)'") }
    return (u.uid, u.gid, u.home)
}
