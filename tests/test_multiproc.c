/*
 * test_multiproc.c — several processes on one record store.
 *
 * Two writer processes commit numbered transactions, each on its own keys
 * (one of them with a tiny dirty limit, so that pages spill before commit):
 * transaction i of writer w puts N(i) records tagged (w, i) (index 2 holds
 * the tag), updates the first record of transaction i-1 now and then,
 * deletes the records of transaction i-3 by their tag now and then, and
 * sets the writer's counter record to i. So the records of writer w are a
 * function of its counter alone. Two reader processes (read-only handles;
 * one in explicit read transactions with several calls each, one with one
 * implicit transaction per scan and reopening now and then) check every
 * snapshot: for each writer exactly the records its counter implies
 * (never a part of a transaction), values intact, counters never going
 * backwards, index 2 in step with index 1. The final content is the serial
 * result of both writers. UDB_LOCKED is retried.
 *
 * Also: a read-only handle notices other processes' commits without
 * reopening (store, same-size updates included, and a MultiIndex file),
 * and an open read transaction keeps its snapshot: a writer's commit waits
 * (UDB_LOCKED with a short timeout) until the reader ends it.
 *
 *   UDB_MP_TXNS=N   transactions per writer (default 300)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "faultos.h"
#include "testutil.h"

static const char *dir;
static int ntx = 300;

#define WRITERS 2
#define KS 16

typedef struct shared {
    volatile int writers_done;
    volatile long reads[2], snapshots_changed[2];
} shared;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- what writer w's records are after its transaction c ------------------------------------------ */
static int n_of(int w, int t) { return 1 + (t * 7 + w) % 6; }
static int updates(int i) { return i % 3 == 0 && i > 1; }       /* txn i updates (i-1, 0) */
static int deletes(int i) { return i % 5 == 0 && i > 3; }       /* txn i deletes txn i-3 */
static int32_t tag_of(int w, int t) { return w * 100000 + t; }

static void key_of(int w, int t, int j, char *k) { snprintf(k, 40, "w%d-%05d-%02d", w, t, j); }
static void counter_key(int w, char *k) { snprintf(k, 40, "c%d", w); }

static size_t len_of(int w, int t, int j, int ver) { return 16 + (size_t)((w * 131 + t * 31 + j * 7 + ver * 3) % 1500); }

static void value_of(int w, int t, int j, int ver, uint8_t *out, size_t *len)
{
    *len = len_of(w, t, j, ver);
    uint32_t h[4] = {(uint32_t)w, (uint32_t)t, (uint32_t)j, (uint32_t)ver};
    memcpy(out, h, sizeof h);
    uint64_t x = (uint64_t)(w + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)t << 20) ^ ((uint64_t)j << 8) ^ (uint64_t)ver;
    for (size_t i = 16; i < *len; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = (uint8_t)(x >> 33);
    }
}

/* Present after counter c? Its version? */
static int rec_state(int w, int t, int j, int c, int *ver)
{
    (void)w;
    if (t < 1 || t > c || j >= n_of(w, t))
        return 0;
    if (t + 3 <= c && deletes(t + 3))
        return 0;
    *ver = j == 0 && t + 1 <= c && updates(t + 1) ? t + 1 : t;
    return 1;
}

/* ---- writers ------------------------------------------------------------------------------------- */
#define RETRY(call, what)                                                                       \
    do {                                                                                        \
        int tries_ = 0, r_;                                                                     \
        while ((r_ = (call)) == UDB_LOCKED && tries_++ < 1000)                                 \
            sleep_ms(1);                                                                        \
        if (r_) {                                                                               \
            fprintf(stderr, "%s: %s (%s)\n", what, udb_errname(r_), udb_store_errmsg(s));     \
            _exit(3);                                                                           \
        }                                                                                       \
    } while (0)

