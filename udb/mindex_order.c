/*
 * mindex_order.c — an index's leaves laid out in key order over the places
 * they hold, in bounded memory (udb_ndx_order). Taken in key order, each
 * leaf trades places with the one that holds the smallest place not yet
 * given out; the leaf chain, the first-leaf field and the EOF leaf's back
 * link follow every trade, the bottom-level items are set in one walk at
 * the end (each names the first leaf of its key run). The places are
 * found a batch at a time, the smallest of those not yet given out: at
 * most dirty_limit / 32 bytes of them, and as much again to sort them.
 *
 * Owns nothing on disk. Reaches bytes through pager_get/pager_put and
 * their meaning through layout. Must not change anything unless the chain
 * and the bottom level agree (walk_bottom checks, reading only, before the
 * first trade); must not move the EOF leaf.
 */
#include <stdlib.h>
#include "mem.h"
#include "mindex.h"

enum { AHEAD = 16 };            /* leaves fetched ahead of a walk */

typedef struct order {
    mindex *m;
    mindex_index *x;
    const progress *prog;
    int64_t *place;             /* a batch: a max-heap while gathered, then sorted */
    size_t cap, k;
    int heap;                   /* the batch is a heap (it was full) */
    uint64_t n;                 /* leaves in the chain before the EOF leaf */
    uint64_t limit;             /* more leaves than the file can hold: a cycle */
    uint8_t *buf;               /* two leaves being traded, a run's key */
} order;

/* ---- a batch of places: the cap smallest of those offered ------------------------- */
/* The first cap are kept as they come; then the batch becomes a max-heap
   that keeps the cap smallest. */
static void sift_down(int64_t *h, size_t k, size_t i)
{
    for (size_t c; (c = 2 * i + 1) < k; i = c) {
        if (c + 1 < k && h[c + 1] > h[c])
            c++;
        if (h[i] >= h[c])
            return;
        int64_t t = h[i];
        h[i] = h[c], h[c] = t;
    }
}

static void offer(order *o, int64_t pos)
{
    int64_t *h = o->place;
    if (o->k < o->cap) {
        h[o->k++] = pos;
        return;
    }
    if (!o->heap) {
        for (size_t i = o->k / 2; i-- > 0;)
            sift_down(h, o->k, i);
        o->heap = 1;
    }
    if (pos < h[0]) {
        h[0] = pos;
        sift_down(h, o->k, 0);
    }
}

static int sort_batch(order *o)
{
    if (mem_sort_pos(o->place, o->k, sizeof *o->place))
        return udb_err_set(o->m->err, UDB_NOMEM, "out of memory");
    return 0;
}

/* The batch from the chain's leaves starting at at, up to the EOF leaf. */
static int gather(order *o, int64_t at)
{
    const lay_tree *T = &o->x->T;
    o->k = 0;
    o->heap = 0;
    for (uint64_t seen = 0; at != o->x->info.last_leaf; seen++) {
        const uint8_t *l = seen <= o->limit ? mindex_leaf(o->m, o->x, at) : NULL;
        if (!l)
            return seen > o->limit ? 1 : o->m->err->code;
        offer(o, at);
        at = lay_leaf_next(T, l);
    }
    return sort_batch(o);
}

/* ---- the bottom level beside the chain ------------------------------------------------- */
typedef struct chain {
    int64_t at, prev;           /* the next leaf to read, the last one read */
    uint64_t seen;
    int keyed;                  /* key holds the last leaf's key */
} chain;

/* The next leaf of the chain that starts a key run (its key differs from
   the leaf before it's): its place, -1 when the chain ended first, -2 when
   the chain is broken (a back link that disagrees, a cycle) or an error
   (-3). gathering: every leaf but the EOF leaf is counted and offered. */
