/*
 * test_layout.c — unit tests of the layout module: encoding against the
 * layout documents' example bytes, node and leaf mutators keeping the XOR
 * checksum valid against a model, key comparison per type, sentinel keys,
 * holes-table slot arithmetic, and layout detection. Also the sort of
 * positions the storage modules share (mem.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "crc32.h"
#include "layout.h"
#include "mem.h"
#include "testutil.h"

static void test_integers(void **state)
{
    (void)state;
    uint8_t b[8];
    st16(b, 0xbeef);
    assert_int_equal(b[0], 0xef);
    assert_int_equal(ld16(b), 0xbeef);
    st32(b, 0x01020304);
    assert_int_equal(b[0], 4);
    assert_int_equal(ld32(b), 0x01020304);
    st64(b, 0x0102030405060708ULL);
    assert_int_equal(b[7], 1);
    assert_true(ld64(b) == 0x0102030405060708ULL);
    const lay *C = lay_get(UDB_LAYOUT_CLASSIC), *W = lay_get(UDB_LAYOUT_WIDE);
    lay_stpos(C, b, -1);
    assert_int_equal(lay_ldpos(C, b), -1);
    assert_int_equal(ld32(b), 0xffffffffu);
    lay_stpos(W, b, (int64_t)1 << 40);
    assert_true(lay_ldpos(W, b) == (int64_t)1 << 40);
    assert_null(lay_get(0));
    assert_null(lay_get(3));
}

/* FORMAT classic 1.3: the bytes of l16_test.ndx at 0..41. */
static void test_classic_info_example(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x05, 0x05, 0x00, 0xee, 0x02, 0x00, 0x05, 0x00, 0x14, 0x00, 0x07,
                                    0x00, 0x32, 0x00, 0x00, 0x00, 0x96, 0x00, 0x00, 0x00, 0xbe, 0x1c,
                                    0x00, 0x00, 0x69, 0x64, 0x01, 0x00, 0x03, 0x00, 0xc4, 0x07, 0x00,
                                    0x00, 0x8a, 0x25, 0x00, 0x00, 0xbc, 0x23, 0x00, 0x00};
    const lay *L = lay_get(UDB_LAYOUT_CLASSIC);
    assert_true(lay_ck_ok(bytes, 3));
    assert_int_equal(lay_hdr_count(bytes), 5);
    assert_true(lay_ck_ok(bytes + 3, 39));
    lay_info f;
    lay_info_decode(L, bytes + 3, &f);
    assert_int_equal(f.attrib, 2);
    assert_int_equal(f.keytype, 5);
    assert_int_equal(f.keysize, 20);
    assert_int_equal(f.maxitems, 7);
    assert_int_equal(f.create_nodes, 50);
    assert_int_equal(f.create_leaves, 150);
    assert_int_equal(f.free_node, 7358);
    assert_int_equal(f.free_leaf, 91241);
    assert_int_equal(f.levels, 3);
    assert_int_equal(f.root, 1988);
    assert_int_equal(f.first_leaf, 9610);
    assert_int_equal(f.last_leaf, 9148);
    uint8_t again[39];
    lay_info_encode(L, again, &f);
    assert_memory_equal(again, bytes + 3, 39);
    assert_int_equal(lay_node_size(L, 20, 7), 179);
    assert_int_equal(lay_leaf_size(L, 20), 33);
}