static void writer(const char *name, int w)
{
    udb_options o;
    udb_options_init(&o);
    o.lock_timeout_ms = 20000;
    o.sync = w ? UDB_SYNC_NORMAL : UDB_SYNC_FULL;
    o.dirty_limit = w ? 4096 : 0; /* writer 1 spills pages before its commits */
    udb_store *s;
    if (udb_store_open(name, &o, &s)) {
        fprintf(stderr, "writer %d: open: %s\n", w, udb_store_errmsg(s));
        _exit(2);
    }
    uint8_t val[2048];
    size_t len;
    char k[40];
    for (int i = 1; i <= ntx; i++) {
        RETRY(udb_store_begin(s), "writer begin");
        for (int j = 0; j < n_of(w, i); j++) {
            key_of(w, i, j, k);
            int32_t tag = tag_of(w, i);
            udb_key keys[2] = {{k, strlen(k)}, {&tag, 4}};
            value_of(w, i, j, i, val, &len);
            RETRY(udb_store_put(s, keys, val, len), "writer put");
        }
        if (updates(i)) {
            key_of(w, i - 1, 0, k);
            value_of(w, i - 1, 0, i, val, &len);
            RETRY(udb_store_update(s, 1, k, strlen(k), val, len), "writer update");
        }
        if (deletes(i)) {
            int32_t tag = tag_of(w, i - 3);
            uint64_t removed = 0;
            RETRY(udb_store_delete(s, 2, &tag, 4, &removed), "writer delete");
            if ((int)removed != n_of(w, i - 3)) {
                fprintf(stderr, "writer %d txn %d: removed %llu of %d\n", w, i, (unsigned long long)removed,
                        n_of(w, i - 3));
                _exit(4);
            }
        }
        counter_key(w, k);
        uint32_t cv[4] = {(uint32_t)i, 0xc0c0c0c0u, (uint32_t)w, (uint32_t)~i};
        if (i == 1) {
            int32_t tag = -1 - w;
            udb_key keys[2] = {{k, strlen(k)}, {&tag, 4}};
            RETRY(udb_store_put(s, keys, cv, sizeof cv), "writer counter put");
        } else {
            RETRY(udb_store_update(s, 1, k, strlen(k), cv, sizeof cv), "writer counter update");
        }
        RETRY(udb_store_commit(s), "writer commit");
        /* a pause now and then: without one, the writers' back-to-back
           commits keep the polling readers out until they are done */
        struct timespec ts = {0, (long)((i * 7919 + w * 104729) % 2000) * 1000L};
        nanosleep(&ts, NULL);
    }
    if (udb_store_close(s))
        _exit(5);
    _exit(0);
}

/* ---- snapshots --------------------------------------------------------------------------------------- */
typedef struct snapshot {
    int counter[WRITERS];
    long nrec;
    char err[300];
    /* records seen per writer: bitmap over (t, j) */
    uint8_t *seen[WRITERS];
} snapshot;

static int scan_rec(void *arg, const udb_item *key, const void *val, size_t len)
{
    snapshot *sn = arg;
    const char *k = (const char *)key->key;
    int w, t, j;
    if (sn->err[0])
        return 0;
    sn->nrec++;
    if (k[0] == 'c' && sscanf(k, "c%d", &w) == 1 && w >= 0 && w < WRITERS) {
        uint32_t cv[4];
        if (len != sizeof cv)
            return snprintf(sn->err, sizeof sn->err, "counter %d has %zu bytes", w, len), 0;
        memcpy(cv, val, sizeof cv);
        if (cv[1] != 0xc0c0c0c0u || cv[2] != (uint32_t)w || cv[3] != ~cv[0])
            return snprintf(sn->err, sizeof sn->err, "counter %d damaged", w), 0;
        sn->counter[w] = (int)cv[0];
        return 0;
    }
    if (sscanf(k, "w%d-%d-%d", &w, &t, &j) != 3 || w < 0 || w >= WRITERS || t < 1 || t > ntx || j < 0 ||
        j > 5)
        return snprintf(sn->err, sizeof sn->err, "unknown key '%.16s'", k), 0;
    uint32_t h[4];
    if (len < 16)
        return snprintf(sn->err, sizeof sn->err, "%s: %zu bytes", k, len), 0;
    memcpy(h, val, sizeof h);
    uint8_t want[2048];
    size_t wl;
    value_of(w, t, j, (int)h[3], want, &wl);
    if (h[0] != (uint32_t)w || h[1] != (uint32_t)t || h[2] != (uint32_t)j || wl != len || memcmp(want, val, len))
        return snprintf(sn->err, sizeof sn->err, "%s: wrong value (version %u, %zu bytes)", k, h[3], len), 0;
    sn->seen[w][t * 8 + j] = (uint8_t)(1 + h[3] % 250); /* version, folded */
    return 0;
}

