/*
 * w2_work.c — the child side of W2 (`udb-bench w2-child`): one phase of one
 * engine in this process. Its workers, writers (begin, insert one new
 * record, durable commit) and readers (single lookups, each its own read,
 * in W1 get order), run as threads or as processes forked here, each with
 * a handle of its own; they start together, count the operations that hit
 * a lock timeout (BENCH_LOCKED: rolled back, not retried) and record every
 * operation's latency in memory preallocated and shared with this process.
 * Afterwards, untimed: every record the phase tried to write is there with
 * its value or absent, as many there as were committed, and the record
 * count is the one before plus the commits. Then one line per role on
 * stdout, "role R OPS SPAN_NS LOCKED P50_NS P99_NS MAX_NS", and
 * "ok NEXT COUNT" (the next unused record number, the records there).
 *
 * Owns W2's phases, workers, latencies and verification. Must not touch
 * W1's phases (workload.c) nor print on stdout anything but those lines.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const bench_w2_phase bench_w2_phases[W2_PHASES] = {
    {"commit1", 1, 0, 0, 0}, {"commit4", 4, 0, 0, 0},  {"get1", 0, 1, 0, 0},
    {"mixed", 1, 3, 0, 1},   {"commit4p", 4, 0, 1, 0}, {"mixedp", 1, 3, 1, 1},
};
#define MAXW 4
/* Timed phases keep every latency up to these rates per worker (ops/s),
   and an even sample (every 2nd, 4th ... operation) beyond. */
#define WRITE_RATE 200000u
#define READ_RATE 2000000u
#define MAX_LAT (64u << 20)
#define LAT_UNIT 4u /* ns: latencies are kept as uint32 of these, up to 17 s (max exact) */

/* One worker, in memory shared with the phase process. Writers write
   records base, base+1, ...; readers look up get numbers base, base+1, ... */
typedef struct w2_slot {
    int role, failed;
    uint64_t base, count;
    uint64_t ops, tried, locked, end_ns;
    uint64_t seen, stride, n, cap, max_ns; /* lat[0..n): every stride-th op, LAT_UNIT */
    uint32_t *lat;
} w2_slot;

typedef struct w2_shared {
    atomic_int stop;
    w2_slot slot[MAXW];
} w2_shared;

typedef struct w2_ctx {
    const bench_engine *e;
    const bench_w2_phase *ph;
    const char *dir;
    uint64_t n0, next, count;  /* next: first record number to write; count: records now */
    bench_w2_size size;
    void *root;                /* threads sharing one handle's environment (w2->share) */
    w2_shared *sh;
    size_t map_len;
    uint64_t go_ns;
    int ready[2], go[2];
} w2_ctx;

typedef struct w2_arg {
    w2_ctx *c;
    unsigned k;
} w2_arg;

static int fail(const w2_ctx *c, uint64_t i, const char *what)
{
    fprintf(stderr, "w2: %s %s: record %" PRIu64 ": %s\n", c->e->name, c->ph->name, i, what);
    return -1;
}

static int stopped(w2_ctx *c)
{
    return atomic_load_explicit(&c->sh->stop, memory_order_relaxed);
}

