/*
 * mindex.c — MultiIndex read side: decoding the infos, verified node and
 * leaf access, search, cursors. Writes are in mindex_write.c, the check in
 * check.c. Must not do I/O other than through pager_get/pager_put.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "mindex.h"

/* ---- position sets ------------------------------------------------------------ */
static size_t pos_hash(int64_t p, size_t cap)
{
    uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

posslot *posset_find(const posset *s, int64_t pos)
{
    if (!s->cap)
        return NULL;
    for (size_t i = pos_hash(pos, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i].pos == pos)
            return &s->slot[i];
        if (s->slot[i].pos == -1)
            return NULL;
    }
}

static void posset_put(posslot *slot, size_t cap, int64_t pos, uint32_t hint, uint32_t vgen)
{
    size_t i = pos_hash(pos, cap);
    while (slot[i].pos != -1 && slot[i].pos != pos)
        i = (i + 1) & (cap - 1);
    slot[i].pos = pos;
    slot[i].hint = hint;
    slot[i].fence_hi = 0;
    slot[i].vgen = vgen;
}

int posset_add(posset *s, int64_t pos, uint32_t hint, uint32_t vgen)
{
    if ((s->used + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        posslot *n = malloc(ncap * sizeof *n);
        if (!n)
            return UDB_NOMEM;
        for (size_t i = 0; i < ncap; i++)
            n[i].pos = -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i].pos != -1)
                posset_put(n, ncap, s->slot[i].pos, s->slot[i].hint, s->slot[i].vgen); /* fences dropped */
        free(s->slot);
        s->slot = n;
        s->cap = ncap;
    }
    if (!posset_find(s, pos))
        s->used++;
    posset_put(s->slot, s->cap, pos, hint, vgen);
    return 0;
}

void posset_clear(posset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        s->slot[i].pos = -1;
    s->used = 0;
}

void posset_free(posset *s)
{
    free(s->slot);
    s->slot = NULL;
    s->cap = s->used = 0;
}

/* ---- infos ---------------------------------------------------------------------- */
static int err_index(mindex *m, unsigned ix, int code, const char *what, int64_t pos)
{
    return udb_err_set(m->err, code, "index %u: %s at offset %lld", ix + 1, what, (long long)pos);
}

static void decode_info(mindex *m, unsigned i)
{
    mindex_index *x = &m->ix[i];
    uint64_t off = lay_info_off(m->L, i + 1);
    const uint8_t *p = pager_get(m->pf, off, m->L->info_size);
    x->usable = x->recorded = x->sentinel_max = x->write_checked = x->dirty = 0;
    x->why[0] = 0;
    if (!p || !lay_ck_ok(p, m->L->info_size)) {
        snprintf(x->why, sizeof x->why, "index info checksum mismatch at offset %llu",
                 (unsigned long long)off);
        memset(&x->info, 0, sizeof x->info);
        return;
    }
    lay_info_decode(m->L, p, &x->info);
    lay_info *f = &x->info;
    if (f->keytype == UDB_KEY_VOID)
        snprintf(x->why, sizeof x->why, "not defined");
    else if (f->keytype > UDB_KEY_CHARACTER)
        snprintf(x->why, sizeof x->why, "unknown key type %u", f->keytype);
    else if (f->keysize < lay_min_keysize((int)f->keytype) || f->maxitems < 2)
        snprintf(x->why, sizeof x->why, "unusable definition: key size %u, max items %u",
                 f->keysize, f->maxitems);
    else
        x->usable = 1;
    if (!x->usable)
        return;
    lay_tree_init(&x->T, m->L, (int)f->keytype, f->keysize, f->maxitems);
    free(x->kbuf);
    if (!(x->kbuf = malloc(4 * (size_t)f->keysize))) {
        x->usable = 0;
        snprintf(x->why, sizeof x->why, "out of memory");
        return;
    }
    lay_eof_key_max(&x->T, x->kbuf);
    if (f->levels < 1 || f->levels > MINDEX_MAX_LEVELS || f->root == -1 || f->first_leaf == -1 ||
        f->last_leaf == -1) {
        snprintf(x->why, sizeof x->why,
                 "the index info records no tree (root %lld, %u levels): the file was not "
                 "closed by its writer; `dbe repair` rebuilds it",
                 (long long)f->root, f->levels);
        return;
    }
    x->recorded = 1;
    const uint8_t *eof = pager_get(m->pf, (uint64_t)f->last_leaf, x->T.leaf_size);
    if (f->last_leaf >= 0 && eof)
        x->sentinel_max = !memcmp(lay_leaf_key(&x->T, eof), x->kbuf, x->T.ks);
}

