#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The files as a dry run sees them: the disk, overlaid with what the run would have written.
/// Writes go to the overlay only; reads consult the overlay first, so a step that depends on an
/// earlier write (an include file created, then overwritten in place) works as in a real run.
/// Nothing here touches the disk.
public final class FileView {
    public enum Entry: Equatable {
        case file([UInt8], mode: mode_t)
        /// `fresh`: made over nothing, so none of the disk's entries below it are visible.
        case directory(fresh: Bool)
        case symlink(String)
        case absent
    }

    private var entries: [String: Entry] = [:]
    /// Paths in the order the run first touched them (for the report).
    public private(set) var touched: [String] = []

    public init() {}

    /// An absolute, clean form of `path` (no `.`, `..`, doubled or trailing slashes; symlinks
    /// are not resolved), so one file has one key.
    public static func normalize(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for p in full.split(separator: "/") {
            if p == "." || p.isEmpty { continue }
            if p == ".." { _ = parts.popLast(); continue }
            parts.append(p)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// What the overlay says of `path` (nil: ask the disk). An absent, a file or a fresh directory
    /// above it hides the disk below.
    func overlay(_ path: String) -> Entry? {
        let p = FileView.normalize(path)
        if let e = entries[p] { return e }
        var up = p
        while up != "/" {
            up = FileView.parent(up)
            switch entries[up] {
            case nil, .directory(fresh: false)?: continue
            default: return .absent
            }
        }
        return nil
    }

    /// The entry `path` has now: the overlay's, else the disk's (not following a final symlink).
    public func entry(_ path: String) -> Entry {
        overlay(path) ?? FileView.onDisk(path)
    }

    /// The entry `path` has on the disk, whatever the overlay says.
    public static func onDisk(_ path: String) -> Entry {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .absent }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory(fresh: false)
        case S_IFLNK: return .symlink((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "")
        default:
            let bytes = (try? AtomicFile.read(path)).flatMap { $0 } ?? []
            return .file(bytes, mode: st.st_mode & 0o7777)
        }
    }

    /// What `path` is, without reading a file's bytes (an existence check on a 16 MiB file
    /// must not read it).
    public enum Kind: Equatable { case file, directory(fresh: Bool), symlink(String), absent }

    public func kind(_ path: String) -> Kind {
        if let e = overlay(path) {
            switch e {
            case .file: return .file
            case .directory(let fresh): return .directory(fresh: fresh)
            case .symlink(let t): return .symlink(t)
            case .absent: return .absent
            }
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { return .absent }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory(fresh: false)
        case S_IFLNK: return .symlink((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "")
        default: return .file
        }
    }

    /// Follows symlinks (up to 8) to the path and kind a read would see.
    func resolved(_ path: String) -> (String, Kind) {
        var p = FileView.normalize(path)
        for _ in 0..<8 {
            let k = kind(p)
            guard case .symlink(let target) = k else { return (p, k) }
            p = FileView.normalize(target.hasPrefix("/") ? target : FileView.parent(p) + "/" + target)
        }
        return (p, .absent)
    }

    public func read(_ path: String) -> [UInt8]? {
        let (p, k) = resolved(path)
        guard k == .file else { return nil }
        if case .file(let b, _) = overlay(p) { return b }
        return (try? AtomicFile.read(p)).flatMap { $0 }
    }

    public func exists(_ path: String) -> Bool { resolved(path).1 != .absent }

    public func isDirectory(_ path: String) -> Bool {
        if case .directory = resolved(path).1 { return true }
        return false
    }

    /// Whether the overlay changed `path` or anything above it (the disk's stat is then stale).
    public func covers(_ path: String) -> Bool { overlay(path) != nil }

    /// The names in `dir` (sorted), or nil when it is not a directory.
    public func list(_ dir: String) -> [String]? {
        let (d, e) = resolved(dir)
        guard case .directory(let fresh) = e else { return nil }
        var names = Set(fresh ? [] : ((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []))
        for (p, entry) in entries where FileView.parent(p) == d && p != "/" {
            let name = String(p[p.index(after: p.lastIndex(of: "/")!)...])
            if entry == .absent { names.remove(name) } else { names.insert(name) }
        }
        return names.sorted()
    }

    private func set(_ path: String, _ e: Entry) {
        let p = FileView.normalize(path)
        if entries[p] == nil && !touched.contains(p) { touched.append(p) }
        entries[p] = e
    }

    /// A whole-file write; fails as the real write would when the directory is missing.
    public func write(_ path: String, _ bytes: [UInt8], mode: mode_t?) throws {
        let p = FileView.normalize(path)
        guard isDirectory(FileView.parent(p)) else { throw HostError.io("cannot create \(path): the directory \(FileView.parent(p)) does not exist") }
        if isDirectory(p) { throw HostError.io("cannot replace \(path): it is a directory") }
        var old: mode_t = 0o644
        if case .file(_, let m)? = overlay(p) { old = m } else {
            var st = stat()
            if overlay(p) == nil && lstat(p, &st) == 0 { old = st.st_mode & 0o7777 }
        }
        set(p, .file(bytes, mode: mode ?? old))
    }

    /// Removes a file, link or (whole) directory; returns whether there was one.
    @discardableResult
    public func remove(_ path: String) -> Bool {
        let p = FileView.normalize(path)
        guard kind(p) != .absent else { return false }
        for k in entries.keys where k.hasPrefix(p + "/") { entries[k] = nil }
        set(p, .absent)
        return true
    }

    /// Makes a directory and its missing parents.
    public func mkdir(_ path: String) throws {
        let p = FileView.normalize(path)
        switch kind(p) {
        case .directory: return
        case .absent: break
        default: throw HostError.io("cannot create directory \(path): a file is in the way")
        }
        if p != "/" { try mkdir(FileView.parent(p)) }
        set(p, .directory(fresh: true))
    }

    public func symlink(_ target: String, at link: String) {
        set(link, .symlink(target))
    }

    /// Copies a file or a tree (links as links) within the view.
    public func copy(_ from: String, to: String) throws {
        switch entry(from) {
        case .absent: throw HostError.io("cannot copy \(from): no such file")
        case .directory:
            try mkdir(to)
            for name in list(from) ?? [] { try copy(from + "/" + name, to: to + "/" + name) }
        case .symlink(let t): symlink(t, at: to)
        case .file(let b, let m): try write(to, b, mode: m)
        }
    }
}
