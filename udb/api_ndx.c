/*
 * api_ndx.c — the public MultiIndex and cursor API over mindex: handles,
 * key normalisation, one transaction per call. Must not touch bytes.
 *
 * A failed open or create still returns a handle (NULL only when memory ran
 * out) so that udb_ndx_errmsg can say why; close it with udb_ndx_close.
 */
#include <stdio.h>
#include <stdlib.h>
#include "api_int.h"
#include "api_ndx.h"
#include "mindex.h"

struct udb_ndx {
    api_base b;
    pager_file *pf;
    mindex m;
    int loaded;
    uint8_t *kbuf;
    size_t kcap;
};

struct udb_cursor {
    udb_ndx *ndx;
    mcursor c;
    mahead ahead;
    uint8_t *removed;           /* key of the last record removed */
};

static int ndx_reload(api_base *b)
{
    udb_ndx *d = (udb_ndx *)b;
    return d->loaded ? mindex_reload(&d->m, b->reload_due) : 0; /* owed after a rollback: every page */
}

static int ndx_flush(api_base *b)
{
    udb_ndx *d = (udb_ndx *)b;
    return d->loaded ? mindex_flush(&d->m) : 0;
}

static udb_ndx *ndx_new(const udb_options *opts, udb_ndx **out)
{
    udb_ndx *d = calloc(1, sizeof *d);
    *out = d;
    if (!d)
        return NULL;
    if (api_base_init(&d->b, opts) == 0) {
        d->b.reload = ndx_reload;
        d->b.flush = ndx_flush;
    }
    return d;
}

int udb_ndx_open(const char *path, const udb_options *opts, udb_ndx **out)
{
    udb_ndx *d = ndx_new(opts, out);
    if (!d)
        return UDB_NOMEM;
    if (!d->b.g)
        return d->b.err.code;
    int began, layout, rc = store_guard(&d->b, path, opts);
    if (rc || (rc = pager_join_store_log(d->b.g, path)) || /* a store's NAME.dat: not an index
                                                          file, whatever mode the store is in */
        (rc = pager_file_open(d->b.g, path, PAGER_OPEN, &d->pf)) ||
        (rc = api_read_begin(&d->b, &began)))
        return rc;
    rc = api_detect(&d->b, d->pf, LAY_FILE_NDX, opts ? opts->layout : 0, &layout);
    if (!rc && !(rc = mindex_load(&d->m, d->pf, layout, &d->b.err)))
        d->loaded = d->b.ready = 1;
    api_read_end(&d->b, began);
    return rc;
}

int udb_ndx_create(const char *path, const udb_options *opts, unsigned num_indexes, udb_ndx **out)
{
    udb_ndx *d = ndx_new(opts, out);
    if (!d)
        return UDB_NOMEM;
    if (!d->b.g)
        return d->b.err.code;
    int layout = opts && opts->layout ? opts->layout : UDB_LAYOUT_WIDE;
    if (num_indexes < 1 || num_indexes > 65535)
        return udb_err_set(&d->b.err, UDB_INVAL, "a file holds 1..65535 indexes, not %u",
                           num_indexes);
    int began, rc = store_guard(&d->b, path, opts);
    if (rc || (rc = pager_file_open(d->b.g, path, PAGER_CREATE, &d->pf)))
        return rc;
    if (!(rc = api_write_begin(&d->b, &began)) &&
        !(rc = mindex_format(d->pf, lay_get(layout), num_indexes, &d->b.err)) &&
        !(rc = mindex_load(&d->m, d->pf, layout, &d->b.err)))
        d->loaded = d->b.ready = 1;
    rc = api_write_end(&d->b, began, rc);
    if (rc) {
        const udb_os *os = pager_os(d->b.g);
        os->unlink(os->ctx, path);
        d->b.ready = 0;
    }
    return rc;
}