int mindex_load(mindex *m, pager_file *pf, int layout, udb_err *err)
{
    uint64_t epochs = m->epoch_base; /* a reload (store_reindex) goes on counting: a
                                        cursor from before must see the change */
    memset(m, 0, sizeof *m);
    m->epoch_base = epochs;
    m->pf = pf;
    m->err = err;
    m->L = lay_get(layout);
    const uint64_t *pg;
    size_t n;
    pager_changes(pf, &pg, &n); /* nothing is verified yet */
    const uint8_t *h = pager_get(pf, 0, LAY_HDR_SIZE);
    if (!h || !lay_ck_ok(h, LAY_HDR_SIZE))
        return udb_err_set(err, UDB_CORRUPT, "%s: header checksum mismatch at offset 0", pf->path);
    m->count = lay_hdr_count(h);
    m->body = lay_body_off(m->L, m->count);
    if (m->count == 0 || m->body > pager_size(pf))
        return udb_err_set(err, UDB_CORRUPT, "%s: header announces %u indexes, the file has %llu bytes",
                           pf->path, m->count, (unsigned long long)pager_size(pf));
    m->ix = calloc(m->count, sizeof *m->ix);
    if (!m->ix)
        return udb_err_set(err, UDB_NOMEM, "out of memory");
    for (unsigned i = 0; i < m->count; i++) {
        m->ix[i].epoch = ++m->epoch_base;
        decode_info(m, i);
    }
    return 0;
}

void mindex_free(mindex *m)
{
    for (unsigned i = 0; m->ix && i < m->count; i++) {
        posset_free(&m->ix[i].verified);
        free(m->ix[i].kbuf);
    }
    free(m->ix);
    free(m->pg_gen);
    m->ix = NULL;
    m->pg_gen = NULL;
}

/* ---- verified nodes after a change ------------------------------------------------- */
static size_t pg_slot(uint64_t pg)
{
    return (size_t)((pg * 0x9e3779b97f4a7c15ULL) >> 40) & (MINDEX_PG_GEN - 1);
}

/* Stamp the pages that changed under the mapping (all of them when all or
   when the pager does not know which) with a new generation. */
static void forget_changed(mindex *m, int all)
{
    const uint64_t *pg;
    size_t n;
    all |= pager_changes(m->pf, &pg, &n);
    if (m->vgen == UINT32_MAX) { /* generations start over, every node forgotten */
        for (unsigned i = 0; i < m->count; i++)
            posset_clear(&m->ix[i].verified);
        if (m->pg_gen)
            memset(m->pg_gen, 0, MINDEX_PG_GEN * sizeof *m->pg_gen);
        m->vgen = m->all_gen = 0;
    }
    m->vgen++;
    if (!all && !m->pg_gen && n)
        all = !(m->pg_gen = calloc(MINDEX_PG_GEN, sizeof *m->pg_gen));
    if (all)
        m->all_gen = m->vgen;
    else
        for (size_t k = 0; k < n; k++)
            m->pg_gen[pg_slot(pg[k])] = m->vgen;
}

/* Was the node at pos (len bytes) verified since its pages last changed? */
static int still_verified(const mindex *m, const posslot *s, int64_t pos, unsigned len)
{
    if (s->vgen < m->all_gen)
        return 0;
    if (!m->pg_gen)
        return 1;
    unsigned sh = m->pf->pshift;
    for (uint64_t a = (uint64_t)pos >> sh, b = ((uint64_t)pos + len - 1) >> sh; a <= b; a++)
        if (s->vgen < m->pg_gen[pg_slot(a)]) /* every page of it: a node may span several */
            return 0;
    return 1;
}

int mindex_reload(mindex *m, int all)
{
    forget_changed(m, all);
    const uint8_t *h = pager_get(m->pf, 0, LAY_HDR_SIZE);
    if (!h || !lay_ck_ok(h, LAY_HDR_SIZE) || lay_hdr_count(h) != m->count)
        return udb_err_set(m->err, UDB_CORRUPT, "%s: the header changed under this handle",
                           m->pf->path);
    for (unsigned i = 0; i < m->count; i++) {
        m->ix[i].epoch = ++m->epoch_base;
        decode_info(m, i);
    }
    return 0;
}

