/*
 * mindex_bulk.c — building an index bottom-up from keys that arrive in
 * order: leaves are taken from the free lists in file order, so they lie in
 * key order (then from stretches reserved at the end of the file, handed
 * out in order, so the leaves still follow the keys; one stretch for nodes
 * and leaves where nothing else grows the file, so its unused rest ends the
 * file and is cut off); each level fills one node at a time; the EOF item
 * closes every level. The result has the same structures the originals make (full
 * nodes, sibling links, node key = greatest key below, bottom items on the
 * first leaf of each key run). Must not do I/O but through the pager.
 */
#include <stdlib.h>
#include "mindex.h"

int mindex_bulk_begin(mindex *m, unsigned ix, mbulk *b)
{
    memset(b, 0, sizeof *b); /* mindex_bulk_free is safe whatever happens below */
    int rc = mindex_prepare_write(m, ix);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[ix];
    if (x->info.first_leaf != x->info.last_leaf)
        return udb_err_set(m->err, UDB_INVAL, "index %u is not empty: bulk load needs an empty index",
                           ix + 1);
    b->m = m;
    b->ix = ix;
    b->prev_leaf = b->prev_prev = b->eof_run = -1;
    for (unsigned l = 0; l < MINDEX_MAX_LEVELS + 2; l++)
        b->cur[l] = -1;
    if (!(b->last = malloc(x->T.ks)))
        return udb_err_set(m->err, UDB_NOMEM, "out of memory");
    /* the empty tree's root goes; the EOF leaf stays the last leaf */
    int64_t root = x->info.root;
    unsigned levels = x->info.levels;
    x->info.levels = 0;
    x->info.root = -1;
    x->dirty = 1;
    for (unsigned l = levels; l >= 1 && !rc; l--) {
        const uint8_t *n = mindex_node(m, x, root);
        if (!n)
            return m->err->code;
        int64_t child = lay_node_child(&x->T, n, 0);
        rc = mindex_free_block(m, x, 0, root);
        root = child;
    }
    return rc;
}

void mindex_bulk_free(mbulk *b)
{
    free(b->last);
    b->last = NULL;
}

#define EXTENT_BYTES (1u << 16) /* what is left of one may stay as free blocks */

/* A block for the load: from the free list while it has any, else the next
   of a reserved stretch (cheaper than growing the list block by block and
   taking each block off it again). A stretch that still ends the file
   grows in place. */
static int bulk_alloc(mbulk *b, int leaves, int64_t *out)
{
    mindex *m = b->m;
    mindex_index *x = &m->ix[b->ix];
    if ((leaves ? x->info.free_leaf : x->info.free_node) != -1)
        return mindex_alloc_block(m, x, leaves, out);
    int64_t bs = (int64_t)(leaves ? x->T.leaf_size : x->T.node_size);
    int e = b->shared ? 1 : leaves; /* the stretch it comes from */
    if (b->ext_end[e] - b->ext_next[e] < bs) {
        int64_t k = EXTENT_BYTES / bs + 1, at;
        int rc = mindex_reserve(m, x, leaves, k, &at);
        if (rc)
            return rc;
        if (at != b->ext_end[e] && b->ext_next[e] != b->ext_end[e]) /* a rest no block fits */
            return udb_err_set(m->err, UDB_INVAL, "index %u: the file grew under a bulk load", b->ix + 1);
        if (at != b->ext_end[e])
            b->ext_next[e] = at;
        b->ext_end[e] = at + k * bs;
    }
    *out = b->ext_next[e];
    b->ext_next[e] += bs;
    return 0;
}

/* The unused rest of both stretches: cut off when it ends the file, else
   onto the free lists. */
static int bulk_return_extents(mbulk *b)
{
    mindex *m = b->m;
    mindex_index *x = &m->ix[b->ix];
    int rc = 0;
    for (int round = 0; round < 2; round++) /* the later stretch first, then the other */
        for (int kind = 0; kind < 2 && !rc; kind++)
            if (b->ext_next[kind] < b->ext_end[kind] &&
                (uint64_t)b->ext_end[kind] == pager_size(m->pf)) {
                rc = pager_truncate(m->pf, (uint64_t)b->ext_next[kind]);
                b->ext_end[kind] = b->ext_next[kind];
            }
    for (int kind = 0; kind < 2 && !rc; kind++) {
        int64_t bs = (int64_t)(kind ? x->T.leaf_size : x->T.node_size);
        if (b->ext_next[kind] < b->ext_end[kind])
            rc = mindex_chain_free(m, x, kind, b->ext_next[kind],
                                   (b->ext_end[kind] - b->ext_next[kind]) / bs);
        b->ext_end[kind] = b->ext_next[kind];
    }
    return rc;
}

/* Append (key, child) to the node being filled at level lvl; a full node
   is closed: its checksum is computed (once, not per item) and its
   greatest key goes one level up. */
