/*
 * check.c — full structural check of a MultiIndex file: checksums, pointers,
 * node levels and sibling links, key order, node key = greatest key of its
 * subtree (at the bottom: the key of its leaf), bottom items = first leaf
 * of each key run, the leaf chain both
 * ways, free lists, and that every byte of the body belongs to exactly one
 * block; then what the first write to an index would refuse, asked of the
 * write path itself (mindex_write_refusal). Reads only; must not change
 * anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include "mindex.h"

typedef struct claim {
    uint64_t pos;
    uint32_t len;
    uint16_t ix;
    uint8_t kind; /* 0 node, 1 leaf, 2 free node, 3 free leaf */
} claim;

typedef struct ck {
    mindex *m;
    udb_problem_fn fn;
    void *arg;
    udb_check_report *rep;
    claim *cl;
    size_t ncl, capcl;
    const progress *pr;
    uint64_t claimed, body_bytes; /* progress: bytes of blocks read, of the body */
    char buf[512];
} ck;

__attribute__((format(printf, 5, 6))) static void say(ck *c, int sev, int64_t off, unsigned ix,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->buf, sizeof c->buf, fmt, ap);
    va_end(ap);
    if (sev == UDB_PROBLEM)
        c->rep->problems++;
    else
        c->rep->notes++;
    if (c->fn)
        c->fn(c->arg, sev, off, ix, c->buf);
}

static int add_claim(ck *c, uint64_t pos, size_t len, unsigned ix, int kind)
{
    if (c->ncl == c->capcl) {
        size_t n = c->capcl ? c->capcl * 2 : 1024;
        claim *p = realloc(c->cl, n * sizeof *p);
        if (!p)
            return UDB_NOMEM;
        c->cl = p;
        c->capcl = n;
    }
    c->cl[c->ncl++] = (claim){pos, (uint32_t)len, (uint16_t)ix, (uint8_t)kind};
    c->claimed += len;
    if (c->ncl % PROGRESS_STEP == 0) /* bytes of blocks read (overlaps count twice) */
        progress_say(c->pr, "check", c->claimed < c->body_bytes ? c->claimed : c->body_bytes,
                     c->body_bytes);
    return 0;
}

/* A block for the check: inside the body, inside the file, checksum valid. */
static const uint8_t *block(ck *c, mindex_index *x, unsigned ix, int64_t pos, size_t len,
                            const char *what)
{
    mindex *m = c->m;
    if (pos < (int64_t)m->body || (uint64_t)pos + len > pager_size(m->pf)) {
        say(c, UDB_PROBLEM, pos, ix, "%s pointer %lld is outside the body", what, (long long)pos);
        return NULL;
    }
    const uint8_t *b = pager_get(m->pf, (uint64_t)pos, len);
    if (!lay_ck_ok(b, len)) {
        say(c, UDB_PROBLEM, pos, ix, "%s checksum mismatch", what);
        return NULL;
    }
    (void)x;
    return b;
}

/* ---- tree ------------------------------------------------------------------------ */
typedef struct level {
    int64_t *pos;
    size_t n, cap;
} level;

static int level_add(level *l, int64_t p)
{
    if (l->n == l->cap) {
        size_t n = l->cap ? l->cap * 2 : 64;
        int64_t *q = realloc(l->pos, n * sizeof *q);
        if (!q)
            return UDB_NOMEM;
        l->pos = q;
        l->cap = n;
    }
    l->pos[l->n++] = p;
    return 0;
}

/* Check one node: count, key order; append its children to next. */
static const uint8_t *check_node(ck *c, mindex_index *x, unsigned ix, int64_t pos, unsigned lvl,
                                 level *next)
{
    char what[40];
    snprintf(what, sizeof what, "level-%u node", lvl);
    const uint8_t *n = block(c, x, ix, pos, x->T.node_size, what);
    if (!n)
        return NULL;
    add_claim(c, (uint64_t)pos, x->T.node_size, ix, 0);
    unsigned cnt = lay_node_count(n);
    if (cnt == 0 || cnt > x->T.maxitems) {
        say(c, UDB_PROBLEM, pos, ix, "%s holds %u items (1..%u allowed)", what, cnt, x->T.maxitems);
        return NULL;
    }
    for (unsigned j = 0; j + 1 < cnt; j++)
        if (lay_cmp(&x->T, lay_node_key(&x->T, n, j), lay_node_key(&x->T, n, j + 1)) >= 0)
            say(c, UDB_PROBLEM, pos, ix, "%s: keys %u and %u are not in ascending order", what,
                j + 1, j + 2);
    for (unsigned j = 0; j < cnt; j++)
        level_add(next, lay_node_child(&x->T, n, j));
    return n;
}

