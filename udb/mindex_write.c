/*
 * mindex_write.c — MultiIndex write side: free lists and batch growth, leaf
 * linking, insertion (shift into the right neighbour, split), removal
 * (below a quarter full: merge into / borrow from the right neighbour), lazy
 * root collapse, the sentinel upgrade and index definition. The shapes differ
 * from the originals' only where doc/format.md says so.
 * Must not do I/O other than through pager_get/pager_put/pager_extend.
 *
 * Every operation validates what it will touch before its first change, so
 * a refused operation (NOTFOUND, EXISTS, bad shape) changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include "mindex.h"

#define BATCH_BYTES_MAX ((uint64_t)16 << 20)

static uint8_t *scratch(mindex_index *x, int k) { return x->kbuf + (size_t)k * x->T.ks; }

static uint8_t *wnode(mindex *m, mindex_index *x, int64_t pos)
{
    return pager_put(m->pf, (uint64_t)pos, x->T.node_size);
}

static uint8_t *wleaf(mindex *m, mindex_index *x, int64_t pos)
{
    return pager_put(m->pf, (uint64_t)pos, x->T.leaf_size);
}

#define TRY_PTR(p)                \
    do {                          \
        if (!(p))                 \
            return m->err->code;  \
    } while (0)

/* ---- free lists --------------------------------------------------------------- */
/* Extend the file by k blocks of one kind (fresh, zero); *at = the first. */
int mindex_reserve(mindex *m, mindex_index *x, int leaves, int64_t k, int64_t *at)
{
    size_t bs = leaves ? x->T.leaf_size : x->T.node_size;
    uint64_t size = pager_size(m->pf), bytes = (uint64_t)k * bs, pos;
    if (size + bytes - 1 > (uint64_t)lay_maxpos(m->L))
        return udb_err_set(m->err, UDB_RANGE,
                           "index %u: the %s layout cannot address past %lld bytes",
                           (unsigned)(x - m->ix) + 1, m->L->name, (long long)lay_maxpos(m->L));
    int rc = pager_extend(m->pf, size + bytes, &pos);
    *at = (int64_t)pos;
    return rc;
}

/* Put the k blocks from at onward, in file order, in front of a free list. */
int mindex_chain_free(mindex *m, mindex_index *x, int leaves, int64_t at, int64_t k)
{
    size_t bs = leaves ? x->T.leaf_size : x->T.node_size;
    uint8_t *p = pager_put(m->pf, (uint64_t)at, (size_t)k * bs);
    TRY_PTR(p);
    int64_t *head = leaves ? &x->info.free_leaf : &x->info.free_node;
    for (int64_t i = 0; i < k; i++) {
        int64_t next = i + 1 < k ? at + (i + 1) * (int64_t)bs : *head;
        if (leaves)
            lay_leaf_init_free(&x->T, p + (size_t)i * bs, next);
        else
            lay_node_init_free(&x->T, p + (size_t)i * bs, next);
    }
    *head = at;
    x->dirty = 1;
    return 0;
}

/* An empty free list grows by the index's batch (create_nodes/create_leaves). */
static int grow(mindex *m, mindex_index *x, int leaves)
{
    size_t bs = leaves ? x->T.leaf_size : x->T.node_size;
    int64_t want = leaves ? x->info.create_leaves : x->info.create_nodes;
    int64_t cap = (int64_t)(BATCH_BYTES_MAX / bs);
    int64_t k = want < 1 ? 1 : want > cap ? (cap < 1 ? 1 : cap) : want, at;
    int rc = mindex_reserve(m, x, leaves, k, &at);
    return rc ? rc : mindex_chain_free(m, x, leaves, at, k);
}

/* Take the head of a free list (growing it when empty). */
int mindex_alloc_block(mindex *m, mindex_index *x, int leaves, int64_t *out)
{
    int64_t *head = leaves ? &x->info.free_leaf : &x->info.free_node;
    size_t bs = leaves ? x->T.leaf_size : x->T.node_size;
    int rc;
    if (*head == -1 && (rc = grow(m, x, leaves)))
        return rc;
    int64_t pos = *head;
    const uint8_t *b = pos >= (int64_t)m->body ? pager_get(m->pf, (uint64_t)pos, bs) : NULL;
    if (!b || !lay_ck_ok(b, bs) ||
        !(leaves ? lay_leaf_prev(&x->T, b) == -1 : lay_node_is_free_shape(&x->T, b)))
        return udb_err_set(m->err, UDB_CORRUPT,
                           "index %u: free %s list: the block at offset %lld is not a free block",
                           (unsigned)(x - m->ix) + 1, leaves ? "leaf" : "node", (long long)pos);
    int64_t next = leaves ? lay_leaf_next(&x->T, b) : lay_node_next(&x->T, b);
    if (next != -1 && (next < (int64_t)m->body || (uint64_t)next + bs > pager_size(m->pf)))
        return udb_err_set(m->err, UDB_CORRUPT,
                           "index %u: free %s list: link %lld at offset %lld is out of range",
                           (unsigned)(x - m->ix) + 1, leaves ? "leaf" : "node", (long long)next,
                           (long long)pos);
    *head = next;
    x->dirty = 1;
    *out = pos;
    return 0;
}

