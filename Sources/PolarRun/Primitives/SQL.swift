import CLibPQ
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// sql(query, params, opts), connect(opts), quote_ident, quote_literal.
extension Runtime {
    func installSQL() {
        lua.define(API.Sql.call) { [unowned self] call in
            let query = try call.string(1, "query")
            let params = try sqlParams(call[2])
            let o = Options(try call.optTable(3, "options"), context: call.name)
            let conn = try self.connection(o)
            return [try self.execute(conn, query, params, timeout: try o.double("timeout"))]
        }
        lua.define(API.Sql.connect) { [unowned self] call in
            let o = Options(try call.optTable(1, "options"), context: call.name)
            return [.object(try self.openConnection(o))]
        }
        lua.define(API.Sql.quoteIdent) { call in [.string(quoteIdent(try call.string(1, "identifier")))] }
        lua.define(API.Sql.quoteLiteral) { call in [.string(quoteLiteral(try call.string(1, "literal")))] }
    }

    /// The connection parameters: options, then PG* environment, then the pod defaults
    /// (unix socket in the data directory, user postgres, database postgres, 3 s connect timeout).
    func connectionParams(_ o: Options) throws -> [(String, String)] {
        let env = options.environment
        var p: [(String, String)] = []
        func add(_ key: String, _ fallback: String?) throws {
            if let v = try o.string(key) ?? fallback { p.append((key, v)) }
        }
        try add("host", env["PGHOST"] ?? PodDefaults.pgdata(env))
        try add("port", env["PGPORT"])
        try add("user", env["PGUSER"] ?? PodDefaults.role)
        try add("dbname", env["PGDATABASE"] ?? PodDefaults.dbname)
        try add("password", nil)
        try add("connect_timeout", String(PodDefaults.connectTimeout))
        try add("application_name", "polarrun")
        try add("sslmode", nil)
        try add("options", nil)
        if let pw = try o.string("password") { secrets.add(pw) }
        return p
    }

    func openConnection(_ o: Options) throws -> PGConnection {
        let params = try connectionParams(o)
        let c = try PGConnection(params: params, timeout: min(3, max(0.5, lua.deadlineRemaining)))
        log(.debug, "connected to PostgreSQL (\(c.description))")
        return c
    }

    /// The run's cached connection for these parameters (a dead one is replaced).
    func connection(_ o: Options) throws -> PGConnection {
        let key = try connectionParams(o).map { "\($0.0)=\($0.1)" }.joined(separator: "\u{1}")
        if let c = connections[key], c.conn != nil, PQstatusOK(c) { return c }
        let c = try openConnection(o)
        connections[key] = c
        return c
    }

    /// Runs one statement; in a dry run through `dryExecute` (read-only, writes recorded) unless `real`.
    func execute(_ conn: PGConnection, _ query: String, _ params: [String?], timeout: Double?, real: Bool = false) throws -> LuaValue {
        guard !query.utf8.contains(0) else { throw HostError.usage("sql: the query contains a NUL byte") }
        if !real, let recorder { return try dryExecute(recorder, conn, query, params, timeout: timeout) }
        // masked before it is folded onto one line: a secret spanning lines is still whole here
        log(.debug, "sql: \(secrets.mask(query).split(separator: "\n").map { $0.trimmingBlanks() }.joined(separator: " "))"
            + (params.isEmpty ? "" : " [\(params.count) parameter\(params.count == 1 ? "" : "s")]"))
        let remaining = lua.deadlineRemaining
        let limit = min(timeout ?? 1e9, remaining)
        return try conn.execute(query, params, timeout: limit) { [unowned self] in
            if remaining <= (timeout ?? 1e9) { self.lua.markDeadlineHit(); return true }
            return false
        }
    }
}

func PQstatusOK(_ c: PGConnection) -> Bool { c.conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

/// Query parameters: a list of values; `null` (or nil in a table with `n`) is SQL NULL.
func sqlParams(_ v: LuaValue) throws -> [String?] {
    guard case .table(let t) = v else {
        if v.isNil { return [] }
        throw HostError.usage("sql: parameters must be a list such as {1, \"x\"}, got \(v.typeName)")
    }
    var count = t.array.count
    if let n = t["n"].intValue { count = max(count, Int(n)) }
    for (k, _) in t.fields {
        if case .int(let i) = k, i > 0 { count = max(count, Int(i)) }
        else if case .string("n") = k { continue }
        else { throw HostError.usage("sql: parameters must be a list (positional $1, $2 …), found key '\(k)'") }
    }
    return try (1...max(1, count)).prefix(count).map { i -> String? in
        let v = i <= t.array.count ? t.array[i - 1] : (t.fields[.int(Int64(i))] ?? .nil)
        switch v {
        case .nil, .null: return nil
        case .string(let s):
            guard !s.utf8.contains(0) else { throw HostError.usage("sql: parameter $\(i) contains a NUL byte, which PostgreSQL text cannot hold") }
            return s
        case .int(let x): return String(x)
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .table: return try JSON.encode(v)
        default: throw HostError.usage("sql: parameter $\(i) cannot be a \(v.typeName)")
        }
    }
}

/// "name" with embedded quotes doubled: a safe SQL identifier.
public func quoteIdent(_ s: String) -> String {
    "\"" + s.replacing("\"", with: "\"\"") + "\""
}

/// 'text' with quotes doubled; with backslashes, E'…' with them doubled (as PQescapeLiteral),
/// so the literal means the same whatever standard_conforming_strings is.
public func quoteLiteral(_ s: String) -> String {
    let q = s.replacing("'", with: "''")
    if s.contains("\\") { return "E'" + q.replacing("\\", with: "\\\\") + "'" }
    return "'" + q + "'"
}
