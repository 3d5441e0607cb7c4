#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// SQL under `--dry-run`: a statement runs for real inside a read-only transaction that is
/// rolled back, so reads return what they would; one the server refuses as a write (SQLSTATE
/// 25006 read_only_sql_transaction, or 25001 for ALTER SYSTEM, VACUUM, CREATE DATABASE …,
/// which cannot run in a transaction) is recorded as "would run" and not run. A read-only
/// transaction still lets some functions act outside it (signals, reloads, WAL switches,
/// replication slots, files): those are refused before they are sent.
enum DryRunSQL {
    /// Functions with effects a read-only transaction does not stop (or undo); PolarDB's
    /// polar_vfs_disk_expansion grows the shared file system.
    static let sideEffectFunctions = #"""
        \b(pg_reload_conf|pg_rotate_logfile\w*|pg_terminate_backend|pg_cancel_backend|pg_signal_backend|\
        pg_switch_wal|pg_switch_xlog|pg_create_restore_point|pg_promote|pg_wal_replay_pause|pg_wal_replay_resume|\
        pg_xlog_replay_pause|pg_xlog_replay_resume|pg_start_backup|pg_stop_backup|pg_backup_start|pg_backup_stop|\
        pg_create_physical_replication_slot|pg_create_logical_replication_slot|pg_drop_replication_slot|\
        pg_copy_physical_replication_slot|pg_copy_logical_replication_slot|pg_replication_slot_advance|\
        pg_logical_slot_get_changes|pg_logical_slot_get_binary_changes|pg_logical_emit_message|\
        pg_replication_origin_\w+|pg_stat_reset\w*|pg_notify|pg_file_write|pg_file_unlink|pg_file_rename|\
        pg_file_sync|lo_import|lo_export|dblink\w*|pg_advisory_lock\w*|pg_try_advisory_lock\w*|\
        pg_advisory_unlock\w*|pg_import_system_collations|pg_log_backend_memory_contexts|\
        polar_vfs_disk_expansion)\s*\(
        """#.replacing("\\\n", with: "").replacing("\n", with: "")

    /// `sideEffectFunctions`, compiled on first use (dry runs only).
    static let sideEffectRegex = try! Regex(sideEffectFunctions).ignoresCase().wordBoundaryKind(.simple)

    /// Statements that act although a read-only transaction allows them.
    static let sideEffectStatements: Set<String> = ["checkpoint", "vacuum", "analyze", "analyse", "reindex", "cluster",
                                                    "load", "notify", "listen", "unlisten"]

    /// Transaction control is not sent: every statement runs in its own read-only transaction.
    static let transactionControl: Set<String> = ["begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"]

    /// The statement's first keyword, lower case (comments and parentheses skipped).
    static func firstWord(_ query: String) -> String {
        var rest = Substring(query)
        while true {
            rest = rest.drop(while: { $0.isWhitespace || $0 == "(" })
            if rest.hasPrefix("--") { rest = rest.drop(while: { $0 != "\n" }); continue }
            if rest.hasPrefix("/*"), let end = rest.firstRange(of: "*/") { rest = rest[end.upperBound...]; continue }
            break
        }
        return String(rest.prefix(while: { $0.isLetter || $0 == "_" })).lowercased()
    }

    /// Why the statement must not be sent in a dry run, or nil.
    static func sideEffect(_ query: String) -> String? {
        let word = firstWord(query)
        if sideEffectStatements.contains(word) { return word.uppercased() + " acts outside a transaction" }
        if let r = query.firstRange(of: sideEffectRegex) {
            let name = query[r].prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" })
            return "\(name) acts outside a transaction"
        }
        let lower = query.lowercased()
        if word == "copy", lower.firstRange(of: #/\bto\s+(program\b|')/#.wordBoundaryKind(.simple)) != nil {
            return "COPY TO a file or program writes outside the database"
        }
        return nil
    }

    /// The statement as listed: on one line, `PASSWORD '…'` literals and the run's secrets masked,
    /// parameters shown after it.
    static func shown(_ query: String, _ params: [String?], secrets: Secrets) -> String {
        var q = query.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingBlanks() }.filter { !$0.isEmpty }.joined(separator: " ")
        q = q.replacing(#/(?i)(\bpassword\s+)(E?'(?:[^']|'')*')/#.wordBoundaryKind(.simple)) { m in
            m.output.1 + "'\(Secrets.placeholder)'"
        }
        if !params.isEmpty {
            q += " -- " + params.enumerated().map { "$\($0.offset + 1) = " + ($0.element.map(quoteLiteral) ?? "NULL") }
                .joined(separator: ", ")
        }
        return secrets.mask(q)
    }

    /// What a statement that was not run returns: a command result, as the real one would.
    static func notRun(_ query: String) -> LuaValue {
        let word = firstWord(query)
        return .record(["command": .string(word.uppercased()), "affected": 0, "dry_run": true])
    }
}

extension Runtime {
    /// `sql()` and `conn:query()` in a dry run (see `DryRunSQL`).
    func dryExecute(_ recorder: DryRun, _ conn: PGConnection, _ query: String, _ params: [String?], timeout: Double?) throws -> LuaValue {
        let word = DryRunSQL.firstWord(query)
        if DryRunSQL.transactionControl.contains(word) { return DryRunSQL.notRun(query) }
        func record(_ why: String) -> LuaValue {
            let shown = DryRunSQL.shown(query, params, secrets: secrets)
            recorder.statement(shown)
            log(.info, "[dry-run] would run SQL: \(shown) (\(why))")
            return DryRunSQL.notRun(query)
        }
        if let why = DryRunSQL.sideEffect(query) { return record(why) }
        _ = try execute(conn, "begin transaction read only", [], timeout: timeout, real: true)
        defer { _ = try? execute(conn, "rollback", [], timeout: 10, real: true) }
        do {
            return try execute(conn, query, params, timeout: timeout, real: true)
        } catch let e as HostError where e.kind == "sql" && ["25006", "25001"].contains(e.fields["sqlstate"]?.stringValue ?? "") {
            return record("it writes")
        }
    }
}
