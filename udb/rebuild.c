/*
 * rebuild.c — writing a MultiIndex file anew (definitions, then every
 * index's records in key order through the bulk loader) for repair and
 * conversion, and putting a rebuilt file in place of the old one in one
 * journaled transaction. Owns udb_repair and udb_convert; must not touch
 * bytes of the new file except through the public API and the pager.
 */
#include <stdio.h>
#include <stdlib.h>
#include "api_ndx.h"
#include "mindex.h"
#include "pager.h"
#include "repair.h"

/* ---- feeding records to the bulk loader ---------------------------------------------------- */
typedef struct feed {
    const rrec *r;
    size_t i, n;
    unsigned ks;
    rctx *c;                    /* its progress */
} feed;

static int next_rec(void *arg, const void **key, size_t *len, int64_t *dp)
{
    feed *f = arg;
    if (f->i == f->n)
        return 1;
    *key = f->r[f->i].key;
    *len = f->ks;
    *dp = f->r[f->i].dp;
    f->i++;
    progress_tick(&f->c->pr, f->c->write_phase, ++f->c->fed, f->c->to_feed);
    return 0;
}

/* STRING keys must end within the key size; others always fit. Any data
   position a leaf holds is kept, negative ones too (an original's). */
static size_t drop_unfit(rctx *c, unsigned ix, rrec *r, size_t n)
{
    const lay_tree *T = &c->ix[ix].T;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (T->keytype == UDB_KEY_STRING && !memchr(r[i].key, 0, T->ks)) {
            rep_record(c, UDB_PROBLEM, ix + 1, T->keytype, r[i].key, T->ks, r[i].dp, r[i].leaf,
                       "is a STRING key without its NUL; it is not kept");
            continue;
        }
        r[k++] = r[i];
    }
    return k;
}

static udb_index_def def_of(const lay_info *f, unsigned maxitems, unsigned keysize)
{
    udb_index_def d = {(int)f->keytype, keysize ? keysize : f->keysize, f->attrib,
                       maxitems ? maxitems : f->maxitems, f->create_nodes, f->create_leaves};
    if (d.create_nodes < 1 || d.create_nodes > INT32_MAX)
        d.create_nodes = d.create_nodes < 1 ? 1 : INT32_MAX;
    if (d.create_leaves < 1 || d.create_leaves > INT32_MAX)
        d.create_leaves = d.create_leaves < 1 ? 1 : INT32_MAX;
    return d;
}

/* Remove a file this module made (and its journal). */
static void remove_made(const udb_options *opts, const char *path)
{
    const udb_os *os = opts->os ? opts->os : udb_os_posix();
    char j[4096];
    os->unlink(os->ctx, path);
    snprintf(j, sizeof j, "%s-journal", path);
    os->unlink(os->ctx, j);
}

/* A new file at path: every usable index defined and loaded. A path that
   exists is refused (UDB_EXISTS) and left alone. */
int rep_write_new(rctx *c, const char *path, const udb_options *opts, unsigned maxitems,
                     unsigned keysize, udb_err *err)
{
    udb_options o = *opts;
    udb_ndx *d;
    o.flags &= ~UDB_RDONLY;
    int rc = udb_ndx_create(path, &o, c->n, &d), made = rc == 0;
    for (unsigned i = 0; i < c->n; i++)
        c->to_feed += c->ix[i].usable ? c->ix[i].nrec : 0;
    progress_say(&c->pr, c->write_phase, 0, c->to_feed);
    for (unsigned i = 0; i < c->n && !rc; i++) {
        rep_index *x = &c->ix[i];
        if (!x->usable)
            continue;
        udb_index_def def = def_of(&x->info, maxitems, keysize);
        feed f = {x->rec, 0, 0, x->T.ks, c};
        f.n = x->stat.records = drop_unfit(c, i, x->rec, x->nrec);
        if ((rc = udb_ndx_define(d, i + 1, &def)) == 0)
            rc = ndx_load(d, i + 1, next_rec, &f, 1, NULL);
    }
    if (!rc)
        progress_say(&c->pr, c->write_phase, c->to_feed, c->to_feed);
    if (rc)
        udb_err_set(err, rc, "%s", udb_ndx_errmsg(d));
    int rc2 = udb_ndx_close(d);
    if (rc && made)
        remove_made(opts, path);
    return rc ? rc : rc2;
}

