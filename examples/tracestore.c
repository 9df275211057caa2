/*
 * tracestore.c — example: a profiler's trace store on a udb record store.
 *
 * Each trace (id, function name, duration, memory, timestamp, message) is
 * one record of the store DIR/traces (traces.ndx + traces.dat) with three
 * indexes:
 *   1  id        LONG_INT, UNIQUE   the trace's number
 *   2  function  STRING             all traces of one function
 *   3  duration  LONG_INT           the slowest traces, walking backwards
 *
 * The program inserts 100,000 generated traces in one transaction, then
 * queries by id, by function name (a cursor, and a prefix scan), by
 * duration (the slowest N, and a range scan), and verifies every answer against the traces it generated: exit status 0
 * when everything matched, 1 on a mismatch, 2 on a udb error.
 *
 *   build/examples/tracestore [DIR]        (DIR defaults to .)
 *
 * Only the public API (udb.h) is used. Keys and values are encoded
 * explicitly little-endian, so the files are the same on every host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "udb.h"

#define NTRACES 100000
#define SLOWEST 10
#define FN_KEYSIZE 32          /* function names: up to 31 bytes + NUL */
#define MSG_MAX 64

enum { IX_ID = 1, IX_FN = 2, IX_DUR = 3 };

typedef struct trace {
    int32_t id;
    int32_t duration_us;
    int64_t memory;            /* bytes allocated */
    int64_t timestamp_ns;
    const char *fn;            /* one of FUNCS */
    char msg[MSG_MAX];
} trace;

static const char *const FUNCS[] = {
    "auth_check", "cache_get",  "cache_put",  "db_commit",  "db_query",   "gc_sweep",
    "http_get",   "http_parse", "http_post",  "io_read",    "io_write",   "json_decode",
    "json_encode", "log_write", "render_page", "sched_tick",
};
#define NFUNCS (sizeof FUNCS / sizeof FUNCS[0])

static int mismatches;

/* ---- small helpers ------------------------------------------------------------ */
static void put_le32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

static int32_t get_le32(const uint8_t *p)
{
    uint32_t u = 0;
    for (int i = 0; i < 4; i++)
        u |= (uint32_t)p[i] << (8 * i);
    return (int32_t)u;
}

static void put_le64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

static int64_t get_le64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    return (int64_t)u;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A udb call failed: say which and why, and stop. */
static void die(const char *what, int rc, udb_store *s)
{
    fprintf(stderr, "tracestore: %s: %s: %s\n", what, udb_errname(rc),
            s ? udb_store_errmsg(s) : "");
    exit(2);
}

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "tracestore: MISMATCH: %s\n", what);
        mismatches++;
    }
}

/* ---- the record: fixed fields, then the two strings with their NULs ----------- */
/*   0 id  4 duration  8 memory  16 timestamp  24 function\0  message\0            */
static size_t trace_encode(const trace *t, uint8_t *buf)
{
    size_t fl = strlen(t->fn) + 1, ml = strlen(t->msg) + 1;
    put_le32(buf, t->id);
    put_le32(buf + 4, t->duration_us);
    put_le64(buf + 8, t->memory);
    put_le64(buf + 16, t->timestamp_ns);
    memcpy(buf + 24, t->fn, fl);
    memcpy(buf + 24 + fl, t->msg, ml);
    return 24 + fl + ml;
}

/* Decode into t (t->fn points into buf). 0, or -1 when malformed. */
static int trace_decode(const void *val, size_t len, trace *t)
{
    const uint8_t *b = val;
    const char *fn = (const char *)b + 24, *end = (const char *)b + len;
    if (len < 26 || !memchr(fn, 0, (size_t)(end - fn)))
        return -1;
    const char *msg = fn + strlen(fn) + 1;
    if (msg >= end || !memchr(msg, 0, (size_t)(end - msg)) || strlen(msg) >= MSG_MAX)
        return -1;
    t->id = get_le32(b);
    t->duration_us = get_le32(b + 4);
    t->memory = get_le64(b + 8);
    t->timestamp_ns = get_le64(b + 16);
    t->fn = fn;
    strcpy(t->msg, msg);
    return 0;
}

static int trace_equal(const trace *a, const trace *b)
{
    return a->id == b->id && a->duration_us == b->duration_us && a->memory == b->memory &&
           a->timestamp_ns == b->timestamp_ns && !strcmp(a->fn, b->fn) && !strcmp(a->msg, b->msg);
}

