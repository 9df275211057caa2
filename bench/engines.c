/*
 * engines.c — the registry of benchmarked engines, in run order: the
 * record engines (values of 100 bytes) and then the index-only engines
 * (8-byte values). Engines outside the default run (found by name only)
 * are listed apart, and so are W2's engines (its run order).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const bench_engine *const bench_engines[] = {
    &bench_udb_store,
    &bench_udb_store_classic,
    &bench_sqlite,
    &bench_sqlite_wal,
    &bench_bdb,
    &bench_lmdb,
    &bench_udb_ndx,
    &bench_udb_ndx_classic,
    &bench_bdb8,
    &bench_lmdb8,
    NULL,
};

/* Run only when named: the sync OFF variants of the durability run, W2's
   other journal modes. */
const bench_engine *const bench_extra_engines[] = {
    &bench_udb_store_arrival,
    &bench_udb_store_nosync,
    &bench_sqlite_nosync,
    &bench_sqlite_wal_normal,
#ifdef UDB_JOURNAL_WAL
    &bench_udb_wal,
    &bench_udb_wal_normal,
#endif
    NULL,
};

/* W2: udb's journal modes, then the peers as they ship (LMDB, SQLite WAL
   FULL and NORMAL, SQLite rollback FULL). */
const bench_engine *const bench_w2_engines[] = {
    &bench_udb_store,
#ifdef UDB_JOURNAL_WAL
    &bench_udb_wal,
    &bench_udb_wal_normal,
#endif
    &bench_lmdb,
    &bench_sqlite_wal,
    &bench_sqlite_wal_normal,
    &bench_sqlite,
    NULL,
};

const bench_engine *bench_engine_find(const char *name)
{
    for (int k = 0; bench_engines[k]; k++)
        if (!strcmp(bench_engines[k]->name, name))
            return bench_engines[k];
    for (int k = 0; bench_extra_engines[k]; k++)
        if (!strcmp(bench_extra_engines[k]->name, name))
            return bench_extra_engines[k];
    return NULL;
}

const bench_engine *bench_engine_need(const char *run, const char *name)
{
    const bench_engine *e = bench_engine_find(name);
    if (!e) {
        fprintf(stderr, "udb-bench %s: no engine %s (see: udb-bench list)\n", run, name);
        exit(2);
    }
    return e;
}
