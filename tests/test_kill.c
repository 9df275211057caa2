/*
 * test_kill.c — real process crashes. A child process (fork) runs numbered
 * store transactions (a few puts / updates / deletes / refused puts /
 * reads each, now and then a compaction, a rollback or every key written
 * anew, large (commit-time placement lays such a stretch out in key order
 * when nothing but records lies in it);
 * contents derived from the seed and
 * the transaction number) and writes the number of each transaction to a
 * pipe once its commit returned. The parent kills it with SIGKILL at a
 * random moment — after a random delay, or just after the child announced
 * a commit — with the sync policy (FULL / NORMAL / OFF) and the dirty
 * limit (pages spilling before commit or not) varying per cycle. A kill is
 * a process crash: the kernel keeps every write, so OFF must survive too.
 *
 * After each kill the parent copies the files (with the journal, possibly
 * hot) aside, opens the copy writable (which rolls a hot journal back) and
 * requires: the content equals the model after transaction k or k+1, where
 * k is the last acknowledged one (every acknowledged transaction present,
 * nothing partial), and udb_store_check is clean. The original files are
 * left as the kill left them: the next child opens them and recovers them
 * itself (and may be killed while doing so).
 *
 *   UDB_KILL_CYCLES=N   kill cycles per store (default 250, two stores);
 *                       `make crashtest CYCLES=5000` runs many
 *   UDB_TEST_SEED=S     transaction contents
 *   UDB_TEST_QUICK=1    a few cycles (valgrind)
 *   UDB_KILL_SYNC=0|1|2, UDB_KILL_LIMIT=BYTES   debugging: one sync policy,
 *                       one dirty limit for every cycle
 *   UDB_KILL_DEBUG=1    debugging: test_serial checks after every transaction
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

#define NKEYS 160
#define MAXLEN 12000
#define ANNOUNCE 0x80000000u /* message: about to commit this transaction */

static const char *dir;
static uint64_t seed = 0xc0ffee;
static long cycles = 250;

typedef struct kent {
    uint32_t ver, len;
    uint8_t present;
} kent;

typedef struct kmodel {
    kent k[NKEYS];
    uint64_t t;     /* transactions applied */
    uint64_t count;
} kmodel;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix(r->s);
}

static void value_of(int id, uint32_t ver, uint32_t len, uint8_t *out)
{
    uint64_t x = mix(((uint64_t)id << 32) ^ ver);
    for (uint32_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = (ver & 1) && (i / 64) % 2 ? (uint8_t)'z' : (uint8_t)(x >> (8 * (i % 8)));
    }
}

static void name_of(int id, char *nm)
{
    snprintf(nm, 8, "n%03d", id % 37);
}

static uint32_t pick_len(rng *r)
{
    uint64_t x = next(r);
    switch (x % 10) {
    case 8: return (uint32_t)(400 + x / 10 % 3600);
    case 9: return (uint32_t)(4000 + x / 10 % (MAXLEN - 4000));
    default: return (uint32_t)(x / 10 % 400);
    }
}

/* ---- the transactions --------------------------------------------------------------------- */
/* Transaction t applied to m and, when s != NULL, performed on the store
   (inside begin / commit). Returns 0, or (child only) the failing step. */