int udb_ndx_close(udb_ndx *d)
{
    if (!d)
        return 0;
    int rc = 0;
    if (d->b.g) {
        api_lock(&d->b);
        if (d->b.explicit_txn)
            rc = api_rollback(&d->b);
        api_unlock(&d->b);
        if (d->loaded)
            mindex_free(&d->m);
        api_base_fini(&d->b);
    }
    free(d->kbuf);
    free(d);
    return rc;
}

const char *udb_ndx_errmsg(const udb_ndx *d)
{
    return !d ? "out of memory" : api_errmsg(&d->b);
}

int udb_ndx_layout(const udb_ndx *d) { return d->loaded ? d->m.L->kind : 0; }
unsigned udb_ndx_count(const udb_ndx *d) { return d->loaded ? d->m.count : 0; }

uint64_t udb_ndx_file_size(udb_ndx *d)
{
    api_lock(&d->b);
    uint64_t s = d->pf ? pager_size(d->pf) : 0;
    api_unlock(&d->b);
    return s;
}

/* ---- helpers -------------------------------------------------------------------- */
static int check_index_arg(udb_ndx *d, unsigned index)
{
    if (!d->loaded)
        return udb_err_set(&d->b.err, UDB_INVAL, "the handle did not open");
    if (index < 1 || index > d->m.count)
        return udb_err_set(&d->b.err, UDB_INVAL, "no index %u (the file has %u)", index, d->m.count);
    return 0;
}

/* The caller's key as a full keysize buffer of index ix (0-based). */
static int key_in(udb_ndx *d, unsigned ix, const void *key, size_t len, uint8_t **out)
{
    int rc = mindex_readable(&d->m, ix);
    if (rc)
        return rc;
    const lay_tree *T = &d->m.ix[ix].T;
    if (d->kcap < T->ks) {
        uint8_t *k = realloc(d->kbuf, T->ks);
        if (!k)
            return udb_err_set(&d->b.err, UDB_NOMEM, "out of memory");
        d->kbuf = k;
        d->kcap = T->ks;
    }
    if (!key && len)
        return udb_err_set(&d->b.err, UDB_INVAL, "NULL key");
    if (lay_key_make(T, key, len, d->kbuf))
        return udb_err_set(&d->b.err, UDB_INVAL,
                           "key of %zu bytes does not fit index %u (key size %u%s)", len, ix + 1,
                           T->ks, T->keytype == UDB_KEY_STRING ? ", which includes the NUL" : "");
    *out = d->kbuf;
    return 0;
}

/* ---- definitions and infos ----------------------------------------------------------- */
int udb_index_def_check(int layout, const udb_index_def *def, char *msg, size_t msglen)
{
    const lay *L = lay_get(layout ? layout : UDB_LAYOUT_WIDE);
    if (!L || !def) {
        if (msg && msglen)
            snprintf(msg, msglen, "unknown layout %d", layout);
        return UDB_INVAL;
    }
    return mindex_def_check(L, def, msg, msglen);
}

int udb_ndx_define(udb_ndx *d, unsigned index, const udb_index_def *def)
{
    api_lock(&d->b);
    int began, rc = check_index_arg(d, index);
    if (!rc && !def)
        rc = udb_err_set(&d->b.err, UDB_INVAL, "NULL definition");
    if (!rc && !(rc = api_write_begin(&d->b, &began)))
        rc = api_write_end(&d->b, began, mindex_define(&d->m, index - 1, def));
    api_unlock(&d->b);
    return rc;
}

int udb_ndx_info(udb_ndx *d, unsigned index, udb_index_info *out)
{
    api_lock(&d->b);
    int began, rc = check_index_arg(d, index);
    if (!rc && !(rc = api_read_begin(&d->b, &began))) {
        const mindex_index *x = &d->m.ix[index - 1];
        const lay_info *f = &x->info;
        memset(out, 0, sizeof *out);
        out->def.keytype = (int)f->keytype;
        out->def.keysize = f->keysize;
        out->def.attrs = f->attrib;
        out->def.maxitems = f->maxitems;
        out->def.create_nodes = f->create_nodes;
        out->def.create_leaves = f->create_leaves;
        out->levels = f->levels;
        out->root = f->root;
        out->first_leaf = f->first_leaf;
        out->last_leaf = f->last_leaf;
        out->free_node = f->free_node;
        out->free_leaf = f->free_leaf;
        out->node_size = lay_node_size(d->m.L, f->keysize, f->maxitems);
        out->leaf_size = lay_leaf_size(d->m.L, f->keysize);
        out->initialised = x->usable && x->recorded;
        out->sentinel_is_max = x->sentinel_max;
        api_read_end(&d->b, began);
    }
    api_unlock(&d->b);
    return rc;
}