int mindex_free_block(mindex *m, mindex_index *x, int leaves, int64_t pos)
{
    int64_t *head = leaves ? &x->info.free_leaf : &x->info.free_node;
    uint8_t *b = leaves ? wleaf(m, x, pos) : wnode(m, x, pos);
    TRY_PTR(b);
    if (leaves)
        lay_leaf_init_free(&x->T, b, *head);
    else
        lay_node_init_free(&x->T, b, *head);
    *head = pos;
    x->dirty = 1;
    return 0;
}

/* ---- leaf chain ---------------------------------------------------------------------- */
/* Point the neighbours around a removed stretch: P <-> A. */
static int relink(mindex *m, mindex_index *x, int64_t P, int64_t A)
{
    uint8_t *a = wleaf(m, x, A);
    TRY_PTR(a);
    lay_leaf_set_prev(&x->T, a, P);
    if (P == -1) {
        x->info.first_leaf = A;
        x->dirty = 1;
        return 0;
    }
    uint8_t *p = wleaf(m, x, P);
    TRY_PTR(p);
    lay_leaf_set_next(&x->T, p, A);
    return 0;
}

/* Write leaf N with (key, dp) into the chain just before leaf L. */
static int link_before(mindex *m, mindex_index *x, int64_t N, int64_t L, const uint8_t *key,
                       int64_t dp)
{
    uint8_t *l = wleaf(m, x, L);
    TRY_PTR(l);
    int64_t P = lay_leaf_prev(&x->T, l);
    uint8_t *n = wleaf(m, x, N);
    TRY_PTR(n);
    lay_leaf_init(&x->T, n, L, P, dp, key);
    lay_leaf_set_prev(&x->T, l, N);
    if (P == -1) {
        x->info.first_leaf = N;
        x->dirty = 1;
        return 0;
    }
    uint8_t *p = wleaf(m, x, P);
    TRY_PTR(p);
    lay_leaf_set_next(&x->T, p, N);
    return 0;
}

/* ---- keys up the path ----------------------------------------------------------------- */
/* The node at path level lvl now ends with key: fix the ancestors' keys. */
static int update_key(mindex *m, mindex_index *x, mpath *p, unsigned lvl, const uint8_t *key)
{
    for (unsigned l = lvl + 1; l <= x->info.levels; l++) {
        uint8_t *n = wnode(m, x, p->pos[l]);
        TRY_PTR(n);
        unsigned j = p->j[l], cnt = lay_node_count(n);
        if (j + 1 == cnt && lay_node_next(&x->T, n) == -1)
            break; /* the +infinity item never changes */
        lay_node_set_key(&x->T, n, j, key);
        if (j + 1 != cnt)
            break;
    }
    return 0;
}

static const uint8_t *last_key(mindex_index *x, const uint8_t *n, uint8_t *buf)
{
    memcpy(buf, lay_node_key(&x->T, n, lay_node_count(n) - 1), x->T.ks);
    return buf;
}

/* ---- insertion ---------------------------------------------------------------------------- */
static int insert_item(mindex *m, mindex_index *x, mpath *p, unsigned lvl, unsigned j,
                       const uint8_t *key, int64_t child);

/* How many trailing items of the virtual sequence (node + new item) move
   right: about half the difference, so that the two nodes end balanced.
   (The originals move one item without ALLOW_DELETE; with random keys that
   shifts the whole right neighbour at nearly every insert into a full node,
   while balancing does it once per half a node of inserts and leaves the
   nodes as full. A shape choice, not a format one: see doc/format.md.) */
static unsigned move_count(mindex_index *x, unsigned room_right, unsigned right_count)
{
    unsigned total = x->T.maxitems + 1, k = (total - right_count) / 2;
    if (k < 1)
        k = 1;
    return k > room_right ? room_right : k;
}

/* Place (key, child) at virtual position j of full node n, moving the last
   k virtual items to the front of node r. */
