/*
 * session.h — what the parts of the interactive session share: the
 * session state, its messages, and the record commands of an index file
 * (session_cmd.c) and of a record store (session_store.c). Only session.c,
 * session_cmd.c and session_store.c include it.
 */
#ifndef DBE_SESSION_H
#define DBE_SESSION_H

#include "dbe_store.h"

typedef struct session {
    const char *path;
    udb_ndx *ndx;               /* an index file, or NULL */
    dbe_store st;               /* a record store (st.s), or st.s NULL */
    int layout;
    unsigned nix;               /* indexes in the file or store */
    unsigned active;            /* the active index, 1-based */
    udb_index_info *inf;        /* nix definitions, read at open */
    udb_cursor **cur;           /* index file: one per index, opened on first use */
    uint8_t *key;               /* index file: room for the largest key */
    int64_t counter;            /* data position of the next A */
    int64_t counter_at_begin;   /* restored by ROLLBACK */
    int last_error;             /* udb code of the last command's failure, 0 */
    int in_txn;                 /* a BEGIN is open */
    int tty;                    /* stdin is a terminal: prompts, no line numbers */
    unsigned long line;         /* input line number */
    unsigned long failed;       /* lines refused or failed: a pipe's exit status */
} session;

/* A refused command or argument: "dbe: line N: ..." on stderr (counted
   as a failure). */
void session_refuse(session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failed library call: the message of the handle, and last_error = rc. */
void session_fail(session *s, int rc, const char *what);
/* "word<TAB>key": a key the command was about, as dbe list prints it. */
void session_say_key(session *s, const char *word, const uint8_t *key);

/* The record commands of an index file; arg is NULL for those without one. */
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
void scmd_stats(session *s, const char *arg);

/* The record commands of a store; arg is the rest of the line (NULL when
   empty): keys are typed text as for dbe get, a value the rest of the
   line after the keys, with C escapes. */
void scmd_get(session *s, const char *arg);
void scmd_put(session *s, const char *arg);
void scmd_update(session *s, const char *arg);
void scmd_del(session *s, const char *arg);
void scmd_scan(session *s, const char *arg);
void scmd_store_stats(session *s, const char *arg);

#endif
