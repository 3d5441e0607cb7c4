#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// git_clone(url, {branch=, depth=, dest=, submodules=, mirror=}).
extension Runtime {
    func installGit() {
        lua.define(API.Git.clone) { [unowned self] call in
            let url = try call.string(1, "repository URL")
            let o = Options(try call.optTable(2, "options"), context: call.name)
            guard let dest = try o.string("dest") else { throw HostError.usage("git_clone: option 'dest' (the directory to clone into) is required") }
            let branch = try o.string("branch")
            if let b = branch, b.hasPrefix("-") || b.isEmpty { throw HostError.usage("git_clone: invalid branch name '\(b)'") }
            if url.hasPrefix("-") || url.contains("::") || url.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw HostError.usage("git_clone: invalid repository URL '\(url)' (no leading '-', no '<transport>::', no control characters)")
            }
            if let b = branch, b.utf8.count > 255 || b.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw HostError.usage("git_clone: invalid branch name (longer than 255 bytes or with control characters)")
            }
            let depth = try o.int("depth")
            let timeout = try o.double("timeout") ?? 1800
            let destEntries = self.recorder.map { $0.files.list(dest) } ?? (try? FileManager.default.contentsOfDirectory(atPath: dest))
            if self.fileExists(dest), !(destEntries?.isEmpty ?? true) {
                throw HostError.usage("git_clone: destination \(dest) exists and is not empty")
            }
            var source = url
            if let mirror = try o.string("mirror") {
                try self.updateMirror(url: url, mirror: mirror, timeout: timeout)
                source = mirror
            }
            var args = ["git", "clone", "--quiet"]
            if let b = branch { args += ["--branch", b, "--single-branch"] }
            if let d = depth { args += ["--depth", String(d)] }
            if source.hasPrefix("/") && depth != nil { source = "file://" + source }
            args += ["--", source, dest]
            var spec = ProcessSpec(args)
            spec.timeout = timeout
            spec.environment = self.gitEnvironment()
            do {
                try self.runProcess(spec)
            } catch var e as HostError {
                if let stderr = e.fields["stderr"]?.stringValue {
                    if stderr.contains("Remote branch") && stderr.contains("not found") {
                        e.message = "git_clone: branch '\(branch ?? "")' does not exist in \(url)"
                    } else if stderr.contains("does not appear to be a git repository") || stderr.contains("does not exist") || stderr.contains("not found") || stderr.contains("Could not resolve") || stderr.contains("unable to access") {
                        e.message = "git_clone: cannot reach repository \(url): \(stderr.split(separator: "\n").first ?? "")"
                    }
                }
                e.kind = "git"
                throw e
            }
            if try o.bool("submodules") ?? false {
                var sub = ProcessSpec(["git", "-C", dest, "submodule", "update", "--init", "--recursive"] + (depth.map { ["--depth", String($0)] } ?? []))
                sub.timeout = timeout
                sub.environment = self.gitEnvironment()
                try self.runProcess(sub)
            }
            var rev = ProcessSpec(["git", "-C", dest, "rev-parse", "HEAD"])
            rev.environment = self.gitEnvironment()
            let commit = self.options.dryRun ? "0000000000000000000000000000000000000000"
                : try self.runProcess(rev, readonly: true, quiet: true).stdout.trimmingWhitespace()
            var head = ProcessSpec(["git", "-C", dest, "rev-parse", "--abbrev-ref", "HEAD"])
            head.environment = self.gitEnvironment()
            let actual = self.options.dryRun ? (branch ?? "HEAD")
                : try self.runProcess(head, readonly: true, quiet: true).stdout.trimmingWhitespace()
            self.log(.info, "cloned \(url) \(actual) at \(commit.prefix(12)) into \(dest)")
            return [.record(["dir": .string(dest), "commit": .string(commit), "branch": .string(actual), "url": .string(url)])]
        }
    }

    /// A bare mirror of `url` kept at `mirror`: created once, then fetched.
    func updateMirror(url: String, mirror: String, timeout: Double) throws {
        if mutating("update the mirror \(mirror) of \(url)") { return }
        var spec: ProcessSpec
        if FileManager.default.fileExists(atPath: mirror.appendingPathComponent("HEAD")) {
            log(.info, "fetching \(url) into mirror \(mirror)")
            spec = ProcessSpec(["git", "-C", mirror, "fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"])
        } else {
            log(.info, "creating mirror of \(url) at \(mirror)")
            try FileManager.default.createDirectory(atPath: mirror.deletingLastPathComponent, withIntermediateDirectories: true)
            spec = ProcessSpec(["git", "clone", "--quiet", "--mirror", "--", url, mirror])
        }
        spec.timeout = timeout
        spec.environment = gitEnvironment()
        do { try runProcess(spec) } catch var e as HostError {
            e.kind = "git"
            e.message = "git_clone: cannot reach repository \(url): \((e.fields["stderr"]?.stringValue ?? e.message).split(separator: "\n").first ?? "")"
            throw e
        }
    }

    func gitEnvironment() -> [String: String] {
        var env = childEnvironment
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_ASKPASS"] = "/bin/true"
        // transports a URL chooses (`fd::`, `ext::` and other `<helper>::` forms) are refused:
        // git then allows only the known-safe ones (https, ssh, git, file)
        env["GIT_PROTOCOL_FROM_USER"] = "0"
        env["GIT_ALLOW_PROTOCOL"] = "https:http:ssh:git:file"
        return env
    }
}
