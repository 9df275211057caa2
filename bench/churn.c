/*
 * churn.c — the heap churn benchmark (udb-churn): frees and allocates
 * records of random sizes 1..4096 bytes for many rounds with a bounded live
 * set, through udb_heap_alloc/free/write, and checks the space bound:
 * after every commit the file stays within 1.5 x the live bytes plus the
 * holes tables (and the header). Every record carries a pattern that is
 * verified before it is freed, so overlapping allocations are caught.
 *
 *   udb-churn [-r ROUNDS] [-l LIVE] [-b BATCH] [-c] [-o DIR]
 */
#include "udb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXREC 4096

typedef struct rec {
    int64_t pos;
    uint32_t size, tag;
} rec;

typedef struct churn {
    udb_heap *h;
    rec *live;
    unsigned nlive;
    uint64_t live_bytes, rng, tag;
    double worst;           /* largest file / bound seen */
    uint8_t buf[MAXREC], got[MAXREC];
} churn;

static uint64_t next_rand(churn *c)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void die(churn *c, const char *what, int rc)
{
    fprintf(stderr, "udb-churn: %s: %s: %s\n", what, udb_errname(rc),
            c->h ? udb_heap_errmsg(c->h) : "");
    exit(1);
}

static void pattern(uint32_t tag, uint32_t size, uint8_t *out)
{
    for (uint32_t k = 0; k < size; k++)
        out[k] = (uint8_t)(tag * 131u + k * 7u + (k >> 8));
}

static void add(churn *c, rec *r)
{
    int rc;
    r->size = 1 + (uint32_t)(next_rand(c) % MAXREC);
    r->tag = (uint32_t)++c->tag;
    if ((rc = udb_heap_alloc(c->h, r->size, &r->pos)))
        die(c, "alloc", rc);
    pattern(r->tag, r->size, c->buf);
    if ((rc = udb_heap_write(c->h, r->pos, c->buf, r->size)))
        die(c, "write", rc);
    c->live_bytes += r->size;
}

static void verify(churn *c, const rec *r)
{
    int rc = udb_heap_read(c->h, r->pos, c->got, r->size);
    if (rc)
        die(c, "read", rc);
    pattern(r->tag, r->size, c->buf);
    if (memcmp(c->buf, c->got, r->size)) {
        fprintf(stderr, "udb-churn: record at %" PRId64 " (%u bytes) was overwritten\n", r->pos,
                r->size);
        exit(1);
    }
}

static void drop(churn *c, rec *r)
{
    verify(c, r);
    int rc = udb_heap_free(c->h, r->pos, r->size);
    if (rc)
        die(c, "free", rc);
    c->live_bytes -= r->size;
}

/* After a commit: file size against the bound; a line every `every` rounds. */
static void sample(churn *c, uint64_t round, int print)
{
    udb_heap_info in;
    int rc = udb_heap_info_get(c->h, &in);
    if (rc)
        die(c, "info", rc);
    double tables = (double)in.tables * (double)in.table_size;
    double bound = 1.5 * (double)c->live_bytes + tables + 64;
    if (in.file_size / bound > c->worst)
        c->worst = in.file_size / bound;
    if (print)
        printf("%8" PRIu64 " %12.2f %12.2f %8" PRIu64 " %12.2f %7u %9.3f\n", round,
               in.file_size / 1048576.0, c->live_bytes / 1048576.0, in.holes,
               in.hole_bytes / 1048576.0, in.tables, in.file_size / bound);
}

static void txn(churn *c, int commit)
{
    int rc = commit ? udb_heap_commit(c->h) : udb_heap_begin(c->h);
    if (rc)
        die(c, commit ? "commit" : "begin", rc);
}

static void run(churn *c, uint64_t rounds, unsigned batch)
{
    txn(c, 0);
    for (unsigned k = 0; k < c->nlive; k++)
        add(c, &c->live[k]);
    txn(c, 1);
    printf("%8s %12s %12s %8s %12s %7s %9s\n", "round", "file MiB", "live MiB", "holes",
           "hole MiB", "tables", "file/bound");
    sample(c, 0, 1);
    for (uint64_t r = 1; r <= rounds; r++) {
        if ((r - 1) % batch == 0)
            txn(c, 0);
        rec *x = &c->live[next_rand(c) % c->nlive];
        drop(c, x);
        add(c, x);
        if (r % batch == 0 || r == rounds) {
            txn(c, 1);
            sample(c, r, r % (rounds / 10 ? rounds / 10 : 1) == 0 || r == rounds);
        }
    }
    for (unsigned k = 0; k < c->nlive; k++)
        verify(c, &c->live[k]);
}

int main(int argc, char **argv)
{
    static churn c;
    uint64_t rounds = 100000;
    unsigned batch = 1000, layout = UDB_LAYOUT_WIDE;
    const char *dir = "bench/out";
    int o;
    c.nlive = 1000;
    c.rng = 7;
    while ((o = getopt(argc, argv, "r:l:b:co:")) != -1) {
        if (o == 'r')
            rounds = strtoull(optarg, NULL, 10);
        else if (o == 'l')
            c.nlive = (unsigned)strtoul(optarg, NULL, 10);
        else if (o == 'b')
            batch = (unsigned)strtoul(optarg, NULL, 10);
        else if (o == 'c')
            layout = UDB_LAYOUT_CLASSIC;
        else if (o == 'o')
            dir = optarg;
        else {
            fprintf(stderr, "usage: udb-churn [-r ROUNDS] [-l LIVE] [-b BATCH] [-c] [-o DIR]\n");
            return 2;
        }
    }
    if (!c.nlive || !batch || !rounds) {
        fprintf(stderr, "udb-churn: ROUNDS, LIVE and BATCH must be > 0\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/churn.dat", dir);
    unlink(path);
    udb_options opts;
    udb_options_init(&opts);
    opts.layout = (int)layout;
    opts.sync = UDB_SYNC_OFF;   /* this measures space, not time */
    int rc = udb_heap_create(path, &opts, 0, &c.h);
    if (rc)
        die(&c, path, rc);
    c.live = calloc(c.nlive, sizeof *c.live);
    printf("heap churn: %s layout, %u live records of 1..%d bytes, %" PRIu64
           " rounds (free one, allocate one), commit every %u\n",
           layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", c.nlive, MAXREC, rounds, batch);
    clock_t t0 = clock();
    run(&c, rounds, batch);
    rc = udb_heap_close(c.h);
    c.h = NULL;
    if (rc)
        die(&c, "close", rc);
    unlink(path);
    free(c.live);
    printf("worst file / (1.5 x live + tables + 64): %.3f, %.2f s CPU: %s\n", c.worst,
           (double)(clock() - t0) / CLOCKS_PER_SEC,
           c.worst <= 1.0 ? "within the bound" : "OVER THE BOUND");
    return c.worst <= 1.0 ? 0 : 1;
}
