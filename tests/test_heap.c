/*
 * test_heap.c — HeapFile writes: allocation never overlaps, coalescing,
 * the end of the file given back, refusals (double free, tables), rollback,
 * the churn bound (file within 1.5x of the live bytes plus the holes
 * tables), and the originals' heap files: allocations into m64_heap.dat
 * never touch a live record of its manifest; holes added to l16_heap.dat
 * are read back by a table parser written here from the layout documents.
 * The check: clean on every heap udb writes; on holes tables damaged in
 * every way the allocator refuses (holes outside the file, over the header
 * or a table, overlapping, negative, empty, 2^31-1 long; tables that
 * overlap or hold no hole) it fails, and allocation and release then fail
 * as it said.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "layout.h"
#include "testutil.h"

static const char *dir;
static uint64_t seed = 0x4ea9;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static udb_heap *hopen(const char *path, int create, int layout, unsigned slots)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    udb_heap *h;
    int rc = create ? udb_heap_create(path, &o, slots, &h) : udb_heap_open(path, &o, &h);
    if (rc)
        fail_msg("%s: %s", path, udb_heap_errmsg(h));
    return h;
}

/* udb_heap_check: its code (the message printed when not 0); no problem counted. */
static int heap_clean(udb_heap *h)
{
    udb_check_report rep;
    int rc = udb_heap_check(h, NULL, NULL, &rep);
    if (rc)
        fprintf(stderr, "heap check: %s\n", udb_heap_errmsg(h));
    assert_int_equal(rep.problems, 0);
    udb_check_report_free(&rep);
    return rc;
}

/* ---- an independent reader of the holes chain (from the layout documents) -------------- */
typedef struct ind_hole {
    int64_t pos, size;
} ind_hole;

static int64_t rd(const uint8_t *p, int w)
{
    return w == 4 ? (int64_t)(int32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24)
                  : (int64_t)((uint64_t)rd(p, 4) & 0xffffffffu) | (int64_t)((uint64_t)rd(p + 4, 4) << 32);
}

/* Reads the chain as the original of the layout would; returns the number of
   readable holes (fails the test on a broken chain), tables in *tables and
   their bytes in *tbytes. */
static size_t independent_holes(const char *path, int classic, ind_hole *out, size_t max,
                                unsigned *tables, uint64_t *tbytes)
{
    size_t len, n = 0;
    uint8_t *d = read_file(path, &len);
    int w = classic ? 4 : 8;
    unsigned hs = classic ? 7 : 11;
    assert_true(len >= hs);
    uint8_t x = 0;
    for (unsigned i = 0; i < hs; i++)
        x ^= d[i];
    assert_int_equal(x, 0);
    int64_t t = rd(d + 1, w);
    unsigned slots = d[1 + w] | d[2 + w] << 8;
    size_t tsz = classic ? 7 + 8 * (size_t)slots : 16 * (size_t)slots - 5;
    *tables = 0;
    while (t != -1) {
        assert_true(t >= hs && (size_t)t + tsz <= len);
        x = 0;
        for (size_t i = 0; i < tsz; i++)
            x ^= d[t + (int64_t)i];
        assert_int_equal(x, 0);
        unsigned used = d[t + 1] | d[t + 2] << 8;
        assert_true(used <= slots);
        unsigned first = classic ? 1 : 1, last = classic ? used : used - (used ? 1 : 0);
        for (unsigned r = first; r <= last && used; r++) {
            size_t off = classic ? 7 + 8 * (size_t)r : 16 * (size_t)r - 5;
            assert_true(off + 2 * (size_t)w <= tsz); /* never in an unreadable slot */
            if (n < max)
                out[n] = (ind_hole){rd(d + t + off, w), rd(d + t + off + w, w)};
            n++;
        }
        ++*tables;
        t = rd(d + t + 3, w);
        assert_true(*tables < 100000);
    }
    *tbytes = *tables * tsz;
    free(d);
    return n;
}

