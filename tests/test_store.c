/*
 * test_store.c — model-based randomized tests of the record store: three
 * indexes (UNIQUE LONG_INT id, STRING name with duplicates, BLOCK tag with
 * duplicates), values of 0..64 KiB, put / get through every index / update
 * growing and shrinking / delete through every index / range and prefix
 * scans / cursor walks and deletes, compared with a model; the store check
 * (every heap byte accounted for) after every batch; close, reopen, full
 * comparison; compaction; compressed and plain records together. The
 * check and the read and write paths agree on damaged stores: a lying
 * uncompressed length (also 0xffffffff: reported as corruption, nothing
 * allocated for it), a damaged index-1 key in a frame, a hole of 2^63-1
 * bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "endian.h"
#include "layout.h"
#include "faultos.h"
#include "testutil.h"

static const char *dir;
static uint64_t seed = 0x5707e;
static long nops = 100000;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

typedef struct srec {
    int32_t id;
    char name[12];
    uint8_t tag[4];
    uint32_t len, version;
    uint64_t seq;               /* order of insertion (newest first in runs) */
} srec;

typedef struct smodel {
    srec *r;
    size_t n, cap;
    uint64_t seq;
} smodel;

static void value_of(const srec *r, uint8_t *out)
{
    uint64_t x = (uint64_t)r->id * 0x9e3779b97f4a7c15ULL ^ r->version;
    for (uint32_t i = 0; i < r->len; i++) {
        if (i % 8 == 0)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        /* compressible stretches now and then */
        out[i] = (r->version & 1) && (i / 64) % 2 ? (uint8_t)'z' : (uint8_t)(x >> (8 * (i % 8)));
    }
}

static long find_id(const smodel *m, int32_t id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->r[i].id == id)
            return (long)i;
    return -1;
}

/* Order of index ix: id; name then newest first; tag then newest first. */
static int order(int ix, const srec *a, const srec *b)
{
    int c;
    if (ix == 1)
        return (a->id > b->id) - (a->id < b->id);
    c = ix == 2 ? strcmp(a->name, b->name) : memcmp(a->tag, b->tag, 4);
    return c ? c : (a->seq < b->seq) - (a->seq > b->seq);
}

static int sort_ix;
static int cmp_sorted(const void *a, const void *b)
{
    return order(sort_ix, *(const srec *const *)a, *(const srec *const *)b);
}

static srec **sorted(const smodel *m, int ix)
{
    srec **v = malloc((m->n + 1) * sizeof *v);
    for (size_t i = 0; i < m->n; i++)
        v[i] = &m->r[i];
    sort_ix = ix;
    qsort(v, m->n, sizeof *v, cmp_sorted);
    return v;
}

/* The newest record whose key in ix matches r's. */
static long newest(const smodel *m, int ix, const srec *like)
{
    long best = -1;
    for (size_t i = 0; i < m->n; i++) {
        const srec *x = &m->r[i];
        int same = ix == 1 ? x->id == like->id : ix == 2 ? !strcmp(x->name, like->name)
                                                         : !memcmp(x->tag, like->tag, 4);
        if (same && (best < 0 || x->seq > m->r[best].seq))
            best = (long)i;
    }
    return best;
}

static void key_of(int ix, const srec *r, udb_key *k)
{
    if (ix == 1)
        *k = (udb_key){&r->id, 4};
    else if (ix == 2)
        *k = (udb_key){r->name, strlen(r->name)};
    else
        *k = (udb_key){r->tag, 4};
}

static void random_rec(srec *r)
{
    static const char *names[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta",
                                  "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi"};
    memset(r, 0, sizeof *r);
    r->id = (int32_t)(rnd() % 3000) - 500;
    snprintf(r->name, sizeof r->name, "%s%u", names[rnd() % 16], (unsigned)(rnd() % 40));
    uint32_t t = (uint32_t)(rnd() % 50);
    memcpy(r->tag, &t, 4);
    uint64_t s = rnd() % 100;
    r->len = (uint32_t)(s < 88 ? rnd() % 600 : s < 99 ? rnd() % 8192 : rnd() % 65537);
    r->version = (uint32_t)rnd();
}

/* ---- comparing ------------------------------------------------------------------ */
static uint8_t *vbuf;

static void compare_index(udb_store *s, const smodel *m, int ix)
{
    srec **v = sorted(m, ix);
    udb_store_cursor *c;
    udb_item it;
    udb_val val = {0};
    assert_int_equal(udb_store_cursor_open(s, (unsigned)ix, &c), 0);
    size_t i = 0;
    int rc;
    for (rc = udb_store_cursor_first(c, &it, &val); rc == 0; rc = udb_store_cursor_next(c, &it, &val), i++) {
        assert_true(i < m->n);
        value_of(v[i], vbuf);
        if (val.len != v[i]->len || memcmp(val.data, vbuf, val.len))
            fail_msg("index %d record %zu: value differs (len %zu vs %u, id %d)", ix, i, val.len,
                     v[i]->len, v[i]->id);
        udb_key k;
        key_of(ix, v[i], &k);
        assert_memory_equal(it.key, k.data, k.len);
    }
    if (rc != UDB_NOTFOUND)
        fail_msg("walk index %d: %s", ix, udb_store_errmsg(s));
    assert_int_equal(i, m->n);
    udb_store_cursor_close(c);
    udb_val_free(&val);
    free(v);
}

static void report(void *arg, int sev, int64_t off, unsigned ix, const char *text)
{
    (void)arg;
    if (sev == UDB_PROBLEM)
        fprintf(stderr, "problem: index %u offset %lld: %s\n", ix, (long long)off, text);
}

static void full_check(udb_store *s, const smodel *m)
{
    for (int ix = 1; ix <= 3; ix++)
        compare_index(s, m, ix);
    udb_check_report rep;
    int rc = udb_store_check(s, report, NULL, &rep);
    if (rc)
        fail_msg("store check: %s", udb_store_errmsg(s));
    udb_check_report_free(&rep);
}

/* ---- operations ------------------------------------------------------------------------ */
static void put_rec(udb_store *s, smodel *m, srec r)
{
    udb_key k[3];
    for (int i = 0; i < 3; i++)
        key_of(i + 1, &r, &k[i]);
    value_of(&r, vbuf);
    int rc = udb_store_put(s, k, vbuf, r.len);
    if (find_id(m, r.id) >= 0) {
        assert_int_equal(rc, UDB_EXISTS);
        return;
    }
    if (rc)
        fail_msg("put: %s", udb_store_errmsg(s));
    if (m->n == m->cap)
        m->r = realloc(m->r, (m->cap = m->cap ? 2 * m->cap : 256) * sizeof *m->r);
    r.seq = ++m->seq;
    m->r[m->n++] = r;
}

static void op_put(udb_store *s, smodel *m)
{
    srec r;
    random_rec(&r);
    put_rec(s, m, r);
}

static void op_get(udb_store *s, smodel *m, udb_val *val)
{
    int ix = 1 + (int)(rnd() % 3);
    srec probe;
    random_rec(&probe);
    if (m->n && rnd() % 4)
        probe = m->r[rnd() % m->n];
    udb_key k;
    key_of(ix, &probe, &k);
    long want = newest(m, ix, &probe);
    int rc = udb_store_get(s, (unsigned)ix, k.data, k.len, val);
    if (want < 0) {
        assert_int_equal(rc, UDB_NOTFOUND);
        return;
    }
    if (rc)
        fail_msg("get: %s", udb_store_errmsg(s));
    value_of(&m->r[want], vbuf);
    assert_int_equal(val->len, m->r[want].len);
    assert_memory_equal(val->data, vbuf, val->len);
}

static void op_update(udb_store *s, smodel *m)
{
    if (!m->n)
        return;
    int ix = 1 + (int)(rnd() % 3);
    long w = newest(m, ix, &m->r[rnd() % m->n]);
    srec *r = &m->r[w], fresh;
    random_rec(&fresh);
    r->len = fresh.len;
    r->version = fresh.version;
    value_of(r, vbuf);
    udb_key k;
    key_of(ix, r, &k);
    if (udb_store_update(s, (unsigned)ix, k.data, k.len, vbuf, r->len))
        fail_msg("update: %s", udb_store_errmsg(s));
}

static void op_delete(udb_store *s, smodel *m)
{
    int ix = 1 + (int)(rnd() % 3);
    srec probe;
    random_rec(&probe);
    if (m->n && rnd() % 3)
        probe = m->r[rnd() % m->n];
    udb_key k;
    key_of(ix, &probe, &k);
    uint64_t removed = 0, want = 0;
    for (size_t i = 0; i < m->n;) {
        srec *x = &m->r[i];
        int same = ix == 1 ? x->id == probe.id : ix == 2 ? !strcmp(x->name, probe.name)
                                                         : !memcmp(x->tag, probe.tag, 4);
        if (same) {
            m->r[i] = m->r[--m->n];
            want++;
        } else {
            i++;
        }
    }
    int rc = udb_store_delete(s, (unsigned)ix, k.data, k.len, &removed);
    assert_int_equal(rc, want ? 0 : UDB_NOTFOUND);
    assert_int_equal(removed, want);
}

typedef struct seen {
    int32_t ids[4096];
    size_t n;
} seen;

static int collect_id(void *arg, const udb_item *key, const void *val, size_t len)
{
    seen *s = arg;
    (void)val;
    (void)len;
    if (s->n < 4096)
        memcpy(&s->ids[s->n++], key->key, 4);
    return 0;
}

static int collect_name(void *arg, const udb_item *key, const void *val, size_t len)
{
    (void)key;
    (void)len;
    seen *s = arg;
    if (s->n < 4096)
        memcpy(&s->ids[s->n++], val, 0);
    return 0;
}

static void op_scan(udb_store *s, smodel *m)
{
    int32_t a = (int32_t)(rnd() % 3000) - 500, b = a + (int32_t)(rnd() % 300);
    seen got = {.n = 0};
    assert_int_equal(udb_store_scan(s, 1, &a, 4, &b, 4, NULL, 0, collect_id, &got), 0);
    size_t want = 0;
    for (size_t i = 0; i < m->n; i++)
        want += m->r[i].id >= a && m->r[i].id <= b;
    assert_int_equal(got.n, want);
    for (size_t i = 1; i < got.n; i++)
        assert_true(got.ids[i - 1] < got.ids[i]);
    /* prefix on the STRING index */
    static const char *pre[] = {"al", "e", "ka", "omi", "zeta1", "q"};
    const char *p = pre[rnd() % 6];
    seen g2 = {.n = 0};
    assert_int_equal(udb_store_scan(s, 2, NULL, 0, NULL, 0, p, strlen(p), collect_name, &g2), 0);
    want = 0;
    for (size_t i = 0; i < m->n; i++)
        want += !strncmp(m->r[i].name, p, strlen(p));
    assert_int_equal(g2.n, want);
}

