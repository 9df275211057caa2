/*
 * layout.h — the two on-disk layouts: classic (EMDX, 32-bit positions) and
 * wide (UDB 2025, 64-bit positions).
 *
 * Owns: every byte offset, little-endian encode/decode of every structure,
 * XOR checksums (kept up to date incrementally by every mutator), EOF sentinel
 * keys, key comparison per type, and layout detection.
 * Must not: do I/O, allocate memory, or know about tree shape beyond one
 * structure at a time. Nothing is ever memcpy'd between a C struct and disk.
 *
 * Checksums: byte 0 of every structure makes the XOR of all its bytes zero.
 * XOR does not depend on byte positions, so moving bytes inside a structure
 * never changes the checksum; the mutators only account for bytes that are
 * created or destroyed.
 */
#ifndef UDB_LAYOUT_H
#define UDB_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "endian.h"
#include "udb.h"

/* ---- layout description ---------------------------------------------------- */
typedef struct lay {
    int kind;               /* UDB_LAYOUT_CLASSIC or UDB_LAYOUT_WIDE */
    const char *name;       /* "classic" / "wide" */
    unsigned psz;           /* bytes per stored position: 4 or 8 */
    unsigned info_size;     /* 39 / 67 */
    unsigned heap_hdr_size; /* 7 / 11 */
} lay;

const lay *lay_get(int kind); /* NULL for an unknown kind */

static inline int64_t lay_ldpos(const lay *L, const uint8_t *p)
{
    return L->psz == 4 ? (int64_t)(int32_t)ld32(p) : (int64_t)ld64(p);
}
static inline void lay_stpos(const lay *L, uint8_t *p, int64_t v)
{
    if (L->psz == 4)
        st32(p, (uint32_t)(int32_t)v);
    else
        st64(p, (uint64_t)v);
}
/* Largest position the layout can store. */
static inline int64_t lay_maxpos(const lay *L) { return L->psz == 4 ? INT32_MAX : INT64_MAX; }
/* The lowest a leaf can hold (the API takes none below 0; repair and
   convert keep what an original wrote). */
static inline int64_t lay_minpos(const lay *L) { return L->psz == 4 ? INT32_MIN : INT64_MIN; }

/* ---- checksums ------------------------------------------------------------- */
static inline uint8_t lay_xor(const void *p, size_t n) /* inline: sizes are often constants */
{
    const uint8_t *b = p;
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        acc ^= w;
    }
    uint8_t x = 0;
    for (; i < n; i++)
        x ^= b[i];
    acc ^= acc >> 32;
    acc ^= acc >> 16;
    acc ^= acc >> 8;
    return (uint8_t)(x ^ (uint8_t)acc);
}
static inline int lay_ck_ok(const uint8_t *p, size_t n) { return lay_xor(p, n) == 0; }
void lay_ck_fix(uint8_t *p, size_t n); /* recompute byte 0 over n bytes */
/* Overwrite n bytes at dst (inside the structure starting at base, not
   byte 0) with src, keeping the checksum valid. */
static inline void lay_ck_put(uint8_t *base, uint8_t *dst, const void *src, size_t n)
{
    base[0] ^= (uint8_t)(lay_xor(dst, n) ^ lay_xor(src, n));
    memmove(dst, src, n);
}

/* ---- MultiIndex file header and index infos -------------------------------- */
#define LAY_HDR_SIZE 3u
static inline unsigned lay_hdr_count(const uint8_t *p) { return ld16(p + 1); }
void lay_hdr_encode(uint8_t *p, unsigned num_indexes);
static inline uint64_t lay_info_off(const lay *L, unsigned index1)
{
    return LAY_HDR_SIZE + (uint64_t)L->info_size * (index1 - 1);
}
static inline uint64_t lay_body_off(const lay *L, unsigned count)
{
    return LAY_HDR_SIZE + (uint64_t)L->info_size * count;
}

typedef struct lay_info {
    unsigned attrib, keytype, keysize, maxitems;
    int64_t create_nodes, create_leaves;
    int64_t free_node, free_leaf;
    unsigned levels;
    int64_t root, first_leaf, last_leaf;
} lay_info;

