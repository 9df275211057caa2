/*
 * kv.c — example: a minimal key-value façade over a udb record store.
 *
 * The store NAME (NAME.ndx + NAME.dat) has one UNIQUE STRING index: the key
 * (up to KV_MAX_KEY bytes of text); the record is the value (any bytes).
 *
 *   kv_open   open NAME, creating it when it does not exist
 *   kv_put    insert or replace (one transaction: update, else put)
 *   kv_get    the value of a key (a malloc'd copy)
 *   kv_del    remove a key
 *   kv_scan_prefix   every key that starts with a prefix, in key order
 *   kv_close
 *
 * Every function returns 0 or a negative UDB_* code (UDB_NOTFOUND when the
 * key is absent); kv_errmsg says why the last call failed. main() below
 * exercises the façade and exits non-zero if anything is not as expected:
 *
 *   build/examples/kv [DIR]        (DIR defaults to .)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "udb.h"

/* ---- the façade's API (in a real program: kv.h) --------------------------------- */
#define KV_MAX_KEY 63

typedef struct kv kv;
/* Called once per key in key order; return non-zero to stop the scan (that
   value is returned by kv_scan_prefix). It must not call kv_* on the same
   kv: the store is busy with the scan. */
typedef int (*kv_scan_fn)(void *arg, const char *key, const void *val, size_t len);

int kv_open(const char *name, kv **out);
int kv_put(kv *db, const char *key, const void *val, size_t len);
int kv_get(kv *db, const char *key, void **val, size_t *len);
int kv_del(kv *db, const char *key);
int kv_scan_prefix(kv *db, const char *prefix, kv_scan_fn fn, void *arg);
const char *kv_errmsg(const kv *db);
void kv_close(kv *db);

/* ---- the implementation ---------------------------------------------------------- */
struct kv {
    udb_store *s;
};

int kv_open(const char *name, kv **out)
{
    kv *db = calloc(1, sizeof *db);
    *out = db;
    if (!db)
        return UDB_NOMEM;
    int rc = udb_store_open(name, NULL, &db->s);
    if (rc == UDB_NOTFOUND) {
        /* no such files: create the store (a failed open still returns a
           handle, which must be closed) */
        udb_store_close(db->s);
        udb_index_def key = {UDB_KEY_STRING, KV_MAX_KEY + 1, UDB_UNIQUE, 0 /* default node */, 0, 0};
        udb_store_def def = {1, &key, 1 /* deflate values that shrink */, 0};
        rc = udb_store_create(name, NULL, &def, &db->s);
    }
    return rc;
}

/* Update the newest record with the key, or add one: both in one
   transaction, so no other handle can slip a record in between. */
int kv_put(kv *db, const char *key, const void *val, size_t len)
{
    int rc = udb_store_begin(db->s);
    if (rc)
        return rc;
    rc = udb_store_update(db->s, 1, key, strlen(key), val, len);
    if (rc == UDB_NOTFOUND) {
        udb_key k = {key, strlen(key)};
        rc = udb_store_put(db->s, &k, val, len);
    }
    if (rc) {
        udb_store_rollback(db->s); /* keeps the error message of the failure */
        return rc;
    }
    return udb_store_commit(db->s);
}

int kv_get(kv *db, const char *key, void **val, size_t *len)
{
    udb_val v = {0};
    int rc = udb_store_get(db->s, 1, key, strlen(key), &v);
    if (rc) {
        udb_val_free(&v);
        return rc;
    }
    *val = v.data; /* the buffer is the caller's: release it with free() */
    *len = v.len;
    return 0;
}

int kv_del(kv *db, const char *key)
{
    return udb_store_delete(db->s, 1, key, strlen(key), NULL);
}

typedef struct scan_ctx {
    kv_scan_fn fn;
    void *arg;
} scan_ctx;

static int scan_one(void *arg, const udb_item *key, const void *val, size_t len)
{
    scan_ctx *c = arg;
    /* a STRING key is NUL-terminated inside its keysize bytes */
    return c->fn(c->arg, (const char *)key->key, val, len);
}

