/*
 * test_backup.c — udb_store_backup, udb_ndx_backup, udb_heap_backup:
 *   - a backup taken inside a read transaction copies that snapshot (WAL
 *     mode: while another handle commits more), and a backup without one
 *     copies the newest committed state; each copy checks clean;
 *   - a quiet file's copy is the same bytes (store, index and heap files);
 *     a sparse file's copy is sparse;
 *   - refused inside a write transaction, onto an existing file (untouched)
 *     or a NULL path; a store whose DST.dat exists leaves no DST.ndx;
 *   - an I/O fault at every write and sync of the copy fails the backup
 *     and leaves no file behind;
 *   - WAL mode: a reader that opens while the last writer commits more and
 *     closes (its checkpoint grows the files) sees every commit: its check
 *     and its backup hold them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "faultos.h"
#include "testutil.h"

static const char *dir;

static void path(char *buf, size_t n, const char *name, const char *ext)
{
    snprintf(buf, n, "%s/%s%s", dir, name, ext);
}

static int exists(const char *name, const char *ext)
{
    char p[700];
    struct stat st;
    path(p, sizeof p, name, ext);
    return stat(p, &st) == 0;
}

static void remove_store(const char *name)
{
    static const char *ext[] = {".ndx", ".dat", ".ndx-journal", ".ndx-wal", ".ndx-shm"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        char p[700];
        path(p, sizeof p, name, ext[i]);
        unlink(p);
    }
}

static udb_store *make_store(const char *name, int journal, const udb_os *os)
{
    char p[700];
    udb_options o;
    udb_store *s;
    udb_index_def d = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 8, 0, 0};
    udb_store_def sd = {1, &d, 0, 0};
    udb_options_init(&o);
    o.journal = journal;
    o.os = os;
    remove_store(name);
    path(p, sizeof p, name, "");
    if (udb_store_create(p, &o, &sd, &s))
        fail_msg("create %s: %s", p, udb_store_errmsg(s));
    return s;
}

static void put_range(udb_store *s, int32_t from, int32_t to)
{
    char val[200];
    for (int32_t k = from; k <= to; k++) {
        udb_key key = {&k, 4};
        memset(val, 'a' + k % 26, sizeof val);
        assert_int_equal(udb_store_put(s, &key, val, sizeof val), 0);
    }
}

/* The copy NAME checks clean and holds exactly keys 1..n. */
static void assert_copy(const char *name, int32_t n)
{
    char p[700];
    udb_store *s;
    udb_store_cursor *c;
    udb_item it;
    udb_options o;
    udb_options_init(&o);
    o.flags = UDB_RDONLY;
    path(p, sizeof p, name, "");
    assert_int_equal(udb_store_open(p, &o, &s), 0);
    assert_int_equal(udb_store_check(s, NULL, NULL, NULL), 0);
    assert_int_equal(udb_store_cursor_open(s, 1, &c), 0);
    int32_t want = 1, k;
    for (int rc = udb_store_cursor_first(c, &it, NULL); !rc; rc = udb_store_cursor_next(c, &it, NULL)) {
        memcpy(&k, it.key, 4);
        assert_int_equal(k, want);
        want++;
    }
    assert_int_equal(want - 1, n);
    udb_store_cursor_close(c);
    assert_int_equal(udb_store_close(s), 0);
}

static void test_snapshot(void **state)
{
    (void)state;
    char p[700], q[700];
    udb_options o;
    udb_store *w = make_store("snap", UDB_JOURNAL_WAL, NULL), *r;
    put_range(w, 1, 10);
    udb_options_init(&o);
    o.flags = UDB_RDONLY;
    path(p, sizeof p, "snap", "");
    assert_int_equal(udb_store_open(p, &o, &r), 0);
    assert_int_equal(udb_store_begin_read(r), 0);
    put_range(w, 11, 20); /* committed after the reader's snapshot */
    remove_store("b1");
    path(q, sizeof q, "b1", "");
    assert_int_equal(udb_store_backup(r, q), 0);
    assert_int_equal(udb_store_commit(r), 0);
    assert_copy("b1", 10);
    remove_store("b2");
    path(q, sizeof q, "b2", "");
    assert_int_equal(udb_store_backup(r, q), 0);
    assert_copy("b2", 20);
    assert_int_equal(udb_store_close(r), 0);
    assert_int_equal(udb_store_close(w), 0);
}

