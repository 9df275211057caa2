/*
 * repair.c — rebuilding a damaged MultiIndex file from its leaves.
 *
 * Trusts no pointer it has not verified. The body is scanned for every
 * block that has the size of some index's leaf and a valid checksum (a
 * rolling XOR: one pass per leaf size, over the data of a sparse file).
 * Of those, leaves whose chain links
 * agree in both directions form fragments; a fragment ending at an EOF leaf
 * is an index's chain. Chains go to indexes by the info's EOF leaf when the
 * info is sound, else in the order the originals created them (EOF leaf
 * position); fragments without an EOF leaf go to the index whose leaves lie
 * next to theirs in the file (the same growth batch). Each index is then
 * rebuilt with the bulk loader: keys in order, duplicates in chain order.
 *
 * Free leaves versus records: a free leaf has prev -1, data position 0 and
 * a zero key, but so has the first record of a chain whose key and data
 * position are both zero; the data position alone decides nothing. Such a
 * leaf is a record when its next leaf links back to it (no free leaf's
 * does; a note names it when a free-leaf list reaches it too), or when a
 * tree points at it or it fills a gap and its next link is not a free
 * leaf's (-1 or another free leaf): a note names it. Otherwise it is free.
 * The free-leaf lists are walked from the infos, each step a free-shaped
 * leaf of the index's size, each leaf once. Any other leaf whose links
 * both fail is kept when a tree points at it or when it fills the gap
 * between two broken links (the leaf before it names its prev, or the
 * leaf after it its next).
 *
 * Reads the damaged file through the pager and layout only; writes through
 * the public API (and api_ndx.h's loader that keeps an original's
 * duplicates in a UNIQUE index).
 */
#include <stdio.h>
#include <stdlib.h>
#include "api_int.h"
#include "api_ndx.h"
#include "layout.h"
#include "repair.h"

void *rep_room(void *p, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return p;
    size_t k = *cap ? 2 * *cap : first;
    void *q = realloc(p, k * elem);
    if (q)
        *cap = k;
    return q;
}

/* ---- candidates: leaf-shaped blocks ------------------------------------------------------ */
static size_t slot_of(const rctx *c, int64_t pos, unsigned size)
{
    uint64_t h = ((uint64_t)pos * 0x9e3779b97f4a7c15ULL) ^ size;
    return (size_t)(h >> 17) & (c->hcap - 1);
}

const rcand *rep_find(const rctx *c, int64_t pos, unsigned size)
{
    if (!c->hcap || pos < 0)
        return NULL;
    for (size_t i = slot_of(c, pos, size);; i = (i + 1) & (c->hcap - 1)) {
        long k = c->hash[i];
        if (k < 0)
            return NULL;
        if (c->cand[k].pos == pos && c->cand[k].size == size)
            return &c->cand[k];
    }
}

static int plausible(const rctx *c, int64_t p, unsigned size)
{
    return p == -1 || (p >= (int64_t)c->body && (uint64_t)p + size <= c->size);
}

/* A leaf-shaped block whose links could be real. Any data position is
   kept here: 0 is an ordinary one, and one udb cannot store is reported
   with its record when the file is written. */
static int add_cand(rctx *c, int64_t pos, unsigned size)
{
    const uint8_t *l = c->d + pos;
    unsigned psz = c->L->psz;
    int64_t next = lay_ldpos(c->L, l + 1), prev = lay_ldpos(c->L, l + 1 + psz),
            dp = lay_ldpos(c->L, l + 1 + 2 * psz);
    if (!plausible(c, next, size) || !plausible(c, prev, size))
        return 0;
    rcand *p = rep_room(c->cand, c->ncand, &c->capcand, sizeof *p, 4096);
    if (!p)
        return UDB_NOMEM;
    c->cand = p;
    c->cand[c->ncand++] = (rcand){pos, next, prev, dp, size, -1, -1, 0, 0, 0, 0, DOUBT_NONE};
    return 0;
}

