/*
 * test_fixtures.c — compatibility with every file the originals wrote:
 * each index lists exactly its manifest (keys, positions, order), reverse
 * traversal is the exact reverse, every key is found by exact find and by
 * seek (newest duplicate first); the check is clean but for the indexes
 * writes refuse (one problem each, naming `dbe repair`), and a write to
 * each index of a copy is refused exactly there; the heap fixtures'
 * headers, holes and live records read back as their manifests say and
 * their check is clean; the unclosed real file is diagnosed as stale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

typedef struct fixture {
    const char *file, *manifest;
    int layout;
    unsigned refused;           /* bit i: writes to index i are refused until repair */
} fixture;

/* l16_types indexes 4 and 7: the original's empty-index shortcut left
   their chains out of key order; udb reads them, refuses to write them,
   and the check says so (a problem each, naming `dbe repair`). */
static const fixture index_fixtures[] = {
    {FIXTURES "/classic/l16_test.ndx", FIXTURES "/classic/l16_test.manifest", UDB_LAYOUT_CLASSIC, 0},
    {FIXTURES "/classic/l16_types.ndx", FIXTURES "/classic/l16_types.manifest", UDB_LAYOUT_CLASSIC,
     1u << 4 | 1u << 7},
    {FIXTURES "/wide/m64_strings.ndx", FIXTURES "/wide/m64_strings.ndx.manifest", UDB_LAYOUT_WIDE, 0},
    {FIXTURES "/wide/m64_types.ndx", FIXTURES "/wide/m64_types.ndx.manifest", UDB_LAYOUT_WIDE, 0},
    {FIXTURES "/wide/m64_empty.ndx", FIXTURES "/wide/m64_empty.ndx.manifest", UDB_LAYOUT_WIDE, 0},
    {FIXTURES "/wide/m64_heap.ndx", FIXTURES "/wide/m64_heap.ndx.manifest", UDB_LAYOUT_WIDE, 0},
};
#define NFIX (sizeof index_fixtures / sizeof index_fixtures[0])

static udb_ndx *open_ro(const char *path)
{
    return open_ndx(path, UDB_RDONLY);
}

typedef struct rec {
    uint8_t *key;
    int64_t dp;
} rec;

/* All records of an index in traversal order (forward or backward). */
static rec *walk(udb_ndx *d, unsigned ix, int reverse, size_t *n)
{
    udb_cursor *c;
    udb_item it;
    size_t cap = 64;
    rec *r = malloc(cap * sizeof *r);
    *n = 0;
    assert_int_equal(udb_cursor_open(d, ix, &c), 0);
    int rc;
    for (rc = reverse ? udb_cursor_last(c, &it) : udb_cursor_first(c, &it); rc == 0;
         rc = reverse ? udb_cursor_prev(c, &it) : udb_cursor_next(c, &it)) {
        if (*n == cap)
            r = realloc(r, (cap *= 2) * sizeof *r);
        r[*n].key = malloc(it.keysize);
        memcpy(r[*n].key, it.key, it.keysize);
        r[*n].dp = it.datapos;
        ++*n;
    }
    assert_int_equal(rc, UDB_NOTFOUND);
    udb_cursor_close(c);
    return r;
}

static void free_recs(rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].key);
    free(r);
}

