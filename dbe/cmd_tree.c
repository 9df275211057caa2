/*
 * cmd_tree.c — dbe's pictures of one index's tree: dump (the levels from
 * the root, each node with its keys and children, then the leaf chain, as
 * text) and dot (the same as a Graphviz graph), both summarised for large
 * trees unless --all; and the count of nodes per level that stat shares.
 * Reads through udb_ndx_walk_tree and cursors, in one read transaction;
 * opens files read-only and changes nothing.
 */
#include <stdlib.h>
#include <string.h>
#include "dbe.h"

enum {
    DUMP_EDGE = 3,   /* nodes shown at each end of a longer level */
    DUMP_LEAVES = 5, /* leaves shown at each end of a longer chain */
    DOT_NODES = 60,  /* nodes drawn, level by level from the root */
    DOT_LEAVES = 64, /* leaves drawn (EOF leaf included) when every node is */
    DOT_KEY = 24,    /* characters of a key in a drawing */
};

/* ---- counting -------------------------------------------------------------------------------- */
static int count_node(void *arg, const udb_node_view *v)
{
    dbe_levels *l = arg;
    if (v->level >= 1 && v->level <= DBE_MAX_LEVELS) {
        l->levels = v->levels;
        l->nodes[v->level]++;
        l->items[v->level] += v->count;
    }
    return 0;
}

int dbe_tree_levels(udb_ndx *d, unsigned ix, dbe_levels *out)
{
    memset(out, 0, sizeof *out);
    return udb_ndx_walk_tree(d, ix, count_node, out);
}

/* ---- one index's tree ------------------------------------------------------------------------- */
typedef struct tree {
    udb_ndx *d;
    unsigned ix;
    int layout, all;
    udb_index_info inf;
    dbe_levels lv;
    uint64_t records, nodes;
    uint64_t seen[DBE_MAX_LEVELS + 1]; /* nodes of each level met so far */
    unsigned draw_to;                  /* dot: the lowest level drawn */
    int draw_leaves;                   /* dot: the leaves are drawn */
} tree;

/* The arguments of dump and dot; then open FILE read-only, in one read
   transaction, and count its tree. */
static int tree_open(tree *t, int argc, char **argv, const char *cmd)
{
    dbe_opts o = {0};
    memset(t, 0, sizeof *t);
    if (dbe_parse_opts(argc, argv, &o, "layout,index,all") != 1)
        return dbe_usage(cmd);
    t->ix = o.index ? o.index : 1;
    t->all = o.all;
    int rc = dbe_open_ndx(argv[1], &o, 0, &t->d);
    if (rc)
        return dbe_open_exit(rc);
    t->layout = udb_ndx_layout(t->d);
    udb_ndx_begin(t->d);
    if ((rc = udb_ndx_info(t->d, t->ix, &t->inf)) || (rc = dbe_tree_levels(t->d, t->ix, &t->lv)))
        return dbe_fail(dbe_exit_code(rc), "%s: %s", cmd, udb_ndx_errmsg(t->d));
    for (unsigned l = 1; l <= t->lv.levels; l++)
        t->nodes += t->lv.nodes[l];
    t->records = dbe_count_records(t->d, t->ix);
    return EX_OK;
}

static int tree_close(tree *t, const char *cmd, int ex)
{
    if (t->d)
        udb_ndx_commit(t->d);
    udb_ndx_close(t->d);
    if (ex == EX_OK && (fflush(stdout) || ferror(stdout)))
        ex = dbe_fail(EX_USAGE, "%s: writing the output failed", cmd);
    return ex;
}

/* Is the j-th of n things shown: all of them, or edge at each end. */
static int shown(const tree *t, uint64_t j, uint64_t n, uint64_t edge)
{
    return t->all || n <= 2 * edge + 1 || j < edge || j >= n - edge;
}

/* The last item of the rightmost node of a level is the end: +infinity. */
static const uint8_t *item_key(const udb_node_view *v, unsigned k)
{
    return v->next == -1 && k + 1 == v->count ? NULL : v->keys + (size_t)k * v->keysize;
}

static void put_key(FILE *f, const tree *t, const uint8_t *key)
{
    if (key)
        dbe_key_print(f, &t->inf, t->layout, key, 0);
    else
        fputs("EOF", f);
}

/* ---- dump ----------------------------------------------------------------------------------- */
static const char *level_name(unsigned l, unsigned levels)
{
    return l == levels && l == 1 ? " (the root; its children are leaves)"
         : l == levels           ? " (the root)"
         : l == 1                ? " (the bottom; its children are leaves)"
                                 : "";
}

