/*
 * cmd_import.c — dbe import: export's output (TSV, CSV or JSON lines) read
 * back into an existing record store (a put per record) or one index of a
 * MultiIndex file (an append per record), or an ordinary CSV / TSV file
 * into a store through a column mapping (--csv / --tsv, xfer_map.c), all
 * in one transaction; --sorted builds the trees bottom-up into an empty
 * store or index. Any bad record: nothing is imported.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

enum { IMPORT_REPORT_MAX = 20 };

/* A row kept until the run of rows with its first key ends. */
typedef struct srow {
    unsigned long line;
    int64_t dp;
    size_t vlen;
    uint8_t *val;
    size_t klen[];              /* one per key column, then the keys, then the value */
} srow;

typedef struct importer {
    xtable *t;
    xmap *map;                  /* --csv / --tsv, else NULL */
    xreader r;
    char names[XF_MAXCOLS][8];
    unsigned long rows, bad, loaded;
    int failed;                 /* nothing more is written: it will roll back */
    const uint8_t *val;         /* the current row (keys in the table's buffers) */
    size_t vlen;
    int64_t dp;
    srow **run;                 /* rows with equal first keys, put last-first */
    size_t nrun, caprun;
} importer;

__attribute__((format(printf, 3, 4))) static int imp_bad(importer *im, unsigned long line,
                                                         const char *fmt, ...)
{
    va_list ap;
    im->failed = 1;
    if (++im->bad > IMPORT_REPORT_MAX)
        return -1;
    dbe_progress_end();
    fprintf(stderr, "dbe: import: line %lu: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* ---- one row -------------------------------------------------------------------------------- */
static int parse_key(importer *im, unsigned col)
{
    xfield *f = &im->r.f[col];
    const udb_index_info *inf = xt_inf(im->t, col);
    size_t *len, ks = inf->def.keysize;
    uint8_t *k = xt_keybuf(im->t, col, &len);
    char err[200];
    if (f->bytes && inf->def.keytype != UDB_KEY_STRING) { /* {"base64": ...}: its bytes */
        if (f->n > ks)
            return imp_bad(im, im->r.start, "%s: a key of %zu bytes; the key size is %zu",
                           im->names[col], f->n, ks);
        memset(k, 0, ks);
        memcpy(k, f->p, f->n);
        *len = f->n;
        return 0;
    }
    if (memchr(f->p, 0, f->n))
        return imp_bad(im, im->r.start, "%s: a NUL byte in a key", im->names[col]);
    if (im->r.fmt != XF_TSV && inf->def.keytype == UDB_KEY_STRING) {
        if (f->n >= ks)
            return imp_bad(im, im->r.start, "%s: a key of %zu bytes; the key size %zu allows %zu",
                           im->names[col], f->n, ks, ks - 1);
        memset(k, 0, ks);
        memcpy(k, f->p, f->n);
        *len = f->n;
        return 0;
    }
    if (dbe_key_parse(inf, UDB_LAYOUT_AUTO, f->p, k, len, err, sizeof err))
        return imp_bad(im, im->r.start, "%s: %s", im->names[col], err);
    return 0;
}

/* The last column: the value (a store) or the data position (a file). */
static int parse_last(importer *im)
{
    unsigned col = im->t->nkeys;
    xfield *f = &im->r.f[col];
    int fmt = im->r.fmt;
    if (!im->t->is_store) {
        if (dbe_parse_int64(f->p, &im->dp) || im->dp < 0)
            return imp_bad(im, im->r.start, "datapos: '%.40s' is not a number >= 0", f->p);
        return 0;
    }
    long n = f->bytes ? (long)f->n : f->num || memchr(f->p, 0, f->n) ? -1
           : fmt == XF_TSV ? dbe_unescape(f->p, (uint8_t *)f->p, f->n)
           : fmt == XF_CSV ? xf_unhex(f->p, f->n) : xf_unbase64(f->p, f->n);
    if (n < 0)
        return imp_bad(im, im->r.start, "v: not %s", fmt == XF_TSV ? "text with C escapes"
                       : fmt == XF_CSV ? "\\x and pairs of hex digits (bytea)" : "a base64 string");
    im->val = (const uint8_t *)f->p;
    im->vlen = (size_t)n;
    return 0;
}

/* A record of an ordinary CSV / TSV file through the column mapping: 0,
   -1 (a bad row, reported) or -2 (the mapping does not fit the file). */
static int map_row(importer *im)
{
    xmap *m = im->map;
    xreader *r = &im->r;
    char err[200], col[100];
    if (!m->nfields && xm_columns(m, r))
        return -2;
    if (r->nf != m->nfields)
        return imp_bad(im, r->start, "%u field(s); the %s has %u", r->nf,
                       m->header ? "header" : "first record", m->nfields);
    for (unsigned i = 0; i < m->nkeys; i++) {
        size_t *len;
        uint8_t *k = xt_keybuf(im->t, i, &len);
        if (xm_key(xt_inf(im->t, i), &r->f[m->keycol[i]], k, len, err, sizeof err)) {
            xm_colname(m, i, col, sizeof col);
            return imp_bad(im, r->start, "%s: %s", col, err);
        }
    }
    im->val = (const uint8_t *)(m->valarg ? r->f[m->valcol].p : r->raw);
    im->vlen = m->valarg ? r->f[m->valcol].n : r->rlen;
    return 0;
}

/* The next good row into the table's key buffers and val / dp; bad ones
   are reported and skipped. 1 at the end of the input. */
static int next_row(importer *im)
{
    for (;;) {
        int rc = xr_next(&im->r), ok = 0;
        if (rc == 1)
            return 1;
        if (rc == -2) {
            im->failed = 1;
            dbe_fail(EX_USAGE, "import: reading the standard input failed");
            return 1;
        }
        if (rc < 0) {
            imp_bad(im, im->r.start, "%s", im->r.err);
        } else if (im->map) {
            if ((rc = map_row(im)) == -2) {
                im->failed = 1;
                return 1;
            }
            if (rc == 0) {
                dbe_progress("import", ++im->rows, 0);
                return 0;
            }
        } else if (im->r.nf != im->t->nkeys + 1)
            imp_bad(im, im->r.start, "%u field(s); the columns are %u", im->r.nf, im->t->nkeys + 1);
        else
            ok = 1;
        for (unsigned col = 0; ok && col < im->t->nkeys; col++)
            ok = parse_key(im, col) == 0;
        if (ok && parse_last(im) == 0) {
            dbe_progress("import", ++im->rows, 0);
            return 0;
        }
    }
}

/* ---- writing: rows with equal first keys are put last-first, so that the
   first of them ends up the newest, as it was when exported ---------------------------- */
static uint8_t *row_key(const xtable *t, const srow *s, unsigned col)
{
    uint8_t *k = (uint8_t *)(s->klen + t->nkeys);
    for (unsigned i = 0; i < col; i++)
        k += xt_inf(t, i)->def.keysize;
    return k;
}

static srow *row_save(importer *im)
{
    xtable *t = im->t;
    size_t keys = 0, *len;
    for (unsigned i = 0; i < t->nkeys; i++)
        keys += xt_inf(t, i)->def.keysize;
    srow *s = malloc(sizeof *s + t->nkeys * sizeof(size_t) + keys + im->vlen);
    if (!s)
        return NULL;
    *s = (srow){im->r.start, im->dp, im->vlen, NULL};
    for (unsigned i = 0; i < t->nkeys; i++) {
        uint8_t *k = xt_keybuf(t, i, &len);
        memcpy(row_key(t, s, i), k, xt_inf(t, i)->def.keysize);
        s->klen[i] = *len;
    }
    s->val = row_key(t, s, t->nkeys);
    if (im->vlen)
        memcpy(s->val, im->val, im->vlen);
    return s;
}

static int row_write(importer *im, const srow *s)
{
    xtable *t = im->t;
    udb_key keys[XF_MAXCOLS];
    if (!t->is_store)
        return udb_ndx_append(t->d, t->ix, row_key(t, s, 0), s->klen[0], s->dp);
    for (unsigned i = 0; i < t->nkeys; i++)
        keys[i] = (udb_key){row_key(t, s, i), s->klen[i]};
    return udb_store_put(t->st.s, keys, s->val, s->vlen);
}

static void run_flush(importer *im)
{
    for (size_t i = im->nrun; i-- > 0;) {
        if (!im->failed && row_write(im, im->run[i]))
            imp_bad(im, im->run[i]->line, "%s", xt_errmsg(im->t));
        else if (!im->failed)
            im->loaded++;
        free(im->run[i]);
    }
    im->nrun = 0;
}

static void run_add(importer *im)
{
    size_t *len, ks = xt_inf(im->t, 0)->def.keysize;
    const uint8_t *k = xt_keybuf(im->t, 0, &len);
    if (im->nrun && memcmp(row_key(im->t, im->run[0], 0), k, ks))
        run_flush(im);
    if (im->nrun == im->caprun) {
        size_t cap = im->caprun ? 2 * im->caprun : 16;
        srow **p = realloc(im->run, cap * sizeof *p);
        if (!p) {
            imp_bad(im, im->r.start, "out of memory");
            return;
        }
        im->run = p;
        im->caprun = cap;
    }
    if (!(im->run[im->nrun] = row_save(im)))
        imp_bad(im, im->r.start, "out of memory");
    else
        im->nrun++;
}

static void import_rows(importer *im)
{
    while (next_row(im) == 0)
        if (!im->failed) {
            run_add(im);
            if (im->map) /* a foreign file's order is the order of its puts */
                run_flush(im);
        }
    run_flush(im);
    free(im->run);
}

/* ---- --sorted: the record sources of the bulk loads --------------------------------------- */
static int store_next(void *arg, udb_key *keys, const void **val, size_t *len)
{
    importer *im = arg;
    while (next_row(im) == 0)
        if (!im->failed) {
            for (unsigned i = 0; i < im->t->nkeys; i++)
                keys[i] = (udb_key){im->t->st.key[i], im->t->st.len[i]};
            *val = im->val;
            *len = im->vlen;
            im->loaded++;
            return 0;
        }
    return im->failed ? UDB_INVAL : 1;
}

static int file_next(void *arg, const void **key, size_t *keylen, int64_t *dp)
{
    importer *im = arg;
    while (next_row(im) == 0)
        if (!im->failed) {
            *key = im->t->dkey;
            *keylen = im->t->dlen;
            *dp = im->dp;
            im->loaded++;
            return 0;
        }
    return im->failed ? UDB_INVAL : 1;
}

static void import_sorted(importer *im)
{
    xtable *t = im->t;
    if (!xt_empty(t)) { /* see load_sorted in cmd_write.c */
        im->failed = 1;
        if (t->is_store)
            dbe_fail(EX_USAGE, "import: the store is not empty: --sorted imports only into an "
                     "empty store");
        else
            dbe_fail(EX_USAGE, "import: index %u is not empty: --sorted imports only into an "
                     "empty index", t->ix);
        return;
    }
    int rc = t->is_store ? udb_store_load_sorted(t->st.s, store_next, im, NULL)
                         : udb_ndx_load_sorted(t->d, t->ix, file_next, im, NULL);
    if (rc && !im->failed)
        imp_bad(im, im->r.start, "%s", xt_errmsg(t));
}

/* ---- the whole input ---------------------------------------------------------------------- */
/* TSV and CSV start with the column names (an empty input has none); an
   ordinary CSV / TSV file with --header too. */
static int header(importer *im, const char *name)
{
    unsigned n = im->t->nkeys + 1, same;
    int rc = im->r.fmt == XF_JSONL || (im->map && !im->map->header) ? 1 : xr_next(&im->r);
    if (rc == 1)
        return EX_OK;
    if (im->map && rc == 0)
        return xm_columns(im->map, &im->r);
    if (im->map)
        return dbe_fail(EX_USAGE, "import: line %lu: %s", im->r.start,
                        rc == -2 ? "reading the input failed" : im->r.err);
    same = rc == 0 && im->r.nf == n;
    for (unsigned i = 0; same && i < n; i++)
        same = !strcmp(im->r.f[i].p, im->names[i]);
    if (same)
        return EX_OK;
    fprintf(stderr, "dbe: import: line %lu: the first line must name the columns of %s: ",
            im->r.start, name);
    for (unsigned i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? (im->r.fmt == XF_TSV ? "<TAB>" : ",") : "", im->names[i]);
    fputc('\n', stderr);
    return EX_USAGE;
}

/* Commit, or roll back after any failure; prints the count or why. */
static int import_end(importer *im)
{
    xtable *t = im->t;
    int rc;
    dbe_progress_end();
    if (im->bad > IMPORT_REPORT_MAX)
        dbe_fail(EX_USAGE, "import: %lu more bad record(s) not shown", im->bad - IMPORT_REPORT_MAX);
    if (im->failed) {
        xt_rollback(t);
        if (im->bad)
            return dbe_fail(EX_USAGE, "import: nothing imported (%lu bad record(s); rolled back)",
                            im->bad);
        return dbe_fail(EX_USAGE, "import: nothing imported (rolled back)");
    }
    if ((rc = xt_commit(t)))
        return dbe_fail(dbe_exit_code(rc), "import: %s", xt_errmsg(t));
    printf("%lu\n", im->loaded);
    return EX_OK;
}

static int import_all(xtable *t, const dbe_opts *o, int fmt, xmap *map, FILE *in,
                      const char *name)
{
    importer im;
    memset(&im, 0, sizeof im);
    im.t = t;
    im.map = map;
    im.r = (xreader){.in = in, .fmt = fmt, .ncols = t->nkeys + 1};
    if (map)
        im.r = (xreader){.in = in, .fmt = XF_CSV, .sep = map->sep, .lenient = 1,
                         .keep_raw = !map->valarg};
    for (unsigned col = 0; col <= t->nkeys; col++) {
        xt_colname(t, col, im.names[col], sizeof im.names[col]);
        memcpy(im.r.names[col], im.names[col], sizeof im.names[col]);
    }
    int ex = header(&im, name), rc;
    if (ex == EX_OK && (rc = xt_begin(t))) {
        ex = dbe_fail(dbe_exit_code(rc), "import: %s", xt_errmsg(t));
    } else if (ex == EX_OK) {
        if (o->sorted)
            import_sorted(&im);
        else
            import_rows(&im);
        ex = import_end(&im);
    }
    xr_free(&im.r);
    return ex;
}

/* The arguments: the store or file, the input (FILE or -; none: the
   standard input), --format or the column mapping. */
static int import_args(int *argc, char **argv, dbe_opts *o, xmap *map, int *fmt)
{
    int ex = xm_take_args(argc, argv, map), npos;
    if (ex != EX_OK)
        return ex;
    npos = dbe_parse_opts(*argc, argv, o, "layout,index,sync,format,sorted");
    if (npos != 1 && npos != 2)
        return dbe_usage("import");
    if (xf_format(o->format, "import", fmt))
        return EX_USAGE;
    if (map->on && o->format)
        return dbe_fail(EX_USAGE, "import: --format reads export's output; --csv and --tsv read "
                        "other files: not both");
    if (map->on && !dbe_is_store(argv[1]))
        return dbe_fail(EX_USAGE, "import: --csv and --tsv load into a record store; %s is none",
                        argv[1]);
    if (o->index && dbe_is_store(argv[1]))
        return dbe_fail(EX_USAGE, "import: a store takes every index's key from each record; -i "
                        "is for index files");
    *argc = npos + 1;
    return EX_OK;
}

int cmd_import(int argc, char **argv)
{
    dbe_opts o = {0};
    xmap map;
    xtable t;
    int fmt, ex = import_args(&argc, argv, &o, &map, &fmt);
    const char *src = ex == EX_OK && argc > 2 && strcmp(argv[2], "-") ? argv[2] : NULL;
    FILE *in = src ? fopen(src, "rb") : stdin;
    if (ex == EX_OK && !in)
        ex = dbe_fail(EX_USAGE, "import: cannot open %s: %s", src, strerror(errno));
    if (ex == EX_OK && (ex = xt_open(argv[1], &o, 1, "import", &t)) == EX_OK) {
        if (map.on && map.nkeys != t.nkeys)
            ex = dbe_fail(EX_USAGE, "import: %s has %u index(es): give a --key COL for each, in "
                          "index order (%u given)", argv[1], t.nkeys, map.nkeys);
        else
            ex = import_all(&t, &o, fmt, map.on ? &map : NULL, in, argv[1]);
        ex = xt_close(&t, ex);
    }
    if (in && in != stdin)
        fclose(in);
    xm_free(&map);
    return ex;
}