static int count_rec(void *arg, const udb_item *key, const void *val, size_t len)
{
    (void)key, (void)val, (void)len;
    ++*(long *)arg;
    return 0;
}

static void snap_reset(snapshot *sn)
{
    sn->nrec = 0;
    sn->err[0] = 0;
    for (int w = 0; w < WRITERS; w++) {
        sn->counter[w] = 0;
        memset(sn->seen[w], 0, (size_t)(ntx + 2) * 8);
    }
}

/* The snapshot is exactly what the counters imply. */
static int snap_check(snapshot *sn)
{
    if (sn->err[0])
        return 1;
    long expect = 0;
    for (int w = 0; w < WRITERS; w++) {
        int c = sn->counter[w];
        expect += c > 0;
        for (int t = 1; t <= ntx; t++)
            for (int j = 0; j < 6; j++) {
                int ver = 0, want = rec_state(w, t, j, c, &ver);
                int got = sn->seen[w][t * 8 + j];
                expect += want;
                if (want && !got)
                    return snprintf(sn->err, sizeof sn->err,
                                    "writer %d counter %d: record (%d, %d) missing (a partial transaction)",
                                    w, c, t, j), 1;
                if (!want && got)
                    return snprintf(sn->err, sizeof sn->err,
                                    "writer %d counter %d: record (%d, %d) present (version %d), should not be",
                                    w, c, t, j, got - 1), 1;
                if (want && got != 1 + ver % 250)
                    return snprintf(sn->err, sizeof sn->err,
                                    "writer %d counter %d: record (%d, %d) has version %d, not %d", w, c, t,
                                    j, got - 1, ver), 1;
            }
    }
    if (expect != sn->nrec)
        return snprintf(sn->err, sizeof sn->err, "%ld records, expected %ld", sn->nrec, expect), 1;
    return 0;
}

/* One snapshot through s (inside a read transaction or implicit). */
static int take_snapshot(udb_store *s, snapshot *sn, int explicit_calls)
{
    snap_reset(sn);
    int rc = udb_store_scan(s, 1, NULL, 0, NULL, 0, NULL, 0, scan_rec, sn);
    if (rc)
        return rc;
    if (explicit_calls) {
        /* more calls in the same read transaction agree with the scan */
        long n2 = 0;
        if ((rc = udb_store_scan(s, 2, NULL, 0, NULL, 0, NULL, 0, count_rec, &n2)))
            return rc;
        if (n2 != sn->nrec && !sn->err[0])
            snprintf(sn->err, sizeof sn->err, "index 2 holds %ld records, index 1 %ld (same read transaction)",
                     n2, sn->nrec);
        udb_val v = {0};
        for (int w = 0; w < WRITERS && !sn->err[0]; w++) {
            char k[40];
            counter_key(w, k);
            rc = udb_store_get(s, 1, k, strlen(k), &v);
            if (rc == UDB_NOTFOUND && sn->counter[w] == 0)
                continue;
            if (rc) {
                udb_val_free(&v);
                return rc;
            }
            uint32_t c;
            memcpy(&c, v.data, 4);
            if ((int)c != sn->counter[w])
                snprintf(sn->err, sizeof sn->err, "counter %d: scan saw %d, get %u in one read transaction",
                         w, sn->counter[w], c);
        }
        udb_val_free(&v);
    }
    return 0;
}