static int dump_node(void *arg, const udb_node_view *v)
{
    tree *t = arg;
    uint64_t j = t->seen[v->level]++, n = t->lv.nodes[v->level];
    if (j == 0)
        printf("level %u%s: %llu node(s), %llu of %llu item slots used\n", v->level,
               level_name(v->level, v->levels), (unsigned long long)n,
               (unsigned long long)t->lv.items[v->level], (unsigned long long)n * v->maxitems);
    if (!shown(t, j, n, DUMP_EDGE)) {
        if (j == DUMP_EDGE)
            printf("  ... %llu more node(s) ...\n", (unsigned long long)(n - 2 * DUMP_EDGE));
        return 0;
    }
    printf("  @%lld [%u/%u]:", (long long)v->pos, v->count, v->maxitems);
    for (unsigned k = 0; k < v->count; k++) {
        fputs(k ? " | " : " ", stdout);
        put_key(stdout, t, item_key(v, k));
        printf(" -> @%lld", (long long)v->children[k]);
    }
    putchar('\n');
    return 0;
}

static int dump_leaves(tree *t)
{
    udb_cursor *c;
    udb_item it;
    uint64_t j = 0, n = t->records;
    int rc = udb_cursor_open(t->d, t->ix, &c);
    if (rc)
        return rc;
    printf("leaf chain: %llu record(s), then the EOF leaf\n", (unsigned long long)n);
    for (rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it), j++) {
        if (!shown(t, j, n, DUMP_LEAVES)) {
            if (j == DUMP_LEAVES)
                printf("  ... %llu more leaves ...\n", (unsigned long long)(n - 2 * DUMP_LEAVES));
            continue;
        }
        printf("  @%lld: ", (long long)it.leaf);
        put_key(stdout, t, it.key);
        printf(" (datapos %lld)\n", (long long)it.datapos);
    }
    udb_cursor_close(c);
    if (rc != UDB_NOTFOUND)
        return rc;
    printf("  @%lld: EOF\n", (long long)t->inf.last_leaf);
    return 0;
}

static int summarised(const tree *t, unsigned edge, unsigned leaves)
{
    int cut = !t->all && t->records > 2 * leaves + 1;
    for (unsigned l = 1; l <= t->lv.levels; l++)
        cut |= !t->all && t->lv.nodes[l] > 2 * edge + 1;
    return cut;
}

int cmd_dump(int argc, char **argv)
{
    tree t;
    int ex = tree_open(&t, argc, argv, "dump");
    if (ex == EX_OK) {
        printf("index %u of %s: %s keysize %u maxitems %u, %s layout\n", t.ix, argv[1],
               dbe_type_name(t.inf.def.keytype), t.inf.def.keysize, t.inf.def.maxitems,
               t.layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide");
        printf("%u level(s), %llu node(s), %llu record(s); root @%lld, first leaf @%lld, EOF leaf "
               "@%lld\n", t.lv.levels, (unsigned long long)t.nodes, (unsigned long long)t.records,
               (long long)t.inf.root, (long long)t.inf.first_leaf, (long long)t.inf.last_leaf);
        int rc = udb_ndx_walk_tree(t.d, t.ix, dump_node, &t);
        if (!rc)
            rc = dump_leaves(&t);
        if (rc)
            ex = dbe_fail(dbe_exit_code(rc), "dump: %s", udb_ndx_errmsg(t.d));
        else if (summarised(&t, DUMP_EDGE, DUMP_LEAVES))
            printf("(summarised: dbe dump --all shows every node and leaf)\n");
    }
    return tree_close(&t, "dump", ex);
}

/* ---- dot ---------------------------------------------------------------------------------------- */
/* Text in a dot string: quotes and backslashes escaped (record: the
   record label's specials too), cut after max characters (0: never). */
static void dot_text(const char *s, size_t len, int record, size_t max)
{
    for (size_t i = 0; i < len && (!max || i < max); i++) {
        if (s[i] && strchr(record ? "{}|<>\"\\ " : "\"\\", s[i]))
            putchar('\\');
        putchar(s[i]);
    }
    if (max && len > max)
        fputs("...", stdout);
}

static void dot_key(const tree *t, const uint8_t *key, int record)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return;
    put_key(m, t, key);
    fclose(m);
    dot_text(buf, len, record, DOT_KEY);
    free(buf);
}

/* Draw levels from the root down while DOT_NODES allow (the root always),
   the leaves when every level is drawn and DOT_LEAVES allow; --all: all. */
