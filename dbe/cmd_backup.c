/*
 * cmd_backup.c — dbe backup: a consistent copy of a record store, a
 * MultiIndex file or a heap file while other processes read and write it,
 * through udb_store_backup / udb_ndx_backup / udb_heap_backup (one read
 * transaction; the copy is the file page for page). Reads only the source;
 * writes only the new files.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include "dbe_store.h"

static void show_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        printf("%s: %lld bytes\n", path, (long long)st.st_size);
}

static int backup_store(const char *src, const char *dst, const dbe_opts *o)
{
    dbe_store st;
    int ex = dbe_store_open(src, o, 0, "backup", &st), rc;
    if (ex == EX_OK && (rc = udb_store_backup(st.s, dst)))
        ex = dbe_fail(rc == UDB_CORRUPT ? EX_ABSENT : EX_USAGE, "backup: %s",
                      udb_store_errmsg(st.s));
    ex = dbe_store_close(&st, ex);
    for (int i = 0; i < 2 && ex == EX_OK; i++) {
        char *p = dbe_with_ext(dst, i ? ".dat" : ".ndx");
        if (p)
            show_size(p);
        free(p);
    }
    return ex;
}

static int backup_file(const char *src, const char *dst, const dbe_opts *o)
{
    udb_ndx *d;
    udb_heap *h;
    int rc = dbe_open_any(src, o, &d, &h);
    if (rc) {
        dbe_close_any(d, h);
        return dbe_open_exit(rc);
    }
    rc = d ? udb_ndx_backup(d, dst) : udb_heap_backup(h, dst);
    int ex = rc ? dbe_fail(rc == UDB_CORRUPT ? EX_ABSENT : EX_USAGE, "backup: %s",
                           d ? udb_ndx_errmsg(d) : udb_heap_errmsg(h))
                : EX_OK;
    dbe_close_any(d, h);
    if (ex == EX_OK)
        show_size(dst);
    return ex;
}

int cmd_backup(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout") != 2)
        return dbe_usage("backup");
    return dbe_is_store(argv[1]) ? backup_store(argv[1], argv[2], &o)
                                 : backup_file(argv[1], argv[2], &o);
}
