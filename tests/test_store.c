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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "endian.h"
#include "layout.h"
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
static void op_put(udb_store *s, smodel *m)
{
    srec r;
    random_rec(&r);
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
    udb_store_close(s);
    udb_val_free(&val);
    free(m.r);
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
    t->rec = 11 + 23; /* after the header and the store descriptor */
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
    check_says(s, "index 1 has no entry for the record at 34", "index 1's key");
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
    /* frames: tag at pos; hints after the 9-byte header and 20 key bytes */
    size_t changed = 0;
    for (size_t p = 11 + 23; p + 29 + 24 < len;) {
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_refusals),
        cmocka_unit_test(test_store_crc),
        cmocka_unit_test(test_store_check_truth),
        cmocka_unit_test(test_store_wide),
        cmocka_unit_test(test_store_classic_compressed),
        cmocka_unit_test(test_store_load_sorted),
        cmocka_unit_test(test_store_bad_hints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