int mindex_flush(mindex *m)
{
    for (unsigned i = 0; i < m->count; i++) {
        mindex_index *x = &m->ix[i];
        if (!x->dirty)
            continue;
        uint8_t *p = pager_put(m->pf, lay_info_off(m->L, i + 1), m->L->info_size);
        if (!p)
            return m->err->code;
        lay_info_encode(m->L, p, &x->info);
        x->dirty = 0;
    }
    return 0;
}

int mindex_format(pager_file *pf, const lay *L, unsigned count, udb_err *err)
{
    uint64_t at;
    int rc = pager_extend(pf, lay_body_off(L, count), &at);
    if (rc)
        return rc;
    uint8_t *p = pager_put(pf, 0, lay_body_off(L, count));
    if (!p)
        return err->code;
    lay_hdr_encode(p, count);
    lay_info none = {0};
    none.free_node = none.free_leaf = none.root = none.first_leaf = none.last_leaf = -1;
    for (unsigned i = 1; i <= count; i++)
        lay_info_encode(L, p + lay_info_off(L, i), &none);
    return 0;
}

int mindex_readable(mindex *m, unsigned ix)
{
    if (ix >= m->count)
        return udb_err_set(m->err, UDB_INVAL, "no index %u (the file has %u)", ix + 1, m->count);
    mindex_index *x = &m->ix[ix];
    if (!x->usable)
        return udb_err_set(m->err, x->info.keytype == UDB_KEY_VOID ? UDB_NOTFOUND : UDB_CORRUPT,
                           "index %u: %s", ix + 1, x->why);
    if (!x->recorded)
        return udb_err_set(m->err, UDB_CORRUPT, "index %u: %s", ix + 1, x->why);
    return 0;
}

/* ---- node and leaf access -------------------------------------------------------------- */
/* Fetch the lines of the first three rounds' probes of a search of the hi
   first items of node n: seven lines in one memory wait. */
static inline void prefetch_probes(const lay_tree *T, const uint8_t *n, unsigned hi)
{
    for (unsigned k = 1; k < 8; k++)
        __builtin_prefetch(lay_node_key(T, n, hi * k / 8));
}

/* search: the node is about to be searched; when it was verified before,
   the item count seen then starts its probe lines on their way together
   with its header (the count itself is read from the node, as always). */
static const uint8_t *node_at(mindex *m, mindex_index *x, int64_t pos, int search,
                              posslot **slot)
{
    unsigned ix = (unsigned)(x - m->ix);
    if (pos < 0 || (uint64_t)pos < m->body) {
        err_index(m, ix, UDB_CORRUPT, "node pointer outside the body", pos);
        return NULL;
    }
    const uint8_t *n = pager_get(m->pf, (uint64_t)pos, x->T.node_size);
    if (!n) {
        err_index(m, ix, UDB_CORRUPT, "node pointer past the end of the file", pos);
        return NULL;
    }
    posslot *seen = posset_find(&x->verified, pos);
    if (seen && !still_verified(m, seen, pos, x->T.node_size))
        seen = NULL;
    if (seen) {
        m->hits++;
        if (search && !seen->fence_hi && seen->hint >= 32 && seen->hint <= x->T.maxitems)
            prefetch_probes(&x->T, n, seen->hint);
    } else {
        m->misses++;
        if (!lay_ck_ok(n, x->T.node_size)) {
            err_index(m, ix, UDB_CORRUPT, "node checksum mismatch", pos);
            return NULL;
        }
        if (posset_add(&x->verified, pos, lay_node_count(n), m->vgen) == 0 && slot)
            seen = posset_find(&x->verified, pos);
    }
    if (slot)
        *slot = seen;
    unsigned c = lay_node_count(n);
    if (c == 0 || c > x->T.maxitems) {
        udb_err_set(m->err, UDB_CORRUPT, "index %u: node at offset %lld holds %u items (max %u)",
                    ix + 1, (long long)pos, c, x->T.maxitems);
        return NULL;
    }
    return n;
}

const uint8_t *mindex_node(mindex *m, mindex_index *x, int64_t pos)
{
    return node_at(m, x, pos, 0, NULL);
}

void mbottom_start(mindex *m, mindex_index *x, mbottom *b)
{
    int64_t pos = x->info.root;
    for (unsigned lvl = x->info.levels; lvl > 1 && pos > 0; lvl--) {
        const uint8_t *n = mindex_node(m, x, pos);
        pos = n && lay_node_count(n) ? lay_node_child(&x->T, n, 0) : -1;
    }
    b->at = -1;
    b->next = pos;
    b->nodes = 0;
    b->most = m->pf->size / x->T.node_size + 1;
}

