#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// What a `--dry-run` would have done. Reads run for real; writes land in `files` (an overlay
/// the same run reads back, so dependent steps work); SQL that would change something,
/// processes, pg_ctl actions, builds, pushes and clones are recorded, not run. One recorder
/// serves a run and the runbooks it calls (`polarrun.call`), so they see each other's writes.
public final class DryRun {
    public struct Record {
        /// "sql" (a statement that would run) or "action" (a process, pg_ctl, build, push, clone …).
        public let kind: String
        public let what: String
    }

    public let files = FileView()
    public private(set) var records: [Record] = []
    /// A diff is masked line by line, so a secret spanning lines (a private key) would show:
    /// a file holding a secret is shown by its size only.
    let secrets: Secrets
    /// pg_ctl's simulated state per data directory (running or not) after a start/stop the dry
    /// run skipped, so a later `pg_ctl("status")` reads what would be true.
    var instances: [String: Bool] = [:]

    public init(secrets: Secrets = Secrets()) { self.secrets = secrets }

    /// Nothing recorded and no file touched.
    public var isEmpty: Bool { records.isEmpty && files.touched.isEmpty }

    func statement(_ query: String) { records.append(Record(kind: "sql", what: query)) }
    func action(_ what: String) { records.append(Record(kind: "action", what: what)) }

    /// Every file the run would change, with its unified diff (or a line saying what happens to
    /// a directory or a link), in the order first touched. Files written back to what the disk
    /// holds are not changes.
    public func fileChanges() -> [(path: String, diff: String)] {
        files.touched.compactMap { path in
            let before = FileView.onDisk(path), after = files.entry(path)
            if before == after { return nil }
            // (binary or huge content is summarised by its size anyway: not scanned)
            for case .file(let b, _) in [before, after] {
                let t = String(decoding: b, as: UTF8.self)
                guard !UnifiedDiff.isBinary(t), secrets.mask(t) != t else { continue }
                return (path, "change \(path): not shown, it holds a secret (\(describe(before)) -> \(describe(after)))\n")
            }
            switch (before, after) {
            case (.directory, .directory): return nil
            case (.file(let a, let ma), .file(let b, let mb)) where a == b:
                return (path, "mode of \(path): \(octal(ma)) -> \(octal(mb))\n")
            case (_, .file(let b, _)):
                return (path, UnifiedDiff.diff(text(before), String(decoding: b, as: UTF8.self), path: path))
            case (.file(let a, _), .absent):
                return (path, UnifiedDiff.diff(String(decoding: a, as: UTF8.self), nil, path: path))
            case (_, .directory): return (path, "create directory \(path)\n")
            case (.directory, .absent): return (path, "remove directory \(path) and everything in it\n")
            case (_, .symlink(let t)): return (path, "link \(path) -> \(t)\n")
            case (.symlink, .absent): return (path, "remove link \(path)\n")
            default: return (path, "replace \(path)\n")
            }
        }
    }

    private func octal(_ m: mode_t) -> String {
        let digits = String(m, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private func describe(_ e: FileView.Entry) -> String {
        if case .file(let b, _) = e { return "\(b.count) bytes" }
        return e == .absent ? "absent" : "not a file"
    }

    private func text(_ e: FileView.Entry) -> String? {
        if case .file(let b, _) = e { return String(decoding: b, as: UTF8.self) }
        return nil
    }

    /// `dry run: N file(s) would change, N statement(s) would run, N action(s)`.
    public func summary(files n: Int) -> String {
        let sql = records.filter { $0.kind == "sql" }.count
        return "dry run: \(n) file(s) would change, \(sql) statement(s) would run, \(records.count - sql) action(s)"
    }

    /// The report for reading: each statement and action, each file's diff, then the summary.
    public func report() -> String {
        let changes = fileChanges()
        var out = ""
        for r in records { out += (r.kind == "sql" ? "would run SQL: " : "would ") + r.what + "\n" }
        for c in changes { out += c.diff }
        return out + summary(files: changes.count) + "\n"
    }

    /// The same as data (`--json`): `would` (every record and file change, in order) and
    /// `would_summary`.
    public func document() -> (would: LuaValue, summary: LuaValue) {
        let changes = fileChanges()
        var items: [LuaValue] = records.map { .record(["kind": .string($0.kind), "what": .string($0.what)]) }
        items += changes.map { .record(["kind": "file", "what": .string("change \($0.path)"), "path": .string($0.path), "diff": .string($0.diff)]) }
        let sql = records.filter { $0.kind == "sql" }.count
        return (.table(LuaTable(array: items)),
                .record(["files": .int(Int64(changes.count)), "statements": .int(Int64(sql)),
                         "actions": .int(Int64(records.count - sql)), "line": .string(summary(files: changes.count))]))
    }
}

/// The dry run's record in the `--json` document.
public enum DryRunReport {
    /// A table result gains `would` and `would_summary`; any other result becomes
    /// `{result = …, would = …, would_summary = …}`.
    public static func merge(_ recorder: DryRun, into result: LuaValue) -> LuaValue {
        let (would, summary) = recorder.document()
        var t: LuaTable
        if case .table(let r) = result, r.isEmpty || !r.isSequence { t = r } else { t = LuaTable(["result": result]) }
        t["would"] = would
        t["would_summary"] = summary
        return .table(t)
    }
}
