/*
 * repair_build.c — the second half of repair: which index each fragment of
 * leaves belongs to, each index's records in key order, and the findings:
 * every record found but not kept (and every one kept in doubt) is named
 * by index, key, data position and leaf, with the reason. See repair.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "api_ndx.h"
#include "pager.h"
#include "repair.h"

void rep_say(rctx *c, int sev, int64_t off, unsigned index, const char *fmt, ...)
{
    char buf[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (sev == UDB_PROBLEM)
        c->problems++;
    else
        c->notes++;
    if (c->fn)
        c->fn(c->arg, sev, off, index, buf);
}

void rep_record(rctx *c, int sev, unsigned index, int keytype, const uint8_t *key, unsigned ks,
                int64_t dp, int64_t leaf, const char *fmt, ...)
{
    char kt[160], why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    lay_key_text(keytype, key, ks, kt, sizeof kt);
    if (sev == UDB_PROBLEM)
        c->dropped++;
    else
        c->doubtful++;
    if (leaf > 0)
        rep_say(c, sev, leaf, index, "record %s (data position %lld, leaf at %lld) %s", kt,
                (long long)dp, (long long)leaf, why);
    else
        rep_say(c, sev, leaf, index, "record %s (data position %lld) %s", kt, (long long)dp, why);
}

/* ---- spans: the bytes of blocks ----------------------------------------------------------- */
static int cmp_span(const void *x, const void *y)
{
    const rspan *p = x, *q = y;
    return (p->a > q->a) - (p->a < q->a);
}

void rep_spans_sort(rspan *s, size_t n, int64_t *pmax)
{
    qsort(s, n, sizeof *s, cmp_span);
    for (size_t i = 0; i < n; i++)
        pmax[i] = i && pmax[i - 1] > s[i].b ? pmax[i - 1] : s[i].b;
}

int rep_spans_overlap(const rspan *s, const int64_t *pmax, size_t n, int64_t a, int64_t b)
{
    size_t lo = 0, hi = n; /* the first span starting at or after b */
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (s[m].a < b)
            lo = m + 1;
        else
            hi = m;
    }
    return lo > 0 && pmax[lo - 1] > a;
}

/* ---- attribution -------------------------------------------------------------------------- */
static void own(rctx *c, size_t f, unsigned ix)
{
    c->frag[f].owner = (int)ix;
}

static int has_chain(const rctx *c, unsigned ix)
{
    for (size_t f = 0; f < c->nfrag; f++)
        if (c->frag[f].owner == (int)ix && c->frag[f].eof)
            return 1;
    return 0;
}

/* The chain ending at a sound info's EOF leaf. */
static void by_info(rctx *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (has_chain(c, i))
            continue;
        rep_index *x = &c->ix[i];
        if (!x->usable || !x->info_ok || x->info.levels < 1)
            continue;
        const rcand *e = rep_find(c, x->info.last_leaf, (unsigned)x->T.leaf_size);
        if (e && e->frag >= 0 && c->frag[e->frag].eof && c->frag[e->frag].owner < 0 &&
            c->frag[e->frag].last == (size_t)(e - c->cand))
            own(c, (size_t)e->frag, i);
    }
}

/* The rest in creation order: the n-th EOF leaf of a size to the n-th
   index of that size still without a chain. */
static void by_order(rctx *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (!c->ix[i].usable || has_chain(c, i))
            continue;
        size_t best = (size_t)-1;
        for (size_t f = 0; f < c->nfrag; f++) {
            const rfrag *r = &c->frag[f];
            if (r->eof && r->owner < 0 && r->size == c->ix[i].T.leaf_size &&
                (best == (size_t)-1 || c->cand[r->last].pos < c->cand[c->frag[best].last].pos))
                best = f;
        }
        if (best != (size_t)-1)
            own(c, best, i);
    }
}

/* A fragment without an owner: the only index of its leaf size, or the
   index whose leaves lie next to its leaves (the same growth batch). */