static int txn(kmodel *m, uint64_t t, udb_store *s, int out_fd, uint8_t *vbuf, udb_val *got)
{
    rng r = {seed ^ mix(t)};
    int nops = 1 + (int)(next(&r) % 6);
    int rollback = next(&r) % 17 == 0;
    int compact = next(&r) % 40 == 0; /* a big transaction: every record may move (t % 3 = 1, 2:
                                         in key order of index 1 or 2, the indexes rebuilt) */
    int big = next(&r) % 30 == 0; /* every key written anew, large: more than 1 MiB appended in
                                     scrambled key order, which the commit places in key order */
    kmodel before;
    if (rollback)
        before = *m;
    int rc;
    if (s && (rc = udb_store_begin(s)))
        return fprintf(stderr, "txn %llu: begin: %s\n", (unsigned long long)t, udb_store_errmsg(s)), 1;
    for (int i = 0; i < nops; i++) {
        int32_t id = (int32_t)(next(&r) % NKEYS);
        kent *e = &m->k[id];
        uint64_t what = next(&r) % 8;
        char nm[8];
        name_of(id, nm);
        udb_key keys[2] = {{&id, 4}, {nm, strlen(nm)}};
        if (!e->present) {
            uint32_t len = pick_len(&r);
            if (s) {
                value_of(id, (uint32_t)t, len, vbuf);
                if ((rc = udb_store_put(s, keys, vbuf, len)))
                    return fprintf(stderr, "txn %llu: put %d: %s\n", (unsigned long long)t, id,
                                   udb_store_errmsg(s)), 2;
            }
            *e = (kent){(uint32_t)t, len, 1};
            m->count++;
        } else if (what < 4) {
            uint32_t len = pick_len(&r);
            if (s) {
                value_of(id, (uint32_t)t, len, vbuf);
                if ((rc = udb_store_update(s, 1, &id, 4, vbuf, len)))
                    return fprintf(stderr, "txn %llu: update %d: %s\n", (unsigned long long)t, id,
                                   udb_store_errmsg(s)), 3;
            }
            e->ver = (uint32_t)t;
            e->len = len;
        } else if (what < 6) {
            uint64_t n = 0;
            if (s && ((rc = udb_store_delete(s, 1, &id, 4, &n)) || n != 1))
                return fprintf(stderr, "txn %llu: delete %d: %s (%llu removed)\n", (unsigned long long)t,
                               id, udb_store_errmsg(s), (unsigned long long)n), 4;
            e->present = 0;
            m->count--;
        } else if (what == 6) {
            /* refused as a whole; the transaction goes on unharmed */
            if (s && (rc = udb_store_put(s, keys, "dup", 3)) != UDB_EXISTS)
                return fprintf(stderr, "txn %llu: duplicate put %d gave %s\n", (unsigned long long)t,
                               id, udb_errname(rc)), 5;
        } else if (s) {
            if ((rc = udb_store_get(s, 1, &id, 4, got)))
                return fprintf(stderr, "txn %llu: get %d: %s\n", (unsigned long long)t, id,
                               udb_store_errmsg(s)), 6;
            value_of(id, e->ver, e->len, vbuf);
            if (got->len != e->len || memcmp(got->data, vbuf, e->len))
                return fprintf(stderr, "txn %llu: get %d: wrong value\n", (unsigned long long)t, id), 7;
        }
    }
    for (int i = 0; big && i < NKEYS; i++) {
        int32_t id = (int32_t)((i * 97) % NKEYS);
        kent *e = &m->k[id];
        uint32_t len = 7000 + (uint32_t)(next(&r) % (MAXLEN - 7000));
        char nm[8];
        name_of(id, nm);
        udb_key keys[2] = {{&id, 4}, {nm, strlen(nm)}};
        if (s) {
            value_of(id, (uint32_t)t, len, vbuf);
            rc = e->present ? udb_store_update(s, 1, &id, 4, vbuf, len) : udb_store_put(s, keys, vbuf, len);
            if (rc)
                return fprintf(stderr, "txn %llu: big %d: %s\n", (unsigned long long)t, id,
                               udb_store_errmsg(s)), 12;
        }
        m->count += !e->present;
        *e = (kent){(uint32_t)t, len, 1};
    }
    if (compact && s && (rc = udb_store_compact_order(s, (unsigned)(t % 3)))) /* 1, 2: reordering */
        return fprintf(stderr, "txn %llu: compact: %s\n", (unsigned long long)t, udb_store_errmsg(s)), 11;
    if (rollback) {
        *m = before;
        if (s && (rc = udb_store_rollback(s)))
            return fprintf(stderr, "txn %llu: rollback: %s\n", (unsigned long long)t, udb_store_errmsg(s)), 8;
    } else if (s) {
        uint32_t msg = (uint32_t)t | ANNOUNCE;
        if (out_fd >= 0 && write(out_fd, &msg, 4) != 4)
            return 9;
        if ((rc = udb_store_commit(s)))
            return fprintf(stderr, "txn %llu: commit: %s\n", (unsigned long long)t, udb_store_errmsg(s)), 10;
    }
    m->t = t;
    return 0;
}

