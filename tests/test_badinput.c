/*
 * test_badinput.c — damaged and hostile files: truncated copies of every
 * fixture at many lengths, single-byte flips at many offsets, pointers set
 * out of range or into cycles (with checksums made valid again), absurd key
 * sizes, item counts and levels. Every open, list, find and check must give
 * an error or the correct answer: never a crash, a hang or a wrong answer.
 * A single flipped byte always breaks a checksum, so check must notice it.
 * A file the check passes takes writes. A tree too deep to grow is a
 * problem of the check, as appends refuse it. A huge sparse file costs a
 * read-only handle no memory by its size.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "layout.h"
#include "testutil.h"

typedef struct ref_rec {
    uint8_t key[64];
    int64_t dp;
} ref_rec;

typedef struct ref_index {
    ref_rec *r;
    size_t n;
    unsigned ks;
} ref_index;

typedef struct ref_file {
    const char *path;
    int layout;
    unsigned count;
    ref_index ix[8];
    uint8_t *data;
    size_t len;
} ref_file;

static const char *ndx_files[] = {
    FIXTURES "/classic/l16_test.ndx", FIXTURES "/classic/l16_types.ndx",
    FIXTURES "/wide/m64_strings.ndx", FIXTURES "/wide/m64_types.ndx",
    FIXTURES "/wide/m64_empty.ndx",   FIXTURES "/wide/m64_heap.ndx",
};
#define NNDX (sizeof ndx_files / sizeof ndx_files[0])

static ref_file refs[NNDX];
static const char *dir;
static unsigned long quick_step = 1;
static const char *current_case = "";

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_badinput: timed out (a hang on bad input)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

/* Walk all records of an index; 0 and the records, or an error code. */
static int walk(udb_ndx *d, unsigned ix, int reverse, ref_rec **out, size_t *n)
{
    udb_cursor *c;
    udb_item it;
    size_t cap = 64;
    *n = 0;
    *out = NULL;
    int rc = udb_cursor_open(d, ix, &c);
    if (rc)
        return rc;
    ref_rec *r = malloc(cap * sizeof *r);
    for (rc = reverse ? udb_cursor_last(c, &it) : udb_cursor_first(c, &it); rc == 0;
         rc = reverse ? udb_cursor_prev(c, &it) : udb_cursor_next(c, &it)) {
        if (*n == cap)
            r = realloc(r, (cap *= 2) * sizeof *r);
        memset(r[*n].key, 0, sizeof r[*n].key);
        memcpy(r[*n].key, it.key, it.keysize < 64 ? it.keysize : 64);
        r[*n].dp = it.datapos;
        ++*n;
    }
    udb_cursor_close(c);
    *out = r;
    return rc == UDB_NOTFOUND ? 0 : rc;
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGALRM, on_alarm);
    if (getenv("UDB_TEST_QUICK"))
        quick_step = 7;
    dir = strdup(scratch_dir("badinput"));
    for (size_t f = 0; f < NNDX; f++) {
        ref_file *rf = &refs[f];
        udb_ndx *d;
        rf->path = ndx_files[f];
        rf->data = read_file(rf->path, &rf->len);
        if (udb_ndx_open(rf->path, NULL, &d))
            return -1;
        rf->layout = udb_ndx_layout(d);
        rf->count = udb_ndx_count(d);
        for (unsigned i = 1; i <= rf->count; i++) {
            udb_index_info inf;
            udb_ndx_info(d, i, &inf);
            rf->ix[i - 1].ks = inf.def.keysize;
            if (walk(d, i, 0, &rf->ix[i - 1].r, &rf->ix[i - 1].n))
                return -1;
        }
        udb_ndx_close(d);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t f = 0; f < NNDX; f++) {
        for (unsigned i = 0; i < refs[f].count; i++)
            free(refs[f].ix[i].r);
        free(refs[f].data);
    }
    free((void *)dir);
    return 0;
}

static int same_recs(const ref_rec *a, const ref_rec *b, size_t n, int reverse)
{
    for (size_t i = 0; i < n; i++) {
        const ref_rec *x = &a[i], *y = &b[reverse ? n - 1 - i : i];
        if (x->dp != y->dp || memcmp(x->key, y->key, sizeof x->key))
            return 0;
    }
    return 1;
}

