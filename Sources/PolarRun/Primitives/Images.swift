#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// docker_build{...} and push(image, opts): the Docker CLI against DOCKER_HOST.
///
/// Both wait by default: docker_build returns `{image=, id=}`, push the registry digest, and a
/// failure raises. With `wait=false` they return a process handle at once, so several builds
/// and pushes run side by side: `proc.wait_any`, `h:wait()` and `h:poll()` give its result
/// (`ok`, `status`, `stdout`, `stderr`, `elapsed`, plus `image`, `id` / `digest`, `attempts`,
/// and `error` when it failed) and never raise for the build's own failure.
/// Push retries with backoff happen inside the handle: this is the one place they exist.
extension Runtime {
    /// Registry and CLI answers that another attempt cannot change: a push failing with one
    /// of these is not retried.
    static let permanentPushErrors = ["denied", "unauthorized", "authentication required", "does not exist",
                                      "invalid reference"]

    func installImages() {
        lua.define(API.Images.build) { [unowned self] call in
            let o = Options(try call.table(1, "build options"), context: call.name)
            guard let tag = try o.string("tag"), !tag.isEmpty else { throw HostError.usage("docker_build: option 'tag' is required") }
            guard let context = try o.string("context") else { throw HostError.usage("docker_build: option 'context' is required") }
            let dockerfile = try o.string("dockerfile") ?? context.appendingPathComponent("Dockerfile")
            guard self.fileExists(dockerfile) else { throw HostError.usage("docker_build: Dockerfile \(dockerfile) does not exist") }
            guard self.fileExists(context) else { throw HostError.usage("docker_build: context directory \(context) does not exist") }
            let wait = try o.bool("wait") ?? true
            let quiet = try o.bool("quiet") ?? false
            let timeout = try o.double("timeout") ?? 7200
            let iid = temporaryDirectory() + "polarrun-iid-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            // BuildKit (built into Docker 20.10 and later): cache mounts (`RUN --mount=type=cache`)
            // keep the engine's compiler cache between builds; plain progress is one line per event
            var args = [try self.dockerCLI(), "build", "--progress", "plain", "--network", try o.string("network") ?? "host",
                        "-f", dockerfile, "-t", tag, "--iidfile", iid]
            if try o.bool("pull") == true { args.append("--pull") }
            if try o.bool("no_cache") == true { args.append("--no-cache") }
            for (k, v) in (try o.stringMap("build_args") ?? [:]).sorted(by: { $0.key < $1.key }) { args += ["--build-arg", "\(k)=\(v)"] }
            for (k, v) in (try o.stringMap("labels") ?? [:]).sorted(by: { $0.key < $1.key }) { args += ["--label", "\(k)=\(v)"] }
            args.append(context)
            var spec = ProcessSpec(args)
            spec.environment = self.childEnvironment.merging(["DOCKER_BUILDKIT": "1"]) { _, new in new }
            spec.timeout = timeout
            let prefix = try o.string("prefix") ?? tag
            let child = try self.dockerChild(o, prefix: prefix)
            if self.mutating("build image \(tag) from \(dockerfile)") {
                child.finishWithoutRunning(LuaTable(["image": .string(tag), "id": ""]))
                return try self.settle(child, wait: wait) { _ in [.record(["image": .string(tag), "id": ""])] }
            }
            let place = child.place, sink = self.sink
            child.onEnd = { h in
                defer { unlink(iid) }
                let id = ((try? AtomicFile.read(iid)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? "")
                    .trimmingWhitespace()
                if h.exitStatus == 0 && !h.didTimeOut && id.hasPrefix("sha256:") {
                    if !quiet { sink.emit(level: .info, where: place, message: "[\(prefix)] built \(tag) (\(id.prefix(19))) in \(cFormat("%.1f", h.age))s") }
                    return .done(ok: true, fields: LuaTable(["image": .string(tag), "id": .string(id)]))
                }
                let why = h.didTimeOut ? "timed out after \(Int(timeout))s" : "exit status \(h.exitStatus ?? -1)"
                let out = h.output
                return .done(ok: false, fields: LuaTable([
                    "image": .string(tag),
                    "error": .string("docker_build \(tag) failed (\(why)):\n" + lastLines(out.stderr + "\n" + out.stdout, 6)),
                ]))
            }
            try self.startChild(child, spec)
            return try self.settle(child, wait: wait) { r in [.record(["image": r["image"], "id": r["id"]])] }
        }
        lua.define(API.Images.push) { [unowned self] call in
            let image = try call.string(1, "image")
            let o = Options(try call.optTable(2, "options"), context: call.name)
            let retries = try o.int("retries") ?? 4
            var backoff = try o.double("backoff") ?? 1
            let wait = try o.bool("wait") ?? true
            let quiet = try o.bool("quiet") ?? false
            let prefix = try o.string("prefix") ?? image
            var spec = ProcessSpec([try self.dockerCLI(), "push", image])
            spec.environment = self.childEnvironment
            spec.timeout = try o.double("timeout") ?? 3600
            let child = try self.dockerChild(o, prefix: prefix)
            if self.mutating("push \(image)") {
                child.finishWithoutRunning(LuaTable(["image": .string(image), "digest": "", "attempts": 0]))
                return try self.settle(child, wait: wait) { _ in [.string("")] }
            }
            let place = child.place, sink = self.sink
            var attempt = 1
            child.onEnd = { h in
                let out = h.output
                if h.exitStatus == 0, !h.didTimeOut,
                   let d = out.stdout.firstRange(of: #/digest: sha256:[0-9a-f]{64}/#) {
                    let digest = String(out.stdout[d].dropFirst("digest: ".count))
                    if !quiet { sink.emit(level: .info, where: place, message: "[\(prefix)] pushed \(image) \(digest) (attempt \(attempt))") }
                    return .done(ok: true, fields: LuaTable(["image": .string(image), "digest": .string(digest), "attempts": .int(Int64(attempt))]))
                }
                var why = lastLines(out.stderr, 1)
                if why.isEmpty { why = lastLines(out.stdout, 1) }
                if h.didTimeOut { why = "timed out after \(Int(spec.timeout ?? 0))s" + (why.isEmpty ? "" : " (\(why))") }
                if why.isEmpty { why = "exit status \(h.exitStatus ?? -1)" }
                let permanent = Runtime.permanentPushErrors.contains { why.contains($0) }
                if permanent || attempt > retries {
                    return .done(ok: false, fields: LuaTable([
                        "image": .string(image), "attempts": .int(Int64(attempt)),
                        "error": .string("push of \(image) failed after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(why)"),
                    ]))
                }
                sink.emit(level: .warning, where: place,
                          message: "[\(prefix)] push attempt \(attempt) of \(retries + 1) failed (\(why)); retrying in \(cFormat("%g", backoff))s")
                attempt += 1
                defer { backoff = min(backoff * 2, 30) }
                return .again(spec, after: backoff)
            }
            try self.startChild(child, spec)
            return try self.settle(child, wait: wait) { r in [r["digest"]] }
        }
    }

    /// The handle of a docker build or push (options `prefix`, `since`, `progress`).
    private func dockerChild(_ o: Options, prefix: String) throws -> ChildProcess {
        ChildProcess(sink: sink, place: whereInLua(), prefix: prefix, since: try o.double("since"),
                     capture: true, logOutput: true, progress: try o.string("progress"))
    }

    private func startChild(_ child: ChildProcess, _ spec: ProcessSpec) throws {
        try child.start(spec)
        if let state = child.progress, let label = child.prefix { sink.board?.begin(label, state: state) }
    }

    /// `wait=false`: the handle. Otherwise waits; a failure raises (kind "docker", with the
    /// attempts of a push), a success returns `value(result)`.
    private func settle(_ child: ChildProcess, wait: Bool, _ value: (LuaTable) -> [LuaValue]) throws -> [LuaValue] {
        guard wait else { return [.object(child)] }
        _ = try waitAny([child], timeout: nil)
        let r = child.result()
        guard case .bool(true) = r["ok"] else {
            var fields: [String: LuaValue] = [:]
            if case .int = r["attempts"] { fields["attempts"] = r["attempts"] }
            throw HostError("docker", r["error"].stringValue ?? "failed", fields: fields)
        }
        return value(r)
    }

    /// The Docker CLI: `POLARRUN_DOCKER`, `/usr/bin/docker`, or `docker` on PATH.
    func dockerCLI() throws -> String {
        if let d = options.environment["POLARRUN_DOCKER"], !d.isEmpty { return d }
        if access("/usr/bin/docker", X_OK) == 0 { return "/usr/bin/docker" }
        if let p = Subprocess.resolve("docker", path: options.environment["PATH"]) { return p }
        throw HostError.usage("the Docker CLI was not found: install docker or set POLARRUN_DOCKER")
    }
}

/// The last `n` non-blank lines of `text`.
private func lastLines(_ text: String, _ n: Int) -> String {
    let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).filter { !$0.allSatisfy(\.isWhitespace) }
    return lines.suffix(n).joined(separator: "\n")
}
