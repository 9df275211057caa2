/*
 * session.h — what the two halves of the interactive session share: the
 * session state, its messages, and the record commands. Only session.c and
 * session_cmd.c include it.
 */
#ifndef DBE_SESSION_H
#define DBE_SESSION_H

#include "dbe.h"

typedef struct session {
    const char *path;
    udb_ndx *ndx;
    int layout;
    unsigned nix;               /* indexes in the file */
    unsigned active;            /* the active index, 1-based */
    udb_index_info *inf;        /* nix definitions, read at open */
    udb_cursor **cur;           /* one per index, opened on first use */
    uint8_t *key;               /* room for the largest key */
    int64_t counter;            /* data position of the next A */
    int64_t counter_at_begin;   /* restored by ROLLBACK */
    int last_error;             /* udb code of the last command's failure, 0 */
    int in_txn;                 /* a BEGIN is open */
    int tty;                    /* stdin is a terminal: prompts, no line numbers */
    unsigned long line;         /* input line number */
} session;

/* A refused command or argument: "dbe: line N: ..." on stderr. */
void session_refuse(session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failed library call: the message of the handle, and last_error = rc. */
void session_fail(session *s, int rc, const char *what);

/* The record commands; arg is NULL for those without one. */
void scmd_append(session *s, const char *arg);
void scmd_delete(session *s, const char *arg);
void scmd_find(session *s, const char *arg);
void scmd_fill(session *s, const char *arg);
void scmd_list(session *s, const char *arg);
void scmd_first(session *s, const char *arg);
void scmd_next(session *s, const char *arg);
void scmd_prev(session *s, const char *arg);
void scmd_current(session *s, const char *arg);
void scmd_remove(session *s, const char *arg);
void scmd_change(session *s, const char *arg);
void scmd_stats(session *s, const char *arg);

#endif
