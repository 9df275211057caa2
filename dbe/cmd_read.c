/*
 * cmd_read.c — dbe's read commands: info, list, find, check. Each opens its
 * file read-only and changes nothing.
 */
#include <stdlib.h>
#include <string.h>
#include "dbe_store.h"

static const char *layout_name(int l)
{
    return l == UDB_LAYOUT_CLASSIC ? "classic" : "wide";
}

void dbe_index_places_text(const udb_index_info *f)
{
    printf("  batches: %lld nodes, %lld leaves\n", (long long)f->def.create_nodes,
           (long long)f->def.create_leaves);
    printf("  levels %u, root %lld, first leaf %lld, last leaf %lld, free node %lld, free leaf %lld\n",
           f->levels, (long long)f->root, (long long)f->first_leaf, (long long)f->last_leaf,
           (long long)f->free_node, (long long)f->free_leaf);
    if (!f->initialised)
        printf("  no tree recorded in the index info (stale infos? see dbe check)\n");
    else
        printf("  sentinel: %s\n", f->sentinel_is_max ? "the maximum key"
                                   : "the original's (not the maximum; udb rewrites it on the first change)");
}

void dbe_index_places_json(const udb_index_info *f)
{
    printf(", \"attrs\": %u, \"create_nodes\": %lld, \"create_leaves\": %lld, \"root\": %lld, "
           "\"first_leaf\": %lld, \"last_leaf\": %lld, \"free_node\": %lld, \"free_leaf\": %lld, "
           "\"initialised\": %s", f->def.attrs, (long long)f->def.create_nodes,
           (long long)f->def.create_leaves, (long long)f->root, (long long)f->first_leaf,
           (long long)f->last_leaf, (long long)f->free_node, (long long)f->free_leaf,
           f->initialised ? "true" : "false");
    if (f->initialised)
        printf(", \"sentinel_is_max\": %s", f->sentinel_is_max ? "true" : "false");
}

static void print_index_text(udb_ndx *d, unsigned ix, const udb_index_info *f)
{
    printf("index %u: %s keysize %u attrs %s maxitems %u (node %zu bytes, leaf %zu bytes)\n", ix,
           dbe_type_name(f->def.keytype), f->def.keysize, dbe_attrs_name(f->def.attrs), f->def.maxitems,
           f->node_size, f->leaf_size);
    if (f->def.keytype == UDB_KEY_VOID) {
        printf("  not defined\n");
        return;
    }
    dbe_index_places_text(f);
    if (f->initialised)
        printf("  records %llu\n", (unsigned long long)dbe_count_records(d, ix));
}

static void print_index_json(udb_ndx *d, unsigned ix, const udb_index_info *f, int last)
{
    printf("    {\"index\": %u, \"type\": \"%s\", \"keysize\": %u, \"maxitems\": %u, "
           "\"node_size\": %zu, \"leaf_size\": %zu, \"levels\": %u",
           ix, dbe_type_name(f->def.keytype), f->def.keysize, f->def.maxitems, f->node_size,
           f->leaf_size, f->levels);
    dbe_index_places_json(f);
    if (f->initialised)
        printf(", \"records\": %llu", (unsigned long long)dbe_count_records(d, ix));
    printf("}%s\n", last ? "" : ",");
}

static int info_ndx(udb_ndx *d, const char *path, const dbe_opts *o)
{
    unsigned n = udb_ndx_count(d);
    int layout = udb_ndx_layout(d);
    udb_ndx_begin(d);
    if (o->json)
        printf("{\n  \"file\": \"%s\",\n  \"kind\": \"multiindex\",\n  \"layout\": \"%s\",\n"
               "  \"size\": %llu,\n  \"indexes\": [\n",
               path, layout_name(layout), (unsigned long long)udb_ndx_file_size(d));
    else
        printf("file: %s\nkind: MultiIndex\nlayout: %s (%d-bit positions)\nsize: %llu bytes\nindexes: %u\n",
               path, layout_name(layout), layout == UDB_LAYOUT_CLASSIC ? 32 : 64,
               (unsigned long long)udb_ndx_file_size(d), n);
    for (unsigned i = 1; i <= n; i++) {
        udb_index_info f;
        if (udb_ndx_info(d, i, &f))
            return dbe_fail(EX_USAGE, "%s", udb_ndx_errmsg(d));
        if (o->json)
            print_index_json(d, i, &f, i == n);
        else
            print_index_text(d, i, &f);
    }
    if (o->json)
        printf("  ]\n}\n");
    udb_ndx_commit(d);
    return EX_OK;
}

