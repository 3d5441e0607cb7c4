#include "LuaShim.h"
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <pthread.h>

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
    if (sl_host_detached(L)) return luaL_error(L, "host functions are not available while the Lua state is being destroyed");
    sl_enter_host(L);
    int n = b->fn(L, b->box);           /* every Swift frame has returned after this */
    sl_leave_host(L);
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

/* ---------------------------------------------------------------- per-state data */

/* The extra space of every thread of a state points here. */
typedef struct {
    double deadline;
    int hit;
    /* memory: bytes Lua holds, the cap (0 = none), set once an allocation was refused */
    size_t used, limit;
    int memory_hit;
    /* > 0 while Swift frames are on the stack (set-up, host functions): allocations are never
       refused there, because a failed push would longjmp across Swift */
    int in_swift;
    /* host functions refuse to run (the Swift side is being destroyed) */
    int detached;
} sl_extra;

static sl_extra *extra(lua_State *L) { return *(sl_extra **)lua_getextraspace(L); }

double sl_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A counting allocator: Lua's own heap is capped so a runaway runbook ends with a clear
   error instead of the kernel's OOM killer (or a crash in whatever allocates next). */
static void *sl_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    sl_extra *e = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        e->used -= old;
        return NULL;
    }
    if (nsize > old && e->limit > 0 && e->in_swift == 0 && e->used - old + nsize > e->limit) {
        e->memory_hit = 1;
        return NULL;                      /* Lua raises LUA_ERRMEM from Lua/C frames only */
    }
    void *p = realloc(ptr, nsize);
    if (p) e->used = e->used - old + nsize;
    return p;
}

static int sl_panic(lua_State *L) {
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    fprintf(stderr, "polarrun: unprotected Lua error: %s\n", msg);
    fflush(stderr);
    _exit(1);
}

lua_State *sl_newstate(size_t memory_limit) {
    sl_extra *e = calloc(1, sizeof(sl_extra));
    if (!e) return NULL;
    e->limit = memory_limit;
    e->in_swift = 1;                      /* set-up runs from Swift */
    lua_State *L = lua_newstate(sl_alloc, e);
    if (!L) { free(e); return NULL; }
    lua_atpanic(L, sl_panic);
    /* errors in __gc become warnings; they are off, as in luaL_newstate */
    *(sl_extra **)lua_getextraspace(L) = e;   /* new threads copy the main thread's extra space */
    return L;
}

void sl_enter_host(lua_State *L) { extra(L)->in_swift++; }
void sl_leave_host(lua_State *L) { extra(L)->in_swift--; }
int sl_host_detached(lua_State *L) { return extra(L)->detached; }
void sl_detach_host(lua_State *L) { extra(L)->detached = 1; }
int sl_memory_hit(lua_State *L) { return extra(L)->memory_hit; }
size_t sl_memory_used(lua_State *L) { return extra(L)->used; }
size_t sl_memory_limit(lua_State *L) { return extra(L)->limit; }

int sl_pcall_from_swift(lua_State *L, int nargs, int nresults, int msgh) {
    sl_extra *e = extra(L);
    int saved = e->in_swift;
    e->in_swift = 0;                      /* Lua code runs: the cap applies */
    int status = lua_pcall(L, nargs, nresults, msgh);
    e->in_swift = saved;
    return status;
}

int sl_close(lua_State *L) {
    sl_extra *e = extra(L);
    e->in_swift = 0;                      /* finalizers are Lua code: the cap applies */
    lua_close(L);
    int hit = e->hit;
    free(e);
    return hit;
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

/* ---------------------------------------------------------------- watchdog */

/* Lua cannot run hooks inside __gc finalizers, and a message handler that loops can keep
   catching the hook's error, so neither the deadline nor SIGTERM stops them. This thread is
   the backstop: once the deadline (or a termination signal that no runbook trapped) is
   `grace` seconds old, it kills the children's process groups and ends the process. */

static pthread_mutex_t sl_wd_mutex = PTHREAD_MUTEX_INITIALIZER;
static double sl_wd_deadline = 0;         /* monotonic; 0 = none */
static double sl_wd_grace = 5;
static double sl_wd_signal_grace = 30;
static double sl_wd_signal_at = 0;
static int sl_wd_started = 0;
#define SL_WD_MAX_CHILDREN 256
static pid_t sl_wd_children[SL_WD_MAX_CHILDREN];

void sl_watchdog_child(pid_t pid, int running) {
    pthread_mutex_lock(&sl_wd_mutex);
    for (int i = 0; i < SL_WD_MAX_CHILDREN; i++) {
        if (running && sl_wd_children[i] == 0) { sl_wd_children[i] = pid; break; }
        if (!running && sl_wd_children[i] == pid) { sl_wd_children[i] = 0; break; }
    }
    pthread_mutex_unlock(&sl_wd_mutex);
}

static void sl_wd_exit(int code, const char *why, double grace) {
    pthread_mutex_lock(&sl_wd_mutex);
    for (int i = 0; i < SL_WD_MAX_CHILDREN; i++)
        if (sl_wd_children[i] > 0) kill(-sl_wd_children[i], SIGKILL);   /* each child leads its group */
    pthread_mutex_unlock(&sl_wd_mutex);
    char buf[512];
    int n = snprintf(buf, sizeof buf, "polarrun: %s; the runbook did not stop within %gs "
                     "(a looping __gc finalizer or error handler?), so the process ends here\n", why, grace);
    if (n > 0) { ssize_t w = write(2, buf, (size_t)n); (void)w; }
    _exit(code);
}

static void *sl_wd_main(void *arg) {
    (void)arg;
    for (;;) {
        usleep(100000);
        double now = sl_monotonic();
        pthread_mutex_lock(&sl_wd_mutex);
        double deadline = sl_wd_deadline, grace = sl_wd_grace, signal_grace = sl_wd_signal_grace;
        pthread_mutex_unlock(&sl_wd_mutex);
        if (deadline > 0 && now > deadline + grace) sl_wd_exit(124, "runbook deadline (--timeout) passed", grace);
        int sig = sl_signo;
        if (sig && !sl_trapped) {
            if (sl_wd_signal_at == 0) sl_wd_signal_at = now;
            else if (now > sl_wd_signal_at + signal_grace) sl_wd_exit(128 + sig, "terminated by a signal", signal_grace);
        }
    }
    return NULL;
}

void sl_watchdog_arm(double seconds, double grace, double signal_grace) {
    pthread_mutex_lock(&sl_wd_mutex);
    double at = sl_monotonic() + seconds;
    if (seconds > 0 && (sl_wd_deadline == 0 || at < sl_wd_deadline)) sl_wd_deadline = at;
    if (grace >= 0) sl_wd_grace = grace;
    if (signal_grace >= 0) sl_wd_signal_grace = signal_grace;
    int start = !sl_wd_started;
    sl_wd_started = 1;
    pthread_mutex_unlock(&sl_wd_mutex);
    if (start) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 64 * 1024);
        pthread_create(&t, &a, sl_wd_main, NULL);
        pthread_attr_destroy(&a);
    }
}

void sl_watchdog_disarm(void) {
    pthread_mutex_lock(&sl_wd_mutex);
    sl_wd_deadline = 0;
    pthread_mutex_unlock(&sl_wd_mutex);
}
