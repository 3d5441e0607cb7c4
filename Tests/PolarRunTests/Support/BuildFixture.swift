import Foundation
import XCTest

/// The directory image-build tests run `build.lua` in: the fixture engine repository
/// (scripts/make-engine-repo.sh) at `engine/`, `fixtures/` → scripts/fixtures and
/// `docker/` → docker, and the fixture image.yml (Tests/Fixtures/build/image.yml).
/// Made once per test process and shared, so Docker's layer cache serves every test.
enum BuildFixture {
    nonisolated(unsafe) private static var made: String?

    static var fixtureYAML: String { Repo.root + "/Tests/Fixtures/build/image.yml" }

    static func dir() throws -> String {
        if let d = made { return d }
        let d = "/tmp/polarrun-buildtests-\(getpid())"
        try? FileManager.default.removeItem(atPath: d)
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let r = try command([Repo.root + "/scripts/make-engine-repo.sh", d + "/engine"])
        guard r.status == 0 else { throw NSError(domain: "make-engine-repo", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.all]) }
        try FileManager.default.createSymbolicLink(atPath: d + "/fixtures", withDestinationPath: Repo.root + "/scripts/fixtures")
        try FileManager.default.createSymbolicLink(atPath: d + "/docker", withDestinationPath: Repo.root + "/docker")
        try FileManager.default.copyItem(atPath: fixtureYAML, toPath: d + "/image.yml")
        made = d
        atexit { if let d = BuildFixture.made { try? FileManager.default.removeItem(atPath: d) } }
        return d
    }

    /// The polarrun binary that goes into images (static Swift runtime): POLARRUN_IMAGE_BIN,
    /// or .build/release/polarrun when present.
    static func imageBinary() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let b = env["POLARRUN_IMAGE_BIN"], !b.isEmpty { return b }
        let local = Repo.root + "/.build/release/polarrun"
        if FileManager.default.fileExists(atPath: local) { return local }
        if env["CI"] == "true" { XCTFail("CI must set POLARRUN_IMAGE_BIN (scripts/test does)") }
        throw XCTSkip("no static polarrun for images: run `swift build -c release --static-swift-stdlib --product polarrun` or set POLARRUN_IMAGE_BIN")
    }

    /// Runs `polarrun [--dry-run] build.lua image_file=... cache_dir=... polarrun_binary=... rootfs=... ARGS`.
    /// `rootfs: nil` passes none (build.lua then looks next to image.yml); so does a `rootfs=` in ARGS.
    static func build(_ imageFile: String, cache: String, docker: DockerEnv?, dryRun: Bool = false,
                      _ extra: [String] = [], rootfs: String? = Repo.root + "/rootfs", json: Bool = false,
                      timeout: TimeInterval = 600) throws -> CommandResult {
        var args = (dryRun ? ["--dry-run"] : []) + (json ? ["--json"] : [])
        args += ["build.lua", "image_file=\(imageFile)", "cache_dir=\(cache)"]
        if let r = rootfs, !extra.contains(where: { $0.hasPrefix("rootfs=") }) { args.append("rootfs=\(r)") }
        if !extra.contains(where: { $0.hasPrefix("polarrun_binary=") }) { args.append("polarrun_binary=\(try imageBinary())") }
        if let d = docker, !extra.contains(where: { $0.hasPrefix("registry=") }) { args.append("registry=\(d.registry)") }
        return try polarrun(args + extra, env: docker?.env ?? [:], timeout: timeout)
    }

    /// The digest the registry serves for `image` (host:port/path:tag).
    static func registryDigest(_ image: String) throws -> String? {
        guard let slash = image.firstIndex(of: "/"), let colon = image.lastIndex(of: ":"), colon > slash else { return nil }
        let host = image[..<slash], path = image[image.index(after: slash)..<colon], tag = image[image.index(after: colon)...]
        let r = try command(["curl", "-sSI", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                             "http://\(host)/v2/\(path)/manifests/\(tag)"])
        for line in r.stdout.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            let l = line.lowercased()
            if l.hasPrefix("docker-content-digest:") {
                return String(line.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func images(_ doc: [String: Any]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for i in doc["images"] as? [[String: Any]] ?? [] { out[i["id"] as? String ?? "?"] = i }
        return out
    }

    /// Writes an image.yml variant next to the fixture (so its relative paths work).
    static func writeYAML(_ name: String, _ text: String) throws -> String {
        let path = try dir() + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
