/*
 * test_journal.c — journal edge cases. Hot journals are made
 * deterministically with the fault-injecting os table (tests/faultos.c): a
 * transaction "crashes" at the first changing call after which the journal
 * is hot and the data file already holds some of the transaction's pages.
 *
 *   - udb_journal_hot reports a hot journal and changes nothing;
 *   - a read-only open refuses (UDB_RECOVER, naming the file and the way
 *     out) and changes nothing;
 *   - udb_recover rolls it back (found = 1; again: found = 0), the files
 *     equal the old ones byte for byte; a writable open does the same;
 *   - a hot journal of file A copied next to file B as B's journal is
 *     refused (UDB_RECOVER naming A) and neither B nor A changes;
 *   - torn / garbage / clean journal headers are not hot: the file opens
 *     as it is;
 *   - a store's hot journal (NAME.ndx-journal) covers NAME.dat opened alone
 *     as a heap: read-only refuses, writable rolls the whole store back
 *     (and NAME.ndx opened alone as a MultiIndex does too);
 *   - regressions: rollbacks after spills, check reports when the read
 *     is refused, udb_journal_hot on a foreign journal;
 *   - hostile journals (crafted byte for byte, every crc valid): for an
 *     index file, a heap file, a store, and a store's heap opened alone,
 *     every open path, udb_recover and udb_journal_hot refuse a journal
 *     that names anything but the files of its group, has an impossible
 *     count, size, page size or record, and nothing changes (the files, the
 *     journal, a file outside the directory and one beside it); a valid
 *     crafted journal is applied; a journal changed between the check and
 *     the playback stops it; journals and the files only a journal names
 *     are not opened through symbolic links.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "faultos.h"
#include "testutil.h"

/* journal records (jrec) are written positionally; fields left out are
   zero: a page record */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const char *dir;

/* ---- file sets ------------------------------------------------------------------------------- */
#define MAXF 6
typedef struct fileset {
    int n;
    char path[MAXF][600];
} fileset;

typedef struct image {
    uint8_t *b[MAXF];
    size_t n[MAXF];
} image;

static void fs_ndx(fileset *fs, const char *name) /* NAME.ndx, its journal */
{
    fs->n = 2;
    snprintf(fs->path[0], sizeof fs->path[0], "%s.ndx", name);
    snprintf(fs->path[1], sizeof fs->path[1], "%s.ndx-journal", name);
}

static void fs_store(fileset *fs, const char *name) /* NAME.ndx, NAME.dat, the journal */
{
    fs->n = 3;
    snprintf(fs->path[0], sizeof fs->path[0], "%s.ndx", name);
    snprintf(fs->path[1], sizeof fs->path[1], "%s.dat", name);
    snprintf(fs->path[2], sizeof fs->path[2], "%s.ndx-journal", name);
}

static void snap(const fileset *fs, image *im)
{
    for (int i = 0; i < fs->n; i++)
        im->b[i] = read_file(fs->path[i], &im->n[i]);
}

static void put_back(const fileset *fs, const image *im)
{
    /* in place (same inode), so that open handles see the new bytes */
    for (int i = 0; i < fs->n; i++)
        if (!im->b[i])
            unlink(fs->path[i]);
        else
            assert_int_equal(write_file(fs->path[i], im->b[i], im->n[i]), 0);
}

static int same_file(const image *a, const image *b, int i)
{
    return (a->b[i] == NULL) == (b->b[i] == NULL) && a->n[i] == b->n[i] &&
           (!a->b[i] || !memcmp(a->b[i], b->b[i], a->n[i]));
}

static void image_free(image *im)
{
    for (int i = 0; i < MAXF; i++) {
        free(im->b[i]);
        im->b[i] = NULL;
    }
}

/* Files [0, upto) of fs equal those of im, byte for byte. */
static void assert_files(const fileset *fs, const image *want, int upto, const char *when)
{
    image now = {{0}, {0}};
    snap(fs, &now);
    for (int i = 0; i < upto; i++)
        if (!same_file(&now, want, i))
            fail_msg("%s: %s is not as expected (%zu bytes, expected %zu)", when, fs->path[i],
                     now.n[i], want->n[i]);
    image_free(&now);
}

static int hot_of(const char *path)
{
    int hot = -1;
    char msg[400];
    int rc = udb_journal_hot(path, &hot, msg, sizeof msg);
    if (rc)
        fail_msg("udb_journal_hot %s: %s: %s", path, udb_errname(rc), msg);
    return hot;
}

/* ---- scenarios ---------------------------------------------------------------------------------- */
static void key_of(int i, char *k)
{
    snprintf(k, 12, "k%05d", (i * 7919) % 100000);
}

static void ndx_base(const char *name, int nrec)
{
    char path[600], k[12];
    snprintf(path, sizeof path, "%s.ndx", name);
    udb_ndx *d;
    udb_index_def s = {UDB_KEY_STRING, 12, UDB_ALLOW_DELETE, 5, 3, 9};
    assert_int_equal(udb_ndx_create(path, NULL, 1, &d), 0);
    assert_int_equal(udb_ndx_define(d, 1, &s), 0);
    assert_int_equal(udb_ndx_begin(d), 0);
    for (int i = 0; i < nrec; i++) {
        key_of(i, k);
        assert_int_equal(udb_ndx_append(d, 1, k, strlen(k), i), 0);
    }
    assert_int_equal(udb_ndx_commit(d), 0);
    assert_int_equal(udb_ndx_close(d), 0);
}

static int ndx_txn(const char *name, const udb_options *o)
{
    char path[600], k[12];
    snprintf(path, sizeof path, "%s.ndx", name);
    udb_ndx *d;
    int rc = udb_ndx_open(path, o, &d);
    if (!rc)
        rc = udb_ndx_begin(d);
    for (int i = 0; i < 150 && !rc; i++) {
        key_of(5000 + i, k);
        rc = udb_ndx_append(d, 1, k, strlen(k), 7000 + i);
    }
    for (int i = 0; i < 100 && !rc; i += 3) {
        key_of(i, k);
        rc = udb_ndx_delete(d, 1, k, strlen(k), NULL);
    }
    if (!rc)
        rc = udb_ndx_commit(d);
    udb_ndx_close(d);
    return rc;
}

static const udb_index_def store_defs[2] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 6, 2, 8},
                                            {UDB_KEY_STRING, 12, 0, 5, 2, 8}};

