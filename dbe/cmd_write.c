/*
 * cmd_write.c — dbe's write commands on MultiIndex files: create, append,
 * delete, load. Each works through udb.h only (never the on-disk layout)
 * and changes nothing but what its arguments name.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "dbe.h"

/* ---- create: index definitions ------------------------------------------------- */

/* "unique", "delete" (or "allow_delete"), "none", joined with '+', or 0..3. */
static int parse_attrs(const char *s, unsigned *attrs)
{
    unsigned long long n;
    if (!dbe_parse_uint(s, 3, &n)) {
        *attrs = (unsigned)n;
        return 0;
    }
    *attrs = 0;
    for (;;) {
        size_t l = strcspn(s, "+|");
        if (l == 6 && !strncasecmp(s, "unique", l))
            *attrs |= UDB_UNIQUE;
        else if ((l == 6 && !strncasecmp(s, "delete", l)) ||
                 (l == 12 && !strncasecmp(s, "allow_delete", l)))
            *attrs |= UDB_ALLOW_DELETE;
        else if (!(l == 4 && !strncasecmp(s, "none", l)))
            return -1;
        if (!s[l])
            return 0;
        s += l + 1;
    }
}

/* Item slots per node when the definition does not say. */

int dbe_parse_index_spec(const char *spec, int layout, udb_index_def *def, char *err,
                         size_t errlen)
{
    char buf[128], *field[5] = {buf};
    unsigned nf = 1;
    unsigned long long n;
    if (strlen(spec) >= sizeof buf) {
        snprintf(err, errlen, "'%.40s...' is too long", spec);
        return -1;
    }
    strcpy(buf, spec);
    for (char *p = buf; (p = strchr(p, ':')) && nf < 5; p++) {
        *p = 0;
        field[nf++] = p + 1;
    }
    memset(def, 0, sizeof *def);
    if (nf < 2 || nf > 4) {
        snprintf(err, errlen, "'%s' is not TYPE:KEYSIZE[:ATTRS[:MAXITEMS]]", spec);
        return -1;
    }
    if ((def->keytype = dbe_type_parse(field[0])) < 0) {
        snprintf(err, errlen, "unknown key type '%s' (block, num_block, integer, long_int, "
                 "string, logical, character)", field[0]);
        return -1;
    }
    if (dbe_parse_uint(field[1], 65535, &n)) {
        snprintf(err, errlen, "key size '%s' is not a number 1..65535", field[1]);
        return -1;
    }
    def->keysize = (unsigned)n;
    if (nf > 2 && parse_attrs(field[2], &def->attrs)) {
        snprintf(err, errlen, "attributes '%s' are not none, unique, delete, unique+delete or "
                 "0..3", field[2]);
        return -1;
    }
    def->maxitems = 0;
    if (nf > 3) {
        if (dbe_parse_uint(field[3], 65535, &n)) {
            snprintf(err, errlen, "max items '%s' is not a number", field[3]);
            return -1;
        }
        def->maxitems = (unsigned)n;
    }
    return udb_index_def_check(layout, def, err, errlen) ? -1 : 0;
}

int dbe_take_index_specs(const char *cmd, int *argc, char **argv, const char **specs, unsigned *n)
{
    int out = 1;
    *n = 0;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--index=", 8)) {
            specs[(*n)++] = a + 8;
        } else if (!strcmp(a, "--index") || !strcmp(a, "-i")) {
            if (i + 1 >= *argc)
                return dbe_fail(EX_USAGE, "%s: %s needs TYPE:KEYSIZE[:ATTRS[:MAXITEMS]]", cmd, a);
            specs[(*n)++] = argv[++i];
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    return EX_OK;
}

