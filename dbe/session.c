/*
 * session.c — the interactive session of the originals' test programs: the
 * C(reate)/O(pen) question, the command loop on a terminal or a pipe, the
 * prompt, help, BEGIN/COMMIT/ROLLBACK, and the end of the session. The
 * record commands live in session_cmd.c; this file never touches records.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "session.h"

typedef struct scommand {
    const char *name;           /* matched without regard to case */
    int takes_arg;
    void (*run)(session *s, const char *arg);   /* NULL: ends the session */
    const char *usage, *help;
} scommand;

static void scmd_help(session *s, const char *arg);
static void scmd_begin(session *s, const char *arg);
static void scmd_commit(session *s, const char *arg);
static void scmd_rollback(session *s, const char *arg);

static const scommand scommands[] = {
    {"A", 1, scmd_append, "A key", "append key; its data position is the counter (1, 2, ...)"},
    {"D", 1, scmd_delete, "D key", "delete every record with key"},
    {"F", 1, scmd_find, "F key", "find key (newest duplicate); a miss leaves the cursor on the "
                                 "next larger record"},
    {"N", 1, scmd_fill, "N count", "append keys 1..count at data positions 1..count; the counter "
                                   "goes on from count+1"},
    {"L", 0, scmd_list, "L", "list the active index (the cursor ends on the last record)"},
    {".", 0, scmd_first, ".", "go to the first record"},
    {"+", 0, scmd_next, "+", "go to the next record"},
    {"-", 0, scmd_prev, "-", "go to the previous record"},
    {"T", 0, scmd_current, "T", "show the current record"},
    {"R", 0, scmd_remove, "R", "remove the current record (the cursor moves to the next one, "
                               "else the previous one)"},
    {"C", 1, scmd_change, "C n", "make index n the active index"},
    {"S", 0, scmd_stats, "S", "statistics of the active index"},
    {"H", 0, scmd_help, "H", "this help"},
    {"BEGIN", 0, scmd_begin, "BEGIN", "start a transaction (otherwise each command is one)"},
    {"COMMIT", 0, scmd_commit, "COMMIT", "make the transaction's changes durable"},
    {"ROLLBACK", 0, scmd_rollback, "ROLLBACK", "undo the transaction (every cursor is reset)"},
    {"X", 0, NULL, "X", "end the session (so does the end of the input)"},
};

#define NSCOMMANDS (sizeof scommands / sizeof scommands[0])

