/*
 * util.c — dbe's shared plumbing: exit codes, messages, option parsing,
 * help text wrapping, progress display, opening files. Owns no command
 * logic.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dbe_store.h"

int dbe_exit_code(int rc)
{
    switch (rc) {
    case UDB_OK:
        return EX_OK;
    case UDB_NOTFOUND:
    case UDB_CORRUPT:
    case UDB_FORMAT:
    case UDB_RECOVER:
    case UDB_EXISTS:
    case UDB_STALE:
        return EX_ABSENT;
    default:
        return EX_USAGE;
    }
}

int dbe_open_exit(int rc)
{
    return rc == UDB_NOTFOUND ? EX_USAGE : dbe_exit_code(rc);
}

int dbe_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dbe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int dbe_parse_layout(const char *s, int *layout)
{
    if (!strcmp(s, "classic") || !strcmp(s, "l16"))
        *layout = UDB_LAYOUT_CLASSIC;
    else if (!strcmp(s, "wide") || !strcmp(s, "m64"))
        *layout = UDB_LAYOUT_WIDE;
    else if (!strcmp(s, "auto"))
        *layout = UDB_LAYOUT_AUTO;
    else
        return -1;
    return 0;
}

int dbe_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

int dbe_parse_int64(const char *s, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int allowed_opt(const char *allowed, const char *name)
{
    if (!strcmp(name, "journal")) /* every command that takes --sync writes */
        name = "sync";
    size_t n = strlen(name);
    for (const char *p = allowed; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, name, n))
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* Value of an option given as "--opt V" or "--opt=V". */
static const char *opt_value(int argc, char **argv, int *i, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq)
        return eq + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/* The store commands' flags (--compress --hex --keys --sorted); 1 if name is one. */
static int store_flag(dbe_opts *o, const char *name)
{
    int *flag = !strcmp(name, "compress") ? &o->compress : !strcmp(name, "hex") ? &o->hex
              : !strcmp(name, "keys") ? &o->keys : !strcmp(name, "sorted") ? &o->sorted : NULL;
    if (flag)
        *flag = 1;
    return flag != NULL;
}

/* The store commands' values (--from --to --prefix --format --limit, -o). */
static void store_value(dbe_opts *o, const char *name, const char *v)
{
    if (!strcmp(name, "from"))
        o->from = v;
    else if (!strcmp(name, "to"))
        o->to = v;
    else if (!strcmp(name, "prefix"))
        o->prefix = v;
    else if (!strcmp(name, "format"))
        o->format = v;
    else if (!strcmp(name, "output"))
        o->output = v;
    else if (!strcmp(name, "limit"))
        o->limit = v;
}

/* --maxitems and --keysize: a number 1..65535; -1 after a message. */
static int number_value(dbe_opts *o, const char *cmd, const char *name, const char *v)
{
    unsigned long long n;
    unsigned *to = !strcmp(name, "maxitems") ? &o->maxitems : !strcmp(name, "keysize") ? &o->keysize
                 : NULL;
    if (!to)
        return 0;
    if (dbe_parse_uint(v, 65535, &n) || n == 0) {
        dbe_fail(EX_USAGE, "%s: --%s takes a number 1..65535, not '%s'", cmd, name, v);
        return -1;
    }
    *to = (unsigned)n;
    return 0;
}

int dbe_parse_opts(int argc, char **argv, dbe_opts *o, const char *allowed)
{
    int npos = 1, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1] || (a[1] >= '0' && a[1] <= '9')) {
            argv[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            argv[npos++] = a; /* commands that take "-- VALUE" see it */
            continue;
        }
        char name[32];
        const char *s = a[1] == '-' ? a + 2 : a + 1;
        size_t l = strcspn(s, "=");
        if (l >= sizeof name)
            l = sizeof name - 1;
        memcpy(name, s, l);
        name[l] = 0;
        if (!strcmp(name, "i") || !strcmp(name, "index"))
            strcpy(name, "index");
        if (!strcmp(name, "o"))
            strcpy(name, "output");
        if (!allowed_opt(allowed, name)) {
            dbe_fail(EX_USAGE, "%s: unknown option %s (see dbe %s --help)", argv[0], a, argv[0]);
            return -1;
        }
        if (!strcmp(name, "json")) {
            o->json = 1;
        } else if (!strcmp(name, "raw")) {
            o->raw = 1;
        } else if (!strcmp(name, "reverse")) {
            o->reverse = 1;
        } else if (!strcmp(name, "all")) {
            o->all = 1;
        } else if (store_flag(o, name)) {
            continue;
        } else {
            const char *v = opt_value(argc, argv, &i, a);
            unsigned long long n;
            if (!v) {
                dbe_fail(EX_USAGE, "%s: option %s needs a value", argv[0], a);
                return -1;
            }
            if (!strcmp(name, "layout") && dbe_parse_layout(v, &o->layout)) {
                dbe_fail(EX_USAGE, "%s: --layout takes classic or wide, not '%s'", argv[0], v);
                return -1;
            }
            store_value(o, name, v);
            if (number_value(o, argv[0], name, v))
                return -1;
            if (!strcmp(name, "index")) {
                if (dbe_parse_uint(v, 65535, &n) || n == 0) {
                    dbe_fail(EX_USAGE, "%s: -i takes an index number 1..65535, not '%s'", argv[0], v);
                    return -1;
                }
                o->index = (unsigned)n;
            }
            if (!strcmp(name, "journal")) {
                if (!strcmp(v, "wal"))
                    o->journal = UDB_JOURNAL_WAL;
                else if (!strcmp(v, "rollback"))
                    o->journal = UDB_JOURNAL_ROLLBACK;
                else {
                    dbe_fail(EX_USAGE, "%s: --journal takes wal or rollback, not '%s'", argv[0], v);
                    return -1;
                }
            }
            if (!strcmp(name, "sync")) {
                if (!strcmp(v, "full"))
                    o->sync = UDB_SYNC_FULL;
                else if (!strcmp(v, "normal"))
                    o->sync = UDB_SYNC_NORMAL;
                else if (!strcmp(v, "off"))
                    o->sync = UDB_SYNC_OFF;
                else {
                    dbe_fail(EX_USAGE, "%s: --sync takes full, normal or off, not '%s'", argv[0], v);
                    return -1;
                }
            }
        }
    }
    return npos - 1;
}