/* A file the check passes takes an append to every index (on a copy),
   and stays clean. */
static void writes_work(const char *path)
{
    const char *p = path_in(dir, "writable.ndx");
    assert_int_equal(copy_file(path, p), 0);
    udb_ndx *d = open_ndx(p, 0);
    for (unsigned i = 1; i <= udb_ndx_count(d); i++) {
        udb_index_info inf;
        assert_int_equal(udb_ndx_info(d, i, &inf), 0);
        int rc = inf.initialised ? udb_ndx_append(d, i, "k", 1, 5) : 0;
        if (rc && rc != UDB_EXISTS)
            fail_msg("%s index %u: the check passed, an append failed: %s (%s)", path, i,
                     udb_ndx_errmsg(d), current_case);
    }
    if (udb_ndx_check(d, NULL, NULL, NULL))
        fail_msg("%s: not clean after appends: %s (%s)", path, udb_ndx_errmsg(d), current_case);
    udb_ndx_close(d);
}

/* Open, list both ways, find every reference key, check. Returns the
   check's result (or the open's error). Fails the test on a wrong answer. */
static int exercise(const char *path, const ref_file *rf)
{
    udb_options o;
    udb_options_init(&o);
    o.flags = UDB_RDONLY | UDB_EXCLUSIVE;
    udb_ndx *d;
    alarm(20);
    int rc = udb_ndx_open(path, &o, &d);
    if (rc) {
        assert_true(rc == UDB_FORMAT || rc == UDB_CORRUPT);
        assert_true(strlen(udb_ndx_errmsg(d)) > 0);
        udb_ndx_close(d);
        alarm(0);
        return rc;
    }
    for (unsigned i = 1; i <= udb_ndx_count(d) && i <= rf->count; i++) {
        const ref_index *ri = &rf->ix[i - 1];
        for (int rev = 0; rev < 2; rev++) {
            ref_rec *r;
            size_t n;
            if (walk(d, i, rev, &r, &n) == 0) {
                if (n != ri->n || !same_recs(ri->r, r, n, rev))
                    fail_msg("%s index %u: a %s walk gave a wrong answer without an error (%s)",
                             path, i, rev ? "backward" : "forward", current_case);
            }
            free(r);
        }
        for (size_t k = 0; k < ri->n; k += 1 + ri->n / 16) {
            int64_t dp;
            int frc = udb_ndx_find(d, i, ri->r[k].key, ri->ks, &dp);
            if (frc == 0) {
                /* the newest record of the key's run */
                size_t first = k;
                int same = 0;
                while (first > 0 && !udb_ndx_compare(d, i, ri->r[first - 1].key, ri->r[k].key, &same) &&
                       same == 0)
                    first--;
                if (dp != ri->r[first].dp)
                    fail_msg("%s index %u: find gave %lld, want %lld", path, i, (long long)dp,
                             (long long)ri->r[first].dp);
            }
        }
    }
    udb_check_report rep;
    rc = udb_ndx_check(d, NULL, NULL, &rep);
    udb_check_report_free(&rep);
    udb_ndx_close(d);
    if (rc == 0)
        writes_work(path);
    alarm(0);
    return rc;
}

static void test_truncations(void **state)
{
    (void)state;
    const char *p = path_in(dir, "trunc.ndx");
    for (size_t f = 0; f < NNDX; f++) {
        const ref_file *rf = &refs[f];
        size_t step = (rf->len / 300 + 1) * quick_step;
        for (size_t len = 0; len < rf->len; len += (len < 300 ? 1 : step)) {
            assert_int_equal(write_file(p, rf->data, len), 0);
            int rc = exercise(p, rf);
            assert_int_not_equal(rc, 0); /* a cut file is never clean */
        }
    }
}