static void check_links(ck *c, mindex_index *x, unsigned ix, const level *lv, unsigned lvl)
{
    for (size_t i = 0; i < lv->n; i++) {
        const uint8_t *n = pager_get(c->m->pf, (uint64_t)lv->pos[i], x->T.node_size);
        int64_t want_prev = i ? lv->pos[i - 1] : -1, want_next = i + 1 < lv->n ? lv->pos[i + 1] : -1;
        if (lay_node_prev(&x->T, n) != want_prev || lay_node_next(&x->T, n) != want_next)
            say(c, UDB_PROBLEM, lv->pos[i], ix,
                "level-%u node: sibling links (prev %lld, next %lld) should be (%lld, %lld)", lvl,
                (long long)lay_node_prev(&x->T, n), (long long)lay_node_next(&x->T, n),
                (long long)want_prev, (long long)want_next);
    }
}

/* Walk the tree level by level; bottom gets the leaf children in order. */
/* Node key = greatest key below: the last key of a child node; at the
   bottom, the key of the leaf run the item starts (a search for that key
   must find the run: the EOF item, the last, is the sentinel's, checked
   with the EOF leaf). */
static void check_keys(ck *c, mindex_index *x, unsigned ix, const level *cur, const level *next,
                       unsigned lvl)
{
    size_t k = 0, bs = lvl > 1 ? x->T.node_size : x->T.leaf_size;
    for (size_t i = 0; i < cur->n; i++) {
        const uint8_t *n = pager_get(c->m->pf, (uint64_t)cur->pos[i], x->T.node_size);
        for (unsigned j = 0; j < lay_node_count(n); j++, k++) {
            int64_t cp = next->pos[k];
            if (cp < (int64_t)c->m->body || (uint64_t)cp + bs > pager_size(c->m->pf) ||
                (lvl == 1 && k + 1 == next->n))
                continue; /* reported when the child level is read; the EOF item */
            const uint8_t *ch = pager_get(c->m->pf, (uint64_t)cp, bs), *key;
            unsigned cc = lvl > 1 ? lay_node_count(ch) : 1;
            if (!cc || cc > x->T.maxitems)
                continue;
            key = lvl > 1 ? lay_node_key(&x->T, ch, cc - 1) : lay_leaf_key(&x->T, ch);
            if (lay_cmp(&x->T, key, lay_node_key(&x->T, n, j)))
                say(c, UDB_PROBLEM, cur->pos[i], ix, "level-%u node: key %u differs from the %s at %lld",
                    lvl, j + 1, lvl > 1 ? "last key of its child" : "key of its leaf", (long long)cp);
        }
    }
}

static void check_tree(ck *c, mindex_index *x, unsigned ix, level *bottom, uint64_t *nodes,
                       int *broken)
{
    level cur = {0}, next = {0};
    uint64_t limit = pager_size(c->m->pf) / x->T.node_size + 1;
    level_add(&cur, x->info.root);
    *nodes = 0;
    for (unsigned lvl = x->info.levels; lvl >= 1 && !*broken; lvl--) {
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++)
            if (!check_node(c, x, ix, cur.pos[i], lvl, &next) || ++*nodes > limit) {
                *broken = 1;
                break;
            }
        if (*broken)
            break;
        check_links(c, x, ix, &cur, lvl);
        check_keys(c, x, ix, &cur, &next, lvl);
        level t = cur;
        cur = next;
        next = t;
    }
    if (!*broken) {
        free(bottom->pos);
        *bottom = cur;
        cur.pos = NULL;
    }
    free(cur.pos);
    free(next.pos);
}

