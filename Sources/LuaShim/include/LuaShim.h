// LuaShim: the C side of the Lua/Swift boundary.
//
// Swift must never call a Lua API that can raise (longjmp across Swift frames
// leaks and corrupts state). Host functions are therefore registered through a
// C trampoline: Swift returns a result count or SL_RAISE with the error value
// pushed, and the trampoline raises after every Swift frame has returned.
#ifndef LUASHIM_H
#define LUASHIM_H

#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <lua5.4/lauxlib.h>
#include <sys/types.h>

#define SL_RAISE (-1)

/// A Swift host function: returns the number of results, or SL_RAISE with the error value on top.
typedef int (*sl_swift_fn)(lua_State *L, void *box);
/// Releases the Swift object behind `box` (called from __gc).
typedef void (*sl_release_fn)(void *box);

/// Pushes a Lua C closure that calls `fn(L, box)`; `release(box)` runs when Lua collects it.
void sl_push_function(lua_State *L, sl_swift_fn fn, void *box, sl_release_fn release);

/// Pushes a full userdata holding `box`, with the metatable registered under `mtname`
/// (created on first use with __gc releasing the box). Returns 0 on success.
void sl_push_object(lua_State *L, void *box, sl_release_fn release, const char *mtname);
/// The box of the object at `idx` if it is a userdata of metatable `mtname`, else NULL.
void *sl_object_box(lua_State *L, int idx, const char *mtname);
/// __gc of handles: calls the release function once and forgets the box.
int sl_object_gc(lua_State *L);
/// Forgets the box of the object at `idx` (after an explicit close) and returns it.
void *sl_object_take(lua_State *L, int idx, const char *mtname);

/// Opens the safe standard libraries (base, string, table, math, utf8, coroutine, reduced os).
/// A lua_CFunction: call it under lua_pcall.
int sl_open_safe_libs(lua_State *L);

/// Message handler for lua_pcall: adds a traceback (string errors become "msg\ntraceback",
/// table errors get a `traceback` field).
int sl_traceback(lua_State *L);

/// Arms the deadline hook: after `seconds` (monotonic) every Lua instruction raises a timeout.
/// seconds <= 0 disarms it.
void sl_set_deadline(lua_State *L, double seconds);
/// 1 once the deadline has fired in this state.
int sl_deadline_hit(lua_State *L);
/// Seconds left before the deadline (a large number when none is set).
double sl_deadline_remaining(lua_State *L);
/// Records that a host call was stopped by the deadline (so the run exits 124).
void sl_mark_deadline_hit(lua_State *L);
/// Closes the state (running finalizers) and frees its extra space. Returns 1 when the
/// deadline had been hit (sl_deadline_hit) by the end.
int sl_close(lua_State *L);
/// Creates a state with the extra space set up and Lua's heap capped at `memory_limit`
/// bytes (0: no cap). The cap applies only while Lua code runs (see sl_pcall_from_swift).
lua_State *sl_newstate(size_t memory_limit);
/// lua_pcall for Swift callers: Lua code under it is subject to the memory cap.
int sl_pcall_from_swift(lua_State *L, int nargs, int nresults, int msgh);
/// Brackets a host function's Swift frames (allocations are never refused there).
void sl_enter_host(lua_State *L);
void sl_leave_host(lua_State *L);
/// After this, host functions raise instead of calling Swift (the Swift side is going away).
void sl_detach_host(lua_State *L);
int sl_host_detached(lua_State *L);
/// 1 once an allocation was refused because of the cap.
int sl_memory_hit(lua_State *L);
size_t sl_memory_used(lua_State *L);
size_t sl_memory_limit(lua_State *L);

/// The process-wide watchdog (a thread started on first use): ends the process with 124
/// `grace` seconds after the earliest armed deadline (`seconds` from now; <= 0 arms none), or
/// with 128+N `signal_grace` seconds after an untrapped termination signal N, killing the
/// registered children's process groups first. A negative grace keeps the current one.
void sl_watchdog_arm(double seconds, double grace, double signal_grace);
/// Forgets the deadline (the run it guarded has ended).
void sl_watchdog_disarm(void);
/// Registers (running=1) or forgets (0) a child process group for the watchdog.
void sl_watchdog_child(pid_t pid, int running);

/// The `null` sentinel (SQL NULL, JSON null): one light userdata whose tostring is "null".
void sl_push_null(lua_State *L);
int sl_is_null(lua_State *L, int idx);
/// Gives light userdata (only `null` is used) a metatable with __tostring = "null".
int sl_setup_null(lua_State *L);

/// Pushes the registry's error metatable onto the stack and sets it on the table at -2.
void sl_set_error_metatable(lua_State *L);

/// Writes "chunk:line" of the Lua function `level` frames up into buf ("?" when unknown).
void sl_where(lua_State *L, int level, char *buf, size_t size);

/// Installs SIGTERM/SIGINT/SIGHUP handlers that only record the signal.
void sl_install_signal_handlers(void);
/// The termination signal received so far (0 if none).
int sl_signal_received(void);
/// A runbook that handles termination itself (`trap_termination()`): the hook stops raising.
void sl_set_signal_trapped(int trapped);
int sl_signal_trapped(void);
/// Arms the instruction hook without a deadline (it still reacts to termination signals).
void sl_arm_hook(lua_State *L);

/// Monotonic clock in seconds.
double sl_monotonic(void);

// Wrappers for Lua's function-like macros and variadic functions.
static inline void sl_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void sl_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *sl_tolstring(lua_State *L, int i, size_t *len) { return lua_tolstring(L, i, len); }
static inline int sl_pcall(lua_State *L, int nargs, int nresults, int msgh) { return lua_pcall(L, nargs, nresults, msgh); }
static inline int sl_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int sl_isinteger(lua_State *L, int i) { return lua_isinteger(L, i); }
static inline void sl_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
static inline int sl_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int sl_ref(lua_State *L) { return luaL_ref(L, LUA_REGISTRYINDEX); }
static inline void sl_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
static inline int sl_load(lua_State *L, const char *buf, size_t len, const char *name) {
    return luaL_loadbufferx(L, buf, len, name, "t");   /* text only: never bytecode */
}
static inline int sl_gc_count_kb(lua_State *L) { return lua_gc(L, LUA_GCCOUNT, 0); }
static inline void sl_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT, 0); }
/// Stops / restarts the collector (lua_gc is variadic: Swift cannot call it directly).
static inline int sl_gc_isrunning(lua_State *L) { return lua_gc(L, LUA_GCISRUNNING, 0); }
static inline void sl_gc_stop(lua_State *L) { lua_gc(L, LUA_GCSTOP, 0); }
static inline void sl_gc_restart(lua_State *L) { lua_gc(L, LUA_GCRESTART, 0); }

#endif
