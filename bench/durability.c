/*
 * durability.c — `udb-bench durability`, what a durable commit costs (issue
 * #5, "Speed"): the W1 load phase (N records, one transaction) with sync
 * FULL and OFF, and BENCH_TXNS single-record insert transactions with sync
 * FULL, udb beside SQLite in the same run. Every phase of every engine runs
 * in its own child process (driver.c's bench_spawn, as the default run
 * does); medians and min-max over the repetitions; the engine that goes
 * first rotates.
 *
 * Owns this run and its output (stdout, OUTDIR/durability.tsv,
 * OUTDIR/durability.md). Must not change the default run: its engines,
 * phases and output stay as they are; the sync OFF engines and the txn
 * phase are only reached by name.
 */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dur_engine {
    const char *name, *sync;
    int txn;                    /* also runs the single-record transactions */
} dur_engine;

static const dur_engine dur[] = {
    {"udb-store", "FULL", 1}, {"udb-store-nosync", "OFF", 0}, {"sqlite", "FULL", 1},
    {"sqlite-nosync", "OFF", 0}, {"sqlite-wal", "FULL", 1},
};
#define NDUR (sizeof dur / sizeof dur[0])

typedef struct dur_results {
    bench_results r;            /* n, reps, eng, neng, date, machine */
    const bench_engine *eng[NDUR];
    bench_run *run;             /* [rep][0 load, 1 txn][engine] */
} dur_results;

static bench_run *at(dur_results *d, unsigned rep, int txn, unsigned e)
{
    return &d->run[((size_t)rep * 2 + (size_t)txn) * NDUR + e];
}

static void die(const char *msg)
{
    fprintf(stderr, "udb-bench durability: %s\n", msg);
    exit(1);
}

/* ---- the run -------------------------------------------------------------------------- */
static void engine_dir(char *out, size_t len, const char *data, unsigned e)
{
    int k = snprintf(out, len, "%s/%s", data, dur[e].name);
    if (k < 0 || (size_t)k >= len)
        die("path too long");
}

static void run_phase(dur_results *d, unsigned rep, int txn, const char *data)
{
    char dir[4096];
    for (unsigned k = 0; k < NDUR; k++) {
        unsigned e = (k + rep) % NDUR; /* rotate who goes first */
        if (txn && !dur[e].txn)
            continue;
        engine_dir(dir, sizeof dir, data, e);
        bench_run *b = at(d, rep, txn, e);
        bench_spawn(d->eng[e], txn ? PH_TXN : PH_LOAD, d->r.n, dir, b);
        fprintf(stderr, "rep %u/%u %-5s %-17s %8.3f s  %9.0f ops/s\n", rep + 1, d->r.reps,
                txn ? "txn" : "load", dur[e].name, b->total_ns / 1e9, b->ops / (b->total_ns / 1e9));
    }
}

static void run_rep(void *arg, unsigned rep, const char *data)
{
    dur_results *d = arg;
    char dir[4096];
    if (bench_rm_tree(data))
        die("cannot clean the data directory");
    bench_mkdir(data);
    for (unsigned e = 0; e < NDUR; e++) {
        engine_dir(dir, sizeof dir, data, e);
        bench_mkdir(dir);
    }
    run_phase(d, rep, 0, data);
    run_phase(d, rep, 1, data);
}

/* ---- the report ----------------------------------------------------------------------- */
static bench_stat3 rate(dur_results *d, unsigned e, int txn, int work)
{
    double v[100];
    for (unsigned k = 0; k < d->r.reps; k++) {
        bench_run *b = at(d, k, txn, e);
        v[k] = b->ops / ((work ? b->work_ns : b->total_ns) / 1e9);
    }
    return bench_stat(v, d->r.reps);
}