static void test_byte_flips(void **state)
{
    (void)state;
    const char *p = path_in(dir, "flip.ndx");
    unsigned seed = 12345;
    for (size_t f = 0; f < NNDX; f++) {
        const ref_file *rf = &refs[f];
        uint8_t *copy = malloc(rf->len);
        size_t step = (rf->len / 400 + 1) * quick_step;
        for (size_t off = 0; off < rf->len; off += (off < 200 ? 1 : step)) {
            memcpy(copy, rf->data, rf->len);
            seed = seed * 1103515245 + 12345;
            copy[off] ^= (uint8_t)(1 + (seed >> 16) % 255);
            assert_int_equal(write_file(p, copy, rf->len), 0);
            if (exercise(p, rf) == 0)
                fail_msg("%s: flipping byte %zu went unnoticed by the check", rf->path, off);
        }
        free(copy);
    }
}

/* ---- crafted corruptions (checksums made valid again) ---------------------------- */
typedef struct craft {
    uint8_t *d;
    size_t len;
    const lay *L;
    lay_info inf;
    lay_tree T;
    unsigned ix;
} craft;

static void craft_load(craft *c, size_t f, unsigned ix)
{
    c->d = malloc(refs[f].len);
    memcpy(c->d, refs[f].data, refs[f].len);
    c->len = refs[f].len;
    c->L = lay_get(refs[f].layout);
    c->ix = ix;
    lay_info_decode(c->L, c->d + lay_info_off(c->L, ix), &c->inf);
    lay_tree_init(&c->T, c->L, (int)c->inf.keytype, c->inf.keysize, c->inf.maxitems);
}

static void craft_put_info(craft *c)
{
    lay_info_encode(c->L, c->d + lay_info_off(c->L, c->ix), &c->inf);
}

static void craft_run(craft *c, size_t f, int expect_problem, const char *what)
{
    const char *p = path_in(dir, "craft.ndx");
    assert_int_equal(write_file(p, c->d, c->len), 0);
    current_case = what;
    int rc = exercise(p, &refs[f]);
    if (expect_problem && rc == 0)
        fail_msg("%s index %u: %s went unnoticed by the check", refs[f].path, c->ix, what);
    current_case = "";
    free(c->d);
}

static void set_pos(craft *c, size_t at, int64_t v, size_t struct_at, size_t struct_len)
{
    lay_stpos(c->L, c->d + at, v);
    lay_ck_fix(c->d + struct_at, struct_len);
}

static void test_crafted_infos(void **state)
{
    (void)state;
    for (size_t f = 0; f < NNDX; f++) {
        for (unsigned ix = 1; ix <= refs[f].count; ix++) {
            static const int64_t bad[] = {-5, 0, 1, 2, 1 << 30, (int64_t)1 << 40, INT32_MAX};
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
                for (int field = 0; field < 5; field++) {
                    craft c;
                    craft_load(&c, f, ix);
                    int64_t *fp[] = {&c.inf.root, &c.inf.first_leaf, &c.inf.last_leaf,
                                     &c.inf.free_node, &c.inf.free_leaf};
                    char what[80];
                    snprintf(what, sizeof what, "info field %d = %lld", field, (long long)bad[b]);
                    *fp[field] = bad[b];
                    craft_put_info(&c);
                    craft_run(&c, f, 1, what);
                }
            static const unsigned sizes[] = {0, 1, 3, 1000, 65535};
            for (size_t s = 0; s < 5; s++)
                for (int which = 0; which < 3; which++) {
                    craft c;
                    craft_load(&c, f, ix);
                    unsigned was = which == 0 ? c.inf.keysize : which == 1 ? c.inf.maxitems : c.inf.levels;
                    if (which == 0)
                        c.inf.keysize = sizes[s];
                    else if (which == 1)
                        c.inf.maxitems = sizes[s];
                    else
                        c.inf.levels = sizes[s];
                    char what[80];
                    snprintf(what, sizeof what, "%s = %u",
                             which == 0 ? "keysize" : which == 1 ? "maxitems" : "levels", sizes[s]);
                    craft_put_info(&c);
                    craft_run(&c, f, sizes[s] != was, what);
                }
        }
    }
}

