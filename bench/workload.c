/*
 * workload.c — the W1 workload itself: splitmix64 keys, record values, the
 * seven phases with every verification workload.md asks for, and their
 * timing (open + work + close, and the work alone) in a child process.
 */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const bench_phase_names[PH_ALL] = {"load",  "get",   "scan",    "del",
                                               "scan2", "upd",   "check",   "cscan",
                                               "compact", "scan3", "txn", "bulk",
                                               "bulk-verify"};

int bench_phase_find(const char *name)
{
    for (int p = 0; p < PH_ALL; p++)
        if (!strcmp(name, bench_phase_names[p]))
            return p;
    return -1;
}

uint64_t bench_phase_ops(int phase, uint64_t n)
{
    switch (phase) {
    case PH_DEL: return (n + 1) / 2;
    case PH_SCAN2:
    case PH_UPD:
    case PH_CSCAN:
    case PH_COMPACT:
    case PH_SCAN3: return n / 2;
    case PH_TXN: return BENCH_TXNS;
    default: return n;
    }
}

/* ---- keys and values ----------------------------------------------------------- */
uint64_t bench_splitmix64(uint64_t i)
{
    uint64_t z = i + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void bench_key(uint64_t i, uint8_t key[BENCH_KEY])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t z = bench_splitmix64(i);
    for (int k = BENCH_KEY - 1; k >= 0; k--, z >>= 4)
        key[k] = (uint8_t)hex[z & 15];
}

uint64_t bench_ld64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | b[k];
    return v;
}

void bench_st64(void *p, uint64_t v)
{
    uint8_t *b = p;
    for (int k = 0; k < 8; k++, v >>= 8)
        b[k] = (uint8_t)v;
}

/* Bytes j = 8..99 are (start + j - 8) & 0xff: a window of a repeated ramp. */
static uint8_t ramp[512];

void bench_value(uint64_t i, int updated, unsigned vsize, uint8_t *out)
{
    if (vsize == 8) {
        bench_st64(out, updated ? i + BENCH_UPD8 : i);
        return;
    }
    if (!ramp[1])
        for (int k = 0; k < 512; k++)
            ramp[k] = (uint8_t)k;
    bench_st64(out, i);
    uint64_t start = updated ? (i * 37 + 8 + 1) & 0xff : (i * 31 + 8) & 0xff;
    memcpy(out + 8, ramp + start, BENCH_VAL - 8);
}

/* ---- verification ---------------------------------------------------------------- */
static int fail(const bench_engine *e, const char *phase, uint64_t i, const char *what)
{
    fprintf(stderr, "bench: %s %s: record %" PRIu64 ": %s\n", e->name, phase, i, what);
    return -1;
}

static uint64_t get_order(uint64_t i, uint64_t n) { return i * 7919 % n; }

typedef struct scan_state {
    const bench_engine *e;
    uint64_t count;
    uint8_t prev[BENCH_KEY];
    int bad;
} scan_state;

static int scan_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    scan_state *s = arg;
    (void)val;
    if (klen != BENCH_KEY || vlen != s->e->vsize)
        return s->bad = fail(s->e, "scan", s->count, "wrong key or value size");
    if (s->count && memcmp(s->prev, key, BENCH_KEY) >= 0)
        return s->bad = fail(s->e, "scan", s->count, "keys not strictly increasing");
    memcpy(s->prev, key, BENCH_KEY);
    s->count++;
    return 0;
}

int bench_scan_check(const bench_engine *e, void *db, uint64_t want)
{
    scan_state s = {.e = e};
    if (e->scan(db, scan_one, &s) || s.bad)
        return -1;
    if (s.count != want)
        return fail(e, "scan", s.count, "wrong record count");
    return 0;
}

/* ---- the write phases ------------------------------------------------------------- */
static int run_load(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY], val[BENCH_VAL];
    for (uint64_t i = 0; i < n; i++) {
        bench_key(i, key);
        bench_value(i, 0, e->vsize, val);
        if (e->put(db, key, val, e->vsize))
            return fail(e, "load", i, "insert failed");
    }
    return 0;
}

static int run_del(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY];
    for (uint64_t i = 0; i < n; i += 2) {
        bench_key(i, key);
        int rc = e->del(db, key);
        if (rc)
            return fail(e, "del", i, rc == BENCH_ABSENT ? "key absent" : "delete failed");
    }
    return 0;
}

static int run_upd(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY], val[BENCH_VAL];
    for (uint64_t i = 1; i < n; i += 2) {
        bench_key(i, key);
        bench_value(i, 1, e->vsize, val);
        if (e->upd(db, key, val, e->vsize))
            return fail(e, "upd", i, "update failed");
    }
    return 0;
}

