/*
 * err.c — error codes and per-handle messages. Owns the code names; must not
 * print or exit. Its only state outside handles is each thread's copy of its
 * own last message (so that threads sharing a handle read their own).
 */
#include <stdio.h>
#include <string.h>
#include "err.h"

static _Thread_local const udb_err *tl_owner; /* the record tl_msg was set for */
static _Thread_local char tl_msg[sizeof ((udb_err *)0)->msg];

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
        tl_owner = e;
    }
    return code;
}

const char *udb_err_text(const udb_err *e, pthread_mutex_t *mu)
{
    if (tl_owner == e)
        return tl_msg;
    if (mu)
        pthread_mutex_lock(mu);
    const char *r = "no error";
    if (e->code) {
        memcpy(tl_msg, e->msg, sizeof tl_msg);
        tl_owner = e;
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

const char *udb_strerror(int code)
{
    switch (code) {
    case UDB_OK: return "UDB_OK";
    case UDB_NOTFOUND: return "UDB_NOTFOUND";
    case UDB_EXISTS: return "UDB_EXISTS";
    case UDB_CORRUPT: return "UDB_CORRUPT";
    case UDB_IO: return "UDB_IO";
    case UDB_INVAL: return "UDB_INVAL";
    case UDB_LOCKED: return "UDB_LOCKED";
    case UDB_NOMEM: return "UDB_NOMEM";
    case UDB_READONLY: return "UDB_READONLY";
    case UDB_RANGE: return "UDB_RANGE";
    case UDB_STALE: return "UDB_STALE";
    case UDB_RECOVER: return "UDB_RECOVER";
    case UDB_ABORTED: return "UDB_ABORTED";
    case UDB_FORMAT: return "UDB_FORMAT";
    default: return "UDB_UNKNOWN";
    }
}

const char *udb_version(void)
{
    return UDB_VERSION;
}
