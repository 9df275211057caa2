/*
 * space.c — the in-memory map of a heap's holes: sorted blocks by position
 * and size-class lists, the holes kept in slabs. Owns memory only; no I/O, no
 * disk format.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "space.h"

void space_init(space *s)
{
    *s = (space){0};
}

/* ---- hole memory: slabs doubling up to 2 MiB (a huge page where the
   system gives one), not a malloc per hole: a delete of many records
   makes one hole each ------------------------------------------------------- */
#define SLAB_MAX ((size_t)2 << 20)

struct space_slab {
    space_slab *next;
    size_t used, cap;
    space_hole h[];
};

static space_slab *slab_new(size_t cap)
{
    size_t bytes = sizeof(space_slab) + cap * sizeof(space_hole);
    if (bytes < SLAB_MAX)
        return malloc(bytes);
    space_slab *sl = aligned_alloc(SLAB_MAX, SLAB_MAX);
#ifdef MADV_HUGEPAGE
    if (sl)
        madvise(sl, SLAB_MAX, MADV_HUGEPAGE); /* a hint: fewer page faults */
#endif
    return sl;
}

static space_hole *hole_new(space *s)
{
    space_hole *h = s->spare;
    if (h) {
        s->spare = h->r;
    } else {
        space_slab *sl = s->slabs;
        if (!sl || sl->used == sl->cap) {
            size_t cap = sl ? 2 * sl->cap : 256, most = (SLAB_MAX - sizeof *sl) / sizeof(space_hole);
            if (!(sl = slab_new(cap < most ? cap : most)))
                return NULL;
            sl->used = 0;
            sl->cap = cap < most ? cap : most;
            sl->next = s->slabs;
            s->slabs = sl;
        }
        h = &sl->h[sl->used++];
    }
    memset(h, 0, sizeof *h);
    return h;
}

static void hole_free(space *s, space_hole *h)
{
    h->r = s->spare;
    s->spare = h;
}

void space_free(space *s)
{
    for (size_t k = 0; k < s->nblk; k++)
        free(s->blk[k]);
    free(s->blk);
    free(s->first);
    while (s->slabs) {
        space_slab *next = s->slabs->next;
        free(s->slabs);
        s->slabs = next;
    }
    space_init(s);
}

/* ---- size classes: 8 exact small classes, then 4 per power of two ---------- */
static unsigned class_of(int64_t size)
{
    uint64_t v = (uint64_t)size;
    if (v < 64)
        return (unsigned)(v / 8);
    unsigned lg = 63 - (unsigned)__builtin_clzll(v);
    unsigned c = 8 + 4 * (lg - 6) + (unsigned)((v >> (lg - 2)) & 3);
    return c < SPACE_CLASSES ? c : SPACE_CLASSES - 1;
}

static void class_link(space *s, space_hole *h)
{
    h->cls = class_of(h->size);
    h->cprev = NULL;
    h->cnext = s->cls_head[h->cls];
    if (h->cnext)
        h->cnext->cprev = h;
    s->cls_head[h->cls] = h;
    s->cls_bits[h->cls / 64] |= (uint64_t)1 << (h->cls % 64);
}

static void class_unlink(space *s, space_hole *h)
{
    if (h->cprev)
        h->cprev->cnext = h->cnext;
    else
        s->cls_head[h->cls] = h->cnext;
    if (h->cnext)
        h->cnext->cprev = h->cprev;
    if (!s->cls_head[h->cls])
        s->cls_bits[h->cls / 64] &= ~((uint64_t)1 << (h->cls % 64));
}

/* ---- by position: sorted blocks of up to BLK holes, and a directory of
   the blocks by their first position. A lookup is a binary search of the
   directory (one array) and of one block: a few cache misses, where a
   tree of half a million holes made a delete in random order pay twenty
   or more. --------------------------------------------------------------- */
#define BLK 128

struct space_blk {
    unsigned n;
    int64_t pos[BLK];
    space_hole *h[BLK];
};

/* The last block whose first hole is at or before pos, or SIZE_MAX. */
static size_t dir_find(const space *s, int64_t pos)
{
    size_t lo = 0, hi = s->nblk;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->first[mid] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : SIZE_MAX;
}

