/*
 * test_repair.c — repair and conversion.
 * Repair: the real unclosed file (index 1 recovers its 1004 records, every
 * key found, the result clean and accepted by the independent checker), to
 * a new file and in place; copies of the fixtures with the infos wiped,
 * tree nodes zeroed, a broken chain link, a destroyed leaf (the second of a
 * chain too) and a torn last block: every record whose leaf is intact comes back, in manifest order,
 * the lost ones are exactly the destroyed leaves and are reported, nothing
 * is invented, the result is clean.
 * Healthy files: the first record of an index at data position 0 (it was
 * taken for a free leaf and dropped, unreported), and a property test over
 * random files of both layouts, every key type, node orders 3 to the
 * largest, duplicates, deletes, data positions 0, 1 and the maximum,
 * several indexes: repair to a new file and in place keeps every record of
 * every index in order, and says nothing (UDB_REPAIR_FILES=N for more
 * files, UDB_TEST_SEED to repeat one).
 * Damage on a file whose records are known: a leaf between two destroyed
 * ones comes back, and a record with a negative data position; a STRING
 * without NUL and a leaf nothing links to are named (index, key, data
 * position, leaf); a
 * zero-key head at position 0 is kept in doubt, with a note; a cut free
 * list invents nothing.
 * Conversion: classic -> wide -> classic and wide -> classic -> wide keep
 * every manifest; positions beyond 32 bits are refused for classic; a new
 * node order keeps the records.
 * Both refuse an existing output and leave it as it was.
 * Progress (udb_options.progress) of repair, convert and check: every phase
 * from 0 to its total, every 4096 records, the files written unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "layout.h"
#include "model.h"
#include "testutil.h"

static const char *dir;

typedef struct findings {
    int problems, lost, breaks;
} findings;

static void note(void *arg, int sev, int64_t off, unsigned ix, const char *text)
{
    findings *f = arg;
    (void)off;
    (void)ix;
    f->problems += sev == UDB_PROBLEM;
    f->lost += strstr(text, "record is lost") != NULL;
    f->breaks += strstr(text, "breaks after") != NULL;
}

/* The records of every index, as manifest text lines "index<TAB>key<TAB>dp". */
static char *listing(const char *path, int *count)
{
    udb_ndx *d;
    if (udb_ndx_open(path, NULL, &d))
        fail_msg("open %s: %s", path, udb_ndx_errmsg(d));
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap), kb[300];
    *count = 0;
    for (unsigned ix = 1; ix <= udb_ndx_count(d); ix++) {
        udb_index_info inf;
        udb_cursor *c;
        udb_item it;
        udb_ndx_info(d, ix, &inf);
        if (!inf.initialised)
            continue;
        assert_int_equal(udb_cursor_open(d, ix, &c), 0);
        for (int rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it)) {
            if (len + 400 > cap)
                out = realloc(out, cap *= 2);
            len += (size_t)sprintf(out + len, "%u\t%s\t%lld\n", ix,
                                   manifest_key(udb_ndx_layout(d), &inf, it.key, kb), (long long)it.datapos);
            ++*count;
        }
        udb_cursor_close(c);
    }
    out[len] = 0;
    if (udb_ndx_check(d, NULL, NULL, NULL))
        fail_msg("%s is not clean: %s", path, udb_ndx_errmsg(d));
    udb_ndx_close(d);
    return out;
}

/* The manifest's records in the same form. */
static char *manifest_listing(const char *mpath, int wide, int *count)
{
    manifest m;
    assert_int_equal(manifest_load(mpath, &m), 0);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    *count = 0;
    for (size_t s = 0; s < m.n; s++)
        for (size_t r = 0; r < m.sec[s].n; r++) {
            if (len + 400 > cap)
                out = realloc(out, cap *= 2);
            len += (size_t)sprintf(out + len, "%u\t%s\t%lld\n", m.sec[s].index, m.sec[s].rec[r].key,
                                   (long long)m.sec[s].rec[r].dp);
            ++*count;
        }
    out[len] = 0;
    (void)wide;
    manifest_free(&m);
    return out;
}

static void independent(const char *path, int layout)
{
    const char *tool = checker_path(layout);
    if (run_cmd("python3 %s %s >/dev/null 2>&1", tool, path))
        fail_msg("%s fails %s", path, tool);
}

/* ---- the real file --------------------------------------------------------------------------- */
static void check_real(const char *path)
{
    udb_ndx *d;
    assert_int_equal(udb_ndx_open(path, NULL, &d), 0);
    udb_cursor *c;
    udb_item it;
    int n = 0;
    assert_int_equal(udb_cursor_open(d, 1, &c), 0);
    for (int rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it), n++) {
        int64_t dp;
        assert_int_equal(udb_ndx_find(d, 1, it.key, strlen((const char *)it.key), &dp), 0);
        assert_int_equal(dp, it.datapos);
    }
    assert_int_equal(n, 1004);
    udb_cursor_close(c);
    int64_t dp;
    assert_int_equal(udb_ndx_find(d, 1, "777", 3, &dp), 0);
    assert_int_equal(dp, 777);
    for (unsigned ix = 2; ix <= 5; ix++) {
        assert_int_equal(udb_cursor_open(d, ix, &c), 0);
        assert_int_equal(udb_cursor_first(c, &it), UDB_NOTFOUND);
        udb_cursor_close(c);
    }
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    udb_ndx_close(d);
    independent(path, UDB_LAYOUT_WIDE);
}