/* FORMAT wide 3: m64_empty.ndx index 1 and its root node. */
static void test_wide_example(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = read_file(FIXTURES "/wide/m64_empty.ndx", &len);
    assert_non_null(d);
    const lay *L = lay_get(UDB_LAYOUT_WIDE);
    assert_memory_equal(d, "\x03\x03\x00", 3);
    lay_info f;
    lay_info_decode(L, d + 3, &f);
    assert_int_equal(f.keysize, 10);
    assert_int_equal(f.maxitems, 4);
    assert_int_equal(f.free_node, 295);
    assert_int_equal(f.free_leaf, 421);
    assert_int_equal(f.root, 204);
    assert_int_equal(f.first_leaf, 386);
    assert_int_equal(f.last_leaf, 386);
    assert_int_equal(d[3], 0x47); /* the document writes it in hex */
    lay_tree T;
    lay_tree_init(&T, L, 5, 10, 4);
    assert_int_equal(T.node_size, 91);
    assert_int_equal(T.leaf_size, 35);
    const uint8_t *root = d + 204;
    assert_int_equal(root[0], 0x7d);
    assert_true(lay_ck_ok(root, 91));
    assert_int_equal(lay_node_count(root), 1);
    assert_int_equal(lay_node_next(&T, root), -1);
    assert_int_equal(lay_node_child(&T, root, 0), 386);
    uint8_t eof[10];
    lay_eof_key_original(&T, eof);
    assert_memory_equal(lay_node_key(&T, root, 0), eof, 10);
    const uint8_t *leaf = d + 386;
    assert_int_equal(leaf[0], 0xff);
    assert_int_equal(lay_leaf_datapos(&T, leaf), -1);
    assert_true(lay_leaf_is_free_shape(&T, d + 421));
    assert_int_equal(lay_leaf_next(&T, d + 421), 456);
    free(d);
}

/* Node mutators against an array model; the checksum stays valid. */
static void test_node_mutators(void **state)
{
    (void)state;
    for (int layout = 1; layout <= 2; layout++) {
        lay_tree T;
        lay_tree_init(&T, lay_get(layout), UDB_KEY_BLOCK, 3, 9);
        uint8_t a[512], b[512];
        uint32_t ma[20], mb[20];
        unsigned na = 0, nb = 0, seed = 7;
        lay_node_init(&T, a, -1, -1);
        lay_node_init(&T, b, -1, -1);
        for (int step = 0; step < 20000; step++) {
            seed = seed * 1103515245 + 12345;
            unsigned r = seed >> 8, op = r % 5;
            uint8_t key[3] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16)};
            if (op == 0 && na < 9) {
                unsigned j = r % (na + 1);
                lay_node_insert(&T, a, j, key, (int64_t)r & 0xffff);
                memmove(ma + j + 1, ma + j, (na - j) * 4);
                ma[j] = r & 0xffffff;
                na++;
            } else if (op == 1 && na) {
                unsigned j = r % na;
                lay_node_remove(&T, a, j);
                memmove(ma + j, ma + j + 1, (na - j - 1) * 4);
                na--;
            } else if (op == 2 && na && nb < 9) {
                unsigned k = 1 + r % (na < 9 - nb ? na : 9 - nb);
                lay_node_shift_right(&T, a, b, k);
                memmove(mb + k, mb, nb * 4);
                memcpy(mb, ma + na - k, k * 4);
                na -= k;
                nb += k;
            } else if (op == 3 && nb && na < 9) {
                unsigned k = 1 + r % (nb < 9 - na ? nb : 9 - na);
                lay_node_shift_left(&T, b, a, k);
                memcpy(ma + na, mb, k * 4);
                memmove(mb, mb + k, (nb - k) * 4);
                nb -= k;
                na += k;
            } else if (op == 4 && na) {
                lay_node_set_next(&T, a, r);
                lay_node_set_prev(&T, b, -(int64_t)(r % 7));
                lay_node_set_key(&T, a, r % na, key);
                ma[r % na] = r & 0xffffff;
            }
            assert_true(lay_ck_ok(a, T.node_size));
            assert_true(lay_ck_ok(b, T.node_size));
            assert_int_equal(lay_node_count(a), na);
            assert_int_equal(lay_node_count(b), nb);
            for (unsigned j = 0; j < na; j++) {
                const uint8_t *k = lay_node_key(&T, a, j);
                assert_int_equal((uint32_t)(k[0] | k[1] << 8 | k[2] << 16), ma[j]);
            }
            for (unsigned j = 0; j < nb; j++) {
                const uint8_t *k = lay_node_key(&T, b, j);
                assert_int_equal((uint32_t)(k[0] | k[1] << 8 | k[2] << 16), mb[j]);
            }
        }
    }
}