/* ---- coalescing, the end of the file, refusals, rollback ------------------------------------ */
static void test_coalesce(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        const char *p = path_in(dir, layout == 1 ? "co_c.dat" : "co_w.dat");
        udb_heap *h = hopen(p, 1, layout, 8);
        udb_heap_info inf;
        int64_t a, b, c, e;
        assert_int_equal(udb_heap_info_get(h, &inf), 0);
        uint64_t base = inf.file_size;
        assert_int_equal(udb_heap_alloc(h, 100, &a), 0);
        assert_int_equal(udb_heap_alloc(h, 200, &b), 0);
        assert_int_equal(udb_heap_alloc(h, 300, &c), 0);
        assert_int_equal(udb_heap_alloc(h, 50, &e), 0);
        assert_int_equal(b, a + 100);
        assert_int_equal(c, b + 200);
        assert_int_equal(udb_heap_write(h, a, "x", 1), 0);
        assert_int_equal(udb_heap_free(h, b, 200), 0);
        assert_int_equal(udb_heap_free(h, a, 100), 0);     /* merges with b */
        assert_int_equal(udb_heap_free(h, b, 10), UDB_INVAL); /* already free */
        assert_int_equal(udb_heap_free(h, 0, 5), UDB_INVAL);  /* the header */
        assert_int_equal(udb_heap_free(h, c, UINT64_MAX), UDB_INVAL); /* -1 as a length */
        assert_int_equal(udb_heap_free(h, c, (uint64_t)1 << 63), UDB_INVAL);
        assert_int_equal(udb_heap_info_get(h, &inf), 0);
        assert_int_equal(inf.holes, 1);
        assert_int_equal(inf.hole_bytes, 300);
        int64_t got;
        assert_int_equal(udb_heap_alloc(h, 250, &got), 0); /* from the merged hole */
        assert_int_equal(got, a);
        assert_int_equal(udb_heap_free(h, got, 250), 0);
        /* the table now sits after e: freeing e and c gives bytes back */
        assert_int_equal(udb_heap_free(h, e, 50), 0);
        assert_int_equal(udb_heap_info_get(h, &inf), 0);
        uint64_t with_table = inf.file_size;
        assert_true(with_table < base + 650 + inf.table_size + 1);
        /* rollback of a transaction restores holes and size */
        assert_int_equal(udb_heap_begin(h), 0);
        assert_int_equal(udb_heap_alloc(h, 5000, &got), 0);
        assert_int_equal(udb_heap_free(h, c, 300), 0);
        assert_int_equal(udb_heap_rollback(h), 0);
        udb_heap_info after;
        assert_int_equal(udb_heap_info_get(h, &after), 0);
        assert_int_equal(after.file_size, inf.file_size);
        assert_int_equal(after.holes, inf.holes);
        udb_heap_close(h);
        ind_hole ih[16];
        unsigned tables;
        uint64_t tb;
        size_t n = independent_holes(p, layout == 1, ih, 16, &tables, &tb);
        assert_int_equal(n, after.holes);
    }
}

static void test_end_given_back(void **state)
{
    (void)state;
    const char *p = path_in(dir, "end.dat");
    udb_heap *h = hopen(p, 1, UDB_LAYOUT_WIDE, 0);
    int64_t a, b;
    udb_heap_info inf;
    assert_int_equal(udb_heap_alloc(h, 4000, &a), 0);
    assert_int_equal(udb_heap_alloc(h, 9000, &b), 0);
    assert_int_equal(udb_heap_free(h, b, 9000), 0);
    assert_int_equal(udb_heap_free(h, a, 4000), 0);
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    assert_int_equal(inf.file_size, 11); /* only the header is left */
    assert_int_equal(inf.holes, 0);
    udb_heap_close(h);
    size_t len;
    free(read_file(p, &len));
    assert_int_equal(len, 11);
}

/* Space given back at the end and taken again in the same transaction
   reads as zeros, not as what was written there before (the pager only
   zeroes what is not fresh memory). */
static void test_regrown_end_is_zero(void **state)
{
    (void)state;
    const char *p = path_in(dir, "regrow.dat");
    udb_heap *h = hopen(p, 1, UDB_LAYOUT_CLASSIC, 0);
    static uint8_t junk[20000], back[20000], zero[20000];
    memset(junk, 0xa5, sizeof junk);
    int64_t a, b, c;
    assert_int_equal(udb_heap_begin(h), 0);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(udb_heap_alloc(h, sizeof junk, &a), 0);
        assert_int_equal(udb_heap_write(h, a, junk, sizeof junk), 0);
        assert_int_equal(udb_heap_free(h, a, sizeof junk), 0); /* the end goes back */
        assert_int_equal(udb_heap_alloc(h, 5000, &b), 0);
        assert_int_equal(udb_heap_alloc(h, 15000, &c), 0);
        assert_int_equal(b, a);
        assert_int_equal(udb_heap_read(h, b, back, 5000), 0);
        assert_memory_equal(back, zero, 5000);
        assert_int_equal(udb_heap_read(h, c, back, 15000), 0);
        assert_memory_equal(back, zero, 15000);
        assert_int_equal(udb_heap_free(h, c, 15000), 0);
        assert_int_equal(udb_heap_free(h, b, 5000), 0);
    }
    assert_int_equal(udb_heap_commit(h), 0);
    udb_heap_close(h);
}

