import Foundation
import XCTest
@testable import PolarRun

/// Issue 13 without a database: secrets masked whatever their bytes, children's clean
/// environment, temporary files of killed runs removed, malformed inputs refused.
final class HardeningTests: XCTestCase, ScratchRunbooks {
    var dir = ""

    override func setUpWithError() throws { dir = try makeTempDir(self) }

    func testSecretsAreMaskedWhateverTheirBytes() throws {
        let p = try runbook("mask.lua", """
            polarrun.inputs { password = {type = "string", secret = true} }
            local pw = polarrun.params.password
            log.info({p = pw})                    -- JSON: the newline becomes \\n
            log.info("ALTER ROLE x PASSWORD " .. sql.quote_literal(pw))   -- SQL literal: quotes doubled
            log.info((pw:gsub("\\n", " ")))      -- folded onto one line
            print(pw)
            """)
        let pw = "new\nline'pass\\word"
        let r = try polarrun([p, "password=\(pw)", "--log-file", "\(dir)/m.log", "--verbose"])
        XCTAssertEqual(r.status, 0, r.all)
        let everything = r.all + read("\(dir)/m.log")
        for leak in ["line'pass", "line''pass", "new\\nline", "new line", "pass\\word", "pass\\\\word"] {
            XCTAssertFalse(everything.contains(leak), "'\(leak)' leaked:\n\(everything)")
        }
        XCTAssertTrue(everything.contains("******"), everything)
    }

    func testPasswordInsideAJSONInputIsASecret() throws {
        let p = try runbook("json.lua", """
            polarrun.inputs { params = {type = "json", required = true} }
            error("rejected: " .. polarrun.params.params.password)
            """)
        let r = try polarrun([p, #"params={"password":"hunter2-secret"}"#])
        XCTAssertEqual(r.status, 1, r.all)
        XCTAssertFalse(r.all.contains("hunter2-secret"), r.all)
    }

    func testChildrenGetACleanEnvironment() throws {
        let p = try runbook("env.lua", """
            local r = proc.run({"env"}, {quiet = true})
            local e = proc.run({"env"}, {quiet = true, env = {GIVEN = "explicit"}})
            return {plain = r.stdout, given = e.stdout}
            """)
        let r = try polarrun(["--json", p], env: ["srv_opr_password": "stack-secret-1", "PGPASSWORD": "pg-secret-2",
                                                  "RANDOM_VAR": "x", "PGPORT": "5999", "LC_ALL": "C"])
        XCTAssertEqual(r.status, 0, r.all)
        let plain = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
        let env = plain["plain"] ?? ""
        for gone in ["srv_opr_password", "PGPASSWORD", "RANDOM_VAR"] { XCTAssertFalse(env.contains(gone + "="), "\(gone) reached the child:\n\(env)") }
        for kept in ["PATH=", "PGPORT=5999", "LC_ALL=C"] { XCTAssertTrue(env.contains(kept), "\(kept) missing:\n\(env)") }
        XCTAssertTrue((plain["given"] ?? "").contains("GIVEN=explicit"), r.stdout)
    }

    func testTemporaryFilesOfAKilledRunAreRemovedByTheNextWrite() throws {
        let conf = "\(dir)/postgresql.conf"
        try write("port = 5432\n", to: conf)
        // what a SIGKILL between create and rename leaves: a temp file of a process that is gone
        let dead = "\(dir)/.postgresql.conf.polarrun-4000000-1234"
        let other = "\(dir)/.other.conf.polarrun-4000000-1"
        try write("x", to: dead)
        try write("x", to: other)
        let live = "\(dir)/.postgresql.conf.polarrun-\(getpid())-1"   // its writer is alive: kept
        try write("x", to: live)
        let p = try runbook("set.lua", "conf_set('\(conf)', {work_mem = '5.5MB', port = 5433})\n")
        let r = try polarrun([p])
        XCTAssertEqual(r.status, 0, r.all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead), "stale temporary file left")
        XCTAssertTrue(FileManager.default.fileExists(atPath: other), "another file's temporary was touched")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live writer's file was removed")
        // values are written as PostgreSQL's lexer reads them: a real number with a unit is quoted
        XCTAssertTrue(read(conf).contains("work_mem = '5.5MB'"), read(conf))
        XCTAssertTrue(read(conf).contains("port = 5433"), read(conf))
    }

    func testConfValuesAreQuotedAsTheEngineParsesThem() throws {
        for (value, written) in [("5.5MB", "'5.5MB'"), ("1.5min", "'1.5min'"), ("64MB", "64MB"), ("0.5", "0.5"),
                                 ("-1", "-1"), ("on", "on"), ("1e3", "'1e3'"), ("1.5e3", "1.5e3"), ("a b", "'a b'"), ("10s", "10s")] {
            XCTAssertEqual(try ConfFile.format(value), written, value)
        }
    }

    func testPaddedIntegersAndInvalidUTF8AreRefused() throws {
        let p = try runbook("int.lua", "polarrun.inputs { n = {type = 'integer'} }\nreturn polarrun.params.n\n")
        XCTAssertEqual(try polarrun([p, "n= 1"]).status, 2)
        XCTAssertEqual(try polarrun([p, "n=1 "]).status, 2)
        XCTAssertEqual(try polarrun([p, "n=1"]).status, 0)
        // a raw byte 0xFF: the argument is refused, not turned into U+FFFD
        let r = try command(["/bin/sh", "-c", "exec \"$0\" \"$1\" \"$(printf 'user=a\\377b')\"", Repo.binary, p])
        XCTAssertEqual(r.status, 2, r.all)
        XCTAssertTrue(r.stderr.contains("not valid UTF-8"), r.stderr)
        // the same through the environment (how PolarDB Stack sends srv_opr_user_name)
        let envProbe = try runbook("envutf8.lua", "return proc.env('srv_opr_user_name')\n")
        let e = try command(["/bin/sh", "-c", "srv_opr_user_name=\"$(printf 'a\\377b')\" exec \"$0\" \"$1\"", Repo.binary, envProbe])
        XCTAssertEqual(e.status, 2, e.all)
        XCTAssertTrue(e.stderr.contains("srv_opr_user_name is not valid UTF-8"), e.stderr)
    }
}
