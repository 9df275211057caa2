/*
 * test_model.c — model-based randomized tests of MultiIndex writes: for
 * every key type and both layouts, small and large node orders, UNIQUE and
 * not, ALLOW_DELETE and not, random appends (many duplicates and the edge
 * keys of each type), deletes by key, deletes at the cursor, cursor walks,
 * seeks and finds, compared with an in-memory model after every operation
 * and in full every batch; then close, reopen, full comparison, a clean
 * check and the independent checker, before and after the leaves are laid
 * out in key order (udb_ndx_order). Also ascending and descending loads
 * and "delete everything, then refill".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model.h"
#include "testutil.h"

static const char *dir;
static unsigned long long seed = 0x5eed;
static long ops_per_combo = 100000;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

typedef struct cfg {
    int layout, type;
    unsigned ks, attrs, maxitems;
} cfg;

static const char *tname[] = {"", "BLOCK", "NUM_BLOCK", "INTEGER", "LONG_INT", "STRING", "LOGICAL", "CHARACTER"};
static const unsigned type_ks[] = {0, 4, 3, 2, 4, 8, 1, 1};

/* ---- key pools: random keys plus each type's edge values --------------------------- */
typedef struct pool {
    uint8_t k[400][16];
    size_t n;
} pool;

static void pool_add(pool *p, const void *k, unsigned ks)
{
    memset(p->k[p->n], 0, 16);
    memcpy(p->k[p->n++], k, ks);
}

static void make_pool(pool *p, int type, unsigned ks, size_t n)
{
    static const char *edges[8][6] = {
        {0},
        {"\x00\x00\x00\x00", "\xff\xff\xff\xff", "\xff\xff\xff\xfe", "\x80\x00\x00\x00", 0},
        {"\x00\x00\x00", "\xff\xff\xff", "\x7f\xff\xff", "\x00\x00\x80", 0},
        {"\x00\x80", "\xff\x7f", "\x7f\xff", "\xff\xff", "\x00\x00", 0},
        {"\x00\x00\x00\x80", "\xff\xff\xff\x7f", "\xff\xff\xff\xff", "\x00\x00\x00\x00", 0},
        {"", "\xff\xff\xff\xff\xff\xff\xff", "a\\b", "\x80", 0},
        {"\x00", "\x01", "T", "\xff", 0},
        {"\x00", "\x7f", "\x80", "\xff", "a", 0},
    };
    p->n = 0;
    for (int e = 0; edges[type][e]; e++)
        pool_add(p, edges[type][e], type == 5 ? (unsigned)strlen(edges[type][e]) : ks);
    while (p->n < n) {
        uint8_t k[16] = {0};
        uint64_t r = rnd();
        if (type == 5) {
            unsigned len = (unsigned)(r % ks);
            for (unsigned i = 0; i < len; i++)
                k[i] = (uint8_t)("abcdefghij\x81\xfe~"[(r >> (8 + 3 * i)) % 13]);
        } else if (type == 6 || type == 7) {
            k[0] = (uint8_t)(r >> 8);
        } else {
            for (unsigned i = 0; i < ks; i++)
                k[i] = (uint8_t)(r >> (8 * i));
        }
        pool_add(p, k, ks);
    }
}

/* ---- comparing the file with the model ------------------------------------------------ */
static void full_compare(udb_ndx *d, const model *m, const char *what)
{
    udb_cursor *c;
    udb_item it;
    assert_int_equal(udb_cursor_open(d, 1, &c), 0);
    size_t i = 0;
    int rc;
    for (rc = udb_cursor_first(c, &it); rc == 0; rc = udb_cursor_next(c, &it), i++) {
        if (i >= m->n || memcmp(it.key, m->r[i].key, m->ks) || it.datapos != m->r[i].dp)
            fail_msg("%s: record %zu differs (file dp %lld, model dp %lld, model has %zu)", what, i,
                     (long long)it.datapos, i < m->n ? (long long)m->r[i].dp : -1LL, m->n);
    }
    if (rc != UDB_NOTFOUND)
        fail_msg("%s: walk failed: %s", what, udb_ndx_errmsg(d));
    assert_int_equal(i, m->n);
    i = m->n;
    for (rc = udb_cursor_last(c, &it); rc == 0; rc = udb_cursor_prev(c, &it)) {
        i--;
        assert_int_equal(it.datapos, m->r[i].dp);
    }
    assert_int_equal(i, 0);
    udb_cursor_close(c);
}

