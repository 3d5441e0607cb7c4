#ifndef CLIBPQ_H
#define CLIBPQ_H
/* libpq's API as polarrun calls it. The functions are defined in CLibPQ.c, which loads
 * libpq.so.5 with dlopen on first use, so a runbook that runs no SQL never loads libpq
 * nor the ~25 libraries it depends on (TLS, Kerberos, LDAP). */
#include <stddef.h>
#include <postgresql/libpq-fe.h>

/* Loads libpq once (later calls return the first result). 0 on success; otherwise -1, with
 * the reason in err (dlerror's text), when err is not NULL. */
int pq_load(char *err, size_t errlen);

/* Starts loading libpq on a background thread, so a runbook that will run SQL finds it
 * loaded (or nearly) at its first query. Harmless if libpq is missing: pq_load reports it. */
void pq_prefetch(void);
#endif