const uint8_t *mbottom_next(mindex *m, mindex_index *x, mbottom *b, int *rc)
{
    *rc = 0;
    if (b->next <= 0)
        return NULL;
    if (++b->nodes > b->most) {
        *rc = 1;
        return NULL;
    }
    const uint8_t *n = mindex_node(m, x, b->next);
    if (!n) {
        *rc = m->err->code;
        return NULL;
    }
    b->at = b->next;
    b->next = lay_node_next(&x->T, n);
    return n;
}

const uint8_t *mindex_leaf(mindex *m, mindex_index *x, int64_t pos)
{
    unsigned ix = (unsigned)(x - m->ix);
    if (pos < 0 || (uint64_t)pos < m->body) {
        err_index(m, ix, UDB_CORRUPT, "leaf pointer outside the body", pos);
        return NULL;
    }
    const uint8_t *l = pager_get(m->pf, (uint64_t)pos, x->T.leaf_size);
    if (!l) {
        err_index(m, ix, UDB_CORRUPT, "leaf pointer past the end of the file", pos);
        return NULL;
    }
    if (!lay_ck_ok(l, x->T.leaf_size)) {
        err_index(m, ix, UDB_CORRUPT, "leaf checksum mismatch", pos);
        return NULL;
    }
    return l;
}

/* ---- search ------------------------------------------------------------------------------ */

/* BLOCK keys: a binary search whose next probes are already on their way.
   The first three rounds' seven probe points are fetched together; once
   the range is an eighth of the node, all of it is. An uncached 4 KiB node
   then costs about two memory waits instead of one per probe. */
/* Bisect [*lo, *hi) of a BLOCK node towards the first key >= key until at
   most width items are left. */
static void block_narrow(const lay_tree *T, const uint8_t *n, unsigned *lo, unsigned *hi,
                         const uint8_t *key, unsigned width)
{
    while (*hi - *lo > width) {
        unsigned mid = (*lo + *hi) / 2;
        if (lay_block_cmp(lay_node_key(T, n, mid), key, T->ks) < 0)
            *lo = mid + 1;
        else
            *hi = mid;
    }
}

static unsigned block_lower_bound(const lay_tree *T, const uint8_t *n, unsigned hi, const uint8_t *key)
{
    unsigned lo = 0, near = hi >= 32 ? hi / 8 + 1 : 0;
    if (near) {
        prefetch_probes(T, n, hi);
        block_narrow(T, n, &lo, &hi, key, near);
        for (unsigned i = lo; i < hi; i += 64 / T->item + 1)
            __builtin_prefetch(lay_node_key(T, n, i));
    }
    block_narrow(T, n, &lo, &hi, key, 0);
    return lo;
}

