/*
 * mindex_ahead.c — read-ahead for forward scans: walks the bottom-level node
 * items some distance ahead of a cursor and prefetches the leaves they point
 * at (and, through a callback, what those leaves' data positions point at),
 * so that the cache misses of many leaves overlap instead of following one
 * another down the leaf chain.
 *
 * Hints only: nothing read here is verified, trusted, returned or allowed to
 * set an error; a damaged tree makes the hints useless, never wrong. Must not
 * change any page or the cursor.
 */
#include "mindex.h"

/* The anchor leaf the cursor reaches next is ring[at + 1]. */
static void produce(mindex *m, mahead *a)
{
    const lay_tree *T = &m->ix[a->ix].T;
    while (a->node >= 0) {
        const uint8_t *n = pager_peek(m->pf, (uint64_t)a->node, T->node_size);
        unsigned cnt = n ? lay_node_count(n) : 0;
        if (!n || cnt > T->maxitems) {
            a->node = -1;
            return;
        }
        if (a->item < cnt) {
            int64_t leaf = lay_node_child(T, n, a->item++);
            a->ring[a->produced++ % MAHEAD_RING] = leaf;
            const uint8_t *l = leaf > 0 ? pager_peek(m->pf, (uint64_t)leaf, T->leaf_size) : NULL;
            if (l) {
                __builtin_prefetch(l);
                __builtin_prefetch(l + T->leaf_size - 1);
            }
            return;
        }
        a->node = lay_node_next(T, n);
        a->item = 0;
        if (++a->nodes > m->pf->size / T->node_size + 1) /* a sibling loop */
            a->node = -1;
    }
}

void mahead_init(mindex *m, const mcursor *c, mahead *a, void (*touch)(void *, int64_t), void *arg)
{
    mindex_index *x = &m->ix[c->ix];
    a->ix = c->ix;
    a->node = -1;
    a->produced = a->at = a->nodes = 0;
    a->streak = MAHEAD_STREAK;
    a->touch = touch;
    a->arg = arg;
    if (c->leaf < 0 || x->info.levels == 0)
        return;
    /* the bottom node of the cursor's key (first of a run of duplicates) */
    int64_t pos = x->info.root;
    for (unsigned lvl = x->info.levels; lvl >= 1 && pos > 0; lvl--) {
        const uint8_t *n = pager_peek(m->pf, (uint64_t)pos, x->T.node_size);
        unsigned cnt = n ? lay_node_count(n) : 0;
        if (!cnt || cnt > x->T.maxitems)
            return;
        unsigned j = 0;
        while (j + 1 < cnt && lay_cmp(&x->T, lay_node_key(&x->T, n, j), c->key) < 0)
            j++;
        if (lvl == 1) {
            a->node = pos;
            a->item = j;
        }
        pos = lay_node_child(&x->T, n, j);
    }
    produce(m, a); /* ring[0]: the cursor's own leaf */
    while (a->produced < MAHEAD_DIST + 1 && a->node >= 0)
        produce(m, a);
}

void mahead_step(mindex *m, mahead *a, int64_t leaf)
{
    if (a->at + 1 >= a->produced || a->ring[(a->at + 1) % MAHEAD_RING] != leaf)
        return; /* a duplicate after its anchor, or out of step: no new hint */
    a->at++;
    while (a->produced - a->at <= MAHEAD_DIST && a->node >= 0)
        produce(m, a);
    uint64_t k = a->at + MAHEAD_DIST / 2;
    if (!a->touch || k >= a->produced)
        return;
    const lay_tree *T = &m->ix[a->ix].T;
    int64_t pos = a->ring[k % MAHEAD_RING];
    const uint8_t *l = pos > 0 ? pager_peek(m->pf, (uint64_t)pos, T->leaf_size) : NULL;
    if (l)
        a->touch(a->arg, lay_leaf_datapos(T, l));
}

void mahead_moved(mindex *m, mahead *a, const mcursor *c, int forward, void (*touch)(void *, int64_t),
                  void *arg)
{
    if (!forward)
        a->streak = 0;
    else if (++a->streak == MAHEAD_STREAK)
        mahead_init(m, c, a, touch, arg);
    else if (a->streak > MAHEAD_STREAK)
        mahead_step(m, a, c->leaf);
}
