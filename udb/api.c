/*
 * api.c — transaction rules shared by all public handles, option defaults.
 * Owns when transactions begin and end around API calls; must not know
 * about file layouts or trees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api_int.h"
#include "layout.h"

void udb_options_init(udb_options *o)
{
    memset(o, 0, sizeof *o);
    o->layout = UDB_LAYOUT_AUTO;
    o->sync = UDB_SYNC_FULL;
    o->lock_timeout_ms = 5000;
}

int api_base_init(api_base *b, const udb_options *opts)
{
    memset(b, 0, sizeof *b);
    udb_err_forget(&b->err);
    if (pthread_mutex_init(&b->mu, NULL))
        return udb_err_set(&b->err, UDB_NOMEM, "cannot create a mutex");
    b->mu_ready = 1;
    if (opts)
        b->prog = (progress){opts->progress, opts->progress_arg};
    if (opts && (opts->sync < UDB_SYNC_FULL || opts->sync > UDB_SYNC_OFF ||
                 opts->layout < UDB_LAYOUT_AUTO || opts->layout > UDB_LAYOUT_WIDE))
        return udb_err_set(&b->err, UDB_INVAL, "invalid options (sync %d, layout %d)", opts->sync,
                           opts->layout);
    return pager_group_open(opts, &b->err, &b->g);
}

void api_base_fini(api_base *b)
{
    pager_group_close(b->g);
    b->g = NULL;
    if (b->mu_ready)
        pthread_mutex_destroy(&b->mu);
    b->mu_ready = 0;
    udb_err_forget(&b->err);
}

const char *api_errmsg(const api_base *b)
{
    return udb_err_text(&b->err, b->mu_ready ? (pthread_mutex_t *)&b->mu : NULL);
}

void api_lock(api_base *b)
{
    pthread_mutex_lock(&b->mu);
}

void api_unlock(api_base *b)
{
    pthread_mutex_unlock(&b->mu);
}

/* A poisoned transaction's state may be half changed (a structure half
   built, a size that did not reach the file): nothing but a rollback
   touches it. */
static int poisoned(api_base *b)
{
    return udb_err_set(&b->err, UDB_ABORTED,
                       "an earlier failure in this transaction requires a rollback");
}

int api_read_begin(api_base *b, int *began)
{
    *began = 0;
    if (pager_state(b->g) != PAGER_NONE)
        return pager_poisoned(b->g) ? poisoned(b) : 0;
    int changed = 0, rc = pager_read_begin(b->g, &changed);
    if (rc)
        return rc;
    *began = 1;
    if ((changed || b->reload_due) && b->reload && (rc = b->reload(b))) {
        pager_read_end(b->g);
        *began = 0;
    }
    b->reload_due = rc != 0; /* a decode that failed half way is done again */
    return rc;
}

void api_read_end(api_base *b, int began)
{
    if (began)
        pager_read_end(b->g);
}

int api_write_begin(api_base *b, int *began)
{
    *began = 0;
    if (pager_readonly(b->g))
        return udb_err_set(&b->err, UDB_READONLY, "the handle is read-only");
    if (pager_state(b->g) == PAGER_WRITE)
        return pager_poisoned(b->g) ? poisoned(b) : pager_prepare(b->g, PAGER_OP_HEADROOM);
    if (pager_state(b->g) == PAGER_READ)
        return udb_err_set(&b->err, UDB_INVAL, "cannot write inside a read transaction");
    int changed = 0, rc = pager_write_begin(b->g, &changed);
    if (rc)
        return rc;
    *began = 1;
    if (((changed || b->reload_due) && b->reload && (rc = b->reload(b))) ||
        (rc = pager_prepare(b->g, PAGER_OP_HEADROOM))) {
        pager_rollback(b->g);
        *began = 0;
    }
    b->reload_due = rc != 0; /* a decode that failed half way is done again */
    return rc;
}

/* Decode the handle's state again after a transaction ended without
   committing what it decoded (a rollback, a failed commit): inside a read
   transaction, as another handle may be writing the files this moment.
   When none can begin now, the next transaction decodes instead. */
static int redecode(api_base *b)
{
    if (!b->reload)
        return 0;
    b->reload_due = 1;
    if (pager_state(b->g) != PAGER_NONE)
        return 0;
    udb_err keep = b->err;
    int changed, rc = pager_read_begin(b->g, &changed);
    if (rc) {
        b->err = keep;
        return 0;
    }
    rc = b->reload(b);
    pager_read_end(b->g);
    b->reload_due = rc != 0;
    return rc;
}

/* Failures that can leave an operation half done. */
static int midway(int rc)
{
    return rc == UDB_IO || rc == UDB_CORRUPT || rc == UDB_NOMEM || rc == UDB_RANGE;
}

/* After a failure: roll back (when asked) and re-decode; neither replaces
   the error being reported, for the calling thread either. */
static void undo_keeping_error(api_base *b, int rollback)
{
    udb_err keep = b->err;
    if (rollback)
        pager_rollback(b->g);
    redecode(b);
    if (keep.code)
        udb_err_set(&b->err, keep.code, "%s", udb_err_msg(&keep));
    else
        b->err = keep;
}

static int restore(api_base *b, int rc)
{
    undo_keeping_error(b, 1);
    return rc;
}