static int vote(rctx *c, size_t f)
{
    const rfrag *r = &c->frag[f];
    unsigned cands = 0, only = 0;
    for (unsigned i = 0; i < c->n; i++)
        if (c->ix[i].usable && c->ix[i].T.leaf_size == r->size) {
            cands++;
            only = i;
        }
    if (cands == 1)
        return (int)only;
    unsigned *votes = calloc(c->n, sizeof *votes);
    if (!votes)
        return -1;
    for (size_t k = 0; k < c->ncand; k++) {
        if (c->cand[k].frag != (int)f)
            continue;
        for (int side = -1; side <= 1; side += 2) {
            const rcand *nb = rep_find(c, c->cand[k].pos + side * (int64_t)r->size, r->size);
            if (nb && nb->frag >= 0 && c->frag[nb->frag].owner >= 0)
                votes[c->frag[nb->frag].owner]++;
        }
    }
    int best = -1;
    for (unsigned i = 0; i < c->n; i++)
        if (votes[i] && (best < 0 || votes[i] > votes[best]))
            best = (int)i;
    free(votes);
    return best;
}

/* Is there a fragment whose first leaf points back to pos? Then the chain
   only lost a link there, not a leaf. */
static int resumes_after(const rctx *c, int64_t pos)
{
    for (size_t f = 0; f < c->nfrag; f++)
        if (c->cand[c->frag[f].first].prev == pos)
            return 1;
    return 0;
}

/* The indexes with leaves of this size: how many, the last one, and their
   key type when they all share it (else 0). */
static unsigned of_size(const rctx *c, unsigned size, unsigned *last, int *keytype)
{
    unsigned n = 0;
    *keytype = 0;
    for (unsigned i = 0; i < c->n; i++)
        if (c->ix[i].usable && c->ix[i].T.leaf_size == size) {
            *keytype = n && *keytype != c->ix[i].T.keytype ? 0 : c->ix[i].T.keytype;
            *last = i;
            n++;
        }
    return n;
}

/* Report a found record that is not kept: the index it belongs to when
   only one has its leaf size, why. */
static void dropped(rctx *c, const rcand *a, const char *why, size_t count, int64_t first)
{
    unsigned only = 0, ks = a->size - 1 - 3 * c->L->psz;
    int kt, n = (int)of_size(c, a->size, &only, &kt);
    const uint8_t *key = c->d + a->pos + 1 + 3 * c->L->psz;
    if (count)
        rep_record(c, UDB_PROBLEM, 0, kt, key, ks, a->dp, a->pos,
                   "is on a chain of %zu leaves (from %lld) that none of the %d indexes with leaves "
                   "of %u bytes claims; it is not recovered",
                   count, (long long)first, n, a->size);
    else
        rep_record(c, UDB_PROBLEM, n == 1 ? only + 1 : 0, kt, key, ks, a->dp, a->pos, "%s", why);
}

static void report_unclaimed(rctx *c, const rfrag *r)
{
    const rcand *a = &c->cand[r->first];
    if (r->eof && r->count == 1) {
        rep_say(c, UDB_PROBLEM, a->pos, 0,
                "an EOF leaf at %lld could not be attributed to an index; it holds no record",
                (long long)a->pos);
        return;
    }
    for (size_t k = 0; k < r->count; k++) {
        if (!(r->eof && k + 1 == r->count))
            dropped(c, a, NULL, r->count, c->cand[r->first].pos);
        if (k + 1 < r->count)
            a = rep_find(c, a->next, a->size);
    }
}

