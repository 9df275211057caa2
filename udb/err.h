/*
 * err.h — the error record kept on every handle: a UDB_* code and a message.
 * Owns message formatting only; must not print or exit.
 */
#ifndef UDB_ERR_H
#define UDB_ERR_H

#include <stdarg.h>
#include "udb.h"

typedef struct udb_err {
    int code;
    char msg[480];
} udb_err;

/* Record code and message in e (if e is not NULL); returns code. */
int udb_err_set(udb_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void udb_err_clear(udb_err *e);

#endif
