/*
 * eng_udb_store.c — the udb record-store engines ("udb-store", wide layout,
 * "udb-store-classic", "udb-store-arrival", wide with commit-time
 * placement off (records where they arrive: to measure what placement
 * does), and "udb-store-nosync", wide with sync OFF, for the
 * durability run only; "udb-wal" and "udb-wal-normal", the WAL journal
 * with sync FULL and NORMAL, for W2, once udb.h has UDB_JOURNAL_WAL):
 * NAME.ndx + NAME.dat through the public udb_store_* API, one
 * BLOCK/16/UNIQUE index with nodes near 4 KiB, the 100-byte values as heap
 * records. Also the bulk run's load path (udb_store_load_sorted) and check
 * (udb_store_check) on these handles, and W2's single calls: a get outside
 * a transaction, one handle per thread or process.
 */
#include "bench.h"
#include "udb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct store_db {
    udb_store *s;
    udb_val val;
} store_db;

static int err(store_db *x, const char *what, int rc)
{
    fprintf(stderr, "udb-store: %s: %s: %s\n", what, udb_errname(rc),
            x && x->s ? udb_store_errmsg(x->s) : "");
    return -1;
}

/* A lock wait that ran out is W2's to count, not an error to print. */
static int fail(store_db *x, const char *what, int rc)
{
    return rc == UDB_LOCKED ? BENCH_LOCKED : err(x, what, rc);
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

/* The defaults (lock_timeout_ms 5000, rollback journal) with layout and sync. */
static udb_options options(int layout, int sync)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = sync;
    return o;
}

static int do_open(const udb_options *o, const char *dir, int create, void **out)
{
    char name[4096];
    store_db *x = calloc(1, sizeof *x);
    snprintf(name, sizeof name, "%s/db", dir);
    udb_index_def ix = {UDB_KEY_BLOCK, BENCH_KEY, UDB_UNIQUE, 0, 0, 0}; /* the default node */
    udb_store_def def = {1, &ix, 0, 0};
    int rc = create ? udb_store_create(name, o, &def, &x->s) : udb_store_open(name, o, &x->s);
    if (rc)
        return err(x, name, rc);
    *out = x;
    return check_node(x, o->layout);
}

static int open_wide(const char *dir, int create, void **out)
{
    udb_options o = options(UDB_LAYOUT_WIDE, UDB_SYNC_FULL);
    return do_open(&o, dir, create, out);
}
static int open_classic(const char *dir, int create, void **out)
{
    udb_options o = options(UDB_LAYOUT_CLASSIC, UDB_SYNC_FULL);
    return do_open(&o, dir, create, out);
}
static int open_arrival(const char *dir, int create, void **out)
{
    udb_options o = options(UDB_LAYOUT_WIDE, UDB_SYNC_FULL);
    o.place_index = UDB_PLACE_OFF;
    return do_open(&o, dir, create, out);
}
static int open_nosync(const char *dir, int create, void **out)
{
    udb_options o = options(UDB_LAYOUT_WIDE, UDB_SYNC_OFF);
    return do_open(&o, dir, create, out);
}

static int st_close(void *db)
{
    store_db *x = db;
    int rc = udb_store_close(x->s);
    udb_val_free(&x->val);
    free(x);
    return rc ? err(NULL, "close", rc) : 0;
}

/* W1's reads too run inside one transaction, as SQLite's do. */
static int st_begin(void *db, int write)
{
    (void)write;
    store_db *x = db;
    int rc = udb_store_begin(x->s);
    return rc ? fail(x, "begin", rc) : 0;
}

static int st_commit(void *db, int write)
{
    (void)write;
    store_db *x = db;
    int rc = udb_store_commit(x->s);
    return rc ? fail(x, "commit", rc) : 0;
}

static int st_rollback(void *db)
{
    store_db *x = db;
    int rc = udb_store_rollback(x->s);
    return rc ? err(x, "rollback", rc) : 0;
}

