/*
 * cmd_stat.c — dbe stat: the shape of a file in numbers, with every
 * attribute dbe info shows. Per index of a MultiIndex file: records,
 * distinct keys, levels, nodes per level, fill, free nodes and leaves,
 * bytes used and wasted; for a heap file: live bytes, holes and the
 * largest; for a store both and its descriptor; as text or --json.
 * Reads through udb_ndx_check, the tree walk and udb_heap_*; opens files
 * read-only and changes nothing.
 */
#include <stdlib.h>
#include <string.h>
#include "dbe_store.h"

typedef struct ixstat {
    udb_index_info inf;
    udb_check_index ck;         /* the check's counts */
    dbe_levels lv;              /* nodes and items per level */
    char why[300];              /* why the tree could not be walked, "" */
    uint64_t used, free_bytes, slack; /* bytes: live blocks, free lists,
                                         empty item slots */
} ixstat;

typedef struct ndxstat {
    int layout;
    unsigned n, problems;
    uint64_t size, header, unaccounted;
    ixstat *ix;
} ndxstat;

typedef struct heapstat {
    udb_heap_info f;
    uint64_t header, table_bytes, largest, live;
} heapstat;

/* ---- gathering ------------------------------------------------------------------------------- */
/* Bytes of one index: an item is a key and a position (4 bytes classic, 8 wide). */
static void index_bytes(ixstat *x, int layout)
{
    uint64_t item = x->inf.def.keysize + (layout == UDB_LAYOUT_CLASSIC ? 4 : 8);
    x->used = x->ck.nodes * x->inf.node_size + x->ck.leaves * x->inf.leaf_size;
    x->free_bytes = x->ck.free_nodes * x->inf.node_size + x->ck.free_leaves * x->inf.leaf_size;
    for (unsigned l = 1; l <= x->lv.levels; l++)
        x->slack += (x->lv.nodes[l] * x->inf.def.maxitems - x->lv.items[l]) * item;
}

static int ndx_index(udb_ndx *d, unsigned i, const udb_check_report *rep, ndxstat *s)
{
    ixstat *x = &s->ix[i];
    int rc = udb_ndx_info(d, i + 1, &x->inf);
    if (rc || x->inf.def.keytype == UDB_KEY_VOID)
        return rc;
    x->ck = rep->index[i];
    if (dbe_tree_levels(d, i + 1, &x->lv))
        snprintf(x->why, sizeof x->why, "%s", udb_ndx_errmsg(d));
    index_bytes(x, s->layout);
    return 0;
}

static int ndx_gather(udb_ndx *d, ndxstat *s)
{
    udb_check_report rep = {0};
    int rc = udb_ndx_check(d, NULL, NULL, &rep);
    dbe_progress_end();
    if (rc && rc != UDB_CORRUPT)
        return rc;
    uint64_t blocks = 0;
    s->layout = udb_ndx_layout(d);
    s->n = udb_ndx_count(d);
    s->size = udb_ndx_file_size(d);
    s->problems = rep.problems;
    s->unaccounted = rep.unaccounted_bytes;
    s->ix = calloc(s->n, sizeof *s->ix);
    rc = s->ix ? 0 : UDB_NOMEM;
    for (unsigned i = 0; i < s->n && !rc; i++) {
        rc = ndx_index(d, i, &rep, s);
        blocks += s->ix[i].used + s->ix[i].free_bytes;
    }
    udb_check_report_free(&rep);
    s->header = s->size > blocks + s->unaccounted ? s->size - blocks - s->unaccounted : 0;
    return rc;
}

static int hole_largest(void *arg, const udb_hole *h)
{
    uint64_t *m = arg;
    if ((uint64_t)h->size > *m)
        *m = (uint64_t)h->size;
    return 0;
}

