/*
 * xfer.c — the table export and import work on: a record store (one key
 * column per index, then the value) or one index of a MultiIndex file (key
 * and data position), with its transactions. Owns opening either kind for
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
