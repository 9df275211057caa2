/*
 * cmd_export.c — dbe export: every record of a record store (its key in
 * every index, then its value) or of one index of a MultiIndex file (key
 * and data position), in the order of index N, as TSV, CSV, JSON lines or
 * PostgreSQL COPY text on the standard output, from one read snapshot.
 * COPY text is written only when every field is text: a first pass over
 * the same snapshot checks. Reads only.
 */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

enum { NOT_TEXT_SHOWN = 5 };    /* COPY: fields named before the summary */

typedef struct exporter {
    xtable *t;
    int fmt;
    FILE *out;                  /* stdout, or /dev/null for COPY's check */
    const char *what;           /* progress label of the pass */
    xkeymap *maps;              /* one per key column (the order's own unused) */
    char names[XF_MAXCOLS][8];
    unsigned long rows, not_utf8, not_text;
} exporter;

static void header(exporter *x)
{
    if (x->fmt == XF_JSONL || x->fmt == XF_COPY)
        return;
    for (unsigned col = 0; col <= x->t->nkeys; col++) {
        xf_sep(x->out, x->fmt, col, x->names[col]);
        fputs(x->names[col], x->out);
    }
    xf_end(x->out, x->fmt);
}

/* Field col of the record whose key in the order's index is key is not
   text: CSV counts the keys for a note, COPY names the first few. */
static void not_text(exporter *x, unsigned col, const uint8_t *key)
{
    if (x->fmt == XF_CSV) {
        x->not_utf8++;
    } else if (x->fmt == XF_COPY && ++x->not_text <= NOT_TEXT_SHOWN) {
        dbe_progress_end();
        fprintf(stderr, "dbe: export: the record with key ");
        dbe_key_print(stderr, xt_inf(x->t, x->t->is_store ? x->t->ix - 1 : 0), UDB_LAYOUT_AUTO,
                      key, 0);
        fprintf(stderr, " in index %u: %s %s\n", x->t->ix, x->names[col],
                col < x->t->nkeys ? "is not UTF-8" : "is not UTF-8 text or holds a NUL byte");
    }
}

/* One record of the store: item is its key in the order's index. */
static int store_row(exporter *x, const udb_item *it, const udb_val *v)
{
    xtable *t = x->t;
    for (unsigned col = 0; col < t->nkeys; col++) {
        const uint8_t *k = it->key;
        if (col != t->ix - 1 && !(k = xk_find(&x->maps[col], it->datapos, col, "export")))
            return EX_ABSENT;
        xf_sep(x->out, x->fmt, col, x->names[col]);
        if (xf_key(x->out, x->fmt, &t->st.inf[col], k))
            not_text(x, col, it->key);
    }
    xf_sep(x->out, x->fmt, t->nkeys, x->names[t->nkeys]);
    if (xf_value(x->out, x->fmt, v->data, v->len))
        not_text(x, t->nkeys, it->key);
    xf_end(x->out, x->fmt);
    dbe_progress(x->what, ++x->rows, 0);
    return EX_OK;
}

static int export_store(exporter *x)
{
    xtable *t = x->t;
    udb_store_cursor *c;
    udb_item it;
    udb_val v = {0};
    int ex = EX_OK, rc = udb_store_cursor_open(t->st.s, t->ix, &c);
    if (rc)
        return dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(t));
    header(x);
    for (rc = udb_store_cursor_first(c, &it, &v); !rc && ex == EX_OK;
         rc = udb_store_cursor_next(c, &it, &v))
        ex = store_row(x, &it, &v);
    udb_store_cursor_close(c);
    udb_val_free(&v);
    if (ex == EX_OK && rc != UDB_NOTFOUND)
        ex = dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(t));
    return ex;
}

static int export_file(exporter *x)
{
    xtable *t = x->t;
    udb_cursor *c;
    udb_item it;
    int rc = udb_cursor_open(t->d, t->ix, &c);
    if (rc)
        return dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(t));
    header(x);
    for (rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it)) {
        xf_sep(x->out, x->fmt, 0, x->names[0]);
        if (xf_key(x->out, x->fmt, &t->dinf, it.key))
            not_text(x, 0, it.key);
        xf_sep(x->out, x->fmt, 1, x->names[1]);
        fprintf(x->out, "%lld", (long long)it.datapos);
        xf_end(x->out, x->fmt);
        dbe_progress(x->what, ++x->rows, 0);
    }
    udb_cursor_close(c);
    return rc == UDB_NOTFOUND ? EX_OK : dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(t));
}

/* COPY text only when every field is text: the same rows into /dev/null. */
static int copy_check(exporter *x)
{
    FILE *null = fopen("/dev/null", "w");
    if (!null)
        return dbe_fail(EX_USAGE, "export: cannot open /dev/null");
    x->out = null;
    x->what = "export: check";
    int ex = x->t->is_store ? export_store(x) : export_file(x);
    fclose(null);
    dbe_progress_end();
    x->out = stdout;
    x->what = "export";
    x->rows = 0;
    if (ex == EX_OK && x->not_text)
        ex = dbe_fail(EX_USAGE, "export: nothing written: %lu field(s) are not UTF-8 text or hold a "
                      "NUL byte, which PostgreSQL's text columns cannot hold (--format csv writes "
                      "values as bytea, --format jsonl writes any key and value)", x->not_text);
    return ex;
}

static int export_all(xtable *t, int fmt)
{
    exporter x = {t, fmt, stdout, "export", NULL, {{0}}, 0, 0, 0};
    int ex = t->is_store ? xk_build(&t->st, t->ix, "export", &x.maps) : EX_OK;
    for (unsigned col = 0; col <= t->nkeys; col++)
        xt_colname(t, col, x.names[col], sizeof x.names[col]);
    if (ex == EX_OK && fmt == XF_COPY)
        ex = copy_check(&x);
    if (ex == EX_OK)
        ex = t->is_store ? export_store(&x) : export_file(&x);
    dbe_progress_end();
    xk_free(x.maps, t->nkeys);
    if (ex == EX_OK && x.not_utf8)
        fprintf(stderr, "dbe: export: note: %lu STRING key(s) are not UTF-8; they are written as "
                "their bytes (a UTF-8 database refuses them; --format jsonl writes them as base64, "
                "--format tsv escapes them)\n", x.not_utf8);
    return ex;
}

int cmd_export(int argc, char **argv)
{
    dbe_opts o = {0};
    xtable t;
    int fmt, rc;
    if (dbe_parse_opts(argc, argv, &o, "layout,index,format") != 1)
        return dbe_usage("export");
    if (xf_format(o.format, "export", &fmt))
        return EX_USAGE;
    int ex = xt_open(argv[1], &o, 0, "export", &t);
    if (ex == EX_OK && (rc = xt_begin(&t)))
        ex = dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(&t));
    else if (ex == EX_OK) {
        ex = export_all(&t, fmt);
        xt_commit(&t);
    }
    if (ex == EX_OK && fflush(stdout))
        ex = dbe_fail(EX_USAGE, "export: writing the output failed");
    return xt_close(&t, ex);
}
