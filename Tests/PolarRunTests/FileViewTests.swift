import Foundation
import XCTest
@testable import PolarRun

/// The dry run's overlay: later reads see earlier writes, and the disk is never touched.
final class FileViewTests: XCTestCase {
    func testReadsSeeWritesAndTheDiskStaysAsItWas() throws {
        let dir = try makeTempDir(self)
        try write("one\n", to: dir + "/a")
        try write("x\n", to: dir + "/sub/b")
        let v = FileView()
        XCTAssertEqual(v.read(dir + "/a").map { String(decoding: $0, as: UTF8.self) }, "one\n")
        try v.write(dir + "/a", Array("two\n".utf8), mode: nil)
        try v.write(dir + "//./c", Array("new\n".utf8), mode: 0o600)
        XCTAssertEqual(v.read(dir + "/a").map { String(decoding: $0, as: UTF8.self) }, "two\n")
        XCTAssertTrue(v.exists(dir + "/c"))
        XCTAssertEqual(v.list(dir), ["a", "c", "sub"])
        // a removed directory hides what is below it; a new one over it starts empty
        XCTAssertTrue(v.remove(dir + "/sub"))
        XCTAssertFalse(v.exists(dir + "/sub/b"))
        XCTAssertEqual(v.list(dir), ["a", "c"])
        try v.mkdir(dir + "/sub/deeper")
        XCTAssertEqual(v.list(dir + "/sub"), ["deeper"])
        // a write into a directory that does not exist fails as the real write would
        XCTAssertThrowsError(try v.write(dir + "/nowhere/f", [], mode: nil))
        v.symlink("a", at: dir + "/link")
        XCTAssertEqual(v.read(dir + "/link").map { String(decoding: $0, as: UTF8.self) }, "two\n")
        try v.copy(dir + "/a", to: dir + "/sub/copy")
        XCTAssertEqual(v.read(dir + "/sub/copy").map { String(decoding: $0, as: UTF8.self) }, "two\n")
        // nothing of that reached the disk
        XCTAssertEqual(read(dir + "/a"), "one\n")
        XCTAssertEqual(read(dir + "/sub/b"), "x\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["a", "sub"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/sub"), ["b"])
    }

    func testTheRecorderReportsTheFinalChangeOfEachFile() throws {
        let dir = try makeTempDir(self)
        try write("k = 1\n", to: dir + "/conf")
        let r = DryRun()
        try r.files.write(dir + "/conf", Array("k = 2\n".utf8), mode: nil)
        try r.files.write(dir + "/conf", Array("k = 3\n".utf8), mode: nil)
        try r.files.write(dir + "/tmp", Array("t".utf8), mode: nil)
        r.files.remove(dir + "/tmp")          // written and removed again: no change
        r.statement("create role x")
        r.action("pg_ctl reload the instance in /data")
        let changes = r.fileChanges()
        XCTAssertEqual(changes.map(\.path), [dir + "/conf"])
        XCTAssertEqual(changes.first?.diff, "--- a\(dir)/conf\n+++ b\(dir)/conf\n@@ -1 +1 @@\n-k = 1\n+k = 3\n")
        XCTAssertEqual(r.summary(files: changes.count), "dry run: 1 file(s) would change, 1 statement(s) would run, 1 action(s)")
    }

    func testSideEffectFunctionsAreRefusedBeforeTheyAreSent() {
        for q in ["select pg_reload_conf()", "SELECT PG_TERMINATE_BACKEND(1)", "select pg_switch_wal()",
                  "select * from pg_create_physical_replication_slot($1)", "select pg_stat_reset_shared('bgwriter')",
                  "checkpoint", "  vacuum full t", "copy t to '/tmp/x'", "/* c */ analyze t",
                  "select polar_vfs_disk_expansion($1)"] {
            XCTAssertNotNil(DryRunSQL.sideEffect(q), q)
        }
        for q in ["select 1", "select pg_is_in_recovery()", "create role x", "copy t to stdout", "select * from pg_replication_slots"] {
            XCTAssertNil(DryRunSQL.sideEffect(q), q)
        }
        let s = DryRunSQL.shown("create role x\n  password 'it''s secret' login", ["a"], secrets: Secrets())
        XCTAssertEqual(s, "create role x password '******' login -- $1 = 'a'")
    }
}
