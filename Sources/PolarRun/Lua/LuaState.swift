import CLua
import LuaShim

/// A host function: reads its arguments from `HostCall`, returns its results, or throws.
/// Thrown errors become Lua errors raised by the C trampoline, never by Swift.
public typealias HostFunction = (HostCall) throws -> [LuaValue]

/// One Lua 5.4 state with the safe standard libraries open.
///
/// Every call into the Lua API from here is one that cannot raise (raw table access,
/// pushes, type checks); anything that runs Lua code goes through `lua_pcallk`.
public final class LuaState {
    /// The running Lua thread: the main state, or a coroutine while a host function called
    /// from that coroutine runs (its arguments and results live on the coroutine's stack).
    fileprivate(set) var L: OpaquePointer
    /// The main thread, which owns the state.
    private let mainL: OpaquePointer
    private(set) var isClosed = false
    /// Applied to every error message raised into Lua (secret masking).
    public var errorFilter: ((String) -> String)?
    /// The object that owns this state (the `Runtime`), for host functions registered statically.
    public weak var owner: AnyObject?

    /// `memoryLimit`: bytes Lua's heap may hold while Lua code runs (0: no cap).
    public init(memoryLimit: Int = 0) throws {
        guard let L = sl_newstate(max(0, memoryLimit)) else { throw HostError.runtime("cannot create a Lua state (out of memory)") }
        self.L = L
        self.mainL = L
        try protectedCall(sl_open_safe_libs)
        try protectedCall(sl_setup_null)
    }

    deinit {
        // finalizers that call host functions would reach a LuaState being destroyed
        if !isClosed { sl_detach_host(mainL) }
        close()
    }

    /// Closes the state; every handle still open is released by its `__gc`, and finalizers
    /// may still call host functions (the owner is alive while it calls this).
    public func close() {
        guard !isClosed else { return }
        L = mainL
        let hitBefore = sl_deadline_hit(mainL) != 0
        let hitAfter = sl_close(mainL) != 0
        isClosed = true
        deadlineHitAtClose = !hitBefore && hitAfter
    }
    /// Whether a finalizer run by `close` was stopped by the deadline (in a host call).
    public private(set) var deadlineHitAtClose = false

    /// Closes the state without letting finalizers call host functions (for an owner's deinit,
    /// when the objects those functions use are already going away).
    public func closeDetached() {
        guard !isClosed else { return }
        sl_detach_host(mainL)
        close()
    }

    /// Runs a C function under `lua_pcall` (for library set-up that may raise).
    private func protectedCall(_ f: @escaping lua_CFunction) throws {
        sl_pushcfunction(L, f)
        if sl_pcall(L, 0, 0, 0) != LUA_OK {
            let message = string(at: -1) ?? "unknown error"
            sl_pop(L, 1)
            throw HostError.runtime("Lua set-up failed: \(message)")
        }
    }

    // MARK: Globals

    /// Registers `body` under the declared name (a global, a namespace field, or the call of
    /// a callable namespace) behind the declaration's checks. This is the only way to add a
    /// primitive: the namespace setters below are private to it.
    public func define(_ decl: Declaration, _ body: @escaping HostFunction) {
        let checked: HostFunction = { call in
            try decl.check(call)
            return try body(call)
        }
        if decl.callable {
            setCallable(decl.name, checked)
        } else if let ns = decl.namespace, let field = decl.field {
            setField(ns, field, checked)
        } else {
            setGlobal(decl.name, checked)
        }
    }

    /// Sets global `name` to a host function: for the prelude's `_polarrun_*` helpers and
    /// tests; a primitive is registered with `define`.
    public func setGlobal(_ name: String, _ fn: @escaping HostFunction) {
        pushGlobals()
        lua_pushstring(L, name)
        pushFunction(name: name, fn)
        lua_rawset(L, -3)
        sl_pop(L, 1)
    }