void lay_info_decode(const lay *L, const uint8_t *p, lay_info *out);
void lay_info_encode(const lay *L, uint8_t *p, const lay_info *in); /* + checksum */

/* ---- per-index geometry and keys ------------------------------------------- */
typedef struct lay_tree {
    const lay *L;
    int keytype;
    unsigned ks;            /* key size */
    unsigned maxitems;
    unsigned psz;
    unsigned hdr;           /* node header bytes: 11 / 19 */
    unsigned item;          /* bytes per node item: ks + psz */
    size_t node_size;       /* hdr + maxitems * item */
    size_t leaf_size;       /* 1 + 3*psz + ks */
    int signed_char;        /* CHARACTER compared as signed (classic) */
} lay_tree;

size_t lay_node_size(const lay *L, unsigned ks, unsigned maxitems);
size_t lay_leaf_size(const lay *L, unsigned ks);
void lay_tree_init(lay_tree *T, const lay *L, int keytype, unsigned ks, unsigned maxitems);

/* BLOCK order (memcmp) eight bytes at a time: the hot comparison. */
/* The first 4 bytes of a BLOCK key as a number that orders like the key
   (zero-padded): equal prefixes say nothing, different ones decide. */
static inline uint32_t lay_block_prefix(const uint8_t *k, unsigned ks)
{
    uint32_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (ks >= 4) {
        memcpy(&v, k, 4);
        return __builtin_bswap32(v);
    }
#endif
    for (unsigned i = 0; i < 4; i++)
        v = v << 8 | (i < ks ? k[i] : 0);
    return v;
}

static inline int lay_block_cmp(const uint8_t *a, const uint8_t *b, unsigned ks)
{
    unsigned i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= ks; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
    }
