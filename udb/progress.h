/*
 * progress.h — reporting how far a long call has got, through the
 * callback of udb_options.progress, at a modest rate. Owns that rate; must
 * not print, and must never change what the reporting call does.
 */
#ifndef UDB_PROGRESS_H
#define UDB_PROGRESS_H

#include "udb.h"

typedef struct progress {
    udb_progress_fn fn;         /* NULL: nobody listens */
    void *arg;
} progress;

enum { PROGRESS_STEP = 4096 };  /* items between two reports */

/* A phase starts or ends: always reported. */
static inline void progress_say(const progress *p, const char *phase, uint64_t done, uint64_t total)
{
    if (p && p->fn)
        p->fn(p->arg, phase, done, total);
}

/* Within a phase: every PROGRESS_STEP items. */
static inline void progress_tick(const progress *p, const char *phase, uint64_t done, uint64_t total)
{
    if (done % PROGRESS_STEP == 0)
        progress_say(p, phase, done, total);
}

#endif
