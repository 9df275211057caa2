/*
 * bench.h — what the parts of the benchmark (W1 and W2) share (see
 * /work/shared/bench/workload.md and bench/README.md): the engine interface
 * every store is driven through, the workload's keys and values, the phases,
 * and the result records the driver collects from its child processes.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "udb.h"   /* UDB_JOURNAL_WAL, when udb has it, adds the udb-wal engines */

/* ---- engines ------------------------------------------------------------ */
enum {
    BENCH_ABSENT = 1,   /* get/del: key not there (0 = found, < 0 = error) */
    BENCH_LOCKED = 2,   /* begin, commit, put, get: the engine's lock wait ran
                           out (UDB_LOCKED, SQLITE_BUSY); nothing printed */
};

/* Called by scan for every record in key order; non-zero stops the scan. */
typedef int (*bench_scan_fn)(void *arg, const void *key, size_t klen, const void *val,
                             size_t vlen);

/* One store behind a table of functions. Every function returns 0 or -1
   (after printing the engine's own message to stderr), except get/del
   which may also return BENCH_ABSENT. Values handed out by get stay valid
   until the next call on the handle. */
typedef struct bench_w2_ops bench_w2_ops;
typedef struct bench_engine {
    const char *name;       /* as on the command line: "sqlite", "udb-ndx" ... */
    int is_udb;             /* 1: this library (ratios are taken udb / peer)   */
    unsigned vsize;         /* value bytes: 100 (records) or 8 (positions)     */
    const char *(*config)(void);  /* one line: how the engine is configured    */
    int (*open)(const char *dir, int create, void **db);
    int (*close)(void *db);
    int (*begin)(void *db, int write);
    int (*commit)(void *db, int write);  /* write: durable (fsync) */
    int (*put)(void *db, const uint8_t *key, const void *val, size_t len);
    int (*get)(void *db, const uint8_t *key, const void **val, size_t *len);
    int (*del)(void *db, const uint8_t *key);
    int (*upd)(void *db, const uint8_t *key, const void *val, size_t len);
    int (*scan)(void *db, bench_scan_fn fn, void *arg);
    const bench_w2_ops *w2; /* what W2 needs besides; NULL: not a W2 engine */
    /* W1's compact phase: the engine's own reorganisation of a churned
       database (its own transaction); NULL: it has none, the phase is
       skipped */
    int (*compact)(void *db);
} bench_engine;

/* W2 (small transactions, single calls, readers beside a writer). */
struct bench_w2_ops {
    /* One lookup that is its own read, outside any transaction, the way a
       user calls it: the read is over when it returns; *val stays valid
       until the next call on the handle. Returns as get (and BENCH_LOCKED). */
    int (*get1)(void *db, const uint8_t *key, const void **val, size_t *len);
    /* Undo the open write transaction (after BENCH_LOCKED inside it). */
    int (*rollback)(void *db);
    /* NULL: every thread opens the database itself. Else another thread's
       handle on the database that db has open (LMDB: one environment per
       process); it is closed with close, before db. */
    int (*share)(void *db, void **out);
    const char *how;        /* one line: the W2 access path */
};

/* The engines (one file each) and the registry (engines.c, NULL-terminated,
   in run order). */
extern const bench_engine bench_udb_store, bench_udb_store_classic;
extern const bench_engine bench_udb_ndx, bench_udb_ndx_classic;
extern const bench_engine bench_sqlite, bench_sqlite_wal;
extern const bench_engine bench_bdb, bench_bdb8, bench_lmdb, bench_lmdb8;
/* udb node geometry for 16-byte keys: the largest maxitems whose node has
   at most 4096 bytes, and that node's size (layout UDB_LAYOUT_*) */
unsigned bench_udb_maxitems(int layout);
unsigned bench_udb_node(int layout);

extern const bench_engine bench_udb_store_arrival, bench_udb_store_nosync, bench_sqlite_nosync, bench_sqlite_wal_normal;
#ifdef UDB_JOURNAL_WAL
extern const bench_engine bench_udb_wal, bench_udb_wal_normal;
#endif

/* The default run's engines, and those run only when named (the durability
   run's sync OFF variants, W2's other journal modes); bench_engine_find
   looks in both. bench_w2_engines: W2's engines, in run order. */
extern const bench_engine *const bench_engines[];
extern const bench_engine *const bench_extra_engines[];
extern const bench_engine *const bench_w2_engines[];
const bench_engine *bench_engine_find(const char *name);
/* The engines named in list (comma-separated; NULL: all of defaults, a
   NULL-terminated list) into out (room for 64); exits on an unknown name */
unsigned bench_pick_engines(const char *list, const bench_engine *const *defaults,
                            const bench_engine **out);
