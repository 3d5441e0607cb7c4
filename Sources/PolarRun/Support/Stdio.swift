#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes of whole messages to stdout/stderr (FileHandle is Foundation-only; see
/// Paths.swift for why polarrun links FoundationEssentials alone). A short write is retried;
/// an error (closed pipe) drops the rest, as FileHandle.write's callers here expected.
public enum Stdio {
    public static func out(_ text: String) { write(1, text) }
    public static func err(_ text: String) { write(2, text) }

    static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
    }
}

/// A pthread mutex (NSLock is Foundation-only).
final class PosixLock: @unchecked Sendable {
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    init() { m = .allocate(capacity: 1); m.initialize(to: pthread_mutex_t()); pthread_mutex_init(m, nil) }
    deinit { pthread_mutex_destroy(m); m.deallocate() }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(m); defer { pthread_mutex_unlock(m) }
        return try body()
    }
}
