/*
 * cmd_store.c — dbe's record-store commands: create-store, put, update,
 * get, del, compact, info of a store (its descriptor, what can be rebuilt),
 * and opening a store with its index definitions (shared with scan, count,
 * export and import). Works through udb_store_* only; never touches
 * NAME.ndx or NAME.dat directly.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dbe_store.h"

/* ---- opening -------------------------------------------------------------------------- */
static int store_defs(dbe_store *st, const char *cmd)
{
    st->n = udb_store_count(st->s);
    st->inf = calloc(st->n, sizeof *st->inf);
    st->key = calloc(st->n, sizeof *st->key);
    st->len = calloc(st->n, sizeof *st->len);
    if (!st->inf || !st->key || !st->len)
        return dbe_fail(EX_USAGE, "out of memory");
    for (unsigned i = 0; i < st->n; i++) {
        int rc = udb_store_index_info(st->s, i + 1, &st->inf[i]);
        if (rc)
            return dbe_fail(dbe_exit_code(rc), "%s: %s", cmd, udb_store_errmsg(st->s));
        if (!(st->key[i] = malloc(st->inf[i].def.keysize)))
            return dbe_fail(EX_USAGE, "out of memory");
    }
    return EX_OK;
}

static int store_open(const char *arg, const dbe_opts *o, int writable, const char *cmd, dbe_store *st)
{
    udb_options opts;
    int named_file;
    struct stat sb;
    memset(st, 0, sizeof *st);
    st->name = dbe_store_of(arg, &named_file);
    if (!st->name && !stat(arg, &sb))
        return dbe_not_kind(cmd, arg, o, DBE_NEED_STORE, NULL);
    if (!st->name && !(st->name = strdup(arg))) /* the library says what is missing */
        return dbe_fail(EX_USAGE, "out of memory");
    if (named_file)
        dbe_say_store(st->name);
    dbe_options(&opts, o, writable);
    int rc = udb_store_open(st->name, &opts, &st->s);
    if (rc)
        return dbe_fail(dbe_open_exit(rc), "%s: %s", cmd, udb_store_errmsg(st->s));
    return store_defs(st, cmd);
}

/* On failure nothing stays open or allocated (st zeroed: dbe_store_close
   on it does nothing). */
int dbe_store_open(const char *arg, const dbe_opts *o, int writable, const char *cmd, dbe_store *st)
{
    int ex = store_open(arg, o, writable, cmd, st);
    if (ex != EX_OK) {
        dbe_store_close(st, ex);
        memset(st, 0, sizeof *st);
    }
    return ex;
}

int dbe_store_close(dbe_store *st, int ex)
{
    int rc = udb_store_close(st->s);
    for (unsigned i = 0; st->key && i < st->n; i++)
        free(st->key[i]);
    free(st->key);
    free(st->len);
    free(st->inf);
    free(st->name);
    if (rc && ex == EX_OK)
        return dbe_fail(EX_USAGE, "closing the store failed (%s)", udb_strerror(rc));
    return ex;
}

int dbe_store_key(dbe_store *st, unsigned ix, const char *cmd, const char *text)
{
    char err[200];
    if (ix < 1 || ix > st->n)
        return dbe_fail(EX_USAGE, "%s: no index %u (the store has %u)", cmd, ix, st->n);
    if (dbe_key_parse(&st->inf[ix - 1], UDB_LAYOUT_AUTO, text, st->key[ix - 1], &st->len[ix - 1],
                      err, sizeof err))
        return dbe_fail(EX_USAGE, "%s: index %u: %s", cmd, ix, err);
    return EX_OK;
}

