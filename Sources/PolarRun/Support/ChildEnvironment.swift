#if canImport(Glibc)
import Glibc
#endif

/// What a child process inherits from polarrun's environment: an allow-list, so variables a
/// caller set for polarrun alone (PolarDB Stack's `srv_opr_password` …) never reach a child,
/// and least of all a long-lived postmaster whose /proc/PID/environ outlives the run.
/// A runbook passes anything else explicitly (`run(argv, {env = {...}})`).
public enum ChildEnvironment {
    /// Inherited by name.
    static let names: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "LANG", "LANGUAGE", "TMPDIR",
        "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "SSH_AUTH_SOCK", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
        "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    ]
    /// Inherited by prefix: locale, libpq and the engine, polarrun's own settings (children are
    /// often polarrun), Docker and git.
    static let prefixes = ["LC_", "PG", "POLARDB_", "POLARRUN_", "DOCKER_", "GIT_"]

    /// The part of `environment` a child inherits. Password-like names (PGPASSWORD …) are never
    /// inherited, even under an allowed prefix.
    public static func inherited(_ environment: [String: String]) -> [String: String] {
        environment.filter { key, _ in
            (names.contains(key) || prefixes.contains { key.hasPrefix($0) }) && !Secrets.isSecretKey(key)
        }
    }
}

/// The process environment as a dictionary. ProcessInfo.environment builds the same from
/// `environ` but splits each entry Character by Character: ~0.9 M instructions at every start,
/// an eighth of a trivial run. C strings here (the first `=` ends the name; the first of two
/// entries with one name wins, as getenv).
public func processEnvironment() -> [String: String] {
    var env: [String: String] = [:]
    let start: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
    guard var p = start else { return env }
    var n = 0
    while p[n] != nil { n += 1 }
    env.reserveCapacity(n)   // growing rehashes every name: 2/3 of the cost without this
    while let entry = p.pointee {
        if let eq = strchr(entry, Int32(UInt8(ascii: "="))) {
            let name = UnsafeRawBufferPointer(start: entry, count: eq - entry).bindMemory(to: UInt8.self)
            let key = String(decoding: name, as: UTF8.self)
            if env[key] == nil { env[key] = String(cString: eq + 1) }
        }
        p += 1
    }
    return env
}
