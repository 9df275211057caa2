/*
 * mindex_place.c — an index's leaves laid out in key order at commit: the
 * leaves at or past a given offset (the ones this transaction appended)
 * trade places so that, taken in key order, they lie front to back; the
 * leaf chain, the bottom-level node items, the first-leaf field and the
 * EOF leaf's back link follow. The store uses it for commit-time
 * placement (store_place.c), changing each leaf's data position in the
 * copy on the way.
 *
 * Owns nothing new on disk. Reaches bytes through pager_get/pager_put and
 * their meaning through layout. Must not move a leaf before the offset,
 * nor change anything unless the chain and the bottom level agree
 * (mplace_begin checks, reading only).
 */
#include <stdlib.h>
#include "mem.h"
#include "mindex.h"

void mplace_free(mplace *p)
{
    mem_big_free(p->pos, p->cap * sizeof *p->pos);
    mem_big_free(p->neu, p->cap * sizeof *p->neu);
    mem_big_free(p->copy, p->cap * p->ls);
    p->pos = p->neu = NULL;
    p->copy = NULL;
}

static void append(mplace *p, int64_t pos, const uint8_t *l)
{
    p->pos[p->n] = pos;
    memcpy(p->copy + p->n++ * p->ls, l, p->ls);
}

/* Leaf at, the next of the chain: its prev must be the last one taken
   (or it is the first leaf). 0, 1 (the chain disagrees) or an error. */
static int take(mindex *m, mplace *p, int64_t at)
{
    mindex_index *x = &m->ix[p->ix];
    const uint8_t *l = mindex_leaf(m, x, at);
    if (!l)
        return m->err->code;
    if ((p->n ? lay_leaf_prev(&x->T, l) != p->pos[p->n - 1] : at != x->info.first_leaf) ||
        p->n == p->cap)
        return 1;
    append(p, at, l);
    return 0;
}

/* Down the chain from the last leaf taken up to (not including) leaf t:
   the duplicates between two bottom-level items. */
static int up_to(mindex *m, mplace *p, int64_t t)
{
    mindex_index *x = &m->ix[p->ix];
    int rc = 0;
    for (int64_t at; !rc && p->n && (at = lay_leaf_next(&x->T, p->copy + (p->n - 1) * p->ls)) != t;)
        rc = at == x->info.last_leaf ? 1 : take(m, p, at);
    return rc;
}

/* The chain in key order, from the bottom level's items (fetched ahead,
   so that the misses of many leaves overlap) and the leaves of equal keys
   the chain has between them: where each leaf is, a copy of it. 0, 1
   (the bottom level and the chain disagree) or an error. */
static int collect(mindex *m, mplace *p)
{
    enum { AHEAD = 32 };
    mindex_index *x = &m->ix[p->ix];
    mbottom b;
    int rc;
    mbottom_start(m, x, &b);
    for (const uint8_t *n; (n = mbottom_next(m, x, &b, &rc));) {
        for (unsigned i = 0, cnt = lay_node_count(n); i < cnt; i++) {
            if (i + AHEAD < cnt) /* and the next node's first ones when near the end */
                mindex_prefetch(m, lay_node_child(&x->T, n, i + AHEAD), x->T.leaf_size);
            else if (i + AHEAD == cnt)
                mindex_prefetch(m, lay_node_next(&x->T, n), x->T.node_size);
            int64_t t = lay_node_child(&x->T, n, i);
            rc = up_to(m, p, t);
            if (!rc && t == x->info.last_leaf)
                return lay_node_next(&x->T, n) > 0 || i + 1 < cnt;
            if (rc || (rc = take(m, p, t)))
                return rc;
        }
    }
    return rc ? rc : up_to(m, p, x->info.last_leaf); /* the last item need not be the EOF leaf's */
}

/* Walk the bottom level in order beside the chain (collect checked that
   every item but the EOF leaf's names a leaf of it, in chain order):
   each item gets that leaf's new place. 0, 1 (they disagree) or an error. */
static int bottom(mindex *m, mplace *p)
{
    mindex_index *x = &m->ix[p->ix];
    size_t j = 0;
    mbottom b;
    int rc;
    mbottom_start(m, x, &b);
    for (const uint8_t *n; (n = mbottom_next(m, x, &b, &rc));) {
        for (unsigned i = 0, cnt = lay_node_count(n); i < cnt; i++) {
            int64_t t = lay_node_child(&x->T, n, i);
            if (t == x->info.last_leaf)
                continue;
            while (j < p->n && p->pos[j] != t)
                j++;
            if (j == p->n)
                return 1;
            if (p->neu[j] != t) {
                uint8_t *w = pager_put(m->pf, (uint64_t)b.at, x->T.node_size);
                if (!w)
                    return m->err->code;
                lay_node_set_child(&x->T, w, i, p->neu[j]);
                n = w;
            }
        }
    }
    return rc;
}