/* The same, or exit(2) with a message naming the run ("durability", ...) */
const bench_engine *bench_engine_need(const char *run, const char *name);

/* ---- the workload ---------------------------------------------------------- */
#define BENCH_KEY 16           /* key bytes: lowercase hex, no NUL */
#define BENCH_VAL 100          /* record value bytes */
#define BENCH_UPD8 (1ull << 30) /* 8-byte engines: updated value = i + this */

uint64_t bench_splitmix64(uint64_t i);
void bench_key(uint64_t i, uint8_t key[BENCH_KEY]);
/* Value of record i (updated: the phase-upd value), vsize 100 or 8 bytes. */
void bench_value(uint64_t i, int updated, unsigned vsize, uint8_t *out);
uint64_t bench_ld64(const void *p);
void bench_st64(void *p, uint64_t v);

/* PH_COUNT phases make the default run; PH_TXN (BENCH_TXNS single-record
   insert transactions into the loaded database, each with a durable
   commit) only runs when asked for (udb-bench durability), and so do
   PH_BULK (a new database loaded with the records in key order) and
   PH_BULK_VERIFY (its untimed verification), both in bulk.c. */
enum { PH_LOAD, PH_GET, PH_SCAN, PH_DEL, PH_SCAN2, PH_UPD, PH_CHECK, PH_CSCAN, PH_COMPACT,
       PH_SCAN3, PH_COUNT,
       PH_TXN = PH_COUNT, PH_BULK, PH_BULK_VERIFY, PH_ALL };
#define BENCH_TXNS 10000
extern const char *const bench_phase_names[PH_ALL];
int bench_phase_find(const char *name);
uint64_t bench_phase_ops(int phase, uint64_t n);

/* Child side: run one phase of one engine on the database in dir, verify
   everything, and print "ok TOTAL_NS WORK_NS OPS" on stdout. Returns the
   process exit status (0 = verified). */
int bench_child(const bench_engine *e, int phase, uint64_t n, const char *dir);
/* Drop the page cache of the files in dir (cscan); 0 or -1 (message). */
int bench_drop_cache(const char *dir);
/* Scan (in the engine's open transaction): want records, keys strictly
   increasing, keys and values of the right size; 0 or -1 (after a message) */
int bench_scan_check(const bench_engine *e, void *db, uint64_t want);
uint64_t bench_now_ns(void);   /* CLOCK_MONOTONIC */

/* ---- results ---------------------------------------------------------------- */
typedef struct bench_run {
    uint64_t total_ns, work_ns, ops;
    long maxrss_kb;
    uint64_t cpu_ns;          /* user + system time of the child */
    long faults;              /* its page faults, minor + major */
} bench_run;

typedef struct bench_results {
    uint64_t n;
    unsigned reps, neng;
    const bench_engine **eng;
    bench_run *run;           /* [rep][phase][engine] */
    uint64_t *size;           /* [rep][engine][2]: after load, after upd */
    char *files;              /* [rep][engine][2][BENCH_FILES]: "name=bytes ..." */
    char date[64], machine[256];
} bench_results;

bench_run *bench_at(bench_results *r, unsigned rep, int phase, unsigned e);
uint64_t *bench_size_at(bench_results *r, unsigned rep, unsigned e);
#define BENCH_FILES 256
char *bench_files_at(bench_results *r, unsigned rep, unsigned e, int upd);

/* report.c: the stdout tables, results.json, results.tsv, results.md */
void bench_report_text(bench_results *r);
int bench_report_files(bench_results *r, const char *outdir);
/* median, min and max of v[0..n) (sorts v); ops/s as "372k", "1.2M", and
   as "372k (300k–400k)" (dash between min and max) */
typedef struct bench_stat3 {
    double med, min, max;
} bench_stat3;
bench_stat3 bench_stat(double *v, unsigned n);
const char *bench_fmt_rate(double x, char *buf);
const char *bench_fmt_stat(bench_stat3 s, const char *dash, char *buf);
/* The text of a run (durability, bulk) on stdout and in OUTDIR/NAME.md,
   its rows in OUTDIR/NAME.tsv; 0 or -1 (after a message) */
int bench_write_run(const char *out, const char *name, void (*text)(FILE *f, void *arg),
                    void (*tsv)(FILE *f, void *arg), void *arg);

/* driver.c, for the other runs: one child process per phase (exits the
   program on any failure), the scratch directory, the machine line */
void bench_spawn(const bench_engine *e, int phase, uint64_t n, const char *dir, bench_run *out);
/* Run `udb-bench ARGS...` (args[0] the subcommand, NULL-terminated) with
   its stdout in out (len bytes, NUL-terminated) and its resource use
   (peak RSS, CPU time, page faults) in *ru; 0 if it exited with status 0. */