int api_write_end(api_base *b, int began, int rc)
{
    if (!began) {
        if (rc && midway(rc))
            pager_poison(b->g);
        if (!rc)
            rc = pager_op_end(b->g);
        return rc;
    }
    if (rc)
        return restore(b, rc);
    if (b->flush && (rc = b->flush(b)))
        return restore(b, rc);
    if ((rc = pager_commit(b->g)))
        undo_keeping_error(b, pager_state(b->g) == PAGER_WRITE);
    return rc;
}

static int not_ready(api_base *b)
{
    return b->g && b->ready ? 0 : udb_err_set(&b->err, UDB_INVAL, "the handle did not open");
}

int api_begin(api_base *b)
{
    int began, rc;
    if ((rc = not_ready(b)))
        return rc;
    if (b->explicit_txn || pager_state(b->g) != PAGER_NONE)
        return udb_err_set(&b->err, UDB_INVAL, "a transaction is already open");
    if (pager_readonly(b->g))
        rc = api_read_begin(b, &began);
    else
        rc = api_write_begin(b, &began);
    if (!rc)
        b->explicit_txn = 1;
    return rc;
}

int api_begin_read(api_base *b)
{
    int began, rc;
    if ((rc = not_ready(b)))
        return rc;
    if (b->explicit_txn || pager_state(b->g) != PAGER_NONE)
        return udb_err_set(&b->err, UDB_INVAL, "a transaction is already open");
    if (!(rc = api_read_begin(b, &began)))
        b->explicit_txn = 1;
    return rc;
}

int api_backup(api_base *b, pager_file *const *files, const char *const *dst, int n)
{
    int began, rc = not_ready(b);
    if (!rc && pager_state(b->g) == PAGER_WRITE)
        rc = udb_err_set(&b->err, UDB_INVAL, "a backup inside a write transaction would copy "
                         "what is not committed");
    if (!rc && !dst)
        rc = udb_err_set(&b->err, UDB_INVAL, "NULL backup path");
    if (!rc && !(rc = api_read_begin(b, &began))) {
        rc = pager_copy(b->g, files, dst, n);
        api_read_end(b, began);
    }
    return rc;
}

int api_checkpoint(api_base *b)
{
    int rc = not_ready(b);
    if (!rc && pager_state(b->g) != PAGER_NONE)
        rc = udb_err_set(&b->err, UDB_INVAL, "checkpoint inside a transaction");
    return rc ? rc : pager_checkpoint(b->g, 1);
}

int api_commit(api_base *b)
{
    if (not_ready(b))
        return b->err.code;
    if (!b->explicit_txn)
        return udb_err_set(&b->err, UDB_INVAL, "no transaction is open");
    int rc = 0;
    if (pager_state(b->g) == PAGER_READ) {
        pager_read_end(b->g);
    } else {
        if (b->flush && (rc = b->flush(b)))
            return rc; /* still open: roll back */
        rc = pager_commit(b->g);
        if (rc && pager_state(b->g) == PAGER_WRITE)
            return rc; /* LOCKED or ABORTED: still open; retry or roll back */
        if (rc)
            undo_keeping_error(b, 0);
    }
    b->explicit_txn = 0;
    return rc;
}

int api_rollback(api_base *b)
{
    if (not_ready(b))
        return b->err.code;
    if (!b->explicit_txn)
        return udb_err_set(&b->err, UDB_INVAL, "no transaction is open");
    b->explicit_txn = 0;
    int rc = pager_rollback(b->g);
    int r = redecode(b);
    return rc ? rc : r;
}

int api_detect(api_base *b, pager_file *pf, int want_kind, int want_layout, int *layout)
{
    char why[400];
    int kind;
    int rc = lay_detect(pager_get(pf, 0, 0), pager_size(pf), want_kind, want_layout, &kind, layout,
                        why, sizeof why);
    if (rc)
        return udb_err_set(&b->err, rc, "%s: %s", pf->path, why);
    return 0;
}

/* ---- journals ------------------------------------------------------------------------- */
static int journal_call(const char *path, const udb_options *opts, int recover, int *out, char *msg,
                        size_t msglen)
{
    udb_options o;
    if (opts)
        o = *opts;
    else
        udb_options_init(&o);
    if (!recover)
        o.flags |= UDB_RDONLY;
    api_base b;
    pager_file *pf;
    int rc = api_base_init(&b, &o);
    *out = 0;
    if (!rc)
        rc = pager_file_open(b.g, path, PAGER_OPEN, &pf);
    if (!rc)
        rc = pager_join_dat(b.g, ".dat-journal");
    if (!rc && recover)
        rc = pager_recover(b.g, out);
    else if (!rc)
        rc = pager_hot_journal(b.g, out);
    char *dat = !rc && recover ? pager_heap_log(b.g) : NULL;
    if (msg && msglen)
        snprintf(msg, msglen, "%s", rc ? udb_err_msg(&b.err) : "");
    if (b.g)
        api_base_fini(&b);
    if (dat) { /* a store's heap with a log of its own: copied in too */
        int found = 0;
        rc = journal_call(dat, opts, 1, &found, msg, msglen);
        *out = *out ? *out : found;
        free(dat);
    }
    return rc;
}

int udb_journal_hot(const char *path, int *hot, char *msg, size_t msglen)
{
    return journal_call(path, NULL, 0, hot, msg, msglen);
}

int udb_recover(const char *path, const udb_options *opts, int *found, char *msg, size_t msglen)
{
    return journal_call(path, opts, 1, found, msg, msglen);
}
