/*
 * test_crash.c — fault injection through the os table: for a scripted
 * multi-record transaction on each file kind (MultiIndex, heap, record
 * store) in both layouts — also with a tiny dirty limit so that pages
 * spill to the files before commit, or with new pages written behind the
 * growing end of a file — every write, fsync and truncate call
 * in turn fails with EIO or ENOSPC, or the process "crashes" there (that
 * call and all later ones never reach the disk; a torn write leaves only a
 * prefix). Reopening must give byte for byte the old files or the new ones
 * (the new ones whenever commit said it succeeded), and a clean check. A
 * handle whose rollback failed rolls the hot journal back before it writes
 * again. The same for laying an index file's leaves out in key order
 * (udb_ndx_order). A reordering compaction that fails inside an explicit
 * transaction leaves it refusing reads until the rollback, which restores
 * a state that a second compaction then rewrites.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "faultos.h"
#include "testutil.h"

static const char *dir;
typedef int (*scenario_fn)(const char *name, const udb_options *o);

/* ---- scenarios: one transaction each; return the commit's result ------------------------ */
static void key_of(int i, char *k)
{
    snprintf(k, 12, "k%05d", (i * 7919) % 100000);
}

static int ndx_txn(const char *name, const udb_options *o)
{
    udb_ndx *d;
    char path[600], k[12];
    snprintf(path, sizeof path, "%s.ndx", name);
    int rc = udb_ndx_open(path, o, &d);
    if (!rc)
        rc = udb_ndx_begin(d);
    for (int i = 0; i < 80 && !rc; i++) {
        key_of(1000 + i, k);
        int32_t v = i * 37;
        rc = udb_ndx_append(d, 1, k, strlen(k), 5000 + i);
        if (!rc)
            rc = udb_ndx_append(d, 2, &v, 4, 9000 + i);
    }
    for (int i = 0; i < 60 && !rc; i += 2) {
        uint64_t n;
        key_of(i, k);
        rc = udb_ndx_delete(d, 1, k, strlen(k), &n);
    }
    udb_cursor *c = NULL;
    if (!rc && !(rc = udb_cursor_open(d, 2, &c))) {
        udb_item it;
        rc = udb_cursor_first(c, &it);
        for (int i = 0; i < 10 && !rc; i++)
            rc = udb_cursor_delete(c, &it);
        udb_cursor_close(c);
    }
    if (!rc)
        rc = udb_ndx_commit(d);
    udb_ndx_close(d);
    return rc;
}

/* The leaves of each index in key order (udb_ndx_order; the base file's
   leaves lie in arrival order, its keys came in a scrambled order), one
   index after the other in one transaction: past a small dirty limit the
   first call's pages spill to the file before the second begins. */
static int ndx_order_txn(const char *name, const udb_options *o)
{
    udb_ndx *d;
    char path[600];
    snprintf(path, sizeof path, "%s.ndx", name);
    int rc = udb_ndx_open(path, o, &d);
    if (!rc && !(rc = udb_ndx_begin(d)) && !(rc = udb_ndx_order(d, 1)) && !(rc = udb_ndx_order(d, 2)))
        rc = udb_ndx_commit(d);
    udb_ndx_close(d);
    return rc;
}

static int ndx_base(const char *name, int layout)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    udb_ndx *d;
    char path[600], k[12];
    snprintf(path, sizeof path, "%s.ndx", name);
    udb_index_def s = {UDB_KEY_STRING, 12, UDB_ALLOW_DELETE, 5, 3, 9};
    udb_index_def l = {UDB_KEY_LONG_INT, 4, 0, 4, 2, 7};
    int rc = udb_ndx_create(path, &o, 2, &d);
    if (!rc && !(rc = udb_ndx_define(d, 1, &s)) && !(rc = udb_ndx_define(d, 2, &l)) &&
        !(rc = udb_ndx_begin(d))) {
        for (int i = 0; i < 200 && !rc; i++) {
            int32_t v = i * 11;
            key_of(i, k);
            if (!(rc = udb_ndx_append(d, 1, k, strlen(k), i)))
                rc = udb_ndx_append(d, 2, &v, 4, i);
        }
        if (!rc)
            rc = udb_ndx_commit(d);
    }
    udb_ndx_close(d);
    return rc;
}

