/*
 * eng_lmdb.c — the LMDB engines ("lmdb": 100-byte values, "lmdb-8": 8-byte
 * values, the peer of udb-ndx): one file (MDB_NOSUBDIR) with a map of
 * 8 GiB, default (durable) flags, one write transaction per write phase
 * and one read transaction per read phase. Also the bulk run's load path:
 * MDB_APPEND puts in one write transaction.
 */
#include "bench.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lm_db {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
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
    mdb_env_close(x->env);
    free(x);
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

const bench_engine bench_lmdb = {
    "lmdb", 0, BENCH_VAL, config, lm_open, lm_close, lm_begin, lm_commit,
    lm_put, lm_get, lm_del, lm_upd, lm_scan,
};

const bench_engine bench_lmdb8 = {
    "lmdb-8", 0, 8, config, lm_open, lm_close, lm_begin, lm_commit,
    lm_put, lm_get, lm_del, lm_upd, lm_scan,
};