/* Deterministic traces: ids 1..n, a few very slow calls among many fast ones. */
static void generate(trace *t, size_t n)
{
    uint64_t x = 0x7ace5eedULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        t[i].id = (int32_t)(i + 1);
        t[i].fn = FUNCS[x % NFUNCS];
        t[i].duration_us = (x >> 20) % 100 == 0 ? (int32_t)((x >> 24) % 5000000)
                                                : (int32_t)((x >> 24) % 2000);
        t[i].memory = (int64_t)((x >> 32) % (1u << 20));
        t[i].timestamp_ns = 1700000000000000000LL + (int64_t)i * 250000;
        snprintf(t[i].msg, MSG_MAX, "%s call %zu", t[i].fn, i + 1);
    }
}

/* ---- creating and filling the store -------------------------------------------- */
static udb_store *create_store(const char *name)
{
    /* keytype, keysize, attrs, maxitems, nodes and leaves added per growth batch */
    const udb_index_def ix[] = {
        {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 64, 64, 2048},
        {UDB_KEY_STRING, FN_KEYSIZE, 0, 32, 64, 2048},
        {UDB_KEY_LONG_INT, 4, 0, 64, 64, 2048},
    };
    udb_store_def def = {3, ix, 0, 0};
    char path[4096];
    udb_store *s;
    /* start afresh: udb_store_create refuses existing files */
    const char *ext[] = {".ndx", ".dat", ".ndx-journal"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", name, ext[i]);
        unlink(path);
    }
    int rc = udb_store_create(name, NULL, &def, &s);
    if (rc) {
        fprintf(stderr, "tracestore: create %s: %s\n", name, udb_store_errmsg(s));
        udb_store_close(s); /* a failed create still returns a handle to close */
        exit(2);
    }
    return s;
}

/* Every trace in one explicit transaction: one journal, one sync. */
static void insert_all(udb_store *s, const trace *t, size_t n)
{
    uint8_t val[24 + FN_KEYSIZE + MSG_MAX], idk[4], durk[4];
    int rc = udb_store_begin(s);
    if (rc)
        die("begin", rc, s);
    for (size_t i = 0; i < n; i++) {
        put_le32(idk, t[i].id);
        put_le32(durk, t[i].duration_us);
        udb_key keys[3] = {{idk, 4}, {t[i].fn, strlen(t[i].fn)}, {durk, 4}};
        size_t len = trace_encode(&t[i], val);
        if ((rc = udb_store_put(s, keys, val, len))) {
            /* after an I/O failure only a rollback is allowed; do it always */
            udb_store_rollback(s);
            die("put", rc, s);
        }
    }
    if ((rc = udb_store_commit(s)))
        die("commit", rc, s);
}

/* ---- queries ------------------------------------------------------------------------ */
static void query_by_id(udb_store *s, const trace *t)
{
    const int32_t ids[] = {1, 4242, 50000, 99999, NTRACES};
    udb_val v = {0};
    uint8_t k[4];
    printf("\nby id:\n");
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        trace got;
        put_le32(k, ids[i]);
        int rc = udb_store_get(s, IX_ID, k, 4, &v);
        if (rc)
            die("get by id", rc, s);
        expect(trace_decode(v.data, v.len, &got) == 0 && trace_equal(&got, &t[ids[i] - 1]),
               "trace by id");
        printf("  #%-6d %-12s %8d us %8lld B  \"%s\"\n", (int)got.id, got.fn, (int)got.duration_us,
               (long long)got.memory, got.msg);
    }
    put_le32(k, NTRACES + 1);
    int rc = udb_store_get(s, IX_ID, k, 4, &v);
    expect(rc == UDB_NOTFOUND, "an absent id is UDB_NOTFOUND");
    printf("  #%-6d %s\n", NTRACES + 1, udb_errname(rc));
    udb_val_free(&v);
}

/* All traces of fn: seek to the first key >= fn, step while the key is fn. */
static void query_by_function(udb_store *s, const trace *t, const char *fn)
{
    udb_store_cursor *c;
    udb_item key;
    udb_val v = {0};
    size_t found = 0, want = 0;
    int64_t mem = 0;
    int rc = udb_store_cursor_open(s, IX_FN, &c);
    if (rc)
        die("cursor open", rc, s);
    for (rc = udb_store_cursor_seek(c, fn, strlen(fn), &key, &v);
         rc == 0 && strcmp((const char *)key.key, fn) == 0;
         rc = udb_store_cursor_next(c, &key, &v)) {
        trace got;
        expect(trace_decode(v.data, v.len, &got) == 0 && got.id >= 1 && got.id <= NTRACES &&
                   trace_equal(&got, &t[got.id - 1]) && !strcmp(got.fn, fn),
               "trace by function");
        mem += got.memory;
        found++;
    }
    if (rc && rc != UDB_NOTFOUND)
        die("cursor walk", rc, s);
    udb_store_cursor_close(c);
    udb_val_free(&v);
    for (size_t i = 0; i < NTRACES; i++)
        want += !strcmp(t[i].fn, fn);
    expect(found == want, "number of traces of one function");
    printf("\nby function: %zu traces of %s (expected %zu), %lld bytes allocated in all\n", found,
           fn, want, (long long)mem);
}

