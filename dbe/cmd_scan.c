/*
 * cmd_scan.c — dbe scan and dbe count: the records of a record store in
 * the order of one index (bounds, prefix, --limit, --reverse; text or JSON
 * lines), and how many records a store or an index of a MultiIndex file
 * holds. Reads only, each from one read snapshot.
 */
#include <stdlib.h>
#include <string.h>
#include "dbe_store.h"

enum { SCAN_STOP = 1 };        /* a callback's "enough": no error */

typedef struct scanner {
    dbe_store *st;
    const dbe_opts *o;
    unsigned ix;
    const udb_index_info *inf;
    uint8_t *b[3];              /* --from, --to, --prefix as keys, or NULL */
    size_t l[3];
    int limited;                /* --limit given */
    unsigned long long limit, shown;
    udb_val val;                /* --reverse: the value under the cursor */
} scanner;

/* One record: text (key TAB value with C escapes) or a JSON line. */
static int scan_line(void *arg, const udb_item *key, const void *val, size_t len)
{
    scanner *x = arg;
    if (x->o->json) {
        fputs("{\"key\": ", stdout);
        dbe_json_key(stdout, x->inf, key->key);
        if (!x->o->keys) {
            fputs(", \"value\": ", stdout);
            dbe_json_bytes(stdout, val, len);
        }
        fputs("}\n", stdout);
    } else {
        dbe_key_print(stdout, x->inf, UDB_LAYOUT_AUTO, key->key, 0);
        if (!x->o->keys) {
            putchar('\t');
            dbe_escape(stdout, val, len);
        }
        putchar('\n');
    }
    if (ferror(stdout))
        return UDB_IO;
    x->shown++;
    return x->limited && x->shown >= x->limit ? SCAN_STOP : 0;
}

/* Parse an optional bound (--from, --to, --prefix) of index ix into buf. */
static int scan_bound(scanner *x, int which, const char *what, const char *text)
{
    if (!text)
        return EX_OK;
    if (!(x->b[which] = malloc(x->inf->def.keysize)))
        return dbe_fail(EX_USAGE, "out of memory");
    char err[200];
    if (dbe_key_parse(x->inf, UDB_LAYOUT_AUTO, text, x->b[which], &x->l[which], err, sizeof err))
        return dbe_fail(EX_USAGE, "scan: %s: %s", what, err);
    return EX_OK;
}

/* ---- backwards ------------------------------------------------------------------------ */
/* udb_store_scan callbacks: the leaf of the first record, of the last. */
static int leaf_first(void *arg, const udb_item *key, const void *val, size_t len)
{
    (void)val, (void)len;
    *(int64_t *)arg = key->leaf;
    return SCAN_STOP;
}

static int leaf_last(void *arg, const udb_item *key, const void *val, size_t len)
{
    (void)val, (void)len;
    *(int64_t *)arg = key->leaf;
    return 0;
}

/* The cursor onto the last record whose key is <= --to (the last of all
   without it); last_to: the leaf of the last record equal to --to, -1. */
static int reverse_start(scanner *x, udb_store_cursor *c, int64_t last_to, udb_item *it)
{
    if (!x->b[1])
        return udb_store_cursor_last(c, it, NULL);
    int rc = udb_store_cursor_seek(c, x->b[1], x->l[1], it, NULL);
    if (last_to == -1) /* no key equals --to: the record before the first larger one */
        return rc == UDB_NOTFOUND ? udb_store_cursor_last(c, it, NULL)
             : rc ? rc : udb_store_cursor_prev(c, it, NULL);
    while (!rc && it->leaf != last_to)
        rc = udb_store_cursor_next(c, it, NULL);
    return rc;
}

/* From the last record in range back to the first: the range's ends are
   found by the library's own forward scans (the first record matching
   every bound, the last record equal to --to), so no key is compared here. */
static int scan_reverse(scanner *x)
{
    udb_store *s = x->st->s;
    int64_t first = -1, last_to = -1;
    udb_store_cursor *c;
    udb_item it;
    int rc = 0;
    if (x->b[0] || x->b[1] || x->b[2]) {
        rc = udb_store_scan(s, x->ix, x->b[0], x->l[0], x->b[1], x->l[1], x->b[2], x->l[2],
                            leaf_first, &first);
        if (rc != SCAN_STOP)
            return rc; /* 0: nothing in range */
    }
    if (x->b[1] && (rc = udb_store_scan(s, x->ix, x->b[1], x->l[1], x->b[1], x->l[1], NULL, 0,
                                        leaf_last, &last_to)))
        return rc;
    if ((rc = udb_store_cursor_open(s, x->ix, &c)))
        return rc;
    for (rc = reverse_start(x, c, last_to, &it); !rc; rc = udb_store_cursor_prev(c, &it, NULL)) {
        if (!x->b[2] || !memcmp(it.key, x->b[2], x->l[2])) {
            if (!x->o->keys && (rc = udb_store_cursor_current(c, NULL, &x->val)))
                break;
            if ((rc = scan_line(x, &it, x->val.data, x->val.len)))
                break;
        }
        if (it.leaf == first)
            break;
    }
    udb_store_cursor_close(c);
    return rc == UDB_NOTFOUND || rc == SCAN_STOP ? 0 : rc;
}