static void test_real_file(void **state)
{
    (void)state;
    udb_repair_report rep;
    const char *out = path_in(dir, "real_out.ndx");
    assert_int_equal(udb_repair(FIXTURES "/real/test_index.ndx", out, NULL, NULL, NULL, &rep), 0);
    assert_int_equal(rep.num_indexes, 5);
    assert_int_equal(rep.index[0].records, 1004);
    for (int i = 1; i < 5; i++)
        assert_int_equal(rep.index[i].records, 0);
    udb_repair_report_free(&rep);
    check_real(out);
    /* in place: the file itself is fixed, in one transaction */
    const char *inplace = path_in(dir, "real_inplace.ndx");
    assert_int_equal(copy_file(FIXTURES "/real/test_index.ndx", inplace), 0);
    assert_int_equal(udb_repair(inplace, NULL, NULL, NULL, NULL, NULL), 0);
    check_real(inplace);
    /* a second repair changes nothing in the records */
    int n1, n2;
    char *a = listing(inplace, &n1);
    assert_int_equal(udb_repair(inplace, NULL, NULL, NULL, NULL, NULL), 0);
    char *b = listing(inplace, &n2);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* ---- damage ------------------------------------------------------------------------------------- */
typedef struct fx {
    const char *file, *manifest;
    int layout;
} fx;

static const fx fixtures[] = {
    {FIXTURES "/classic/l16_test.ndx", FIXTURES "/classic/l16_test.manifest", UDB_LAYOUT_CLASSIC},
    {FIXTURES "/wide/m64_strings.ndx", FIXTURES "/wide/m64_strings.ndx.manifest", UDB_LAYOUT_WIDE},
    {FIXTURES "/wide/m64_types.ndx", FIXTURES "/wide/m64_types.ndx.manifest", UDB_LAYOUT_WIDE},
};

typedef struct img {
    uint8_t *d;
    size_t n;
    const lay *L;
    unsigned count;
} img;

static void img_load(img *m, const fx *f)
{
    m->d = read_file(f->file, &m->n);
    m->L = lay_get(f->layout);
    m->count = lay_hdr_count(m->d);
}

static void info_of(const img *m, unsigned ix, lay_info *inf, lay_tree *T)
{
    lay_info_decode(m->L, m->d + lay_info_off(m->L, ix), inf);
    lay_tree_init(T, m->L, (int)inf->keytype, inf->keysize, inf->maxitems);
}

/* The n-th live leaf of index ix (chain order from the first leaf). */
static int64_t nth_leaf(const img *m, unsigned ix, int n)
{
    lay_info inf;
    lay_tree T;
    info_of(m, ix, &inf, &T);
    int64_t at = inf.first_leaf;
    for (int k = 0; k < n && at != inf.last_leaf; k++)
        at = lay_leaf_next(&T, m->d + at);
    return at == inf.last_leaf ? -1 : at;
}

/* Remove the record at leaf from a manifest listing ("ix<TAB>key<TAB>dp"). */
static void drop_line(char *listing, unsigned ix, const img *m, int64_t leaf)
{
    lay_info inf;
    lay_tree T;
    info_of(m, ix, &inf, &T);
    udb_index_info ui = {{(int)inf.keytype, inf.keysize, 0, 0, 0, 0}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    char kb[300], line[400];
    snprintf(line, sizeof line, "%u\t%s\t%lld\n", ix, manifest_key(m->L->kind, &ui, lay_leaf_key(&T, m->d + leaf), kb),
             (long long)lay_leaf_datapos(&T, m->d + leaf));
    char *p = strstr(listing, line);
    assert_non_null(p);
    memmove(p, p + strlen(line), strlen(p + strlen(line)) + 1);
}

enum { WIPE_INFOS, ZERO_NODES, BREAK_LINK, KILL_LEAF, KILL_SECOND, TEAR_END };
static const char *damage_name[] = {"wiped infos", "zeroed nodes", "broken link", "destroyed leaf",
                                    "destroyed second leaf", "torn end"};

/* Damage the image; removes lost records from want; returns how many. */
static int damage(img *m, int kind, char *want)
{
    int lost = 0;
    for (unsigned ix = 1; ix <= m->count; ix++) {
        lay_info inf;
        lay_tree T;
        info_of(m, ix, &inf, &T);
        uint8_t *ip = m->d + lay_info_off(m->L, ix);
        int64_t leaf = nth_leaf(m, ix, 5 + (int)ix);
        if (kind == WIPE_INFOS) {
            inf.root = inf.first_leaf = inf.last_leaf = inf.free_node = inf.free_leaf = -1;
            inf.levels = 0;
            lay_info_encode(m->L, ip, &inf);
        } else if (kind == ZERO_NODES && ix <= 2) {
            memset(m->d + inf.root, 0, T.node_size);
            int64_t child = lay_node_child(&T, m->d + inf.root, 0);
            (void)child;
        } else if (kind == BREAK_LINK && leaf > 0) {
            lay_leaf_set_next(&T, m->d + leaf, inf.root); /* a node, not the next leaf */
        } else if (kind == KILL_LEAF && leaf > 0 && ix == 1) {
            drop_line(want, ix, m, leaf);
            memset(m->d + leaf, 0x5a, T.leaf_size);
            lost++;
        } else if (kind == KILL_SECOND && ix == 1 && (leaf = nth_leaf(m, ix, 1)) > 0) {
            /* the first leaf keeps only its tree's pointer (regression: it was lost, unreported) */
            drop_line(want, ix, m, leaf);
            memset(m->d + leaf, 0x5a, T.leaf_size);
            lost++;
        }
    }
    if (kind == TEAR_END) {
        /* the last block: find whether it is a live leaf of some index */
        for (unsigned ix = 1; ix <= m->count; ix++) {
            lay_info inf;
            lay_tree T;
            info_of(m, ix, &inf, &T);
            for (int64_t at = inf.first_leaf; at != inf.last_leaf; at = lay_leaf_next(&T, m->d + at))
                if ((size_t)at + T.leaf_size == m->n) {
                    drop_line(want, ix, m, at);
                    lost++;
                }
        }
        m->n -= 3;
    }
    return lost;
}

static void test_damage(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++)
        for (int kind = WIPE_INFOS; kind <= TEAR_END; kind++) {
            img m;
            int nwant, ngot;
            img_load(&m, &fixtures[f]);
            char *want = manifest_listing(fixtures[f].manifest, fixtures[f].layout, &nwant);
            int lost = damage(&m, kind, want);
            const char *in = path_in(dir, "damaged.ndx"), *out = path_in(dir, "repaired.ndx");
            unlink(out);
            assert_int_equal(write_file(in, m.d, m.n), 0);
            findings fd = {0, 0, 0};
            udb_repair_report rep;
            if (udb_repair(in, out, NULL, note, &fd, &rep))
                fail_msg("%s, %s: repair failed", fixtures[f].file, damage_name[kind]);
            udb_repair_report_free(&rep);
            char *got = listing(out, &ngot);
            if (strcmp(want, got))
                fail_msg("%s, %s: the repaired records differ (%d vs %d expected, %d lost)",
                         fixtures[f].file, damage_name[kind], ngot, nwant - lost, lost);
            if (fd.lost != lost)
                fail_msg("%s, %s: %d records reported lost, %d destroyed", fixtures[f].file,
                         damage_name[kind], fd.lost, lost);
            if (kind == BREAK_LINK)
                assert_true(fd.breaks > 0);
            independent(out, fixtures[f].layout);
            free(want);
            free(got);
            free(m.d);
        }
}

/* ---- records at data position 0 ------------------------------------------------------------ */
typedef struct lines {
    int problems, notes, lost;
    char text[16][600];
    int64_t off[16];
    unsigned ix[16];
    int n;
} lines;

static void keep_lines(void *arg, int sev, int64_t off, unsigned ix, const char *text)
{
    lines *l = arg;
    l->problems += sev == UDB_PROBLEM;
    l->notes += sev == UDB_NOTE;
    l->lost += strstr(text, "record is lost") != NULL;
    if (l->n < 16) {
        snprintf(l->text[l->n], sizeof l->text[0], "%s: %s", sev == UDB_PROBLEM ? "problem" : "note", text);
        l->off[l->n] = off;
        l->ix[l->n++] = ix;
    }
}

/* Every record of every index as "index key-in-hex dp" lines. */
static char *records_hex(const char *path)
{
    udb_ndx *d = open_ndx(path, UDB_RDONLY);
    size_t cap = 1 << 12, len = 0;
    char *out = malloc(cap);
    out[0] = 0;
    for (unsigned ix = 1; ix <= udb_ndx_count(d); ix++) {
        udb_index_info inf;
        udb_cursor *c;
        udb_item it;
        assert_int_equal(udb_ndx_info(d, ix, &inf), 0);
        if (inf.def.keytype == UDB_KEY_VOID)
            continue;
        assert_int_equal(udb_cursor_open(d, ix, &c), 0);
        int rc;
        for (rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it)) {
            while (len + 2 * it.keysize + 64 > cap)
                out = realloc(out, cap *= 2);
            len += (size_t)sprintf(out + len, "%u ", ix);
            for (size_t i = 0; i < it.keysize; i++)
                len += (size_t)sprintf(out + len, "%02x", it.key[i]);
            len += (size_t)sprintf(out + len, " %lld\n", (long long)it.datapos);
        }
        assert_int_equal(rc, UDB_NOTFOUND);
        udb_cursor_close(c);
    }
    if (udb_ndx_check(d, NULL, NULL, NULL))
        fail_msg("%s is not clean: %s", path, udb_ndx_errmsg(d));
    udb_ndx_close(d);
    return out;
}