static void spread(mindex_index *x, uint8_t *n, uint8_t *r, unsigned j, unsigned k,
                   const uint8_t *key, int64_t child)
{
    unsigned keep = x->T.maxitems + 1 - k;
    if (j >= keep) {
        lay_node_shift_right(&x->T, n, r, k - 1);
        lay_node_insert(&x->T, r, j - keep, key, child);
    } else {
        lay_node_shift_right(&x->T, n, r, k);
        lay_node_insert(&x->T, n, j, key, child);
    }
}

static int shift_into_right(mindex *m, mindex_index *x, mpath *p, unsigned lvl, unsigned j,
                            const uint8_t *key, int64_t child, int64_t rpos)
{
    uint8_t *n = wnode(m, x, p->pos[lvl]), *r = wnode(m, x, rpos);
    TRY_PTR(n);
    TRY_PTR(r);
    unsigned rc = lay_node_count(r);
    spread(x, n, r, j, move_count(x, x->T.maxitems - rc, rc), key, child);
    return update_key(m, x, p, lvl, last_key(x, n, scratch(x, 1)));
}

static int split(mindex *m, mindex_index *x, mpath *p, unsigned lvl, unsigned j,
                 const uint8_t *key, int64_t child)
{
    int64_t npos = p->pos[lvl], mpos;
    int rc = mindex_alloc_block(m, x, 0, &mpos);
    if (rc)
        return rc;
    uint8_t *n = wnode(m, x, npos), *nm = wnode(m, x, mpos);
    TRY_PTR(n);
    TRY_PTR(nm);
    int64_t rpos = lay_node_next(&x->T, n);
    lay_node_init(&x->T, nm, rpos, npos);
    lay_node_set_next(&x->T, n, mpos);
    if (rpos != -1) {
        uint8_t *r = wnode(m, x, rpos);
        TRY_PTR(r);
        lay_node_set_prev(&x->T, r, mpos);
    }
    unsigned k = (x->info.attrib & UDB_ALLOW_DELETE) ? (x->T.maxitems + 1) / 2 : 1;
    spread(x, n, nm, j, k, key, child);
    const uint8_t *nmax = last_key(x, n, scratch(x, 1)), *mmax = last_key(x, nm, scratch(x, 2));
    if (lvl == x->info.levels) {
        int64_t root;
        if ((rc = mindex_alloc_block(m, x, 0, &root)))
            return rc;
        uint8_t *r = wnode(m, x, root);
        TRY_PTR(r);
        lay_node_init(&x->T, r, -1, -1);
        lay_node_insert(&x->T, r, 0, nmax, npos);
        lay_node_insert(&x->T, r, 1, mmax, mpos);
        x->info.root = root;
        x->info.levels++;
        x->dirty = 1;
        return 0;
    }
    uint8_t *parent = wnode(m, x, p->pos[lvl + 1]);
    TRY_PTR(parent);
    lay_node_set_key(&x->T, parent, p->j[lvl + 1], nmax);
    /* mmax is scratch 2; the recursive insert only uses scratch 1..2 after
       copying its key into the node, so hand it a stable copy */
    memcpy(scratch(x, 3), mmax, x->T.ks);
    return insert_item(m, x, p, lvl + 1, p->j[lvl + 1] + 1, scratch(x, 3), mpos);
}

static int insert_item(mindex *m, mindex_index *x, mpath *p, unsigned lvl, unsigned j,
                       const uint8_t *key, int64_t child)
{
    uint8_t *n = wnode(m, x, p->pos[lvl]);
    TRY_PTR(n);
    if (lay_node_count(n) < x->T.maxitems) {
        lay_node_insert(&x->T, n, j, key, child);
        return 0;
    }
    int64_t rpos = lay_node_next(&x->T, n);
    if (rpos != -1) {
        const uint8_t *r = mindex_node(m, x, rpos);
        TRY_PTR(r);
        if (lay_node_count(r) < x->T.maxitems)
            return shift_into_right(m, x, p, lvl, j, key, child, rpos);
    }
    return split(m, x, p, lvl, j, key, child);
}

/* ---- removal ------------------------------------------------------------------------------- */
static int remove_item(mindex *m, mindex_index *x, mpath *p, unsigned lvl, unsigned j);

/* Unlink the emptied (or merged) node at path level lvl and drop its item. */
static int drop_node(mindex *m, mindex_index *x, mpath *p, unsigned lvl)
{
    int64_t npos = p->pos[lvl];
    const uint8_t *n = wnode(m, x, npos);
    TRY_PTR(n);
    int64_t prev = lay_node_prev(&x->T, n), next = lay_node_next(&x->T, n);
    if (prev != -1) {
        uint8_t *a = wnode(m, x, prev);
        TRY_PTR(a);
        lay_node_set_next(&x->T, a, next);
    }
    if (next != -1) {
        uint8_t *b = wnode(m, x, next);
        TRY_PTR(b);
        lay_node_set_prev(&x->T, b, prev);
    }
    int rc = mindex_free_block(m, x, 0, npos);
    return rc ? rc : remove_item(m, x, p, lvl + 1, p->j[lvl + 1]);
}