static int info_heap(udb_heap *h, const char *path, const dbe_opts *o)
{
    udb_heap_info f;
    int rc = udb_heap_info_get(h, &f);
    if (rc)
        return dbe_fail(dbe_exit_code(rc), "%s", udb_heap_errmsg(h));
    if (o->json)
        printf("{\n  \"file\": \"%s\",\n  \"kind\": \"heap\",\n  \"layout\": \"%s\",\n  \"size\": %llu,\n"
               "  \"first_table\": %lld,\n  \"table_slots\": %u,\n  \"table_size\": %zu,\n"
               "  \"tables\": %u,\n  \"holes\": %llu,\n  \"hole_bytes\": %llu\n}\n",
               path, layout_name(f.layout), (unsigned long long)f.file_size, (long long)f.first_table,
               f.table_slots, f.table_size, f.tables, (unsigned long long)f.holes,
               (unsigned long long)f.hole_bytes);
    else
        printf("file: %s\nkind: HeapFile\nlayout: %s (%d-bit positions)\nsize: %llu bytes\n"
               "first holes table: %lld\nslots per table: %u (%zu bytes per table)\n"
               "tables: %u\nholes: %llu (%llu bytes)\n",
               path, layout_name(f.layout), f.layout == UDB_LAYOUT_CLASSIC ? 32 : 64,
               (unsigned long long)f.file_size, (long long)f.first_table, f.table_slots, f.table_size,
               f.tables, (unsigned long long)f.holes, (unsigned long long)f.hole_bytes);
    return EX_OK;
}

int dbe_open_any(const char *path, const dbe_opts *o, udb_ndx **d, udb_heap **h)
{
    udb_options opts;
    dbe_options(&opts, o, 0);
    *d = NULL;
    *h = NULL;
    int rc = udb_ndx_open(path, &opts, d);
    if (rc != UDB_FORMAT) {
        if (rc)
            dbe_fail(rc, "%s", udb_ndx_errmsg(*d));
        return rc;
    }
    int rh = udb_heap_open(path, &opts, h);
    if (rh == 0) {
        udb_ndx_close(*d);
        *d = NULL;
        return 0;
    }
    if (rh == UDB_FORMAT)
        dbe_not_kind(dbe_command, path, o, DBE_NEED_UDB, udb_ndx_errmsg(*d));
    else
        dbe_fail(rh, "%s", udb_heap_errmsg(*h));
    return rh;
}

void dbe_close_any(udb_ndx *d, udb_heap *h)
{
    udb_ndx_close(d);
    udb_heap_close(h);
}

int cmd_info(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout,json") != 1)
        return dbe_usage("info");
    if (dbe_is_store(argv[1]))
        return dbe_info_store(argv[1], &o);
    dbe_say_store_file("info", argv[1]);
    udb_ndx *d;
    udb_heap *h;
    int rc = dbe_open_any(argv[1], &o, &d, &h);
    if (rc) {
        dbe_close_any(d, h);
        return dbe_open_exit(rc);
    }
    int ex = d ? info_ndx(d, argv[1], &o) : info_heap(h, argv[1], &o);
    dbe_close_any(d, h);
    return ex;
}

int cmd_list(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout,index,reverse,raw") != 1)
        return dbe_usage("list");
    udb_ndx *d;
    unsigned ix = o.index ? o.index : 1;
    int rc = dbe_open_ndx(argv[1], &o, 0, &d);
    if (rc)
        return dbe_open_exit(rc);
    udb_index_info f;
    udb_cursor *c = NULL;
    udb_item it;
    udb_ndx_begin(d);
    if ((rc = udb_ndx_info(d, ix, &f)) || (rc = udb_cursor_open(d, ix, &c))) {
        dbe_fail(rc, "%s", udb_ndx_errmsg(d));
        udb_ndx_close(d);
        return dbe_exit_code(rc);
    }
    for (rc = o.reverse ? udb_cursor_last(c, &it) : udb_cursor_first(c, &it); !rc;
         rc = o.reverse ? udb_cursor_prev(c, &it) : udb_cursor_next(c, &it)) {
        dbe_key_print(stdout, &f, udb_ndx_layout(d), it.key, o.raw);
        printf("\t%lld\n", (long long)it.datapos);
    }
    int ex = EX_OK;
    if (rc != UDB_NOTFOUND)
        ex = dbe_fail(dbe_exit_code(rc), "%s", udb_ndx_errmsg(d));
    udb_cursor_close(c);
    udb_ndx_close(d);
    return ex;
}