static int build_hash(rctx *c)
{
    size_t cap = 64;
    while (cap < 2 * c->ncand + 2)
        cap *= 2;
    c->hash = malloc(cap * sizeof *c->hash);
    if (!c->hash)
        return UDB_NOMEM;
    c->hcap = cap;
    for (size_t i = 0; i < cap; i++)
        c->hash[i] = -1;
    for (size_t k = 0; k < c->ncand; k++) {
        size_t i = slot_of(c, c->cand[k].pos, c->cand[k].size);
        while (c->hash[i] >= 0)
            i = (i + 1) & (cap - 1);
        c->hash[i] = (long)k;
    }
    return 0;
}

/* Every start in [a, last] where a block of this size has a zero XOR. */
static int scan_range(rctx *c, unsigned size, uint64_t a, uint64_t last)
{
    uint8_t x = lay_xor(c->d + a, size);
    for (uint64_t p = a;; p++) {
        if (((p - c->body) & 0xfffff) == 0) /* progress every MiB */
            progress_say(&c->pr, "repair scan", c->scan_done + (p - c->body), c->scan_total);
        if (x == 0) {
            int rc = add_cand(c, (int64_t)p, size);
            if (rc)
                return rc;
        }
        if (p == last)
            return 0;
        x ^= c->d[p] ^ c->d[p + size];
    }
}

/* Every offset of the body where a block of this size has a zero XOR. A
   block inside a hole of a sparse file is zeros, which no leaf is (its
   links would point into the header): only blocks that meet the file's
   data are looked at, so a huge sparse file costs its data, not its size. */
static int scan_size(rctx *c, unsigned size)
{
    uint64_t off = c->body, s, e;
    while (off + size <= c->size && !pager_next_data(c->pf, off, &s, &e)) {
        uint64_t a = s - off >= size ? s - (size - 1) : off; /* the first block that meets s */
        uint64_t last = e - 1 < c->size - size ? e - 1 : c->size - size;
        int rc = a <= last ? scan_range(c, size, a, last) : 0;
        if (rc)
            return rc;
        off = last + 1 > e ? last + 1 : e;
    }
    return 0;
}

/* ---- links, fragments --------------------------------------------------------------------- */
static void check_links(rctx *c)
{
    for (size_t k = 0; k < c->ncand; k++) {
        rcand *a = &c->cand[k];
        const rcand *n = a->next == -1 ? NULL : rep_find(c, a->next, a->size);
        const rcand *p = a->prev == -1 ? NULL : rep_find(c, a->prev, a->size);
        a->fwd_ok = a->next == -1 || (n && n->prev == a->pos && n != a);
        a->back_ok = a->prev == -1 || (p && p->next == a->pos && p != a);
    }
}

int rep_free_shaped(const rctx *c, const rcand *a)
{
    const uint8_t *key = c->d + a->pos + 1 + 3 * c->L->psz;
    unsigned ks = a->size - 1 - 3 * c->L->psz;
    if (a->prev != -1 || a->dp != 0)
        return 0;
    for (unsigned i = 0; i < ks; i++)
        if (key[i])
            return 0;
    return 1;
}

/* Mark the leaves each index's free-leaf list reaches: from the info's
   head, free-shaped leaves of its size, each once (a loop or a bad link
   ends the walk). */
static void walk_free_lists(rctx *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        const rep_index *x = &c->ix[i];
        if (!x->usable)
            continue;
        for (int64_t at = x->info.free_leaf; at != -1;) {
            rcand *a = (rcand *)rep_find(c, at, (unsigned)x->T.leaf_size);
            if (!a || a->on_free || !rep_free_shaped(c, a))
                break;
            a->on_free = (int)i + 1;
            at = a->next;
        }
    }
}

/* Is a's next link a free leaf's: -1 or another free-shaped leaf? */
static int free_link(const rctx *c, const rcand *a)
{
    const rcand *n = a->next == -1 ? NULL : rep_find(c, a->next, a->size);
    return a->next == -1 || (n && rep_free_shaped(c, n));
}

/* Is a the end of a chain: the EOF leaf of an index with its leaf size? */
int rep_is_eof(const rctx *c, const rcand *a)
{
    if (a->next != -1 || a->dp != -1)
        return 0;
    for (unsigned i = 0; i < c->n; i++) {
        const rep_index *x = &c->ix[i];
        if (!x->usable || x->T.leaf_size != a->size)
            continue;
        uint8_t *k = c->kbuf;
        const uint8_t *key = c->d + a->pos + 1 + 3 * c->L->psz;
        lay_eof_key_max(&x->T, k);
        if (!memcmp(key, k, x->T.ks))
            return 1;
        lay_eof_key_original(&x->T, k);
        if (!memcmp(key, k, x->T.ks))
            return 1;
    }
    return 0;
}

