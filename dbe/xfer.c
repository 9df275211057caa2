/*
 * xfer.c — the table export and import work on: a record store (one key
 * column per index, then the value) or one index of a MultiIndex file (key
 * and data position), with its transactions, and the keys of a store's
 * other indexes by record (export, textdump). Owns opening either kind for
 * them; the text of fields is in xfer_text.c and xfer_read.c.
 */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

int xt_open(const char *name, const dbe_opts *o, int writable, const char *cmd, xtable *t)
{
    memset(t, 0, sizeof *t);
    t->ix = o->index ? o->index : 1;
    t->is_store = dbe_is_store(name);
    if (t->is_store) {
        int ex = dbe_store_open(name, o, writable, cmd, &t->st);
        t->nkeys = t->st.n;
        if (ex == EX_OK && t->ix > t->st.n)
            ex = dbe_fail(EX_USAGE, "%s: no index %u (the store has %u)", cmd, t->ix, t->st.n);
        return ex;
    }
    t->nkeys = 1;
    int rc = dbe_open_ndx(name, o, writable, &t->d);
    if (rc)
        return dbe_open_exit(rc);
    if ((rc = udb_ndx_info(t->d, t->ix, &t->dinf)))
        return dbe_fail(dbe_exit_code(rc), "%s: %s", cmd, udb_ndx_errmsg(t->d));
    if (t->dinf.def.keytype == UDB_KEY_VOID)
        return dbe_fail(EX_USAGE, "%s: index %u of %s is not defined", cmd, t->ix, name);
    if (!(t->dkey = malloc(t->dinf.def.keysize)))
        return dbe_fail(EX_USAGE, "out of memory");
    return EX_OK;
}

int xt_close(xtable *t, int ex)
{
    if (t->is_store)
        return dbe_store_close(&t->st, ex);
    int rc = udb_ndx_close(t->d);
    free(t->dkey);
    if (rc && ex == EX_OK)
        return dbe_fail(EX_USAGE, "closing the file failed (%s)", udb_strerror(rc));
    return ex;
}

const udb_index_info *xt_inf(const xtable *t, unsigned col)
{
    return t->is_store ? &t->st.inf[col] : &t->dinf;
}

uint8_t *xt_keybuf(xtable *t, unsigned col, size_t **len)
{
    *len = t->is_store ? &t->st.len[col] : &t->dlen;
    return t->is_store ? t->st.key[col] : t->dkey;
}

void xt_colname(const xtable *t, unsigned col, char *buf, size_t n)
{
    if (col < t->nkeys && t->is_store)
        snprintf(buf, n, "k%u", col + 1);
    else
        snprintf(buf, n, "%s", col < t->nkeys ? "key" : t->is_store ? "v" : "datapos");
}

int xt_empty(xtable *t)
{
    udb_store_cursor *c;
    if (!t->is_store)
        return dbe_index_empty(t->d, t->ix);
    if (udb_store_cursor_open(t->st.s, 1, &c))
        return 0;
    int rc = udb_store_cursor_first(c, NULL, NULL);
    udb_store_cursor_close(c);
    return rc == UDB_NOTFOUND;
}

int xt_begin(xtable *t)
{
    return t->is_store ? udb_store_begin(t->st.s) : udb_ndx_begin(t->d);
}

int xt_commit(xtable *t)
{
    return t->is_store ? udb_store_commit(t->st.s) : udb_ndx_commit(t->d);
}

void xt_rollback(xtable *t)
{
    if (t->is_store)
        udb_store_rollback(t->st.s);
    else
        udb_ndx_rollback(t->d);
}

const char *xt_errmsg(const xtable *t)
{
    return t->is_store ? udb_store_errmsg(t->st.s) : udb_ndx_errmsg(t->d);
}

/* ---- a store's other indexes: record position -> key ---------------------------------------- */
static int cmp_pos(const void *a, const void *b)
{
    int64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x > y) - (x < y);
}

static int map_add(xkeymap *m, const udb_item *it)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        uint8_t *e = realloc(m->e, cap * m->size);
        if (!e)
            return UDB_NOMEM;
        m->e = e;
        m->cap = cap;
    }
    memcpy(m->e + m->n * m->size, &it->datapos, 8);
    memcpy(m->e + m->n * m->size + 8, it->key, it->keysize);
    m->n++;
    return 0;
}

/* Every (position, key) of index col + 1, sorted by position. */
static int map_build(dbe_store *st, unsigned col, const char *cmd, xkeymap *m)
{
    udb_store_cursor *c;
    udb_item it;
    char what[40];
    snprintf(what, sizeof what, "%s: index %u", cmd, col + 1);
    m->size = (8 + st->inf[col].def.keysize + 7) / 8 * 8;
    int rc = udb_store_cursor_open(st->s, col + 1, &c);
    for (rc = rc ? rc : udb_store_cursor_first(c, &it, NULL); !rc;
         rc = udb_store_cursor_next(c, &it, NULL)) {
        if ((rc = map_add(m, &it)))
            break;
        dbe_progress(what, m->n, 0);
    }
    udb_store_cursor_close(c);
    if (rc != UDB_NOTFOUND)
        return rc == UDB_NOMEM ? dbe_fail(EX_USAGE, "%s: out of memory", cmd)
                               : dbe_fail(dbe_exit_code(rc), "%s: %s", cmd, udb_store_errmsg(st->s));
    qsort(m->e, m->n, m->size, cmp_pos);
    return EX_OK;
}

int xk_build(dbe_store *st, unsigned order, const char *cmd, xkeymap **maps)
{
    int ex = EX_OK;
    if (!(*maps = calloc(st->n, sizeof **maps)))
        return dbe_fail(EX_USAGE, "%s: out of memory", cmd);
    for (unsigned col = 0; col < st->n && ex == EX_OK; col++)
        if (col != order - 1)
            ex = map_build(st, col, cmd, &(*maps)[col]);
    return ex;
}

const uint8_t *xk_find(const xkeymap *m, int64_t pos, unsigned col, const char *cmd)
{
    const uint8_t *e = bsearch(&pos, m->e, m->n, m->size, cmp_pos);
    if (!e)
        dbe_fail(EX_ABSENT, "%s: the record at %lld is missing from index %u; the store is "
                 "damaged (see dbe check)", cmd, (long long)pos, col + 1);
    return e ? e + 8 : NULL;
}

void xk_free(xkeymap *maps, unsigned n)
{
    for (unsigned col = 0; maps && col < n; col++)
        free(maps[col].e);
    free(maps);
}