static void op_cursor_delete(udb_store *s, smodel *m)
{
    if (!m->n)
        return;
    srec *r = &m->r[rnd() % m->n];
    udb_store_cursor *c;
    udb_item it;
    assert_int_equal(udb_store_cursor_open(s, 1, &c), 0);
    assert_int_equal(udb_store_cursor_seek(c, &r->id, 4, &it, NULL), 0);
    assert_memory_equal(it.key, &r->id, 4);
    assert_int_equal(udb_store_cursor_delete(c), 0);
    udb_store_cursor_close(c);
    *r = m->r[--m->n];
}

static udb_store *open_store(const char *name, int create, int layout, int compress)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    udb_store *s;
    int rc;
    if (create) {
        udb_index_def defs[3] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 9, 4, 16},
                                 {UDB_KEY_STRING, 12, UDB_ALLOW_DELETE, 5, 4, 16},
                                 {UDB_KEY_BLOCK, 4, 0, 7, 2, 8}};
        udb_store_def d = {3, defs, compress, 8};
        rc = udb_store_create(name, &o, &d, &s);
    } else {
        rc = udb_store_open(name, &o, &s);
    }
    if (rc)
        fail_msg("%s %s: %s", create ? "create" : "open", name, udb_store_errmsg(s));
    return s;
}

/* After udb_store_compact_order(ix): along index ix the records' frames lie
   in key order, back to back; along every index its leaves lie in key order. */
static udb_ndx *open_ndx_ro(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.ndx", name);
    udb_options o;
    udb_options_init(&o);
    o.flags = UDB_RDONLY;
    udb_ndx *x;
    if (udb_ndx_open(path, &o, &x))
        fail_msg("%s: %s", path, udb_ndx_errmsg(x));
    return x;
}

static void check_order(const char *name, unsigned ix, size_t records)
{
    udb_ndx *x = open_ndx_ro(name);
    for (unsigned i = 1; i <= 3; i++) {
        udb_cursor *c;
        udb_item it;
        int64_t leaf = -1, dp = -1;
        size_t n = 0;
        assert_int_equal(udb_cursor_open(x, i, &c), 0);
        for (int rc = udb_cursor_first(c, &it); rc == 0; rc = udb_cursor_next(c, &it), n++) {
            if (it.leaf <= leaf)
                fail_msg("index %u after ordering by %u: leaf %lld after %lld", i, ix,
                         (long long)it.leaf, (long long)leaf);
            if (i == ix && it.datapos <= dp)
                fail_msg("index %u: record at %lld after %lld", i, (long long)it.datapos,
                         (long long)dp);
            leaf = it.leaf;
            dp = it.datapos;
        }
        assert_int_equal(n, records);
        udb_cursor_close(c);
    }
    udb_ndx_close(x);
}

static void randomized(int layout, int compress)
{
    char nm[64];
    snprintf(nm, sizeof nm, "store_%d_%d", layout, compress);
    const char *name = path_in(dir, nm);
    udb_store *s = open_store(name, 1, layout, compress);
    smodel m = {0};
    udb_val val = {0};
    assert_int_equal(udb_store_begin(s), 0);
    for (long i = 1; i <= nops; i++) {
        unsigned k = (unsigned)(rnd() % 100);
        if (k < 40)
            op_put(s, &m);
        else if (k < 60)
            op_get(s, &m, &val);
        else if (k < 75)
            op_update(s, &m);
        else if (k < 87)
            op_delete(s, &m);
        else if (k < 90)
            op_cursor_delete(s, &m);
        else
            op_scan(s, &m);
        if (i % 1000 == 0) {
            assert_int_equal(udb_store_commit(s), 0);
            assert_int_equal(udb_store_begin(s), 0);
        }
        if (i % (nops / 5) == 0)
            full_check(s, &m);
    }
    assert_int_equal(udb_store_commit(s), 0);
    full_check(s, &m);
    assert_int_equal(udb_store_close(s), 0);
    s = open_store(name, 0, 0, 0);
    full_check(s, &m);
    assert_int_equal(udb_store_compact(s), 0);
    full_check(s, &m);
    udb_store_close(s);
    s = open_store(name, 0, 0, 0);
    full_check(s, &m);
    for (unsigned ix = 1; ix <= 3; ix++) { /* reordering compaction, then as before */
        assert_int_equal(udb_store_compact_order(s, ix), 0);
        full_check(s, &m);
        udb_store_close(s);
        check_order(name, ix, m.n);
        s = open_store(name, 0, 0, 0);
        full_check(s, &m);
    }
    assert_int_equal(udb_store_compact_order(s, 4), UDB_INVAL);
    udb_store_close(s);
    udb_val_free(&val);
    free(m.r);
}

/* Compactions of an empty store: never filled, and emptied again (its
   heap then holds holes). Each succeeds and leaves a store that checks
   clean and holds nothing. (Regression, fuzz_writes: the reordering one
   sorted a NULL array, undefined behaviour under UBSan.) */
static void test_store_compact_empty(void **state)
{
    (void)state;
    const char *name = path_in(dir, "compact_empty");
    udb_store *s = open_store(name, 1, UDB_LAYOUT_WIDE, 0);
    udb_val v = {0};
    for (int round = 0; round < 2; round++) {
        if (round) { /* a record put and deleted: holes, no records */
            int32_t id = 7;
            udb_key keys[3] = {{&id, 4}, {"seven", 5}, {"abcd", 4}};
            assert_int_equal(udb_store_put(s, keys, "x", 1), 0);
            assert_int_equal(udb_store_delete(s, 1, &id, 4, NULL), 0);
        }
        for (unsigned ix = 0; ix <= 3; ix++) {
            assert_int_equal(udb_store_compact_order(s, ix), 0);
            assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
            int32_t id = 7;
            assert_int_equal(udb_store_get(s, 1, &id, 4, &v), UDB_NOTFOUND);
        }
    }
    udb_val_free(&v);
    assert_int_equal(udb_store_close(s), 0);
}

/* A cursor positioned before a compaction that rebuilt the indexes is
   stale: a delete through it is refused (UDB_STALE) and the store stays
   whole. (Regression, fuzz_writes: the rebuild restarted the indexes'
   change counters, a cursor of the same count took itself for current and
   deleted through a leaf that had moved: "index 2 has no entry for the
   record".) */
static void test_store_cursor_after_compact(void **state)
{
    (void)state;
    const char *name = path_in(dir, "cursor_compact");
    udb_store *s = open_store(name, 1, UDB_LAYOUT_WIDE, 0);
    for (int32_t i = 0; i < 50; i++) {
        char sk[12], bk[4] = {(char)(50 - i), 0, 0, 1};
        snprintf(sk, sizeof sk, "k%02d", (i * 7) % 50);
        udb_key keys[3] = {{&i, 4}, {sk, strlen(sk)}, {bk, 4}};
        assert_int_equal(udb_store_put(s, keys, "value", 5), 0);
    }
    udb_store_cursor *c;
    udb_item it;
    assert_int_equal(udb_store_cursor_open(s, 2, &c), 0);
    assert_int_equal(udb_store_cursor_first(c, &it, NULL), 0);
    assert_int_equal(udb_store_compact_order(s, 2), 0);
    /* the last by index 2 ("k49", i = 7) lies elsewhere in index 1's order */
    assert_int_equal(udb_store_cursor_last(c, &it, NULL), 0);
    assert_int_equal(udb_store_compact_order(s, 1), 0);
    int rc = udb_store_cursor_delete(c); /* stale, or it found its record again */
    if (rc != UDB_STALE && rc != 0)
        fail_msg("cursor delete after a compaction: %s", udb_store_errmsg(s));
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    assert_int_equal(udb_store_cursor_first(c, &it, NULL), 0); /* a new position works */
    assert_int_equal(udb_store_cursor_delete(c), 0);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    udb_store_cursor_close(c);
    assert_int_equal(udb_store_close(s), 0);
}

/* The reordering compaction holds nothing per record: a store of 300,000
   records (two indexes, the second with duplicates, keys in random order,
   a third deleted) is reordered by index 2 with a dirty limit of 1 MiB,
   and at every progress report the bytes malloc hands out may exceed
   what they were before (after a put: the store's view of its 100,000
   holes, 9 MB, which any write builds) by at most 4 MiB. The arrays it held before (old
   positions, ranks, the keys and positions of every record for the
   rebuild) took 15 MB more here. Then every record is there, index 2's
   records lie in its order, check is clean. The bound is skipped without
   glibc's mallinfo2 and under valgrind and AddressSanitizer (their own
   allocators). */
