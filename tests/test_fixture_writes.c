/*
 * test_fixture_writes.c — issue #3: "every fixture: open, append and delete
 * records, close, reopen: the result equals the model and passes the
 * independent checker".
 *
 * Owns: the write test of every fixture the originals wrote. It works on
 * copies in tests/out/; it must not touch the fixtures themselves, udb/, or
 * the shared tools (it only runs them). The checkers are in tests/tools; it
 * fails, naming the path, when they are not there.
 *
 * MultiIndex fixtures (both layouts, every index): the model of each index
 * is seeded with exactly the records its manifest lists, in the listed
 * order (asserted to be key order where udb may write). Then seeded random
 * batches, implicit calls and explicit transactions (committed and rolled
 * back): appends (duplicates of existing keys; UDB_EXISTS where UNIQUE;
 * each type's minimum, true maximum and the original's sentinel value;
 * keys just above that sentinel; random keys; edge data positions, and
 * UDB_RANGE for a classic position past 2^31-1), deletes by key through
 * the handle and a cursor, missing-key deletes, and delete-at-cursor after
 * find + next, each compared with the model (return code, removed count,
 * removed record, where the cursor lands). Deletes only in ALLOW_DELETE
 * indexes. After every batch and after close + reopen: forward and
 * backward walks equal the model (duplicates newest first), every key's
 * exact find gives the newest duplicate, udb_ndx_check is clean (but for
 * one problem about each index udb refuses to write) with no unaccounted
 * byte, and the independent checker passes with the model as
 * its manifest (wide_check.py FILE MANIFEST; classic_check.py --manifest,
 * compared byte for byte).
 *
 * Sentinel upgrade: an index whose stored EOF key is the original's
 * (l16_types 2, 4, 6, 7; m64_types 2, 5) reports sentinel_is_max 0 when
 * opened; after its first change it reports 1 and the EOF leaf holds the
 * true maximum, which the checkers accept.
 *
 * Fixtures damaged on purpose, per their manifests / README:
 * - classic/l16_types indexes 4 and 7: leaf chains out of key order (the
 *   empty-index shortcut; classic_check.py reports exactly these two). udb
 *   refuses writes to them (UDB_FORMAT, doc/format.md), so the plain run
 *   asserts the refusal, writes the other five indexes, and expects the
 *   checker to report exactly those two problems and nothing else. A second
 *   run writes all seven after udb_repair (model: the manifest sorted by
 *   key, equal keys keeping their listed order); the checker passes fully.
 * - real/test_index.ndx (no manifest; its README: infos lost, index 1 holds
 *   1004 records, 2..5 empty): a write to the copy is refused (UDB_CORRUPT)
 *   and changes nothing; after udb_repair the file is written like the
 *   others, the model seeded from the repaired file after checking 1004 /
 *   0 records.
 *
 * HeapFile fixtures (classic/l16_heap.dat, wide/m64_heap.dat with its index
 * m64_heap.ndx, which follows every new and freed record): the model knows
 * the manifest's holes and live records, and every other byte (original
 * data, the lost record-0 holes) as records to keep. Allocations (exactly a
 * hole's size, small, large; one from the end of the file only when no
 * stored hole fits), writes, frees (merged with neighbouring holes; free
 * space reaching the end is cut off at commit) and refused calls (double
 * free, freeing the header or a table, empty allocation, writing the
 * header: UDB_INVAL) in implicit calls and transactions, committed and
 * rolled back. After every batch and after reopen: the holes tables, read
 * here from the raw bytes as format.md lays them out (checksums, slot
 * arithmetic, records in use), equal udb_heap_holes one for one and the
 * model's free space; header, tables, holes and records tile the file
 * exactly; every record reads back unchanged (the manifest's FNV-1a for
 * the original ones); udb_heap_info agrees.
 *
 * Seeks above an original's non-maximal sentinel (random ones, and
 * test_seek_old_sentinel) land past the records equal to it.
 *
 * UDB_TEST_QUICK=1 (make valgrind) runs fewer operations; UDB_TEST_SEED
 * picks another seed (printed at the start).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model.h"
#include "testutil.h"

static unsigned long long seed = 0xf1c5u;
static int quick;
static const char *dir;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static void count_problems(void *arg, int severity, int64_t off, unsigned index, const char *text);

/* ---- the independent checkers ---------------------------------------------------------------------- */
static const char *tool_path(int layout)
{
    return checker_path(layout);
}

/* ---- keys ------------------------------------------------------------------------------------- */
static void hex_key(const char *t, unsigned ks, uint8_t *k)
{
    for (unsigned i = 0; i < ks; i++) {
        unsigned v = 0;
        if (sscanf(t + 2 * i, "%2x", &v) != 1)
            fail_msg("bad hex key '%s'", t);
        k[i] = (uint8_t)v;
    }
}

/* A manifest's key text as bytes (testutil's manifest_key, backwards). */
static void key_from_text(int layout, const udb_index_info *inf, const char *t, uint8_t *k)
{
    unsigned ks = inf->def.keysize;
    memset(k, 0, MODEL_KEYMAX);
    if (layout == UDB_LAYOUT_CLASSIC && !strncmp(t, "0x", 2)) {
        hex_key(t + 2, ks, k);
    } else if (inf->def.keytype != UDB_KEY_STRING) {
        hex_key(t, ks, k);
    } else {
        size_t n = 0;
        for (; *t && n + 1 < ks; n++) {
            unsigned v;
            if (layout == UDB_LAYOUT_WIDE && !strncmp(t, "\\x", 2) && sscanf(t + 2, "%2x", &v) == 1) {
                k[n] = (uint8_t)v;
                t += 4;
            } else {
                k[n] = (uint8_t)*t++;
            }
        }
    }
}

static size_t key_len(const udb_index_info *inf, const uint8_t *k)
{
    unsigned ks = inf->def.keysize;
    return inf->def.keytype == UDB_KEY_STRING ? strnlen((const char *)k, ks) : ks;
}

enum { K_MIN, K_MAX, K_OLD, K_ABOVE_OLD, K_RANDOM, K_KINDS };

/* The EOF key the originals stored (wide-layout.md 2.7; the classic code
   builds the same bytes). */
static void old_sentinel(int type, unsigned ks, uint8_t *k)
{
    memset(k, 0xff, ks);
    if (type == UDB_KEY_STRING)
        k[ks - 1] = 0;
    else if (type == UDB_KEY_NUM_BLOCK || type == UDB_KEY_INTEGER)
        k[0] &= 0x7f;
    else if (type == UDB_KEY_LONG_INT)
        k[ks - 1] &= 0x7f;
}

/* The true maximum of a type (doc/format.md). */
static void max_key(int type, unsigned ks, int classic, uint8_t *k)
{
    memset(k, 0xff, ks);
    if (type == UDB_KEY_STRING)
        k[ks - 1] = 0;
    else if (type == UDB_KEY_INTEGER)
        k[1] = 0x7f;
    else if (type == UDB_KEY_LONG_INT)
        k[3] = 0x7f;
    else if (type == UDB_KEY_CHARACTER && classic)
        k[0] = 0x7f;
}

static void min_key(int type, unsigned ks, int classic, uint8_t *k)
{
    memset(k, 0, ks);
    if (type == UDB_KEY_INTEGER)
        k[1] = 0x80;
    else if (type == UDB_KEY_LONG_INT)
        k[3] = 0x80;
    else if (type == UDB_KEY_CHARACTER && classic)
        k[0] = 0x80;
}

static void random_key(int type, unsigned ks, uint8_t *k)
{
    uint64_t r = rnd();
    if (type == UDB_KEY_STRING) {
        unsigned len = 1 + (unsigned)(r % (ks - 1 < 12 ? ks - 1 : 12));
        for (unsigned i = 0; i < len; i++)
            k[i] = (uint8_t)("abcdefghijklmnop0123~\x81\xfe"[rnd() % 23]);
    } else {
        for (unsigned i = 0; i < ks; i++)
            k[i] = (uint8_t)(rnd() >> 11);
    }
}

/* Above the original's sentinel where that is not the maximum: INTEGER
   -128 ..., NUM_BLOCK 0x..80 ..., classic CHARACTER 0 ... 0x7e. */
static void above_old_key(int type, unsigned ks, int classic, uint8_t *k)
{
    old_sentinel(type, ks, k);
    if (type == UDB_KEY_INTEGER || type == UDB_KEY_NUM_BLOCK)
        k[0] = (uint8_t)(0x80 + rnd_below(0x7f));
    else if (type == UDB_KEY_CHARACTER && classic)
        k[0] = (uint8_t)rnd_below(0x7f);
    else
        random_key(type, ks, k);
}