/* Repair path to a new file and in place; both must list want, with no
   finding and no record dropped or kept in doubt. */
static void repair_keeps(const char *path, const char *want, const char *what)
{
    const char *out = path_in(dir, "kept_out.ndx");
    udb_options o;
    udb_options_init(&o);
    o.sync = UDB_SYNC_OFF;
    for (int inplace = 0; inplace < 2; inplace++) {
        lines l = {0};
        udb_repair_report rep;
        unlink(out);
        if (udb_repair(path, inplace ? NULL : out, &o, keep_lines, &l, &rep))
            fail_msg("%s: repair%s failed: %s", what, inplace ? " in place" : "", l.text[0]);
        if (l.problems || l.notes || rep.records_dropped || rep.records_doubtful)
            fail_msg("%s: repair%s of a healthy file reports %d problem(s), %d note(s): %s", what,
                     inplace ? " in place" : "", l.problems, l.notes, l.text[0]);
        udb_repair_report_free(&rep);
        char *got = records_hex(inplace ? path : out);
        if (strcmp(want, got))
            fail_msg("%s: repair%s changed the records:\nbefore:\n%.2000s\nafter:\n%.2000s", what,
                     inplace ? " in place" : "", want, got);
        free(got);
    }
}

/* The first record of an index at data position 0 was taken for a free
   leaf and dropped without a word (regression), in both layouts, in place
   and to a new file; so was a first record whose key is all zero too. */
static void test_first_record_at_zero(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        udb_options o;
        udb_ndx *d;
        udb_options_init(&o);
        o.layout = layout;
        const char *path = path_in(dir, "zero.ndx");
        unlink(path);
        assert_int_equal(udb_ndx_create(path, &o, 2, &d), 0);
        udb_index_def s = {UDB_KEY_STRING, 32, 0, 7, 0, 0}, b = {UDB_KEY_BLOCK, 4, 0, 3, 1, 1};
        assert_int_equal(udb_ndx_define(d, 1, &s), 0);
        assert_int_equal(udb_ndx_define(d, 2, &b), 0);
        assert_int_equal(udb_ndx_append(d, 1, "a", 1, 0), 0);
        assert_int_equal(udb_ndx_append(d, 1, "c", 1, 9), 0);
        assert_int_equal(udb_ndx_append(d, 2, "\0\0\0\0", 4, 0), 0);
        assert_int_equal(udb_ndx_append(d, 2, "\0\0\0\0", 4, 0), 0);
        assert_int_equal(udb_ndx_append(d, 2, "\0\0\0\1", 4, 0), 0);
        udb_ndx_close(d);
        char *want = records_hex(path);
        assert_non_null(strstr(want, "1 61000000"));
        assert_non_null(strstr(want, "2 00000000 0\n2 00000000 0\n2 00000001 0\n"));
        repair_keeps(path, want, layout == 1 ? "classic" : "wide");
        free(want);
    }
}

/* A file made huge and sparse (a hostile file: a few KiB in an archive):
   repair read every byte of its holes (8 GiB: 65 s and 8 GiB of page
   cache), so a large enough one never finished. The scan now skips holes
   (udb_os.next_data, SEEK_DATA): bytes after them are still looked at. */
static void test_sparse_file(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        udb_options o;
        udb_ndx *d;
        udb_options_init(&o);
        o.layout = layout;
        const char *path = path_in(dir, "sparse.ndx"), *out = path_in(dir, "sparse-out.ndx");
        unlink(path);
        unlink(out);
        assert_int_equal(udb_ndx_create(path, &o, 1, &d), 0);
        udb_index_def s = {UDB_KEY_STRING, 16, 0, 5, 0, 0};
        assert_int_equal(udb_ndx_define(d, 1, &s), 0);
        char k[16];
        for (int i = 0; i < 200; i++) {
            snprintf(k, sizeof k, "k%03d", i);
            assert_int_equal(udb_ndx_append(d, 1, k, strlen(k), i), 0);
        }
        udb_ndx_close(d);
        char *want = records_hex(path);
        uint64_t far = layout == 1 ? (uint64_t)1 << 30 : (uint64_t)6 << 30; /* data after a hole */
        FILE *f = fopen(path, "r+b");
        assert_non_null(f);
        assert_int_equal(fseeko(f, (off_t)far, SEEK_SET), 0);
        assert_int_equal(fwrite("junk after a hole", 1, 17, f), 17);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(truncate(path, layout == 1 ? (off_t)2 << 30 : (off_t)12 << 30), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(30); /* a full read took minutes */
            _exit(udb_repair(path, out, NULL, NULL, NULL, NULL) ? 1 : 0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status))
            fail_msg("repair of a sparse %s file: %s", layout == 1 ? "classic" : "wide",
                     WIFSIGNALED(status) ? "killed after 30 s" : "failed");
        char *got = records_hex(out);
        assert_string_equal(got, want);
        free(got);
        free(want);
        unlink(path);
        unlink(out);
    }
}

