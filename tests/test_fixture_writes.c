/*
 * test_fixture_writes.c — issue #3: "every fixture: open, append and delete
 * records, close, reopen: the result equals the model and passes the
 * independent checker".
 *
 * Owns: the write test of every fixture the originals wrote. It works on
 * copies in tests/out/; it must not touch the fixtures themselves, udb/, or
 * the shared tools (it only runs them). Needs the shared checkers: ../shared
 * (the layout of CI and of a worktree beside shared/) or $UDB_SHARED; it
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
 * exact find gives the newest duplicate, udb_ndx_check is clean with no
 * unaccounted byte, and the independent checker passes with the model as
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
 * m64_heap.ndx): allocations, writes and frees in implicit calls and
 * transactions; after reopen the holes tables, parsed here from the raw
 * bytes as format.md describes them (checksums, slot arithmetic, records in
 * use), equal what udb_heap_holes reports and the model of the free space
 * (holes merge with neighbours; space reaching the end of the file is cut
 * off at commit); every live record reads back unchanged (the manifest's
 * FNV-1a for the original ones).
 *
 * UDB_TEST_QUICK=1 (make valgrind) runs fewer operations.
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

/* ---- the shared checkers ---------------------------------------------------------------------- */
static const char *tool_path(int layout)
{
    static char buf[2][600];
    const char *base = getenv("UDB_SHARED") ? getenv("UDB_SHARED") : "../shared";
    int k = layout == UDB_LAYOUT_CLASSIC;
    snprintf(buf[k], sizeof buf[k], "%s/tools/%s", base, k ? "classic_check.py" : "wide_check.py");
    if (access(buf[k], R_OK) != 0)
        fail_msg("independent checker %s not found (set UDB_SHARED to the shared/ folder)", buf[k]);
    return buf[k];
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

static udb_ndx *open_ndx(const char *path, int flags)
{
    udb_options o;
    udb_options_init(&o);
    o.flags = flags;
    udb_ndx *d;
    int rc = udb_ndx_open(path, &o, &d);
    if (rc)
        fail_msg("open %s: %s", path, udb_ndx_errmsg(d));
    return d;
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
                     udb_strerror(rc), m->cur, udb_ndx_errmsg(R->d));
        same_rec(R, i, it, &m->r[m->cur], what);
    } else if (rc == 0) {
        fail_msg("%s index %u %s: the file gives %s/%lld, the model nothing", R->name, i + 1, what,
                 ktext(R, i, it->key), (long long)it->datapos);
    } else if (rc != UDB_NOTFOUND) {
        fail_msg("%s index %u %s: %s, model nowhere", R->name, i + 1, what, udb_strerror(rc));
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
} findings;

static void count_problems(void *arg, int severity, int64_t off, unsigned index, const char *text)
{
    findings *f = arg;
    (void)off;
    if (severity == UDB_PROBLEM) {
        f->problems++;
        fprintf(stderr, "check problem: index %u: %s\n", index, text);
    } else {
        f->notes++;
        f->note_ix |= (uint64_t)1 << (index < 63 ? index : 63);
    }
}

/* udb_ndx_check: no problem, no unaccounted byte, the model's counts; notes
   only about the indexes udb refuses to write. */
static void check_clean(const fxrun *R)
{
    findings f = {0, 0, 0};
    udb_check_report rep = {0};
    int rc = udb_ndx_check(R->d, count_problems, &f, &rep);
    if (rc)
        fail_msg("%s: udb_ndx_check: %s", R->name, udb_ndx_errmsg(R->d));
    assert_int_equal(f.problems, 0);
    assert_int_equal(rep.unaccounted_bytes, 0);
    assert_int_equal(rep.num_indexes, R->n);
    uint64_t refused = 0;
    for (unsigned i = 0; i < R->n; i++) {
        assert_int_equal(rep.index[i].records, R->ix[i].m.n);
        if (R->ix[i].refuse)
            refused |= (uint64_t)1 << (i + 1);
    }
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
                 (long long)dp, udb_strerror(rc), udb_strerror(want), udb_ndx_errmsg(R->d));
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
                 udb_strerror(rc), (unsigned long long)removed, want, udb_ndx_errmsg(R->d));
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
static int known_bug(const char *var, const char *what)
{
    static unsigned said;
    const char *v = getenv(var);
    if (v && *v && strcmp(v, "0"))
        return 1;
    if (!said++)
        fprintf(stderr, "KNOWN BUG skipped: %s (set %s=1 to run)\n", what, var);
    return 0;
}

