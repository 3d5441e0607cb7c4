import Foundation

/// docker_build{...} and push(image): the Docker CLI against DOCKER_HOST.
extension Runtime {
    func installImages() {
        lua.setGlobal("docker_build") { [unowned self] call in
            let o = Options(try call.table(1, "build options"), context: "docker_build")
            try o.allow(["tag", "dockerfile", "context", "build_args", "labels", "network", "prefix", "timeout", "pull", "no_cache"])
            guard let tag = try o.string("tag"), !tag.isEmpty else { throw HostError.usage("docker_build: option 'tag' is required") }
            guard let context = try o.string("context") else { throw HostError.usage("docker_build: option 'context' is required") }
            let dockerfile = try o.string("dockerfile") ?? (context as NSString).appendingPathComponent("Dockerfile")
            guard self.fileExists(dockerfile) else { throw HostError.usage("docker_build: Dockerfile \(dockerfile) does not exist") }
            guard self.fileExists(context) else { throw HostError.usage("docker_build: context directory \(context) does not exist") }
            let iid = NSTemporaryDirectory() + "polarrun-iid-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { unlink(iid) }
            var args = [try self.dockerCLI(), "build", "--network", try o.string("network") ?? "host",
                        "-f", dockerfile, "-t", tag, "--iidfile", iid]
            if try o.bool("pull") == true { args.append("--pull") }
            if try o.bool("no_cache") == true { args.append("--no-cache") }
            for (k, v) in (try o.stringMap("build_args") ?? [:]).sorted(by: { $0.key < $1.key }) { args += ["--build-arg", "\(k)=\(v)"] }
            for (k, v) in (try o.stringMap("labels") ?? [:]).sorted(by: { $0.key < $1.key }) { args += ["--label", "\(k)=\(v)"] }
            args.append(context)
            var spec = ProcessSpec(args)
            spec.environment = self.childEnvironment
            spec.timeout = try o.double("timeout") ?? 7200
            let prefix = try o.string("prefix") ?? tag
            spec.onLine = { [unowned self] line, _ in
                let clean = line.replacingOccurrences(of: "\u{1B}[91m", with: "").replacingOccurrences(of: "\u{1B}[0m", with: "")
                if !clean.trimmingCharacters(in: .whitespaces).isEmpty { self.log(.info, "[\(prefix)] \(clean)") }
            }
            if self.mutating("build image \(tag) from \(dockerfile)") { return [.record(["image": .string(tag), "id": ""])] }
            let started = sl_now()
            do {
                try self.runProcess(spec)
            } catch var e as HostError {
                e.kind = "docker"
                e.message = "docker_build \(tag) failed: " + e.message
                throw e
            }
            let id = (try? AtomicFile.read(iid)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            self.log(.info, "[\(prefix)] built \(tag) (\(id.prefix(19))) in \(String(format: "%.1f", sl_now() - started))s")
            return [.record(["image": .string(tag), "id": .string(id.trimmingCharacters(in: .whitespacesAndNewlines))])]
        }
        lua.setGlobal("push") { [unowned self] call in
            let image = try call.string(1, "image")
            let o = Options(try call.optTable(2, "options"), context: "push")
            try o.allow(["retries", "backoff", "timeout", "prefix"])
            let retries = try o.int("retries") ?? 4
            var backoff = try o.double("backoff") ?? 1
            let prefix = try o.string("prefix") ?? image
            if self.mutating("push \(image)") { return [.string("")] }
            var attempt = 0
            while true {
                attempt += 1
                var spec = ProcessSpec([try self.dockerCLI(), "push", image])
                spec.environment = self.childEnvironment
                spec.timeout = try o.double("timeout") ?? 3600
                spec.onLine = { [unowned self] line, _ in
                    if line.contains("digest:") || line.contains("Pushed") || line.contains("error") { self.log(.info, "[\(prefix)] \(line)") }
                }
                let r = try self.runProcess(spec, check: false)
                if r.status == 0, let d = r.stdout.range(of: #"sha256:[0-9a-f]{64}"#, options: .regularExpression) {
                    let digest = String(r.stdout[d])
                    self.log(.info, "[\(prefix)] pushed \(image) \(digest)")
                    return [.string(digest)]
                }
                let why = (r.stderr + r.stdout).split(separator: "\n").last.map(String.init) ?? "exit status \(r.status)"
                let permanent = ["denied", "unauthorized", "does not exist", "invalid reference", "An image does not exist"].contains { why.contains($0) }
                if permanent || attempt > retries {
                    throw HostError("docker", "push \(image) failed after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(why)",
                                    fields: ["attempts": .int(Int64(attempt))])
                }
                self.log(.warning, "[\(prefix)] push attempt \(attempt) failed (\(why)); retrying in \(backoff)s")
                if backoff > self.lua.deadlineRemaining { self.lua.markDeadlineHit(); throw HostError("timeout", "runbook deadline passed while retrying push") }
                usleep(UInt32(backoff * 1_000_000))
                backoff = min(backoff * 2, 30)
            }
        }
    }

    /// The Docker CLI: `POLARRUN_DOCKER`, `/usr/bin/docker`, or `docker` on PATH.
    func dockerCLI() throws -> String {
        if let d = options.environment["POLARRUN_DOCKER"], !d.isEmpty { return d }
        if access("/usr/bin/docker", X_OK) == 0 { return "/usr/bin/docker" }
        if let p = Subprocess.resolve("docker", path: options.environment["PATH"]) { return p }
        throw HostError.usage("the Docker CLI was not found: install docker or set POLARRUN_DOCKER")
    }
}
