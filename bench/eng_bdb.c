/*
 * eng_bdb.c — the Berkeley DB engines ("bdb": 100-byte values, "bdb-8":
 * 8-byte values, the peer of udb-ndx): DB_BTREE in a plain file, no
 * environment (so no transactions), a 256 MiB cache via set_cachesize,
 * DB->sync at the end of every write phase.
 */
#include "bench.h"

#include <db.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bdb_db {
    DB *db;
} bdb_db;

static int err(const char *what, int rc)
{
    fprintf(stderr, "bdb: %s: %s\n", what, db_strerror(rc));
    return -1;
}

static int bdb_open(const char *dir, int create, void **out)
{
    char path[4096];
    bdb_db *x = calloc(1, sizeof *x);
    snprintf(path, sizeof path, "%s/db.bdb", dir);
    int rc = db_create(&x->db, NULL, 0);
    if (rc)
        return err("db_create", rc);
    if ((rc = x->db->set_cachesize(x->db, 0, 256u << 20, 1)))
        return err("set_cachesize", rc);
    if ((rc = x->db->open(x->db, NULL, path, NULL, DB_BTREE, create ? DB_CREATE : 0, 0644)))
        return err(path, rc);
    *out = x;
    return 0;
}

static int bdb_close(void *db)
{
    bdb_db *x = db;
    int rc = x->db->close(x->db, 0);
    free(x);
    return rc ? err("close", rc) : 0;
}

static int bdb_begin(void *db, int write)
{
    (void)db;
    (void)write;
    return 0;
}

static int bdb_commit(void *db, int write)
{
    bdb_db *x = db;
    int rc = write ? x->db->sync(x->db, 0) : 0;
    return rc ? err("sync", rc) : 0;
}

static void dbt(DBT *d, const void *p, size_t len)
{
    memset(d, 0, sizeof *d);
    d->data = (void *)p;
    d->size = (u_int32_t)len;
}

static int bdb_put(void *db, const uint8_t *key, const void *val, size_t len)
{
    bdb_db *x = db;
    DBT k, v;
    dbt(&k, key, BENCH_KEY);
    dbt(&v, val, len);
    int rc = x->db->put(x->db, NULL, &k, &v, DB_NOOVERWRITE);
    return rc ? err("put", rc) : 0;
}

static int bdb_get(void *db, const uint8_t *key, const void **val, size_t *len)
{
    bdb_db *x = db;
    DBT k, v;
    dbt(&k, key, BENCH_KEY);
    dbt(&v, NULL, 0);
    int rc = x->db->get(x->db, NULL, &k, &v, 0);
    if (rc == DB_NOTFOUND)
        return BENCH_ABSENT;
    if (rc)
        return err("get", rc);
    *val = v.data;
    *len = v.size;
    return 0;
}

static int bdb_del(void *db, const uint8_t *key)
{
    bdb_db *x = db;
    DBT k;
    dbt(&k, key, BENCH_KEY);
    int rc = x->db->del(x->db, NULL, &k, 0);
    return rc == DB_NOTFOUND ? BENCH_ABSENT : rc ? err("del", rc) : 0;
}

static int bdb_upd(void *db, const uint8_t *key, const void *val, size_t len)
{
    bdb_db *x = db;
    DBT k, v;
    dbt(&k, key, BENCH_KEY);
    dbt(&v, val, len);
    int rc = x->db->put(x->db, NULL, &k, &v, 0);
    return rc ? err("put (update)", rc) : 0;
}

static int bdb_scan(void *db, bench_scan_fn fn, void *arg)
{
    bdb_db *x = db;
    DBC *c;
    DBT k, v;
    int rc = x->db->cursor(x->db, NULL, &c, 0);
    if (rc)
        return err("cursor", rc);
    dbt(&k, NULL, 0);
    dbt(&v, NULL, 0);
    while (!(rc = c->get(c, &k, &v, DB_NEXT)))
        if (fn(arg, k.data, k.size, v.data, v.size))
            break;
    int rc2 = c->close(c);
    if (rc && rc != DB_NOTFOUND)
        return err("cursor get", rc);
    return rc2 ? err("cursor close", rc2) : 0;
}

static char cfg[200];
static const char *config(void)
{
    const char *v = db_version(NULL, NULL, NULL);   /* "NAME x.y.z: (date)" */
    snprintf(cfg, sizeof cfg,
             "%.*s, DB_BTREE, plain file (no environment), set_cachesize 256 MiB, "
             "DB->sync after each write phase, default page size",
             (int)strcspn(v, ":"), v);
    return cfg;
}

const bench_engine bench_bdb = {
    "bdb", 0, BENCH_VAL, config, bdb_open, bdb_close, bdb_begin, bdb_commit,
    bdb_put, bdb_get, bdb_del, bdb_upd, bdb_scan, NULL, NULL,
};

const bench_engine bench_bdb8 = {
    "bdb-8", 0, 8, config, bdb_open, bdb_close, bdb_begin, bdb_commit,
    bdb_put, bdb_get, bdb_del, bdb_upd, bdb_scan, NULL, NULL,
};
