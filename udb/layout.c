/*
 * layout.c — encode/decode of every on-disk structure of both layouts, XOR
 * checksums, sentinel keys, key comparison, keys as text for messages and
 * layout detection.
 * Owns byte offsets; must not do I/O or allocate.
 */
#include <stdio.h>
#include "layout.h"

static const lay lay_classic = {UDB_LAYOUT_CLASSIC, "classic", 4, 39, 7};
static const lay lay_wide = {UDB_LAYOUT_WIDE, "wide", 8, 67, 11};

const lay *lay_get(int kind)
{
    return kind == UDB_LAYOUT_CLASSIC ? &lay_classic : kind == UDB_LAYOUT_WIDE ? &lay_wide : NULL;
}

/* ---- checksums ------------------------------------------------------------ */
void lay_ck_fix(uint8_t *p, size_t n)
{
    p[0] = 0;
    p[0] = lay_xor(p, n);
}

static void put_pos(const lay *L, uint8_t *base, uint8_t *dst, int64_t v)
{
    uint8_t tmp[8];
    lay_stpos(L, tmp, v);
    if (L->psz == 8) /* the two sizes as constants: lay_ck_put inlines to a few words */
        lay_ck_put(base, dst, tmp, 8);
    else
        lay_ck_put(base, dst, tmp, 4);
}

/* ---- header and infos -------------------------------------------------------- */
void lay_hdr_encode(uint8_t *p, unsigned num_indexes)
{
    st16(p + 1, (uint16_t)num_indexes);
    lay_ck_fix(p, LAY_HDR_SIZE);
}

/* Info field offsets: both layouts share 0..8; then positions of psz bytes. */
void lay_info_decode(const lay *L, const uint8_t *p, lay_info *o)
{
    unsigned s = L->psz;
    o->attrib = ld16(p + 1);
    o->keytype = ld16(p + 3);
    o->keysize = ld16(p + 5);
    o->maxitems = ld16(p + 7);
    o->create_nodes = lay_ldpos(L, p + 9);
    o->create_leaves = lay_ldpos(L, p + 9 + s);
    o->free_node = lay_ldpos(L, p + 9 + 2 * s);
    o->free_leaf = lay_ldpos(L, p + 9 + 3 * s);
    o->levels = ld16(p + 9 + 4 * s);
    o->root = lay_ldpos(L, p + 11 + 4 * s);
    o->first_leaf = lay_ldpos(L, p + 11 + 5 * s);
    o->last_leaf = lay_ldpos(L, p + 11 + 6 * s);
}

void lay_info_encode(const lay *L, uint8_t *p, const lay_info *in)
{
    unsigned s = L->psz;
    st16(p + 1, (uint16_t)in->attrib);
    st16(p + 3, (uint16_t)in->keytype);
    st16(p + 5, (uint16_t)in->keysize);
    st16(p + 7, (uint16_t)in->maxitems);
    lay_stpos(L, p + 9, in->create_nodes);
    lay_stpos(L, p + 9 + s, in->create_leaves);
    lay_stpos(L, p + 9 + 2 * s, in->free_node);
    lay_stpos(L, p + 9 + 3 * s, in->free_leaf);
    st16(p + 9 + 4 * s, (uint16_t)in->levels);
    lay_stpos(L, p + 11 + 4 * s, in->root);
    lay_stpos(L, p + 11 + 5 * s, in->first_leaf);
    lay_stpos(L, p + 11 + 6 * s, in->last_leaf);
    lay_ck_fix(p, L->info_size);
}

/* ---- geometry and keys ---------------------------------------------------------- */
size_t lay_node_size(const lay *L, unsigned ks, unsigned maxitems)
{
    return 3 + 2 * (size_t)L->psz + (size_t)maxitems * (ks + L->psz);
}

size_t lay_leaf_size(const lay *L, unsigned ks)
{
    return 1 + 3 * (size_t)L->psz + ks;
}

void lay_tree_init(lay_tree *T, const lay *L, int keytype, unsigned ks, unsigned maxitems)
{
    T->L = L;
    T->keytype = keytype;
    T->ks = ks;
    T->maxitems = maxitems;
    T->psz = L->psz;
    T->hdr = 3 + 2 * L->psz;
    T->item = ks + L->psz;
    T->node_size = lay_node_size(L, ks, maxitems);
    T->leaf_size = lay_leaf_size(L, ks);
    T->signed_char = L->kind == UDB_LAYOUT_CLASSIC;
}

