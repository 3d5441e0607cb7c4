import CLua
import LuaShim

/// A Swift object handed to Lua as a handle (a connection, a lock).
///
/// It lives in a full userdata: `__gc` releases it, `__close` (to-be-closed variables,
/// `local h <close> = ...`) and the `close` method release it deterministically.
public protocol HostObject: AnyObject {
    /// The registry name of the handle's metatable.
    static var metatableName: String { get }
    /// How errors name the handle ("connection", "lock").
    static var typeLabel: String { get }
    /// Methods callable as `handle:name(...)`; argument 1 is the handle.
    static func methods() -> [String: HostFunction]
    /// Releases what the handle holds; called once, from `close`, `__close` or `__gc`.
    func close()
}

final class ObjectBox {
    let object: HostObject
    init(_ object: HostObject) { self.object = object }
}

private let objectRelease: sl_release_fn = { box in
    let b = Unmanaged<ObjectBox>.fromOpaque(box!).takeRetainedValue()
    b.object.close()
}

extension LuaState {
    /// Pushes a new handle for `object`.
    public func pushObject<T: HostObject>(_ object: T) {
        ensureMetatable(T.self)
        sl_push_object(L, Unmanaged.passRetained(ObjectBox(object)).toOpaque(), objectRelease, T.metatableName)
    }

    private func ensureMetatable<T: HostObject>(_ type: T.Type) {
        guard luaL_newmetatable(L, T.metatableName) != 0 else { sl_pop(L, 1); return }
        lua_pushstring(L, "__gc")
        sl_pushcfunction(L, sl_object_gc)
        lua_rawset(L, -3)
        // __close and close(): release now and forget the box, so __gc does nothing later
        let closer: HostFunction = { call in
            if let box = sl_object_take(call.state.L, 1, T.metatableName) {
                Unmanaged<ObjectBox>.fromOpaque(box).takeRetainedValue().object.close()
            }
            return []
        }
        lua_pushstring(L, "__close")
        pushFunction(name: "\(T.typeLabel):close", closer)
        lua_rawset(L, -3)
        lua_pushstring(L, "__name")
        lua_pushstring(L, T.typeLabel)
        lua_rawset(L, -3)
        lua_pushstring(L, "__index")
        sl_newtable(L)
        var methods = T.methods()
        methods["close"] = closer
        for (name, fn) in methods {
            lua_pushstring(L, name)
            pushFunction(name: "\(T.typeLabel):\(name)", fn)
            lua_rawset(L, -3)
        }
        lua_rawset(L, -3)
        sl_pop(L, 1)
    }
}
