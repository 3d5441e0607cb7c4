import XCTest
@testable import PolarRun

/// The Lua/Swift boundary: values both ways, errors, handles, memory.
final class BridgeTests: XCTestCase {
    func makeRuntime(_ configure: (inout RunOptions) -> Void = { _ in }) throws -> Runtime {
        var o = RunOptions()
        o.consoleLevel = .critical
        configure(&o)
        return try Runtime(options: o)
    }

    func eval(_ rt: Runtime, _ source: String) throws -> [LuaValue] {
        try rt.lua.call(try rt.lua.load(source: source, chunkName: "test.lua"))
    }

    func testRoundTripOfEveryValueType() throws {
        let rt = try makeRuntime()
        let values: [LuaValue] = [.nil, .bool(true), .bool(false), .int(0), .int(Int64.max), .int(Int64.min), .number(1.5),
                                  .number(-0.25), .string(""), .string("a\0b\0"), .string("ünïcödé ✓"), .null]
        let identity = try rt.lua.load(source: "return ...", chunkName: "id.lua")
        let back = try rt.lua.call(identity, values)
        XCTAssertEqual(back.count, values.count)
        for (a, b) in zip(values, back) { XCTAssertEqual("\(a)", "\(b)") }
        // integers stay integers, floats stay floats, on the Lua side too
        let types = try eval(rt, "return math.type(...)".replacingOccurrences(of: "...", with: "1")).first
        XCTAssertEqual(types?.stringValue, "integer")
        let nested = LuaValue.table(LuaTable(array: [.int(1), .table(LuaTable(["k": .string("v\0w")]))], fields: [.string("x"): .null]))
        let r = try rt.lua.call(identity, [nested])
        guard case .table(let t) = r[0] else { return XCTFail("not a table") }
        XCTAssertEqual(t.array.count, 2)
        XCTAssertEqual(t.array[1].tableValue?["k"].stringValue, "v\0w")
        if case .null = t["x"] {} else { XCTFail("null lost: \(t["x"])") }
        XCTAssertEqual(try eval(rt, "return tostring(sql.null), sql.null == json.null, type(sql.null)").map { "\($0)" },
                       ["string(\"null\")", "bool(true)", "string(\"userdata\")"])
    }

    func testStringsWithZerosCrossBothWays() throws {
        let rt = try makeRuntime()
        let r = try eval(rt, #"local s = json.decode(json.encode("a\0b")); return #s, s == "a\0b""#)
        XCTAssertEqual(r[0].intValue, 3)
        XCTAssertEqual(r[1].boolValue, true)
    }

    func testHostErrorIsCaughtByPcall() throws {
        let rt = try makeRuntime()
        rt.lua.setGlobal("fail") { _ in throw HostError("io", "disk on fire", fields: ["code": 7]) }
        let r = try eval(rt, """
        local ok, err = pcall(function() fail() end)
        return ok, tostring(err), err.kind, err.code, err:match("on (%a+)")
        """)
        XCTAssertEqual(r[0].boolValue, false)
        XCTAssertEqual(r[1].stringValue, "test.lua:1: disk on fire")
        XCTAssertEqual(r[2].stringValue, "io")
        XCTAssertEqual(r[3].intValue, 7)
        XCTAssertEqual(r[4].stringValue, "fire")
    }

    /// Objects the Swift closure holds while it throws must be released: no longjmp crossed Swift.
    func testTenThousandErrorsLeakNoSwiftObjects() throws {
        final class Tracked { nonisolated(unsafe) static var live = 0; init() { Tracked.live += 1 }; deinit { Tracked.live -= 1 } }
        let rt = try makeRuntime()
        rt.lua.setGlobal("fail") { _ in
            let t = Tracked()
            withExtendedLifetime(t) {}
            throw HostError.runtime("boom")
        }
        Tracked.live = 0
        let r = try eval(rt, "local n = 0 for i = 1, 10000 do if not pcall(fail) then n = n + 1 end end return n")
        XCTAssertEqual(r[0].intValue, 10000)
        XCTAssertEqual(Tracked.live, 0)
        rt.lua.collectGarbage()
        XCTAssertLessThan(rt.lua.memoryKB, 2048)
    }

    func testHandlesAreReleasedByCloseAndGC() throws {
        let dir = try makeTempDir(self)
        let rt = try makeRuntime()
        let r = try eval(rt, """
        do local l <close> = fs.flock("\(dir)/a.lock") end
        local again = fs.flock("\(dir)/a.lock", {timeout = 0})   -- free again after <close>
        again:close()
        local x = fs.flock("\(dir)/b.lock"); x = nil; collectgarbage(); collectgarbage()
        local y = fs.flock("\(dir)/b.lock", {timeout = 0})        -- free again after __gc
        return true
        """)
        XCTAssertEqual(r[0].boolValue, true)
    }

    func testCyclicTableIsAnError() throws {
        let rt = try makeRuntime()
        let r = try eval(rt, "local t = {} t.self = t local ok, e = pcall(json.encode, t) return ok, tostring(e)")
        XCTAssertEqual(r[0].boolValue, false)
        XCTAssertTrue(r[1].stringValue?.contains("cyclic") ?? false)
    }

    func testOnlySafeLibrariesAreOpen() throws {
        let rt = try makeRuntime()
        let r = try eval(rt, "return io, os.execute, os.remove, dofile, loadfile, debug, package, os.time ~= nil")
        for v in r.dropLast() { XCTAssertTrue(v.isNil, "\(v) should not be reachable") }
        XCTAssertEqual(r.last?.boolValue, true)
        // bytecode is refused
        let b = try eval(rt, #"local f, err = load("\27Lua...") return f, err"#)
        XCTAssertTrue(b[0].isNil)
        XCTAssertTrue(b[1].stringValue?.contains("binary") ?? false, "\(b[1])")
    }

    func testDeadlineStopsLoopThatCatchesErrors() throws {
        let rt = try makeRuntime { $0.timeout = 0.3 }
        let dir = try makeTempDir(self)
        try write("while true do pcall(function() while true do end end) end", to: dir + "/loop.lua")
        let start = Date()
        let outcome = rt.run(try Runbook(path: dir + "/loop.lua"))
        XCTAssertEqual(outcome.exitCode, 124)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }
}