/* KNOWN BUG UDB_KNOWN_BUG_SEEK_OLD_SENTINEL: in an index that still has an
   original's non-maximal EOF key, a seek (or a missing-key cursor find) of
   a key above that old sentinel lands on the records equal to it. */
static int hits_seek_bug(const fxrun *R, unsigned i, const uint8_t *k)
{
    const ixs *x = &R->ix[i];
    uint8_t old[MODEL_KEYMAX];
    if (x->was_max || x->wrote)
        return 0;
    old_sentinel(x->inf.def.keytype, x->inf.def.keysize, old);
    if (model_cmp(&x->m, k, old) <= 0)
        return 0;
    return !known_bug("UDB_KNOWN_BUG_SEEK_OLD_SENTINEL",
                      "seek above an original's non-maximal sentinel lands on records below the key");
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
    if (!hits_seek_bug(R, i, k))
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
    close_run(R);
    R->d = open_ndx(R->path, UDB_RDONLY);
    verify_all(R);
    verify_sentinels(R);
    check_clean(R);
    assert_int_equal(udb_ndx_close(R->d), 0);
    R->d = NULL;
    independent_check(R, expect);
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

static void test_l16_test(void **state)
{
    (void)state;
    static const spec s = {"classic/l16_test.ndx", "classic/l16_test.manifest", UDB_LAYOUT_CLASSIC, 0, 0, 0};
    plain_fixture(&s);
}

static void test_m64_strings(void **state)
{
    (void)state;
    static const spec s = {"wide/m64_strings.ndx", "wide/m64_strings.ndx.manifest", UDB_LAYOUT_WIDE, 0, 0, 0};
    plain_fixture(&s);
}

/* NUM_BLOCK (2) and INTEGER (5) still have the original's sentinel. */
static void test_m64_types(void **state)
{
    (void)state;
    static const unsigned old[] = {2, 5, 0};
    static const spec s = {"wide/m64_types.ndx", "wide/m64_types.ndx.manifest", UDB_LAYOUT_WIDE, 0, old, 0};
    plain_fixture(&s);
}

static void test_m64_empty(void **state)
{
    (void)state;
    static const spec s = {"wide/m64_empty.ndx", "wide/m64_empty.ndx.manifest", UDB_LAYOUT_WIDE, 0, 0, 0};
    plain_fixture(&s);
}

static void test_m64_heap_ndx(void **state)
{
    (void)state;
    static const spec s = {"wide/m64_heap.ndx", "wide/m64_heap.ndx.manifest", UDB_LAYOUT_WIDE, 0, 0, 0};
    plain_fixture(&s);
}

/* l16_types as it is: indexes 4 and 7 refused, the checker's two findings
   about them stay (their chains are untouched), nothing else. NUM_BLOCK
   (2), CHARACTER (4) and INTEGER (6, 7) have the original's sentinel. */
static const unsigned l16_types_refused[] = {4, 7, 0};

static void test_l16_types(void **state)
{
    (void)state;
    static const unsigned old[] = {2, 4, 6, 7, 0};
    static const char *const expect[] = {"index 4: leaf chain out of order at 1579->1621",
                                         "index 7: leaf chain out of order at 2194->6512", NULL};
    static const spec s = {"classic/l16_types.ndx", "classic/l16_types.manifest", UDB_LAYOUT_CLASSIC,
                           l16_types_refused, old, expect};
    plain_fixture(&s);
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

int main(void)
{
    quick = getenv("UDB_TEST_QUICK") != NULL;
    if (getenv("UDB_TEST_SEED"))
        seed = strtoull(getenv("UDB_TEST_SEED"), NULL, 0);
    fprintf(stderr, "seed 0x%llx%s\n", seed, quick ? " (quick)" : "");
    dir = scratch_dir("fixture_writes");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_l16_test),
        cmocka_unit_test(test_l16_types),
        cmocka_unit_test(test_l16_types_repaired),
        cmocka_unit_test(test_m64_strings),
        cmocka_unit_test(test_m64_types),
        cmocka_unit_test(test_m64_empty),
        cmocka_unit_test(test_m64_heap_ndx),
        cmocka_unit_test(test_real_repaired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
