/*
 * space.c — the in-memory map of a heap's holes: a treap by position and
 * size-class lists, the holes kept in slabs. Owns memory only; no I/O, no
 * disk format.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "space.h"

void space_init(space *s)
{
    *s = (space){0};
    s->rng = 0x9e3779b9u;
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

/* ---- treap by position ------------------------------------------------------------ */
static space_hole *rot_right(space_hole *t)
{
    space_hole *l = t->l;
    t->l = l->r;
    l->r = t;
    return l;
}

static space_hole *rot_left(space_hole *t)
{
    space_hole *r = t->r;
    t->r = r->l;
    r->l = t;
    return r;
}

static space_hole *tree_insert(space_hole *t, space_hole *h)
{
    if (!t)
        return h;
    if (h->pos < t->pos) {
        t->l = tree_insert(t->l, h);
        if (t->l->prio > t->prio)
            t = rot_right(t);
    } else {
        t->r = tree_insert(t->r, h);
        if (t->r->prio > t->prio)
            t = rot_left(t);
    }
    return t;
}

static space_hole *tree_remove(space_hole *t, const space_hole *h)
{
    if (!t)
        return NULL;
    if (t == h) {
        if (!t->l)
            return t->r;
        if (!t->r)
            return t->l;
        if (t->l->prio > t->r->prio) {
            t = rot_right(t);
            t->r = tree_remove(t->r, h);
        } else {
            t = rot_left(t);
            t->l = tree_remove(t->l, h);
        }
        return t;
    }
    if (h->pos < t->pos)
        t->l = tree_remove(t->l, h);
    else
        t->r = tree_remove(t->r, h);
    return t;
}

space_hole *space_add(space *s, int64_t pos, int64_t size)
{
    space_hole *h = hole_new(s);
    if (!h)
        return NULL;
    h->pos = pos;
    h->size = size;
    s->rng = s->rng * 1664525u + 1013904223u;
    h->prio = s->rng;
    s->root = tree_insert(s->root, h);
    class_link(s, h);
    s->count++;
    s->bytes += (uint64_t)size;
    return h;
}

void space_remove(space *s, space_hole *h)
{
    s->root = tree_remove(s->root, h);
    class_unlink(s, h);
    s->count--;
    s->bytes -= (uint64_t)h->size;
    hole_free(s, h);
}

void space_resize(space *s, space_hole *h, int64_t pos, int64_t size)
{
    /* the order by position never changes: holes do not overlap */
    class_unlink(s, h);
    s->bytes += (uint64_t)(size - h->size);
    h->pos = pos;
    h->size = size;
    class_link(s, h);
}

space_hole *space_before(const space *s, int64_t pos)
{
    space_hole *best = NULL;
    for (space_hole *t = s->root; t;)
        if (t->pos <= pos) {
            best = t;
            t = t->r;
        } else {
            t = t->l;
        }
    return best;
}

space_hole *space_after(const space *s, int64_t pos)
{
    space_hole *best = NULL;
    for (space_hole *t = s->root; t;)
        if (t->pos > pos) {
            best = t;
            t = t->l;
        } else {
            t = t->r;
        }
    return best;
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
    space_hole *t = s->root;
    while (t && t->l)
        t = t->l;
    return t;
}

space_hole *space_next(const space *s, const space_hole *h)
{
    return space_after(s, h->pos);
}