/* ---- records ------------------------------------------------------------------------------ */
int udb_ndx_append(udb_ndx *d, unsigned index, const void *key, size_t keylen, int64_t datapos)
{
    api_lock(&d->b);
    uint8_t *k;
    int began, rc = check_index_arg(d, index);
    if (!rc && !(rc = api_write_begin(&d->b, &began))) {
        rc = key_in(d, index - 1, key, keylen, &k);
        if (!rc)
            rc = mindex_append(&d->m, index - 1, k, datapos, NULL);
        rc = api_write_end(&d->b, began, rc);
    }
    api_unlock(&d->b);
    return rc;
}

int udb_ndx_find(udb_ndx *d, unsigned index, const void *key, size_t keylen, int64_t *datapos)
{
    api_lock(&d->b);
    uint8_t *k;
    int64_t leaf;
    int began, rc = check_index_arg(d, index);
    if (!rc && !(rc = api_read_begin(&d->b, &began))) {
        rc = key_in(d, index - 1, key, keylen, &k);
        if (!rc && (rc = mindex_find(&d->m, index - 1, k, &leaf)) == UDB_NOTFOUND)
            rc = mindex_missing(&d->m, index - 1, k);
        if (!rc) {
            mindex_index *x = &d->m.ix[index - 1];
            const uint8_t *l = mindex_leaf(&d->m, x, leaf);
            if (!l)
                rc = d->b.err.code;
            else if (datapos)
                *datapos = lay_leaf_datapos(&x->T, l);
        }
        api_read_end(&d->b, began);
    }
    api_unlock(&d->b);
    return rc;
}

int udb_ndx_compare(udb_ndx *d, unsigned index, const void *a, const void *b, int *result)
{
    api_lock(&d->b);
    int rc = check_index_arg(d, index);
    if (!rc && !(rc = mindex_readable(&d->m, index - 1)))
        *result = lay_cmp(&d->m.ix[index - 1].T, a, b);
    api_unlock(&d->b);
    return rc;
}

/* Remove every record with key k (a full key) from index ix; UDB_NOTFOUND
   names the key. */
static int delete_key(mindex *m, unsigned ix, const uint8_t *k, uint64_t *n, int64_t *landing)
{
    int rc = mindex_delete_key(m, ix, k, n, landing);
    return rc == UDB_NOTFOUND ? mindex_missing(m, ix, k) : rc;
}

int udb_ndx_delete(udb_ndx *d, unsigned index, const void *key, size_t keylen, uint64_t *removed)
{
    api_lock(&d->b);
    uint8_t *k;
    uint64_t n = 0;
    int64_t landing;
    int began, rc = check_index_arg(d, index);
    if (!rc && !(rc = api_write_begin(&d->b, &began))) {
        rc = key_in(d, index - 1, key, keylen, &k);
        if (!rc)
            rc = delete_key(&d->m, index - 1, k, &n, &landing);
        rc = api_write_end(&d->b, began, rc);
    }
    if (removed)
        *removed = rc ? 0 : n;
    api_unlock(&d->b);
    return rc;
}

