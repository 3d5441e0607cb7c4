#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// `polarrun --stubs DIR` and `polarrun --docs FILE`: files (or marked blocks of files) that
/// are generated from the declarations. Every target is checked before anything is written,
/// so a bad one leaves all of them as they were.
public enum GeneratedFiles {
    /// A marked block: the lines between `begin` and `end` are the generator's.
    struct Block {
        let begin: String
        let end: String
        let content: () -> String
    }

    static let blocks = [
        Block(begin: "<!-- generated:primitives begin -->", end: "<!-- generated:primitives end -->", content: API.markdownReference),
        Block(begin: "-- generated:globals begin", end: "-- generated:globals end", content: API.luacheckGlobals),
    ]

    /// The command that refreshes the repository's generated files.
    public static let refreshCommand = "polarrun --docs docs/primitives.md --docs .luacheckrc --stubs runbooks/.types"

    /// `text` with every generated block in it regenerated. A file without any block, or with
    /// a begin and no end, is a usage error naming the markers.
    public static func refresh(_ text: String, file: String) throws -> String {
        var lines = text.components(separatedBy: "\n")
        var found = 0
        for b in blocks {
            var searchFrom = 0
            while let start = lines[searchFrom...].firstIndex(where: { $0.trimmingBlanks() == b.begin }) {
                guard let stop = lines[(start + 1)...].firstIndex(where: { $0.trimmingBlanks() == b.end }) else {
                    throw HostError.usage("--docs \(file): line \(start + 1) begins a generated block ('\(b.begin)') that has no '\(b.end)' line")
                }
                var content = b.content().components(separatedBy: "\n")
                if content.last == "" { content.removeLast() }
                lines.replaceSubrange((start + 1)..<stop, with: content)
                searchFrom = start + 1 + content.count + 1
                found += 1
            }
        }
        guard found > 0 else {
            throw HostError.usage("--docs \(file): no generated block in it; mark where it goes with the lines "
                + blocks.map { "'\($0.begin)' … '\($0.end)'" }.joined(separator: " (Markdown) or ") + " (Lua)")
        }
        return lines.joined(separator: "\n")
    }

    /// What `--stubs`/`--docs` would write: path → content. Throws a usage error for the
    /// first bad target, before anything is written.
    public static func plan(stubsDir: String?, docs: [String]) throws -> [(path: String, content: String)] {
        var out: [(String, String)] = []
        var isDir = false
        if let dir = stubsDir {
            if dir.isEmpty { throw HostError.usage("--stubs: give a directory") }
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
                guard isDir else { throw HostError.usage("--stubs \(dir): not a directory") }
            } else {
                let parent = dir.deletingLastPathComponent
                guard parent.isEmpty || FileManager.default.fileExists(atPath: parent, isDirectory: &isDir) && isDir else {
                    throw HostError.usage("--stubs \(dir): neither it nor its parent directory exists")
                }
            }
            out.append((dir.appendingPathComponent(API.stubsFileName), API.stubs()))
        }
        for file in docs {
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir), !isDir else {
                throw HostError.usage("--docs \(file): no such file (--docs regenerates the marked blocks of an existing file)")
            }
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw HostError.usage("--docs \(file): cannot read it as UTF-8 text")
            }
            out.append((file, try refresh(text, file: file)))
        }
        return out
    }

    /// Writes what `plan` computed (atomically; files already up to date are left alone);
    /// returns one line per file saying what happened.
    public static func write(stubsDir: String?, docs: [String]) throws -> [String] {
        let planned = try plan(stubsDir: stubsDir, docs: docs)
        var report: [String] = []
        for (path, content) in planned {
            if let old = FileManager.default.contents(atPath: path), String(decoding: old, as: UTF8.self) == content {
                report.append("\(path): up to date")
                continue
            }
            let dir = path.deletingLastPathComponent
            if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: nil)
            }
            try AtomicFile.write(content, to: path)
            report.append("\(path): written")
        }
        return report
    }
}