static void test_store_compact_bounded(void **state)
{
    (void)state;
    const char *name = path_in(dir, "bounded");
    udb_index_def defs[2] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 0, 0, 0}, {UDB_KEY_STRING, 12, 0, 0, 0, 0}};
    udb_store_def sd = {2, defs, 0, 0};
    udb_store *s;
    const int32_t N = getenv("VALGRIND") ? 30000 : 300000; /* the bound is not checked there */
    char val[100], sk[16];
    memset(val, 'v', sizeof val);
    assert_int_equal(udb_store_create(name, NULL, &sd, &s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    for (int32_t j = 0; j < N; j++) {
        int32_t i = (int32_t)(((int64_t)j * 7919) % N);
        snprintf(sk, sizeof sk, "s%07d", (int)(((int64_t)i * 31) % (N / 3)));
        udb_key k[2] = {{&i, 4}, {sk, strlen(sk)}};
        assert_int_equal(udb_store_put(s, k, val, 40 + (size_t)(i % 60)), 0);
    }
    for (int32_t i = 0; i < N; i += 3)
        assert_int_equal(udb_store_delete(s, 1, &i, 4, NULL), 0);
    assert_int_equal(udb_store_commit(s), 0);
    assert_int_equal(udb_store_close(s), 0);
    heap_peak hp = {0, 0, 0};
    udb_options o;
    udb_options_init(&o);
    o.dirty_limit = 1 << 20;
    o.progress = note_heap;
    o.progress_arg = &hp;
    assert_int_equal(udb_store_open(name, &o, &s), 0);
    int32_t extra = N;
    udb_key ek[2] = {{&extra, 4}, {"x", 1}};
    assert_int_equal(udb_store_put(s, ek, val, 10), 0); /* the view of the holes, as any write builds it */
    hp.most = hp.base = heap_in_use();
    assert_int_equal(udb_store_compact_order(s, 2), 0);
    if (!getenv("VALGRIND") && hp.base) {
        print_message("heap before %zu KiB, at most %zu KiB in %u reports\n", hp.base >> 10,
                      hp.most >> 10, hp.reports);
        assert_true(hp.reports > 100);
        assert_true(hp.most - hp.base < 4 << 20);
    }
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    udb_store_cursor *c;
    udb_item it;
    udb_val v = {0};
    int64_t dp = -1;
    size_t n = 0;
    assert_int_equal(udb_store_cursor_open(s, 2, &c), 0);
    for (int rc = udb_store_cursor_first(c, &it, NULL); rc == 0; rc = udb_store_cursor_next(c, &it, NULL), n++) {
        if (it.datapos <= dp)
            fail_msg("index 2: record at %lld after %lld", (long long)it.datapos, (long long)dp);
        dp = it.datapos;
    }
    udb_store_cursor_close(c);
    assert_int_equal(n, N - (N + 2) / 3 + 1);
    for (int32_t i = 0; i < N; i += 7) {
        assert_int_equal(udb_store_get(s, 1, &i, 4, &v), i % 3 ? 0 : UDB_NOTFOUND);
        if (i % 3)
            assert_int_equal(v.len, 40 + (size_t)(i % 60));
    }
    udb_val_free(&v);
    assert_int_equal(udb_store_close(s), 0);
}

/* ---- commit-time placement (store_place.c) ------------------------------------------ */
static uint64_t file_size(const char *name, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", name, ext);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return (uint64_t)n;
}

/* Along every index, the leaves at or past ndx_from (the last commit's)
   in key order, and along index by the records at or past dat_from.
   Returns the number of inversions seen (0 when placed). */
static long inversions(const char *name, unsigned by, uint64_t ndx_from, uint64_t dat_from)
{
    udb_ndx *x = open_ndx_ro(name);
    long bad = 0;
    for (unsigned i = 1; i <= 3; i++) {
        udb_cursor *c;
        udb_item it;
        int64_t leaf = -1, dp = -1;
        assert_int_equal(udb_cursor_open(x, i, &c), 0);
        for (int rc = udb_cursor_first(c, &it); rc == 0; rc = udb_cursor_next(c, &it)) {
            if (it.leaf >= (int64_t)ndx_from) {
                bad += it.leaf <= leaf;
                leaf = it.leaf;
            }
            if (i == by && it.datapos >= (int64_t)dat_from) {
                bad += it.datapos <= dp;
                dp = it.datapos;
            }
        }
        udb_cursor_close(c);
    }
    udb_ndx_close(x);
    return bad;
}

/* One transaction of n puts (and, with churn, updates and deletes that
   leave free space among the new records). */
static void big_txn(udb_store *s, smodel *m, long n, int churn)
{
    assert_int_equal(udb_store_begin(s), 0);
    for (long i = 0; i < n; i++) {
        srec r;
        random_rec(&r);
        r.id = (int32_t)(rnd() % 2000000000); /* few clashes: the records are many */
        put_rec(s, m, r);
        if (churn && i % 7 == 0)
            op_update(s, m);
        if (churn && i % 11 == 0)
            op_delete(s, m);
    }
    assert_int_equal(udb_store_commit(s), 0);
}

/* place = -1: off; else index place + 1 orders the records. A first big
   transaction (a load), a second one over a store with records, one with
   churn (updates and deletes: free space among the new records, which are
   then left as they are); after each, every record through every index,
   the check, and the order the files show. */
static void placed_run(int place, int journal, int layout)
{
    char nm[64];
    snprintf(nm, sizeof nm, "placed_%d_%d_%d", place, journal, layout);
    const char *name = path_in(dir, nm);
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    o.journal = journal;
    o.place_index = place;
    udb_index_def defs[3] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 9, 4, 16},
                             {UDB_KEY_STRING, 12, UDB_ALLOW_DELETE, 5, 4, 16},
                             {UDB_KEY_BLOCK, 4, 0, 7, 2, 8}};
    udb_store_def d = {3, defs, 1, 8};
    udb_store *s;
    if (udb_store_create(name, &o, &d, &s))
        fail_msg("create: %s", udb_store_errmsg(s));
    smodel m = {0};
    long sizes[3] = {3000, 1800, 1500};
    for (int t = 0; t < 3; t++) {
        assert_int_equal(udb_store_checkpoint(s), 0); /* WAL: the files hold what is committed */
        uint64_t ndx0 = file_size(name, ".ndx"), dat0 = file_size(name, ".dat");
        big_txn(s, &m, sizes[t], t == 2);
        full_check(s, &m);
        assert_int_equal(udb_store_checkpoint(s), 0); /* WAL: the files show it */
        long bad = inversions(name, place < 0 ? 1 : (unsigned)place + 1, ndx0, dat0);
        if (place >= 0 && t < 2 && bad)
            fail_msg("placement by index %d, transaction %d: %ld records out of order", place + 1, t,
                     bad);
        if (place < 0 && t < 2 && !bad) /* arrival order is random key order */
            fail_msg("transaction %d: in order without placement", t);
    }
    assert_int_equal(udb_store_close(s), 0);
    s = open_store(name, 0, 0, 0);
    full_check(s, &m);
    udb_store_close(s);
    free(m.r);
}

static void test_store_placement(void **state)
{
    (void)state;
    uint64_t keep = seed;
    for (int place = -1; place < 3; place++)
        placed_run(place, UDB_JOURNAL_ROLLBACK, UDB_LAYOUT_WIDE);
    placed_run(0, UDB_JOURNAL_WAL, UDB_LAYOUT_WIDE);
    placed_run(1, UDB_JOURNAL_ROLLBACK, UDB_LAYOUT_CLASSIC);
    seed = keep;
}

static void test_store_wide(void **state)
{
    (void)state;
    randomized(UDB_LAYOUT_WIDE, 0);
}

static void test_store_classic_compressed(void **state)
{
    (void)state;
    randomized(UDB_LAYOUT_CLASSIC, 1);
}

/* put is all or nothing; bad arguments change nothing */
static void test_store_refusals(void **state)
{
    (void)state;
    const char *name = path_in(dir, "refuse");
    udb_store *s = open_store(name, 1, UDB_LAYOUT_WIDE, 0);
    int32_t id = 7;
    udb_key k[3] = {{&id, 4}, {"name", 4}, {"tag1", 4}};
    assert_int_equal(udb_store_put(s, k, "v", 1), 0);
    assert_int_equal(udb_store_put(s, k, "w", 1), UDB_EXISTS);
    k[1] = (udb_key){"this name is too long", 21};
    id = 8;
    assert_int_equal(udb_store_put(s, k, "w", 1), UDB_INVAL);
    udb_val v = {0};
    assert_int_equal(udb_store_get(s, 1, &id, 4, &v), UDB_NOTFOUND);
    assert_int_equal(udb_store_get(s, 4, &id, 4, &v), UDB_INVAL);
    id = 7;
    assert_int_equal(udb_store_get(s, 2, "name", 4, &v), 0);
    assert_int_equal(v.len, 1);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    udb_store *s2;
    udb_store_def d = {1, NULL, 0, 0};
    assert_int_equal(udb_store_create(name, NULL, &d, &s2), UDB_INVAL);
    udb_store_close(s2);
    udb_index_def def = {UDB_KEY_BLOCK, 4, 0, 9, 0, 0};
    d.index = &def;
    assert_int_equal(udb_store_create(name, NULL, &d, &s2), UDB_EXISTS);
    udb_store_close(s2);
    /* the files of the originals are not stores */
    assert_int_equal(copy_file(FIXTURES "/wide/m64_heap.ndx", path_in(dir, "orig.ndx")), 0);
    assert_int_equal(copy_file(FIXTURES "/wide/m64_heap.dat", path_in(dir, "orig.dat")), 0);
    assert_int_equal(udb_store_open(path_in(dir, "orig"), NULL, &s2), UDB_FORMAT);
    assert_non_null(strstr(udb_store_errmsg(s2), "not a udb record store"));
    udb_store_close(s2);
    udb_val_free(&v);
    udb_store_close(s);
}

/* A damaged record is reported as corrupt, never returned as data. */
static void test_store_crc(void **state)
{
    (void)state;
    const char *name = path_in(dir, "crc");
    udb_store *s = open_store(name, 1, UDB_LAYOUT_WIDE, 0);
    int32_t id = 1;
    udb_key k[3] = {{&id, 4}, {"n", 1}, {"t", 1}};
    assert_int_equal(udb_store_put(s, k, "hello world", 11), 0);
    udb_store_close(s);
    size_t len;
    char path[600];
    snprintf(path, sizeof path, "%s.dat", name);
    uint8_t *d = read_file(path, &len);
    d[len - 3] ^= 1; /* inside the payload of the only record */
    write_file(path, d, len);
    free(d);
    s = open_store(name, 0, 0, 0);
    udb_val v = {0};
    assert_int_equal(udb_store_get(s, 1, &id, 4, &v), UDB_CORRUPT);
    assert_non_null(strstr(udb_store_errmsg(s), "crc32"));
    assert_int_equal(udb_store_check(s, NULL, NULL, NULL), UDB_CORRUPT);
    udb_val_free(&v);
    udb_store_close(s);
}

/* ---- the check tells the truth ------------------------------------------------------------ */
typedef struct said {
    char text[2000];
    unsigned problems;
} said;

static void collect_problems(void *arg, int sev, int64_t off, unsigned ix, const char *text)
{
    said *w = arg;
    size_t n = strlen(w->text);
    if (sev != UDB_PROBLEM)
        return;
    w->problems++;
    snprintf(w->text + n, sizeof w->text - n, "[%u %lld] %s\n", ix, (long long)off, text);
}

/* The store's check fails and a problem contains want. */
static void check_says(udb_store *s, const char *want, const char *what)
{
    said w = {"", 0};
    int rc = udb_store_check(s, collect_problems, &w, NULL);
    if (rc != UDB_CORRUPT || !strstr(w.text, want))
        fail_msg("%s: the check gives %d with:\n%swant UDB_CORRUPT and '%s'", what, rc, w.text, want);
}

typedef struct truth {
    const char *name;
    char dat[600];
    uint8_t *img;               /* the healthy heap */
    size_t len;
    int64_t rec;                /* the compressed record of id 1 */
} truth;

/* A compressed store: ids 1..3 ("one", "two", "six"), 2 deleted (a hole). */
static void truth_make(truth *t)
{
    t->name = path_in(dir, "truth");
    udb_store *s = open_store(t->name, 1, UDB_LAYOUT_WIDE, 1);
    static const char *names[] = {"one", "two", "six"};
    memset(vbuf, 'z', 2000);
    for (int32_t id = 1; id <= 3; id++) {
        udb_key k[3] = {{&id, 4}, {names[id - 1], 3}, {"tag", 3}};
        assert_int_equal(udb_store_put(s, k, vbuf, id == 2 ? 300 : 2000), 0);
    }
    int32_t two = 2;
    assert_int_equal(udb_store_delete(s, 1, &two, 4, NULL), 0);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    udb_store_close(s);
    snprintf(t->dat, sizeof t->dat, "%s.dat", t->name);
    t->img = read_file(t->dat, &t->len);
    t->rec = 11 + 9 + ld32(t->img + 12); /* after the header and the store descriptor */
    assert_int_equal(t->img[t->rec], LAY_FRAME_DEFLATE);
}