static int heap_txn(const char *name, const udb_options *o)
{
    udb_heap *h;
    char path[600];
    snprintf(path, sizeof path, "%s.dat", name);
    int rc = udb_heap_open(path, o, &h);
    if (!rc)
        rc = udb_heap_begin(h);
    int64_t pos[60];
    for (int i = 0; i < 60 && !rc; i++) {
        uint8_t buf[700];
        memset(buf, 'a' + i % 26, sizeof buf);
        if (!(rc = udb_heap_alloc(h, 100 + (uint64_t)i * 10, &pos[i])))
            rc = udb_heap_write(h, pos[i], buf, 100 + (size_t)i * 10);
    }
    for (int i = 0; i < 60 && !rc; i += 3)
        rc = udb_heap_free(h, pos[i], 100 + (uint64_t)i * 10);
    if (!rc) /* the last block: gives the end of the file back */
        rc = udb_heap_free(h, pos[59], 690);
    if (!rc)
        rc = udb_heap_commit(h);
    udb_heap_close(h);
    return rc;
}

static int heap_base(const char *name, int layout)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    udb_heap *h;
    char path[600];
    snprintf(path, sizeof path, "%s.dat", name);
    int rc = udb_heap_create(path, &o, 6, &h);
    int64_t pos[40];
    for (int i = 0; i < 40 && !rc; i++)
        if (!(rc = udb_heap_alloc(h, 50 + (uint64_t)i, &pos[i])))
            rc = udb_heap_write(h, pos[i], "old data", 8);
    for (int i = 0; i < 40 && !rc; i += 4)
        rc = udb_heap_free(h, pos[i], 50 + (uint64_t)i);
    udb_heap_close(h);
    return rc;
}

/* The store scenario's transaction on an open handle. */
static int store_changes(udb_store *s)
{
    int rc = udb_store_begin(s);
    char val[3000];
    for (int i = 0; i < 60 && !rc; i++) {
        int32_t id = 1000 + i;
        char nm[12];
        key_of(i, nm);
        udb_key k[2] = {{&id, 4}, {nm, strlen(nm)}};
        memset(val, 'A' + i % 26, sizeof val);
        rc = udb_store_put(s, k, val, 50 + (size_t)i * 40);
    }
    for (int i = 0; i < 40 && !rc; i++) {
        int32_t id = i * 3;
        memset(val, 'u', sizeof val);
        rc = udb_store_update(s, 1, &id, 4, val, (size_t)(i % 2 ? 20 : 900));
    }
    for (int i = 0; i < 30 && !rc; i++) {
        int32_t id = 100 + i * 2;
        uint64_t n;
        rc = udb_store_delete(s, 1, &id, 4, &n);
    }
    if (!rc)
        rc = udb_store_commit(s);
    if (rc)
        udb_store_rollback(s);
    return rc;
}

static int store_txn(const char *name, const udb_options *o)
{
    udb_store *s;
    int rc = udb_store_open(name, o, &s);
    if (!rc)
        rc = store_changes(s);
    udb_store_close(s);
    return rc;
}

/* The reordering compaction (records in key order of index 2, both
   indexes rebuilt). When it fails without a crash, the handle must still
   read every record as before: the rollback and the reload after it undo
   the rebuilt index state too. */