/* Drop item j of the node at path level lvl. A node left with fewer than a
   quarter of maxitems merges into its right neighbour when the two fit in
   half a node, or else takes items from it until the two are about even.
   (The originals even out after every removal: a read and often a shift of
   the neighbour per delete.) */
static int remove_item(mindex *m, mindex_index *x, mpath *p, unsigned lvl, unsigned j)
{
    uint8_t *n = wnode(m, x, p->pos[lvl]);
    TRY_PTR(n);
    unsigned cnt = lay_node_count(n);
    int was_last = j + 1 == cnt;
    lay_node_remove(&x->T, n, j);
    cnt--;
    if (lvl == x->info.levels)
        return 0; /* the root shrinks lazily (collapse_root) */
    if (cnt == 0)
        return drop_node(m, x, p, lvl);
    int64_t rpos = lay_node_next(&x->T, n);
    if (rpos != -1 && cnt < x->T.maxitems / 4) {
        const uint8_t *rr = mindex_node(m, x, rpos);
        TRY_PTR(rr);
        unsigned rc = lay_node_count(rr);
        uint8_t *r = wnode(m, x, rpos);
        TRY_PTR(r);
        if (cnt + rc <= x->T.maxitems / 2) {
            lay_node_shift_right(&x->T, n, r, cnt);
            return drop_node(m, x, p, lvl);
        }
        lay_node_shift_left(&x->T, r, n, (rc - cnt) / 2); /* rc > maxitems / 4 > cnt */
        return update_key(m, x, p, lvl, last_key(x, n, scratch(x, 1)));
    }
    if (was_last)
        return update_key(m, x, p, lvl, last_key(x, n, scratch(x, 1)));
    return 0;
}

/* A root left with one item loses a level, at the start of the next
   append or removal (the originals' lazy collapse). */
static int collapse_root(mindex *m, mindex_index *x)
{
    while (x->info.levels > 1) {
        const uint8_t *r = mindex_node(m, x, x->info.root);
        TRY_PTR(r);
        if (lay_node_count(r) != 1)
            break;
        int64_t child = lay_node_child(&x->T, r, 0);
        int rc = mindex_free_block(m, x, 0, x->info.root);
        if (rc)
            return rc;
        x->info.root = child;
        x->info.levels--;
        x->dirty = 1;
    }
    return 0;
}

/* ---- shape check before the first write ---------------------------------------------------- */
static int shape_fail(mindex *m, mindex_index *x, const char *what, int64_t pos)
{
    return udb_err_set(m->err, UDB_FORMAT,
                       "index %u: %s (offset %lld); writing could damage it further, "
                       "`dbe repair` rebuilds the index",
                       (unsigned)(x - m->ix) + 1, what, (long long)pos);
}

/* Follow the first (right = 0) or last items from the root to a leaf. */
static int edge_path(mindex *m, mindex_index *x, int right, mpath *p)
{
    int64_t pos = x->info.root;
    for (unsigned lvl = x->info.levels; lvl >= 1; lvl--) {
        const uint8_t *n = mindex_node(m, x, pos);
        TRY_PTR(n);
        if ((right ? lay_node_next(&x->T, n) : lay_node_prev(&x->T, n)) != -1)
            return shape_fail(m, x, "the index info does not lead to the edge of the tree", pos);
        unsigned j = right ? lay_node_count(n) - 1 : 0;
        p->pos[lvl] = pos;
        p->j[lvl] = j;
        pos = lay_node_child(&x->T, n, j);
    }
    p->pos[0] = pos;
    return 0;
}

static int check_free_head(mindex *m, mindex_index *x, int leaves)
{
    int64_t h = leaves ? x->info.free_leaf : x->info.free_node;
    size_t bs = leaves ? x->T.leaf_size : x->T.node_size;
    if (h == -1)
        return 0;
    const uint8_t *b = h >= (int64_t)m->body ? pager_get(m->pf, (uint64_t)h, bs) : NULL;
    if (!b || !lay_ck_ok(b, bs) ||
        !(leaves ? lay_leaf_prev(&x->T, b) == -1 : lay_node_is_free_shape(&x->T, b)))
        return shape_fail(m, x, leaves ? "the free leaf list does not start at a free leaf"
                                       : "the free node list does not start at a free node",
                          h);
    return 0;
}

/* The infos must describe the tree (an original that was not closed leaves
   them stale), and the run under the last item must end at the EOF leaf. */
