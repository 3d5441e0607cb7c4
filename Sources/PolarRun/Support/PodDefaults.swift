#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The pod's layout as PolarDB Stack sets it up — one copy, used by sql(), pg_ctl, the manager
/// log and (as `polarrun.defaults`) by lib/instance.lua's inputs. Every value can be overridden
/// per run: by an option or input, or by the environment variable named beside it.
public enum PodDefaults {
    /// The data directory (PGDATA); its unix socket is where sql() connects.
    public static let pgdata = "/data"
    /// The pod's log directory: manager.log, and pg_log linked to <pgdata>/pg_log.
    public static let logDir = "/log"
    /// The database OS user the engine runs as (POLARRUN_DB_USER).
    public static let dbUser = "postgres"
    /// Where the engine's binaries are installed in the image (POLARRUN_PG_BIN or bindir first).
    public static let engineBin = "/u01/polardb_pg/bin"
    /// PostgreSQL's port (PGPORT).
    public static let port = 5432
    /// The role and database sql() connects as (PGUSER, PGDATABASE).
    public static let role = "postgres"
    public static let dbname = "postgres"
    /// Seconds sql() waits for a connection.
    public static let connectTimeout = 3
    /// The instance lock marker in the data directory (lock_expired / the supervisor).
    public static let lockName = "ins_lock"

    /// The data directory of this run: PGDATA, else `/data`.
    public static func pgdata(_ env: [String: String]) -> String { nonEmpty(env["PGDATA"]) ?? pgdata }

    /// The database OS user of this run: POLARRUN_DB_USER, else `postgres`.
    public static func dbUser(_ env: [String: String]) -> String { nonEmpty(env["POLARRUN_DB_USER"]) ?? dbUser }

    /// The port of this run: PGPORT, else 5432.
    public static func port(_ env: [String: String]) -> Int { env["PGPORT"].flatMap { Int($0) } ?? port }

    /// The manager log: `/log/manager.log` when `/log` exists (in a pod), else none.
    public static var managerLog: String? {
        FileManager.default.fileExists(atPath: logDir) ? logDir + "/manager.log" : nil
    }

    /// `polarrun.defaults`: the values above as this run sees them (environment applied).
    static func table(_ env: [String: String]) -> LuaValue {
        .record([
            "pgdata": .string(pgdata(env)), "port": .int(Int64(port(env))), "db_user": .string(dbUser(env)),
            "log_dir": .string(logDir), "bindir": .string(engineBin), "role": .string(role), "dbname": .string(dbname),
            "connect_timeout": .int(Int64(connectTimeout)), "lock_name": .string(lockName),
        ])
    }

    private static func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
}