/* ---- scan --------------------------------------------------------------------------------- */
static int scan_run(scanner *x)
{
    udb_store *s = x->st->s;
    int ex = EX_OK;
    if (x->ix > x->st->n)
        return dbe_fail(EX_USAGE, "scan: no index %u (the store has %u)", x->ix, x->st->n);
    x->inf = &x->st->inf[x->ix - 1];
    if ((ex = scan_bound(x, 0, "--from", x->o->from)) || (ex = scan_bound(x, 1, "--to", x->o->to)) ||
        (ex = scan_bound(x, 2, "--prefix", x->o->prefix)))
        return ex;
    if (x->limited && x->limit == 0)
        return EX_OK;
    int rc = udb_store_begin_read(s); /* one snapshot for every step */
    if (!rc && x->o->reverse)
        rc = scan_reverse(x);
    else if (!rc)
        rc = udb_store_scan(s, x->ix, x->b[0], x->l[0], x->b[1], x->l[1], x->b[2], x->l[2],
                            scan_line, x);
    udb_store_commit(s);
    if (rc == UDB_IO && ferror(stdout))
        return dbe_fail(EX_USAGE, "scan: writing the output failed");
    if (rc && rc != SCAN_STOP)
        return dbe_fail(dbe_exit_code(rc), "scan: %s", udb_store_errmsg(s));
    return fflush(stdout) ? dbe_fail(EX_USAGE, "scan: writing the output failed") : EX_OK;
}

int cmd_scan(int argc, char **argv)
{
    dbe_opts o = {0};
    dbe_store st;
    scanner x = {&st, &o, 0, NULL, {NULL, NULL, NULL}, {0, 0, 0}, 0, 0, 0, {0}};
    if (dbe_parse_opts(argc, argv, &o, "layout,index,from,to,prefix,keys,limit,reverse,json") != 1)
        return dbe_usage("scan");
    x.ix = o.index ? o.index : 1;
    x.limited = o.limit != NULL;
    if (o.limit && dbe_parse_uint(o.limit, UINT64_MAX, &x.limit))
        return dbe_fail(EX_USAGE, "scan: --limit takes a number >= 0, not '%s'", o.limit);
    int ex = dbe_store_open(argv[1], &o, 0, "scan", &st);
    if (ex == EX_OK)
        ex = scan_run(&x);
    for (int i = 0; i < 3; i++)
        free(x.b[i]);
    udb_val_free(&x.val);
    return dbe_store_close(&st, ex);
}

/* ---- count -------------------------------------------------------------------------------- */
int dbe_store_records(udb_store *s, unsigned ix, uint64_t *n)
{
    udb_store_cursor *c = NULL;
    int began = !udb_store_begin_read(s); /* fails inside a transaction: counted in it */
    int rc = udb_store_cursor_open(s, ix, &c);
    *n = 0;
    if (!rc)
        for (rc = udb_store_cursor_first(c, NULL, NULL); !rc; rc = udb_store_cursor_next(c, NULL, NULL))
            ++*n;
    udb_store_cursor_close(c);
    if (began)
        udb_store_commit(s);
    return rc == UDB_NOTFOUND ? 0 : rc;
}

static int count_store(const char *arg, const dbe_opts *o, unsigned ix, uint64_t *n)
{
    dbe_store st;
    int ex = dbe_store_open(arg, o, 0, "count", &st), rc;
    if (ex == EX_OK && ix > st.n)
        ex = dbe_fail(EX_USAGE, "count: no index %u (the store has %u)", ix, st.n);
    if (ex == EX_OK && (rc = dbe_store_records(st.s, ix, n)))
        ex = dbe_fail(dbe_exit_code(rc), "count: %s", udb_store_errmsg(st.s));
    return dbe_store_close(&st, ex);
}

static int count_file(const char *path, const dbe_opts *o, unsigned ix, uint64_t *n)
{
    udb_ndx *d;
    udb_cursor *c = NULL;
    int rc = dbe_open_ndx(path, o, 0, &d), ex = EX_OK;
    if (rc)
        return dbe_open_exit(rc);
    if (!(rc = udb_ndx_begin_read(d)) && !(rc = udb_cursor_open(d, ix, &c)))
        for (rc = udb_cursor_first(c, NULL); !rc; rc = udb_cursor_next(c, NULL))
            ++*n;
    udb_cursor_close(c);
    udb_ndx_commit(d);
    if (rc != UDB_NOTFOUND)
        ex = dbe_fail(rc == UDB_INVAL ? EX_USAGE : dbe_exit_code(rc), "count: %s", udb_ndx_errmsg(d));
    udb_ndx_close(d);
    return ex;
}

int cmd_count(int argc, char **argv)
{
    dbe_opts o = {0};
    uint64_t n = 0;
    int named_file;
    if (dbe_parse_opts(argc, argv, &o, "layout,index") != 1)
        return dbe_usage("count");
    unsigned ix = o.index ? o.index : 1;
    char *name = dbe_store_of(argv[1], &named_file);
    int ex = name ? count_store(argv[1], &o, ix, &n) : count_file(argv[1], &o, ix, &n);
    free(name);
    if (ex == EX_OK)
        printf("%llu\n", (unsigned long long)n);
    return ex;
}