static void reader(const char *name, int r, shared *sh)
{
    udb_options o;
    udb_options_init(&o);
    o.flags = UDB_RDONLY;
    o.lock_timeout_ms = 20000;
    udb_store *s;
    if (udb_store_open(name, &o, &s)) {
        fprintf(stderr, "reader %d: open: %s\n", r, udb_store_errmsg(s));
        _exit(2);
    }
    snapshot sn;
    for (int w = 0; w < WRITERS; w++)
        sn.seen[w] = calloc((size_t)(ntx + 2) * 8, 1);
    int last[WRITERS] = {0}, final_seen = 0;
    long reads = 0, changed = 0;
    while (!final_seen) {
        int done = sh->writers_done == WRITERS; /* read before the snapshot */
        int rc;
        if (r == 0) {
            while ((rc = udb_store_begin(s)) == UDB_LOCKED)
                sleep_ms(1);
            if (!rc && !(rc = take_snapshot(s, &sn, 1)))
                rc = udb_store_commit(s);
        } else {
            if (reads % 25 == 24) { /* a fresh handle now and then */
                udb_store_close(s);
                while ((rc = udb_store_open(name, &o, &s)) == UDB_LOCKED) {
                    udb_store_close(s);
                    sleep_ms(1);
                }
                if (rc) {
                    fprintf(stderr, "reader %d: reopen: %s\n", r, udb_store_errmsg(s));
                    _exit(2);
                }
            }
            while ((rc = take_snapshot(s, &sn, 0)) == UDB_LOCKED)
                sleep_ms(1);
        }
        if (rc) {
            fprintf(stderr, "reader %d: read %ld: %s (%s)\n", r, reads, udb_errname(rc), udb_store_errmsg(s));
            _exit(3);
        }
        if (snap_check(&sn)) {
            fprintf(stderr, "reader %d: snapshot %ld (counters %d, %d): %s\n", r, reads, sn.counter[0],
                    sn.counter[1], sn.err);
            _exit(4);
        }
        int moved = 0;
        for (int w = 0; w < WRITERS; w++) {
            if (sn.counter[w] < last[w]) {
                fprintf(stderr, "reader %d: counter of writer %d went back from %d to %d\n", r, w, last[w],
                        sn.counter[w]);
                _exit(5);
            }
            moved |= sn.counter[w] != last[w];
            last[w] = sn.counter[w];
        }
        changed += moved;
        if (moved && getenv("UDB_MP_DEBUG"))
            fprintf(stderr, "reader %d snapshot %ld: counters %d %d\n", r, reads, last[0], last[1]);
        reads++;
        if (done) {
            /* the writers finished before this snapshot began: it must
               show their last commits (change detection, no reopen) */
            for (int w = 0; w < WRITERS; w++)
                if (sn.counter[w] != ntx) {
                    fprintf(stderr, "reader %d: after the writers finished, counter %d is %d, not %d\n", r,
                            w, sn.counter[w], ntx);
                    _exit(6);
                }
            final_seen = 1;
        }
    }
    sh->reads[r] = reads;
    sh->snapshots_changed[r] = changed;
    udb_store_close(s);
    _exit(0);
}

static void wait_all(pid_t *pids, int n, const char *const *names)
{
    for (int i = 0; i < n; i++) {
        int st;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        if (WIFSIGNALED(st))
            fail_msg("%s died with signal %d%s", names[i], WTERMSIG(st),
                     WTERMSIG(st) == SIGALRM ? " (no progress for 120 s: a deadlock?)" : "");
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            fail_msg("%s failed (exit %d); its message is above", names[i], WEXITSTATUS(st));
    }
}

