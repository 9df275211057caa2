/*
 * eng_sqlite.c — the SQLite engines ("sqlite": default rollback journal,
 * "sqlite-wal": journal_mode=WAL; "sqlite-nosync": rollback journal with
 * synchronous=OFF, for the durability run only; "sqlite-wal-normal": WAL
 * with synchronous=NORMAL, for W2), as workload.md configures them: a
 * WITHOUT ROWID table kv(k BLOB PRIMARY KEY, v BLOB), prepared statements,
 * BEGIN/COMMIT around every phase (reads too; writes BEGIN IMMEDIATE),
 * synchronous=FULL (OFF, NORMAL), cache_size=-262144, busy_timeout 5000 ms
 * (udb's default lock_timeout_ms). W2's single lookups are autocommit
 * SELECTs, one connection per thread or process.
 */
#include "bench.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_INS, S_GET, S_DEL, S_UPD, S_SCAN, S_BEGIN, S_BEGIN_W, S_COMMIT, S_ROLLBACK, S_COUNT };

static const char *const sql[S_COUNT] = {
    "INSERT INTO kv(k, v) VALUES(?1, ?2)", "SELECT v FROM kv WHERE k = ?1",
    "DELETE FROM kv WHERE k = ?1",         "UPDATE kv SET v = ?2 WHERE k = ?1",
    "SELECT k, v FROM kv ORDER BY k",      "BEGIN",
    "BEGIN IMMEDIATE",                     "COMMIT",
    "ROLLBACK",
};

#define BUSY_MS 5000   /* as udb's lock_timeout_ms */

typedef struct sq_db {
    sqlite3 *h;
    sqlite3_stmt *st[S_COUNT];
    uint8_t val[BENCH_VAL];   /* get1's copy of the value */
} sq_db;

static int err(sq_db *x, const char *what)
{
    fprintf(stderr, "sqlite: %s: %s\n", what, x->h ? sqlite3_errmsg(x->h) : "no handle");
    return -1;
}

static int exec(sq_db *x, const char *s)
{
    return sqlite3_exec(x->h, s, NULL, NULL, NULL) != SQLITE_OK ? err(x, s) : 0;
}

enum { SQ_WAL = 1, SQ_NOSYNC = 2, SQ_NORMAL = 4 };

static const char *sync_name(int mode)
{
    return mode & SQ_NOSYNC ? "OFF" : mode & SQ_NORMAL ? "NORMAL" : "FULL";
}

static int do_open(int mode, const char *dir, int create, void **out)
{
    char path[4096], sync[64];
    sq_db *x = calloc(1, sizeof *x);
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    snprintf(sync, sizeof sync, "PRAGMA synchronous=%s", sync_name(mode));
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &x->h, flags, NULL) != SQLITE_OK)
        return err(x, path);
    if (sqlite3_busy_timeout(x->h, BUSY_MS) != SQLITE_OK || exec(x, sync) ||
        exec(x, "PRAGMA cache_size=-262144"))
        return -1;
    if ((mode & SQ_WAL) && exec(x, "PRAGMA journal_mode=WAL"))
        return -1;
    if (create && exec(x, "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID"))
        return -1;
    for (int k = 0; k < S_COUNT; k++)
        if (sqlite3_prepare_v2(x->h, sql[k], -1, &x->st[k], NULL) != SQLITE_OK)
            return err(x, sql[k]);
    *out = x;
    return 0;
}

static int open_rollback(const char *dir, int create, void **out)
{
    return do_open(0, dir, create, out);
}
static int open_wal(const char *dir, int create, void **out)
{
    return do_open(SQ_WAL, dir, create, out);
}
static int open_nosync(const char *dir, int create, void **out)
{
    return do_open(SQ_NOSYNC, dir, create, out);
}
static int open_wal_normal(const char *dir, int create, void **out)
{
    return do_open(SQ_WAL | SQ_NORMAL, dir, create, out);
}

static int sq_close(void *db)
{
    sq_db *x = db;
    for (int k = 0; k < S_COUNT; k++)
        sqlite3_finalize(x->st[k]);
    int rc = sqlite3_close(x->h);
    free(x);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sqlite: close: %s\n", sqlite3_errstr(rc));
    return rc == SQLITE_OK ? 0 : -1;
}

/* Run a statement with no result rows; *changes (may be NULL) = rows hit.
   SQLITE_BUSY (the busy timeout ran out) is W2's to count. */
static int step_done(sq_db *x, int k, int *changes)
{
    sqlite3_stmt *s = x->st[k];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_BUSY)
        return BENCH_LOCKED;
    if (rc != SQLITE_DONE)
        return err(x, sql[k]);
    if (changes)
        *changes = sqlite3_changes(x->h);
    return 0;
}

static int sq_begin(void *db, int write)
{
    return step_done(db, write ? S_BEGIN_W : S_BEGIN, NULL);
}

/* SQLite's reorganisation: VACUUM rebuilds the database file. */
static int sq_compact(void *db) { return exec(db, "VACUUM"); }

static int sq_commit(void *db, int write)
{
    (void)write;
    return step_done(db, S_COMMIT, NULL);
}

