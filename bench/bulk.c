/*
 * bulk.c — `udb-bench bulk`, loading input that is already in key order
 * (issue #7: udb_store_load_sorted, 1,000,000 sorted records at over
 * 2,000,000 records/s). The W1 records (key bench_key(i), value
 * bench_value(i, 0, 100)) sorted by key, sorting untimed, go into a new
 * database per repetition: udb-store and udb-store-classic (the W1 engines,
 * same index and options, sync FULL) through one udb_store_load_sorted
 * call, and for context LMDB (MDB_APPEND puts in one write transaction),
 * SQLite (one transaction of inserts, rollback journal, synchronous=FULL)
 * and Berkeley DB (inserts, DB->sync), each with a durable commit.
 *
 * Every repetition of every engine runs in its own child processes
 * (driver.c's bench_spawn; the engine that goes first rotates): phase
 * "bulk", timed (open/create + load + close, and the load alone), then
 * phase "bulk-verify", untimed, on the reopened files: count = N, a sample
 * of gets, every record's key, value and order by a scan, udb_store_check
 * for udb. Any failure: non-zero exit.
 *
 * Owns this run and its output (stdout, OUTDIR/bulk.md, OUTDIR/bulk.tsv).
 * Must not change the default run or the durability run: it adds no
 * engine to the registry and drives the engines through their own setup
 * (bench_engine_find, eng_*.c).
 */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*bulk_load_fn)(void *db, bench_next_fn next, void *arg, uint64_t *loaded);

typedef struct bulk_engine {
    const char *name;       /* the W1 engine: its open, close, put, get, scan */
    const char *how;        /* the load path, for the report */
    bulk_load_fn load;      /* NULL: begin, put each record, durable commit */
    int (*check)(void *db, uint64_t n);   /* the engine's own check, or NULL */
} bulk_engine;

static const bulk_engine bulk[] = {
    {"udb-store", "one udb_store_load_sorted call (its own transaction, durable commit)",
     bench_udb_store_load, bench_udb_store_check},
    {"udb-store-classic", "the same, classic layout", bench_udb_store_load, bench_udb_store_check},
    {"lmdb", "one write transaction of mdb_put(MDB_APPEND), durable commit", bench_lmdb_load, NULL},
    {"sqlite", "BEGIN, INSERT in key order, COMMIT (synchronous=FULL)", NULL, NULL},
    {"bdb", "DB->put(DB_NOOVERWRITE) in key order, DB->sync", NULL, NULL},
};
#define NBULK (sizeof bulk / sizeof bulk[0])
#define SAMPLES 10000   /* gets of the verification */

static void die(const char *msg)
{
    fprintf(stderr, "udb-bench bulk: %s\n", msg);
    exit(1);
}

static const bulk_engine *find(const char *name)
{
    for (unsigned e = 0; e < NBULK; e++)
        if (!strcmp(bulk[e].name, name))
            return &bulk[e];
    return NULL;
}

/* ---- the input: record numbers in key order (untimed) ---------------------------------- */
static int by_key(const void *a, const void *b)
{
    uint64_t x = bench_splitmix64(*(const uint32_t *)a), y = bench_splitmix64(*(const uint32_t *)b);
    return x < y ? -1 : x > y; /* the hex keys' memcmp order */
}

static uint32_t *sorted_order(uint64_t n)
{
    uint32_t *o = malloc(n * sizeof *o);
    if (!o)
        die("out of memory");
    for (uint64_t i = 0; i < n; i++)
        o[i] = (uint32_t)i;
    qsort(o, n, sizeof *o, by_key);
    return o;
}

typedef struct source {
    const uint32_t *order;
    uint64_t n, at;
    uint8_t key[BENCH_KEY], val[BENCH_VAL];
} source;

static int next_record(void *arg, const uint8_t **key, const void **val, size_t *len)
{
    source *s = arg;
    if (s->at == s->n)
        return 1;
    uint64_t i = s->order[s->at++];
    bench_key(i, s->key);
    bench_value(i, 0, BENCH_VAL, s->val);
    *key = s->key;
    *val = s->val;
    *len = BENCH_VAL;
    return 0;
}