static int st_put(void *db, const uint8_t *key, const void *val, size_t len)
{
    store_db *x = db;
    udb_key k = {key, BENCH_KEY};
    int rc = udb_store_put(x->s, &k, val, len);
    return rc ? fail(x, "put", rc) : 0;
}

static int st_get(void *db, const uint8_t *key, const void **val, size_t *len)
{
    store_db *x = db;
    int rc = udb_store_get(x->s, 1, key, BENCH_KEY, &x->val);
    if (rc == UDB_NOTFOUND)
        return BENCH_ABSENT;
    if (rc)
        return fail(x, "get", rc);
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

static char cfg[6][260];
static const char *config(int k, int layout, const char *journal, const char *sync)
{
    snprintf(cfg[k], sizeof cfg[k],
             "udb %s, %s layout, udb_store_* API, one index BLOCK 16 UNIQUE, maxitems 0 = %u "
             "(node %u B), values as heap records, %s journal, sync %s",
             udb_version(), layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide",
             bench_udb_maxitems(layout), bench_udb_node(layout), journal, sync);
    return cfg[k];
}
static const char *config_wide(void) { return config(0, UDB_LAYOUT_WIDE, "rollback", "FULL"); }
static const char *config_classic(void) { return config(1, UDB_LAYOUT_CLASSIC, "rollback", "FULL"); }
static const char *config_nosync(void) { return config(2, UDB_LAYOUT_WIDE, "rollback", "OFF"); }
static const char *config_arrival(void)
{
    config(5, UDB_LAYOUT_WIDE, "rollback", "FULL");
    strcat(cfg[5], ", placement off");
    return cfg[5];
}

/* W2: udb_store_get outside a transaction is its own read (shared lock,
   change check, read, unlock); every thread and process opens its own
   handle. */
static const bench_w2_ops w2_ops = {
    st_get, st_rollback, NULL,
    "begin, udb_store_put, udb_store_commit; get1 = udb_store_get outside a transaction; "
    "a udb_store handle per thread or process; lock_timeout_ms 5000 (default)",
};

/* W1's compact: udb_store_compact_order by index 1 (records and leaves in
   key order). */
static int st_compact(void *db)
{
    store_db *x = db;
    int rc = udb_store_compact_order(x->s, 1);
    return rc ? err(x, "compact", rc) : 0;
}

/* The store engines differ in name, configuration and options only. */
#define STORE_ENGINE(name, config, open)                                                  \
    {name, 1, BENCH_VAL, config, open, st_close, st_begin, st_commit, st_put, st_get, st_del, \
     st_upd, st_scan, &w2_ops, st_compact}

const bench_engine bench_udb_store = STORE_ENGINE("udb-store", config_wide, open_wide);
const bench_engine bench_udb_store_classic =
    STORE_ENGINE("udb-store-classic", config_classic, open_classic);
const bench_engine bench_udb_store_arrival =
    STORE_ENGINE("udb-store-arrival", config_arrival, open_arrival);
const bench_engine bench_udb_store_nosync =
    STORE_ENGINE("udb-store-nosync", config_nosync, open_nosync);

#ifdef UDB_JOURNAL_WAL
static int open_wal(const char *dir, int create, void **out)
{
    udb_options o = options(UDB_LAYOUT_WIDE, UDB_SYNC_FULL);
    o.journal = UDB_JOURNAL_WAL;
    return do_open(&o, dir, create, out);
}
static int open_wal_normal(const char *dir, int create, void **out)
{
    udb_options o = options(UDB_LAYOUT_WIDE, UDB_SYNC_NORMAL);
    o.journal = UDB_JOURNAL_WAL;
    return do_open(&o, dir, create, out);
}
static const char *config_wal(void) { return config(3, UDB_LAYOUT_WIDE, "WAL", "FULL"); }
static const char *config_wal_normal(void) { return config(4, UDB_LAYOUT_WIDE, "WAL", "NORMAL"); }

const bench_engine bench_udb_wal = STORE_ENGINE("udb-wal", config_wal, open_wal);
const bench_engine bench_udb_wal_normal =
    STORE_ENGINE("udb-wal-normal", config_wal_normal, open_wal_normal);
#endif