/* ---- create-store ----------------------------------------------------------------------- */
static int create_store(const char *name, const dbe_opts *o, const udb_store_def *def)
{
    udb_options opts;
    udb_store *s;
    udb_options_init(&opts);
    opts.layout = o->layout ? o->layout : UDB_LAYOUT_WIDE;
    opts.sync = o->sync;
    opts.journal = o->journal;
    int rc = udb_store_create(name, &opts, def, &s);
    int ex = rc ? dbe_fail(EX_USAGE, "create-store: %s", udb_store_errmsg(s)) : EX_OK;
    rc = udb_store_close(s);
    if (rc && ex == EX_OK)
        ex = dbe_fail(EX_USAGE, "create-store: closing %s failed (%s)", name, udb_strerror(rc));
    return ex;
}

int cmd_create_store(int argc, char **argv)
{
    dbe_opts o = {0};
    udb_index_def *defs;
    unsigned n;
    int ex = dbe_create_args("create-store", argc, argv, "layout,sync,compress", &o, &defs, &n);
    if (ex == EX_OK) {
        udb_store_def def = {n, defs, o.compress, 0};
        ex = create_store(argv[1], &o, &def);
    }
    free(defs);
    return ex;
}

/* ---- put, get, del ----------------------------------------------------------------------- */
/* The whole standard input (binary-safe). */
static int read_stdin(udb_val *v)
{
    size_t got;
    do {
        if (v->cap - v->len < 65536) {
            void *p = realloc(v->data, v->cap + 65536);
            if (!p)
                return dbe_fail(EX_USAGE, "out of memory");
            v->data = p;
            v->cap += 65536;
        }
        got = fread((char *)v->data + v->len, 1, v->cap - v->len, stdin);
        v->len += got;
    } while (got);
    return EX_OK;
}

/* argv: put STORE KEY... -- VALUE; the position of that "--" (the one
   before the last argument: a key may be "--" too), or 0. */
static int put_split(int npos, char **argv)
{
    return npos >= 3 && !strcmp(argv[npos - 1], "--") ? npos - 1 : 0;
}

/* The VALUE argument: itself, or for "-" the standard input into v. */
static int value_arg(const char *cmd, const char *value, udb_val *v, const void **p, size_t *len)
{
    *p = value;
    *len = strlen(value);
    if (strcmp(value, "-"))
        return EX_OK;
    int ex = read_stdin(v);
    if (ex)
        return ex;
    if (ferror(stdin))
        return dbe_fail(EX_USAGE, "%s: reading the standard input failed", cmd);
    *p = v->data ? v->data : "";
    *len = v->len;
    return EX_OK;
}

static int put_record(dbe_store *st, int nkeys, char **keys, const char *value)
{
    udb_val v = {0};
    udb_key k[64];
    const void *p;
    size_t len;
    if ((unsigned)nkeys != st->n)
        return dbe_fail(EX_USAGE, "put: the store has %u index(es): give one KEY for each, in "
                        "index order, then -- VALUE", st->n);
    for (unsigned i = 0; i < st->n; i++) {
        if (dbe_store_key(st, i + 1, "put", keys[i]))
            return EX_USAGE;
        k[i] = (udb_key){st->key[i], st->len[i]};
    }
    int ex = value_arg("put", value, &v, &p, &len);
    int rc = ex ? 0 : udb_store_put(st->s, k, p, len);
    if (rc)
        ex = dbe_fail(rc == UDB_EXISTS ? EX_ABSENT : EX_USAGE, "put: %s", udb_store_errmsg(st->s));
    udb_val_free(&v);
    return ex;
}

int cmd_put(int argc, char **argv)
{
    dbe_opts o = {0};
    dbe_store st;
    int npos = dbe_parse_opts(argc, argv, &o, "layout,sync");
    int dash = npos < 0 ? 0 : put_split(npos, argv);
    if (!dash)
        return dbe_usage("put");
    int ex = dbe_store_open(argv[1], &o, 1, "put", &st);
    if (ex == EX_OK)
        ex = put_record(&st, dash - 2, argv + 2, argv[dash + 1]);
    return dbe_store_close(&st, ex);
}

/* update STORE [-i N] KEY -- VALUE: the newest record with KEY, in one
   transaction (udb_store_update). */