static int add_item(mbulk *b, unsigned lvl, const uint8_t *key, int64_t child)
{
    mindex *m = b->m;
    mindex_index *x = &m->ix[b->ix];
    uint8_t *n = NULL;
    if (lvl > MINDEX_MAX_LEVELS)
        return udb_err_set(m->err, UDB_FORMAT, "index %u: the tree is too deep", b->ix + 1);
    if (b->cur[lvl] != -1 && !(n = pager_put(m->pf, (uint64_t)b->cur[lvl], x->T.node_size)))
        return m->err->code;
    if (!n || lay_node_count(n) == x->T.maxitems) {
        int64_t pos, prev = b->cur[lvl];
        int rc = bulk_alloc(b, 0, &pos);
        if (rc)
            return rc;
        uint8_t *nn = pager_put(m->pf, (uint64_t)pos, x->T.node_size);
        if (!nn)
            return m->err->code;
        lay_node_init(&x->T, nn, -1, prev);
        b->cur[lvl] = pos;
        if (prev != -1) {
            uint8_t *pn = pager_put(m->pf, (uint64_t)prev, x->T.node_size);
            if (!pn)
                return m->err->code;
            lay_node_set_next(&x->T, pn, pos);
            lay_ck_fix(pn, x->T.node_size);
            if ((rc = add_item(b, lvl + 1, lay_node_key(&x->T, pn, lay_node_count(pn) - 1), prev)))
                return rc;
        }
        n = pager_put(m->pf, (uint64_t)pos, x->T.node_size);
        if (!n)
            return m->err->code;
    }
    lay_node_append_raw(&x->T, n, key, child);
    return 0;
}

/* The previous leaf is written once its successor is known (one write
   per leaf, no relinking). */
static int write_prev_leaf(mbulk *b, int64_t next)
{
    mindex *m = b->m;
    mindex_index *x = &m->ix[b->ix];
    uint8_t *l = pager_put(m->pf, (uint64_t)b->prev_leaf, x->T.leaf_size);
    if (!l)
        return m->err->code;
    lay_leaf_init(&x->T, l, next, b->prev_prev, b->prev_dp, b->last);
    return 0;
}

int mindex_bulk_add(mbulk *b, const uint8_t *key, int64_t dp, int64_t *out)
{
    mindex *m = b->m;
    mindex_index *x = &m->ix[b->ix];
    int same = 0;
    if (b->have_last) {
        int c = lay_cmp(&x->T, b->last, key);
        if (c > 0)
            return udb_err_set(m->err, UDB_INVAL, "bulk load: record %llu is not in key order",
                               (unsigned long long)b->count + 1);
        if (c == 0 && (x->info.attrib & UDB_UNIQUE) && !b->keep_duplicates)
            return udb_err_set(m->err, UDB_EXISTS, "bulk load: record %llu repeats a key of UNIQUE "
                               "index %u", (unsigned long long)b->count + 1, b->ix + 1);
        same = c == 0;
    }
    if (dp < (b->keep_duplicates ? lay_minpos(m->L) : 0) || dp > lay_maxpos(m->L))
        return udb_err_set(m->err, UDB_RANGE, "data position %lld does not fit the %s layout",
                           (long long)dp, m->L->name);
    int64_t leaf;
    int rc = bulk_alloc(b, 1, &leaf);
    if (rc)
        return rc;
    if (b->prev_leaf == -1)
        x->info.first_leaf = leaf;
    else if ((rc = write_prev_leaf(b, leaf)))
        return rc;
    /* keys equal to the sentinel join the EOF leaf's run: no item of their own */
    if (lay_cmp(&x->T, key, x->kbuf) == 0) {
        if (b->eof_run == -1)
            b->eof_run = leaf;
    } else if (!same && (rc = add_item(b, 1, key, leaf))) {
        return rc;
    }
    memcpy(b->last, key, x->T.ks);
    b->have_last = 1;
    b->prev_prev = b->prev_leaf;
    b->prev_leaf = leaf;
    b->prev_dp = dp;
    b->count++;
    if (out)
        *out = leaf;
    return 0;
}

int mindex_bulk_end(mbulk *b)
{
    mindex *m = b->m;
    mindex_index *x = &m->ix[b->ix];
    if (b->prev_leaf != -1 && write_prev_leaf(b, x->info.last_leaf))
        return m->err->code;
    uint8_t *e = pager_put(m->pf, (uint64_t)x->info.last_leaf, x->T.leaf_size);
    if (!e)
        return m->err->code;
    lay_leaf_set_prev(&x->T, e, b->prev_leaf);
    if (b->prev_leaf == -1)
        x->info.first_leaf = x->info.last_leaf;
    /* the EOF item closes the bottom level, then every level closes */
    int rc = add_item(b, 1, x->kbuf, b->eof_run != -1 ? b->eof_run : x->info.last_leaf);
    unsigned lvl = 1;
    while (!rc && b->cur[lvl + 1] != -1) {
        const uint8_t *n = pager_get(m->pf, (uint64_t)b->cur[lvl], x->T.node_size);
        rc = add_item(b, lvl + 1, lay_node_key(&x->T, n, lay_node_count(n) - 1), b->cur[lvl]);
        lvl++;
    }
    for (unsigned l = 1; l <= lvl && !rc; l++) { /* the last node of every level is complete */
        uint8_t *n = pager_put(m->pf, (uint64_t)b->cur[l], x->T.node_size);
        if (n)
            lay_ck_fix(n, x->T.node_size);
        else
            rc = m->err->code;
    }
    if (rc || (rc = bulk_return_extents(b)))
        return rc;
    x->info.root = b->cur[lvl];
    x->info.levels = lvl;
    x->dirty = 1;
    x->epoch = ++m->epoch_base;
    return 0;
}