/* ---- churn -------------------------------------------------------------------------------------- */
typedef struct live {
    int64_t pos;
    uint64_t len;
} live;

static int cmp_live(const void *a, const void *b)
{
    const live *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void no_overlap(live *l, size_t n)
{
    live *c = malloc(n * sizeof *c);
    memcpy(c, l, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_live);
    for (size_t i = 1; i < n; i++)
        if (c[i - 1].pos + (int64_t)c[i - 1].len > c[i].pos)
            fail_msg("allocations overlap at %lld", (long long)c[i].pos);
    free(c);
}

static void churn(int layout, long rounds, size_t nlive)
{
    const char *p = path_in(dir, layout == 1 ? "churn_c.dat" : "churn_w.dat");
    udb_heap *h = hopen(p, 1, layout, 0);
    live *l = calloc(nlive, sizeof *l);
    uint64_t live_bytes = 0;
    assert_int_equal(udb_heap_begin(h), 0);
    for (size_t i = 0; i < nlive; i++) {
        l[i].len = 1 + rnd() % 4096;
        assert_int_equal(udb_heap_alloc(h, l[i].len, &l[i].pos), 0);
        live_bytes += l[i].len;
    }
    udb_heap_info inf;
    for (long r = 1; r <= rounds; r++) {
        size_t i = rnd() % nlive;
        assert_int_equal(udb_heap_free(h, l[i].pos, l[i].len), 0);
        live_bytes -= l[i].len;
        l[i].len = 1 + rnd() % 4096;
        assert_int_equal(udb_heap_alloc(h, l[i].len, &l[i].pos), 0);
        uint8_t mark[8];
        memcpy(mark, &l[i].pos, 8);
        assert_int_equal(udb_heap_write(h, l[i].pos, mark, l[i].len < 8 ? l[i].len : 8), 0);
        live_bytes += l[i].len;
        if (r % 5000 == 0) {
            assert_int_equal(udb_heap_commit(h), 0);
            no_overlap(l, nlive);
            assert_int_equal(heap_clean(h), 0);
            assert_int_equal(udb_heap_info_get(h, &inf), 0);
            uint64_t tables = (uint64_t)inf.tables * inf.table_size;
            if (inf.file_size > live_bytes * 3 / 2 + tables + 11)
                fail_msg("round %ld: file %llu bytes, live %llu + tables %llu", r,
                         (unsigned long long)inf.file_size, (unsigned long long)live_bytes,
                         (unsigned long long)tables);
            assert_int_equal(udb_heap_begin(h), 0);
        }
    }
    assert_int_equal(udb_heap_commit(h), 0);
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    fprintf(stderr, "churn %s: %ld rounds, live %llu bytes, file %llu bytes (%.2fx), %u tables\n",
            layout == 1 ? "classic" : "wide", rounds, (unsigned long long)live_bytes,
            (unsigned long long)inf.file_size, (double)inf.file_size / (double)live_bytes, inf.tables);
    udb_heap_close(h);
    ind_hole ih[1];
    unsigned tables;
    uint64_t tb;
    independent_holes(p, layout == 1, ih, 0, &tables, &tb);
    assert_int_equal(tables, inf.tables);
    free(l);
}

static void test_churn(void **state)
{
    (void)state;
    long rounds = getenv("UDB_TEST_QUICK") ? 10000 : 40000;
    churn(UDB_LAYOUT_WIDE, rounds, 300);
    churn(UDB_LAYOUT_CLASSIC, rounds / 4, 300);
}

/* ---- the originals' heap files ---------------------------------------------------------------- */
static void test_m64_heap(void **state)
{
    (void)state;
    const char *p = path_in(dir, "m64.dat");
    assert_int_equal(copy_file(FIXTURES "/wide/m64_heap.dat", p), 0);
    live rec[200];
    size_t nrec = 0;
    FILE *f = fopen(FIXTURES "/wide/m64_heap.dat.manifest", "r");
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char key[64];
        long long pos, len;
        if (sscanf(line, "live\t%63s\t%lld\t%lld", key, &pos, &len) == 3)
            rec[nrec++] = (live){pos, (uint64_t)len};
    }
    fclose(f);
    assert_int_equal(nrec, 139);
    udb_heap *h = hopen(p, 0, 0, 0);
    live got[400];
    size_t ng = 0;
    assert_int_equal(udb_heap_begin(h), 0);
    for (int i = 0; i < 300; i++) {
        got[ng].len = 1 + rnd() % 200;
        assert_int_equal(udb_heap_alloc(h, got[ng].len, &got[ng].pos), 0);
        for (size_t k = 0; k < nrec; k++)
            if (got[ng].pos < rec[k].pos + (int64_t)rec[k].len && rec[k].pos < got[ng].pos + (int64_t)got[ng].len)
                fail_msg("allocation at %lld overlaps the live record at %lld", (long long)got[ng].pos,
                         (long long)rec[k].pos);
        ng++;
    }
    no_overlap(got, ng);
    /* give half back: the chain stays readable by the original's rules */
    for (size_t i = 0; i < ng; i += 2)
        assert_int_equal(udb_heap_free(h, got[i].pos, got[i].len), 0);
    assert_int_equal(udb_heap_commit(h), 0);
    assert_int_equal(heap_clean(h), 0);
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    udb_heap_close(h);
    ind_hole ih[1000];
    unsigned tables;
    uint64_t tb;
    size_t n = independent_holes(p, 0, ih, 1000, &tables, &tb);
    assert_int_equal(n, inf.holes);
    for (size_t i = 0; i < n && i < 1000; i++)
        for (size_t k = 0; k < nrec; k++)
            assert_false(ih[i].pos < rec[k].pos + (int64_t)rec[k].len && rec[k].pos < ih[i].pos + ih[i].size);
}