static int check_shape(mindex *m, mindex_index *x)
{
    mpath p;
    int rc = edge_path(m, x, 0, &p);
    if (rc)
        return rc;
    if (p.pos[0] != x->info.first_leaf)
        return shape_fail(m, x, "the first leaf recorded in the info is not the tree's first leaf",
                          x->info.first_leaf);
    const uint8_t *l = mindex_leaf(m, x, x->info.first_leaf);
    TRY_PTR(l);
    if (lay_leaf_prev(&x->T, l) != -1)
        return shape_fail(m, x, "the first leaf has a predecessor", x->info.first_leaf);
    if ((rc = edge_path(m, x, 1, &p)))
        return rc;
    const uint8_t *bottom = mindex_node(m, x, p.pos[1]);
    TRY_PTR(bottom);
    const uint8_t *skey = lay_node_key(&x->T, bottom, p.j[1]);
    uint64_t limit = pager_size(m->pf) / x->T.leaf_size + 2;
    int64_t at = p.pos[0];
    for (; limit--; ) {
        if (!(l = mindex_leaf(m, x, at)))
            return m->err->code;
        if (at == x->info.last_leaf)
            break;
        if (lay_cmp(&x->T, lay_leaf_key(&x->T, l), skey) != 0)
            return shape_fail(m, x,
                              "the leaf chain after the last key does not end at the EOF leaf: "
                              "the original's empty-index defect left this index out of key order",
                              at);
        at = lay_leaf_next(&x->T, l);
    }
    if (at != x->info.last_leaf || lay_leaf_next(&x->T, l) != -1 ||
        lay_leaf_datapos(&x->T, l) != -1)
        return shape_fail(m, x, "the EOF leaf recorded in the info is not the end of the chain",
                          x->info.last_leaf);
    if ((rc = check_free_head(m, x, 0)))
        return rc;
    return check_free_head(m, x, 1);
}

/* Give an original's index a sentinel that is the true maximum. Records
   whose key equals the old sentinel become a key group of their own. */
static int upgrade_sentinel(mindex *m, mindex_index *x)
{
    mpath p;
    int rc = edge_path(m, x, 1, &p);
    if (rc)
        return rc;
    if (p.pos[0] != x->info.last_leaf) {
        uint8_t *b = wnode(m, x, p.pos[1]);
        TRY_PTR(b);
        unsigned last = p.j[1];
        memcpy(scratch(x, 3), lay_node_key(&x->T, b, last), x->T.ks);
        lay_node_set_child(&x->T, b, last, x->info.last_leaf);
        if ((rc = insert_item(m, x, &p, 1, last, scratch(x, 3), p.pos[0])))
            return rc;
        if ((rc = edge_path(m, x, 1, &p)))
            return rc;
    }
    for (unsigned lvl = 1; lvl <= x->info.levels; lvl++) {
        uint8_t *n = wnode(m, x, p.pos[lvl]);
        TRY_PTR(n);
        lay_node_set_key(&x->T, n, p.j[lvl], x->kbuf);
    }
    uint8_t *e = wleaf(m, x, x->info.last_leaf);
    TRY_PTR(e);
    lay_leaf_set_key(&x->T, e, x->kbuf);
    x->sentinel_max = 1;
    return 0;
}

static int too_deep(mindex *m, unsigned ix)
{
    if (m->ix[ix].info.levels < MINDEX_MAX_LEVELS)
        return 0;
    return udb_err_set(m->err, UDB_FORMAT,
                       "index %u: the tree is too deep (%u levels) to grow; `dbe repair` rebuilds it",
                       ix + 1, m->ix[ix].info.levels);
}

int mindex_write_refusal(mindex *m, unsigned ix)
{
    int rc = mindex_readable(m, ix);
    if (!rc && !(rc = check_shape(m, &m->ix[ix])))
        rc = too_deep(m, ix);
    return rc;
}

int mindex_prepare_write(mindex *m, unsigned ix)
{
    int rc = mindex_readable(m, ix);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[ix];
    if (x->write_checked)
        return 0;
    if ((rc = check_shape(m, x)))
        return rc;
    if (!x->sentinel_max && (rc = upgrade_sentinel(m, x)))
        return rc;
    x->write_checked = 1;
    return 0;
}