static void make_key(int kind, const udb_index_info *inf, int classic, uint8_t *k)
{
    int type = inf->def.keytype;
    unsigned ks = inf->def.keysize;
    memset(k, 0, MODEL_KEYMAX);
    switch (kind) {
    case K_MIN: min_key(type, ks, classic, k); break;
    case K_MAX: max_key(type, ks, classic, k); break;
    case K_OLD: old_sentinel(type, ks, k); break;
    case K_ABOVE_OLD: above_old_key(type, ks, classic, k); break;
    default: random_key(type, ks, k); break;
    }
}

/* ---- one fixture run -------------------------------------------------------------------------- */
typedef struct ixs {
    udb_index_info inf;
    model m, snap;
    udb_cursor *c;
    int refuse;          /* 0: writable; else the code every write gets */
    int was_max;         /* sentinel_is_max when the fixture was opened */
    int wrote, wrote_snap;
} ixs;

typedef struct fxrun {
    const char *name, *path;
    int layout;
    udb_ndx *d;
    unsigned n;
    ixs *ix;
    int64_t next_dp;
    unsigned long appends, deletes, cur_deletes, refusals;
} fxrun;

static int classic(const fxrun *R) { return R->layout == UDB_LAYOUT_CLASSIC; }

static const char *ktext(const fxrun *R, unsigned i, const uint8_t *k)
{
    static char buf[4][4 * MODEL_KEYMAX + 16]; /* wide STRING: \xNN per byte */
    static int next;
    char *b = buf[next++ & 3];
    return manifest_key(R->layout, &R->ix[i].inf, k, b);
}

static void open_cursors(fxrun *R)
{
    for (unsigned i = 0; i < R->n; i++)
        assert_int_equal(udb_cursor_open(R->d, i + 1, &R->ix[i].c), 0);
}

static void close_run(fxrun *R)
{
    for (unsigned i = 0; i < R->n; i++) {
        udb_cursor_close(R->ix[i].c);
        R->ix[i].c = NULL;
    }
    assert_int_equal(udb_ndx_close(R->d), 0);
    R->d = NULL;
}

static void free_run(fxrun *R)
{
    for (unsigned i = 0; i < R->n; i++) {
        model_free(&R->ix[i].m);
        model_free(&R->ix[i].snap);
    }
    free(R->ix);
}

/* Open the copy and read every index's info; models empty. */
static void start_run(fxrun *R, const char *name, const char *path, int layout)
{
    memset(R, 0, sizeof *R);
    R->name = name;
    R->path = path;
    R->layout = layout;
    R->d = open_ndx(path, 0);
    assert_int_equal(udb_ndx_layout(R->d), layout);
    R->n = udb_ndx_count(R->d);
    R->ix = calloc(R->n, sizeof *R->ix);
    for (unsigned i = 0; i < R->n; i++) {
        ixs *x = &R->ix[i];
        assert_int_equal(udb_ndx_info(R->d, i + 1, &x->inf), 0);
        assert_true(x->inf.def.keysize <= MODEL_KEYMAX);
        model_init(&x->m, x->inf.def.keytype, x->inf.def.keysize, classic(R),
                   (x->inf.def.attrs & UDB_UNIQUE) != 0);
        model_init(&x->snap, x->m.type, x->m.ks, x->m.classic, x->m.unique);
        x->was_max = x->inf.sentinel_is_max;
    }
    open_cursors(R);
    R->next_dp = classic(R) ? 1000000000 : (int64_t)1 << 33;
}

/* Seed index i's model with a listing in traversal order; 1 if it is in
   key order (the model's own comparison). */
static int seed_index(fxrun *R, unsigned i, const msection *sec)
{
    ixs *x = &R->ix[i];
    uint8_t k[MODEL_KEYMAX];
    int sorted = 1;
    for (size_t j = 0; j < sec->n; j++) {
        key_from_text(R->layout, &x->inf, sec->rec[j].key, k);
        assert_string_equal(ktext(R, i, k), sec->rec[j].key);
        if (j && model_cmp(&x->m, x->m.r[j - 1].key, k) > 0)
            sorted = 0;
        model_push(&x->m, k, sec->rec[j].dp);
    }
    return sorted;
}

/* ---- comparing the file with the model -------------------------------------------------------- */
static void same_rec(const fxrun *R, unsigned i, const udb_item *it, const model_rec *mr, const char *what)
{
    const char *got = ktext(R, i, it->key), *want = ktext(R, i, mr->key);
    if (strcmp(got, want) || it->datapos != mr->dp)
        fail_msg("%s index %u %s: file has %s/%lld, model %s/%lld", R->name, i + 1, what, got,
                 (long long)it->datapos, want, (long long)mr->dp);
}

/* The cursor after a move (rc) against the model's cursor. */
static void same_cursor(const fxrun *R, unsigned i, int rc, const udb_item *it, const char *what)
{
    const model *m = &R->ix[i].m;
    if (m->cur >= 0 && (size_t)m->cur < m->n) {
        if (rc != 0)
            fail_msg("%s index %u %s: %s, model on record %ld (%s)", R->name, i + 1, what,
                     udb_errname(rc), m->cur, udb_ndx_errmsg(R->d));
        same_rec(R, i, it, &m->r[m->cur], what);
    } else if (rc == 0) {
        fail_msg("%s index %u %s: the file gives %s/%lld, the model nothing", R->name, i + 1, what,
                 ktext(R, i, it->key), (long long)it->datapos);
    } else if (rc != UDB_NOTFOUND) {
        fail_msg("%s index %u %s: %s, model nowhere", R->name, i + 1, what, udb_errname(rc));
    }
}

static void walk_compare(const fxrun *R, unsigned i, udb_cursor *c)
{
    const model *m = &R->ix[i].m;
    udb_item it;
    size_t k = 0;
    int rc;
    for (rc = udb_cursor_first(c, &it); rc == 0; rc = udb_cursor_next(c, &it), k++) {
        if (k >= m->n)
            fail_msg("%s index %u: more than the model's %zu records", R->name, i + 1, m->n);
        same_rec(R, i, &it, &m->r[k], "forward walk");
    }
    assert_int_equal(rc, UDB_NOTFOUND);
    assert_int_equal(k, m->n);
    for (rc = udb_cursor_last(c, &it); rc == 0; rc = udb_cursor_prev(c, &it)) {
        assert_true(k > 0);
        same_rec(R, i, &it, &m->r[--k], "backward walk");
    }
    assert_int_equal(rc, UDB_NOTFOUND);
    assert_int_equal(k, 0);
}

/* Exact find of every key: the newest duplicate, through the handle and a cursor. */
static void find_compare(const fxrun *R, unsigned i, udb_cursor *c)
{
    const model *m = &R->ix[i].m;
    const udb_index_info *inf = &R->ix[i].inf;
    size_t run = 0;
    for (size_t k = 0; k < m->n; k++) {
        if (k == 0 || model_cmp(m, m->r[k - 1].key, m->r[k].key))
            run = k;
        else
            continue;
        int64_t dp = -2;
        size_t kl = key_len(inf, m->r[k].key);
        assert_int_equal(udb_ndx_find(R->d, i + 1, m->r[k].key, kl, &dp), 0);
        assert_int_equal(dp, m->r[run].dp);
        udb_item it;
        assert_int_equal(udb_cursor_find(c, m->r[k].key, kl, &it), 0);
        same_rec(R, i, &it, &m->r[run], "exact find");
    }
}

static void verify_index(const fxrun *R, unsigned i)
{
    udb_cursor *c;
    assert_int_equal(udb_cursor_open(R->d, i + 1, &c), 0);
    walk_compare(R, i, c);
    find_compare(R, i, c);
    udb_cursor_close(c);
}

static void verify_all(const fxrun *R)
{
    for (unsigned i = 0; i < R->n; i++)
        verify_index(R, i);
}

typedef struct findings {
    unsigned problems, notes;
    uint64_t note_ix;   /* bit i: a note about index i (0 = the file) */
    uint64_t problem_ix; /* bit i: a problem about index i */
} findings;

static void count_problems(void *arg, int severity, int64_t off, unsigned index, const char *text)
{
    findings *f = arg;
    (void)off;
    if (severity == UDB_PROBLEM) {
        f->problems++;
        f->problem_ix |= (uint64_t)1 << (index < 63 ? index : 63);
        fprintf(stderr, "check problem: index %u: %s\n", index, text);
    } else {
        f->notes++;
        f->note_ix |= (uint64_t)1 << (index < 63 ? index : 63);
    }
}

/* udb_ndx_check: a problem about each index udb refuses to write (it
   needs `dbe repair`) and no other, no unaccounted byte, the model's
   counts; notes only about the refused indexes (their old sentinels). */
