/*
 * err.c — error codes and per-handle messages. Owns the code names; must not
 * print, exit, or keep global mutable state.
 */
#include <stdio.h>
#include <string.h>
#include "err.h"

int udb_err_set(udb_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

void udb_err_clear(udb_err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = 0;
    }
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
