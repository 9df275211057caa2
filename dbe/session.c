/*
 * session.c — the interactive session of the originals' test programs, on
 * an index file or a record store: opening (a file or store that exists
 * is opened; for a new one the C(reate)/O(pen) question), the command
 * loop on a terminal (line editing and history with libedit when built
 * with it) or a pipe (a failed command makes the exit status 1), the
 * prompt, help, C n, BEGIN/COMMIT/ROLLBACK, and the end of the session.
 * The record commands live in session_cmd.c (index file) and
 * session_store.c (store); this file never touches records.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "session.h"
#ifdef DBE_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

enum { ARG_NONE, ARG_WORD, ARG_REST, ARG_OPT_REST }; /* what follows the command */
enum { ON_FILE = 1, ON_STORE = 2, ON_BOTH = 3 };       /* where it works */

typedef struct scommand {
    const char *name;           /* matched without regard to case */
    int args, where;
    void (*run)(session *s, const char *arg);   /* NULL: ends the session */
    const char *usage, *help;
} scommand;

static void scmd_help(session *s, const char *arg);
static void scmd_change(session *s, const char *arg);
static void scmd_begin(session *s, const char *arg);
static void scmd_commit(session *s, const char *arg);
static void scmd_rollback(session *s, const char *arg);

static const scommand scommands[] = {
    {"A", ARG_WORD, ON_FILE, scmd_append, "A key", "append key; its data position is the counter "
                                                    "(1, 2, ...)"},
    {"D", ARG_WORD, ON_FILE, scmd_delete, "D key", "delete every record with key"},
    {"F", ARG_WORD, ON_FILE, scmd_find, "F key", "find key (newest duplicate); a miss leaves the "
                                                  "cursor on the next larger record"},
    {"N", ARG_WORD, ON_FILE, scmd_fill, "N count", "append keys 1..count at data positions "
                                                    "1..count; the counter goes on from count+1"},
    {"L", ARG_NONE, ON_FILE, scmd_list, "L", "list the active index (the cursor ends on the last "
                                             "record)"},
    {".", ARG_NONE, ON_FILE, scmd_first, ".", "go to the first record"},
    {"+", ARG_NONE, ON_FILE, scmd_next, "+", "go to the next record"},
    {"-", ARG_NONE, ON_FILE, scmd_prev, "-", "go to the previous record"},
    {"T", ARG_NONE, ON_FILE, scmd_current, "T", "show the current record"},
    {"R", ARG_NONE, ON_FILE, scmd_remove, "R", "remove the current record (the cursor moves to "
                                               "the next one, else the previous one)"},
    {"get", ARG_WORD, ON_STORE, scmd_get, "get key", "the value of the newest record with key in "
                                                      "the active index"},
    {"put", ARG_REST, ON_STORE, scmd_put, "put key... value", "add a record: one key per index, "
                                          "in index order, then the value (the rest of the line)"},
    {"update", ARG_REST, ON_STORE, scmd_update, "update key value", "replace the value of the "
                                                "newest record with key in the active index"},
    {"del", ARG_WORD, ON_STORE, scmd_del, "del key", "remove every record with key in the active "
                                                      "index, from every index"},
    {"scan", ARG_OPT_REST, ON_STORE, scmd_scan, "scan [prefix]", "every record (with a key that "
                                                "starts with prefix) in the active index's order"},
    {"C", ARG_WORD, ON_BOTH, scmd_change, "C n", "make index n the active index"},
    {"S", ARG_NONE, ON_FILE, scmd_stats, "S", "statistics of the active index"},
    {"S", ARG_NONE, ON_STORE, scmd_store_stats, "S", "the store: its indexes and records"},
    {"H", ARG_NONE, ON_BOTH, scmd_help, "H", "this help (also help, .help)"},
    {"BEGIN", ARG_NONE, ON_BOTH, scmd_begin, "BEGIN", "start a transaction (otherwise each "
                                                      "command is one)"},
    {"COMMIT", ARG_NONE, ON_BOTH, scmd_commit, "COMMIT", "make the transaction's changes durable"},
    {"ROLLBACK", ARG_NONE, ON_BOTH, scmd_rollback, "ROLLBACK", "undo the transaction (every "
                                                              "cursor is reset)"},
    {"X", ARG_NONE, ON_BOTH, NULL, "X", "end the session (also quit, exit, the end of the input)"},
};