int cmd_update(int argc, char **argv)
{
    dbe_opts o = {0};
    dbe_store st;
    udb_val v = {0};
    const void *p;
    size_t len;
    int npos = dbe_parse_opts(argc, argv, &o, "layout,index,sync");
    if (npos < 0 || put_split(npos, argv) != 3)
        return dbe_usage("update");
    unsigned ix = o.index ? o.index : 1;
    int ex = dbe_store_open(argv[1], &o, 1, "update", &st);
    if (ex == EX_OK)
        ex = dbe_store_key(&st, ix, "update", argv[2]);
    if (ex == EX_OK)
        ex = value_arg("update", argv[4], &v, &p, &len);
    if (ex == EX_OK) {
        int rc = udb_store_update(st.s, ix, st.key[ix - 1], st.len[ix - 1], p, len);
        if (rc == UDB_NOTFOUND)
            ex = dbe_fail(EX_ABSENT, "update: index %u holds no record with the key %s; nothing "
                          "changed (dbe put adds one)", ix, argv[2]);
        else if (rc)
            ex = dbe_fail(EX_USAGE, "update: %s", udb_store_errmsg(st.s));
    }
    udb_val_free(&v);
    return dbe_store_close(&st, ex);
}

/* "get STORE -- KEY": the "--" only ends the options (a key may start with -). */
static int key_args(int npos, char **argv)
{
    if (npos == 3 && !strcmp(argv[2], "--")) {
        argv[2] = argv[3];
        return 2;
    }
    return npos;
}

int cmd_get(int argc, char **argv)
{
    dbe_opts o = {0};
    dbe_store st;
    udb_val v = {0};
    if (key_args(dbe_parse_opts(argc, argv, &o, "layout,index,hex"), argv) != 2)
        return dbe_usage("get");
    unsigned ix = o.index ? o.index : 1;
    int ex = dbe_store_open(argv[1], &o, 0, "get", &st);
    if (ex == EX_OK)
        ex = dbe_store_key(&st, ix, "get", argv[2]);
    if (ex == EX_OK) {
        int rc = udb_store_get(st.s, ix, st.key[ix - 1], st.len[ix - 1], &v);
        if (rc == UDB_NOTFOUND)
            ex = EX_ABSENT;
        else if (rc)
            ex = dbe_fail(dbe_exit_code(rc), "get: %s", udb_store_errmsg(st.s));
    }
    if (ex == EX_OK && o.hex) {
        dbe_dump d;
        dbe_dump_start(&d, stdout, 0);
        dbe_dump_feed(&d, v.data, v.len);
        dbe_dump_end(&d);
    } else if (ex == EX_OK && v.len) {
        fwrite(v.data, 1, v.len, stdout);
    }
    if (ex == EX_OK && fflush(stdout))
        ex = dbe_fail(EX_USAGE, "get: writing the value failed");
    udb_val_free(&v);
    return dbe_store_close(&st, ex);
}

int cmd_del(int argc, char **argv)
{
    dbe_opts o = {0};
    dbe_store st;
    uint64_t removed = 0;
    if (key_args(dbe_parse_opts(argc, argv, &o, "layout,index,sync"), argv) != 2)
        return dbe_usage("del");
    unsigned ix = o.index ? o.index : 1;
    int ex = dbe_store_open(argv[1], &o, 1, "del", &st);
    if (ex == EX_OK)
        ex = dbe_store_key(&st, ix, "del", argv[2]);
    if (ex == EX_OK) {
        int rc = udb_store_delete(st.s, ix, st.key[ix - 1], st.len[ix - 1], &removed);
        if (rc && rc != UDB_NOTFOUND)
            ex = dbe_fail(dbe_exit_code(rc), "del: %s", udb_store_errmsg(st.s));
        else
            printf("%llu\n", (unsigned long long)removed);
        if (ex == EX_OK && removed == 0)
            ex = EX_ABSENT;
    }
    return dbe_store_close(&st, ex);
}