int dbe_create_file(const char *path, const dbe_opts *o, int layout, const udb_index_def *defs,
                       unsigned n)
{
    udb_options opts;
    udb_ndx *d;
    if (dbe_refuse_store_file(dbe_command, path))
        return EX_USAGE;
    udb_options_init(&opts);
    opts.layout = layout;
    opts.sync = o->sync;
    opts.journal = o->journal;
    opts.flags = dbe_raw ? UDB_RAW : 0;
    int rc = udb_ndx_create(path, &opts, n, &d);
    if (rc) {
        dbe_fail(EX_USAGE, "create: %s", udb_ndx_errmsg(d)); /* UDB_EXISTS: a file, or an
                                                                  earlier one's journal */
        udb_ndx_close(d);
        return EX_USAGE;
    }
    if (!(rc = udb_ndx_begin(d))) {
        for (unsigned i = 0; i < n && !rc; i++)
            rc = udb_ndx_define(d, i + 1, &defs[i]);
        rc = rc ? rc : udb_ndx_commit(d);
    }
    if (rc) {
        dbe_fail(EX_USAGE, "create: %s", udb_ndx_errmsg(d));
        udb_ndx_close(d);
        unlink(path);
        return EX_USAGE;
    }
    if ((rc = udb_ndx_close(d)))
        return dbe_fail(EX_USAGE, "create: closing %s failed (%s)", path, udb_strerror(rc));
    return EX_OK;
}

int dbe_create_args(const char *cmd, int argc, char **argv, const char *optnames, dbe_opts *o,
                    udb_index_def **defs, unsigned *n)
{
    const char **specs = calloc((size_t)argc, sizeof *specs);
    char err[300];
    *n = 0;
    *defs = calloc((size_t)argc, sizeof **defs);
    int ex = !specs || !*defs ? dbe_fail(EX_USAGE, "out of memory")
                              : dbe_take_index_specs(cmd, &argc, argv, specs, n);
    if (ex == EX_OK && dbe_parse_opts(argc, argv, o, optnames) != 1)
        ex = dbe_usage(cmd);
    if (ex == EX_OK && *n == 0)
        ex = dbe_fail(EX_USAGE, "%s: give at least one --index TYPE:KEYSIZE[:ATTRS[:MAXITEMS]]", cmd);
    if (!o->layout)
        o->layout = UDB_LAYOUT_WIDE;
    for (unsigned i = 0; i < *n && ex == EX_OK; i++)
        if (dbe_parse_index_spec(specs[i], o->layout, &(*defs)[i], err, sizeof err))
            ex = dbe_fail(EX_USAGE, "%s: index %u (%s): %s", cmd, i + 1, specs[i], err);
    free(specs);
    return ex;
}

int cmd_create(int argc, char **argv)
{
    dbe_opts o = {0};
    udb_index_def *defs;
    unsigned n;
    int ex = dbe_create_args("create", argc, argv, "layout,sync", &o, &defs, &n);
    if (ex == EX_OK)
        ex = dbe_create_file(argv[1], &o, o.layout, defs, n);
    free(defs);
    return ex;
}

/* ---- append, delete, load: an open file and one index ----------------------------- */

typedef struct target {
    udb_ndx *d;
    unsigned ix;
    udb_index_info inf;
    uint8_t *key;       /* keysize bytes */
} target;

/* Open FILE writable and read index ix's definition; prints on failure. */
static int target_open(const char *path, const dbe_opts *o, const char *cmd, target *t)
{
    memset(t, 0, sizeof *t);
    t->ix = o->index ? o->index : 1;
    int rc = dbe_open_ndx(path, o, 1, &t->d);
    if (rc)
        return dbe_open_exit(rc);
    if ((rc = udb_ndx_info(t->d, t->ix, &t->inf)))
        return dbe_fail(dbe_exit_code(rc), "%s: %s", cmd, udb_ndx_errmsg(t->d));
    if (t->inf.def.keytype == UDB_KEY_VOID)
        return dbe_fail(EX_USAGE, "%s: index %u of %s is not defined", cmd, t->ix, path);
    if (!(t->key = malloc(t->inf.def.keysize)))
        return dbe_fail(EX_USAGE, "out of memory");
    return EX_OK;
}