static void test_writers_readers(void **state)
{
    (void)state;
    const char *name = path_in(dir, "mp");
    udb_index_def defs[2] = {{UDB_KEY_STRING, KS, UDB_UNIQUE | UDB_ALLOW_DELETE, 8, 2, 16},
                             {UDB_KEY_LONG_INT, 4, UDB_ALLOW_DELETE, 6, 2, 16}};
    udb_store_def def = {2, defs, 0, 16};
    udb_store *s;
    assert_int_equal(udb_store_create(name, NULL, &def, &s), 0);
    assert_int_equal(udb_store_close(s), 0);
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t rp[2], wp[WRITERS];
    fflush(stderr);
    for (int r = 0; r < 2; r++)
        if ((rp[r] = fork()) == 0) {
            alarm(120);
            reader(name, r, sh);
        }
    for (int w = 0; w < WRITERS; w++)
        if ((wp[w] = fork()) == 0) {
            alarm(120);
            writer(name, w);
        }
    static const char *const wn[] = {"writer 0", "writer 1"}, *const rn[] = {"reader 0 (explicit)",
                                                                            "reader 1 (implicit)"};
    wait_all(wp, WRITERS, wn);
    __atomic_store_n(&sh->writers_done, WRITERS, __ATOMIC_SEQ_CST);
    wait_all(rp, 2, rn);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr,
            "2 writers x %d transactions, readers: %ld snapshots (%ld changed), %ld snapshots (%ld changed); "
            "%.1f s\n",
            ntx, sh->reads[0], sh->snapshots_changed[0], sh->reads[1], sh->snapshots_changed[1],
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    assert_true(sh->reads[0] > 0 && sh->reads[1] > 0);

    /* the final content: both writers' transactions, serially */
    assert_int_equal(udb_store_open(name, NULL, &s), 0);
    snapshot sn;
    for (int w = 0; w < WRITERS; w++)
        sn.seen[w] = calloc((size_t)(ntx + 2) * 8, 1);
    assert_int_equal(take_snapshot(s, &sn, 1), 0);
    if (snap_check(&sn))
        fail_msg("final content: %s", sn.err);
    for (int w = 0; w < WRITERS; w++) {
        assert_int_equal(sn.counter[w], ntx);
        free(sn.seen[w]);
    }
    if (udb_store_check(s, NULL, NULL, NULL))
        fail_msg("final check: %s", udb_store_errmsg(s));
    assert_int_equal(udb_store_close(s), 0);
    munmap(sh, sizeof *sh);
}

/* ---- change detection and read isolation ---------------------------------------------------------------- */
static void child_put(const char *name, const char *k, uint32_t v, size_t len)
{
    udb_store *s;
    uint8_t val[4096];
    memset(val, (int)v, sizeof val);
    memcpy(val, &v, 4);
    int rc = udb_store_open(name, NULL, &s);
    if (!rc) {
        int32_t tag = (int32_t)v;
        udb_key keys[2] = {{k, strlen(k)}, {&tag, 4}};
        rc = udb_store_update(s, 1, k, strlen(k), val, len);
        if (rc == UDB_NOTFOUND)
            rc = udb_store_put(s, keys, val, len);
    }
    if (rc)
        fprintf(stderr, "child: %s\n", udb_store_errmsg(s));
    if (udb_store_close(s))
        rc = 1;
    _exit(rc ? 1 : 0);
}

