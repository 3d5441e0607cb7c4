import Foundation
import XCTest
@testable import PolarRun

/// Bounded random-input tests (issue 13) for the parsers hostile input reaches first: the
/// conf-file parser/writer, the YAML loader (image.yml) and the Stack variable decoder.
/// Each target runs for POLARRUN_FUZZ_SECONDS (default 2) with a seed printed on failure;
/// POLARRUN_FUZZ_SEED=N replays one.
final class FuzzTests: XCTestCase {
    /// SplitMix64: small, fast and reproducible from one seed.
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    let seconds = ProcessInfo.processInfo.environment["POLARRUN_FUZZ_SECONDS"].flatMap(Double.init) ?? 2
    override func setUp() { continueAfterFailure = false }

    lazy var seed: UInt64 = ProcessInfo.processInfo.environment["POLARRUN_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)

    /// Runs `body` with fresh randomness until the time is up; returns the iterations run.
    @discardableResult
    func fuzz(_ name: String, _ body: (inout RNG) throws -> Void) rethrows -> Int {
        var rng = RNG(state: seed)
        let end = Date().addingTimeInterval(seconds)
        var n = 0
        while Date() < end {
            let before = rng.state
            do { try body(&rng) } catch {
                XCTFail("\(name): iteration \(n) (POLARRUN_FUZZ_SEED=\(seed), state \(before)): \(error)")
                throw error
            }
            n += 1
        }
        return n
    }

    /// Text built from pieces that matter to the parser under test, plus random bytes.
    func text(_ rng: inout RNG, pieces: [String], maxPieces: Int = 12) -> String {
        var s = ""
        for _ in 0..<Int.random(in: 0...maxPieces, using: &rng) {
            if Int.random(in: 0..<5, using: &rng) == 0 {
                s += String(UnicodeScalar(UInt8.random(in: 0...255, using: &rng)))
            } else {
                s += pieces.randomElement(using: &rng)!
            }
        }
        return s
    }

    func testConfFileRoundTripsEveryValueItAccepts() throws {
        let pieces = ["'", "''", "\\", "#", "=", " ", "\t", "a", "Z", "_", "0", "9", ".", "-", "5.5", "MB", "min", "e3", "é", "\"", ",", "$libdir", "\n", "\r", "\0"]
        let n = try fuzz("conf") { rng in
            let value = text(&rng, pieces: pieces)
            let original = "# header\n" + text(&rng, pieces: pieces + ["work_mem = 4MB", "\nport = 1\n"], maxPieces: 6) + "\nwork_mem = 1MB  # c\n"
            var conf = ConfFile(text: original)
            let formatted: String
            do { formatted = try ConfFile.format(value) } catch let e as HostError where e.kind == "usage" {
                XCTAssertTrue(value.contains("\n") || value.contains("\r") || value.contains("\0"), "refused '\(value)': \(e.message)")
                return
            }
            _ = conf.set("work_mem", formatted: formatted)
            let reread = ConfFile(text: conf.text)
            // a value already in conf syntax ('it''s') is written as given and means its content
            let meant = formatted == value && value.hasPrefix("'") && value.count >= 2 ? ConfFile.unquote(value) : value
            XCTAssertEqual(reread.value("work_mem"), meant, "value '\(value)' written as '\(formatted)' reads back differently")
            XCTAssertEqual(ConfFile.unquote(formatted), meant)
            // the file's other lines are kept
            XCTAssertTrue(conf.text.hasPrefix("# header\n"), conf.text)
        }
        XCTAssertGreaterThan(n, 100)
    }

    func testYAMLLoaderFailsCleanlyOnAnyInput() throws {
        let pieces = ["images:", "\n", "  - ", "id: e", "&a ", "*a", "<<: ", "[", "]", "{", "}", ",", ": ", "'", "\"", "#", "|", ">", "---", "...",
                      "!!str ", "!!binary ", "%YAML 1.2\n", "\u{FEFF}", "?", "-", "  ", "\t", "~", "null", "true", "0x1F", "1e400", "é"]
        let n = try fuzz("yaml") { rng in
            let t = text(&rng, pieces: pieces, maxPieces: 40)
            do { _ = try YAML.load(t, source: "fuzz.yml") } catch let e as HostError {
                XCTAssertEqual(e.kind, "usage", "\(t.debugDescription): \(e.message)")
            }
        }
        XCTAssertGreaterThan(n, 100)
        // the shapes that used to crash or hang, once each
        let bomb = (["a: &a [x,x,x,x,x,x,x,x,x]"] + (1...9).map { i in "l\(i): &l\(i) [" + Array(repeating: i == 1 ? "*a" : "*l\(i - 1)", count: 9).joined(separator: ",") + "]" }).joined(separator: "\n")
        for hostile in [bomb, String(repeating: "[", count: 200_000), String(repeating: "- ", count: 100_000) + "x", String(repeating: "x", count: 2 << 20)] {
            XCTAssertThrowsError(try YAML.load(hostile, source: "h.yml"))
        }
    }

    func testJSONDecoderFailsCleanlyOnAnyInput() throws {
        let pieces = ["{", "}", "[", "]", "\"", "\\", "\\u", "D800", ":", ",", "1", "-", "e", "1e999", "null", "true", " ", "\"password\"", "é", "\0"]
        let n = try fuzz("json") { rng in
            let t = text(&rng, pieces: pieces, maxPieces: 30)
            do { _ = try JSON.decode(t) } catch let e as HostError { XCTAssertEqual(e.kind, "usage") }
        }
        XCTAssertGreaterThan(n, 100)
    }

    /// The Stack variable decoder (runbooks/lib/stack_vars.lua) in real runs: whatever the Stack
    /// sends, every accessor either answers or raises a usage error — never a Lua runtime error.
    func testStackVariableDecoderRaisesOnlyUsageErrors() throws {
        let dir = try makeTempDir(self)
        let probe = dir + "/probe.lua"
        try write("""
            local ok, v = pcall(require("stack_vars").load)
            if not ok then
              if type(v) == "table" and v.kind == "usage" then return "usage" end
              error("load: " .. tostring(v))
            end
            for _, f in ipairs({"port", "conf_params", "slot", "instance", "disk_name", "san_disk"}) do
              local ok2, e = pcall(v[f])
              if not ok2 and not (type(e) == "table" and e.kind == "usage") then error(f .. ": " .. tostring(e)) end
            end
            return "ok"
            """, to: probe)
        let pieces = ["{", "}", "[", "]", "\"", ":", ",", "1", "0", "-1", "65536", "1.5", "null", "true", "\"access_port\"", "\"disk_name\"",
                      "\"volume_id\"", "\"x\"", "\"ins1\"", "\"custins_id\"", "\"pbd_list\"", "\"engine_type\"", "\"san\"", "{\"access_port\":[5432]}", "[\"a\"]", "1e999", " "]
        let vars = ["srv_opr_host_ip", "srv_opr_hosts", "cluster_custins_info", "mycnf_dict", "params", "port",
                    "current_ins", "ro_custins_current", "ins_topology_4_replication", "san_device_name", "slot_unique_name"]
        var runs = 0
        try fuzz("stack_vars") { rng in
            var env = ["POLARRUN_RUNBOOKS": Repo.runbooks, "ins_id": "ins1"]
            for v in vars where Bool.random(using: &rng) { env[v] = text(&rng, pieces: pieces, maxPieces: 14) }
            if Bool.random(using: &rng) { env["service_type"] = text(&rng, pieces: ["standby", "ro", "é", " "], maxPieces: 3) }
            let r = try polarrun([probe], env: env, timeout: 30)
            XCTAssertEqual(r.status, r.status == 2 ? 2 : 0, "env \(env): \(r.all)")
            runs += 1
        }
        XCTAssertGreaterThan(runs, 5)
    }
}