int bench_exec(char *const args[], char *out, size_t len, struct rusage *ru);
int bench_rm_tree(const char *dir);
void bench_mkdir(const char *dir);
/* Bytes of all regular files in dir; list gets "name=bytes ..." (len bytes) */
uint64_t bench_dir_bytes(const char *dir, char *list, size_t len);
void bench_check_space(const char *dir, const bench_engine **eng, unsigned neng, uint64_t n);
void bench_machine(bench_results *r);
/* The command line of run, durability, bulk and w2: -n N -r REPS -o OUTDIR
   (defaults 100000, 3, bench/out), when list is not NULL -e LIST, and the
   options in more (getopt letters, each with a value) handed to opt.
   Exits on a bad value; returns 2 on an unknown option, else 0. */
typedef int (*bench_opt_fn)(void *arg, int c, const char *value);   /* 0 or -1 */
int bench_args(int argc, char **argv, bench_results *r, const char **out, const char **list,
               const char *more, bench_opt_fn opt, void *arg);
/* A run's start: OUTDIR made, its scratch directory OUTDIR/SUB (path in
   data) removed, free space for r->eng checked, date and machine taken. */
void bench_start(bench_results *r, const char *out, const char *sub, char *data, size_t len);
/* A whole run of durability, bulk or w2: bench_start with the scratch
   directory OUTDIR/NAME-data, rep(arg, k, data) for every repetition k,
   the scratch directory removed, the report written (bench_write_run
   with NAME); 0, or 1 when the report could not be written. */
typedef void (*bench_rep_fn)(void *arg, unsigned rep, const char *data);
int bench_reps(bench_results *r, const char *out, const char *name, bench_rep_fn rep,
               void (*text)(FILE *f, void *arg), void (*tsv)(FILE *f, void *arg), void *arg);

/* durability.c: udb-bench durability [-n N] [-r REPS] [-o OUTDIR] */
int bench_durability(int argc, char **argv);

/* ---- the bulk run ------------------------------------------------------------ */
/* A record source in key order: 0 = one more record in *key (BENCH_KEY
   bytes), *val, *len, valid until the next call; 1 = the end. */
typedef int (*bench_next_fn)(void *arg, const uint8_t **key, const void **val, size_t *len);

/* The engines' own bulk paths, on a handle their open made; *loaded gets
   the records taken. eng_udb_store.c: one udb_store_load_sorted call (its
   own transaction, durable commit); eng_lmdb.c: one write transaction of
   MDB_APPEND puts, durable commit. */
int bench_udb_store_load(void *db, bench_next_fn next, void *arg, uint64_t *loaded);
int bench_lmdb_load(void *db, bench_next_fn next, void *arg, uint64_t *loaded);
/* udb_store_check: clean (no problem, no note) and index 1 holds n records */
int bench_udb_store_check(void *db, uint64_t n);

/* bulk.c: udb-bench bulk [-n N] [-r REPS] [-o OUTDIR], and its child side
   (phase PH_BULK or PH_BULK_VERIFY; returns the exit status as bench_child) */
int bench_bulk(int argc, char **argv);
int bench_bulk_child(const bench_engine *e, int phase, uint64_t n, const char *dir);

/* ---- W2 ------------------------------------------------------------------------ */
/* A W2 phase: its writers (begin, insert one record, durable commit) and
   readers (get1 lookups in W1 get order), threads or processes, a fixed
   count of operations or a run of SECONDS. */
typedef struct bench_w2_phase {
    const char *name;
    unsigned writers, readers;
    int procs;              /* workers are processes (else threads) */
    int timed;              /* runs for SECONDS (else a count) */
} bench_w2_phase;
enum { W2_PHASES = 6, W2_ROLES = 2 };   /* roles: 0 writers, 1 readers */
extern const bench_w2_phase bench_w2_phases[W2_PHASES];

/* The sizes of a W2 run (command line: -t -T -g -s) */
typedef struct bench_w2_size {
    uint64_t txns, txns4, gets;  /* commit1, commit4 per writer, get1 */
    unsigned seconds;            /* mixed, mixedp */
} bench_w2_size;

/* w2.c: udb-bench w2 [-n N0] [-r REPS] [-o OUTDIR] [-e ENGINES] [-s SECONDS]
   [-t TXNS] [-T TXNS4] [-g GETS]; w2_work.c: its child side,
   udb-bench w2-child ENGINE PHASE DIR N0 NEXT COUNT TXNS TXNS4 GETS SECONDS */
int bench_w2(int argc, char **argv);
int bench_w2_child(int argc, char **argv);

#endif