static void report_break(rctx *c, const rfrag *r)
{
    const rcand *last = &c->cand[r->last], *n = rep_find(c, last->next, last->size);
    unsigned ix = (unsigned)r->owner + 1;
    c->ix[r->owner].stat.breaks++;
    if (resumes_after(c, last->pos) || (n && n->frag >= 0 && c->frag[n->frag].owner == r->owner))
        rep_say(c, UDB_PROBLEM, last->pos, ix,
                "the leaf chain breaks after the leaf at %lld: its next pointer (%lld) or the "
                "next leaf's prev pointer is wrong, but both leaves are recovered; nothing is lost",
                (long long)last->pos, (long long)last->next);
    else if (n)
        rep_say(c, UDB_PROBLEM, last->pos, ix,
                "the leaf chain breaks after the leaf at %lld: the leaf-shaped block at %lld it "
                "names does not link back to it",
                (long long)last->pos, (long long)last->next);
    else
        rep_say(c, UDB_PROBLEM, last->pos, ix,
                "the leaf chain breaks after the leaf at %lld: its next leaf at %lld fails "
                "its checksum or lies outside the file (its record is lost)",
                (long long)last->pos, (long long)last->next);
}

static void report_breaks(rctx *c)
{
    for (size_t f = 0; f < c->nfrag; f++) {
        rfrag *r = &c->frag[f];
        if (r->owner == -2)
            continue;
        if (r->owner < 0)
            report_unclaimed(c, r);
        else if (!r->eof && c->cand[r->last].next != -1)
            report_break(c, r);
    }
}

/* A stray that could be a leaf: each link is -1 or names a leaf-shaped
   block of its size (bytes inside a node, which can look like a leaf,
   name nodes and text as often as leaves). */
static int credible(const rctx *c, const rcand *a)
{
    return (a->next == -1 || rep_find(c, a->next, a->size)) &&
           (a->prev == -1 || rep_find(c, a->prev, a->size));
}

typedef struct stray {
    int64_t pos;
    unsigned size;
    size_t k;
} stray;

static int cmp_stray(const void *x, const void *y) /* largest first, then by position */
{
    const stray *p = x, *q = y;
    if (p->size != q->size)
        return p->size > q->size ? -1 : 1;
    return (p->pos > q->pos) - (p->pos < q->pos);
}

/* Leaf-shaped blocks no chain holds, that are no free leaf, could be
   leaves and overlap no block the repair accounts for (a recovered leaf, a
   tree node, a free block): records nothing links to any more, or stale
   copies. Named, not kept; of strays that overlap each other only the
   largest (a shorter one inside it is a phantom). st has room for every
   candidate; r and rmax for every stray. */
static void name_strays(rctx *c, const rspan *s, const int64_t *pmax, size_t n, stray *st, rspan *r,
                        int64_t *rmax)
{
    size_t ns = 0, nr = 0, sorted = 0;
    for (size_t k = 0; k < c->ncand; k++) {
        const rcand *a = &c->cand[k];
        if (!a->live && !rep_free_shaped(c, a) && !rep_is_eof(c, a) && credible(c, a) &&
            !rep_spans_overlap(s, pmax, n, a->pos, a->pos + a->size))
            st[ns++] = (stray){a->pos, a->size, k};
    }
    qsort(st, ns, sizeof *st, cmp_stray);
    for (size_t i = 0; i < ns; i++) {
        if (i && st[i].size != st[i - 1].size) { /* the larger ones named so far claim their bytes */
            rep_spans_sort(r, nr, rmax);
            sorted = nr;
        }
        if (rep_spans_overlap(r, rmax, sorted, st[i].pos, st[i].pos + st[i].size))
            continue;
        r[nr++] = (rspan){st[i].pos, st[i].pos + st[i].size};
        dropped(c, &c->cand[st[i].k],
                "has a valid checksum, but no leaf links back to it, it fills no gap in a chain "
                "and no tree node points at it: it is not recovered",
                0, 0);
    }
}

/* The bytes accounted for, sorted (*pmax: their running end): the tree
   nodes, the leaves of attributed chains and, with free_too, every leaf
   with a free leaf's shape. NULL when out of memory. */