/* ---- public operations ----------------------------------------------------------------------- */
int mindex_append_find(mindex *m, unsigned ix, const uint8_t *key, mappend *a)
{
    int rc = mindex_prepare_write(m, ix);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[ix];
    if ((rc = too_deep(m, ix)) || (rc = collapse_root(m, x)) || (rc = mindex_descend(m, x, key, &a->p)))
        return rc;
    const uint8_t *b = mindex_node(m, x, a->p.pos[1]);
    TRY_PTR(b);
    unsigned j = a->p.j[1];
    /* the successor leaf is on its way (descend); its predecessor is usually
       the leaf of the item before (always, in a UNIQUE index) */
    if (j > 0)
        mindex_prefetch(m, lay_node_child(&x->T, b, j - 1), x->T.leaf_size);
    mindex_prefetch(m, x->info.free_leaf, x->T.leaf_size);
    a->ix = ix;
    a->epoch = x->epoch;
    a->same = lay_cmp(&x->T, key, lay_node_key(&x->T, b, j)) == 0;
    if (a->same && (x->info.attrib & UDB_UNIQUE) && a->p.pos[0] != x->info.last_leaf)
        return udb_err_set(m->err, UDB_EXISTS, "index %u is UNIQUE and already holds the key",
                           ix + 1);
    return 0;
}

int mindex_append_at(mindex *m, mappend *a, const uint8_t *key, int64_t dp, int64_t *leaf)
{
    mindex_index *x = &m->ix[a->ix];
    if (a->epoch != x->epoch)
        return udb_err_set(m->err, UDB_INVAL, "index %u changed between finding and appending",
                           a->ix + 1);
    if (dp < 0 || dp > lay_maxpos(m->L))
        return udb_err_set(m->err, dp < 0 ? UDB_INVAL : UDB_RANGE,
                           "data position %lld does not fit the %s layout", (long long)dp,
                           m->L->name);
    int64_t L = a->p.pos[0];
    unsigned j = a->p.j[1];
    const uint8_t *l = mindex_leaf(m, x, L);
    TRY_PTR(l);
    int64_t P = lay_leaf_prev(&x->T, l), N;
    int rc;
    if (P != -1 && !mindex_leaf(m, x, P))
        return m->err->code;
    if ((rc = mindex_alloc_block(m, x, 1, &N)) || (rc = link_before(m, x, N, L, key, dp)))
        return rc;
    if (a->same) {
        uint8_t *w = wnode(m, x, a->p.pos[1]);
        TRY_PTR(w);
        lay_node_set_child(&x->T, w, j, N);
    } else if ((rc = insert_item(m, x, &a->p, 1, j, key, N))) {
        return rc;
    }
    x->epoch = ++m->epoch_base;
    if (leaf)
        *leaf = N;
    return 0;
}

int mindex_append(mindex *m, unsigned ix, const uint8_t *key, int64_t dp, int64_t *leaf)
{
    mappend a;
    int rc = mindex_append_find(m, ix, key, &a);
    return rc ? rc : mindex_append_at(m, &a, key, dp, leaf);
}

int mindex_delete_key(mindex *m, unsigned ix, const uint8_t *key, uint64_t *removed,
                      int64_t *landing)
{
    int rc = mindex_prepare_write(m, ix);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[ix];
    *removed = 0;
    if ((rc = collapse_root(m, x)))
        return rc;
    mpath p;
    if ((rc = mindex_descend(m, x, key, &p)))
        return rc;
    const uint8_t *b = mindex_node(m, x, p.pos[1]);
    TRY_PTR(b);
    unsigned j = p.j[1];
    if (lay_cmp(&x->T, key, lay_node_key(&x->T, b, j)) != 0)
        return UDB_NOTFOUND;
    int sentinel = lay_node_next(&x->T, b) == -1 && j + 1 == lay_node_count(b);
    int64_t F = p.pos[0], A = F;
    uint64_t n = 0, limit = pager_size(m->pf) / x->T.leaf_size + 2;
    const uint8_t *l;
    while (A != x->info.last_leaf) {
        if (!(l = mindex_leaf(m, x, A)))
            return m->err->code;
        if (lay_cmp(&x->T, lay_leaf_key(&x->T, l), key) != 0)
            break;
        if (++n > limit)
            return udb_err_set(m->err, UDB_CORRUPT, "index %u: the leaf chain loops", ix + 1);
        A = lay_leaf_next(&x->T, l);
    }
    if (n == 0)
        return UDB_NOTFOUND;
    if (!(l = mindex_leaf(m, x, F)) || !mindex_leaf(m, x, A))
        return m->err->code;
    int64_t P = lay_leaf_prev(&x->T, l);
    if (P != -1 && !mindex_leaf(m, x, P))
        return m->err->code;
    if ((rc = relink(m, x, P, A)))
        return rc;
    for (int64_t at = F; at != A;) {
        int64_t next = lay_leaf_next(&x->T, mindex_leaf(m, x, at));
        if ((rc = mindex_free_block(m, x, 1, at)))
            return rc;
        at = next;
    }
    if (sentinel) {
        uint8_t *w = wnode(m, x, p.pos[1]);
        TRY_PTR(w);
        lay_node_set_child(&x->T, w, j, A);
    } else if ((rc = remove_item(m, x, &p, 1, j))) {
        return rc;
    }
    x->epoch = ++m->epoch_base;
    *removed = n;
    *landing = A != x->info.last_leaf ? A : P;
    return 0;
}

