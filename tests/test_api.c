/*
 * test_api.c — contracts of the public API that are easy to get wrong:
 * a transaction poisoned by a failure can only be rolled back (and then the
 * handle works again); a failed bulk load inside an explicit transaction
 * poisons it; bad arguments are UDB_INVAL and do not poison; transaction
 * calls on a handle that failed to open are refused; a store cursor's
 * current record after a delete; a cursor's new data position; a cursor
 * change refused for its key ends its write (the next change commits);
 * check reports are safe to free; each code's name and sentence; a lookup
 * that finds nothing names the key and the index in the message; a file
 * larger than memory and swap opens writable; maxitems 0 is the default
 * node of 4 KiB, stored resolved.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "faultos.h"
#include "testutil.h"

static const char *dir;

static udb_ndx *new_ndx(const char *name, const udb_options *o)
{
    udb_ndx *d;
    if (udb_ndx_create(path_in(dir, name), o, 1, &d))
        fail_msg("create: %s", udb_ndx_errmsg(d));
    udb_index_def def = {UDB_KEY_LONG_INT, 4, 0, 8, 4, 16};
    assert_int_equal(udb_ndx_define(d, 1, &def), 0);
    return d;
}

/* Regression (memory safety; fuzz_writes): a cursor opened on an index
   defined in a transaction that was rolled back, the slot then defined
   anew with longer keys, copied keys of the new size into its buffer of
   the old one (heap overflow on every move, a delete read and wrote past
   two buffers). Such a cursor is stale now. */
static void test_cursor_redefined_index(void **state)
{
    (void)state;
    udb_ndx *d;
    if (udb_ndx_create(path_in(dir, "redef.ndx"), NULL, 2, &d))
        fail_msg("create: %s", udb_ndx_errmsg(d));
    udb_index_def small = {UDB_KEY_STRING, 4, UDB_ALLOW_DELETE, 8, 4, 16};
    udb_index_def big = {UDB_KEY_STRING, 60, UDB_ALLOW_DELETE, 8, 4, 16};
    assert_int_equal(udb_ndx_begin(d), 0);
    assert_int_equal(udb_ndx_define(d, 2, &small), 0);
    if (udb_ndx_append(d, 2, "ab", 2, 1))
        fail_msg("append: %s", udb_ndx_errmsg(d));
    udb_cursor *c;
    udb_item it;
    assert_int_equal(udb_cursor_open(d, 2, &c), 0);
    assert_int_equal(udb_cursor_first(c, &it), 0);
    assert_int_equal(udb_ndx_rollback(d), 0);
    assert_int_equal(udb_ndx_define(d, 2, &big), 0);
    char k[60];
    memset(k, 'z', sizeof k);
    assert_int_equal(udb_ndx_append(d, 2, k, sizeof k - 1, 7), 0); /* text: and a NUL */
    assert_int_equal(udb_cursor_first(c, &it), UDB_STALE);
    assert_non_null(strstr(udb_ndx_errmsg(d), "defined anew"));
    assert_int_equal(udb_cursor_next(c, &it), UDB_STALE);
    assert_int_equal(udb_cursor_current(c, &it), UDB_STALE);
    assert_int_equal(udb_cursor_delete(c, &it), UDB_STALE);
    assert_int_equal(udb_cursor_seek(c, k, sizeof k - 1, &it), UDB_STALE);
    /* changes through it are refused before anything changes (fuzz_writes:
       the append was made, then the cursor found stale: "cursor append
       failed with UDB_STALE and changed the records") */
    uint64_t removed = 9;
    assert_int_equal(udb_ndx_begin(d), 0); /* in a transaction, which a refusal does not end */
    assert_int_equal(udb_cursor_append(c, "new", 3, 8), UDB_STALE);
    assert_int_equal(udb_cursor_delete_key(c, k, sizeof k - 1, &removed), UDB_STALE);
    assert_int_equal(removed, 0);
    assert_int_equal(udb_cursor_set_datapos(c, 9), UDB_STALE);
    int64_t dp;
    assert_int_equal(udb_ndx_find(d, 2, "new", 3, &dp), UDB_NOTFOUND);
    assert_int_equal(udb_ndx_find(d, 2, k, sizeof k - 1, &dp), 0);
    assert_int_equal(dp, 7);
    assert_int_equal(udb_ndx_commit(d), 0);
    udb_cursor_close(c);
    assert_int_equal(udb_cursor_open(d, 2, &c), 0); /* a new cursor reads it */
    assert_int_equal(udb_cursor_first(c, &it), 0);
    assert_int_equal(it.keysize, 60);
    assert_int_equal(it.datapos, 7);
    udb_cursor_close(c);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    assert_int_equal(udb_ndx_close(d), 0);
}