static void advance(kmodel *m, uint64_t to)
{
    while (m->t < to)
        txn(m, m->t + 1, NULL, -1, NULL, NULL);
}

/* The child: open (recovering what the last kill left), then transactions
   until killed. Never returns. */
static void child(const char *name, const udb_options *o, kmodel m, int fd)
{
    uint8_t *vbuf = malloc(MAXLEN);
    udb_val got = {0};
    udb_store *s;
    if (udb_store_open(name, o, &s)) {
        fprintf(stderr, "child: open %s: %s\n", name, udb_store_errmsg(s));
        _exit(40);
    }
    for (uint64_t t = m.t + 1; t < m.t + 1000000; t++) {
        int rc = txn(&m, t, s, fd, vbuf, &got);
        if (rc)
            _exit(40 + rc);
        uint32_t ack = (uint32_t)t;
        if (write(fd, &ack, 4) != 4)
            _exit(39);
    }
    _exit(38);
}

/* ---- verification --------------------------------------------------------------------------- */
typedef struct seen {
    kent k[NKEYS];
    uint64_t n;
    int bad;
    uint8_t *vbuf;
} seen;

static int collect(void *arg, const udb_item *key, const void *val, size_t len)
{
    seen *sn = arg;
    int32_t id;
    memcpy(&id, key->key, 4);
    sn->n++;
    if (id < 0 || id >= NKEYS || sn->k[id].present) {
        sn->bad = 1;
        return 0;
    }
    /* the version is not stored: find it by the contents later */
    sn->k[id].present = 1;
    sn->k[id].len = (uint32_t)len;
    sn->k[id].ver = 0;
    (void)val;
    return 0;
}

typedef struct cmpctx {
    const kmodel *m;
    uint8_t *vbuf;
    long mismatches;
    int first_bad;
} cmpctx;

static int compare_vals(void *arg, const udb_item *key, const void *val, size_t len)
{
    cmpctx *c = arg;
    int32_t id;
    memcpy(&id, key->key, 4);
    if (id < 0 || id >= NKEYS || !c->m->k[id].present || c->m->k[id].len != len) {
        if (!c->mismatches++)
            c->first_bad = id;
        return 0;
    }
    value_of(id, c->m->k[id].ver, (uint32_t)len, c->vbuf);
    if (memcmp(val, c->vbuf, len) && !c->mismatches++)
        c->first_bad = id;
    return 0;
}

static int count_names(void *arg, const udb_item *key, const void *val, size_t len)
{
    (void)key, (void)val, (void)len;
    ++*(uint64_t *)arg;
    return 0;
}

/* Does the store hold exactly m? */
static int store_equals(udb_store *s, const kmodel *m, const seen *sn, uint8_t *vbuf)
{
    if (sn->n != m->count)
        return 0;
    for (int i = 0; i < NKEYS; i++)
        if (sn->k[i].present != m->k[i].present || (m->k[i].present && sn->k[i].len != m->k[i].len))
            return 0;
    cmpctx c = {m, vbuf, 0, -1};
    assert_int_equal(udb_store_scan(s, 1, NULL, 0, NULL, 0, NULL, 0, compare_vals, &c), 0);
    return c.mismatches == 0;
}

static void problem(void *arg, int sev, int64_t off, unsigned index, const char *text)
{
    (void)arg;
    fprintf(stderr, "  check: %s at %lld (index %u): %s\n", sev ? "PROBLEM" : "note", (long long)off,
            index, text);
}

/* Open name writable (recovery), compare with the model after k or k+1;
   *cur becomes the one it equals. Returns 0 for k, 1 for k+1. */
