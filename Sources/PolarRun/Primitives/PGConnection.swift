import CLibPQ
import CLua
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import LuaShim

/// One libpq connection. Queries are sent asynchronously and waited for with poll(), so
/// the run's deadline can cancel a statement in flight (PQcancel).
public final class PGConnection: HostObject {
    public static let metatableName = "polarrun.pgconn"
    public static let typeLabel = "connection"

    var conn: OpaquePointer?
    public let description: String

    /// Connects with keyword/value pairs (never a built connection string).
    public init(params: [(String, String)], timeout: Double) throws {
        var params = params
        if !params.contains(where: { $0.0 == "connect_timeout" }) {
            params.append(("connect_timeout", String(max(1, Int(timeout.rounded(.up))))))
        }
        description = params.filter { ["host", "port", "user", "dbname"].contains($0.0) }
            .map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        var why = [CChar](repeating: 0, count: 512)
        if pq_load(&why, why.count) != 0 {
            throw HostError("connect", "cannot load libpq, PostgreSQL's client library (install libpq5): \(String(cString: why))")
        }
        let keys = params.map { strdup($0.0) } + [nil]
        let values = params.map { strdup($0.1) } + [nil]
        defer { keys.forEach { free($0) }; values.forEach { free($0) } }
        let c = keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                PQconnectdbParams(UnsafePointer(k.baseAddress).map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) },
                                  UnsafePointer(v.baseAddress).map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) }, 0)
            }
        }
        guard let c else { throw HostError("connect", "cannot connect to PostgreSQL (\(description)): out of memory") }
        if PQstatus(c) != CONNECTION_OK {
            let msg = String(cString: PQerrorMessage(c)).trimmingWhitespace()
            PQfinish(c)
            throw HostError("connect", "cannot connect to PostgreSQL (\(description)): \(msg)")
        }
        conn = c
    }

    public func close() {
        if let c = conn { PQfinish(c); conn = nil }
    }

    deinit { close() }

    /// The server's version number, e.g. 150018.
    public var serverVersion: Int { conn.map { Int(PQserverVersion($0)) } ?? 0 }

    /// Runs one statement with text parameters (nil is SQL NULL).
    /// `timeout` seconds: the statement is cancelled when it passes (`timedOutByDeadline` tells why).
    public func execute(_ query: String, _ params: [String?], timeout: Double, onDeadline: () -> Bool) throws -> LuaValue {
        guard let c = conn else { throw HostError.usage("the connection is closed") }
        let cparams = params.map { $0.map { strdup($0) } ?? nil }
        defer { cparams.forEach { free($0) } }
        let sent = cparams.withUnsafeBufferPointer { p in
            PQsendQueryParams(c, query, Int32(params.count), nil,
                              UnsafePointer(p.baseAddress).map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) },
                              nil, nil, 0)
        }
        guard sent == 1 else { throw connectionError(c) }
        let start = sl_now()
        var cancelled = false
        var cancelledByDeadline = false
        while PQisBusy(c) == 1 {
            let left = timeout - (sl_now() - start)
            if left <= 0 && !cancelled {
                cancelled = true
                cancelledByDeadline = onDeadline()
                if let cancel = PQgetCancel(c) {
                    var err = [CChar](repeating: 0, count: 256)
                    PQcancel(cancel, &err, 256)
                    PQfreeCancel(cancel)
                }
            }
            var pfd = pollfd(fd: PQsocket(c), events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, cancelled ? 200 : Int32(max(1, min(200, left * 1000))))
            if PQconsumeInput(c) == 0 { throw connectionError(c) }
        }
        var value: LuaValue = .nil
        var failure: HostError? = nil
        while let r = PQgetResult(c) {
            switch PQresultStatus(r) {
            case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
                value = .pushable(SQLRows(r))   // owns r: cleared once its rows are pushed into Lua
                continue
            default: break
            }
            defer { PQclear(r) }
            switch PQresultStatus(r) {
            case PGRES_COMMAND_OK:
                let tag = String(cString: PQcmdStatus(r))
                let affected = Int64(String(cString: PQcmdTuples(r))) ?? 0
                value = .record(["command": .string(tag.split(separator: " ").first.map(String.init) ?? tag),
                                 "affected": .int(affected)])
            case PGRES_EMPTY_QUERY: value = .record(["command": "", "affected": 0])
            default:
                if failure == nil { failure = resultError(r) }
            }
        }
        if cancelled {
            if cancelledByDeadline { throw HostError("timeout", "SQL statement cancelled: runbook deadline (--timeout) passed") }
            throw HostError("sql", "SQL statement cancelled after its timeout of \(timeout)s", fields: ["sqlstate": "57014"])
        }
        if let failure { throw failure }
        return value
    }

    /// Text → Lua by column type: booleans, integers and floats become Lua values; the rest strings.
    static func typed(_ text: String, oid: Oid) -> LuaValue {
        switch oid {
        case 16: return .bool(text == "t")
        case 20, 21, 23, 26, 28: return Int64(text).map { .int($0) } ?? .string(text)
        case 700, 701, 1700:
            if let d = Double(text) { return .number(d) }
            return .string(text)
        default: return .string(text)
        }
    }

    private func resultError(_ r: OpaquePointer) -> HostError {
        func field(_ code: Int32) -> String? { PQresultErrorField(r, code).map { String(cString: $0) } }
        let state = field(Int32(UInt8(ascii: "C"))) ?? ""
        let primary = field(Int32(UInt8(ascii: "M"))) ?? String(cString: PQresultErrorMessage(r))
        let severity = field(Int32(UInt8(ascii: "S"))) ?? "ERROR"
        var fields: [String: LuaValue] = ["sqlstate": .string(state), "severity": .string(severity)]
        if let d = field(Int32(UInt8(ascii: "D"))) { fields["detail"] = .string(d) }
        if let h = field(Int32(UInt8(ascii: "H"))) { fields["hint"] = .string(h) }
        return HostError("sql", "\(severity) \(state): \(primary)", fields: fields)
    }

    private func connectionError(_ c: OpaquePointer) -> HostError {
        let msg = String(cString: PQerrorMessage(c)).trimmingWhitespace()
        return HostError("connect", "connection to PostgreSQL lost (\(description)): \(msg)")
    }

    /// `conn:query(sql, params, {timeout=})`, like `sql()` on this connection.
    public static func methods() -> [String: HostFunction] {
        Dictionary(uniqueKeysWithValues: [API.Handles.query.method { call in
            let conn = try call.object(1, as: PGConnection.self)
            let query = try call.string(2, "query")
            let params = try sqlParams(call[3])
            let o = Options(try call.optTable(4, "options"), context: call.name)
            guard let rt = call.state.owner as? Runtime else { throw HostError.runtime("no runtime") }
            return [try rt.execute(conn, query, params, timeout: try o.double("timeout"))]
        }])
    }
}