static int64_t next_run(order *o, chain *w, int gathering)
{
    const lay_tree *T = &o->x->T;
    uint8_t *key = o->buf + 2 * T->leaf_size;
    while (w->at != -1) {
        if (++w->seen > o->limit + 1)
            return -2;
        const uint8_t *l = mindex_leaf(o->m, o->x, w->at);
        if (!l)
            return -3;
        if (lay_leaf_prev(T, l) != w->prev)
            return -2;
        int64_t here = w->at;
        int starts = !w->keyed || lay_cmp(T, lay_leaf_key(T, l), key) != 0;
        memcpy(key, lay_leaf_key(T, l), T->ks);
        w->keyed = 1;
        w->prev = here;
        w->at = lay_leaf_next(T, l);
        if (here != o->x->info.last_leaf && gathering)
            o->n++, offer(o, here);
        else if (here == o->x->info.last_leaf && w->at != -1)
            return -2;
        if (starts)
            return here;
    }
    return -1;
}

/* Walk the bottom level in order beside the chain: item k must name the
   first leaf of the chain's k-th key run, with that run's key. set: make
   it name that leaf (after the trades). 0, 1 (they disagree) or an error. */
static int walk_bottom(order *o, int set)
{
    mindex *m = o->m;
    mindex_index *x = o->x;
    const uint8_t *key = o->buf + 2 * x->T.leaf_size;
    chain w = {x->info.first_leaf, -1, 0, 0};
    mbottom b;
    int rc;
    mbottom_start(m, x, &b);
    for (const uint8_t *n; (n = mbottom_next(m, x, &b, &rc));) {
        for (unsigned i = 0, cnt = lay_node_count(n); i < cnt; i++) {
            if (i + 2 * AHEAD < cnt)
                mindex_prefetch(m, lay_node_child(&x->T, n, i + 2 * AHEAD), x->T.leaf_size);
            int64_t run = next_run(o, &w, !set);
            if (run == -3)
                return m->err->code;
            int eof_item = i + 1 == cnt && lay_node_next(&x->T, n) == -1; /* the sentinel's key */
            if (run < 0 || (!eof_item && lay_cmp(&x->T, lay_node_key(&x->T, n, i), key) != 0))
                return 1;
            if (lay_node_child(&x->T, n, i) == run)
                continue;
            if (!set)
                return 1;
            uint8_t *wn = pager_put(m->pf, (uint64_t)b.at, x->T.node_size);
            if (!wn)
                return m->err->code;
            lay_node_set_child(&x->T, wn, i, run);
            n = wn;
        }
    }
    if (rc)
        return rc;
    int64_t end = next_run(o, &w, !set); /* the rest: one run, up to the EOF leaf */
    return end == -3 ? m->err->code : end != -1 || w.prev != x->info.last_leaf;
}

/* ---- trades ---------------------------------------------------------------------------- */
/* Leaf at pos gets next (or prev) = to; pos -1 is the first-leaf field. */
static int relink(order *o, int64_t pos, int next, int64_t to)
{
    mindex_index *x = o->x;
    if (pos == -1) {
        x->info.first_leaf = to;
        x->dirty = 1;
        return 0;
    }
    uint8_t *l = pager_put(o->m->pf, (uint64_t)pos, x->T.leaf_size);
    if (!l)
        return o->m->err->code;
    if (next)
        lay_leaf_set_next(&x->T, l, to);
    else
        lay_leaf_set_prev(&x->T, l, to);
    return 0;
}

/* The leaves at a and t change places; their neighbours' links follow. */
static int trade(order *o, int64_t a, int64_t t)
{
    const lay_tree *T = &o->x->T;
    size_t ls = T->leaf_size;
    uint8_t *A = o->buf, *Q = o->buf + ls;
    const uint8_t *la = mindex_leaf(o->m, o->x, a), *lq = la ? mindex_leaf(o->m, o->x, t) : NULL;
    if (!lq)
        return o->m->err->code;
    memcpy(A, la, ls);
    memcpy(Q, lq, ls);
    int64_t pa = lay_leaf_prev(T, A), na = lay_leaf_next(T, A);
    int64_t pq = lay_leaf_prev(T, Q), nq = lay_leaf_next(T, Q);
#define SWAPPED(v) ((v) == a ? t : (v) == t ? a : (v))
    lay_leaf_set_prev(T, A, SWAPPED(pa));
    lay_leaf_set_next(T, A, SWAPPED(na));
    lay_leaf_set_prev(T, Q, SWAPPED(pq));
    lay_leaf_set_next(T, Q, SWAPPED(nq));
#undef SWAPPED
    uint8_t *wt = pager_put(o->m->pf, (uint64_t)t, ls), *wa = wt ? pager_put(o->m->pf, (uint64_t)a, ls) : NULL;
    if (!wa)
        return o->m->err->code;
    memcpy(wt, A, ls);
    memcpy(wa, Q, ls);
    int rc = 0;
    if (pa != a && pa != t)
        rc = relink(o, pa, 1, t);
    if (!rc && na != a && na != t)
        rc = relink(o, na, 0, t);
    if (!rc && pq != a && pq != t)
        rc = relink(o, pq, 1, a);
    if (!rc && nq != a && nq != t)
        rc = relink(o, nq, 0, a);
    return rc;
}