/* Regression (fuzz_repair, "lost"): a record with a negative data
   position (an original's file may hold one; the API takes none) checked
   clean, but repair and convert dropped it. They keep it now. */
static void test_negative_position(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        udb_options o;
        udb_ndx *d;
        udb_options_init(&o);
        o.layout = layout;
        const char *path = path_in(dir, "neg.ndx");
        unlink(path);
        assert_int_equal(udb_ndx_create(path, &o, 1, &d), 0);
        udb_index_def b = {UDB_KEY_BLOCK, 4, 0, 3, 1, 1};
        assert_int_equal(udb_ndx_define(d, 1, &b), 0);
        for (uint32_t i = 1; i <= 5; i++)
            assert_int_equal(udb_ndx_append(d, 1, &i, 4, i), 0);
        udb_item it;
        udb_cursor *c;
        assert_int_equal(udb_cursor_open(d, 1, &c), 0);
        assert_int_equal(udb_cursor_first(c, &it), 0);
        assert_int_equal(udb_cursor_next(c, &it), 0);
        int64_t leaf = it.leaf;
        udb_cursor_close(c);
        udb_ndx_close(d);
        size_t len;
        uint8_t *bytes = read_file(path, &len);
        lay_tree T;
        lay_tree_init(&T, lay_get(layout), UDB_KEY_BLOCK, 4, 3);
        lay_leaf_set_datapos(&T, bytes + leaf, -64536);
        lay_ck_fix(bytes + leaf, T.leaf_size);
        assert_int_equal(write_file(path, bytes, len), 0);
        free(bytes);
        assert_int_equal(udb_ndx_open(path, NULL, &d), 0);
        assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
        udb_ndx_close(d);
        char *want = records_hex(path);
        assert_non_null(strstr(want, " -64536\n"));
        repair_keeps(path, want, layout == 1 ? "classic" : "wide");
        free(want);
    }
}

/* ---- property: on a healthy file repair changes no record ------------------------------------- */
static uint64_t prop_seed = 0x5eedf00dULL;

static uint64_t prnd(void)
{
    prop_seed ^= prop_seed << 13;
    prop_seed ^= prop_seed >> 7;
    prop_seed ^= prop_seed << 17;
    return prop_seed;
}

typedef struct pindex {
    udb_index_def def;
    model m;
    uint8_t pool[24][MODEL_KEYMAX];
    unsigned npool;
} pindex;

static unsigned prop_keysize(int type)
{
    switch (type) {
    case UDB_KEY_INTEGER:
        return 2 + (unsigned)(prnd() % 3);
    case UDB_KEY_LONG_INT:
        return 4 + (unsigned)(prnd() % 2);
    case UDB_KEY_STRING:
        return 2 + (unsigned)(prnd() % 20);
    case UDB_KEY_LOGICAL:
    case UDB_KEY_CHARACTER:
        return 1 + (unsigned)(prnd() % 2);
    default:
        return 1 + (unsigned)(prnd() % (prnd() % 4 ? 8 : MODEL_KEYMAX));
    }
}

/* The largest node order the layout allows for this key size. */
static unsigned max_order(int layout, const udb_index_def *def)
{
    udb_index_def t = *def;
    unsigned lo = 3, hi = 65535;
    while (lo < hi) {
        t.maxitems = (lo + hi + 1) / 2;
        if (udb_index_def_check(layout, &t, NULL, 0) == 0)
            lo = t.maxitems;
        else
            hi = t.maxitems - 1;
    }
    return lo;
}

/* Keys: all zero, all 0xff, and random ones (few, for duplicates). */
static void prop_pool(pindex *x)
{
    unsigned ks = x->def.keysize;
    x->npool = 2 + (unsigned)(prnd() % 14);
    for (unsigned k = 0; k < x->npool; k++) {
        uint8_t *p = x->pool[k];
        memset(p, 0, MODEL_KEYMAX);
        if (x->def.keytype == UDB_KEY_STRING) {
            unsigned len = k == 0 ? 0 : (unsigned)(prnd() % ks);
            for (unsigned i = 0; i < len; i++)
                p[i] = (uint8_t)("ab\x01\x7f\xfe~"[prnd() % 6]);
        } else if (k == 1) {
            memset(p, 0xff, ks);
        } else if (k > 1) {
            for (unsigned i = 0; i < ks; i++)
                p[i] = (uint8_t)(prnd() % 3 ? prnd() % 4 : prnd());
        }
    }
}

static int64_t prop_dp(int layout)
{
    int64_t max = layout == UDB_LAYOUT_CLASSIC ? INT32_MAX : INT64_MAX;
    switch (prnd() % 6) {
    case 0:
    case 1:
        return 0;
    case 2:
        return 1;
    case 3:
        return max;
    case 4:
        return (int64_t)(prnd() % 100);
    default:
        return (int64_t)(prnd() % (uint64_t)max);
    }
}

static size_t keylen(const pindex *x, const uint8_t *key)
{
    return x->def.keytype == UDB_KEY_STRING ? strlen((const char *)key) : x->def.keysize;
}

static void prop_op_first_zero(udb_ndx *d, unsigned ix, pindex *x)
{
    static const uint8_t zero[MODEL_KEYMAX];
    assert_int_equal(udb_ndx_append(d, ix, zero, keylen(x, zero), 0), 0);
    model_append(&x->m, zero, 0);
}