/* First item in [0, hi) whose key is >= key; hi when none. */
static unsigned lower_bound(const lay_tree *T, const uint8_t *n, unsigned hi, const uint8_t *key)
{
    if (T->keytype == UDB_KEY_BLOCK)
        return block_lower_bound(T, n, hi, key);
    unsigned lo = 0;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (lay_cmp(T, lay_node_key(T, n, mid), key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- fences: where a searched BLOCK node's keys stood ------------------------------- */
/* A verified BLOCK node remembers the first 4 bytes of the keys at its seven
   probe points (memory, not the file). A later search narrows the node to
   the eighth between two fences, fetches just that, and checks the two
   items around it against the node itself: a node that changed since only
   costs the full search (and new fences). One memory wait instead of two. */
static void take_fences(const lay_tree *T, const uint8_t *n, unsigned hi, posslot *s)
{
    for (unsigned k = 0; k < MINDEX_FENCES; k++)
        s->fence[k] = lay_block_prefix(lay_node_key(T, n, hi * (k + 1) / 8), T->ks);
    s->fence_hi = hi;
}

/* The items [*a, *b) of a node searched up to hi that the fences leave for
   key, and start fetching their lines (and those of the two items around
   them); 0 when the fences contradict each other. */
static int fence_range(const lay_tree *T, const uint8_t *n, unsigned hi, const uint8_t *key,
                       const posslot *s, unsigned *a, unsigned *b)
{
    uint32_t kp = lay_block_prefix(key, T->ks);
    unsigned per_line = 64 / T->item + 1;
    *a = 0, *b = hi;
    for (unsigned k = 0; k < MINDEX_FENCES; k++) {
        unsigned at = hi * (k + 1) / 8;
        if (s->fence[k] < kp) {
            *a = at + 1;
        } else if (s->fence[k] > kp) {
            *b = at;
            break;
        }
    }
    if (*a > *b)
        return 0;
    for (unsigned i = *a ? *a - 1 : 0; i < *b; i += per_line)
        __builtin_prefetch(lay_node_key(T, n, i));
    if (*b < hi)
        __builtin_prefetch(lay_node_key(T, n, *b));
    return 1;
}

/* The items a descent's fences left for key in the node at pos (searched
   up to hi), found when its lines were fetched; pos -1: none. */
typedef struct fenced {
    int64_t pos;
    unsigned hi, a, b;
} fenced;

/* A descent about to enter the node at pos: when it was searched before,
   fetch the lines its fences will leave for key together with its header,
   so that its search waits for memory once, with the parent's. */
static void prefetch_child(const mindex *m, const mindex_index *x, int64_t pos, const uint8_t *key,
                           fenced *f)
{
    const uint8_t *n = pos > 0 ? pager_peek(m->pf, (uint64_t)pos, x->T.node_size) : NULL;
    f->pos = -1;
    if (!n)
        return;
    __builtin_prefetch(n);
    const posslot *s = x->T.keytype == UDB_KEY_BLOCK ? posset_find(&x->verified, pos) : NULL;
    if (s && s->fence_hi && s->fence_hi <= x->T.maxitems) {
        if (fence_range(&x->T, n, s->fence_hi, key, s, &f->a, &f->b))
            f->pos = pos, f->hi = s->fence_hi;
    } else {
        __builtin_prefetch(n + 64);
    }
}

/* lower_bound through the fences (their range found already: f);
   UINT_MAX when they do not hold */
static unsigned fenced_lower_bound(const lay_tree *T, const uint8_t *n, unsigned hi,
                                   const uint8_t *key, const posslot *s, const fenced *f)
{
    unsigned a = f->a, b = f->b;
    if (f->hi != hi && !fence_range(T, n, hi, key, s, &a, &b))
        return UINT_MAX;
    if ((a > 0 && lay_block_cmp(lay_node_key(T, n, a - 1), key, T->ks) >= 0) ||
        (b < hi && lay_block_cmp(lay_node_key(T, n, b), key, T->ks) < 0))
        return UINT_MAX;
    block_narrow(T, n, &a, &b, key, 0);
    return a;
}

static unsigned search_node(const lay_tree *T, const uint8_t *n, unsigned hi, const uint8_t *key,
                            posslot *s, const fenced *f)
{
    if (!s || T->keytype != UDB_KEY_BLOCK || hi < 32)
        return lower_bound(T, n, hi, key);
    if (s->fence_hi == hi) {
        unsigned j = fenced_lower_bound(T, n, hi, key, s, f);
        if (j != UINT_MAX)
            return j;
    }
    unsigned j = lower_bound(T, n, hi, key);
    take_fences(T, n, hi, s); /* the probe lines the search just read */
    return j;
}

int mindex_descend(mindex *m, mindex_index *x, const uint8_t *key, mpath *p)
{
    unsigned levels = x->info.levels;
    int64_t pos = x->info.root;
    p->bkey = p->leaf = NULL;
    if (levels < 1 || levels > MINDEX_MAX_LEVELS) /* a file's are checked at open: a bulk
                                                     load that failed took the tree apart */
        return udb_err_set(m->err, UDB_CORRUPT,
                           "index %u has no tree (%u levels): a failed call left it half built; "
                           "roll back",
                           (unsigned)(x - m->ix) + 1, levels);
    fenced f = {-1, 0, 0, 0};
    for (unsigned lvl = levels; lvl >= 1; lvl--) {
        posslot *s;
        const uint8_t *n = node_at(m, x, pos, 1, &s);
        if (!n)
            return m->err->code;
        unsigned cnt = lay_node_count(n);
        int rightmost = lay_node_next(&x->T, n) == -1;
        unsigned hi = rightmost ? cnt - 1 : cnt;
        if (f.pos != pos)
            f.hi = 0; /* not this node's */
        unsigned j = search_node(&x->T, n, hi, key, s, &f);
        if (j == hi)
            j = cnt - 1; /* +infinity item, or a damaged bound: go right */
        p->pos[lvl] = pos;
        p->j[lvl] = j;
        if (lvl == 1)
            p->bkey = rightmost && j == cnt - 1 ? NULL : lay_node_key(&x->T, n, j);
        pos = lay_node_child(&x->T, n, j);
        if (lvl > 1)
            prefetch_child(m, x, pos, key, &f);
        else
            mindex_prefetch(m, pos, x->T.leaf_size);
    }
    p->pos[0] = pos;
    p->j[0] = 0;
    return 0;
}

int mindex_find(mindex *m, unsigned ix, const uint8_t *key, int64_t *leaf)
{
    mpath p;
    return mindex_find_path(m, ix, key, leaf, &p);
}

/* The message of mindex_missing, made when read: arg holds the index, the
   key type, the key size and the key's first bytes (as many as the text
   can show). */
#define MISSING_KEY (UDB_ERR_ARG - 12)
static void missing_text(const unsigned char *arg, char *out, size_t len)
{
    uint32_t w[3];
    char text[160];
    memcpy(w, arg, sizeof w);
    lay_key_text((int)w[1], arg + sizeof w, w[2], text, sizeof text);
    snprintf(out, len, "no record with key %s in index %u", text, (unsigned)w[0] + 1);
}

int mindex_missing(mindex *m, unsigned ix, const uint8_t *key)
{
    const lay_tree *T = &m->ix[ix].T;
    unsigned char arg[UDB_ERR_ARG];
    uint32_t w[3] = {ix, (uint32_t)T->keytype, T->ks}; /* the text reads at most
                                                          153 key bytes */
    _Static_assert(MISSING_KEY >= 154, "room for the key bytes lay_key_text reads");
    size_t kn = T->ks < MISSING_KEY ? T->ks : MISSING_KEY;
    memcpy(arg, w, sizeof w);
    memcpy(arg + sizeof w, key, kn);
    return udb_err_defer(m->err, UDB_NOTFOUND, missing_text, arg, sizeof w + kn);
}

int mindex_find_path(mindex *m, unsigned ix, const uint8_t *key, int64_t *leaf, mpath *path)
{
    int rc = mindex_readable(m, ix);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[ix];
    mpath *p = path;
    if ((rc = mindex_descend(m, x, key, p)))
        return rc;
    *leaf = p->pos[0];
    if (p->pos[0] == x->info.last_leaf)
        return UDB_NOTFOUND;
    /* a bottom item's key is its leaf's (check.c): another key is not
       there, and the leaf need not be read */
    if (p->bkey && lay_cmp(&x->T, p->bkey, key) != 0)
        return UDB_NOTFOUND;
    const uint8_t *l = mindex_leaf(m, x, p->pos[0]);
    if (!l)
        return m->err->code;
    if (lay_cmp(&x->T, lay_leaf_key(&x->T, l), key) != 0)
        return UDB_NOTFOUND;
    p->leaf = l;
    return 0;
}

/* ---- cursors -------------------------------------------------------------------------------- */
int mcursor_init(mindex *m, unsigned ix, mcursor *c)
{
    int rc = mindex_readable(m, ix);
    if (rc)
        return rc;
    memset(c, 0, sizeof *c);
    c->ix = ix;
    c->leaf = -1;
    c->ks = m->ix[ix].T.ks;
    c->keytype = m->ix[ix].T.keytype;
    c->key = calloc(1, c->ks);
    if (!c->key)
        return udb_err_set(m->err, UDB_NOMEM, "out of memory");
    return 0;
}

/* The index a cursor was opened on, not one defined anew in its slot since
   (a rollback and a define): its key buffer has the old size. */
int mcursor_bound(mindex *m, mcursor *c)
{
    const lay_tree *T = &m->ix[c->ix].T;
    if (T->ks == c->ks && T->keytype == c->keytype)
        return 0;
    c->leaf = -1;
    return udb_err_set(m->err, UDB_STALE,
                       "index %u was defined anew since the cursor was opened (keys of %u bytes, "
                       "were %u): open a new cursor",
                       c->ix + 1, T->ks, c->ks);
}

void mcursor_free(mcursor *c)
{
    free(c->key);
    c->key = NULL;
}

static uint64_t max_steps(mindex *m, mindex_index *x)
{
    return pager_size(m->pf) / x->T.leaf_size + 2;
}

/* The cursor on the leaf at leaf, verified (l): its key, data position
   and links, trusted while the index's epoch stays. */
static void cursor_on(const mindex_index *x, mcursor *c, int64_t leaf, const uint8_t *l)
{
    c->leaf = leaf;
    memcpy(c->key, lay_leaf_key(&x->T, l), x->T.ks);
    c->dp = lay_leaf_datapos(&x->T, l);
    c->next = lay_leaf_next(&x->T, l);
    c->prev = lay_leaf_prev(&x->T, l);
}

int mcursor_set(mindex *m, mcursor *c, int64_t leaf)
{
    mindex_index *x = &m->ix[c->ix];
    int rc = mcursor_bound(m, c);
    if (rc)
        return rc;
    c->epoch = x->epoch;
    c->steps = 0;
    c->leaf = leaf;
    if (leaf == -1 || leaf == x->info.last_leaf)
        return 0;
    const uint8_t *l = mindex_leaf(m, x, leaf);
    if (!l) {
        c->leaf = -1;
        return m->err->code;
    }
    cursor_on(x, c, leaf, l);
    return 0;
}

/* A step along the chain to leaf (verified: l), keeping the cycle guard. */
static int step_to(mindex *m, mcursor *c, int64_t leaf, const uint8_t *l)
{
    uint64_t steps = c->steps + 1;
    if (steps > max_steps(m, &m->ix[c->ix]))
        return udb_err_set(m->err, UDB_CORRUPT, "index %u: the leaf chain loops (at offset %lld)",
                           c->ix + 1, (long long)leaf);
    cursor_on(&m->ix[c->ix], c, leaf, l);
    c->steps = steps;
    return 0;
}

/* After a change elsewhere: find the cursor's record again by key. */
int mcursor_valid(mindex *m, mcursor *c)
{
    mindex_index *x = &m->ix[c->ix];
    int rc = mcursor_bound(m, c);
    if (rc)
        return rc;
    if (c->epoch == x->epoch || c->leaf == -1)
        return 0;
    if (!x->recorded)
        return udb_err_set(m->err, UDB_STALE, "index %u changed", c->ix + 1);
    if (c->leaf == x->info.last_leaf) {
        c->epoch = x->epoch;
        return 0;
    }
    mpath p;
    if ((rc = mindex_descend(m, x, c->key, &p)))
        return rc;
    uint64_t limit = max_steps(m, x);
    for (int64_t at = p.pos[0]; at != x->info.last_leaf && limit--;) {
        const uint8_t *l = mindex_leaf(m, x, at);
        if (!l)
            return m->err->code;
        if (lay_cmp(&x->T, lay_leaf_key(&x->T, l), c->key) != 0)
            break;
        if (at == c->leaf && lay_leaf_datapos(&x->T, l) == c->dp) {
            c->epoch = x->epoch;
            c->next = lay_leaf_next(&x->T, l); /* the neighbours may have changed */
            c->prev = lay_leaf_prev(&x->T, l);
            return 0;
        }
        at = lay_leaf_next(&x->T, l);
    }
    c->leaf = -1;
    return udb_err_set(m->err, UDB_STALE,
                       "index %u: the record under the cursor was removed by another cursor or "
                       "handle",
                       c->ix + 1);
}

/* The record under c moved to dp: its leaf and the chain stay. */
void mcursor_moved(mindex *m, mcursor *c, int64_t dp)
{
    c->dp = dp;
    c->epoch = m->ix[c->ix].epoch;
}

int mcursor_first(mindex *m, mcursor *c)
{
    mindex_index *x = &m->ix[c->ix];
    int rc = mcursor_set(m, c, x->info.first_leaf);
    return rc ? rc : x->info.first_leaf == x->info.last_leaf ? UDB_NOTFOUND : 0;
}

int mcursor_last(mindex *m, mcursor *c)
{
    mindex_index *x = &m->ix[c->ix];
    const uint8_t *l = mindex_leaf(m, x, x->info.last_leaf);
    if (!l)
        return m->err->code;
    int64_t p = lay_leaf_prev(&x->T, l);
    if (p == -1) /* empty: the cursor rests on the EOF leaf, as after GetFirst */
        return mcursor_set(m, c, x->info.last_leaf) ? m->err->code : UDB_NOTFOUND;
    const uint8_t *pl = mindex_leaf(m, x, p);
    if (!pl)
        return m->err->code;
    if (p == x->info.last_leaf || lay_leaf_next(&x->T, pl) != x->info.last_leaf)
        return udb_err_set(m->err, UDB_CORRUPT,
                           "index %u: leaf chain broken: the EOF leaf points back to %lld, which "
                           "does not point forward to it",
                           c->ix + 1, (long long)p);
    return mcursor_set(m, c, p);
}

int mcursor_next(mindex *m, mcursor *c)
{
    mindex_index *x = &m->ix[c->ix];
    int rc = mcursor_valid(m, c);
    if (rc)
        return rc;
    if (c->leaf == -1 || c->leaf == x->info.last_leaf)
        return UDB_NOTFOUND;
    int64_t n = c->next;
    if (n == x->info.last_leaf)
        return UDB_NOTFOUND;
    const uint8_t *nl = mindex_leaf(m, x, n);
    if (!nl)
        return m->err->code;
    if (lay_leaf_prev(&x->T, nl) != c->leaf)
        return udb_err_set(m->err, UDB_CORRUPT,
                           "index %u: leaf chain broken: leaf at offset %lld points forward to "
                           "%lld, which points back to %lld",
                           c->ix + 1, (long long)c->leaf, (long long)n,
                           (long long)lay_leaf_prev(&x->T, nl));
    return step_to(m, c, n, nl);
}

int mcursor_prev(mindex *m, mcursor *c)
{
    mindex_index *x = &m->ix[c->ix];
    int rc = mcursor_valid(m, c);
    if (rc)
        return rc;
    if (c->leaf == -1 || c->leaf == x->info.first_leaf)
        return UDB_NOTFOUND;
    int64_t p = c->prev;
    if (c->leaf == x->info.last_leaf) { /* at the end: the EOF leaf was not read */
        const uint8_t *l = mindex_leaf(m, x, c->leaf);
        if (!l)
            return m->err->code;
        p = lay_leaf_prev(&x->T, l);
    }
    if (p == -1)
        return UDB_NOTFOUND;
    const uint8_t *pl = mindex_leaf(m, x, p);
    if (!pl)
        return m->err->code;
    if (lay_leaf_next(&x->T, pl) != c->leaf)
        return udb_err_set(m->err, UDB_CORRUPT,
                           "index %u: leaf chain broken: leaf at offset %lld points back to %lld, "
                           "which points forward to %lld",
                           c->ix + 1, (long long)c->leaf, (long long)p,
                           (long long)lay_leaf_next(&x->T, pl));
    return step_to(m, c, p, pl);
}

/* From the leaf a descent for key reached, on to the first record whose key
   is >= key. A descent only lands below key through the +infinity item: in
   an original's index whose stored EOF key is not the maximum, the records
   equal to that old sentinel lie in the EOF run, below every greater key. */
static int first_not_below(mindex *m, mindex_index *x, const uint8_t *key, int64_t *leaf)
{
    uint64_t limit = max_steps(m, x);
    while (*leaf != x->info.last_leaf) {
        const uint8_t *l = mindex_leaf(m, x, *leaf);
        if (!l)
            return m->err->code;
        if (lay_cmp(&x->T, lay_leaf_key(&x->T, l), key) >= 0)
            return 0;
        if (!limit--)
            return udb_err_set(m->err, UDB_CORRUPT, "index %u: the leaf chain loops (at offset %lld)",
                               (unsigned)(x - m->ix) + 1, (long long)*leaf);
        *leaf = lay_leaf_next(&x->T, l);
    }
    return 0;
}

int mcursor_seek(mindex *m, mcursor *c, const uint8_t *key)
{
    mindex_index *x = &m->ix[c->ix];
    mpath p;
    int rc = mindex_descend(m, x, key, &p);
    if (!rc)
        rc = first_not_below(m, x, key, &p.pos[0]);
    if (rc || (rc = mcursor_set(m, c, p.pos[0])))
        return rc;
    return p.pos[0] == x->info.last_leaf ? UDB_NOTFOUND : 0;
}

int mcursor_find(mindex *m, mcursor *c, const uint8_t *key)
{
    int64_t leaf;
    int rc = mindex_find(m, c->ix, key, &leaf);
    if (rc == UDB_NOTFOUND) {
        int rw = first_not_below(m, &m->ix[c->ix], key, &leaf);
        if (rw)
            return rw;
    }
    if (rc && rc != UDB_NOTFOUND)
        return rc;
    int rs = mcursor_set(m, c, leaf);
    return rs ? rs : rc;
}

int mcursor_bof(mindex *m, mcursor *c)
{
    mindex_index *x = &m->ix[c->ix];
    if (c->leaf == -1)
        return 0;
    if (c->leaf == x->info.first_leaf)
        return 1;
    const uint8_t *l = mindex_leaf(m, x, c->leaf);
    return l ? lay_leaf_prev(&x->T, l) == -1 : 1;
}

int mcursor_eof(mindex *m, mcursor *c)
{
    mindex_index *x = &m->ix[c->ix];
    if (c->leaf == -1)
        return 0;
    if (c->leaf == x->info.last_leaf)
        return 1;
    const uint8_t *l = mindex_leaf(m, x, c->leaf);
    return l ? lay_leaf_next(&x->T, l) == x->info.last_leaf : 1;
}
