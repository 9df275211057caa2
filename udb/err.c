/*
 * err.c — error codes and per-handle messages. Owns the code names and their
 * sentences; must not print or exit. Its only state outside handles is each
 * thread's copy of its own last message (so that threads sharing a handle
 * read their own).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "err.h"

static _Thread_local const udb_err *tl_owner; /* the record tl_msg was set for */
static _Thread_local char tl_msg[sizeof ((udb_err *)0)->msg];
static _Thread_local udb_err_fmt tl_later;     /* tl_msg is still to be made from tl_arg */
static _Thread_local unsigned char tl_arg[UDB_ERR_ARG];

int udb_err_set(udb_err *e, int code, const char *fmt, ...)
{
    if (e) {
        char buf[sizeof tl_msg]; /* an argument may be tl_msg itself (another
                                    handle's message): format apart */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        memcpy(tl_msg, buf, sizeof tl_msg);
        memcpy(e->msg, buf, sizeof e->msg);
        e->code = code;
        e->later = NULL;
        tl_owner = e;
        tl_later = NULL;
    }
    return code;
}

int udb_err_defer(udb_err *e, int code, udb_err_fmt fmt, const void *arg, size_t len)
{
    if (e) {
        len = len < UDB_ERR_ARG ? len : UDB_ERR_ARG;
        memcpy(e->arg, arg, len);
        memcpy(tl_arg, arg, len);
        e->code = code;
        e->later = tl_later = fmt;
        tl_owner = e;
    }
    return code;
}

int udb_err_link(udb_err *e, int oserr, const char *kind, const char *path)
{
    if (oserr == -EMLINK)
        return udb_err_set(e, UDB_CORRUPT,
                           "%s %s has other names (hard links), and udb never writes a file it "
                           "shares; nothing changed (give it a name of its own: copy it to a new "
                           "file and move that over it)",
                           kind, path);
    return udb_err_set(e, UDB_CORRUPT,
                       "%s %s is a symbolic link, which udb never follows; nothing changed "
                       "(inspect it and remove it)",
                       kind, path);
}

const char *udb_err_msg(udb_err *e)
{
    if (e->later) {
        e->later(e->arg, e->msg, sizeof e->msg);
        e->later = NULL;
    }
    return e->msg;
}

const char *udb_err_text(const udb_err *e, pthread_mutex_t *mu)
{
    if (tl_owner == e) {
        if (tl_later)
            tl_later(tl_arg, tl_msg, sizeof tl_msg);
        tl_later = NULL;
        return tl_msg;
    }
    if (mu)
        pthread_mutex_lock(mu);
    const char *r = "no error";
    if (e->code) {
        if (e->later)
            e->later(e->arg, tl_msg, sizeof tl_msg);
        else
            memcpy(tl_msg, e->msg, sizeof tl_msg);
        tl_owner = e;
        tl_later = NULL;
        r = tl_msg;
    }
    if (mu)
        pthread_mutex_unlock(mu);
    return r;
}

void udb_err_forget(const udb_err *e)
{
    if (tl_owner == e)
        tl_owner = NULL;
}

/* Each code's name and the sentence udb_strerror gives, in code order
   (UDB_OK, then -1, -2, ...). */
static const struct {
    const char *name, *text;
} codes[] = {
    {"UDB_OK", "success"},
    {"UDB_NOTFOUND", "not found: no record with that key, no further record, or no such file"},
    {"UDB_EXISTS", "already exists: a unique index holds the key, or the file exists"},
    {"UDB_CORRUPT", "corrupt: the file's structure is damaged"},
    {"UDB_IO", "I/O error: the operating system refused an operation"},
    {"UDB_INVAL", "invalid argument, definition or call order"},
    {"UDB_LOCKED", "locked: another handle holds a conflicting lock"},
    {"UDB_NOMEM", "out of memory or address space"},
    {"UDB_READONLY", "read-only: the handle or the file cannot be written"},
    {"UDB_RANGE", "out of range: the value does not fit the file's layout"},
    {"UDB_STALE", "stale cursor: its record was removed by another change"},
    {"UDB_RECOVER", "recovery needed: a hot journal is pending and this handle cannot roll it back"},
    {"UDB_ABORTED", "transaction aborted: an earlier failure poisoned it; roll it back"},
    {"UDB_FORMAT", "unknown format: not a file of either layout, or an unsupported shape"},
};

#define NCODES (sizeof codes / sizeof codes[0])
_Static_assert(NCODES == 1 - UDB_FORMAT, "one entry per UDB_* code");

const char *udb_strerror(int code)
{
    return code <= 0 && code > -(int)NCODES ? codes[-code].text : "unknown error code";
}

const char *udb_errname(int code)
{
    return code <= 0 && code > -(int)NCODES ? codes[-code].name : "UDB_UNKNOWN";
}

const char *udb_version(void)
{
    return UDB_VERSION;
}