static void run_child_put(const char *name, const char *k, uint32_t v, size_t len)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0)
        child_put(name, k, v, len);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_change_detection(void **state)
{
    (void)state;
    const char *name = path_in(dir, "cd");
    udb_index_def defs[2] = {{UDB_KEY_STRING, KS, UDB_UNIQUE | UDB_ALLOW_DELETE, 8, 2, 16},
                             {UDB_KEY_LONG_INT, 4, UDB_ALLOW_DELETE, 6, 2, 16}};
    udb_store_def def = {2, defs, 0, 16};
    udb_store *s, *r;
    assert_int_equal(udb_store_create(name, NULL, &def, &s), 0);
    assert_int_equal(udb_store_close(s), 0);
    udb_options ro;
    udb_options_init(&ro);
    ro.flags = UDB_RDONLY;
    assert_int_equal(udb_store_open(name, &ro, &r), 0);
    udb_val v = {0};
    assert_int_equal(udb_store_get(r, 1, "k", 1, &v), UDB_NOTFOUND);
    /* growing, then same-size in-place updates (the file size stays; the
       journal's commit counter tells), then a shrinking one */
    for (uint32_t i = 1; i <= 30; i++) {
        size_t len = i == 1 ? 3000 : i == 30 ? 100 : 2000;
        run_child_put(name, "k", i, len);
        if (udb_store_get(r, 1, "k", 1, &v))
            fail_msg("round %u: %s", i, udb_store_errmsg(r));
        uint32_t got;
        memcpy(&got, v.data, 4);
        if (got != i || v.len != len)
            fail_msg("round %u: the read-only handle sees version %u (%zu bytes), not %u (%zu bytes): "
                     "another process's commit went unnoticed",
                     i, got, v.len, i, len);
    }
    /* many records: the files grow past what the handle mapped */
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        udb_store *w;
        int rc = udb_store_open(name, NULL, &w);
        if (!rc)
            rc = udb_store_begin(w);
        for (int i = 0; i < 3000 && !rc; i++) {
            char k[40];
            snprintf(k, sizeof k, "m%05d", i);
            int32_t tag = i;
            udb_key keys[2] = {{k, strlen(k)}, {&tag, 4}};
            uint8_t val[1000];
            memset(val, i & 255, sizeof val);
            rc = udb_store_put(w, keys, val, 200 + (size_t)(i % 800));
        }
        if (!rc)
            rc = udb_store_commit(w);
        udb_store_close(w);
        _exit(rc ? 1 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    long n = 0;
    assert_int_equal(udb_store_scan(r, 1, NULL, 0, NULL, 0, NULL, 0, count_rec, &n), 0);
    assert_int_equal(n, 3001);
    assert_int_equal(udb_store_get(r, 2, &(int32_t){2999}, 4, &v), 0);
    assert_int_equal(v.len, 200 + 2999 % 800);
    assert_int_equal(udb_store_check(r, NULL, NULL, NULL), 0);

    /* an open read transaction keeps its snapshot: the writer cannot commit
       (UDB_LOCKED with a short timeout, transaction still open) until the
       reader ends it */
    int to_child[2], to_parent[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    assert_int_equal(udb_store_begin(r), 0);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        udb_options o;
        udb_options_init(&o);
        o.lock_timeout_ms = 100;
        udb_store *w;
        char c = 0;
        int rc = udb_store_open(name, &o, &w), rc2 = -100;
        if (!rc)
            rc = udb_store_begin(w);
        int32_t tag = 7;
        udb_key keys[2] = {{"iso", 3}, {&tag, 4}};
        if (!rc)
            rc = udb_store_put(w, keys, "isolated", 8);
        if (!rc)
            rc2 = udb_store_commit(w); /* the reader holds its lock: UDB_LOCKED */
        char msg = rc2 == UDB_LOCKED ? 'L' : rc2 == 0 ? 'C' : 'E';
        if (write(to_parent[1], &msg, 1) != 1 || read(to_child[0], &c, 1) != 1)
            _exit(7);
        if (rc2 == UDB_LOCKED)
            rc = udb_store_commit(w); /* retried after the reader finished */
        udb_store_close(w);
        _exit(rc || rc2 == UDB_OK ? 1 : 0);
    }
    char msg = 0;
    assert_int_equal(read(to_parent[0], &msg, 1), 1);
    assert_int_equal(udb_store_get(r, 1, "iso", 3, &v), UDB_NOTFOUND);
    assert_int_equal(udb_store_commit(r), 0); /* ends the read transaction */
    if (msg != 'L')
        fail_msg("a writer's commit during another process's read transaction gave '%c' (L: UDB_LOCKED "
                 "expected, C: it committed under the reader)", msg);
    assert_int_equal(write(to_child[1], "g", 1), 1);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(udb_store_get(r, 1, "iso", 3, &v), 0);
    assert_int_equal(v.len, 8);
    assert_memory_equal(v.data, "isolated", 8);
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
    udb_val_free(&v);
    assert_int_equal(udb_store_close(r), 0);

    /* a MultiIndex file: a read-only handle sees another process's appends */
    const char *np = path_in(dir, "cdn.ndx");
    udb_ndx *d, *rd;
    udb_index_def nd = {UDB_KEY_LONG_INT, 4, UDB_ALLOW_DELETE, 5, 2, 8};
    assert_int_equal(udb_ndx_create(np, NULL, 1, &d), 0);
    assert_int_equal(udb_ndx_define(d, 1, &nd), 0);
    assert_int_equal(udb_ndx_close(d), 0);
    assert_int_equal(udb_ndx_open(np, &ro, &rd), 0);
    for (int32_t round = 0; round < 10; round++) {
        fflush(stderr);
        pid = fork();
        if (pid == 0) {
            int rc = udb_ndx_open(np, NULL, &d);
            for (int32_t i = 0; i < 200 && !rc; i++) {
                int32_t key = round * 1000 + i;
                rc = udb_ndx_append(d, 1, &key, 4, key * 2);
            }
            udb_ndx_close(d);
            _exit(rc ? 1 : 0);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        for (int32_t i = 0; i < 200; i += 37) {
            int32_t key = round * 1000 + i;
            int64_t dp = -1;
            if (udb_ndx_find(rd, 1, &key, 4, &dp))
                fail_msg("ndx round %d: key %d not seen by the read-only handle: %s", round, key,
                         udb_ndx_errmsg(rd));
            assert_int_equal(dp, key * 2);
        }
    }
    assert_int_equal(udb_ndx_check(rd, NULL, NULL, NULL), 0);
    assert_int_equal(udb_ndx_close(rd), 0);
}

/* ---- several processes meet one hot journal --------------------------------------------------------- */
static const char *const cr_ext[3] = {".ndx", ".dat", ".ndx-journal"};

typedef struct crimage {
    uint8_t *b[3];
    size_t n[3];
} crimage;

static void cr_snap(const char *name, crimage *im)
{
    char p[700];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", name, cr_ext[i]);
        im->b[i] = read_file(p, &im->n[i]);
    }
}

static void cr_put(const char *name, const crimage *im)
{
    char p[700];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", name, cr_ext[i]);
        unlink(p);
        if (im->b[i])
            assert_int_equal(write_file(p, im->b[i], im->n[i]), 0);
    }
}