/* A spill that fails poisons the transaction: commit refuses, rollback
   restores, the handle works again. */
static void test_poisoned_transaction(void **state)
{
    (void)state;
    fault_os f;
    fault_os_init(&f, FAULT_NONE, 0);
    udb_options o;
    udb_options_init(&o);
    o.os = &f.os;
    o.dirty_limit = 4096;
    udb_ndx *d = new_ndx("poison.ndx", &o);
    assert_int_equal(udb_ndx_begin(d), 0);
    f.mode = FAULT_EIO;
    f.fail_at = f.calls + 1; /* the first write of the first spill */
    int rc = 0;
    for (int32_t i = 0; i < 2000 && !rc; i++)
        rc = udb_ndx_append(d, 1, &i, 4, i);
    assert_int_equal(rc, UDB_IO);
    int32_t k = 99999;
    /* reads and writes refuse until the rollback (a write once ran on a
       size the file did not have: fuzz_writes, SEGV) */
    assert_int_equal(udb_ndx_append(d, 1, &k, 4, 1), UDB_ABORTED);
    assert_int_equal(udb_ndx_find(d, 1, &k, 4, NULL), UDB_ABORTED);
    assert_int_equal(udb_ndx_commit(d), UDB_ABORTED);
    assert_int_equal(udb_ndx_commit(d), UDB_ABORTED); /* still open, still refused */
    assert_int_equal(udb_ndx_rollback(d), 0);
    assert_int_equal(udb_ndx_find(d, 1, &k, 4, NULL), UDB_NOTFOUND);
    assert_int_equal(udb_ndx_begin(d), 0);
    assert_int_equal(udb_ndx_append(d, 1, &k, 4, 7), 0);
    assert_int_equal(udb_ndx_commit(d), 0);
    int64_t dp;
    assert_int_equal(udb_ndx_find(d, 1, &k, 4, &dp), 0);
    assert_int_equal(dp, 7);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    udb_ndx_close(d);
}

typedef struct src {
    int i, n, bad_at;
} src;

static int next_key(void *arg, const void **key, size_t *len, int64_t *dp)
{
    static int32_t k;
    src *s = arg;
    if (s->i == s->n)
        return 1;
    k = s->i == s->bad_at ? -5 : s->i;
    *key = &k;
    *len = 4;
    *dp = s->i++;
    return 0;
}

static void test_failed_bulk_load(void **state)
{
    (void)state;
    udb_options o;
    udb_options_init(&o);
    o.sync = UDB_SYNC_OFF;
    udb_ndx *d = new_ndx("bulk.ndx", &o);
    src s = {0, 500, 300};
    assert_int_equal(udb_ndx_begin(d), 0);
    assert_int_equal(udb_ndx_load_sorted(d, 1, next_key, &s, NULL), UDB_INVAL);
    /* nothing but a rollback touches the half-built tree (a find once
       compared an unset bottom-item key, an append read a node through an
       unset path: fuzz_writes, ASan) */
    int32_t k5 = 5;
    int64_t dp5;
    uint64_t gone;
    assert_int_equal(udb_ndx_find(d, 1, &k5, 4, &dp5), UDB_ABORTED);
    assert_non_null(strstr(udb_ndx_errmsg(d), "requires a rollback"));
    assert_int_equal(udb_ndx_append(d, 1, &k5, 4, 5), UDB_ABORTED); /* once a wild read */
    assert_int_equal(udb_ndx_delete(d, 1, &k5, 4, &gone), UDB_ABORTED);
    assert_int_equal(udb_ndx_commit(d), UDB_ABORTED);
    assert_int_equal(udb_ndx_rollback(d), 0);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    /* implicit: rolled back by itself */
    s = (src){0, 500, 200};
    assert_int_equal(udb_ndx_load_sorted(d, 1, next_key, &s, NULL), UDB_INVAL);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    s = (src){0, 500, -1};
    uint64_t n;
    assert_int_equal(udb_ndx_load_sorted(d, 1, next_key, &s, &n), 0);
    assert_int_equal(n, 500);
    assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
    /* a second load into the now non-empty index is refused cleanly */
    s = (src){0, 10, -1};
    assert_int_equal(udb_ndx_load_sorted(d, 1, next_key, &s, &n), UDB_INVAL);
    assert_non_null(strstr(udb_ndx_errmsg(d), "not empty"));
    udb_ndx_close(d);
}