/* ---- leaf chain ---------------------------------------------------------------------- */
typedef struct chain_result {
    uint64_t records, distinct, disorder;
    int64_t first_disorder;
    int ok;
} chain_result;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void check_chain(ck *c, mindex_index *x, unsigned ix, level *firsts, chain_result *r)
{
    uint64_t limit = pager_size(c->m->pf) / x->T.leaf_size + 1, n = 0;
    int64_t at = x->info.first_leaf, prev = -1;
    const uint8_t *pl = NULL;
    memset(r, 0, sizeof *r);
    r->first_disorder = -1;
    while (at != -1) {
        const uint8_t *l = block(c, x, ix, at, x->T.leaf_size, "leaf");
        if (!l)
            return;
        add_claim(c, (uint64_t)at, x->T.leaf_size, ix, 1);
        if (lay_leaf_prev(&x->T, l) != prev)
            say(c, UDB_PROBLEM, at, ix, "leaf points back to %lld, expected %lld",
                (long long)lay_leaf_prev(&x->T, l), (long long)prev);
        if (++n > limit) {
            say(c, UDB_PROBLEM, at, ix, "the leaf chain loops");
            return;
        }
        int eof = at == x->info.last_leaf;
        int cmp = pl ? lay_cmp(&x->T, lay_leaf_key(&x->T, pl), lay_leaf_key(&x->T, l)) : 1;
        if (!pl || cmp != 0)
            level_add(firsts, at);
        if (pl && !eof && cmp > 0 && r->disorder++ == 0)
            r->first_disorder = prev;
        if (eof)
            break;
        r->records++;
        prev = at;
        pl = l;
        at = lay_leaf_next(&x->T, l);
    }
    if (at != x->info.last_leaf) {
        say(c, UDB_PROBLEM, prev, ix, "the leaf chain ends without reaching the EOF leaf at %lld",
            (long long)x->info.last_leaf);
        return;
    }
    const uint8_t *e = pager_get(c->m->pf, (uint64_t)at, x->T.leaf_size);
    if (lay_leaf_next(&x->T, e) != -1 || lay_leaf_datapos(&x->T, e) != -1)
        say(c, UDB_PROBLEM, at, ix, "the EOF leaf has next %lld and data position %lld (want -1, -1)",
            (long long)lay_leaf_next(&x->T, e), (long long)lay_leaf_datapos(&x->T, e));
    r->distinct = firsts->n ? firsts->n - 1 : 0;
    r->ok = 1;
}

static void check_sentinel(ck *c, mindex_index *x, unsigned ix)
{
    const uint8_t *e = pager_get(c->m->pf, (uint64_t)x->info.last_leaf, x->T.leaf_size);
    uint8_t *orig = x->kbuf + 3 * (size_t)x->T.ks;
    lay_eof_key_original(&x->T, orig);
    if (x->sentinel_max)
        return;
    if (!memcmp(lay_leaf_key(&x->T, e), orig, x->T.ks))
        say(c, UDB_NOTE, x->info.last_leaf, ix,
            "the EOF key is the original's, which is not the maximum of the key type; udb reads "
            "it as +infinity and rewrites it on the first change");
    else
        say(c, UDB_PROBLEM, x->info.last_leaf, ix, "the EOF leaf's key is neither sentinel form");
}

/* ---- free lists -------------------------------------------------------------------------- */
static uint64_t check_free(ck *c, mindex_index *x, unsigned ix, int leaves)
{
    size_t bs = leaves ? x->T.leaf_size : x->T.node_size;
    uint64_t limit = pager_size(c->m->pf) / bs + 1, n = 0;
    const char *what = leaves ? "free leaf" : "free node";
    for (int64_t at = leaves ? x->info.free_leaf : x->info.free_node; at != -1;) {
        const uint8_t *b = block(c, x, ix, at, bs, what);
        if (!b)
            break;
        if (++n > limit) {
            say(c, UDB_PROBLEM, at, ix, "the %s list loops", what);
            break;
        }
        add_claim(c, (uint64_t)at, bs, ix, leaves ? 3 : 2);
        if (!(leaves ? lay_leaf_is_free_shape(&x->T, b) : lay_node_is_free_shape(&x->T, b)))
            say(c, UDB_PROBLEM, at, ix, "%s is not in the reset state", what);
        at = leaves ? lay_leaf_next(&x->T, b) : lay_node_next(&x->T, b);
    }
    return n;
}

/* ---- what writes refuse ------------------------------------------------------------------ */
/* An index the check found sound may still be refused by the first write
   (the infos do not lead to the edges of the tree, ...): the write path's
   own test says so, as a problem. */
static void check_writable(ck *c, unsigned i)
{
    char pre[24];
    if (!mindex_write_refusal(c->m, i))
        return;
    const char *msg = udb_err_msg(c->m->err);
    size_t n = (size_t)snprintf(pre, sizeof pre, "index %u: ", i + 1);
    say(c, UDB_PROBLEM, -1, i + 1, "writes are refused: %s", strncmp(msg, pre, n) ? msg : msg + n);
}