#endif
    for (; i < ks; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* Key comparison of the index's type: <0, 0, >0. */
int lay_cmp(const lay_tree *T, const uint8_t *a, const uint8_t *b);
/* The EOF key the original implementation wrote for this type. */
void lay_eof_key_original(const lay_tree *T, uint8_t *out);
/* The true maximum under lay_cmp: the sentinel udb writes. */
void lay_eof_key_max(const lay_tree *T, uint8_t *out);
/* Smallest key size the type needs (INTEGER 2, LONG_INT 4, others 1). */
unsigned lay_min_keysize(int keytype);
/* Normalise a user key into a keysize buffer: STRING gets its text and
   zero padding (text must be shorter than ks), others are zero-padded.
   Returns 0 or UDB_INVAL. */
int lay_key_make(const lay_tree *T, const void *key, size_t len, uint8_t *out);
/* A key of ks bytes as text for messages, at most len - 1 bytes (len >= 16):
   STRING quoted with escapes, INTEGER and LONG_INT as numbers, anything
   else as 0x and hex bytes; a long key is cut and ends in "...". */
void lay_key_text(int keytype, const uint8_t *key, unsigned ks, char *out, size_t len);

/* ---- nodes ------------------------------------------------------------------ */
static inline unsigned lay_node_count(const uint8_t *n) { return ld16(n + 1); }
static inline int64_t lay_node_next(const lay_tree *T, const uint8_t *n) { return lay_ldpos(T->L, n + 3); }
static inline int64_t lay_node_prev(const lay_tree *T, const uint8_t *n) { return lay_ldpos(T->L, n + 3 + T->psz); }
static inline const uint8_t *lay_node_key(const lay_tree *T, const uint8_t *n, unsigned j)
{
    return n + T->hdr + (size_t)j * T->item;
}
static inline int64_t lay_node_child(const lay_tree *T, const uint8_t *n, unsigned j)
{
    return lay_ldpos(T->L, n + T->hdr + (size_t)j * T->item + T->ks);
}

void lay_node_set_count(const lay_tree *T, uint8_t *n, unsigned count);
void lay_node_set_next(const lay_tree *T, uint8_t *n, int64_t pos);
void lay_node_set_prev(const lay_tree *T, uint8_t *n, int64_t pos);
void lay_node_set_key(const lay_tree *T, uint8_t *n, unsigned j, const uint8_t *key);
void lay_node_set_child(const lay_tree *T, uint8_t *n, unsigned j, int64_t child);
/* Insert an item at j (count must be < maxitems); count grows by one. */
void lay_node_insert(const lay_tree *T, uint8_t *n, unsigned j, const uint8_t *key, int64_t child);
/* Bulk building: the same at the end, without keeping the checksum (the
   builder fixes it with lay_ck_fix when the node is complete). */
void lay_node_append_raw(const lay_tree *T, uint8_t *n, const uint8_t *key, int64_t child);
/* Remove item j; count shrinks by one; the freed slot keeps stale bytes. */
void lay_node_remove(const lay_tree *T, uint8_t *n, unsigned j);
/* Move k items: the last k of src to the front of dst, or the first k of
   src to the end of dst. Counts of both are updated. */
void lay_node_shift_right(const lay_tree *T, uint8_t *src, uint8_t *dst, unsigned k);
void lay_node_shift_left(const lay_tree *T, uint8_t *src, uint8_t *dst, unsigned k);
/* A node in the tree: zero items, given links, valid checksum. */
void lay_node_init(const lay_tree *T, uint8_t *n, int64_t next, int64_t prev);
/* A free node as the originals write it: zeros, next = next free. */
void lay_node_init_free(const lay_tree *T, uint8_t *n, int64_t next_free);
/* 1 when the bytes have the shape of a free node. */
int lay_node_is_free_shape(const lay_tree *T, const uint8_t *n);

/* ---- leaves ----------------------------------------------------------------- */
static inline int64_t lay_leaf_next(const lay_tree *T, const uint8_t *l) { return lay_ldpos(T->L, l + 1); }
static inline int64_t lay_leaf_prev(const lay_tree *T, const uint8_t *l) { return lay_ldpos(T->L, l + 1 + T->psz); }
static inline int64_t lay_leaf_datapos(const lay_tree *T, const uint8_t *l) { return lay_ldpos(T->L, l + 1 + 2 * T->psz); }
static inline const uint8_t *lay_leaf_key(const lay_tree *T, const uint8_t *l) { return l + 1 + 3 * T->psz; }

void lay_leaf_set_next(const lay_tree *T, uint8_t *l, int64_t pos);
void lay_leaf_set_prev(const lay_tree *T, uint8_t *l, int64_t pos);
void lay_leaf_set_key(const lay_tree *T, uint8_t *l, const uint8_t *key);
void lay_leaf_set_datapos(const lay_tree *T, uint8_t *l, int64_t dp);
void lay_leaf_init(const lay_tree *T, uint8_t *l, int64_t next, int64_t prev, int64_t datapos,
                   const uint8_t *key);
void lay_leaf_init_free(const lay_tree *T, uint8_t *l, int64_t next_free);
int lay_leaf_is_free_shape(const lay_tree *T, const uint8_t *l);

/* ---- heap file -------------------------------------------------------------- */
/* Header: checksum, first holes table, slots per table. */
int64_t lay_heap_first_table(const lay *L, const uint8_t *hdr);
unsigned lay_heap_slots(const lay *L, const uint8_t *hdr);
void lay_heap_hdr_encode(const lay *L, uint8_t *hdr, int64_t first_table, unsigned slots);
void lay_heap_hdr_set_first(const lay *L, uint8_t *hdr, int64_t first_table);
/* Bytes of one holes table on disk: classic 7 + 8*slots, wide 16*slots - 5. */
size_t lay_table_size(const lay *L, unsigned slots);
/* Records a table can hold that the original reads back: slots - 1. */
unsigned lay_table_capacity(const lay *L, unsigned slots);
static inline unsigned lay_table_numused(const uint8_t *t) { return ld16(t + 1); }
static inline int64_t lay_table_next(const lay *L, const uint8_t *t) { return lay_ldpos(L, t + 3); }
/* Readable holes in a table as the original reads them back: records
   1..count (classic: numused; wide: numused - 1, record 0 is lost). */
unsigned lay_table_holes(const lay *L, const uint8_t *t, unsigned slots);
/* Hole r (1-based, r <= lay_table_holes) and its slot number as stored. */
void lay_table_hole(const lay *L, const uint8_t *t, unsigned r, int64_t *pos, int64_t *size);
/* Change readable hole r (1-based) in place / the number of holes / the
   next link; the checksum stays valid. */
void lay_table_set_hole(const lay *L, uint8_t *t, unsigned r, int64_t pos, int64_t size);
void lay_table_set_count(const lay *L, uint8_t *t, unsigned n);
void lay_table_set_next(const lay *L, uint8_t *t, int64_t next);
/* Rewrite a whole table: n holes (n <= capacity), next link; valid checksum. */
void lay_table_encode(const lay *L, uint8_t *t, unsigned slots, int64_t next,
                      const int64_t *pos, const int64_t *size, unsigned n);

/* ---- record frames (udb's own format inside a store's heap) --------------
 *  0 tag: 0xA5 plain record, 0xA7 compressed record, 0xD5 store descriptor
 *  1 u32 bytes of payload as stored    5 u32 crc32 of the stored payload
 *  9 u32 length before compression (compressed records only)
 *  then the record's keys (every index's; in a store of descriptor version 1
 *  only with two or more indexes), the leaf hints (two or more indexes),
 *  then the payload
 */
enum { LAY_FRAME_PLAIN = 0xA5, LAY_FRAME_DEFLATE = 0xA7, LAY_FRAME_STORE = 0xD5 };

typedef struct lay_frame {
    unsigned tag;
    uint32_t stored, raw, crc;
    size_t hdr;                 /* bytes before the keys */
} lay_frame;

static inline size_t lay_frame_hdr_size(unsigned tag) { return tag == LAY_FRAME_DEFLATE ? 13 : 9; }
void lay_frame_encode(uint8_t *p, const lay_frame *f);
/* 0 and *f filled, or -1 when the bytes (avail of them) are not a frame. */
int lay_frame_decode(const uint8_t *p, size_t avail, lay_frame *f);

/* The store descriptor's payload: "udbstore", version, flags, index count;
   from version 2 on, one definition per index (key type, key size,
   attributes, max items: 2 bytes each; node and leaf batches: 4 bytes each). */
#define LAY_STORE_DESC_SIZE 14u
#define LAY_STORE_DEF_SIZE 16u
enum { LAY_STORE_COMPRESS = 1, LAY_STORE_KEYED = 2 };
typedef struct lay_store_desc {
    unsigned version;           /* 1 (udb 0.1) or 2 */
    unsigned flags;             /* LAY_STORE_*: KEYED = every frame holds
                                   every index's key, also with one index */
    unsigned nidx;
} lay_store_desc;
/* Payload bytes of a version-2 descriptor of nidx indexes. */
static inline size_t lay_store_desc_size(unsigned nidx)
{
    return LAY_STORE_DESC_SIZE + (size_t)LAY_STORE_DEF_SIZE * nidx;
}
/* A version-2 descriptor (lay_store_desc_size(nidx) bytes). */
void lay_store_desc_encode(uint8_t *p, unsigned flags, unsigned nidx, const udb_index_def *defs);
/* A payload of len bytes: 0 and *d filled (and, version 2, d->nidx
   definitions into defs when not NULL), or -1 when it is not a descriptor
   of a version udb reads, names 0 or more than max indexes, or its length
   does not match. */
int lay_store_desc_decode(const uint8_t *p, size_t len, unsigned max, lay_store_desc *d,
                          udb_index_def *defs);
/* 1 when the avail bytes at p begin with a store descriptor's frame (the
   tag and "udbstore"; nothing else is checked). */
int lay_store_desc_frame(const uint8_t *p, size_t avail);

/* ---- detection ---------------------------------------------------------------- */
enum { LAY_FILE_NDX = 1, LAY_FILE_HEAP = 2 };

/* Decide what a file is from its bytes. want_kind 0 = either, want_layout
   UDB_LAYOUT_AUTO = either. Returns 0 and sets *kind and *layout, or
   UDB_FORMAT with the reason in why. */
int lay_detect(const uint8_t *data, uint64_t size, int want_kind, int want_layout, int *kind,
               int *layout, char *why, size_t whylen);

#endif