static int store_order_txn(const char *name, const udb_options *o)
{
    udb_store *s;
    udb_val v = {0};
    int rc = udb_store_open(name, o, &s);
    if (!rc)
        rc = udb_store_compact_order(s, 2);
    for (int32_t id = 0; rc && !((const fault_os *)o->os)->crashed && id < 300; id++) {
        if (udb_store_get(s, 1, &id, 4, &v) || v.len != 10 + (size_t)(id % 190) ||
            ((const uint8_t *)v.data)[0] != 'a' + id % 26)
            fail_msg("after a failed reordering compaction (%s) record %d does not read: %s",
                     udb_errname(rc), id, udb_store_errmsg(s));
    }
    udb_val_free(&v);
    udb_store_close(s);
    return rc;
}

/* The same in an explicit transaction: a failure poisons it (reads and
   writes refused until the rollback); after the rollback the handle reads
   every record and a second compaction runs on what the rollback restored.
   (A compaction after one that failed with EIO used to extend a file over
   pages the failed one had cut off: SEGV, found by fuzz_writes.) */
static int store_order_explicit_txn(const char *name, const udb_options *o)
{
    udb_store *s;
    udb_val v = {0};
    const fault_os *f = (const fault_os *)o->os;
    int rc = udb_store_open(name, o, &s), in_compact = 0;
    if (!rc && !(rc = udb_store_begin(s)) && !(in_compact = rc = udb_store_compact_order(s, 2)))
        rc = udb_store_commit(s);
    if (in_compact && !f->crashed) {
        int32_t id = 5;
        if (udb_store_get(s, 1, &id, 4, &v) != UDB_ABORTED)
            fail_msg("a read after a failed compaction (%s) in a transaction was not refused",
                     udb_errname(rc));
        if (udb_store_rollback(s))
            fail_msg("rollback after a failed compaction: %s", udb_store_errmsg(s));
    } else if (rc && s) {
        udb_store_rollback(s); /* a failed commit may have left it open */
    }
    for (int32_t id = 0; rc && !f->crashed && id < 300; id++)
        if (udb_store_get(s, 1, &id, 4, &v) || v.len != 10 + (size_t)(id % 190) ||
            ((const uint8_t *)v.data)[0] != 'a' + id % 26)
            fail_msg("after a failed reordering compaction (%s) and its rollback record %d does not "
                     "read: %s", udb_errname(rc), id, udb_store_errmsg(s));
    if (rc && !f->crashed && s)
        rc = udb_store_compact_order(s, 2); /* again, on what the rollback restored */
    udb_val_free(&v);
    udb_store_close(s);
    return rc;
}

/* A load big enough for commit-time placement (1.2 MB over a store of
   30 KB), in random key order: once committed, index 1 must show the new
   records back to back in key order. */
static int store_place_txn(const char *name, const udb_options *o)
{
    udb_store *s;
    char val[3000];
    int rc = udb_store_open(name, o, &s);
    if (!rc)
        rc = udb_store_begin(s);
    for (int i = 0; i < 400 && !rc; i++) {
        int32_t id = 10000 + (i * 7919) % 400;
        char nm[12];
        key_of(5000 + i, nm);
        udb_key k[2] = {{&id, 4}, {nm, strlen(nm)}};
        uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ULL; /* incompressible */
        for (size_t j = 0; j < sizeof val; j++, x = x * 6364136223846793005ULL + 1)
            val[j] = (char)(x >> 56);
        rc = udb_store_put(s, k, val, 2900 + (size_t)(i % 7));
    }
    if (!rc)
        rc = udb_store_commit(s);
    udb_store_cursor *c;
    udb_item it;
    int64_t dp = -1;
    if (!rc && !udb_store_cursor_open(s, 1, &c)) { /* ids 10000.. in key order, in file order */
        int32_t from = 10000;
        for (int r = udb_store_cursor_seek(c, &from, 4, &it, NULL); r == 0;
             r = udb_store_cursor_next(c, &it, NULL)) {
            if (it.datapos <= dp)
                fail_msg("placement: record at %lld after %lld", (long long)it.datapos, (long long)dp);
            dp = it.datapos;
        }
        udb_store_cursor_close(c);
    }
    if (rc)
        udb_store_rollback(s);
    udb_store_close(s);
    return rc;
}