static rspan *claimed(const rctx *c, int free_too, size_t *n, int64_t **pmax)
{
    size_t k, m = c->nnodes + c->ncand;
    rspan *s = malloc((m ? m : 1) * sizeof *s);
    *pmax = malloc((m ? m : 1) * sizeof **pmax);
    if (!s || !*pmax) {
        free(s);
        free(*pmax);
        return NULL;
    }
    if (c->nnodes) /* nodes is NULL when no tree was walked */
        memcpy(s, c->nodes, c->nnodes * sizeof *s);
    for (m = c->nnodes, k = 0; k < c->ncand; k++) {
        const rcand *a = &c->cand[k];
        if ((a->frag >= 0 && c->frag[a->frag].owner >= 0) || (free_too && rep_free_shaped(c, a)))
            s[m++] = (rspan){a->pos, a->pos + a->size};
    }
    rep_spans_sort(s, m, *pmax);
    *n = m;
    return s;
}

static int report_strays(rctx *c)
{
    size_t n, nc = c->ncand ? c->ncand : 1;
    int64_t *pmax = NULL;
    rspan *s = claimed(c, 1, &n, &pmax);
    stray *st = malloc(nc * sizeof *st);
    rspan *r = malloc(nc * sizeof *r);
    int64_t *rmax = malloc(nc * sizeof *rmax);
    int rc = s && st && r && rmax ? 0 : UDB_NOMEM;
    if (!rc)
        name_strays(c, s, pmax, n, st, r, rmax);
    free(s);
    free(pmax);
    free(st);
    free(r);
    free(rmax);
    return rc;
}

/* ---- phantoms: blocks cannot overlap ---------------------------------------------------------- */
/* Fragments not yet owned, most credible first: more leaves, larger
   blocks (a phantom is a shorter block inside a real leaf). */
static void order_loose(const rctx *c, size_t *o, size_t n)
{
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0; b--) {
            const rfrag *x = &c->frag[o[b - 1]], *y = &c->frag[o[b]];
            if (x->count > y->count || (x->count == y->count && x->size >= y->size))
                break;
            size_t t = o[b];
            o[b] = o[b - 1];
            o[b - 1] = t;
        }
}

static int frag_overlaps(const rctx *c, const rfrag *r, const rspan *s, const int64_t *pmax, size_t n,
                         const rspan *extra, size_t ne)
{
    for (size_t k = 0, at = r->first; k < r->count; k++) {
        const rcand *a = &c->cand[at];
        if (rep_spans_overlap(s, pmax, n, a->pos, a->pos + a->size))
            return 1;
        for (size_t e = 0; e < ne; e++)
            if (extra[e].a < a->pos + a->size && a->pos < extra[e].b)
                return 1;
        if (k + 1 < r->count)
            at = (size_t)(rep_find(c, a->next, a->size) - c->cand);
    }
    return 0;
}

/* A leaf of one index can look like a leaf of another (a shorter block at
   the same place with a zero XOR and the same links), and bytes inside a
   node like a leaf. Blocks cannot overlap: the nodes of the trees and the
   chains already attributed claim their bytes first, then the other
   fragments, most credible first; a fragment that overlaps what is claimed
   is a phantom and is set aside. */
static int drop_phantoms(rctx *c)
{
    size_t n, nl = 0, ne = 0, ce = 0;
    int64_t *pmax = NULL;
    rspan *s = claimed(c, 0, &n, &pmax), *extra = NULL;
    size_t *loose = malloc((c->nfrag ? c->nfrag : 1) * sizeof *loose);
    if (!s || !loose) {
        free(s);
        free(pmax);
        free(loose);
        return UDB_NOMEM;
    }
    for (size_t f = 0; f < c->nfrag; f++)
        if (c->frag[f].owner < 0)
            loose[nl++] = f;
    order_loose(c, loose, nl);
    int rc = 0;
    for (size_t i = 0; i < nl && !rc; i++) {
        rfrag *r = &c->frag[loose[i]];
        if (frag_overlaps(c, r, s, pmax, n, extra, ne)) {
            r->owner = -2; /* a phantom */
            continue;
        }
        for (size_t k = 0, at = r->first; k < r->count; k++) {
            rspan *g = rep_room(extra, ne, &ce, sizeof *g, 64);
            if (!g) {
                rc = UDB_NOMEM;
                break;
            }
            extra = g;
            const rcand *a = &c->cand[at];
            extra[ne++] = (rspan){a->pos, a->pos + a->size};
            if (k + 1 < r->count)
                at = (size_t)(rep_find(c, a->next, a->size) - c->cand);
        }
    }
    free(s);
    free(pmax);
    free(extra);
    free(loose);
    return rc;
}