#define NSCOMMANDS (sizeof scommands / sizeof scommands[0])

/* Other names of commands. */
static const struct { const char *alias, *name; } aliases[] = {
    {"quit", "X"}, {"exit", "X"}, {"help", "H"}, {".help", "H"}, {"?", "H"},
};

static int where(const session *s)
{
    return s->st.s ? ON_STORE : ON_FILE;
}

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
    s->failed++;
    va_start(ap, fmt);
    say_error(s, fmt, ap);
    va_end(ap);
}

static const char *errmsg(const session *s)
{
    return s->st.s ? udb_store_errmsg(s->st.s) : udb_ndx_errmsg(s->ndx);
}

void session_fail(session *s, int rc, const char *what)
{
    s->last_error = rc;
    session_refuse(s, "%s: %s", what, errmsg(s));
}

/* ---- help, C n and transactions --------------------------------------------------------- */
static void scmd_help(session *s, const char *arg)
{
    char lead[32];
    (void)arg;
    for (size_t i = 0; i < NSCOMMANDS; i++)
        if (scommands[i].where & where(s)) {
            snprintf(lead, sizeof lead, "  %-17s ", scommands[i].usage);
            dbe_wrap(stdout, lead, 20, scommands[i].help);
        }
    dbe_wrap(stdout, "", 0, s->st.s
             ? "One command per line, upper or lower case. Keys are single words of typed text, as "
               "for dbe get (C escapes in strings); a value is the rest of the line, with C escapes."
             : "One command per line, upper or lower case; keys are single words.");
}

static void scmd_change(session *s, const char *arg)
{
    unsigned long long n;
    if (dbe_parse_uint(arg, s->nix, &n) || n == 0) {
        session_refuse(s, "C takes an index number 1..%u, not '%s'", s->nix, arg);
        return;
    }
    s->active = (unsigned)n;
    printf("index\t%u\n", s->active);
}

