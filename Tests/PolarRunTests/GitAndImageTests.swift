import XCTest

/// git_clone against real local repositories, docker_build and push against the real daemon and registry.
final class GitAndImageTests: XCTestCase {
    func makeRepo(_ dir: String) throws -> (path: String, mainCommit: String, devCommit: String) {
        let repo = dir + "/src.git"
        let git = { (args: [String]) throws -> CommandResult in
            try command(["git", "-C", repo] + args, env: ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"])
        }
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try git(["init", "-q", "-b", "main"])
        for i in 1...3 {
            try write("version \(i)\n", to: repo + "/VERSION")
            try git(["add", "."])
            try git(["commit", "-qm", "v\(i)"])
        }
        let main = try git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try git(["checkout", "-qb", "dev"])
        try write("dev\n", to: repo + "/VERSION")
        try git(["commit", "-qam", "dev"])
        let dev = try git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try git(["checkout", "-q", "main"])
        return (repo, main, dev)
    }

    func testCloneBranchDepthAndMirror() throws {
        let dir = try makeTempDir(self)
        let repo = try makeRepo(dir)
        try write("""
        local a = git_clone(polarrun.params.url, {branch = "dev", depth = 1, dest = polarrun.params.dir .. "/a"})
        local b = git_clone(polarrun.params.url, {dest = polarrun.params.dir .. "/b", mirror = polarrun.params.dir .. "/mirror"})
        local c = git_clone(polarrun.params.url, {branch = "dev", dest = polarrun.params.dir .. "/c", mirror = polarrun.params.dir .. "/mirror"})
        local depth = proc.run({"git", "-C", a.dir, "rev-list", "--count", "HEAD"}).stdout
        return {a = a, b = b, c = c, depth = tonumber(depth), version = fs.read(a.dir .. "/VERSION")}
        """, to: dir + "/clone.lua")
        let r = try polarrun(["--json", dir + "/clone.lua", "url=\(repo.path)", "dir=\(dir)"])
        XCTAssertEqual(r.status, 0, r.all)
        let out = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let a = out["a"] as! [String: Any], b = out["b"] as! [String: Any], c = out["c"] as! [String: Any]
        XCTAssertEqual(a["commit"] as? String, repo.devCommit)
        XCTAssertEqual(a["branch"] as? String, "dev")
        XCTAssertEqual(out["depth"] as? Int, 1)
        XCTAssertEqual(out["version"] as? String, "dev\n")
        XCTAssertEqual(b["commit"] as? String, repo.mainCommit)
        XCTAssertEqual(c["commit"] as? String, repo.devCommit)
        XCTAssertTrue(r.stderr.contains("creating mirror") && r.stderr.contains("fetching"), r.stderr)
    }

    func testCloneErrorsAreClear() throws {
        let dir = try makeTempDir(self)
        let repo = try makeRepo(dir)
        try write("git_clone(polarrun.params.url, {branch = polarrun.params.branch, dest = polarrun.params.dest})", to: dir + "/c.lua")
        let noBranch = try polarrun([dir + "/c.lua", "url=\(repo.path)", "branch=nope", "dest=\(dir)/x"])
        XCTAssertEqual(noBranch.status, 1)
        XCTAssertTrue(noBranch.stderr.contains("branch 'nope' does not exist"), noBranch.stderr)
        let noRepo = try polarrun([dir + "/c.lua", "url=\(dir)/missing.git", "branch=main", "dest=\(dir)/y"])
        XCTAssertEqual(noRepo.status, 1)
        XCTAssertTrue(noRepo.stderr.contains("cannot reach repository"), noRepo.stderr)
        try write("x", to: dir + "/full/file")
        let notEmpty = try polarrun([dir + "/c.lua", "url=\(repo.path)", "branch=main", "dest=\(dir)/full"])
        XCTAssertEqual(notEmpty.status, 2)
        XCTAssertTrue(notEmpty.stderr.contains("not empty"), notEmpty.stderr)
        let option = try polarrun([dir + "/c.lua", "url=\(repo.path)", "branch=--upload-pack=evil", "dest=\(dir)/z"])
        XCTAssertEqual(option.status, 2)
    }

    func testDockerBuildAndPushReturnTheRegistryDigest() throws {
        let docker = try DockerEnv.require()
        let dir = try makeTempDir(self)
        try write("FROM debian:bookworm\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\n", to: dir + "/ctx/Dockerfile")
        let tag = "\(docker.registry)/polarrun-test/prim:\(UInt32.random(in: 0...UInt32.max))"
        try write("""
        local b = docker_build{tag = polarrun.params.tag, context = polarrun.params.ctx, build_args = {GREETING = "hi there"},
                               labels = {["org.opencontainers.image.revision"] = "abc123"}}
        local digest = push(b.image)
        return {id = b.id, digest = digest}
        """, to: dir + "/b.lua")
        let r = try polarrun(["--json", dir + "/b.lua", "tag=\(tag)", "ctx=\(dir)/ctx"], env: docker.env)
        XCTAssertEqual(r.status, 0, r.all)
        let out = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: String]
        XCTAssertTrue(out["id"]!.hasPrefix("sha256:"))
        // the digest polarrun returned is the one the registry serves for the tag
        let ref = tag.split(separator: "/", maxSplits: 1)[1].split(separator: ":")
        let head = try command(["curl", "-sSI", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                                "http://\(docker.registry)/v2/\(ref[0])/manifests/\(ref[1])"])
        XCTAssertTrue(head.stdout.lowercased().contains("docker-content-digest: \(out["digest"]!)"), head.stdout)
        let label = try docker.docker(["inspect", "--format", "{{index .Config.Labels \"org.opencontainers.image.revision\"}}", tag])
        XCTAssertEqual(label.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "abc123")
        let greeting = try docker.docker(["run", "--rm", "--network=host", tag, "cat", "/greeting"])
        XCTAssertEqual(greeting.stdout, "hi there\n", greeting.all)
        XCTAssertTrue(r.stderr.range(of: NSRegularExpression.escapedPattern(for: "[\(tag)]") + #" #\d+ "#, options: .regularExpression) != nil, "build output is streamed with a prefix: \(r.stderr)")
    }

    func testDockerBuildFailureIsClear() throws {
        let docker = try DockerEnv.require()
        let dir = try makeTempDir(self)
        try write("FROM debian:bookworm\nRUN exit 3\n", to: dir + "/ctx/Dockerfile")
        try write("docker_build{tag = 'polarrun-test/fail:1', context = polarrun.params.ctx}", to: dir + "/f.lua")
        let r = try polarrun([dir + "/f.lua", "ctx=\(dir)/ctx"], env: docker.env)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("docker_build polarrun-test/fail:1 failed"), r.stderr)
        try write("docker_build{tag = 'x', context = polarrun.params.ctx, dockerfile = polarrun.params.ctx .. '/nope'}", to: dir + "/m.lua")
        let m = try polarrun([dir + "/m.lua", "ctx=\(dir)/ctx"], env: docker.env)
        XCTAssertEqual(m.status, 2)
        XCTAssertTrue(m.stderr.contains("does not exist"), m.stderr)
    }

    func testBuildsWithWaitFalseRunSideBySideThroughTheirHandles() throws {
        let docker = try DockerEnv.require()
        let dir = try makeTempDir(self)
        // each build sleeps 3 s in a RUN step: one after the other they take 6 s or more
        for n in ["a", "b"] {
            try write("FROM debian:bookworm\nRUN date +%s.%N > /started && sleep 3 && echo \(n)-\(UInt32.random(in: 0...UInt32.max)) > /name\n",
                      to: "\(dir)/\(n)/Dockerfile")
        }
        try write("""
        local t0 = polarrun.now()
        local hs = {}
        for _, n in ipairs({"a", "b"}) do
          hs[#hs + 1] = docker_build{tag = "polarrun-test/par-" .. n .. ":1", context = polarrun.params.dir .. "/" .. n,
                                     wait = false, no_cache = true}
        end
        local done = {}
        for _ = 1, 2 do
          local i, r = proc.wait_any(hs)
          assert(r.ok, r.error)
          done[#done + 1] = {image = r.image, id = r.id, finished = polarrun.now() - t0}
          table.remove(hs, i)
        end
        return {done = done, total = polarrun.now() - t0}
        """, to: dir + "/par.lua")
        let r = try polarrun(["--json", dir + "/par.lua", "dir=\(dir)"], env: docker.env)
        XCTAssertEqual(r.status, 0, r.all)
        let out = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let done = out["done"] as! [[String: Any]]
        XCTAssertEqual(Set(done.map { $0["image"] as! String }), ["polarrun-test/par-a:1", "polarrun-test/par-b:1"])
        for d in done { XCTAssertTrue((d["id"] as! String).hasPrefix("sha256:"), "\(d)") }
        // the two RUN steps overlapped: each started before the other one's 3 s sleep ended
        var started: [Double] = []
        for n in ["a", "b"] {
            let s = try docker.docker(["run", "--rm", "polarrun-test/par-\(n):1", "cat", "/started"])
            started.append(try XCTUnwrap(Double(s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), s.all))
        }
        XCTAssertLessThan(abs(started[0] - started[1]), 3, "the builds ran one after the other: \(started)")
    }

    func testPermanentPushErrorIsNotRetried() throws {
        let docker = try DockerEnv.require()
        let dir = try makeTempDir(self)
        // an image the daemon does not have: no retry can help, so there is one attempt and no backoff
        let image = "\(docker.registry)/polarrun-test/never-built:\(UInt32.random(in: 0...UInt32.max))"
        try write("""
        local h = push(polarrun.params.image, {retries = 4, backoff = 5, wait = false})
        local _, r = proc.wait_any({h})
        return {ok = r.ok, attempts = r.attempts, error = r.error, elapsed = r.elapsed}
        """, to: dir + "/p.lua")
        let r = try polarrun(["--json", dir + "/p.lua", "image=\(image)"], env: docker.env)
        XCTAssertEqual(r.status, 0, r.all)
        let out = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(out["ok"] as? Bool, false)
        XCTAssertEqual(out["attempts"] as? Int, 1, r.all)
        XCTAssertTrue((out["error"] as? String ?? "").contains("push of \(image) failed after 1 attempt: "), r.all)
        XCTAssertLessThan(out["elapsed"] as? Double ?? 99, 5, "no backoff before giving up")
        XCTAssertFalse(r.stderr.contains("retrying in"), r.stderr)
        // waiting (the default) raises the same error, kind docker, exit status 1
        try write("push(polarrun.params.image, {retries = 4, backoff = 5})", to: dir + "/w.lua")
        let w = try polarrun([dir + "/w.lua", "image=\(image)"], env: docker.env)
        XCTAssertEqual(w.status, 1, w.all)
        XCTAssertTrue(w.stderr.contains("failed after 1 attempt: "), w.stderr)
    }
}