    // Raw access only: once `_G` is frozen its metamethods raise, and Swift must never call
    // anything that may raise.
    private func pushGlobals() {
        lua_rawgeti(L, sl_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
    }

    /// Pushes global table `name`, creating it when absent.
    private func pushGlobalTable(_ name: String) {
        pushGlobals()
        lua_pushstring(L, name)
        if lua_rawget(L, -2) != LUA_TTABLE {
            sl_pop(L, 1)
            sl_newtable(L)
            lua_pushstring(L, name)
            lua_pushvalue(L, -2)
            lua_rawset(L, -4)
        }
        lua_rotate(L, -2, -1)
        sl_pop(L, 1)
    }

    /// Sets global `name` to a value.
    public func setGlobal(_ name: String, value: LuaValue) {
        pushGlobals()
        lua_pushstring(L, name)
        push(value)
        lua_rawset(L, -3)
        sl_pop(L, 1)
    }

    /// Sets `table.name` to a host function, creating global `table` if needed.
    private func setField(_ table: String, _ name: String, _ fn: @escaping HostFunction) {
        pushGlobalTable(table)
        lua_pushstring(L, name)
        pushFunction(name: "\(table).\(name)", fn)
        lua_rawset(L, -3)
        sl_pop(L, 1)
    }

    /// Makes global table `table` callable: `table(...)` runs `fn` with the table itself
    /// dropped from the arguments, so `sql(query)` and `sql.connect()` share one name.
    private func setCallable(_ table: String, _ fn: @escaping HostFunction) {
        pushGlobalTable(table)
        sl_newtable(L)
        lua_pushstring(L, "__call")
        pushFunction(name: table, dropsSelf: true, fn)
        lua_rawset(L, -3)
        lua_setmetatable(L, -2)
        sl_pop(L, 1)
    }

    /// Sets `table.name` (global `table`, created if needed) to a value.
    public func setField(_ table: String, _ name: String, value: LuaValue) {
        pushGlobalTable(table)
        lua_pushstring(L, name)
        push(value)
        lua_rawset(L, -3)
        sl_pop(L, 1)
    }

    /// Reads `table.name` of global table `table` (nil when either is missing).
    public func field(_ table: String, _ name: String) throws -> LuaValue {
        guard case .table(let t) = try global(table) else { return .nil }
        return t[name]
    }

    /// The registry key of the metatable `freezeGlobals` puts on `_G` (the prelude sets it).
    static let globalsGuardKey = "polarrun.globals"

    /// From now on reading or writing an undeclared global raises (the prelude's guard).
    public func freezeGlobals() {
        pushGlobals()
        lua_pushstring(L, LuaState.globalsGuardKey)
        if lua_rawget(L, sl_registryindex()) == LUA_TTABLE { lua_setmetatable(L, -2) } else { sl_pop(L, 1) }
        sl_pop(L, 1)
    }

    /// Reads a global variable.
    public func global(_ name: String) throws -> LuaValue {
        lua_rawgeti(L, sl_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        lua_pushstring(L, name)
        lua_rawget(L, -2)
        defer { sl_pop(L, 2) }
        return try value(at: -1)
    }

    func pushFunction(name: String, dropsSelf: Bool = false, _ fn: @escaping HostFunction) {
        let box = FunctionBox(name: name, state: self, body: fn, dropsSelf: dropsSelf)
        sl_push_function(L, functionDispatch, Unmanaged.passRetained(box).toOpaque(), functionRelease)
    }

    // MARK: Running code

    /// Compiles `source` (text only, never bytecode). A syntax error is a usage error.
    public func load(source: String, chunkName: String) throws -> LuaRef {
        let status = source.utf8CString.withUnsafeBufferPointer { buf in
            sl_load(L, buf.baseAddress, buf.count - 1, "@" + chunkName)
        }
        if status != LUA_OK {
            let message = string(at: -1) ?? "cannot load \(chunkName)"
            sl_pop(L, 1)
            throw HostError.usage(message)
        }
        return LuaRef(state: self, popping: L)
    }

    /// Calls a Lua function under a traceback handler. A Lua error comes back as `LuaFailure`.
    public func call(_ fn: LuaRef, _ args: [LuaValue] = []) throws -> [LuaValue] {
        let base = lua_gettop(L)
        sl_pushcfunction(L, sl_traceback)
        fn.push(L)
        guard lua_checkstack(L, Int32(args.count) + 8) != 0 else { throw HostError.runtime("Lua stack overflow") }
        for a in args { push(a) }
        let status = sl_pcall_from_swift(L, Int32(args.count), LUA_MULTRET, base + 1)
        defer { lua_settop(L, base) }
        if status != LUA_OK {
            throw failure(at: -1)
        }
        var results: [LuaValue] = []
        let top = lua_gettop(L)
        if top > base + 1 {
            for i in (base + 2)...top { results.append(try value(at: i)) }
        }
        return results
    }

    /// Describes the error value at `idx` (after the traceback handler ran).
    private func failure(at idx: Int32) -> LuaFailure {
        let t = lua_type(L, idx)
        var f = LuaFailure(kind: "runtime", message: "", traceback: "")
        if t == LUA_TSTRING {
            let full = string(at: idx) ?? ""
            if let r = full.firstRange(of: "\nstack traceback:") {
                f.message = String(full[..<r.lowerBound])
                f.traceback = String(full[r.lowerBound...].dropFirst())
            } else {
                f.message = full
            }
        } else if t == LUA_TTABLE {
            f.message = rawString(table: idx, key: "message") ?? "(error object without message)"
            f.kind = rawString(table: idx, key: "kind") ?? "runtime"
            f.exitCode = rawInt(table: idx, key: "exit_code").flatMap { (1...255).contains($0) ? Int32($0) : nil }
            f.traceback = (rawString(table: idx, key: "traceback") ?? "")
                .components(separatedBy: "\nstack traceback:").dropFirst().first.map { "stack traceback:" + $0 } ?? ""
        } else {
            f.message = "(error object is a \(String(cString: lua_typename(L, t))) value)"
        }
        if sl_memory_hit(L) != 0 {
            f.kind = "memory"
            f.message = LuaState.memoryLimitMessage(limit: Int(sl_memory_limit(L))) + (f.message == "not enough memory" ? "" : " (last error: \(f.message))")
            f.traceback = ""
        }
        lua_pushvalue(L, idx)
        f.value = LuaRef(state: self, popping: L)
        if sl_deadline_hit(L) != 0 { f.kind = "timeout" }
        return f
    }

    // MARK: Deadline

    /// Arms the runbook deadline (seconds from now); 0 disarms it.
    public func setDeadline(seconds: Double) { sl_set_deadline(L, seconds) }
    /// Seconds left before the deadline (very large when none is set).
    public var deadlineRemaining: Double { isClosed ? 0 : sl_deadline_remaining(L) }
    public var deadlineHit: Bool { isClosed ? deadlineHitAtClose : sl_deadline_hit(L) != 0 }
    /// Records that a host call was cut short by the deadline.
    public func markDeadlineHit() { sl_mark_deadline_hit(L) }

    // MARK: Memory

    /// The error of a run that reached the memory cap.
    static func memoryLimitMessage(limit: Int) -> String {
        "the runbook used more than the Lua memory limit of \(limit / (1 << 20)) MiB; "
            + "raise it with --memory-limit MiB or POLARRUN_MEMORY_LIMIT=MiB if the work really needs it"
    }

    /// Bytes Lua holds now, and whether an allocation was ever refused by the cap.
    public var memoryUsed: Int { isClosed ? 0 : Int(sl_memory_used(mainL)) }

    /// Kilobytes in use by Lua.
    public var memoryKB: Int { Int(sl_gc_count_kb(L)) }
    public func collectGarbage() { sl_gc_collect(L) }

    // MARK: Raw access helpers

    func string(at idx: Int32) -> String? {
        guard lua_type(L, idx) == LUA_TSTRING else { return nil }
        var len = 0
        guard let p = sl_tolstring(L, idx, &len) else { return nil }
        return p.withMemoryRebound(to: UInt8.self, capacity: len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
        }
    }

    func rawInt(table idx: Int32, key: String) -> Int? {
        let abs = lua_absindex(L, idx)
        lua_pushstring(L, key)
        lua_rawget(L, abs)
        defer { sl_pop(L, 1) }
        guard lua_type(L, -1) == LUA_TNUMBER else { return nil }
        var ok: Int32 = 0
        let v = lua_tointegerx(L, -1, &ok)
        return ok != 0 ? Int(v) : nil
    }

    func rawString(table idx: Int32, key: String) -> String? {
        let abs = lua_absindex(L, idx)
        lua_pushstring(L, key)
        lua_rawget(L, abs)
        defer { sl_pop(L, 1) }
        return string(at: -1)
    }
}

/// A Lua error that reached Swift: the runbook failed (or a callback did).
public struct LuaFailure: Error, CustomStringConvertible {
    /// "timeout", "usage", "sql", "runtime" ... (see `HostError.kind`).
    public var kind: String
    public var message: String
    public var traceback: String
    /// `raise(kind, msg, {exit_code = N})`: the process exit status to use (1-255).
    public var exitCode: Int32? = nil
    var value: LuaRef?

    public var description: String { message }
}

// MARK: - The trampoline's Swift side

final class FunctionBox {
    let name: String
    unowned let state: LuaState
    let body: HostFunction
    /// A `__call` metamethod: argument 1 is the callable table, not the caller's.
    let dropsSelf: Bool

    init(name: String, state: LuaState, body: @escaping HostFunction, dropsSelf: Bool = false) {
        self.name = name
        self.state = state
        self.body = body
        self.dropsSelf = dropsSelf
    }
}

private let functionRelease: sl_release_fn = { box in
    Unmanaged<FunctionBox>.fromOpaque(box!).release()
}

/// Calls the Swift closure; on error, pushes the error value and returns SL_RAISE so
/// that the C trampoline raises after this frame has returned.
private let functionDispatch: sl_swift_fn = { L, box in
    let fn = Unmanaged<FunctionBox>.fromOpaque(box!).takeUnretainedValue()
    let L = L!
    let state = fn.state
    // A call from a coroutine: read arguments from, and push results to, that thread.
    let caller = state.L
    state.L = L
    defer { state.L = caller }
    do {
        let call = try HostCall(state: state, name: fn.name, dropsSelf: fn.dropsSelf)
        let results = try fn.body(call)
        lua_settop(L, 0)
        guard lua_checkstack(L, Int32(results.count) + 8) != 0 else {
            throw HostError.runtime("too many results")
        }
        for r in results { state.push(r) }
        return Int32(results.count)
    } catch let raised as LuaRaised {
        lua_settop(L, 0)
        raised.ref.push(L)
        return SL_RAISE
    } catch let failure as LuaFailure {
        lua_settop(L, 0)
        if let v = failure.value { v.push(L) } else { state.pushError(HostError(failure.kind, failure.message)) }
        return SL_RAISE
    } catch let e as HostError {
        lua_settop(L, 0)
        state.pushError(e)
        return SL_RAISE
    } catch {
        lua_settop(L, 0)
        state.pushError(HostError.runtime("\(error)"))
        return SL_RAISE
    }
}

extension LuaState {
    /// Pushes a host error as an error table (message masked by the error hook).
    func pushError(_ e: HostError) {
        var t = LuaTable(e.fields)
        t["kind"] = .string(e.kind)
        t["message"] = .string(errorFilter?(e.message) ?? e.message)
        if let filter = errorFilter {
            for (k, v) in t.stringFields { if case .string(let s) = v { t[k] = .string(filter(s)) } }
        }
        push(.table(t))
        sl_set_error_metatable(L)
    }
}