static void prop_op(udb_ndx *d, unsigned ix, pindex *x, int layout)
{
    const uint8_t *key = x->pool[prnd() % x->npool];
    unsigned op = (unsigned)(prnd() % 10);
    if (op < 6) {
        int64_t dp = prop_dp(layout);
        int want = x->m.unique && model_has(&x->m, key) ? UDB_EXISTS : 0;
        assert_int_equal(udb_ndx_append(d, ix, key, keylen(x, key), dp), want);
        if (!want)
            model_append(&x->m, key, dp);
    } else if (op < 8) {
        uint64_t removed;
        size_t n = model_delete_key(&x->m, key);
        assert_int_equal(udb_ndx_delete(d, ix, key, keylen(x, key), &removed), n ? 0 : UDB_NOTFOUND);
    } else { /* one record of a run: the newest; or a new data position 0 */
        udb_cursor *c;
        udb_item it;
        assert_int_equal(udb_cursor_open(d, ix, &c), 0);
        int found = model_find(&x->m, key) == 0;
        assert_int_equal(udb_cursor_find(c, key, keylen(x, key), &it), found ? 0 : UDB_NOTFOUND);
        if (found && op == 8) {
            assert_int_equal(udb_cursor_delete(c, &it), 0);
            model_delete_cur(&x->m, NULL);
        } else if (found) {
            assert_int_equal(udb_cursor_set_datapos(c, 0), 0);
            x->m.r[x->m.cur].dp = 0;
        }
        udb_cursor_close(c);
    }
}

/* The model's records in records_hex's form. */
static char *model_hex(const pindex *x, unsigned n)
{
    size_t cap = 1 << 12, len = 0;
    char *out = malloc(cap);
    out[0] = 0;
    for (unsigned ix = 1; ix <= n; ix++)
        for (size_t r = 0; r < x[ix - 1].m.n; r++) {
            while (len + 2 * MODEL_KEYMAX + 64 > cap)
                out = realloc(out, cap *= 2);
            len += (size_t)sprintf(out + len, "%u ", ix);
            for (unsigned i = 0; i < x[ix - 1].def.keysize; i++)
                len += (size_t)sprintf(out + len, "%02x", x[ix - 1].m.r[r].key[i]);
            len += (size_t)sprintf(out + len, " %lld\n", (long long)x[ix - 1].m.r[r].dp);
        }
    return out;
}

/* One random healthy file: several indexes of random types, key sizes,
   node orders and attributes; appends (duplicates, the all-zero key, data
   positions 0, 1 and the layout's maximum), deletes of runs and of single
   records, data positions set to 0. */
static void prop_file(long f, const char *path, char *what, size_t whatlen)
{
    udb_options o;
    udb_ndx *d;
    pindex x[4];
    int layout = 1 + (int)(f % 2);
    unsigned long long seed = prop_seed;
    unsigned n = 1 + (unsigned)(prnd() % 4);
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    unlink(path);
    assert_int_equal(udb_ndx_create(path, &o, n, &d), 0);
    int len = snprintf(what, whatlen, "file %ld (%s), seed 0x%llx:", f, layout == 1 ? "classic" : "wide", seed);
    for (unsigned i = 0; i < n; i++) {
        udb_index_def *def = &x[i].def;
        def->keytype = 1 + (int)((i ? prnd() : (uint64_t)f / 2) % 7); /* every type in both layouts */
        def->keysize = prop_keysize(def->keytype);
        def->attrs = (unsigned)(prnd() % 4);
        def->create_nodes = 1 + (unsigned)(prnd() % 3);
        def->create_leaves = 1 + (unsigned)(prnd() % 5);
        unsigned top = max_order(layout, def), r = (unsigned)(prnd() % 8);
        def->maxitems = r == 0 ? top : r < 3 ? 3 + (unsigned)(prnd() % 60) : 3 + (unsigned)(prnd() % 4);
        if (def->maxitems > top)
            def->maxitems = top;
        assert_int_equal(udb_ndx_define(d, i + 1, def), 0);
        model_init(&x[i].m, def->keytype, def->keysize, layout == 1, def->attrs & UDB_UNIQUE);
        prop_pool(&x[i]);
        if (prnd() % 2) /* the first record: the all-zero key at data position 0 */
            prop_op_first_zero(d, i + 1, &x[i]);
        len += snprintf(what + len, whatlen - (size_t)len, " [%d ks %u attrs %u order %u]",
                        def->keytype, def->keysize, def->attrs, def->maxitems);
    }
    unsigned ops = 20 + (unsigned)(prnd() % 200);
    assert_int_equal(udb_ndx_begin(d), 0);
    for (unsigned k = 0; k < ops; k++) {
        unsigned i = (unsigned)(prnd() % n);
        prop_op(d, i + 1, &x[i], layout);
    }
    assert_int_equal(udb_ndx_commit(d), 0);
    udb_ndx_close(d);
    char *want = model_hex(x, n), *got = records_hex(path);
    if (strcmp(want, got))
        fail_msg("%s: the file does not hold the model's records", what);
    free(got);
    repair_keeps(path, want, what);
    free(want);
    for (unsigned i = 0; i < n; i++)
        model_free(&x[i].m);
}

/* udb_ndx_order moves nothing when the bottom level and the leaf chain
   disagree (an item naming the leaf of another item; a back link in the
   middle of the chain naming another leaf): UDB_CORRUPT, the file byte for
   byte as it was. Both pass the shape check writes make. */
static void test_order_refuses_disagreement(void **state)
{
    (void)state;
    const char *path = path_in(dir, "order.ndx");
    for (int kind = 0; kind < 2; kind++) {
        udb_options o;
        udb_options_init(&o);
        o.sync = UDB_SYNC_OFF;
        udb_ndx *d;
        unlink(path);
        assert_int_equal(udb_ndx_create(path, &o, 1, &d), 0);
        udb_index_def def = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 8, 0, 0};
        assert_int_equal(udb_ndx_define(d, 1, &def), 0);
        for (int32_t j = 0; j < 300; j++) {
            int32_t i = (j * 7) % 300;
            assert_int_equal(udb_ndx_append(d, 1, &i, 4, i), 0);
        }
        assert_int_equal(udb_ndx_close(d), 0);
        img m = {NULL, 0, lay_get(UDB_LAYOUT_WIDE), 1};
        m.d = read_file(path, &m.n);
        lay_info inf;
        lay_tree T;
        info_of(&m, 1, &inf, &T);
        assert_true(inf.levels >= 2);
        int64_t bottom = inf.root;
        for (unsigned lvl = inf.levels; lvl > 1; lvl--)
            bottom = lay_node_child(&T, m.d + bottom, 0);
        if (kind == 0)
            lay_node_set_child(&T, m.d + bottom, 2, lay_node_child(&T, m.d + bottom, 3));
        else
            lay_leaf_set_prev(&T, m.d + nth_leaf(&m, 1, 20), nth_leaf(&m, 1, 5));
        assert_int_equal(write_file(path, m.d, m.n), 0);
        assert_int_equal(udb_ndx_open(path, &o, &d), 0);
        assert_int_equal(udb_ndx_order(d, 1), UDB_CORRUPT);
        assert_non_null(strstr(udb_ndx_errmsg(d), "disagree"));
        assert_int_equal(udb_ndx_close(d), 0);
        size_t n;
        uint8_t *after = read_file(path, &n);
        assert_true(n == m.n && !memcmp(after, m.d, n));
        free(after);
        free(m.d);
    }
}

