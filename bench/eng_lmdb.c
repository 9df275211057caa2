/*
 * eng_lmdb.c — the LMDB engines ("lmdb": 100-byte values, "lmdb-8": 8-byte
 * values, the peer of udb-ndx): one file (MDB_NOSUBDIR) with a map of
 * 8 GiB, default (durable) flags, one write transaction per write phase
 * and one read transaction per read phase. Also the bulk run's load path:
 * MDB_APPEND puts in one write transaction, and W2's: a write transaction
 * per commit, a read-only transaction per single lookup (kept and
 * renewed: mdb_txn_renew, mdb_get, copy, mdb_txn_reset), and, as LMDB
 * wants, one environment per process that the threads' handles share.
 */
#include "bench.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lm_db {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_txn *rtxn;            /* W2 get1: the reset read-only transaction */
    int shared;               /* env belongs to another handle (lm_share) */
    uint8_t val[BENCH_VAL];   /* get1's copy of the value */
} lm_db;

static int err(const char *what, int rc)
{
    fprintf(stderr, "lmdb: %s: %s\n", what, mdb_strerror(rc));
    return -1;
}

static int lm_open(const char *dir, int create, void **out)
{
    (void)create;   /* the file is created by the first open */
    char path[4096];
    lm_db *x = calloc(1, sizeof *x);
    snprintf(path, sizeof path, "%s/db.mdb", dir);
    int rc = mdb_env_create(&x->env);
    if (rc)
        return err("env_create", rc);
    if ((rc = mdb_env_set_mapsize(x->env, (size_t)8 << 30)))
        return err("set_mapsize", rc);
    if ((rc = mdb_env_open(x->env, path, MDB_NOSUBDIR, 0644)))
        return err(path, rc);
    *out = x;
    return 0;
}

static int lm_close(void *db)
{
    lm_db *x = db;
    if (x->txn) /* a write transaction a failure left open */
        mdb_txn_abort(x->txn);
    if (x->rtxn)
        mdb_txn_abort(x->rtxn);
    if (!x->shared)
        mdb_env_close(x->env);
    free(x);
    return 0;
}

/* Another thread's handle on the same environment (closed before db). */
static int lm_share(void *db, void **out)
{
    lm_db *x = calloc(1, sizeof *x);
    if (!x)
        return err("share", ENOMEM);
    x->env = ((lm_db *)db)->env;
    x->shared = 1;
    *out = x;
    return 0;
}

static int lm_begin(void *db, int write)
{
    lm_db *x = db;
    int rc = mdb_txn_begin(x->env, NULL, write ? 0 : MDB_RDONLY, &x->txn);
    if (rc)
        return err("txn_begin", rc);
    if ((rc = mdb_dbi_open(x->txn, NULL, 0, &x->dbi)))
        return err("dbi_open", rc);
    return 0;
}

static int lm_commit(void *db, int write)
{
    (void)write;
    lm_db *x = db;
    int rc = mdb_txn_commit(x->txn);
    x->txn = NULL;
    return rc ? err("txn_commit", rc) : 0;
}

static int lm_rollback(void *db)
{
    lm_db *x = db;
    mdb_txn_abort(x->txn);
    x->txn = NULL;
    return 0;
}

static int lm_write(void *db, const uint8_t *key, const void *val, size_t len, unsigned flags)
{
    lm_db *x = db;
    MDB_val k = {BENCH_KEY, (void *)key}, v = {len, (void *)val};
    int rc = mdb_put(x->txn, x->dbi, &k, &v, flags);
    return rc ? err("put", rc) : 0;
}

static int lm_put(void *db, const uint8_t *key, const void *val, size_t len)
{
    return lm_write(db, key, val, len, MDB_NOOVERWRITE);
}

static int lm_upd(void *db, const uint8_t *key, const void *val, size_t len)
{
    return lm_write(db, key, val, len, 0);
}