static void store_base(const char *name)
{
    udb_store_def def = {2, store_defs, 0, 8};
    udb_store *s;
    assert_int_equal(udb_store_create(name, NULL, &def, &s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    for (int i = 0; i < 300; i++) {
        int32_t id = i;
        char nm[12], val[200];
        key_of(i, nm);
        memset(val, 'a' + i % 26, sizeof val);
        udb_key k[2] = {{&id, 4}, {nm, strlen(nm)}};
        assert_int_equal(udb_store_put(s, k, val, 10 + (size_t)(i % 190)), 0);
    }
    assert_int_equal(udb_store_commit(s), 0);
    assert_int_equal(udb_store_close(s), 0);
}

static int store_ops(udb_store *s, int round)
{
    char val[3000];
    int rc = 0;
    for (int i = 0; i < 60 && !rc; i++) {
        int32_t id = 1000 + round * 100 + i;
        char nm[12];
        key_of(i, nm);
        udb_key k[2] = {{&id, 4}, {nm, strlen(nm)}};
        memset(val, 'A' + i % 26, sizeof val);
        rc = udb_store_put(s, k, val, 50 + (size_t)i * 40);
    }
    for (int i = 0; i < 40 && !rc; i++) {
        int32_t id = i * 3;
        memset(val, 'u' + round, sizeof val);
        rc = udb_store_update(s, 1, &id, 4, val, (size_t)(i % 2 ? 20 : 900));
    }
    for (int i = 0; i < 30 && !rc; i++) {
        int32_t id = 100 + i * 2 + round;
        rc = udb_store_delete(s, 1, &id, 4, NULL);
    }
    return rc;
}

static int store_txn(const char *name, const udb_options *o)
{
    udb_store *s;
    int rc = udb_store_open(name, o, &s);
    if (!rc)
        rc = udb_store_begin(s);
    if (!rc)
        rc = store_ops(s, 0);
    if (!rc)
        rc = udb_store_commit(s);
    udb_store_close(s);
    return rc;
}

typedef int (*txn_fn)(const char *name, const udb_options *o);

/* Options whose os is f, a fault_os that faults nothing yet. */
static void fault_opts(fault_os *f, udb_options *o)
{
    udb_options_init(o);
    o->os = &f->os;
    fault_os_init(f, FAULT_NONE, 0);
}

/* From the old files (old), crash txn at the first changing call after
   which the journal (file jf of fs) is hot and file target differs from
   both its old bytes and its new ones (a commit that did not reach it
   whole: one that did is kept by recovery, as its commit record says);
   hot gets that image. fresh gets the files after a clean run. A crash,
   else a write torn half way. */
static void make_hot(const char *name, const fileset *fs, int jf, int target, txn_fn txn,
                     const image *old, image *hot, image *fresh)
{
    fault_os f;
    udb_options o;
    fault_opts(&f, &o);
    put_back(fs, old);
    assert_int_equal(txn(name, &o), 0);
    long total = f.calls;
    snap(fs, fresh);
    for (long k = 1; k <= 2 * total; k++) {
        put_back(fs, old);
        fault_os_init(&f, k <= total ? FAULT_CRASH : FAULT_TORN, k <= total ? k : k - total);
        assert_int_not_equal(txn(name, &o), 0);
        image got = {{0}, {0}};
        snap(fs, &got);
        if (got.b[jf] && hot_of(fs->path[0]) == 1 && !same_file(&got, old, target) &&
            !same_file(&got, fresh, target)) {
            fprintf(stderr, "%s: hot journal after a %s at changing call %ld of %ld\n", name,
                    k <= total ? "crash" : "torn write", k <= total ? k : k - total, total);
            *hot = got;
            return;
        }
        image_free(&got);
    }
    fail_msg("%s: no crash point leaves a hot journal with %s changed", name, fs->path[target]);
}

/* ---- a MultiIndex file -------------------------------------------------------------------------- */
static void test_ndx_hot(void **state)
{
    (void)state;
    const char *name = path_in(dir, "a");
    fileset fs;
    fs_ndx(&fs, name);
    ndx_base(name, 300);
    image old = {{0}, {0}}, hot = {{0}, {0}}, fresh = {{0}, {0}};
    snap(&fs, &old);
    make_hot(name, &fs, 1, 0, ndx_txn, &old, &hot, &fresh);

    /* udb_journal_hot sees it and changes nothing */
    put_back(&fs, &hot);
    assert_int_equal(hot_of(fs.path[0]), 1);
    assert_files(&fs, &hot, 2, "after udb_journal_hot");

    /* a read-only open refuses, says why, and changes nothing */
    udb_options ro;
    udb_options_init(&ro);
    ro.flags = UDB_RDONLY;
    udb_ndx *d;
    assert_int_equal(udb_ndx_open(fs.path[0], &ro, &d), UDB_RECOVER);
    const char *msg = udb_ndx_errmsg(d);
    fprintf(stderr, "read-only open: %s\n", msg);
    assert_non_null(strstr(msg, "hot journal"));
    assert_non_null(strstr(msg, fs.path[0]));
    assert_non_null(strstr(msg, "recover"));
    udb_ndx_close(d);
    assert_files(&fs, &hot, 2, "after a read-only open");

    /* explicit recovery: found, the old bytes, nothing hot any more */
    int found = -1;
    char m[400];
    assert_int_equal(udb_recover(fs.path[0], NULL, &found, m, sizeof m), 0);
    assert_int_equal(found, 1);
    assert_files(&fs, &old, 1, "after udb_recover");
    assert_int_equal(hot_of(fs.path[0]), 0);
    assert_int_equal(udb_recover(fs.path[0], NULL, &found, m, sizeof m), 0);
    assert_int_equal(found, 0);
    assert_files(&fs, &old, 1, "after a second udb_recover");
    assert_int_equal(udb_ndx_open(fs.path[0], &ro, &d), 0);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    udb_ndx_close(d);

    /* a writable open rolls back as well */
    put_back(&fs, &hot);
    assert_int_equal(udb_ndx_open(fs.path[0], NULL, &d), 0);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    int64_t dp;
    char k[12];
    key_of(0, k);
    assert_int_equal(udb_ndx_find(d, 1, k, strlen(k), &dp), 0); /* deleted by the lost txn */
    key_of(5000, k);
    assert_int_equal(udb_ndx_find(d, 1, k, strlen(k), &dp), UDB_NOTFOUND);
    assert_int_equal(udb_ndx_close(d), 0);
    assert_files(&fs, &old, 1, "after a writable open");
    assert_int_equal(hot_of(fs.path[0]), 0);
    image_free(&old);
    image_free(&hot);
    image_free(&fresh);
}

/* ---- a journal that belongs to another file ------------------------------------------------------ */
static void test_foreign_journal(void **state)
{
    (void)state;
    const char *an = path_in(dir, "fa"), *bn = path_in(dir, "fb");
    fileset fa, fb;
    fs_ndx(&fa, an);
    fs_ndx(&fb, bn);
    ndx_base(an, 300);
    ndx_base(bn, 120);
    image aold = {{0}, {0}}, ahot = {{0}, {0}}, afresh = {{0}, {0}}, bold = {{0}, {0}};
    snap(&fa, &aold);
    make_hot(an, &fa, 1, 0, ndx_txn, &aold, &ahot, &afresh);
    /* A stays in its half-written state WITHOUT its journal: if anything
       played the foreign journal, A would change */
    image aleft = {{0}, {0}};
    aleft.b[0] = malloc(ahot.n[0]);
    memcpy(aleft.b[0], ahot.b[0], ahot.n[0]);
    aleft.n[0] = ahot.n[0];
    put_back(&fa, &aleft);
    snap(&fb, &bold);
    assert_int_equal(write_file(fb.path[1], ahot.b[1], ahot.n[1]), 0);
    image bwith = {{0}, {0}};
    snap(&fb, &bwith);

    /* udb_journal_hot must not call B clean: a hot journal sits at its
       journal path (either it reports hot or it refuses) */
    int hot = -1;
    char msg[400] = "";
    int rc = udb_journal_hot(fb.path[0], &hot, msg, sizeof msg);
    fprintf(stderr, "udb_journal_hot on B with A's journal: %s, hot %d, \"%s\"\n", udb_errname(rc), hot,
            msg);

    udb_options ro;
    udb_options_init(&ro);
    ro.flags = UDB_RDONLY;
    udb_ndx *d;
    for (int w = 0; w < 2; w++) {
        rc = udb_ndx_open(fb.path[0], w ? NULL : &ro, &d);
        fprintf(stderr, "%s open of B: %s: %s\n", w ? "writable" : "read-only", udb_errname(rc),
                udb_ndx_errmsg(d));
        assert_int_equal(rc, UDB_RECOVER);
        assert_non_null(strstr(udb_ndx_errmsg(d), "fa.ndx")); /* names the owner */
        assert_non_null(strstr(udb_ndx_errmsg(d), fb.path[1])); /* and the journal */
        udb_ndx_close(d);
        assert_files(&fb, &bwith, 2, "B after an open with A's journal");
        assert_files(&fa, &aleft, 2, "A after B's open with A's journal");
    }
    int found = -1;
    rc = udb_recover(fb.path[0], NULL, &found, msg, sizeof msg);
    fprintf(stderr, "udb_recover of B: %s: %s\n", udb_errname(rc), msg);
    assert_int_equal(rc, UDB_RECOVER);
    assert_non_null(strstr(msg, "fa.ndx"));
    assert_files(&fb, &bwith, 2, "B after udb_recover with A's journal");
    assert_files(&fa, &aleft, 2, "A after udb_recover of B");
    /* udb_journal_hot reports the refusal every open gets */
    hot = 0;
    assert_int_equal(udb_journal_hot(fb.path[0], &hot, msg, sizeof msg), UDB_RECOVER);
    assert_int_equal(hot, 1);
    assert_non_null(strstr(msg, "fa.ndx"));
    /* moved away: B opens as it was */
    unlink(fb.path[1]);
    assert_int_equal(udb_ndx_open(fb.path[0], NULL, &d), 0);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    assert_files(&fb, &bold, 1, "B after its foreign journal moved away");
    image_free(&aold);
    image_free(&ahot);
    image_free(&afresh);
    image_free(&aleft);
    image_free(&bold);
    image_free(&bwith);
}

/* ---- journals that are not hot --------------------------------------------------------------------- */
static void test_torn_header(void **state)
{
    (void)state;
    const char *name = path_in(dir, "torn");
    fileset fs;
    fs_ndx(&fs, name);
    ndx_base(name, 300);
    image old = {{0}, {0}}, hot = {{0}, {0}}, fresh = {{0}, {0}};
    snap(&fs, &old);
    make_hot(name, &fs, 1, 0, ndx_txn, &old, &hot, &fresh);
    /* the committed new file beside a damaged copy of the hot journal: a
       journal that is not hot must not be played (the file would go back
       to the old bytes) */
    assert_true(hot.n[1] > 1024);
    enum { NV = 7 };
    static const char *what[NV] = {"crc of the header broken", "magic broken", "header torn (300 bytes)",
                                   "empty journal", "512 bytes of garbage", "state says clean",
                                   "header zeroed, records intact"};
    for (int v = 0; v < NV; v++) {
        image j = {{0}, {0}};
        j.b[0] = malloc(fresh.n[0]);
        memcpy(j.b[0], fresh.b[0], fresh.n[0]);
        j.n[0] = fresh.n[0];
        j.n[1] = hot.n[1];
        j.b[1] = malloc(hot.n[1]);
        memcpy(j.b[1], hot.b[1], hot.n[1]);
        switch (v) {
        case 0: j.b[1][100] ^= 0x40; break;
        case 1: j.b[1][3] = 'X'; break;
        case 2: j.n[1] = 300; break;
        case 3: j.n[1] = 0; break;
        case 4:
            for (int i = 0; i < 512; i++)
                j.b[1][i] = (uint8_t)(i * 37 + 11);
            break;
        case 5: {
            /* a valid header marked clean: recompute its crc the way
               doc/format.md describes (crc32 of bytes 0..507 at 508) */
            j.b[1][8] = 2;
            uint32_t c = (uint32_t)crc32(0, j.b[1], 508);
            for (int i = 0; i < 4; i++)
                j.b[1][508 + i] = (uint8_t)(c >> (8 * i));
            break;
        }
        default: memset(j.b[1], 0, 512); break;
        }
        put_back(&fs, &j);
        assert_int_equal(hot_of(fs.path[0]), 0);
        udb_options ro;
        udb_options_init(&ro);
        ro.flags = UDB_RDONLY;
        udb_ndx *d;
        for (int w = 0; w < 2; w++) {
            if (udb_ndx_open(fs.path[0], w ? NULL : &ro, &d))
                fail_msg("%s: %s open: %s", what[v], w ? "writable" : "read-only", udb_ndx_errmsg(d));
            assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
            int64_t dp;
            char k[12];
            key_of(5000, k); /* present in the new file */
            assert_int_equal(udb_ndx_find(d, 1, k, strlen(k), &dp), 0);
            assert_int_equal(udb_ndx_close(d), 0);
            assert_files(&fs, &fresh, 1, what[v]);
        }
        int found = -1;
        char m[300];
        assert_int_equal(udb_recover(fs.path[0], NULL, &found, m, sizeof m), 0);
        assert_int_equal(found, 0);
        assert_files(&fs, &fresh, 1, what[v]);
        image_free(&j);
    }
    image_free(&old);
    image_free(&hot);
    image_free(&fresh);
}

/* ---- a store's journal and its heap file opened alone ---------------------------------------------- */
static void test_store_heap_alone(void **state)
{
    (void)state;
    const char *name = path_in(dir, "st");
    fileset fs;
    fs_store(&fs, name);
    store_base(name);
    image old = {{0}, {0}}, hot = {{0}, {0}}, fresh = {{0}, {0}};
    snap(&fs, &old);
    make_hot(name, &fs, 2, 1, store_txn, &old, &hot, &fresh); /* NAME.dat half written */
    put_back(&fs, &hot);
    assert_int_equal(hot_of(fs.path[1]), 1); /* the heap sees the store's journal */
    assert_int_equal(hot_of(fs.path[0]), 1);
    assert_files(&fs, &hot, 3, "after udb_journal_hot");

    udb_options ro;
    udb_options_init(&ro);
    ro.flags = UDB_RDONLY;
    udb_heap *h;
    assert_int_equal(udb_heap_open(fs.path[1], &ro, &h), UDB_RECOVER);
    fprintf(stderr, "read-only heap open: %s\n", udb_heap_errmsg(h));
    assert_non_null(strstr(udb_heap_errmsg(h), "hot journal"));
    udb_heap_close(h);
    assert_files(&fs, &hot, 3, "after a read-only heap open");
    udb_store *s;
    assert_int_equal(udb_store_open(name, &ro, &s), UDB_RECOVER);
    udb_store_close(s);
    udb_ndx *d;
    assert_int_equal(udb_ndx_open(fs.path[0], &ro, &d), UDB_RECOVER);
    udb_ndx_close(d);
    assert_files(&fs, &hot, 3, "after read-only opens");

    /* the heap opened writable (raw: a store's own file) rolls the store's
       journal back: both files */
    udb_options raw;
    udb_options_init(&raw);
    raw.flags = UDB_RAW;
    assert_int_equal(udb_heap_open(fs.path[1], &raw, &h), 0);
    udb_heap_info inf;
    assert_int_equal(udb_heap_info_get(h, &inf), 0);
    assert_int_equal(inf.file_size, old.n[1]);
    assert_int_equal(udb_heap_close(h), 0);
    assert_files(&fs, &old, 2, "after a writable heap open");
    assert_int_equal(hot_of(fs.path[1]), 0);
    assert_int_equal(hot_of(fs.path[0]), 0);
    assert_int_equal(udb_store_open(name, &ro, &s), 0);
    assert_int_equal(udb_store_check(s, NULL, NULL, NULL), 0);
    udb_store_close(s);

    /* udb_recover on the heap file */
    put_back(&fs, &hot);
    int found = -1;
    char m[300];
    assert_int_equal(udb_recover(fs.path[1], NULL, &found, m, sizeof m), 0);
    assert_int_equal(found, 1);
    assert_files(&fs, &old, 2, "after udb_recover of the heap file");

    /* the index file opened alone, writable (raw) */
    put_back(&fs, &hot);
    assert_int_equal(udb_ndx_open(fs.path[0], &raw, &d), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    assert_files(&fs, &old, 2, "after a writable open of the index file alone");

    /* the store opened writable */
    put_back(&fs, &hot);
    assert_int_equal(udb_store_open(name, NULL, &s), 0);
    assert_int_equal(udb_store_check(s, NULL, NULL, NULL), 0);
    assert_int_equal(udb_store_close(s), 0);
    assert_files(&fs, &old, 2, "after a writable store open");
    image_free(&old);
    image_free(&hot);
    image_free(&fresh);
}

/* ---- a store's heap written alone (raw) and left with a hot journal ------------------------------ */
static int raw_heap_txn(const char *name, const udb_options *o)
{
    char p[700];
    snprintf(p, sizeof p, "%s.dat", name);
    udb_options ro = *o;
    ro.flags |= UDB_RAW;
    ro.dirty_limit = 4096; /* spills: the heap is written before the commit */
    udb_heap *h;
    uint8_t junk[3000];
    memset(junk, 0x5a, sizeof junk);
    int rc = udb_heap_open(p, &ro, &h);
    if (!rc)
        rc = udb_heap_begin(h);
    for (int64_t at = 4096; !rc && at < 24000; at += (int64_t)sizeof junk)
        rc = udb_heap_write(h, at, junk, sizeof junk);
    if (!rc)
        rc = udb_heap_commit(h);
    udb_heap_close(h);
    return rc;
}

/* Regression: a store's handles (and udb_journal_hot / udb_recover of its
   index file) did not look at NAME.dat-journal, the journal of a raw heap
   writer: after such a writer crashed, the store read the half-written
   heap (its check failed) and its writes went on over it, to be undone by
   the next heap open that played the journal back. */
static void test_store_raw_heap_hot(void **state)
{
    (void)state;
    const char *name = path_in(dir, "rh");
    fileset fs = {3, {{0}}};
    snprintf(fs.path[0], sizeof fs.path[0], "%s.dat", name);
    snprintf(fs.path[1], sizeof fs.path[1], "%s.ndx", name);
    snprintf(fs.path[2], sizeof fs.path[2], "%s.dat-journal", name);
    store_base(name);
    image old = {{0}, {0}}, hot = {{0}, {0}}, fresh = {{0}, {0}};
    snap(&fs, &old);
    make_hot(name, &fs, 2, 0, raw_heap_txn, &old, &hot, &fresh); /* NAME.dat half written */
    put_back(&fs, &hot);
    assert_int_equal(hot_of(fs.path[1]), 1); /* seen through the index file */

    udb_options ro, wal;
    udb_options_init(&ro);
    ro.flags = UDB_RDONLY;
    udb_options_init(&wal);
    wal.journal = UDB_JOURNAL_WAL;
    udb_store *s;
    assert_int_equal(udb_store_open(name, &ro, &s), UDB_RECOVER);
    udb_store_close(s);
    assert_files(&fs, &hot, 3, "after a read-only store open");

    for (int mode = 0; mode < 3; mode++) { /* a store open, in either mode; udb_recover */
        put_back(&fs, &hot);
        if (mode < 2) {
            assert_int_equal(udb_store_open(name, mode ? &wal : NULL, &s), 0);
            if (udb_store_check(s, NULL, NULL, NULL))
                fail_msg("mode %d: the store reads the half-written heap: %s", mode, udb_store_errmsg(s));
            int32_t id = 7;
            udb_val v = {0};
            assert_int_equal(udb_store_get(s, 1, &id, 4, &v), 0);
            assert_int_equal(v.len, 17);
            udb_val_free(&v);
            assert_int_equal(udb_store_close(s), 0);
        } else {
            int found = -1;
            char m[300];
            assert_int_equal(udb_recover(fs.path[1], NULL, &found, m, sizeof m), 0);
            assert_int_equal(found, 1);
        }
        assert_files(&fs, &old, 2, mode == 2 ? "after udb_recover of the index file" : "after a store open");
        assert_int_equal(hot_of(fs.path[0]), 0);
        assert_int_equal(hot_of(fs.path[1]), 0);
    }
    image_free(&old);
    image_free(&hot);
    image_free(&fresh);
}

/* ---- regressions ----------------------------------------------------------------------------------------- */
/* Regression (udb/pager_txn.c, pager_rollback): the journal's write offset
   was not reset by a rollback (only by journal_finish at commit). After rolling back a transaction whose
   records reached the journal file (a spill), the next transaction's
   records go after the stale ones; playback starts at offset 512, stops at
   the first record with the old salt and restores nothing. Consequences:
   (1) two spilled rollbacks in a row leave the second transaction's
   spilled pages in the files (corrupt store); (2) a crash during the
   commit that follows a spilled rollback is not rolled back (partial
   transaction after recovery). */
static void test_rollbacks_after_spills(void **state)
{
    (void)state;
    const char *name = path_in(dir, "jend");
    fileset fs;
    fs_store(&fs, name);
    store_base(name);
    image old = {{0}, {0}};
    snap(&fs, &old);
    udb_options o;
    udb_options_init(&o);
    o.dirty_limit = 4096;
    udb_store *s;
    /* (1) two spilled rollbacks */
    assert_int_equal(udb_store_open(name, &o, &s), 0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(udb_store_begin(s), 0);
        assert_int_equal(store_ops(s, round), 0);
        assert_int_equal(udb_store_rollback(s), 0);
        image now = {{0}, {0}};
        snap(&fs, &now);
        int ok = same_file(&now, &old, 0) && same_file(&now, &old, 1);
        image_free(&now);
        if (!ok)
            fail_msg("after spilled rollback number %d the files differ from before the transaction",
                     round + 1);
    }
    assert_int_equal(udb_store_close(s), 0);
    image_free(&old);
}

/* (2) the crash variant: a spilled rollback, then a committed transaction
   that crashes after its journal was synced and pages were written. */
static int rollback_then_commit(const char *name, const udb_options *base)
{
    udb_options o = *base;
    o.dirty_limit = 4096;
    udb_store *s;
    int rc = udb_store_open(name, &o, &s);
    if (!rc && !(rc = udb_store_begin(s)) && !(rc = store_ops(s, 1)))
        rc = udb_store_rollback(s);
    if (!rc && !(rc = udb_store_begin(s)) && !(rc = store_ops(s, 0)))
        rc = udb_store_commit(s);
    udb_store_close(s);
    return rc;
}

static void test_crash_after_spilled_rollback(void **state)
{
    (void)state;
    const char *name = path_in(dir, "jendc");
    fileset fs;
    fs_store(&fs, name);
    store_base(name);
    image old = {{0}, {0}}, fresh = {{0}, {0}};
    snap(&fs, &old);
    fault_os f;
    udb_options o;
    fault_opts(&f, &o);
    assert_int_equal(rollback_then_commit(name, &o), 0);
    long total = f.calls;
    snap(&fs, &fresh);
    long bad = 0, first_bad = 0;
    /* every crash point; under UDB_TEST_QUICK (valgrind) about 200 of them */
    long step = getenv("UDB_TEST_QUICK") ? 1 + total / 200 : 1;
    for (long k = 1; k <= total; k += step) {
        put_back(&fs, &old);
        fault_os_init(&f, FAULT_CRASH, k);
        rollback_then_commit(name, &o);
        udb_store *s;
        int rc = udb_store_open(name, NULL, &s); /* recovers */
        if (!rc)
            rc = udb_store_check(s, NULL, NULL, NULL);
        udb_store_close(s);
        image got = {{0}, {0}};
        snap(&fs, &got);
        int is_old = same_file(&got, &old, 0) && same_file(&got, &old, 1);
        int is_new = same_file(&got, &fresh, 0) && same_file(&got, &fresh, 1);
        if (rc || (!is_old && !is_new)) {
            if (!bad++)
                first_bad = k;
        }
        image_free(&got);
    }
    if (bad)
        fail_msg("%ld of %ld crash points left neither the old nor the new files after recovery "
                 "(first: changing call %ld)", bad, total, first_bad);
    image_free(&old);
    image_free(&fresh);
}

/* Regression (udb/store_maint.c, udb_store_check): with rep == NULL the
   function pointed rep at an uninitialised local
   report and freed local.index on the way out even when it failed before
   filling the report (read transaction refused: UDB_RECOVER, UDB_LOCKED;
   store not open) — free() of a stack garbage pointer. With a caller's
   rep the same early failures left *rep untouched (not safe to free). */
static void dirty_stack(void)
{
    volatile uint8_t junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0xa5;
    (void)junk[100];
}

static void test_check_report_on_refusal(void **state)
{
    (void)state;
    const char *name = path_in(dir, "chk");
    fileset fs;
    fs_store(&fs, name);
    store_base(name);
    image old = {{0}, {0}}, hot = {{0}, {0}}, fresh = {{0}, {0}};
    snap(&fs, &old);
    make_hot(name, &fs, 2, 1, store_txn, &old, &hot, &fresh);
    put_back(&fs, &fresh); /* clean: the read-only handle opens */
    udb_options ro;
    udb_options_init(&ro);
    ro.flags = UDB_RDONLY;
    udb_store *s;
    assert_int_equal(udb_store_open(name, &ro, &s), 0);
    put_back(&fs, &hot); /* a crashed writer's files appear */
    /* the caller's report after a refused check: must be safe to free */
    udb_check_report rep;
    memset(&rep, 0xa5, sizeof rep);
    int rc = udb_store_check(s, NULL, NULL, &rep);
    assert_int_equal(rc, UDB_RECOVER);
    int rep_ok = rep.index == NULL || rep.num_indexes == 2;
    /* rep == NULL: in a child, so that an abort is reported, not fatal */
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* cmocka's handlers would catch the crash and go on in the child */
        static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        dirty_stack();
        rc = udb_store_check(s, NULL, NULL, NULL);
        _exit(rc == UDB_RECOVER ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    udb_store_close(s);
    if (WIFSIGNALED(st))
        fail_msg("udb_store_check(s, NULL, NULL, NULL) on a refused read transaction died with "
                 "signal %d (free of an uninitialised pointer)", WTERMSIG(st));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!rep_ok)
        fail_msg("udb_store_check left the caller's report uninitialised after UDB_RECOVER "
                 "(index = %p)", (void *)rep.index);
    image_free(&old);
    image_free(&hot);
    image_free(&fresh);
}

/* ---- hostile journals ------------------------------------------------------------------------------- */
/* A journal written byte for byte as udb/journal.c's header comment and
   doc/format.md describe it, every crc32 valid: only the field under test
   is wrong. */
#define JSALT 0x5eed0123456789abULL
typedef struct jfile {
    const char *name;
    int nlen; /* < 0: strlen(name) */
    uint64_t orig;
} jfile;

typedef struct jrec {
    uint32_t file;
    uint64_t page;
    uint8_t fill;  /* the page image: psize bytes of fill */
    int zero;      /* 1: a zero record ("1zer") of run pages instead; 2: a
                      commit record ("1cmt") listing run pages, each (file,
                      page, crc 0), with the header's sizes and file count
                      plus more_files */
    uint64_t run;
    uint32_t more_files;
} jrec;

typedef struct jspec {
    const char *what;
    int code; /* what every open, udb_recover and udb_journal_hot return */
    uint32_t psize, nfiles;
    jfile f[2];
    int nrec;
    jrec r[2];
    uint64_t start; /* the records' first offset (0: 512, magic 1; else magic 2) */
} jspec;

static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void craft_commit(uint8_t *r, const jspec *s, const jrec *c)
{
    uint8_t *b = r + 32;
    le(b, c->run, 4);
    le(b + 4, s->nfiles + c->more_files, 4);
    for (int i = 0; i < 2 && s->f[i].name; i++)
        le(b + 8 + 8 * i, s->f[i].orig, 8);
    for (uint64_t k = 0; k < c->run && 24 + 16 * (k + 1) <= s->psize; k++) {
        le(b + 24 + 16 * k, c->page, 8);
        le(b + 24 + 16 * k + 8, c->file, 4);
    }
}

static void craft_journal(const char *path, const jspec *s)
{
    uint64_t start = s->start ? s->start : 512, at = start < 512 || start > (2u << 20) ? 512 : start;
    size_t rec = 32 + (size_t)s->psize, len = (size_t)at + (size_t)s->nrec * rec;
    uint8_t *b = calloc(1, len);
    assert_non_null(b);
    memcpy(b, s->start ? "udbjrnl\2" : "udbjrnl\1", 8);
    le(b + 472, start, 8);
    le(b + 8, 1, 4); /* hot */
    le(b + 12, s->psize, 4);
    le(b + 16, 7, 8);
    le(b + 24, JSALT, 8);
    le(b + 32, s->nfiles, 4);
    for (int i = 0; i < 2 && s->f[i].name; i++) {
        uint8_t *e = b + 40 + 216 * i;
        size_t n = s->f[i].nlen < 0 ? strlen(s->f[i].name) : (size_t)s->f[i].nlen;
        le(e, s->f[i].orig, 8);
        le(e + 8, n, 2);
        memcpy(e + 10, s->f[i].name, n < 200 ? n : 200);
    }
    le(b + 508, crc32(0, b, 508), 4);
    for (int k = 0; k < s->nrec; k++) {
        uint8_t *r = b + at + (size_t)k * rec;
        memcpy(r, s->r[k].zero == 2 ? "1cmt" : s->r[k].zero ? "1zer" : "1rec", 4);
        le(r + 4, s->r[k].zero == 2 ? 0 : s->r[k].file, 4);
        le(r + 8, s->r[k].zero == 2 ? 0 : s->r[k].page, 8);
        le(r + 16, JSALT, 8);
        memset(r + 32, s->r[k].zero == 2 ? 0 : s->r[k].fill, s->psize);
        if (s->r[k].zero == 1)
            le(r + 32, s->r[k].run, 8);
        if (s->r[k].zero == 2)
            craft_commit(r, s, &s->r[k]);
        le(r + 24, crc32(crc32(0, r, 24), r + 32, s->psize), 4);
    }
    assert_int_equal(write_file(path, b, len), 0);
    free(b);
}

enum { K_NDX, K_HEAP, K_STORE, K_STORE_HEAP };
/* A group of files, in hostile/ of the scratch directory, and how it is
   opened; victim.txt lies outside it, other.dat beside it. */
typedef struct kind {
    const char *what;
    int type;
    char opened[600];  /* what the open gets (a store: its name) */
    char first[600];   /* what udb_recover and udb_journal_hot get */
    char jpath[600];
    int nw;            /* files a valid journal names */
    const char *name[2];
    fileset watch;     /* the group's files, the journal, victim.txt, other.dat */
    uint64_t size[2];
} kind;

/* out (600 bytes) = a b c */
static void join3(char *out, const char *a, const char *b, const char *c)
{
    int n = snprintf(out, 600, "%s%s%s", a, b, c);
    assert_true(n > 0 && n < 600);
}

static const char *hdir(void)
{
    static char d[600];
    join3(d, dir, "/hostile", "");
    return d;
}

static void kind_init(kind *k, int type)
{
    static const char *what[] = {"index file", "heap file", "store", "store's heap opened alone"};
    const char *hd = hdir();
    memset(k, 0, sizeof *k);
    k->what = what[type];
    k->type = type;
    k->nw = type >= K_STORE ? 2 : 1;
    k->name[0] = type == K_NDX ? "I.ndx" : type == K_HEAP ? "H.dat" : "S.ndx";
    k->name[1] = "S.dat";
    join3(k->opened, hd, "/", type == K_STORE ? "S" : type == K_STORE_HEAP ? "S.dat" : k->name[0]);
    join3(k->first, hd, "/", type == K_STORE_HEAP ? "S.dat" : k->name[0]);
    join3(k->jpath, hd, "/", k->name[0]);
    strcat(k->jpath, "-journal");
    fileset *w = &k->watch;
    for (int i = 0; i < k->nw; i++)
        join3(w->path[w->n++], hd, "/", k->name[i]);
    join3(w->path[w->n++], k->jpath, "", "");
    join3(w->path[w->n++], path_in(dir, "victim.txt"), "", "");
    join3(w->path[w->n++], hd, "/other.dat", "");
    for (int i = 0; i < k->nw; i++) {
        size_t n;
        uint8_t *b = read_file(w->path[i], &n);
        assert_non_null(b);
        free(b);
        k->size[i] = n;
    }
}

/* The files of every kind, made once. */
static void hostile_files(void)
{
    const char *hd = hdir();
    if (mkdir(hd, 0755) != 0)
        return;
    char p[600];
    join3(p, hd, "/I", "");
    ndx_base(p, 80);
    join3(p, hd, "/S", "");
    store_base(p);
    join3(p, hd, "/H.dat", "");
    udb_heap *h;
    assert_int_equal(udb_heap_create(p, NULL, 0, &h), 0);
    assert_int_equal(udb_heap_close(h), 0);
    assert_int_equal(write_file(path_in(dir, "victim.txt"), "precious data\n", 14), 0);
    join3(p, hd, "/other.dat", "");
    assert_int_equal(write_file(p, "a neighbour\n", 12), 0);
}

static int kind_open(const kind *k, int rdonly, char *msg, size_t ml)
{
    udb_options o;
    udb_options_init(&o);
    /* a store's heap or index opened alone: raw access, so that the
       journal is what refuses (the store guard would refuse first) */
    o.flags = UDB_RAW | (rdonly ? UDB_RDONLY : 0);
    int rc;
    if (k->type == K_NDX) {
        udb_ndx *d;
        rc = udb_ndx_open(k->opened, &o, &d);
        snprintf(msg, ml, "%s", udb_ndx_errmsg(d));
        udb_ndx_close(d);
    } else if (k->type == K_STORE) {
        udb_store *s;
        rc = udb_store_open(k->opened, &o, &s);
        snprintf(msg, ml, "%s", udb_store_errmsg(s));
        udb_store_close(s);
    } else {
        udb_heap *h;
        rc = udb_heap_open(k->opened, &o, &h);
        snprintf(msg, ml, "%s", udb_heap_errmsg(h));
        udb_heap_close(h);
    }
    return rc;
}

/* Every way in meets the journal as it is: the same refusal, and nothing
   changes. */
static void expect_refused(const kind *k, const char *what, int code, const char *says)
{
    image before = {{0}, {0}};
    snap(&k->watch, &before);
    char msg[600];
    for (int way = 0; way < 4; way++) {
        static const char *ways[] = {"writable open", "read-only open", "udb_recover", "udb_journal_hot"};
        int found = -1, rc;
        msg[0] = 0;
        if (way < 2)
            rc = kind_open(k, way, msg, sizeof msg);
        else if (way == 2)
            rc = udb_recover(k->first, NULL, &found, msg, sizeof msg);
        else
            rc = udb_journal_hot(k->first, &found, msg, sizeof msg);
        if (rc != code || !strstr(msg, k->jpath) || !strstr(msg, says))
            fail_msg("%s, %s: %s: %s: %s (want %s naming the journal and '%s')", k->what, what, ways[way],
                     udb_errname(rc), msg, udb_errname(code), says);
        if (way == 0)
            fprintf(stderr, "%s, %s: %s\n", k->what, what, msg);
        char when[300];
        snprintf(when, sizeof when, "%s, %s, after the %s", k->what, what, ways[way]);
        assert_files(&k->watch, &before, k->watch.n, when);
    }
    image_free(&before);
}

static uint64_t pages_in(uint64_t n, uint32_t ps) { return n / ps + (n % ps != 0); }

/* One journal per hostile field; s holds at least 56. */
static int hostile_specs(const kind *k, uint32_t ps, jspec *s)
{
    static char longname[260], nul[80], slash[80], victim[700];
    memset(longname, 'x', sizeof longname - 1);
    snprintf(nul, sizeof nul, "%s%c/../victim.txt", k->name[k->nw - 1], 0);
    snprintf(slash, sizeof slash, "./%s", k->name[0]);
    assert_non_null(getcwd(victim, 300));
    strcat(victim, "/");
    strcat(victim, path_in(dir, "victim.txt"));
    int n = 0;
    uint32_t last = (uint32_t)k->nw - 1;
    jspec base, *t;
    memset(&base, 0, sizeof base);
    base.code = UDB_CORRUPT;
    base.psize = ps;
    base.nfiles = (uint32_t)k->nw;
    for (int i = 0; i < k->nw; i++)
        base.f[i] = (jfile){k->name[i], -1, k->size[i]};
#define SPEC(w) (s[n] = base, s[n].what = (w), t = &s[n++])
    /* names: only the group's, exactly */
    SPEC("file 1 is ../victim.txt");
    t->nfiles = 2, t->f[1] = (jfile){"../victim.txt", -1, 3}, t->nrec = 1, t->r[0] = (jrec){1, 0, 'A'};
    SPEC("file 1 is victim.txt by its absolute path");
    t->nfiles = 2, t->f[1] = (jfile){victim, -1, 3}, t->nrec = 1, t->r[0] = (jrec){1, 0, 'A'};
    SPEC("file 1 is another file of the directory");
    t->nfiles = 2, t->f[1] = (jfile){"other.dat", -1, 3}, t->nrec = 1, t->r[0] = (jrec){1, 0, 'A'};
    SPEC("file 1 repeats file 0");
    t->nfiles = 2, t->f[1] = t->f[0], t->nrec = 1, t->r[0] = (jrec){1, 0, 'A'};
    SPEC("file 0 is ../victim.txt");
    t->f[0] = (jfile){"../victim.txt", -1, 3}, t->nrec = 1, t->r[0] = (jrec){0, 0, 'A'};
    SPEC("file 0 is victim.txt by its absolute path");
    t->f[0] = (jfile){victim, -1, 3}, t->nrec = 1, t->r[0] = (jrec){0, 0, 'A'};
    SPEC("file 0 is ./ and its own name");
    t->f[0].name = slash;
    SPEC("file 0 is ..");
    t->f[0].name = "..";
    SPEC("file 0 is .");
    t->f[0].name = ".";
    SPEC("file 0 has an empty name");
    t->f[0].nlen = 0;
    SPEC("file 0 is another file of the directory"); /* a journal copied from elsewhere */
    t->f[0].name = "other.dat", t->code = UDB_RECOVER;
    SPEC("a NUL inside the last name's length");
    t->f[last] = (jfile){nul, (int)(strlen(nul) + 15), k->size[last]};
    SPEC("a name length of 201, over the field");
    t->f[last] = (jfile){longname, 201, k->size[last]};
    SPEC("a name length of 65535");
    t->f[last] = (jfile){longname, 65535, k->size[last]};
    /* the file count */
    SPEC("0 files");
    t->nfiles = 0;
    SPEC("3 files");
    t->nfiles = 3;
    SPEC("2^32-1 files");
    t->nfiles = UINT32_MAX;
    /* original sizes */
    SPEC("an original size of 2^63 (negative as off_t)");
    t->f[last].orig = (uint64_t)1 << 63;
    SPEC("an original size of 2^64-1 (page count overflows)");
    t->f[last].orig = UINT64_MAX;
    SPEC("an original size beyond the file and the journal's pages (a journal too short)");
    t->f[last].orig = k->size[last] + 8 * (uint64_t)ps, t->nrec = 1, t->r[0] = (jrec){last, 0, 'A'};
    /* records */
    SPEC("a record for a file the journal does not name");
    t->nrec = 1, t->r[0] = (jrec){last + 1, 0, 'A'};
    SPEC("a record for file 2^32-1");
    t->nrec = 1, t->r[0] = (jrec){UINT32_MAX, 0, 'A'};
    SPEC("a record for the page after the original size");
    t->nrec = 1, t->r[0] = (jrec){last, pages_in(k->size[last], ps), 'A'};
    SPEC("a record whose page * page size wraps to offset 0");
    t->nrec = 1, t->r[0] = (jrec){last, UINT64_MAX / ps + 1, 'A'};
    SPEC("a record for page 2^64-1");
    t->nrec = 1, t->r[0] = (jrec){last, UINT64_MAX, 'A'};
    SPEC("a zero record of no pages");
    t->nrec = 1, t->r[0] = (jrec){last, 0, 0, 1, 0};
    SPEC("a zero record running one page past the original size");
    t->nrec = 1, t->r[0] = (jrec){last, 0, 0, 1, pages_in(k->size[last], ps) + 1};
    SPEC("a zero record whose run wraps around");
    t->nrec = 1, t->r[0] = (jrec){last, 1, 0, 1, UINT64_MAX};
    SPEC("a zero record for a file the journal does not name");
    t->nrec = 1, t->r[0] = (jrec){last + 1, 0, 0, 1, 1};
    SPEC("an original size beyond the file and the pages of a zero record");
    t->f[last].orig = k->size[last] + 8 * (uint64_t)ps;
    t->nrec = 1, t->r[0] = (jrec){last, pages_in(k->size[last], ps), 0, 1, 7};
    SPEC("a valid zero record, then a bad one (nothing may be applied)");
    t->nrec = 2, t->r[0] = (jrec){last, 0, 0, 1, 1}, t->r[1] = (jrec){last + 7, 0, 'A'};
    SPEC("a valid record, then a bad one (nothing may be applied)");
    t->nrec = 2, t->r[0] = (jrec){last, 0, 'A'}, t->r[1] = (jrec){last + 7, 0, 'A'};
    /* commit records and where the records begin */
    SPEC("a commit record listing a page past the sizes it gives");
    t->nrec = 2, t->r[0] = (jrec){last, 0, 'A'}, t->r[1] = (jrec){last, pages_in(k->size[last], ps), 0, 2, 1};
    SPEC("a commit record whose page * page size wraps to offset 0");
    t->nrec = 2, t->r[0] = (jrec){last, 0, 'A'}, t->r[1] = (jrec){last, UINT64_MAX / ps + 1, 0, 2, 1};
    SPEC("a commit record listing a page of a file the journal does not name");
    t->nrec = 2, t->r[0] = (jrec){last, 0, 'A'}, t->r[1] = (jrec){last + 1, 0, 0, 2, 1};
    SPEC("a commit record listing more pages than it holds");
    t->nrec = 2, t->r[0] = (jrec){last, 0, 'A'}, t->r[1] = (jrec){last, 0, 0, 2, ps / 16};
    SPEC("a commit record for one file more than the header");
    t->nrec = 2, t->r[0] = (jrec){last, 0, 'A'}, t->r[1] = (jrec){last, 0, 0, 2, 1, 1};
    SPEC("records said to begin at offset 256, inside the header");
    t->start = 256, t->nrec = 1, t->r[0] = (jrec){last, 0, 'A'};
    SPEC("records said to begin past 1 MiB");
    t->start = ((uint64_t)1 << 20) + 4096, t->nrec = 1, t->r[0] = (jrec){last, 0, 'A'};
    SPEC("records said to begin at offset 2^64-1");
    t->start = UINT64_MAX, t->nrec = 1, t->r[0] = (jrec){last, 0, 'A'};
    /* page sizes */
    static const uint32_t bad_ps[] = {0, 512, 1000, 2048, 131072, 1u << 31, UINT32_MAX};
    static const char *bad_ps_what[] = {"page size 0", "page size 512", "page size 1000", "page size 2048",
                                        "page size 131072", "page size 2^31", "page size 2^32-1"};
    for (size_t i = 0; i < sizeof bad_ps / sizeof bad_ps[0]; i++)
        if (bad_ps[i] != ps) {
            SPEC(bad_ps_what[i]);
            t->psize = bad_ps[i];
        }
#undef SPEC
    return n;
}

/* Zero records ("1zer", a cut-off hole) are obeyed: one over page 0 of
   the last file writes zeros over its data; one beyond its end, with an
   original size 3 pages longer, makes up the pages the file lacks. */
static void zero_records_applied(const kind *k, uint32_t ps)
{
    unsigned last = (unsigned)k->nw - 1;
    size_t len, old_len;
    uint8_t *old = read_file(k->watch.path[last], &old_len);
    assert_non_null(old);
    jspec z = {"zeros", 0, ps, (uint32_t)k->nw, {{k->name[0], -1, k->size[0]}, {k->name[1], -1, k->size[1]}},
               2, {{last, 0, 0, 1, 1}, {last, pages_in(k->size[last], ps), 0, 1, 3}}};
    z.f[last].orig += 3 * (uint64_t)ps;
    craft_journal(k->jpath, &z);
    int found = 0;
    char msg[480];
    if (udb_recover(k->first, NULL, &found, msg, sizeof msg) || !found)
        fail_msg("%s: a journal of zero records: %s (found %d)", k->what, msg, found);
    uint8_t *b = read_file(k->watch.path[last], &len);
    assert_int_equal(len, old_len + 3 * (size_t)ps);
    for (size_t i = 0; i < len; i++)
        if (b[i] != (i >= ps && i < old_len ? old[i] : 0))
            fail_msg("%s: after a journal of zero records byte %zu is %u", k->what, i, b[i]);
    free(b);
    free(old);
}

static void hostile_kind(int type)
{
    hostile_files();
    kind k;
    kind_init(&k, type);
    uint32_t ps = (uint32_t)sysconf(_SC_PAGESIZE);
    jspec specs[56];
    int n = hostile_specs(&k, ps, specs);
    for (int i = 0; i < n; i++) {
        craft_journal(k.jpath, &specs[i]);
        expect_refused(&k, specs[i].what, specs[i].code,
                       specs[i].code == UDB_CORRUPT ? "refused" : "belongs to");
    }
    /* the same crafting, every field right: applied (the refusals above are
       the fields under test, not the crafting) */
    image before = {{0}, {0}};
    snap(&k.watch, &before);
    jspec ok = {"valid", 0, ps, (uint32_t)k.nw, {{k.name[0], -1, k.size[0]}, {k.name[1], -1, k.size[1]}}, 1,
                {{(uint32_t)k.nw - 1, 0, 'Z'}}};
    craft_journal(k.jpath, &ok);
    int found = 0;
    char msg[480];
    if (udb_recover(k.first, NULL, &found, msg, sizeof msg) || !found)
        fail_msg("%s: a valid crafted journal: %s (found %d)", k.what, msg, found);
    size_t len;
    uint8_t *b = read_file(k.watch.path[k.nw - 1], &len);
    assert_int_equal(len, k.size[k.nw - 1]);
    for (size_t i = 0; i < len && i < ps; i++)
        assert_int_equal(b[i], 'Z');
    free(b);
    image after = {{0}, {0}};
    snap(&k.watch, &after);
    for (int i = 0; i < k.watch.n; i++)
        if (i != k.nw - 1 && i != k.nw && !same_file(&after, &before, i))
            fail_msg("%s: the valid crafted journal changed %s", k.what, k.watch.path[i]);
    image_free(&after);
    put_back(&k.watch, &before); /* the group as it was, the journal hot again */
    zero_records_applied(&k, ps);
    put_back(&k.watch, &before);
    unlink(k.jpath);
    image_free(&before);
}

/* state: the kind (K_*) */
static void test_hostile(void **state)
{
    hostile_kind(*(const int *)*state);
}

/* A journal that changes between its check and its playback: the second
   read of record 1 (the playback's) finds another journal, whose record 1
   names file 5. Playback stops there; nothing outside the group changes. */
static struct {
    size_t n;
    uint64_t off;
    int hits;
    const char *path;
    uint8_t *b;
    size_t len;
} swap;

static int swap_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
    if (swap.b && n == swap.n && off == swap.off && ++swap.hits == 2)
        assert_int_equal(write_file(swap.path, swap.b, swap.len), 0);
    return udb_os_posix()->pread(ctx, fd, buf, n, off, got);
}

static void test_journal_changed_during_playback(void **state)
{
    (void)state;
    hostile_files();
    kind k;
    kind_init(&k, K_NDX);
    uint32_t ps = (uint32_t)sysconf(_SC_PAGESIZE);
    jspec js = {"changed", 0, ps, 1, {{k.name[0], -1, k.size[0]}}, 2, {{0, 0, 'A'}, {0, 0, 'B'}}};
    image before = {{0}, {0}};
    snap(&k.watch, &before);
    craft_journal(k.jpath, &js);
    swap.b = read_file(k.jpath, &swap.len);
    js.r[1].file = 5;
    craft_journal(k.jpath, &js);
    uint8_t *t = swap.b;
    swap.b = read_file(k.jpath, &swap.len);
    assert_int_equal(write_file(k.jpath, t, swap.len), 0); /* the valid one first */
    free(t);
    swap.n = 32 + ps;
    swap.off = 512 + swap.n;
    swap.hits = 0;
    swap.path = k.jpath;
    udb_os os = *udb_os_posix();
    os.pread = swap_pread;
    udb_options o;
    udb_options_init(&o);
    o.os = &os;
    int found = 0;
    char msg[480];
    int rc = udb_recover(k.first, &o, &found, msg, sizeof msg);
    fprintf(stderr, "journal changed during playback: %s: %s\n", udb_errname(rc), msg);
    assert_int_equal(swap.hits, 2);
    assert_int_equal(rc, UDB_CORRUPT);
    assert_non_null(strstr(msg, "changed while it was played back"));
    image after = {{0}, {0}};
    snap(&k.watch, &after);
    for (int i = k.nw + 1; i < k.watch.n; i++)
        assert_true(same_file(&after, &before, i));
    assert_int_equal(after.n[0], before.n[0]); /* page 0 restored, nothing truncated */
    image_free(&after);
    free(swap.b);
    memset(&swap, 0, sizeof swap);
    put_back(&k.watch, &before);
    unlink(k.jpath);
    image_free(&before);
}

/* A symbolic link where a journal, or a file only a journal names, would
   be: refused, and what it points to never changes (nor is created). */
static void test_symlinks(void **state)
{
    (void)state;
    hostile_files();
    kind k;
    kind_init(&k, K_NDX);
    image before = {{0}, {0}};
    snap(&k.watch, &before);
    unlink(k.jpath);
    assert_int_equal(symlink("../victim.txt", k.jpath), 0);
    expect_refused(&k, "the journal is a symbolic link to ../victim.txt", UDB_CORRUPT, "symbolic link");
    unlink(k.jpath);
    assert_int_equal(symlink("../created.txt", k.jpath), 0);
    expect_refused(&k, "the journal is a dangling symbolic link", UDB_CORRUPT, "symbolic link");
    assert_int_equal(access(path_in(dir, "created.txt"), F_OK), -1);
    unlink(k.jpath);
    image_free(&before);

    /* a store's journal met through its index file alone: S.dat, which
       only the journal names, is a link to ../victim.txt */
    kind_init(&k, K_STORE);
    uint32_t ps = (uint32_t)sysconf(_SC_PAGESIZE);
    char keep[620];
    snprintf(keep, sizeof keep, "%s.keep", k.watch.path[1]);
    assert_int_equal(rename(k.watch.path[1], keep), 0);
    assert_int_equal(symlink("../victim.txt", k.watch.path[1]), 0);
    jspec js = {"link", 0, ps, 2, {{"S.ndx", -1, k.size[0]}, {"S.dat", -1, 14}}, 1, {{1, 0, 'A'}}};
    craft_journal(k.jpath, &js);
    image b2 = {{0}, {0}};
    snap(&k.watch, &b2);
    char msg[480];
    udb_ndx *d;
    int rc = udb_ndx_open(k.watch.path[0], NULL, &d);
    snprintf(msg, sizeof msg, "%s", udb_ndx_errmsg(d));
    udb_ndx_close(d);
    fprintf(stderr, "index file alone, its store's heap a symbolic link: %s: %s\n", udb_errname(rc), msg);
    assert_int_equal(rc, UDB_CORRUPT);
    assert_non_null(strstr(msg, "symbolic link"));
    int found = 0;
    assert_int_equal(udb_recover(k.watch.path[0], NULL, &found, msg, sizeof msg), UDB_CORRUPT);
    assert_files(&k.watch, &b2, k.watch.n, "after opens with S.dat a symbolic link");
    unlink(k.jpath);
    unlink(k.watch.path[1]);
    assert_int_equal(rename(keep, k.watch.path[1]), 0);
    image_free(&b2);
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("journal"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((void *)dir);
    return 0;
}

/* A transaction that keeps changing more pages than its dirty limit: a
   spill writes the pages and keeps their copies, so a page changed again
   after it costs no page fault (copy on write of the file's page) and no
   new journal record. Before: every spill mapped the file over every page
   it wrote, and each later change of one faulted (at 4M records, W1's load
   slowed from 0.45 to 13 s per 250k records). Then the files must hold
   exactly what was written (commit) or what was there (rollback). */
enum { KEEP_PAGES = 18, KEEP_LIMIT = 16, KEEP_ROUNDS = 60 };

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static void keep_writes(udb_heap *h, int64_t at, unsigned char *model)
{
    long faults = 0;
    for (int r = 0; r < KEEP_ROUNDS; r++) {
        long f0 = minor_faults();
        for (int k = 0; k < KEEP_PAGES; k++) {
            unsigned char b[8];
            memset(b, (r * 31 + k) & 0xff, sizeof b);
            assert_int_equal(udb_heap_write(h, at + (int64_t)k * 4096 + 100, b, sizeof b), 0);
            memcpy(model + (size_t)k * 4096 + 100, b, sizeof b);
        }
        if (r >= 2) /* the first spills fill the kept copies */
            faults += minor_faults() - f0;
    }
    /* without kept copies: about one fault per page written after a spill
       (KEEP_PAGES x (KEEP_ROUNDS - 2) = 1044); with them: about one per spill */
    if (!getenv("UDB_TEST_QUICK") && faults > KEEP_PAGES * (KEEP_ROUNDS - 2) / 4)
        fail_msg("%ld page faults in %d page writes over the dirty limit", faults,
                 KEEP_PAGES * (KEEP_ROUNDS - 2));
}

static void test_spill_keeps_pages(void **state)
{
    (void)state;
    const char *name = path_in(dir, "keep.dat");
    size_t len = (size_t)(KEEP_PAGES + 1) * 4096, n = (size_t)KEEP_PAGES * 4096;
    unsigned char *start = malloc(len), *model = malloc(n), *got = malloc(n);
    udb_heap *h;
    int64_t at;
    unlink(name);
    assert_int_equal(udb_heap_create(name, NULL, 0, &h), 0);
    assert_int_equal(udb_heap_alloc(h, len, &at), 0);
    for (size_t i = 0; i < len; i++)
        start[i] = (unsigned char)(i * 7);
    assert_int_equal(udb_heap_write(h, at, start, len), 0);
    assert_int_equal(udb_heap_close(h), 0);
    at = (at + 4095) & ~(int64_t)4095; /* KEEP_PAGES whole pages of the block */
    udb_options o;
    udb_options_init(&o);
    o.dirty_limit = KEEP_LIMIT * 4096;
    for (int commit = 0; commit < 2; commit++) {
        assert_int_equal(udb_heap_open(name, &o, &h), 0);
        assert_int_equal(udb_heap_read(h, at, start, n), 0);
        memcpy(model, start, n);
        assert_int_equal(udb_heap_begin(h), 0);
        keep_writes(h, at, model);
        assert_int_equal(commit ? udb_heap_commit(h) : udb_heap_rollback(h), 0);
        assert_int_equal(udb_heap_close(h), 0);
        assert_int_equal(udb_heap_open(name, NULL, &h), 0);
        assert_int_equal(udb_heap_read(h, at, got, n), 0);
        assert_int_equal(udb_heap_check(h, NULL, NULL, NULL), 0);
        assert_int_equal(udb_heap_close(h), 0);
        assert_memory_equal(got, commit ? model : start, n);
    }
    free(start);
    free(model);
    free(got);
}

/* ---- a cut-off sparse tail ------------------------------------------------------------------------- */
/* An index followed by a 16 MiB hole with one block of garbage in it, as a
   hostile file (or a crash of a tool that extended it) leaves it: made in
   place, the hole kept. */
#define TAIL ((uint64_t)16 << 20)
#define JUNK_AT ((uint64_t)8 << 20)
static void sparse_put(const char *path, const uint8_t *head, size_t hn, const uint8_t *junk)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_true(pwrite(fd, head, hn, 0) == (ssize_t)hn);
    assert_true(pwrite(fd, junk, 4096, (off_t)(hn + JUNK_AT)) == 4096);
    assert_int_equal(ftruncate(fd, (off_t)(hn + TAIL)), 0);
    assert_int_equal(close(fd), 0);
}

static int sparse_same(const char *path, const uint8_t *head, size_t hn, const uint8_t *junk)
{
    size_t n;
    uint8_t *b = read_file(path, &n);
    int same = b && n == hn + TAIL && !memcmp(b, head, hn) && !memcmp(b + hn + JUNK_AT, junk, 4096);
    for (size_t i = hn; same && i < n; i++)
        same = b[i] == 0 || (i >= hn + JUNK_AT && i < hn + JUNK_AT + 4096);
    free(b);
    return same;
}

/* In-place repair cuts the tail off. The hole is journaled as zero
   records, not page images: little is written (the journal held the whole
   16 MiB before). At every crash point of the repair the file comes back
   whole after recovery (the garbage block and the hole included) or is
   the repaired file. */
static void test_sparse_cut(void **state)
{
    (void)state;
    const char *name = path_in(dir, "jsparse");
    char path[600], jpath[620];
    snprintf(path, sizeof path, "%s.ndx", name);
    snprintf(jpath, sizeof jpath, "%s-journal", path);
    ndx_base(name, 300);
    size_t hn, fn;
    uint8_t *head = read_file(path, &hn), junk[4096];
    memset(junk, 0xa5, sizeof junk);
    sparse_put(path, head, hn, junk);
    unlink(jpath);
    fault_os f;
    udb_options o;
    fault_opts(&f, &o);
    assert_int_equal(udb_repair(path, NULL, &o, NULL, NULL, NULL), 0);
    long total = f.calls;
    if (f.written > (1 << 20))
        fail_msg("in-place repair of a file with a 16 MiB hole wrote %llu bytes (its journal)",
                 (unsigned long long)f.written);
    uint8_t *fresh = read_file(path, &fn);
    assert_true(fn < hn + 4096);
    long bad = 0, first_bad = 0;
    long step = getenv("UDB_TEST_QUICK") ? 1 + total / 40 : 1; /* every crash point, or 40 */
    for (long k = 1; k <= total; k += step) {
        sparse_put(path, head, hn, junk);
        unlink(jpath);
        fault_os_init(&f, FAULT_CRASH, k);
        assert_int_not_equal(udb_repair(path, NULL, &o, NULL, NULL, NULL), 0);
        int found = 0;
        char msg[400];
        int rc = udb_recover(path, NULL, &found, msg, sizeof msg);
        size_t n;
        uint8_t *now = read_file(path, &n);
        int is_new = now && n == fn && !memcmp(now, fresh, fn);
        free(now);
        if (rc || (!is_new && !sparse_same(path, head, hn, junk))) {
            fprintf(stderr, "crash at changing call %ld of %ld: %s %s\n", k, total, udb_errname(rc), msg);
            if (!bad++)
                first_bad = k;
        }
    }
    if (bad)
        fail_msg("%ld of %ld crash points left neither the old nor the repaired file (first: %ld)", bad,
                 total, first_bad);
    free(head);
    free(fresh);
}

/* ---- the commit record ------------------------------------------------------------------------ */
/* One put of a value of len bytes c in a transaction of its own. */
static int put_in(udb_store *s, int32_t id, size_t len, int c)
{
    char nm[12], val[5000];
    key_of(id, nm);
    memset(val, c, len);
    udb_key k[2] = {{&id, 4}, {nm, strlen(nm)}};
    return udb_store_put(s, k, val, len);
}

/* The same through a handle of its own, opened with o. */
static int put_one(const char *name, const udb_options *o, int32_t id)
{
    udb_store *s;
    int rc = udb_store_open(name, o, &s);
    if (!rc)
        rc = put_in(s, id, 300, 'c');
    int rc2 = udb_store_close(s);
    return rc ? rc : rc2;
}

static int has_id(const char *name, int32_t id)
{
    udb_store *s;
    udb_val v = {0};
    assert_int_equal(udb_store_open(name, NULL, &s), 0);
    int rc = udb_store_get(s, 1, &id, 4, &v);
    assert_true(rc == 0 || rc == UDB_NOTFOUND);
    assert_int_equal(udb_store_check(s, NULL, NULL, NULL), 0);
    udb_val_free(&v);
    assert_int_equal(udb_store_close(s), 0);
    return rc == 0;
}

/* A small commit (sync FULL) syncs the journal, then the two files, and
   writes the clean header without a sync: its commit record lists the
   crc32 of every page it writes. A crash that loses the clean header
   (the last change of the commit) finds the files as the commit left
   them, and recovery keeps the commit instead of rolling it back. Before,
   the clean header was synced too: four syncs. */
static void test_commit_record(void **state)
{
    (void)state;
    const char *name = path_in(dir, "cr");
    store_base(name);
    fault_os f;
    udb_options o;
    fault_opts(&f, &o);
    udb_store *s;
    assert_int_equal(udb_store_open(name, &o, &s), 0);
    assert_int_equal(put_in(s, 5000, 300, 'c'), 0); /* the handle syncs the journal's directory once */
    f.calls = f.syncs = 0;
    assert_int_equal(put_in(s, 5001, 300, 'c'), 0);
    assert_int_equal(f.syncs, 3);
    assert_int_equal(udb_store_close(s), 0);
    fault_os_init(&f, FAULT_NONE, 0);
    f.entropy = 1; /* salts of their own: a fresh fault_os repeats the first handle's */
    assert_int_equal(put_one(name, &o, 5004), 0);
    long total = f.calls;
    fault_os_init(&f, FAULT_CRASH, total); /* the clean header never lands */
    f.entropy = 2;
    assert_int_not_equal(put_one(name, &o, 5002), 0);
    assert_int_equal(hot_of(path_in(dir, "cr.ndx")), 1);
    int found = 0;
    char msg[400];
    assert_int_equal(udb_recover(path_in(dir, "cr.ndx"), NULL, &found, msg, sizeof msg), 0);
    assert_int_equal(found, 3); /* kept */
    assert_int_equal(hot_of(path_in(dir, "cr.ndx")), 0);
    assert_true(has_id(name, 5001));
    assert_true(has_id(name, 5002)); /* kept: the files held all of it */
    /* one change earlier (the second file's sync) the files hold it too */
    fault_os_init(&f, FAULT_CRASH, total - 1);
    f.entropy = 3;
    assert_int_not_equal(put_one(name, &o, 5003), 0);
    assert_true(has_id(name, 5003));
}

/* A journal's header as it was while the transaction whose clean header
   b holds (lazily, not synced) was committing: hot, the counter before. */
static void hot_again(uint8_t *b)
{
    uint64_t counter = 0;
    for (int i = 7; i >= 0; i--)
        counter = counter << 8 | b[16 + i];
    le(b + 8, 1, 4);
    le(b + 16, counter - 1, 8);
    le(b + 480, 512, 8);
    le(b + 508, crc32(0, b, 508), 4);
}

/* The clean header of a commit that was not synced may reach the disk
   after the next transaction's records. Those go past the commit's own
   (the clean header says where), so that a crash in between finds the
   commit whole, with its commit record: the next transaction journals 1.6
   MB (a full buffer of records leaves before its header),
   then the journal is given the committed transaction's hot header back,
   as a crash could leave it, and recovery must find that transaction
   whole. With the records written from offset 512 again, they overwrote
   the commit's: recovery found none of its records and cut the heap back
   (rollback mode NORMAL did so already: a crash could roll back part of
   the last commit). */
static void test_lazy_clean_keeps_records(void **state)
{
    (void)state;
    const char *name = path_in(dir, "lz");
    char jpath[700];
    snprintf(jpath, sizeof jpath, "%s.ndx-journal", name);
    store_base(name);
    udb_store *s;
    assert_int_equal(udb_store_open(name, NULL, &s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    for (int32_t id = 7000; id < 7400; id++) /* 1.6 MB of records */
        assert_int_equal(put_in(s, id, 4000, 'o'), 0);
    assert_int_equal(udb_store_commit(s), 0);
    assert_int_equal(put_in(s, 6000, 300, 'c'), 0); /* a small commit: its clean header not synced */
    assert_int_equal(udb_store_close(s), 0);
    size_t jn = 0;
    uint8_t *j1 = read_file(jpath, &jn);
    assert_non_null(j1);
    assert_int_equal(udb_store_open(name, NULL, &s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    char val[4000];
    memset(val, 'n', sizeof val);
    for (int32_t id = 7000; id < 7400; id++) /* every page of them changes: records leave the buffer */
        assert_int_equal(udb_store_update(s, 1, &id, 4, val, sizeof val), 0);
    size_t jn2 = 0;
    uint8_t *j2 = read_file(jpath, &jn2);
    assert_non_null(j2);
    assert_true(jn2 > jn + ((size_t)512 << 10)); /* a buffer of the transaction's records is in the file */
    size_t end = 0; /* the committed transaction's records end where its clean header says */
    for (int i = 7; i >= 0; i--)
        end = end << 8 | j1[480 + i];
    assert_true(end > 512 && end <= jn);
    assert_memory_equal(j1 + 512, j2 + 512, end - 512); /* and they are all there */
    hot_again(j2); /* the committed transaction's header, hot: a crash before its clean one landed */
    assert_int_equal(udb_store_rollback(s), 0);
    assert_int_equal(udb_store_close(s), 0);
    assert_int_equal(write_file(jpath, j2, jn2), 0);
    int found = 0;
    char msg[400];
    assert_int_equal(udb_recover(path_in(dir, "lz.ndx"), NULL, &found, msg, sizeof msg), 0);
    assert_int_equal(found, 3);
    assert_true(has_id(name, 6000));
    free(j1);
    free(j2);
}

static uint64_t ld_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

/* A commit that waited too long for a reader (UDB_LOCKED) had already
   synced its journal with a commit record; the transaction stays open and
   may grow past what a commit record lists. Its journal then ends with a
   void commit record, one that never matches: the first attempt's record,
   were it the last (nothing journaled after it), would have recovery check
   only the pages it lists and keep a commit torn in the others. */
static void test_commit_retried(void **state)
{
    (void)state;
    const char *name = path_in(dir, "rt");
    char jpath[700];
    snprintf(jpath, sizeof jpath, "%s.ndx-journal", name);
    store_base(name);
    udb_options o;
    udb_options_init(&o);
    o.lock_timeout_ms = 20;
    udb_store *w, *r;
    assert_int_equal(udb_store_open(name, &o, &w), 0);
    assert_int_equal(udb_store_open(name, &o, &r), 0);
    assert_int_equal(udb_store_begin(w), 0);
    assert_int_equal(put_in(w, 8000, 300, 'a'), 0);
    assert_int_equal(udb_store_begin_read(r), 0);
    assert_int_equal(udb_store_commit(w), UDB_LOCKED); /* journal synced, commit record and all */
    assert_int_equal(udb_store_rollback(r), 0);
    for (int32_t id = 8100; id < 8400; id++) /* 1.2 MB more: too many pages to list */
        assert_int_equal(put_in(w, id, 4000, 'b'), 0);
    assert_int_equal(udb_store_commit(w), 0);
    size_t n = 0;
    uint8_t *j = read_file(jpath, &n);
    assert_non_null(j);
    uint32_t ps = (uint32_t)ld_le(j + 12, 4);
    uint64_t salt = ld_le(j + 24, 8), at = j[7] == 2 ? ld_le(j + 472, 8) : 512, last = 0;
    for (; at + 32 + ps <= n && ld_le(j + at + 16, 8) == salt; at += 32 + ps)
        last = at;
    assert_true(last > 0);
    assert_memory_equal(j + last, "1cmt", 4);
    assert_int_equal(ld_le(j + last + 40, 8), INT64_MAX); /* void: no file has that size */
    free(j);
    assert_int_equal(udb_store_close(r), 0);
    assert_int_equal(udb_store_close(w), 0);
    assert_true(has_id(name, 8399));
}

int main(void)
{
    static const int kinds[] = {K_NDX, K_HEAP, K_STORE, K_STORE_HEAP};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndx_hot),
        cmocka_unit_test(test_foreign_journal),
        cmocka_unit_test(test_torn_header),
        cmocka_unit_test(test_store_heap_alone),
        cmocka_unit_test(test_store_raw_heap_hot),
        cmocka_unit_test(test_rollbacks_after_spills),
        cmocka_unit_test(test_crash_after_spilled_rollback),
        cmocka_unit_test(test_check_report_on_refusal),
        cmocka_unit_test_prestate(test_hostile, (void *)&kinds[K_NDX]),
        cmocka_unit_test_prestate(test_hostile, (void *)&kinds[K_HEAP]),
        cmocka_unit_test_prestate(test_hostile, (void *)&kinds[K_STORE]),
        cmocka_unit_test_prestate(test_hostile, (void *)&kinds[K_STORE_HEAP]),
        cmocka_unit_test(test_journal_changed_during_playback),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_spill_keeps_pages),
        cmocka_unit_test(test_sparse_cut),
        cmocka_unit_test(test_commit_record),
        cmocka_unit_test(test_lazy_clean_keeps_records),
        cmocka_unit_test(test_commit_retried),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