static void test_healthy_property(void **state)
{
    (void)state;
    long files = getenv("UDB_TEST_QUICK") ? 40 : 120;
    const char *e = getenv("UDB_REPAIR_FILES"), *sd = getenv("UDB_TEST_SEED");
    char what[400];
    if (e)
        files = atol(e);
    if (sd)
        prop_seed = strtoull(sd, NULL, 0);
    fprintf(stderr, "repair property: %ld files, seed 0x%llx (UDB_REPAIR_FILES, UDB_TEST_SEED)\n", files,
            (unsigned long long)prop_seed);
    for (long f = 0; f < files; f++)
        prop_file(f, path_in(dir, "prop.ndx"), what, sizeof what);
}

/* ---- damage on a file whose records are known: what is kept, what is named ------------------------ */
/* The line that contains text: its index and offset must be ix and off. */
static void has_line(const lines *l, const char *text, unsigned ix, int64_t off)
{
    for (int i = 0; i < l->n; i++)
        if (strstr(l->text[i], text)) {
            assert_int_equal(l->ix[i], ix);
            assert_int_equal(l->off[i], off);
            return;
        }
    for (int i = 0; i < l->n; i++)
        fprintf(stderr, "  %s\n", l->text[i]);
    fail_msg("no finding says: %s", text);
}

/* Index 1: STRING keysize 12, "k00".."k19" at data positions 0..19.
   Index 2: BLOCK keysize 4, 0x00000000 at 0 (its first record has a free
   leaf's shape) and 0x000000NN at 10*NN for NN 1..19, then 12..15 deleted
   (free leaves on its list). Order 3: trees of several levels. */
static void known_file(const char *path, int layout)
{
    udb_options o;
    udb_ndx *d;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    unlink(path);
    assert_int_equal(udb_ndx_create(path, &o, 2, &d), 0);
    udb_index_def s = {UDB_KEY_STRING, 12, 0, 3, 2, 3}, b = {UDB_KEY_BLOCK, 4, UDB_ALLOW_DELETE, 3, 2, 3};
    assert_int_equal(udb_ndx_define(d, 1, &s), 0);
    assert_int_equal(udb_ndx_define(d, 2, &b), 0);
    for (int i = 0; i < 20; i++) {
        char k[16];
        uint8_t bk[4] = {0, 0, 0, (uint8_t)i};
        snprintf(k, sizeof k, "k%02d", i);
        assert_int_equal(udb_ndx_append(d, 1, k, strlen(k), i), 0);
        assert_int_equal(udb_ndx_append(d, 2, bk, 4, 10 * i), 0);
    }
    for (int i = 12; i <= 15; i++) {
        uint8_t bk[4] = {0, 0, 0, (uint8_t)i};
        assert_int_equal(udb_ndx_delete(d, 2, bk, 4, NULL), 0);
    }
    udb_ndx_close(d);
}

/* The leaf of the n-th record (0-based) of index ix. */
static int64_t record_leaf(const char *path, unsigned ix, int n)
{
    udb_ndx *d = open_ndx(path, UDB_RDONLY);
    udb_cursor *c;
    udb_item it;
    assert_int_equal(udb_cursor_open(d, ix, &c), 0);
    assert_int_equal(udb_cursor_first(c, &it), 0);
    for (int k = 0; k < n; k++)
        assert_int_equal(udb_cursor_next(c, &it), 0);
    int64_t leaf = it.leaf;
    udb_cursor_close(c);
    udb_ndx_close(d);
    return leaf;
}

/* Remove the line of record n of index ix from a records_hex listing. */
static void forget(char *list, unsigned ix, int n)
{
    char *p = list;
    char head[8];
    snprintf(head, sizeof head, "%u ", ix);
    for (int k = 0;; p = strchr(p, '\n') + 1) {
        assert_true(*p);
        if (!strncmp(p, head, strlen(head)) && k++ == n)
            break;
    }
    char *e = strchr(p, '\n') + 1;
    memmove(p, e, strlen(e) + 1);
}

enum { KILL_AROUND, NO_NUL, NEG_DP, UNLINKED_TREE, UNLINKED, ZERO_HEAD_CUT, ZERO_HEAD_LISTED, FREE_CUT, FREE_CUT_NO_INFO };

/* Damage the image m (layout L) of the known file; returns the records
   that must come back (want edited), sets what the report must say. */
