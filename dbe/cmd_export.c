/*
 * cmd_export.c — dbe export: every record of a record store (its key in
 * every index, then its value) or of one index of a MultiIndex file (key
 * and data position), in the order of index N, as TSV, CSV or JSON lines on
 * the standard output, from one read snapshot. Reads only.
 */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

typedef struct keymap {         /* another index of the store: record -> key */
    uint8_t *e;                 /* entries: the record's position, then the key */
    size_t n, cap, size;        /* entries, room, bytes per entry */
} keymap;

typedef struct exporter {
    xtable *t;
    int fmt;
    keymap *maps;               /* one per key column (the order's own unused) */
    char names[XF_MAXCOLS][8];
    unsigned long rows, not_utf8;
} exporter;

static int cmp_pos(const void *a, const void *b)
{
    int64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x > y) - (x < y);
}

static int map_add(keymap *m, const udb_item *it)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        uint8_t *e = realloc(m->e, cap * m->size);
        if (!e)
            return UDB_NOMEM;
        m->e = e;
        m->cap = cap;
    }
    memcpy(m->e + m->n * m->size, &it->datapos, 8);
    memcpy(m->e + m->n * m->size + 8, it->key, it->keysize);
    m->n++;
    return 0;
}

/* Every (position, key) of index col + 1, sorted by position. */
static int map_build(exporter *x, unsigned col)
{
    keymap *m = &x->maps[col];
    udb_store_cursor *c;
    udb_item it;
    char what[32];
    snprintf(what, sizeof what, "export: index %u", col + 1);
    m->size = (8 + x->t->st.inf[col].def.keysize + 7) / 8 * 8;
    int rc = udb_store_cursor_open(x->t->st.s, col + 1, &c);
    for (rc = rc ? rc : udb_store_cursor_first(c, &it, NULL); !rc;
         rc = udb_store_cursor_next(c, &it, NULL)) {
        if ((rc = map_add(m, &it)))
            break;
        dbe_progress(what, m->n, 0);
    }
    udb_store_cursor_close(c);
    if (rc != UDB_NOTFOUND)
        return rc == UDB_NOMEM ? dbe_fail(EX_USAGE, "export: out of memory")
                               : dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(x->t));
    qsort(m->e, m->n, m->size, cmp_pos);
    return EX_OK;
}

static void header(exporter *x)
{
    if (x->fmt == XF_JSONL)
        return;
    for (unsigned col = 0; col <= x->t->nkeys; col++) {
        xf_sep(stdout, x->fmt, col, x->names[col]);
        fputs(x->names[col], stdout);
    }
    xf_end(stdout, x->fmt);
}

/* One record of the store: item is its key in the order's index. */
static int store_row(exporter *x, const udb_item *it, const udb_val *v)
{
    xtable *t = x->t;
    for (unsigned col = 0; col < t->nkeys; col++) {
        const uint8_t *k = it->key;
        if (col != t->ix - 1) {
            const uint8_t *e = bsearch(&it->datapos, x->maps[col].e, x->maps[col].n,
                                       x->maps[col].size, cmp_pos);
            if (!e)
                return dbe_fail(EX_ABSENT, "export: the record at %lld is missing from index %u; "
                                "the store is damaged (see dbe check)", (long long)it->datapos, col + 1);
            k = e + 8;
        }
        xf_sep(stdout, x->fmt, col, x->names[col]);
        x->not_utf8 += (unsigned long)xf_key(stdout, x->fmt, &t->st.inf[col], k);
    }
    xf_sep(stdout, x->fmt, t->nkeys, x->names[t->nkeys]);
    xf_value(stdout, x->fmt, v->data, v->len);
    xf_end(stdout, x->fmt);
    dbe_progress("export", ++x->rows, 0);
    return EX_OK;
}

static int export_store(exporter *x)
{
    xtable *t = x->t;
    udb_store_cursor *c;
    udb_item it;
    udb_val v = {0};
    int ex = EX_OK;
    for (unsigned col = 0; col < t->nkeys && ex == EX_OK; col++)
        if (col != t->ix - 1)
            ex = map_build(x, col);
    int rc = ex ? 0 : udb_store_cursor_open(t->st.s, t->ix, &c);
    if (ex || rc)
        return ex ? ex : dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(t));
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
        xf_sep(stdout, x->fmt, 0, x->names[0]);
        x->not_utf8 += (unsigned long)xf_key(stdout, x->fmt, &t->dinf, it.key);
        xf_sep(stdout, x->fmt, 1, x->names[1]);
        printf("%lld", (long long)it.datapos);
        xf_end(stdout, x->fmt);
        dbe_progress("export", ++x->rows, 0);
    }
    udb_cursor_close(c);
    return rc == UDB_NOTFOUND ? EX_OK : dbe_fail(dbe_exit_code(rc), "export: %s", xt_errmsg(t));
}

static int export_all(xtable *t, int fmt)
{
    exporter x = {t, fmt, calloc(t->nkeys, sizeof(keymap)), {{0}}, 0, 0};
    if (!x.maps)
        return dbe_fail(EX_USAGE, "out of memory");
    for (unsigned col = 0; col <= t->nkeys; col++)
        xt_colname(t, col, x.names[col], sizeof x.names[col]);
    int ex = t->is_store ? export_store(&x) : export_file(&x);
    dbe_progress_end();
    for (unsigned col = 0; col < t->nkeys; col++)
        free(x.maps[col].e);
    free(x.maps);
    if (ex == EX_OK && x.not_utf8)
        fprintf(stderr, "dbe: export: note: %lu STRING key(s) are not UTF-8; they are written as "
                "their bytes (a UTF-8 database refuses them; --format tsv escapes them)\n",
                x.not_utf8);
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