/* Close and report a failed close (the last chance to see an I/O error). */
static int target_close(target *t, int ex)
{
    int rc = udb_ndx_close(t->d);
    free(t->key);
    if (rc && ex == EX_OK)
        return dbe_fail(EX_USAGE, "closing the file failed (%s)", udb_strerror(rc));
    return ex;
}

static int target_key(target *t, const char *cmd, const char *text, size_t *len)
{
    char err[200];
    if (dbe_key_parse(&t->inf, udb_ndx_layout(t->d), text, t->key, len, err, sizeof err))
        return dbe_fail(EX_USAGE, "%s: %s", cmd, err);
    return EX_OK;
}

int cmd_append(int argc, char **argv)
{
    dbe_opts o = {0};
    target t;
    int64_t dp;
    size_t len;
    if (dbe_parse_opts(argc, argv, &o, "layout,index,sync") != 3)
        return dbe_usage("append");
    if (dbe_parse_int64(argv[3], &dp) || dp < 0)
        return dbe_fail(EX_USAGE, "append: data position '%s' is not a number >= 0", argv[3]);
    int ex = target_open(argv[1], &o, "append", &t);
    if (ex == EX_OK)
        ex = target_key(&t, "append", argv[2], &len);
    if (ex == EX_OK) {
        int rc = udb_ndx_append(t.d, t.ix, t.key, len, dp);
        if (rc)
            ex = dbe_fail(rc == UDB_EXISTS ? EX_ABSENT : EX_USAGE, "append: %s",
                          udb_ndx_errmsg(t.d));
    }
    return target_close(&t, ex);
}

int cmd_delete(int argc, char **argv)
{
    dbe_opts o = {0};
    target t;
    size_t len;
    uint64_t removed = 0;
    if (dbe_parse_opts(argc, argv, &o, "layout,index,sync") != 2)
        return dbe_usage("delete");
    int ex = target_open(argv[1], &o, "delete", &t);
    if (ex == EX_OK)
        ex = target_key(&t, "delete", argv[2], &len);
    if (ex == EX_OK) {
        int rc = udb_ndx_delete(t.d, t.ix, t.key, len, &removed);
        if (rc && rc != UDB_NOTFOUND)
            ex = dbe_fail(EX_USAGE, "delete: %s", udb_ndx_errmsg(t.d));
        else
            printf("%llu\n", (unsigned long long)removed);
        if (ex == EX_OK && removed == 0)
            ex = EX_ABSENT;
    }
    return target_close(&t, ex);
}

/* ---- load ----------------------------------------------------------------------------- */

enum { LOAD_REPORT_MAX = 20 };  /* bad lines reported before the rest are counted */

typedef struct load_state {
    target *t;
    unsigned long line, bad, loaded;
    int failed;         /* stop appending: the transaction will roll back */
    char *buf;          /* the current line */
    size_t cap;
} load_state;