/* Leaves and nodes past the free lists come from one stretch whose rest
   is cut off: the load leaves no free block behind (it once left most of a
   64 KiB stretch of leaves on the free list). */
static void test_bulk_load_leaves_no_free_blocks(void **state)
{
    (void)state;
    udb_options o;
    udb_options_init(&o);
    o.sync = UDB_SYNC_OFF;
    for (int n = 30; n <= 3000; n *= 10) {
        udb_ndx *d = new_ndx("compact.ndx", &o);
        src s = {0, n, -1};
        assert_int_equal(udb_ndx_load_sorted(d, 1, next_key, &s, NULL), 0);
        udb_check_report rep;
        assert_int_equal(udb_ndx_check(d, NULL, NULL, &rep), 0);
        assert_int_equal(rep.index[0].records, n);
        assert_int_equal(rep.index[0].free_leaves, 0);
        assert_int_equal(rep.index[0].free_nodes, 0);
        udb_check_report_free(&rep);
        udb_ndx_close(d);
        assert_int_equal(remove(path_in(dir, "compact.ndx")), 0);
    }
}

static void test_bad_arguments_do_not_poison(void **state)
{
    (void)state;
    udb_heap *h;
    udb_options o;
    udb_options_init(&o);
    o.sync = UDB_SYNC_OFF;
    assert_int_equal(udb_heap_create(path_in(dir, "args.dat"), &o, 0, &h), 0);
    int64_t pos;
    uint8_t b[8];
    assert_int_equal(udb_heap_begin(h), 0);
    assert_int_equal(udb_heap_alloc(h, 100, &pos), 0);
    assert_int_equal(udb_heap_write(h, pos + 98, "abcd", 4), UDB_INVAL);  /* past the end */
    assert_int_equal(udb_heap_read(h, pos + 98, b, 8), UDB_INVAL);
    assert_int_equal(udb_heap_read(h, -3, b, 1), UDB_INVAL);
    assert_int_equal(udb_heap_write(h, pos, "", 0), 0);                 /* nothing to do */
    assert_int_equal(udb_heap_free(h, pos, 1000), UDB_INVAL);
    assert_int_equal(udb_heap_write(h, pos, "abcd", 4), 0);
    assert_int_equal(udb_heap_commit(h), 0);
    assert_int_equal(udb_heap_read(h, pos, b, 4), 0);
    assert_memory_equal(b, "abcd", 4);
    udb_heap_close(h);
}

static void test_failed_handles(void **state)
{
    (void)state;
    udb_ndx *d;
    assert_int_equal(udb_ndx_open(path_in(dir, "missing.ndx"), NULL, &d), UDB_NOTFOUND);
    assert_int_equal(udb_ndx_begin(d), UDB_INVAL);
    assert_int_equal(udb_ndx_commit(d), UDB_INVAL);
    assert_int_equal(udb_ndx_rollback(d), UDB_INVAL);
    assert_int_equal(udb_ndx_append(d, 1, "k", 1, 1), UDB_INVAL);
    udb_ndx_close(d);
    udb_options o;
    udb_options_init(&o);
    o.sync = 42;
    assert_int_equal(udb_ndx_open(path_in(dir, "x.ndx"), &o, &d), UDB_INVAL);
    assert_int_equal(udb_ndx_begin(d), UDB_INVAL);
    udb_ndx_close(d);
    udb_store *s;
    assert_int_equal(udb_store_open(path_in(dir, "nostore"), NULL, &s), UDB_NOTFOUND);
    assert_int_equal(udb_store_begin(s), UDB_INVAL);
    udb_check_report rep;
    assert_int_equal(udb_store_check(s, NULL, NULL, &rep), UDB_INVAL);
    udb_check_report_free(&rep);
    udb_store_close(s);
}

static void test_store_cursor_current(void **state)
{
    (void)state;
    udb_store *s;
    udb_index_def def = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 8, 0, 0};
    udb_store_def sd = {1, &def, 0, 0};
    assert_int_equal(udb_store_create(path_in(dir, "cur"), NULL, &sd, &s), 0);
    assert_int_equal(udb_store_begin(s), 0);
    for (int32_t i = 1; i <= 5; i++) {
        udb_key k = {&i, 4};
        assert_int_equal(udb_store_put(s, &k, &i, 4), 0);
    }
    assert_int_equal(udb_store_commit(s), 0);
    udb_store_cursor *c;
    udb_item it;
    udb_val v = {0};
    int32_t three = 3;
    assert_int_equal(udb_store_cursor_open(s, 1, &c), 0);
    assert_int_equal(udb_store_cursor_current(c, &it, &v), UDB_NOTFOUND);
    assert_int_equal(udb_store_cursor_seek(c, &three, 4, &it, &v), 0);
    assert_int_equal(udb_store_cursor_delete(c), 0);
    assert_int_equal(udb_store_cursor_current(c, &it, &v), 0); /* the following record */
    assert_memory_equal(it.key, "\x04\0\0\0", 4);
    assert_int_equal(v.len, 4);
    assert_int_equal(udb_store_delete(s, 1, it.key, 4, NULL), 0); /* removed elsewhere */
    assert_int_equal(udb_store_cursor_current(c, &it, &v), UDB_STALE);
    udb_store_cursor_close(c);
    udb_val_free(&v);
    udb_store_close(s);
}

