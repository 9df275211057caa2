/*
 * cmd_repair.c — dbe's rebuilding commands: repair (udb_repair, in place or
 * to a new file; a store's indexes from its records, then the store check)
 * and convert (udb_convert to another layout, node order or key size). Prints
 * the library's findings, its report and a check of the result; a store's
 * indexes are rebuilt from its records (udb_store_repair). Writes only
 * through udb_repair, udb_store_repair and udb_convert; never overwrites a
 * file.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dbe_store.h"

/* ---- findings ----------------------------------------------------------------------------- */
/* The library's findings are printed as check prints them, but the last one
   is held back: a failed call reports its error message last. */
typedef struct held {
    int have, sev;
    int64_t off;
    unsigned index;
    char text[512];
} held;

static void flush_held(held *h)
{
    if (h->have)
        dbe_print_finding(NULL, h->sev, h->off, h->index, h->text);
    h->have = 0;
}

static void hold(void *arg, int sev, int64_t off, unsigned index, const char *text)
{
    held *h = arg;
    flush_held(h);
    *h = (held){1, sev, off, index, ""};
    snprintf(h->text, sizeof h->text, "%s", text);
}

static int is_heap(const char *path)
{
    udb_options opts;
    udb_heap *h;
    udb_options_init(&opts);
    opts.flags = UDB_RDONLY;
    int rc = udb_heap_open(path, &opts, &h);
    udb_heap_close(h);
    return rc == 0;
}

/* After the call: EX_OK, or the held message as rc's error. */
static int finish(held *h, int rc, const char *cmd, const char *in)
{
    dbe_progress_end();
    if (!rc) {
        flush_held(h);
        return EX_OK;
    }
    if (rc == UDB_FORMAT && is_heap(in))
        return dbe_fail(EX_USAGE, "%s: %s is a HeapFile; %s works on MultiIndex files (dbe heap and "
                        "dbe check show a heap's holes tables)", cmd, in, cmd);
    return dbe_fail(rc == UDB_EXISTS ? EX_USAGE : dbe_open_exit(rc), "%s: %s%s", cmd,
                    h->have ? h->text : udb_strerror(rc),
                    rc == UDB_RANGE ? " (positions and sizes of the classic layout have 32 bits: "
                                      "keep such a file wide)" : "");
}