static int store_base(const char *name, int layout)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    udb_store *s;
    udb_index_def defs[2] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 6, 2, 8},
                             {UDB_KEY_STRING, 12, 0, 5, 2, 8}};
    udb_store_def def = {2, defs, layout == UDB_LAYOUT_CLASSIC, 8};
    int rc = udb_store_create(name, &o, &def, &s);
    if (!rc)
        rc = udb_store_begin(s);
    for (int i = 0; i < 300 && !rc; i++) {
        int32_t id = i;
        char nm[12], val[200];
        key_of(i, nm);
        memset(val, 'a' + i % 26, sizeof val);
        udb_key k[2] = {{&id, 4}, {nm, strlen(nm)}};
        rc = udb_store_put(s, k, val, 10 + (size_t)(i % 190));
    }
    if (!rc)
        rc = udb_store_commit(s);
    udb_store_close(s);
    return rc;
}

/* ---- file images ------------------------------------------------------------------------------ */
typedef struct image {
    uint8_t *b[2];
    size_t n[2];
} image;

static const char *exts[2] = {".ndx", ".dat"};

static void snap(const char *name, image *im) /* name < 400 bytes */
{
    char p[640];
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s%s", name, exts[i]);
        im->b[i] = read_file(p, &im->n[i]);
    }
}

static void restore(const char *name, const image *im)
{
    char p[640];
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s%s", name, exts[i]);
        unlink(p);
        if (im->b[i])
            write_file(p, im->b[i], im->n[i]);
        snprintf(p, sizeof p, "%s%s-journal", name, exts[i]);
        unlink(p);
    }
}

static int same(const image *a, const image *b)
{
    for (int i = 0; i < 2; i++)
        if ((a->b[i] == NULL) != (b->b[i] == NULL) || a->n[i] != b->n[i] ||
            (a->b[i] && memcmp(a->b[i], b->b[i], a->n[i])))
            return 0;
    return 1;
}

static void image_free(image *im)
{
    free(im->b[0]);
    free(im->b[1]);
}

/* Open writable with the real os (rolls a hot journal back), check clean. */
static void recover_and_check(const char *name, int kind)
{
    char p[640];
    int rc;
    if (kind == 0) {
        udb_ndx *d;
        snprintf(p, sizeof p, "%s.ndx", name);
        rc = udb_ndx_open(p, NULL, &d);
        if (rc)
            fail_msg("reopen %s: %s", p, udb_ndx_errmsg(d));
        if (udb_ndx_check(d, NULL, NULL, NULL))
            fail_msg("check after recovery: %s", udb_ndx_errmsg(d));
        udb_ndx_close(d);
    } else if (kind == 1) {
        udb_heap *h;
        udb_heap_info inf;
        snprintf(p, sizeof p, "%s.dat", name);
        rc = udb_heap_open(p, NULL, &h);
        if (rc || udb_heap_info_get(h, &inf))
            fail_msg("reopen %s: %s", p, udb_heap_errmsg(h));
        udb_heap_close(h);
    } else {
        udb_store *s;
        rc = udb_store_open(name, NULL, &s);
        if (rc)
            fail_msg("reopen %s: %s", name, udb_store_errmsg(s));
        if (udb_store_check(s, NULL, NULL, NULL))
            fail_msg("check after recovery: %s", udb_store_errmsg(s));
        udb_store_close(s);
    }
}

