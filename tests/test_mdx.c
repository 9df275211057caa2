/*
 * test_mdx.c — the legacy DLL API (mdx.h), driven the way the original test
 * program drove TMIndex: create a file with indexes, append keys with
 * duplicates, find, walk with first/next/prev/current and the BOF/EOF
 * flags, delete by key and delete current, error numbers, active-index
 * edge cases, compare, flush, close all; then the classic fixture walked
 * through the legacy calls, and 64-bit positions of a wide fixture. Only
 * file setup (scratch copies, manifests) uses testutil; every check goes
 * through mdx.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include "layout.h"
#include "testutil.h"
#include "mdx.h"

enum { KS = 20 };               /* the original test program's STRING key size */

static char key[KS];            /* the "Parameter" buffer of the original */

static void set_key(const char *text)
{
    memset(key, 0, sizeof key);
    strcpy(key, text);
}

/* A file with index 1 STRING(20) attDELETE, index 2 LONGINT UNIQUE, and
   index 3 left undefined. */
static int make_file(const char *dir)
{
    int h = MDXCreateFile(path_in(dir, "test.ndx"), 3);
    assert_true(h >= 0);
    assert_int_equal(MDXGetError(h), errOK);
    assert_int_equal(MDXGetNumIndexes(h), 3);
    MDXSetActiveIndex(h, 1);
    MDXCreateIndex(h, ftSTRING, KS, attDELETE, 5, 10, 30);
    MDXSetActiveIndex(h, 2);
    MDXCreateIndex(h, ftLONGINT, 4, attUNQUEE | attDELETE, 7, 4, 8);
    assert_int_equal(MDXGetError(h), errOK);
    MDXSetActiveIndex(h, 1);
    return h;
}

static int append(int h, const char *text, int32_t dp)
{
    set_key(text);
    return MDXAppend(h, key, dp);
}

/* alpha/1 bravo/2 kilo/3 kilo/4 kilo/5 echo/6 in index 1. */
static void fill(int h)
{
    assert_int_equal(append(h, "alpha", 1), 1);
    assert_int_equal(append(h, "bravo", 2), 1);
    assert_int_equal(append(h, "kilo", 3), 1);
    assert_int_equal(append(h, "kilo", 4), 0);  /* a stored duplicate returns 0 */
    assert_int_equal(append(h, "kilo", 5), 0);
    assert_int_equal(append(h, "echo", 6), 1);
    assert_int_equal(MDXGetError(h), errOK);
}

/* The records of the active index, "key/dp key/dp ..." by GetFirst/GetNext. */
static const char *listing(int h)
{
    static char out[4096];
    char k[64];
    size_t n = 0;
    out[0] = 0;
    for (int32_t dp = MDXGetFirst(h, k); dp != -1; dp = MDXGetNext(h, k))
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%s/%d", n ? " " : "", k, (int)dp);
    return out;
}

static void test_append_find(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_find");
    int h = make_file(dir);
    fill(h);
    assert_string_equal(listing(h), "alpha/1 bravo/2 echo/6 kilo/5 kilo/4 kilo/3");
    char far *Parameter = key;                          /* Win16 words compile */
    set_key("kilo");
    assert_int_equal(MDXFind(h, (void FAR *)Parameter), 5); /* newest duplicate */
    assert_int_equal(MDXFind(h, "alpha"), 1);
    /* a missing key: -1, the cursor on the next larger record */
    assert_int_equal(MDXFind(h, "b"), -1);
    set_key("UNTOUCHED");
    assert_int_equal(MDXGetCurrent(h, key), 2);
    assert_string_equal(key, "bravo");
    /* nothing larger: the cursor on the EOF leaf */
    assert_int_equal(MDXFind(h, "zulu"), -1);
    set_key("UNTOUCHED");
    assert_int_equal(MDXGetCurrent(h, key), -1);
    assert_int_equal(MDXGetEOF(h), 1);
    assert_int_equal(MDXGetNext(h, key), -1);
    assert_string_equal(key, "UNTOUCHED");
    assert_int_equal(MDXDeleteCurrent(h), -1);        /* never the EOF leaf */
    assert_int_equal(MDXGetPrev(h, key), 3);
    assert_string_equal(key, "kilo");
    /* Append leaves the cursor on the new record */
    assert_int_equal(append(h, "charlie", 7), 1);
    assert_int_equal(MDXGetCurrent(h, key), 7);
    assert_int_equal(MDXGetNext(h, key), 6);
    assert_int_equal(MDXGetError(h), errOK);
    MDXCloseFile(h);
}

