/*
 * err.h — the error record kept on every handle: a UDB_* code and a message.
 * Owns message formatting only; must not print or exit.
 */
#ifndef UDB_ERR_H
#define UDB_ERR_H

#include <pthread.h>
#include <stdarg.h>
#include "udb.h"

typedef struct udb_err {
    int code;
    char msg[480];
} udb_err;

/* Record code and message in e (if e is not NULL); returns code. */
int udb_err_set(udb_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The message for e as the calling thread should see it: the text of its own
   last failure recorded in e, else a copy of e's text taken under mu (if
   not NULL). Valid until the thread's next udb call. */
const char *udb_err_text(const udb_err *e, pthread_mutex_t *mu);
/* e is going away: the calling thread must not match it any more. */
void udb_err_forget(const udb_err *e);

#endif
