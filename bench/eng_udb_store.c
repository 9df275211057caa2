/*
 * eng_udb_store.c — the udb record-store engines ("udb-store", wide layout,
 * "udb-store-classic", and "udb-store-nosync", wide with sync OFF, for the
 * durability run only): NAME.ndx + NAME.dat through the public
 * udb_store_* API, one BLOCK/16/UNIQUE index with nodes near 4 KiB, the
 * 100-byte values as heap records. Also the bulk run's load path
 * (udb_store_load_sorted) and check (udb_store_check) on these handles.
 */
#include "bench.h"
#include "udb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct store_db {
    udb_store *s;
    udb_val val;
} store_db;

static int err(store_db *x, const char *what, int rc)
{
    fprintf(stderr, "udb-store: %s: %s: %s\n", what, udb_strerror(rc),
            x && x->s ? udb_store_errmsg(x->s) : "");
    return -1;
}

static int check_node(store_db *x, int layout)
{
    udb_index_info info;
    int rc = udb_store_index_info(x->s, 1, &info);
    if (rc)
        return err(x, "index info", rc);
    if (info.node_size != bench_udb_node(layout)) {
        fprintf(stderr, "udb-store: node size %zu, expected %u\n", info.node_size,
                bench_udb_node(layout));
        return -1;
    }
    return 0;
}

static int do_open(int layout, int sync, const char *dir, int create, void **out)
{
    char name[4096];
    store_db *x = calloc(1, sizeof *x);
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = sync;
    snprintf(name, sizeof name, "%s/db", dir);
    udb_index_def ix = {UDB_KEY_BLOCK, BENCH_KEY, UDB_UNIQUE, bench_udb_maxitems(layout), 0, 0};
    udb_store_def def = {1, &ix, 0, 0};
    int rc = create ? udb_store_create(name, &o, &def, &x->s) : udb_store_open(name, &o, &x->s);
    if (rc)
        return err(x, name, rc);
    *out = x;
    return check_node(x, layout);
}

static int open_wide(const char *dir, int create, void **out)
{
    return do_open(UDB_LAYOUT_WIDE, UDB_SYNC_FULL, dir, create, out);
}
static int open_classic(const char *dir, int create, void **out)
{
    return do_open(UDB_LAYOUT_CLASSIC, UDB_SYNC_FULL, dir, create, out);
}
static int open_nosync(const char *dir, int create, void **out)
{
    return do_open(UDB_LAYOUT_WIDE, UDB_SYNC_OFF, dir, create, out);
}

static int st_close(void *db)
{
    store_db *x = db;
    int rc = udb_store_close(x->s);
    udb_val_free(&x->val);
    free(x);
    return rc ? err(NULL, "close", rc) : 0;
}

/* Reads too run inside one transaction, as SQLite's do. */
static int st_begin(void *db, int write)
{
    (void)write;
    store_db *x = db;
    int rc = udb_store_begin(x->s);
    return rc ? err(x, "begin", rc) : 0;
}

static int st_commit(void *db, int write)
{
    (void)write;
    store_db *x = db;
    int rc = udb_store_commit(x->s);
    return rc ? err(x, "commit", rc) : 0;
}

static int st_put(void *db, const uint8_t *key, const void *val, size_t len)
{
    store_db *x = db;
    udb_key k = {key, BENCH_KEY};
    int rc = udb_store_put(x->s, &k, val, len);
    return rc ? err(x, "put", rc) : 0;
}

static int st_get(void *db, const uint8_t *key, const void **val, size_t *len)
{
    store_db *x = db;
    int rc = udb_store_get(x->s, 1, key, BENCH_KEY, &x->val);
    if (rc == UDB_NOTFOUND)
        return BENCH_ABSENT;
    if (rc)
        return err(x, "get", rc);
    *val = x->val.data;
    *len = x->val.len;
    return 0;
}

static int st_del(void *db, const uint8_t *key)
{
    store_db *x = db;
    uint64_t removed = 0;
    int rc = udb_store_delete(x->s, 1, key, BENCH_KEY, &removed);
    if (rc == UDB_NOTFOUND || (!rc && removed == 0))
        return BENCH_ABSENT;
    return rc ? err(x, "delete", rc) : removed == 1 ? 0 : err(x, "delete: count", 0);
}

