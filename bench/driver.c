/*
 * driver.c — the udb-bench program: command line, the run loop (every
 * phase of every engine in its own child process, phase P for all engines
 * before phase P+1, repeated), the scratch directory, disk-space check,
 * file sizes, peak RSS, CPU time and page faults of each child, and the
 * page-cache drop before the cold scan.
 *
 *   udb-bench run [-n N] [-r REPS] [-o OUTDIR] [-e ENGINE,ENGINE...]
 *   udb-bench durability [-n N] [-r REPS] [-o OUTDIR]   (durability.c)
 *   udb-bench bulk [-n N] [-r REPS] [-o OUTDIR]         (bulk.c)
 *   udb-bench w2 [-n N0] [-r REPS] [-o OUTDIR] [-e ENGINE,...] [-s SECONDS]
 *                [-t TXNS] [-T TXNS4] [-g GETS]           (w2.c)
 *   udb-bench list
 *   udb-bench child ENGINE PHASE N DIR      (what run executes)
 *   udb-bench w2-child ENGINE PHASE DIR ...  (what w2 executes, w2_work.c)
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char self[4096];

static void die(const char *msg)
{
    fprintf(stderr, "udb-bench: %s\n", msg);
    exit(1);
}

/* ---- the scratch directory -------------------------------------------------------- */
static void join(char *out, size_t len, const char *dir, const char *name)
{
    int k = snprintf(out, len, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= len)
        die("path too long");
}

/* Remove dir and what it holds (two levels: data/ENGINE/files). */
int bench_rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *de;
    char p[4096];
    int rc = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        join(p, sizeof p, dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rc |= bench_rm_tree(p);
        else
            rc |= unlink(p);
    }
    closedir(d);
    return rc | rmdir(dir);
}

uint64_t bench_dir_bytes(const char *dir, char *list, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[4096];
    uint64_t sum = 0;
    size_t at = 0;
    list[0] = 0;
    while (d && (de = readdir(d))) {
        struct stat st;
        join(p, sizeof p, dir, de->d_name);
        if (lstat(p, &st) || !S_ISREG(st.st_mode))
            continue;
        sum += (uint64_t)st.st_size;
        int k = snprintf(list + at, len - at, "%s%s=%jd", at ? " " : "", de->d_name,
                         (intmax_t)st.st_size);
        if (k > 0 && (size_t)k < len - at)
            at += (size_t)k;
    }
    if (d)
        closedir(d);
    return sum;
}

void bench_mkdir(const char *p)
{
    if (mkdir(p, 0755) && errno != EEXIST) {
        perror(p);
        exit(1);
    }
}

/* A generous bound: 400 bytes a record for 100-byte values, 150 for 8. */
void bench_check_space(const char *dir, const bench_engine **eng, unsigned neng, uint64_t n)
{
    struct statvfs vs;
    uint64_t need = 0;
    for (unsigned e = 0; e < neng; e++)
        need += n * (eng[e]->vsize == 8 ? 150 : 400);
    if (statvfs(dir, &vs))
        die("statvfs failed on the output directory");
    uint64_t have = (uint64_t)vs.f_bavail * vs.f_frsize;
    fprintf(stderr, "disk: %.2f GiB free, this run needs at most %.2f GiB\n",
            have / 1073741824.0, need / 1073741824.0);
    if (have < need)
        die("not enough free disk space in the output directory");
}

/* ---- the cold scan ------------------------------------------------------------------ */
/* Pages of path resident in the page cache, of *total. */
static long resident(int fd, off_t size, long *total)
{
    long ps = sysconf(_SC_PAGESIZE), n = (long)((size + ps - 1) / ps), in = 0;
    *total = n;
    if (!n)
        return 0;
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *v = malloc((size_t)n);
    if (m != MAP_FAILED && v && !mincore(m, (size_t)size, v))
        for (long i = 0; i < n; i++)
            in += v[i] & 1;
    else
        in = -1;
    free(v);
    if (m != MAP_FAILED)
        munmap(m, (size_t)size);
    return in;
}

/* Drop the page cache of every file in dir (posix_fadvise DONTNEED, no
   privileges needed; the files are clean after their commits) and say
   so when the kernel kept more than 5% of them. */
int bench_drop_cache(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return perror(dir), -1;
    long in = 0, total = 0;
    for (struct dirent *de; (de = readdir(d));) {
        char p[4096];
        struct stat st;
        join(p, sizeof p, dir, de->d_name);
        int fd = open(p, O_RDONLY);
        if (fd < 0)
            continue;
        if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
            long t, r;
            fdatasync(fd);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            if ((r = resident(fd, st.st_size, &t)) >= 0)
                in += r;
            total += t;
        }
        close(fd);
    }
    closedir(d);
    if (in * 20 > total)
        fprintf(stderr, "udb-bench: cscan: %ld of %ld pages of %s stayed in the page cache\n", in,
                total, dir);
    return 0;
}