static void check_clean(udb_ndx *d, const char *what)
{
    udb_check_report rep;
    int rc = udb_ndx_check(d, NULL, NULL, &rep);
    if (rc)
        fail_msg("%s: check: %s", what, udb_ndx_errmsg(d));
    assert_int_equal(rep.unaccounted_bytes, 0);
    udb_check_report_free(&rep);
}

/* The independent checker of the layout, when the shared tools are there
   (a Python process per file: under UDB_TEST_QUICK every 8th file only). */
static void independent_check(const char *path, int layout)
{
    const char *tool = layout == UDB_LAYOUT_CLASSIC ? "../shared/tools/classic_check.py"
                                                    : "../shared/tools/wide_check.py";
    static unsigned calls;
    if (access(tool, R_OK) != 0)
        return;
    if (getenv("UDB_TEST_QUICK") && calls++ % 8) /* quick runs: every 8th file */
        return;
    if (run_cmd("python3 %s %s >%s.check 2>&1", tool, path, path) != 0) {
        run_cmd("tail -5 %s.check >&2", path);
        fail_msg("%s fails %s", path, tool);
    }
}

/* ---- the randomized run ------------------------------------------------------------------ */
enum { CUR_STALE = -2 };

typedef struct run {
    udb_ndx *d;
    udb_cursor *c;
    model m;
    pool p;
    int64_t next_dp;
    char what[120];
    char trace[40][100]; /* the last operations, printed on failure */
    unsigned ntrace;
} run;

__attribute__((format(printf, 2, 3))) static void trace(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->trace[r->ntrace++ % 40], sizeof r->trace[0], fmt, ap);
    va_end(ap);
}

static void dump_trace(const run *r)
{
    unsigned from = r->ntrace > 40 ? r->ntrace - 40 : 0;
    for (unsigned i = from; i < r->ntrace; i++)
        fprintf(stderr, "  op %u: %s\n", i, r->trace[i % 40]);
}

#define FAIL(r, ...)              \
    do {                          \
        dump_trace(r);            \
        fail_msg(__VA_ARGS__);    \
    } while (0)

static int64_t model_cur_dp(const model *m)
{
    if (m->cur >= 0 && (size_t)m->cur < m->n)
        return m->r[m->cur].dp;
    if (m->cur == CUR_STALE)
        return -4;
    return m->cur == (long)m->n ? -3 : -1; /* EOF leaf / nowhere */
}

/* After a change not made through the cursor: find its record again. */
static void relocate(run *r, int64_t dp)
{
    if (dp == -1 || dp == -4) {
        r->m.cur = dp == -1 ? -1 : CUR_STALE;
        return;
    }
    if (dp == -3) {
        r->m.cur = (long)r->m.n;
        return;
    }
    for (size_t i = 0; i < r->m.n; i++)
        if (r->m.r[i].dp == dp) {
            r->m.cur = (long)i;
            return;
        }
    r->m.cur = CUR_STALE;
}

static void expect_item(run *r, int rc, int mrc, const udb_item *it, const char *op)
{
    if (r->m.cur == CUR_STALE) {
        if (rc != UDB_STALE)
            FAIL(r, "%s: %s gave %d, want UDB_STALE", r->what, op, rc);
        r->m.cur = -1;
        return;
    }
    if ((rc == 0) != (mrc == 0))
        FAIL(r, "%s: %s gave %d (%s), model %d", r->what, op, rc, udb_ndx_errmsg(r->d), mrc);
    if (rc == 0) {
        const model_rec *mr = &r->m.r[r->m.cur];
        if (memcmp(it->key, mr->key, r->m.ks) || it->datapos != mr->dp)
            FAIL(r, "%s: %s landed on dp %lld, model on %lld", r->what, op, (long long)it->datapos,
                     (long long)mr->dp);
    } else if (rc != UDB_NOTFOUND) {
        FAIL(r, "%s: %s failed: %s", r->what, op, udb_ndx_errmsg(r->d));
    }
}