/* Fragments holding leaves an index's own tree points at belong to it. */
static void by_tree(rctx *c)
{
    unsigned *votes = calloc(c->n, sizeof *votes);
    if (!votes)
        return;
    for (size_t f = 0; f < c->nfrag; f++) {
        rfrag *r = &c->frag[f];
        memset(votes, 0, c->n * sizeof *votes);
        for (size_t k = 0, at = r->first; k < r->count; k++) {
            const rcand *a = &c->cand[at];
            if (a->tree_ix >= 0 && c->ix[a->tree_ix].T.leaf_size == r->size)
                votes[a->tree_ix]++;
            if (k + 1 < r->count)
                at = (size_t)(rep_find(c, a->next, a->size) - c->cand);
        }
        int best = -1;
        for (unsigned i = 0; i < c->n; i++)
            if (votes[i] && (best < 0 || votes[i] > votes[best]))
                best = (int)i;
        if (best >= 0 && r->owner < 0)
            r->owner = best;
    }
    free(votes);
}

int rep_attribute(rctx *c)
{
    by_tree(c);
    by_info(c);
    by_order(c);
    int rc = drop_phantoms(c);
    if (rc)
        return rc;
    for (int pass = 0; pass < 3; pass++)
        for (size_t f = 0; f < c->nfrag; f++)
            if (c->frag[f].owner == -1 && !(c->frag[f].eof && c->frag[f].count == 1)) {
                int o = vote(c, f);
                if (o >= 0)
                    own(c, f, (unsigned)o);
            }
    for (unsigned i = 0; i < c->n; i++)
        if (c->ix[i].usable && !has_chain(c, i))
            rep_say(c, UDB_PROBLEM, -1, i + 1,
                    "no EOF leaf was found for this index: the end of its chain is lost");
    report_breaks(c);
    return report_strays(c);
}

/* ---- records ----------------------------------------------------------------------------- */
/* A stable merge sort by key (duplicates keep their chain order). */
static void merge_sort(rrec *a, rrec *tmp, size_t n, const lay_tree *T)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(a, tmp, h, T);
    merge_sort(a + h, tmp, n - h, T);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = lay_cmp(T, a[j].key, a[i].key) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

/* Fragment order for collection: the chain's head first, the piece that
   ends at the EOF leaf last, the others in between by their first key. */
static int frag_rank(const rctx *c, const rfrag *r)
{
    return r->eof ? 2 : c->cand[r->first].prev == -1 ? 0 : 1;
}

static size_t *owned_in_order(const rctx *c, unsigned i, size_t *nf, const lay_tree *T)
{
    size_t *o = malloc((c->nfrag ? c->nfrag : 1) * sizeof *o), n = 0;
    if (!o)
        return NULL;
    for (size_t f = 0; f < c->nfrag; f++)
        if (c->frag[f].owner == (int)i)
            o[n++] = f;
    unsigned keyoff = 1 + 3 * c->L->psz;
    for (size_t a = 1; a < n; a++) /* insertion sort: few fragments */
        for (size_t b = a; b > 0; b--) {
            const rfrag *x = &c->frag[o[b - 1]], *y = &c->frag[o[b]];
            int rx = frag_rank(c, x), ry = frag_rank(c, y);
            if (rx < ry || (rx == ry && lay_cmp(T, c->d + c->cand[x->first].pos + keyoff,
                                                 c->d + c->cand[y->first].pos + keyoff) <= 0))
                break;
            size_t t = o[b];
            o[b] = o[b - 1];
            o[b - 1] = t;
        }
    *nf = n;
    return o;
}