/* ---- child side: the timed load ----------------------------------------------------------- */
static int put_each(const bench_engine *e, void *db, source *s, uint64_t *loaded)
{
    const uint8_t *key;
    const void *val;
    size_t len;
    *loaded = 0;
    if (e->begin(db, 1))
        return -1;
    while (next_record(s, &key, &val, &len) == 0) {
        if (e->put(db, key, val, len))
            return -1;
        ++*loaded;
    }
    return e->commit(db, 1);
}

static int child_load(const bulk_engine *b, const bench_engine *e, uint64_t n, const char *dir)
{
    source s = {sorted_order(n), n, 0, {0}, {0}};
    uint64_t loaded = 0;
    void *db = NULL;
    uint64_t t0 = bench_now_ns();
    if (e->open(dir, 1, &db))
        return fprintf(stderr, "bulk: %s: open failed\n", e->name), 1;
    uint64_t t1 = bench_now_ns();
    int rc = b->load ? b->load(db, next_record, &s, &loaded) : put_each(e, db, &s, &loaded);
    uint64_t t2 = bench_now_ns();
    int crc = e->close(db);
    uint64_t t3 = bench_now_ns();
    free((void *)s.order);
    if (rc || crc || loaded != n) {
        fprintf(stderr, "bulk: %s: %s (%" PRIu64 " of %" PRIu64 " records loaded)\n", e->name,
                rc ? "load FAILED" : crc ? "close failed" : "wrong count", loaded, n);
        return 1;
    }
    printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", t3 - t0, t2 - t1, n);
    return fflush(stdout) ? 1 : 0;
}

/* ---- child side: the verification (untimed) ------------------------------------------------ */
static int bad(const bench_engine *e, uint64_t i, const char *what)
{
    fprintf(stderr, "bulk-verify: %s: record %" PRIu64 ": %s\n", e->name, i, what);
    return -1;
}

typedef struct walk {
    const bench_engine *e;
    uint64_t n, count;
    uint8_t prev[BENCH_KEY];
    int failed;
} walk;

static int stop(walk *w, uint64_t i, const char *what)
{
    bad(w->e, i, what);
    w->failed = 1;
    return 1; /* ends the scan */
}

/* Every record: sizes, strictly increasing keys, key and value of record i. */
static int scan_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    walk *w = arg;
    uint8_t want_key[BENCH_KEY], want_val[BENCH_VAL];
    uint64_t i = vlen == BENCH_VAL ? bench_ld64(val) : w->n;
    if (klen != BENCH_KEY || i >= w->n)
        return stop(w, w->count, "wrong key size, value size or record number");
    if (w->count && memcmp(w->prev, key, BENCH_KEY) >= 0)
        return stop(w, i, "keys not strictly increasing");
    bench_key(i, want_key);
    bench_value(i, 0, BENCH_VAL, want_val);
    if (memcmp(key, want_key, BENCH_KEY) || memcmp(val, want_val, BENCH_VAL))
        return stop(w, i, "wrong key or value");
    memcpy(w->prev, key, BENCH_KEY);
    w->count++;
    return 0;
}

static int sample_gets(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY], want[BENCH_VAL];
    for (uint64_t s = 0; s < SAMPLES && s < n; s++) {
        uint64_t i = s * 7919 % n;
        const void *v;
        size_t len;
        bench_key(i, key);
        bench_value(i, 0, BENCH_VAL, want);
        int rc = e->get(db, key, &v, &len);
        if (rc)
            return bad(e, i, rc == BENCH_ABSENT ? "get: key absent" : "get failed");
        if (len != BENCH_VAL || memcmp(v, want, len))
            return bad(e, i, "get: wrong value");
    }
    return 0;
}

static int verify(const bulk_engine *b, const bench_engine *e, void *db, uint64_t n)
{
    walk w = {e, n, 0, {0}, 0};
    if (e->begin(db, 0) || sample_gets(e, db, n) || e->scan(db, scan_one, &w) || w.failed)
        return -1;
    if (w.count != n)
        return bad(e, w.count, "the scan found a wrong number of records");
    if (e->commit(db, 0))
        return -1;
    return b->check ? b->check(db, n) : 0;
}