static void check_clean(const fxrun *R)
{
    findings f = {0, 0, 0, 0};
    udb_check_report rep = {0};
    uint64_t refused = 0;
    for (unsigned i = 0; i < R->n; i++)
        if (R->ix[i].refuse)
            refused |= (uint64_t)1 << (i + 1);
    int rc = udb_ndx_check(R->d, count_problems, &f, &rep);
    if (rc != (refused ? UDB_CORRUPT : 0))
        fail_msg("%s: udb_ndx_check: %s", R->name, udb_ndx_errmsg(R->d));
    assert_int_equal(f.problem_ix, refused);
    assert_int_equal(f.problems, __builtin_popcountll(refused));
    assert_int_equal(rep.unaccounted_bytes, 0);
    assert_int_equal(rep.num_indexes, R->n);
    for (unsigned i = 0; i < R->n; i++)
        assert_int_equal(rep.index[i].records, R->ix[i].m.n);
    assert_int_equal(f.note_ix & ~refused, 0);
    assert_int_equal(f.note_ix & refused, refused);
    udb_check_report_free(&rep);
}

/* After reopening: an index changed since the fixture was opened has its
   EOF leaf holding the true maximum; one never changed is as it was. */
static void verify_sentinels(const fxrun *R)
{
    size_t len;
    uint8_t *img = read_file(R->path, &len);
    assert_non_null(img);
    unsigned P = classic(R) ? 4 : 8;
    for (unsigned i = 0; i < R->n; i++) {
        const ixs *x = &R->ix[i];
        udb_index_info now;
        assert_int_equal(udb_ndx_info(R->d, i + 1, &now), 0);
        if (!x->wrote) {
            assert_int_equal(now.sentinel_is_max, x->was_max);
            continue;
        }
        assert_int_equal(now.sentinel_is_max, 1);
        uint8_t want[MODEL_KEYMAX];
        unsigned ks = now.def.keysize;
        max_key(now.def.keytype, ks, classic(R), want);
        assert_true(now.last_leaf > 0 && (uint64_t)now.last_leaf + 1 + 3 * P + ks <= len);
        const uint8_t *leaf = img + now.last_leaf;
        if (memcmp(leaf + 1 + 3 * P, want, ks))
            fail_msg("%s index %u: EOF leaf key is not the true maximum", R->name, i + 1);
    }
    free(img);
}

/* ---- the independent checkers --------------------------------------------------------------- */
static const char *type_name(int layout, int t)
{
    static const char *wide[] = {"VOID", "BLOCK", "NUM_BLOCK", "INTEGER", "LONG_INT", "STRING", "LOGICAL", "CHARACTER"};
    static const char *cl[] = {"VOID", "BLOCK", "NUMBLOCK", "INTEGER", "LONGINT", "STRING", "LOGICAL", "CHARACTER"};
    return t < 0 || t > 7 ? "?" : layout == UDB_LAYOUT_CLASSIC ? cl[t] : wide[t];
}

/* The models as a manifest in the form the checkers write and read. */
static void write_model_manifest(const fxrun *R, const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < R->n; i++) {
        const udb_index_def *def = &R->ix[i].inf.def;
        fprintf(f, "index %u type=%s keysize=%u attrs=%u maxitems=%u\n", i + 1,
                type_name(R->layout, def->keytype), def->keysize, def->attrs, def->maxitems);
        for (size_t k = 0; k < R->ix[i].m.n; k++)
            fprintf(f, "%s\t%lld\n", ktext(R, i, R->ix[i].m.r[k].key), (long long)R->ix[i].m.r[k].dp);
    }
    assert_int_equal(fclose(f), 0);
}

static void show_tail(const char *log)
{
    run_cmd("tail -n 12 '%s' >&2", log);
}

/* The wide checker with the model as its manifest: exit 0 and every index's
   chain equal to the model. */
static void wide_checker(const fxrun *R, const char *man, const char *log)
{
    if (run_cmd("python3 %s '%s' '%s' >'%s' 2>&1", tool_path(UDB_LAYOUT_WIDE), R->path, man, log)) {
        show_tail(log);
        fail_msg("%s: %s fails on the written file", R->name, tool_path(UDB_LAYOUT_WIDE));
    }
    if (run_cmd("test $(grep -c 'leaf chain == manifest' '%s') = %u", log, R->n))
        fail_msg("%s: the wide checker did not compare every index", R->name);
}

/* The classic checker: its listing equals the model's byte for byte; its
   problems are exactly the `expect` lines (the out-of-order indexes of an
   unrepaired l16_types), none when expect is NULL. */
static void classic_checker(const fxrun *R, const char *man, const char *log, const char *const *expect)
{
    const char *tool = tool_path(UDB_LAYOUT_CLASSIC), *got = path_in(dir, "classic_listing.txt");
    int rc = run_cmd("python3 %s '%s' --manifest '%s' >'%s' 2>&1", tool, R->path, got, log);
    unsigned want = 0;
    for (; expect && expect[want]; want++)
        if (run_cmd("grep -qxF -- '   - %s' '%s'", expect[want], log))
            fail_msg("%s: the classic checker did not report '%s'", R->name, expect[want]);
    if (rc != (want ? 1 : 0) || run_cmd("grep -qx ' problems: %u' '%s'", want, log)) {
        show_tail(log);
        fail_msg("%s: %s: exit %d, want %u problem(s)", R->name, tool, rc, want);
    }
    if (run_cmd("cmp -s '%s' '%s'", man, got)) {
        run_cmd("diff '%s' '%s' | head -n 20 >&2", man, got);
        fail_msg("%s: the classic checker's listing differs from the model", R->name);
    }
}

static void independent_check(const fxrun *R, const char *const *expect)
{
    char man[700], log[700];
    snprintf(man, sizeof man, "%s.model", R->path);
    snprintf(log, sizeof log, "%s.checker", R->path);
    write_model_manifest(R, man);
    if (classic(R))
        classic_checker(R, man, log, expect);
    else
        wide_checker(R, man, log);
}

/* ---- operations, each checked against the model at once ------------------------------------- */
static int64_t pick_dp(fxrun *R)
{
    uint64_t r = rnd() % 64;
    if (r == 0)
        return classic(R) ? INT32_MAX : INT64_MAX;
    if (r == 1)
        return 0;
    R->next_dp += 1 + (int64_t)(rnd() % 97);
    return R->next_dp;
}

/* Key for an append: a duplicate of a record, an edge of the type, or random. */
static void append_key(fxrun *R, unsigned i, uint8_t *k)
{
    const model *m = &R->ix[i].m;
    uint64_t r = rnd() % 10;
    if (r < 3 && m->n) {
        memcpy(k, m->r[rnd_below(m->n)].key, MODEL_KEYMAX);
        return;
    }
    make_key(r < 6 ? (int)(r - 3 + K_MIN) + (int)(rnd() % 2) : K_RANDOM, &R->ix[i].inf, classic(R), k);
}

static void op_append(fxrun *R, unsigned i)
{
    ixs *x = &R->ix[i];
    uint8_t k[MODEL_KEYMAX];
    append_key(R, i, k);
    int64_t dp = pick_dp(R);
    size_t kl = key_len(&x->inf, k);
    int through_cursor = rnd() & 1;
    int want = model_append(&x->m, k, dp) ? UDB_EXISTS : 0;
    int rc = through_cursor ? udb_cursor_append(x->c, k, kl, dp) : udb_ndx_append(R->d, i + 1, k, kl, dp);
    if (rc != want)
        fail_msg("%s index %u: append %s/%lld: %s, want %s (%s)", R->name, i + 1, ktext(R, i, k),
                 (long long)dp, udb_errname(rc), udb_errname(want), udb_ndx_errmsg(R->d));
    if (rc == 0) {
        R->appends++;
        x->wrote = 1;
    }
    if (!through_cursor || rc) {
        x->m.cur = -1; /* not compared until repositioned */
        return;
    }
    udb_item it;
    same_cursor(R, i, udb_cursor_current(x->c, &it), &it, "cursor after append");
}

static void op_delete_key(fxrun *R, unsigned i)
{
    ixs *x = &R->ix[i];
    uint8_t k[MODEL_KEYMAX];
    if (x->m.n && rnd() % 8)
        memcpy(k, x->m.r[rnd_below(x->m.n)].key, MODEL_KEYMAX);
    else
        make_key((int)rnd_below(K_KINDS), &x->inf, classic(R), k);
    size_t kl = key_len(&x->inf, k);
    int through_cursor = rnd() & 1;
    uint64_t removed = 99;
    size_t want = model_delete_key(&x->m, k);
    int rc = through_cursor ? udb_cursor_delete_key(x->c, k, kl, &removed)
                            : udb_ndx_delete(R->d, i + 1, k, kl, &removed);
    if (rc != (want ? 0 : UDB_NOTFOUND) || removed != want)
        fail_msg("%s index %u: delete %s: %s, %llu removed; model %zu (%s)", R->name, i + 1, ktext(R, i, k),
                 udb_errname(rc), (unsigned long long)removed, want, udb_ndx_errmsg(R->d));
    if (want) {
        R->deletes++;
        x->wrote = 1;
    }
    if (!through_cursor || !want) {
        x->m.cur = -1;
        return;
    }
    udb_item it;
    same_cursor(R, i, udb_cursor_current(x->c, &it), &it, "cursor after delete by key");
}

