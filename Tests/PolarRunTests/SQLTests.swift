import XCTest

/// sql(), connect(), quote_ident/quote_literal against a real PostgreSQL 15.
final class SQLTests: XCTestCase {
    var pg: PGCluster!
    var dir = ""

    override func setUpWithError() throws {
        pg = try PGCluster.started(self)
        dir = try makeTempDir(self)
    }

    func run(_ source: String, _ args: [String] = [], timeout: String? = nil) throws -> CommandResult {
        let path = "\(dir)/t\(UInt32.random(in: 0...UInt32.max)).lua"
        try write(source, to: path)
        return try polarrun((timeout.map { ["--timeout", $0] } ?? []) + ["--json", path] + args, env: pg.env)
    }

    func testParametersTypesAndNulls() throws {
        let r = try run("""
        local rows = sql("select $1::text as s", {"a'b\\0c"})
        return rows[1]
        """)
        XCTAssertEqual(r.status, 2, "a NUL byte cannot be a text parameter: \(r.all)")
        XCTAssertTrue(r.stderr.contains("NUL"), r.stderr)
        let ok = try run("""
        local rows = sql([[select $1::int + 1 as n, $2::text as s, $3::text as missing, 1.5::float8 as f,
                                true as b, 12345678901234::bigint as big, $4::bool as p]], {41, "a'b;--", sql.null, false})
        local r = rows[1]
        assert(math.type(r.n) == "integer" and r.n == 42)
        assert(r.s == "a'b;--")
        assert(r.missing == sql.null)
        assert(r.f == 1.5 and r.b == true and r.big == 12345678901234 and r.p == false)
        local c = sql("create table t(id int primary key, v text)")
        assert(c.command == "CREATE")
        local i = sql("insert into t values ($1, $2), ($3, $4)", {1, "one", 2, sql.null})
        assert(i.command == "INSERT" and i.affected == 2)
        local none = sql("select * from t where id > 100")
        assert(#none == 0)
        return sql("select id, v from t order by id")
        """)
        XCTAssertEqual(ok.status, 0, ok.all)
        XCTAssertTrue(ok.stdout.contains("\"v\" : null"), ok.stdout)
        XCTAssertEqual(try pg.value("select count(*) from t"), "2")
    }

