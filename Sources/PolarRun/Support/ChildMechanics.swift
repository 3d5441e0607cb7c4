#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// What every child process needs, written once for `proc.run` (Subprocess) and `proc.spawn`
/// (ChildProcess): splitting output into lines, stopping a child (SIGTERM to its process group,
/// SIGKILL after a grace period), and turning a wait status into an exit status.
enum ChildMechanics {
    /// Seconds between SIGTERM and SIGKILL when a child is stopped.
    static let killGrace = 3.0

    /// The exit status a shell would report: the exit code, or 128 + the signal that killed it.
    static func exitStatus(_ waitStatus: Int32) -> Int32 {
        (waitStatus & 0x7f) == 0 ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f)
    }

    /// Sends `signal` to the child's process group and to the child itself (it may have left the group).
    static func signal(_ pid: pid_t, _ signal: Int32) {
        guard pid > 0 else { return }
        kill(-pid, signal)
        kill(pid, signal)
    }

    /// The first step of stopping a child: SIGTERM to its process group.
    static func terminate(_ pid: pid_t) { signal(pid, SIGTERM) }

    /// The second step, once `killGrace` has passed since `terminatedAt`: SIGKILL. Returns
    /// whether it was sent.
    @discardableResult
    static func killIfOverdue(_ pid: pid_t, terminatedAt: Double?, now: Double = sl_now()) -> Bool {
        guard let t = terminatedAt, now - t > killGrace else { return false }
        signal(pid, SIGKILL)
        return true
    }
}

/// Splits a byte stream into lines (LF or CR ends one; empty lines are dropped), keeping the
/// unfinished last line for the next chunk.
struct LineSplitter {
    private var partial: [UInt8] = []

    /// Feeds a chunk; `emit` gets every complete line.
    mutating func feed<C: Collection>(_ data: C, _ emit: (String) -> Void) where C.Element == UInt8 {
        for b in data {
            if b == 0x0A || b == 0x0D {
                if !partial.isEmpty { emit(String(decoding: partial, as: UTF8.self)) }
                partial.removeAll(keepingCapacity: true)
            } else { partial.append(b) }
        }
    }

    /// The unfinished last line, if any (the stream ended without a newline).
    mutating func flush(_ emit: (String) -> Void) {
        if !partial.isEmpty { emit(String(decoding: partial, as: UTF8.self)) }
        partial = []
    }
}