/* Find a record's key, walk to it with next, delete it at the cursor. */
static void op_delete_cursor(fxrun *R, unsigned i)
{
    ixs *x = &R->ix[i];
    udb_item it;
    if (!x->m.n) {
        assert_int_equal(udb_cursor_first(x->c, &it), UDB_NOTFOUND);
        assert_int_equal(udb_cursor_delete(x->c, &it), UDB_NOTFOUND);
        return;
    }
    size_t target = rnd_below(x->m.n);
    uint8_t k[MODEL_KEYMAX];
    memcpy(k, x->m.r[target].key, MODEL_KEYMAX);
    assert_int_equal(model_find(&x->m, k), 0);
    same_cursor(R, i, udb_cursor_find(x->c, k, key_len(&x->inf, k), &it), &it, "find before delete");
    for (int steps = 0; (size_t)x->m.cur < target && steps < 4; steps++) {
        assert_int_equal(model_next(&x->m), 0);
        same_cursor(R, i, udb_cursor_next(x->c, &it), &it, "next before delete");
    }
    model_rec gone;
    assert_int_equal(model_delete_cur(&x->m, &gone), 0);
    int rc = udb_cursor_delete(x->c, &it);
    if (rc)
        fail_msg("%s index %u: delete at cursor: %s", R->name, i + 1, udb_ndx_errmsg(R->d));
    same_rec(R, i, &it, &gone, "removed record");
    same_cursor(R, i, udb_cursor_current(x->c, &it), &it, "cursor after delete");
    R->cur_deletes++;
    x->wrote = 1;
}

/* ---- known library bugs ------------------------------------------------------------------------ */
/* Seeks above an original's non-maximal EOF key: l16_types index 6
   (INTEGER, EOF key 7f ff = -129, four records -129) and index 2 (NUM_BLOCK,
   EOF key 0xFFFFFF7F, one record equal to it), read-only. The descent takes
   the +infinity item to the first leaf of the EOF run, whose key is below
   the sought one. (Regression: seek returned that record, a missing-key
   find left the cursor on it.) */
static void test_seek_old_sentinel(void **state)
{
    (void)state;
    static const struct { unsigned ix; uint8_t key[4]; } probe[] = {
        {6, {0xff, 0x7f}}, {6, {0x80, 0xff}}, {2, {0xff, 0xff, 0xff, 0xff}}, {2, {0x80, 0xff, 0xff, 0xff}}};
    udb_ndx *d = open_ndx(FIXTURES "/classic/l16_types.ndx", UDB_RDONLY);
    for (size_t p = 0; p < sizeof probe / sizeof probe[0]; p++) {
        udb_cursor *c;
        udb_item it;
        size_t kl = probe[p].ix == 6 ? 2 : 4;
        assert_int_equal(udb_cursor_open(d, probe[p].ix, &c), 0);
        int rc = udb_cursor_seek(c, probe[p].key, kl, &it);
        if (rc != UDB_NOTFOUND)
            fail_msg("index %u: seek above every key gave %s, record %lld", probe[p].ix, udb_errname(rc),
                     (long long)it.datapos);
        assert_int_equal(udb_cursor_find(c, probe[p].key, kl, &it), UDB_NOTFOUND);
        assert_int_equal(udb_cursor_current(c, &it), UDB_NOTFOUND); /* at the end */
        udb_cursor_close(c);
    }
    udb_ndx_close(d);
}

/* Seek, then a step back or forward, against the model. */
static void seek_and_step(fxrun *R, unsigned i, const uint8_t *k, size_t kl)
{
    ixs *x = &R->ix[i];
    udb_item it;
    char what[4 * MODEL_KEYMAX + 16];
    snprintf(what, sizeof what, "seek %s", ktext(R, i, k));
    model_seek(&x->m, k);
    same_cursor(R, i, udb_cursor_seek(x->c, k, kl, &it), &it, what);
    int back = rnd() & 1;
    int mrc = back ? model_prev(&x->m) : model_next(&x->m);
    int rc = back ? udb_cursor_prev(x->c, &it) : udb_cursor_next(x->c, &it);
    if (mrc)
        assert_int_equal(rc, UDB_NOTFOUND);
    else
        same_cursor(R, i, rc, &it, back ? "prev after seek" : "next after seek");
}

static void op_read(fxrun *R, unsigned i)
{
    ixs *x = &R->ix[i];
    uint8_t k[MODEL_KEYMAX];
    make_key((int)rnd_below(K_KINDS), &x->inf, classic(R), k);
    size_t kl = key_len(&x->inf, k);
    seek_and_step(R, i, k, kl);
    int64_t dp = -2;
    size_t at = model_lower(&x->m, k);
    int found = at < x->m.n && !model_cmp(&x->m, x->m.r[at].key, k);
    assert_int_equal(udb_ndx_find(R->d, i + 1, k, kl, &dp), found ? 0 : UDB_NOTFOUND);
    if (found)
        assert_int_equal(dp, x->m.r[at].dp);
}

/* A write to an index udb refuses: the code, and nothing changes. */
static void op_refused(fxrun *R, unsigned i)
{
    ixs *x = &R->ix[i];
    uint8_t k[MODEL_KEYMAX];
    uint64_t removed = 99;
    make_key(K_RANDOM, &x->inf, classic(R), k);
    assert_int_equal(udb_ndx_append(R->d, i + 1, k, key_len(&x->inf, k), pick_dp(R)), x->refuse);
    if (x->m.n) {
        memcpy(k, x->m.r[rnd_below(x->m.n)].key, MODEL_KEYMAX);
        assert_int_equal(udb_ndx_delete(R->d, i + 1, k, key_len(&x->inf, k), &removed), x->refuse);
        assert_int_equal(removed, 0);
    }
    R->refusals++;
}

/* A classic position past 2^31-1 is refused (UDB_RANGE poisons an explicit
   transaction, so only as an implicit call). */
static void op_range(fxrun *R, unsigned i)
{
    uint8_t k[MODEL_KEYMAX];
    make_key(K_RANDOM, &R->ix[i].inf, 1, k);
    assert_int_equal(udb_ndx_append(R->d, i + 1, k, key_len(&R->ix[i].inf, k), (int64_t)INT32_MAX + 1),
                     UDB_RANGE);
}

static void one_op(fxrun *R, unsigned i, int implicit)
{
    ixs *x = &R->ix[i];
    if (x->refuse) {
        if (implicit || x->refuse == UDB_FORMAT)
            op_refused(R, i);
        return;
    }
    int deletable = (x->inf.def.attrs & UDB_ALLOW_DELETE) != 0;
    uint64_t r = rnd() % 100;
    if (r < 2 && implicit && classic(R))
        op_range(R, i);
    else if (r < 50 || (!deletable && r < 80))
        op_append(R, i);
    else if (r < 80)
        (r < 65 ? op_delete_key : op_delete_cursor)(R, i);
    else
        op_read(R, i);
}

/* ---- batches ------------------------------------------------------------------------------------ */
enum { B_IMPLICIT, B_COMMIT, B_ROLLBACK };

static void snapshot(fxrun *R, int restore)
{
    for (unsigned i = 0; i < R->n; i++) {
        ixs *x = &R->ix[i];
        model *to = restore ? &x->m : &x->snap, *from = restore ? &x->snap : &x->m;
        to->n = 0;
        for (size_t k = 0; k < from->n; k++)
            model_push(to, from->r[k].key, from->r[k].dp);
        to->cur = -1;
        if (restore)
            x->wrote = x->wrote_snap;
        else
            x->wrote_snap = x->wrote;
    }
}

static void run_batch(fxrun *R, int kind, unsigned ops)
{
    if (kind != B_IMPLICIT) {
        snapshot(R, 0);
        assert_int_equal(udb_ndx_begin(R->d), 0);
    }
    for (unsigned k = 0; k < ops; k++)
        one_op(R, (unsigned)rnd_below(R->n), kind == B_IMPLICIT);
    if (kind == B_COMMIT && udb_ndx_commit(R->d))
        fail_msg("%s: commit: %s", R->name, udb_ndx_errmsg(R->d));
    if (kind == B_ROLLBACK) {
        assert_int_equal(udb_ndx_rollback(R->d), 0);
        snapshot(R, 1);
    }
    verify_all(R);
}