int kv_scan_prefix(kv *db, const char *prefix, kv_scan_fn fn, void *arg)
{
    scan_ctx c = {fn, arg};
    return udb_store_scan(db->s, 1, NULL, 0, NULL, 0, prefix, strlen(prefix), scan_one, &c);
}

const char *kv_errmsg(const kv *db)
{
    return db ? udb_store_errmsg(db->s) : "out of memory";
}

void kv_close(kv *db)
{
    if (db) {
        udb_store_close(db->s);
        free(db);
    }
}

/* ---- the demonstration -------------------------------------------------------------- */
static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "kv: MISMATCH: %s\n", what);
        failures++;
    }
}

/* Fail hard on an unexpected udb error. */
static void ok_or_die(kv *db, int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "kv: %s: %s: %s\n", what, udb_errname(rc), kv_errmsg(db));
        exit(2);
    }
}

/* get, compared with the expected text (NULL = must be absent) */
static void check_get(kv *db, const char *key, const char *want)
{
    void *val = NULL;
    size_t len = 0;
    int rc = kv_get(db, key, &val, &len);
    if (!want) {
        expect(rc == UDB_NOTFOUND, key);
        printf("get %-14s -> %s\n", key, udb_errname(rc));
        return;
    }
    ok_or_die(db, rc, "get");
    expect(len == strlen(want) && !memcmp(val, want, len), key);
    printf("get %-14s -> \"%.*s\"\n", key, (int)len, (const char *)val);
    free(val);
}

typedef struct listing {
    char text[512];
    int n;
} listing;

static int list_one(void *arg, const char *key, const void *val, size_t len)
{
    listing *l = arg;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s%s=%.*s", l->n ? " " : "", key, (int)len,
             (const char *)val);
    l->n++;
    return 0;
}

static void check_scan(kv *db, const char *prefix, const char *want)
{
    listing l = {"", 0};
    ok_or_die(db, kv_scan_prefix(db, prefix, list_one, &l), "scan");
    expect(!strcmp(l.text, want), prefix);
    printf("scan %-13s -> %s\n", prefix, l.text);
}

int main(int argc, char **argv)
{
    char name[4000], path[4100];
    const char *ext[] = {".ndx", ".dat", ".ndx-journal"};
    snprintf(name, sizeof name, "%s/kv", argc > 1 ? argv[1] : ".");
    for (int i = 0; i < 3; i++) { /* start afresh */
        snprintf(path, sizeof path, "%s%s", name, ext[i]);
        unlink(path);
    }
    kv *db;
    int rc = kv_open(name, &db);
    ok_or_die(db, rc, "open");
    ok_or_die(db, kv_put(db, "user:alice", "admin", 5), "put");
    ok_or_die(db, kv_put(db, "user:bob", "editor", 6), "put");
    ok_or_die(db, kv_put(db, "user:carol", "viewer", 6), "put");
    ok_or_die(db, kv_put(db, "group:staff", "alice,bob", 9), "put");
    ok_or_die(db, kv_put(db, "user:bob", "owner", 5), "put"); /* replaces */
    check_get(db, "user:bob", "owner");
    check_get(db, "user:dave", NULL);
    check_scan(db, "user:", "user:alice=admin user:bob=owner user:carol=viewer");
    ok_or_die(db, kv_del(db, "user:alice"), "del");
    expect(kv_del(db, "user:alice") == UDB_NOTFOUND, "second delete");
    rc = kv_put(db, "a key that is far too long for the index: more than 63 bytes of it", "x", 1);
    expect(rc == UDB_INVAL, "long key refused");
    printf("put of a 66-byte key -> %s (%s)\n", udb_errname(rc), kv_errmsg(db));
    kv_close(db);

    /* everything committed is there after a reopen */
    rc = kv_open(name, &db);
    ok_or_die(db, rc, "reopen");
    check_get(db, "user:alice", NULL);
    check_scan(db, "user:", "user:bob=owner user:carol=viewer");
    check_scan(db, "", "group:staff=alice,bob user:bob=owner user:carol=viewer");
    check_scan(db, "nobody:", "");
    kv_close(db);
    printf("%s\n", failures ? "kv: MISMATCH" : "kv: all results verified");
    return failures ? 1 : 0;
}