static int load_locked(udb_ndx *d, unsigned ix, udb_ndx_load_fn next, void *arg, int keep_dups,
                       uint64_t *n)
{
    mbulk b;
    int rc = mindex_bulk_begin(&d->m, ix, &b);
    b.keep_duplicates = keep_dups;
    b.shared = 1;
    while (!rc) {
        const void *key = NULL;
        size_t len = 0;
        int64_t dp = 0;
        uint8_t *k;
        int r = next(arg, &key, &len, &dp);
        if (r == 1)
            break;
        if (r < 0)
            rc = udb_err_set(&d->b.err, r, "the record source stopped the load (%d)", r);
        else if (!(rc = key_in(d, ix, key, len, &k)) && !(rc = mindex_bulk_add(&b, k, dp, NULL)) &&
                 ++*n % 65536 == 0 && !(rc = pager_op_end(d->b.g)))
            rc = pager_prepare(d->b.g, PAGER_OP_HEADROOM);
    }
    if (!rc)
        rc = mindex_bulk_end(&b);
    mindex_bulk_free(&b);
    return rc;
}

int ndx_load(udb_ndx *d, unsigned index, udb_ndx_load_fn next, void *arg, int keep_dups,
             uint64_t *loaded)
{
    uint64_t n = 0;
    api_lock(&d->b);
    int began, rc = check_index_arg(d, index);
    if (!rc && !next)
        rc = udb_err_set(&d->b.err, UDB_INVAL, "NULL record source");
    if (!rc && !(rc = api_write_begin(&d->b, &began)))
    {
        rc = load_locked(d, index - 1, next, arg, keep_dups, &n);
        if (rc && !began)
            pager_poison(d->b.g); /* the tree was already taken apart */
        rc = api_write_end(&d->b, began, rc);
    }
    if (loaded)
        *loaded = rc ? 0 : n;
    api_unlock(&d->b);
    return rc;
}

int udb_ndx_load_sorted(udb_ndx *d, unsigned index, udb_ndx_load_fn next, void *arg, uint64_t *loaded)
{
    return ndx_load(d, index, next, arg, 0, loaded);
}

/* ---- leaves in key order (mindex_order.c) ---------------------------------------------- */
static int order_locked(udb_ndx *d, unsigned ix)
{
    int rc = mindex_prepare_write(&d->m, ix);
    return rc ? rc : mindex_order(&d->m, ix, &d->b.prog);
}

int udb_ndx_order(udb_ndx *d, unsigned index)
{
    api_lock(&d->b);
    int began, rc = index ? check_index_arg(d, index) : d->loaded ? 0 : check_index_arg(d, 1);
    if (!rc && !(rc = api_write_begin(&d->b, &began))) {
        unsigned lo = index ? index - 1 : 0, hi = index ? index : d->m.count;
        for (unsigned i = lo; i < hi && !rc; i++)
            if (index || d->m.ix[i].recorded)
                rc = order_locked(d, i);
        rc = api_write_end(&d->b, began, rc);
    }
    api_unlock(&d->b);
    return rc;
}

/* ---- transactions --------------------------------------------------------------------------- */
#define LOCKED_CALL(d, call)            \
    do {                                \
        api_lock(&(d)->b);              \
        int rc_ = (call);               \
        api_unlock(&(d)->b);            \
        return rc_;                     \
    } while (0)

int udb_ndx_begin(udb_ndx *d) { LOCKED_CALL(d, api_begin(&d->b)); }
int udb_ndx_commit(udb_ndx *d) { LOCKED_CALL(d, api_commit(&d->b)); }
int udb_ndx_rollback(udb_ndx *d) { LOCKED_CALL(d, api_rollback(&d->b)); }
int udb_ndx_begin_read(udb_ndx *d) { LOCKED_CALL(d, api_begin_read(&d->b)); }
int udb_ndx_checkpoint(udb_ndx *d) { LOCKED_CALL(d, api_checkpoint(&d->b)); }
int udb_ndx_backup(udb_ndx *d, const char *dst)
{
    LOCKED_CALL(d, api_backup(&d->b, &d->pf, dst ? &dst : NULL, 1)); /* not a heap it took in */
}

int udb_ndx_check(udb_ndx *d, udb_problem_fn fn, void *arg, udb_check_report *rep)
{
    if (rep)
        memset(rep, 0, sizeof *rep); /* safe to free whatever happens */
    api_lock(&d->b);
    int began, rc = d->loaded ? 0 : udb_err_set(&d->b.err, UDB_INVAL, "the handle did not open");
    if (!rc && !(rc = api_read_begin(&d->b, &began))) {
        rc = mindex_check(&d->m, fn, arg, &d->b.prog, rep);
        api_read_end(&d->b, began);
    }
    api_unlock(&d->b);
    return rc;
}