static udb_store *truth_damaged(truth *t, const uint8_t *img)
{
    assert_int_equal(write_file(t->dat, img, t->len), 0);
    return open_store(t->name, 0, 0, 0);
}

/* The declared uncompressed length lies: the check and a read both fail
   with UDB_CORRUPT naming the record; an absurd length allocates nothing. */
static void truth_raw(truth *t, uint8_t *img)
{
    uint32_t was = ld32(t->img + t->rec + 9);
    const uint32_t lies[] = {was + 1, was - 1, 0, 0xffffffffu, was * 2000};
    char at[40];
    snprintf(at, sizeof at, "offset %lld", (long long)t->rec);
    for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++) {
        memcpy(img, t->img, t->len);
        st32(img + t->rec + 9, lies[k]);
        udb_store *s = truth_damaged(t, img);
        check_says(s, at, "a lying length");
        udb_val v = {0};
        int32_t id = 1;
        assert_int_equal(udb_store_get(s, 1, &id, 4, &v), UDB_CORRUPT);
        assert_non_null(strstr(udb_store_errmsg(s), at));
        assert_true(v.cap <= 2000 * 1032);
        udb_val_free(&v);
        udb_store_close(s);
    }
}

static void test_store_check_truth(void **state)
{
    (void)state;
    truth t;
    truth_make(&t);
    uint8_t *img = malloc(t.len);
    truth_raw(&t, img);
    /* index 1's key in the frame: a delete through index 2 cannot find
       the record's index-1 entry */
    memcpy(img, t.img, t.len);
    img[t.rec + 13] ^= 0x40;
    udb_store *s = truth_damaged(&t, img);
    char says[80];
    snprintf(says, sizeof says, "index 1 has no entry for the record at %lld", (long long)t.rec);
    check_says(s, says, "index 1's key");
    assert_int_equal(udb_store_delete(s, 2, "one", 3, NULL), UDB_CORRUPT);
    assert_non_null(strstr(udb_store_errmsg(s), "index 1 has no entry"));
    udb_store_close(s);
    /* a hole of 2^63-1 bytes */
    memcpy(img, t.img, t.len);
    const lay *L = lay_get(UDB_LAYOUT_WIDE);
    int64_t table = lay_heap_first_table(L, img), pos, size;
    assert_true(table > 0 && lay_table_holes(L, img + table, lay_heap_slots(L, img)) == 1);
    lay_table_hole(L, img + table, 1, &pos, &size);
    lay_table_set_hole(L, img + table, 1, pos, INT64_MAX);
    s = truth_damaged(&t, img);
    check_says(s, "bytes) lies outside the file", "a hole of 2^63-1 bytes");
    int32_t id = 9;
    udb_key k[3] = {{&id, 4}, {"nine", 4}, {"tag", 3}};
    assert_int_equal(udb_store_put(s, k, "v", 1), UDB_CORRUPT);
    assert_non_null(strstr(udb_store_errmsg(s), "writes are refused"));
    udb_store_close(s);
    /* healthy again: clean, and the reads and writes work */
    s = truth_damaged(&t, t.img);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    assert_int_equal(udb_store_delete(s, 2, "one", 3, NULL), 0);
    assert_int_equal(udb_store_put(s, k, "v", 1), 0);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    udb_store_close(s);
    free(img);
    free(t.img);
}

/* ---- bulk load ------------------------------------------------------------------------- */
typedef struct feed {
    smodel *m;
    size_t i, n;
    int break_order_at;         /* feed a key out of order at this record */
    udb_key keys[3];
} feed;

static int next_rec(void *arg, udb_key *keys, const void **val, size_t *len)
{
    feed *f = arg;
    if (f->i == f->n)
        return 1;
    srec *r = &f->m->r[f->i];
    if ((int)f->i == f->break_order_at)
        r->id = -100000;
    for (int k = 0; k < 3; k++)
        key_of(k + 1, r, &keys[k]);
    value_of(r, vbuf);
    *val = vbuf;
    *len = r->len;
    f->i++;
    return 0;
}

static void test_store_load_sorted(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        char nm[32];
        snprintf(nm, sizeof nm, "load%d", layout);
        const char *name = path_in(dir, nm);
        udb_store *s = open_store(name, 1, layout, layout == 1);
        smodel m = {0};
        m.cap = m.n = 20000;
        m.r = calloc(m.n, sizeof *m.r);
        for (size_t i = 0; i < m.n; i++) {
            random_rec(&m.r[i]);
            m.r[i].id = (int32_t)(i * 3) - 7000;
            m.r[i].len %= 700;
            m.r[i].seq = ++m.seq;
        }
        /* out of order: refused, nothing changes */
        feed bad = {&m, 0, 1000, 777, {{0}}};
        uint64_t loaded = 9;
        int32_t keep = m.r[777].id;
        assert_int_equal(udb_store_load_sorted(s, next_rec, &bad, &loaded), UDB_INVAL);
        m.r[777].id = keep;
        assert_int_equal(loaded, 0);
        smodel empty = {0};
        full_check(s, &empty);
        feed f = {&m, 0, m.n, -1, {{0}}};
        assert_int_equal(udb_store_load_sorted(s, next_rec, &f, &loaded), 0);
        assert_int_equal(loaded, m.n);
        full_check(s, &m);
        /* a second load into a non-empty store is refused */
        f.i = 0;
        assert_int_equal(udb_store_load_sorted(s, next_rec, &f, &loaded), UDB_INVAL);
        /* and it keeps working as a normal store */
        for (int i = 0; i < 2000; i++)
            op_put(s, &m);
        for (int i = 0; i < 500; i++)
            op_delete(s, &m);
        full_check(s, &m);
        udb_store_close(s);
        char ndx[600];
        snprintf(ndx, sizeof ndx, "%s.ndx", name);
        assert_int_equal(run_cmd("python3 %s %s >/dev/null", checker_path(layout), ndx), 0);
        free(m.r);
    }
}

/* Leaf hints are not covered by the crc: a wrong hint must only cost a
   walk, never a wrong entry. Point every record's hints at another
   record's leaves, then delete through each index. */
static void test_store_bad_hints(void **state)
{
    (void)state;
    const char *name = path_in(dir, "hints");
    udb_store *s = open_store(name, 1, UDB_LAYOUT_WIDE, 0);
    smodel m = {0};
    assert_int_equal(udb_store_begin(s), 0);
    for (int i = 0; i < 400; i++)
        op_put(s, &m);
    assert_int_equal(udb_store_commit(s), 0);
    udb_store_close(s);
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", name);
    size_t len;
    uint8_t *d = read_file(dat, &len);
    /* frames: tag at pos; hints after the 9-byte header and 20 key bytes;
       the first after the store descriptor's frame */
    size_t changed = 0;
    for (size_t p = 11 + 9 + ld32(d + 12); p + 29 + 24 < len;) {
        if (d[p] != 0xA5 && d[p] != 0xA7)
            break;
        size_t hdr = d[p] == 0xA7 ? 13 : 9, stored = ld32(d + p + 1);
        uint8_t *h = d + p + hdr + 20;
        for (int k = 0; k < 3; k++)
            st64(h + 8 * k, ld64(h + 8 * k) + 41 * (k + 1)); /* plausible but wrong */
        changed++;
        p += hdr + 20 + 24 + stored;
    }
    assert_true(changed > 100);
    write_file(dat, d, len);
    free(d);
    s = open_store(name, 0, 0, 0);
    full_check(s, &m);
    for (int i = 0; i < 150; i++)
        op_delete(s, &m);
    for (int i = 0; i < 50; i++)
        op_update(s, &m);
    full_check(s, &m);
    udb_store_close(s);
    free(m.r);
}


/* ---- the guard: a store's own files through the index and heap API --------------------- */
static int same_bytes(const char *a_path, const uint8_t *b, size_t n)
{
    size_t len;
    uint8_t *a = read_file(a_path, &len);
    int same = a && len == n && !memcmp(a, b, n);
    free(a);
    return same;
}

static void test_store_guard(void **state)
{
    (void)state;
    const char *name = path_in(dir, "guard");
    char ndx[600], dat[600], other[600], owner[600];
    snprintf(ndx, sizeof ndx, "%s.ndx", name);
    snprintf(dat, sizeof dat, "%s.dat", name);
    snprintf(other, sizeof other, "%s/guard-copy.bin", dir);
    udb_store *s = open_store(name, 1, UDB_LAYOUT_WIDE, 0);
    int32_t id = 5;
    udb_key k[3] = {{&id, 4}, {"n", 1}, {"t", 1}};
    assert_int_equal(udb_store_put(s, k, "v", 1), 0);
    udb_store_close(s);
    size_t nn, nd;
    uint8_t *n0 = read_file(ndx, &nn), *d0 = read_file(dat, &nd);
    assert_int_equal(udb_store_owner(ndx, NULL, owner, sizeof owner), 1);
    assert_string_equal(owner, name);
    assert_int_equal(udb_store_owner(dat, NULL, NULL, 0), 1);
    assert_int_equal(udb_store_owner(FIXTURES "/wide/m64_heap.ndx", NULL, NULL, 0), 0);
    assert_int_equal(udb_store_owner(path_in(dir, "nothing.ndx"), NULL, NULL, 0), 0);
    /* writable opens are refused and change nothing; read-only and raw ones open */
    udb_options raw, ro;
    udb_options_init(&raw);
    udb_options_init(&ro);
    raw.flags = UDB_RAW;
    ro.flags = UDB_RDONLY;
    udb_ndx *d;
    assert_int_equal(udb_ndx_open(ndx, NULL, &d), UDB_READONLY);
    assert_non_null(strstr(udb_ndx_errmsg(d), "belongs to the record store"));
    udb_ndx_close(d);
    assert_int_equal(udb_ndx_open(ndx, &ro, &d), 0);
    int64_t dp;
    assert_int_equal(udb_ndx_find(d, 1, &id, 4, &dp), 0);
    assert_int_equal(udb_ndx_append(d, 1, &id, 4, 99), UDB_READONLY);
    udb_ndx_close(d);
    udb_heap *h;
    assert_int_equal(udb_heap_open(dat, NULL, &h), UDB_READONLY);
    assert_non_null(strstr(udb_heap_errmsg(h), "belongs to the record store"));
    udb_heap_close(h);
    assert_int_equal(udb_heap_open(dat, &ro, &h), 0);
    udb_heap_close(h);
    /* a store's heap under another name is still a store's heap */
    assert_int_equal(copy_file(dat, other), 0);
    assert_int_equal(udb_heap_open(other, NULL, &h), UDB_READONLY);
    udb_heap_close(h);
    assert_true(same_bytes(ndx, n0, nn) && same_bytes(dat, d0, nd));
    /* a lost index file is not recreated through udb_ndx_create */
    assert_int_equal(rename(ndx, other), 0);
    assert_int_equal(udb_ndx_create(ndx, NULL, 3, &d), UDB_READONLY);
    udb_ndx_close(d);
    assert_int_equal(access(ndx, F_OK), -1);
    assert_int_equal(rename(other, ndx), 0);
    /* raw access is allowed, and can break the store */
    assert_int_equal(udb_ndx_open(ndx, &raw, &d), 0);
    assert_int_equal(udb_ndx_append(d, 1, &id, 4, 99), UDB_EXISTS);
    int32_t id2 = 6;
    assert_int_equal(udb_ndx_append(d, 1, &id2, 4, 99), 0);
    udb_ndx_close(d);
    assert_int_equal(udb_heap_open(dat, &raw, &h), 0);
    udb_heap_close(h);
    s = open_store(name, 0, 0, 0);
    assert_int_equal(udb_store_check(s, NULL, NULL, NULL), UDB_CORRUPT);
    udb_store_close(s);
    free(n0);
    free(d0);
}