/* A new data position for the record under the cursor: the key, its
   place among duplicates and the rest stay; refusals change nothing. */
static void test_cursor_set_datapos(void **state)
{
    (void)state;
    for (int layout = UDB_LAYOUT_CLASSIC; layout <= UDB_LAYOUT_WIDE; layout++) {
        udb_options o;
        udb_options_init(&o);
        o.layout = layout;
        udb_ndx *d = new_ndx(layout == UDB_LAYOUT_WIDE ? "dpw.ndx" : "dpc.ndx", &o);
        int32_t seven = 7;
        for (int32_t i = 0; i < 40; i++) /* key i % 10: four duplicates each */
            assert_int_equal(udb_ndx_append(d, 1, &(int32_t){i % 10}, 4, 100 + i), 0);
        udb_cursor *c;
        udb_item it;
        assert_int_equal(udb_cursor_open(d, 1, &c), 0);
        assert_int_equal(udb_cursor_set_datapos(c, 5), UDB_NOTFOUND); /* nowhere yet */
        assert_int_equal(udb_cursor_find(c, &seven, 4, &it), 0);
        assert_int_equal(it.datapos, 137); /* the newest duplicate first */
        assert_int_equal(udb_cursor_next(c, &it), 0);
        assert_int_equal(it.datapos, 127);
        assert_int_equal(udb_cursor_set_datapos(c, 9999), 0);
        assert_int_equal(udb_cursor_set_datapos(c, -1), UDB_INVAL);
        if (layout == UDB_LAYOUT_CLASSIC)
            assert_int_equal(udb_cursor_set_datapos(c, (int64_t)1 << 31), UDB_RANGE);
        assert_int_equal(udb_cursor_current(c, &it), 0); /* still on it */
        assert_int_equal(it.datapos, 9999);
        static const int64_t want[] = {137, 9999, 117, 107};
        assert_int_equal(udb_cursor_find(c, &seven, 4, &it), 0);
        for (int k = 0; k < 4; k++) {
            assert_int_equal(it.datapos, want[k]);
            assert_memory_equal(it.key, &seven, 4);
            int rc = udb_cursor_next(c, &it);
            assert_int_equal(rc, 0);
        }
        assert_int_equal(*(const int32_t *)it.key, 8);
        udb_cursor_close(c);
        assert_int_equal(udb_ndx_check(d, NULL, NULL, NULL), 0);
        assert_int_equal(udb_ndx_close(d), 0);
    }
}

/* A cursor append or delete_key refused for its key (too long) ends the
   write it began: the next change is committed on its own, not folded
   into a transaction nobody commits (found by fuzz_writes). */