/* Leaf chain and tree pointers turned into cycles or aimed outside. */
static void test_crafted_cycles(void **state)
{
    (void)state;
    for (size_t f = 0; f < NNDX; f++) {
        for (unsigned ix = 1; ix <= refs[f].count; ix++) {
            craft c;
            craft_load(&c, f, ix);
            if (c.inf.keytype == 0 || c.inf.levels == 0) {
                free(c.d);
                continue;
            }
            free(c.d);
            int64_t first = 0, root = 0, fnode = 0;
            for (int kind = 0; kind < 6; kind++) {
                craft_load(&c, f, ix);
                first = c.inf.first_leaf;
                root = c.inf.root;
                fnode = c.inf.free_node;
                size_t ls = c.T.leaf_size, ns = c.T.node_size, ps = c.L->psz;
                switch (kind) {
                case 0: /* first leaf points to itself */
                    set_pos(&c, (size_t)first + 1, first, (size_t)first, ls);
                    break;
                case 1: /* first leaf's next aims past the end */
                    set_pos(&c, (size_t)first + 1, (int64_t)c.len + 7, (size_t)first, ls);
                    break;
                case 2: /* root's first child is the root itself */
                    set_pos(&c, (size_t)root + c.T.hdr + c.T.ks, root, (size_t)root, ns);
                    break;
                case 3: /* root claims maxitems + 1 items */
                    st16(c.d + root + 1, (uint16_t)(c.inf.maxitems + 1));
                    lay_ck_fix(c.d + root, ns);
                    break;
                case 4: /* the free node list loops */
                    if (fnode == -1)
                        break;
                    set_pos(&c, (size_t)fnode + 3, fnode, (size_t)fnode, ns);
                    break;
                case 5: /* the first leaf points back at the EOF leaf */
                    set_pos(&c, (size_t)first + 1 + ps, c.inf.last_leaf, (size_t)first, ls);
                    break;
                }
                int changed = memcmp(c.d, refs[f].data, c.len) != 0;
                char what[40];
                snprintf(what, sizeof what, "cycle kind %d", kind);
                craft_run(&c, f, changed && !(kind == 0 && first == c.inf.last_leaf), what);
            }
        }
    }
}

/* A smaller key than its leaf's in the first bottom item (the order of
   the keys kept): a search for the leaf's key misses the run and an append
   starts a second one. The check must notice (it once did not). */
static int smaller_key(const lay_tree *T, const uint8_t *than, uint8_t *out)
{
    for (int k = 0; k < 4; k++) { /* zeros, ones, 0x80 first or last (the key types' minima) */
        memset(out, k == 1 ? 0xff : 0, T->ks);
        if (k >= 2)
            out[k == 2 ? 0 : T->ks - 1] = 0x80;
        if (lay_cmp(T, out, than) < 0)
            return 1;
    }
    return 0;
}

static void test_crafted_bottom_key(void **state)
{
    (void)state;
    for (size_t f = 0; f < NNDX; f++)
        for (unsigned ix = 1; ix <= refs[f].count; ix++) {
            craft c;
            craft_load(&c, f, ix);
            int64_t at = c.inf.root;
            for (unsigned lvl = c.inf.levels; lvl > 1 && at > 0 && (size_t)at + c.T.node_size <= c.len; lvl--)
                at = lay_node_child(&c.T, c.d + at, 0);
            int64_t leaf = c.inf.levels && at > 0 && (size_t)at + c.T.node_size <= c.len &&
                                   lay_node_count(c.d + at) >= 2 /* key 1 is not the parent's */
                               ? lay_node_child(&c.T, c.d + at, 0)
                               : -1;
            uint8_t key[256];
            if (leaf <= 0 || (size_t)leaf + c.T.leaf_size > c.len ||
                !smaller_key(&c.T, lay_leaf_key(&c.T, c.d + leaf), key)) {
                free(c.d);
                continue;
            }
            lay_node_set_key(&c.T, c.d + at, 0, key);
            lay_ck_fix(c.d + at, c.T.node_size);
            craft_run(&c, f, 1, "the first bottom key smaller than its leaf's");
        }
}