static int same_file(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g, c = 0;
    while (same && c != EOF) {
        c = getc(f);
        same = c == getc(g);
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return same;
}

static void test_identical(void **state)
{
    (void)state;
    char p[700], q[700];
    udb_store *s = make_store("quiet", UDB_JOURNAL_ROLLBACK, NULL);
    put_range(s, 1, 300);
    remove_store("qcopy");
    path(q, sizeof q, "qcopy", "");
    assert_int_equal(udb_store_backup(s, q), 0);
    assert_int_equal(udb_store_close(s), 0);
    for (int i = 0; i < 2; i++) {
        path(p, sizeof p, "quiet", i ? ".dat" : ".ndx");
        path(q, sizeof q, "qcopy", i ? ".dat" : ".ndx");
        assert_true(same_file(p, q));
    }
    for (int heap = 0; heap < 2; heap++) { /* each file alone, through its own handle */
        udb_ndx *d = NULL;
        udb_heap *h = NULL;
        udb_options o;
        udb_options_init(&o);
        o.flags = UDB_RDONLY;
        path(p, sizeof p, "quiet", heap ? ".dat" : ".ndx");
        path(q, sizeof q, heap ? "heapcopy" : "ndxcopy", heap ? ".dat" : ".ndx");
        unlink(q);
        assert_int_equal(heap ? udb_heap_open(p, &o, &h) : udb_ndx_open(p, &o, &d), 0);
        assert_int_equal(heap ? udb_heap_backup(h, q) : udb_ndx_backup(d, q), 0);
        assert_int_equal(heap ? udb_heap_close(h) : udb_ndx_close(d), 0);
        assert_true(same_file(p, q));
    }
}

/* A sparse file's copy is sparse: a hostile file with a huge hole (a few
   KiB in an archive) was copied byte for byte, holes written out as zeros
   (disk space and time by its size). Data after the hole is copied. */
static void test_sparse(void **state)
{
    (void)state;
    char p[700], q[700];
    udb_ndx *d;
    udb_options o;
    udb_options_init(&o);
    path(p, sizeof p, "sparse", ".ndx");
    path(q, sizeof q, "sparsecopy", ".ndx");
    unlink(p);
    unlink(q);
    udb_index_def def = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 8, 0, 0};
    assert_int_equal(udb_ndx_create(p, &o, 1, &d), 0);
    assert_int_equal(udb_ndx_define(d, 1, &def), 0);
    for (int32_t k = 0; k < 100; k++)
        assert_int_equal(udb_ndx_append(d, 1, &k, 4, k), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fseeko(f, (off_t)1 << 30, SEEK_SET), 0);
    assert_int_equal(fwrite("data after the hole", 1, 19, f), 19);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(truncate(p, (off_t)2 << 30), 0);
    o.flags = UDB_RDONLY;
    assert_int_equal(udb_ndx_open(p, &o, &d), 0);
    assert_int_equal(udb_ndx_backup(d, q), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    struct stat a, b;
    assert_int_equal(stat(p, &a), 0);
    assert_int_equal(stat(q, &b), 0);
    assert_true(b.st_size == a.st_size);
    if ((uint64_t)b.st_blocks * 512 > (uint64_t)a.st_blocks * 512 + (1 << 20))
        fail_msg("the copy of a sparse file takes %lld bytes, the file %lld",
                 (long long)b.st_blocks * 512, (long long)a.st_blocks * 512);
    FILE *fa = fopen(p, "rb"), *fb = fopen(q, "rb"); /* the data, before and after the hole */
    assert_true(fa && fb);
    static uint8_t ba[1 << 16], bb[1 << 16];
    for (int part = 0; part < 2; part++) {
        assert_int_equal(fseeko(fa, part ? (off_t)1 << 30 : 0, SEEK_SET), 0);
        assert_int_equal(fseeko(fb, part ? (off_t)1 << 30 : 0, SEEK_SET), 0);
        assert_int_equal(fread(ba, 1, sizeof ba, fa), sizeof ba);
        assert_int_equal(fread(bb, 1, sizeof bb, fb), sizeof bb);
        assert_memory_equal(ba, bb, sizeof ba);
        if (part)
            assert_memory_equal(ba, "data after the hole", 19);
    }
    fclose(fa);
    fclose(fb);
    unlink(p);
    unlink(q);
}

static void test_refusals(void **state)
{
    (void)state;
    char q[700];
    udb_store *s = make_store("ref", UDB_JOURNAL_ROLLBACK, NULL);
    put_range(s, 1, 5);
    remove_store("rcopy");
    path(q, sizeof q, "rcopy", "");
    assert_int_equal(udb_store_begin(s), 0);
    put_range(s, 6, 7);
    assert_int_equal(udb_store_backup(s, q), UDB_INVAL); /* would copy what is not committed */
    assert_false(exists("rcopy", ".ndx"));
    assert_int_equal(udb_store_rollback(s), 0);
    assert_int_equal(udb_store_backup(s, NULL), UDB_INVAL);
    assert_int_equal(udb_store_backup(s, q), 0);
    assert_int_equal(udb_store_backup(s, q), UDB_EXISTS);
    assert_copy("rcopy", 5);
    /* DST.dat there, DST.ndx not: refused, and no DST.ndx left */
    remove_store("half");
    char p[700];
    path(p, sizeof p, "half", ".dat");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("keep", f);
    fclose(f);
    path(q, sizeof q, "half", "");
    assert_int_equal(udb_store_backup(s, q), UDB_EXISTS);
    assert_false(exists("half", ".ndx"));
    assert_true(exists("half", ".dat"));
    assert_int_equal(udb_store_close(s), 0);
}

static void test_faults(void **state)
{
    (void)state;
    char p[700], q[700];
    int done = 0, failed = 0;
    udb_store *s = make_store("flt", UDB_JOURNAL_ROLLBACK, NULL);
    put_range(s, 1, 400);
    assert_int_equal(udb_store_close(s), 0);
    path(p, sizeof p, "flt", "");
    path(q, sizeof q, "fcopy", "");
    for (long at = 1; at < 100 && !done; at++) {
        fault_os fo;
        udb_options o;
        fault_os_init(&fo, FAULT_EIO, at);
        udb_options_init(&o);
        o.flags = UDB_RDONLY;
        o.os = &fo.os;
        remove_store("fcopy");
        assert_int_equal(udb_store_open(p, &o, &s), 0);
        int rc = udb_store_backup(s, q);
        assert_int_equal(udb_store_close(s), 0);
        if (rc == 0) {
            done = 1;
            assert_copy("fcopy", 400);
        } else {
            failed++;
            assert_int_equal(rc, UDB_IO);
            assert_false(exists("fcopy", ".ndx"));
            assert_false(exists("fcopy", ".dat"));
        }
    }
    assert_true(done);
    assert_true(failed >= 4); /* a write and a sync of each file at least */
}

/* An udb_os that runs a hook once, when a handle opens a -shm file (the
   POSIX table ignores its ctx, so the rest of it serves as it is). */
typedef struct hook_os {
    udb_os os;
    void (*hook)(void);
    int fired;
} hook_os;

static int hook_open(void *ctx, const char *p, int flags, int *fd)
{
    hook_os *h = ctx;
    size_t n = strlen(p);
    if (!h->fired && n > 4 && !strcmp(p + n - 4, "-shm")) {
        h->fired = 1;
        h->hook();
    }
    return udb_os_posix()->open(NULL, p, flags, fd);
}

static udb_store *last_writer;

static void writer_goes(void)
{
    put_range(last_writer, 301, 900);
    assert_int_equal(udb_store_close(last_writer), 0);
}

static void test_open_beside_last_close(void **state)
{
    (void)state;
    char p[700], q[700];
    hook_os h = {*udb_os_posix(), writer_goes, 0};
    udb_options o;
    udb_store *r;
    h.os.ctx = &h;
    h.os.open = hook_open;
    last_writer = make_store("race", UDB_JOURNAL_WAL, NULL);
    put_range(last_writer, 1, 300);
    udb_options_init(&o);
    o.flags = UDB_RDONLY;
    o.os = &h.os;
    path(p, sizeof p, "race", "");
    assert_int_equal(udb_store_open(p, &o, &r), 0); /* the writer commits and closes meanwhile */
    assert_true(h.fired);
    assert_int_equal(udb_store_check(r, NULL, NULL, NULL), 0);
    remove_store("rcopy2");
    path(q, sizeof q, "rcopy2", "");
    assert_int_equal(udb_store_backup(r, q), 0);
    assert_int_equal(udb_store_close(r), 0);
    assert_copy("rcopy2", 900);
}

int main(void)
{
    dir = scratch_dir("backup");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_sparse),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_open_beside_last_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