/* One Markdown table (stdout and durability.md): each engine of the phase. */
static void table(FILE *f, dur_results *d, int txn)
{
    char a[64], b[64];
    if (txn)
        fprintf(f, "\nSingle-record transactions (%d inserts into the loaded database, each its own "
                   "begin, insert, durable commit), commits/s, median (min–max) of %u:\n\n",
                BENCH_TXNS, d->r.reps);
    else
        fprintf(f, "\nLoad (%" PRIu64 " inserts in one transaction, one commit), ops/s, median "
                   "(min–max) of %u:\n\n", d->r.n, d->r.reps);
    fprintf(f, "| engine | sync | open + work + close | work alone |\n|---|---|---:|---:|\n");
    for (unsigned e = 0; e < NDUR; e++)
        if (!txn || dur[e].txn)
            fprintf(f, "| %s | %s | %s | %s |\n", dur[e].name, dur[e].sync,
                    bench_fmt_stat(rate(d, e, txn, 0), "–", a), bench_fmt_stat(rate(d, e, txn, 1), "–", b));
}

static double ratio(dur_results *d, unsigned x, unsigned y, int txn)
{
    return rate(d, x, txn, 0).med / rate(d, y, txn, 0).med;
}

/* Engine numbers in dur[]: 0 udb FULL, 1 udb OFF, 2 sqlite FULL, 3 sqlite OFF, 4 WAL. */
static void ratios(FILE *f, dur_results *d)
{
    fprintf(f, "\nRatios of medians (open + work + close):\n\n");
    fprintf(f, "- load, sync FULL / sync OFF: udb-store %.2f, sqlite %.2f\n", ratio(d, 0, 1, 0),
            ratio(d, 2, 3, 0));
    fprintf(f, "- load, udb-store / sqlite: FULL %.2f, OFF %.2f; udb-store / sqlite-wal (FULL) %.2f\n",
            ratio(d, 0, 2, 0), ratio(d, 1, 3, 0), ratio(d, 0, 4, 0));
    fprintf(f, "- single-record transactions, udb-store / sqlite %.2f, udb-store / sqlite-wal %.2f\n",
            ratio(d, 0, 2, 1), ratio(d, 0, 4, 1));
}

static void report(FILE *f, void *arg)
{
    dur_results *d = arg;
    fprintf(f, "udb durability: N = %" PRIu64 ", BENCH_TXNS = %d, %u repetitions, %s; %s\n\n",
            d->r.n, BENCH_TXNS, d->r.reps, d->r.date, d->r.machine);
    for (unsigned e = 0; e < NDUR; e++)
        fprintf(f, "- `%s`: %s\n", dur[e].name, d->eng[e]->config());
    table(f, d, 0);
    table(f, d, 1);
    ratios(f, d);
}

/* Every child run: rep, phase, engine, ops, total_ns, work_ns, maxrss_kib. */
static void write_tsv(FILE *f, void *arg)
{
    dur_results *d = arg;
    fprintf(f, "rep\tphase\tengine\tops\ttotal_ns\twork_ns\tmaxrss_kib\n");
    for (unsigned k = 0; k < d->r.reps; k++)
        for (int t = 0; t < 2; t++)
            for (unsigned e = 0; e < NDUR; e++)
                if (!t || dur[e].txn) {
                    bench_run *b = at(d, k, t, e);
                    fprintf(f, "%u\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%ld\n", k + 1,
                            t ? "txn" : "load", dur[e].name, b->ops, b->total_ns, b->work_ns, b->maxrss_kb);
                }
}

/* ---- command line ----------------------------------------------------------------------- */
int bench_durability(int argc, char **argv)
{
    dur_results d = {.r = {.neng = NDUR}};
    const char *out;
    if (bench_args(argc, argv, &d.r, &out, NULL, NULL, NULL, NULL))
        return 2;
    d.r.eng = d.eng;
    for (unsigned e = 0; e < NDUR; e++)
        d.eng[e] = bench_engine_need("durability", dur[e].name);
    if (!(d.run = calloc((size_t)d.r.reps * 2 * NDUR, sizeof *d.run)))
        die("out of memory");
    int rc = bench_reps(&d.r, out, "durability", run_rep, report, write_tsv, &d);
    free(d.run);
    return rc;
}
