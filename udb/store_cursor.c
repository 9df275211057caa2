/*
 * store_cursor.c — cursors over a store's indexes (each step gives the key
 * and, on request, the record) and range / prefix scans. Must not change
 * record framing or touch bytes directly.
 */
#include <stdlib.h>
#include "store.h"

/* Read-ahead hint (mahead's touch): bring the record frame at dp in. */
static void touch_frame(void *arg, int64_t dp)
{
    store_prefetch(arg, dp);
}

int udb_store_cursor_open(udb_store *s, unsigned index, udb_store_cursor **out)
{
    *out = NULL;
    api_lock(&s->b);
    int began, rc = store_index_arg(s, index);
    udb_store_cursor *c = NULL;
    if (!rc && !(rc = api_read_begin(&s->b, &began))) {
        if (!(c = calloc(1, sizeof *c)))
            rc = udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
        else if ((rc = mcursor_init(&s->m, index - 1, &c->c))) {
            free(c);
            c = NULL;
        } else {
            c->s = s;
        }
        api_read_end(&s->b, began);
    }
    *out = c;
    api_unlock(&s->b);
    return rc;
}

void udb_store_cursor_close(udb_store_cursor *c)
{
    if (c) {
        mcursor_free(&c->c);
        free(c);
    }
}

/* After a move: the key and (when asked) the record under the cursor. */
static int fill(udb_store_cursor *c, udb_item *key, udb_val *val)
{
    udb_store *s = c->s;
    if (key) {
        key->key = c->c.key;
        key->keysize = s->m.ix[c->c.ix].T.ks;
        key->datapos = c->c.dp;
        key->leaf = c->c.leaf;
    }
    if (!val)
        return 0;
    record r;
    int rc = store_read(s, c->c.dp, &r);
    return rc ? rc : store_value(s, &r, val);
}

enum { MV_FIRST, MV_LAST, MV_NEXT, MV_PREV, MV_SEEK, MV_CURRENT };

static int move(udb_store_cursor *c, int how, const void *k, size_t klen, udb_item *key, udb_val *val)
{
    udb_store *s = c->s;
    mindex *m = &s->m;
    api_lock(&s->b);
    uint8_t *nk = NULL;
    int began, rc = api_read_begin(&s->b, &began);
    if (!rc && how == MV_SEEK)
        rc = store_key_in(s, c->c.ix, k, klen, &nk);
    if (!rc) {
        switch (how) {
        case MV_FIRST: rc = mcursor_first(m, &c->c); break;
        case MV_LAST: rc = mcursor_last(m, &c->c); break;
        case MV_NEXT: rc = mcursor_next(m, &c->c); break;
        case MV_PREV: rc = mcursor_prev(m, &c->c); break;
        case MV_SEEK: rc = mcursor_seek(m, &c->c, nk); break;
        default:
            rc = mcursor_valid(m, &c->c);
            if (!rc && (c->c.leaf == -1 || c->c.leaf == m->ix[c->c.ix].info.last_leaf))
                rc = UDB_NOTFOUND;
        }
        if (!rc)
            rc = fill(c, key, val);
        mahead_moved(m, &c->ahead, &c->c, how == MV_NEXT && !rc, touch_frame, s);
        api_read_end(&s->b, began);
    }
    api_unlock(&s->b);
    return rc;
}

int udb_store_cursor_first(udb_store_cursor *c, udb_item *k, udb_val *v) { return move(c, MV_FIRST, NULL, 0, k, v); }
int udb_store_cursor_last(udb_store_cursor *c, udb_item *k, udb_val *v) { return move(c, MV_LAST, NULL, 0, k, v); }
int udb_store_cursor_next(udb_store_cursor *c, udb_item *k, udb_val *v) { return move(c, MV_NEXT, NULL, 0, k, v); }
int udb_store_cursor_prev(udb_store_cursor *c, udb_item *k, udb_val *v) { return move(c, MV_PREV, NULL, 0, k, v); }

int udb_store_cursor_current(udb_store_cursor *c, udb_item *k, udb_val *v)
{
    return move(c, MV_CURRENT, NULL, 0, k, v);
}

int udb_store_cursor_seek(udb_store_cursor *c, const void *k, size_t klen, udb_item *key, udb_val *val)
{
    return move(c, MV_SEEK, k, klen, key, val);
}

static int cursor_delete_locked(udb_store_cursor *c)
{
    udb_store *s = c->s;
    mindex *m = &s->m;
    int rc = mcursor_valid(m, &c->c);
    if (rc)
        return rc;
    mindex_index *x = &m->ix[c->c.ix];
    if (c->c.leaf == -1 || c->c.leaf == x->info.last_leaf)
        return UDB_NOTFOUND;
    record r;
    int64_t landing;
    if ((rc = store_read(s, c->c.dp, &r)))
        return rc;
    size_t size = r.size;
    int64_t pos = r.pos;
    /* the other indexes first, then this one through the cursor */
    for (unsigned i = 0; i < s->nidx; i++) {
        int64_t leaf;
        if (i == c->c.ix)
            continue;
        if ((rc = store_locate(s, i, store_record_key(s, &r, i), pos, store_record_hint(s, &r, i),
                               &leaf)) ||
            (rc = mindex_delete_leaf(m, i, leaf, &landing)))
            return rc;
    }
    mahead_moved(m, &c->ahead, &c->c, 0, NULL, NULL);
    if ((rc = mindex_delete_leaf(m, c->c.ix, c->c.leaf, &landing)) ||
        (rc = heap_release_later(&s->h, pos, size)))
        return rc;
    return mcursor_set(m, &c->c, landing);
}