/* Replace the bytes of pf by the file at tmp, in one write transaction. */
static int replace_with(api_base *b, pager_file *pf, const char *tmp, const udb_options *opts)
{
    udb_options ro = *opts;
    ro.flags = UDB_RDONLY;
    api_base t;
    pager_file *tf;
    int rc = api_base_init(&t, &ro), began = 0;
    if (!rc && !(rc = pager_file_open(t.g, tmp, PAGER_OPEN, &tf)) && !(rc = api_read_begin(&t, &began))) {
        uint64_t n = pager_size(tf);
        uint8_t *p = NULL;
        rc = pager_write_begin(b->g, NULL);
        if (!rc && !(rc = pager_truncate(pf, 0)) && !(rc = pager_extend(pf, n, NULL)) &&
            (p = n ? pager_put(pf, 0, n) : NULL, !n || p)) {
            if (n)
                memcpy(p, pager_get(tf, 0, n), n);
            rc = pager_commit(b->g);
        } else if (!rc) {
            rc = b->err.code;
        }
        if (rc && pager_state(b->g) == PAGER_WRITE)
            pager_rollback(b->g);
        api_read_end(&t, began);
    }
    if (rc && t.err.code && !b->err.code)
        b->err = t.err;
    if (t.g)
        api_base_fini(&t);
    return rc;
}

/* ---- repair -------------------------------------------------------------------------------- */
static void fill_report(rctx *c, udb_repair_report *rep, uint64_t before, uint64_t after)
{
    rep->num_indexes = c->n;
    rep->index = calloc(c->n, sizeof *rep->index);
    for (unsigned i = 0; rep->index && i < c->n; i++)
        rep->index[i] = c->ix[i].stat;
    for (size_t k = 0; k < c->ncand; k++) {
        const rcand *a = &c->cand[k];
        int owner = a->frag >= 0 ? c->frag[a->frag].owner : -2; /* -2: a phantom, or none */
        rep->leaves_found += owner != -2;
        rep->leaves_lost += owner == -1;
    }
    rep->size_before = before;
    rep->size_after = after;
    rep->records_dropped = c->dropped;
    rep->records_doubtful = c->doubtful;
}

static int open_source(api_base *b, const char *path, const udb_options *o, pager_file **pf, int *layout)
{
    int began, rc = api_base_init(b, o), kind;
    char why[400];
    if (rc || (rc = pager_file_open(b->g, path, PAGER_OPEN, pf)) || (rc = api_read_begin(b, &began)))
        return rc;
    rc = lay_detect(pager_get(*pf, 0, 0), pager_size(*pf), LAY_FILE_NDX, o->layout, &kind, layout,
                    why, sizeof why);
    if (rc && o->layout) { /* forced: the header must still make sense */
        const uint8_t *h = pager_get(*pf, 0, LAY_HDR_SIZE);
        *layout = o->layout;
        rc = h && lay_ck_ok(h, LAY_HDR_SIZE) &&
                     lay_body_off(lay_get(o->layout), lay_hdr_count(h)) <= pager_size(*pf)
                 ? 0 : UDB_FORMAT;
    }
    if (rc)
        udb_err_set(&b->err, rc, "%s: %s; cannot repair", path, why);
    return rc;
}

int udb_repair(const char *path, const char *out, const udb_options *opts, udb_problem_fn fn,
               void *arg, udb_repair_report *rep)
{
    udb_options o;
    if (opts)
        o = *opts;
    else
        udb_options_init(&o);
    if (out)
        o.flags |= UDB_RDONLY;
    else
        o.flags &= ~UDB_RDONLY;
    api_base b;
    pager_file *pf = NULL;
    rctx c;
    memset(&c, 0, sizeof c);
    c.fn = fn;
    c.arg = arg;
    c.pr = (progress){o.progress, o.progress_arg};
    c.write_phase = "repair write";
    int layout = 0, rc = open_source(&b, path, &o, &pf, &layout);
    uint64_t before = pf ? pager_size(pf) : 0, after = 0;
    char *tmp = NULL;
    if (!rc)
        rc = rep_analyse(&c, &b, pf, layout);
    if (!rc && !out) {
        size_t n = strlen(path);
        if (!(tmp = malloc(n + 16)))
            rc = udb_err_set(&b.err, UDB_NOMEM, "out of memory");
        else
            snprintf(tmp, n + 16, "%s.repair-tmp", path);
    }
    o.layout = layout;
    int wrote = !rc && !(rc = rep_write_new(&c, out ? out : tmp, &o, 0, 0, &b.err));
    if (b.g && pager_state(b.g) == PAGER_READ)
        pager_read_end(b.g);
    if (!rc && tmp)
        rc = replace_with(&b, pf, tmp, &o);
    if (!rc)
        after = out ? 0 : pager_size(pf);
    if (rep) {
        memset(rep, 0, sizeof *rep);
        fill_report(&c, rep, before, after);
    }
    if (tmp && wrote)
        remove_made(&o, tmp);
    free(tmp);
    rep_free(&c);
    if (rc && fn)
        fn(arg, UDB_PROBLEM, -1, 0, udb_err_msg(&b.err));
    if (b.g)
        api_base_fini(&b);
    return rc;
}

void udb_repair_report_free(udb_repair_report *rep)
{
    if (rep) {
        free(rep->index);
        rep->index = NULL;
    }
}