static void test_l16_heap(void **state)
{
    (void)state;
    const char *p = path_in(dir, "l16.dat");
    assert_int_equal(copy_file(FIXTURES "/classic/l16_heap.dat", p), 0);
    udb_heap *h = hopen(p, 0, 0, 0);
    int64_t a, b, c;
    assert_int_equal(udb_heap_begin(h), 0);
    assert_int_equal(udb_heap_alloc(h, 33, &a), 0); /* exactly the hole at 120 */
    assert_int_equal(a, 120);
    assert_int_equal(udb_heap_alloc(h, 4, &b), 0); /* a small hole, partly */
    assert_true(b == 57 || b == 20 || b == 160 || b == 190);
    assert_int_equal(udb_heap_alloc(h, 500, &c), 0); /* no hole fits: the end */
    assert_int_equal(c, 324);
    assert_int_equal(udb_heap_free(h, a, 33), 0);
    assert_int_equal(udb_heap_free(h, 100, 10), 0); /* a new hole of old data */
    assert_int_equal(udb_heap_commit(h), 0);
    assert_int_equal(heap_clean(h), 0);
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    udb_heap_close(h);
    ind_hole ih[32];
    unsigned tables;
    uint64_t tb;
    size_t n = independent_holes(p, 1, ih, 32, &tables, &tb);
    assert_int_equal(n, inf.holes);
    assert_int_equal(tables, 3); /* the original's tables had room */
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= ih[i].pos == 100 && ih[i].size == 10;
    assert_true(found);
}

/* ---- the check and the allocator agree ------------------------------------------------------ */
static void note_problem(void *arg, int severity, int64_t off, unsigned index, const char *text)
{
    (void)off;
    assert_int_equal(severity, UDB_PROBLEM);
    assert_int_equal(index, 0);
    size_t n = strlen(arg);
    snprintf((char *)arg + n, 1000 - n, "%s\n", text);
}

typedef struct heap_sample {
    uint8_t *d;
    size_t len;
    const lay *L;
    int64_t table, a, s1, b;    /* the table holds holes a (100 bytes) and b (200) */
    size_t tsize;
} heap_sample;