static void test_walk_flags(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_walk");
    int h = make_file(dir);
    /* a new index: no position, flags clear */
    assert_int_equal(MDXGetEOF(h), 0);
    assert_int_equal(MDXGetBOF(h), 0);
    assert_int_equal(MDXGetCurrent(h, key), -1);
    assert_int_equal(MDXGetNext(h, key), -1);
    /* empty: GetFirst finds nothing and rests on the EOF leaf */
    assert_int_equal(MDXGetFirst(h, key), -1);
    assert_int_equal(MDXGetEOF(h), 1);
    assert_int_equal(MDXGetBOF(h), 1);
    fill(h);
    assert_int_equal(MDXGetFirst(h, key), 1);
    assert_string_equal(key, "alpha");
    assert_int_equal(MDXGetBOF(h), 1);
    assert_int_equal(MDXGetEOF(h), 0);
    set_key("UNTOUCHED");
    assert_int_equal(MDXGetPrev(h, key), -1);           /* at BOF */
    assert_string_equal(key, "UNTOUCHED");
    assert_int_equal(MDXGetNext(h, key), 2);
    assert_int_equal(MDXGetBOF(h), 0);
    assert_int_equal(MDXGetNext(h, NULL), 6);           /* a NULL buffer is allowed */
    assert_int_equal(MDXGetNext(h, key), 5);
    assert_int_equal(MDXGetNext(h, key), 4);
    assert_int_equal(MDXGetEOF(h), 0);
    assert_int_equal(MDXGetNext(h, key), 3);
    assert_int_equal(MDXGetEOF(h), 1);                  /* already on the last record */
    set_key("UNTOUCHED");
    assert_int_equal(MDXGetNext(h, key), -1);
    assert_string_equal(key, "UNTOUCHED");
    assert_int_equal(MDXGetCurrent(h, key), 3);
    assert_string_equal(key, "kilo");
    assert_int_equal(MDXGetPrev(h, key), 4);
    assert_int_equal(MDXGetEOF(h), 0);
    /* the original test program's 'L' loop */
    int n = 0;
    if (MDXGetFirst(h, key) != -1 && !MDXGetEOF(h))
        do {
            n++;
            MDXGetNext(h, key);
        } while (!MDXGetEOF(h));
    assert_int_equal(n, 5);
    assert_string_equal(key, "kilo");
    MDXCloseFile(h);
}

static void test_delete(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_delete");
    int h = make_file(dir);
    fill(h);
    /* Delete removes every record of the key; the cursor lands after the run */
    assert_int_equal(MDXDelete(h, "kilo"), 1);
    assert_int_equal(MDXFind(h, "kilo"), -1);
    assert_string_equal(listing(h), "alpha/1 bravo/2 echo/6");
    assert_int_equal(MDXDelete(h, "bravo"), 1);
    assert_int_equal(MDXGetCurrent(h, key), 6);
    /* a missing key: 0, the cursor stays */
    assert_int_equal(MDXDelete(h, "bravo"), 0);
    assert_int_equal(MDXGetCurrent(h, key), 6);
    assert_int_equal(MDXGetError(h), errOK);
    /* the run was last: the cursor lands before it */
    assert_int_equal(MDXDelete(h, "echo"), 1);
    assert_int_equal(MDXGetCurrent(h, key), 1);
    /* nothing left around it: no position */
    assert_int_equal(MDXDelete(h, "alpha"), 1);
    assert_int_equal(MDXGetCurrent(h, key), -1);
    assert_int_equal(MDXGetFirst(h, key), -1);
    MDXCloseFile(h);
}