static void cr_free(crimage *im)
{
    for (int i = 0; i < 3; i++)
        free(im->b[i]);
}

static int cr_txn(const char *name, const udb_options *o)
{
    udb_store *s;
    int rc = udb_store_open(name, o, &s);
    if (!rc)
        rc = udb_store_begin(s);
    for (int i = 0; i < 200 && !rc; i++) {
        char k[40];
        snprintf(k, sizeof k, "new%05d", i);
        int32_t tag = i;
        udb_key keys[2] = {{k, strlen(k)}, {&tag, 4}};
        uint8_t val[600];
        memset(val, i & 255, sizeof val);
        rc = udb_store_put(s, keys, val, sizeof val);
    }
    if (!rc)
        rc = udb_store_commit(s);
    udb_store_close(s);
    return rc;
}

/* Several processes open the store at the same moment while a crashed
   writer's journal is hot: one rolls it back, the others wait for it and
   go on. None may stall until its lock timeout or fail with UDB_LOCKED.

   (Regression: an opener that found the journal hot under its shared read
   lock kept that lock while it waited for RESERVED; two openers then
   deadlocked until the lock timeout.) */
static void test_concurrent_recovery(void **state)
{
    (void)state;
    const char *name = path_in(dir, "cr");
    udb_index_def defs[2] = {{UDB_KEY_STRING, KS, UDB_UNIQUE | UDB_ALLOW_DELETE, 8, 2, 16},
                             {UDB_KEY_LONG_INT, 4, UDB_ALLOW_DELETE, 6, 2, 16}};
    udb_store_def def = {2, defs, 0, 16};
    udb_store *s;
    assert_int_equal(udb_store_create(name, NULL, &def, &s), 0);
    int32_t tag = 1;
    udb_key keys[2] = {{"old", 3}, {&tag, 4}};
    assert_int_equal(udb_store_put(s, keys, "old value", 9), 0);
    assert_int_equal(udb_store_close(s), 0);
    crimage old = {{0}, {0}}, hot = {{0}, {0}};
    cr_snap(name, &old);
    /* a hot journal with the heap half written: crash the transaction at
       the first changing call after which that is so (and the commit is
       not whole in the files: recovery would keep it) */
    fault_os f;
    udb_options fo;
    udb_options_init(&fo);
    fo.os = &f.os;
    fault_os_init(&f, FAULT_NONE, 0);
    assert_int_equal(cr_txn(name, &fo), 0);
    crimage fresh = {{0}, {0}}; /* a crash after which both files are new keeps them (commit record) */
    cr_snap(name, &fresh);
    long total = f.calls, k;
    for (k = 1; k <= 2 * total; k++) { /* a crash, else a write torn half way */
        cr_put(name, &old);
        fault_os_init(&f, k <= total ? FAULT_CRASH : FAULT_TORN, k <= total ? k : k - total);
        assert_int_not_equal(cr_txn(name, &fo), 0);
        int h = 0;
        char ndx[700];
        snprintf(ndx, sizeof ndx, "%s.ndx", name);
        assert_int_equal(udb_journal_hot(ndx, &h, NULL, 0), 0);
        crimage got = {{0}, {0}};
        cr_snap(name, &got);
        int changed = got.n[1] != old.n[1] || memcmp(got.b[1], old.b[1], old.n[1]);
        int whole = got.n[0] == fresh.n[0] && !memcmp(got.b[0], fresh.b[0], fresh.n[0]) &&
                    got.n[1] == fresh.n[1] && !memcmp(got.b[1], fresh.b[1], fresh.n[1]);
        if (h && changed && !whole) {
            hot = got;
            break;
        }
        cr_free(&got);
    }
    assert_true(k <= 2 * total);
    enum { NP = 3, ROUNDS = 20 };
    const unsigned timeout_ms = 3000;
    long stalls = 0, worst = 0, failures = 0;
    for (int round = 0; round < ROUNDS; round++) {
        cr_put(name, &hot);
        int go[2], res[2];
        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(res), 0);
        pid_t pids[NP];
        fflush(stderr);
        for (int p = 0; p < NP; p++) {
            if ((pids[p] = fork()) == 0) {
                close(go[1]);
                char c;
                if (read(go[0], &c, 1) != 0) /* EOF: everybody starts */
                    _exit(9);
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                udb_options o;
                udb_options_init(&o);
                o.lock_timeout_ms = timeout_ms;
                udb_store *h;
                udb_val v = {0};
                /* writable opens; the last one only reads (a get) after opening */
                int rc = udb_store_open(name, &o, &h);
                if (!rc)
                    rc = udb_store_get(h, 1, "old", 3, &v);
                if (!rc && p == 0) {
                    int32_t t2 = 2;
                    udb_key k2[2] = {{"after", 5}, {&t2, 4}};
                    rc = udb_store_put(h, k2, "x", 1);
                }
                clock_gettime(CLOCK_MONOTONIC, &b);
                long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
                long msg[2] = {rc, ms};
                if (rc)
                    fprintf(stderr, "round %d process %d: %s after %ld ms: %s\n", round, p, udb_errname(rc),
                            ms, udb_store_errmsg(h));
                udb_val_free(&v);
                udb_store_close(h);
                _exit(write(res[1], msg, sizeof msg) == sizeof msg ? 0 : 8);
            }
        }
        close(go[0]);
        close(res[1]);
        close(go[1]); /* go */
        for (int p = 0; p < NP; p++) {
            int st;
            assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        long msg[2];
        while (read(res[0], msg, sizeof msg) == sizeof msg) {
            failures += msg[0] != 0;
            stalls += msg[1] >= 1000;
            if (msg[1] > worst)
                worst = msg[1];
        }
        close(res[0]);
        /* recovered: the old record, the new one, none of the crashed txn */
        assert_int_equal(udb_store_open(name, NULL, &s), 0);
        udb_val v = {0};
        assert_int_equal(udb_store_get(s, 1, "old", 3, &v), 0);
        assert_int_equal(udb_store_get(s, 1, "new00000", 8, &v), UDB_NOTFOUND);
        assert_int_equal(udb_store_check(s, NULL, NULL, NULL), 0);
        udb_val_free(&v);
        assert_int_equal(udb_store_close(s), 0);
    }
    fprintf(stderr, "concurrent recovery: %d rounds x %d processes: %ld failed, %ld took 1 s or more "
                    "(worst %ld ms, lock timeout %u ms)\n",
            ROUNDS, NP, failures, stalls, worst, timeout_ms);
    cr_free(&old);
    cr_free(&hot);
    cr_free(&fresh);
    if (failures || stalls)
        fail_msg("processes opening a store with a hot journal at the same time stalled until the lock "
                 "timeout or failed: %ld failures, %ld stalls", failures, stalls);
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("multiproc"));
    const char *e = getenv("UDB_MP_TXNS");
    if (getenv("UDB_TEST_QUICK"))
        ntx = 30;
    if (e && atoi(e) > 0)
        ntx = atoi(e);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((void *)dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_change_detection),
        cmocka_unit_test(test_writers_readers),
        cmocka_unit_test(test_concurrent_recovery),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