int mindex_delete_leaf(mindex *m, unsigned ix, int64_t leaf, int64_t *landing)
{
    int last;
    return mindex_delete_found(m, ix, leaf, NULL, landing, &last);
}

int mindex_delete_found(mindex *m, unsigned ix, int64_t leaf, const mpath *known, int64_t *landing,
                        int *last_out)
{
    int rc = mindex_prepare_write(m, ix);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[ix];
    if (leaf == -1 || leaf == x->info.last_leaf)
        return UDB_NOTFOUND;
    const uint8_t *l = mindex_leaf(m, x, leaf), *pl = NULL, *al;
    TRY_PTR(l);
    uint8_t *key = scratch(x, 3);
    memcpy(key, lay_leaf_key(&x->T, l), x->T.ks);
    int64_t P = lay_leaf_prev(&x->T, l), A = lay_leaf_next(&x->T, l);
    if ((P != -1 && !(pl = mindex_leaf(m, x, P))) || !(al = mindex_leaf(m, x, A)))
        return m->err->code;
    int first = !pl || lay_cmp(&x->T, lay_leaf_key(&x->T, pl), key) != 0;
    int last = A == x->info.last_leaf || lay_cmp(&x->T, lay_leaf_key(&x->T, al), key) != 0;
    mpath p;
    unsigned j = 0;
    int sentinel = 0;
    *last_out = last;
    if (first) {
        unsigned levels = x->info.levels;
        if (last && (rc = collapse_root(m, x)))
            return rc;
        if (known && known->pos[0] == leaf && levels == x->info.levels)
            p = *known; /* the path that found the leaf (checked below) */
        else if ((rc = mindex_descend(m, x, key, &p)))
            return rc;
        const uint8_t *b = mindex_node(m, x, p.pos[1]);
        TRY_PTR(b);
        j = p.j[1];
        if (p.pos[0] != leaf)
            return udb_err_set(m->err, UDB_CORRUPT,
                               "index %u: the tree does not point at the record at offset %lld",
                               ix + 1, (long long)leaf);
        sentinel = lay_node_next(&x->T, b) == -1 && j + 1 == lay_node_count(b);
    }
    if ((rc = relink(m, x, P, A)) || (rc = mindex_free_block(m, x, 1, leaf)))
        return rc;
    if (first && last && !sentinel) {
        if ((rc = remove_item(m, x, &p, 1, j)))
            return rc;
    } else if (first) {
        uint8_t *w = wnode(m, x, p.pos[1]);
        TRY_PTR(w);
        lay_node_set_child(&x->T, w, j, A);
    }
    x->epoch = ++m->epoch_base;
    *landing = A != x->info.last_leaf ? A : P;
    return 0;
}

int mindex_set_datapos(mindex *m, unsigned ix, int64_t leaf, int64_t dp)
{
    int rc = mindex_prepare_write(m, ix);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[ix];
    if (dp < 0 || dp > lay_maxpos(m->L))
        return udb_err_set(m->err, dp < 0 ? UDB_INVAL : UDB_RANGE,
                           "data position %lld does not fit the %s layout", (long long)dp,
                           m->L->name);
    if (leaf == x->info.last_leaf || !mindex_leaf(m, x, leaf))
        return leaf == x->info.last_leaf ? UDB_NOTFOUND : m->err->code;
    uint8_t *w = wleaf(m, x, leaf);
    TRY_PTR(w);
    lay_leaf_set_datapos(&x->T, w, dp);
    x->epoch = ++m->epoch_base;
    return 0;
}

/* ---- definition ----------------------------------------------------------------------------------- */
static unsigned max_keysize(int type)
{
    switch (type) {
    case UDB_KEY_INTEGER:
    case UDB_KEY_LONG_INT:
    case UDB_KEY_LOGICAL:
    case UDB_KEY_CHARACTER:
        return 8;
    default:
        return 1024;
    }
}

unsigned mindex_maxitems(const lay *L, const udb_index_def *d)
{
    if (d->maxitems)
        return d->maxitems;
    size_t item = d->keysize + L->psz, fixed = lay_node_size(L, d->keysize, 0);
    size_t m = fixed < MINDEX_AUTO_NODE ? (MINDEX_AUTO_NODE - fixed) / item : 0;
    return m < 3 ? 3 : m > 65535 ? 65535 : (unsigned)m;
}

