/*
 * dbe_hot.c — helper of tests/dbe_store.sh, not a test of its own: leaves
 * a hot journal behind, as a dbe killed in the middle of a long
 * transaction would. Opens a MultiIndex file (index 1 LONG_INT) or a
 * record store (one LONG_INT index) with a tiny dirty-page limit, begins a
 * transaction, adds records until pages have spilled into the files, and
 * exits without committing or closing.
 *   dbe_hot ndx FILE   |   dbe_hot store NAME
 * And for tests/dbe_wal.sh, a store in WAL mode:
 *   dbe_hot walcrash NAME N   commits records 101..100+N, one per transaction,
 *                             and exits without closing (the log stays)
 *   dbe_hot walhold NAME S    commits record 1000, keeps the store open S
 *                             seconds, closes
 *   dbe_hot heapwal NAME.dat  writes 10 raw bytes into the heap in WAL mode,
 *                             commits and exits without closing
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "udb.h"

static int fill_ndx(const char *path, const udb_options *o)
{
    udb_ndx *d;
    int rc = udb_ndx_open(path, o, &d);
    if (!rc)
        rc = udb_ndx_begin(d);
    for (int32_t i = 1; !rc && i <= 5000; i++)
        rc = udb_ndx_append(d, 1, &i, sizeof i, i);
    if (rc)
        fprintf(stderr, "dbe_hot: %s\n", udb_ndx_errmsg(d));
    return rc;
}

static int fill_store(const char *name, const udb_options *o)
{
    udb_store *s;
    char val[100];
    memset(val, 'v', sizeof val);
    int rc = udb_store_open(name, o, &s);
    if (!rc)
        rc = udb_store_begin(s);
    for (int32_t i = 1; !rc && i <= 5000; i++) {
        udb_key k = {&i, sizeof i};
        rc = udb_store_put(s, &k, val, sizeof val);
    }
    if (rc)
        fprintf(stderr, "dbe_hot: %s\n", udb_store_errmsg(s));
    return rc;
}

/* WAL mode: n one-record transactions, then exit (crash) or hold the
   store open for hold seconds and close. */
static int wal_store(const char *name, int n, int hold)
{
    udb_options o;
    udb_options_init(&o);
    o.journal = UDB_JOURNAL_WAL;
    udb_store *s;
    char val[100];
    memset(val, 'w', sizeof val);
    int rc = udb_store_open(name, &o, &s);
    for (int32_t i = hold ? 1000 : 101; !rc && i <= (hold ? 1000 : 100 + n); i++) {
        udb_key k = {&i, sizeof i};
        rc = udb_store_put(s, &k, val, sizeof val);
    }
    if (rc)
        fprintf(stderr, "dbe_hot: %s\n", udb_store_errmsg(s));
    if (rc || !hold)
        _exit(rc ? 1 : 0);
    printf("open\n");
    fflush(stdout);
    sleep((unsigned)hold);
    return udb_store_close(s) ? 1 : 0;
}

/* A raw write into the heap NAME.dat in WAL mode that commits and dies:
   with the store's NAME.ndx moved away meanwhile, the log is the heap's
   own (NAME.dat-wal), as an earlier udb left it. */
static int heap_wal(const char *dat)
{
    udb_options o;
    udb_options_init(&o);
    o.journal = UDB_JOURNAL_WAL;
    o.flags = UDB_RAW;
    udb_heap *h;
    int64_t pos;
    int rc = udb_heap_open(dat, &o, &h);
    if (!rc && !(rc = udb_heap_alloc(h, 10, &pos)))
        rc = udb_heap_write(h, pos, "raw-bytes!", 10);
    if (rc)
        fprintf(stderr, "dbe_hot: %s\n", udb_heap_errmsg(h));
    _exit(rc ? 1 : 0);
}

int main(int argc, char **argv)
{
    udb_options o;
    udb_options_init(&o);
    o.dirty_limit = 4096;
    if (argc == 4 && (!strcmp(argv[1], "walcrash") || !strcmp(argv[1], "walhold")))
        return wal_store(argv[2], atoi(argv[3]), !strcmp(argv[1], "walhold") ? atoi(argv[3]) : 0);
    if (argc == 3 && !strcmp(argv[1], "heapwal"))
        return heap_wal(argv[2]);
    if (argc != 3 || (strcmp(argv[1], "ndx") && strcmp(argv[1], "store"))) {
        fprintf(stderr, "usage: dbe_hot ndx FILE | dbe_hot store NAME\n");
        return 2;
    }
    int rc = !strcmp(argv[1], "ndx") ? fill_ndx(argv[2], &o) : fill_store(argv[2], &o);
    _exit(rc ? 1 : 0); /* no commit, no close: the journal stays hot */
}
