/*
 * pager_int.h — state shared by the pager's own files (pager.c, pager_txn.c,
 * journal.c). Nothing outside the pager includes it.
 */
#ifndef UDB_PAGER_INT_H
#define UDB_PAGER_INT_H

#include <pthread.h>
#include "pager.h"
#include "shm.h"
#include "wal.h"

enum { MAP_FILE_PART, MAP_ANON_PART, MAP_NONE_PART };

/* lock bytes, far beyond any data, so they never touch file contents */
#define LOCK_PENDING 0x4000000000000000ULL
#define LOCK_SHARED (LOCK_PENDING + 1)   /* adjacent: readers take both at once */
#define LOCK_RESERVED (LOCK_PENDING + 2)
#define LOCK_WAITQ (LOCK_PENDING + 3)    /* shared: writers queued for RESERVED */
/* held shared for a handle's life (pager_wal.c): the journal mode in use */
#define LOCK_WALMODE (LOCK_PENDING + 16)
#define LOCK_RBMODE (LOCK_PENDING + 17)

enum { LK_READ = 1, LK_RESERVED = 2, LK_EXCL = 4 };

/* A page image kept before a WAL transaction changed it: page page of
   file file, image number slot in pre_buf. */
typedef struct wal_before {
    uint64_t page;
    unsigned file, slot;
} wal_before;

struct pager_group {
    const udb_os *os;
    udb_err *err;
    int readonly, exclusive, sync;
    unsigned lock_timeout_ms;
    struct lockwait *lw;    /* in-process lock wake-ups (system table only) */
    size_t dirty_limit, dirty_bytes;
    pager_file *files[PAGER_MAX_FILES];
    int nfiles;
    int state;              /* PAGER_NONE / READ / WRITE */
    int poisoned;           /* an operation failed half-way: rollback only */
    int spilled;            /* pages of this transaction are in the files */
    int size_changed;
    int created;            /* a member was created and no transaction began yet:
                               a journal or log beside it is an earlier file's */
    int long_locks;         /* UDB_EXCLUSIVE locks taken */
    int checked;            /* journals and sizes checked at least once */
    pager_stats stats;
    /* journal (journal.c) */
    char *jpath;            /* this group's journal */
    char *xjpath;           /* the other journal that may cover a member: a
                               heap X.dat's store journal X.ndx-journal, or a
                               store's heap journal X.dat-journal (raw writes) */
    unsigned xjneed;        /* files it names when it covers this group */
    int xjmember;           /* the member whose writer lock proves it live */
    int jfd;
    int jdir_synced;
    uint64_t jcounter, xjcounter; /* commit counters last seen */
    uint64_t salt;
    uint64_t jend;          /* offset of the next record */
    uint64_t jstart;        /* where this transaction's records begin */
    uint64_t jnext;         /* where the next transaction's may begin: past the
                               records of one whose clean header was not synced */
    int jcommit;            /* the last record queued is a commit record */
    int jcommit_any;        /* this transaction queued a commit record (journal.c) */
    int jkept;              /* the last playback kept a commit its record found whole */
    int jhdr_written;
    int jdurable;           /* nothing written to the journal since its last fsync */
    uint8_t *jbuf;
    size_t jlen, jcap;
    /* background write-behind (pager_txn.c): at most one job in flight,
       pages [wb_lo, wb_hi) of wb_f; the main side finishes it */
    pthread_t wb_thread;
    pthread_mutex_t wb_mu;
    pthread_cond_t wb_cv;
    int wb_thread_on, wb_thread_failed;
    long wb_pid;            /* the process the thread runs in (fork: not a child) */
    int wb_busy;            /* the thread has a job (under wb_mu) */
    int wb_quit;            /* the thread should end (under wb_mu) */
    int wb_rc;              /* the last job's result, 0 or -errno (under wb_mu) */
    pager_file *wb_f;       /* a job handed off and not finished yet */
    uint64_t wb_lo, wb_hi;
    const uint8_t *wb_src;  /* the job writes from here, not the mapping */
    /* journal mode (pager_wal.c) */
    int journal;            /* as asked: UDB_JOURNAL_* */
    int attached;           /* the mode is settled and its locks held */
    int wal;                /* 1: WAL mode (else the rollback journal) */
    uint64_t wal_ckpt;      /* auto-checkpoint: log bytes past backfill */
    char *wal_path, *shm_path, *xwal_path;
    wal_log log;            /* log.fd < 0: not open */
    shm sh;                 /* sh.h NULL: not mapped */
    int shm_fd;
    uint64_t wgen;          /* gen of the view the mappings show (0: none) */
    shm_view wv;            /* that view */
    uint64_t wlogseq;       /* of the log file it was read from */
    int wlocked;            /* this handle holds the writer mutex */
    uint64_t last_sync_us;  /* how long this handle's last log sync took */
    uint64_t finish_gen, finish_at; /* in log gen finish_gen, the end before
                               which begin does not try again to copy the
                               rest (readers held it back) */
    /* the write transaction's pages as they were (pager_waltx.c) */
    uint8_t *pre_buf;       /* the images */
    wal_before *pre;        /* which page each is */
    size_t npre, cappre;
    int pre_lost;           /* a page changed without its image kept */
    uint8_t *wdata;         /* change data of the batch being written */
    size_t wdcap, *wat;     /* and where each entry's starts */
    wal_entry *went;        /* entries of the batch being written */
    /* background checkpoints (pager_wal.c; the built-in os table only):
       the thread works on ck_ctx, a copy of this group made when asked,
       with a log descriptor and an error record of its own */
    pthread_t ck_thread;
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    int ck_on, ck_failed, ck_want, ck_busy, ck_quit;
    int ck_bg;              /* this is ck_ctx: never cut a file shorter */
    _Atomic int ck_halt;    /* the handle goes: a running checkpoint stops */
    _Atomic int *halted;    /* in ck_ctx: its handle's ck_halt */
    long ck_pid;
    struct pager_group *ck_ctx;
};