/* ---- inspection ------------------------------------------------------------------------------- */
/* One level: call fn for each node in cur; collect their children. */
static int walk_level(udb_ndx *d, mindex_index *x, unsigned lvl, int64_t *cur, size_t n, int64_t **next,
                      size_t *nn, int (*fn)(void *, const udb_node_view *), void *arg)
{
    size_t cap = n * x->T.maxitems;
    uint8_t *keys = malloc((size_t)x->T.maxitems * x->T.ks);
    int64_t *kids = malloc(x->T.maxitems * sizeof *kids);
    *next = malloc((cap ? cap : 1) * sizeof **next);
    *nn = 0;
    int rc = keys && kids && *next ? 0 : udb_err_set(&d->b.err, UDB_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        const uint8_t *nd = mindex_node(&d->m, x, cur[i]);
        if (!nd) {
            rc = d->b.err.code;
            break;
        }
        unsigned cnt = lay_node_count(nd);
        for (unsigned j = 0; j < cnt; j++) {
            memcpy(keys + (size_t)j * x->T.ks, lay_node_key(&x->T, nd, j), x->T.ks);
            kids[j] = lay_node_child(&x->T, nd, j);
            (*next)[(*nn)++] = kids[j];
        }
        udb_node_view v = {lvl, x->info.levels, cur[i], lay_node_next(&x->T, nd), lay_node_prev(&x->T, nd),
                           cnt, x->T.maxitems, x->T.ks, keys, kids};
        rc = fn(arg, &v);
    }
    free(keys);
    free(kids);
    return rc;
}

int udb_ndx_walk_tree(udb_ndx *d, unsigned index, int (*fn)(void *arg, const udb_node_view *node),
                      void *arg)
{
    api_lock(&d->b);
    int began, rc = check_index_arg(d, index);
    if (!rc && !fn)
        rc = udb_err_set(&d->b.err, UDB_INVAL, "NULL callback");
    if (!rc && !(rc = api_read_begin(&d->b, &began))) {
        if (!(rc = mindex_readable(&d->m, index - 1))) {
            mindex_index *x = &d->m.ix[index - 1];
            int64_t *cur = malloc(sizeof *cur), *next = NULL;
            size_t n = 1, nn = 0;
            if (!cur)
                rc = udb_err_set(&d->b.err, UDB_NOMEM, "out of memory");
            else
                cur[0] = x->info.root;
            for (unsigned lvl = x->info.levels; lvl >= 1 && !rc; lvl--) {
                rc = walk_level(d, x, lvl, cur, n, &next, &nn, fn, arg);
                free(cur);
                cur = next;
                n = nn;
                next = NULL;
            }
            free(cur);
            free(next);
        }
        api_read_end(&d->b, began);
    }
    api_unlock(&d->b);
    return rc;
}

int udb_ndx_stats(udb_ndx *d, udb_stats *out)
{
    pager_stats ps;
    api_lock(&d->b);
    memset(out, 0, sizeof *out);
    if (d->b.g) {
        pager_get_stats(d->b.g, &ps);
        out->commits = ps.commits;
        out->pages_written = ps.pages_written;
        out->journal_pages = ps.journal_pages;
        out->spills = ps.spills;
    }
    if (d->loaded) {
        out->node_cache_hits = d->m.hits;
        out->node_cache_misses = d->m.misses;
    }
    api_unlock(&d->b);
    return 0;
}