static int bind_kv(sq_db *x, int k, const uint8_t *key, const void *val, size_t len)
{
    sqlite3_stmt *s = x->st[k];
    if (sqlite3_bind_blob(s, 1, key, BENCH_KEY, SQLITE_STATIC) != SQLITE_OK ||
        (val && sqlite3_bind_blob(s, 2, val, (int)len, SQLITE_STATIC) != SQLITE_OK))
        return err(x, "bind");
    return 0;
}

static int sq_rollback(void *db)
{
    return step_done(db, S_ROLLBACK, NULL);
}

static int sq_put(void *db, const uint8_t *key, const void *val, size_t len)
{
    return bind_kv(db, S_INS, key, val, len) ? -1 : step_done(db, S_INS, NULL);
}

static int sq_get(void *db, const uint8_t *key, const void **val, size_t *len)
{
    sq_db *x = db;
    sqlite3_stmt *s = x->st[S_GET];
    sqlite3_reset(s);   /* the previous value stayed valid until now */
    if (bind_kv(x, S_GET, key, NULL, 0))
        return -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return BENCH_ABSENT;
    if (rc == SQLITE_BUSY)
        return BENCH_LOCKED;
    if (rc != SQLITE_ROW)
        return err(x, sql[S_GET]);
    *val = sqlite3_column_blob(s, 0);
    *len = (size_t)sqlite3_column_bytes(s, 0);
    return 0;
}

/* W2: an autocommit SELECT, reset before returning so that its read
   transaction ends; the value is copied first (at most BENCH_VAL bytes,
   *len is its real size). */
static int sq_get1(void *db, const uint8_t *key, const void **val, size_t *len)
{
    sq_db *x = db;
    const void *v;
    int rc = sq_get(db, key, &v, len);
    if (rc == 0)
        memcpy(x->val, v, *len < BENCH_VAL ? *len : BENCH_VAL);
    sqlite3_reset(x->st[S_GET]);
    *val = x->val;
    return rc;
}

static int sq_del(void *db, const uint8_t *key)
{
    int n;
    if (bind_kv(db, S_DEL, key, NULL, 0) || step_done(db, S_DEL, &n))
        return -1;
    return n == 1 ? 0 : BENCH_ABSENT;
}

static int sq_upd(void *db, const uint8_t *key, const void *val, size_t len)
{
    int n;
    if (bind_kv(db, S_UPD, key, val, len) || step_done(db, S_UPD, &n))
        return -1;
    return n == 1 ? 0 : err(db, "update: key absent");
}

static int sq_scan(void *db, bench_scan_fn fn, void *arg)
{
    sq_db *x = db;
    sqlite3_stmt *s = x->st[S_SCAN];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (fn(arg, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0),
               sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1)))
            break;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : err(x, sql[S_SCAN]);
}

static char cfg[8][240];
static const char *config(int mode)
{
    snprintf(cfg[mode], sizeof cfg[mode],
             "SQLite %s, WITHOUT ROWID kv(k BLOB PRIMARY KEY, v BLOB), %s journal, "
             "synchronous=%s, cache_size=-262144, page 4096 (default), busy_timeout %d ms",
             sqlite3_libversion(), mode & SQ_WAL ? "WAL" : "rollback (DELETE)", sync_name(mode),
             BUSY_MS);
    return cfg[mode];
}
static const char *config_rollback(void) { return config(0); }
static const char *config_wal(void) { return config(SQ_WAL); }
static const char *config_nosync(void) { return config(SQ_NOSYNC); }
static const char *config_wal_normal(void) { return config(SQ_WAL | SQ_NORMAL); }

static const bench_w2_ops w2_ops = {
    sq_get1, sq_rollback, NULL,
    "BEGIN IMMEDIATE, INSERT, COMMIT; get1 = an autocommit SELECT (reset after the value is "
    "copied); a connection per thread or process",
};

const bench_engine bench_sqlite = {
    "sqlite", 0, BENCH_VAL, config_rollback, open_rollback, sq_close, sq_begin, sq_commit,
    sq_put, sq_get, sq_del, sq_upd, sq_scan, &w2_ops, sq_compact,
};

const bench_engine bench_sqlite_wal = {
    "sqlite-wal", 0, BENCH_VAL, config_wal, open_wal, sq_close, sq_begin, sq_commit,
    sq_put, sq_get, sq_del, sq_upd, sq_scan, &w2_ops, sq_compact,
};

const bench_engine bench_sqlite_nosync = {
    "sqlite-nosync", 0, BENCH_VAL, config_nosync, open_nosync, sq_close, sq_begin, sq_commit,
    sq_put, sq_get, sq_del, sq_upd, sq_scan, &w2_ops, sq_compact,
};

const bench_engine bench_sqlite_wal_normal = {
    "sqlite-wal-normal", 0, BENCH_VAL, config_wal_normal, open_wal_normal, sq_close, sq_begin,
    sq_commit, sq_put, sq_get, sq_del, sq_upd, sq_scan, &w2_ops, sq_compact,
};