/* The header is 7 bytes (classic) or 11 (wide): doc/format.md. */
static int heap_gather(udb_heap *h, heapstat *s)
{
    int rc = udb_heap_info_get(h, &s->f);
    if (!rc)
        rc = udb_heap_holes(h, hole_largest, &s->largest);
    s->header = s->f.layout == UDB_LAYOUT_CLASSIC ? 7 : 11;
    s->table_bytes = (uint64_t)s->f.tables * s->f.table_size;
    uint64_t other = s->header + s->table_bytes + s->f.hole_bytes;
    s->live = s->f.file_size > other ? s->f.file_size - other : 0;
    return rc;
}

/* ---- text ---------------------------------------------------------------------------------------- */
static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0;
}

static void text_levels(const ixstat *x)
{
    uint64_t items = 0, slots = 0;
    printf("  nodes per level from the root:");
    for (unsigned l = x->lv.levels; l >= 1; l--)
        printf(" %llu", (unsigned long long)x->lv.nodes[l]);
    printf("\n  fill per level from the root:");
    for (unsigned l = x->lv.levels; l >= 1; l--) {
        items += x->lv.items[l];
        slots += x->lv.nodes[l] * x->inf.def.maxitems;
        printf(" %.1f%%", 100 * ratio(x->lv.items[l], x->lv.nodes[l] * x->inf.def.maxitems));
    }
    printf("; %.1f%% of all item slots\n", 100 * ratio(items, slots));
}

static void text_index(unsigned i, const ixstat *x)
{
    const udb_index_info *f = &x->inf;
    printf("index %u: %s keysize %u maxitems %u (node %zu bytes, leaf %zu bytes)\n", i,
           dbe_type_name(f->def.keytype), f->def.keysize, f->def.maxitems, f->node_size, f->leaf_size);
    printf("  attrs %s\n", dbe_attrs_name(f->def.attrs));
    dbe_index_places_text(f);
    printf("  records %llu, distinct keys %llu, levels %u, nodes %llu\n",
           (unsigned long long)x->ck.records, (unsigned long long)x->ck.distinct, x->ck.levels,
           (unsigned long long)x->ck.nodes);
    if (x->why[0])
        printf("  tree unreadable: %s\n", x->why);
    else
        text_levels(x);
    printf("  leaves %llu (the EOF leaf included), free nodes %llu, free leaves %llu\n",
           (unsigned long long)x->ck.leaves, (unsigned long long)x->ck.free_nodes,
           (unsigned long long)x->ck.free_leaves);
    printf("  bytes used %llu; wasted %llu (free nodes and leaves %llu, empty item slots %llu)\n",
           (unsigned long long)x->used, (unsigned long long)(x->free_bytes + x->slack),
           (unsigned long long)x->free_bytes, (unsigned long long)x->slack);
}