static void known_damage(uint8_t *m, const lay *L, const char *path, int kind, char *want, char *say,
                         unsigned *say_ix, int64_t *say_off)
{
    lay_info inf[2];
    lay_tree T[2];
    for (unsigned i = 0; i < 2; i++) {
        lay_info_decode(L, m + lay_info_off(L, i + 1), &inf[i]);
        lay_tree_init(&T[i], L, (int)inf[i].keytype, inf[i].keysize, inf[i].maxitems);
    }
    int64_t l4 = record_leaf(path, 1, 4), l5 = record_leaf(path, 1, 5), l6 = record_leaf(path, 1, 6);
    int64_t z0 = record_leaf(path, 2, 0), z1 = record_leaf(path, 2, 1);
    *say = 0;
    if (kind == KILL_AROUND) { /* k05 loses both neighbours, but fills the gap between them */
        memset(m + l4, 0x5a, T[0].leaf_size);
        memset(m + l6, 0x5a, T[0].leaf_size);
        forget(want, 1, 6);
        forget(want, 1, 4);
    } else if (kind == NO_NUL) {
        lay_leaf_set_key(&T[0], m + l5, (const uint8_t *)"xxxxxxxxxxxx");
        forget(want, 1, 5);
        snprintf(say, 200, "problem: record \"xxxxxxxxxxxx\" (data position 5, leaf at %lld) is a STRING key "
                 "without its NUL", (long long)l5);
        *say_ix = 1;
        *say_off = l5;
    } else if (kind == NEG_DP) { /* kept, as the file holds it (once dropped) */
        int64_t l10 = record_leaf(path, 1, 10);
        lay_leaf_set_datapos(&T[0], m + l10, -9);
        lay_ck_fix(m + l10, T[0].leaf_size);
        char *line = strstr(want, "1 6b3130000000000000000000 10\n");
        assert_non_null(line);
        memcpy(line + 27, "-9", 2); /* after "1 ", 24 hex digits and a space */
    } else if (kind == UNLINKED_TREE) { /* the chain goes round k05; the tree still points at it */
        lay_leaf_set_next(&T[0], m + l4, l6);
        lay_leaf_set_prev(&T[0], m + l6, l4);
    } else if (kind == UNLINKED) { /* the same, and nothing else points at it */
        lay_leaf_set_next(&T[0], m + l4, l6);
        lay_leaf_set_prev(&T[0], m + l6, l4);
        memset(m + inf[0].root, 0, T[0].node_size);
        forget(want, 1, 5);
        snprintf(say, 200, "problem: record \"k05\" (data position 5, leaf at %lld) has a valid checksum, "
                 "but no leaf links back to it", (long long)l5);
        *say_ix = 1;
        *say_off = l5;
    } else if (kind == ZERO_HEAD_CUT || kind == ZERO_HEAD_LISTED) {
        if (kind == ZERO_HEAD_CUT) {
            memset(m + z1, 0x5a, T[1].leaf_size);
            forget(want, 2, 1);
        } else {
            inf[1].free_leaf = z0;
            lay_info_encode(L, m + lay_info_off(L, 2), &inf[1]);
        }
        snprintf(say, 200, "note: record 0x00000000 (data position 0, leaf at %lld) has a free leaf's shape",
                 (long long)z0);
        *say_ix = 2;
        *say_off = z0;
    } else { /* the second free leaf of index 2's list is destroyed */
        int64_t f1 = inf[1].free_leaf;
        assert_true(f1 > 0);
        int64_t f2 = lay_leaf_next(&T[1], m + f1);
        assert_true(f2 > 0);
        memset(m + f2, 0x5a, T[1].leaf_size);
        if (kind == FREE_CUT_NO_INFO)
            for (unsigned i = 0; i < 2; i++) {
                inf[i].root = inf[i].first_leaf = inf[i].last_leaf = inf[i].free_node = inf[i].free_leaf = -1;
                inf[i].levels = 0;
                lay_info_encode(L, m + lay_info_off(L, i + 1), &inf[i]);
            }
    }
}

/* Every record whose leaf is intact comes back (a negative data position
   too); what is not kept, or kept in doubt, is named with its index, key,
   data position and leaf. */
static void test_damage_named(void **state)
{
    (void)state;
    static const char *names[] = {"both neighbours destroyed", "STRING without NUL", "negative position",
                                  "unlinked leaf, tree intact", "unlinked leaf",
                                  "zero head, next destroyed", "zero head on a free list",
                                  "free list cut", "free list cut, infos wiped"};
    const char *path = path_in(dir, "known.ndx"), *bad = path_in(dir, "known_bad.ndx"),
               *out = path_in(dir, "known_out.ndx");
    for (int layout = 1; layout <= 2; layout++)
        for (int kind = KILL_AROUND; kind <= FREE_CUT_NO_INFO; kind++) {
            known_file(path, layout);
            size_t n;
            uint8_t *m = read_file(path, &n);
            char *want = records_hex(path), say[200];
            unsigned say_ix = 0;
            int64_t say_off = -1;
            known_damage(m, lay_get(layout), path, kind, want, say, &say_ix, &say_off);
            assert_int_equal(write_file(bad, m, n), 0);
            lines l = {0};
            udb_repair_report rep;
            unlink(out);
            if (udb_repair(bad, out, NULL, keep_lines, &l, &rep))
                fail_msg("%s: repair failed", names[kind]);
            char *got = records_hex(out);
            if (strcmp(want, got))
                fail_msg("%d %s: records differ:\nwant:\n%s\ngot:\n%s", layout, names[kind], want, got);
            if (*say)
                has_line(&l, say, say_ix, say_off);
            if (getenv("UDB_REPAIR_SHOW"))
                for (int i = 0; i < l.n; i++)
                    fprintf(stderr, "%d %s: %s\n", layout, names[kind], l.text[i]);
            uint64_t nrec = 0, nwant = 0;
            for (const char *q = want; (q = strchr(q, '\n')); q++)
                nwant++;
            for (unsigned i = 0; i < rep.num_indexes; i++)
                nrec += rep.index[i].records;
            assert_int_equal(nrec, nwant); /* the report counts what the file holds */
            assert_int_equal(rep.records_dropped, kind == NO_NUL || kind == UNLINKED);
            assert_int_equal(rep.records_doubtful, kind == ZERO_HEAD_CUT || kind == ZERO_HEAD_LISTED);
            assert_int_equal(l.lost, kind == KILL_AROUND ? 2 : kind == ZERO_HEAD_CUT);
            udb_repair_report_free(&rep);
            free(want);
            free(got);
            free(m);
        }
}

/* ---- conversion ----------------------------------------------------------------------------------- */
static void convert(const char *in, const char *out, int layout, unsigned maxitems, int want_rc)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    unlink(out);
    int rc = udb_convert(in, out, &o, maxitems, 0, NULL, NULL);
    if (rc != want_rc)
        fail_msg("convert %s -> %s: %d, want %d", in, out, rc, want_rc);
}

static void test_convert_round_trips(void **state)
{
    (void)state;
    int n1, n2;
    const char *w = path_in(dir, "c2w.ndx"), *c = path_in(dir, "w2c.ndx");
    /* classic -> wide -> classic */
    convert(FIXTURES "/classic/l16_test.ndx", w, UDB_LAYOUT_WIDE, 0, 0);
    convert(w, c, UDB_LAYOUT_CLASSIC, 0, 0);
    char *want = manifest_listing(FIXTURES "/classic/l16_test.manifest", 0, &n1);
    char *got = listing(c, &n2);
    assert_string_equal(want, got);
    independent(w, UDB_LAYOUT_WIDE);
    independent(c, UDB_LAYOUT_CLASSIC);
    free(want);
    free(got);
    /* wide -> classic -> wide, and a new node order */
    convert(FIXTURES "/wide/m64_types.ndx", c, UDB_LAYOUT_CLASSIC, 0, 0);
    convert(c, w, UDB_LAYOUT_WIDE, 0, 0);
    want = listing(FIXTURES "/wide/m64_types.ndx", &n1);
    got = listing(w, &n2);
    assert_string_equal(want, got);
    free(got);
    convert(FIXTURES "/wide/m64_types.ndx", w, UDB_LAYOUT_WIDE, 40, 0);
    got = listing(w, &n2);
    assert_string_equal(want, got);
    independent(w, UDB_LAYOUT_WIDE);
    free(want);
    free(got);
    /* positions beyond 32 bits do not fit the classic layout */
    convert(FIXTURES "/wide/m64_strings.ndx", c, UDB_LAYOUT_CLASSIC, 0, UDB_RANGE);
    assert_int_not_equal(access(c, F_OK), 0); /* nothing left behind */
}