/* Close, reopen read-only, compare everything, check, run the checker. */
static void final_checks(fxrun *R, const char *const *expect)
{
    close_run(R);
    R->d = open_ndx(R->path, UDB_RDONLY);
    verify_all(R);
    verify_sentinels(R);
    check_clean(R);
    assert_int_equal(udb_ndx_close(R->d), 0);
    R->d = NULL;
    independent_check(R, expect);
}

/* Seeded batches, a close and reopen in the middle, then the final close,
   reopen and every check. expect: the classic checker's expected problems. */
static void write_and_verify(fxrun *R, const char *const *expect)
{
    static const int kinds[] = {B_IMPLICIT, B_COMMIT, B_COMMIT, B_ROLLBACK, B_IMPLICIT, B_COMMIT};
    unsigned batches = quick ? 6 : 12, per = (quick ? 40 : 250) * R->n;
    verify_all(R);
    for (unsigned b = 0; b < batches; b++) {
        run_batch(R, kinds[b % 6], per / batches + 1);
        if (b == batches / 2) {
            close_run(R);
            R->d = open_ndx(R->path, 0);
            open_cursors(R);
            verify_all(R);
        }
    }
    final_checks(R, expect);
    fprintf(stderr, "%s: %u indexes, %lu appends, %lu deletes by key, %lu at the cursor, %lu refusals\n",
            R->name, R->n, R->appends, R->deletes, R->cur_deletes, R->refusals);
}

/* ---- the MultiIndex fixtures ------------------------------------------------------------------------ */
static const char *copy_fixture(const char *rel)
{
    char src[300];
    snprintf(src, sizeof src, FIXTURES "/%s", rel);
    const char *slash = strrchr(rel, '/');
    const char *to = path_in(dir, slash ? slash + 1 : rel);
    assert_int_equal(copy_file(src, to), 0);
    return to;
}

static int listed(const unsigned *list, unsigned ix)
{
    for (; list && *list; list++)
        if (*list == ix)
            return 1;
    return 0;
}

/* Seed every model from the fixture's manifest. Indexes in `refused` must
   be out of key order (udb refuses to write them); all others in order. */
static void seed_from_manifest(fxrun *R, const char *rel, const unsigned *refused)
{
    char path[300];
    manifest m;
    snprintf(path, sizeof path, FIXTURES "/%s", rel);
    assert_int_equal(manifest_load(path, &m), 0);
    assert_int_equal(m.n, R->n);
    for (unsigned i = 0; i < R->n; i++) {
        const msection *sec = manifest_index(&m, i + 1);
        assert_non_null(sec);
        int sorted = seed_index(R, i, sec);
        assert_int_equal(sorted, !listed(refused, i + 1));
        if (!sorted)
            R->ix[i].refuse = UDB_FORMAT;
    }
    manifest_free(&m);
}

typedef struct spec {
    const char *file, *manifest;
    int layout;
    const unsigned *refused;       /* indexes out of key order (0-terminated) */
    const unsigned *old_sentinel;  /* indexes whose EOF key is the original's */
    const char *const *expect;     /* the classic checker's expected problems */
} spec;

/* The indexes whose stored sentinel is not the maximum, as listed. */
static void expect_old_sentinels(const fxrun *R, const unsigned *list)
{
    for (unsigned i = 0; i < R->n; i++)
        if (R->ix[i].was_max == listed(list, i + 1))
            fail_msg("%s index %u: sentinel_is_max %d when opened", R->name, i + 1, R->ix[i].was_max);
}

static void plain_fixture(const spec *s)
{
    fxrun R;
    start_run(&R, s->file, copy_fixture(s->file), s->layout);
    expect_old_sentinels(&R, s->old_sentinel);
    seed_from_manifest(&R, s->manifest, s->refused);
    write_and_verify(&R, s->expect);
    free_run(&R);
}

/* The MultiIndex fixtures written as they are (one cmocka test each). */
static const unsigned l16_types_refused[] = {4, 7, 0};
static const unsigned l16_types_old[] = {2, 4, 6, 7, 0}, m64_types_old[] = {2, 5, 0};
static const char *const l16_types_findings[] = {"index 4: leaf chain out of order at 1579->1621",
                                                 "index 7: leaf chain out of order at 2194->6512", NULL};

static const spec plain[] = {
    {"classic/l16_test.ndx", "classic/l16_test.manifest", UDB_LAYOUT_CLASSIC, 0, 0, 0},
    /* indexes 4 and 7 refused; the checker's two findings about them stay
       (their chains are untouched), nothing else */
    {"classic/l16_types.ndx", "classic/l16_types.manifest", UDB_LAYOUT_CLASSIC, l16_types_refused,
     l16_types_old, l16_types_findings},
    {"wide/m64_strings.ndx", "wide/m64_strings.ndx.manifest", UDB_LAYOUT_WIDE, 0, 0, 0},
    {"wide/m64_types.ndx", "wide/m64_types.ndx.manifest", UDB_LAYOUT_WIDE, 0, m64_types_old, 0},
    {"wide/m64_empty.ndx", "wide/m64_empty.ndx.manifest", UDB_LAYOUT_WIDE, 0, 0, 0},
    {"wide/m64_heap.ndx", "wide/m64_heap.ndx.manifest", UDB_LAYOUT_WIDE, 0, 0, 0},
};
#define NPLAIN (sizeof plain / sizeof plain[0])

static void test_plain_fixture(void **state)
{
    plain_fixture(*state);
}

/* Stable insertion sort of a model by its key order (equal keys keep
   their order). */
static void model_sort(model *m)
{
    for (size_t k = 1; k < m->n; k++) {
        model_rec r = m->r[k];
        size_t j = k;
        for (; j > 0 && model_cmp(m, m->r[j - 1].key, r.key) > 0; j--)
            m->r[j] = m->r[j - 1];
        m->r[j] = r;
    }
}

/* l16_types after udb_repair: all seven indexes in key order and writable. */
static void test_l16_types_repaired(void **state)
{
    (void)state;
    const unsigned *refused = l16_types_refused;
    const char *path = copy_fixture("classic/l16_types.ndx");
    udb_repair_report rep;
    assert_int_equal(udb_repair(path, NULL, NULL, NULL, NULL, &rep), 0);
    fxrun R;
    start_run(&R, "classic/l16_types.ndx repaired", path, UDB_LAYOUT_CLASSIC);
    seed_from_manifest(&R, "classic/l16_types.manifest", refused);
    assert_int_equal(rep.num_indexes, R.n);
    for (unsigned i = 0; i < R.n; i++) {
        assert_int_equal(rep.index[i].records, R.ix[i].m.n);
        assert_int_equal(rep.index[i].out_of_order > 0, listed(refused, i + 1));
        R.ix[i].refuse = 0;
        model_sort(&R.ix[i].m);
    }
    udb_repair_report_free(&rep);
    write_and_verify(&R, NULL);
    free_run(&R);
}

/* Seed a model from the file itself (a file without a manifest). */
static void seed_from_file(fxrun *R, unsigned i)
{
    udb_item it;
    int rc;
    for (rc = udb_cursor_first(R->ix[i].c, &it); rc == 0; rc = udb_cursor_next(R->ix[i].c, &it)) {
        if (R->ix[i].m.n)
            assert_true(model_cmp(&R->ix[i].m, R->ix[i].m.r[R->ix[i].m.n - 1].key, it.key) <= 0);
        model_push(&R->ix[i].m, it.key, it.datapos);
    }
    assert_int_equal(rc, UDB_NOTFOUND);
}

/* Every write to the stale indexes of real/test_index.ndx is refused with
   UDB_CORRUPT (so is a cursor), and the file stays byte for byte as it was. */
static void refused_stale(const char *path)
{
    size_t n0, n1;
    uint8_t *before = read_file(path, &n0);
    udb_ndx *d = open_ndx(path, 0);
    assert_int_equal(udb_ndx_count(d), 5);
    for (unsigned ix = 1; ix <= 5; ix++) {
        udb_index_info inf;
        udb_cursor *c = NULL;
        uint64_t removed = 99;
        assert_int_equal(udb_ndx_info(d, ix, &inf), 0);
        assert_int_equal(inf.initialised, 0);
        assert_int_equal(udb_ndx_append(d, ix, "1001", 4, 1001), UDB_CORRUPT);
        assert_int_equal(udb_ndx_delete(d, ix, "1", 1, &removed), UDB_CORRUPT);
        assert_int_equal(removed, 0);
        assert_int_equal(udb_cursor_open(d, ix, &c), UDB_CORRUPT);
    }
    assert_int_equal(udb_ndx_close(d), 0);
    uint8_t *after = read_file(path, &n1);
    assert_int_equal(n1, n0);
    assert_memory_equal(after, before, n0);
    free(before);
    free(after);
}

