import CLua
import LuaShim

/// Copying values across the boundary. Only raw, non-raising API calls are used.
extension LuaState {
    /// Pushes a Swift value onto the Lua stack.
    public func push(_ v: LuaValue) {
        switch v {
        case .nil: lua_pushnil(L)
        case .null: sl_push_null(L)
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .int(let i): lua_pushinteger(L, lua_Integer(i))
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s):
            var s = s
            s.withUTF8 { buf in
                buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, buf.count) }
            }
        case .table(let t): pushTable(t)
        case .function(let ref): ref.push(L)
        case .userdata: lua_pushnil(L)
        case .object(let o): pushObject(o)
        case .pushable(let p): p.push(L)
        }
    }

    private func pushTable(_ t: LuaTable) {
        _ = lua_checkstack(L, 4)
        lua_createtable(L, Int32(t.array.count), Int32(t.fields.count))
        for (i, v) in t.array.enumerated() {
            push(v)
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
        for (k, v) in t.fields {
            if case .nil = v { continue }
            switch k {
            case .string(let s): push(.string(s))
            case .int(let i): lua_pushinteger(L, lua_Integer(i))
            case .number(let d): lua_pushnumber(L, d)
            case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
            }
            push(v)
            lua_rawset(L, -3)
        }
    }

    /// Copies the value at `idx` into Swift. Cyclic tables are an error.
    public func value(at idx: Int32) throws -> LuaValue {
        // the tables on the path being copied (at most 100): an array, not a Set, because the
        // first Set<UnsafeRawPointer> costs the Swift runtime a scan of every protocol
        // conformance in the binary (~0.2 M instructions at start)
        var seen: [UnsafeRawPointer] = []
        return try value(at: lua_absindex(L, idx), seen: &seen, depth: 0)
    }

    private func value(at idx: Int32, seen: inout [UnsafeRawPointer], depth: Int) throws -> LuaValue {
        switch lua_type(L, idx) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if sl_isinteger(L, idx) != 0 { return .int(Int64(lua_tointegerx(L, idx, nil))) }
            return .number(lua_tonumberx(L, idx, nil))
        case LUA_TSTRING: return .string(string(at: idx) ?? "")
        case LUA_TLIGHTUSERDATA: return sl_is_null(L, idx) != 0 ? .null : .userdata
        case LUA_TUSERDATA: return .userdata
        case LUA_TFUNCTION:
            lua_pushvalue(L, idx)
            return .function(LuaRef(state: self, popping: L))
        case LUA_TTABLE:
            guard depth < 100 else { throw HostError.usage("table nested more than 100 levels deep") }
            let p = lua_topointer(L, idx)!
            guard !seen.contains(p) else { throw HostError.usage("cyclic table cannot be copied") }
            seen.append(p)
            defer { seen.removeLast() }
            return .table(try table(at: idx, seen: &seen, depth: depth))
        default:
            throw HostError.usage("a \(String(cString: lua_typename(L, lua_type(L, idx)))) value cannot be passed to the host")
        }
    }

    private func table(at idx: Int32, seen: inout [UnsafeRawPointer], depth: Int) throws -> LuaTable {
        guard lua_checkstack(L, 6) != 0 else { throw HostError.runtime("Lua stack overflow") }
        var ints: [Int64: LuaValue] = [:]
        var fields: [LuaKey: LuaValue] = [:]
        lua_pushnil(L)
        while lua_next(L, idx) != 0 {
            // key at -2, value at -1; the key is never converted in place, so lua_next stays valid
            let v = try value(at: lua_absindex(L, -1), seen: &seen, depth: depth + 1)
            switch lua_type(L, -2) {
            case LUA_TSTRING: fields[.string(string(at: -2) ?? "")] = v
            case LUA_TNUMBER:
                if sl_isinteger(L, -2) != 0 { ints[Int64(lua_tointegerx(L, -2, nil))] = v }
                else { fields[.number(lua_tonumberx(L, -2, nil))] = v }
            case LUA_TBOOLEAN: fields[.bool(lua_toboolean(L, -2) != 0)] = v
            default:
                sl_pop(L, 2)
                throw HostError.usage("table keys of type \(String(cString: lua_typename(L, lua_type(L, -2)))) cannot be passed to the host")
            }
            sl_pop(L, 1)
        }
        var array: [LuaValue] = []
        var n: Int64 = 1
        while let v = ints[n] { array.append(v); ints[n] = nil; n += 1 }
        for (k, v) in ints { fields[.int(k)] = v }
        return LuaTable(array: array, fields: fields)
    }
}
