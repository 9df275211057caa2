/*
 * cmd_textload.c — dbe textload: a text dump (dbe textdump) read back into
 * a new record store or MultiIndex file with the dump's layout and
 * definitions, the records bottom-up in the dump's order. Every line is
 * checked before it is used; any fault, or a dump cut short, leaves no
 * file behind. Creates only the new file(s).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xfer.h"

enum { MAX_FILE_INDEXES = 65535, MAX_STORE_INDEXES = 64 };

typedef struct loader {
    FILE *in;
    char *buf;                  /* the current line, without its line end */
    size_t cap;
    unsigned long line;
    int kind, store, layout, compress; /* kind: kind= was read */
    unsigned table_slots, n;    /* n: indexes (0 until indexes= is read) */
    udb_index_def *defs;
    unsigned char *seen;        /* per index: its index= line was read */
    char *f[XF_MAXCOLS];        /* the fields of a record line, decoded */
    size_t fl[XF_MAXCOLS];
    uint64_t loaded;
    char err[400];
} loader;

__attribute__((format(printf, 2, 3))) static int bad(loader *L, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(L->err, sizeof L->err, "line %lu: ", L->line);
    va_start(ap, fmt);
    vsnprintf(L->err + n, sizeof L->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* The next line into L->buf: 0, or 1 at the end of the input. */
static int next_line(loader *L)
{
    if (xf_getline(&L->buf, &L->cap, L->in) < 0)
        return 1;
    L->line++;
    return 0;
}

/* ---- the header -------------------------------------------------------------------------------- */
static int number(loader *L, const char *what, const char *v, unsigned long long max,
                  unsigned long long *out)
{
    if (dbe_parse_uint(v, max, out))
        return bad(L, "%s=%.40s is not a number 0..%llu", what, v, max);
    return 0;
}

/* index=I SPEC create_nodes=N create_leaves=N, or index=I undefined. */
static int index_line(loader *L, const char *v)
{
    unsigned long long ix, cn, cl;
    char spec[160], err[200];
    int used = 0;
    if (!L->n)
        return bad(L, "index= before indexes=");
    if (sscanf(v, "%llu %159s %n", &ix, spec, &used) < 2 || ix < 1 || ix > L->n || L->seen[ix - 1])
        return bad(L, "index=%.40s: not an index 1..%u given once", v, L->n);
    L->seen[ix - 1] = 1;
    if (!strcmp(spec, "undefined") && !v[used])
        return L->store ? bad(L, "a store's indexes are all defined") : 0;
    udb_index_def *d = &L->defs[ix - 1];
    if (dbe_parse_index_spec(spec, L->layout, d, err, sizeof err))
        return bad(L, "index %llu: %s", ix, err);
    v += used;
    used = 0;
    if (sscanf(v, "create_nodes=%llu create_leaves=%llu%n", &cn, &cl, &used) != 2 || v[used] ||
        !isdigit((unsigned char)v[13]) || cn > INT32_MAX || cl > INT32_MAX)
        return bad(L, "index %llu: create_nodes=N create_leaves=N must follow the definition", ix);
    d->create_nodes = (int64_t)cn;
    d->create_leaves = (int64_t)cl;
    if (udb_index_def_check(L->layout, d, err, sizeof err))
        return bad(L, "index %llu: %s", ix, err);
    return 0;
}

static int indexes_line(loader *L, const char *v)
{
    unsigned long long n;
    if (L->n || !L->layout)
        return bad(L, "indexes= goes once, after kind= and layout=");
    if (number(L, "indexes", v, L->store ? MAX_STORE_INDEXES : MAX_FILE_INDEXES, &n))
        return -1;
    if (!n)
        return bad(L, "indexes=0: a file has at least one index");
    L->n = (unsigned)n;
    L->defs = calloc(n, sizeof *L->defs);
    L->seen = calloc(n, 1);
    return L->defs && L->seen ? 0 : bad(L, "out of memory");
}

static int header_line(loader *L, const char *k, const char *v)
{
    unsigned long long u;
    if (!strcmp(k, "kind") && (!strcmp(v, "store") || !strcmp(v, "index-file")) && !L->kind)
        L->kind = 1, L->store = !strcmp(v, "store");
    else if (!strcmp(k, "layout") && L->kind && !L->layout &&
             (!strcmp(v, "wide") || !strcmp(v, "classic")))
        L->layout = !strcmp(v, "wide") ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC;
    else if (!strcmp(k, "indexes"))
        return indexes_line(L, v);
    else if (!strcmp(k, "index"))
        return index_line(L, v);
    else if (L->store && !strcmp(k, "compress") && (!strcmp(v, "yes") || !strcmp(v, "no")))
        L->compress = !strcmp(v, "yes");
    else if (L->store && !strcmp(k, "table_slots"))
        return number(L, "table_slots", v, 65535, &u) ? -1 : (L->table_slots = (unsigned)u, 0);
    else
        return bad(L, "'%.60s=%.60s' is not a header line of this kind of dump", k, v);
    return 0;
}

static int header(loader *L)
{
    if (next_line(L) || strcmp(L->buf, "format=udb-textdump"))
        return bad(L, "not a dbe text dump (the first line is not format=udb-textdump)");
    if (next_line(L) || strcmp(L->buf, "version=1"))
        return bad(L, "not version 1 of the text dump format, the one this dbe reads");
    for (;;) {
        if (next_line(L))
            return bad(L, "the dump ends before HEADER=END");
        if (!strcmp(L->buf, "HEADER=END"))
            break;
        char *eq = strchr(L->buf, '=');
        if (!eq)
            return bad(L, "'%.60s' is not name=value", L->buf);
        *eq = 0;
        if (header_line(L, L->buf, eq + 1))
            return -1;
    }
    for (unsigned i = 0; i < L->n; i++)
        if (!L->seen[i])
            return bad(L, "no index=%u line", i + 1);
    return L->n ? 0 : bad(L, "no indexes= line");
}

/* ---- records ----------------------------------------------------------------------------------- */
/* The next record line of nf fields into L->f: 0, 1 at DATA=END, -1. */
static int record(loader *L, unsigned nf)
{
    if (next_line(L))
        return bad(L, "the dump ends before DATA=END");
    if (!strcmp(L->buf, "DATA=END"))
        return 1;
    char *p = L->buf;
    for (unsigned i = 0; i < nf; i++) {
        if (*p != ' ')
            return bad(L, "a record of %u field(s), each after one space, expected", nf);
        char *e = strchr(++p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        long got = xd_get(p, n);
        if (got < 0)
            return bad(L, "field %u is not printable text with \\HH escapes (or \"\")", i + 1);
        L->f[i] = p;
        L->fl[i] = (size_t)got;
        p += n;
    }
    return *p ? bad(L, "more than %u field(s)", nf) : 0;
}

static int store_next(void *arg, udb_key *keys, const void **val, size_t *len)
{
    loader *L = arg;
    int rc = record(L, L->n + 1);
    if (rc)
        return rc == 1 ? 1 : UDB_INVAL;
    for (unsigned i = 0; i < L->n; i++)
        keys[i] = (udb_key){L->f[i], L->fl[i]};
    *val = L->f[L->n];
    *len = L->fl[L->n];
    L->loaded++;
    dbe_progress("textload", L->loaded, 0);
    return 0;
}

static int file_next(void *arg, const void **key, size_t *keylen, int64_t *dp)
{
    loader *L = arg;
    int rc = record(L, 2);
    if (rc)
        return rc == 1 ? 1 : UDB_INVAL;
    unsigned long long u;
    L->f[1][L->fl[1]] = 0;
    if (dbe_parse_uint(L->f[1], INT64_MAX, &u))
        return bad(L, "the data position is not a decimal number >= 0"), UDB_INVAL;
    *dp = (int64_t)u;
    *key = L->f[0];
    *keylen = L->fl[0];
    L->loaded++;
    dbe_progress("textload", L->loaded, 0);
    return 0;
}

/* After the last DATA=END: nothing but the end of the input. */
static int at_end(loader *L)
{
    return next_line(L) ? 0 : bad(L, "text after the last DATA=END");
}

/* ---- writing ----------------------------------------------------------------------------------- */
static int load_store(loader *L, const char *name, udb_options *opts)
{
    udb_store *s;
    udb_store_def def = {L->n, L->defs, L->compress, L->table_slots};
    int rc = udb_store_create(name, opts, &def, &s);
    if (rc) {
        snprintf(L->err, sizeof L->err, "%s", udb_store_errmsg(s));
        udb_store_close(s);
        return rc == UDB_EXISTS ? UDB_EXISTS : -1;
    }
    rc = udb_store_load_sorted(s, store_next, L, NULL);
    if (rc && !L->err[0])
        snprintf(L->err, sizeof L->err, "line %lu: %s", L->line, udb_store_errmsg(s));
    if (!rc && (rc = at_end(L)) == 0 && (rc = udb_store_close(s)) != 0)
        snprintf(L->err, sizeof L->err, "closing the store failed (%s)", udb_strerror(rc));
    else if (rc)
        udb_store_close(s);
    return rc ? -1 : 0;
}

/* The sections INDEX=I ... DATA=END, one for every defined index, in order. */
static int file_sections(loader *L, udb_ndx *d)
{
    int rc = 0;
    for (unsigned i = 0; i < L->n && !rc; i++) {
        char want[32];
        if (L->defs[i].keytype == UDB_KEY_VOID)
            continue;
        snprintf(want, sizeof want, "INDEX=%u", i + 1);
        if (next_line(L))
            return bad(L, "the dump ends before %s", want);
        if (strcmp(L->buf, want))
            return bad(L, "%s expected", want);
        rc = udb_ndx_load_sorted(d, i + 1, file_next, L, NULL);
        if (rc && !L->err[0])
            bad(L, "%s", udb_ndx_errmsg(d));
    }
    return rc ? -1 : at_end(L);
}

static int load_file(loader *L, const char *path, udb_options *opts)
{
    udb_ndx *d;
    int rc = udb_ndx_create(path, opts, L->n, &d);
    if (rc) {
        snprintf(L->err, sizeof L->err, "%s", udb_ndx_errmsg(d));
        udb_ndx_close(d);
        return rc == UDB_EXISTS ? UDB_EXISTS : -1;
    }
    rc = udb_ndx_begin(d);
    for (unsigned i = 0; i < L->n && !rc; i++)
        if (L->defs[i].keytype != UDB_KEY_VOID)
            rc = udb_ndx_define(d, i + 1, &L->defs[i]);
    if (rc)
        snprintf(L->err, sizeof L->err, "%s", udb_ndx_errmsg(d));
    else if (!(rc = file_sections(L, d)) && (rc = udb_ndx_commit(d)))
        snprintf(L->err, sizeof L->err, "%s", udb_ndx_errmsg(d));
    int rc2 = udb_ndx_close(d);
    if (!rc && rc2)
        snprintf(L->err, sizeof L->err, "closing %s failed (%s)", path, udb_strerror(rc2));
    return rc || rc2 ? -1 : 0;
}

/* What a failed load created goes again (with its journal). */
static void remove_files(const char *name, int store)
{
    static const char *const ext[2][3] = {{"", "-journal", NULL}, {".ndx", ".dat", ".ndx-journal"}};
    for (int i = 0; i < 3; i++) {
        char *p = ext[store][i] ? dbe_with_ext(name, ext[store][i]) : NULL;
        if (p)
            unlink(p);
        free(p);
    }
}

int cmd_textload(int argc, char **argv)
{
    dbe_opts o = {0};
    loader L = {0};
    udb_options opts;
    int npos = dbe_parse_opts(argc, argv, &o, "sync");
    if (npos != 1 && npos != 2)
        return dbe_usage("textload");
    const char *src = npos == 2 && strcmp(argv[2], "-") ? argv[2] : NULL;
    if (!(L.in = src ? fopen(src, "rb") : stdin))
        return dbe_fail(EX_USAGE, "textload: cannot open %s", src);
    int rc = header(&L);
    if (!rc) {
        dbe_options(&opts, &o, 1);
        opts.layout = L.layout;
        rc = L.store ? load_store(&L, argv[1], &opts) : load_file(&L, argv[1], &opts);
        if (rc && rc != UDB_EXISTS)
            remove_files(argv[1], L.store);
    }
    dbe_progress_end();
    if (rc)
        dbe_fail(EX_USAGE, "textload: %s; nothing loaded", L.err);
    else
        printf("%llu\n", (unsigned long long)L.loaded);
    if (src)
        fclose(L.in);
    free(L.buf);
    free(L.defs);
    free(L.seen);
    return rc ? EX_USAGE : EX_OK;
}