/* ---- the driver ---------------------------------------------------------------------------------- */
static void run_faults(const char *label, int kind, int layout, size_t dirty_limit)
{
    static const scenario_fn txns[] = {ndx_txn,         heap_txn,        store_txn,
                                       store_order_txn, store_place_txn, store_order_explicit_txn,
                                       ndx_order_txn};
    static int (*const bases[])(const char *, int) = {ndx_base,   heap_base,  store_base, store_base,
                                                      store_base, store_base, ndx_base};
    static const int files[] = {0, 1, 2, 2, 2, 2, 0}; /* what recover_and_check opens */
    char name[400];
    snprintf(name, sizeof name, "%s/%s", dir, label);
    assert_int_equal(bases[kind](name, layout), 0);
    image old, fresh, got;
    snap(name, &old);
    /* the clean run: the new state and the number of changing calls */
    fault_os f;
    fault_os_init(&f, FAULT_NONE, 0);
    udb_options o;
    udb_options_init(&o);
    o.os = &f.os;
    o.dirty_limit = dirty_limit;
    assert_int_equal(txns[kind](name, &o), 0);
    long total = f.calls;
    snap(name, &fresh);
    assert_false(same(&old, &fresh));
    static const int modes[] = {FAULT_EIO, FAULT_ENOSPC, FAULT_CRASH, FAULT_TORN};
    static const char *mname[] = {"", "EIO", "ENOSPC", "crash", "torn write"};
    long runs = 0, as_new = 0;
    for (long k = 1; k <= total; k++)
        for (int m = 0; m < 4; m++) {
            restore(name, &old);
            fault_os_init(&f, modes[m], k);
            int rc = txns[kind](name, &o);
            recover_and_check(name, files[kind]);
            snap(name, &got);
            int is_new = same(&got, &fresh);
            if (!is_new && !same(&got, &old)) {
                for (int i = 0; i < 2; i++)
                    if (got.b[i] && old.b[i]) {
                        size_t d = 0;
                        while (d < got.n[i] && d < old.n[i] && got.b[i][d] == old.b[i][d])
                            d++;
                        fprintf(stderr, "file %s: %zu vs old %zu / new %zu bytes, first difference at %zu\n",
                                exts[i], got.n[i], old.n[i], fresh.n[i], d);
                    }
                fail_msg("%s: %s at call %ld of %ld: the files are neither the old nor the new ones",
                         label, mname[modes[m]], k, total);
            }
            if (rc == 0 && !is_new)
                fail_msg("%s: %s at call %ld: commit succeeded but the change is gone", label,
                         mname[modes[m]], k);
            image_free(&got);
            runs++;
            as_new += is_new;
        }
    fprintf(stderr, "%s: %ld changing calls, %ld fault runs, %ld ended in the new state\n", label,
            total, runs, as_new);
    image_free(&old);
    image_free(&fresh);
}

static void test_ndx_faults(void **state)
{
    (void)state;
    run_faults("ndx_classic", 0, UDB_LAYOUT_CLASSIC, 0);
    run_faults("ndx_wide", 0, UDB_LAYOUT_WIDE, 0);
    run_faults("ndx_wide_spill", 0, UDB_LAYOUT_WIDE, 24576);
    run_faults("ndx_order_spill", 6, UDB_LAYOUT_CLASSIC, 4096);
}

static void test_heap_faults(void **state)
{
    (void)state;
    run_faults("heap_classic", 1, UDB_LAYOUT_CLASSIC, 0);
    run_faults("heap_wide", 1, UDB_LAYOUT_WIDE, 0);
    run_faults("heap_spill", 1, UDB_LAYOUT_WIDE, 4096);
    /* under the dirty limit, but the new pages far below the end are
       written behind (an eighth of the limit at a time) */
    run_faults("heap_writebehind", 1, UDB_LAYOUT_CLASSIC, 49152);
}