unsigned lay_min_keysize(int keytype)
{
    return keytype == UDB_KEY_INTEGER ? 2 : keytype == UDB_KEY_LONG_INT ? 4 : 1;
}

static int cmp_string(const uint8_t *a, const uint8_t *b, unsigned ks)
{
    for (unsigned i = 0; i < ks; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
        if (a[i] == 0)
            return 0;
    }
    return 0;
}

static int cmp_numblock(const uint8_t *a, const uint8_t *b, unsigned ks)
{
    for (unsigned i = ks; i-- > 0;)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

int lay_cmp(const lay_tree *T, const uint8_t *a, const uint8_t *b)
{
    switch (T->keytype) {
    case UDB_KEY_BLOCK:
        return lay_block_cmp(a, b, T->ks);
    case UDB_KEY_NUM_BLOCK:
        return cmp_numblock(a, b, T->ks);
    case UDB_KEY_INTEGER: {
        int16_t x = (int16_t)ld16(a), y = (int16_t)ld16(b);
        return (x > y) - (x < y);
    }
    case UDB_KEY_LONG_INT: {
        int32_t x = (int32_t)ld32(a), y = (int32_t)ld32(b);
        return (x > y) - (x < y);
    }
    case UDB_KEY_STRING:
        return cmp_string(a, b, T->ks);
    case UDB_KEY_LOGICAL:
        return (a[0] != 0) - (b[0] != 0);
    case UDB_KEY_CHARACTER:
        if (T->signed_char) {
            int x = (int8_t)a[0], y = (int8_t)b[0];
            return (x > y) - (x < y);
        }
        return (a[0] > b[0]) - (a[0] < b[0]);
    default:
        return 0;
    }
}

void lay_eof_key_original(const lay_tree *T, uint8_t *k)
{
    unsigned ks = T->ks;
    memset(k, 0xff, ks);
    switch (T->keytype) {
    case UDB_KEY_STRING:
        k[ks - 1] = 0;
        break;
    case UDB_KEY_NUM_BLOCK:
    case UDB_KEY_INTEGER:
        k[0] &= 0x7f;
        break;
    case UDB_KEY_LONG_INT:
        k[ks - 1] &= 0x7f;
        break;
    default:
        break;
    }
}

void lay_eof_key_max(const lay_tree *T, uint8_t *k)
{
    unsigned ks = T->ks;
    memset(k, 0xff, ks);
    switch (T->keytype) {
    case UDB_KEY_STRING:
        k[ks - 1] = 0;
        break;
    case UDB_KEY_INTEGER:
        if (ks >= 2)
            k[1] = 0x7f;
        break;
    case UDB_KEY_LONG_INT:
        if (ks >= 4)
            k[3] = 0x7f;
        break;
    case UDB_KEY_CHARACTER:
        if (T->signed_char)
            k[0] = 0x7f;
        break;
    default:
        break;
    }
}

int lay_key_make(const lay_tree *T, const void *key, size_t len, uint8_t *out)
{
    if (T->keytype == UDB_KEY_STRING) {
        const uint8_t *s = key;
        size_t n = 0;
        while (n < len && s[n])
            n++;
        if (n >= T->ks)
            return UDB_INVAL;
        memset(out, 0, T->ks);
        memcpy(out, s, n);
        return 0;
    }
    if (len > T->ks)
        return UDB_INVAL;
    memset(out, 0, T->ks);
    memcpy(out, key, len);
    return 0;
}

void lay_key_text(int keytype, const uint8_t *key, unsigned ks, char *out, size_t len)
{
    size_t n = 0, max = len - 8;
    unsigned i = 0;
    if (keytype == UDB_KEY_INTEGER && ks >= 2) {
        snprintf(out, len, "%d", (int16_t)(key[0] | key[1] << 8));
        return;
    }
    if (keytype == UDB_KEY_LONG_INT && ks >= 4) {
        snprintf(out, len, "%ld", (long)(int32_t)((uint32_t)key[0] | (uint32_t)key[1] << 8 |
                                                  (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24));
        return;
    }
    if (keytype != UDB_KEY_STRING) {
        static const char hex[] = "0123456789abcdef"; /* no printf per byte: a lookup
                                                         that misses formats this */
        n += (size_t)snprintf(out, len, "0x");
        for (; i < ks && n < max; i++) {
            out[n++] = hex[key[i] >> 4];
            out[n++] = hex[key[i] & 15];
        }
        out[n] = 0;
    } else {
        out[n++] = '"';
        for (; i < ks && key[i] && n < max; i++) {
            int ch = key[i];
            if (ch == '"' || ch == '\\')
                n += (size_t)snprintf(out + n, len - n, "\\%c", ch);
            else if (ch >= 0x20 && ch <= 0x7e)
                out[n++] = (char)ch;
            else
                n += (size_t)snprintf(out + n, len - n, "\\x%02x", ch);
        }
        out[n++] = '"';
    }
    int cut = i < ks && (keytype != UDB_KEY_STRING || key[i]);
    snprintf(out + n, len - n, "%s", cut ? "..." : "");
}

/* ---- nodes ------------------------------------------------------------------------ */
static uint8_t *item_at(const lay_tree *T, uint8_t *n, unsigned j)
{
    return n + T->hdr + (size_t)j * T->item;
}

void lay_node_set_count(const lay_tree *T, uint8_t *n, unsigned count)
{
    (void)T;
    uint8_t tmp[2];
    st16(tmp, (uint16_t)count);
    lay_ck_put(n, n + 1, tmp, 2);
}

void lay_node_set_next(const lay_tree *T, uint8_t *n, int64_t pos) { put_pos(T->L, n, n + 3, pos); }
void lay_node_set_prev(const lay_tree *T, uint8_t *n, int64_t pos) { put_pos(T->L, n, n + 3 + T->psz, pos); }

void lay_node_set_key(const lay_tree *T, uint8_t *n, unsigned j, const uint8_t *key)
{
    lay_ck_put(n, item_at(T, n, j), key, T->ks);
}

void lay_node_set_child(const lay_tree *T, uint8_t *n, unsigned j, int64_t child)
{
    put_pos(T->L, n, item_at(T, n, j) + T->ks, child);
}

void lay_node_insert(const lay_tree *T, uint8_t *n, unsigned j, const uint8_t *key, int64_t child)
{
    unsigned cnt = lay_node_count(n);
    uint8_t *at = item_at(T, n, j);
    /* the stale slot at cnt is destroyed, the new item created */
    n[0] ^= lay_xor(item_at(T, n, cnt), T->item);
    memmove(at + T->item, at, (size_t)(cnt - j) * T->item);
    memcpy(at, key, T->ks);
    lay_stpos(T->L, at + T->ks, child);
    n[0] ^= lay_xor(at, T->item);
    lay_node_set_count(T, n, cnt + 1);
}

void lay_node_append_raw(const lay_tree *T, uint8_t *n, const uint8_t *key, int64_t child)
{
    unsigned cnt = lay_node_count(n);
    uint8_t *at = item_at(T, n, cnt);
    memcpy(at, key, T->ks);
    lay_stpos(T->L, at + T->ks, child);
    st16(n + 1, (uint16_t)(cnt + 1));
}

void lay_node_remove(const lay_tree *T, uint8_t *n, unsigned j)
{
    unsigned cnt = lay_node_count(n);
    uint8_t *at = item_at(T, n, j);
    /* item j disappears; the last item stays behind as a stale copy */
    n[0] ^= lay_xor(at, T->item) ^ lay_xor(item_at(T, n, cnt - 1), T->item);
    memmove(at, at + T->item, (size_t)(cnt - 1 - j) * T->item);
    lay_node_set_count(T, n, cnt - 1);
}

void lay_node_shift_right(const lay_tree *T, uint8_t *src, uint8_t *dst, unsigned k)
{
    unsigned sc = lay_node_count(src), dc = lay_node_count(dst);
    size_t bytes = (size_t)k * T->item;
    uint8_t *moved = item_at(T, src, sc - k);
    dst[0] ^= lay_xor(item_at(T, dst, dc), bytes) ^ lay_xor(moved, bytes);
    memmove(item_at(T, dst, k), item_at(T, dst, 0), (size_t)dc * T->item);
    memcpy(item_at(T, dst, 0), moved, bytes);
    lay_node_set_count(T, dst, dc + k);
    lay_node_set_count(T, src, sc - k);
}

void lay_node_shift_left(const lay_tree *T, uint8_t *src, uint8_t *dst, unsigned k)
{
    unsigned sc = lay_node_count(src), dc = lay_node_count(dst);
    size_t bytes = (size_t)k * T->item;
    dst[0] ^= lay_xor(item_at(T, dst, dc), bytes) ^ lay_xor(item_at(T, src, 0), bytes);
    memcpy(item_at(T, dst, dc), item_at(T, src, 0), bytes);
    lay_node_set_count(T, dst, dc + k);
    src[0] ^= lay_xor(item_at(T, src, 0), bytes) ^ lay_xor(item_at(T, src, sc - k), bytes);
    memmove(item_at(T, src, 0), item_at(T, src, k), (size_t)(sc - k) * T->item);
    lay_node_set_count(T, src, sc - k);
}

void lay_node_init(const lay_tree *T, uint8_t *n, int64_t next, int64_t prev)
{
    memset(n, 0, T->node_size);
    lay_stpos(T->L, n + 3, next);
    lay_stpos(T->L, n + 3 + T->psz, prev);
    lay_ck_fix(n, T->node_size);
}

void lay_node_init_free(const lay_tree *T, uint8_t *n, int64_t next_free)
{
    lay_node_init(T, n, next_free, -1);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int lay_node_is_free_shape(const lay_tree *T, const uint8_t *n)
{
    return lay_node_count(n) == 0 && lay_node_prev(T, n) == -1;
}

/* ---- leaves ------------------------------------------------------------------------ */
void lay_leaf_set_next(const lay_tree *T, uint8_t *l, int64_t pos) { put_pos(T->L, l, l + 1, pos); }
void lay_leaf_set_prev(const lay_tree *T, uint8_t *l, int64_t pos) { put_pos(T->L, l, l + 1 + T->psz, pos); }

void lay_leaf_set_datapos(const lay_tree *T, uint8_t *l, int64_t dp)
{
    put_pos(T->L, l, l + 1 + 2 * T->psz, dp);
}

void lay_leaf_set_key(const lay_tree *T, uint8_t *l, const uint8_t *key)
{
    lay_ck_put(l, l + 1 + 3 * T->psz, key, T->ks);
}

void lay_leaf_init(const lay_tree *T, uint8_t *l, int64_t next, int64_t prev, int64_t datapos,
                   const uint8_t *key)
{
    unsigned s = T->psz;
    lay_stpos(T->L, l + 1, next);
    lay_stpos(T->L, l + 1 + s, prev);
    lay_stpos(T->L, l + 1 + 2 * s, datapos);
    if (key)
        memcpy(l + 1 + 3 * s, key, T->ks);
    else
        memset(l + 1 + 3 * s, 0, T->ks);
    lay_ck_fix(l, T->leaf_size);
}

void lay_leaf_init_free(const lay_tree *T, uint8_t *l, int64_t next_free)
{
    lay_leaf_init(T, l, next_free, -1, 0, NULL);
}

int lay_leaf_is_free_shape(const lay_tree *T, const uint8_t *l)
{
    return lay_leaf_prev(T, l) == -1 && lay_leaf_datapos(T, l) == 0 &&
           all_zero(lay_leaf_key(T, l), T->ks);
}

/* ---- heap file ------------------------------------------------------------------------ */
int64_t lay_heap_first_table(const lay *L, const uint8_t *hdr) { return lay_ldpos(L, hdr + 1); }
unsigned lay_heap_slots(const lay *L, const uint8_t *hdr) { return ld16(hdr + 1 + L->psz); }

void lay_heap_hdr_encode(const lay *L, uint8_t *hdr, int64_t first_table, unsigned slots)
{
    lay_stpos(L, hdr + 1, first_table);
    st16(hdr + 1 + L->psz, (uint16_t)slots);
    lay_ck_fix(hdr, L->heap_hdr_size);
}

void lay_heap_hdr_set_first(const lay *L, uint8_t *hdr, int64_t first_table)
{
    put_pos(L, hdr, hdr + 1, first_table);
}

size_t lay_table_size(const lay *L, unsigned slots)
{
    if (L->kind == UDB_LAYOUT_CLASSIC)
        return 7 + 8 * (size_t)slots;
    return slots ? 16 * (size_t)slots - 5 : 0;
}

unsigned lay_table_capacity(const lay *L, unsigned slots)
{
    (void)L;
    return slots ? slots - 1 : 0;
}

/* Offset of readable record r (1-based) inside the table block. Classic
   stores record k at 7 + 8k (slot 0 never used); wide stores record i at
   16i - 5 (record 0 overlaps the table header and is lost). */
static size_t rec_off(const lay *L, unsigned r)
{
    return L->kind == UDB_LAYOUT_CLASSIC ? 7 + 8 * (size_t)r : 16 * (size_t)r - 5;
}

unsigned lay_table_holes(const lay *L, const uint8_t *t, unsigned slots)
{
    unsigned used = lay_table_numused(t), cap = lay_table_capacity(L, slots);
    unsigned n = L->kind == UDB_LAYOUT_CLASSIC ? used : (used ? used - 1 : 0);
    return n > cap ? cap : n;
}

void lay_table_hole(const lay *L, const uint8_t *t, unsigned r, int64_t *pos, int64_t *size)
{
    const uint8_t *p = t + rec_off(L, r);
    *pos = lay_ldpos(L, p);
    *size = lay_ldpos(L, p + L->psz);
}

void lay_table_set_hole(const lay *L, uint8_t *t, unsigned r, int64_t pos, int64_t size)
{
    uint8_t *p = t + rec_off(L, r);
    put_pos(L, t, p, pos);
    put_pos(L, t, p + L->psz, size);
}

/* Classic counts the holes; wide counts the lost record 0 as well. */
void lay_table_set_count(const lay *L, uint8_t *t, unsigned n)
{
    uint8_t tmp[2];
    st16(tmp, (uint16_t)(L->kind == UDB_LAYOUT_CLASSIC ? n : (n ? n + 1 : 0)));
    lay_ck_put(t, t + 1, tmp, 2);
}

void lay_table_set_next(const lay *L, uint8_t *t, int64_t next)
{
    put_pos(L, t, t + 3, next);
}

void lay_table_encode(const lay *L, uint8_t *t, unsigned slots, int64_t next, const int64_t *pos,
                      const int64_t *size, unsigned n)
{
    size_t tsz = lay_table_size(L, slots);
    memset(t, 0, tsz);
    st16(t + 1, (uint16_t)(L->kind == UDB_LAYOUT_CLASSIC ? n : (n ? n + 1 : 0)));
    lay_stpos(L, t + 3, next);
    for (unsigned r = 1; r <= n; r++) {
        uint8_t *p = t + rec_off(L, r);
        lay_stpos(L, p, pos[r - 1]);
        lay_stpos(L, p + L->psz, size[r - 1]);
    }
    lay_ck_fix(t, tsz);
}

/* ---- record frames ------------------------------------------------------------------------ */
void lay_frame_encode(uint8_t *p, const lay_frame *f)
{
    p[0] = (uint8_t)f->tag;
    st32(p + 1, f->stored);
    st32(p + 5, f->crc);
    if (f->tag == LAY_FRAME_DEFLATE)
        st32(p + 9, f->raw);
}

int lay_frame_decode(const uint8_t *p, size_t avail, lay_frame *f)
{
    if (avail < 9 || (p[0] != LAY_FRAME_PLAIN && p[0] != LAY_FRAME_DEFLATE && p[0] != LAY_FRAME_STORE))
        return -1;
    f->tag = p[0];
    f->hdr = lay_frame_hdr_size(f->tag);
    if (avail < f->hdr)
        return -1;
    f->stored = ld32(p + 1);
    f->crc = ld32(p + 5);
    f->raw = f->tag == LAY_FRAME_DEFLATE ? ld32(p + 9) : f->stored;
    return 0;
}

static const uint8_t STORE_MAGIC[8] = {'u', 'd', 'b', 's', 't', 'o', 'r', 'e'};

void lay_store_desc_encode(uint8_t *p, unsigned flags, unsigned nidx, const udb_index_def *defs)
{
    memcpy(p, STORE_MAGIC, 8);
    st16(p + 8, 2);
    st16(p + 10, (uint16_t)flags);
    st16(p + 12, (uint16_t)nidx);
    for (unsigned i = 0; i < nidx; i++) {
        uint8_t *q = p + lay_store_desc_size(i);
        const udb_index_def *x = &defs[i];
        st16(q, (uint16_t)x->keytype);
        st16(q + 2, (uint16_t)x->keysize);
        st16(q + 4, (uint16_t)x->attrs);
        st16(q + 6, (uint16_t)x->maxitems);
        st32(q + 8, x->create_nodes > 0 && x->create_nodes <= UINT32_MAX ? (uint32_t)x->create_nodes : 0);
        st32(q + 12, x->create_leaves > 0 && x->create_leaves <= UINT32_MAX ? (uint32_t)x->create_leaves : 0);
    }
}

int lay_store_desc_decode(const uint8_t *p, size_t len, unsigned max, lay_store_desc *d,
                          udb_index_def *defs)
{
    if (len < LAY_STORE_DESC_SIZE || memcmp(p, STORE_MAGIC, 8))
        return -1;
    d->version = ld16(p + 8);
    d->flags = ld16(p + 10);
    d->nidx = ld16(p + 12);
    if (d->nidx < 1 || d->nidx > max)
        return -1;
    if (d->version == 1)
        return len == LAY_STORE_DESC_SIZE ? 0 : -1;
    if (d->version != 2 || len != lay_store_desc_size(d->nidx))
        return -1;
    for (unsigned i = 0; i < d->nidx && defs; i++) {
        const uint8_t *q = p + lay_store_desc_size(i);
        defs[i] = (udb_index_def){ld16(q), ld16(q + 2), ld16(q + 4), ld16(q + 6), ld32(q + 8),
                                  ld32(q + 12)};
    }
    return 0;
}

int lay_store_desc_frame(const uint8_t *p, size_t avail)
{
    return avail >= 9 + sizeof STORE_MAGIC && p[0] == LAY_FRAME_STORE &&
           !memcmp(p + 9, STORE_MAGIC, sizeof STORE_MAGIC);
}

/* ---- detection ------------------------------------------------------------------------ */
typedef struct cand {
    int kind, layout;
    int ok;           /* basic structure consistent */
    int fails;        /* deeper checks that failed */
    char why[160];
} cand;

static int pos_ok(int64_t p, uint64_t lo, uint64_t size, size_t len)
{
    return p >= 0 && (uint64_t)p >= lo && (uint64_t)p + len <= size;
}

static void probe_ndx(const lay *L, const uint8_t *d, uint64_t size, cand *c)
{
    c->ok = 0;
    c->fails = 0;
    if (size < LAY_HDR_SIZE || !lay_ck_ok(d, LAY_HDR_SIZE)) {
        snprintf(c->why, sizeof c->why, "header checksum");
        return;
    }
    unsigned n = lay_hdr_count(d);
    uint64_t body = lay_body_off(L, n);
    if (n == 0 || body > size) {
        snprintf(c->why, sizeof c->why, "%u index infos do not fit in %llu bytes", n,
                 (unsigned long long)size);
        return;
    }
    for (unsigned i = 1; i <= n; i++) {
        const uint8_t *p = d + lay_info_off(L, i);
        lay_info f;
        if (!lay_ck_ok(p, L->info_size)) {
            snprintf(c->why, sizeof c->why, "index info %u checksum", i);
            return;
        }
        lay_info_decode(L, p, &f);
        if (f.keytype > 7 || f.attrib > 3) {
            snprintf(c->why, sizeof c->why, "index info %u: key type %u attributes %u", i,
                     f.keytype, f.attrib);
            return;
        }
        if (f.keytype == 0)
            continue;
        if (f.keysize == 0 || f.maxitems == 0) {
            snprintf(c->why, sizeof c->why, "index info %u: key size %u max items %u", i,
                     f.keysize, f.maxitems);
            return;
        }
        int64_t ps[5] = {f.root, f.first_leaf, f.last_leaf, f.free_node, f.free_leaf};
        for (int k = 0; k < 5; k++)
            if (ps[k] != -1 && !pos_ok(ps[k], body, size, 1)) {
                snprintf(c->why, sizeof c->why, "index info %u: position %lld outside the file", i,
                         (long long)ps[k]);
                return;
            }
        lay_tree T;
        lay_tree_init(&T, L, (int)f.keytype, f.keysize, f.maxitems);
        if (f.levels && f.root != -1 &&
            (!pos_ok(f.root, body, size, T.node_size) || !lay_ck_ok(d + f.root, T.node_size)))
            c->fails++;
        if (f.levels && f.last_leaf != -1 &&
            (!pos_ok(f.last_leaf, body, size, T.leaf_size) ||
             !lay_ck_ok(d + f.last_leaf, T.leaf_size)))
            c->fails++;
    }
    c->ok = 1;
}

static void probe_heap(const lay *L, const uint8_t *d, uint64_t size, cand *c)
{
    c->ok = 0;
    c->fails = 0;
    unsigned h = L->heap_hdr_size;
    if (size < h || !lay_ck_ok(d, h)) {
        snprintf(c->why, sizeof c->why, "heap header checksum");
        return;
    }
    int64_t t = lay_heap_first_table(L, d);
    unsigned slots = lay_heap_slots(L, d);
    size_t tsz = lay_table_size(L, slots);
    if (slots == 0 || (t != -1 && !pos_ok(t, h, size, tsz))) {
        snprintf(c->why, sizeof c->why, "heap header: %u slots, first table %lld", slots,
                 (long long)t);
        return;
    }
    for (int k = 0; k < 64 && t != -1; k++) {
        if (!pos_ok(t, h, size, tsz) || !lay_ck_ok(d + t, tsz) ||
            lay_table_numused(d + t) > slots) {
            c->fails++;
            break;
        }
        t = lay_table_next(L, d + t);
    }
    c->ok = 1;
}

int lay_detect(const uint8_t *data, uint64_t size, int want_kind, int want_layout, int *kind,
               int *layout, char *why, size_t whylen)
{
    cand cs[4];
    int nc = 0;
    for (int k = LAY_FILE_NDX; k <= LAY_FILE_HEAP; k++) {
        if (want_kind && want_kind != k)
            continue;
        for (int l = UDB_LAYOUT_CLASSIC; l <= UDB_LAYOUT_WIDE; l++) {
            if (want_layout && want_layout != l)
                continue;
            cand *c = &cs[nc++];
            c->kind = k;
            c->layout = l;
            if (k == LAY_FILE_NDX)
                probe_ndx(lay_get(l), data, size, c);
            else
                probe_heap(lay_get(l), data, size, c);
        }
    }
    int best = -1, ties = 0;
    for (int i = 0; i < nc; i++) {
        if (!cs[i].ok)
            continue;
        if (best < 0 || cs[i].fails < cs[best].fails) {
            best = i;
            ties = 0;
        } else if (cs[i].fails == cs[best].fails) {
            ties++;
        }
    }
    if (best < 0) {
        int n = snprintf(why, whylen, "not a %s file of %s layout (",
                         want_kind == LAY_FILE_HEAP ? "heap" : want_kind ? "MultiIndex" : "udb",
                         want_layout == UDB_LAYOUT_CLASSIC ? "the classic"
                         : want_layout == UDB_LAYOUT_WIDE  ? "the wide"
                                                           : "either");
        for (int i = 0; i < nc && n > 0 && (size_t)n < whylen; i++)
            n += snprintf(why + n, whylen - (size_t)n, "%s%s %s: %s", i ? "; " : "",
                          lay_get(cs[i].layout)->name,
                          cs[i].kind == LAY_FILE_NDX ? "index" : "heap", cs[i].why);
        if (n > 0 && (size_t)n < whylen)
            snprintf(why + n, whylen - (size_t)n, ")");
        return UDB_FORMAT;
    }
    if (ties) {
        snprintf(why, whylen,
                 "ambiguous: the bytes are consistent with more than one layout; "
                 "force one (--layout classic|wide)");
        return UDB_FORMAT;
    }
    *kind = cs[best].kind;
    *layout = cs[best].layout;
    return 0;
}