static void test_leaf_mutators(void **state)
{
    (void)state;
    lay_tree T;
    lay_tree_init(&T, lay_get(UDB_LAYOUT_CLASSIC), UDB_KEY_STRING, 8, 4);
    uint8_t l[64];
    lay_leaf_init(&T, l, 100, -1, 7, (const uint8_t *)"abc\0\0\0\0");
    assert_true(lay_ck_ok(l, T.leaf_size));
    lay_leaf_set_next(&T, l, 4242);
    lay_leaf_set_prev(&T, l, 17);
    lay_leaf_set_datapos(&T, l, 99);
    lay_leaf_set_key(&T, l, (const uint8_t *)"zz\0\0\0\0\0");
    assert_true(lay_ck_ok(l, T.leaf_size));
    assert_int_equal(lay_leaf_next(&T, l), 4242);
    assert_int_equal(lay_leaf_prev(&T, l), 17);
    assert_int_equal(lay_leaf_datapos(&T, l), 99);
    assert_string_equal((const char *)lay_leaf_key(&T, l), "zz");
    lay_leaf_init_free(&T, l, 55);
    assert_true(lay_leaf_is_free_shape(&T, l));
    assert_true(lay_ck_ok(l, T.leaf_size));
}

static int cmp_of(int layout, int type, unsigned ks, const void *a, const void *b)
{
    lay_tree T;
    lay_tree_init(&T, lay_get(layout), type, ks, 4);
    int c = lay_cmp(&T, a, b);
    return (c > 0) - (c < 0);
}

static void test_compare(void **state)
{
    (void)state;
    /* BLOCK: memcmp; NUM_BLOCK: last byte most significant */
    assert_int_equal(cmp_of(2, UDB_KEY_BLOCK, 2, "\x01\xff", "\x02\x00"), -1);
    assert_int_equal(cmp_of(2, UDB_KEY_NUM_BLOCK, 2, "\x01\xff", "\x02\x00"), 1);
    /* INTEGER and LONG_INT: signed little-endian, extra bytes ignored */
    assert_int_equal(cmp_of(1, UDB_KEY_INTEGER, 3, "\xff\xff\x00", "\x00\x00\x09"), -1);
    assert_int_equal(cmp_of(1, UDB_KEY_INTEGER, 3, "\x05\x00\x01", "\x05\x00\x09"), 0);
    assert_int_equal(cmp_of(2, UDB_KEY_LONG_INT, 4, "\x00\x00\x00\x80", "\xff\xff\xff\x7f"), -1);
    /* STRING: unsigned, bytes after the NUL ignored */
    assert_int_equal(cmp_of(2, UDB_KEY_STRING, 6, "ab\0xyz", "ab\0qrs"), 0);
    assert_int_equal(cmp_of(2, UDB_KEY_STRING, 6, "ab\0xyz", "ab\x80\0\0\0"), -1);
    assert_int_equal(cmp_of(2, UDB_KEY_STRING, 3, "abc", "abd"), -1); /* no NUL: bounded */
    /* LOGICAL: only zero vs non-zero */
    assert_int_equal(cmp_of(1, UDB_KEY_LOGICAL, 1, "T", "\x01"), 0);
    assert_int_equal(cmp_of(1, UDB_KEY_LOGICAL, 1, "\0", "\x01"), -1);
    /* CHARACTER: signed in classic, unsigned in wide */
    assert_int_equal(cmp_of(1, UDB_KEY_CHARACTER, 1, "\xff", "a"), -1);
    assert_int_equal(cmp_of(2, UDB_KEY_CHARACTER, 1, "\xff", "a"), 1);
}

