/*
 * w2.c — `udb-bench w2`, the second workload (W2 in workload.md): small
 * transactions, single calls, readers beside a writer. For each
 * repetition, on fresh databases: the untimed preload of N0 records (W1's
 * load phase, `udb-bench child ENGINE load N0 DIR`), then the phases
 * commit1, commit4, get1, mixed, commit4p and mixedp, each phase of each
 * engine in its own child process (`udb-bench w2-child ...`, w2_work.c),
 * phase P for all engines before P+1, the engine that goes first
 * rotating with the repetition. The child reports per role (writers,
 * readers) its operations, time, lock timeouts and latency percentiles;
 * this file takes the medians and min-max over the repetitions and
 * writes the report (stdout, OUTDIR/w2.md, every child's rows in
 * OUTDIR/w2.tsv). Lock timeouts do not stop the run: they are counted,
 * and a phase of an engine that had any is reported as a failed row.
 *
 * Owns the W2 run and its report. Must not change W1's run, phases or
 * output.
 */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One role of one child run: what w2_work.c printed. */
typedef struct w2_fig {
    int has;
    uint64_t ops, span_ns, locked, p50, p99, max;
} w2_fig;

typedef struct w2_results {
    bench_results r;            /* n (= N0), reps, eng, neng, date, machine */
    const bench_engine *eng[64];
    bench_w2_size size;
    w2_fig *fig;                /* [rep][phase][engine][role] */
} w2_results;

enum { F_RATE, F_P50, F_P99, F_MAX, F_COUNT };
static const char *const role_rate[W2_ROLES] = {"commits/s", "gets/s"};

static w2_fig *fig_at(w2_results *d, unsigned rep, int p, unsigned e, int role)
{
    return &d->fig[(((size_t)rep * W2_PHASES + (size_t)p) * d->r.neng + e) * W2_ROLES + role];
}

static void die(const char *msg)
{
    fprintf(stderr, "udb-bench w2: %s\n", msg);
    exit(1);
}

/* ---- the run -------------------------------------------------------------------------- */
static void engine_dir(char *out, size_t len, const char *data, const bench_engine *e)
{
    int k = snprintf(out, len, "%s/%s", data, e->name);
    if (k < 0 || (size_t)k >= len)
        die("path too long");
}

/* "role R OPS SPAN LOCKED P50 P99 MAX" lines, then "ok NEXT COUNT". */
static int parse(char *buf, w2_fig *role, uint64_t *next, uint64_t *count)
{
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        int r;
        w2_fig f = {1, 0, 0, 0, 0, 0, 0};
        if (sscanf(l, "ok %" SCNu64 " %" SCNu64, next, count) == 2)
            return 0;
        if (sscanf(l, "role %d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                      " %" SCNu64, &r, &f.ops, &f.span_ns, &f.locked, &f.p50, &f.p99,
                   &f.max) != 7 || r < 0 || r >= W2_ROLES)
            return -1;
        role[r] = f;
    }
    return -1;
}

static double rate(const w2_fig *f)
{
    return f->span_ns ? f->ops / (f->span_ns / 1e9) : 0;
}

static void progress(w2_results *d, unsigned rep, int p, const bench_engine *e, w2_fig *f)
{
    fprintf(stderr, "rep %u/%u %-8s %-17s", rep + 1, d->r.reps, bench_w2_phases[p].name, e->name);
    for (int r = 0; r < W2_ROLES; r++)
        if (f[r].has)
            fprintf(stderr, "  %9.0f %-9s p99 %8.1f us%s", rate(&f[r]), role_rate[r],
                    f[r].p99 / 1e3, f[r].locked ? "  LOCKED" : "");
    fprintf(stderr, "\n");
}