static int child_verify(const bulk_engine *b, const bench_engine *e, uint64_t n, const char *dir)
{
    void *db = NULL;
    if (e->open(dir, 0, &db))
        return fprintf(stderr, "bulk-verify: %s: open failed\n", e->name), 1;
    int rc = verify(b, e, db, n);
    if (e->close(db) || rc)
        return fprintf(stderr, "bulk-verify: %s: FAILED\n", e->name), 1;
    printf("ok 0 0 %" PRIu64 "\n", n);
    return fflush(stdout) ? 1 : 0;
}

int bench_bulk_child(const bench_engine *e, int phase, uint64_t n, const char *dir)
{
    const bulk_engine *b = find(e->name);
    if (!b)
        return fprintf(stderr, "bulk: %s is not an engine of the bulk run\n", e->name), 2;
    return phase == PH_BULK ? child_load(b, e, n, dir) : child_verify(b, e, n, dir);
}

/* ---- the run ---------------------------------------------------------------------------- */
typedef struct bulk_results {
    bench_results r;            /* n, reps, eng, neng, date, machine */
    const bench_engine *eng[NBULK];
    bench_run *run;             /* [rep][engine] */
    uint64_t *size;             /* [rep][engine]: files after the load */
    char *files;                /* [rep][engine][BENCH_FILES] */
} bulk_results;

static size_t slot(unsigned rep, unsigned e)
{
    return (size_t)rep * NBULK + e;
}

static void engine_dir(char *out, size_t len, const char *data, unsigned e)
{
    int k = snprintf(out, len, "%s/%s", data, bulk[e].name);
    if (k < 0 || (size_t)k >= len)
        die("path too long");
}

static void run_rep(void *arg, unsigned rep, const char *data)
{
    bulk_results *d = arg;
    char dir[4096];
    if (bench_rm_tree(data))
        die("cannot clean the data directory");
    bench_mkdir(data);
    for (unsigned k = 0; k < NBULK; k++) {
        unsigned e = (k + rep) % NBULK; /* rotate who goes first */
        bench_run *b = &d->run[slot(rep, e)], check;
        engine_dir(dir, sizeof dir, data, e);
        bench_mkdir(dir);
        bench_spawn(d->eng[e], PH_BULK, d->r.n, dir, b);
        d->size[slot(rep, e)] = bench_dir_bytes(dir, d->files + slot(rep, e) * BENCH_FILES,
                                                 BENCH_FILES);
        bench_spawn(d->eng[e], PH_BULK_VERIFY, d->r.n, dir, &check);
        fprintf(stderr, "rep %u/%u bulk %-17s %8.3f s  %9.0f records/s  (verified)\n", rep + 1,
                d->r.reps, bulk[e].name, b->total_ns / 1e9, b->ops / (b->total_ns / 1e9));
    }
}

/* ---- the report ----------------------------------------------------------------------------- */
static bench_stat3 rate(bulk_results *d, unsigned e, int work)
{
    double v[100];
    for (unsigned k = 0; k < d->r.reps; k++) {
        bench_run *b = &d->run[slot(k, e)];
        v[k] = b->ops / ((work ? b->work_ns : b->total_ns) / 1e9);
    }
    return bench_stat(v, d->r.reps);
}

static double size_med(bulk_results *d, unsigned e)
{
    double v[100];
    for (unsigned k = 0; k < d->r.reps; k++)
        v[k] = (double)d->size[slot(k, e)];
    return bench_stat(v, d->r.reps).med;
}

static double rss_mib(bulk_results *d, unsigned e)
{
    long m = 0;
    for (unsigned k = 0; k < d->r.reps; k++)
        if (d->run[slot(k, e)].maxrss_kb > m)
            m = d->run[slot(k, e)].maxrss_kb;
    return m / 1024.0;
}