int mplace_begin(mindex *m, unsigned ix, int64_t from, mplace *p)
{
    mindex_index *x = &m->ix[ix];
    p->ix = ix;
    p->from = from;
    if (!x->recorded || x->info.levels == 0)
        return 0;
    p->ls = x->T.leaf_size;
    p->cap = (size_t)(m->pf->size / p->ls) + 1; /* the most there can be: reserved, not touched */
    if (!(p->pos = mem_big(p->cap * sizeof *p->pos)) || !(p->copy = mem_big(p->cap * p->ls)))
        return udb_err_set(m->err, UDB_NOMEM, "out of memory");
    return collect(m, p);
}

int64_t mplace_dp(const mindex *m, const mplace *p, size_t j)
{
    return lay_leaf_datapos(&m->ix[p->ix].T, p->copy + j * m->ix[p->ix].T.leaf_size);
}

void mplace_set_dp(const mindex *m, mplace *p, size_t j, int64_t dp)
{
    lay_leaf_set_datapos(&m->ix[p->ix].T, p->copy + j * m->ix[p->ix].T.leaf_size, dp);
}

/* neu[j]: the places of the leaves at or past from, sorted, handed out in
   chain order; the others stay. */
static int new_places(mindex *m, mplace *p)
{
    size_t k = 0;
    if (!(p->neu = mem_big(p->cap * sizeof *p->neu)))
        return udb_err_set(m->err, UDB_NOMEM, "out of memory");
    for (size_t j = 0; j < p->n; j++)
        if (p->pos[j] >= p->from)
            p->neu[k++] = p->pos[j];
    if (mem_sort_pos(p->neu, k, sizeof *p->neu))
        return udb_err_set(m->err, UDB_NOMEM, "out of memory");
    for (size_t j = p->n; j-- > 0;)
        p->neu[j] = p->pos[j] >= p->from ? p->neu[--k] : p->pos[j];
    return 0;
}

/* Each leaf's copy with its new links, written at its new place when
   anything changed. */
static int write_leaves(mindex *m, mplace *p)
{
    mindex_index *x = &m->ix[p->ix];
    size_t ls = x->T.leaf_size;
    for (size_t j = 0; j < p->n; j++) {
        uint8_t *c = p->copy + j * ls;
        if (j > 0)
            lay_leaf_set_prev(&x->T, c, p->neu[j - 1]);
        if (j + 1 < p->n)
            lay_leaf_set_next(&x->T, c, p->neu[j + 1]);
        const uint8_t *now = pager_get(m->pf, (uint64_t)p->neu[j], ls);
        if (!now)
            return m->err->code;
        if (memcmp(now, c, ls)) {
            uint8_t *w = pager_put(m->pf, (uint64_t)p->neu[j], ls);
            if (!w)
                return m->err->code;
            memcpy(w, c, ls);
        }
    }
    return 0;
}

int mplace_finish(mindex *m, mplace *p)
{
    mindex_index *x = &m->ix[p->ix];
    if (!p->n)
        return 0;
    int rc = new_places(m, p);
    if (rc || (rc = write_leaves(m, p)) || (rc = bottom(m, p)))
        return rc != 1 ? rc
                       : udb_err_set(m->err, UDB_CORRUPT, "index %u: the bottom level changed under placement",
                                     p->ix + 1);
    const uint8_t *eof = mindex_leaf(m, x, x->info.last_leaf);
    if (!eof)
        return m->err->code;
    if (lay_leaf_prev(&x->T, eof) != p->neu[p->n - 1]) {
        uint8_t *w = pager_put(m->pf, (uint64_t)x->info.last_leaf, x->T.leaf_size);
        if (!w)
            return m->err->code;
        lay_leaf_set_prev(&x->T, w, p->neu[p->n - 1]);
    }
    if (x->info.first_leaf != p->neu[0]) {
        x->info.first_leaf = p->neu[0];
        x->dirty = 1;
    }
    x->epoch = ++m->epoch_base;
    return 0;
}
