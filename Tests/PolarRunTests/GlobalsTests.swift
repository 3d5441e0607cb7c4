import XCTest
@testable import PolarRun

/// The runbook language's names: fourteen globals, `_G` frozen once the runbook starts.
final class GlobalsTests: XCTestCase, ScratchRunbooks {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTempDir(self)
    }

    /// Lua 5.4's own globals with the libraries polarrun opens (no io, no debug, no dofile).
    static let luaOwn: Set<String> = [
        "_G", "_VERSION", "assert", "collectgarbage", "error", "getmetatable", "ipairs", "load",
        "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "require",
        "select", "setmetatable", "tonumber", "tostring", "type", "warn", "xpcall",
        "coroutine", "math", "os", "string", "table", "utf8",
    ]

    /// polarrun's own: the seven verbs of the design card and one namespace per concept.
    static let ours: Set<String> = ["sql", "conf_set", "conf", "pg_ctl", "lock_file", "git_clone", "docker_build", "push",
                                    "fs", "proc", "json", "yaml", "log", "polarrun"]

    func testTheGlobalsAreTheSevenVerbsAndOneNamespacePerConcept() throws {
        let p = try runbook("g.lua", """
            local names = {}
            for k in pairs(_G) do names[#names + 1] = k end
            table.sort(names)
            return table.concat(names, " ")
            """)
        let r = try polarrun(["--json", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = Set(r.stdout.trimmingCharacters(in: CharacterSet(charactersIn: "\"\n")).split(separator: " ").map(String.init))
        let ours = names.subtracting(Self.luaOwn)
        XCTAssertEqual(ours, Self.ours)
    }

    func testAnOldNameIsAnErrorThatSaysWhereItMoved() throws {
        let p = try runbook("old.lua", "local x = 1\nreturn quote_ident('a')\n")
        let r = try polarrun([p])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("old.lua:2: unknown global 'quote_ident': use sql.quote_ident"), r.stderr)
        let io = try polarrun([try runbook("io.lua", "io.write('x')\n")])
        XCTAssertTrue(io.stderr.contains("io.lua:1: unknown global 'io': use fs.* (files) and proc.run (processes)"), io.stderr)
    }

    func testATypoAndAForgottenLocalAreErrorsNamingThem() throws {
        let typo = try polarrun([try runbook("typo.lua", "log.info('start')\nsqll('select 1')\n")])
        XCTAssertEqual(typo.status, 1)
        XCTAssertTrue(typo.stderr.contains("typo.lua:2: unknown global 'sqll'"), typo.stderr)
        let assign = try polarrun([try runbook("assign.lua", "count = 1\n")])
        XCTAssertEqual(assign.status, 1)
        XCTAssertTrue(assign.stderr.contains("assign.lua:1: assignment to undeclared global 'count': declare it with local"), assign.stderr)
        // the frozen table guards new names; the runbook may still reassign one of the fourteen
        let shadow = try polarrun([try runbook("shadow.lua", "sql = nil\n")])
        XCTAssertEqual(shadow.status, 0, "an existing global may be reassigned by the runbook itself")
    }

    func testLocalsModulesAndCallableNamespacesWork() throws {
        try write("local M = {}\nfunction M.twice(x) return 2 * x end\nreturn M\n", to: dir + "/lib/twice.lua")
        let p = try runbook("ok.lua", """
            local now = polarrun.now()          -- a local may take a primitive's short name
            local t = require("twice")
            return {
              twice = t.twice(21),
              ident = sql.quote_ident("Role"),
              same_null = sql.null == json.null,
              callable = getmetatable(sql).__call ~= nil and getmetatable(pg_ctl).__call ~= nil,
              bin_is_fn = type(pg_ctl.bin) == "function",
              clock = type(now) == "number",
            }
            """)
        let r = try polarrun(["--json", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(o["twice"] as? Int, 42)
        XCTAssertEqual(o["ident"] as? String, "\"Role\"")
        for key in ["same_null", "callable", "bin_is_fn", "clock"] { XCTAssertEqual(o[key] as? Bool, true, key) }
    }

    func testACallableNamespaceChecksItsOwnArguments() throws {
        let r = try polarrun([try runbook("bad.lua", "sql(42)\n")])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("sql: argument 1 (query) must be a string, got integer"), r.stderr)
    }

    /// luacheck (Debian's lua-check, installed by .ci/run) with the repository's .luacheckrc:
    /// no undefined or stray globals, nothing unused, in every bundled runbook and library.
    func testBundledRunbooksPassLuacheck() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/luacheck") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI must install lua-check (see .ci/run)") }
            throw XCTSkip("luacheck is not installed (apt-get install lua-check)")
        }
        let r = try command(["/usr/bin/luacheck", "--formatter", "plain", "--codes", "runbooks", "examples",
                             "rootfs/docker_script/entry_point.py", "rootfs/docker_script/entry_point_cm.py"], cwd: root)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }
}