/* real/test_index.ndx: its infos were lost (README). Writes are refused;
   after udb_repair it holds what the README says and is written like
   every other fixture. */
static void test_real_repaired(void **state)
{
    (void)state;
    const char *path = copy_fixture("real/test_index.ndx");
    fxrun R;
    refused_stale(path);
    assert_int_equal(udb_repair(path, NULL, NULL, NULL, NULL, NULL), 0);
    start_run(&R, "real/test_index.ndx repaired", path, UDB_LAYOUT_WIDE);
    for (unsigned i = 0; i < R.n; i++) {
        seed_from_file(&R, i);
        assert_int_equal(R.ix[i].m.n, i == 0 ? 1004 : 0);
    }
    int64_t dp;
    assert_int_equal(udb_ndx_find(R.d, 1, "1000", 4, &dp), 0);
    assert_int_equal(dp, 1000);
    write_and_verify(&R, NULL);
    free_run(&R);
}

/* ---- HeapFile fixtures: an independent reading of the holes tables --------------------------------- */
typedef struct span {
    int64_t pos, len;
} span;

typedef struct rawheap {
    unsigned P, S;
    size_t tsize;
    uint64_t size;
    unsigned ntab;
    span tab[512];
    udb_hole h[4096];
    size_t nh;
} rawheap;

static int64_t le_int(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = w; i-- > 0;)
        v = v << 8 | p[i];
    return w == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

static uint8_t xor_of(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    while (n--)
        x ^= *p++;
    return x;
}

/* One table as format.md lays it out: classic records 1..used at 7 + 8k,
   wide records 1..used-1 at 16i - 5 (used counts the lost record 0; an
   empty table says 0). */
static void raw_table(rawheap *r, const uint8_t *t, int64_t at)
{
    unsigned used = (unsigned)(t[1] | t[2] << 8);
    int classic_l = r->P == 4;
    unsigned holes = classic_l ? used : used ? used - 1 : 0;
    assert_true(holes <= r->S - 1);
    for (unsigned k = 1; k <= holes; k++) {
        const uint8_t *rec = t + (classic_l ? 7 + 8 * k : 16 * k - 5);
        udb_hole *h = &r->h[r->nh++];
        assert_true(r->nh < 4096);
        h->table = r->ntab;
        h->slot = k;
        h->table_pos = at;
        h->pos = le_int(rec, r->P);
        h->size = le_int(rec + r->P, r->P);
    }
}

static void raw_heap(const char *path, int layout, rawheap *r)
{
    size_t n;
    uint8_t *d = read_file(path, &n);
    assert_non_null(d);
    memset(r, 0, sizeof *r);
    r->P = layout == UDB_LAYOUT_CLASSIC ? 4 : 8;
    r->size = n;
    assert_true(n >= 3 + r->P);
    assert_int_equal(xor_of(d, 3 + r->P), 0);
    r->S = (unsigned)(d[1 + r->P] | d[2 + r->P] << 8);
    r->tsize = r->P == 4 ? 7 + 8 * (size_t)r->S : 16 * (size_t)r->S - 5;
    for (int64_t at = le_int(d + 1, r->P); at != -1;) {
        assert_true(at >= 3 + r->P && (uint64_t)at + r->tsize <= n && r->ntab < 512);
        const uint8_t *t = d + at;
        assert_int_equal(xor_of(t, r->tsize), 0);
        r->tab[r->ntab++] = (span){at, (int64_t)r->tsize};
        raw_table(r, t, at);
        at = le_int(t + 3, r->P);
    }
    free(d);
}

/* ---- HeapFile fixtures: the model ---------------------------------------------------------------------- */
typedef struct hrec {
    int64_t pos, len;
    uint64_t fnv;        /* FNV-1a 64 of the content */
    char key[24];        /* key in the companion index, "" for none */
} hrec;

typedef struct hrun {
    const char *name, *path;
    int layout;
    udb_heap *h;
    hrec *live, *slive;  /* byte ranges the caller owns (and a snapshot) */
    span *hole, *shole;  /* free byte ranges, merged (and a snapshot) */
    size_t nlive, nhole, snlive, snhole;
    fxrun *ix;           /* the companion index (m64_heap.ndx) or NULL */
    unsigned keyno;
    unsigned long allocs, from_end, frees, refused;
} hrun;

/* Add [pos, pos+len) to the free set, merged with its neighbours. */
static void hole_add(hrun *H, int64_t pos, int64_t len)
{
    size_t i = 0;
    while (i < H->nhole && H->hole[i].pos < pos)
        i++;
    assert_true(i == 0 || H->hole[i - 1].pos + H->hole[i - 1].len <= pos);
    assert_true(i == H->nhole || pos + len <= H->hole[i].pos);
    H->hole = realloc(H->hole, (H->nhole + 1) * sizeof *H->hole);
    memmove(H->hole + i + 1, H->hole + i, (H->nhole - i) * sizeof *H->hole);
    H->hole[i] = (span){pos, len};
    H->nhole++;
    if (i + 1 < H->nhole && pos + len == H->hole[i + 1].pos) {
        H->hole[i].len += H->hole[i + 1].len;
        memmove(H->hole + i + 1, H->hole + i + 2, (H->nhole - i - 2) * sizeof *H->hole);
        H->nhole--;
    }
    if (i > 0 && H->hole[i - 1].pos + H->hole[i - 1].len == pos) {
        H->hole[i - 1].len += H->hole[i].len;
        memmove(H->hole + i, H->hole + i + 1, (H->nhole - i - 1) * sizeof *H->hole);
        H->nhole--;
    }
}

/* Take [pos, pos+len) out of the one hole holding it: 0, or -1 if none does. */
static int hole_take(hrun *H, int64_t pos, int64_t len)
{
    for (size_t i = 0; i < H->nhole; i++) {
        span h = H->hole[i];
        if (pos < h.pos || pos + len > h.pos + h.len)
            continue;
        memmove(H->hole + i, H->hole + i + 1, (H->nhole - i - 1) * sizeof *H->hole);
        H->nhole--;
        if (pos > h.pos)
            hole_add(H, h.pos, pos - h.pos);
        if (pos + len < h.pos + h.len)
            hole_add(H, pos + len, h.pos + h.len - pos - len);
        return 0;
    }
    return -1;
}

static void live_add(hrun *H, const hrec *r)
{
    H->live = realloc(H->live, (H->nlive + 1) * sizeof *H->live);
    H->live[H->nlive++] = *r;
}

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Header, tables, holes and live ranges must not overlap; the gaps between
   them (up to the file size) go to gaps (NULL: there must be none). */
static size_t tile(const hrun *H, const rawheap *r, span **gaps)
{
    size_t n = 1 + r->ntab + H->nhole + H->nlive, k = 0, ng = 0;
    span *all = malloc(n * sizeof *all);
    all[k++] = (span){0, 3 + r->P};
    for (unsigned t = 0; t < r->ntab; t++)
        all[k++] = r->tab[t];
    for (size_t i = 0; i < H->nhole; i++)
        all[k++] = H->hole[i];
    for (size_t i = 0; i < H->nlive; i++)
        all[k++] = (span){H->live[i].pos, H->live[i].len};
    qsort(all, n, sizeof *all, span_cmp);
    int64_t at = 0;
    for (size_t i = 0; i <= n; i++) {
        int64_t next = i < n ? all[i].pos : (int64_t)r->size;
        if (next < at)
            fail_msg("%s: byte ranges overlap at %lld", H->name, (long long)next);
        if (next > at) {
            if (!gaps)
                fail_msg("%s: bytes %lld..%lld are neither header, table, hole nor record", H->name,
                         (long long)at, (long long)next);
            *gaps = realloc(*gaps, (ng + 1) * sizeof **gaps);
            (*gaps)[ng++] = (span){at, next - at};
        }
        if (i < n)
            at = all[i].pos + all[i].len;
    }
    free(all);
    return ng;
}

/* ---- HeapFile fixtures: checks -------------------------------------------------------------------------- */
/* udb's holes equal the raw tables' records one for one. */
static void same_holes(const hrun *H, const rawheap *r)
{
    static hole_list l;
    l.n = 0;
    assert_int_equal(udb_heap_holes(H->h, hole_list_add, &l), 0);
    assert_int_equal(l.n, r->nh);
    for (size_t i = 0; i < l.n; i++) {
        const udb_hole *a = &l.h[i], *b = &r->h[i];
        if (a->table != b->table || a->slot != b->slot || a->table_pos != b->table_pos ||
            a->pos != b->pos || a->size != b->size)
            fail_msg("%s: hole %zu: udb says table %u slot %u %lld+%lld, the file %u/%u %lld+%lld", H->name,
                     i, a->table, a->slot, (long long)a->pos, (long long)a->size, b->table, b->slot,
                     (long long)b->pos, (long long)b->size);
    }
}