/* ---- compact -------------------------------------------------------------------------------- */
static long long file_size(const char *name, const char *ext)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", name, ext);
    return stat(path, &st) ? -1 : (long long)st.st_size;
}

/* An index file of its own: its leaves in key order (udb_ndx_order). */
static int compact_ndx(const char *path, const dbe_opts *o)
{
    udb_ndx *d;
    int ex = EX_OK, rc = dbe_open_ndx(path, o, 1, &d);
    if (rc)
        return dbe_open_exit(rc);
    rc = udb_ndx_order(d, o->index);
    dbe_progress_end();
    if (rc)
        ex = dbe_fail(dbe_exit_code(rc), "compact: %s", udb_ndx_errmsg(d));
    else if (o->index)
        printf("%s: the leaves of index %u lie in key order\n", path, o->index);
    else
        printf("%s: the leaves of every index lie in key order\n", path);
    if (udb_ndx_close(d) && ex == EX_OK)
        ex = dbe_fail(1, "compact: %s", udb_ndx_errmsg(d));
    return ex;
}

int cmd_compact(int argc, char **argv)
{
    dbe_opts o = {0};
    dbe_store st;
    char name[4096];
    if (dbe_parse_opts(argc, argv, &o, "layout,sync,index") != 1)
        return dbe_usage("compact");
    size_t n = strlen(argv[1]);
    if (n > 4 && !strcmp(argv[1] + n - 4, ".ndx") && udb_store_owner(argv[1], NULL, name, sizeof name) != 1)
        return compact_ndx(argv[1], &o);
    int ex = dbe_store_open(argv[1], &o, 1, "compact", &st);
    if (ex == EX_OK) {
        long long before = file_size(st.name, ".dat"), after;
        int rc = udb_store_compact_order(st.s, o.index); /* -i N: in key order of index N */
        dbe_progress_end();
        after = file_size(st.name, ".dat");
        if (rc)
            ex = dbe_fail(dbe_exit_code(rc), "compact: %s", udb_store_errmsg(st.s));
        else
            printf("%s.dat: %lld bytes before, %lld after (%lld freed)\n", st.name, before, after,
                   before - after);
    }
    return dbe_store_close(&st, ex);
}

/* ---- info: the descriptor and what can be rebuilt from the records ----------------------------- */
enum { REBUILD_NO, REBUILD_WITH_DEFS, REBUILD_ALONE };

static int rebuild_kind(const udb_store_about *a)
{
    return !a->keyed ? REBUILD_NO : a->defs ? REBUILD_ALONE : REBUILD_WITH_DEFS;
}

static void print_rebuild(const char *name, const udb_store_about *a)
{
    switch (rebuild_kind(a)) {
    case REBUILD_NO:
        printf("rebuild: no: a one-index store written by udb 0.1 (store descriptor version 1): its "
               "records hold no key, so the index cannot be rebuilt from them (dbe repair %s can "
               "only rebuild %s.ndx from its own leaves)\n", name, name);
        break;
    case REBUILD_WITH_DEFS:
        printf("rebuild: with the definitions: a store written by udb 0.1 (store descriptor version "
               "1): its records hold every key, its descriptor no index definition; dbe repair %s "
               "rebuilds the indexes from %s.dat with the definitions in %s.ndx, or, when those are "
               "lost, with --index TYPE:KEYSIZE[:ATTRS[:MAXITEMS]]... as at create-store\n",
               name, name, name);
        break;
    default:
        printf("rebuild: yes: the records hold every key and the store descriptor every index "
               "definition: dbe repair %s rebuilds %s.ndx from %s.dat alone\n", name, name, name);
    }
}

static int about(const char *name, const dbe_opts *o, udb_store_about *a, char *msg, size_t len)
{
    udb_options opts;
    dbe_options(&opts, o, 0);
    return udb_store_about_get(name, &opts, a, msg, len);
}