int mindex_def_check(const lay *L, const udb_index_def *d, char *msg, size_t len)
{
    static const char *names[] = {"VOID", "BLOCK", "NUM_BLOCK", "INTEGER", "LONG_INT",
                                  "STRING", "LOGICAL", "CHARACTER"};
    char dummy[8];
    if (!msg) {
        msg = dummy;
        len = sizeof dummy;
    }
    if (d->keytype < UDB_KEY_BLOCK || d->keytype > UDB_KEY_CHARACTER) {
        snprintf(msg, len, "unknown key type %d", d->keytype);
        return UDB_INVAL;
    }
    unsigned lo = d->keytype == UDB_KEY_STRING ? 2 : lay_min_keysize(d->keytype);
    unsigned hi = max_keysize(d->keytype);
    if (d->keysize < lo || d->keysize > hi) {
        snprintf(msg, len, "key size %u is invalid for %s keys (allowed %u..%u)", d->keysize,
                 names[d->keytype], lo, hi);
        return UDB_INVAL;
    }
    if (d->attrs & ~(unsigned)(UDB_UNIQUE | UDB_ALLOW_DELETE)) {
        snprintf(msg, len, "unknown attribute bits 0x%x", d->attrs);
        return UDB_INVAL;
    }
    size_t limit = L->kind == UDB_LAYOUT_CLASSIC ? 65535 : (size_t)1 << 24;
    unsigned mi = mindex_maxitems(L, d);
    if (mi < 3 || mi > 65535 || lay_node_size(L, d->keysize, mi) > limit) {
        snprintf(msg, len, "max items %u is invalid (0 for the default, else at least 3; a node may "
                 "have at most %zu bytes in the %s layout)", mi, limit, L->name);
        return UDB_INVAL;
    }
    if (d->create_nodes < 0 || d->create_leaves < 0 || d->create_nodes > INT32_MAX ||
        d->create_leaves > INT32_MAX) {
        snprintf(msg, len, "batch sizes must be 0 (default) .. %d", INT32_MAX);
        return UDB_INVAL;
    }
    return 0;
}

int mindex_define(mindex *m, unsigned ix, const udb_index_def *d)
{
    if (ix >= m->count)
        return udb_err_set(m->err, UDB_INVAL, "no index %u (the file has %u)", ix + 1, m->count);
    mindex_index *x = &m->ix[ix];
    char msg[200];
    if (x->info.keytype != UDB_KEY_VOID)
        return udb_err_set(m->err, UDB_EXISTS, "index %u is already defined", ix + 1);
    if (mindex_def_check(m->L, d, msg, sizeof msg))
        return udb_err_set(m->err, UDB_INVAL, "index %u: %s", ix + 1, msg);
    uint8_t *kb = malloc(4 * (size_t)d->keysize);
    if (!kb)
        return udb_err_set(m->err, UDB_NOMEM, "out of memory");
    free(x->kbuf);
    x->kbuf = kb;
    lay_info *f = &x->info;
    memset(f, 0, sizeof *f);
    f->attrib = d->attrs;
    f->keytype = (unsigned)d->keytype;
    f->keysize = d->keysize;
    f->maxitems = mindex_maxitems(m->L, d);
    f->create_nodes = d->create_nodes ? d->create_nodes : 16;
    f->create_leaves = d->create_leaves ? d->create_leaves : 64;
    f->free_node = f->free_leaf = f->root = f->first_leaf = f->last_leaf = -1;
    lay_tree_init(&x->T, m->L, d->keytype, d->keysize, f->maxitems);
    lay_eof_key_max(&x->T, x->kbuf);
    x->usable = 1;
    x->dirty = 1;
    int64_t eof, root;
    int rc;
    if ((rc = grow(m, x, 0)) || (rc = grow(m, x, 1)) || (rc = mindex_alloc_block(m, x, 1, &eof)) ||
        (rc = mindex_alloc_block(m, x, 0, &root)))
        return rc;
    uint8_t *e = wleaf(m, x, eof), *r = wnode(m, x, root);
    TRY_PTR(e);
    TRY_PTR(r);
    lay_leaf_init(&x->T, e, -1, -1, -1, x->kbuf);
    lay_node_init(&x->T, r, -1, -1);
    lay_node_insert(&x->T, r, 0, x->kbuf, eof);
    f->levels = 1;
    f->root = root;
    f->first_leaf = f->last_leaf = eof;
    x->recorded = x->sentinel_max = x->write_checked = 1;
    x->why[0] = 0;
    x->epoch = ++m->epoch_base;
    return 0;
}