/* One phase of one engine; next and count follow the engine's database. */
static void run_phase(w2_results *d, unsigned rep, int p, unsigned e, const char *dir,
                      uint64_t *next, uint64_t *count)
{
    char out[1024], a[7][32];
    struct rusage rss;
    uint64_t v[7] = {d->r.n, *next, *count, d->size.txns, d->size.txns4, d->size.gets,
                     d->size.seconds};
    for (int k = 0; k < 7; k++)
        snprintf(a[k], sizeof a[k], "%" PRIu64, v[k]);
    char *args[] = {"w2-child", (char *)d->eng[e]->name, (char *)bench_w2_phases[p].name,
                    (char *)dir, a[0], a[1], a[2], a[3], a[4], a[5], a[6], NULL};
    w2_fig *f = fig_at(d, rep, p, e, 0);
    if (bench_exec(args, out, sizeof out, &rss) || parse(out, f, next, count)) {
        fprintf(stderr, "udb-bench w2: %s %s failed (verification or error above)\n",
                d->eng[e]->name, bench_w2_phases[p].name);
        exit(1);
    }
    progress(d, rep, p, d->eng[e], f);
}

static void run_rep(void *arg, unsigned rep, const char *data)
{
    w2_results *d = arg;
    char dir[4096];
    uint64_t next[64], count[64];
    if (bench_rm_tree(data))
        die("cannot clean the data directory");
    bench_mkdir(data);
    for (unsigned k = 0; k < d->r.neng; k++) {
        unsigned e = (k + rep) % d->r.neng; /* rotate who goes first */
        bench_run b;
        engine_dir(dir, sizeof dir, data, d->eng[e]);
        bench_mkdir(dir);
        bench_spawn(d->eng[e], PH_LOAD, d->r.n, dir, &b);
        next[e] = count[e] = d->r.n;
        fprintf(stderr, "rep %u/%u preload  %-17s %8.3f s (untimed)\n", rep + 1, d->r.reps,
                d->eng[e]->name, b.total_ns / 1e9);
    }
    for (int p = 0; p < W2_PHASES; p++)
        for (unsigned k = 0; k < d->r.neng; k++) {
            unsigned e = (k + rep) % d->r.neng;
            engine_dir(dir, sizeof dir, data, d->eng[e]);
            run_phase(d, rep, p, e, dir, &next[e], &count[e]);
        }
}

/* ---- the report ----------------------------------------------------------------------- */
static bench_stat3 fig_stat(w2_results *d, int p, unsigned e, int role, int fig)
{
    double v[100];
    for (unsigned k = 0; k < d->r.reps; k++) {
        w2_fig *f = fig_at(d, k, p, e, role);
        v[k] = fig == F_RATE ? rate(f) : fig == F_P50 ? f->p50 : fig == F_P99 ? f->p99 : f->max;
    }
    return bench_stat(v, d->r.reps);
}

static uint64_t locked(w2_results *d, int p, unsigned e, int role)
{
    uint64_t n = 0;
    for (unsigned k = 0; k < d->r.reps; k++)
        n += fig_at(d, k, p, e, role)->locked;
    return n;
}

static int failed(w2_results *d, int p, unsigned e)
{
    return locked(d, p, e, 0) + locked(d, p, e, 1) > 0;
}

static const char *fmt_us(double ns, char *buf)
{
    double us = ns / 1e3;
    sprintf(buf, us < 10 ? "%.2f" : us < 100 ? "%.1f" : "%.0f", us);
    return buf;
}

static const char *fmt_fig(bench_stat3 s, int fig, char buf[128])
{
    char a[32], b[32], c[32];
    if (fig == F_RATE)
        return bench_fmt_stat(s, "–", buf);
    snprintf(buf, 128, "%s (%s–%s)", fmt_us(s.med, a), fmt_us(s.min, b), fmt_us(s.max, c));
    return buf;
}

static int has_role(int p, int role)
{
    return role ? bench_w2_phases[p].readers > 0 : bench_w2_phases[p].writers > 0;
}

static void table_head(FILE *f, int p)
{
    static const char *const lat[] = {"p50 µs", "p99 µs", "max µs"};
    int both = has_role(p, 0) && has_role(p, 1);
    fprintf(f, "| engine |");
    for (int r = 0; r < W2_ROLES; r++)
        for (int g = 0; g < F_COUNT && has_role(p, r); g++)
            fprintf(f, " %s%s |", both ? (r ? "readers " : "writer ") : "",
                    g == F_RATE ? role_rate[r] : lat[g - 1]);
    fprintf(f, " locked%s |\n|---|", both ? " (writer + readers)" : "");
    for (int r = 0; r < W2_ROLES; r++)
        for (int g = 0; g < F_COUNT && has_role(p, r); g++)
            fprintf(f, "---:|");
    fprintf(f, "---:|\n");
}