    func testErrorsCarrySQLSTATE() throws {
        let r = try run("""
        local ok, err = pcall(sql, "select * from no_such_table")
        assert(not ok)
        assert(err.kind == "sql" and err.sqlstate == "42P01", tostring(err))
        local ok2, err2 = pcall(sql, "select 1/0")
        assert(err2.sqlstate == "22012")
        sql("create table u(x int unique)")
        sql("insert into u values (1)")
        local ok3, err3 = pcall(sql, "insert into u values (1)")
        assert(err3.sqlstate == "23505" and err3.detail:find("already exists"), tostring(err3))
        -- the connection is still usable after errors
        return sql("select 2 as two")[1].two
        """)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "2")
        let uncaught = try run("sql('select * from nope')")
        XCTAssertEqual(uncaught.status, 1)
        XCTAssertTrue(uncaught.stderr.contains("42P01") && uncaught.stderr.contains("relation \"nope\" does not exist"), uncaught.stderr)
    }

    func testQuotingWithQuotesBackslashesAndUnicode() throws {
        let names = ["we\"ird", "back\\slash", "semi;colon --", " spaced ", "ünï 表 ✓", "it's"]
        let r = try run("""
        local names = json.decode(polarrun.params.names)
        for i, n in ipairs(names) do
          sql("create table " .. sql.quote_ident(n) .. " (v text)")
          sql("insert into " .. sql.quote_ident(n) .. " values (" .. sql.quote_literal(n) .. ")")
          local back = sql("select v from " .. sql.quote_ident(n))[1].v
          assert(back == n, "literal round trip failed for " .. n)
          local same = sql("select " .. sql.quote_literal(n) .. " = $1 as same", {n})[1].same
          assert(same == true)
        end
        return #names
        """, ["names=" + String(decoding: try JSONSerialization.data(withJSONObject: names), as: UTF8.self)])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertEqual(try pg.value("select count(*) from pg_tables where schemaname = 'public'"), String(names.count))
        XCTAssertEqual(try pg.value("select v from \"we\"\"ird\""), "we\"ird")
    }

    func testConnectHandleAndClose() throws {
        let r = try run("""
        local n
        do
          local c <close> = sql.connect({application_name = "handle-test"})
          n = c:query("select count(*) as n from pg_stat_activity where application_name = $1", {"handle-test"})[1].n
        end
        collectgarbage()
        -- the server ends the backend asynchronously after the client closes: give it a moment
        local after
        polarrun.wait_until(function()
          after = sql("select count(*) as n from pg_stat_activity where application_name = 'handle-test'")[1].n
          return after == 0
        end, 5, 0.05)
        return {during = n, after = after}
        """)
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertTrue(r.stdout.contains("\"during\" : 1") && r.stdout.contains("\"after\" : 0"), r.stdout)
    }

    func testDeadlineCancelsStatementInFlight() throws {
        let start = Date()
        let r = try run("sql('select pg_sleep(30)')", timeout: "1")
        XCTAssertEqual(r.status, 124, r.all)
        XCTAssertLessThan(Date().timeIntervalSince(start), 6)
        XCTAssertTrue(try eventually(5) { try pg.value("select count(*) from pg_stat_activity where query like 'select pg_sleep%'") == "0" })
        let own = try run("local ok, e = pcall(sql, 'select pg_sleep(5)', {}, {timeout = 0.3}) return e.sqlstate")
        XCTAssertEqual(own.status, 0, own.all)
        XCTAssertTrue(own.stdout.contains("57014"), own.stdout)
    }

    func testConnectionFailureIsClear() throws {
        let r = try run("sql('select 1', {}, {port = 1})")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("cannot connect to PostgreSQL"), r.stderr)
        let badOpt = try run("sql('select 1', {}, {prot = 1})")
        XCTAssertEqual(badOpt.status, 2)
        XCTAssertTrue(badOpt.stderr.contains("unknown option 'prot'"), badOpt.stderr)
        let badParams = try run("sql('select $1', {a = 1})")
        XCTAssertEqual(badParams.status, 2)
    }

    /// libpq (and its ~25 libraries) is loaded on the first query, not at start; when it
    /// cannot be loaded the query fails saying so.
    func testLibpqIsLoadedOnFirstQueryOnly() throws {
        let maps = "fs.read('/proc/self/maps'):find('libpq', 1, true) ~= nil"
        let none = try run("return \(maps)")
        XCTAssertEqual(none.status, 0, none.all)
        XCTAssertTrue(none.stdout.contains("false"), none.stdout)
        let loaded = try run("assert(sql('select 1 as one')[1].one == 1); return \(maps)")
        XCTAssertEqual(loaded.status, 0, loaded.all)
        XCTAssertTrue(loaded.stdout.contains("true"), loaded.stdout)
        let path = "\(dir)/missing.lua"
        try write("sql('select 1')", to: path)
        let missing = try polarrun([path], env: pg.env.merging(["POLARRUN_LIBPQ": "/nonexistent/libpq.so.5"]) { $1 })
        XCTAssertEqual(missing.status, 1, missing.all)
        XCTAssertTrue(missing.stderr.contains("cannot load libpq, PostgreSQL's client library (install libpq5): /nonexistent/libpq.so.5"), missing.stderr)
    }

    func testPasswordOverTCPIsMasked() throws {
        try pg.psql("create role app login password 'Pw-for-app-77'")
        let log = "\(dir)/m.log"
        let path = "\(dir)/pw.lua"
        try write("""
        polarrun.inputs { password = {type = "string", secret = true} }
        local r = sql("select current_user as u", {}, {host = "127.0.0.1", user = "app", password = polarrun.params.password})
        log.info("connected as " .. r[1].u .. " with " .. polarrun.params.password)
        sql("select 1", {}, {host = "127.0.0.1", user = "app", password = "wrong-" .. polarrun.params.password})
        """, to: path)
        let r = try polarrun(["--log-file", log, path, "password=Pw-for-app-77"], env: pg.env)
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertTrue(read(log).contains("connected as app with ******"), read(log))
        XCTAssertTrue(r.stderr.contains("password authentication failed"), r.stderr)
        XCTAssertFalse((r.all + read(log)).contains("Pw-for-app-77"))
    }
}