/* ---- one index ---------------------------------------------------------------------------- */
static void check_index(ck *c, unsigned i)
{
    mindex *m = c->m;
    mindex_index *x = &m->ix[i];
    udb_check_index *r = &c->rep->index[i];
    unsigned ix = i + 1;
    if (!x->usable) {
        if (x->info.keytype != UDB_KEY_VOID)
            say(c, UDB_PROBLEM, (int64_t)lay_info_off(m->L, ix), ix, "%s", x->why);
        return;
    }
    if (!x->recorded) {
        say(c, UDB_PROBLEM, (int64_t)lay_info_off(m->L, ix), ix, "%s", x->why);
        c->rep->stale_infos = 1;
        return;
    }
    level bottom = {0}, firsts = {0};
    int broken = 0;
    unsigned before = c->rep->problems;
    r->levels = x->info.levels;
    check_tree(c, x, ix, &bottom, &r->nodes, &broken);
    chain_result cr;
    check_chain(c, x, ix, &firsts, &cr);
    r->records = cr.records;
    r->distinct = cr.distinct;
    r->leaves = cr.records + (cr.ok ? 1 : 0);
    if (cr.ok)
        check_sentinel(c, x, ix);
    if (!broken && cr.ok) {
        int same = bottom.n == firsts.n;
        int in_order = same && !memcmp(bottom.pos, firsts.pos, bottom.n * sizeof *bottom.pos);
        if (same && !in_order) {
            qsort(bottom.pos, bottom.n, sizeof *bottom.pos, cmp_i64);
            qsort(firsts.pos, firsts.n, sizeof *firsts.pos, cmp_i64);
            same = !memcmp(bottom.pos, firsts.pos, bottom.n * sizeof *bottom.pos);
        }
        if (!same)
            say(c, UDB_PROBLEM, x->info.root, ix,
                "the bottom-level items (%zu) do not point at the first leaf of each key run (%zu)",
                bottom.n, firsts.n);
        if (cr.disorder)
            say(c, UDB_PROBLEM, cr.first_disorder, ix,
                "the leaf chain is out of key order at %llu place(s)%s; reads follow the chain as the "
                "original did, but the index must not be written before `dbe repair` sorts it",
                (unsigned long long)cr.disorder, same ? " (the original's empty-index defect)" : "");
    }
    r->free_nodes = check_free(c, x, ix, 0);
    r->free_leaves = check_free(c, x, ix, 1);
    free(bottom.pos);
    free(firsts.pos);
    if (c->rep->problems == before)
        check_writable(c, i);
}

/* ---- accounting ---------------------------------------------------------------------------- */
static int cmp_claim(const void *a, const void *b)
{
    const claim *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void account(ck *c)
{
    mindex *m = c->m;
    if (c->ncl)
        qsort(c->cl, c->ncl, sizeof *c->cl, cmp_claim);
    uint64_t at = m->body, size = pager_size(m->pf), gaps = 0;
    for (size_t i = 0; i < c->ncl; i++) {
        const claim *k = &c->cl[i];
        if (k->pos < at) {
            say(c, UDB_PROBLEM, (int64_t)k->pos, k->ix, "block overlaps the block before it");
        } else if (k->pos > at) {
            gaps += k->pos - at;
        }
        if (k->pos + k->len > at)
            at = k->pos + k->len;
    }
    if (at < size)
        gaps += size - at;
    c->rep->unaccounted_bytes = gaps;
    if (!gaps)
        return;
    int stale = c->rep->stale_infos;
    say(c, UDB_PROBLEM, -1, 0,
        "%llu byte(s) of the body belong to no index%s", (unsigned long long)gaps,
        stale ? ": the index infos are stale (the body holds trees the infos do not point to; "
                "the file was not closed by its writer); `dbe repair` rebuilds them"
              : " (leaked or unreachable blocks)");
}

int mindex_check(mindex *m, udb_problem_fn fn, void *arg, const progress *pr, udb_check_report *rep)
{
    udb_check_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->num_indexes = m->count;
    rep->index = calloc(m->count, sizeof *rep->index);
    if (!rep->index)
        return udb_err_set(m->err, UDB_NOMEM, "out of memory");
    uint64_t size = pager_size(m->pf);
    ck c = {m, fn, arg, rep, NULL, 0, 0, pr, 0, size > m->body ? size - m->body : 0, {0}};
    progress_say(pr, "check", 0, c.body_bytes);
    for (unsigned i = 0; i < m->count; i++)
        check_index(&c, i);
    account(&c);
    progress_say(pr, "check", c.body_bytes, c.body_bytes);
    free(c.cl);
    int rc = rep->problems ? UDB_CORRUPT : 0;
    if (rep == &local)
        free(rep->index);
    if (rc)
        udb_err_set(m->err, rc, "%u problem(s) found", rep->problems);
    return rc;
}

void udb_check_report_free(udb_check_report *rep)
{
    if (rep) {
        free(rep->index);
        rep->index = NULL;
    }
}
