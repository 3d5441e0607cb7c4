import XCTest
@testable import PolarRun

/// One declaration per primitive: calls are checked against it, every live primitive has one
/// (and every declaration a live primitive), and what is generated from them is up to date.
final class DeclarationTests: XCTestCase, ScratchRunbooks {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTempDir(self)
    }

    /// Runs `source` as a runbook; returns its exit status and stderr.
    private func run(_ name: String, _ source: String) throws -> CommandResult {
        try polarrun([try runbook(name, source)])
    }

    func testAWrongArgumentTypeIsAUsageErrorNamingTheArgument() throws {
        let cases: [(String, String)] = [
            ("conf_set('x', 'y')", "conf_set: argument 2 (settings) must be a table, got string"),
            ("proc.run('ls -l')", "proc.run: argument 1 (argv) must be a table, got string"),
            ("fs.read()", "fs.read: argument 1 (path) must be a string, got nil"),
            ("polarrun.sleep('soon')", "polarrun.sleep: argument 1 (seconds) must be a number, got string"),
            ("pg_ctl.bin('initdb', 'x')", "pg_ctl.bin: argument 2 (opts) must be a table, got string"),
            ("fs.exists('/a', '/b')", "fs.exists: takes at most 1 argument (fs.exists(path)), got 2"),
            ("log.console(1)", "log.console: argument 1 (stream) must be a string, got integer"),
            ("polarrun.wait_until(nil, 1)", "polarrun.wait_until: argument 1 (fn) must be a function, got nil"),
            ("polarrun.raise('usage')", "polarrun.raise: argument 2 (message) must be a string, got nil"),
            ("pg_ctl('begin')", "pg_ctl: argument 1 (action) must be one of start, stop, restart, reload, promote, status, got 'begin'"),
            ("pg_ctl('stop', {mode = 'quick'})", "pg_ctl: option 'mode' must be one of smart, fast, immediate, got 'quick'"),
        ]
        for (i, (code, message)) in cases.enumerated() {
            let marker = "\(dir)/ran-\(i)"
            // the line after the bad call would leave a file: it must not run
            let r = try run("bad\(i).lua", "\(code)\nfs.write('\(marker)', 'x')\n")
            XCTAssertEqual(r.status, 2, "\(code): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("bad\(i).lua:1: \(message)"), "\(code): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), code)
        }
    }

    func testAnUnknownOptionOrAWrongOptionTypeIsRefusedBeforeTheBodyRuns() throws {
        let made = "\(dir)/made"
        let r = try run("opt.lua", "fs.mkdir('\(made)', {mdoe = '0700'})\n")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("fs.mkdir: unknown option 'mdoe' (known: mode, owner)"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: made))

        let typo = try run("typo.lua", "proc.run({'touch', '\(made)'}, {cwdd = '/'})\n")
        XCTAssertTrue(typo.stderr.contains("proc.run: unknown option 'cwdd' (known: check, clear_env, cwd, env, forward_signals, quiet, readonly, stdin, stream, timeout, user)"), typo.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: made))

        let type = try run("type.lua", "proc.run({'touch', '\(made)'}, {timeout = 'soon'})\n")
        XCTAssertEqual(type.status, 2, type.stderr)
        XCTAssertTrue(type.stderr.contains("proc.run: option 'timeout' must be a number, got string"), type.stderr)
        let clone = try run("clone.lua", "git_clone('https://example.invalid/x.git', {branch = 'main'})\n")
        XCTAssertEqual(clone.status, 2, clone.stderr)
        XCTAssertTrue(clone.stderr.contains("git_clone: option 'dest' is required (the directory to clone into)"), clone.stderr)
        let list = try run("list.lua", "proc.run({'touch', '\(made)'}, {'/'})\n")
        XCTAssertTrue(list.stderr.contains("proc.run: options must be a table of key = value"), list.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: made))
    }

    func testOptionsGivenAsStringsStillWorkAndTrailingNilsAreNotExtraArguments() throws {
        // inputs arrive as strings: `timeout = "5"` and `check = "no"` convert as before
        let r = try polarrun(["--json", try runbook("ok.lua", """
            local r = proc.run({"sh", "-c", "exit 3"}, {timeout = "5", check = "no", quiet = true}, nil)
            return {status = r.status, exists = fs.exists("/", nil, nil)}
            """)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"status\" : 3"), r.stdout)
    }

    /// Every function a runbook can reach has a declaration, and every declaration is live:
    /// the walk covers globals, namespace fields, callable namespaces and namespace values.
    func testEveryLivePrimitiveIsDeclaredAndEveryDeclarationIsLive() throws {
        let own = GlobalsTests.luaOwn.map { "\"\($0)\"" }.joined(separator: ", ")
        let r = try polarrun(["--json", try runbook("walk.lua", """
            local own = {}
            for _, k in ipairs({\(own)}) do own[k] = true end
            local functions, values = {}, {}
            for k, v in pairs(_G) do
              if not own[k] then
                if type(v) == "function" then functions[#functions + 1] = k
                elseif type(v) == "table" then
                  local mt = getmetatable(v)
                  if mt and mt.__call then functions[#functions + 1] = k end
                  for f, x in pairs(v) do
                    local name = k .. "." .. f
                    if type(x) == "function" then functions[#functions + 1] = name else values[#values + 1] = name end
                  end
                else values[#values + 1] = k end
              end
            end
            table.sort(functions)
            table.sort(values)
            return {functions = functions, values = values}
            """)])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [String]] ?? [:]
        let live = Set(o["functions"] ?? [])
        let declared = Set(API.all.filter { $0.receiver == nil }.map(\.name))
        XCTAssertEqual(live.subtracting(declared).sorted(), [],
                       "functions without a declaration: declare them in Sources/PolarRun/API/API+<namespace>.swift and register with lua.define")
        XCTAssertEqual(declared.subtracting(live).sorted(), [], "declarations with no live function")
        let liveValues = Set(o["values"] ?? [])
        let declaredValues = Set(API.namespaces.flatMap { ns in ns.values.map { "\(ns.name).\($0.name)" } })
        XCTAssertEqual(liveValues.subtracting(declaredValues).sorted(), [], "namespace values without a declaration")
        XCTAssertEqual(declaredValues.subtracting(liveValues).sorted(), [], "declared values that are not there")
        XCTAssertEqual(Set(API.globals), Set(GlobalsTests.ours))
    }

    /// Handles' methods are declared too: each handle type's method table (plus the generic
    /// `close`) is exactly what its declarations name.
    func testEveryHandleMethodIsDeclared() {
        let live: [String: [String]] = [
            PGConnection.typeLabel: Array(PGConnection.methods().keys),
            ChildProcess.typeLabel: Array(ChildProcess.methods().keys),
            FileLock.typeLabel: Array(FileLock.methods().keys),
        ]
        XCTAssertEqual(Set(live.keys), Set(API.Handles.types.map(\.label)))
        for (label, methods) in live {
            let declared = Set(API.all.filter { $0.receiver == label }.compactMap(\.method))
            XCTAssertEqual(declared, Set(methods + ["close"]), label)
        }
    }

    func testAMethodChecksItsArgumentsAfterTheHandle() throws {
        let r = try run("m.lua", "local h = proc.spawn({'sleep', '5'})\nlocal ok, e = pcall(h.wait, h, 'soon')\nh:kill()\nerror(e, 0)\n")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("process:wait: argument 1 (timeout) must be a number, got string"), r.stderr)
        let extra = try run("m2.lua", "local h = proc.spawn({'true'})\nh:wait()\nreturn h:pid(1)\n")
        XCTAssertTrue(extra.stderr.contains("process:pid: takes at most 0 arguments (process:pid()), got 1"), extra.stderr)
    }

    func testDeclarationsAreComplete() {
        var names = Set<String>()
        for d in API.all {
            XCTAssertTrue(names.insert(d.name).inserted, "\(d.name) is declared twice")
            XCTAssertFalse(d.summary.isEmpty, d.name)
            let call = d.method.map { ":" + $0 + "(" } ?? (d.callable ? d.name + "(" : d.name)
            XCTAssertTrue(d.example.contains(call), "\(d.name): the example should call it")
            for a in d.args { XCTAssertFalse(a.doc.isEmpty, "\(d.name): argument \(a.name)") }
            for a in d.args { for o in a.options ?? [] { XCTAssertFalse(o.doc.isEmpty, "\(d.name): option \(o.name)") } }
        }
    }

    // MARK: generated files

    /// docs/primitives.md, .luacheckrc and runbooks/.types/polarrun.lua are what the binary generates.
    func testTheGeneratedFilesAreUpToDate() throws {
        let fix = "stale: run `\(GeneratedFiles.refreshCommand)` at the repository root and commit the result"
        for file in ["docs/primitives.md", ".luacheckrc"] {
            let text = try String(contentsOfFile: Repo.root + "/" + file, encoding: .utf8)
            XCTAssertEqual(try GeneratedFiles.refresh(text, file: file), text, "\(file) is \(fix)")
        }
        let stubs = try String(contentsOfFile: Repo.root + "/runbooks/.types/" + API.stubsFileName, encoding: .utf8)
        XCTAssertEqual(stubs, API.stubs(), "runbooks/.types/polarrun.lua is \(fix)")
    }

    /// The stubs are Lua that compiles and, run, defines every declared function and value.
    func testTheStubsLoadInLuaAndDefineEveryPrimitive() throws {
        for tool in ["/usr/bin/luac5.4", "/usr/bin/lua5.4"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("\(tool) is not installed (apt-get install lua5.4)")
        }
        let path = dir + "/" + API.stubsFileName
        try write(API.stubs(), to: path)
        let compiled = try command(["/usr/bin/luac5.4", "-p", path])
        XCTAssertEqual(compiled.status, 0, compiled.all)
        // callable namespaces are tables in the stubs (the ---@overload makes them callable)
        let names = API.all.filter { $0.receiver == nil }.map { d in d.callable ? "\"\(d.name)\", \"table\"" : "\"\(d.name)\", \"function\"" }
        let check = """
            dofile(arg[1])
            local function get(name)
              local v = _G
              for part in name:gmatch("[^.]+") do v = v[part] end
              return v
            end
            local missing = {}
            local function want(name, kind)
              if type(get(name)) ~= kind then missing[#missing + 1] = name end
            end
            \(names.map { "want(\($0))" }.joined(separator: "\n"))
            assert(#missing == 0, "not in the stubs: " .. table.concat(missing, ", "))
            """
        try write(check, to: dir + "/check.lua")
        let r = try command(["/usr/bin/lua5.4", dir + "/check.lua", path])
        XCTAssertEqual(r.status, 0, r.all)
        let text = API.stubs()
        XCTAssertTrue(text.hasPrefix("---@meta"))
        XCTAssertTrue(text.contains("---@class polarrun.proc.run.opts\n"), "options are classes")
        XCTAssertTrue(text.contains("---@field cwd? string the working directory\n"))
        XCTAssertTrue(text.contains("---@overload fun(query: string, params?: any[], opts?: polarrun.sql.opts)"), "sql is callable")
        XCTAssertTrue(text.contains("---@param argv string[] "))
        XCTAssertTrue(text.contains("function proc.run(argv, opts) end\n"))
        XCTAssertTrue(text.contains("---@class polarrun.Process\nlocal Process = {}\n"), "handles are classes")
        XCTAssertTrue(text.contains("---@return polarrun.ProcessResult? # its result, nil when the timeout passed first\nfunction Process:wait(timeout) end\n"))
        XCTAssertTrue(text.contains("---@field params table<string, any> "), "namespace values are fields")
    }

    func testStubsAndDocsWriteWhatIsGeneratedAndRunNothing() throws {
        try write("# mine\n\nprose\n<!-- generated:primitives begin -->\nold\n<!-- generated:primitives end -->\ntail\n", to: dir + "/p.md")
        let r = try polarrun(["--stubs", dir + "/types", "--docs", dir + "/p.md"])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(try String(contentsOfFile: dir + "/types/polarrun.lua", encoding: .utf8), API.stubs())
        let md = try String(contentsOfFile: dir + "/p.md", encoding: .utf8)
        XCTAssertTrue(md.hasPrefix("# mine\n\nprose\n<!-- generated:primitives begin -->\n## Reference\n"), md)
        XCTAssertTrue(md.hasSuffix("<!-- generated:primitives end -->\ntail\n"), md)
        XCTAssertFalse(md.contains("\nold\n"))
        XCTAssertTrue(md.contains("#### `proc.run(argv, opts?)`"))
        let again = try polarrun(["--docs", dir + "/p.md"])
        XCTAssertTrue(again.stdout.contains("p.md: up to date"), again.all)
    }

    /// Bad use of --stubs / --docs: exit 2, a message naming the problem, nothing written.
    func testBadUseOfStubsOrDocsIsExit2AndWritesNothing() throws {
        let good = "x\n<!-- generated:primitives begin -->\n<!-- generated:primitives end -->\n"
        try write(good, to: dir + "/good.md")
        try write("no markers here\n", to: dir + "/plain.md")
        try write("<!-- generated:primitives begin -->\nnever ends\n", to: dir + "/open.md")
        try write("a file", to: dir + "/afile")
        let cases: [([String], String)] = [
            (["--docs", dir + "/good.md", "--docs", dir + "/plain.md"], "--docs \(dir)/plain.md: no generated block in it"),
            (["--docs", dir + "/good.md", "--docs", dir + "/open.md"], "line 1 begins a generated block ('<!-- generated:primitives begin -->') that has no '<!-- generated:primitives end -->' line"),
            (["--docs", dir + "/good.md", "--docs", dir + "/missing.md"], "--docs \(dir)/missing.md: no such file"),
            (["--docs", dir + "/good.md", "--stubs", dir + "/afile"], "--stubs \(dir)/afile: not a directory"),
            (["--docs", dir + "/good.md", "--stubs", dir + "/no/such/dir"], "neither it nor its parent directory exists"),
            (["--docs", dir + "/good.md", "build.lua"], "--stubs and --docs write generated files and run nothing"),
        ]
        for (args, message) in cases {
            let r = try polarrun(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.all)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(try String(contentsOfFile: dir + "/good.md", encoding: .utf8), good, "\(args) wrote good.md")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/no"))
        XCTAssertEqual(try String(contentsOfFile: dir + "/afile", encoding: .utf8), "a file")
        let help = try polarrun(["--help"])
        XCTAssertTrue(help.stdout.contains("--stubs <DIR>") && help.stdout.contains("--docs <FILE>"), help.stdout)
    }
}
