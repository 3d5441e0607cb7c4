#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import PolarRun

/// `polarrun test [--no-cluster] [--pg-bin DIR] [--verbose] [FILE|DIR ...]`: parsed by hand,
/// since the main command's RUNBOOK argument would otherwise take `test` as a runbook name.
enum TestCommand {
    static let usage = """
    usage: polarrun test [--no-cluster] [--pg-bin DIR] [--verbose] [FILE|DIR ...]

    Runs the *_test.lua files named, or found under each DIR (default: the current directory).
    A file calls test("name", function() ... end) per case; a failing assert or an error fails
    that case. Cases run against a throwaway PostgreSQL cluster created once per run and removed
    at the end (sql() reaches it; the table `cluster` has pgdata, host, port, bin, user).
    --pg-bin DIR (or POLARRUN_TEST_PG_BIN): the engine's programs, default
    /usr/lib/postgresql/15/bin, else /u01/polardb_pg/bin. --no-cluster: pure-Lua tests only.
    with_env({NAME="v" | false}, fn) sets proc.env() values for fn.
    Prints "ok name" / "FAIL name — message" per case and "N passed, N failed" last.
    Exit status: 0 all passed, 1 a case failed, 2 bad usage (no test files, a file that does not load).
    """

    static func run(_ args: [String]) -> Int32 {
        var h = TestHarness()
        var i = 0
        while i < args.count {
            let a = args[i]
            switch a {
            case "-h", "--help": print(usage); return 0
            case "--no-cluster": h.useCluster = false
            case "--verbose": h.verbose = true
            case "--pg-bin":
                guard i + 1 < args.count else { return fail("--pg-bin needs a directory") }
                i += 1
                h.pgBin = args[i]
            default:
                if a.hasPrefix("--pg-bin=") { h.pgBin = String(a.dropFirst(9)) }
                else if a.hasPrefix("-") { return fail("unknown option \(a)") }
                else { h.paths.append(a) }
            }
            i += 1
        }
        return h.run()
    }

    static func fail(_ message: String) -> Int32 {
        Stdio.err("polarrun test: \(message)\n\(usage)\n")
        return 2
    }
}