static void test_cursor_refused_key(void **state)
{
    (void)state;
    udb_options o;
    udb_options_init(&o);
    o.sync = UDB_SYNC_OFF;
    udb_ndx *d = new_ndx("curkey.ndx", &o);
    udb_cursor *c;
    uint8_t longkey[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int32_t k = 42;
    int64_t dp;
    assert_int_equal(udb_cursor_open(d, 1, &c), 0);
    assert_int_equal(udb_cursor_append(c, longkey, sizeof longkey, 1), UDB_INVAL);
    assert_int_equal(udb_cursor_delete_key(c, longkey, sizeof longkey, NULL), UDB_INVAL);
    assert_int_equal(udb_ndx_append(d, 1, &k, 4, 7), 0);
    assert_int_equal(udb_ndx_begin(d), 0); /* no transaction was left open */
    assert_int_equal(udb_ndx_rollback(d), 0);
    udb_cursor_close(c);
    assert_int_equal(udb_ndx_close(d), 0);
    d = open_ndx(path_in(dir, "curkey.ndx"), 0);
    assert_int_equal(udb_ndx_find(d, 1, &k, 4, &dp), 0);
    assert_int_equal(dp, 7);
    udb_ndx_close(d);
}

static void test_error_texts(void **state)
{
    (void)state;
    static const char *const names[] = {
        "UDB_OK", "UDB_NOTFOUND", "UDB_EXISTS", "UDB_CORRUPT", "UDB_IO", "UDB_INVAL", "UDB_LOCKED",
        "UDB_NOMEM", "UDB_READONLY", "UDB_RANGE", "UDB_STALE", "UDB_RECOVER", "UDB_ABORTED",
        "UDB_FORMAT"};
    for (int i = 0; i < 14; i++) {
        assert_string_equal(udb_errname(-i), names[i]);
        assert_string_not_equal(udb_strerror(-i), "unknown error code");
        for (int j = 0; j < i; j++) /* a sentence per code */
            assert_string_not_equal(udb_strerror(-i), udb_strerror(-j));
    }
    assert_int_equal(UDB_FORMAT, -13);
    assert_string_equal(udb_strerror(UDB_NOTFOUND),
                        "not found: no record with that key, no further record, or no such file");
    assert_string_equal(udb_strerror(UDB_LOCKED), "locked: another handle holds a conflicting lock");
    assert_string_equal(udb_strerror(UDB_OK), "success");
    for (int bad = 0; bad < 4; bad++) {
        int code = (int[]){-14, 1, INT_MIN, INT_MAX}[bad];
        assert_string_equal(udb_errname(code), "UDB_UNKNOWN");
        assert_string_equal(udb_strerror(code), "unknown error code");
    }
}

/* udb_ndx: find, delete, cursor find and delete_key of an absent key name
   it (escaped, cut when long) and the index; an undefined index keeps its
   own message. */
static void test_notfound_ndx(void **state)
{
    (void)state;
    udb_ndx *d;
    assert_int_equal(udb_ndx_create(path_in(dir, "nf.ndx"), NULL, 4, &d), 0);
    udb_index_def str = {UDB_KEY_STRING, 200, 0, 8, 0, 0};
    udb_index_def num = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 8, 0, 0};
    udb_index_def blk = {UDB_KEY_BLOCK, 4, 0, 8, 0, 0};
    assert_int_equal(udb_ndx_define(d, 1, &str), 0);
    assert_int_equal(udb_ndx_define(d, 2, &num), 0);
    assert_int_equal(udb_ndx_define(d, 3, &blk), 0);
    assert_int_equal(udb_ndx_append(d, 1, "abd", 3, 1), 0);
    assert_string_equal(udb_ndx_errmsg(d), "no error");
    assert_int_equal(udb_ndx_find(d, 1, "abc", 3, NULL), UDB_NOTFOUND);
    assert_string_equal(udb_ndx_errmsg(d), "no record with key \"abc\" in index 1");
    assert_int_equal(udb_ndx_find(d, 1, "a\"\\\x01\xff", 5, NULL), UDB_NOTFOUND);
    assert_string_equal(udb_ndx_errmsg(d), "no record with key \"a\\\"\\\\\\x01\\xff\" in index 1");
    assert_int_equal(udb_ndx_delete(d, 2, &(int32_t){-5}, 4, NULL), UDB_NOTFOUND);
    assert_string_equal(udb_ndx_errmsg(d), "no record with key -5 in index 2");
    assert_int_equal(udb_ndx_find(d, 3, "\x00\x7f\xab", 3, NULL), UDB_NOTFOUND);
    assert_string_equal(udb_ndx_errmsg(d), "no record with key 0x007fab00 in index 3");
    char longkey[199];
    memset(longkey, 'x', sizeof longkey);
    assert_int_equal(udb_ndx_find(d, 1, longkey, sizeof longkey, NULL), UDB_NOTFOUND);
    const char *msg = udb_ndx_errmsg(d);
    assert_true(strncmp(msg, "no record with key \"xxxxxxxx", 27) == 0);
    assert_non_null(strstr(msg, "xxx\"... in index 1"));
    assert_true(strlen(msg) < 200);
    udb_cursor *c;
    assert_int_equal(udb_cursor_open(d, 1, &c), 0);
    assert_int_equal(udb_cursor_find(c, "abb", 3, NULL), UDB_NOTFOUND);
    assert_string_equal(udb_ndx_errmsg(d), "no record with key \"abb\" in index 1");
    assert_int_equal(udb_cursor_delete_key(c, "zz", 2, NULL), UDB_NOTFOUND);
    assert_string_equal(udb_ndx_errmsg(d), "no record with key \"zz\" in index 1");
    assert_int_equal(udb_cursor_next(c, NULL), UDB_NOTFOUND); /* not a lookup */
    assert_string_equal(udb_ndx_errmsg(d), "no record with key \"zz\" in index 1");
    udb_cursor_close(c);
    assert_int_equal(udb_ndx_find(d, 4, "k", 1, NULL), UDB_NOTFOUND);
    assert_string_equal(udb_ndx_errmsg(d), "index 4: not defined");
    udb_ndx_close(d);
}