static void test_delete_current(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_delcur");
    int h = make_file(dir);
    static const char *k[] = {"k1", "k2", "k3", "k4", "k5"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(append(h, k[i], i + 1), 1);
    /* the cursor moves to the following record: GetNext then skips one */
    assert_int_equal(MDXFind(h, "k2"), 2);
    assert_int_equal(MDXDeleteCurrent(h), 2);
    assert_int_equal(MDXGetCurrent(h, key), 3);
    assert_int_equal(MDXGetNext(h, key), 4);
    assert_string_equal(key, "k4");
    /* the last record: the cursor goes to the preceding one, EOF set */
    assert_int_equal(MDXFind(h, "k5"), 5);
    assert_int_equal(MDXDeleteCurrent(h), 5);
    assert_int_equal(MDXGetCurrent(h, key), 4);
    assert_int_equal(MDXGetEOF(h), 1);
    assert_int_equal(MDXGetNext(h, key), -1);
    /* the first record: BOF set on its successor */
    assert_int_equal(MDXGetFirst(h, key), 1);
    assert_int_equal(MDXDeleteCurrent(h), 1);
    assert_int_equal(MDXGetCurrent(h, key), 3);
    assert_int_equal(MDXGetBOF(h), 1);
    assert_string_equal(listing(h), "k3/3 k4/4");
    /* the first of a duplicate run: Find then returns the next one */
    assert_int_equal(append(h, "dup", 7), 1);
    assert_int_equal(append(h, "dup", 8), 0);
    assert_int_equal(MDXFind(h, "dup"), 8);
    assert_int_equal(MDXDeleteCurrent(h), 8);
    assert_int_equal(MDXFind(h, "dup"), 7);
    assert_int_equal(MDXDeleteCurrent(h), 7);
    assert_int_equal(MDXFind(h, "dup"), -1);
    /* the only record: afterwards GetNext and GetFirst find nothing */
    assert_int_equal(MDXDelete(h, "k3"), 1);
    assert_int_equal(MDXFind(h, "k4"), 4);
    assert_int_equal(MDXDeleteCurrent(h), 4);
    assert_int_equal(MDXGetCurrent(h, key), -1);
    assert_int_equal(MDXGetNext(h, key), -1);
    assert_int_equal(MDXGetFirst(h, key), -1);
    assert_int_equal(MDXDeleteCurrent(h), -1);
    assert_int_equal(MDXGetError(h), errOK);
    MDXCloseFile(h);
}

static void test_unique(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_unique");
    int h = make_file(dir);
    MDXSetActiveIndex(h, 2);
    assert_int_equal(MDXUnque(h), 1);
    assert_int_equal(MDXCanDelete(h), attDELETE);
    int32_t v[] = {100, -5, 7};
    for (int i = 0; i < 3; i++)
        assert_int_equal(MDXAppend(h, &v[i], 10 + i), 1);
    /* UNIQUE is enforced: refused, error set, nothing changed */
    assert_int_equal(MDXAppend(h, &v[0], 99), 0);
    assert_int_equal(MDXGetError(h), errERROR);
    assert_int_equal(MDXGetEOF(h), 1);                  /* while an error is pending */
    assert_int_equal(MDXGetBOF(h), 1);
    MDXClearError(h);                                   /* works, unlike the original */
    assert_int_equal(MDXGetError(h), errOK);
    assert_int_equal(MDXFind(h, &v[0]), 10);
    int32_t k = 0;
    assert_int_equal(MDXGetFirst(h, &k), 11);           /* signed order: -5, 7, 100 */
    assert_int_equal(k, -5);
    assert_int_equal(MDXGetNext(h, &k), 12);
    assert_int_equal(MDXGetNext(h, &k), 10);
    assert_int_equal(MDXGetNext(h, &k), -1);
    /* a refused append does not stop the next one */
    assert_int_equal(MDXAppend(h, &v[1], 98), 0);
    int32_t w = 8;
    assert_int_equal(MDXAppend(h, &w, 13), 1);
    assert_int_equal(MDXGetError(h), errERROR);
    MDXSetError(h, errOK);
    /* non-UNIQUE index 1 */
    MDXSetActiveIndex(h, 1);
    assert_int_equal(MDXUnque(h), 0);
    assert_int_equal(MDXCanDelete(h), attDELETE);
    MDXCloseFile(h);
}

static void test_active_index(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_active");
    int h = make_file(dir);
    fill(h);
    MDXSetActiveIndex(h, 2);
    assert_int_equal(MDXGetKeyType(h), ftLONGINT);
    assert_int_equal(MDXGetKeySize(h), 4);
    MDXSetActiveIndex(h, 0);                            /* 0 selects index 1 */
    assert_int_equal(MDXGetKeyType(h), ftSTRING);
    assert_int_equal(MDXGetKeySize(h), KS);
    MDXSetActiveIndex(h, 2);
    MDXSetActiveIndex(h, 4);                            /* beyond the last: index 1 */
    assert_int_equal(MDXGetKeyType(h), ftSTRING);
    /* one cursor per index */
    assert_int_equal(MDXFind(h, "echo"), 6);
    MDXSetActiveIndex(h, 2);
    int32_t v = 42;
    assert_int_equal(MDXAppend(h, &v, 420), 1);
    assert_int_equal(MDXGetCurrent(h, &v), 420);
    MDXSetActiveIndex(h, 1);
    assert_int_equal(MDXGetCurrent(h, key), 6);
    assert_string_equal(key, "echo");
    /* an undefined index */
    MDXSetActiveIndex(h, 3);
    assert_int_equal(MDXGetKeyType(h), ftVOID);
    assert_int_equal(MDXGetKeySize(h), 0);
    assert_int_equal(MDXUnque(h), 0);
    assert_int_equal(MDXGetError(h), errOK);
    assert_int_equal(MDXFind(h, "x"), -1);
    assert_int_equal(MDXGetError(h), errINIT);
    MDXClearError(h);
    assert_int_equal(MDXGetFirst(h, key), -1);
    assert_int_equal(MDXAppend(h, "x", 1), 0);
    assert_int_equal(MDXGetError(h), errINIT);
    MDXClearError(h);
    /* defining it makes it usable; defining it twice is refused */
    MDXCreateIndex(h, ftINTEGER, 2, 0, 3, 1, 1);
    assert_int_equal(MDXGetError(h), errOK);
    int16_t s = -3;
    assert_int_equal(MDXAppend(h, &s, 5), 1);
    assert_int_equal(MDXFind(h, &s), 5);
    MDXCreateIndex(h, ftINTEGER, 2, 0, 3, 1, 1);
    assert_int_equal(MDXGetError(h), errINIT);
    MDXClearError(h);
    MDXCloseFile(h);
}

static void test_compare(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_compare");
    int h = make_file(dir);
    /* STRING: strcmp order, shorter buffers than the key size are fine */
    assert_int_equal(MDXCompare(h, "abc", "abd"), -1);
    assert_int_equal(MDXCompare(h, "abd", "abc"), 1);
    assert_int_equal(MDXCompare(h, "abc", "abc"), 0);
    assert_int_equal(MDXCompare(h, "", "a"), -1);
    MDXSetActiveIndex(h, 2);
    int32_t a = -5, b = 3, c = 1000000;
    assert_int_equal(MDXCompare(h, &a, &b), -1);        /* signed */
    assert_int_equal(MDXCompare(h, &c, &b), 1);
    assert_int_equal(MDXCompare(h, &b, &b), 0);
    assert_int_equal(MDXGetError(h), errOK);
    MDXCloseFile(h);
}

/* Regression (memory safety): MDXCompare gave udb_ndx_compare buffers of
   the key size it noted when it first used the index; after another
   writer defined the index anew in the file with longer keys, the compare
   read past them. */
static void test_compare_redefined(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_compare_redef");
    int h = make_file(dir);
    assert_int_equal(MDXCompare(h, "abc", "abd"), -1); /* notes the key size, 20 */
    const char *p = path_in(dir, "test.ndx");
    size_t len;
    uint8_t *img = read_file(p, &len);
    udb_options ro;
    udb_options_init(&ro);
    ro.flags = UDB_RDONLY;
    udb_ndx *d;
    assert_int_equal(udb_ndx_open(p, &ro, &d), 0);
    const lay *L = lay_get(udb_ndx_layout(d));
    udb_ndx_close(d);
    lay_info inf;
    lay_info_decode(L, img + lay_info_off(L, 1), &inf);
    assert_int_equal(inf.keysize, KS);
    inf.keysize = 200;
    inf.keytype = UDB_KEY_BLOCK; /* compared whole (text stops at its NUL) */
    lay_info_encode(L, img + lay_info_off(L, 1), &inf);
    assert_int_equal(write_file(p, img, len), 0); /* in place: the handle maps it */
    free(img);
    struct timespec later[2] = {{0, UTIME_OMIT}, {time(NULL) + 5, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, later, 0), 0);
    assert_int_equal(MDXGetKeySize(h), 200); /* read again from the file */
    MDXCompare(h, "abc", "abc");             /* whole keys compared: no read past a buffer (ASan) */
    char k[256];
    assert_int_equal(MDXGetFirst(h, k), -1); /* the cursor is stale */
    MDXCloseFile(h);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

static void test_errors(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_errors");
    /* handles that are not open */
    assert_int_equal(MDXGetError(-1), -1);
    assert_int_equal(MDXGetError(MDX_MAX_HANDLES), -1);
    assert_int_equal(MDXGetError(17), -1);
    assert_int_equal(MDXGetFirst(17, key), -1);
    assert_int_equal(MDXFind(17, "a"), -1);
    assert_int_equal(MDXAppend(17, "a", 1), 0);
    assert_int_equal(MDXGetEOF(17), 0);
    assert_int_equal(MDXGetNumIndexes(17), 0);
    MDXCloseFile(17);
    MDXSetError(17, errREAD);
    /* a failed open still gives a handle that says why */
    int h = MDXOpenFile(path_in(dir, "missing.ndx"));
    assert_true(h >= 0);
    assert_int_equal(MDXGetError(h), errOPEN);
    assert_int_equal(MDXGetNumIndexes(h), 0);
    assert_int_equal(MDXGetEOF(h), 1);
    MDXClearError(h);
    assert_int_equal(MDXGetFirst(h, key), -1);
    assert_int_equal(MDXGetError(h), errBADFILEHANDLE);
    MDXCloseFile(h);
    assert_int_equal(MDXGetError(h), -1);
    assert_int_equal(write_file(path_in(dir, "junk.ndx"), "not an index file", 17), 0);
    h = MDXOpenFile(path_in(dir, "junk.ndx"));
    assert_true(h >= 0);
    assert_int_equal(MDXGetError(h), errBADFILEDATA);
    MDXCloseFile(h);
    /* bad arguments on a good file */
    h = make_file(dir);
    assert_int_equal(MDXAppend(h, NULL, 1), 0);
    assert_int_equal(MDXGetError(h), errPOINTER);
    MDXClearError(h);
    assert_int_equal(MDXAppend(h, "a string longer than 19", 1), 0); /* no room for the NUL */
    assert_int_equal(MDXGetError(h), errERROR);
    MDXClearError(h);
    assert_int_equal(MDXAppend(h, "negative", -7), 0);
    assert_int_equal(MDXGetError(h), errERROR);
    assert_string_equal(listing(h), "");
    MDXSetError(h, errSEEK);                            /* any number, as the original */
    assert_int_equal(MDXGetError(h), errSEEK);
    MDXClearError(h);
    MDXSetActiveIndex(h, 3);
    MDXCreateIndex(h, ftSTRING, KS, 0, 2, 1, 1);        /* max items < 3 */
    assert_int_equal(MDXGetError(h), errINIT);
    MDXCloseFile(h);
}

/* A full table: -1, and nothing is opened or created. */
static void test_handle_table(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_table");
    for (int i = 0; i < MDX_MAX_HANDLES; i++)
        assert_int_equal(MDXOpenFile(path_in(dir, "missing.ndx")), i);
    assert_int_equal(MDXOpenFile(path_in(dir, "missing.ndx")), -1);
    assert_int_equal(MDXCreateFile(path_in(dir, "new.ndx"), 1), -1);
    assert_int_equal(file_size(path_in(dir, "new.ndx")), -1);
    MDXCLoseAll();
    assert_int_equal(MDXOpenFile(path_in(dir, "missing.ndx")), 0);
    MDXCLoseAll();
}

static void test_files(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_files");
    const char *path = path_in(dir, "test.ndx");
    /* a new file has the classic layout: 3-byte header and 39-byte infos */
    int h = MDXCreateFile(path, 4);
    assert_true(h >= 0);
    MDXCloseFile(h);
    assert_int_equal(file_size(path), 3 + 4 * 39);
    /* create replaces an existing index file, as the original did */
    h = make_file(dir);
    fill(h);
    MDXFlushFile(h);
    assert_int_equal(MDXGetError(h), errOK);
    int h2 = MDXOpenFile(path);                         /* a second handle sees it all */
    assert_true(h2 >= 0 && h2 != h);
    assert_string_equal(listing(h2), "alpha/1 bravo/2 echo/6 kilo/5 kilo/4 kilo/3");
    MDXCLoseAll();
    assert_int_equal(MDXGetError(h), -1);
    assert_int_equal(MDXGetError(h2), -1);
    h = MDXOpenFile(path);
    assert_int_equal(MDXGetError(h), errOK);
    assert_int_equal(MDXGetNumIndexes(h), 3);
    assert_string_equal(listing(h), "alpha/1 bravo/2 echo/6 kilo/5 kilo/4 kilo/3");
    MDXCloseFile(h);
    h = MDXCreateFile(path, 2);
    assert_int_equal(MDXGetError(h), errOK);
    assert_int_equal(MDXGetNumIndexes(h), 2);
    assert_int_equal(MDXGetKeyType(h), ftVOID);
    MDXCloseFile(h);
    /* but not a file that is no index file */
    const char *junk = path_in(dir, "junk.dat");
    assert_int_equal(write_file(junk, "precious data", 13), 0);
    h = MDXCreateFile(junk, 2);
    assert_int_equal(MDXGetError(h), errCREATE);
    MDXCloseFile(h);
    assert_int_equal(file_size(junk), 13);
}

/* A stale cursor: another handle removed the record under it. */
static void test_two_handles(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_two");
    int h = make_file(dir);
    fill(h);
    int h2 = MDXOpenFile(path_in(dir, "test.ndx"));
    assert_int_equal(MDXFind(h, "echo"), 6);
    assert_int_equal(MDXDelete(h2, "echo"), 1);
    assert_int_equal(MDXGetCurrent(h, key), -1);
    assert_int_equal(MDXGetError(h), errPOINTER);
    MDXClearError(h);
    assert_int_equal(MDXFind(h, "echo"), -1);
    assert_int_equal(MDXGetCurrent(h, key), 5);        /* repositioned by Find */
    MDXCLoseAll();
}

/* The classic fixture written by the original: index 1 walked through the
   legacy calls lists exactly its manifest. */
static void test_classic_fixture(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_l16");
    const char *path = path_in(dir, "l16_test.ndx");
    assert_int_equal(copy_file(FIXTURES "/classic/l16_test.ndx", path), 0);
    manifest m;
    assert_int_equal(manifest_load(FIXTURES "/classic/l16_test.manifest", &m), 0);
    const msection *sec = manifest_index(&m, 1);
    assert_non_null(sec);
    int h = MDXOpenFile(path);
    assert_int_equal(MDXGetError(h), errOK);
    assert_int_equal(MDXGetNumIndexes(h), 5);
    MDXSetActiveIndex(h, 1);
    assert_int_equal(MDXGetKeyType(h), ftSTRING);
    assert_int_equal(MDXGetKeySize(h), KS);
    assert_int_equal(MDXCanDelete(h), attDELETE);
    assert_int_equal(MDXUnque(h), 0);
    size_t n = 0;
    for (int32_t dp = MDXGetFirst(h, key); dp != -1; dp = MDXGetNext(h, key), n++) {
        assert_true(n < sec->n);
        assert_string_equal(key, sec->rec[n].key);
        assert_int_equal(dp, sec->rec[n].dp);
        assert_int_equal(MDXGetEOF(h), n + 1 == sec->n);
    }
    assert_int_equal(n, sec->n);
    assert_int_equal(MDXGetError(h), errOK);
    /* and backwards from the last record */
    assert_int_equal(MDXGetCurrent(h, key), sec->rec[n - 1].dp);
    while (MDXGetPrev(h, key) != -1)
        n--;
    assert_int_equal(n, 1);
    assert_int_equal(MDXGetBOF(h), 1);
    MDXCloseFile(h);
    manifest_free(&m);
}

/* Wide files may hold positions beyond 32 bits: those calls return -1 with
   errGETFILEPOS, and DeleteCurrent then removes nothing. */
static void test_wide_positions(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_m64");
    const char *path = path_in(dir, "m64_strings.ndx");
    assert_int_equal(copy_file(FIXTURES "/wide/m64_strings.ndx", path), 0);
    manifest m;
    assert_int_equal(manifest_load(FIXTURES "/wide/m64_strings.ndx.manifest", &m), 0);
    int h = MDXOpenFile(path);
    assert_int_equal(MDXGetError(h), errOK);
    assert_int_equal(MDXGetNumIndexes(h), 3);
    size_t n = 0;
    for (int32_t dp = MDXGetFirst(h, key); dp != -1; dp = MDXGetNext(h, key))
        n++;
    assert_int_equal(n, manifest_index(&m, 1)->n);
    assert_int_equal(MDXGetError(h), errOK);
    MDXSetActiveIndex(h, 3);
    int32_t k = 0x55555555;
    assert_int_equal(MDXGetFirst(h, &k), -1);
    assert_int_equal(MDXGetError(h), errGETFILEPOS);
    assert_int_equal(k, 0x55555555);                    /* key untouched */
    MDXClearError(h);
    assert_int_equal(MDXDeleteCurrent(h), -1);
    assert_int_equal(MDXGetError(h), errGETFILEPOS);
    MDXClearError(h);
    MDXCloseFile(h);
    h = MDXOpenFile(path);
    MDXSetActiveIndex(h, 3);
    n = 0;
    while ((n ? MDXGetNext(h, &k) : MDXGetFirst(h, &k)) == -1 &&
           MDXGetError(h) == errGETFILEPOS) {
        MDXClearError(h);
        n++;
    }
    assert_int_equal(n, manifest_index(&m, 3)->n);      /* nothing was removed */
    MDXCloseFile(h);
    manifest_free(&m);
}

/* Handles used from several threads at once, one file each. */
static void *thread_body(void *arg)
{
    const char *path = arg;
    int h = MDXCreateFile(path, 1);
    MDXCreateIndex(h, ftLONGINT, 4, attDELETE, 5, 2, 4);
    int ok = MDXGetError(h) == errOK;
    for (int32_t i = 0; i < 200; i++)
        ok &= MDXAppend(h, &i, i * 3) == 1;
    for (int32_t i = 0; i < 200; i++)
        ok &= MDXFind(h, &i) == i * 3;
    MDXCloseFile(h);
    return ok ? arg : NULL;
}

static void test_threads(void **state)
{
    (void)state;
    const char *dir = scratch_dir("mdx_threads");
    enum { T = 4 };
    char paths[T][600];
    pthread_t t[T];
    for (int i = 0; i < T; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/t%d.ndx", dir, i);
        assert_int_equal(pthread_create(&t[i], NULL, thread_body, paths[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        void *r;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_ptr_equal(r, paths[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_find),   cmocka_unit_test(test_walk_flags),
        cmocka_unit_test(test_delete),        cmocka_unit_test(test_delete_current),
        cmocka_unit_test(test_unique),        cmocka_unit_test(test_active_index),
        cmocka_unit_test(test_compare),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_compare_redefined),
        cmocka_unit_test(test_handle_table),
        cmocka_unit_test(test_files),         cmocka_unit_test(test_two_handles),
        cmocka_unit_test(test_classic_fixture), cmocka_unit_test(test_wide_positions),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
