#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// conf_set, conf.get, conf.unquote and conf.lock on postgresql.conf-style files.
extension Runtime {
    func installConf() {
        lua.define(API.Conf.set) { [unowned self] call in
            let path = try call.string(1, "file")
            let changes = try call.table(2, "settings")
            guard changes.array.isEmpty else { throw HostError.usage("conf_set: settings must be a table of name = value") }
            // validate everything before touching the file
            var edits: [(String, String?)] = []
            for (k, v) in changes.fields.sorted(by: { $0.key < $1.key }) {
                guard case .string(let name) = k, ConfFile.isValidName(name) else {
                    throw HostError.usage("conf_set: '\(k)' is not a valid parameter name")
                }
                switch v {
                case .null: edits.append((name, nil))
                case .bool(let b): edits.append((name, b ? "on" : "off"))
                case .int(let i): edits.append((name, String(i)))
                case .number(let d): edits.append((name, String(d)))
                case .string(let s):
                    do { edits.append((name, try ConfFile.format(s))) } catch let e as HostError {
                        throw HostError.usage("conf_set: \(name): \(e.message)")
                    }
                default: throw HostError.usage("conf_set: value of '\(name)' must be a string, number, boolean or null, got \(v.typeName)")
                }
            }
            // inside conf.lock(path) the run holds the lock already (flock would wait for itself)
            let lock = self.heldConfLock(path) == nil
                ? try self.acquireLock(path: lockPath(for: path), shared: false, timeout: 60,
                                       onWait: { self.log(.info, "waiting for the lock on \(path)") })
                : nil
            defer { lock?.close() }
            guard let bytes = try self.readFile(path) else { throw HostError.io("conf_set: \(path) does not exist") }
            var conf = ConfFile(text: String(decoding: bytes, as: UTF8.self))
            var changed: [String] = []
            for (name, value) in edits {
                let did = value.map { conf.set(name, formatted: $0) } ?? conf.remove(name)
                if did { changed.append(name) }
            }
            if !changed.isEmpty {
                let what = changed.map { n in "\(n) = \(conf.rawValue(n) ?? "(removed)")" }.joined(separator: ", ")
                if let view = self.recorder?.files {
                    try view.write(path, Array(conf.text.utf8), mode: nil)
                    self.log(.info, "[dry-run] conf_set \(path) would set: \(what)")
                    return [.list(changed)]
                }
                try AtomicFile.write(conf.text, to: path)
                self.log(.info, "conf_set \(path): \(what)")
            }
            return [.list(changed)]
        }
        lua.define(API.Conf.get) { [unowned self] call in
            let path = try call.string(1, "file")
            guard let bytes = try self.readFile(path) else { throw HostError.io("conf.get: \(path) does not exist") }
            let conf = ConfFile(text: String(decoding: bytes, as: UTF8.self))
            if call[2].isNil {
                var t = LuaTable()
                for (k, v) in conf.settings { t[k] = .string(v) }
                return [.table(t)]
            }
            return [.optional(conf.value(try call.string(2, "parameter name")))]
        }
        lua.define(API.Conf.unquote) { call in
            let raw = try call.string(1, "value")
            guard let (text, quoted) = ConfFile.unquoteChecked(raw) else {
                return [.nil, .string("malformed quoted value: a lone ' inside the quotes")]
            }
            return [.string(text), .bool(quoted)]
        }
        lua.define(API.Conf.lock) { [unowned self] call in
            let path = try call.string(1, "file")
            let o = Options(try call.optTable(2, "options"), context: "conf.lock")
            let lp = lockPath(for: path)
            let lock = try self.acquireLock(path: lp, shared: false, timeout: try o.double("timeout") ?? 60,
                                            onWait: { self.log(.info, "waiting for the lock on \(path)") })
            self.confLocks[lp] = WeakFileLock(lock)
            return [.object(lock)]
        }
    }

    /// The open conf.lock handle of this run for `path`'s lock file, if any.
    func heldConfLock(_ path: String) -> FileLock? {
        guard let l = confLocks[lockPath(for: path)]?.lock, l.isOpen else { return nil }
        return l
    }
}

/// A conf.lock handle the Lua state owns; the runtime only needs to know whether it is still open.
final class WeakFileLock {
    weak var lock: FileLock?
    init(_ lock: FileLock) { self.lock = lock }
}

/// The lock that serializes writers of a conf file: a hidden file beside it.
func lockPath(for path: String) -> String {
    let dir = path.deletingLastPathComponent
    return (dir.isEmpty ? "." : dir) + "/." + path.lastPathComponent + ".lock"
}
