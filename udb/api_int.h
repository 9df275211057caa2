/*
 * api_int.h — what every public handle shares: the error record, the mutex
 * that makes a handle safe across threads, the pager group, and the rules
 * that turn API calls into transactions (one implicit transaction per call
 * unless the caller began one).
 */
#ifndef UDB_API_INT_H
#define UDB_API_INT_H

#include <pthread.h>
#include "err.h"
#include "pager.h"
#include "progress.h"

typedef struct api_base {
    udb_err err;
    pthread_mutex_t mu;
    int mu_ready;               /* mu was initialised */
    pager_group *g;
    int explicit_txn;
    int ready;                  /* the handle opened: its files are loaded */
    progress prog;              /* udb_options.progress of the open */
    /* re-decode in-memory state after another handle's change or a rollback */
    int (*reload)(struct api_base *b);
    int reload_due;             /* a rollback's decode is owed: the next transaction does it */
    /* write in-memory state (index infos, heap header) into pages */
    int (*flush)(struct api_base *b);
} api_base;

int api_base_init(api_base *b, const udb_options *opts);
void api_base_fini(api_base *b);
/* The handle's error message as the calling thread should see it. */
const char *api_errmsg(const api_base *b);
void api_lock(api_base *b);
void api_unlock(api_base *b);

/* Around one read: a read transaction unless one is open. */
int api_read_begin(api_base *b, int *began);
void api_read_end(api_base *b, int began);
/* Around one change: a write transaction unless one is open; write_end
   commits (or rolls back on failure) what write_begin began. */
int api_write_begin(api_base *b, int *began);
int api_write_end(api_base *b, int began, int rc);

int api_begin(api_base *b);
/* A read transaction on any handle. */
int api_begin_read(api_base *b);
/* Copy the handle's files files[0..n) as one committed state (a read
   transaction unless one is open; refused inside a write transaction) into
   the new files dst[0..n) (udb_*_backup). */
int api_backup(api_base *b, pager_file *const *files, const char *const *dst, int n);
/* WAL mode: copy the log into the files as far as readers allow. */
int api_checkpoint(api_base *b);
int api_commit(api_base *b);
int api_rollback(api_base *b);

/* Writable opens of a record store's own files (its NAME.ndx, or a heap
   that begins with a store descriptor) are refused (UDB_READONLY, changing
   nothing) unless opts asks for UDB_RDONLY or UDB_RAW; 0 otherwise. In
   store.c, which knows what a store is. */
int store_guard(api_base *b, const char *path, const udb_options *opts);

/* Detect what the file at pf is (kind LAY_FILE_*), honouring a forced layout. */
int api_detect(api_base *b, pager_file *pf, int want_kind, int want_layout, int *layout);

#endif