/* The raw holes, merged, are exactly the model's free ranges. */
static void same_free_space(const hrun *H, const rawheap *r)
{
    span *m = malloc((r->nh + 1) * sizeof *m);
    size_t n = 0;
    for (size_t i = 0; i < r->nh; i++)
        m[n++] = (span){r->h[i].pos, r->h[i].size};
    qsort(m, n, sizeof *m, span_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && m[k - 1].pos + m[k - 1].len == m[i].pos)
            m[k - 1].len += m[i].len;
        else
            m[k++] = m[i];
    }
    if (k != H->nhole)
        fail_msg("%s: %zu free ranges in the file, %zu in the model", H->name, k, H->nhole);
    for (size_t i = 0; i < k; i++)
        if (m[i].pos != H->hole[i].pos || m[i].len != H->hole[i].len)
            fail_msg("%s: free range %zu: file %lld+%lld, model %lld+%lld", H->name, i, (long long)m[i].pos,
                     (long long)m[i].len, (long long)H->hole[i].pos, (long long)H->hole[i].len);
    free(m);
}

static void same_contents(const hrun *H)
{
    for (size_t i = 0; i < H->nlive; i++) {
        const hrec *r = &H->live[i];
        uint8_t *b = malloc((size_t)r->len);
        assert_int_equal(udb_heap_read(H->h, r->pos, b, (size_t)r->len), 0);
        if (fnv1a64(b, (size_t)r->len) != r->fnv)
            fail_msg("%s: the record at %lld (%lld bytes) changed", H->name, (long long)r->pos, (long long)r->len);
        free(b);
    }
}

/* The file (raw), udb's view of it and the model agree. */
static void verify_heap(const hrun *H)
{
    static rawheap r;
    raw_heap(H->path, H->layout, &r);
    same_holes(H, &r);
    same_free_space(H, &r);
    tile(H, &r, NULL);
    same_contents(H);
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(H->h, &inf), 0);
    assert_int_equal(inf.file_size, r.size);
    assert_int_equal(inf.tables, r.ntab);
    assert_int_equal(inf.holes, r.nh);
    assert_int_equal(inf.table_size, r.tsize);
    uint64_t bytes = 0;
    for (size_t i = 0; i < r.nh; i++)
        bytes += (uint64_t)r.h[i].size;
    assert_int_equal(inf.hole_bytes, bytes);
}

/* Free space at or past the end of the file is no hole: udb cuts it off
   (in the transaction's view at once; in the file at commit). */
static int64_t trim(hrun *H)
{
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(H->h, &inf), 0);
    int64_t end = (int64_t)inf.file_size;
    while (H->nhole && H->hole[H->nhole - 1].pos >= end)
        H->nhole--;
    return end;
}

/* After a commit: no hole reaches the end of the file, no record passes it. */
static void settle(hrun *H)
{
    int64_t end = trim(H);
    if (H->nhole && H->hole[H->nhole - 1].pos + H->hole[H->nhole - 1].len >= end)
        fail_msg("%s: free range %lld+%lld reaches the end of the file (%lld) after commit", H->name,
                 (long long)H->hole[H->nhole - 1].pos, (long long)H->hole[H->nhole - 1].len, (long long)end);
    for (size_t i = 0; i < H->nlive; i++)
        assert_true(H->live[i].pos + H->live[i].len <= end);
}

/* ---- HeapFile fixtures: operations ------------------------------------------------------------------------- */
static void index_change(hrun *H, const char *key, int64_t pos, int add)
{
    ixs *x = &H->ix->ix[0];
    uint8_t k[MODEL_KEYMAX] = {0};
    uint64_t removed = 0;
    snprintf((char *)k, sizeof k, "%s", key);
    if (add) {
        assert_int_equal(model_append(&x->m, k, pos), 0);
        assert_int_equal(udb_ndx_append(H->ix->d, 1, key, strlen(key), pos), 0);
    } else {
        assert_int_equal(model_delete_key(&x->m, k), 1);
        assert_int_equal(udb_ndx_delete(H->ix->d, 1, key, strlen(key), &removed), 0);
        assert_int_equal(removed, 1);
    }
    x->m.cur = -1;
    x->wrote = 1;
}

/* An allocation from the end: no stored hole was big enough. (Adjacent
   holes an original stored separately stay separate holes: udb merges
   only what it frees, so the model's merged ranges do not tell.) */
static void no_hole_fits(hrun *H, int64_t n)
{
    static hole_list l;
    l.n = 0;
    assert_int_equal(udb_heap_holes(H->h, hole_list_add, &l), 0);
    for (size_t i = 0; i < l.n; i++)
        if (l.h[i].size >= n)
            fail_msg("%s: %lld bytes from the end although the hole at %lld fits", H->name, (long long)n,
                     (long long)l.h[i].pos);
}

/* Allocate (a fitting hole if there is one, else the end of the file),
   write a new record there, give it a key in the companion index. */
static void op_heap_alloc(hrun *H)
{
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(H->h, &inf), 0);
    uint64_t r3 = rnd() % 10;
    int64_t n = H->nhole && r3 < 3 ? H->hole[rnd_below(H->nhole)].len
                                   : 1 + (int64_t)(rnd() % (r3 == 9 ? 2000 : 150)), pos;
    if (udb_heap_alloc(H->h, (uint64_t)n, &pos))
        fail_msg("%s: alloc %lld: %s", H->name, (long long)n, udb_heap_errmsg(H->h));
    if (hole_take(H, pos, n)) {
        assert_int_equal(pos, inf.file_size);
        no_hole_fits(H, n);
        H->from_end++;
    }
    uint8_t *b = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
    assert_int_equal(udb_heap_write(H->h, pos, b, (size_t)n), 0);
    hrec r = {pos, n, fnv1a64(b, (size_t)n), ""};
    free(b);
    if (H->ix && rnd() % 4) {
        snprintf(r.key, sizeof r.key, "new%05u", H->keyno++);
        index_change(H, r.key, pos, 1);
    }
    live_add(H, &r);
    H->allocs++;
}

static void op_heap_free(hrun *H)
{
    if (!H->nlive)
        return;
    size_t i = rnd_below(H->nlive);
    hrec r = H->live[i];
    if (udb_heap_free(H->h, r.pos, (uint64_t)r.len))
        fail_msg("%s: free %lld+%lld: %s", H->name, (long long)r.pos, (long long)r.len, udb_heap_errmsg(H->h));
    H->live[i] = H->live[--H->nlive];
    hole_add(H, r.pos, r.len);
    trim(H);
    if (r.key[0])
        index_change(H, r.key, r.pos, 0);
    H->frees++;
}

/* Refused with UDB_INVAL, nothing changed: a double free, a free of the
   header or of a holes table, an empty allocation, a write on the header. */
static void op_heap_refused(hrun *H)
{
    udb_heap_info inf;
    int64_t pos;
    assert_int_equal(udb_heap_info_get(H->h, &inf), 0);
    if (H->nhole) {
        span h = H->hole[rnd_below(H->nhole)];
        int64_t off = (int64_t)rnd_below((size_t)h.len);
        assert_int_equal(udb_heap_free(H->h, h.pos + off, 1), UDB_INVAL);
    }
    if (inf.first_table != -1)
        assert_int_equal(udb_heap_free(H->h, inf.first_table + 1, 2), UDB_INVAL);
    assert_int_equal(udb_heap_free(H->h, 1, 1), UDB_INVAL);
    assert_int_equal(udb_heap_alloc(H->h, 0, &pos), UDB_INVAL);
    assert_int_equal(udb_heap_write(H->h, 0, "x", 1), UDB_INVAL);
    H->refused++;
}

/* ---- HeapFile fixtures: batches ------------------------------------------------------------------------------ */
static void heap_snapshot(hrun *H, int restore)
{
    hrec **lt = restore ? &H->live : &H->slive, *lf = restore ? H->slive : H->live;
    span **ht = restore ? &H->hole : &H->shole, *hf = restore ? H->shole : H->hole;
    size_t nl = restore ? H->snlive : H->nlive, nh = restore ? H->snhole : H->nhole;
    *lt = realloc(*lt, (nl + 1) * sizeof **lt);
    *ht = realloc(*ht, (nh + 1) * sizeof **ht);
    memcpy(*lt, lf, nl * sizeof *lf);
    memcpy(*ht, hf, nh * sizeof *hf);
    if (restore) {
        H->nlive = nl;
        H->nhole = nh;
    } else {
        H->snlive = nl;
        H->snhole = nh;
    }
    if (H->ix)
        snapshot(H->ix, restore);
}

