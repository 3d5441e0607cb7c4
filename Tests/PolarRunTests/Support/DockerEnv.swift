import Foundation
import XCTest

/// The Docker daemon and registry started by `scripts/docker-up.sh` (in CI by `.ci/run`).
/// Tests read `DOCKER_HOST` and `POLARRUN_TEST_REGISTRY`, or `POLARRUN_TEST_DOCKER_ENV`
/// naming the env file docker-up wrote. Without them the Docker tests are skipped locally
/// and fail in CI (CI=true), so a missing daemon never passes silently.
struct DockerEnv {
    let env: [String: String]
    var registry: String { env["POLARRUN_TEST_REGISTRY"]! }
    var stateDir: String? { env["POLARRUN_TEST_DOCKER_STATE"] }
    static let docker = "/usr/bin/docker"

    static func require() throws -> DockerEnv {
        var env: [String: String] = [:]
        let pe = ProcessInfo.processInfo.environment
        if let file = pe["POLARRUN_TEST_DOCKER_ENV"], let text = try? String(contentsOfFile: file, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                env[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            env["POLARRUN_TEST_DOCKER_STATE"] = (file as NSString).deletingLastPathComponent
        }
        for k in ["DOCKER_HOST", "POLARRUN_TEST_REGISTRY"] where env[k] == nil { env[k] = pe[k] }
        guard env["DOCKER_HOST"] != nil, env["POLARRUN_TEST_REGISTRY"] != nil else {
            if pe["CI"] == "true" { XCTFail("CI must provide a Docker daemon and registry (see .ci/run)") }
            throw XCTSkip("no Docker daemon: run `scripts/docker-up.sh DIR` and set POLARRUN_TEST_DOCKER_ENV=DIR/env")
        }
        env["POLARRUN_DOCKER"] = docker
        return DockerEnv(env: env)
    }

    /// Runs the Docker CLI against the test daemon.
    @discardableResult
    func docker(_ args: [String], timeout: TimeInterval = 600) throws -> CommandResult {
        try command([DockerEnv.docker] + args, env: env, timeout: timeout)
    }
}
