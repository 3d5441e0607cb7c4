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