static int verify(const char *name, kmodel *cur, uint64_t k, uint8_t *vbuf, const char *what,
                  int journal)
{
    udb_store *s;
    udb_options o;
    udb_options_init(&o);
    o.journal = journal;
    if (udb_store_open(name, &o, &s))
        fail_msg("%s: reopen %s: %s", what, name, udb_store_errmsg(s));
    seen sn;
    memset(&sn, 0, sizeof sn);
    if (udb_store_scan(s, 1, NULL, 0, NULL, 0, NULL, 0, collect, &sn))
        fail_msg("%s: scan of index 1: %s", what, udb_store_errmsg(s));
    if (sn.bad)
        fail_msg("%s: index 1 holds an unknown or repeated id", what);
    uint64_t names = 0;
    if (udb_store_scan(s, 2, NULL, 0, NULL, 0, NULL, 0, count_names, &names))
        fail_msg("%s: scan of index 2: %s", what, udb_store_errmsg(s));
    if (udb_store_check(s, problem, NULL, NULL))
        fail_msg("%s: store check after recovery failed: %s", what, udb_store_errmsg(s));
    kmodel mk = *cur;
    advance(&mk, k);
    kmodel mk1 = mk;
    advance(&mk1, k + 1);
    int which = -1;
    if (store_equals(s, &mk, &sn, vbuf))
        which = 0;
    else if (store_equals(s, &mk1, &sn, vbuf))
        which = 1;
    if (which < 0) {
        fprintf(stderr, "%s: store has %llu records; model after %llu: %llu, after %llu: %llu\n", what,
                (unsigned long long)sn.n, (unsigned long long)k, (unsigned long long)mk.count,
                (unsigned long long)(k + 1), (unsigned long long)mk1.count);
        for (int i = 0; i < NKEYS; i++)
            if (sn.k[i].present != mk.k[i].present || sn.k[i].present != mk1.k[i].present ||
                (sn.k[i].present && (sn.k[i].len != mk.k[i].len || sn.k[i].len != mk1.k[i].len)))
                fprintf(stderr, "  id %d: store %s len %u; after k: %s len %u ver %u; after k+1: %s len %u ver %u\n",
                        i, sn.k[i].present ? "has" : "lacks", sn.k[i].len, mk.k[i].present ? "has" : "lacks",
                        mk.k[i].len, mk.k[i].ver, mk1.k[i].present ? "has" : "lacks", mk1.k[i].len,
                        mk1.k[i].ver);
        fail_msg("%s: the store is neither the state after transaction %llu (the last acknowledged) "
                 "nor after %llu (seed 0x%llx)",
                 what, (unsigned long long)k, (unsigned long long)(k + 1), (unsigned long long)seed);
    }
    if (names != sn.n)
        fail_msg("%s: index 2 holds %llu records, index 1 %llu", what, (unsigned long long)names,
                 (unsigned long long)sn.n);
    *cur = which ? mk1 : mk;
    assert_int_equal(udb_store_close(s), 0);
    return which;
}

/* ---- the driver ------------------------------------------------------------------------------- */
static const char *exts[4] = {".ndx", ".dat", ".ndx-journal", ".ndx-wal"};

static void copy_aside(const char *name, const char *vname)
{
    char a[700], b[700];
    for (int i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "%s%s", name, exts[i]);
        snprintf(b, sizeof b, "%s%s", vname, exts[i]);
        unlink(b);
        if (access(a, F_OK) == 0 && copy_file(a, b))
            fail_msg("cannot copy %s to %s", a, b);
    }
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read 4-byte messages until EOF (blocking) or, with wait_announce, until
   the first announcement of a commit (or timeout_ms). */
static int drain(int fd, uint64_t *last_ack, int wait_announce, int timeout_ms)
{
    uint32_t msg;
    for (;;) {
        if (wait_announce) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, timeout_ms) <= 0)
                return 0;
        }
        ssize_t n = read(fd, &msg, 4);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        assert_int_equal(n, 4);
        if (msg & ANNOUNCE) {
            if (wait_announce)
                return 1;
        } else if (msg > *last_ack) {
            *last_ack = msg;
        }
    }
}