static void test_store_faults(void **state)
{
    (void)state;
    run_faults("store_classic", 2, UDB_LAYOUT_CLASSIC, 0);
    run_faults("store_wide", 2, UDB_LAYOUT_WIDE, 0);
    run_faults("store_spill", 2, UDB_LAYOUT_CLASSIC, 24576);
    run_faults("store_writebehind", 2, UDB_LAYOUT_WIDE, 98304);
    run_faults("store_order", 3, UDB_LAYOUT_WIDE, 0);
    run_faults("store_order_spill", 3, UDB_LAYOUT_CLASSIC, 24576);
    run_faults("store_order_txn", 5, UDB_LAYOUT_WIDE, 0);
    run_faults("store_order_txn_spill", 5, UDB_LAYOUT_CLASSIC, 24576);
    /* commit-time placement: the stretch written straight to the file, or
       after spills that kept its pages (dirty limit 700 KiB) */
    run_faults("store_place", 4, UDB_LAYOUT_WIDE, 0);
    run_faults("store_place_spill", 4, UDB_LAYOUT_CLASSIC, 716800);
}

/* An explicit rollback after pages spilled restores the files exactly. */
static void test_rollback_after_spill(void **state)
{
    (void)state;
    char name[400];
    snprintf(name, sizeof name, "%s/rollback", dir);
    assert_int_equal(store_base(name, UDB_LAYOUT_WIDE), 0);
    image old, got;
    snap(name, &old);
    udb_options o;
    udb_options_init(&o);
    o.dirty_limit = 4096;
    udb_store *s;
    assert_int_equal(udb_store_open(name, &o, &s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    char val[5000];
    memset(val, 'z', sizeof val);
    for (int i = 0; i < 200; i++) {
        int32_t id = 5000 + i;
        udb_key k[2] = {{&id, 4}, {"x", 1}};
        assert_int_equal(udb_store_put(s, k, val, sizeof val), 0);
    }
    int32_t id = 7;
    assert_int_equal(udb_store_delete(s, 1, &id, 4, NULL), 0);
    assert_int_equal(udb_store_rollback(s), 0);
    udb_val v = {0};
    assert_int_equal(udb_store_get(s, 1, &id, 4, &v), 0); /* back again */
    udb_val_free(&v);
    udb_store_close(s);
    snap(name, &got);
    assert_true(same(&old, &got));
    image_free(&old);
    image_free(&got);
}

/* A handle with UDB_EXCLUSIVE whose rollback could not restore the files
   (the disk kept failing, then came back) rolls the hot journal back
   before its next transaction instead of writing over it (found by
   fuzz_writes). */
static void test_exclusive_after_failed_rollback(void **state)
{
    (void)state;
    char name[400];
    snprintf(name, sizeof name, "%s/xrollback", dir);
    assert_int_equal(store_base(name, UDB_LAYOUT_WIDE), 0);
    image old;
    snap(name, &old);
    fault_os f;
    fault_os_init(&f, FAULT_NONE, 0);
    udb_options o;
    udb_options_init(&o);
    o.os = &f.os;
    o.flags = UDB_EXCLUSIVE;
    assert_int_equal(store_txn(name, &o), 0);
    long total = f.calls, failed = 0;
    for (long k = 1; k <= total; k++) {
        restore(name, &old);
        fault_os_init(&f, FAULT_CRASH, k);
        udb_store *s;
        assert_int_equal(udb_store_open(name, &o, &s), 0);
        failed += store_changes(s) != 0;
        f.crashed = 0; /* the disk is back */
        f.fail_at = 0;
        int32_t id = 99999;
        udb_key key[2] = {{&id, 4}, {"after", 5}};
        assert_int_equal(udb_store_put(s, key, "v", 1), 0);
        udb_store_close(s);
        recover_and_check(name, 2);
    }
    assert_true(failed > 0);
    image_free(&old);
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("crash"));
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
        cmocka_unit_test(test_rollback_after_spill),
        cmocka_unit_test(test_exclusive_after_failed_rollback),
        cmocka_unit_test(test_ndx_faults),
        cmocka_unit_test(test_heap_faults),
        cmocka_unit_test(test_store_faults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