static void dot_plan(tree *t)
{
    uint64_t drawn = 0;
    t->draw_to = t->lv.levels;
    for (unsigned l = t->lv.levels; l >= 1; l--) {
        if (!t->all && l < t->lv.levels && drawn + t->lv.nodes[l] > DOT_NODES)
            break;
        drawn += t->lv.nodes[l];
        t->draw_to = l;
    }
    t->draw_leaves = t->draw_to == 1 && (t->all || t->records + 1 <= DOT_LEAVES);
}

static int dot_node(void *arg, const udb_node_view *v)
{
    tree *t = arg;
    if (v->level < t->draw_to)
        return 1; /* the levels below are not drawn: stop the walk */
    int to_leaves = v->level == 1 && t->draw_leaves;
    printf("  n%lld [label=\"", (long long)v->pos);
    for (unsigned k = 0; k < v->count; k++) {
        printf("%s<i%u> ", k ? "|" : "", k);
        dot_key(t, item_key(v, k), 1);
    }
    printf("\"];\n");
    for (unsigned k = 0; k < v->count && (v->level > t->draw_to || to_leaves); k++)
        printf("  n%lld:i%u:s -> %c%lld;\n", (long long)v->pos, k, to_leaves ? 'l' : 'n',
               (long long)v->children[k]);
    if (v->level == t->draw_to && !to_leaves)
        printf("  n%lld -> more [style=dashed];\n", (long long)v->pos);
    return 0;
}

/* The leaves on one rank, in chain order, linked (boxes: dot cannot link
   neighbouring records on one rank). */
static int dot_leaves(tree *t)
{
    udb_cursor *c;
    udb_item it;
    int64_t prev = -1;
    int rc = udb_cursor_open(t->d, t->ix, &c);
    if (rc)
        return rc;
    printf("  { rank=same;\n");
    for (rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it)) {
        printf("    l%lld [shape=box, style=rounded, label=\"", (long long)it.leaf);
        dot_key(t, it.key, 0);
        printf("\\n%lld\"];\n", (long long)it.datapos);
        if (prev != -1)
            printf("    l%lld -> l%lld [color=gray50];\n", (long long)prev, (long long)it.leaf);
        prev = it.leaf;
    }
    udb_cursor_close(c);
    printf("    l%lld [shape=box, style=rounded, label=\"EOF\"];\n", (long long)t->inf.last_leaf);
    if (prev != -1)
        printf("    l%lld -> l%lld [color=gray50];\n", (long long)prev, (long long)t->inf.last_leaf);
    printf("  }\n");
    return rc == UDB_NOTFOUND ? 0 : rc;
}

/* What is not drawn, in one box. */
static void dot_more(const tree *t)
{
    printf("  more [shape=note, label=\"");
    for (unsigned l = t->draw_to - 1; l >= 1; l--)
        printf("level %u: %llu node(s)\\n", l, (unsigned long long)t->lv.nodes[l]);
    printf("%llu record(s) and the EOF leaf\\n(dbe dot --all draws everything)\"];\n",
           (unsigned long long)t->records);
}

static void dot_head(const tree *t, const char *path)
{
    printf("digraph udb_index {\n  graph [labelloc=t, fontsize=11, ordering=out, nodesep=0.1, "
           "ranksep=0.4, label=\"");
    dot_text(path, strlen(path), 0, 0);
    printf(", index %u: %s keysize %u maxitems %u; %u level(s), %llu node(s), %llu record(s)\"];\n",
           t->ix, dbe_type_name(t->inf.def.keytype), t->inf.def.keysize, t->inf.def.maxitems,
           t->lv.levels, (unsigned long long)t->nodes, (unsigned long long)t->records);
    printf("  node [shape=record, fontsize=9, height=0.2];\n  edge [arrowsize=0.5];\n");
}

int cmd_dot(int argc, char **argv)
{
    tree t;
    int ex = tree_open(&t, argc, argv, "dot");
    if (ex == EX_OK) {
        dot_plan(&t);
        dot_head(&t, argv[1]);
        int rc = udb_ndx_walk_tree(t.d, t.ix, dot_node, &t);
        if (rc == 1 || rc == 0)
            rc = t.draw_leaves ? dot_leaves(&t) : 0;
        if (!t.draw_leaves)
            dot_more(&t);
        printf("}\n");
        if (rc)
            ex = dbe_fail(dbe_exit_code(rc), "dot: %s", udb_ndx_errmsg(t.d));
    }
    return tree_close(&t, "dot", ex);
}
