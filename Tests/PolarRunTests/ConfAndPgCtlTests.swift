import XCTest

/// conf_set / conf_get on real configuration files, and pg_ctl on a real cluster.
final class ConfAndPgCtlTests: XCTestCase {
    func testConfSetKeepsCommentsAndOrderAndPostgresAcceptsIt() throws {
        let pg = try PGCluster.started(self)
        let conf = pg.pgdata + "/postgresql.conf"
        try pg.appendConf("work_mem = 4MB\t\t# min 64kB\n#search_path = '\"$user\", public'\napplication_name = 'old'  # keep me")
        let before = read(conf)
        let dir = try makeTempDir(self)
        try write("""
        local changed = conf_set(polarrun.params.file, {work_mem = "8MB", search_path = "\\"$user\\", public, it's",
                                              application_name = "new name", log_min_duration_statement = 250,
                                              log_connections = true})
        table.sort(changed)
        local again = conf_set(polarrun.params.file, {work_mem = "8MB"})
        pg_ctl("reload", {pgdata = proc.env("PGDATA")})
        return {changed = changed, again = #again, read = conf.get(polarrun.params.file, "search_path")}
        """, to: dir + "/c.lua")
        let r = try polarrun(["--json", dir + "/c.lua", "file=\(conf)"], env: pg.env)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.contains("\"again\" : 0"), r.stdout)
        XCTAssertTrue(r.stdout.contains(#""read" : "\"$user\", public, it's""#), r.stdout)
        let after = read(conf)
        // every original line is still there, in order, except the three edited in place
        let b = before.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let a = after.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(a.count, b.count + 3, "two new keys appended... \(a.suffix(6))")
        var edited = 0
        for (x, y) in zip(b, a) where x != y {
            edited += 1
            XCTAssertTrue(y.hasPrefix("work_mem = 8MB") || y.hasPrefix("application_name = 'new name'"), "unexpected edit: \(x) -> \(y)")
        }
        XCTAssertEqual(edited, 2)
        XCTAssertTrue(after.contains("work_mem = 8MB\t\t# min 64kB"), after)
        XCTAssertTrue(after.contains("#search_path = '\"$user\", public'"), "commented line kept")
        // PostgreSQL read the file without complaint and uses the values
        XCTAssertTrue(try eventually(10) { try pg.value("show work_mem") == "8MB" })
        XCTAssertEqual(try pg.value("select count(*) from pg_file_settings where error is not null"), "0")
        XCTAssertEqual(try pg.value("show search_path"), "\"$user\", public, it's")
        XCTAssertEqual(try pg.value("show log_min_duration_statement"), "250ms")
        XCTAssertEqual(try pg.value("show application_name"), "psql")  // session value; the file has the new one
        XCTAssertEqual(try pg.value("select setting from pg_file_settings where name = 'application_name' order by seqno desc limit 1"), "new name")
    }

    func testConfSetRejectsBadInputAndLeavesFileUntouched() throws {
        let dir = try makeTempDir(self)
        let conf = dir + "/postgresql.conf"
        try write("# test\nshared_buffers = 128MB\n", to: conf)
        let before = read(conf)
        for (i, settings) in ["{[\"bad name\"] = 1}", "{x = \"a\\nb = c\"}", "{x = {1}}", "{\"list\"}", "{[\"a=b\"] = 1}"].enumerated() {
            try write("conf_set(polarrun.params.file, \(settings))", to: dir + "/b\(i).lua")
            let r = try polarrun([dir + "/b\(i).lua", "file=\(conf)"])
            XCTAssertEqual(r.status, 2, "\(settings): \(r.all)")
            XCTAssertEqual(read(conf), before)
        }
        try write("conf_set(polarrun.params.file, {x = 1})", to: dir + "/missing.lua")
        let m = try polarrun([dir + "/missing.lua", "file=\(dir)/nope.conf"])
        XCTAssertEqual(m.status, 1)
        XCTAssertTrue(m.stderr.contains("does not exist"), m.stderr)
    }

    func testConcurrentConfSetNeverTearsTheFile() throws {
        let dir = try makeTempDir(self)
        let conf = dir + "/postgresql.conf"
        try write("# header\n", to: conf)
        try write("for i = 1, 40 do conf_set(polarrun.params.file, {[polarrun.params.key .. '_' .. i] = i}) end", to: dir + "/w.lua")
        let group = DispatchGroup()
        for k in ["a", "b", "c", "d"] {
            group.enter()
            Thread {
                _ = try? polarrun([dir + "/w.lua", "file=\(conf)", "key=\(k)"])
                group.leave()
            }.start()
        }
        group.wait()
        let lines = read(conf).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 4 * 40, "lost updates: \(lines.count)")
        XCTAssertEqual(Set(lines).count, lines.count)
    }

    func testPgCtlLifecycle() throws {
        let root = try makeTempDir(self, prefix: "polarrun-pg")
        let pg = try PGCluster(root: root)
        addTeardownBlock { pg.stop(mode: "immediate") }
        try write("""
        local o = {pgdata = proc.env("PGDATA"), logfile = polarrun.params.log}
        local steps = {}
        local function note(name, r) steps[#steps + 1] = name .. ":" .. tostring(r.changed) .. ":" .. tostring(r.running) end
        note("status", pg_ctl("status", o))
        note("start", pg_ctl("start", o))
        note("start", pg_ctl("start", o))
        note("reload", pg_ctl("reload", o))
        note("restart", pg_ctl("restart", o))
        note("stop", pg_ctl("stop", {pgdata = proc.env("PGDATA"), mode = "fast"}))
        note("stop", pg_ctl("stop", o))
        local ok, e = pcall(pg_ctl, "reload", o)
        steps[#steps + 1] = "reload-stopped:" .. tostring(ok)
        local ok2, e2 = pcall(pg_ctl, "stop", {pgdata = proc.env("PGDATA"), mode = "sideways"})
        steps[#steps + 1] = "badmode:" .. e2.kind
        return table.concat(steps, " ")
        """, to: root + "/ctl.lua")
        let r = try polarrun(["--json", root + "/ctl.lua", "log=\(root)/server.log"], env: pg.env)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.contains("status:nil:false start:true:true start:false:true reload:true:true restart:true:true stop:true:false stop:false:false reload-stopped:false badmode:usage"), r.stdout)
        XCTAssertFalse(pg.isRunning)
        let bad = try polarrun(["--json", root + "/ctl.lua", "log=x"], env: ["PGDATA": root + "/nothing-here", "POLARRUN_PG_BIN": PGCluster.bin])
        XCTAssertNotEqual(bad.status, 0)
    }
}