/* ---- cursors ------------------------------------------------------------------------------------ */
int udb_cursor_open(udb_ndx *d, unsigned index, udb_cursor **out)
{
    *out = NULL;
    api_lock(&d->b);
    int began, rc = check_index_arg(d, index);
    udb_cursor *c = NULL;
    if (!rc && !(rc = api_read_begin(&d->b, &began))) {
        c = calloc(1, sizeof *c);
        if (!c)
            rc = udb_err_set(&d->b.err, UDB_NOMEM, "out of memory");
        else if (!(rc = mcursor_init(&d->m, index - 1, &c->c)) &&
                 !(c->removed = malloc(d->m.ix[index - 1].T.ks)))
            rc = udb_err_set(&d->b.err, UDB_NOMEM, "out of memory");
        api_read_end(&d->b, began);
    }
    if (rc && c) {
        mcursor_free(&c->c);
        free(c);
        c = NULL;
    }
    if (c)
        c->ndx = d;
    *out = c;
    api_unlock(&d->b);
    return rc;
}

void udb_cursor_close(udb_cursor *c)
{
    if (!c)
        return;
    mcursor_free(&c->c);
    free(c->removed);
    free(c);
}

static void item_out(udb_cursor *c, const uint8_t *key, int64_t dp, int64_t leaf, udb_item *out)
{
    if (!out)
        return;
    out->key = key;
    out->keysize = c->ndx->m.ix[c->c.ix].T.ks;
    out->datapos = dp;
    out->leaf = leaf;
}

enum { MV_FIRST, MV_LAST, MV_NEXT, MV_PREV, MV_CURRENT, MV_SEEK, MV_FIND };

static int cursor_move(udb_cursor *c, int how, const void *key, size_t keylen, udb_item *out)
{
    udb_ndx *d = c->ndx;
    mindex *m = &d->m;
    api_lock(&d->b);
    int began, rc = api_read_begin(&d->b, &began);
    uint8_t *k = NULL;
    if (!rc && (how == MV_SEEK || how == MV_FIND))
        rc = key_in(d, c->c.ix, key, keylen, &k);
    if (!rc && (rc = mindex_readable(m, c->c.ix)) == 0) {
        switch (how) {
        case MV_FIRST: rc = mcursor_first(m, &c->c); break;
        case MV_LAST: rc = mcursor_last(m, &c->c); break;
        case MV_NEXT: rc = mcursor_next(m, &c->c); break;
        case MV_PREV: rc = mcursor_prev(m, &c->c); break;
        case MV_SEEK: rc = mcursor_seek(m, &c->c, k); break;
        case MV_FIND:
            if ((rc = mcursor_find(m, &c->c, k)) == UDB_NOTFOUND)
                rc = mindex_missing(m, c->c.ix, k);
            break;
        default:
            rc = mcursor_valid(m, &c->c);
            if (!rc && (c->c.leaf == -1 || c->c.leaf == m->ix[c->c.ix].info.last_leaf))
                rc = UDB_NOTFOUND;
        }
        if (!rc)
            item_out(c, c->c.key, c->c.dp, c->c.leaf, out);
        mahead_moved(m, &c->ahead, &c->c, how == MV_NEXT && !rc, NULL, NULL);
    }
    api_read_end(&d->b, began);
    api_unlock(&d->b);
    return rc;
}

int udb_cursor_first(udb_cursor *c, udb_item *o) { return cursor_move(c, MV_FIRST, NULL, 0, o); }
int udb_cursor_last(udb_cursor *c, udb_item *o) { return cursor_move(c, MV_LAST, NULL, 0, o); }
int udb_cursor_next(udb_cursor *c, udb_item *o) { return cursor_move(c, MV_NEXT, NULL, 0, o); }
int udb_cursor_prev(udb_cursor *c, udb_item *o) { return cursor_move(c, MV_PREV, NULL, 0, o); }
int udb_cursor_current(udb_cursor *c, udb_item *o) { return cursor_move(c, MV_CURRENT, NULL, 0, o); }

int udb_cursor_seek(udb_cursor *c, const void *key, size_t keylen, udb_item *out)
{
    return cursor_move(c, MV_SEEK, key, keylen, out);
}

int udb_cursor_find(udb_cursor *c, const void *key, size_t keylen, udb_item *out)
{
    return cursor_move(c, MV_FIND, key, keylen, out);
}