/* first, last, seek and find reposition the cursor, so they work on a
   stale cursor; next, prev and current must report it stale. */
static void op_cursor_move(run *r, unsigned k)
{
    udb_item it;
    const uint8_t *key = r->p.k[rnd() % r->p.n];
    int how = (int)(k % 7), repositions = how == 0 || how == 1 || how == 4 || how == 5;
    int rc, mrc = 0;
    static const char *names[] = {"first", "last", "next", "prev", "seek", "find", "current"};
    if (repositions && r->m.cur == CUR_STALE)
        r->m.cur = -1;
    int stale = r->m.cur == CUR_STALE;
    switch (how) {
    case 0:
        rc = udb_cursor_first(r->c, &it);
        mrc = model_first(&r->m);
        break;
    case 1:
        rc = udb_cursor_last(r->c, &it);
        mrc = model_last(&r->m);
        break;
    case 2:
        rc = udb_cursor_next(r->c, &it);
        mrc = stale ? 0 : model_next(&r->m);
        break;
    case 3:
        rc = udb_cursor_prev(r->c, &it);
        mrc = stale ? 0 : model_prev(&r->m);
        break;
    case 4:
        rc = udb_cursor_seek(r->c, key, r->m.ks, &it);
        mrc = model_seek(&r->m, key);
        break;
    case 5:
        rc = udb_cursor_find(r->c, key, r->m.ks, &it);
        mrc = model_find(&r->m, key);
        break;
    default:
        rc = udb_cursor_current(r->c, &it);
        mrc = r->m.cur >= 0 && (size_t)r->m.cur < r->m.n ? 0 : -1;
    }
    trace(r, "%s key %02x%02x -> rc %d dp %lld; model cur %ld", names[how], key[0], key[1], rc,
          rc ? -1LL : (long long)it.datapos, r->m.cur);
    expect_item(r, rc, mrc, &it, names[how]);
}

static void op_append(run *r, int through_cursor)
{
    const uint8_t *key = r->p.k[rnd() % r->p.n];
    int64_t dp = r->next_dp++, before = model_cur_dp(&r->m);
    int rc = through_cursor ? udb_cursor_append(r->c, key, r->m.ks, dp)
                            : udb_ndx_append(r->d, 1, key, r->m.ks, dp);
    int mrc = r->m.unique && model_has(&r->m, key) ? -1 : 0;
    if (mrc == 0)
        model_append(&r->m, key, dp);
    trace(r, "append%s key %02x%02x dp %lld -> rc %d", through_cursor ? " (cursor)" : "", key[0],
          key[1], (long long)dp, rc);
    if (rc != (mrc ? UDB_EXISTS : 0))
        FAIL(r, "%s: append gave %d (%s), want %d", r->what, rc, udb_ndx_errmsg(r->d),
                 mrc ? UDB_EXISTS : 0);
    if (!through_cursor || mrc)
        relocate(r, before);
}

static void op_delete_key(run *r, int through_cursor)
{
    const uint8_t *key = r->p.k[rnd() % r->p.n];
    int64_t before = model_cur_dp(&r->m);
    long keep = r->m.cur;
    uint64_t removed = 99;
    int rc = through_cursor ? udb_cursor_delete_key(r->c, key, r->m.ks, &removed)
                            : udb_ndx_delete(r->d, 1, key, r->m.ks, &removed);
    size_t n = model_delete_key(&r->m, key);
    trace(r, "delete%s key %02x%02x -> rc %d removed %llu (model %zu)",
          through_cursor ? " (cursor)" : "", key[0], key[1], rc, (unsigned long long)removed, n);
    if (rc != (n ? 0 : UDB_NOTFOUND) || removed != (rc ? 0 : n))
        FAIL(r, "%s: delete gave %d/%llu (%s), model %zu", r->what, rc, (unsigned long long)removed,
                 udb_ndx_errmsg(r->d), n);
    if (!n) /* nothing removed: no cursor move */
        r->m.cur = keep;
    if (!through_cursor || !n)
        relocate(r, before);
}