static void load_bad(load_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void load_bad(load_state *s, const char *fmt, ...)
{
    va_list ap;
    s->failed = 1;
    if (++s->bad > LOAD_REPORT_MAX)
        return;
    dbe_progress_end();
    fprintf(stderr, "dbe: load: line %lu: ", s->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* One "key<TAB>datapos" line (newline removed) into t->key, *len, *dp;
   -1 after reporting it. */
static int load_parse(load_state *s, char *text, size_t *len, int64_t *dp)
{
    char err[200], *tab = strrchr(text, '\t');
    if (!tab) {
        load_bad(s, "no TAB: lines are key<TAB>datapos");
        return -1;
    }
    *tab = 0;
    if (dbe_parse_int64(tab + 1, dp) || *dp < 0) {
        load_bad(s, "data position '%s' is not a number >= 0", tab + 1);
        return -1;
    }
    if (dbe_key_parse(&s->t->inf, udb_ndx_layout(s->t->d), text, s->t->key, len, err, sizeof err)) {
        load_bad(s, "%s", err);
        return -1;
    }
    return 0;
}

/* The next line without its newline, or NULL at the end of the input. */
static char *load_getline(load_state *s)
{
    ssize_t n = getline(&s->buf, &s->cap, stdin);
    if (n < 0)
        return NULL;
    s->line++;
    while (n > 0 && (s->buf[n - 1] == '\n' || s->buf[n - 1] == '\r'))
        s->buf[--n] = 0;
    dbe_progress("load", s->line, 0);
    return s->buf;
}

/* Every line checked, each appended while nothing has failed. */
static void load_stream(load_state *s)
{
    char *text;
    size_t len;
    int64_t dp;
    while ((text = load_getline(s)))
        if (!load_parse(s, text, &len, &dp) && !s->failed) {
            if (udb_ndx_append(s->t->d, s->t->ix, s->t->key, len, dp))
                load_bad(s, "%s", udb_ndx_errmsg(s->t->d));
            else
                s->loaded++;
        }
}

/* --sorted: the record source of udb_ndx_load_sorted. After a bad line the
   rest are only checked, then the load is stopped. */
static int load_next(void *arg, const void **key, size_t *keylen, int64_t *dp)
{
    load_state *s = arg;
    char *text;
    while ((text = load_getline(s)))
        if (!load_parse(s, text, keylen, dp) && !s->failed) {
            *key = s->t->key;
            s->loaded++;
            return 0;
        }
    return s->failed ? UDB_INVAL : 1;
}

static int load_sorted(load_state *s)
{
    /* checked first: the message names the index, and udb_ndx_load_sorted
       mishandles a non-empty index (it frees an uninitialised state) */
    if (!dbe_index_empty(s->t->d, s->t->ix)) {
        s->failed = 1;
        return dbe_fail(EX_USAGE, "load: index %u is not empty: --sorted loads only into an empty index",
                        s->t->ix);
    }
    int rc = udb_ndx_load_sorted(s->t->d, s->t->ix, load_next, s, NULL);
    if (rc && !s->failed)
        load_bad(s, "%s", udb_ndx_errmsg(s->t->d));
    return rc;
}

static int load_failed(load_state *s)
{
    dbe_progress_end();
    if (s->bad > LOAD_REPORT_MAX)
        dbe_fail(EX_USAGE, "load: %lu more bad line(s) not shown", s->bad - LOAD_REPORT_MAX);
    udb_ndx_rollback(s->t->d);
    if (s->bad)
        dbe_fail(EX_USAGE, "load: nothing loaded (%lu bad line(s) of %lu; rolled back)", s->bad,
                 s->line);
    else
        dbe_fail(EX_USAGE, "load: nothing loaded (rolled back)");
    return EX_USAGE;
}

int cmd_load(int argc, char **argv)
{
    dbe_opts o = {0};
    target t;
    load_state s = {&t, 0, 0, 0, 0, NULL, 0};
    if (dbe_parse_opts(argc, argv, &o, "layout,index,sync,sorted") != 1)
        return dbe_usage("load");
    int ex = target_open(argv[1], &o, "load", &t);
    if (ex != EX_OK)
        return target_close(&t, ex);
    int rc = udb_ndx_begin(t.d);
    if (rc)
        return target_close(&t, dbe_fail(EX_USAGE, "load: %s", udb_ndx_errmsg(t.d)));
    if (o.sorted)
        load_sorted(&s);
    else
        load_stream(&s);
    dbe_progress_end();
    free(s.buf);
    if (ferror(stdin)) {
        s.failed = 1;
        dbe_fail(EX_USAGE, "load: reading the standard input failed");
    }
    if (s.failed)
        return target_close(&t, load_failed(&s));
    if ((rc = udb_ndx_commit(t.d)))
        return target_close(&t, dbe_fail(EX_USAGE, "load: %s", udb_ndx_errmsg(t.d)));
    printf("%lu\n", s.loaded);
    return target_close(&t, EX_OK);
}