/* ---- latencies ---------------------------------------------------------------------- */
static void lat_add(w2_slot *s, uint64_t ns)
{
    uint64_t k = s->seen++;
    if (ns > s->max_ns)
        s->max_ns = ns;
    if (k % s->stride)
        return;
    if (s->n == s->cap) { /* full: keep every other one, then sample half as often */
        for (uint64_t j = 0; j < (s->n + 1) / 2; j++)
            s->lat[j] = s->lat[2 * j];
        s->n = (s->n + 1) / 2;
        s->stride *= 2;
        if (k % s->stride)
            return;
    }
    ns /= LAT_UNIT;
    s->lat[s->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* The k-th smallest of a[0..n) (quickselect; reorders a). */
static uint32_t select_k(uint32_t *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi], t;
        uint32_t pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                t = a[i], a[i] = a[j], a[j] = t;
                i++, j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* Nearest rank: the smallest value with at least pct % of a[0..n) at or below it. */
static uint64_t percentile(uint32_t *a, uint64_t n, unsigned pct)
{
    return n ? select_k(a, (int64_t)n, (int64_t)((n * pct + 99) / 100) - 1) : 0;
}

/* One role's figures: the workers' latencies thinned to a common stride and
   packed into the first one's array, then its percentiles. */
static void print_role(w2_ctx *c, int role)
{
    uint64_t ops = 0, locked = 0, end = c->go_ns, max = 0, stride = 1, n = 0;
    uint32_t *all = NULL;
    unsigned nw = c->ph->writers + c->ph->readers;
    for (unsigned k = 0; k < nw; k++)
        if (c->sh->slot[k].role == role && c->sh->slot[k].stride > stride)
            stride = c->sh->slot[k].stride;
    for (unsigned k = 0; k < nw; k++) {
        w2_slot *s = &c->sh->slot[k];
        if (s->role != role)
            continue;
        uint64_t f = stride / s->stride, m = (s->n + f - 1) / f;
        if (!all)
            all = s->lat;
        for (uint64_t j = 0; j < m; j++)    /* the slots of a role lie in order */
            all[n + j] = s->lat[j * f];
        n += m;
        ops += s->ops;
        locked += s->locked;
        end = s->end_ns > end ? s->end_ns : end;
        max = s->max_ns > max ? s->max_ns : max;
    }
    if (!all)
        return;
    uint64_t p50 = percentile(all, n, 50) * LAT_UNIT, p99 = percentile(all, n, 99) * LAT_UNIT;
    printf("role %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
           role, ops, end - c->go_ns, locked, p50, p99, max);
}

/* ---- the workers ----------------------------------------------------------------------- */
/* Single-record transactions; a lock timeout rolls back and goes on with the next record. */
static int write_loop(w2_ctx *c, void *db, w2_slot *s)
{
    const bench_engine *e = c->e;
    uint8_t key[BENCH_KEY], val[BENCH_VAL];
    for (uint64_t t = 0; t < s->count && !stopped(c); t++) {
        uint64_t i = s->base + t;
        bench_key(i, key);
        bench_value(i, 0, BENCH_VAL, val);
        uint64_t t0 = bench_now_ns();
        int open = 0, rc = e->begin(db, 1);
        if (!rc) {
            open = 1;
            rc = e->put(db, key, val, BENCH_VAL);
        }
        if (!rc)
            rc = e->commit(db, 1);
        lat_add(s, bench_now_ns() - t0);
        s->tried = t + 1;
        if (rc == BENCH_LOCKED) {
            s->locked++;
            if (open && e->w2->rollback(db))
                return fail(c, i, "rollback after a lock timeout failed");
            continue;
        }
        if (rc)
            return fail(c, i, "transaction failed");
        s->ops++;
    }
    return 0;
}

/* Single lookups of preloaded records: found, 100 bytes, bytes 0..7 = i. */
static int read_loop(w2_ctx *c, void *db, w2_slot *s)
{
    uint8_t key[BENCH_KEY];
    for (uint64_t t = 0; t < s->count && !stopped(c); t++) {
        uint64_t i = (s->base + t) % c->n0 * 7919 % c->n0; /* W1 get order */
        const void *v;
        size_t len;
        bench_key(i, key);
        uint64_t t0 = bench_now_ns();
        int rc = c->e->w2->get1(db, key, &v, &len);
        lat_add(s, bench_now_ns() - t0);
        if (rc == BENCH_LOCKED) {
            s->locked++;
            continue;
        }
        if (rc)
            return fail(c, i, rc == BENCH_ABSENT ? "key absent" : "lookup failed");
        if (len != BENCH_VAL || bench_ld64(v) != i)
            return fail(c, i, "wrong value");
        s->ops++;
    }
    return 0;
}

/* Open, say ready, wait for the go (end of file on the go pipe), work, close. */
static int work(w2_ctx *c, unsigned k)
{
    w2_slot *s = &c->sh->slot[k];
    void *db = NULL;
    int rc = c->root ? c->e->w2->share(c->root, &db) : c->e->open(c->dir, 0, &db);
    char b = rc ? '0' : '1';
    if (write(c->ready[1], &b, 1) != 1)
        rc = -1;
    while (read(c->go[0], &b, 1) < 0 && errno == EINTR)
        ;
    if (!rc) {
        rc = s->role ? read_loop(c, db, s) : write_loop(c, db, s);
        s->end_ns = bench_now_ns();
    }
    if (db && c->e->close(db))
        rc = -1;
    s->failed = rc != 0;
    return rc;
}

static void *thread_main(void *arg)
{
    w2_arg *a = arg;
    work(a->c, a->k);
    return NULL;
}

static int start(w2_ctx *c, w2_arg *a, pthread_t *th, pid_t *pid)
{
    if (!c->ph->procs)
        return pthread_create(th, NULL, thread_main, a) ? -1 : 0;
    fflush(NULL);
    if ((*pid = fork()) < 0)
        return -1;
    if (*pid == 0) {
        close(c->go[1]);
        close(c->ready[0]);
        _exit(work(c, a->k) ? 1 : 0);
    }
    return 0;
}

static void sleep_s(unsigned seconds)
{
    struct timespec ts = {(time_t)seconds, 0};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* Start the workers, let them go together, stop a timed phase after
   SECONDS, wait for all. On any failure the others are stopped at once. */
static int run_workers(w2_ctx *c)
{
    unsigned nw = c->ph->writers + c->ph->readers, started = 0, ready = 0;
    pthread_t th[MAXW];
    pid_t pid[MAXW];
    w2_arg arg[MAXW];
    int failed = 0;
    char b;
    if (pipe(c->ready) || pipe(c->go))
        return fprintf(stderr, "w2: pipe failed\n"), -1;
    for (; started < nw && !failed; started++) {
        arg[started] = (w2_arg){c, started};
        failed = start(c, &arg[started], &th[started], &pid[started]);
    }
    if (c->ph->procs)
        close(c->ready[1]); /* all children gone: end of file */
    while (ready < started && read(c->ready[0], &b, 1) == 1) {
        ready++;
        failed |= b != '1';
    }
    if (failed || ready < started)
        atomic_store(&c->sh->stop, 1);
    c->go_ns = bench_now_ns();
    close(c->go[1]);
    if (c->ph->timed && !stopped(c)) {
        sleep_s(c->size.seconds);
        atomic_store(&c->sh->stop, 1);
    }
    for (unsigned k = 0; k < started; k++) {
        int st;
        if (!c->ph->procs)
            pthread_join(th[k], NULL);
        else if (waitpid(pid[k], &st, 0) != pid[k] || !WIFEXITED(st) || WEXITSTATUS(st))
            failed = 1;
        failed |= c->sh->slot[k].failed;
    }
    close(c->go[0]);
    close(c->ready[0]);
    if (!c->ph->procs)
        close(c->ready[1]);
    if (!failed && ready == nw)
        return 0;
    fprintf(stderr, "w2: %s %s: a worker failed\n", c->e->name, c->ph->name);
    return -1;
}

/* ---- verification (untimed) ------------------------------------------------------------- */
/* Of every writer's records base .. base+tried-1: present ones hold their
   value, as many are present as were committed; the count is count + commits. */
static int check_written(w2_ctx *c, void *db, uint64_t *commits)
{
    uint8_t key[BENCH_KEY], want[BENCH_VAL];
    uint64_t present = 0;
    *commits = 0;
    for (unsigned k = 0; k < c->ph->writers; k++) {
        w2_slot *s = &c->sh->slot[k];
        *commits += s->ops;
        for (uint64_t i = s->base; i < s->base + s->tried; i++) {
            const void *v;
            size_t len;
            bench_key(i, key);
            bench_value(i, 0, BENCH_VAL, want);
            int rc = c->e->get(db, key, &v, &len);
            if (rc == BENCH_ABSENT)
                continue;
            if (rc)
                return fail(c, i, "lookup failed");
            if (len != BENCH_VAL || memcmp(v, want, BENCH_VAL))
                return fail(c, i, "wrong value after its commit");
            present++;
        }
    }
    if (present != *commits)
        return fail(c, present, "records present != transactions committed");
    return 0;
}

static int verify(w2_ctx *c)
{
    void *db = c->root;
    uint64_t commits = 0;
    if (!db && c->e->open(c->dir, 0, &db))
        return -1;
    int rc = c->e->begin(db, 0);
    if (!rc)
        rc = check_written(c, db, &commits);
    if (!rc)
        rc = bench_scan_check(c->e, db, c->count + commits);
    if (!rc)
        rc = c->e->commit(db, 0);
    if (db != c->root && c->e->close(db))
        rc = -1;
    c->count += rc ? 0 : commits;
    return rc;
}

/* ---- the phase ---------------------------------------------------------------------------- */
/* Each worker's role, records or lookups, and latency array. */
static int setup(w2_ctx *c)
{
    const bench_w2_phase *ph = c->ph;
    uint64_t per = ph->writers > 1 ? c->size.txns4 : c->size.txns, cap[MAXW], sum = 0;
    unsigned nw = ph->writers + ph->readers;
    for (unsigned k = 0; k < nw; k++) {
        int r = k >= ph->writers;
        uint64_t rate = r ? READ_RATE : WRITE_RATE, timed = (uint64_t)c->size.seconds * rate;
        cap[k] = ph->timed ? (timed < MAX_LAT ? timed : MAX_LAT) : r ? c->size.gets : per;
        sum += cap[k] + 1;
    }
    c->map_len = sizeof *c->sh + sum * sizeof(uint32_t);
    c->sh = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c->sh == MAP_FAILED)
        return fprintf(stderr, "w2: cannot map %zu bytes\n", c->map_len), -1;
    uint32_t *lat = (uint32_t *)(c->sh + 1);
    for (unsigned k = 0; k < nw; k++) {
        w2_slot *s = &c->sh->slot[k];
        s->role = k >= ph->writers;
        s->base = s->role ? (uint64_t)(k - ph->writers) * c->n0 / ph->readers : c->next + k * per;
        s->count = ph->timed ? UINT64_MAX : s->role ? c->size.gets : per;
        s->stride = 1;
        s->cap = cap[k] + 1;
        s->lat = lat;
        lat += s->cap;
    }
    return 0;
}

/* The next record number no phase has used yet. */
static uint64_t next_unused(w2_ctx *c)
{
    uint64_t next = c->next;
    for (unsigned k = 0; k < c->ph->writers; k++) {
        w2_slot *s = &c->sh->slot[k];
        uint64_t end = s->base + (c->ph->timed ? s->tried : s->count);
        next = end > next ? end : next;
    }
    return next;
}

static int arg_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || end == s || *end ? -1 : 0;
}

/* ENGINE PHASE DIR N0 NEXT COUNT TXNS TXNS4 GETS SECONDS */
static int parse(int argc, char **argv, w2_ctx *c)
{
    uint64_t v[7];
    if (argc != 10)
        return -1;
    for (int k = 0; k < 7; k++)
        if (arg_u64(argv[3 + k], &v[k]))
            return -1;
    c->e = bench_engine_find(argv[0]);
    for (int p = 0; p < W2_PHASES; p++)
        if (!strcmp(argv[1], bench_w2_phases[p].name))
            c->ph = &bench_w2_phases[p];
    c->dir = argv[2];
    c->n0 = v[0], c->next = v[1], c->count = v[2];
    c->size = (bench_w2_size){v[3], v[4], v[5], (unsigned)v[6]};
    return c->e && c->e->w2 && c->ph && c->n0 >= 1 && v[6] <= 86400 ? 0 : -1;
}

int bench_w2_child(int argc, char **argv)
{
    w2_ctx c = {0};
    uint8_t val[BENCH_VAL];
    if (parse(argc, argv, &c))
        return fprintf(stderr, "udb-bench w2-child: bad arguments\n"), 2;
    bench_value(0, 0, BENCH_VAL, val); /* its table, before any thread */
    if (setup(&c))
        return 1;
    int rc = !c.ph->procs && c.e->w2->share && c.e->open(c.dir, 0, &c.root);
    if (!rc)
        rc = run_workers(&c) || verify(&c);
    if (c.root && c.e->close(c.root))
        rc = 1;
    if (!rc) {
        print_role(&c, 0);
        print_role(&c, 1);
        printf("ok %" PRIu64 " %" PRIu64 "\n", next_unused(&c), c.count);
    }
    munmap(c.sh, c.map_len);
    return rc ? 1 : fflush(stdout) ? 1 : 0;
}
