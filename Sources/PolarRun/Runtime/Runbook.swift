import CLibPQ
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import LuaShim

/// A runbook found on disk: its path, the name operators use, and its source text.
public struct Runbook {
    public let path: String
    public var name: String { path.lastPathComponent }
    public let source: String

    /// The first comment line (`-- …`), shown by `polarrun --list`.
    public var summary: String {
        for line in source.split(separator: "\n", omittingEmptySubsequences: false).prefix(5) {
            let t = line.trimmingBlanks()
            if t.hasPrefix("#!") || t.hasPrefix("--!") { continue }
            if t.hasPrefix("--") { return t.drop(while: { $0 == "-" }).trimmingBlanks() }
            if !t.isEmpty { break }
        }
        return ""
    }

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw HostError.usage("runbook not found: \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HostError.usage("cannot read runbook \(path)")
        }
        if data.first == 0x1B { throw HostError.usage("\(path) is precompiled Lua bytecode; runbooks are loaded as text only") }
        self.path = path
        var text = String(decoding: data, as: UTF8.self)
        // a `#!/usr/local/bin/polarrun` line makes a runbook executable; Lua would reject it
        if text.hasPrefix("#") { text = "--" + text.dropFirst() }
        self.source = text
    }

    /// Starts loading libpq in the background when the runbook's text mentions SQL, so the
    /// dynamic loader's work (libpq and its ~25 libraries) overlaps building the Lua state.
    /// A runbook that never says "sql" or "connect" loads libpq at its first query, if any.
    public func prefetchLibraries() {
        if mentions("sql") || mentions("connect") { pq_prefetch() }
    }

    /// A plain byte search: String.contains goes through the generic collection search, which
    /// costs ~0.25 M instructions on its first use.
    private func mentions(_ word: String) -> Bool {
        var source = source
        let w = Array(word.utf8)
        return source.withUTF8 { s in
            guard s.count >= w.count else { return false }
            for i in 0...(s.count - w.count) where s[i] == w[0] {
                if (1..<w.count).allSatisfy({ s[i + $0] == w[$0] }) { return true }
            }
            return false
        }
    }
}

/// Where runbooks and their `require` modules are found: `POLARRUN_PATH` (colon-separated
/// directories), then the bundled `runbooks/` directory.
public struct SearchPath {
    public var directories: [String]

    public init(environment: [String: String] = processEnvironment(), executable: String? = nil) {
        var dirs = (environment["POLARRUN_PATH"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        if let bundled = SearchPath.bundledDirectory(environment: environment, executable: executable) {
            dirs.append(bundled)
        }
        directories = dirs
    }

    /// The bundled runbooks: `POLARRUN_RUNBOOKS`, `<prefix>/share/polarrun/runbooks` next to the
    /// binary, or the repository's `runbooks/` for a binary built in `.build/`.
    public static func bundledDirectory(environment: [String: String], executable: String?) -> String? {
        if let d = environment["POLARRUN_RUNBOOKS"], !d.isEmpty { return d }
        let exe = executable ?? Host.executablePath
        var dir = exe.deletingLastPathComponent
        let fm = FileManager.default
        let shared = dir.deletingLastPathComponent.appendingPathComponent("share/polarrun/runbooks")
        if fm.fileExists(atPath: shared) { return shared }
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("runbooks")
            if fm.fileExists(atPath: candidate.appendingPathComponent("lib")) { return candidate }
            dir = dir.deletingLastPathComponent
        }
        return nil
    }

    /// Resolves a runbook argument: a path if it names a file (or contains `/`), else a name
    /// looked up (with or without `.lua`) in each directory.
    public func resolve(_ arg: String) throws -> Runbook {
        let fm = FileManager.default
        if arg.contains("/") || fm.fileExists(atPath: arg) && !isDirectory(arg) {
            return try Runbook(path: arg)
        }
        let file = arg.hasSuffix(".lua") ? arg : arg + ".lua"
        for d in directories {
            let p = d.appendingPathComponent(file)
            if fm.fileExists(atPath: p) { return try Runbook(path: p) }
        }
        throw HostError.usage("runbook '\(arg)' not found: not a file, and \(whereLooked). `polarrun --list` shows the runbooks found; \(SearchPath.howToSet)")
    }

    /// Where runbooks were looked for, for messages: each directory, marked when it does not exist.
    public var whereLooked: String {
        if directories.isEmpty { return "there is no search path (POLARRUN_PATH is empty and no bundled runbooks/ was found)" }
        let marked = directories.map { isDirectory($0) ? $0 : $0 + " (does not exist)" }
        return "looked in " + marked.joined(separator: ", ")
    }

    public static let howToSet = "Set POLARRUN_PATH=DIR[:DIR...] for your own runbooks and POLARRUN_RUNBOOKS=DIR for the bundled ones (the repository's runbooks/ or <prefix>/share/polarrun/runbooks)."

    /// Finds a module for `require(name)`: `a.b` → `lib/a/b.lua` or `a/b.lua` in each directory.
    public func module(_ name: String, near runbookDir: String?) -> String? {
        let rel = name.replacing(".", with: "/") + ".lua"
        var dirs: [String] = []
        if let r = runbookDir { dirs.append(r) }
        dirs += directories
        for d in dirs {
            for p in [d.appendingPathComponent("lib/" + rel), d.appendingPathComponent(rel)] {
                if FileManager.default.fileExists(atPath: p) { return p }
            }
        }
        return nil
    }

    /// Every runbook on the path (first one wins for a name), sorted by name.
    public func list() -> [Runbook] {
        var seen = Set<String>()
        var out: [Runbook] = []
        for d in directories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []
            // `*_test.lua` files are `polarrun test` cases, not runbooks
            for n in names.sorted() where n.hasSuffix(".lua") && !n.hasSuffix("_test.lua") && !seen.contains(n) {
                seen.insert(n)
                if let rb = try? Runbook(path: d.appendingPathComponent(n)) { out.append(rb) }
            }
        }
        return out.sorted { $0.name < $1.name }
    }

    private func isDirectory(_ p: String) -> Bool {
        var isDir = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &isDir) && isDir
    }
}

/// Facts about this process.
public enum Host {
    public static let version = "0.1.0"

    /// Records SIGTERM/SIGINT/SIGHUP instead of dying, so children are stopped (or sent the
    /// signal a runbook chose) and the run ends cleanly. Called once by the CLI.
    public static func installSignalHandlers() { sl_install_signal_handlers() }

    /// Names of this process's environment variables whose values are not valid UTF-8.
    public static let environmentNamesWithInvalidUTF8: Set<String> = {
        var names = Set<String>()
        var p = environ
        while let entry = p.pointee {
            if String(validatingCString: entry) == nil {
                let raw = String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry)), as: UTF8.self)
                if let eq = raw.firstIndex(of: "=") { names.insert(String(raw[..<eq])) }
            }
            p += 1
        }
        return names
    }()

    /// The running binary's absolute path (from /proc/self/exe).
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