static void table(FILE *f, bulk_results *d)
{
    char a[64], b[64];
    fprintf(f, "\nLoad of %" PRIu64 " records in key order, one durable commit, records/s, median "
               "(min–max) of %u:\n\n", d->r.n, d->r.reps);
    fprintf(f, "| engine | open + load + close | load alone | files | B/record | peak RSS |\n"
               "|---|---:|---:|---:|---:|---:|\n");
    for (unsigned e = 0; e < NBULK; e++)
        fprintf(f, "| %s | %s | %s | %.1f MiB | %.1f | %.1f MiB |\n", bulk[e].name,
                bench_fmt_stat(rate(d, e, 0), "–", a), bench_fmt_stat(rate(d, e, 1), "–", b),
                size_med(d, e) / 1048576.0,
                size_med(d, e) / (double)d->r.n, rss_mib(d, e));
}

static void ratios(FILE *f, bulk_results *d)
{
    fprintf(f, "\nudb / peer (median records/s; > 1: udb faster):\n\n"
               "| udb / peer | open + load + close | load alone |\n|---|---:|---:|\n");
    for (unsigned u = 0; u < NBULK; u++)
        for (unsigned q = 0; q < NBULK && d->eng[u]->is_udb; q++)
            if (!d->eng[q]->is_udb)
                fprintf(f, "| %s / %s | %.2f | %.2f |\n", bulk[u].name, bulk[q].name,
                        rate(d, u, 0).med / rate(d, q, 0).med, rate(d, u, 1).med / rate(d, q, 1).med);
}

static void report(FILE *f, void *arg)
{
    bulk_results *d = arg;
    char a[16], b[16];
    fprintf(f, "udb bulk load: N = %" PRIu64 ", %u repetitions, %s; %s\n\n", d->r.n, d->r.reps,
            d->r.date, d->r.machine);
    for (unsigned e = 0; e < NBULK; e++)
        fprintf(f, "- `%s`: %s; load: %s\n", bulk[e].name, d->eng[e]->config(), bulk[e].how);
    table(f, d);
    ratios(f, d);
    fprintf(f, "\nIssue #7 asks for over 2M records/s at N = 1000000; medians at N = %" PRIu64 ":",
            d->r.n);
    for (unsigned e = 0; e < NBULK; e++)
        if (d->eng[e]->is_udb)
            fprintf(f, " %s %s (open + load + close), %s (load alone);", bulk[e].name,
                    bench_fmt_rate(rate(d, e, 0).med, a), bench_fmt_rate(rate(d, e, 1).med, b));
    fprintf(f, "\n");
    fprintf(f, "Peak RSS is the timed child's; it includes the sorted input (4 bytes a record) "
               "and qsort's buffer.\n");
}

/* Every timed child: rep, engine, ops, total_ns, work_ns, maxrss_kib, file bytes, files. */
static void write_tsv(FILE *f, void *arg)
{
    bulk_results *d = arg;
    fprintf(f, "rep\tengine\tops\ttotal_ns\twork_ns\tmaxrss_kib\tfile_bytes\tfiles\n");
    for (unsigned k = 0; k < d->r.reps; k++)
        for (unsigned e = 0; e < NBULK; e++) {
            bench_run *b = &d->run[slot(k, e)];
            fprintf(f, "%u\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%ld\t%" PRIu64 "\t%s\n", k + 1,
                    bulk[e].name, b->ops, b->total_ns, b->work_ns, b->maxrss_kb,
                    d->size[slot(k, e)], d->files + slot(k, e) * BENCH_FILES);
        }
}

/* ---- command line ------------------------------------------------------------------------------ */
int bench_bulk(int argc, char **argv)
{
    bulk_results d = {.r = {.neng = NBULK}};
    const char *out;
    if (bench_args(argc, argv, &d.r, &out, NULL, NULL, NULL, NULL))
        return 2;
    d.r.eng = d.eng;
    for (unsigned e = 0; e < NBULK; e++)
        d.eng[e] = bench_engine_need("bulk", bulk[e].name);
    d.run = calloc((size_t)d.r.reps * NBULK, sizeof *d.run);
    d.size = calloc((size_t)d.r.reps * NBULK, sizeof *d.size);
    d.files = calloc((size_t)d.r.reps * NBULK, BENCH_FILES);
    if (!d.run || !d.size || !d.files)
        die("out of memory");
    int rc = bench_reps(&d.r, out, "bulk", run_rep, report, write_tsv, &d);
    free(d.run);
    free(d.size);
    free(d.files);
    return rc;
}
