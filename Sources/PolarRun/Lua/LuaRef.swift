import CLua
import LuaShim

/// A value kept alive in the Lua registry (a function passed to a primitive, an error value).
public final class LuaRef {
    let ref: Int32
    weak var state: LuaState?

    init(state: LuaState, popping L: OpaquePointer) {
        self.state = state
        self.ref = sl_ref(L)
    }

    func push(_ L: OpaquePointer) {
        lua_rawgeti(L, sl_registryindex(), lua_Integer(ref))
    }

    deinit {
        if let state, !state.isClosed { sl_unref(state.L, ref) }
    }
}