static void run_kills(const char *label, int layout, int compress)
{
    char name[500], vdir[500], vname[600];
    snprintf(name, sizeof name, "%s/%s", dir, label);
    snprintf(vdir, sizeof vdir, "%s/%s-verify", dir, label);
    mkdir(vdir, 0755);
    const char *base = strrchr(name, '/') + 1;
    snprintf(vname, sizeof vname, "%s/%s", vdir, base); /* same base name: the journal names it */

    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    udb_index_def defs[2] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 6, 2, 8},
                             {UDB_KEY_STRING, 8, UDB_ALLOW_DELETE, 5, 2, 8}};
    udb_store_def def = {2, defs, compress, 8};
    udb_store *s;
    assert_int_equal(udb_store_create(name, &o, &def, &s), 0);
    assert_int_equal(udb_store_close(s), 0);

    kmodel cur;
    memset(&cur, 0, sizeof cur);
    uint8_t *vbuf = malloc(MAXLEN);
    rng pr = {seed ^ (uint64_t)layout << 40 ^ (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20};
    long at_k1 = 0, hot = 0, mode_n[3] = {0}, announced = 0, zero_acks = 0, wal_n = 0;
    uint64_t total_acks = 0;
    double t0 = now();
    for (long c = 0; c < cycles; c++) {
        static const int syncs[3] = {UDB_SYNC_FULL, UDB_SYNC_NORMAL, UDB_SYNC_OFF};
        static const size_t limits[4] = {0, 0, 8192, 24576};
        uint64_t x = next(&pr);
        int sm = x % 5 < 2 ? 0 : x % 5 < 3 ? 1 : 2; /* FULL 40%, NORMAL 20%, OFF 40% */
        o.sync = syncs[sm];
        o.dirty_limit = limits[x / 5 % 4];
        if (getenv("UDB_KILL_SYNC")) /* debugging: one policy, one dirty limit */
            o.sync = atoi(getenv("UDB_KILL_SYNC"));
        if (getenv("UDB_KILL_LIMIT"))
            o.dirty_limit = (size_t)atol(getenv("UDB_KILL_LIMIT"));
        int how = (int)(x / 20 % 4);
        mode_n[o.sync]++;
        o.journal = x >> 24 & 1 ? UDB_JOURNAL_WAL : UDB_JOURNAL_ROLLBACK;
        if (getenv("UDB_KILL_JOURNAL")) /* debugging: one journal mode */
            o.journal = atoi(getenv("UDB_KILL_JOURNAL"));
        wal_n += o.journal == UDB_JOURNAL_WAL;
        int p[2];
        assert_int_equal(pipe(p), 0);
        fflush(stderr);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child(name, &o, cur, p[1]);
        }
        close(p[1]);
        uint64_t k = cur.t, start = cur.t;
        long delay = (long)(x >> 32) % 25000;
        if (how == 0) {                 /* at once, or while it opens */
            sleep_us(delay / 20);
        } else if (how == 3) {          /* just after it announced a commit */
            if (drain(p[0], &k, 1, 2000))
                announced++;
            sleep_us(delay / 25);
        } else {
            sleep_us(delay);
        }
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        drain(p[0], &k, 0, 0);
        close(p[0]);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            fail_msg("%s cycle %ld: the child ended by itself (status 0x%x, exit %d) — see its "
                     "message above", label, c, st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        total_acks += k - start;
        zero_acks += k == start;
        copy_aside(name, vname);
        int h = 0;
        char msg[300], vndx[700];
        snprintf(vndx, sizeof vndx, "%s.ndx", vname);
        if (udb_journal_hot(vndx, &h, msg, sizeof msg))
            fail_msg("%s cycle %ld: udb_journal_hot: %s", label, c, msg);
        hot += h;
        char what[200];
        snprintf(what, sizeof what,
                 "%s cycle %ld (sync %d, dirty limit %zu, kill mode %d, %s, %s journal)", label, c,
                 o.sync, o.dirty_limit, how, o.journal == UDB_JOURNAL_WAL ? "WAL" : "rollback",
                 h ? "hot" : "no hot");
        at_k1 += verify(vname, &cur, k, vbuf, what,
                        x >> 25 & 1 ? UDB_JOURNAL_WAL : UDB_JOURNAL_ROLLBACK);
    }
    /* the original, as the last kill left it */
    verify(name, &cur, cur.t, vbuf, "final reopen", UDB_JOURNAL_ROLLBACK);
    fprintf(stderr,
            "%s: %ld kill cycles in %.1f s (sync FULL/NORMAL/OFF %ld/%ld/%ld, %ld in WAL mode): %llu transactions "
            "acknowledged, last %llu, %ld cycles without an acknowledgement, %ld killed just after "
            "announcing a commit, %ld hot journals rolled back, %ld ended with the unacknowledged "
            "transaction k+1 durable; %llu records at the end\n",
            label, cycles, now() - t0, mode_n[0], mode_n[1], mode_n[2], wal_n, (unsigned long long)total_acks,
            (unsigned long long)cur.t, zero_acks, announced, hot, at_k1, (unsigned long long)cur.count);
    free(vbuf);
}