/* ---- what writes refuse, the check reports --------------------------------------------- */
static void note_problems(void *arg, int severity, int64_t off, unsigned index, const char *text)
{
    char *all = arg;
    size_t n = strlen(all);
    (void)off;
    if (severity == UDB_PROBLEM)
        snprintf(all + n, 2000 - n, "[%u] %s\n", index, text);
}

/* 64 levels of one-item nodes over an empty index: every node, link and
   key is sound, but the tree is too deep to grow, so appends are refused.
   The check says so and names `dbe repair`, which makes it writable. */
static void test_too_deep(void **state)
{
    (void)state;
    const char *p = path_in(dir, "deep.ndx");
    remove(p);
    udb_ndx *d;
    udb_index_def def = {UDB_KEY_LONG_INT, 4, 0, 3, 0, 0};
    assert_int_equal(udb_ndx_create(p, NULL, 1, &d), 0);
    assert_int_equal(udb_ndx_define(d, 1, &def), 0);
    udb_ndx_close(d);
    size_t len;
    uint8_t *img = read_file(p, &len);
    const lay *L = lay_get(UDB_LAYOUT_WIDE);
    lay_info inf;
    lay_tree T;
    lay_info_decode(L, img + lay_info_off(L, 1), &inf);
    lay_tree_init(&T, L, (int)inf.keytype, inf.keysize, inf.maxitems);
    assert_int_equal(inf.levels, 1);
    uint8_t key[4];
    memcpy(key, lay_node_key(&T, img + inf.root, 0), 4);
    img = realloc(img, len + 63 * T.node_size);
    for (unsigned lvl = 2; lvl <= 64; lvl++, len += T.node_size) {
        lay_node_init(&T, img + len, -1, -1);
        lay_node_insert(&T, img + len, 0, key, inf.root);
        inf.root = (int64_t)len;
        inf.levels = lvl;
    }
    lay_info_encode(L, img + lay_info_off(L, 1), &inf);
    assert_int_equal(write_file(p, img, len), 0);
    free(img);
    d = open_ndx(p, 0);
    char said[2000] = "";
    assert_int_equal(udb_ndx_check(d, note_problems, said, NULL), UDB_CORRUPT);
    if (!strstr(said, "[1] writes are refused: the tree is too deep") || !strstr(said, "`dbe repair`"))
        fail_msg("the check says:\n%s", said);
    assert_int_equal(udb_ndx_append(d, 1, "k", 1, 7), UDB_FORMAT);
    assert_non_null(strstr(udb_ndx_errmsg(d), "too deep"));
    udb_ndx_close(d);
    assert_int_equal(udb_repair(p, NULL, NULL, NULL, NULL, NULL), 0);
    d = open_ndx(p, 0);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    assert_int_equal(udb_ndx_append(d, 1, "k", 1, 7), 0);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    udb_ndx_close(d);
}

/* ---- heaps ----------------------------------------------------------------------------- */
static int count_hole(void *arg, const udb_hole *h)
{
    (void)h;
    ++*(int *)arg;
    return 0;
}

static void heap_exercise(const char *path)
{
    udb_options o;
    udb_options_init(&o);
    o.flags = UDB_RDONLY;
    udb_heap *h;
    alarm(10);
    if (udb_heap_open(path, &o, &h) == 0) {
        udb_heap_info inf;
        int n = 0;
        uint8_t b[64];
        udb_heap_info_get(h, &inf);
        udb_heap_holes(h, count_hole, &n);
        udb_heap_read(h, 5, b, sizeof b);
        udb_heap_read(h, -1, b, 1);
        udb_heap_read(h, INT64_MAX - 3, b, 8);
    }
    udb_heap_close(h);
    alarm(0);
}