int cmd_find(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout,index,all") != 2)
        return dbe_usage("find");
    udb_ndx *d;
    unsigned ix = o.index ? o.index : 1;
    int rc = dbe_open_ndx(argv[1], &o, 0, &d);
    if (rc)
        return dbe_open_exit(rc);
    udb_index_info f;
    udb_cursor *c = NULL;
    udb_item it;
    char err[200];
    uint8_t *key = NULL;
    size_t len;
    int ex = EX_OK;
    if ((rc = udb_ndx_info(d, ix, &f)) || (rc = udb_cursor_open(d, ix, &c))) {
        ex = dbe_fail(dbe_exit_code(rc), "%s", udb_ndx_errmsg(d));
        goto out;
    }
    key = malloc(f.def.keysize);
    if (!key || dbe_key_parse(&f, udb_ndx_layout(d), argv[2], key, &len, err, sizeof err)) {
        ex = dbe_fail(EX_USAGE, "find: %s", key ? err : "out of memory");
        goto out;
    }
    rc = udb_cursor_find(c, key, len, &it);
    if (rc == UDB_NOTFOUND) {
        ex = EX_ABSENT;
        goto out;
    }
    if (rc) {
        ex = dbe_fail(dbe_exit_code(rc), "%s", udb_ndx_errmsg(d));
        goto out;
    }
    printf("%lld\n", (long long)it.datapos);
    uint8_t *first = malloc(f.def.keysize);
    if (o.all && first) {
        int same = 0;
        memcpy(first, it.key, f.def.keysize);
        while (!(rc = udb_cursor_next(c, &it)) &&
               !udb_ndx_compare(d, ix, first, it.key, &same) && same == 0)
            printf("%lld\n", (long long)it.datapos);
    }
    free(first);
out:
    free(key);
    udb_cursor_close(c);
    udb_ndx_close(d);
    return ex;
}

/* ---- check ------------------------------------------------------------------------ */
void dbe_print_finding(void *arg, int severity, int64_t off, unsigned index, const char *text)
{
    (void)arg;
    dbe_progress_end();
    printf("%s: ", severity == UDB_PROBLEM ? "problem" : "note");
    if (index)
        printf("index %u: ", index);
    if (off >= 0)
        printf("offset %lld: ", (long long)off);
    printf("%s\n", text);
}

int dbe_print_check_summary(const udb_check_report *rep)
{
    for (unsigned i = 0; i < rep->num_indexes; i++) {
        udb_check_index *r = &rep->index[i];
        printf("index %u: %llu records, %llu distinct keys, %u levels, %llu nodes, %llu leaves, "
               "%llu free nodes, %llu free leaves\n",
               i + 1, (unsigned long long)r->records, (unsigned long long)r->distinct, r->levels,
               (unsigned long long)r->nodes, (unsigned long long)r->leaves,
               (unsigned long long)r->free_nodes, (unsigned long long)r->free_leaves);
    }
    if (rep->problems)
        printf("%u problem(s), %u note(s)\n", rep->problems, rep->notes);
    else
        printf("clean%s\n", rep->notes ? " (see notes)" : "");
    return rep->problems ? EX_ABSENT : EX_OK;
}

/* The holes chain as the allocator validates it. */
static int check_heap(udb_heap *h)
{
    udb_heap_info inf;
    udb_check_report rep;
    int rc = udb_heap_check(h, dbe_print_finding, NULL, &rep);
    if (rc && rc != UDB_CORRUPT)
        return dbe_fail(dbe_exit_code(rc), "check: %s", udb_heap_errmsg(h));
    if (!rc && !udb_heap_info_get(h, &inf))
        printf("heap: %u holes table(s), %llu hole(s), %llu bytes free\n", inf.tables,
               (unsigned long long)inf.holes, (unsigned long long)inf.hole_bytes);
    return dbe_print_check_summary(&rep);
}

int cmd_check(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout") != 1)
        return dbe_usage("check");
    if (dbe_is_store(argv[1]))
        return dbe_check_store(argv[1], &o);
    dbe_say_store_file("check", argv[1]);
    if (dbe_report_hot(argv[1], argv[1]))
        return EX_ABSENT;
    udb_ndx *d;
    udb_heap *h;
    int rc = dbe_open_any(argv[1], &o, &d, &h);
    if (rc) {
        dbe_close_any(d, h);
        return dbe_open_exit(rc);
    }
    if (h) {
        int ex = check_heap(h);
        dbe_close_any(d, h);
        return ex;
    }
    udb_check_report rep;
    rc = udb_ndx_check(d, dbe_print_finding, NULL, &rep);
    dbe_progress_end();
    if (rc && rc != UDB_CORRUPT) {
        int ex = dbe_fail(dbe_exit_code(rc), "%s", udb_ndx_errmsg(d));
        dbe_close_any(d, h);
        return ex;
    }
    int ex = dbe_print_check_summary(&rep);
    udb_check_report_free(&rep);
    dbe_close_any(d, h);
    return ex;
}
