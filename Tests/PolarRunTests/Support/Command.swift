import Foundation
import XCTest
@testable import PolarRun

/// The result of a command run by a test.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var all: String { stdout + stderr }
}

/// Runs a program from an argv list and waits for it (tests only). Uses polarrun's own
/// Subprocess (fork/exec from C, every other descriptor closed in the child): Foundation's
/// Process leaked pipe ends into daemons such as a postmaster, so reads never saw EOF.
@discardableResult
func command(_ argv: [String], env: [String: String] = [:], cwd: String? = nil, stdin: String? = nil,
             timeout: TimeInterval = 300) throws -> CommandResult {
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    var spec = ProcessSpec(argv)
    spec.environment = environment
    spec.cwd = cwd
    spec.stdin = stdin
    spec.timeout = timeout
    let r = try Subprocess.run(spec)
    return CommandResult(status: r.status, stdout: r.stdout, stderr: r.stderr)
}

/// Paths of the repository and of the polarrun binary under test.
enum Repo {
    /// The repository root (this file is Tests/PolarRunTests/Support/Command.swift).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The polarrun binary built next to the test bundle (`POLARRUN_BIN` overrides).
    static let binary: String = {
        if let b = ProcessInfo.processInfo.environment["POLARRUN_BIN"], !b.isEmpty { return b }
        // the test runner lives in the same build products directory as polarrun
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("polarrun").path
    }()

    static var runbooks: String { root + "/runbooks" }
}


/// Runs polarrun with arguments; `logFile` defaults to a fresh temporary file.
@discardableResult
func polarrun(_ args: [String], env: [String: String] = [:], cwd: String? = nil, stdin: String? = nil,
              timeout: TimeInterval = 600) throws -> CommandResult {
    try command([Repo.binary] + args, env: env, cwd: cwd, stdin: stdin, timeout: timeout)
}

/// A temporary directory removed at the end of the test; readable by the postgres user.
func makeTempDir(_ test: XCTestCase, prefix: String = "polarrun-test") throws -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { throw NSError(domain: "mkdtemp", code: Int(errno)) }
    let path = String(cString: p)
    chmod(path, 0o755)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// Writes a text file (tests only).
func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

func read(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

/// Waits until `condition` holds or `timeout` passes.
func eventually(_ timeout: TimeInterval = 15, _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        usleep(100_000)
    } while Date() < end
    return false
}

/// A test case that writes small runbooks into its own scratch directory `dir`.
protocol ScratchRunbooks: XCTestCase {
    var dir: String { get }
}

extension ScratchRunbooks {
    /// Writes `source` as `dir/name` and returns its path.
    func runbook(_ name: String, _ source: String) throws -> String {
        let path = "\(dir)/\(name)"
        try write(source, to: path)
        return path
    }
}