static void op_delete_cursor(run *r)
{
    udb_item it;
    model_rec gone;
    int stale = r->m.cur == CUR_STALE;
    int rc = udb_cursor_delete(r->c, &it);
    trace(r, "cursor delete -> rc %d dp %lld; model cur %ld", rc, rc ? -1LL : (long long)it.datapos,
          r->m.cur);
    if (stale) {
        assert_int_equal(rc, UDB_STALE);
        r->m.cur = -1;
        return;
    }
    int mrc = model_delete_cur(&r->m, &gone);
    if ((rc == 0) != (mrc == 0))
        FAIL(r, "%s: cursor delete gave %d (%s), model %d", r->what, rc, udb_ndx_errmsg(r->d), mrc);
    if (rc == 0) {
        assert_int_equal(it.datapos, gone.dp);
        assert_memory_equal(it.key, gone.key, r->m.ks);
        udb_item cur;
        int crc = udb_cursor_current(r->c, &cur);
        expect_item(r, crc, r->m.cur >= 0 && (size_t)r->m.cur < r->m.n ? 0 : -1, &cur, "after delete");
    }
}

static void op_find(run *r)
{
    const uint8_t *key = r->p.k[rnd() % r->p.n];
    int64_t dp = -7;
    int rc = udb_ndx_find(r->d, 1, key, r->m.ks, &dp);
    size_t i = model_lower(&r->m, key);
    int has = i < r->m.n && model_cmp(&r->m, r->m.r[i].key, key) == 0;
    if (rc != (has ? 0 : UDB_NOTFOUND) || (has && dp != r->m.r[i].dp))
        FAIL(r, "%s: find gave %d/%lld, model %d/%lld", r->what, rc, (long long)dp, has,
                 has ? (long long)r->m.r[i].dp : -1LL);
}

/* The places of index 1's leaves, in key order (malloc'd). */
static int64_t *leaf_places(udb_ndx *d, size_t *n)
{
    udb_cursor *c;
    udb_item it;
    size_t cap = 64;
    int64_t *pos = malloc(cap * sizeof *pos);
    assert_non_null(pos);
    assert_int_equal(udb_cursor_open(d, 1, &c), 0);
    for (int rc = udb_cursor_first(c, &it); rc == 0; rc = udb_cursor_next(c, &it)) {
        if (*n == cap)
            assert_non_null(pos = realloc(pos, (cap *= 2) * sizeof *pos));
        pos[(*n)++] = it.leaf;
    }
    udb_cursor_close(c);
    return pos;
}