/* ---- rebuilding the indexes from the records ------------------------------------------------ */
/* Index i of an nidx-index store is the model's index rb_ix: one index = the names. */
static int rb_ix(unsigned nidx, unsigned i)
{
    return nidx == 1 ? 2 : (int)i;
}

static int same_key(int ix, const srec *a, const srec *b)
{
    return ix == 1 ? a->id == b->id : ix == 2 ? !strcmp(a->name, b->name) : !memcmp(a->tag, b->tag, 4);
}

static udb_store *rb_create(const char *name, unsigned nidx, int layout, int compress)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    udb_index_def defs[3] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 9, 4, 16},
                             {UDB_KEY_STRING, 12, UDB_ALLOW_DELETE, 5, 4, 16},
                             {UDB_KEY_BLOCK, 4, 0, 7, 2, 8}};
    udb_store_def d = {nidx, nidx == 1 ? &defs[1] : defs, compress, 8};
    udb_store *s;
    if (udb_store_create(name, &o, &d, &s))
        fail_msg("create %s: %s", name, udb_store_errmsg(s));
    return s;
}

static void rb_put(udb_store *s, smodel *m, unsigned nidx)
{
    srec r;
    random_rec(&r);
    if (find_id(m, r.id) >= 0)
        return; /* ids stay unique in the model: they name the records */
    udb_key k[3];
    for (unsigned i = 0; i < nidx; i++)
        key_of(rb_ix(nidx, i + 1), &r, &k[i]);
    value_of(&r, vbuf);
    if (udb_store_put(s, k, vbuf, r.len))
        fail_msg("put: %s", udb_store_errmsg(s));
    if (m->n == m->cap)
        m->r = realloc(m->r, (m->cap = m->cap ? 2 * m->cap : 256) * sizeof *m->r);
    r.seq = ++m->seq;
    m->r[m->n++] = r;
}

/* Every record with a name goes (through the name's index). */
static void rb_delete(udb_store *s, smodel *m, unsigned nidx)
{
    if (!m->n)
        return;
    srec probe = m->r[rnd() % m->n];
    uint64_t want = 0, removed = 0;
    for (size_t i = 0; i < m->n;)
        if (!strcmp(m->r[i].name, probe.name)) {
            m->r[i] = m->r[--m->n];
            want++;
        } else {
            i++;
        }
    assert_int_equal(udb_store_delete(s, nidx == 1 ? 1 : 2, probe.name, strlen(probe.name), &removed), 0);
    assert_int_equal(removed, want);
}

/* A record changes size (moved, or shrunk in place): through its id, or
   its name when that is unique. */
static void rb_update(udb_store *s, smodel *m, unsigned nidx)
{
    if (!m->n)
        return;
    srec *r = &m->r[rnd() % m->n], fresh;
    if (nidx == 1 && newest(m, 2, r) != r - m->r)
        return;
    random_rec(&fresh);
    r->len = fresh.len;
    r->version = fresh.version;
    value_of(r, vbuf);
    int rc = nidx == 1 ? udb_store_update(s, 1, r->name, strlen(r->name), vbuf, r->len)
                       : udb_store_update(s, 1, &r->id, 4, vbuf, r->len);
    if (rc)
        fail_msg("update: %s", udb_store_errmsg(s));
}

/* Index i holds exactly the model's records in key order; records with
   equal keys in any order (a rebuild chains them by position). */
static void rb_compare_index(udb_store *s, const smodel *m, unsigned nidx, unsigned i)
{
    int mix = rb_ix(nidx, i);
    srec **v = sorted(m, mix);
    char *used = calloc(m->n + 1, 1);
    udb_store_cursor *c;
    udb_item it;
    udb_val val = {0};
    size_t k = 0, g;
    int rc;
    assert_int_equal(udb_store_cursor_open(s, i, &c), 0);
    for (rc = udb_store_cursor_first(c, &it, &val); rc == 0; rc = udb_store_cursor_next(c, &it, &val), k++) {
        udb_key key;
        if (k >= m->n)
            fail_msg("index %u: more records than the model's %zu", i, m->n);
        key_of(mix, v[k], &key);
        assert_memory_equal(it.key, key.data, key.len);
        for (g = k; g > 0 && same_key(mix, v[g - 1], v[k]); g--)
            ;
        for (; g < m->n && same_key(mix, v[g], v[k]); g++) {
            value_of(v[g], vbuf);
            if (!used[g] && v[g]->len == val.len && !memcmp(vbuf, val.data, val.len))
                break;
        }
        if (g == m->n || !same_key(mix, v[g], v[k]))
            fail_msg("index %u record %zu: its value is no record of the model with that key", i, k);
        used[g] = 1;
    }
    if (rc != UDB_NOTFOUND)
        fail_msg("walk index %u: %s", i, udb_store_errmsg(s));
    assert_int_equal(k, m->n);
    udb_store_cursor_close(c);
    udb_val_free(&val);
    free(used);
    free(v);
}

static void rb_compare(const char *name, const smodel *m, unsigned nidx)
{
    udb_store *s = open_store(name, 0, 0, 0);
    assert_int_equal(udb_store_count(s), nidx);
    for (unsigned i = 1; i <= nidx; i++)
        rb_compare_index(s, m, nidx, i);
    if (udb_store_check(s, report, NULL, NULL))
        fail_msg("store check: %s", udb_store_errmsg(s));
    udb_store_close(s);
}

/* Holes of the heap that begin with an old record frame: freed space keeps
   what it held, and the rebuild must not take it for a record. */
static size_t stale_frames(const char *dat)
{
    udb_heap *h = open_heap(dat, UDB_RDONLY);
    hole_list *l = calloc(1, sizeof *l);
    size_t n = 0;
    assert_int_equal(udb_heap_holes(h, hole_list_add, l), 0);
    for (size_t i = 0; i < l->n; i++) {
        uint8_t tag;
        assert_int_equal(udb_heap_read(h, l->h[i].pos, &tag, 1), 0);
        n += tag == 0xA5 || tag == 0xA7;
    }
    udb_heap_close(h);
    free(l);
    return n;
}

typedef struct rb_files {
    char ndx[600], dat[600];
    uint8_t *b[2];
    size_t n[2];
} rb_files;

static void rb_snap(const char *name, rb_files *f)
{
    snprintf(f->ndx, sizeof f->ndx, "%s.ndx", name);
    snprintf(f->dat, sizeof f->dat, "%s.dat", name);
    f->b[0] = read_file(f->ndx, &f->n[0]);
    f->b[1] = read_file(f->dat, &f->n[1]);
    assert_true(f->b[0] && f->b[1]);
}

static void rb_put_back(const rb_files *f)
{
    assert_int_equal(write_file(f->ndx, f->b[0], f->n[0]), 0);
    assert_int_equal(write_file(f->dat, f->b[1], f->n[1]), 0);
}

static int rb_same(const rb_files *f)
{
    return same_bytes(f->ndx, f->b[0], f->n[0]) && same_bytes(f->dat, f->b[1], f->n[1]);
}

static void rb_free(rb_files *f)
{
    free(f->b[0]);
    free(f->b[1]);
}

enum { LOSE_NDX, GARBLE_BODY, GARBLE_HEADER, NDAMAGE };

static void damage_ndx(const rb_files *f, int how)
{
    uint8_t *d = malloc(f->n[0]);
    memcpy(d, f->b[0], f->n[0]);
    if (how == LOSE_NDX) {
        assert_int_equal(unlink(f->ndx), 0);
    } else {
        size_t from = how == GARBLE_BODY ? f->n[0] / 3 : 0, to = how == GARBLE_BODY ? 2 * f->n[0] / 3 : 200;
        for (size_t i = from; i < to && i < f->n[0]; i++)
            d[i] = (uint8_t)(i * 131 + 7);
        assert_int_equal(write_file(f->ndx, d, f->n[0]), 0);
    }
    free(d);
}

static char last_problem[600];

static void report_last(void *arg, int sev, int64_t off, unsigned ix, const char *text)
{
    report(arg, sev, off, ix, text);
    snprintf(last_problem, sizeof last_problem, "%s", text);
}

static int rb_repair(const char *name, const udb_store_def *def, udb_store_repair_report *rep)
{
    udb_options o;
    udb_options_init(&o);
    o.sync = UDB_SYNC_OFF;
    last_problem[0] = 0;
    return udb_store_repair(name, &o, def, report_last, NULL, rep);
}

static void rebuild_case(unsigned nidx, int layout, int compress)
{
    static const int expect_from[NDAMAGE] = {UDB_DEFS_DESCRIPTOR, UDB_DEFS_INFOS, UDB_DEFS_DESCRIPTOR};
    char nm[64];
    snprintf(nm, sizeof nm, "rb%u_%d_%d", nidx, layout, compress);
    const char *name = path_in(dir, nm);
    udb_store *s = rb_create(name, nidx, layout, compress);
    smodel m = {0};
    assert_int_equal(udb_store_begin(s), 0);
    for (int i = 0; i < 700; i++) {
        unsigned k = (unsigned)(rnd() % 10);
        if (k < 6)
            rb_put(s, &m, nidx);
        else if (k < 8)
            rb_update(s, &m, nidx);
        else
            rb_delete(s, &m, nidx);
    }
    assert_int_equal(udb_store_commit(s), 0);
    udb_store_close(s);
    rb_files f;
    rb_snap(name, &f);
    assert_true(stale_frames(f.dat) > 0);
    for (int how = 0; how < NDAMAGE; how++) {
        udb_store_repair_report rep;
        rb_put_back(&f);
        damage_ndx(&f, how);
        if (rb_repair(name, NULL, &rep))
            fail_msg("%s, damage %d: repair failed", nm, how);
        assert_int_equal(rep.num_indexes, nidx);
        assert_int_equal(rep.defs_from, expect_from[how]);
        assert_int_equal(rep.records, m.n);
        assert_int_equal(rep.bad_frames, 0);
        assert_true(rep.holes > 0);
        rb_compare(name, &m, nidx);
    }
    /* the rebuilt store goes on working */
    s = open_store(name, 0, 0, 0);
    for (int i = 0; i < 200; i++)
        if (rnd() % 3)
            rb_put(s, &m, nidx);
        else
            rb_delete(s, &m, nidx);
    udb_store_close(s);
    rb_compare(name, &m, nidx);
    rb_free(&f);
    free(m.r);
}