int udb_store_cursor_delete(udb_store_cursor *c)
{
    udb_store *s = c->s;
    api_lock(&s->b);
    int began, rc = api_write_begin(&s->b, &began);
    if (!rc)
        rc = api_write_end(&s->b, began, cursor_delete_locked(c));
    if (rc && rc != UDB_NOTFOUND)
        c->c.leaf = -1;
    api_unlock(&s->b);
    return rc;
}

/* ---- scans ------------------------------------------------------------------------------- */
typedef struct scan {
    udb_store *s;
    unsigned ix;
    const uint8_t *to;          /* normalised upper bound or NULL */
    const uint8_t *prefix;
    size_t plen;
} scan;

static int prefix_ok(const scan *sc, const uint8_t *key)
{
    if (!sc->prefix)
        return 1;
    return memcmp(key, sc->prefix, sc->plen) == 0;
}

static int scan_next(udb_store *s, mcursor *c, mahead *a)
{
    int rc = mcursor_next(&s->m, c);
    if (!rc)
        mahead_step(&s->m, a, c->leaf);
    return rc;
}

static int scan_loop(scan *sc, mcursor *c, udb_scan_fn fn, void *arg, int rc)
{
    udb_store *s = sc->s;
    const lay_tree *T = &s->m.ix[sc->ix].T;
    mahead ahead;
    if (rc == 0)
        mahead_init(&s->m, c, &ahead, touch_frame, s);
    for (; rc == 0; rc = scan_next(s, c, &ahead)) {
        if (sc->to && lay_cmp(T, c->key, sc->to) > 0)
            break;
        if (!prefix_ok(sc, c->key)) {
            if (memcmp(c->key, sc->prefix, sc->plen) > 0 &&
                (T->keytype == UDB_KEY_STRING || T->keytype == UDB_KEY_BLOCK))
                break; /* past every key with the prefix */
            continue;
        }
        record r;
        udb_item it = {c->key, T->ks, c->dp, c->leaf};
        if ((rc = store_read(s, c->dp, &r)) || (rc = store_value(s, &r, &s->tmp)))
            return rc;
        int stop = fn(arg, &it, s->tmp.data, s->tmp.len);
        if (stop)
            return stop;
    }
    return rc == UDB_NOTFOUND ? 0 : rc;
}

static int scan_locked(udb_store *s, unsigned ix, const void *from, size_t fromlen, const void *to,
                       size_t tolen, const void *prefix, size_t plen, udb_scan_fn fn, void *arg)
{
    const lay_tree *T = &s->m.ix[ix].T;
    uint8_t *fk = NULL, *tk = NULL;
    size_t ks = T->ks;
    int rc = 0;
    if (plen > ks || (T->keytype == UDB_KEY_STRING && plen >= ks))
        return udb_err_set(&s->b.err, UDB_INVAL, "prefix of %zu bytes is longer than the keys", plen);
    if ((from && !(fk = malloc(ks))) || (to && !(tk = malloc(ks))))
        rc = udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
    else if ((from && lay_key_make(T, from, fromlen, fk)) || (to && lay_key_make(T, to, tolen, tk)))
        rc = udb_err_set(&s->b.err, UDB_INVAL, "a bound does not fit index %u", ix + 1);
    mcursor c;
    if (!rc && !(rc = mcursor_init(&s->m, ix, &c))) {
        scan sc = {s, ix, tk, prefix, prefix ? plen : 0};
        int first;
        if (fk)
            first = mcursor_seek(&s->m, &c, fk);
        else if (prefix && (T->keytype == UDB_KEY_STRING || T->keytype == UDB_KEY_BLOCK) &&
                 (fk = calloc(1, ks))) {
            memcpy(fk, prefix, plen); /* keys with the prefix start here */
            first = mcursor_seek(&s->m, &c, fk);
        } else {
            first = mcursor_first(&s->m, &c);
        }
        rc = scan_loop(&sc, &c, fn, arg, first);
        mcursor_free(&c);
    }
    free(fk);
    free(tk);
    return rc;
}

int udb_store_scan(udb_store *s, unsigned index, const void *from, size_t fromlen, const void *to,
                   size_t tolen, const void *prefix, size_t prefixlen, udb_scan_fn fn, void *arg)
{
    api_lock(&s->b);
    int began, rc = store_index_arg(s, index);
    if (!rc && !fn)
        rc = udb_err_set(&s->b.err, UDB_INVAL, "NULL scan callback");
    if (!rc && !(rc = api_read_begin(&s->b, &began))) {
        rc = scan_locked(s, index - 1, from, fromlen, to, tolen, prefix, prefixlen, fn, arg);
        api_read_end(&s->b, began);
    }
    api_unlock(&s->b);
    return rc;
}