static int cmp_pos(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void randomized(const cfg *c, long ops)
{
    run r;
    memset(&r, 0, sizeof r);
    snprintf(r.what, sizeof r.what, "%s %s ks%u attrs%u max%u", c->layout == 1 ? "classic" : "wide",
             tname[c->type], c->ks, c->attrs, c->maxitems);
    char name[64];
    snprintf(name, sizeof name, "m_%d_%d_%u_%u.ndx", c->layout, c->type, c->attrs, c->maxitems);
    const char *path = path_in(dir, name);
    udb_options o;
    udb_options_init(&o);
    o.layout = c->layout;
    o.sync = UDB_SYNC_OFF;
    assert_int_equal(udb_ndx_create(path, &o, 1, &r.d), 0);
    udb_index_def def = {c->type, c->ks, c->attrs, c->maxitems, 2, 5};
    assert_int_equal(udb_ndx_define(r.d, 1, &def), 0);
    model_init(&r.m, c->type, c->ks, c->layout == UDB_LAYOUT_CLASSIC, c->attrs & UDB_UNIQUE);
    make_pool(&r.p, c->type, c->ks, c->type >= 6 ? 40 : 60 + rnd() % 300);
    r.next_dp = 1;
    assert_int_equal(udb_cursor_open(r.d, 1, &r.c), 0);
    assert_int_equal(udb_ndx_begin(r.d), 0);
    for (long i = 1; i <= ops; i++) {
        unsigned k = (unsigned)(rnd() % 100);
        /* grow while small, churn later */
        int grow = r.m.n < 40 || (i / 2000) % 3 != 2;
        if (k < (grow ? 45u : 25u))
            op_append(&r, k & 1);
        else if (k < 55)
            op_delete_key(&r, k & 1);
        else if (k < 65)
            op_delete_cursor(&r);
        else if (k < 92)
            op_cursor_move(&r, k);
        else
            op_find(&r);
        if (i % 997 == 0) {
            assert_int_equal(udb_ndx_commit(r.d), 0);
            assert_int_equal(udb_ndx_begin(r.d), 0);
        }
        if (i % 4999 == 0)
            full_compare(r.d, &r.m, r.what);
    }
    assert_int_equal(udb_ndx_commit(r.d), 0);
    full_compare(r.d, &r.m, r.what);
    check_clean(r.d, r.what);
    udb_cursor_close(r.c);
    assert_int_equal(udb_ndx_close(r.d), 0);
    /* reopen: the same records, a clean check, the independent checker;
       half the time with a dirty limit of 4 KiB: the order below then
       finds the places in batches of 16 and spills all along */
    if (rnd() % 2)
        o.dirty_limit = 4096;
    assert_int_equal(udb_ndx_open(path, &o, &r.d), 0);
    full_compare(r.d, &r.m, r.what);
    check_clean(r.d, r.what);
    /* the leaves laid out in key order (udb_ndx_order): the same records
       in the same order (duplicates too), over the places they held */
    size_t nl = 0;
    int64_t *places = leaf_places(r.d, &nl);
    qsort(places, nl, sizeof *places, cmp_pos);
    if (udb_ndx_order(r.d, rnd() % 2))
        fail_msg("%s: order: %s", r.what, udb_ndx_errmsg(r.d));
    full_compare(r.d, &r.m, r.what);
    check_clean(r.d, r.what);
    size_t nl2 = 0;
    int64_t *after = leaf_places(r.d, &nl2);
    assert_int_equal(nl2, nl);
    for (size_t j = 0; j < nl; j++)
        if (after[j] != places[j])
            fail_msg("%s: after udb_ndx_order, leaf %zu in key order is at %lld, not at %lld", r.what, j,
                     (long long)after[j], (long long)places[j]);
    free(places);
    free(after);
    udb_ndx_close(r.d);
    independent_check(path, c->layout);
    model_free(&r.m);
}

static void test_randomized(void **state)
{
    (void)state;
    static const unsigned attrs[] = {0, UDB_UNIQUE, UDB_ALLOW_DELETE, UDB_UNIQUE | UDB_ALLOW_DELETE};
    const char *only = getenv("UDB_TEST_TYPE"); /* debugging: one key type */
    for (int layout = 1; layout <= 2; layout++)
        for (int type = 1; type <= 7; type++)
            if (!only || atoi(only) == type)
            for (int a = 0; a < 4; a++)
                for (int big = 0; big < 2; big++) {
                    cfg c = {layout, type, type_ks[type], attrs[a], big ? 40 + (unsigned)(rnd() % 30) : 3 + (unsigned)(rnd() % 3)};
                    randomized(&c, ops_per_combo / 8);
                }
}

/* ---- sequential loads, empty and refill ------------------------------------------------------ */
static void sequential(int layout, unsigned attrs, int descending, unsigned maxitems)
{
    char name[64];
    snprintf(name, sizeof name, "seq_%d_%u_%d_%u.ndx", layout, attrs, descending, maxitems);
    const char *path = path_in(dir, name);
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    udb_ndx *d;
    assert_int_equal(udb_ndx_create(path, &o, 2, &d), 0);
    udb_index_def def = {UDB_KEY_LONG_INT, 4, attrs, maxitems, 3, 7};
    assert_int_equal(udb_ndx_define(d, 2, &def), 0);
    def.keytype = UDB_KEY_STRING;
    def.keysize = 12;
    assert_int_equal(udb_ndx_define(d, 1, &def), 0);
    model m;
    model_init(&m, UDB_KEY_LONG_INT, 4, layout == 1, attrs & UDB_UNIQUE);
    const int32_t n = 3000;
    assert_int_equal(udb_ndx_begin(d), 0);
    for (int round = 0; round < 2; round++) {
        for (int32_t i = 0; i < n; i++) {
            int32_t v = descending ? n - i : i - 1000;
            uint8_t k[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)((uint32_t)v >> 24)};
            assert_int_equal(udb_ndx_append(d, 2, k, 4, v + 5000), 0);
            model_append(&m, k, v + 5000);
        }
        {
            udb_cursor *c;
            udb_item it;
            size_t j = 0;
            assert_int_equal(udb_cursor_open(d, 2, &c), 0);
            for (int rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it), j++)
                assert_int_equal(it.datapos, m.r[j].dp);
            assert_int_equal(j, m.n);
            udb_cursor_close(c);
        }
        check_clean(d, "sequential load");
        /* delete everything (in random order), then refill in the next round */
        for (int32_t i = 0; i < n; i++) {
            int32_t v = descending ? n - ((i * 7919) % n) : ((i * 7919) % n) - 1000;
            uint8_t k[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)((uint32_t)v >> 24)};
            uint64_t removed;
            assert_int_equal(udb_ndx_delete(d, 2, k, 4, &removed), 0);
            assert_int_equal(removed, 1);
            model_delete_key(&m, k);
        }
        assert_int_equal(m.n, 0);
        udb_index_info inf;
        assert_int_equal(udb_ndx_info(d, 2, &inf), 0);
        assert_int_equal(inf.first_leaf, inf.last_leaf);
        check_clean(d, "emptied");
    }
    assert_int_equal(udb_ndx_commit(d), 0);
    udb_ndx_close(d);
    independent_check(path, layout);
    model_free(&m);
}