/* OUT must not exist: dbe never overwrites a file. */
static int refuse_output(const char *cmd, const char *in, const char *out)
{
    struct stat a, b;
    if (stat(out, &b))
        return EX_OK;
    if (!stat(in, &a) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return dbe_fail(EX_USAGE, "%s: %s is %s itself%s", cmd, out, in,
                        strcmp(cmd, "repair") ? "" : " (without -o, repair works in place)");
    return dbe_fail(EX_USAGE, "%s: %s exists; dbe never overwrites a file (remove it or choose "
                    "another name)", cmd, out);
}

/* The result must pass the check: "check: clean", or the count (exit 1). */
static int check_result(udb_ndx *d, const char *path)
{
    udb_check_report rep = {0};
    int rc = udb_ndx_check(d, NULL, NULL, &rep);
    dbe_progress_end();
    udb_check_report_free(&rep);
    if (rc == 0) {
        printf("check: clean\n");
        return EX_OK;
    }
    printf("check: %u problem(s) (dbe check %s lists them)\n", rep.problems, path);
    return EX_ABSENT;
}

/* ---- repair ----------------------------------------------------------------------------------- */
static void print_repair_index(udb_ndx *d, unsigned ix, const udb_repair_index *r)
{
    udb_index_info f;
    if (udb_ndx_info(d, ix, &f) || f.def.keytype == UDB_KEY_VOID) {
        printf("index %u: not defined\n", ix);
        return;
    }
    printf("index %u (%s keysize %u): %llu records recovered; chain in %llu piece(s), "
           "%llu break(s), %llu record(s) out of key order, %llu duplicate key(s)\n",
           ix, dbe_type_name(f.def.keytype), f.def.keysize, (unsigned long long)r->records,
           (unsigned long long)r->fragments, (unsigned long long)r->breaks,
           (unsigned long long)r->out_of_order, (unsigned long long)r->duplicates);
}

/* The report, the result's size and its check. */
static int print_repair(const udb_repair_report *rep, const char *path, const char *out,
                        const dbe_opts *o)
{
    udb_ndx *d;
    const char *result = out ? out : path;
    if (dbe_open_ndx(result, o, 0, &d))
        return EX_USAGE;
    for (unsigned i = 0; i < rep->num_indexes && rep->index; i++)
        print_repair_index(d, i + 1, &rep->index[i]);
    printf("leaves: %llu found on chains (EOF leaves included), %llu on chains no index claims "
           "(their records are lost)\n",
           (unsigned long long)rep->leaves_found, (unsigned long long)rep->leaves_lost);
    printf("records: %llu found but not kept, %llu kept in doubt (each one named above)\n",
           (unsigned long long)rep->records_dropped, (unsigned long long)rep->records_doubtful);
    printf("size: %llu bytes before, %llu after\n", (unsigned long long)rep->size_before,
           (unsigned long long)udb_ndx_file_size(d));
    printf(out ? "result: written to %s\n" : "result: %s repaired in place\n", result);
    int ex = check_result(d, result);
    udb_ndx_close(d);
    return ex;
}

static int repair_file(const char *path, const char *out, const dbe_opts *o)
{
    udb_options opts;
    udb_repair_report rep = {0};
    held h = {0};
    dbe_options(&opts, o, out == NULL);
    int rc = udb_repair(path, out, &opts, hold, &h, &rep);
    int ex = finish(&h, rc, "repair", path);
    if (ex == EX_OK)
        ex = print_repair(&rep, path, out, o);
    udb_repair_report_free(&rep);
    return ex;
}

/* ---- repair of a store ----------------------------------------------------------------------- */
/* The store check before a repair, its findings printed: 1 when the store
   opens and the check finds nothing. */
static int store_clean(const char *name, const dbe_opts *o)
{
    udb_options opts;
    udb_store *s;
    dbe_options(&opts, o, 0);
    int rc = udb_store_open(name, &opts, &s);
    if (rc)
        dbe_print_finding(NULL, UDB_PROBLEM, -1, 0, udb_store_errmsg(s));
    else
        rc = udb_store_check(s, dbe_print_finding, NULL, NULL);
    dbe_progress_end();
    udb_store_close(s);
    return rc == 0;
}

/* A one-index store of udb 0.1 keeps no key in its frames: its index
   file is repaired from its own leaves, as any index file. */
static int repair_unkeyed(const char *name, const dbe_opts *o)
{
    char *ndx = dbe_with_ext(name, ".ndx");
    if (!ndx)
        return dbe_fail(EX_USAGE, "out of memory");
    printf("note: %s is a one-index store written by udb 0.1 (store descriptor version 1): its "
           "records hold no key, so its index cannot be rebuilt from them; %s is repaired from "
           "its own leaves instead\n", name, ndx);
    int ex = repair_file(ndx, NULL, o);
    free(ndx);
    if (ex == EX_OK && (ex = dbe_check_store(name, o)) == EX_ABSENT)
        dbe_fail(EX_ABSENT, "repair: %s.ndx is rebuilt and clean, but the store check finds records "
                 "its index no longer reaches: their values are still in %s.dat, but their frames "
                 "hold no key to index them by", name, name);
    return ex;
}

static const char *defs_source(int from)
{
    return from == UDB_DEFS_INFOS ? "the index infos of the old index file"
         : from == UDB_DEFS_DESCRIPTOR ? "the store descriptor" : "--index";
}

static int rebuild_store(const char *name, const dbe_opts *o, const udb_store_def *def)
{
    udb_options opts;
    udb_store_repair_report rep;
    held h = {0};
    dbe_options(&opts, o, 1);
    int rc = udb_store_repair(name, &opts, def, hold, &h, &rep);
    int ex = finish(&h, rc, "repair", name);
    if (ex != EX_OK)
        return ex;
    printf("definitions: from %s\n", defs_source(rep.defs_from));
    printf("records: %llu found in %s.dat and indexed under each of the %u index(es); %llu "
           "hole(s) passed over\n", (unsigned long long)rep.records, name, rep.num_indexes,
           (unsigned long long)rep.holes);
    printf("damage: %llu unreadable frame(s), %llu byte(s) skipped, %llu UNIQUE clash(es)\n",
           (unsigned long long)rep.bad_frames, (unsigned long long)rep.bytes_skipped,
           (unsigned long long)rep.unique_clashes);
    printf("size: %llu bytes before, %llu after\nresult: %s.ndx rebuilt from %s.dat in place\n",
           (unsigned long long)rep.size_before, (unsigned long long)rep.size_after, name, name);
    return dbe_check_store(name, o);
}

/* A store whose check finds nothing is left alone; else every index is
   rebuilt from the records in STORE.dat (STORE.ndx may be missing). */
static int repair_store(const char *name, const dbe_opts *o, const udb_index_def *defs, unsigned n)
{
    udb_options opts;
    udb_store_about ab;
    char msg[512];
    if (o->output)
        return dbe_fail(EX_USAGE, "repair: %s is a record store: it is repaired in place (-o is "
                        "for MultiIndex files)", name);
    dbe_options(&opts, o, 0);
    int rc = udb_store_about_get(name, &opts, &ab, msg, sizeof msg);
    if (rc)
        return dbe_fail(dbe_open_exit(rc), "repair: %s", msg);
    if (store_clean(name, o)) {
        printf("%s checks clean: nothing to repair\n", name);
        return EX_OK;
    }
    if (!ab.keyed)
        return repair_unkeyed(name, o);
    udb_store_def def = {n, defs, 0, 0};
    return rebuild_store(name, o, n ? &def : NULL);
}

/* --index specs: for a store whose definitions are lost. */
static int repair_specs(int *argc, char **argv, const char **specs, udb_index_def *defs, unsigned *n)
{
    char err[300];
    int ex = dbe_take_index_specs("repair", argc, argv, specs, n);
    for (unsigned i = 0; i < *n && ex == EX_OK; i++)
        if (dbe_parse_index_spec(specs[i], UDB_LAYOUT_AUTO, &defs[i], err, sizeof err))
            ex = dbe_fail(EX_USAGE, "repair: index %u (%s): %s", i + 1, specs[i], err);
    return ex;
}

int cmd_repair(int argc, char **argv)
{
    dbe_opts o = {0};
    unsigned n = 0;
    const char **specs = calloc((size_t)argc, sizeof *specs);
    udb_index_def *defs = calloc((size_t)argc, sizeof *defs);
    int ex = specs && defs ? repair_specs(&argc, argv, specs, defs, &n)
                           : dbe_fail(EX_USAGE, "out of memory");
    if (ex == EX_OK && dbe_parse_opts(argc, argv, &o, "layout,sync,output") != 1)
        ex = dbe_usage("repair");
    if (ex == EX_OK && dbe_is_store(argv[1]))
        ex = repair_store(argv[1], &o, defs, n);
    else if (ex == EX_OK && n)
        ex = dbe_fail(EX_USAGE, "repair: --index is for a record store (its definitions); %s is a "
                      "file", argv[1]);
    else if (ex == EX_OK && !(ex = o.output ? refuse_output("repair", argv[1], o.output)
                                            : dbe_refuse_store_file("repair", argv[1])))
        ex = repair_file(argv[1], o.output, &o);
    free(specs);
    free(defs);
    return ex;
}

/* ---- convert ----------------------------------------------------------------------------------- */
static int print_converted(const char *in, const char *out, const dbe_opts *o)
{
    udb_ndx *d;
    dbe_opts ro = *o;
    ro.layout = UDB_LAYOUT_AUTO;
    if (dbe_open_ndx(out, &ro, 0, &d))
        return EX_USAGE;
    unsigned n = udb_ndx_count(d);
    printf("%s -> %s: %s layout, %u index(es)\n", in, out,
           udb_ndx_layout(d) == UDB_LAYOUT_CLASSIC ? "classic" : "wide", n);
    for (unsigned i = 1; i <= n; i++) {
        udb_index_info f;
        if (udb_ndx_info(d, i, &f) || f.def.keytype == UDB_KEY_VOID)
            printf("index %u: not defined\n", i);
        else
            printf("index %u: %s keysize %u maxitems %u: %llu records\n", i,
                   dbe_type_name(f.def.keytype), f.def.keysize, f.def.maxitems,
                   (unsigned long long)dbe_count_records(d, i));
    }
    int ex = check_result(d, out);
    udb_ndx_close(d);
    return ex;
}

int cmd_convert(int argc, char **argv)
{
    dbe_opts o = {0};
    udb_options opts;
    held h = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout,sync,maxitems,keysize") != 2)
        return dbe_usage("convert");
    if (dbe_is_store(argv[1]))
        return dbe_fail(EX_USAGE, "convert: %s is a record store; convert works on MultiIndex files "
                        "(export and import move a store's records)", argv[1]);
    int ex = refuse_output("convert", argv[1], argv[2]);
    if (ex)
        return ex;
    dbe_options(&opts, &o, 1);
    int rc = udb_convert(argv[1], argv[2], &opts, o.maxitems, o.keysize, hold, &h);
    ex = finish(&h, rc, "convert", argv[1]);
    return ex == EX_OK ? print_converted(argv[1], argv[2], &o) : ex;
}