/* The first slot of b whose hole lies after pos. */
static unsigned blk_after(const space_blk *b, int64_t pos)
{
    unsigned lo = 0, hi = b->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (b->pos[mid] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Room for one more block in the directory, at k. */
static int dir_insert(space *s, size_t k, space_blk *b)
{
    if (s->nblk == s->capblk) {
        size_t cap = s->capblk ? 2 * s->capblk : 16;
        space_blk **blk = realloc(s->blk, cap * sizeof *blk);
        if (blk)
            s->blk = blk;
        int64_t *first = blk ? realloc(s->first, cap * sizeof *first) : NULL;
        if (!first)
            return -1;
        s->first = first;
        s->capblk = cap;
    }
    memmove(s->blk + k + 1, s->blk + k, (s->nblk - k) * sizeof *s->blk);
    memmove(s->first + k + 1, s->first + k, (s->nblk - k) * sizeof *s->first);
    s->blk[k] = b;
    s->first[k] = b->n ? b->pos[0] : INT64_MIN;
    s->nblk++;
    return 0;
}

static void dir_remove(space *s, size_t k)
{
    free(s->blk[k]);
    memmove(s->blk + k, s->blk + k + 1, (s->nblk - k - 1) * sizeof *s->blk);
    memmove(s->first + k, s->first + k + 1, (s->nblk - k - 1) * sizeof *s->first);
    s->nblk--;
}

/* A full block k split in two halves. */
static int split(space *s, size_t k)
{
    space_blk *b = s->blk[k], *nb = malloc(sizeof *nb);
    if (!nb)
        return -1;
    nb->n = BLK / 2;
    memcpy(nb->pos, b->pos + BLK / 2, BLK / 2 * sizeof *b->pos);
    memcpy(nb->h, b->h + BLK / 2, BLK / 2 * sizeof *b->h);
    b->n = BLK / 2;
    if (dir_insert(s, k + 1, nb)) {
        b->n = BLK;
        free(nb);
        return -1;
    }
    return 0;
}

static int pos_insert(space *s, space_hole *h)
{
    if (!s->nblk) {
        space_blk *b = malloc(sizeof *b);
        if (!b)
            return -1;
        b->n = 0;
        if (dir_insert(s, 0, b)) {
            free(b);
            return -1;
        }
    }
    size_t k = dir_find(s, h->pos);
    if (k == SIZE_MAX)
        k = 0;
    if (s->blk[k]->n == BLK) {
        if (split(s, k))
            return -1;
        if (h->pos >= s->first[k + 1])
            k++;
    }
    space_blk *b = s->blk[k];
    unsigned i = blk_after(b, h->pos);
    memmove(b->pos + i + 1, b->pos + i, (b->n - i) * sizeof *b->pos);
    memmove(b->h + i + 1, b->h + i, (b->n - i) * sizeof *b->h);
    b->pos[i] = h->pos;
    b->h[i] = h;
    b->n++;
    s->first[k] = b->pos[0];
    return 0;
}

/* Where h is: its block and slot (h is in the map). */
static space_blk *pos_slot(const space *s, const space_hole *h, size_t *k, unsigned *i)
{
    *k = dir_find(s, h->pos);
    space_blk *b = s->blk[*k];
    *i = blk_after(b, h->pos) - 1;
    return b;
}

static void pos_remove(space *s, const space_hole *h)
{
    size_t k;
    unsigned i;
    space_blk *b = pos_slot(s, h, &k, &i);
    memmove(b->pos + i, b->pos + i + 1, (b->n - i - 1) * sizeof *b->pos);
    memmove(b->h + i, b->h + i + 1, (b->n - i - 1) * sizeof *b->h);
    if (--b->n == 0)
        dir_remove(s, k);
    else
        s->first[k] = b->pos[0];
}

space_hole *space_add(space *s, int64_t pos, int64_t size)
{
    space_hole *h = hole_new(s);
    if (!h)
        return NULL;
    h->pos = pos;
    h->size = size;
    if (pos_insert(s, h)) {
        hole_free(s, h);
        return NULL;
    }
    class_link(s, h);
    s->count++;
    s->bytes += (uint64_t)size;
    return h;
}

void space_remove(space *s, space_hole *h)
{
    pos_remove(s, h);
    class_unlink(s, h);
    s->count--;
    s->bytes -= (uint64_t)h->size;
    hole_free(s, h);
}

void space_resize(space *s, space_hole *h, int64_t pos, int64_t size)
{
    /* the order by position never changes: holes do not overlap */
    if (pos != h->pos) {
        size_t k;
        unsigned i;
        space_blk *b = pos_slot(s, h, &k, &i);
        b->pos[i] = pos;
        if (i == 0)
            s->first[k] = pos;
    }
    class_unlink(s, h);
    s->bytes += (uint64_t)(size - h->size);
    h->pos = pos;
    h->size = size;
    class_link(s, h);
}

void space_around(const space *s, int64_t pos, space_hole **before, space_hole **after)
{
    size_t k = dir_find(s, pos);
    *before = *after = NULL;
    if (k == SIZE_MAX) {
        *after = s->nblk ? s->blk[0]->h[0] : NULL;
        return;
    }
    const space_blk *b = s->blk[k];
    unsigned i = blk_after(b, pos);
    *before = b->h[i - 1];
    *after = i < b->n ? b->h[i] : k + 1 < s->nblk ? s->blk[k + 1]->h[0] : NULL;
}

space_hole *space_before(const space *s, int64_t pos)
{
    space_hole *b, *a;
    space_around(s, pos, &b, &a);
    return b;
}

space_hole *space_after(const space *s, int64_t pos)
{
    space_hole *b, *a;
    space_around(s, pos, &b, &a);
    return a;
}

space_hole *space_fit(const space *s, int64_t n)
{
    unsigned c = class_of(n), scanned = 0;
    for (space_hole *h = s->cls_head[c]; h && scanned < 32; h = h->cnext, scanned++)
        if (h->size >= n)
            return h;
    for (unsigned w = (c + 1) / 64; w < SPACE_CLASSES / 64; w++) {
        uint64_t bits = s->cls_bits[w];
        if (w == (c + 1) / 64)
            bits &= ~(uint64_t)0 << ((c + 1) % 64);
        if (bits)
            return s->cls_head[w * 64 + (unsigned)__builtin_ctzll(bits)];
    }
    return NULL;
}

space_hole *space_first(const space *s)
{
    return s->nblk ? s->blk[0]->h[0] : NULL;
}

space_hole *space_next(const space *s, const space_hole *h)
{
    return space_after(s, h->pos);
}