static void check_index(udb_ndx *d, unsigned ix, const msection *sec, int layout)
{
    udb_index_info inf;
    assert_int_equal(udb_ndx_info(d, ix, &inf), 0);
    size_t n, nr;
    rec *fw = walk(d, ix, 0, &n), *bw = walk(d, ix, 1, &nr);
    char *buf = malloc(4 * inf.def.keysize + 8); /* manifest_key: \xNN per byte at worst */
    assert_int_equal(n, sec->n);
    assert_int_equal(nr, n);
    for (size_t i = 0; i < n; i++) {
        const char *t = manifest_key(layout, &inf, fw[i].key, buf);
        if (strcmp(t, sec->rec[i].key) || fw[i].dp != sec->rec[i].dp)
            fail_msg("index %u record %zu: got %s/%lld, manifest %s/%lld", ix, i, t,
                     (long long)fw[i].dp, sec->rec[i].key, (long long)sec->rec[i].dp);
        assert_memory_equal(bw[n - 1 - i].key, fw[i].key, inf.def.keysize);
        assert_int_equal(bw[n - 1 - i].dp, fw[i].dp);
    }
    /* exact find and seek: the newest record of each key's run */
    udb_cursor *c;
    udb_item it;
    assert_int_equal(udb_cursor_open(d, ix, &c), 0);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        int same = 0;
        if (i)
            assert_int_equal(udb_ndx_compare(d, ix, fw[i - 1].key, fw[i].key, &same), 0);
        if (!i || same != 0)
            run = i;
        int64_t dp = -2;
        assert_int_equal(udb_ndx_find(d, ix, fw[i].key, inf.def.keysize, &dp), 0);
        assert_int_equal(dp, fw[run].dp);
        assert_int_equal(udb_cursor_seek(c, fw[i].key, inf.def.keysize, &it), 0);
        assert_int_equal(it.datapos, fw[run].dp);
        assert_memory_equal(it.key, fw[run].key, inf.def.keysize);
        assert_int_equal(udb_cursor_find(c, fw[i].key, inf.def.keysize, &it), 0);
        assert_int_equal(it.datapos, fw[run].dp);
    }
    udb_cursor_close(c);
    free(buf);
    free_recs(fw, n);
    free_recs(bw, nr);
}

typedef struct problems {
    unsigned n, ix;             /* count; bit i: one about index i */
    int repair;                 /* every one names `dbe repair` */
} problems;

static void count_problems(void *arg, int severity, int64_t off, unsigned index, const char *text)
{
    problems *p = arg;
    (void)off;
    if (severity != UDB_PROBLEM)
        return;
    p->n++;
    p->ix |= 1u << (index < 31 ? index : 31);
    p->repair &= strstr(text, "`dbe repair`") != NULL;
}

/* A write to each index of a copy of the file: refused (UDB_FORMAT) where
   the check found a problem, accepted elsewhere. */
static void writes_as_checked(const fixture *fx)
{
    const char *p = path_in(scratch_dir("fixtures"), "copy.ndx");
    assert_int_equal(copy_file(fx->file, p), 0);
    udb_ndx *d = open_ndx(p, 0);
    for (unsigned ix = 1; ix <= udb_ndx_count(d); ix++) {
        udb_index_info inf;
        uint8_t key[64] = {1};
        assert_int_equal(udb_ndx_info(d, ix, &inf), 0);
        int rc = udb_ndx_append(d, ix, key, 1, 42);
        if (fx->refused >> ix & 1)
            assert_int_equal(rc, UDB_FORMAT);
        else if (inf.initialised)
            assert_true(rc == 0 || rc == UDB_EXISTS);
    }
    udb_ndx_close(d);
}

static void test_index_fixtures(void **state)
{
    (void)state;
    for (size_t f = 0; f < NFIX; f++) {
        const fixture *fx = &index_fixtures[f];
        manifest m;
        assert_int_equal(manifest_load(fx->manifest, &m), 0);
        udb_ndx *d = open_ro(fx->file);
        assert_int_equal(udb_ndx_layout(d), fx->layout);
        assert_int_equal(udb_ndx_count(d), m.n);
        for (unsigned ix = 1; ix <= udb_ndx_count(d); ix++) {
            const msection *sec = manifest_index(&m, ix);
            assert_non_null(sec);
            check_index(d, ix, sec, fx->layout);
        }
        problems p = {0, 0, 1};
        udb_check_report rep;
        assert_int_equal(udb_ndx_check(d, count_problems, &p, &rep), fx->refused ? UDB_CORRUPT : 0);
        assert_int_equal(p.ix, fx->refused);
        assert_int_equal(p.n, __builtin_popcount(fx->refused));
        assert_true(p.repair);
        assert_int_equal(rep.unaccounted_bytes, 0);
        udb_check_report_free(&rep);
        udb_ndx_close(d);
        manifest_free(&m);
        writes_as_checked(fx);
    }
}

