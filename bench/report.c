/*
 * report.c — what a benchmark run prints and writes: medians and min-max of
 * ops/s per engine and phase (open + work + close, and work alone), udb's
 * ratio to each peer with values of the same size (> 1: udb faster), file
 * sizes and peak RSS; as text tables on stdout, results.json, results.tsv
 * (every child run) and results.md (Markdown for bench/README.md).
 */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

bench_stat3 bench_stat(double *v, unsigned n)
{
    bench_stat3 s;
    qsort(v, n, sizeof *v, cmp_d);
    s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

/* ops/s of engine e in phase p over the repetitions; work: time of the work alone */
static int skipped(bench_results *r, unsigned e, int p) { return bench_at(r, 0, p, e)->total_ns == 0; }

/* ops/s of engine e in phase p over the repetitions; work: time of the work
   alone. All zero for a phase the engine skips (no compaction). */
static bench_stat3 rate(bench_results *r, unsigned e, int p, int work)
{
    double v[100];
    bench_stat3 none = {0, 0, 0};
    if (skipped(r, e, p))
        return none;
    for (unsigned k = 0; k < r->reps; k++) {
        bench_run *b = bench_at(r, k, p, e);
        v[k] = b->ops / ((work ? b->work_ns : b->total_ns) / 1e9);
    }
    return bench_stat(v, r->reps);
}

/* udb / peer of the medians, 0 when either skipped the phase */
static double ratio(bench_results *r, unsigned u, unsigned q, int p, int work)
{
    double a = rate(r, u, p, work).med, b = rate(r, q, p, work).med;
    return a > 0 && b > 0 ? a / b : 0;
}

static double size_med(bench_results *r, unsigned e, int upd)
{
    double v[100];
    for (unsigned k = 0; k < r->reps; k++)
        v[k] = (double)bench_size_at(r, k, e)[upd];
    return bench_stat(v, r->reps).med;
}

static long peak_rss(bench_results *r, unsigned e)
{
    long m = 0;
    for (unsigned k = 0; k < r->reps; k++)
        for (int p = 0; p < PH_COUNT; p++)
            if (bench_at(r, k, p, e)->maxrss_kb > m)
                m = bench_at(r, k, p, e)->maxrss_kb;
    return m;
}

/* median CPU seconds (user + system) and page faults of engine e in phase p */
static void cpu_faults(bench_results *r, unsigned e, int p, double *cpu, double *faults)
{
    double c[100], f[100];
    for (unsigned k = 0; k < r->reps; k++) {
        c[k] = bench_at(r, k, p, e)->cpu_ns / 1e9;
        f[k] = (double)bench_at(r, k, p, e)->faults;
    }
    *cpu = bench_stat(c, r->reps).med;
    *faults = bench_stat(f, r->reps).med;
}

/* ---- formatting ----------------------------------------------------------------- */
const char *bench_fmt_rate(double x, char *buf)
{
    if (x >= 9.995e5)
        sprintf(buf, "%.3gM", x / 1e6);
    else if (x >= 999.5)
        sprintf(buf, "%.3gk", x / 1e3);
    else
        sprintf(buf, "%.3g", x);
    return buf;
}

const char *bench_fmt_stat(bench_stat3 s, const char *dash, char *buf)
{
    char a[16], b[16], c[16];
    if (s.med == 0)
        return strcpy(buf, "–");
    sprintf(buf, "%s (%s%s%s)", bench_fmt_rate(s.med, a), bench_fmt_rate(s.min, b), dash, bench_fmt_rate(s.max, c));
    return buf;
}

static const char *fmt_mib(double bytes, char *buf)
{
    sprintf(buf, "%.1f MiB", bytes / 1048576.0);
    return buf;
}

/* ---- stdout -------------------------------------------------------------------------- */
static void text_rates(bench_results *r, int work)
{
    char buf[64];
    printf("\nThroughput, ops/s, %s: median (min-max) of %u\n%-18s",
           work ? "work alone" : "open + work + close", r->reps, "engine");
    for (int p = 0; p < PH_COUNT; p++)
        printf(" %-20s", bench_phase_names[p]);
    for (unsigned e = 0; e < r->neng; e++) {
        printf("\n%-18s", r->eng[e]->name);
        for (int p = 0; p < PH_COUNT; p++)
            printf(" %-20s", bench_fmt_stat(rate(r, e, p, work), "-", buf));
    }
    printf("\n");
}

static int is_pair(bench_results *r, unsigned u, unsigned p)
{
    return r->eng[u]->is_udb && !r->eng[p]->is_udb && r->eng[u]->vsize == r->eng[p]->vsize;
}

static void text_ratios(bench_results *r, int work)
{
    printf("\nudb / peer, median ops/s ratio (> 1: udb faster), %s\n%-36s",
           work ? "work alone" : "open + work + close", "udb engine / peer");
    for (int p = 0; p < PH_COUNT; p++)
        printf(" %7s", bench_phase_names[p]);
    for (unsigned u = 0; u < r->neng; u++)
        for (unsigned q = 0; q < r->neng; q++) {
            if (!is_pair(r, u, q))
                continue;
            printf("\n%-17s / %-16s", r->eng[u]->name, r->eng[q]->name);
            for (int p = 0; p < PH_COUNT; p++)
                ratio(r, u, q, p, work) > 0 ? printf(" %7.2f", ratio(r, u, q, p, work)) : printf(" %7s", "-");
        }
    printf("\n");
}

static void text_files(bench_results *r)
{
    char a[32], b[32];
    printf("\nFiles (median) and peak RSS (largest child)\n%-18s %14s %10s %14s %12s\n", "engine",
           "after load", "B/record", "after upd", "peak RSS");
    for (unsigned e = 0; e < r->neng; e++)
        printf("%-18s %14s %10.1f %14s %8.1f MiB\n", r->eng[e]->name,
               fmt_mib(size_med(r, e, 0), a), size_med(r, e, 0) / (double)r->n,
               fmt_mib(size_med(r, e, 1), b), peak_rss(r, e) / 1024.0);
}

static void text_cpu(bench_results *r)
{
    char buf[16];
    printf("\nCPU seconds (user + system) / page faults of each child, median\n%-18s", "engine");
    for (int p = 0; p < PH_COUNT; p++)
        printf(" %-14s", bench_phase_names[p]);
    for (unsigned e = 0; e < r->neng; e++) {
        printf("\n%-18s", r->eng[e]->name);
        for (int p = 0; p < PH_COUNT; p++) {
            double c, f;
            cpu_faults(r, e, p, &c, &f);
            char cell[40];
            snprintf(cell, sizeof cell, "%.2f / %s", c, bench_fmt_rate(f, buf));
            printf(" %-14s", skipped(r, e, p) ? "-" : cell);
        }
    }
    printf("\n");
}

void bench_report_text(bench_results *r)
{
    printf("\nudb benchmark W1: N = %" PRIu64 ", %u repetitions, %s\n%s\n", r->n, r->reps,
           r->date, r->machine);
    for (unsigned e = 0; e < r->neng; e++)
        printf("  %-18s %s\n", r->eng[e]->name, r->eng[e]->config());
    text_rates(r, 0);
    text_ratios(r, 0);
    text_rates(r, 1);
    text_ratios(r, 1);
    text_cpu(r);
    text_files(r);
}

/* ---- Markdown --------------------------------------------------------------------------- */
static void md_header(FILE *f, const char *first)
{
    fprintf(f, "| %s |", first);
    for (int p = 0; p < PH_COUNT; p++)
        fprintf(f, " %s |", bench_phase_names[p]);
    fprintf(f, "\n|---|");
    for (int p = 0; p < PH_COUNT; p++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
}

static void md_rates(FILE *f, bench_results *r, int work)
{
    char buf[64];
    fprintf(f, "\nops/s, %s, median (min–max) of %u:\n\n",
            work ? "work alone" : "open + work + close", r->reps);
    md_header(f, "engine");
    for (unsigned e = 0; e < r->neng; e++) {
        fprintf(f, "| %s |", r->eng[e]->name);
        for (int p = 0; p < PH_COUNT; p++)
            fprintf(f, " %s |", bench_fmt_stat(rate(r, e, p, work), "–", buf));
        fprintf(f, "\n");
    }
}

static void md_ratios(FILE *f, bench_results *r, int work)
{
    fprintf(f, "\nudb / peer (median ops/s; > 1: udb faster), %s:\n\n",
            work ? "work alone" : "open + work + close");
    md_header(f, "udb / peer");
    for (unsigned u = 0; u < r->neng; u++)
        for (unsigned q = 0; q < r->neng; q++) {
            if (!is_pair(r, u, q))
                continue;
            fprintf(f, "| %s / %s |", r->eng[u]->name, r->eng[q]->name);
            for (int p = 0; p < PH_COUNT; p++)
                ratio(r, u, q, p, work) > 0 ? fprintf(f, " %.2f |", ratio(r, u, q, p, work))
                                            : fprintf(f, " – |");
            fprintf(f, "\n");
        }
}

static void md_cpu(FILE *f, bench_results *r)
{
    char buf[16];
    fprintf(f, "\nCPU seconds (user + system) / page faults of each phase's process, median:\n\n");
    md_header(f, "engine");
    for (unsigned e = 0; e < r->neng; e++) {
        fprintf(f, "| %s |", r->eng[e]->name);
        for (int p = 0; p < PH_COUNT; p++) {
            double c, n;
            cpu_faults(r, e, p, &c, &n);
            if (skipped(r, e, p))
                fprintf(f, " – |");
            else
                fprintf(f, " %.2f / %s |", c, bench_fmt_rate(n, buf));
        }
        fprintf(f, "\n");
    }
}

static void md_files(FILE *f, bench_results *r)
{
    char a[32], b[32];
    fprintf(f, "\n| engine | value | files after load | B/record | files after upd | peak RSS |\n"
               "|---|---:|---:|---:|---:|---:|\n");
    for (unsigned e = 0; e < r->neng; e++)
        fprintf(f, "| %s | %u B | %s | %.1f | %s | %.1f MiB |\n", r->eng[e]->name,
                r->eng[e]->vsize, fmt_mib(size_med(r, e, 0), a), size_med(r, e, 0) / (double)r->n,
                fmt_mib(size_med(r, e, 1), b), peak_rss(r, e) / 1024.0);
}

static void write_md(FILE *f, void *arg)
{
    bench_results *r = arg;
    fprintf(f, "N = %" PRIu64 ", %u repetitions, %s; %s.\n\n", r->n, r->reps, r->date, r->machine);
    for (unsigned e = 0; e < r->neng; e++)
        fprintf(f, "- `%s`: %s\n", r->eng[e]->name, r->eng[e]->config());
    md_rates(f, r, 0);
    md_ratios(f, r, 0);
    md_rates(f, r, 1);
    md_ratios(f, r, 1);
    md_cpu(f, r);
    md_files(f, r);
}

/* ---- JSON and TSV ------------------------------------------------------------------------ */
static void json_stat(FILE *f, const char *name, bench_stat3 s)
{
    fprintf(f, "\"%s\": {\"median\": %.1f, \"min\": %.1f, \"max\": %.1f}", name, s.med, s.min,
            s.max);
}

static void json_engine(FILE *f, bench_results *r, unsigned e)
{
    const bench_engine *g = r->eng[e];
    fprintf(f, "    {\"name\": \"%s\", \"udb\": %s, \"value_bytes\": %u, \"config\": \"%s\",\n",
            g->name, g->is_udb ? "true" : "false", g->vsize, g->config());
    fprintf(f, "     \"bytes_after_load\": %.0f, \"bytes_after_upd\": %.0f, "
               "\"peak_rss_kib\": %ld,\n",
            size_med(r, e, 0), size_med(r, e, 1), peak_rss(r, e));
    fprintf(f, "     \"phases\": {");
    for (int p = 0; p < PH_COUNT; p++) {
        fprintf(f, "%s\n      \"%s\": {\"ops\": %" PRIu64 ", ", p ? "," : "", bench_phase_names[p],
                bench_phase_ops(p, r->n));
        json_stat(f, "ops_per_s", rate(r, e, p, 0));
        fprintf(f, ", ");
        json_stat(f, "work_ops_per_s", rate(r, e, p, 1));
        fprintf(f, "}");
    }
    fprintf(f, "}}");
}

static void json_ratios(FILE *f, bench_results *r)
{
    int first = 1;
    fprintf(f, "  \"ratios\": [");
    for (unsigned u = 0; u < r->neng; u++)
        for (unsigned q = 0; q < r->neng; q++)
            for (int p = 0; p < PH_COUNT && is_pair(r, u, q); p++) {
                if (ratio(r, u, q, p, 0) == 0)
                    continue; /* one of them skipped the phase */
                fprintf(f, "%s\n    {\"udb\": \"%s\", \"peer\": \"%s\", \"phase\": \"%s\", "
                           "\"ratio\": %.4f, \"work_ratio\": %.4f}",
                        first ? "" : ",", r->eng[u]->name, r->eng[q]->name, bench_phase_names[p],
                        ratio(r, u, q, p, 0), ratio(r, u, q, p, 1));
                first = 0;
            }
    fprintf(f, "\n  ]\n");
}

static void write_json(FILE *f, void *arg)
{
    bench_results *r = arg;
    fprintf(f, "{\n  \"workload\": \"W1\", \"n\": %" PRIu64 ", \"repetitions\": %u,\n", r->n,
            r->reps);
    fprintf(f, "  \"date\": \"%s\", \"machine\": \"%s\",\n  \"engines\": [\n", r->date, r->machine);
    for (unsigned e = 0; e < r->neng; e++) {
        json_engine(f, r, e);
        fprintf(f, "%s\n", e + 1 < r->neng ? "," : "");
    }
    fprintf(f, "  ],\n");
    json_ratios(f, r);
    fprintf(f, "}\n");
}

static void write_tsv(FILE *f, void *arg)
{
    bench_results *r = arg;
    fprintf(f, "rep\tphase\tengine\tops\ttotal_ns\twork_ns\tmaxrss_kib\tcpu_ns\tfaults\tfile_bytes\tfiles\n");
    for (unsigned k = 0; k < r->reps; k++)
        for (int p = 0; p < PH_COUNT; p++)
            for (unsigned e = 0; e < r->neng; e++) {
                bench_run *b = bench_at(r, k, p, e);
                uint64_t *sz = bench_size_at(r, k, e);
                fprintf(f, "%u\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%ld\t%" PRIu64 "\t%ld\t",
                        k + 1, bench_phase_names[p], r->eng[e]->name, b->ops, b->total_ns,
                        b->work_ns, b->maxrss_kb, b->cpu_ns, b->faults);
                if (p == PH_LOAD || p == PH_UPD)
                    fprintf(f, "%" PRIu64 "\t%s\n", sz[p == PH_UPD],
                            bench_files_at(r, k, e, p == PH_UPD));
                else
                    fprintf(f, "\t\n");
            }
}

static int write_file(const char *dir, const char *name, void (*fn)(FILE *, void *), void *arg)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fn(f, arg);
    int rc = fclose(f) ? -1 : 0;
    if (rc)
        perror(path);
    return rc;
}

int bench_report_files(bench_results *r, const char *outdir)
{
    int rc = write_file(outdir, "results.json", write_json, r);
    rc |= write_file(outdir, "results.tsv", write_tsv, r);
    rc |= write_file(outdir, "results.md", write_md, r);
    if (!rc)
        printf("\nwritten: %s/results.json, results.tsv, results.md\n", outdir);
    return rc;
}

int bench_write_run(const char *out, const char *name, void (*text)(FILE *f, void *arg),
                    void (*tsv)(FILE *f, void *arg), void *arg)
{
    char md[64], rows[64];
    snprintf(md, sizeof md, "%s.md", name);
    snprintf(rows, sizeof rows, "%s.tsv", name);
    text(stdout, arg);
    int rc = write_file(out, md, text, arg);
    rc |= write_file(out, rows, tsv, arg);
    if (!rc)
        printf("\nwritten: %s/%s, %s\n", out, md, rows);
    return rc;
}