/* udb_store: get, update and delete of an absent key name it; a delete
   that removes records leaves the message alone. */
static void test_notfound_store(void **state)
{
    (void)state;
    udb_store *s;
    udb_index_def defs[2] = {{UDB_KEY_STRING, 16, 0, 8, 0, 0}, {UDB_KEY_INTEGER, 2, 0, 8, 0, 0}};
    udb_store_def sd = {2, defs, 0, 0};
    assert_int_equal(udb_store_create(path_in(dir, "nfstore"), NULL, &sd, &s), 0);
    for (int16_t i = 1; i <= 2; i++) {
        udb_key k[2] = {{"dup", 3}, {&i, 2}};
        assert_int_equal(udb_store_put(s, k, "v", 1), 0);
    }
    udb_val v = {0};
    assert_int_equal(udb_store_get(s, 1, "tab\there", 8, &v), UDB_NOTFOUND);
    assert_string_equal(udb_store_errmsg(s), "no record with key \"tab\\x09here\" in index 1");
    assert_int_equal(udb_store_update(s, 2, &(int16_t){300}, 2, "w", 1), UDB_NOTFOUND);
    assert_string_equal(udb_store_errmsg(s), "no record with key 300 in index 2");
    uint64_t n;
    assert_int_equal(udb_store_delete(s, 1, "", 0, &n), UDB_NOTFOUND);
    assert_string_equal(udb_store_errmsg(s), "no record with key \"\" in index 1");
    assert_int_equal(udb_store_delete(s, 1, "dup", 3, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(udb_store_errmsg(s), "no record with key \"\" in index 1");
    assert_int_equal(udb_store_get(s, 2, &(int16_t){1}, 2, &v), UDB_NOTFOUND);
    assert_string_equal(udb_store_errmsg(s), "no record with key 1 in index 2");
    udb_val_free(&v);
    udb_store_close(s);
}

/* A file larger than the machine's memory and swap (sparse here) opens
   writable and takes a commit: the private writable mapping of the file
   is no commit charge (MAP_NORESERVE). Before, the kernel's overcommit
   heuristic refused the map ("cannot map: Cannot allocate memory"), so a
   store bigger than RAM + swap could only be read. Skipped where the
   kernel accounts strictly (overcommit_memory 2 ignores MAP_NORESERVE) or
   the file system holds no such sparse file, and under valgrind. */
static void test_file_larger_than_memory(void **state)
{
    (void)state;
    if (getenv("VALGRIND")) { /* it caps the address space below the file's reservation */
        fprintf(stderr, "skipped under valgrind\n");
        return;
    }
    FILE *oc = fopen("/proc/sys/vm/overcommit_memory", "r");
    int mode = -1;
    if (!oc || fscanf(oc, "%d", &mode) != 1 || mode != 0) {
        fprintf(stderr, "skipped: overcommit_memory is %d, not the heuristic 0\n", mode);
        if (oc)
            fclose(oc);
        return;
    }
    fclose(oc);
    unsigned long long mem = 0, swap = 0, v;
    char line[200];
    FILE *mi = fopen("/proc/meminfo", "r");
    while (mi && fgets(line, sizeof line, mi)) {
        if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
            mem = v * 1024;
        if (sscanf(line, "SwapTotal: %llu kB", &v) == 1)
            swap = v * 1024;
    }
    if (mi)
        fclose(mi);
    assert_true(mem > 0);
    udb_ndx *d = new_ndx("huge.ndx", NULL);
    for (int32_t k = 0; k < 50; k++)
        assert_int_equal(udb_ndx_append(d, 1, &k, 4, k), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    const char *p = path_in(dir, "huge.ndx");
    if (truncate(p, (off_t)(2 * (mem + swap)))) {
        fprintf(stderr, "skipped: no sparse file of %llu bytes here\n", 2 * (mem + swap));
        return;
    }
    if (udb_ndx_open(p, NULL, &d))
        fail_msg("open %s (%llu bytes) writable: %s", p, 2 * (mem + swap), udb_ndx_errmsg(d));
    int32_t k = 77;
    if (udb_ndx_append(d, 1, &k, 4, 770))
        fail_msg("append: %s", udb_ndx_errmsg(d));
    int64_t pos;
    assert_int_equal(udb_ndx_find(d, 1, &k, 4, &pos), 0);
    assert_int_equal(pos, 770);
    assert_int_equal(udb_ndx_close(d), 0);
    unlink(p);
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("api"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((void *)dir);
    return 0;
}

/* maxitems 0: as many items as fit a node of 4096 bytes (W1's 169 for
   16-byte keys, wide), resolved when the index is defined and stored so
   (in the store's descriptor too); 3 where fewer fit. */
static void test_default_maxitems(void **state)
{
    (void)state;
    static const struct {
        int layout;
        unsigned keysize, want;
    } cases[] = {{UDB_LAYOUT_WIDE, 16, 169}, {UDB_LAYOUT_CLASSIC, 16, 204}, {UDB_LAYOUT_WIDE, 4, 339},
                 {UDB_LAYOUT_WIDE, 1024, 3}, {UDB_LAYOUT_CLASSIC, 1024, 3}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        udb_options o;
        udb_options_init(&o);
        o.layout = cases[i].layout;
        udb_index_def def = {UDB_KEY_BLOCK, cases[i].keysize, UDB_UNIQUE, 0, 0, 0};
        char msg[200], name[64];
        assert_int_equal(udb_index_def_check(o.layout, &def, msg, sizeof msg), 0);
        snprintf(name, sizeof name, "auto%zu.ndx", i);
        udb_ndx *d;
        udb_index_info inf;
        assert_int_equal(udb_ndx_create(path_in(dir, name), &o, 1, &d), 0);
        assert_int_equal(udb_ndx_define(d, 1, &def), 0);
        assert_int_equal(udb_ndx_info(d, 1, &inf), 0);
        assert_int_equal(inf.def.maxitems, cases[i].want);
        assert_true(cases[i].want == 3 || (inf.node_size <= 4096 && inf.node_size + cases[i].keysize +
                                           (o.layout == UDB_LAYOUT_WIDE ? 8 : 4) > 4096));
        assert_int_equal(udb_ndx_append(d, 1, "k", 1, 7), 0);
        assert_int_equal(udb_ndx_close(d), 0);
        assert_int_equal(udb_ndx_open(path_in(dir, name), &o, &d), 0);
        assert_int_equal(udb_ndx_info(d, 1, &inf), 0);
        assert_int_equal(inf.def.maxitems, cases[i].want);
        assert_int_equal(udb_ndx_close(d), 0);
    }
    udb_index_def def = {UDB_KEY_BLOCK, 16, UDB_UNIQUE, 0, 0, 0};
    udb_store_def sd = {1, &def, 0, 0};
    udb_store *s;
    udb_store_about ab;
    char msg[200];
    assert_int_equal(udb_store_create(path_in(dir, "autostore"), NULL, &sd, &s), 0);
    assert_int_equal(udb_store_close(s), 0);
    assert_int_equal(udb_store_about_get(path_in(dir, "autostore"), NULL, &ab, msg, sizeof msg), 0);
    assert_int_equal(ab.index[0].maxitems, 169);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* udb_ndx_order holds nothing per leaf: an index file of two indexes
   (200,000 LONG_INT keys appended in random order, a third deleted; the
   same number of STRING keys with duplicates) is ordered with a dirty
   limit of 1 MiB, and at every progress report the bytes malloc hands out
   exceed those of the open handle (every node searched once) by at most
   2 MiB: the journal's buffer (1 MiB, as in any transaction this large)
   and a batch of the places it looks for (dirty_limit / 32 bytes). The
   copies of every leaf it made before took 57 bytes per leaf, 19 MB
   here. Then both
   indexes hold the same records, their leaves ascend in key order over
   the places they held, the check is clean. */
static void test_ndx_order_bounded(void **state)
{
    (void)state;
    const char *path = path_in(dir, "order.ndx");
    const int32_t N = getenv("VALGRIND") ? 20000 : 200000; /* the bound is not checked there */
    udb_options o;
    udb_options_init(&o);
    o.sync = UDB_SYNC_OFF;
    udb_ndx *d;
    assert_int_equal(udb_ndx_create(path, &o, 2, &d), 0);
    udb_index_def d1 = {UDB_KEY_LONG_INT, 4, UDB_UNIQUE, 0, 0, 0}, d2 = {UDB_KEY_STRING, 12, 0, 0, 0, 0};
    assert_int_equal(udb_ndx_define(d, 1, &d1), 0);
    assert_int_equal(udb_ndx_define(d, 2, &d2), 0);
    assert_int_equal(udb_ndx_begin(d), 0);
    char sk[16];
    for (int32_t j = 0; j < N; j++) {
        int32_t i = (int32_t)(((int64_t)j * 7919) % N);
        snprintf(sk, sizeof sk, "s%07d", (int)(((int64_t)i * 31) % (N / 3)));
        assert_int_equal(udb_ndx_append(d, 1, &i, 4, i), 0);
        assert_int_equal(udb_ndx_append(d, 2, sk, strlen(sk), i), 0);
    }
    for (int32_t i = 0; i < N; i += 3)
        assert_int_equal(udb_ndx_delete(d, 1, &i, 4, NULL), 0);
    assert_int_equal(udb_ndx_commit(d), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    heap_peak hp = {0, 0, 0};
    o.dirty_limit = 1 << 20;
    o.progress = note_heap;
    o.progress_arg = &hp;
    assert_int_equal(udb_ndx_open(path, &o, &d), 0);
    uint64_t sum[2] = {0, 0};
    size_t n[2] = {0, 0};
    int64_t *places[2];
    for (unsigned ix = 0; ix < 2; ix++) { /* the records, and the places their leaves hold */
        udb_cursor *c;
        udb_item it;
        assert_non_null(places[ix] = malloc((size_t)N * sizeof *places[ix]));
        assert_int_equal(udb_cursor_open(d, ix + 1, &c), 0);
        for (int rc = udb_cursor_first(c, &it); rc == 0; rc = udb_cursor_next(c, &it)) {
            sum[ix] = sum[ix] * 1000003 + (uint64_t)it.datapos;
            places[ix][n[ix]++] = it.leaf;
        }
        udb_cursor_close(c);
        qsort(places[ix], n[ix], sizeof *places[ix], cmp_i64);
    }
    assert_int_equal(n[0], N - (N + 2) / 3);
    assert_int_equal(n[1], N);
    for (int32_t i = 0; i < N; i++) { /* every node searched: the handle's set of verified nodes */
        int64_t dp;
        snprintf(sk, sizeof sk, "s%07d", (int)(i % (N / 3)));
        assert_int_equal(udb_ndx_find(d, 1, &i, 4, &dp), i % 3 ? 0 : UDB_NOTFOUND);
        assert_int_equal(udb_ndx_find(d, 2, sk, strlen(sk), &dp), 0);
    }
    hp.most = hp.base = heap_in_use();
    assert_int_equal(udb_ndx_order(d, 0), 0);
    if (!getenv("VALGRIND") && hp.base) {
        print_message("heap before %zu KiB, at most %zu KiB in %u reports\n", hp.base >> 10,
                      hp.most >> 10, hp.reports);
        assert_true(hp.reports > 50);
        assert_true(hp.most - hp.base < 2 << 20);
    }
    for (unsigned ix = 0; ix < 2; ix++) {
        udb_cursor *c;
        udb_item it;
        uint64_t again = 0;
        size_t j = 0;
        assert_int_equal(udb_cursor_open(d, ix + 1, &c), 0);
        for (int rc = udb_cursor_first(c, &it); rc == 0; rc = udb_cursor_next(c, &it), j++) {
            again = again * 1000003 + (uint64_t)it.datapos;
            if (j >= n[ix] || it.leaf != places[ix][j])
                fail_msg("index %u: leaf %zu in key order at %lld, not at its place", ix + 1, j,
                         (long long)it.leaf);
        }
        udb_cursor_close(c);
        assert_int_equal(j, n[ix]);
        assert_true(again == sum[ix]);
        free(places[ix]);
    }
    udb_check_report rep;
    assert_int_equal(udb_ndx_check(d, NULL, NULL, &rep), 0);
    assert_int_equal(rep.problems, 0);
    udb_check_report_free(&rep);
    assert_int_equal(udb_ndx_close(d), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poisoned_transaction),
        cmocka_unit_test(test_failed_bulk_load),
        cmocka_unit_test(test_bulk_load_leaves_no_free_blocks),
        cmocka_unit_test(test_bad_arguments_do_not_poison),
        cmocka_unit_test(test_failed_handles),
        cmocka_unit_test(test_store_cursor_current),
        cmocka_unit_test(test_cursor_set_datapos),
        cmocka_unit_test(test_cursor_refused_key),
        cmocka_unit_test(test_error_texts),
        cmocka_unit_test(test_notfound_ndx),
        cmocka_unit_test(test_notfound_store),
        cmocka_unit_test(test_file_larger_than_memory),
        cmocka_unit_test(test_default_maxitems),
        cmocka_unit_test(test_cursor_redefined_index),
        cmocka_unit_test(test_ndx_order_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