/* A record kept although its leaf has a free leaf's shape: say why. */
static void doubt_note(rctx *c, unsigned i, const rcand *a)
{
    const lay_tree *T = &c->ix[i].T;
    const uint8_t *key = c->d + a->pos + 1 + 3 * c->L->psz;
    if (a->doubt == DOUBT_LISTED)
        rep_record(c, UDB_NOTE, i + 1, T->keytype, key, T->ks, a->dp, a->pos,
                   "has a free leaf's shape and the free-leaf list of index %d reaches it, but the "
                   "next leaf in its chain links back to it; it is kept",
                   a->on_free);
    else
        rep_record(c, UDB_NOTE, i + 1, T->keytype, key, T->ks, a->dp, a->pos,
                   "has a free leaf's shape%s, but %s and its next link (%lld) is not a free "
                   "leaf's; it is kept",
                   a->on_free ? " and is on a free-leaf list" : "",
                   a->tree_ix >= 0 ? "a tree node points at it" : "it fills a gap in the chain",
                   (long long)a->next);
}

static int collect_index(rctx *c, unsigned i)
{
    rep_index *x = &c->ix[i];
    size_t n = 0, at = 0, nf;
    for (size_t f = 0; f < c->nfrag; f++)
        if (c->frag[f].owner == (int)i)
            n += c->frag[f].count;
    x->rec = malloc((n ? n : 1) * sizeof *x->rec);
    rrec *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *order = owned_in_order(c, i, &nf, &x->T);
    if (!x->rec || !tmp || !order) {
        free(tmp);
        free(order);
        return UDB_NOMEM;
    }
    unsigned keyoff = 1 + 3 * c->L->psz;
    for (size_t o = 0; o < nf; o++) {
        const rfrag *r = &c->frag[order[o]];
        x->stat.fragments++;
        const rcand *a = &c->cand[r->first];
        for (size_t k = 0; k < r->count; k++) {
            if (!(r->eof && k + 1 == r->count)) { /* the EOF leaf holds no record */
                x->rec[at] = (rrec){c->d + a->pos + keyoff, a->dp, a->pos, at};
                if (a->doubt)
                    doubt_note(c, i, a);
                if (k && lay_cmp(&x->T, x->rec[at - 1].key, x->rec[at].key) > 0)
                    x->stat.out_of_order++; /* within a piece: the pieces' order is a guess */
                at++;
            }
            if (k + 1 < r->count)
                a = rep_find(c, a->next, a->size);
        }
    }
    free(order);
    x->nrec = at;
    merge_sort(x->rec, tmp, at, &x->T);
    free(tmp);
    for (size_t k = 1; k < at; k++)
        x->stat.duplicates += lay_cmp(&x->T, x->rec[k - 1].key, x->rec[k].key) == 0;
    x->stat.records = at;
    return 0;
}

int rep_sort(rep_index *x)
{
    rrec *tmp = malloc((x->nrec ? x->nrec : 1) * sizeof *tmp);
    if (!tmp)
        return UDB_NOMEM;
    merge_sort(x->rec, tmp, x->nrec, &x->T);
    free(tmp);
    return 0;
}

int rep_collect(rctx *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (!c->ix[i].usable)
            continue;
        int rc = collect_index(c, i);
        if (rc)
            return rc;
        if (c->ix[i].stat.out_of_order)
            rep_say(c, UDB_NOTE, -1, i + 1,
                    "%llu neighbouring records were out of key order; the rebuilt index is sorted",
                    (unsigned long long)c->ix[i].stat.out_of_order);
    }
    return 0;
}