/* The bulk run (bulk.c): records in key order appended to the tree. */
int bench_lmdb_load(void *db, bench_next_fn next, void *arg, uint64_t *loaded)
{
    const uint8_t *key;
    const void *val;
    size_t len;
    int r;
    *loaded = 0;
    if (lm_begin(db, 1))
        return -1;
    while ((r = next(arg, &key, &val, &len)) == 0) {
        if (lm_write(db, key, val, len, MDB_APPEND))
            return -1;
        ++*loaded;
    }
    return lm_commit(db, 1);
}

static int lm_get(void *db, const uint8_t *key, const void **val, size_t *len)
{
    lm_db *x = db;
    MDB_val k = {BENCH_KEY, (void *)key}, v;
    int rc = mdb_get(x->txn, x->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return BENCH_ABSENT;
    if (rc)
        return err("get", rc);
    *val = v.mv_data;
    *len = v.mv_size;
    return 0;
}

/* W2: one read-only transaction per lookup, begun once, then renewed and
   reset around every get; the value is copied before the reset (at most
   BENCH_VAL bytes, *len its real size). */
static int lm_get1(void *db, const uint8_t *key, const void **val, size_t *len)
{
    lm_db *x = db;
    MDB_val k = {BENCH_KEY, (void *)key}, v;
    int rc = x->rtxn ? mdb_txn_renew(x->rtxn) : mdb_txn_begin(x->env, NULL, MDB_RDONLY, &x->rtxn);
    if (!rc && !x->dbi)
        rc = mdb_dbi_open(x->rtxn, NULL, 0, &x->dbi);
    if (rc)
        return err("read txn", rc);
    rc = mdb_get(x->rtxn, x->dbi, &k, &v);
    if (!rc)
        memcpy(x->val, v.mv_data, v.mv_size < BENCH_VAL ? v.mv_size : BENCH_VAL);
    mdb_txn_reset(x->rtxn);
    if (rc == MDB_NOTFOUND)
        return BENCH_ABSENT;
    if (rc)
        return err("get", rc);
    *val = x->val;
    *len = v.mv_size;
    return 0;
}

static int lm_del(void *db, const uint8_t *key)
{
    lm_db *x = db;
    MDB_val k = {BENCH_KEY, (void *)key};
    int rc = mdb_del(x->txn, x->dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? BENCH_ABSENT : rc ? err("del", rc) : 0;
}

static int lm_scan(void *db, bench_scan_fn fn, void *arg)
{
    lm_db *x = db;
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(x->txn, x->dbi, &c);
    if (rc)
        return err("cursor_open", rc);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size))
            break;
    mdb_cursor_close(c);
    return rc && rc != MDB_NOTFOUND ? err("cursor_get", rc) : 0;
}

static char cfg[200];
static const char *config(void)
{
    const char *v = mdb_version(NULL, NULL, NULL);   /* "NAME x.y.z: (date)" */
    snprintf(cfg, sizeof cfg,
             "%.*s, one file (MDB_NOSUBDIR), map size 8 GiB, durable commits (no NOSYNC flags), "
             "one txn per phase", (int)strcspn(v, ":"), v);
    return cfg;
}

static const bench_w2_ops w2_ops = {
    lm_get1, lm_rollback, lm_share,
    "a write txn per commit (mdb_put MDB_NOOVERWRITE, mdb_txn_commit); get1 = mdb_txn_renew, "
    "mdb_get, mdb_txn_reset of a read-only txn kept by the handle; threads share the process's "
    "one environment (each its own txns), processes open their own",
};

const bench_engine bench_lmdb = {
    "lmdb", 0, BENCH_VAL, config, lm_open, lm_close, lm_begin, lm_commit,
    lm_put, lm_get, lm_del, lm_upd, lm_scan, &w2_ops, NULL,
};

const bench_engine bench_lmdb8 = {
    "lmdb-8", 0, 8, config, lm_open, lm_close, lm_begin, lm_commit,
    lm_put, lm_get, lm_del, lm_upd, lm_scan, NULL, NULL,
};
