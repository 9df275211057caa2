/*
 * convert.c — copying a MultiIndex file to a new file in the other layout,
 * or the same layout with another node order or key size: every index's
 * definition and records (duplicates in the same order), loaded bottom-up.
 * Reads through the public API; writes with repair's writer (rebuild.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include "repair.h"

/* Every record of index ix (1-based) in traversal order, keys copied. */
static int read_index(rctx *c, udb_ndx *d, unsigned ix, rep_index *x, uint8_t **arena)
{
    udb_cursor *cur;
    udb_item it;
    size_t cap = 1024, ks = x->T.ks;
    int rc = udb_cursor_open(d, ix, &cur);
    if (rc)
        return rc;
    x->rec = malloc(cap * sizeof *x->rec);
    *arena = malloc(cap * ks);
    if (!x->rec || !*arena)
        rc = UDB_NOMEM;
    for (rc = rc ? rc : udb_cursor_first(cur, &it); rc == 0; rc = udb_cursor_next(cur, &it)) {
        if (x->nrec == cap) {
            rrec *r = realloc(x->rec, 2 * cap * sizeof *r);
            uint8_t *a = realloc(*arena, 2 * cap * ks);
            if (r)
                x->rec = r;
            if (a)
                *arena = a;
            if (!r || !a) {
                rc = UDB_NOMEM;
                break;
            }
            cap *= 2;
        }
        memcpy(*arena + x->nrec * ks, it.key, ks);
        x->rec[x->nrec] = (rrec){.key = NULL, .dp = it.datapos, .order = x->nrec};
        x->nrec++;
        progress_tick(&c->pr, "convert read", ++c->fed, 0);
    }
    udb_cursor_close(cur);
    for (size_t i = 0; i < x->nrec; i++) /* the arena may have moved */
        x->rec[i].key = *arena + i * ks;
    return rc == UDB_NOTFOUND ? 0 : rc;
}

static int sorted(const rep_index *x)
{
    for (size_t i = 1; i < x->nrec; i++)
        if (lay_cmp(&x->T, x->rec[i - 1].key, x->rec[i].key) > 0)
            return 0;
    return 1;
}

static int load_source(rctx *c, udb_ndx *d, uint8_t **arenas)
{
    for (unsigned i = 0; i < c->n; i++) {
        rep_index *x = &c->ix[i];
        udb_index_info inf;
        int rc = udb_ndx_info(d, i + 1, &inf);
        if (rc)
            return rc;
        if (inf.def.keytype == UDB_KEY_VOID)
            continue;
        if (!inf.initialised)
            return UDB_CORRUPT; /* stale infos: repair first */
        x->info = (lay_info){inf.def.attrs, (unsigned)inf.def.keytype, inf.def.keysize, inf.def.maxitems,
                             inf.def.create_nodes, inf.def.create_leaves, 0, 0, 0, 0, 0, 0};
        lay_tree_init(&x->T, c->L, inf.def.keytype, inf.def.keysize, inf.def.maxitems);
        x->usable = 1;
        if ((rc = read_index(c, d, i + 1, x, &arenas[i])))
            return rc;
        if (!sorted(x)) {
            rep_say(c, UDB_NOTE, -1, i + 1,
                    "the original left this index out of key order; the copy is sorted");
            if ((rc = rep_sort(x)))
                return rc;
        }
    }
    return 0;
}

int udb_convert(const char *in, const char *out, const udb_options *opts, unsigned maxitems,
                unsigned keysize, udb_problem_fn fn, void *arg)
{
    udb_options ro, wo;
    udb_options_init(&ro);
    if (opts)
        ro.os = opts->os;
    ro.flags = UDB_RDONLY;
    udb_ndx *d;
    rctx c;
    memset(&c, 0, sizeof c);
    c.fn = fn;
    c.arg = arg;
    if (opts)
        c.pr = (progress){opts->progress, opts->progress_arg};
    c.write_phase = "convert write";
    udb_err err = {0};
    int rc = udb_ndx_open(in, &ro, &d);
    uint8_t **arenas = NULL;
    progress_say(&c.pr, "convert read", 0, 0);
    if (rc) {
        udb_err_set(&err, rc, "%s", udb_ndx_errmsg(d));
    } else {
        c.n = udb_ndx_count(d);
        c.L = lay_get(udb_ndx_layout(d));
        c.ix = calloc(c.n, sizeof *c.ix);
        arenas = calloc(c.n, sizeof *arenas);
        rc = !c.ix || !arenas ? UDB_NOMEM : load_source(&c, d, arenas);
        if (rc)
            udb_err_set(&err, rc, "%s: %s", in,
                        rc == UDB_CORRUPT ? "an index has stale infos; run dbe repair first"
                                          : udb_ndx_errmsg(d));
    }
    udb_ndx_close(d);
    if (opts)
        wo = *opts;
    else
        udb_options_init(&wo);
    if (!wo.layout)
        wo.layout = c.L ? c.L->kind : UDB_LAYOUT_WIDE;
    if (!rc && c.L && wo.layout != c.L->kind) {
        /* keys are compared as the target layout does (CHARACTER signedness) */
        for (unsigned i = 0; i < c.n; i++)
            if (c.ix[i].usable) {
                lay_tree_init(&c.ix[i].T, lay_get(wo.layout), (int)c.ix[i].info.keytype,
                              c.ix[i].info.keysize, c.ix[i].info.maxitems);
                if (!sorted(&c.ix[i]) && (rc = rep_sort(&c.ix[i])) == 0)
                    rep_say(&c, UDB_NOTE, -1, i + 1, "key order differs in the target layout; re-sorted");
            }
    }
    progress_say(&c.pr, "convert read", c.fed, c.fed);
    c.fed = 0;
    if (!rc)
        rc = rep_write_new(&c, out, &wo, maxitems, keysize, &err);
    if (rc && fn)
        fn(arg, UDB_PROBLEM, -1, 0, udb_err_msg(&err));
    for (unsigned i = 0; arenas && i < c.n; i++)
        free(arenas[i]);
    free(arenas);
    rep_free(&c);
    return rc;
}
