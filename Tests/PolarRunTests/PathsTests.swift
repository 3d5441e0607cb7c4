import XCTest
@testable import PolarRun

/// The path helpers that replaced `as NSString` give NSString's answers.
final class PathsTests: XCTestCase {
    func testLastPathComponent() {
        let cases = ["a/b/c": "c", "a/b/": "b", "/": "/", "": "", "c": "c", "/a": "a", "/a//": "a"]
        for (p, want) in cases { XCTAssertEqual(p.lastPathComponent, want, p) }
    }

    func testDeletingLastPathComponent() {
        let cases = ["/a/b": "/a", "/a": "/", "a": "", "a/b/": "a", "/": "/", "a//b": "a", "./x.lua": "."]
        for (p, want) in cases { XCTAssertEqual(p.deletingLastPathComponent, want, p) }
    }

    func testAppendingPathComponent() {
        XCTAssertEqual("a".appendingPathComponent("b"), "a/b")
        XCTAssertEqual("a/".appendingPathComponent("b"), "a/b")
        XCTAssertEqual("".appendingPathComponent("b"), "b")
        XCTAssertEqual("/".appendingPathComponent("lib"), "/lib")
        XCTAssertEqual("/x".appendingPathComponent("lib/m.lua"), "/x/lib/m.lua")
    }

    func testTemporaryDirectoryEndsWithSlash() {
        XCTAssertTrue(temporaryDirectory().hasSuffix("/"))
    }
}
