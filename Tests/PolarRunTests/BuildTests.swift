import Foundation
import XCTest

/// runbooks/build.lua against real parts: a git repository made by the test, the Docker
/// daemon and the loopback registry of scripts/docker-up.sh. Tests are ordered by name
/// (A, B, C...) so the Docker layer cache of one serves the next.
final class BuildTests: XCTestCase {
    /// Runs a shell command with system(3) and returns its exit status.
    func shell(_ script: String) -> Int32 {
        let st = system(script)
        return (st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f)
    }

    func lines(_ text: String, containing s: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains(s) }
    }

    func firstIndex(_ text: String, _ s: String) -> Int? {
        text.split(separator: "\n").firstIndex { $0.contains(s) }
    }

    // MARK: full build

    func testA_FullBuildOfTwoEnginesAndAManagerPushesAndRecords() throws {
        let docker = try DockerEnv.require()
        let dir = try BuildFixture.dir()
        let tmp = try makeTempDir(self)
        let result = tmp + "/out/image.result"
        let r = try BuildFixture.build(dir + "/image.yml", cache: tmp + "/cache", docker: docker,
                                       ["reuse=false", "parallel=2", "result=\(result)"])
        XCTAssertEqual(r.status, 0, r.all)

        // one shared clone for the two engines (same repository and branch), through a new mirror
        XCTAssertEqual(lines(r.stderr, containing: "[source]").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cloned a new mirror"), r.stderr)
        // the two engines have the same Dockerfile and build args: the second builds from the
        // first one's layers instead of running the same steps at the same time
        XCTAssertTrue(r.stderr.contains("[engine_release] builds after engine_test (same Dockerfile and build args"), r.stderr)
        let builtTest = try XCTUnwrap(r.stderr.split(separator: "\n").firstIndex { $0.contains("[engine_test ") && $0.contains("] built ") })
        let startRelease = try XCTUnwrap(firstIndex(r.stderr, "[engine_release] building"))
        XCTAssertLessThan(builtTest, startRelease)
        // the manager started after its engine was built (not after its push)
        let releaseBuilt = try XCTUnwrap(r.stderr.split(separator: "\n").firstIndex { $0.contains("[engine_release ") && $0.contains("] built ") })
        let managerStart = try XCTUnwrap(firstIndex(r.stderr, "[manager] building"))
        XCTAssertLessThan(releaseBuilt, managerStart)
        // per-image prefixes with elapsed seconds, and a summary table
        XCTAssertTrue(r.stderr.range(of: #"\[engine_test \d+\.\ds\] #\d+ \[[a-z0-9-]+ \d+/\d+\] FROM docker\.io/library/debian:bookworm"#, options: .regularExpression) != nil, r.stderr)
        // the fixture engine compiles through ccache: when the compile step ran (it may come from
        // Docker's layer cache), its statistics are read and logged
        if r.stderr.range(of: #"\[engine_test [0-9.]+s\] #\d+ [0-9.]+ ccache statistics of this build:"#, options: .regularExpression) != nil {
            XCTAssertTrue(r.stderr.range(of: #"\[engine_test\] compiler cache: \d+ of 13 compilations were hits"#, options: .regularExpression) != nil, r.stderr)
        }
        XCTAssertTrue(r.stderr.contains("IMAGE ID"), r.stderr)
        XCTAssertTrue(r.stderr.range(of: #"manager\s+manager\s+built\s+\d+\.\ds"#, options: .regularExpression) != nil, r.stderr)

        // result file: one image name per line; JSON companion with digests the registry serves
        let names = read(result).split(separator: "\n").map(String.init)
        XCTAssertEqual(names.count, 3, read(result))
        let doc = try BuildFixture.json(result + ".json")
        let imgs = BuildFixture.images(doc)
        let commit = try command(["git", "-C", dir + "/engine", "rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for id in ["engine_test", "engine_release", "manager"] {
            let img = try XCTUnwrap(imgs[id], id)
            XCTAssertEqual(img["status"] as? String, "built")
            let image = try XCTUnwrap(img["image"] as? String)
            XCTAssertTrue(names.contains(image))
            XCTAssertTrue(image.hasPrefix(docker.registry + "/polarrun-fixture/"), image)
            let digest = try XCTUnwrap(img["digest"] as? String, id)
            XCTAssertEqual(try BuildFixture.registryDigest(image), digest, "registry digest of \(image)")
        }
        let engine = try XCTUnwrap(imgs["engine_release"]?["image"] as? String)
        XCTAssertNotNil(engine.range(of: #":11\.9\.20200813\.\#(commit.prefix(8))\.\d{14}$"#, options: .regularExpression), engine)
        XCTAssertEqual((imgs["engine_release"]?["engine"] as? [String: Any])?["commit"] as? String, commit)
        XCTAssertEqual(imgs["engine_release"]?["base_image"] as? String, "debian:bookworm")
        let manager = try XCTUnwrap(imgs["manager"]?["image"] as? String)
        XCTAssertEqual(imgs["manager"]?["base_image"] as? String, engine)
        let ownCommit = try command(["git", "-C", Repo.root, "rev-parse", "HEAD"]).stdout.prefix(8)
        XCTAssertNotNil(manager.range(of: #":\d{14}\.\#(ownCommit)$"#, options: .regularExpression), manager)

        // labels: the original's build args (as the Dockerfile's LABELs) and the OCI labels
        let inspect = try docker.docker(["inspect", "--format", "{{json .Config.Labels}}", engine])
        let labels = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: String], inspect.all)
        XCTAssertEqual(labels["PolarVersion"], commit)
        XCTAssertEqual(labels["PolarBranch"], "main")
        XCTAssertEqual(labels["PolarSource"], dir + "/engine")
        XCTAssertEqual(labels["CodeSource"]?.isEmpty, false)
        XCTAssertEqual(labels["org.opencontainers.image.revision"], commit)
        XCTAssertEqual(labels["org.opencontainers.image.source"], dir + "/engine")
        XCTAssertEqual(labels["org.opencontainers.image.base.name"], "debian:bookworm")
        XCTAssertEqual(labels["org.opencontainers.image.version"], String(engine.split(separator: ":").last!))
        XCTAssertNotNil(labels["org.opencontainers.image.created"]?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression))
        let mlabels = try docker.docker(["inspect", "--format", "{{index .Config.Labels \"org.opencontainers.image.base.name\"}}", manager])
        XCTAssertEqual(mlabels.stdout.trimmingCharacters(in: .whitespacesAndNewlines), engine)
        // the config template went into the engine (rootfs/), and the manager is FROM it
        let conf = try docker.docker(["run", "--rm", "--network", "none", manager, "cat", "/postgresql.conf.sample"])
        XCTAssertEqual(conf.status, 0, conf.all)
        XCTAssertTrue(conf.stdout.contains("max_connections"))

        // the manager runs polarrun (static Swift runtime) and lists the bundled runbooks
        let version = try docker.docker(["run", "--rm", "--network", "none", manager, "polarrun", "--version"])
        XCTAssertEqual(version.status, 0, version.all)
        XCTAssertFalse(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        let list = try docker.docker(["run", "--rm", "--network", "none", manager, "polarrun", "--list"])
        XCTAssertEqual(list.status, 0, list.all)
        XCTAssertTrue(list.stdout.contains("build.lua"), list.stdout)
    }

    // MARK: second build

    func testB_SecondBuildFetchesReusesAndFollowsTheBranch() throws {
        let docker = try DockerEnv.require()
        let dir = try BuildFixture.dir()
        let tmp = try makeTempDir(self)
        let cache = tmp + "/cache"
        let yml = try BuildFixture.writeYAML("second.yml", """
        images:
          - id: engine_release
            type: engine
            build_image_name: polarrun-fixture/engine_release
            build_image_dockerfile: ./fixtures/Dockerfile.engine.fixture
            engine_repo: ./engine
            engine_branch: main
            engine_config_template: src/backend/utils/misc/postgresql.conf.sample
            push: false
          - id: engine_dev
            type: engine
            build_image_name: polarrun-fixture/engine_dev
            build_image_dockerfile: ./fixtures/Dockerfile.engine.fixture
            engine_repo: ./engine
            engine_branch: dev
            engine_config_template: src/backend/utils/misc/postgresql.conf.sample
            push: false
          - id: manager
            type: manager
            build_image_name: polarrun-fixture/manager
            build_image_dockerfile: ./docker/Dockerfile.manager
            engine_image_id: engine_release
            push: false
        """)
        let result = tmp + "/image.result"
        var t = Date()
        let first = try BuildFixture.build(yml, cache: cache, docker: docker, ["reuse=false", "result=\(result)"])
        let firstTime = Date().timeIntervalSince(t)
        XCTAssertEqual(first.status, 0, first.all)
        XCTAssertTrue(first.stderr.contains("cloned a new mirror"), first.stderr)
        // two branches: two clones from one mirror, and the two engines build at the same time
        XCTAssertEqual(lines(first.stderr, containing: "[source]").count, 2, first.stderr)
        let startMain = try XCTUnwrap(firstIndex(first.stderr, "[engine_release] building"))
        let startDev = try XCTUnwrap(firstIndex(first.stderr, "[engine_dev] building"))
        let firstBuilt = try XCTUnwrap(firstIndex(first.stderr, "] built "))
        XCTAssertLessThan(max(startMain, startDev), firstBuilt, "engines did not build in parallel:\n" + first.stderr)
        let firstNames = read(result)

        t = Date()
        let second = try BuildFixture.build(yml, cache: cache, docker: docker, ["result=\(result)"])
        let secondTime = Date().timeIntervalSince(t)
        XCTAssertEqual(second.status, 0, second.all)
        XCTAssertTrue(second.stderr.contains("fetched into the mirror"), second.stderr)
        XCTAssertFalse(second.stderr.contains("cloned a new mirror"))
        XCTAssertTrue(second.stderr.contains("inputs unchanged"), second.stderr)
        XCTAssertLessThan(secondTime, firstTime, "second build (\(secondTime)s) not faster than the first (\(firstTime)s)")
        XCTAssertEqual(BuildFixture.images(try BuildFixture.json(result + ".json"))["manager"]?["status"] as? String, "reused")
        XCTAssertNotEqual(read(result), firstNames, "every run makes new tags")

        // a new commit on the branch: fetched through the mirror, the tag's commit part follows it
        let repo = dir + "/engine"
        let old = try command(["git", "-C", repo, "rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try write("# changed by BuildTests\n", to: repo + "/CHANGES")
        let env = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"]
        XCTAssertEqual(try command(["git", "-C", repo, "add", "CHANGES"]).status, 0)
        XCTAssertEqual(try command(["git", "-C", repo, "commit", "-qm", "change"], env: env).status, 0)
        defer { _ = try? command(["git", "-C", repo, "reset", "-q", "--hard", old]) }   // later tests build the fixed commit
        let new = try command(["git", "-C", repo, "rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let third = try BuildFixture.build(yml, cache: cache, docker: docker, ["result=\(result)"])
        XCTAssertEqual(third.status, 0, third.all)
        let imgs = BuildFixture.images(try BuildFixture.json(result + ".json"))
        let engine = try XCTUnwrap(imgs["engine_release"]?["image"] as? String)
        XCTAssertTrue(engine.contains(".\(new.prefix(8))."), engine)
        XCTAssertFalse(engine.contains(".\(old.prefix(8))."), engine)
        XCTAssertEqual(imgs["engine_release"]?["status"] as? String, "built")
        XCTAssertEqual(imgs["manager"]?["status"] as? String, "built", "a new engine means a new manager")
    }

    // MARK: push retries

    func testC_PushIsRetriedUntilTheRegistryIsBackAndFailsClearlyWhenItStaysDown() throws {
        let docker = try DockerEnv.require()
        let state = try XCTUnwrap(docker.stateDir)
        let ctl = Repo.root + "/scripts/registry-ctl.sh"
        _ = try BuildFixture.dir()
        let tmp = try makeTempDir(self)
        // registry-ctl and the background build run through system(3): the build must go on in
        // the background while the test restarts the registry
        func registry(_ action: String) -> Int32 { shell("'\(ctl)' '\(state)' \(action) >> '\(tmp)/registry-ctl.log' 2>&1") }
        defer { _ = registry("start") }
        let one = try BuildFixture.writeYAML("retry.yml", """
        images:
          - id: engine_test
            type: engine
            build_image_name: polarrun-fixture/engine_test
            build_image_dockerfile: ./fixtures/Dockerfile.engine.fixture
            engine_repo: ./engine
            engine_branch: main
            engine_config_template: src/backend/utils/misc/postgresql.conf.sample
            push: true
        """)
        XCTAssertEqual(registry("stop"), 0)
        // run the build in the background (a shell starts it and returns at once); bring the
        // registry back once a push has failed
        let log = tmp + "/build.log", status = tmp + "/status"
        let args = [Repo.binary, "build.lua", "image_file=\(one)", "cache_dir=\(tmp)/cache", "rootfs=\(Repo.root)/rootfs",
                    "polarrun_binary=\(try BuildFixture.imageBinary())", "registry=\(docker.registry)",
                    "result=\(tmp)/retry.result", "push_retries=6", "push_backoff=1"].map { "'\($0)'" }.joined(separator: " ")
        let envs = docker.env.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        XCTAssertEqual(shell("(env \(envs) \(args); echo $? > '\(status)') > '\(log)' 2>&1 < /dev/null &"), 0)
        XCTAssertTrue(eventually(300) { read(log).contains("push attempt 1 of 7 failed") }, read(log))
        XCTAssertEqual(registry("start"), 0)
        XCTAssertTrue(eventually(300) { !read(status).isEmpty }, read(log))
        XCTAssertEqual(read(status).trimmingCharacters(in: .whitespacesAndNewlines), "0", read(log))
        XCTAssertTrue(read(log).contains("retrying in"), read(log))
        let img = try XCTUnwrap(BuildFixture.images(try BuildFixture.json(tmp + "/retry.result.json"))["engine_test"])
        XCTAssertEqual(img["pushed"] as? Bool, true)
        XCTAssertEqual(try BuildFixture.registryDigest(img["image"] as! String), img["digest"] as? String)

        // a registry that stays down: a clear failure, and the result files still record what was built
        let two = try BuildFixture.writeYAML("down.yml", """
        images:
          - id: engine_test
            type: engine
            build_image_name: polarrun-fixture/engine_test
            build_image_dockerfile: ./fixtures/Dockerfile.engine.fixture
            engine_repo: ./engine
            engine_branch: main
            engine_config_template: src/backend/utils/misc/postgresql.conf.sample
            push: false
          - id: manager
            type: manager
            build_image_name: polarrun-fixture/manager
            build_image_dockerfile: ./docker/Dockerfile.manager
            engine_image_id: engine_test
            push: true
        """)
        XCTAssertEqual(registry("stop"), 0)
        let down = try BuildFixture.build(two, cache: tmp + "/cache", docker: docker,
                                          ["result=\(tmp)/down.result", "push_retries=2", "push_backoff=0.2"])
        XCTAssertEqual(down.status, 1, down.all)
        XCTAssertTrue(down.stderr.contains("push of \(docker.registry)/polarrun-fixture/manager:"), down.stderr)
        XCTAssertTrue(down.stderr.contains("failed after 3 attempts"), down.stderr)
        XCTAssertTrue(down.stderr.contains("connection refused"), down.stderr)
        XCTAssertTrue(down.stderr.contains("1 of 2 images not done: manager (push_failed)"), down.stderr)
        let imgs = BuildFixture.images(try BuildFixture.json(tmp + "/down.result.json"))
        XCTAssertEqual(imgs["manager"]?["status"] as? String, "push_failed")
        XCTAssertNotNil(imgs["manager"]?["image_id"] as? String)
        XCTAssertTrue((imgs["manager"]?["error"] as? String ?? "").contains("connection refused"))
        XCTAssertEqual(imgs["engine_test"]?["status"] as? String, "reused")
        let engine = try XCTUnwrap(imgs["engine_test"]?["image"] as? String)
        XCTAssertEqual(read(tmp + "/down.result"), engine + "\n")
    }

    // MARK: compiler cache

    /// The compiler cache (ccache on a BuildKit cache mount) makes builds faster, never different:
    /// the fixture engine compiled clean (COMPILER_CACHE=off) and compiled again from the
    /// compiler cache after a one-file change and its revert hold the same files.
    func testC_CompilerCacheNeverMakesTheImageDifferFromACleanBuild() throws {
        let docker = try DockerEnv.require()
        let engine = try BuildFixture.dir() + "/engine"
        let tmp = try makeTempDir(self)
        let ctx = tmp + "/ctx", tool = "src/tools/fx_03.c"
        let stage = try command(["sh", "-c", """
            mkdir -p "$1/src" "$1/rootfs" && git -C "$2" archive HEAD | tar -x -C "$1/src" \
            && cp -a "$3/rootfs/." "$1/rootfs/" && cp "$4" "$1/polarrun" && cp -r "$3/runbooks" "$1/runbooks"
            """, "sh", ctx, engine, Repo.root, try BuildFixture.imageBinary()])
        XCTAssertEqual(stage.status, 0, stage.all)
        try write("""
        local p = polarrun.params
        local h = docker_build{tag = p.tag, context = p.ctx, dockerfile = p.dockerfile,
                               build_args = {MAKE_JOBS = p.jobs, COMPILER_CACHE = p.cache}, wait = false, quiet = true}
        local r = h:wait()
        assert(r.ok, r.error)
        local cc = require("imagebuild").compiler_cache(r.stderr .. "\\n" .. r.stdout) or {}
        return {id = r.id, hits = cc.hits or -1, calls = cc.calls or -1}
        """, to: tmp + "/b.lua")
        // MAKE_JOBS is part of the compile step's key, not of its output: a value not used before
        // makes Docker run the step (every other step comes from its layer cache, shared)
        func build(_ tag: String, cache: Bool = true) throws -> [String: Any] {
            let jobs = String(Int.random(in: 10...9999))
            let r = try polarrun(["--json", tmp + "/b.lua", "tag=\(tag)", "ctx=\(ctx)", "cache=\(cache ? "on" : "off")", "jobs=\(jobs)",
                                  "dockerfile=\(Repo.root)/scripts/fixtures/Dockerfile.engine.fixture"], env: docker.env, timeout: 900)
            XCTAssertEqual(r.status, 0, r.all)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.all)
        }
        func run(_ tag: String) throws -> String {
            try docker.docker(["run", "--rm", tag, "polar_fixture_tool", "5"]).stdout
        }
        // every file of the image: path, type, mode, owner, size, link target, and contents
        func files(_ tag: String) throws -> [String] {
            let root = try makeTempDir(self) + "/root"
            let r = try command(["sh", "-c", """
                set -e; mkdir "$2"; cid=$("$1" create "$3"); "$1" export "$cid" | tar -x --numeric-owner -C "$2"; "$1" rm "$cid" >/dev/null
                cd "$2"; find . -printf '%p %y %m %U %G %s %l\\n' | LC_ALL=C sort; find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
                """, "sh", DockerEnv.docker, root, tag], env: docker.env, timeout: 600)
            XCTAssertEqual(r.status, 0, r.all)
            return r.stdout.split(separator: "\n").map(String.init)
        }
        // clean: the compile step runs without the compiler cache
        let clean = try build("polarrun-test/cc-clean:1", cache: false)
        XCTAssertEqual(clean["calls"] as? Int, -1, "no ccache statistics: ccache was off \(clean)")

        // a one-file change: that file is compiled again and the program changes
        let source = ctx + "/src/" + tool
        let original = read(source)
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: source)[.posixPermissions] as? Int)
        // (a loop count not compiled before: the daemon's compiler cache outlives test runs)
        try write(original.replacingOccurrences(of: "r < 64", with: "r < \(Int.random(in: 65...99999))"), to: source)
        chmod(source, mode_t(mode))   // as staged: only the contents change
        let changed = try build("polarrun-test/cc-changed:1")
        XCTAssertLessThan(changed["hits"] as? Int ?? 99, 13, "the changed file is not served from the cache: \(changed)")
        XCTAssertNotEqual(try run("polarrun-test/cc-changed:1"), try run("polarrun-test/cc-clean:1"))

        // reverted: the compile step runs again, and its objects come from the compiler cache
        try write(original, to: source)
        chmod(source, mode_t(mode))
        let cached = try build("polarrun-test/cc-cached:1")
        XCTAssertGreaterThanOrEqual(cached["hits"] as? Int ?? -1, 12, "\(cached)")
        XCTAssertEqual(try run("polarrun-test/cc-cached:1"), try run("polarrun-test/cc-clean:1"))
        let a = try files("polarrun-test/cc-clean:1"), b = try files("polarrun-test/cc-cached:1")
        XCTAssertGreaterThan(a.count, 1000)
        XCTAssertEqual(Set(a).symmetricDifference(Set(b)).sorted(), [], "files differ between the clean and the cached build")
    }

    // MARK: dry run

    func testD_DryRunOfTheShippedImageFilePrintsThePlanAndTouchesNothing() throws {
        let tmp = try makeTempDir(self)
        let r = try BuildFixture.build(Repo.root + "/image.yml", cache: tmp + "/cache", docker: nil, dryRun: true,
                                       ["registry=registry.example.com:5000/team", "result=\(tmp)/r"])
        XCTAssertEqual(r.status, 0, r.all)
        // the plan is for reading: plain text on stdout, no log-line prefixes
        let out = r.stdout
        XCTAssertTrue(out.hasPrefix("Plan for \(Repo.root)/image.yml: 3 images, up to 2 built at once"), out)
        XCTAssertTrue(out.contains("  https://github.com/"), out)
        XCTAssertTrue(out.contains("for polardb_pg_engine_test, polardb_pg_engine_release\n    clone a new mirror"), out)
        XCTAssertTrue(out.range(of: #"1\. polardb_pg_engine_test +engine +registry\.example\.com:5000/team/polardb_pg/polardb_pg_engine_test:VERSION\.YYYYMMDD\.COMMIT\."#, options: .regularExpression) != nil, out)
        XCTAssertTrue(out.range(of: #"3\. polardb_pg_manager +manager +registry\.example\.com:5000/team/polardb_pg/polardb_pg_manager:"#, options: .regularExpression) != nil, out)
        XCTAssertTrue(out.contains("FROM        the image polardb_pg_engine_release (built first)"), out)
        XCTAssertTrue(out.contains("POLAR_SOURCE_DIR=/home/postgres/polardb_pg"), out)
        XCTAssertTrue(out.contains("push        no (image.yml push: false)"), out)
        XCTAssertTrue(out.contains("FROM        debian:bookworm"), out)
        XCTAssertFalse(out.contains("INFO "), out)
        // the dry run's report counts what the plan would do: a clone, three builds, the result files
        XCTAssertTrue(out.hasSuffix("dry run: 0 file(s) would change, 0 statement(s) would run, 5 action(s)\n"), out)
        XCTAssertFalse(r.stderr.contains("polardb_pg_manager"), "the plan is not also in the console log:\n" + r.stderr)

        // --json --dry-run: the plan as one JSON document, nothing else on stdout
        let j = try BuildFixture.build(Repo.root + "/image.yml", cache: tmp + "/cache", docker: nil, dryRun: true,
                                       ["registry=registry.example.com:5000/team", "result=\(tmp)/r"], json: true)
        XCTAssertEqual(j.status, 0, j.all)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any], j.stdout)
        XCTAssertEqual(doc["dry_run"] as? Bool, true)
        let imgs = try XCTUnwrap(doc["images"] as? [[String: Any]])
        XCTAssertEqual(imgs.map { $0["id"] as? String }, ["polardb_pg_engine_test", "polardb_pg_engine_release", "polardb_pg_manager"])
        XCTAssertEqual(imgs[2]["after"] as? String, "polardb_pg_engine_release")
        XCTAssertEqual(imgs[0]["push"] as? Bool, false)
        XCTAssertTrue((imgs[0]["image"] as? String ?? "").hasPrefix("registry.example.com:5000/team/polardb_pg/polardb_pg_engine_test:"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/cache"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/r"))

        // push= overrides image.yml, and says so
        let p = try BuildFixture.build(Repo.root + "/image.yml", cache: tmp + "/cache", docker: nil, dryRun: true, ["push=true"])
        XCTAssertTrue(p.stdout.contains("push        yes (input push=true)"), p.stdout)
    }

    func testD_DryRunAfterAFetchShowsTheCommitFromTheMirror() throws {
        let dir = try BuildFixture.dir()
        let tmp = try makeTempDir(self)
        let mirror = tmp + "/cache/mirrors/" + (dir + "/engine").dropFirst().replacingOccurrences(of: "/", with: "_") + ".git"
        XCTAssertEqual(try command(["git", "clone", "-q", "--mirror", dir + "/engine", mirror]).status, 0)
        let r = try BuildFixture.build(dir + "/image.yml", cache: tmp + "/cache", docker: nil, dryRun: true)
        XCTAssertEqual(r.status, 0, r.all)
        let commit = try command(["git", "-C", dir + "/engine", "rev-parse", "HEAD"]).stdout.prefix(8)
        XCTAssertTrue(r.stdout.contains("at \(commit)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("fetch into mirror \(mirror)"), r.stdout)
        XCTAssertTrue(r.stdout.contains(":11.9.20200813." + commit), r.stdout)   // version from the mirror; date of the clone unknown → commit date
    }

    // MARK: bad image files

    static let engine = """
          - id: e
            type: engine
            build_image_name: polarrun-bad/e
            build_image_dockerfile: ./fixtures/Dockerfile.engine.fixture
            engine_repo: ./engine
            engine_branch: main
            engine_config_template: src/backend/utils/misc/postgresql.conf.sample
            push: false
        """
    static let manager = """
          - id: m
            type: manager
            build_image_name: polarrun-bad/m
            build_image_dockerfile: ./docker/Dockerfile.manager
            engine_image_id: e
            push: false
        """

    struct Bad {
        var name: String
        var yaml: String
        var expect: [String]
        var status: Int32 = 2
        var args: [String] = []
    }

    static func images(_ items: String...) -> String { "images:\n" + items.joined(separator: "\n") + "\n" }
    static func edit(_ text: String, _ from: String, _ to: String) -> String { text.replacingOccurrences(of: from, with: to) }

    static let bad: [Bad] = {
        let e = engine, m = manager
        return [
            Bad(name: "syntax", yaml: "images:\n  - id: [e\n", expect: ["YAML syntax error", "line"]),
            Bad(name: "top-list", yaml: "- id: e\n", expect: ["the top level must be a mapping"]),
            Bad(name: "no-images", yaml: "result: x\n", expect: ["missing top-level key 'images'"]),
            Bad(name: "images-mapping", yaml: "images:\n  e: 1\n", expect: ["top-level key 'images' must be a list, got a mapping"]),
            Bad(name: "images-empty", yaml: "images: []\n", expect: ["'images' is empty"]),
            Bad(name: "image-scalar", yaml: "images:\n  - just a string\n", expect: ["images[1]: each image must be a mapping"]),
            Bad(name: "no-id", yaml: images(edit(e, "  - id: e\n    type", "  - type")), expect: ["images[1]: missing required key 'id'"]),
            Bad(name: "duplicate-id", yaml: images(e, e), expect: ["image 'e': duplicate id (images[1] and images[2])"]),
            Bad(name: "unknown-type", yaml: images(edit(e, "type: engine", "type: database")), expect: ["image 'e': key 'type' must be 'engine' or 'manager', got 'database'"]),
            Bad(name: "no-name", yaml: images(edit(e, "    build_image_name: polarrun-bad/e\n", "")), expect: ["image 'e': missing required key 'build_image_name'"]),
            Bad(name: "bad-name", yaml: images(edit(e, "polarrun-bad/e", "Polarrun/E")), expect: ["image 'e': key 'build_image_name' is not a valid image name", "lowercase"]),
            Bad(name: "bad-registry-port", yaml: images(edit(e, "polarrun-bad/e", "host:99999/x/e")), expect: ["'host:99999' is not a valid registry"]),
            Bad(name: "push-string", yaml: images(edit(e, "push: false", "push: \"yes\"")), expect: ["image 'e': key 'push' must be true or false, got 'yes'"]),
            Bad(name: "enable-int", yaml: images(e + "\n    enable: 1"), expect: ["image 'e': key 'enable' must be true or false, got an integer"]),
            Bad(name: "no-dockerfile", yaml: images(edit(e, "Dockerfile.engine.fixture", "Dockerfile.missing")), expect: ["image 'e': key 'build_image_dockerfile'", "Dockerfile.missing does not exist"]),
            Bad(name: "no-repo", yaml: images(edit(e, "    engine_repo: ./engine\n", "")), expect: ["image 'e': missing required key 'engine_repo'"]),
            Bad(name: "branch-list", yaml: images(edit(e, "engine_branch: main", "engine_branch: [main]")), expect: ["image 'e': key 'engine_branch' must be a non-empty string, got a list"]),
            Bad(name: "branch-invalid", yaml: images(edit(e, "engine_branch: main", "engine_branch: \"a b\"")), expect: ["image 'e': key 'engine_branch' is not a valid git branch name"]),
            Bad(name: "template-absolute", yaml: images(edit(e, "engine_config_template: src", "engine_config_template: /etc/src")), expect: ["image 'e': key 'engine_config_template' must be a path inside the engine repository"]),
            Bad(name: "release-date", yaml: images(e + "\n    engine_release_date: 2021-09"), expect: ["image 'e': key 'engine_release_date' must be a date such as 20210910"]),
            Bad(name: "manager-unknown-engine", yaml: images(e, edit(m, "engine_image_id: e", "engine_image_id: nope")), expect: ["image 'm': key 'engine_image_id': no image has id 'nope'"]),
            Bad(name: "manager-disabled-engine", yaml: images(e + "\n    enable: false", m), expect: ["image 'm': key 'engine_image_id': engine 'e' is disabled"]),
            Bad(name: "manager-of-manager", yaml: images(e, m, edit(edit(m, "id: m", "id: m2"), "engine_image_id: e", "engine_image_id: m")), expect: ["image 'm2': key 'engine_image_id': image 'm' is a manager, not an engine"]),
            Bad(name: "manager-no-engine-id", yaml: images(e, edit(m, "    engine_image_id: e\n", "")), expect: ["image 'm': missing required key 'engine_image_id'"]),
            Bad(name: "duplicate-key", yaml: images(edit(e, "type: engine", "type: engine\n    type: engine")), expect: ["line 4: duplicate key 'type'"]),
            Bad(name: "same-tag", yaml: images(edit(e, "polarrun-bad/e", "polarrun-bad/x:v1"), edit(edit(e, "id: e", "id: f"), "polarrun-bad/e", "polarrun-bad/x:v1")), expect: ["image 'f': key 'build_image_name': 'polarrun-bad/x:v1' is also the name of image 'e'"]),
            Bad(name: "result-type", yaml: "result: [a]\n" + images(e), expect: ["top-level key 'result' must be a file name"]),
            // issue 13: hostile image files are bad input, refused before anything runs
            Bad(name: "dockerfile-traversal", yaml: images(edit(e, "./fixtures/Dockerfile.engine.fixture", "../../../../etc/passwd")), expect: ["image 'e': key 'build_image_dockerfile' must be a relative path inside the project (no '..')"]),
            Bad(name: "result-outside", yaml: "result: ../../../tmp/x.result\n" + images(e), expect: ["top-level key 'result' must be a relative path inside the project"]),
            Bad(name: "repo-ext", yaml: images(edit(e, "engine_repo: ./engine", "engine_repo: \"ext::sh -c touch% /tmp/polarrun-pwned\"")), expect: ["key 'engine_repo' uses a git transport helper"]),
            Bad(name: "repo-fd", yaml: images(edit(e, "engine_repo: ./engine", "engine_repo: \"fd::3\"")), expect: ["key 'engine_repo' uses a git transport helper"]),
            Bad(name: "repo-newline", yaml: images(edit(e, "engine_repo: ./engine", "engine_repo: \"./engine\\n  - would be a plan line\"")), expect: ["key 'engine_repo' must not contain control characters"]),
            Bad(name: "branch-long", yaml: images(edit(e, "engine_branch: main", "engine_branch: " + String(repeating: "b", count: 5000))), expect: ["key 'engine_branch' is 5000 bytes; at most 1024"]),
            Bad(name: "branch-10mb", yaml: images(edit(e, "engine_branch: main", "engine_branch: " + String(repeating: "b", count: 10 << 20))), expect: ["YAML text is", "at most 1048576"]),
            Bad(name: "alias-bomb", yaml: (["a: &a [x,x,x,x,x,x,x,x,x]"] + "bcdefghi".map { c in "\(c): &\(c) [" + Array(repeating: "*" + String(Character(UnicodeScalar(c.asciiValue! - 1))), count: 9).joined(separator: ",") + "]" }).joined(separator: "\n") + "\nimages: *i\n", expect: ["aliases expanding without bound"]),
            Bad(name: "merge-key", yaml: "base: &base\n  type: engine\n" + images(edit(e, "    type: engine", "    <<: *base")), expect: ["merge keys ('<<') are not supported"]),
            Bad(name: "deep-nesting", yaml: "images: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n", expect: ["nested more than 64 levels"]),
            Bad(name: "all-at-once", yaml: images(edit(e, "type: engine", "type: db"), edit(edit(m, "engine_image_id: e", "engine_image_id: zz"), "Dockerfile.manager", "Nope")),
                expect: ["has 3 problems", "key 'type' must be 'engine' or 'manager'", "Nope does not exist", "no image has id 'zz'"]),
            Bad(name: "rootfs-missing-input", yaml: images(e, m), expect: ["rootfs /nonexistent/rootfs does not exist (input rootfs=)", "the Dockerfiles of e, m copy rootfs/"], args: ["rootfs=/nonexistent/rootfs"]),
            Bad(name: "rootfs-file-input", yaml: images(e), expect: ["rootfs \(Repo.root)/README.md is not a directory"], args: ["rootfs=\(Repo.root)/README.md"]),
            Bad(name: "rootfs-without-entry-point-input", yaml: images(e, m), expect: ["image 'm': rootfs \(Repo.root)/docker has no executable docker_script/entry_point.py, an entry point PolarDB Stack runs in a manager image"], args: ["rootfs=\(Repo.root)/docker"]),
            Bad(name: "parallel-zero", yaml: images(e), expect: ["input 'parallel' must be at least 1"], args: ["parallel=0"]),
            Bad(name: "registry-input", yaml: images(e), expect: ["input 'registry': 'bad host:1/x' is not host[:port][/namespace]"], args: ["registry=bad host:1/x"]),
            Bad(name: "binary-not-executable", yaml: images(e), expect: ["polarrun_binary \(Repo.root)/README.md is not executable"], args: ["polarrun_binary=\(Repo.root)/README.md"]),
            Bad(name: "dynamic-binary", yaml: images(e), expect: ["loads the Swift runtime (libswiftCore.so)", "--static-swift-stdlib"], args: ["polarrun_binary=\(Repo.binary)"]),
            Bad(name: "missing-branch", yaml: images(edit(e, "engine_branch: main", "engine_branch: no-such-branch")), expect: ["engine source for e", "branch 'no-such-branch' does not exist"], status: 1),
            Bad(name: "unreachable-repo", yaml: images(edit(e, "engine_repo: ./engine", "engine_repo: /nonexistent/polardb.git")), expect: ["engine source for e", "cannot reach repository /nonexistent/polardb.git"], status: 1),
            Bad(name: "template-missing", yaml: images(edit(e, "postgresql.conf.sample", "nope.sample")), expect: ["engine_config_template src/backend/utils/misc/nope.sample does not exist in"], status: 1),
        ]
    }()

    func testE_BadImageFilesAreRejectedWithClearMessagesAndNothingIsBuilt() throws {
        let dir = try BuildFixture.dir()
        let tmp = try makeTempDir(self)
        XCTAssertGreaterThanOrEqual(Self.bad.count, 20)
        for (n, c) in Self.bad.enumerated() {
            let yml = try BuildFixture.writeYAML("bad-\(c.name).yml", c.yaml)
            let cache = "\(tmp)/cache-\(n)"
            let r = try BuildFixture.build(yml, cache: cache, docker: nil, c.args + ["result=\(tmp)/r-\(n)"])
            XCTAssertEqual(r.status, c.status, "\(c.name): \(r.all)")
            for e in c.expect { XCTAssertTrue(r.stderr.contains(e), "\(c.name): expected '\(e)' in:\n\(r.stderr)") }
            XCTAssertFalse(r.stderr.contains("building"), "\(c.name) built something:\n\(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(cache)/work/") && ((try? FileManager.default.contentsOfDirectory(atPath: "\(cache)/work/"))?.contains { FileManager.default.fileExists(atPath: "\(cache)/work/\($0)/ctx") } ?? false), c.name)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(tmp)/r-\(n)"), "\(c.name) wrote results")
            if c.status == 2 { XCTAssertFalse(FileManager.default.fileExists(atPath: cache), "\(c.name) touched the cache") }
            if c.status == 2 && !c.name.hasSuffix("-input") && c.args.isEmpty { XCTAssertTrue(r.stderr.contains("nothing was cloned or built"), "\(c.name): \(r.stderr)") }
        }
        _ = dir
    }

    /// A valid image file saved with a UTF-8 byte order mark (Windows editors) is the same file.
    func testE_ByteOrderMarkIsAccepted() throws {
        _ = try BuildFixture.dir()
        let tmp = try makeTempDir(self)
        let yml = try BuildFixture.writeYAML("bom.yml", "\u{FEFF}" + Self.images(Self.engine))
        let r = try BuildFixture.build(yml, cache: tmp + "/cache", docker: nil, dryRun: true, ["result=\(tmp)/r"])
        XCTAssertEqual(r.status, 0, r.all)
    }

    /// The README's first command once failed at step 12 of the manager's docker build: the
    /// demo's image.yml had no rootfs/ beside it. That is refused before anything is cloned.
    func testE_WithoutARootfsNextToImageYmlTheBuildIsRefusedUpFront() throws {
        let tmp = try makeTempDir(self)
        let yml = try BuildFixture.writeYAML("no-rootfs.yml", Self.images(Self.engine, Self.manager))
        for dry in [true, false] {
            let r = try BuildFixture.build(yml, cache: tmp + "/cache", docker: nil, dryRun: dry, ["result=\(tmp)/r"], rootfs: nil)
            XCTAssertEqual(r.status, 2, r.all)
            let here = (yml as NSString).deletingLastPathComponent + "/rootfs"
            XCTAssertTrue(r.stderr.contains("rootfs \(here) does not exist (the default: rootfs/ next to image.yml; set rootfs=DIR"), r.stderr)
            XCTAssertTrue(r.stderr.contains("nothing was cloned or built"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/cache"), "the cache was touched")
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/r"), "results were written")
        }
    }

    func testE_UnknownKeysAreWarningsAndRPMKeysAreAcceptedButIgnored() throws {
        let tmp = try makeTempDir(self)
        let yml = try BuildFixture.writeYAML("warn.yml", "reslt: x\npfsd_rpm: t-pfsd.rpm\npolardb_rpm: PolarDB.rpm\n" +
                                            Self.images(Self.engine + "\n    engine_brnch: dev\n    colour: blue", Self.manager))
        let r = try BuildFixture.build(yml, cache: tmp + "/cache", docker: nil, dryRun: true)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stderr.contains("unknown top-level key 'reslt' is ignored (did you mean 'result'?)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("image 'e': unknown key 'engine_brnch' is ignored (did you mean 'engine_branch'?)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("image 'e': unknown key 'colour' is ignored"), r.stderr)
        XCTAssertTrue(r.stderr.contains("top-level key 'pfsd_rpm' is accepted but ignored"), r.stderr)
    }

    // MARK: Dockerfiles

    /// The real engine Dockerfiles compile PolarDB (not done in CI): check that they parse and
    /// that their first stage builds (`--target base`), and that they take what build.lua passes.
    func testF_EngineAndManagerDockerfilesTakeWhatBuildLuaPasses() throws {
        let passed = ["CodeSource", "CodeBranch", "CodeVersion", "PolarSource", "PolarBranch", "PolarVersion", "POLAR_SOURCE_DIR", "BuildBy"]
        let staged: Set<String> = ["src", "rootfs/", "polarrun", "runbooks"]
        for name in ["Dockerfile.pg.engine.test", "Dockerfile.pg.engine.release", "Dockerfile.manager"] {
            let text = read(Repo.root + "/docker/" + name)
            let args = Set(text.split(separator: "\n").compactMap { l -> String? in
                guard l.hasPrefix("ARG ") else { return nil }
                return String(l.dropFirst(4).split(separator: "=").first ?? "")
            })
            for a in (name == "Dockerfile.manager" ? ["CodeSource", "CodeBranch", "CodeVersion", "BuildBy", "ENGINE_IMAGE_FULL_NAME"] : passed) {
                XCTAssertTrue(args.contains(a), "\(name) lacks ARG \(a)")
            }
            for l in text.split(separator: "\n") where l.hasPrefix("COPY ") && !l.contains("--from=") {
                let src = String(l.split(separator: " ")[1])
                XCTAssertTrue(staged.contains(src), "\(name) copies \(src), which build.lua does not stage")
            }
            if name != "Dockerfile.manager" {
                XCTAssertTrue(text.contains("ARG BASE_IMAGE=debian:bookworm"), name)
                XCTAssertTrue(text.contains("--prefix=${POLARDB_BASE_DIR}") && text.contains("POLARDB_BASE_DIR=/u01/polardb_pg"), name)
                XCTAssertTrue(text.contains("ENTRYPOINT [\"/usr/local/bin/polarrun\", \"supervise\"]"), name)
            } else {
                XCTAssertTrue(text.contains("FROM ${ENGINE_IMAGE_FULL_NAME}"))
                XCTAssertTrue(text.contains("libpq5") && !text.contains("liblua5.4-0"))   // Lua is linked in
            }
        }
        let docker = try DockerEnv.require()
        let ctx = try makeTempDir(self)
        for name in ["Dockerfile.pg.engine.test", "Dockerfile.pg.engine.release"] {
            let r = try docker.docker(["build", "--network", "host", "--target", "base", "-f", Repo.root + "/docker/" + name, ctx])
            XCTAssertEqual(r.status, 0, "\(name): \(r.all)")
        }
    }
}