/* The udb sentinel is >= every key; the originals' match the documents. */
static void test_sentinels(void **state)
{
    (void)state;
    struct {
        int layout, type;
        unsigned ks;
        const char *orig;
    } cases[] = {
        {1, UDB_KEY_BLOCK, 3, "\xff\xff\xff"},     {1, UDB_KEY_NUM_BLOCK, 3, "\x7f\xff\xff"},
        {1, UDB_KEY_INTEGER, 2, "\x7f\xff"},       {1, UDB_KEY_LONG_INT, 4, "\xff\xff\xff\x7f"},
        {1, UDB_KEY_STRING, 3, "\xff\xff\0"},      {1, UDB_KEY_LOGICAL, 1, "\xff"},
        {1, UDB_KEY_CHARACTER, 1, "\xff"},         {2, UDB_KEY_INTEGER, 2, "\x7f\xff"},
        {2, UDB_KEY_LONG_INT, 6, "\xff\xff\xff\xff\xff\x7f"}, {2, UDB_KEY_CHARACTER, 1, "\xff"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lay_tree T;
        lay_tree_init(&T, lay_get(cases[i].layout), cases[i].type, cases[i].ks, 4);
        uint8_t o[8], mx[8], k[8];
        lay_eof_key_original(&T, o);
        assert_memory_equal(o, cases[i].orig, cases[i].ks);
        lay_eof_key_max(&T, mx);
        if (cases[i].ks <= 2)
            for (unsigned v = 0; v < (cases[i].ks == 1 ? 256u : 65536u); v++) {
                k[0] = (uint8_t)v;
                k[1] = (uint8_t)(v >> 8);
                if (cases[i].type == UDB_KEY_STRING && memchr(k, 0, 2) == NULL)
                    continue; /* STRING keys hold their NUL */
                assert_true(lay_cmp(&T, k, mx) <= 0);
            }
    }
    lay_tree T;
    lay_tree_init(&T, lay_get(2), UDB_KEY_INTEGER, 2, 4);
    uint8_t mx[2], orig[2];
    lay_eof_key_max(&T, mx);
    lay_eof_key_original(&T, orig);
    assert_memory_equal(mx, "\xff\x7f", 2);
    assert_int_equal((int16_t)ld16(orig), -129);
    lay_tree_init(&T, lay_get(1), UDB_KEY_CHARACTER, 1, 4);
    lay_eof_key_max(&T, mx);
    assert_int_equal(mx[0], 0x7f);
}

static void test_key_make(void **state)
{
    (void)state;
    lay_tree T;
    uint8_t out[8];
    lay_tree_init(&T, lay_get(2), UDB_KEY_STRING, 4, 4);
    assert_int_equal(lay_key_make(&T, "abc", 3, out), 0);
    assert_memory_equal(out, "abc\0", 4);
    assert_int_equal(lay_key_make(&T, "abcd", 4, out), UDB_INVAL);
    assert_int_equal(lay_key_make(&T, "ab\0cd", 5, out), 0); /* ends at the NUL */
    assert_memory_equal(out, "ab\0\0", 4);
    lay_tree_init(&T, lay_get(2), UDB_KEY_BLOCK, 4, 4);
    assert_int_equal(lay_key_make(&T, "ab", 2, out), 0);
    assert_memory_equal(out, "ab\0\0", 4);
    assert_int_equal(lay_key_make(&T, "abcde", 5, out), UDB_INVAL);
}

/* Classic record k at 7 + 8k; wide record i at 16i - 5 (record 0 lost). */
/* Keys as message text: hex for BLOCK and the other byte types, cut with
   "..." where the buffer ends; STRING quoted and escaped; numbers. */
static void test_key_text(void **state)
{
    (void)state;
    char t[160], small[16];
    uint8_t k[100];
    for (unsigned i = 0; i < sizeof k; i++)
        k[i] = (uint8_t)(i * 37 + 5);
    lay_key_text(UDB_KEY_BLOCK, k, 4, t, sizeof t);
    assert_string_equal(t, "0x052a4f74");
    lay_key_text(UDB_KEY_BLOCK, (const uint8_t *)"\0\xff", 2, t, sizeof t);
    assert_string_equal(t, "0x00ff");
    lay_key_text(UDB_KEY_BLOCK, k, 3, small, sizeof small);
    assert_string_equal(small, "0x052a4f");
    lay_key_text(UDB_KEY_BLOCK, k, 4, small, sizeof small);
    assert_string_equal(small, "0x052a4f...");
    lay_key_text(UDB_KEY_BLOCK, k, sizeof k, t, sizeof t);
    assert_int_equal(strlen(t), 2 + 2 * 75 + 3);
    assert_memory_equal(t, "0x052a4f74", 10);
    assert_string_equal(t + strlen(t) - 5, "b7...");
    lay_key_text(UDB_KEY_STRING, (const uint8_t *)"a\"b\\\x01", 5, t, sizeof t);
    assert_string_equal(t, "\"a\\\"b\\\\\\x01\"");
    lay_key_text(UDB_KEY_INTEGER, (const uint8_t *)"\xfe\xff", 2, t, sizeof t);
    assert_string_equal(t, "-2");
    lay_key_text(UDB_KEY_LONG_INT, (const uint8_t *)"\x40\x42\x0f\x00", 4, t, sizeof t);
    assert_string_equal(t, "1000000");
}

static void test_holes_tables(void **state)
{
    (void)state;
    const lay *C = lay_get(UDB_LAYOUT_CLASSIC), *W = lay_get(UDB_LAYOUT_WIDE);
    assert_int_equal(lay_table_size(C, 4), 39);
    assert_int_equal(lay_table_size(W, 4), 59);
    assert_int_equal(lay_table_capacity(C, 4), 3);
    assert_int_equal(lay_table_capacity(W, 4), 3);
    int64_t pos[3] = {20, 57, 120}, size[3] = {10, 5, 33}, p, s;
    uint8_t t[64];
    lay_table_encode(C, t, 4, 246, pos, size, 3);
    assert_true(lay_ck_ok(t, 39));
    assert_int_equal(lay_table_numused(t), 3);
    assert_int_equal(ld32(t + 15), 20); /* record 1 at offset 15 */
    assert_int_equal(ld32(t + 31), 120);
    assert_int_equal(lay_table_holes(C, t, 4), 3);
    lay_table_hole(C, t, 2, &p, &s);
    assert_int_equal(p, 57);
    assert_int_equal(s, 5);
    lay_table_encode(W, t, 4, -1, pos, size, 3);
    assert_true(lay_ck_ok(t, 59));
    assert_int_equal(lay_table_numused(t), 4); /* counts the lost record 0 */
    assert_true(ld64(t + 11) == 20);           /* record 1 at offset 11 */
    assert_true(ld64(t + 43) == 120);
    assert_int_equal(lay_table_holes(W, t, 4), 3);
    lay_table_encode(W, t, 4, -1, pos, size, 0);
    assert_int_equal(lay_table_numused(t), 0);
    assert_int_equal(lay_table_holes(W, t, 4), 0);
    /* the real fixture: classic table 1 at 207 */
    size_t len;
    uint8_t *d = read_file(FIXTURES "/classic/l16_heap.dat", &len);
    assert_int_equal(lay_heap_first_table(C, d), 207);
    assert_int_equal(lay_heap_slots(C, d), 4);
    assert_int_equal(lay_table_holes(C, d + 207, 4), 3);
    lay_table_hole(C, d + 207, 3, &p, &s);
    assert_int_equal(p, 120);
    assert_int_equal(s, 33);
    assert_int_equal(lay_table_next(C, d + 207), 246);
    free(d);
}

static void test_detect(void **state)
{
    (void)state;
    static const char *files[] = {"classic/l16_test.ndx", "classic/l16_types.ndx", "wide/m64_strings.ndx",
                                  "wide/m64_types.ndx",   "wide/m64_empty.ndx",    "wide/m64_heap.ndx",
                                  "real/test_index.ndx",  "classic/l16_heap.dat",  "wide/m64_heap.dat"};
    static const int want[][2] = {{1, 1}, {1, 1}, {1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}, {2, 1}, {2, 2}};
    char why[400], path[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        int kind, layout;
        snprintf(path, sizeof path, FIXTURES "/%s", files[i]);
        uint8_t *d = read_file(path, &len);
        assert_int_equal(lay_detect(d, len, 0, 0, &kind, &layout, why, sizeof why), 0);
        assert_int_equal(kind, want[i][0]);
        assert_int_equal(layout, want[i][1]);
        /* forcing the other layout is refused */
        assert_int_equal(lay_detect(d, len, kind, 3 - layout, &kind, &layout, why, sizeof why), UDB_FORMAT);
        free(d);
    }
    uint8_t zero[64] = {0};
    int kind, layout;
    assert_int_equal(lay_detect(zero, 0, 0, 0, &kind, &layout, why, sizeof why), UDB_FORMAT);
    assert_int_equal(lay_detect(zero, 64, 0, 0, &kind, &layout, why, sizeof why), UDB_FORMAT);
    assert_non_null(strstr(why, "not a udb file"));
}

/* udb_crc32 computes exactly zlib's crc32, also when continued. */
static void test_crc32(void **state)
{
    (void)state;
    static uint8_t b[5000];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(i * 131 + (i >> 3) + (i >> 11));
    static const size_t big[] = {63, 64, 65, 79, 80, 100, 127, 128, 141, 4096, 4128, 4990};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) /* the folding path and its tail */
        for (size_t off = 0; off < 3; off++)
            assert_int_equal(udb_crc32(0, b + off, big[i]), (uint32_t)crc32(0, b + off, (uInt)big[i]));
    for (size_t n = 0; n < 700; n += 7)
        for (size_t off = 0; off < 9; off++) {
            assert_int_equal(udb_crc32(0, b + off, n), (uint32_t)crc32(0, b + off, (uInt)n));
            uint32_t half = udb_crc32(0, b + off, n / 3);
            assert_int_equal(udb_crc32(half, b + off + n / 3, n - n / 3), (uint32_t)crc32(0, b + off, (uInt)n));
        }
    assert_int_equal(udb_crc32(0, "123456789", 9), 0xcbf43926u); /* the standard check value */
}

