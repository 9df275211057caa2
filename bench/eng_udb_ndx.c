/*
 * eng_udb_ndx.c — the udb index-only engines ("udb-ndx", wide layout, and
 * "udb-ndx-classic"): one MultiIndex file, one BLOCK/16/UNIQUE index with
 * nodes near 4 KiB, mapping key -> data position through the public
 * udb_ndx_* API. The 8-byte value is the position; upd finds the key with
 * a cursor and gives it the new position in place (udb_cursor_set_datapos).
 */
#include "bench.h"
#include "udb.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct ndx_db {
    udb_ndx *d;
    udb_cursor *c;  /* scan */
    udb_cursor *uc; /* upd, opened by the first upd */
    uint8_t val[8];
} ndx_db;

/* The engines define their index with maxitems 0, the library's default:
   the largest maxitems with a node (header 3 + 2 * position size, then
   maxitems * (key + position)) of at most 4096 bytes. These say which, for
   the report. */
static unsigned psize(int layout) { return layout == UDB_LAYOUT_CLASSIC ? 4 : 8; }
unsigned bench_udb_maxitems(int layout)
{
    unsigned p = psize(layout);
    return (4096 - 3 - 2 * p) / (BENCH_KEY + p);
}
unsigned bench_udb_node(int layout)
{
    unsigned p = psize(layout);
    return 3 + 2 * p + bench_udb_maxitems(layout) * (BENCH_KEY + p);
}

static int err(ndx_db *x, const char *what, int rc)
{
    fprintf(stderr, "udb-ndx: %s: %s: %s\n", what, udb_errname(rc),
            x && x->d ? udb_ndx_errmsg(x->d) : "");
    return -1;
}

static int do_open(int layout, const char *dir, int create, void **out)
{
    char path[4096];
    ndx_db *x = calloc(1, sizeof *x);
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    snprintf(path, sizeof path, "%s/db.ndx", dir);
    int rc = create ? udb_ndx_create(path, &o, 1, &x->d) : udb_ndx_open(path, &o, &x->d);
    if (rc)
        return err(x, path, rc);
    udb_index_def def = {UDB_KEY_BLOCK, BENCH_KEY, UDB_UNIQUE, 0, 0, 0}; /* the default node */
    udb_index_info info;
    if (create && (rc = udb_ndx_define(x->d, 1, &def)))
        return err(x, "define", rc);
    if ((rc = udb_ndx_info(x->d, 1, &info)))
        return err(x, "info", rc);
    if (info.node_size != bench_udb_node(layout)) {
        fprintf(stderr, "udb-ndx: node size %zu, expected %u\n", info.node_size,
                bench_udb_node(layout));
        return -1;
    }
    *out = x;
    return 0;
}

static int open_wide(const char *dir, int create, void **out)
{
    return do_open(UDB_LAYOUT_WIDE, dir, create, out);
}
static int open_classic(const char *dir, int create, void **out)
{
    return do_open(UDB_LAYOUT_CLASSIC, dir, create, out);
}

static int ndx_close(void *db)
{
    ndx_db *x = db;
    if (x->uc)
        udb_cursor_close(x->uc);
    int rc = udb_ndx_close(x->d);
    free(x);
    return rc ? err(NULL, "close", rc) : 0;
}

static int ndx_begin(void *db, int write)
{
    (void)write;
    ndx_db *x = db;
    int rc = udb_ndx_begin(x->d);
    return rc ? err(x, "begin", rc) : 0;
}

static int ndx_commit(void *db, int write)
{
    (void)write;
    ndx_db *x = db;
    int rc = udb_ndx_commit(x->d);
    return rc ? err(x, "commit", rc) : 0;
}

static int ndx_put(void *db, const uint8_t *key, const void *val, size_t len)
{
    (void)len;
    ndx_db *x = db;
    int rc = udb_ndx_append(x->d, 1, key, BENCH_KEY, (int64_t)bench_ld64(val));
    return rc ? err(x, "append", rc) : 0;
}

static int ndx_get(void *db, const uint8_t *key, const void **val, size_t *len)
{
    ndx_db *x = db;
    int64_t pos;
    int rc = udb_ndx_find(x->d, 1, key, BENCH_KEY, &pos);
    if (rc == UDB_NOTFOUND)
        return BENCH_ABSENT;
    if (rc)
        return err(x, "find", rc);
    bench_st64(x->val, (uint64_t)pos);
    *val = x->val;
    *len = 8;
    return 0;
}

static int ndx_del(void *db, const uint8_t *key)
{
    ndx_db *x = db;
    uint64_t removed = 0;
    int rc = udb_ndx_delete(x->d, 1, key, BENCH_KEY, &removed);
    if (rc == UDB_NOTFOUND || (!rc && removed == 0))
        return BENCH_ABSENT;
    return rc ? err(x, "delete", rc) : removed == 1 ? 0 : err(x, "delete: count", 0);
}

static int ndx_upd(void *db, const uint8_t *key, const void *val, size_t len)
{
    (void)len;
    ndx_db *x = db;
    int rc = x->uc ? 0 : udb_cursor_open(x->d, 1, &x->uc);
    if (!rc)
        rc = udb_cursor_find(x->uc, key, BENCH_KEY, NULL);
    if (!rc)
        rc = udb_cursor_set_datapos(x->uc, (int64_t)bench_ld64(val));
    return rc ? err(x, "upd", rc) : 0;
}

static int ndx_scan(void *db, bench_scan_fn fn, void *arg)
{
    ndx_db *x = db;
    udb_item it;
    int rc = udb_cursor_open(x->d, 1, &x->c);
    if (rc)
        return err(x, "cursor", rc);
    for (rc = udb_cursor_first(x->c, &it); !rc; rc = udb_cursor_next(x->c, &it)) {
        bench_st64(x->val, (uint64_t)it.datapos);
        if (fn(arg, it.key, it.keysize, x->val, 8))
            break;
    }
    udb_cursor_close(x->c);
    return rc && rc != UDB_NOTFOUND ? err(x, "cursor move", rc) : 0;
}

static char cfg[2][200];
static const char *config(int layout, int k)
{
    snprintf(cfg[k], sizeof cfg[k],
             "udb %s, %s layout, udb_ndx_* API, one index BLOCK 16 UNIQUE, maxitems 0 = %u "
             "(node %u B), value = 8-byte position, upd = cursor find + set_datapos",
             udb_version(), layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide",
             bench_udb_maxitems(layout), bench_udb_node(layout));
    return cfg[k];
}
static const char *config_wide(void) { return config(UDB_LAYOUT_WIDE, 0); }
static const char *config_classic(void) { return config(UDB_LAYOUT_CLASSIC, 1); }

const bench_engine bench_udb_ndx = {
    "udb-ndx", 1, 8, config_wide, open_wide, ndx_close, ndx_begin, ndx_commit,
    ndx_put, ndx_get, ndx_del, ndx_upd, ndx_scan, NULL, NULL,
};

const bench_engine bench_udb_ndx_classic = {
    "udb-ndx-classic", 1, 8, config_classic, open_classic, ndx_close, ndx_begin, ndx_commit,
    ndx_put, ndx_get, ndx_del, ndx_upd, ndx_scan, NULL, NULL,
};