static void test_store_rebuild(void **state)
{
    (void)state;
    for (unsigned nidx = 1; nidx <= 3; nidx += 2)
        for (int layout = UDB_LAYOUT_CLASSIC; layout <= UDB_LAYOUT_WIDE; layout++)
            for (int compress = 0; compress <= 1; compress++)
                rebuild_case(nidx, layout, compress);
}

/* Damaged frames are reported and skipped; the records after them come back. */
static void test_store_rebuild_damage(void **state)
{
    (void)state;
    const char *name = path_in(dir, "rbdmg");
    udb_store *s = rb_create(name, 3, UDB_LAYOUT_WIDE, 0);
    smodel m = {0};
    while (m.n < 60)
        rb_put(s, &m, 3);
    udb_store_close(s);
    /* two records in the middle of the heap: one fails its crc32, one loses its tag */
    int64_t at[2] = {0, 0};
    long victim[2] = {-1, -1};
    s = open_store(name, 0, 0, 0);
    udb_store_cursor *c;
    udb_item it;
    assert_int_equal(udb_store_cursor_open(s, 1, &c), 0);
    for (int rc = udb_store_cursor_first(c, &it, NULL); rc == 0; rc = udb_store_cursor_next(c, &it, NULL)) {
        int32_t id;
        memcpy(&id, it.key, 4);
        long w = find_id(&m, id);
        for (int v = 0; v < 2; v++)
            if (victim[v] < 0 && m.r[w].len > 8 && (v == 0 || w != victim[0]) && it.datapos > 2000 * (v + 1)) {
                victim[v] = w;
                at[v] = it.datapos;
                break;
            }
    }
    udb_store_cursor_close(c);
    udb_store_close(s);
    assert_true(victim[0] >= 0 && victim[1] >= 0);
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", name);
    size_t len;
    uint8_t *d = read_file(dat, &len);
    d[at[0] + 9 + 20 + 24 + m.r[victim[0]].len - 1] ^= 0x40; /* the last payload byte */
    d[at[1]] = 0x00;                                         /* the tag */
    write_file(dat, d, len);
    free(d);
    udb_store_repair_report rep;
    assert_int_equal(rb_repair(name, NULL, &rep), 0);
    assert_int_equal(rep.defs_from, UDB_DEFS_INFOS);
    assert_int_equal(rep.bad_frames, 2);
    assert_int_equal(rep.bytes_skipped, 2 * (9 + 20 + 24) + m.r[victim[0]].len + m.r[victim[1]].len);
    assert_int_equal(rep.records, m.n - 2);
    for (int v = 1; v >= 0; v--)
        m.r[victim[v]] = m.r[--m.n];
    rb_compare(name, &m, 3);
    free(m.r);
}

/* A hole of a sparse file between two records (a hostile NAME.dat: a few
   KiB in an archive): the rebuild's search for the next sound frame read
   the hole byte by byte (12 GiB: 20 s of CPU; minutes for more). Frames begin with a byte that is not 0: holes are passed
   over now, and the records after them found. */
static void test_store_rebuild_sparse(void **state)
{
    (void)state;
    for (int layout = UDB_LAYOUT_CLASSIC; layout <= UDB_LAYOUT_WIDE; layout++) {
        const char *name = path_in(dir, "rbsparse");
        char dat[600];
        snprintf(dat, sizeof dat, "%s.dat", name);
        udb_store *s = rb_create(name, 3, layout, 0);
        smodel m = {0};
        while (m.n < 40)
            rb_put(s, &m, 3);
        udb_store_close(s);
        int64_t cut = 0; /* a record in the middle of the heap: the hole goes before it */
        s = open_store(name, 0, 0, 0);
        udb_store_cursor *c;
        udb_item it;
        assert_int_equal(udb_store_cursor_open(s, 1, &c), 0);
        for (int rc = udb_store_cursor_first(c, &it, NULL), k = 0; rc == 0 && k < 20;
             rc = udb_store_cursor_next(c, &it, NULL), k++)
            if (it.datapos > cut)
                cut = it.datapos;
        udb_store_cursor_close(c);
        udb_store_close(s);
        size_t len;
        uint8_t *d = read_file(dat, &len);
        assert_true(cut > 0 && (size_t)cut < len);
        off_t gap = layout == UDB_LAYOUT_CLASSIC ? (off_t)3 << 29 : (off_t)12 << 30;
        int fd = open(dat, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, d, (size_t)cut, 0), cut);
        assert_int_equal(pwrite(fd, d + cut, len - (size_t)cut, cut + gap), (ssize_t)(len - (size_t)cut));
        close(fd);
        free(d);
        char ndx[600];
        snprintf(ndx, sizeof ndx, "%s.ndx", name);
        unlink(ndx);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(120);
            udb_store_repair_report rep;
            struct rusage r0, r1;
            getrusage(RUSAGE_SELF, &r0);
            int rc = rb_repair(name, NULL, &rep);
            getrusage(RUSAGE_SELF, &r1);
            double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
                                  r0.ru_stime.tv_sec) +
                         (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
                                  r0.ru_stime.tv_usec) / 1e6;
            _exit(rc ? 1 : rep.records != m.n ? 2 : rep.bad_frames != 1 ? 3
                  : rep.bytes_skipped != (uint64_t)gap ? 4
                  : cpu > 5 ? 5 : 0); /* a walk of the 12 GiB hole: 20 s here */
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status))
            fail_msg("rebuild across a hole of a sparse file (layout %d): %s %d", layout,
                     WIFSIGNALED(status) ? "killed by signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        rb_compare(name, &m, 3);
        free(m.r);
        unlink(dat);
        unlink(ndx);
    }
}

/* A closed three-index store after n operations, every k-th a delete. */
static void rb_filled(const char *name, int layout, int compress, int n, int k, smodel *m)
{
    udb_store *s = rb_create(name, 3, layout, compress);
    for (int i = 0; i < n; i++)
        if (i % k == k - 1)
            rb_delete(s, m, 3);
        else
            rb_put(s, m, 3);
    udb_store_close(s);
}

/* Damaged holes tables: a freed record cannot be told from a live one, so
   nothing is rebuilt, and nothing changes. */
static void test_store_rebuild_holes(void **state)
{
    (void)state;
    const char *name = path_in(dir, "rbholes");
    smodel m = {0};
    rb_filled(name, UDB_LAYOUT_CLASSIC, 0, 300, 4, &m);
    rb_files f;
    rb_snap(name, &f);
    udb_heap *h = open_heap(f.dat, UDB_RDONLY);
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    udb_heap_close(h);
    assert_true(inf.first_table > 0 && inf.holes > 0);
    f.b[1][inf.first_table + 3] ^= 0xff; /* its checksum fails */
    rb_put_back(&f);
    udb_store_repair_report rep;
    assert_int_equal(rb_repair(name, NULL, &rep), UDB_CORRUPT);
    assert_non_null(strstr(last_problem, "holes tables cannot be trusted"));
    assert_true(rb_same(&f));
    rb_free(&f);
    free(m.r);
}

/* A UNIQUE key met twice (a deleted record whose hole was lost) is kept
   twice and reported. */
static void test_store_rebuild_clash(void **state)
{
    (void)state;
    const char *name = path_in(dir, "rbclash");
    udb_store *s = rb_create(name, 3, UDB_LAYOUT_WIDE, 0);
    char v1[100], v2[300];
    memset(v1, 'a', sizeof v1);
    memset(v2, 'b', sizeof v2);
    for (int32_t id = 1; id <= 3; id++) {
        udb_key k[3] = {{&id, 4}, {"n", 1}, {"tag", 3}};
        assert_int_equal(udb_store_put(s, k, v1, sizeof v1), 0);
    }
    int32_t id = 2;
    udb_key k[3] = {{&id, 4}, {"m", 1}, {"tag", 3}};
    assert_int_equal(udb_store_delete(s, 1, &id, 4, NULL), 0);
    assert_int_equal(udb_store_put(s, k, v2, sizeof v2), 0); /* does not fit the hole */
    udb_store_close(s);
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", name);
    udb_options raw;
    udb_options_init(&raw);
    raw.flags = UDB_RAW;
    udb_heap *h;
    int64_t pos;
    assert_int_equal(udb_heap_open(dat, &raw, &h), 0); /* the hole is lost */
    assert_int_equal(udb_heap_alloc(h, 9 + 20 + 24 + sizeof v1, &pos), 0);
    udb_heap_close(h);
    udb_store_repair_report rep;
    assert_int_equal(rb_repair(name, NULL, &rep), 0);
    assert_int_equal(rep.records, 4);
    assert_int_equal(rep.unique_clashes, 1);
    s = open_store(name, 0, 0, 0);
    udb_val v = {0};
    assert_int_equal(udb_store_get(s, 2, "n", 1, &v), 0);
    assert_int_equal(udb_store_get(s, 2, "m", 1, &v), 0);
    assert_int_equal(v.len, sizeof v2);
    udb_val_free(&v);
    udb_store_close(s);
}

/* Stores written by udb 0.1 (tests/fixtures/udb01): they open and work as
   before; what their descriptor says; a one-index one cannot be rebuilt,
   a two-index one only with the definitions. */