/* Forcing the wrong layout must fail cleanly, never misread. */
static void test_forced_wrong_layout(void **state)
{
    (void)state;
    for (size_t f = 0; f < NFIX; f++) {
        udb_options o;
        udb_options_init(&o);
        o.flags = UDB_RDONLY;
        o.layout = index_fixtures[f].layout == UDB_LAYOUT_CLASSIC ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC;
        udb_ndx *d;
        assert_int_equal(udb_ndx_open(index_fixtures[f].file, &o, &d), UDB_FORMAT);
        assert_non_null(strstr(udb_ndx_errmsg(d), "not a MultiIndex"));
        udb_ndx_close(d);
    }
}

static void test_not_udb_files(void **state)
{
    (void)state;
    const char *dir = scratch_dir("notudb");
    const char *p = path_in(dir, "junk.bin");
    static const char junk[] = "this is not an index file at all, just text\n";
    assert_int_equal(write_file(p, junk, sizeof junk), 0);
    udb_ndx *d;
    assert_int_equal(udb_ndx_open(p, NULL, &d), UDB_FORMAT);
    udb_ndx_close(d);
    udb_heap *h;
    assert_int_equal(udb_heap_open(p, NULL, &h), UDB_FORMAT);
    udb_heap_close(h);
    assert_int_equal(write_file(p, "", 0), 0);
    assert_int_equal(udb_ndx_open(p, NULL, &d), UDB_FORMAT);
    udb_ndx_close(d);
    assert_int_equal(udb_ndx_open(path_in(dir, "missing.ndx"), NULL, &d), UDB_NOTFOUND);
    udb_ndx_close(d);
    /* a heap file is not an index file and the reverse */
    assert_int_equal(udb_ndx_open(FIXTURES "/wide/m64_heap.dat", NULL, &d), UDB_FORMAT);
    udb_ndx_close(d);
    assert_int_equal(udb_heap_open(FIXTURES "/wide/m64_heap.ndx", NULL, &h), UDB_FORMAT);
    udb_heap_close(h);
}

typedef struct stale {
    int problems, stale_msg;
} stale;

static void note_stale(void *arg, int severity, int64_t off, unsigned index, const char *text)
{
    stale *s = arg;
    (void)off;
    (void)index;
    s->problems += severity == UDB_PROBLEM;
    s->stale_msg |= strstr(text, "stale") != NULL;
}

static void test_real_stale(void **state)
{
    (void)state;
    udb_ndx *d = open_ro(FIXTURES "/real/test_index.ndx");
    assert_int_equal(udb_ndx_layout(d), UDB_LAYOUT_WIDE);
    assert_int_equal(udb_ndx_count(d), 5);
    udb_index_info inf;
    assert_int_equal(udb_ndx_info(d, 1, &inf), 0);
    assert_int_equal(inf.initialised, 0);
    assert_int_equal(inf.def.keytype, UDB_KEY_STRING);
    int64_t dp;
    assert_int_equal(udb_ndx_find(d, 1, "1", 1, &dp), UDB_CORRUPT);
    assert_non_null(strstr(udb_ndx_errmsg(d), "not closed"));
    stale s = {0, 0};
    udb_check_report rep;
    assert_int_equal(udb_ndx_check(d, note_stale, &s, &rep), UDB_CORRUPT);
    assert_true(rep.stale_infos);
    assert_true(s.stale_msg);
    assert_true(rep.unaccounted_bytes > 380000);
    udb_check_report_free(&rep);
    udb_ndx_close(d);
}

/* ---- heaps ---------------------------------------------------------------------- */
static udb_heap *open_heap_ro(const char *path)
{
    return open_heap(path, UDB_RDONLY);
}