/* ---- gaps: where a chain leaf's link leads to no leaf that links back ------------------------ */
typedef struct rgap {
    int64_t to;                 /* the position the link names */
    unsigned size;
    int dir;                    /* 0: a next link, 1: a prev link */
} rgap;

static int cmp_gap(const void *x, const void *y)
{
    const rgap *p = x, *q = y;
    if (p->dir != q->dir)
        return p->dir - q->dir;
    if (p->to != q->to)
        return p->to < q->to ? -1 : 1;
    return (p->size > q->size) - (p->size < q->size);
}

/* A leaf that speaks for its broken links: a record leaf linked on its
   other side, the EOF leaf, or one a tree points at. */
static int anchored(const rctx *c, const rcand *a)
{
    return !rep_free_shaped(c, a) && ((a->next != -1 && a->fwd_ok) || (a->prev != -1 && a->back_ok) ||
                                      a->tree_ix >= 0 || rep_is_eof(c, a));
}

static int find_gaps(rctx *c)
{
    size_t n = 0;
    rgap *g = malloc((2 * c->ncand + 1) * sizeof *g);
    if (!g)
        return UDB_NOMEM;
    for (size_t k = 0; k < c->ncand; k++) {
        const rcand *a = &c->cand[k];
        if (!anchored(c, a))
            continue;
        if (a->next != -1 && !a->fwd_ok)
            g[n++] = (rgap){a->next, a->size, 0};
        if (a->prev != -1 && !a->back_ok)
            g[n++] = (rgap){a->prev, a->size, 1};
    }
    qsort(g, n, sizeof *g, cmp_gap);
    c->gap = (struct rgap *)g;
    c->ngap = n;
    return 0;
}

/* Does a fill a gap: a leaf before it names its prev as its next, or one
   after it names its next as its prev? */
static int bridges(const rctx *c, const rcand *a)
{
    rgap want[2] = {{a->prev, a->size, 0}, {a->next, a->size, 1}};
    for (int i = 0; i < 2; i++)
        if (want[i].to != -1 && c->ngap && bsearch(&want[i], c->gap, c->ngap, sizeof want[i], cmp_gap))
            return 1;
    return 0;
}

/* Is a a leaf of some chain? Linked to a neighbour; a lone EOF leaf; a leaf
   a sound tree node points at; one that fills a gap. A free leaf's shape
   needs more: a link back, or a tree pointer or gap with a next link that
   is not a free leaf's. A free leaf's shape kept as a record gets its doubt
   (reported with the record). */
static int chained(const rctx *c, rcand *a)
{
    int linked = (a->next != -1 && a->fwd_ok) || (a->prev != -1 && a->back_ok);
    int evidence = a->tree_ix >= 0 || bridges(c, a);
    if (!rep_free_shaped(c, a))
        return linked || (a->prev == -1 && rep_is_eof(c, a)) || evidence;
    if (linked)
        a->doubt = a->on_free ? DOUBT_LISTED : DOUBT_NONE;
    else if (evidence && !free_link(c, a))
        a->doubt = DOUBT_LINK;
    return linked || a->doubt == DOUBT_LINK;
}

static void classify(rctx *c)
{
    for (size_t k = 0; k < c->ncand; k++)
        c->cand[k].live = chained(c, &c->cand[k]);
}

static int new_frag(rctx *c, size_t first)
{
    rfrag *f = rep_room(c->frag, c->nfrag, &c->capfrag, sizeof *f, 64);
    if (!f)
        return UDB_NOMEM;
    c->frag = f;
    c->frag[c->nfrag] = (rfrag){first, 0, 0, c->cand[first].size, -1, -1};
    c->nfrag++;
    return 0;
}

/* Follow mutual links from every chain head; the last leaf tells whether
   the fragment ends at an EOF leaf or at a break. */
