/*
 * cmd_textdump.c — dbe textdump: a whole record store or MultiIndex file as
 * portable text on the standard output, from one read snapshot: header
 * lines (the layout, every index's definition, a store's compression and
 * holes-table size), then every record with every index's key and its
 * value (a store) or data position (an index file). dbe textload
 * (cmd_textload.c) reads it back; doc/dbe.md "Text dumps" has the format.
 * Reads only.
 */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

static void put_def(FILE *f, unsigned ix, const udb_index_def *d)
{
    if (d->keytype == UDB_KEY_VOID) {
        fprintf(f, "index=%u undefined\n", ix);
        return;
    }
    fprintf(f, "index=%u %s:%u:%s:%u create_nodes=%lld create_leaves=%lld\n", ix,
            dbe_type_name(d->keytype), d->keysize, dbe_attrs_name(d->attrs), d->maxitems,
            (long long)d->create_nodes, (long long)d->create_leaves);
}

/* A key without its trailing zero bytes (they come back as padding). */
static void put_key(const uint8_t *k, size_t n)
{
    while (n && !k[n - 1])
        n--;
    putchar(' ');
    xd_put(stdout, k, n);
}

static void head(const char *kind, int layout, unsigned n)
{
    printf("format=udb-textdump\nversion=1\nkind=%s\nlayout=%s\nindexes=%u\n", kind,
           layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", n);
}

/* The store's records in the order of index 1, every key and the value. */
static int store_records(dbe_store *st, xkeymap *maps)
{
    udb_store_cursor *c;
    udb_item it;
    udb_val v = {0};
    uint64_t rows = 0;
    int ex = EX_OK, rc = udb_store_cursor_open(st->s, 1, &c);
    for (rc = rc ? rc : udb_store_cursor_first(c, &it, &v); !rc && ex == EX_OK;
         rc = udb_store_cursor_next(c, &it, &v)) {
        for (unsigned col = 0; col < st->n && ex == EX_OK; col++) {
            const uint8_t *k = col ? xk_find(&maps[col], it.datapos, col, "textdump") : it.key;
            if (k)
                put_key(k, st->inf[col].def.keysize);
            else
                ex = EX_ABSENT;
        }
        putchar(' ');
        xd_put(stdout, v.data, v.len);
        putchar('\n');
        dbe_progress("textdump", ++rows, 0);
    }
    udb_store_cursor_close(c);
    udb_val_free(&v);
    if (ex == EX_OK && rc != UDB_NOTFOUND)
        ex = dbe_fail(dbe_exit_code(rc), "textdump: %s", udb_store_errmsg(st->s));
    return ex;
}

/* compress= and table_slots= of a store (its descriptor and heap header). */
static int store_head(const char *name, const dbe_opts *o, const dbe_store *st)
{
    udb_store_about a;
    udb_heap_info hi;
    udb_options opts;
    udb_heap *h = NULL;
    char msg[300] = "out of memory", *dat = dbe_with_ext(name, ".dat");
    dbe_options(&opts, o, 0);
    int rc = !dat ? UDB_NOMEM : udb_store_about_get(name, &opts, &a, msg, sizeof msg);
    if (!rc && ((rc = udb_heap_open(dat, &opts, &h)) || (rc = udb_heap_info_get(h, &hi))))
        snprintf(msg, sizeof msg, "%s", udb_heap_errmsg(h));
    udb_heap_close(h);
    free(dat);
    if (rc)
        return dbe_fail(dbe_exit_code(rc), "textdump: %s", msg);
    head("store", a.layout, st->n);
    printf("compress=%s\ntable_slots=%u\n", a.compress ? "yes" : "no", hi.table_slots);
    for (unsigned i = 0; i < st->n; i++)
        put_def(stdout, i + 1, &st->inf[i].def);
    puts("HEADER=END");
    return EX_OK;
}

static int dump_store(const char *name, const dbe_opts *o)
{
    dbe_store st;
    xkeymap *maps = NULL;
    int rc, ex = dbe_store_open(name, o, 0, "textdump", &st);
    if (ex == EX_OK && (rc = udb_store_begin(st.s)))
        ex = dbe_fail(dbe_exit_code(rc), "textdump: %s", udb_store_errmsg(st.s));
    else if (ex == EX_OK) {
        ex = store_head(name, o, &st);
        if (ex == EX_OK)
            ex = xk_build(&st, 1, "textdump", &maps);
        if (ex == EX_OK && (ex = store_records(&st, maps)) == EX_OK)
            puts("DATA=END");
        xk_free(maps, st.n);
        udb_store_commit(st.s);
    }
    return dbe_store_close(&st, ex);
}

/* Index ix's records: key and data position. */
static int file_records(udb_ndx *d, unsigned ix, const udb_index_info *inf)
{
    udb_cursor *c;
    udb_item it;
    uint64_t rows = 0;
    int rc = udb_cursor_open(d, ix, &c);
    printf("INDEX=%u\n", ix);
    for (rc = rc ? rc : udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it)) {
        put_key(it.key, inf->def.keysize);
        printf(" %lld\n", (long long)it.datapos);
        dbe_progress("textdump", ++rows, 0);
    }
    udb_cursor_close(c);
    if (rc != UDB_NOTFOUND)
        return dbe_fail(dbe_exit_code(rc), "textdump: %s", udb_ndx_errmsg(d));
    puts("DATA=END");
    return EX_OK;
}

static int dump_file(const char *path, const dbe_opts *o)
{
    udb_ndx *d;
    int rc = dbe_open_ndx(path, o, 0, &d);
    if (rc)
        return dbe_open_exit(rc);
    unsigned n = udb_ndx_count(d);
    udb_index_info *inf = calloc(n, sizeof *inf);
    int ex = inf ? EX_OK : dbe_fail(EX_USAGE, "out of memory");
    if (ex == EX_OK && (rc = udb_ndx_begin(d)))
        ex = dbe_fail(dbe_exit_code(rc), "textdump: %s", udb_ndx_errmsg(d));
    else if (ex == EX_OK) {
        for (unsigned i = 0; i < n && ex == EX_OK; i++)
            if ((rc = udb_ndx_info(d, i + 1, &inf[i])))
                ex = dbe_fail(dbe_exit_code(rc), "textdump: %s", udb_ndx_errmsg(d));
        if (ex == EX_OK) {
            head("index-file", udb_ndx_layout(d), n);
            for (unsigned i = 0; i < n; i++)
                put_def(stdout, i + 1, &inf[i].def);
            puts("HEADER=END");
        }
        for (unsigned i = 0; i < n && ex == EX_OK; i++)
            if (inf[i].def.keytype != UDB_KEY_VOID)
                ex = file_records(d, i + 1, &inf[i]);
        udb_ndx_commit(d);
    }
    free(inf);
    rc = udb_ndx_close(d);
    if (rc && ex == EX_OK)
        ex = dbe_fail(EX_USAGE, "textdump: closing %s failed (%s)", path, udb_strerror(rc));
    return ex;
}

int cmd_textdump(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout") != 1)
        return dbe_usage("textdump");
    int ex = dbe_is_store(argv[1]) ? dump_store(argv[1], &o) : dump_file(argv[1], &o);
    dbe_progress_end();
    if (ex == EX_OK && fflush(stdout))
        ex = dbe_fail(EX_USAGE, "textdump: writing the output failed");
    return ex;
}