/* A trade some places ahead will relink the neighbours of the leaf that
   place holds now (most likely still then): start fetching them. */
static void ahead(const order *o, int64_t t)
{
    const lay_tree *T = &o->x->T;
    const uint8_t *l = pager_peek(o->m->pf, (uint64_t)t, T->leaf_size);
    if (l) {
        mindex_prefetch(o->m, lay_leaf_prev(T, l), T->leaf_size);
        mindex_prefetch(o->m, lay_leaf_next(T, l), T->leaf_size);
    }
}

/* Every leaf in key order to the smallest place not yet given out. */
static int place_all(order *o)
{
    int64_t cur = o->x->info.first_leaf;
    int rc = 0;
    for (uint64_t j = 0; j < o->n && !rc;) {
        if (j && (rc = gather(o, cur)))
            break;
        for (size_t i = 0; i < o->k && !rc; i++, j++) {
            int64_t t = o->place[i];
            if (i + AHEAD < o->k)
                ahead(o, o->place[i + AHEAD]);
            if (cur != t && (rc = trade(o, cur, t)))
                break;
            const uint8_t *l = mindex_leaf(o->m, o->x, t);
            if (!l)
                return o->m->err->code;
            cur = lay_leaf_next(&o->x->T, l);
            progress_tick(o->prog, "order", j + 1, o->n);
            if (j % 65536 == 65535)
                rc = pager_op_end(o->m->pf->g);
        }
    }
    return rc == 1 ? udb_err_set(o->m->err, UDB_CORRUPT, "index %u: the leaf chain changed under ordering",
                                 (unsigned)(o->x - o->m->ix) + 1)
                   : rc;
}

int mindex_order(mindex *m, unsigned ix, const progress *prog)
{
    mindex_index *x = &m->ix[ix];
    if (!x->recorded || x->info.levels == 0)
        return 0;
    order o = {m, x, prog, NULL, 0, 0, 0, 0, m->pf->size / x->T.leaf_size + 1, NULL};
    o.cap = pager_dirty_limit(m->pf) / 32 / sizeof *o.place; /* and as much to sort them */
    o.cap = o.cap < 16 ? 16 : o.cap > o.limit ? (size_t)o.limit : o.cap;
    o.place = malloc(o.cap * sizeof *o.place);
    o.buf = malloc(3 * x->T.leaf_size);
    int rc = o.place && o.buf ? walk_bottom(&o, 0) : udb_err_set(m->err, UDB_NOMEM, "out of memory");
    if (rc == 1)
        rc = udb_err_set(m->err, UDB_CORRUPT,
                         "index %u: the leaf chain and the tree's bottom level disagree; nothing "
                         "was changed (repair fixes it)",
                         ix + 1);
    if (!rc && o.n && !(rc = sort_batch(&o))) {
        progress_say(prog, "order", 0, o.n);
        if (!(rc = place_all(&o)) && (rc = walk_bottom(&o, 1)) == 1)
            rc = udb_err_set(m->err, UDB_CORRUPT, "index %u: the bottom level changed under ordering", ix + 1);
        progress_say(prog, "order", o.n, o.n);
        x->epoch = ++m->epoch_base;
    }
    free(o.place);
    free(o.buf);
    return rc;
}
