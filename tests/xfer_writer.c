/*
 * xfer_writer.c — helper of tests/dbe_backup.sh, not a test of its own: one
 * writer that keeps a store or a MultiIndex file open and commits keys
 * 1..N (index 1, LONG_INT), one transaction each, while dbe backup copies
 * the file, about a millisecond apart. Store values are 300 bytes, so
 * records and commits span pages.
 *   xfer_writer store|ndx PATH N rollback|wal
 * Prints "1" after the first commit (the journal mode is settled then),
 * exits 0 after the last, 1 (with a message) on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "udb.h"

static int put_one(udb_store *s, udb_ndx *d, int32_t i)
{
    char val[300];
    memset(val, 'a' + i % 26, sizeof val);
    if (s) {
        udb_key k = {&i, sizeof i};
        int rc = udb_store_begin(s);
        return rc ? rc : (rc = udb_store_put(s, &k, val, sizeof val)) ? rc : udb_store_commit(s);
    }
    int rc = udb_ndx_begin(d);
    return rc ? rc : (rc = udb_ndx_append(d, 1, &i, sizeof i, i)) ? rc : udb_ndx_commit(d);
}

int main(int argc, char **argv)
{
    udb_options o;
    udb_store *s = NULL;
    udb_ndx *d = NULL;
    if (argc != 5 || (strcmp(argv[1], "store") && strcmp(argv[1], "ndx"))) {
        fprintf(stderr, "usage: xfer_writer store|ndx PATH N rollback|wal\n");
        return 2;
    }
    udb_options_init(&o);
    o.journal = !strcmp(argv[4], "wal") ? UDB_JOURNAL_WAL : UDB_JOURNAL_ROLLBACK;
    o.sync = UDB_SYNC_OFF;
    o.lock_timeout_ms = 30000;
    int n = atoi(argv[3]), store = !strcmp(argv[1], "store");
    int rc = store ? udb_store_open(argv[2], &o, &s) : udb_ndx_open(argv[2], &o, &d);
    for (int32_t i = 1; !rc && i <= n; i++) {
        struct timespec ms = {0, 1000000};
        rc = put_one(s, d, i);
        if (!rc && i == 1) {
            puts("1");
            fflush(stdout);
        }
        nanosleep(&ms, NULL);
    }
    if (rc)
        fprintf(stderr, "xfer_writer: %s\n", store ? udb_store_errmsg(s) : udb_ndx_errmsg(d));
    udb_store_close(s);
    udb_ndx_close(d);
    return rc ? 1 : 0;
}