static void heap_begin(hrun *H)
{
    heap_snapshot(H, 0);
    assert_int_equal(udb_heap_begin(H->h), 0);
    if (H->ix)
        assert_int_equal(udb_ndx_begin(H->ix->d), 0);
}

static void heap_end(hrun *H, int kind)
{
    if (kind == B_COMMIT) {
        if (udb_heap_commit(H->h))
            fail_msg("%s: commit: %s", H->name, udb_heap_errmsg(H->h));
        if (H->ix)
            assert_int_equal(udb_ndx_commit(H->ix->d), 0);
        settle(H);
        return;
    }
    assert_int_equal(udb_heap_rollback(H->h), 0);
    if (H->ix)
        assert_int_equal(udb_ndx_rollback(H->ix->d), 0);
    heap_snapshot(H, 1);
}

static void heap_batch(hrun *H, int kind, unsigned ops)
{
    if (kind != B_IMPLICIT)
        heap_begin(H);
    for (unsigned k = 0; k < ops; k++) {
        uint64_t r = rnd() % 100;
        if (r < 5)
            op_heap_refused(H);
        else
            (r < 55 ? op_heap_alloc : op_heap_free)(H);
        if (kind == B_IMPLICIT)
            settle(H);
    }
    if (kind != B_IMPLICIT)
        heap_end(H, kind);
    verify_heap(H);
    if (H->ix)
        verify_all(H->ix);
}

/* Every keyed record is in the companion index's model at its position. */
static void keys_match_records(const hrun *H)
{
    const model *m = &H->ix->ix[0].m;
    size_t keyed = 0;
    for (size_t i = 0; i < H->nlive; i++) {
        if (!H->live[i].key[0])
            continue;
        uint8_t k[MODEL_KEYMAX] = {0};
        snprintf((char *)k, sizeof k, "%s", H->live[i].key);
        size_t at = model_lower(m, k);
        assert_true(at < m->n && !model_cmp(m, m->r[at].key, k));
        assert_int_equal(m->r[at].dp, H->live[i].pos);
        keyed++;
    }
    assert_int_equal(keyed, m->n);
}

/* The batches, then close, reopen and every check. */
static void heap_write_and_verify(hrun *H)
{
    static const int kinds[] = {B_IMPLICIT, B_COMMIT, B_ROLLBACK, B_COMMIT, B_IMPLICIT, B_COMMIT};
    unsigned batches = quick ? 6 : 12, per = quick ? 15 : 60;
    for (unsigned b = 0; b < batches; b++)
        heap_batch(H, kinds[b % 6], per);
    assert_int_equal(udb_heap_close(H->h), 0);
    H->h = open_heap(H->path, UDB_RDONLY);
    verify_heap(H);
    assert_int_equal(udb_heap_close(H->h), 0);
    H->h = NULL;
    if (H->ix) {
        keys_match_records(H);
        final_checks(H->ix, NULL);
    }
    fprintf(stderr, "%s: %lu allocations (%lu from the end), %lu frees, %lu refusal rounds\n", H->name,
            H->allocs, H->from_end, H->frees, H->refused);
}

static void free_heap_run(hrun *H)
{
    free(H->live);
    free(H->slive);
    free(H->hole);
    free(H->shole);
}

/* ---- HeapFile fixtures: the tests ------------------------------------------------------------------------------ */
/* One line of a heap manifest that lists a readable hole, as (table, slot,
   pos, size); 0 for any other line. Classic: "table N at=.." then "hole K
   pos=.. size=.."; wide: "hole<TAB>table<TAB>entry<TAB>pos<TAB>size". */
static int manifest_hole(const char *line, unsigned *table, udb_hole *h)
{
    long long pos, size;
    unsigned t, e;
    if (sscanf(line, "table %u at=", &t) == 1)
        *table = t;
    if (sscanf(line, "hole %u pos=%lld size=%lld", &e, &pos, &size) == 3)
        t = *table;
    else if (sscanf(line, "hole\t%u\t%u\t%lld\t%lld", &t, &e, &pos, &size) != 4)
        return 0;
    *h = (udb_hole){.table = t, .slot = e, .pos = pos, .size = size};
    return 1;
}

/* The manifest's holes are the raw tables' (the independent reading is
   right about the original file); the live records go into the model. */
static void heap_manifest(hrun *H, const char *rel, const rawheap *r)
{
    char path[300], line[4096], key[24], fnv[32];
    snprintf(path, sizeof path, FIXTURES "/%s", rel);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    unsigned table = 0;
    size_t nh = 0;
    while (fgets(line, sizeof line, f)) {
        udb_hole h;
        long long pos, len;
        if (manifest_hole(line, &table, &h)) {
            assert_true(nh < r->nh);
            assert_int_equal(h.table, r->h[nh].table);
            assert_int_equal(h.slot, r->h[nh].slot);
            assert_int_equal(h.pos, r->h[nh].pos);
            assert_int_equal(h.size, r->h[nh].size);
            nh++;
        } else if (sscanf(line, "live\t%23s\t%lld\t%lld\t%31s", key, &pos, &len, fnv) == 4) {
            hrec rec = {pos, len, strtoull(fnv, NULL, 16), ""};
            memcpy(rec.key, key, sizeof rec.key);
            live_add(H, &rec);
        }
    }
    fclose(f);
    assert_int_equal(nh, r->nh);
}

/* Copy and open the heap; its holes, the manifest's live records, and
   every other byte (original data, lost holes) as keyless records. */
static void start_heap(hrun *H, const char *rel, const char *manifest_rel, int layout)
{
    static rawheap r;
    memset(H, 0, sizeof *H);
    H->name = rel;
    H->layout = layout;
    H->path = copy_fixture(rel);
    H->h = open_heap(H->path, 0);
    raw_heap(H->path, layout, &r);
    same_holes(H, &r);
    for (size_t i = 0; i < r.nh; i++)
        hole_add(H, r.h[i].pos, r.h[i].size);
    heap_manifest(H, manifest_rel, &r);
    span *gaps = NULL;
    size_t ng = tile(H, &r, &gaps);
    for (size_t i = 0; i < ng; i++) {
        uint8_t *b = malloc((size_t)gaps[i].len);
        assert_int_equal(udb_heap_read(H->h, gaps[i].pos, b, (size_t)gaps[i].len), 0);
        hrec rec = {gaps[i].pos, gaps[i].len, fnv1a64(b, (size_t)gaps[i].len), ""};
        live_add(H, &rec);
        free(b);
    }
    free(gaps);
    verify_heap(H);
}

static void test_heap_l16(void **state)
{
    (void)state;
    hrun H;
    start_heap(&H, "classic/l16_heap.dat", "classic/l16_heap.manifest", UDB_LAYOUT_CLASSIC);
    heap_write_and_verify(&H);
    free_heap_run(&H);
}

/* m64_heap.dat and its index m64_heap.ndx, changed together. */
static void test_heap_m64(void **state)
{
    (void)state;
    hrun H;
    fxrun ix;
    start_heap(&H, "wide/m64_heap.dat", "wide/m64_heap.dat.manifest", UDB_LAYOUT_WIDE);
    start_run(&ix, "wide/m64_heap.ndx (with the heap)", copy_fixture("wide/m64_heap.ndx"), UDB_LAYOUT_WIDE);
    seed_from_manifest(&ix, "wide/m64_heap.ndx.manifest", NULL);
    H.ix = &ix;
    keys_match_records(&H);
    heap_write_and_verify(&H);
    free_run(&ix);
    free_heap_run(&H);
}

int main(void)
{
    quick = getenv("UDB_TEST_QUICK") != NULL;
    if (getenv("UDB_TEST_SEED"))
        seed = strtoull(getenv("UDB_TEST_SEED"), NULL, 0);
    fprintf(stderr, "seed 0x%llx%s\n", seed, quick ? " (quick)" : "");
    dir = scratch_dir("fixture_writes");
    struct CMUnitTest tests[NPLAIN + 5] = {
        cmocka_unit_test(test_l16_types_repaired),
        cmocka_unit_test(test_real_repaired),
        cmocka_unit_test(test_heap_l16),
        cmocka_unit_test(test_heap_m64),
        cmocka_unit_test(test_seek_old_sentinel),
    };
    for (size_t k = 0; k < NPLAIN; k++)
        tests[5 + k] = (struct CMUnitTest){plain[k].file, test_plain_fixture, NULL, NULL, (void *)&plain[k]};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