static void test_store_rebuild_old(void **state)
{
    (void)state;
    const char *one = path_in(dir, "old1"), *two = path_in(dir, "old2");
    char p[600];
    static const char *src[2] = {FIXTURES "/udb01/one_wide", FIXTURES "/udb01/two_classic"};
    for (int i = 0; i < 2; i++)
        for (int e = 0; e < 2; e++) {
            char from[300];
            snprintf(from, sizeof from, "%s%s", src[i], e ? ".dat" : ".ndx");
            snprintf(p, sizeof p, "%s%s", i ? two : one, e ? ".dat" : ".ndx");
            assert_int_equal(copy_file(from, p), 0);
        }
    udb_store_about ab;
    char msg[300];
    assert_int_equal(udb_store_about_get(one, NULL, &ab, msg, sizeof msg), 0);
    assert_true(ab.version == 1 && ab.num_indexes == 1 && !ab.keyed && !ab.defs);
    assert_int_equal(udb_store_about_get(two, NULL, &ab, msg, sizeof msg), 0);
    assert_true(ab.version == 1 && ab.num_indexes == 2 && ab.keyed && !ab.defs && ab.compress);
    assert_int_equal(ab.layout, UDB_LAYOUT_CLASSIC);
    /* the old one-index store works as before: its new frames hold no key either */
    udb_store *s;
    udb_val v = {0};
    assert_int_equal(udb_store_open(one, NULL, &s), 0);
    udb_key k = {"kiwi", 4};
    assert_int_equal(udb_store_put(s, &k, "green", 5), 0);
    assert_int_equal(udb_store_get(s, 1, "banana", 6, &v), 0);
    assert_int_equal(v.len, 13);
    assert_memory_equal(v.data, "second banana", 13);
    assert_int_equal(udb_store_update(s, 1, "kiwi", 4, "a longer value than before", 26), 0);
    assert_int_equal(udb_store_delete(s, 1, "date", 4, NULL), 0);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    udb_store_close(s);
    assert_int_equal(udb_store_about_get(one, NULL, &ab, msg, sizeof msg), 0);
    assert_true(ab.version == 1 && !ab.keyed);
    rb_files f;
    rb_snap(one, &f);
    udb_store_repair_report rep;
    assert_int_equal(rb_repair(one, NULL, &rep), UDB_FORMAT);
    assert_non_null(strstr(last_problem, "frames hold no key"));
    assert_true(rb_same(&f));
    rb_free(&f);
    udb_store *e;
    assert_int_equal(udb_store_open(one, NULL, &e), 0);
    assert_int_equal(udb_store_get(e, 1, "kiwi", 4, &v), 0);
    udb_store_close(e);
    /* two indexes: the infos give the definitions; lost, the caller must */
    assert_int_equal(rb_repair(two, NULL, &rep), 0);
    assert_int_equal(rep.defs_from, UDB_DEFS_INFOS);
    assert_int_equal(rep.records, 6);
    snprintf(p, sizeof p, "%s.ndx", two);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(rb_repair(two, NULL, &rep), UDB_INVAL);
    assert_int_equal(access(p, F_OK), -1); /* the index file it made is gone again */
    udb_index_def defs[2] = {{UDB_KEY_STRING, 16, UDB_ALLOW_DELETE, 16, 0, 0},
                             {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 16, 0, 0}};
    udb_store_def def = {2, defs, 0, 0};
    assert_int_equal(rb_repair(two, &def, &rep), UDB_CORRUPT); /* wrong key size: no frame reads */
    assert_non_null(strstr(last_problem, "not one frame")); /* not the rollback's trouble */
    defs[0].keysize = 12;
    assert_int_equal(rb_repair(two, &def, &rep), 0);
    assert_int_equal(rep.defs_from, UDB_DEFS_CALLER);
    assert_int_equal(rep.records, 6);
    assert_int_equal(udb_store_open(two, NULL, &s), 0);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    int32_t id = 20;
    assert_int_equal(udb_store_get(s, 2, &id, 4, &v), 0);
    assert_memory_equal(v.data, "bob again", 9);
    assert_int_equal(udb_store_get(s, 1, "ed", 2, &v), UDB_NOTFOUND);
    udb_store_close(s);
    udb_val_free(&v);
}

/* Compacting a one-index store of udb 0.1 whose record frame is damaged:
   UDB_CORRUPT and nothing changed (fuzz_store: the compaction freed a
   list the failed walk never made, an uninitialised pointer). */
static void test_store_compact_old_damaged(void **state)
{
    (void)state;
    const char *one = path_in(dir, "old1d");
    char p[600], dat[600];
    for (int e = 0; e < 2; e++) {
        snprintf(p, sizeof p, "%s%s", FIXTURES "/udb01/one_wide", e ? ".dat" : ".ndx");
        snprintf(dat, sizeof dat, "%s%s", one, e ? ".dat" : ".ndx");
        assert_int_equal(copy_file(p, dat), 0);
    }
    size_t len;
    uint8_t *d = read_file(dat, &len);
    size_t at = 0;
    while (at + 13 <= len && memcmp(d + at, "second banana", 13))
        at++;
    assert_true(at + 13 <= len);
    d[at] ^= 0x20; /* the frame's crc32 no longer holds */
    assert_int_equal(write_file(dat, d, len), 0);
    udb_store *s;
    assert_int_equal(udb_store_open(one, NULL, &s), 0);
    assert_int_equal(udb_store_compact(s), UDB_CORRUPT);
    udb_store_close(s);
    size_t len2;
    uint8_t *d2 = read_file(dat, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(d2, d, len);
    free(d);
    free(d2);
}

/* The descriptor is hostile input too: one that names more indexes than a
   store can have (its length matching) is refused, not decoded past the
   end of the definitions. */
static void test_store_bad_descriptor(void **state)
{
    (void)state;
    const char *name = path_in(dir, "baddesc");
    udb_store_close(rb_create(name, 1, UDB_LAYOUT_WIDE, 0));
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", name);
    size_t len, n = 14 + 16 * 100;
    uint8_t *d = read_file(dat, &len), *nd = calloc(11 + 9 + n, 1), *f = nd + 11, *p = f + 9;
    memcpy(nd, d, 11); /* the heap header: no holes table yet */
    memcpy(p, "udbstore", 8);
    st16(p + 8, 2);
    st16(p + 10, 2);
    st16(p + 12, 100);
    for (size_t i = 14; i < n; i++)
        p[i] = (uint8_t)i;
    f[0] = 0xD5;
    st32(f + 1, (uint32_t)n);
    st32(f + 5, (uint32_t)crc32(0, p, (uInt)n));
    write_file(dat, nd, 11 + 9 + n);
    udb_store *s;
    udb_store_about ab;
    udb_store_repair_report rep;
    assert_int_equal(udb_store_open(name, NULL, &s), UDB_FORMAT);
    udb_store_close(s);
    assert_int_equal(udb_store_about_get(name, NULL, &ab, NULL, 0), UDB_FORMAT);
    assert_int_equal(rb_repair(name, NULL, &rep), UDB_FORMAT);
    free(d);
    free(nd);
}

/* A crash anywhere in a rebuild leaves the old files or the rebuilt ones. */
static void test_store_rebuild_crash(void **state)
{
    (void)state;
    const char *name = path_in(dir, "rbcrash");
    smodel m = {0};
    rb_filled(name, UDB_LAYOUT_WIDE, 1, 1200, 5, &m);
    rb_files old, fresh;
    rb_snap(name, &old);
    damage_ndx(&old, GARBLE_BODY);
    rb_free(&old);
    rb_snap(name, &old);
    fault_os fo;
    udb_options o;
    udb_options_init(&o);
    o.os = &fo.os;
    fault_os_init(&fo, FAULT_NONE, 0); /* the clean run counts the calls */
    assert_int_equal(udb_store_repair(name, &o, NULL, NULL, NULL, NULL), 0);
    long total = fo.calls, as_new = 0;
    rb_snap(name, &fresh);
    static const int modes[] = {FAULT_EIO, FAULT_CRASH, FAULT_TORN};
    for (long k = 1; k <= total; k++)
        for (int md = 0; md < 3; md++) {
            rb_put_back(&old);
            fault_os_init(&fo, modes[md], k);
            int rc = udb_store_repair(name, &o, NULL, NULL, NULL, NULL);
            int found;
            assert_int_equal(udb_recover(old.ndx, NULL, &found, NULL, 0), 0);
            int is_new = rb_same(&fresh);
            if (!is_new && !rb_same(&old))
                fail_msg("fault %d at call %ld of %ld: neither the old files nor the rebuilt ones",
                         modes[md], k, total);
            if (rc == 0 && !is_new)
                fail_msg("fault %d at call %ld: the repair succeeded but the files are the old ones",
                         modes[md], k);
            as_new += is_new;
        }
    fprintf(stderr, "rebuild: %ld changing calls, %ld runs ended rebuilt\n", total, as_new);
    rb_put_back(&fresh);
    rb_compare(name, &m, 3);
    rb_free(&old);
    rb_free(&fresh);
    free(m.r);
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("store"));
    vbuf = malloc(70000);
    if (getenv("UDB_TEST_QUICK"))
        nops = 5000;
    const char *sd = getenv("UDB_TEST_SEED");
    if (sd)
        seed = strtoull(sd, NULL, 0);
    fprintf(stderr, "seed 0x%llx\n", (unsigned long long)seed);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((void *)dir);
    free(vbuf);
    return 0;
}

/* A store handle whose index definitions change under it (another handle
   rebuilt NAME.ndx with others: udb_store_repair of a store without
   definitions in its descriptor, given other ones) must not go on with its
   key layout of the old ones (keys of the new size written into a buffer
   of the old: heap overflow). Simulated by rewriting index 2's key size in
   the file under an open handle. */
static void test_store_definition_changed(void **state)
{
    (void)state;
    const char *name = path_in(dir, "chg");
    udb_index_def defs[2] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 8, 0, 0},
                             {UDB_KEY_STRING, 12, UDB_ALLOW_DELETE, 8, 0, 0}};
    udb_store_def def = {2, defs, 0, 0};
    udb_store *s;
    assert_int_equal(udb_store_create(name, NULL, &def, &s), 0);
    for (int32_t i = 1; i <= 5; i++) {
        udb_key k[2] = {{&i, 4}, {"name", 4}};
        assert_int_equal(udb_store_put(s, k, "value", 5), 0);
    }
    char p[700];
    snprintf(p, sizeof p, "%s.ndx", name);
    size_t len;
    uint8_t *img = read_file(p, &len);
    const lay *L = lay_get(UDB_LAYOUT_WIDE);
    lay_info inf;
    lay_info_decode(L, img + lay_info_off(L, 2), &inf);
    assert_int_equal(inf.keysize, 12);
    inf.keysize = 60;
    lay_info_encode(L, img + lay_info_off(L, 2), &inf);
    assert_int_equal(write_file(p, img, len), 0); /* in place: the handle maps it */
    free(img);
    struct timespec later[2] = {{0, UTIME_OMIT}, {time(NULL) + 5, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, later, 0), 0);
    int32_t id = 9;
    char nm[60];
    memset(nm, 'n', sizeof nm);
    udb_key k[2] = {{&id, 4}, {nm, 59}};
    int rc = udb_store_put(s, k, "v", 1);
    if (rc != UDB_CORRUPT || !strstr(udb_store_errmsg(s), "changed its definition"))
        fail_msg("a put after index 2 changed under the handle: %s: %s", udb_errname(rc),
                 udb_store_errmsg(s));
    udb_store_close(s);
}