static void reset_cursors(session *s)
{
    for (unsigned i = 0; s->cur && i < s->nix; i++) {
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
    int rc = s->st.s ? udb_store_begin(s->st.s) : udb_ndx_begin(s->ndx);
    if (rc) {
        session_fail(s, rc, "BEGIN");
        return;
    }
    s->in_txn = 1;
    s->counter_at_begin = s->counter;
    puts("begun");
}

static int rollback(session *s)
{
    return s->st.s ? udb_store_rollback(s->st.s) : udb_ndx_rollback(s->ndx);
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
    int rc = s->st.s ? udb_store_commit(s->st.s) : udb_ndx_commit(s->ndx);
    if (!rc) {
        s->in_txn = 0;
        puts("committed");
        return;
    }
    session_fail(s, rc, "COMMIT");
    rollback(s); /* ends it when the failure left it open */
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
    int rc = rollback(s);
    after_rollback(s);
    if (rc)
        session_fail(s, rc, "ROLLBACK");
    else
        puts("rolled back");
}

/* ---- input --------------------------------------------------------------------------------- */
/* One line (prompt shown on a terminal), or NULL at the end of the input. */
static char *read_line(session *s, const char *prompt, char **buf, size_t *cap)
{
#ifdef DBE_HAVE_LIBEDIT
    if (s->tty) {
        char *l = readline(prompt);
        if (!l)
            return NULL;
        if (*l)
            add_history(l);
        free(*buf);
        *buf = l;
        *cap = strlen(l) + 1;
        s->line++;
        return l;
    }
#endif
    if (s->tty) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    if (getline(buf, cap, stdin) < 0)
        return NULL;
    s->line++;
    return *buf;
}

#define SPACE " \t\r\n\v\f"

/* The first word of line (cut off in place) and, in *rest, what follows it
   without surrounding space (NULL when nothing does); NULL for a blank
   line or a comment. */
static char *first_word(char *line, char **rest)
{
    line += strspn(line, SPACE);
    size_t n = strlen(line);
    while (n && strchr(SPACE, line[n - 1]))
        line[--n] = 0;
    if (!*line || *line == '#')
        return NULL;
    char *end = line + strcspn(line, SPACE);
    *rest = NULL;
    if (*end) {
        *end++ = 0;
        end += strspn(end, SPACE);
        *rest = *end ? end : NULL;
    }
    return line;
}

static int is_word(const char *w, const char *a, const char *b)
{
    return !strcasecmp(w, a) || !strcasecmp(w, b);
}

/* A new file's question: C or O; 0 at the end of the input. */
static int ask_create(session *s, char **buf, size_t *cap, int *create)
{
    char prompt[300], *rest;
    snprintf(prompt, sizeof prompt, "%s does not exist: enter C to create it or O to open it > ",
             s->path);
    for (;;) {
        if (!read_line(s, prompt, buf, cap))
            return 0;
        char *w = first_word(*buf, &rest);
        if (w && !rest && ((*create = is_word(w, "c", "create")) || is_word(w, "o", "open")))
            return 1;
        if (w)
            session_refuse(s, "answer C (create %s) or O (open it), not '%s'", s->path, w);
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

static int open_file(session *s, const dbe_opts *o, int create)
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

static int open_store(session *s, const dbe_opts *o)
{
    int ex = dbe_store_open(s->path, o, 1, "session", &s->st);
    s->nix = s->st.n;
    s->inf = s->st.inf;
    return ex;
}

static int session_close(session *s, int ex)
{
    if (s->in_txn)
        session_refuse(s, "the transaction begun with BEGIN was never committed: rolled back");
    reset_cursors(s);
    if (s->st.name) { /* a store: its definitions go with it */
        ex = dbe_store_close(&s->st, ex);
    } else {
        int rc = udb_ndx_close(s->ndx);
        if (rc && ex == EX_OK)
            ex = dbe_fail(EX_USAGE, "closing %s failed (%s)", s->path, udb_strerror(rc));
        free(s->inf);
    }
    free(s->cur);
    free(s->key);
    return ex;
}

/* ---- the command loop -------------------------------------------------------------------------- */
static const scommand *lookup(const session *s, const char *word, const scommand **elsewhere)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(word, aliases[i].alias))
            word = aliases[i].name;
    *elsewhere = NULL;
    for (size_t i = 0; i < NSCOMMANDS; i++)
        if (!strcasecmp(word, scommands[i].name)) {
            if (scommands[i].where & where(s))
                return &scommands[i];
            *elsewhere = &scommands[i];
        }
    return NULL;
}

/* The schema: one line per index (on a terminal at the start, and in S). */
static void print_schema(const session *s)
{
    for (unsigned i = 0; i < s->nix; i++)
        printf("  index %u: %s keysize %u attrs %s maxitems %u%s\n", i + 1,
               dbe_type_name(s->inf[i].def.keytype), s->inf[i].def.keysize,
               dbe_attrs_name(s->inf[i].def.attrs), s->inf[i].def.maxitems,
               i + 1 == s->active ? " (active)" : "");
}

/* Its arguments fit the command? Refuses them otherwise. */
static int args_fit(session *s, const scommand *c, const char *rest)
{
    int words = !rest ? 0 : rest[strcspn(rest, SPACE)] ? 2 : 1;
    if (c->args == ARG_NONE && words)
        session_refuse(s, "%s takes no argument", c->name);
    else if ((c->args == ARG_WORD && words != 1) || (c->args == ARG_REST && !words))
        session_refuse(s, "usage: %s%s", c->usage, words > 1 ? " (a key is one word)" : "");
    else
        return 1;
    return 0;
}

/* One input line; 0 when it ends the session. */
static int run_line(session *s, char *line)
{
    char *rest;
    const scommand *elsewhere, *c;
    char *w = first_word(line, &rest);
    if (!w)
        return 1;
    if (!(c = lookup(s, w, &elsewhere)) && elsewhere) {
        session_refuse(s, "%s works on %s; %s is %s (H lists its commands)", elsewhere->name,
                       s->st.s ? "an index file" : "a record store", s->path,
                       s->st.s ? "a record store" : "an index file");
    } else if (!c) {
        session_refuse(s, "unknown command '%s' (H lists the commands)", w);
    } else if (args_fit(s, c, rest)) {
        if (!c->run)
            return 0;
        s->last_error = 0;
        c->run(s, rest);
    }
    fflush(stdout);
    return 1;
}

/* The first line may still be the originals' answer to C/O: O is taken
   as said (1), C refused (-1: the file exists; nothing is overwritten);
   2 for a blank line or a comment, which leaves the next line first. */
static int answered(session *s, char *line)
{
    char *rest, *copy = strdup(line);
    char *w = copy ? first_word(copy, &rest) : NULL;
    int r = !w ? 2 : rest ? 0 : is_word(w, "o", "open") ? 1 : is_word(w, "c", "create") ? -1 : 0;
    free(copy);
    if (r < 0)
        dbe_fail(EX_USAGE, "%s exists; dbe never overwrites a file (the session opens it: leave "
                 "out the C)", s->path);
    return r;
}

static int session_loop(session *s, char **buf, size_t *cap, int asked)
{
    char prompt[200];
    if (s->tty) {
        printf("%s: %s, %u index(es); H lists the commands, X ends.\n", s->path,
               s->st.s ? "record store"
               : s->layout == UDB_LAYOUT_CLASSIC ? "index file, classic layout"
                                                 : "index file, wide layout", s->nix);
        print_schema(s);
    }
    for (int first = !asked;;) {
        snprintf(prompt, sizeof prompt, "[index %u, error %s%s] > ", s->active,
                 s->last_error ? udb_errname(s->last_error) : "0", s->in_txn ? ", in transaction" : "");
        if (!read_line(s, prompt, buf, cap)) {
            if (s->tty)
                putchar('\n');
            return EX_OK;
        }
        int a = first ? answered(s, *buf) : 0;
        if (a < 0)
            return EX_USAGE;
        first = first && a == 2;
        if (!a && !run_line(s, *buf))
            return EX_OK;
    }
}

/* FILE names a store, an existing file, or a new file (then asks C/O). */
static int session_run(session *s, const dbe_opts *o, char **buf, size_t *cap)
{
    struct stat sb;
    int create = 0, asked = 0, ex;
    if (dbe_is_store(s->path)) {
        ex = open_store(s, o);
    } else {
        asked = stat(s->path, &sb) != 0;
        if (asked && !ask_create(s, buf, cap, &create))
            return EX_OK;
        ex = open_file(s, o, create);
    }
    if (ex == EX_OK)
        ex = session_loop(s, buf, cap, asked);
    return session_close(s, ex);
}

const char *dbe_session_editing(void)
{
#ifdef DBE_HAVE_LIBEDIT
    return "libedit";
#else
    return "none (built without libedit)";
#endif
}

int cmd_session(int argc, char **argv)
{
    dbe_opts o = {0};
    session s = {0};
    char *buf = NULL;
    size_t cap = 0;
    if (dbe_parse_opts(argc, argv, &o, "layout,sync") != 1)
        return dbe_usage("session");
    s.path = argv[1];
    s.active = 1;
    s.counter = 1;
    s.tty = isatty(0);
    int ex = session_run(&s, &o, &buf, &cap);
    free(buf);
    return ex == EX_OK && s.failed && !s.tty ? EX_ABSENT : ex;
}