static void ndx_text(const ndxstat *s, const char *path)
{
    printf("file: %s (MultiIndex, %s layout, %llu bytes)\n", path,
           s->layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", (unsigned long long)s->size);
    printf("indexes: %u\n", s->n);
    for (unsigned i = 0; i < s->n; i++) {
        if (s->ix[i].inf.def.keytype == UDB_KEY_VOID)
            printf("index %u: not defined\n", i + 1);
        else
            text_index(i + 1, &s->ix[i]);
    }
    printf("header and index infos: %llu bytes; bytes no index reaches: %llu\n",
           (unsigned long long)s->header, (unsigned long long)s->unaccounted);
}

static void heap_text(const heapstat *s, const char *path)
{
    printf("file: %s (HeapFile, %s layout, %llu bytes)\n", path,
           s->f.layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", (unsigned long long)s->f.file_size);
    printf("  live bytes %llu (records%s)\n", (unsigned long long)s->live,
           " and anything else that is no hole, holes table or header");
    printf("  holes %llu, %llu bytes, the largest %llu bytes\n", (unsigned long long)s->f.holes,
           (unsigned long long)s->f.hole_bytes, (unsigned long long)s->largest);
    printf("  holes tables %u, %llu bytes; header %llu bytes\n", s->f.tables,
           (unsigned long long)s->table_bytes, (unsigned long long)s->header);
    printf("  first holes table %lld, %u slots per table (%zu bytes each)\n",
           (long long)s->f.first_table, s->f.table_slots, s->f.table_size);
}

/* ---- JSON ------------------------------------------------------------------------------------------- */
static void json_levels(const char *name, const dbe_levels *lv, int items)
{
    printf(", \"%s\": [", name);
    for (unsigned l = lv->levels; l >= 1; l--)
        printf("%s%llu", l == lv->levels ? "" : ", ",
               (unsigned long long)(items ? lv->items[l] : lv->nodes[l]));
    printf("]");
}

static void json_index(unsigned i, const ixstat *x, const char *in)
{
    const udb_index_info *f = &x->inf;
    printf("%s  {\"index\": %u, \"defined\": %s", in, i, f->def.keytype ? "true" : "false");
    if (f->def.keytype != UDB_KEY_VOID) {
        printf(", \"type\": \"%s\", \"keysize\": %u, \"maxitems\": %u, \"node_size\": %zu, "
               "\"leaf_size\": %zu, \"records\": %llu, \"distinct\": %llu, \"levels\": %u, "
               "\"nodes\": %llu, \"leaves\": %llu, \"free_nodes\": %llu, \"free_leaves\": %llu, "
               "\"bytes_used\": %llu, \"bytes_free\": %llu, \"bytes_slack\": %llu, \"tree_readable\": %s",
               dbe_type_name(f->def.keytype), f->def.keysize, f->def.maxitems, f->node_size,
               f->leaf_size, (unsigned long long)x->ck.records, (unsigned long long)x->ck.distinct,
               x->ck.levels, (unsigned long long)x->ck.nodes, (unsigned long long)x->ck.leaves,
               (unsigned long long)x->ck.free_nodes, (unsigned long long)x->ck.free_leaves,
               (unsigned long long)x->used, (unsigned long long)x->free_bytes,
               (unsigned long long)x->slack, x->why[0] ? "false" : "true");
        json_levels("nodes_per_level", &x->lv, 0);
        json_levels("items_per_level", &x->lv, 1);
        dbe_index_places_json(f);
    }
    printf("}");
}

static void ndx_json(const ndxstat *s, const char *path, const char *in)
{
    printf("{\n%s  \"file\": ", in);
    dbe_json_string(stdout, (const uint8_t *)path, strlen(path));
    printf(",\n%s  \"kind\": \"multiindex\",\n%s  \"layout\": \"%s\",\n%s  \"size\": %llu,\n"
           "%s  \"header_bytes\": %llu,\n%s  \"unaccounted_bytes\": %llu,\n%s  \"problems\": %u,\n"
           "%s  \"indexes\": [\n",
           in, in, s->layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", in,
           (unsigned long long)s->size, in, (unsigned long long)s->header, in,
           (unsigned long long)s->unaccounted, in, s->problems, in);
    for (unsigned i = 0; i < s->n; i++) {
        json_index(i + 1, &s->ix[i], in);
        printf("%s\n", i + 1 < s->n ? "," : "");
    }
    printf("%s  ]\n%s}", in, in);
}

static void heap_json(const heapstat *s, const char *path, const char *in)
{
    printf("{\n%s  \"file\": ", in);
    dbe_json_string(stdout, (const uint8_t *)path, strlen(path));
    printf(",\n%s  \"kind\": \"heap\",\n%s  \"layout\": \"%s\",\n%s  \"size\": %llu,\n"
           "%s  \"live_bytes\": %llu,\n%s  \"holes\": %llu,\n%s  \"hole_bytes\": %llu,\n"
           "%s  \"largest_hole\": %llu,\n%s  \"tables\": %u,\n%s  \"table_bytes\": %llu,\n"
           "%s  \"first_table\": %lld,\n%s  \"table_slots\": %u,\n%s  \"table_size\": %zu,\n"
           "%s  \"header_bytes\": %llu\n%s}",
           in, in, s->f.layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", in,
           (unsigned long long)s->f.file_size, in, (unsigned long long)s->live, in,
           (unsigned long long)s->f.holes, in, (unsigned long long)s->f.hole_bytes, in,
           (unsigned long long)s->largest, in, s->f.tables, in, (unsigned long long)s->table_bytes,
           in, (long long)s->f.first_table, in, s->f.table_slots, in, s->f.table_size,
           in, (unsigned long long)s->header, in);
}

/* ---- the command ------------------------------------------------------------------------------------ */
/* Gather and print one open file (d or h); in: the JSON indent. */
static int stat_one(udb_ndx *d, udb_heap *h, const char *path, int json, const char *in,
                    unsigned *problems)
{
    ndxstat ns = {0};
    heapstat hs = {0};
    int rc = d ? ndx_gather(d, &ns) : heap_gather(h, &hs);
    if (rc) {
        free(ns.ix);
        return dbe_fail(dbe_exit_code(rc), "stat: %s", d ? udb_ndx_errmsg(d) : udb_heap_errmsg(h));
    }
    if (d && json)
        ndx_json(&ns, path, in);
    else if (d)
        ndx_text(&ns, path);
    else if (json)
        heap_json(&hs, path, in);
    else
        heap_text(&hs, path);
    *problems += ns.problems;
    free(ns.ix);
    return EX_OK;
}

static int stat_path(const char *path, const dbe_opts *o, const char *in, unsigned *problems)
{
    udb_ndx *d;
    udb_heap *h;
    int rc = dbe_open_any(path, o, &d, &h);
    int ex = rc ? dbe_open_exit(rc) : stat_one(d, h, path, o->json, in, problems);
    dbe_close_any(d, h);
    return ex;
}

/* A store: NAME.ndx, then NAME.dat. */
static int stat_store(const char *name, const dbe_opts *o, unsigned *problems)
{
    char *ndx = dbe_with_ext(name, ".ndx"), *dat = dbe_with_ext(name, ".dat");
    int ex = !ndx || !dat ? dbe_fail(EX_USAGE, "out of memory") : EX_OK;
    if (ex == EX_OK && o->json) {
        printf("{\n  \"store\": ");
        dbe_json_string(stdout, (const uint8_t *)name, strlen(name));
        printf(",\n  \"kind\": \"store\",\n");
        dbe_store_about_print(name, o, 1);
        printf("  \"index_file\": ");
    } else if (ex == EX_OK) {
        printf("store: %s (%s + %s)\n", name, ndx, dat);
        dbe_store_about_print(name, o, 0);
    }
    if (ex == EX_OK)
        ex = stat_path(ndx, o, "  ", problems);
    if (ex == EX_OK) {
        fputs(o->json ? ",\n  \"heap_file\": " : "", stdout);
        ex = stat_path(dat, o, "  ", problems);
        fputs(o->json ? "\n}" : "", stdout);
    }
    free(ndx);
    free(dat);
    return ex;
}

int cmd_stat(int argc, char **argv)
{
    dbe_opts o = {0};
    unsigned problems = 0;
    if (dbe_parse_opts(argc, argv, &o, "layout,json") != 1)
        return dbe_usage("stat");
    int store = dbe_is_store(argv[1]);
    if (!store)
        dbe_say_store_file("stat", argv[1]);
    int ex = store ? stat_store(argv[1], &o, &problems) : stat_path(argv[1], &o, "", &problems);
    if (ex == EX_OK && o.json)
        putchar('\n');
    if (ex == EX_OK && problems && !o.json)
        printf("problems: %u (dbe check lists them)\n", problems);
    if (ex == EX_OK && (fflush(stdout) || ferror(stdout)))
        ex = dbe_fail(EX_USAGE, "stat: writing the output failed");
    return ex == EX_OK && problems ? EX_ABSENT : ex;
}