static int build_fragments(rctx *c)
{
    for (size_t k = 0; k < c->ncand; k++) {
        rcand *a = &c->cand[k];
        if (a->frag >= 0 || !a->live || (a->prev != -1 && a->back_ok))
            continue;
        int rc = new_frag(c, k);
        if (rc)
            return rc;
        rfrag *f = &c->frag[c->nfrag - 1];
        for (rcand *at = a;;) {
            at->frag = (int)c->nfrag - 1;
            f->count++;
            f->last = (size_t)(at - c->cand);
            if (at->next == -1 || !at->fwd_ok)
                break;
            rcand *nx = (rcand *)rep_find(c, at->next, at->size);
            if (!nx || nx->frag >= 0)
                break;
            at = nx;
        }
        f->eof = rep_is_eof(c, &c->cand[f->last]);
    }
    return 0;
}

/* ---- the whole repair ------------------------------------------------------------------------ */
static int load_infos(rctx *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        rep_index *x = &c->ix[i];
        const uint8_t *p = c->d + lay_info_off(c->L, i + 1);
        lay_info_decode(c->L, p, &x->info);
        x->info_ok = lay_ck_ok(p, c->L->info_size);
        const lay_info *f = &x->info;
        x->usable = f->keytype >= 1 && f->keytype <= 7 && f->keysize >= lay_min_keysize((int)f->keytype) &&
                    f->maxitems >= 3 && f->attrib <= 3;
        if (x->usable)
            lay_tree_init(&x->T, c->L, (int)f->keytype, f->keysize, f->maxitems);
        if (f->keytype != 0 && !x->usable)
            rep_say(c, UDB_PROBLEM, (int64_t)lay_info_off(c->L, i + 1), i + 1,
                    "the definition is unreadable (key type %u, key size %u, max items %u): its "
                    "records cannot be recovered",
                    f->keytype, f->keysize, f->maxitems);
        else if (x->usable && !x->info_ok)
            rep_say(c, UDB_NOTE, (int64_t)lay_info_off(c->L, i + 1), i + 1,
                    "the index info fails its checksum; its definition is used as it reads");
        if (x->usable && x->T.ks > c->kmax)
            c->kmax = x->T.ks;
    }
    return 0;
}

/* Is index i the first usable one of its leaf size? */
static int first_of_size(const rctx *c, unsigned i)
{
    for (unsigned j = 0; j < i; j++)
        if (c->ix[j].usable && c->ix[j].T.leaf_size == c->ix[i].T.leaf_size)
            return 0;
    return c->ix[i].usable;
}

static int scan_all(rctx *c)
{
    for (unsigned i = 0; i < c->n; i++)
        c->scan_total += first_of_size(c, i) ? c->size - c->body : 0;
    for (unsigned i = 0; i < c->n; i++) {
        int rc = first_of_size(c, i) ? scan_size(c, (unsigned)c->ix[i].T.leaf_size) : 0;
        if (rc)
            return rc;
        c->scan_done += first_of_size(c, i) ? c->size - c->body : 0;
    }
    progress_say(&c->pr, "repair scan", c->scan_total, c->scan_total);
    return build_hash(c);
}

/* ---- evidence from the trees ---------------------------------------------------------------- */
static const uint8_t *sound_node(const rctx *c, const rep_index *x, int64_t pos)
{
    if (pos < (int64_t)c->body || (uint64_t)pos + x->T.node_size > c->size)
        return NULL;
    const uint8_t *n = c->d + pos;
    unsigned cnt = lay_node_count(n);
    return lay_ck_ok(n, x->T.node_size) && cnt >= 1 && cnt <= x->T.maxitems ? n : NULL;
}

/* Note a node's bytes (no more than the file could hold: a node has more
   than 16 bytes, and a tree that loops adds no more). */
static int add_node(rctx *c, int64_t pos, size_t size)
{
    if (c->nnodes > c->size / 16 + 64)
        return 0;
    rspan *s = rep_room(c->nodes, c->nnodes, &c->capnodes, sizeof *s, 256);
    if (!s)
        return UDB_NOMEM;
    c->nodes = s;
    c->nodes[c->nnodes++] = (rspan){pos, pos + (int64_t)size};
    return 0;
}

/* Walk one level of an index's tree: the children of the sound nodes in
   cur (whose bytes are noted). *n becomes the number of children written
   to next (at most cap). */
