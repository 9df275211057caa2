/*
 * cmd_repair.c — dbe's rebuilding commands: repair (udb_repair, in place or
 * to a new file; a store's index file in place, then the store check) and
 * convert (udb_convert to another layout, node order or key size). Prints
 * the library's findings, its report and a check of the result. Writes
 * only through udb_repair and udb_convert; never overwrites a file.
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

/* A store: its index file in place (its records stay where they are in
   STORE.dat), then the store check says whether every record is indexed. */
static int repair_store(const char *name, const dbe_opts *o)
{
    if (o->output)
        return dbe_fail(EX_USAGE, "repair: %s is a record store: it is repaired in place (-o is "
                        "for MultiIndex files)", name);
    char *ndx = dbe_with_ext(name, ".ndx");
    if (!ndx)
        return dbe_fail(EX_USAGE, "out of memory");
    int ex = repair_file(ndx, NULL, o);
    free(ndx);
    if (ex == EX_OK && (ex = dbe_check_store(name, o)) == EX_ABSENT)
        dbe_fail(EX_ABSENT, "repair: %s.ndx is rebuilt and clean, but the store check finds records "
                 "an index no longer reaches: their values are still in %s.dat (dbe get finds them "
                 "through an index that has them), but udb cannot re-index a record yet", name, name);
    return ex;
}

int cmd_repair(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout,sync,output") != 1)
        return dbe_usage("repair");
    if (dbe_is_store(argv[1]))
        return repair_store(argv[1], &o);
    int ex = o.output ? refuse_output("repair", argv[1], o.output) : EX_OK;
    return ex == EX_OK ? repair_file(argv[1], o.output, &o) : ex;
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