/// A query's rows, pushed into Lua as a list of {column = value} tables straight from the
/// PGresult: no Swift copy of every row in between (that copy cost ~400 bytes a row, so
/// 1e6 rows peaked at ~500 MB against psql's 87 MB). Values are typed as `PGConnection.typed`
/// does; text that is not valid UTF-8 is repaired into U+FFFD as before.
final class SQLRows: LuaPushable {
    private var result: OpaquePointer?

    init(_ result: OpaquePointer) { self.result = result }
    deinit { if let r = result { PQclear(r) } }

    func push(_ L: OpaquePointer) {
        guard let r = result else { lua_createtable(L, 0, 0); return }
        let nrows = PQntuples(r), ncols = PQnfields(r)
        let types = (0..<ncols).map { PQftype(r, $0) }
        // Everything pushed here stays reachable: a collection cycle meanwhile finds no garbage
        // and only re-traverses the growing result (a third of the time at 1e6 rows).
        let collecting = sl_gc_isrunning(L) != 0
        if collecting { sl_gc_stop(L) }
        defer { if collecting { sl_gc_restart(L) } }
        lua_createtable(L, nrows, 0)
        for i in 0..<nrows {
            lua_createtable(L, 0, ncols)
            for j in 0..<ncols {
                lua_pushstring(L, PQfname(r, j))
                if PQgetisnull(r, i, j) == 1 {
                    sl_push_null(L)
                } else {
                    let len = Int(PQgetlength(r, i, j))
                    let p = UnsafeRawPointer(PQgetvalue(r, i, j)!).assumingMemoryBound(to: UInt8.self)
                    let bytes = UnsafeBufferPointer(start: p, count: len)
                    switch types[Int(j)] {
                    case 16, 20, 21, 23, 26, 28, 700, 701, 1700:   // short: the typed Swift path
                        switch PGConnection.typed(String(decoding: bytes, as: UTF8.self), oid: types[Int(j)]) {
                        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
                        case .int(let n): lua_pushinteger(L, lua_Integer(n))
                        case .number(let d): lua_pushnumber(L, d)
                        case .string(var s):
                            s.withUTF8 { b in
                                b.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, b.count) }
                            }
                        default: sl_push_null(L)   // typed() returns only the four above
                        }
                    default:
                        if bytes.allSatisfy({ $0 < 0x80 }) {
                            _ = lua_pushlstring(L, UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self), len)
                        } else {
                            var s = String(decoding: bytes, as: UTF8.self)   // validates (repairs) UTF-8
                            s.withUTF8 { b in
                                b.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, b.count) }
                            }
                        }
                    }
                }
                lua_rawset(L, -3)
            }
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
        PQclear(r)
        result = nil
    }
}