static void test_sequential(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++)
        for (unsigned attrs = 0; attrs < 4; attrs++)
            for (int desc = 0; desc < 2; desc++)
                sequential(layout, attrs, desc, attrs & 1 ? 4 : 33);
}

/* ---- bulk load with every type's edge keys ------------------------------------------------ */
typedef struct bfeed {
    const model *m;
    size_t i;
} bfeed;

static int bulk_next(void *arg, const void **key, size_t *len, int64_t *dp)
{
    bfeed *f = arg;
    if (f->i == f->m->n)
        return 1;
    *key = f->m->r[f->i].key;
    *len = f->m->ks;
    *dp = f->m->r[f->i].dp;
    f->i++;
    return 0;
}

static void test_bulk_edges(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++)
        for (int type = 1; type <= 7; type++) {
            char name[64];
            snprintf(name, sizeof name, "bulk_%d_%d.ndx", layout, type);
            const char *path = path_in(dir, name);
            udb_options o;
            udb_options_init(&o);
            o.layout = layout;
            o.sync = UDB_SYNC_OFF;
            udb_ndx *d;
            assert_int_equal(udb_ndx_create(path, &o, 1, &d), 0);
            udb_index_def def = {type, type_ks[type], UDB_ALLOW_DELETE, 4, 2, 5};
            assert_int_equal(udb_ndx_define(d, 1, &def), 0);
            model m;
            pool p;
            model_init(&m, type, type_ks[type], layout == 1, 0);
            make_pool(&p, type, type_ks[type], 120);
            for (size_t i = 0; i < 600; i++) /* the model's order is the load order */
                model_append(&m, p.k[rnd() % p.n], (int64_t)i + 1);
            /* equal keys keep the given order: feed the model's traversal */
            bfeed f = {&m, 0};
            uint64_t n;
            assert_int_equal(udb_ndx_load_sorted(d, 1, bulk_next, &f, &n), 0);
            assert_int_equal(n, m.n);
            full_compare(d, &m, name);
            check_clean(d, name);
            /* and it stays a normal index */
            for (int i = 0; i < 300; i++) {
                const uint8_t *k = p.k[rnd() % p.n];
                if (i % 3) {
                    assert_int_equal(udb_ndx_append(d, 1, k, m.ks, 10000 + i), 0);
                    model_append(&m, k, 10000 + i);
                } else {
                    uint64_t removed;
                    int rc = udb_ndx_delete(d, 1, k, m.ks, &removed);
                    assert_int_equal(removed, model_delete_key(&m, k));
                    (void)rc;
                }
            }
            full_compare(d, &m, name);
            check_clean(d, name);
            udb_ndx_close(d);
            independent_check(path, layout);
            model_free(&m);
        }
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("model"));
    if (getenv("UDB_TEST_QUICK"))
        ops_per_combo = 4000;
    const char *s = getenv("UDB_TEST_SEED");
    if (s)
        seed = strtoull(s, NULL, 0);
    fprintf(stderr, "seed 0x%llx (UDB_TEST_SEED to repeat)\n", seed);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((void *)dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_bulk_edges),
        cmocka_unit_test(test_randomized),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