int dbe_raw;
const char *dbe_command = "dbe";

void dbe_options(udb_options *opts, const dbe_opts *o, int writable)
{
    udb_options_init(opts);
    opts->layout = o->layout;
    opts->sync = o->sync;
    opts->journal = o->journal;
    opts->flags |= !writable ? UDB_RDONLY : dbe_raw ? UDB_RAW : 0;
    opts->progress = dbe_progress_cb;
}

int dbe_refuse_store_file(const char *cmd, const char *path)
{
    char name[4096];
    if (dbe_raw || !udb_store_owner(path, NULL, name, sizeof name))
        return EX_OK;
    return dbe_fail(EX_USAGE, "%s: %s belongs to the record store %s: writing it alone would break "
                    "the store; use dbe put, del, import, compact or repair %s, or dbe update or "
                    "session %s (dbe --raw %s ... writes the file itself)", cmd, path, name, name,
                    name, cmd);
}

int dbe_open_ndx(const char *path, const dbe_opts *o, int writable, udb_ndx **out)
{
    udb_options opts;
    *out = NULL;
    if (writable && dbe_store_heap(path)) { /* refused before the kind is looked at */
        dbe_not_kind(dbe_command, path, o, DBE_NEED_NDX, NULL);
        return UDB_FORMAT;
    }
    if (writable && dbe_refuse_store_file(dbe_command, path))
        return UDB_READONLY;
    dbe_options(&opts, o, writable);
    int rc = udb_ndx_open(path, &opts, out);
    if (rc == UDB_FORMAT || (rc && dbe_is_store(path)))
        dbe_not_kind(dbe_command, path, o, DBE_NEED_NDX, udb_ndx_errmsg(*out));
    else if (rc)
        dbe_fail(rc, "%s", udb_ndx_errmsg(*out));
    if (rc) {
        udb_ndx_close(*out);
        *out = NULL;
    }
    return rc;
}

uint64_t dbe_count_records(udb_ndx *d, unsigned ix)
{
    udb_cursor *c;
    uint64_t n = 0;
    if (udb_cursor_open(d, ix, &c))
        return 0;
    for (int rc = udb_cursor_first(c, NULL); !rc; rc = udb_cursor_next(c, NULL))
        n++;
    udb_cursor_close(c);
    return n;
}

int dbe_index_empty(udb_ndx *d, unsigned ix)
{
    udb_cursor *c;
    if (udb_cursor_open(d, ix, &c))
        return 0;
    int rc = udb_cursor_first(c, NULL);
    udb_cursor_close(c);
    return rc == UDB_NOTFOUND;
}

/* ---- help text ------------------------------------------------------------------ */
enum { HELP_WIDTH = 79 };        /* every line of help fits an 80-column terminal */

/* The length of the word at p: up to a space outside brackets (an option
   of a usage, "[--limit N]", stays on one line). */
static size_t word_len(const char *p)
{
    size_t n = 0;
    for (int depth = 0; p[n] && (p[n] != ' ' || depth > 0); n++)
        depth += p[n] == '[' ? 1 : p[n] == ']' && depth > 0 ? -1 : 0;
    return n;
}

void dbe_wrap(FILE *f, const char *lead, size_t indent, const char *text)
{
    size_t col = strlen(lead);
    fputs(lead, f);
    for (; col < indent; col++)
        fputc(' ', f);
    int first = 1;
    while (*text) {
        size_t n = word_len(text);
        if (!first && col + 1 + n > HELP_WIDTH) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, n, f);
        col += n;
        first = 0;
        text += n;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

/* ---- progress ------------------------------------------------------------------ */
static int progress_shown;

/* 1: on a terminal (the line is cleared with ESC [K); 2: forced by
   DBE_PROGRESS=1 elsewhere (plain text, a newline at the end); 0: none. */
static int progress_wanted(void)
{
    const char *force = getenv("DBE_PROGRESS");
    return isatty(2) ? 1 : force && !strcmp(force, "1") ? 2 : 0;
}

void dbe_progress(const char *what, uint64_t done, uint64_t total)
{
    static struct timespec last;
    static const char *last_what;
    struct timespec now;
    int mode = progress_wanted();
    if (!mode)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (progress_shown && what == last_what &&
        (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 < 200)
        return;
    last = now;
    last_what = what;
    if (total)
        fprintf(stderr, "\r%s: %llu / %llu (%u%%)", what, (unsigned long long)done,
                (unsigned long long)total, (unsigned)(done * 100 / total));
    else
        fprintf(stderr, "\r%s: %llu", what, (unsigned long long)done);
    fputs(mode == 1 ? "\033[K" : "", stderr);
    progress_shown = 1;
}

void dbe_progress_end(void)
{
    int mode = progress_wanted();
    if (progress_shown && mode)
        fputs(mode == 1 ? "\r\033[K" : "\n", stderr);
    progress_shown = 0;
}

void dbe_progress_cb(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    (void)arg;
    dbe_progress(phase, done, total);
}