static int tree_level(rctx *c, const rep_index *x, const int64_t *cur, size_t *n, int64_t *next,
                      size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        const uint8_t *nd = sound_node(c, x, cur[i]);
        if (nd && add_node(c, cur[i], x->T.node_size))
            return UDB_NOMEM;
        for (unsigned j = 0; nd && j < lay_node_count(nd) && k < cap; j++)
            next[k++] = lay_node_child(&x->T, nd, j);
    }
    *n = k;
    return 0;
}

/* The bytes of an index's free nodes: its free-node list from the info,
   each a free node's shape, as many as the file can hold. */
static int free_nodes(rctx *c, const rep_index *x)
{
    uint64_t left = c->size / x->T.node_size + 1;
    for (int64_t at = x->info.free_node; at != -1 && left--;) {
        if (at < (int64_t)c->body || (uint64_t)at + x->T.node_size > c->size)
            break;
        const uint8_t *nd = c->d + at;
        if (!lay_ck_ok(nd, x->T.node_size) || !lay_node_is_free_shape(&x->T, nd))
            break;
        if (add_node(c, at, x->T.node_size))
            return UDB_NOMEM;
        at = lay_node_next(&x->T, nd);
    }
    return 0;
}

static int tree_marks(rctx *c, unsigned i, int64_t *a, int64_t *b, size_t cap)
{
    const rep_index *x = &c->ix[i];
    size_t n = 1;
    a[0] = x->info.root;
    for (unsigned lvl = x->info.levels; lvl >= 1 && n; lvl--) {
        if (tree_level(c, x, a, &n, b, cap))
            return UDB_NOMEM;
        int64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t k = 0; k < n; k++) { /* a holds the leaves the bottom items name */
        rcand *l = (rcand *)rep_find(c, a[k], (unsigned)x->T.leaf_size);
        if (l)
            l->tree_ix = (int)i;
    }
    return 0;
}

int rep_tree_marks(rctx *c)
{
    int rc = 0;
    for (unsigned i = 0; i < c->n && !rc; i++) {
        const rep_index *x = &c->ix[i];
        if (!x->usable)
            continue;
        if ((rc = free_nodes(c, x)) || x->info.levels < 1 || x->info.levels > 64)
            continue;
        size_t cap = (size_t)(c->size / x->T.node_size + 2) * x->T.maxitems;
        int64_t *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
        if (a && b) /* without the room, repair goes on without this tree's evidence */
            rc = tree_marks(c, i, a, b, cap);
        free(a);
        free(b);
    }
    return rc;
}

void rep_free(rctx *c)
{
    free(c->cand);
    free(c->hash);
    free(c->frag);
    free(c->gap);
    free(c->nodes);
    free(c->kbuf);
    if (c->ix)
        for (unsigned i = 0; i < c->n; i++)
            free(c->ix[i].rec);
    free(c->ix);
}

/* Read the file at path and find every index's records. */
int rep_analyse(rctx *c, api_base *b, pager_file *pf, int layout)
{
    c->L = lay_get(layout);
    c->pf = pf;
    c->d = pager_get(pf, 0, 0);
    c->size = pager_size(pf);
    c->n = lay_hdr_count(c->d);
    c->body = lay_body_off(c->L, c->n);
    c->err = &b->err;
    if (!(c->ix = calloc(c->n, sizeof *c->ix)))
        return udb_err_set(&b->err, UDB_NOMEM, "out of memory");
    int rc = load_infos(c);
    if (!rc && !(c->kbuf = malloc(c->kmax ? c->kmax : 1)))
        rc = udb_err_set(&b->err, UDB_NOMEM, "out of memory");
    if (!rc && (rc = scan_all(c)) == 0) {
        check_links(c);
        walk_free_lists(c);
        if ((rc = rep_tree_marks(c)) == 0 && (rc = find_gaps(c)) == 0) {
            classify(c);
            rc = build_fragments(c);
        }
    }
    if (!rc)
        rc = rep_attribute(c);
    if (!rc)
        rc = rep_collect(c);
    return rc == UDB_NOMEM ? udb_err_set(&b->err, rc, "out of memory") : rc;
}
