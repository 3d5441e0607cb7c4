/* libpq through dlopen: see include/CLibPQ.h. The wrappers below have libpq's own names and
 * prototypes, so the Swift code calls PQexec & co. as if it were linked against libpq. They are
 * hidden (not exported), so libpq, once loaded, binds its internal calls to itself. */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC visibility push(hidden)   /* libpq's declarations only; the C library's come first */
#include "CLibPQ.h"

/* X(return type, name, parameters, arguments) for every libpq function polarrun calls. */
#define PQ_FUNCTIONS(X) \
    X(PGconn *, PQconnectdbParams, (const char *const *k, const char *const *v, int e), (k, v, e)) \
    X(ConnStatusType, PQstatus, (const PGconn *c), (c)) \
    X(char *, PQerrorMessage, (const PGconn *c), (c)) \
    X(void, PQfinish, (PGconn *c), (c)) \
    X(int, PQserverVersion, (const PGconn *c), (c)) \
    X(int, PQsendQueryParams, (PGconn *c, const char *q, int n, const Oid *t, const char *const *v, const int *l, const int *f, int r), (c, q, n, t, v, l, f, r)) \
    X(int, PQisBusy, (PGconn *c), (c)) \
    X(PGcancel *, PQgetCancel, (PGconn *c), (c)) \
    X(int, PQcancel, (PGcancel *c, char *b, int n), (c, b, n)) \
    X(void, PQfreeCancel, (PGcancel *c), (c)) \
    X(int, PQsocket, (const PGconn *c), (c)) \
    X(int, PQconsumeInput, (PGconn *c), (c)) \
    X(PGresult *, PQgetResult, (PGconn *c), (c)) \
    X(ExecStatusType, PQresultStatus, (const PGresult *r), (r)) \
    X(void, PQclear, (PGresult *r), (r)) \
    X(char *, PQcmdStatus, (PGresult *r), (r)) \
    X(char *, PQcmdTuples, (PGresult *r), (r)) \
    X(char *, PQresultErrorField, (const PGresult *r, int f), (r, f)) \
    X(char *, PQresultErrorMessage, (const PGresult *r), (r)) \
    X(int, PQntuples, (const PGresult *r), (r)) \
    X(int, PQnfields, (const PGresult *r), (r)) \
    X(Oid, PQftype, (const PGresult *r, int f), (r, f)) \
    X(char *, PQfname, (const PGresult *r, int f), (r, f)) \
    X(int, PQgetisnull, (const PGresult *r, int t, int f), (r, t, f)) \
    X(int, PQgetlength, (const PGresult *r, int t, int f), (r, t, f)) \
    X(char *, PQgetvalue, (const PGresult *r, int t, int f), (r, t, f))

#define POINTER(ret, name, params, args) ret (*name) params;
static struct { PQ_FUNCTIONS(POINTER) } pq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;          /* written once, inside pthread_once */
static char why[512];

static void load(void) {
    /* POLARRUN_LIBPQ: another libpq (a path), e.g. the one installed with the engine */
    const char *lib = getenv("POLARRUN_LIBPQ");
    if (!lib || !*lib) lib = "libpq.so.5";
    void *h = dlopen(lib, RTLD_LAZY | RTLD_LOCAL);
    if (!h) {
        snprintf(why, sizeof why, "%s", dlerror());
        return;
    }
#define RESOLVE(ret, name, params, args) \
    if (!(*(void **)&pq.name = dlsym(h, #name))) { \
        snprintf(why, sizeof why, "%s has no %s", lib, #name); \
        return; \
    }
    PQ_FUNCTIONS(RESOLVE)
    loaded = 1;
}

int pq_load(char *err, size_t errlen) {
    pthread_once(&once, load);
    if (loaded) return 0;
    if (err && errlen) snprintf(err, errlen, "%s", why);
    return -1;
}

static void *prefetch(void *unused) {
    (void)unused;
    pthread_once(&once, load);
    return NULL;
}

void pq_prefetch(void) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, prefetch, NULL) != 0) { /* the first query loads it instead */ }
    pthread_attr_destroy(&a);
}

/* Swift calls pq_load (and reports its error) before it connects, so every wrapper runs with
 * libpq loaded; if one ever does not, stop rather than jump to a null pointer. */
static void need(void) {
    if (pq_load(NULL, 0) != 0) {
        fprintf(stderr, "polarrun: libpq called but not loaded: %s\n", why);
        abort();
    }
}

#define WRAPPER(ret, name, params, args) ret name params { need(); return pq.name args; }
PQ_FUNCTIONS(WRAPPER)

#pragma GCC visibility pop