/* mem_sort_pos: elements of 8 and 16 bytes, few and many, positions of
   every width; every element keeps its second word, nothing is lost. */
static void test_sort_pos(void **state)
{
    (void)state;
    const size_t ns[] = {0, 1, 2, 255, 256, 1000, 70000};
    const unsigned bits[] = {8, 31, 40, 62};
    uint64_t r = 0x9e3779b97f4a7c15ULL;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof bits / sizeof *bits; b++)
            for (size_t size = 8; size <= 16; size += 8) {
                size_t n = ns[a], w = size / 8;
                int64_t *v = malloc((n ? n : 1) * size);
                assert_non_null(v);
                uint64_t sum = 0;
                for (size_t i = 0; i < n; i++) {
                    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                    v[i * w] = (int64_t)(r >> (64 - bits[b]));
                    if (w == 2)
                        v[i * w + 1] = v[i * w] ^ 0x5555;
                    sum += (uint64_t)v[i * w];
                }
                assert_int_equal(mem_sort_pos(v, n, size), 0);
                for (size_t i = 0; i < n; i++) {
                    if (i)
                        assert_true(v[(i - 1) * w] <= v[i * w]);
                    if (w == 2)
                        assert_true(v[i * w + 1] == (v[i * w] ^ 0x5555));
                    sum -= (uint64_t)v[i * w];
                }
                assert_true(sum == 0);
                free(v);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),     cmocka_unit_test(test_classic_info_example),
        cmocka_unit_test(test_wide_example), cmocka_unit_test(test_node_mutators),
        cmocka_unit_test(test_leaf_mutators), cmocka_unit_test(test_compare),
        cmocka_unit_test(test_sentinels),    cmocka_unit_test(test_key_make),
        cmocka_unit_test(test_holes_tables), cmocka_unit_test(test_detect),
        cmocka_unit_test(test_crc32),        cmocka_unit_test(test_key_text),
        cmocka_unit_test(test_sort_pos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