static void table(FILE *f, w2_results *d, int p)
{
    static const char *const what[W2_PHASES] = {
        "one thread, single-record transactions (begin, insert, durable commit)",
        "4 threads, each its own handle, single-record transactions, distinct keys",
        "one thread, single lookups, each its own read (W1 get order)",
        "one writer thread doing commit1's transactions, 3 reader threads doing get1's lookups",
        "commit4 with 4 processes",
        "mixed with processes (1 writer, 3 readers)",
    };
    char buf[128];
    fprintf(f, "\n**%s**: %s. Median (min–max) of %u", bench_w2_phases[p].name, what[p], d->r.reps);
    if (bench_w2_phases[p].timed)
        fprintf(f, ", %u s each", d->size.seconds);
    fprintf(f, ":\n\n");
    table_head(f, p);
    for (unsigned e = 0; e < d->r.neng; e++) {
        fprintf(f, "| %s%s |", d->eng[e]->name, failed(d, p, e) ? " **FAILED: lock timeouts**" : "");
        for (int r = 0; r < W2_ROLES; r++)
            for (int g = 0; g < F_COUNT && has_role(p, r); g++)
                fprintf(f, " %s |", fmt_fig(fig_stat(d, p, e, r, g), g, buf));
        if (has_role(p, 0) && has_role(p, 1))
            fprintf(f, " %" PRIu64 " + %" PRIu64 " |\n", locked(d, p, e, 0), locked(d, p, e, 1));
        else
            fprintf(f, " %" PRIu64 " |\n", locked(d, p, e, has_role(p, 1)));
    }
}

static const char *fmt_ratio(double x, char *buf)
{
    sprintf(buf, x < 0.1 ? "%.2g" : "%.2f", x);
    return buf;
}

/* udb / peer of the median rates, one column per phase and role. */
static void ratios(FILE *f, w2_results *d)
{
    char buf[32];
    fprintf(f, "\nudb / peer (median commits/s or gets/s; > 1: udb faster; \"failed\": "
               "either had lock timeouts):\n\n| udb / peer |");
    for (int p = 0; p < W2_PHASES; p++)
        for (int r = 0; r < W2_ROLES; r++)
            if (has_role(p, r))
                fprintf(f, " %s%s |", bench_w2_phases[p].name,
                        has_role(p, !r) ? (r ? " readers" : " writer") : "");
    fprintf(f, "\n|---|");
    for (int p = 0; p < W2_PHASES; p++)
        for (int r = 0; r < W2_ROLES; r++)
            fprintf(f, "%s", has_role(p, r) ? "---:|" : "");
    fprintf(f, "\n");
    for (unsigned u = 0; u < d->r.neng; u++)
        for (unsigned q = 0; q < d->r.neng && d->eng[u]->is_udb; q++) {
            if (d->eng[q]->is_udb)
                continue;
            fprintf(f, "| %s / %s |", d->eng[u]->name, d->eng[q]->name);
            for (int p = 0; p < W2_PHASES; p++)
                for (int r = 0; r < W2_ROLES; r++)
                    if (has_role(p, r) && (failed(d, p, u) || failed(d, p, q)))
                        fprintf(f, " failed |");
                    else if (has_role(p, r))
                        fprintf(f, " %s |", fmt_ratio(fig_stat(d, p, u, r, F_RATE).med /
                                                      fig_stat(d, p, q, r, F_RATE).med, buf));
            fprintf(f, "\n");
        }
}

