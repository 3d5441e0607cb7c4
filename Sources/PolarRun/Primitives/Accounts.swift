#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// proc.user(name) / proc.group(name): the system's account database (getpwnam_r / getgrnam_r,
/// so NSS sources count, not only /etc/passwd), read-only.
extension Runtime {
    func installAccounts() {
        lua.define(API.Proc.user) { call in
            let name = try call.string(1, "user name or uid")
            guard let u = try OSAccounts.user(name) else { return [.nil] }
            return [.record(["name": .string(u.name), "uid": .int(Int64(u.uid)), "gid": .int(Int64(u.gid)),
                             "home": .string(u.home), "shell": .string(u.shell)])]
        }
        lua.define(API.Proc.group) { call in
            let name = try call.string(1, "group name or gid")
            guard let g = try OSAccounts.group(name) else { return [.nil] }
            return [.record(["name": .string(g.name), "gid": .int(Int64(g.gid)), "members": .list(g.members)])]
        }
    }
}

/// Lookups in the account database by name, or by number when the text is one.
enum OSAccounts {
    struct User { var name: String; var uid: uid_t; var gid: gid_t; var home: String; var shell: String }
    struct Group { var name: String; var gid: gid_t; var members: [String] }

    /// nil when there is no such user; an error when the database cannot be read.
    static func user(_ key: String) throws -> User? {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buf = [CChar](repeating: 0, count: 16384)
        let rc: Int32 = buf.withUnsafeMutableBufferPointer { b in
            if let id = uid_t(key) { return getpwuid_r(id, &pw, b.baseAddress!, b.count, &result) }
            return getpwnam_r(key, &pw, b.baseAddress!, b.count, &result)
        }
        guard rc == 0 else { throw HostError.io("proc.user: cannot read the user database: \(errnoText(rc))") }
        guard let p = result?.pointee else { return nil }
        return User(name: String(cString: p.pw_name), uid: p.pw_uid, gid: p.pw_gid,
                    home: String(cString: p.pw_dir), shell: String(cString: p.pw_shell))
    }

    /// nil when there is no such group; an error when the database cannot be read.
    static func group(_ key: String) throws -> Group? {
        var gr = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>? = nil
        var buf = [CChar](repeating: 0, count: 65536)
        let rc: Int32 = buf.withUnsafeMutableBufferPointer { b in
            if let id = gid_t(key) { return getgrgid_r(id, &gr, b.baseAddress!, b.count, &result) }
            return getgrnam_r(key, &gr, b.baseAddress!, b.count, &result)
        }
        guard rc == 0 else { throw HostError.io("proc.group: cannot read the group database: \(errnoText(rc))") }
        guard let g = result?.pointee else { return nil }
        var members: [String] = []
        var i = 0
        while let m = g.gr_mem?[i] { members.append(String(cString: m)); i += 1 }
        return Group(name: String(cString: g.gr_name), gid: g.gr_gid, members: members)
    }
}