/* A compaction of a store whose index 2 names one record twice (an entry
   planted through raw access under another key): in file order and in
   the order of every index it stops with UDB_CORRUPT, and after the rollback both
   files are as they were; check reports the damage. Also an entry missing
   from index 2 (removed the same way), and one record named twice while
   another is missing (the count right: a rebuild from index 2's entries
   would lose that record, a plain compaction leave one entry stale). */
static void test_store_compact_corrupt(void **state)
{
    (void)state;
    const char *name = path_in(dir, "compact_bad");
    char ndx[600], dat[600];
    snprintf(ndx, sizeof ndx, "%s.ndx", name);
    snprintf(dat, sizeof dat, "%s.dat", name);
    for (int damage = 0; damage < 3; damage++) {
        udb_store *s = open_store(name, 1, UDB_LAYOUT_WIDE, 0);
        for (int32_t i = 0; i < 300; i++) {
            char sk[12], bk[4] = {(char)(i % 7), 0, 0, 1};
            snprintf(sk, sizeof sk, "k%03d", (i * 37) % 300);
            udb_key keys[3] = {{&i, 4}, {sk, strlen(sk)}, {bk, 4}};
            assert_int_equal(udb_store_put(s, keys, "value of 13 b", 5 + (size_t)(i % 9)), 0);
        }
        int32_t id = 150;
        udb_val v = {0};
        assert_int_equal(udb_store_get(s, 1, &id, 4, &v), 0);
        udb_val_free(&v);
        assert_int_equal(udb_store_close(s), 0);
        udb_options raw;
        udb_options_init(&raw);
        raw.flags = UDB_RAW;
        udb_ndx *d;
        int64_t dp;
        assert_int_equal(udb_ndx_open(ndx, &raw, &d), 0);
        assert_int_equal(udb_ndx_find(d, 1, &id, 4, &dp), 0);
        if (damage != 1) /* an entry more: under another key, or (2) under the same */
            assert_int_equal(udb_ndx_append(d, 2, damage ? "k150" : "zzz", damage ? 4 : 3, dp), 0);
        if (damage) { /* an entry less: of another record (2: the count is right) */
            int32_t other = damage == 1 ? id : 7;
            int64_t odp;
            char ok[12];
            assert_int_equal(udb_ndx_find(d, 1, &other, 4, &odp), 0);
            snprintf(ok, sizeof ok, "k%03d", (other * 37) % 300);
            udb_cursor *c;
            udb_item it;
            assert_int_equal(udb_cursor_open(d, 2, &c), 0);
            int rc = udb_cursor_find(c, ok, strlen(ok), &it);
            while (rc == 0 && it.datapos != odp)
                rc = udb_cursor_next(c, &it);
            assert_int_equal(rc, 0);
            assert_int_equal(udb_cursor_delete(c, NULL), 0);
            udb_cursor_close(c);
        }
        assert_int_equal(udb_ndx_close(d), 0);
        size_t nn, nd;
        uint8_t *n0 = read_file(ndx, &nn), *d0 = read_file(dat, &nd);
        for (unsigned ix = 0; ix <= 3; ix++) {
            s = open_store(name, 0, 0, 0);
            int rc = udb_store_compact_order(s, ix);
            if (rc != UDB_CORRUPT)
                fail_msg("damage %d, order by %u: %d (%s)", damage, ix, rc, udb_store_errmsg(s));
            assert_int_equal(udb_store_close(s), 0);
            assert_true(same_bytes(ndx, n0, nn) && same_bytes(dat, d0, nd));
        }
        s = open_store(name, 0, 0, 0);
        assert_int_not_equal(udb_store_check(s, NULL, NULL, NULL), 0);
        assert_int_equal(udb_store_close(s), 0);
        free(n0);
        free(d0);
        unlink(ndx);
        unlink(dat);
    }
}

/* Deletes defer their holes and merge them in position order (at the
   commit, before anything allocates or reads free space, and every 65,536
   releases). A transaction that puts 1,000 records and deletes 70,000 in
   random order, a get and a put in between: the store checks clean, holds
   exactly the records it should, and once the rest is deleted and the
   store compacted the heap is back to its descriptor. */
static void test_store_many_deletes(void **state)
{
    (void)state;
    const char *name = path_in(dir, "manydel");
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", name);
    udb_index_def def = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 0, 0, 0};
    udb_store_def sd = {1, &def, 0, 0};
    udb_store *s;
    assert_int_equal(udb_store_create(name, NULL, &sd, &s), 0);
    size_t size0;
    free(read_file(dat, &size0));
    enum { N = 70000, NEW = 1000 };
    char val[64];
    memset(val, 'v', sizeof val);
    assert_int_equal(udb_store_begin(s), 0);
    for (int32_t i = 0; i < N; i++) {
        udb_key k = {&i, 4};
        assert_int_equal(udb_store_put(s, &k, val, 20 + (size_t)(i % 40)), 0);
    }
    assert_int_equal(udb_store_commit(s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    udb_val v = {0};
    for (int32_t j = 0; j < N; j++) {
        int32_t i = (int32_t)(((int64_t)j * 7919) % N);
        assert_int_equal(udb_store_delete(s, 1, &i, 4, NULL), 0);
        if (j == N / 2) { /* a read and puts in the middle: they see the freed space */
            int32_t gone = i, kept = (int32_t)(((int64_t)(j + 1) * 7919) % N);
            assert_int_equal(udb_store_get(s, 1, &gone, 4, &v), UDB_NOTFOUND);
            assert_int_equal(udb_store_get(s, 1, &kept, 4, &v), 0);
            for (int32_t n = N; n < N + NEW; n++) {
                udb_key k = {&n, 4};
                assert_int_equal(udb_store_put(s, &k, val, 30), 0);
            }
        }
    }
    assert_int_equal(udb_store_commit(s), 0);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    for (int32_t i = 0; i < N + NEW; i += 97)
        assert_int_equal(udb_store_get(s, 1, &i, 4, &v), i < N ? UDB_NOTFOUND : 0);
    assert_int_equal(udb_store_begin(s), 0);
    for (int32_t n = N; n < N + NEW; n++)
        assert_int_equal(udb_store_delete(s, 1, &n, 4, NULL), 0);
    assert_int_equal(udb_store_commit(s), 0);
    assert_int_equal(udb_store_check(s, report, NULL, NULL), 0);
    assert_int_equal(udb_store_compact(s), 0); /* the holes tables go too */
    udb_val_free(&v);
    assert_int_equal(udb_store_close(s), 0);
    size_t size1;
    free(read_file(dat, &size1));
    assert_int_equal(size1, size0);
}

/* A delete over space the heap holds free (a hole planted over a live
   record through the raw heap API): the release is deferred, so the
   commit finds it, refuses (UDB_CORRUPT) and poisons the transaction;
   after the rollback the record and the files are as they were. */
static void test_store_release_over_hole(void **state)
{
    (void)state;
    const char *name = path_in(dir, "overhole");
    char ndx[600], dat[600];
    snprintf(ndx, sizeof ndx, "%s.ndx", name);
    snprintf(dat, sizeof dat, "%s.dat", name);
    udb_index_def def = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 0, 0, 0};
    udb_store_def sd = {1, &def, 0, 0};
    udb_store *s;
    assert_int_equal(udb_store_create(name, NULL, &sd, &s), 0);
    for (int32_t i = 1; i <= 3; i++) {
        udb_key k = {&i, 4};
        assert_int_equal(udb_store_put(s, &k, "value", 5), 0);
    }
    assert_int_equal(udb_store_close(s), 0);
    udb_options raw;
    udb_options_init(&raw);
    raw.flags = UDB_RAW;
    udb_ndx *d;
    int32_t two = 2;
    int64_t pos;
    assert_int_equal(udb_ndx_open(ndx, &raw, &d), 0);
    assert_int_equal(udb_ndx_find(d, 1, &two, 4, &pos), 0);
    udb_ndx_close(d);
    udb_heap *h;
    assert_int_equal(udb_heap_open(dat, &raw, &h), 0);
    assert_int_equal(udb_heap_free(h, pos + 2, 1), 0);
    assert_int_equal(udb_heap_close(h), 0);
    size_t nn, nd;
    uint8_t *n0 = read_file(ndx, &nn), *d0 = read_file(dat, &nd);
    assert_int_equal(udb_store_open(name, NULL, &s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    assert_int_equal(udb_store_delete(s, 1, &two, 4, NULL), 0);
    assert_int_equal(udb_store_commit(s), UDB_CORRUPT);
    assert_non_null(strstr(udb_store_errmsg(s), "already free"));
    int32_t one = 1;
    udb_key k1 = {&one, 4};
    assert_int_not_equal(udb_store_put(s, &k1, "x", 1), 0); /* poisoned: only a rollback */
    assert_int_equal(udb_store_rollback(s), 0);
    udb_val v = {0};
    assert_int_equal(udb_store_get(s, 1, &two, 4, &v), 0);
    assert_int_equal(v.len, 5);
    udb_val_free(&v);
    assert_int_equal(udb_store_delete(s, 1, &two, 4, NULL), UDB_CORRUPT); /* alone: refused */
    assert_int_equal(udb_store_close(s), 0);
    size_t n1, d1;
    uint8_t *n2 = read_file(ndx, &n1), *d2 = read_file(dat, &d1);
    assert_true(n1 == nn && d1 == nd && !memcmp(n0, n2, nn) && !memcmp(d0, d2, nd));
    free(n0);
    free(d0);
    free(n2);
    free(d2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_refusals),
        cmocka_unit_test(test_store_crc),
        cmocka_unit_test(test_store_check_truth),
        cmocka_unit_test(test_store_wide),
        cmocka_unit_test(test_store_classic_compressed),
        cmocka_unit_test(test_store_load_sorted),
        cmocka_unit_test(test_store_compact_empty),
        cmocka_unit_test(test_store_cursor_after_compact),
        cmocka_unit_test(test_store_compact_bounded),
        cmocka_unit_test(test_store_compact_corrupt),
        cmocka_unit_test(test_store_placement),
        cmocka_unit_test(test_store_bad_hints),
        cmocka_unit_test(test_store_guard),
        cmocka_unit_test(test_store_rebuild),
        cmocka_unit_test(test_store_rebuild_damage),
        cmocka_unit_test(test_store_rebuild_sparse),
        cmocka_unit_test(test_store_rebuild_holes),
        cmocka_unit_test(test_store_rebuild_clash),
        cmocka_unit_test(test_store_rebuild_old),
        cmocka_unit_test(test_store_rebuild_crash),
        cmocka_unit_test(test_store_bad_descriptor),
        cmocka_unit_test(test_store_compact_old_damaged),
        cmocka_unit_test(test_store_definition_changed),
        cmocka_unit_test(test_store_many_deletes),
        cmocka_unit_test(test_store_release_over_hole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