/* Single-record transactions: records n, n+1, ... each inserted in its own
   write transaction with a durable commit. */
static int run_txn(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY], val[BENCH_VAL];
    for (uint64_t i = n; i < n + BENCH_TXNS; i++) {
        bench_key(i, key);
        bench_value(i, 0, e->vsize, val);
        if (e->begin(db, 1) || e->put(db, key, val, e->vsize) || e->commit(db, 1))
            return fail(e, "txn", i, "transaction failed");
    }
    return 0;
}

/* After the timed work: every record of the transactions is there. */
static int verify_txn(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY];
    if (e->begin(db, 0))
        return -1;
    for (uint64_t i = n; i < n + BENCH_TXNS; i++) {
        const void *v;
        size_t len;
        bench_key(i, key);
        if (e->get(db, key, &v, &len) || len != e->vsize || bench_ld64(v) != i)
            return fail(e, "txn", i, "record missing or wrong after its commit");
    }
    return e->commit(db, 0);
}

/* ---- the lookup phases -------------------------------------------------------------- */
static int run_get(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t j = get_order(i, n);
        const void *v;
        size_t len;
        bench_key(j, key);
        int rc = e->get(db, key, &v, &len);
        if (rc)
            return fail(e, "get", j, rc == BENCH_ABSENT ? "key absent" : "lookup failed");
        if (len != e->vsize || bench_ld64(v) != j)
            return fail(e, "get", j, "wrong value");
    }
    return 0;
}

static int run_check(const bench_engine *e, void *db, uint64_t n)
{
    uint8_t key[BENCH_KEY], want[BENCH_VAL];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t j = get_order(i, n);
        const void *v;
        size_t len;
        bench_key(j, key);
        int rc = e->get(db, key, &v, &len);
        if (rc && rc != BENCH_ABSENT)
            return fail(e, "check", j, "lookup failed");
        if (j % 2 == 0) {
            if (rc != BENCH_ABSENT)
                return fail(e, "check", j, "deleted key still present");
            continue;
        }
        bench_value(j, 1, e->vsize, want);
        if (rc == BENCH_ABSENT)
            return fail(e, "check", j, "key absent");
        if (len != e->vsize || memcmp(v, want, len))
            return fail(e, "check", j, "value is not the updated value");
    }
    return 0;
}

/* ---- one phase in this process -------------------------------------------------------- */
static int is_write(int phase) { return phase == PH_LOAD || phase == PH_DEL || phase == PH_UPD; }

static int run_work(const bench_engine *e, void *db, int phase, uint64_t n)
{
    int w = is_write(phase), rc;
    if (phase == PH_TXN)
        return run_txn(e, db, n);
    if (phase == PH_COMPACT) /* its own transaction */
        return e->compact ? e->compact(db) : -1;
    if (e->begin(db, w))
        return -1;
    switch (phase) {
    case PH_LOAD: rc = run_load(e, db, n); break;
    case PH_GET: rc = run_get(e, db, n); break;
    case PH_SCAN: rc = bench_scan_check(e, db, n); break;
    case PH_DEL: rc = run_del(e, db, n); break;
    case PH_SCAN2:
    case PH_CSCAN:
    case PH_SCAN3: rc = bench_scan_check(e, db, n / 2); break;
    case PH_UPD: rc = run_upd(e, db, n); break;
    default: rc = run_check(e, db, n); break;
    }
    if (rc)
        return rc;
    return e->commit(db, w);
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_child(const bench_engine *e, int phase, uint64_t n, const char *dir)
{
    void *db = NULL;
    const char *ph = bench_phase_names[phase];
    if (phase == PH_CSCAN && bench_drop_cache(dir))
        return 1;
    uint64_t t0 = bench_now_ns();
    if (e->open(dir, phase == PH_LOAD, &db))
        return fprintf(stderr, "bench: %s %s: open failed\n", e->name, ph), 1;
    uint64_t t1 = bench_now_ns();
    int rc = run_work(e, db, phase, n);
    uint64_t t2 = bench_now_ns(), tv = 0;
    if (!rc && phase == PH_TXN) { /* verified after the timed work, untimed */
        rc = verify_txn(e, db, n);
        tv = bench_now_ns() - t2;
    }
    int crc = e->close(db);
    if (rc || crc)
        return fprintf(stderr, "bench: %s %s: %s\n", e->name, ph, rc ? "FAILED" : "close"), 1;
    uint64_t t3 = bench_now_ns();
    printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", t3 - t0 - tv, t2 - t1, bench_phase_ops(phase, n));
    return fflush(stdout) ? 1 : 0;
}
