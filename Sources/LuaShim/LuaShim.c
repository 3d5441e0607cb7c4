#include "LuaShim.h"
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <stdio.h>
#include <signal.h>

/* ---------------------------------------------------------------- trampoline */

typedef struct { sl_swift_fn fn; void *box; sl_release_fn release; } sl_fnbox;

static int sl_fnbox_gc(lua_State *L) {
    sl_fnbox *b = lua_touserdata(L, 1);
    if (b && b->box) { b->release(b->box); b->box = NULL; }
    return 0;
}

static int sl_trampoline(lua_State *L) {
    sl_fnbox *b = lua_touserdata(L, lua_upvalueindex(1));
    if (!b || !b->box) return luaL_error(L, "host function was released");
    int n = b->fn(L, b->box);           /* every Swift frame has returned after this */
    if (n != SL_RAISE) return n;
    if (lua_type(L, -1) == LUA_TSTRING) {
        /* prefix "runbook.lua:LINE:" of the Lua code that called us */
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    } else if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "message");
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
            lua_setfield(L, -2, "message");
        } else {
            lua_pop(L, 1);
        }
    }
    return lua_error(L);                /* longjmp crosses only C and Lua frames */
}

void sl_push_function(lua_State *L, sl_swift_fn fn, void *box, sl_release_fn release) {
    sl_fnbox *b = lua_newuserdatauv(L, sizeof(sl_fnbox), 0);
    b->fn = fn; b->box = box; b->release = release;
    if (luaL_newmetatable(L, "polarrun.fnbox")) {
        lua_pushcfunction(L, sl_fnbox_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, sl_trampoline, 1);
}

/* ---------------------------------------------------------------- objects */

typedef struct { void *box; sl_release_fn release; } sl_objbox;

int sl_object_gc(lua_State *L) {
    sl_objbox *b = lua_touserdata(L, 1);
    if (b && b->box) { b->release(b->box); b->box = NULL; }
    return 0;
}

void sl_push_object(lua_State *L, void *box, sl_release_fn release, const char *mtname) {
    sl_objbox *b = lua_newuserdatauv(L, sizeof(sl_objbox), 0);
    b->box = box; b->release = release;
    if (luaL_newmetatable(L, mtname)) {
        lua_pushcfunction(L, sl_object_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
}

void *sl_object_box(lua_State *L, int idx, const char *mtname) {
    sl_objbox *b = luaL_testudata(L, idx, mtname);
    return b ? b->box : NULL;
}

void *sl_object_take(lua_State *L, int idx, const char *mtname) {
    sl_objbox *b = luaL_testudata(L, idx, mtname);
    if (!b) return NULL;
    void *box = b->box;
    b->box = NULL;
    return box;
}

/* ---------------------------------------------------------------- libraries */

int sl_open_safe_libs(lua_State *L) {
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
        {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    /* os: only the clock and calendar functions, nothing that touches processes or files */
    luaL_requiref(L, "os", luaopen_os, 0);
    lua_newtable(L);
    static const char *keep[] = {"time", "clock", "date", "getenv", "difftime", NULL};
    for (const char **k = keep; *k; k++) {
        lua_getfield(L, -2, *k);
        lua_setfield(L, -2, *k);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
    /* no file access from the base library: files go through host primitives */
    lua_pushnil(L); lua_setglobal(L, "dofile");
    lua_pushnil(L); lua_setglobal(L, "loadfile");
    return 0;
}

int sl_traceback(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) {
        const char *msg = luaL_tolstring(L, 1, NULL);   /* honours __tostring */
        luaL_traceback(L, L, msg, 1);
        lua_setfield(L, 1, "traceback");
        lua_settop(L, 1);
        return 1;
    }
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---------------------------------------------------------------- deadline */

typedef struct { double deadline; int hit; } sl_extra;

static sl_extra *extra(lua_State *L) { return *(sl_extra **)lua_getextraspace(L); }

double sl_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

lua_State *sl_newstate(void) {
    lua_State *L = luaL_newstate();
    if (!L) return NULL;
    sl_extra *e = calloc(1, sizeof(sl_extra));
    *(sl_extra **)lua_getextraspace(L) = e;   /* new threads copy the main thread's extra space */
    return L;
}

void sl_close(lua_State *L) {
    sl_extra *e = extra(L);
    lua_close(L);
    free(e);
}

static volatile sig_atomic_t sl_signo = 0;
static volatile sig_atomic_t sl_trapped = 0;

static void sl_on_signal(int signo) { sl_signo = signo; }

void sl_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sl_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
int sl_signal_received(void) { return sl_signo; }
void sl_set_signal_trapped(int trapped) { sl_trapped = trapped; }
int sl_signal_trapped(void) { return sl_trapped; }

static void sl_raise_kind(lua_State *L, const char *kind, const char *message) {
    lua_newtable(L);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    sl_set_error_metatable(L);
    lua_error(L);
}

static void sl_deadline_hook(lua_State *L, lua_Debug *ar);

static void sl_check_signal(lua_State *L) {
    if (sl_signo && !sl_trapped) {
        lua_sethook(L, sl_deadline_hook, LUA_MASKCOUNT, 1);
        sl_raise_kind(L, "terminated", sl_signo == SIGINT ? "interrupted (SIGINT)" : sl_signo == SIGHUP ? "terminated (SIGHUP)" : "terminated (SIGTERM)");
    }
}

static void sl_deadline_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    sl_check_signal(L);
    sl_extra *e = extra(L);
    if (!e || e->deadline <= 0 || sl_monotonic() < e->deadline) return;
    e->hit = 1;
    /* fire on every instruction from now on, so a runbook's own pcall cannot swallow it */
    lua_sethook(L, sl_deadline_hook, LUA_MASKCOUNT, 1);
    lua_newtable(L);
    lua_pushliteral(L, "timeout");
    lua_setfield(L, -2, "kind");
    lua_pushliteral(L, "runbook deadline (--timeout) passed");
    lua_setfield(L, -2, "message");
    sl_set_error_metatable(L);
    lua_error(L);
}

void sl_arm_hook(lua_State *L) { lua_sethook(L, sl_deadline_hook, LUA_MASKCOUNT, 1000); }

void sl_set_deadline(lua_State *L, double seconds) {
    sl_extra *e = extra(L);
    if (seconds <= 0) { e->deadline = 0; sl_arm_hook(L); return; }
    e->deadline = sl_monotonic() + seconds;
    e->hit = 0;
    lua_sethook(L, sl_deadline_hook, LUA_MASKCOUNT, 1000);
}

int sl_deadline_hit(lua_State *L) { return extra(L)->hit; }
void sl_mark_deadline_hit(lua_State *L) { extra(L)->hit = 1; }

double sl_deadline_remaining(lua_State *L) {
    sl_extra *e = extra(L);
    if (e->deadline <= 0) return 1e9;
    return e->deadline - sl_monotonic();
}

/* ---------------------------------------------------------------- null */

static char sl_null_sentinel;

void sl_push_null(lua_State *L) { lua_pushlightuserdata(L, &sl_null_sentinel); }

int sl_is_null(lua_State *L, int idx) {
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &sl_null_sentinel;
}

static int sl_null_tostring(lua_State *L) { lua_pushliteral(L, "null"); return 1; }

int sl_setup_null(lua_State *L) {
    lua_pushlightuserdata(L, &sl_null_sentinel);
    lua_newtable(L);
    lua_pushcfunction(L, sl_null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "null");
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    lua_setglobal(L, "null");
    return 0;
}

void sl_set_error_metatable(lua_State *L) {
    lua_pushliteral(L, "polarrun.error");
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_type(L, -1) == LUA_TTABLE) lua_setmetatable(L, -2);
    else lua_pop(L, 1);
}

void sl_where(lua_State *L, int level, char *buf, size_t size) {
    lua_Debug ar;
    for (int l = level; l < level + 8; l++) {
        if (!lua_getstack(L, l, &ar)) break;
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.currentline > 0) {
            const char *src = ar.short_src;
            const char *slash = strrchr(src, '/');
            snprintf(buf, size, "%s:%d", slash ? slash + 1 : src, ar.currentline);
            return;
        }
    }
    snprintf(buf, size, "?");
}