static int cursor_flag(udb_cursor *c, int eof)
{
    udb_ndx *d = c->ndx;
    api_lock(&d->b);
    int began, r = 0;
    if (!api_read_begin(&d->b, &began)) {
        if (!mcursor_valid(&d->m, &c->c))
            r = eof ? mcursor_eof(&d->m, &c->c) : mcursor_bof(&d->m, &c->c);
        api_read_end(&d->b, began);
    }
    api_unlock(&d->b);
    return r;
}

int udb_cursor_bof(udb_cursor *c) { return cursor_flag(c, 0); }
int udb_cursor_eof(udb_cursor *c) { return cursor_flag(c, 1); }

/* Run a change through the cursor; on success it lands on *landing. */
enum { CH_APPEND, CH_DELETE_KEY, CH_DELETE, CH_DATAPOS };

/* A change of the record under the cursor (delete, or a new position). */
static int change_here(udb_cursor *c, int how, int64_t dp, int64_t *landing, int64_t *rdp)
{
    mindex *m = &c->ndx->m;
    unsigned ix = c->c.ix;
    int rc = mcursor_valid(m, &c->c);
    if (rc)
        return rc;
    if (how == CH_DATAPOS) {
        *landing = c->c.leaf;
        return c->c.leaf == -1 ? UDB_NOTFOUND : mindex_set_datapos(m, ix, c->c.leaf, dp);
    }
    memcpy(c->removed, c->c.key, c->c.ks); /* the size both were made with (mcursor_valid) */
    *rdp = c->c.dp;
    return mindex_delete_leaf(m, ix, c->c.leaf, landing);
}

static int cursor_change(udb_cursor *c, int how, const void *key, size_t keylen, int64_t dp,
                         uint64_t *removed, udb_item *out)
{
    udb_ndx *d = c->ndx;
    mindex *m = &d->m;
    unsigned ix = c->c.ix;
    api_lock(&d->b);
    uint8_t *k = NULL;
    int64_t landing = -1, rdp = 0;
    uint64_t n = 0;
    int began, rc = api_write_begin(&d->b, &began);
    if (!rc) {
        rc = mcursor_bound(m, &c->c); /* before anything changes */
        if (!rc && how != CH_DELETE && how != CH_DATAPOS)
            rc = key_in(d, ix, key, keylen, &k);
        if (!rc && how == CH_APPEND)
            rc = mindex_append(m, ix, k, dp, &landing);
        else if (!rc && how == CH_DELETE_KEY)
            rc = delete_key(m, ix, k, &n, &landing);
        else if (!rc)
            rc = change_here(c, how, dp, &landing, &rdp);
        if (!rc)
            rc = mcursor_set(m, &c->c, landing);
        rc = api_write_end(&d->b, began, rc);
    }
    if (rc && rc != UDB_NOTFOUND && rc != UDB_EXISTS && rc != UDB_INVAL && rc != UDB_RANGE)
        c->c.leaf = -1; /* refusals leave it where it was */
    mahead_moved(m, &c->ahead, &c->c, 0, NULL, NULL);
    if (removed)
        *removed = rc ? 0 : n;
    if (!rc && how == CH_DELETE)
        item_out(c, c->removed, rdp, -1, out);
    api_unlock(&d->b);
    return rc;
}

int udb_cursor_append(udb_cursor *c, const void *key, size_t keylen, int64_t datapos)
{
    return cursor_change(c, CH_APPEND, key, keylen, datapos, NULL, NULL);
}

int udb_cursor_delete_key(udb_cursor *c, const void *key, size_t keylen, uint64_t *removed)
{
    return cursor_change(c, CH_DELETE_KEY, key, keylen, 0, removed, NULL);
}

int udb_cursor_delete(udb_cursor *c, udb_item *out)
{
    return cursor_change(c, CH_DELETE, NULL, 0, 0, NULL, out);
}

int udb_cursor_set_datapos(udb_cursor *c, int64_t datapos)
{
    return cursor_change(c, CH_DATAPOS, NULL, 0, datapos, NULL, NULL);
}