/* ---- child processes -------------------------------------------------------------- */
int bench_exec(char *const args[], char *out, size_t len, struct rusage *ru_out)
{
    int fd[2];
    size_t got = 0, n = 0;
    ssize_t k;
    char *argv[16];
    argv[0] = self;
    while (args[n] && n < 14) {
        argv[n + 1] = args[n];
        n++;
    }
    argv[n + 1] = NULL;
    if (pipe(fd))
        die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        close(fd[0]);
        if (dup2(fd[1], STDOUT_FILENO) < 0)
            _exit(126);
        execv(self, argv);
        _exit(127);
    }
    close(fd[1]);
    while (got < len - 1 && (k = read(fd[0], out + got, len - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = 0;
    close(fd[0]);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
        return -1;
    *ru_out = ru;
    return 0;
}

void bench_spawn(const bench_engine *e, int phase, uint64_t n, const char *dir, bench_run *out)
{
    char buf[256], ns[32];
    snprintf(ns, sizeof ns, "%" PRIu64, n);
    char *args[] = {"child", (char *)e->name, (char *)bench_phase_names[phase], ns, (char *)dir,
                    NULL};
    struct rusage ru;
    if (bench_exec(args, buf, sizeof buf, &ru)) {
        fprintf(stderr, "udb-bench: %s %s failed (verification or error above)\n", e->name,
                bench_phase_names[phase]);
        exit(1);
    }
    if (sscanf(buf, "ok %" SCNu64 " %" SCNu64 " %" SCNu64, &out->total_ns, &out->work_ns,
               &out->ops) != 3)
        die("a child printed no result");
    out->maxrss_kb = ru.ru_maxrss;
    out->cpu_ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
                  (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
    out->faults = ru.ru_minflt + ru.ru_majflt;
}

/* ---- the run ---------------------------------------------------------------------- */
void bench_machine(bench_results *r)
{
    time_t t = time(NULL);
    strftime(r->date, sizeof r->date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    char cpu[128] = "unknown CPU", line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    struct utsname u;
    uname(&u);
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGE_SIZE);
    int k = snprintf(r->machine, sizeof r->machine, "%s, %ld CPUs, %.0f GiB RAM, %s %s", cpu,
                     sysconf(_SC_NPROCESSORS_ONLN), (double)pages * psz / 1073741824.0, u.sysname,
                     u.release);
    if (k < 0)   /* a longer line is cut, which is fine */
        snprintf(r->machine, sizeof r->machine, "unknown machine");
}

static void engine_dir(char *p, size_t len, const char *data, const bench_engine *e)
{
    join(p, len, data, e->name);
}

static void run_rep(bench_results *r, unsigned rep, const char *data)
{
    char dir[4096];
    if (bench_rm_tree(data))
        die("cannot clean the data directory");
    bench_mkdir(data);
    for (unsigned e = 0; e < r->neng; e++) {
        engine_dir(dir, sizeof dir, data, r->eng[e]);
        bench_mkdir(dir);
    }
    for (int p = 0; p < PH_COUNT; p++)
        for (unsigned k = 0; k < r->neng; k++) {
            unsigned e = (k + rep) % r->neng;   /* rotate who goes first */
            bench_run *b = bench_at(r, rep, p, e);
            if (p == PH_COMPACT && !r->eng[e]->compact)
                continue; /* none: the run stays all zero, reported as "–" */
            engine_dir(dir, sizeof dir, data, r->eng[e]);
            bench_spawn(r->eng[e], p, r->n, dir, b);
            fprintf(stderr, "rep %u/%u %-6s %-18s %8.3f s  %9.0f ops/s\n", rep + 1, r->reps,
                    bench_phase_names[p], r->eng[e]->name, b->total_ns / 1e9,
                    b->ops / (b->total_ns / 1e9));
            if (p == PH_LOAD || p == PH_UPD)
                bench_size_at(r, rep, e)[p == PH_UPD] =
                    bench_dir_bytes(dir, bench_files_at(r, rep, e, p == PH_UPD), BENCH_FILES);
        }
}

bench_run *bench_at(bench_results *r, unsigned rep, int phase, unsigned e)
{
    return &r->run[((size_t)rep * PH_COUNT + (size_t)phase) * r->neng + e];
}

uint64_t *bench_size_at(bench_results *r, unsigned rep, unsigned e)
{
    return &r->size[((size_t)rep * r->neng + e) * 2];
}

char *bench_files_at(bench_results *r, unsigned rep, unsigned e, int upd)
{
    return r->files + (((size_t)rep * r->neng + e) * 2 + (upd != 0)) * BENCH_FILES;
}

/* ---- command line ------------------------------------------------------------------ */
unsigned bench_pick_engines(const char *list, const bench_engine *const *defaults,
                            const bench_engine **out)
{
    unsigned n = 0;
    if (!list) {
        while (defaults[n] && n < 64) {
            out[n] = defaults[n];
            n++;
        }
        return n;
    }
    char *copy = strdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == 63)
            die("too many engines");
        if (!(out[n] = bench_engine_find(t))) {
            fprintf(stderr, "udb-bench: no engine '%s' (see: udb-bench list)\n", t);
            exit(2);
        }
        n++;
    }
    free(copy);
    return n;
}

int bench_args(int argc, char **argv, bench_results *r, const char **out, const char **list,
               const char *more, bench_opt_fn opt, void *arg)
{
    int c;
    char letters[64];
    r->n = 100000;
    r->reps = 3;
    *out = "bench/out";
    snprintf(letters, sizeof letters, "n:r:o:%s%s", list ? "e:" : "", more ? more : "");
    while ((c = getopt(argc, argv, letters)) != -1) {
        if (more && c != ':' && c != '?' && strchr(more, c)) {
            if (opt(arg, c, optarg))
                return 2;
        } else if (c == 'n')
            r->n = strtoull(optarg, NULL, 10);
        else if (c == 'r')
            r->reps = (unsigned)strtoul(optarg, NULL, 10);
        else if (c == 'o')
            *out = optarg;
        else if (c == 'e' && list)
            *list = optarg;
        else
            return 2;
    }
    if (r->n < 2 || r->n >= BENCH_UPD8 || r->reps < 1 || r->reps > 99)
        die("need 2 <= N < 2^30 and 1 <= REPS <= 99");
    return 0;
}

void bench_start(bench_results *r, const char *out, const char *sub, char *data, size_t len)
{
    bench_mkdir(out);
    join(data, len, out, sub);
    bench_rm_tree(data);
    bench_check_space(out, r->eng, r->neng, r->n);
    bench_machine(r);
}

int bench_reps(bench_results *r, const char *out, const char *name, bench_rep_fn rep,
               void (*text)(FILE *f, void *arg), void (*tsv)(FILE *f, void *arg), void *arg)
{
    char data[4096], sub[64];
    snprintf(sub, sizeof sub, "%s-data", name);
    bench_start(r, out, sub, data, sizeof data);
    for (unsigned k = 0; k < r->reps; k++)
        rep(arg, k, data);
    bench_rm_tree(data);
    printf("\n");
    return bench_write_run(out, name, text, tsv, arg) ? 1 : 0;
}

static int cmd_run(int argc, char **argv)
{
    static const bench_engine *eng[64];
    bench_results r = {.eng = eng};
    const char *out, *list = NULL;
    if (bench_args(argc, argv, &r, &out, &list, NULL, NULL, NULL))
        return 2;
    r.neng = bench_pick_engines(list, bench_engines, eng);
    r.run = calloc((size_t)r.reps * PH_COUNT * r.neng, sizeof *r.run);
    r.size = calloc((size_t)r.reps * r.neng * 2, sizeof *r.size);
    r.files = calloc((size_t)r.reps * r.neng * 2, BENCH_FILES);
    if (!r.run || !r.size || !r.files)
        die("out of memory");
    char data[4096];
    bench_start(&r, out, "data", data, sizeof data);
    for (unsigned rep = 0; rep < r.reps; rep++)
        run_rep(&r, rep, data);
    bench_rm_tree(data);
    bench_report_text(&r);
    int rc = bench_report_files(&r, out) ? 1 : 0;
    free(r.run);
    free(r.size);
    free(r.files);
    return rc;
}

static int cmd_child(char **argv)
{
    const bench_engine *e = bench_engine_find(argv[0]);
    int p = bench_phase_find(argv[1]);
    uint64_t n = strtoull(argv[2], NULL, 10);
    if (!e || p < 0 || n < 2)
        die("child: bad arguments");
    if (p == PH_BULK || p == PH_BULK_VERIFY)
        return bench_bulk_child(e, p, n, argv[3]);
    return bench_child(e, p, n, argv[3]);
}

static void usage(void)
{
    fprintf(stderr, "usage: udb-bench run [-n N] [-r REPS] [-o OUTDIR] [-e ENGINE,...]\n"
                    "       udb-bench durability [-n N] [-r REPS] [-o OUTDIR]\n"
                    "       udb-bench bulk [-n N] [-r REPS] [-o OUTDIR]\n"
                    "       udb-bench w2 [-n N0] [-r REPS] [-o OUTDIR] [-e ENGINE,...] "
                    "[-s SECONDS] [-t TXNS] [-T TXNS4] [-g GETS]\n"
                    "       udb-bench list\n"
                    "       udb-bench child ENGINE PHASE N DIR\n"
                    "       udb-bench w2-child ENGINE PHASE DIR N0 NEXT COUNT TXNS TXNS4 GETS "
                    "SECONDS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0)
        self[k] = 0;
    else
        snprintf(self, sizeof self, "%s", argv[0]);
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "durability"))
        return bench_durability(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "bulk"))
        return bench_bulk(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "w2"))
        return bench_w2(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "w2-child"))
        return bench_w2_child(argc - 2, argv + 2);
    if (argc == 6 && !strcmp(argv[1], "child"))
        return cmd_child(argv + 2);
    if (argc == 2 && !strcmp(argv[1], "list")) {
        for (int e = 0; bench_engines[e]; e++)
            printf("%-18s %s\n", bench_engines[e]->name, bench_engines[e]->config());
        for (int e = 0; bench_extra_engines[e]; e++)
            printf("%-18s %s (not in the W1 run)\n", bench_extra_engines[e]->name,
                   bench_extra_engines[e]->config());
        return 0;
    }
    usage();
    return 2;
}