static void test_heaps(void **state)
{
    (void)state;
    static const char *heaps[] = {FIXTURES "/classic/l16_heap.dat", FIXTURES "/wide/m64_heap.dat"};
    const char *p = path_in(dir, "heap.dat");
    for (int f = 0; f < 2; f++) {
        size_t len;
        uint8_t *d = read_file(heaps[f], &len);
        const lay *L = lay_get(f ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC);
        for (size_t cut = 0; cut < len; cut += 1 + len / 200) {
            write_file(p, d, cut);
            heap_exercise(p);
        }
        for (size_t off = 0; off < len; off += 1 + len / 300) {
            d[off] ^= 0x5a;
            write_file(p, d, len);
            heap_exercise(p);
            d[off] ^= 0x5a;
        }
        /* the first table's next points at itself, slots absurd */
        int64_t t = lay_heap_first_table(L, d);
        size_t ts = lay_table_size(L, lay_heap_slots(L, d));
        lay_stpos(L, d + t + 3, t);
        lay_ck_fix(d + t, ts);
        write_file(p, d, len);
        udb_heap *h;
        int n = 0;
        assert_int_equal(udb_heap_open(p, NULL, &h), 0);
        assert_int_equal(udb_heap_holes(h, count_hole, &n), UDB_CORRUPT);
        assert_non_null(strstr(udb_heap_errmsg(h), "loops"));
        udb_heap_close(h);
        st16(d + 1 + L->psz, 65535);
        lay_ck_fix(d, L->heap_hdr_size);
        write_file(p, d, len);
        heap_exercise(p);
        free(d);
    }
}

/* A hostile sparse file: an index of 3 records made 4 TiB long (a few KiB
   on disk). Handles kept three page bitmaps for all of it: 400 MB of
   memory for listing 3 records (1.5 GB at 15 TiB). Read-only handles keep
   none now, writable ones keep them in memory that is committed only
   where a bit is set. A child opens, lists and checks it (writable: and
   appends a key, which grows the file at its 4 TiB end, and deletes it);
   its peak RSS grows little. */
static int huge_child(const char *p, int write)
{
    struct rusage before, after; /* the parent's pages count from the fork on */
    getrusage(RUSAGE_SELF, &before);
    udb_options o;
    udb_options_init(&o);
    o.flags = write ? 0 : UDB_RDONLY;
    size_t n = 0;
    udb_ndx *d;
    int rc = udb_ndx_open(p, &o, &d);
    if (!rc && write && !(rc = udb_ndx_append(d, 1, "kez", 3, 7)))
        rc = udb_ndx_delete(d, 1, "kez", 3, NULL);
    if (!rc) {
        udb_cursor *c;
        rc = udb_cursor_open(d, 1, &c);
        for (int r = rc ? rc : udb_cursor_first(c, NULL); !r; r = udb_cursor_next(c, NULL))
            n++;
        if (!rc)
            udb_cursor_close(c);
        udb_ndx_check(d, NULL, NULL, NULL);
    }
    if (rc)
        fprintf(stderr, "%s\n", udb_ndx_errmsg(d));
    udb_ndx_close(d);
    getrusage(RUSAGE_SELF, &after);
    if (after.ru_maxrss - before.ru_maxrss > 100 * 1024) {
        fprintf(stderr, "a %s handle on a 4 TiB sparse index took %ld KiB\n",
                write ? "writable" : "read-only", after.ru_maxrss - before.ru_maxrss);
        return 4;
    }
    return rc ? 2 : n == 3 ? 0 : 3;
}

static void test_huge_sparse(void **state)
{
    (void)state;
    if (getenv("VALGRIND")) { /* it caps the address space below the file's reservation */
        print_message("skipped under valgrind\n");
        return;
    }
    const char *p = path_in(dir, "huge.ndx");
    udb_ndx *d;
    udb_index_def s = {UDB_KEY_STRING, 12, UDB_ALLOW_DELETE, 5, 3, 9};
    assert_int_equal(udb_ndx_create(p, NULL, 1, &d), 0);
    assert_int_equal(udb_ndx_define(d, 1, &s), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(udb_ndx_append(d, 1, "key", 3, i), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    if (truncate(p, (off_t)4 << 40) != 0) {
        print_message("the file system holds no 4 TiB file: skipped\n");
        return;
    }
    for (int write = 0; write <= 1; write++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(60);
            _exit(huge_child(p, write));
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    unlink(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_crafted_infos),
        cmocka_unit_test(test_crafted_cycles),
        cmocka_unit_test(test_crafted_bottom_key),
        cmocka_unit_test(test_too_deep),
        cmocka_unit_test(test_heaps),
        cmocka_unit_test(test_huge_sparse),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