/* header, a, s1, b, s2, e, the table, f */
static void make_sample(int layout, heap_sample *x)
{
    const char *p = path_in(dir, "sample.dat");
    remove(p);
    udb_heap *h = hopen(p, 1, layout, 4);
    int64_t s2, e, f;
    assert_int_equal(udb_heap_alloc(h, 100, &x->a), 0);
    assert_int_equal(udb_heap_alloc(h, 10, &x->s1), 0);
    assert_int_equal(udb_heap_alloc(h, 200, &x->b), 0);
    assert_int_equal(udb_heap_alloc(h, 10, &s2), 0);
    assert_int_equal(udb_heap_alloc(h, 400, &e), 0);
    assert_int_equal(udb_heap_free(h, x->a, 100), 0);
    assert_int_equal(udb_heap_free(h, x->b, 200), 0);
    assert_int_equal(udb_heap_alloc(h, 1000, &f), 0);
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    assert_int_equal(inf.tables, 1);
    assert_int_equal(inf.holes, 2);
    assert_true(inf.first_table < f);
    assert_int_equal(heap_clean(h), 0);
    udb_heap_close(h);
    x->table = inf.first_table;
    x->tsize = inf.table_size;
    x->L = lay_get(layout);
    x->d = read_file(p, &x->len);
}

/* The damaged file: the check fails, naming what the allocator refuses;
   allocation and release fail the same way and change nothing. */
static void refused_as_checked(const heap_sample *x, const uint8_t *img, const char *want, const char *what)
{
    const char *p = path_in(dir, "damaged.dat");
    assert_int_equal(write_file(p, img, x->len), 0);
    udb_heap *h = hopen(p, 0, 0, 0);
    char msg[1000] = "";
    udb_check_report rep;
    int rc = udb_heap_check(h, note_problem, msg, &rep);
    if (rc != UDB_CORRUPT || !strstr(msg, want))
        fail_msg("%s: the check says %d '%s', want UDB_CORRUPT '%s'", what, rc, msg, want);
    assert_true(rep.problems >= 1);
    udb_check_report_free(&rep);
    int64_t pos;
    assert_int_equal(udb_heap_alloc(h, 1, &pos), UDB_CORRUPT);
    assert_int_equal(udb_heap_free(h, x->s1, 10), UDB_CORRUPT);
    assert_non_null(strstr(udb_heap_errmsg(h), "writes are refused"));
    udb_heap_close(h);
    size_t len;
    uint8_t *now = read_file(p, &len);
    assert_int_equal(len, x->len);
    assert_memory_equal(now, img, len);
    free(now);
}

static void test_check_holes(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        heap_sample x;
        make_sample(layout, &x);
        int64_t len = (int64_t)x.len;
        const struct {
            unsigned r;
            int64_t pos, size;
            const char *want, *what;
        } bad[] = {
            {1, len + 10, 5, "outside the file", "a hole past the end"},
            {1, len - 50, 100, "outside the file", "a hole across the end"},
            {1, -1, 10, "outside the file", "a hole at -1"},
            {2, x.b, -5, "outside the file", "a negative hole"},
            {2, x.b, 0, "outside the file", "an empty hole"},
            {2, x.b, INT32_MAX, "outside the file", "a hole of 2^31-1 bytes"},
            {2, x.b, layout == 2 ? INT64_MAX : INT32_MAX, "outside the file", "the longest hole"},
            {1, 0, 5, "overlaps the header", "a hole over the header"},
            {2, x.table + 3, 10, "overlaps the header, a holes table", "a hole over the table"},
            {2, x.a + 50, 100, "another hole", "overlapping holes"},
        };
        uint8_t *img = malloc(x.len);
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            memcpy(img, x.d, x.len);
            lay_table_set_hole(x.L, img + x.table, bad[k].r, bad[k].pos, bad[k].size);
            refused_as_checked(&x, img, bad[k].want, bad[k].what);
        }
        /* a second table overlapping the first (both checksums valid): the
           first's unused last slot holds the second's start */
        memcpy(img, x.d, x.len);
        int64_t t2 = x.table + (int64_t)x.tsize - 4;
        lay_table_encode(x.L, img + t2, 4, -1, NULL, NULL, 0);
        lay_table_set_next(x.L, img + x.table, t2);
        lay_ck_fix(img + x.table, x.tsize);
        refused_as_checked(&x, img, "overlaps the one at", "overlapping tables");
        /* one slot per table: a table holds no hole (a release crashed) */
        memcpy(img, x.d, x.len);
        lay_heap_hdr_encode(x.L, img, x.table, 1);
        refused_as_checked(&x, img, "a table holds no hole", "one slot per table");
        lay_heap_hdr_encode(x.L, img, -1, 1);
        refused_as_checked(&x, img, "a table holds no hole", "one slot per table, no table yet");
        /* undamaged, it is clean and writable */
        const char *p = path_in(dir, "sample.dat");
        udb_heap *h = hopen(p, 0, 0, 0);
        int64_t pos;
        assert_int_equal(heap_clean(h), 0);
        assert_int_equal(udb_heap_alloc(h, 1, &pos), 0);
        assert_int_equal(heap_clean(h), 0);
        udb_heap_close(h);
        free(img);
        free(x.d);
    }
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("heap"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((void *)dir);
    return 0;
}