/* ---- messages ---------------------------------------------------------------------------- */
static void say_error(session *s, const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs("dbe: ", stderr);
    if (!s->tty)
        fprintf(stderr, "line %lu: ", s->line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void session_refuse(session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_error(s, fmt, ap);
    va_end(ap);
}

void session_fail(session *s, int rc, const char *what)
{
    s->last_error = rc;
    session_refuse(s, "%s: %s", what, udb_ndx_errmsg(s->ndx));
}

/* ---- help and transactions --------------------------------------------------------------- */
static void scmd_help(session *s, const char *arg)
{
    (void)s;
    (void)arg;
    for (size_t i = 0; i < NSCOMMANDS; i++)
        printf("  %-10s %s\n", scommands[i].usage, scommands[i].help);
    printf("Commands are one per line, upper or lower case; keys are single words.\n");
}

static void reset_cursors(session *s)
{
    for (unsigned i = 0; i < s->nix; i++) {
        udb_cursor_close(s->cur[i]);
        s->cur[i] = NULL;
    }
}

static void scmd_begin(session *s, const char *arg)
{
    (void)arg;
    if (s->in_txn) {
        session_refuse(s, "a transaction is already open (COMMIT or ROLLBACK it first)");
        return;
    }
    int rc = udb_ndx_begin(s->ndx);
    if (rc) {
        session_fail(s, rc, "BEGIN");
        return;
    }
    s->in_txn = 1;
    s->counter_at_begin = s->counter;
    puts("begun");
}

/* After a rollback the data positions handed out since BEGIN are free again. */
static void after_rollback(session *s)
{
    s->in_txn = 0;
    s->counter = s->counter_at_begin;
    reset_cursors(s);
}

static void scmd_commit(session *s, const char *arg)
{
    (void)arg;
    if (!s->in_txn) {
        session_refuse(s, "COMMIT without BEGIN (each command is already its own transaction)");
        return;
    }
    int rc = udb_ndx_commit(s->ndx);
    if (!rc) {
        s->in_txn = 0;
        puts("committed");
        return;
    }
    session_fail(s, rc, "COMMIT");
    udb_ndx_rollback(s->ndx); /* ends it when the failure left it open */
    after_rollback(s);
    session_refuse(s, "the transaction was rolled back");
}

static void scmd_rollback(session *s, const char *arg)
{
    (void)arg;
    if (!s->in_txn) {
        session_refuse(s, "ROLLBACK without BEGIN");
        return;
    }
    int rc = udb_ndx_rollback(s->ndx);
    after_rollback(s);
    if (rc)
        session_fail(s, rc, "ROLLBACK");
    else
        puts("rolled back");
}

/* ---- input --------------------------------------------------------------------------------- */
static char *read_line(session *s, char **buf, size_t *cap)
{
    if (getline(buf, cap, stdin) < 0)
        return NULL;
    s->line++;
    return *buf;
}

/* Up to 3 words of line (a third only shows there are too many). */
static int split_words(char *line, char *w[3])
{
    int n = 0;
    for (char *p = strtok(line, " \t\r\n\v\f"); p && n < 3; p = strtok(NULL, " \t\r\n\v\f"))
        w[n++] = p;
    return n;
}

/* C or O; 0 at the end of the input. */
static int ask_create(session *s, char **buf, size_t *cap, int *create)
{
    char *w[3];
    for (;;) {
        if (s->tty) {
            printf("Enter C to create %s or O to open it > ", s->path);
            fflush(stdout);
        }
        if (!read_line(s, buf, cap))
            return 0;
        int n = split_words(*buf, w);
        if (n == 1 && (!strcasecmp(w[0], "c") || !strcasecmp(w[0], "create"))) {
            *create = 1;
            return 1;
        }
        if (n == 1 && (!strcasecmp(w[0], "o") || !strcasecmp(w[0], "open"))) {
            *create = 0;
            return 1;
        }
        if (n)
            session_refuse(s, "answer C (create %s) or O (open it), not '%s'", s->path, w[0]);
    }
}

/* ---- open and close ------------------------------------------------------------------------- */

/* The original test programs' file: 5 STRING indexes with ALLOW_DELETE. */
static int create_test_file(const char *path, const dbe_opts *o, int layout)
{
    static const unsigned classic_items[5] = {7, 5, 3, 11, 25}, wide_items[5] = {5, 7, 9, 11, 13};
    int classic = layout == UDB_LAYOUT_CLASSIC;
    udb_index_def defs[5];
    for (int i = 0; i < 5; i++)
        defs[i] = (udb_index_def){UDB_KEY_STRING, classic ? 20 : 50, UDB_ALLOW_DELETE,
                                  classic ? classic_items[i] : wide_items[i], 50, 150};
    return dbe_create_file(path, o, layout, defs, 5);
}

static int session_open(session *s, const dbe_opts *o, int create)
{
    dbe_opts use = *o;
    if (create) {
        use.layout = o->layout ? o->layout : UDB_LAYOUT_WIDE;
        int ex = create_test_file(s->path, &use, use.layout);
        if (ex)
            return ex;
    }
    int rc = dbe_open_ndx(s->path, &use, 1, &s->ndx);
    if (rc)
        return dbe_open_exit(rc);
    s->layout = udb_ndx_layout(s->ndx);
    s->nix = udb_ndx_count(s->ndx);
    s->inf = calloc(s->nix, sizeof *s->inf);
    s->cur = calloc(s->nix, sizeof *s->cur);
    size_t largest = 1;
    for (unsigned i = 0; s->inf && i < s->nix; i++) {
        if ((rc = udb_ndx_info(s->ndx, i + 1, &s->inf[i])))
            return dbe_fail(EX_USAGE, "%s", udb_ndx_errmsg(s->ndx));
        if (s->inf[i].def.keysize > largest)
            largest = s->inf[i].def.keysize;
    }
    if (!s->inf || !s->cur || !(s->key = malloc(largest)))
        return dbe_fail(EX_USAGE, "out of memory");
    return EX_OK;
}

static int session_close(session *s, int ex)
{
    if (s->in_txn)
        session_refuse(s, "the transaction begun with BEGIN was never committed: rolled back");
    if (s->cur)
        reset_cursors(s);
    int rc = udb_ndx_close(s->ndx);
    if (rc && ex == EX_OK)
        ex = dbe_fail(EX_USAGE, "closing %s failed (%s)", s->path, udb_strerror(rc));
    free(s->inf);
    free(s->cur);
    free(s->key);
    return ex;
}

/* ---- the command loop -------------------------------------------------------------------------- */
static const scommand *lookup(const char *word)
{
    for (size_t i = 0; i < NSCOMMANDS; i++)
        if (!strcasecmp(word, scommands[i].name))
            return &scommands[i];
    return NULL;
}

static void prompt(session *s)
{
    printf("[index %u, error %s%s] > ", s->active, s->last_error ? udb_errname(s->last_error) : "0",
           s->in_txn ? ", in transaction" : "");
    fflush(stdout);
}

/* One input line; 0 when it ends the session. */
static int run_line(session *s, char *line)
{
    char *w[3];
    int n = split_words(line, w);
    if (n == 0 || w[0][0] == '#')
        return 1;
    const scommand *c = lookup(w[0]);
    if (!c)
        session_refuse(s, "unknown command '%s' (H lists the commands)", w[0]);
    else if (n > 1 && !c->takes_arg)
        session_refuse(s, "%s takes no argument", c->name);
    else if (n - 1 != c->takes_arg)
        session_refuse(s, "usage: %s%s", c->usage, n > 2 ? " (a key is one word)" : "");
    else if (!c->run)
        return 0;
    else {
        s->last_error = 0;
        c->run(s, n > 1 ? w[1] : NULL);
    }
    fflush(stdout);
    return 1;
}

static void session_loop(session *s, char **buf, size_t *cap)
{
    if (s->tty)
        printf("%s: %s layout, %u indexes. H lists the commands, X ends.\n", s->path,
               s->layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", s->nix);
    for (;;) {
        if (s->tty)
            prompt(s);
        if (!read_line(s, buf, cap)) {
            if (s->tty)
                putchar('\n');
            return;
        }
        if (!run_line(s, *buf))
            return;
    }
}

int cmd_session(int argc, char **argv)
{
    dbe_opts o = {0};
    session s = {0};
    char *buf = NULL;
    size_t cap = 0;
    int create, ex = EX_OK;
    if (dbe_parse_opts(argc, argv, &o, "layout,sync") != 1)
        return dbe_usage("session");
    s.path = argv[1];
    s.active = 1;
    s.counter = 1;
    s.tty = isatty(0);
    if (ask_create(&s, &buf, &cap, &create)) {
        ex = session_open(&s, &o, create);
        if (ex == EX_OK)
            session_loop(&s, &buf, &cap);
        ex = session_close(&s, ex);
    }
    free(buf);
    return ex;
}