static void test_heap_classic(void **state)
{
    (void)state;
    udb_heap *h = open_heap_ro(FIXTURES "/classic/l16_heap.dat");
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    assert_int_equal(inf.layout, UDB_LAYOUT_CLASSIC);
    assert_int_equal(inf.first_table, 207);
    assert_int_equal(inf.table_slots, 4);
    assert_int_equal(inf.table_size, 39);
    assert_int_equal(inf.tables, 3);
    static hole_list s;
    s.n = 0;
    assert_int_equal(udb_heap_holes(h, hole_list_add, &s), 0);
    static const int64_t want[][4] = {{1, 20, 10, 207}, {1, 57, 5, 207}, {1, 120, 33, 207},
                                      {2, 160, 12, 246}, {2, 190, 17, 246}};
    assert_int_equal(s.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(s.h[i].table, want[i][0]);
        assert_int_equal(s.h[i].pos, want[i][1]);
        assert_int_equal(s.h[i].size, want[i][2]);
        assert_int_equal(s.h[i].table_pos, want[i][3]);
    }
    uint8_t b[7];
    assert_int_equal(udb_heap_read(h, 0, b, 7), 0);
    assert_int_equal(b[0], 0xcb);
    assert_int_equal(udb_heap_read(h, 320, b, 7), UDB_INVAL); /* past the end: a bad argument */
    udb_check_report rep;
    assert_int_equal(udb_heap_check(h, NULL, NULL, &rep), 0);
    assert_int_equal(rep.problems, 0);
    udb_heap_close(h);
}

static void test_heap_wide(void **state)
{
    (void)state;
    udb_heap *h = open_heap_ro(FIXTURES "/wide/m64_heap.dat");
    udb_ndx *d = open_ro(FIXTURES "/wide/m64_heap.ndx");
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    assert_int_equal(inf.layout, UDB_LAYOUT_WIDE);
    assert_int_equal(inf.first_table, 16951);
    assert_int_equal(inf.table_slots, 4);
    assert_int_equal(inf.table_size, 59);
    assert_int_equal(inf.tables, 16);
    static hole_list s;
    s.n = 0;
    assert_int_equal(udb_heap_holes(h, hole_list_add, &s), 0);
    FILE *f = fopen(FIXTURES "/wide/m64_heap.dat.manifest", "r");
    assert_non_null(f);
    char line[4096];
    size_t nh = 0, nlive = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned t, e;
        long long pos, size, len;
        char key[64], fnv[32];
        if (sscanf(line, "hole\t%u\t%u\t%lld\t%lld", &t, &e, &pos, &size) == 4) {
            assert_true(nh < s.n);
            assert_int_equal(s.h[nh].table, t);
            assert_int_equal(s.h[nh].slot, e);
            assert_int_equal(s.h[nh].pos, pos);
            assert_int_equal(s.h[nh].size, size);
            nh++;
        } else if (sscanf(line, "live\t%63s\t%lld\t%lld\t%31s", key, &pos, &len, fnv) == 4) {
            int64_t dp;
            assert_int_equal(udb_ndx_find(d, 1, key, strlen(key), &dp), 0);
            assert_int_equal(dp, pos);
            uint8_t *b = malloc((size_t)len);
            assert_int_equal(udb_heap_read(h, pos, b, (size_t)len), 0);
            char hex[32];
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fnv1a64(b, (size_t)len));
            assert_string_equal(hex, fnv);
            free(b);
            nlive++;
        }
    }
    fclose(f);
    assert_int_equal(nh, s.n);
    assert_int_equal(nh, 46);
    assert_int_equal(nlive, 139);
    assert_int_equal(udb_heap_check(h, NULL, NULL, NULL), 0);
    udb_ndx_close(d);
    udb_heap_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_fixtures),
        cmocka_unit_test(test_forced_wrong_layout),
        cmocka_unit_test(test_not_udb_files),
        cmocka_unit_test(test_real_stale),
        cmocka_unit_test(test_heap_classic),
        cmocka_unit_test(test_heap_wide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