int dbe_store_rebuild_line(const char *name, const dbe_opts *o)
{
    udb_store_about a;
    char msg[512];
    int rc = about(name, o, &a, msg, sizeof msg);
    if (!rc)
        print_rebuild(name, &a);
    return rc;
}

/* The definitions: the descriptor's, else the index file's (printed as
   such), else none. */
static void print_defs(const char *name, const dbe_opts *o, udb_store_about *a)
{
    dbe_store st;
    const char *from = "the store descriptor";
    if (!a->defs) {
        if (dbe_store_open(name, o, 0, "info", &st) != EX_OK) {
            printf("indexes: %u (their definitions are only in %s.ndx)\n", a->num_indexes, name);
            dbe_store_close(&st, EX_USAGE);
            return;
        }
        for (unsigned i = 0; i < st.n && i < a->num_indexes; i++)
            a->index[i] = st.inf[i].def;
        dbe_store_close(&st, EX_OK);
        from = "the index file";
    }
    for (unsigned i = 0; i < a->num_indexes; i++)
        printf("index %u: %s keysize %u attrs %s maxitems %u (from %s)\n", i + 1,
               dbe_type_name(a->index[i].keytype), a->index[i].keysize,
               dbe_attrs_name(a->index[i].attrs), a->index[i].maxitems, from);
}

static void print_descriptor(const udb_store_about *a)
{
    printf("descriptor: version %u, %u index(es), new records %s\n", a->version, a->num_indexes,
           a->compress ? "deflated when that saves space" : "stored plain");
}

static void about_json(const udb_store_about *a)
{
    static const char *kinds[] = {"no", "with_definitions", "alone"};
    printf("  \"descriptor_version\": %u,\n  \"compress\": %s,\n  \"keyed\": %s,\n"
           "  \"rebuild\": \"%s\",\n", a->version, a->compress ? "true" : "false",
           a->keyed ? "true" : "false", kinds[rebuild_kind(a)]);
}

int dbe_store_about_print(const char *name, const dbe_opts *o, int json)
{
    udb_store_about a;
    char msg[512];
    int rc = about(name, o, &a, msg, sizeof msg);
    if (!rc && json)
        about_json(&a);
    if (!rc && !json) {
        print_descriptor(&a);
        print_rebuild(name, &a);
    }
    return rc;
}

static void info_json(const char *name, const udb_store_about *a)
{
    printf("{\n  \"store\": ");
    dbe_json_string(stdout, (const uint8_t *)name, strlen(name));
    printf(",\n  \"kind\": \"store\",\n  \"layout\": \"%s\",\n",
           a->layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide");
    about_json(a);
    printf("  \"indexes\": [");
    for (unsigned i = 0; i < a->num_indexes; i++)
        if (a->defs)
            printf("%s\n    {\"index\": %u, \"type\": \"%s\", \"keysize\": %u, \"attrs\": %u, "
                   "\"maxitems\": %u}", i ? "," : "", i + 1, dbe_type_name(a->index[i].keytype),
                   a->index[i].keysize, a->index[i].attrs, a->index[i].maxitems);
        else
            printf("%s\n    {\"index\": %u}", i ? "," : "", i + 1);
    printf("\n  ]\n}\n");
}

int dbe_info_store(const char *name, const dbe_opts *o)
{
    udb_store_about a;
    char msg[512];
    int rc = about(name, o, &a, msg, sizeof msg);
    if (rc)
        return dbe_fail(dbe_open_exit(rc), "info: %s", msg);
    if (o->json) {
        info_json(name, &a);
        return EX_OK;
    }
    int classic = a.layout == UDB_LAYOUT_CLASSIC;
    printf("store: %s (%s.ndx + %s.dat)\nlayout: %s (%d-bit positions)\n", name, name, name,
           classic ? "classic" : "wide", classic ? 32 : 64);
    print_descriptor(&a);
    print_defs(name, o, &a);
    print_rebuild(name, &a);
    return EX_OK;
}