/* The same transactions in one process without kills: the reference the
   kill cycles rely on (and a plain test of spilling before commit). */
static void run_serial(const char *label, int layout, int compress, size_t dirty_limit, uint64_t ntx,
                       int journal)
{
    char name[500];
    snprintf(name, sizeof name, "%s/%s", dir, label);
    udb_options o;
    udb_options_init(&o);
    o.layout = layout;
    o.sync = UDB_SYNC_OFF;
    o.dirty_limit = dirty_limit;
    o.journal = journal;
    udb_index_def defs[2] = {{UDB_KEY_LONG_INT, 4, UDB_UNIQUE | UDB_ALLOW_DELETE, 6, 2, 8},
                             {UDB_KEY_STRING, 8, UDB_ALLOW_DELETE, 5, 2, 8}};
    udb_store_def def = {2, defs, compress, 8};
    udb_store *s;
    assert_int_equal(udb_store_create(name, &o, &def, &s), 0);
    kmodel m;
    memset(&m, 0, sizeof m);
    uint8_t *vbuf = malloc(MAXLEN);
    udb_val got = {0};
    kmodel prev = m;
    for (uint64_t t = 1; t <= ntx; t++) {
        int dbg = getenv("UDB_KILL_DEBUG") != NULL;
        if (dbg) {
            rng r = {seed ^ mix(t)};
            next(&r);
            fprintf(stderr, "txn %llu%s\n", (unsigned long long)t, next(&r) % 17 == 0 ? " (rollback)" : "");
        }
        if (txn(&m, t, s, -1, vbuf, &got))
            fail_msg("%s: transaction %llu failed (seed 0x%llx, dirty limit %zu)", label,
                     (unsigned long long)t, (unsigned long long)seed, dirty_limit);
        if (dbg) {
            verify(name, &prev, t, vbuf, label, journal);
            assert_int_equal(prev.t, t);
        }
    }
    assert_int_equal(udb_store_close(s), 0);
    kmodel start;
    memset(&start, 0, sizeof start);
    verify(name, &start, ntx, vbuf, label, UDB_JOURNAL_ROLLBACK);
    udb_val_free(&got);
    free(vbuf);
}

static void test_serial(void **state)
{
    (void)state;
    run_serial("serial", UDB_LAYOUT_WIDE, 0, 0, 600, UDB_JOURNAL_ROLLBACK);
    /* rollbacks after spills: a rollback must leave the journal ready for
       the next transaction (it once kept the stale write offset) */
    run_serial("serial_spill8k", UDB_LAYOUT_WIDE, 0, 8192, 600, UDB_JOURNAL_ROLLBACK);
    run_serial("serial_spill24k", UDB_LAYOUT_CLASSIC, 1, 24576, 600, UDB_JOURNAL_ROLLBACK);
    run_serial("serial_wal", UDB_LAYOUT_WIDE, 0, 0, 600, UDB_JOURNAL_WAL);
    run_serial("serial_wal_classic", UDB_LAYOUT_CLASSIC, 1, 8192, 600, UDB_JOURNAL_WAL);
}

static void test_kill_wide(void **state)
{
    (void)state;
    run_kills("wide", UDB_LAYOUT_WIDE, 0);
}

static void test_kill_classic_compressed(void **state)
{
    (void)state;
    run_kills("classic", UDB_LAYOUT_CLASSIC, 1);
}

static int setup(void **state)
{
    (void)state;
    dir = strdup(scratch_dir("kill"));
    const char *e = getenv("UDB_KILL_CYCLES");
    if (getenv("UDB_TEST_QUICK"))
        cycles = 8;
    if (e && atol(e) > 0)
        cycles = atol(e);
    const char *sd = getenv("UDB_TEST_SEED");
    if (sd)
        seed = strtoull(sd, NULL, 0);
    fprintf(stderr, "seed 0x%llx, %ld cycles per store\n", (unsigned long long)seed, cycles);
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
        cmocka_unit_test(test_serial),
        cmocka_unit_test(test_kill_wide),
        cmocka_unit_test(test_kill_classic_compressed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