/* A file of more than 256 MiB growing in a transaction: its anonymous tail
   grows by a quarter at a time, and a quarter of a page-aligned size need
   not be page-aligned. Before: the second growth mapped from an address
   inside a page and failed ("cannot map ...: Invalid argument"), so a big
   transaction on a big file could not commit (udb_store_compact_order of
   W1's store at 4M records). The file is sparse (its tail a stretch of
   zeros no hole names) and the transaction is rolled back: nothing
   reaches the disk. */
static void test_growth_past_256mib(void **state)
{
    (void)state;
    const char *p = path_in(dir, "grow.dat");
    udb_heap *h;
    unlink(p);
    assert_int_equal(udb_heap_create(p, NULL, 0, &h), 0);
    assert_int_equal(udb_heap_close(h), 0);
    assert_int_equal(truncate(p, ((off_t)300 << 20) + 4096), 0); /* not a multiple of 16 KiB */
    assert_int_equal(udb_heap_open(p, NULL, &h), 0);
    assert_int_equal(udb_heap_begin(h), 0);
    for (int i = 0; i < 3; i++) { /* the tail grows past 364 MiB, then again */
        int64_t pos;
        if (udb_heap_alloc(h, (uint64_t)70 << 20, &pos))
            fail_msg("allocation %d of 70 MiB: %s", i + 1, udb_heap_errmsg(h));
    }
    assert_int_equal(udb_heap_rollback(h), 0);
    assert_int_equal(udb_heap_close(h), 0);
    unlink(p);
}

/* A release that overlaps a hole from either side, or lies inside one, is
   refused and changes nothing; next to one it merges. */
static void test_release_overlap(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        udb_heap *h = hopen(path_in(dir, layout == 1 ? "ov_c.dat" : "ov_w.dat"), 1, layout, 8);
        int64_t x, y, z, w;
        udb_heap_info inf;
        assert_int_equal(udb_heap_alloc(h, 100, &x), 0);
        assert_int_equal(udb_heap_alloc(h, 100, &y), 0);
        assert_int_equal(udb_heap_alloc(h, 100, &z), 0);
        assert_int_equal(udb_heap_alloc(h, 10, &w), 0);
        assert_int_equal(udb_heap_free(h, y, 100), 0);
        assert_int_equal(udb_heap_free(h, x + 50, 60), UDB_INVAL);  /* runs into the hole */
        assert_int_equal(udb_heap_free(h, y + 90, 20), UDB_INVAL);  /* runs out of it */
        assert_int_equal(udb_heap_free(h, y + 10, 20), UDB_INVAL);  /* inside it */
        assert_int_equal(udb_heap_free(h, x, 300), UDB_INVAL);      /* over it */
        assert_int_equal(udb_heap_info_get(h, &inf), 0);
        assert_int_equal(inf.holes, 1);
        assert_int_equal(inf.hole_bytes, 100);
        assert_int_equal(udb_heap_free(h, x + 50, 50), 0);          /* next to it: merges */
        assert_int_equal(udb_heap_free(h, z, 20), 0);
        assert_int_equal(udb_heap_info_get(h, &inf), 0);
        assert_int_equal(inf.holes, 1);
        assert_int_equal(inf.hole_bytes, 170);
        (void)w;
        assert_int_equal(udb_heap_close(h), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesce),  cmocka_unit_test(test_end_given_back),
        cmocka_unit_test(test_regrown_end_is_zero),
        cmocka_unit_test(test_growth_past_256mib),
        cmocka_unit_test(test_churn),     cmocka_unit_test(test_m64_heap),
        cmocka_unit_test(test_l16_heap), cmocka_unit_test(test_check_holes),
        cmocka_unit_test(test_release_overlap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