int pager_oserr(pager_group *g, int rc, const char *what, const char *path);
uint64_t pager_round(const pager_file *f, uint64_t n);
int pager_map_range(pager_file *f, uint64_t a, uint64_t b, int what);
/* Page pg of f (every page of every file of g) changed under the mapping:
   for pager_changes. */
void pager_note_change(pager_file *f, uint64_t pg);
void pager_note_all(pager_group *g);
/* Clear the bits of pages [lo, hi) of bitmap m of f (whole words: the
   callers' ranges bound every set bit). */
void pager_clear_bits(const pager_file *f, uint64_t *m, uint64_t lo, uint64_t hi);
/* Forget which pages of f changed (they stay in the mapping as they are). */
void pager_clear_dirty(pager_file *f);
void pager_unlock_all(pager_group *g);
/* Rollback journal: does another handle hold RESERVED (a live writer,
   whose hot journal is its own commit in progress, not a crash)? */
int pager_writer_alive(pager_group *g, int member);
/* Follow the on-disk size after another handle changed it. */
int pager_follow(pager_file *f, uint64_t newsize);
/* Wait for the write-behind job in flight and let the mapping show the file
   for its pages; before anything remaps, moves or rewrites the mapping. */
int pager_wb_finish(pager_group *g);
/* End the write-behind thread (the group closes). */
void pager_wb_stop(pager_group *g);
/* Make the mapping of f cover size bytes (anonymous memory past what it
   maps of the file); UDB_NOMEM when the reservation is too small. */
int pager_cover(pager_file *f, uint64_t size);
/* Map f afresh as the file is on disk now (disk_size bytes), reserving
   room for size bytes, and cover size. No dirty pages. */
int pager_refresh(pager_file *f, uint64_t disk_size, uint64_t size);
int pager_lock_wait(pager_group *g, pager_file *f, int type, uint64_t byte);
int pager_sync_dir(pager_group *g, const char *path);
/* The last part of a path; a malloc'd copy of the first alen bytes of a
   followed by b (NULL when out of memory). */
const char *pager_base_name(const char *p);
char *pager_path_cat(const char *a, size_t alen, const char *b);
/* Does path exist (opens for reading)? */
int pager_exists(pager_group *g, const char *path);
/* Roll back a hot rollback journal now (no transaction is open). */
int pager_journal_recover(pager_group *g);

/* ---- WAL mode (pager_wal.c) ---- */
/* Settle the journal mode on the first transaction: mode locks, a pending
   log recovered, the shared memory joined. */
int wal_attach(pager_group *g);
/* dbe recover: a log left by a crash is copied into the files now
   (*found = 2); nothing to do without one. */
int wal_recover(pager_group *g, int *found);
/* The handle goes: leave the shared memory; the last one checkpoints and
   removes the log and the shared memory. */
void wal_detach(pager_group *g);
int wal_read_begin(pager_group *g, int *changed);
void wal_read_end(pager_group *g);
int wal_write_begin(pager_group *g, int *changed);
int wal_commit(pager_group *g);
int wal_rollback(pager_group *g);
/* pager_waltx.c: keep page pg of f as it was before the transaction
   changes it (called when it is first made dirty); forget them all; put
   them back (1: a page changed without its image); append the
   transaction's changes; free the buffers. */
int wal_keep_before(pager_group *g, pager_file *f, uint64_t pg);
void pw_forget_before(pager_group *g);
int pw_restore_before(pager_group *g);
int pw_append_txn(pager_group *g, wal_pos *pos);
void pw_free_txn(pager_group *g);
/* shared by pager_wal.c and pager_walrw.c */
int pw_try_lock(pager_group *g, int type, uint64_t byte);
int pw_sync_log(pager_group *g);
/* The log file of view v, opened (a restart made a new one); UDB_STALE
   when the file there is already a newer one. */
int pw_current_log(pager_group *g, const shm_view *v, wal_pos *start);
void pw_log_start(const wal_log *w, wal_pos *p);
void pw_set_backfill(pager_group *g, const wal_pos *p);
/* A new, empty log with sequence seq recording sizes (NULL: the files'
   own); *v becomes its start. */
int pw_new_log(pager_group *g, uint64_t seq, const uint64_t *sizes, shm_view *v);
/* After a commit: a checkpoint on the helper thread, or here. */
void pw_auto_checkpoint(pager_group *g);

#endif