typedef struct counter {
    size_t n;
} counter;

static int count_one(void *arg, const udb_item *key, const void *val, size_t len)
{
    (void)key, (void)val, (void)len;
    ((counter *)arg)->n++;
    return 0; /* 0 = go on; must not call udb on the same store from here */
}

/* Prefix scan over the function index: every "http_*" trace. */
static void scan_prefix(udb_store *s, const trace *t, const char *prefix)
{
    counter cnt = {0};
    size_t want = 0;
    int rc = udb_store_scan(s, IX_FN, NULL, 0, NULL, 0, prefix, strlen(prefix), count_one, &cnt);
    if (rc)
        die("scan", rc, s);
    for (size_t i = 0; i < NTRACES; i++)
        want += !strncmp(t[i].fn, prefix, strlen(prefix));
    expect(cnt.n == want, "prefix scan count");
    printf("prefix scan: %zu traces of %s* (expected %zu)\n", cnt.n, prefix, want);
}

static int cmp_desc(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x < y) - (x > y);
}

/* The slowest n: from the last key of the duration index, backwards. */
static void slowest(udb_store *s, const trace *t, int n)
{
    int32_t *d = malloc(NTRACES * sizeof *d);
    if (!d)
        die("out of memory", UDB_NOMEM, NULL);
    for (size_t i = 0; i < NTRACES; i++)
        d[i] = t[i].duration_us;
    qsort(d, NTRACES, sizeof *d, cmp_desc);
    udb_store_cursor *c;
    udb_item key;
    udb_val v = {0};
    int rc = udb_store_cursor_open(s, IX_DUR, &c);
    if (rc)
        die("cursor open", rc, s);
    printf("\nslowest %d:\n", n);
    rc = udb_store_cursor_last(c, &key, &v);
    for (int i = 0; i < n && rc == 0; i++) {
        trace got;
        int ok = trace_decode(v.data, v.len, &got) == 0 && got.id >= 1 && got.id <= NTRACES;
        expect(ok && trace_equal(&got, &t[got.id - 1]) && got.duration_us == get_le32(key.key) &&
                   got.duration_us == d[i],
               "slowest traces");
        printf("  %2d. %8d us  #%-6d %s\n", i + 1, (int)got.duration_us, (int)got.id, got.fn);
        if (i + 1 < n)
            rc = udb_store_cursor_prev(c, &key, &v); /* UDB_NOTFOUND before the first */
    }
    if (rc && rc != UDB_NOTFOUND)
        die("cursor walk", rc, s);
    udb_store_cursor_close(c);
    udb_val_free(&v);
    free(d);
}

/* Range scan over the duration index: every call of at least one second. */
static void scan_range(udb_store *s, const trace *t, int32_t from_us)
{
    counter cnt = {0};
    size_t want = 0;
    uint8_t from[4];
    put_le32(from, from_us);
    int rc = udb_store_scan(s, IX_DUR, from, 4, NULL, 0, NULL, 0, count_one, &cnt);
    if (rc)
        die("scan", rc, s);
    for (size_t i = 0; i < NTRACES; i++)
        want += t[i].duration_us >= from_us;
    expect(cnt.n == want, "range scan count");
    printf("range scan: %zu traces of >= %d us (expected %zu)\n", cnt.n, (int)from_us, want);
}

int main(int argc, char **argv)
{
    char name[4000];
    snprintf(name, sizeof name, "%s/traces", argc > 1 ? argv[1] : ".");
    trace *t = malloc(NTRACES * sizeof *t);
    if (!t)
        return 2;
    generate(t, NTRACES);

    udb_store *s = create_store(name);
    double t0 = now();
    insert_all(s, t, NTRACES);
    fprintf(stderr, "tracestore: %d traces inserted in %.2f s\n", NTRACES, now() - t0);
    printf("inserted %d traces into %s (one transaction)\n", NTRACES, name);
    /* reopen read-only: what follows sees only what was committed */
    int rc = udb_store_close(s);
    udb_options o;
    udb_options_init(&o);
    o.flags = UDB_RDONLY;
    if (rc || (rc = udb_store_open(name, &o, &s)))
        die("reopen", rc, s);

    query_by_id(s, t);
    query_by_function(s, t, "db_query");
    scan_prefix(s, t, "http_");
    slowest(s, t, SLOWEST);
    scan_range(s, t, 1000000);
    udb_store_close(s);
    free(t);
    printf("\n%s\n", mismatches ? "tracestore: MISMATCH" : "tracestore: all results verified");
    return mismatches ? 1 : 0;
}
