import XCTest
@testable import PolarRun

/// yaml.load on libyaml: plain scalars typed as YAML 1.1, quoted ones left strings, aliases
/// expanded within the value budget, bad input refused with the line.
final class YAMLTests: XCTestCase {
    private func load(_ text: String) throws -> LuaValue { try YAML.load(text, source: "t.yml") }

    private func items(_ text: String) throws -> [LuaValue] {
        guard case .table(let t) = try load(text) else { XCTFail("not a table"); return [] }
        return t.array
    }

    private func failure(_ text: String) -> String {
        do { _ = try load(text); return "no error" } catch { return "\(error)" }
    }

    func testPlainScalarsAreTyped() throws {
        let v = try items("[1, -7, +3, 1_000, 0755, 0x1F, 0b101, 3.5, 1e3, yes, No, on, false, ~, null, '', x, inf, 09]")
        let want: [LuaValue] = [.int(1), .int(-7), .int(3), .int(1000), .int(0o755), .int(31), .int(5), .number(3.5), .number(1000),
                                .bool(true), .bool(false), .bool(true), .bool(false), .null, .null, .string(""), .string("x"),
                                .string("inf"), .number(9)]
        XCTAssertEqual(v.count, want.count)
        for (got, w) in zip(v, want) { XCTAssertEqual("\(got)", "\(w)") }
    }

    func testQuotedAndTaggedScalarsStayStrings() throws {
        let v = try items("['1', \"true\", !!str 12, \"~\"]")
        XCTAssertEqual(v.map { "\($0)" }, ["1", "true", "12", "~"].map { "\(LuaValue.string($0))" })
    }

    func testMappingsNestAndAliasesExpand() throws {
        guard case .table(let t) = try load("base: &b {k: v}\ncopy: *b\nempty:\n") else { return XCTFail() }
        XCTAssertEqual("\(t.fields[.string("copy")]!)", "\(t.fields[.string("base")]!)")
        XCTAssertEqual("\(t.fields[.string("empty")]!)", "\(LuaValue.null)")
    }

    func testEmptyDocumentIsNil() throws {
        XCTAssertEqual("\(try load(""))", "\(LuaValue.nil)")
        XCTAssertEqual("\(try load("# only a comment\n"))", "\(LuaValue.nil)")
        XCTAssertEqual("\(try load("\u{FEFF}a: 1\n"))", "\(try load("a: 1\n"))")
    }

    func testBadInputNamesTheLine() {
        XCTAssertTrue(failure("a: 1\nb: [x\n").contains("t.yml: YAML syntax error: line 3"), failure("a: 1\nb: [x\n"))
        XCTAssertTrue(failure("a: 1\nb: 2\na: 3\n").contains("t.yml: line 3: duplicate key 'a'"))
        XCTAssertTrue(failure("a: 1\n---\nb: 2\n").contains("expected a single document"))
        XCTAssertTrue(failure("a: *nope\n").contains("undefined alias 'nope'"))
        XCTAssertTrue(failure("x: 1\n<<: {a: 1}\n").contains("line 2: merge keys ('<<') are not supported"))
        XCTAssertTrue(failure("? [a]\n: 1\n").contains("only scalar mapping keys"))
    }

    func testLimits() {
        XCTAssertTrue(failure(String(repeating: "[", count: 300)).contains("nested more than 64 levels"))
        XCTAssertTrue(failure(String(repeating: "- ", count: 70) + "x\n").contains("nested more than 64 levels"))
        XCTAssertTrue(failure(String(repeating: "a", count: (1 << 20) + 1)).contains("at most 1048576"))
        let bomb = (["a: &a [x,x,x,x,x,x,x,x,x]"] + "bcdefghi".map { c in
            "\(c): &\(c) [" + Array(repeating: "*" + String(Character(UnicodeScalar(c.asciiValue! - 1))), count: 9).joined(separator: ",") + "]"
        }).joined(separator: "\n")
        XCTAssertTrue(failure(bomb).contains("aliases expanding without bound"))
    }
}