static int st_upd(void *db, const uint8_t *key, const void *val, size_t len)
{
    store_db *x = db;
    int rc = udb_store_update(x->s, 1, key, BENCH_KEY, val, len);
    return rc ? err(x, "update", rc) : 0;
}

typedef struct scan_arg {
    bench_scan_fn fn;
    void *arg;
} scan_arg;

static int scan_cb(void *arg, const udb_item *key, const void *val, size_t len)
{
    scan_arg *a = arg;
    return a->fn(a->arg, key->key, key->keysize, val, len);
}

static int st_scan(void *db, bench_scan_fn fn, void *arg)
{
    store_db *x = db;
    scan_arg a = {fn, arg};
    int rc = udb_store_scan(x->s, 1, NULL, 0, NULL, 0, NULL, 0, scan_cb, &a);
    return rc < 0 ? err(x, "scan", rc) : 0;
}

/* ---- the bulk run (bulk.c) ----------------------------------------------------------- */
typedef struct load_arg {
    bench_next_fn next;
    void *arg;
} load_arg;

static int load_next(void *arg, udb_key *keys, const void **val, size_t *len)
{
    load_arg *a = arg;
    const uint8_t *key;
    int r = a->next(a->arg, &key, val, len);
    if (r == 0)
        keys[0] = (udb_key){key, BENCH_KEY};
    return r;
}

int bench_udb_store_load(void *db, bench_next_fn next, void *arg, uint64_t *loaded)
{
    store_db *x = db;
    load_arg a = {next, arg};
    int rc = udb_store_load_sorted(x->s, load_next, &a, loaded);
    return rc ? err(x, "load_sorted", rc) : 0;
}

static void problem(void *arg, int severity, int64_t offset, unsigned index, const char *text)
{
    (void)arg;
    fprintf(stderr, "udb-store: check: %s, index %u, offset %" PRId64 ": %s\n",
            severity == UDB_PROBLEM ? "problem" : "note", index, offset, text);
}

int bench_udb_store_check(void *db, uint64_t n)
{
    store_db *x = db;
    udb_check_report rep;
    int rc = udb_store_check(x->s, problem, NULL, &rep);
    uint64_t records = rep.num_indexes ? rep.index[0].records : 0;
    unsigned notes = rep.notes;
    udb_check_report_free(&rep);
    if (rc)
        return err(x, "check", rc);
    if (notes || records != n) {
        fprintf(stderr, "udb-store: check: %u note(s), %" PRIu64 " records (expected %" PRIu64 ")\n",
                notes, records, n);
        return -1;
    }
    return 0;
}

static char cfg[3][200];
static const char *config(int layout, int k)
{
    snprintf(cfg[k], sizeof cfg[k],
             "udb %s, %s layout, udb_store_* API, one index BLOCK 16 UNIQUE, maxitems %u "
             "(node %u B), values as heap records, sync %s",
             udb_version(), layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide",
             bench_udb_maxitems(layout), bench_udb_node(layout), k == 2 ? "OFF" : "FULL");
    return cfg[k];
}
static const char *config_wide(void) { return config(UDB_LAYOUT_WIDE, 0); }
static const char *config_classic(void) { return config(UDB_LAYOUT_CLASSIC, 1); }
static const char *config_nosync(void) { return config(UDB_LAYOUT_WIDE, 2); }

const bench_engine bench_udb_store = {
    "udb-store", 1, BENCH_VAL, config_wide, open_wide, st_close, st_begin, st_commit,
    st_put, st_get, st_del, st_upd, st_scan,
};

const bench_engine bench_udb_store_classic = {
    "udb-store-classic", 1, BENCH_VAL, config_classic, open_classic, st_close, st_begin,
    st_commit, st_put, st_get, st_del, st_upd, st_scan,
};

const bench_engine bench_udb_store_nosync = {
    "udb-store-nosync", 1, BENCH_VAL, config_nosync, open_nosync, st_close, st_begin, st_commit,
    st_put, st_get, st_del, st_upd, st_scan,
};