/* Findings as one text (the last message a failed call reports). */
static void keep_text(void *arg, int sev, int64_t off, unsigned ix, const char *text)
{
    (void)sev;
    (void)off;
    (void)ix;
    snprintf(arg, 480, "%s", text);
}

/* An existing output is refused, named in the message and left as it was
   (regression: it was unlinked, and the message came out empty). */
static void test_existing_output(void **state)
{
    (void)state;
    char msg[480] = "";
    size_t n;
    const char *out = path_in(dir, "precious.ndx"), *tmp = path_in(dir, "inplace.ndx.repair-tmp");
    const char *inplace = path_in(dir, "inplace.ndx");
    assert_int_equal(write_file(out, "precious", 8), 0);
    assert_int_equal(udb_repair(FIXTURES "/real/test_index.ndx", out, NULL, keep_text, msg, NULL),
                     UDB_EXISTS);
    assert_non_null(strstr(msg, "precious.ndx"));
    uint8_t *d = read_file(out, &n);
    assert_true(d && n == 8 && !memcmp(d, "precious", 8));
    free(d);
    msg[0] = 0;
    assert_int_equal(udb_convert(FIXTURES "/wide/m64_empty.ndx", out, NULL, 0, 0, keep_text, msg),
                     UDB_EXISTS);
    assert_non_null(strstr(msg, "precious.ndx"));
    d = read_file(out, &n);
    assert_true(d && n == 8 && !memcmp(d, "precious", 8));
    free(d);
    /* in place, with a file where repair's temporary copy would go */
    assert_int_equal(copy_file(FIXTURES "/real/test_index.ndx", inplace), 0);
    assert_int_equal(write_file(tmp, "precious", 8), 0);
    assert_int_equal(udb_repair(inplace, NULL, NULL, NULL, NULL, NULL), UDB_EXISTS);
    d = read_file(tmp, &n);
    assert_true(d && n == 8 && !memcmp(d, "precious", 8));
    free(d);
}

/* ---- progress ------------------------------------------------------------------------------------ */
typedef struct seen {
    char phase[8][32];
    uint64_t calls[8], last[8], total[8];
    int n, backwards;
} seen;

static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    seen *s = arg;
    int i = 0;
    while (i < s->n && strcmp(s->phase[i], phase))
        i++;
    if (i == s->n) {
        assert_true(s->n < 8);
        snprintf(s->phase[s->n++], sizeof s->phase[0], "%s", phase);
    } else if (done < s->last[i]) {
        s->backwards++;
    }
    s->calls[i]++;
    s->last[i] = done;
    s->total[i] = total;
}

/* Calls of phase; its last report must be the whole (done == total), and
   total want_total (ANY: whatever it is, but not 0). */
#define ANY UINT64_MAX
static uint64_t calls_of(const seen *s, const char *phase, uint64_t want_total)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->phase[i], phase)) {
            if (want_total == ANY)
                want_total = s->total[i] ? s->total[i] : 1;
            assert_int_equal(s->total[i], want_total);
            assert_int_equal(s->last[i], want_total);
            return s->calls[i];
        }
    fail_msg("no progress reported for %s", phase);
    return 0;
}

static int next_key(void *arg, const void **key, size_t *len, int64_t *dp)
{
    static int32_t k;
    int *i = arg;
    if (*i == 10000)
        return 1;
    k = *i * 2;
    *key = &k;
    *len = 4;
    *dp = ++*i;
    return 0;
}

static void same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    uint8_t *x = read_file(a, &na), *y = read_file(b, &nb);
    assert_true(x && y && na == nb && !memcmp(x, y, na));
    free(x);
    free(y);
}

/* Progress of repair, convert and check: every phase reported from 0 to
   its total, never backwards, every 4096 records; results unchanged. */
static void test_progress(void **state)
{
    (void)state;
    udb_options o;
    udb_ndx *d;
    seen s = {0};
    int i = 0;
    udb_index_def def = {UDB_KEY_LONG_INT, 4, 0, 9, 0, 0};
    const char *src = path_in(dir, "prog.ndx"), *r1 = path_in(dir, "prog_r1.ndx"),
               *r2 = path_in(dir, "prog_r2.ndx"), *c1 = path_in(dir, "prog_c1.ndx"),
               *c2 = path_in(dir, "prog_c2.ndx");
    assert_int_equal(udb_ndx_create(src, NULL, 1, &d), 0);
    assert_int_equal(udb_ndx_define(d, 1, &def), 0);
    assert_int_equal(udb_ndx_load_sorted(d, 1, next_key, &i, NULL), 0);
    udb_ndx_close(d);
    udb_options_init(&o);
    o.progress = on_progress;
    o.progress_arg = &s;
    assert_int_equal(udb_repair(src, r1, &o, NULL, NULL, NULL), 0);
    assert_int_equal(udb_repair(src, r2, NULL, NULL, NULL, NULL), 0);
    same_bytes(r1, r2);
    assert_true(calls_of(&s, "repair scan", ANY) >= 2);
    assert_int_equal(calls_of(&s, "repair write", 10000), 2 + 10000 / 4096);
    o.layout = UDB_LAYOUT_CLASSIC;
    assert_int_equal(udb_convert(src, c1, &o, 5, 0, NULL, NULL), 0);
    o.progress = NULL;
    assert_int_equal(udb_convert(src, c2, &o, 5, 0, NULL, NULL), 0);
    same_bytes(c1, c2);
    assert_int_equal(calls_of(&s, "convert read", 10000), 2 + 10000 / 4096);
    assert_int_equal(calls_of(&s, "convert write", 10000), 2 + 10000 / 4096);
    udb_options_init(&o);
    o.progress = on_progress;
    o.progress_arg = &s;
    assert_int_equal(udb_ndx_open(c1, &o, &d), 0);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    udb_ndx_close(d);
    assert_true(calls_of(&s, "check", ANY) >= 2);
    assert_int_equal(s.backwards, 0);
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("repair"));
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
        cmocka_unit_test(test_real_file),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_first_record_at_zero),
        cmocka_unit_test(test_negative_position),
        cmocka_unit_test(test_sparse_file),
        cmocka_unit_test(test_healthy_property),
        cmocka_unit_test(test_damage_named),
        cmocka_unit_test(test_convert_round_trips),
        cmocka_unit_test(test_existing_output),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_order_refuses_disagreement),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