static void failures(FILE *f, w2_results *d)
{
    int any = 0;
    fprintf(f, "\nLock timeouts (BENCH_LOCKED: UDB_LOCKED after lock_timeout_ms, SQLITE_BUSY "
               "after busy_timeout; rolled back, not retried, not counted as done):");
    for (int p = 0; p < W2_PHASES; p++)
        for (unsigned e = 0; e < d->r.neng; e++)
            if (failed(d, p, e)) {
                fprintf(f, "%s %s %s %" PRIu64 " writer + %" PRIu64 " reader ops", any ? ";" : "",
                        d->eng[e]->name, bench_w2_phases[p].name, locked(d, p, e, 0),
                        locked(d, p, e, 1));
                any = 1;
            }
    fprintf(f, "%s\n", any ? ". These rows FAILED." : " none.");
}

static void report(FILE *f, void *arg)
{
    w2_results *d = arg;
    fprintf(f, "udb benchmark W2: N0 = %" PRIu64 ", commit1 %" PRIu64 " transactions, commit4 4 × "
               "%" PRIu64 ", get1 %" PRIu64 " lookups, mixed %u s; %u repetitions, %s; %s\n\n",
            d->r.n, d->size.txns, d->size.txns4, d->size.gets, d->size.seconds, d->r.reps,
            d->r.date, d->r.machine);
    for (unsigned e = 0; e < d->r.neng; e++)
        fprintf(f, "- `%s`: %s; W2: %s\n", d->eng[e]->name, d->eng[e]->config(),
                d->eng[e]->w2->how);
    fprintf(f, "\nRates are operations done / time from the common start to the last worker's "
               "end; latencies (µs) are every operation's, from begin to commit or of one "
               "lookup, over all workers of the role.\n");
    for (int p = 0; p < W2_PHASES; p++)
        table(f, d, p);
    ratios(f, d);
    failures(f, d);
}

/* Every child run and role: rep, phase, engine, role, ops, span_ns, locked, p50, p99, max. */
static void write_tsv(FILE *f, void *arg)
{
    w2_results *d = arg;
    fprintf(f, "rep\tphase\tengine\trole\tops\tspan_ns\tlocked\tp50_ns\tp99_ns\tmax_ns\n");
    for (unsigned k = 0; k < d->r.reps; k++)
        for (int p = 0; p < W2_PHASES; p++)
            for (unsigned e = 0; e < d->r.neng; e++)
                for (int r = 0; r < W2_ROLES; r++) {
                    w2_fig *g = fig_at(d, k, p, e, r);
                    if (g->has)
                        fprintf(f, "%u\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                                   "\t%" PRIu64 "\t%" PRIu64 "\n", k + 1, bench_w2_phases[p].name,
                                d->eng[e]->name, r ? "readers" : "writers", g->ops, g->span_ns,
                                g->locked, g->p50, g->p99, g->max);
                }
}

/* ---- command line ------------------------------------------------------------------------ */
static int option(void *arg, int c, const char *value)
{
    bench_w2_size *z = arg;
    char *end;
    unsigned long long v = strtoull(value, &end, 10);
    if (*end || end == value || v < 1 || v > (c == 's' ? 3600u : 100000000u)) {
        fprintf(stderr, "udb-bench w2: -%c wants 1..%u\n", c, c == 's' ? 3600u : 100000000u);
        return -1;
    }
    if (c == 's')
        z->seconds = (unsigned)v;
    else
        *(c == 't' ? &z->txns : c == 'T' ? &z->txns4 : &z->gets) = v;
    return 0;
}

int bench_w2(int argc, char **argv)
{
    w2_results d = {.size = {5000, 2000, 100000, 10}};
    const char *out, *list = NULL;
    d.r.eng = d.eng;
    if (bench_args(argc, argv, &d.r, &out, &list, "s:t:T:g:", option, &d.size))
        return 2;
    d.r.neng = bench_pick_engines(list, bench_w2_engines, d.eng);
    for (unsigned e = 0; e < d.r.neng; e++)
        if (!d.eng[e]->w2) {
            fprintf(stderr, "udb-bench w2: %s is not a W2 engine\n", d.eng[e]->name);
            return 2;
        }
    if (!(d.fig = calloc((size_t)d.r.reps * W2_PHASES * d.r.neng * W2_ROLES, sizeof *d.fig)))
        die("out of memory");
    int rc = bench_reps(&d.r, out, "w2", run_rep, report, write_tsv, &d);
    free(d.fig);
    return rc;
}
