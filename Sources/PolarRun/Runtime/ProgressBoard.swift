#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Live progress of long child processes on a terminal: one line per task (state, Dockerfile
/// step, elapsed time, latest output line), redrawn in place instead of printing every line.
///
/// A task is a `spawn(argv, {prefix = "engine", progress = "building"})`: the prefix names its
/// row and `progress` is the state shown while it runs. Its output still goes to
/// the manager log line by line; only the console shows the board. When the console is not a
/// terminal (CI, PolarDB Stack reading stdout) there is no board and every line is printed as
/// before, so nothing that reads the output breaks. `POLARRUN_PROGRESS=0|1` forces it off/on.
///
///     polardb_pg_engine_test     building  step 12/25    38.4s  RUN make -j2 install
///     polardb_pg_engine_release  done      step 25/25   412.0s
public final class ProgressBoard {
    struct Row {
        var label: String
        var state: String
        var step: String = ""
        var started: Double
        var ended: Double? = nil
        var latest: String = ""
    }

    private var rows: [Row] = []
    private var drawn = 0            // lines of the board now on the screen
    private var lastDraw = 0.0
    private let width: Int

    /// A board when stderr and stdout are terminals (or POLARRUN_PROGRESS=1), else nil.
    public static func make(environment: [String: String]) -> ProgressBoard? {
        switch environment["POLARRUN_PROGRESS"] {
        case "0": return nil
        case "1": break
        default:
            guard isatty(1) == 1, isatty(2) == 1, environment["TERM"] != "dumb" else { return nil }
        }
        var ws = winsize()
        let cols = ioctl(2, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 20 ? Int(ws.ws_col) : 120
        return ProgressBoard(width: cols)
    }

    init(width: Int) { self.width = width }

    /// A task starts (or starts again: a push after a build uses the same label).
    func begin(_ label: String, state: String) {
        let now = Date().timeIntervalSince1970
        if let i = rows.firstIndex(where: { $0.label == label }) {
            rows[i].state = state; rows[i].started = now; rows[i].ended = nil; rows[i].step = ""; rows[i].latest = ""
        } else {
            rows.append(Row(label: label, state: state, started: now))
        }
        redraw(force: true)
    }

    /// A line of the task's output: `Step 12/25 : ...` (classic builder) or `#12 [3/9] ...`
    /// (BuildKit) updates its step.
    func line(_ label: String, _ text: String) {
        guard let i = rows.firstIndex(where: { $0.label == label }) else { return }
        if let r = text.firstRange(of: #/^Step [0-9]+/[0-9]+/#) {
            rows[i].step = "step " + text[r].dropFirst(5)
        } else if let r = text.firstRange(of: #/\[[0-9]+/[0-9]+\]/#) {
            rows[i].step = "step " + text[r].dropFirst().dropLast()
        }
        rows[i].latest = text
        redraw(force: false)
    }

    func end(_ label: String, ok: Bool) {
        guard let i = rows.firstIndex(where: { $0.label == label }) else { return }
        rows[i].ended = Date().timeIntervalSince1970
        rows[i].state = ok ? "done" : "failed"
        redraw(force: true)
        // all done: the last frame stays in the scrollback and the next task starts a new board
        if rows.allSatisfy({ $0.ended != nil }) { rows = []; drawn = 0 }
    }

    /// Elapsed times move on while nothing is printed.
    func tick() { if shown { redraw(force: false) } }

    /// Whether a board is on the screen (a task runs, or has not been drawn for the last time).
    var shown: Bool { !rows.isEmpty }

    /// Writes text above the board (a log line, or what the runbook prints on stdout), then
    /// draws the board again under it.
    func print(_ text: String, toStdout: Bool) {
        if toStdout {
            write(clear())
            Stdio.out(text)
            write(render())
        } else {
            write(clear() + text + render())
        }
    }

    private func clear() -> String {
        guard drawn > 0 else { return "" }
        let s = "\u{1B}[\(drawn)A\r\u{1B}[J"
        drawn = 0
        return s
    }

    private func render() -> String {
        let now = Date().timeIntervalSince1970
        let labelWidth = min(32, (rows.map { $0.label.count }.max() ?? 8) + 2)
        var out = ""
        for r in rows {
            let secs = cFormat("%6.1fs", (r.ended ?? now) - r.started)
            var line = r.label.padded(to: labelWidth)
                + r.state.padded(to: 10)
                + r.step.padded(to: 12) + secs
            if r.ended == nil && !r.latest.isEmpty { line += "  " + r.latest }
            if line.count > width - 1 { line = String(line.prefix(width - 1)) }
            out += line + "\n"
        }
        drawn = rows.count
        return out
    }

    private func redraw(force: Bool) {
        let now = Date().timeIntervalSince1970
        guard force || now - lastDraw >= 0.1 else { return }   // at most ten frames a second
        lastDraw = now
        write(clear() + render())
    }

    private func write(_ s: String) {
        Stdio.err(s)
    }
}
