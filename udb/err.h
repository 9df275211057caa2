/*
 * err.h — the error record kept on every handle: a UDB_* code and a message.
 * Owns message formatting only; must not print or exit.
 */
#ifndef UDB_ERR_H
#define UDB_ERR_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include "udb.h"

#define UDB_ERR_ARG 176

/* Makes a deferred message from its argument bytes. */
typedef void (*udb_err_fmt)(const unsigned char *arg, char *out, size_t len);

typedef struct udb_err {
    int code;
    udb_err_fmt later;          /* set: msg is made from arg when first read */
    unsigned char arg[UDB_ERR_ARG];
    char msg[480];
} udb_err;

/* Record code and message in e (if e is not NULL); returns code. */
int udb_err_set(udb_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record code now and the message only when it is read (udb_err_msg,
   udb_err_text): fmt makes it from a copy of the len <= UDB_ERR_ARG bytes
   at arg. For failures that are answers (no record with that key), where
   the text would cost more than the lookup. Returns code. */
int udb_err_defer(udb_err *e, int code, udb_err_fmt fmt, const void *arg, size_t len);
/* e's message, made now if it was deferred. */
/* A journal, log or shared-memory file (kind, at path) refused because it
   is a link: oserr -ELOOP a symbolic link, -EMLINK a file with other names
   (hard links). Sets UDB_CORRUPT. */
int udb_err_link(udb_err *e, int oserr, const char *kind, const char *path);
const char *udb_err_msg(udb_err *e);
/* The message for e as the calling thread should see it: the text of its own
   last failure recorded in e, else a copy of e's text taken under mu (if
   not NULL). Valid until the thread's next udb call. */
const char *udb_err_text(const udb_err *e, pthread_mutex_t *mu);
/* e is going away: the calling thread must not match it any more. */
void udb_err_forget(const udb_err *e);

#endif
