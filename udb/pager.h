/*
 * pager.h — ALL file I/O of udb: mapping, dirty tracking, transactions with a
 * rollback journal, sync policy, file locks, change detection.
 *
 * Owns: how bytes reach and leave files. Each file is mapped privately
 * (copy-on-write) into a reserved address range, so every structure is
 * contiguous in memory and a cached read makes no system call. A write marks
 * the touched pages dirty; the first time a page that existed at transaction
 * start is dirtied, its original image goes to the journal. Commit writes the
 * journal, syncs it, writes the dirty pages, syncs the files, then marks the
 * journal clean. Must not know about B-trees, heaps or any file layout.
 *
 * Pointers returned by pager_get/pager_put stay valid until the group leaves
 * the current operation (pager_op_end, commit, rollback or a refresh).
 */
#ifndef UDB_PAGER_H
#define UDB_PAGER_H

#include <stdint.h>
#include "err.h"
#include "udb.h"

#define PAGER_MAX_FILES 2
#define PAGER_CHG_MAX 64       /* pages a change record names before it says "all" */

typedef struct pager_group pager_group;

typedef struct pager_file {
    /* read by the inline helpers below; private otherwise */
    uint8_t *base;          /* start of the mapping */
    uint64_t size;          /* logical size in the current transaction */
    unsigned pshift;        /* log2 of the page size */
    uint64_t *dirty;        /* bitmap: page changed in this transaction */
    pager_group *g;
    int idx;                /* member number within the group */
    int fd;
    char *path;
    size_t resv;            /* reserved address space */
    uint64_t file_mapped;   /* [0, file_mapped) maps the file */
    uint64_t anon_end;      /* [file_mapped, anon_end) is anonymous memory */
    uint64_t zero_from;     /* the mapping reads as zeros from here on */
    uint64_t disk_size;     /* bytes of the file on disk */
    uint64_t orig_size;     /* size at transaction start */
    int64_t mtime;          /* last seen modification time */
    uint64_t *journaled;    /* bitmap: original image is in the journal */
    uint64_t jr_lo, jr_hi;  /* page range that may hold journaled bits */
    size_t bit_words;       /* words allocated in each bitmap */
    uint64_t dirty_lo, dirty_hi; /* page range that may hold dirty bits */
    /* pages whose private copies stay (pager_txn.c): written to the file
       by a spill of this transaction or by the last small commit, equal to
       it, changed again at no cost */
    uint64_t *kept;
    uint64_t kept_pages, kept_lo, kept_hi;
    /* write-behind (pager_txn.c): pages [file_mapped-at-start, wb_end) were
       written early in this transaction; wb_pages of them, wb_again were
       changed after that */
    uint64_t wb_end, wb_pages, wb_again;
    int hold;               /* no write-behind (pager_hold) */
    unsigned locks;         /* held lock bits */
    /* pages other handles' commits changed under this mapping since the
       last pager_changes (pager.c): chg_all when not known which */
    uint64_t chg[PAGER_CHG_MAX];
    unsigned chg_n;
    int chg_all;
} pager_file;

enum { PAGER_OPEN = 0, PAGER_CREATE = 1 };
enum { PAGER_NONE = 0, PAGER_READ = 1, PAGER_WRITE = 2 };

/* A group: the files one handle commits together (one journal). err is the
   handle's error record; opts may be NULL. */
int pager_group_open(const udb_options *opts, udb_err *err, pager_group **out);
/* Rolls back an open transaction, unmaps and closes every file. */
void pager_group_close(pager_group *g);
int pager_file_open(pager_group *g, const char *path, int mode, pager_file **out);
/* Before path opens into an empty group: when path is NAME.dat and the
   write-ahead log NAME.ndx-wal of a record store exists (the store in WAL
   mode, or a log a crash left), or the handle asks for WAL mode, NAME.ndx
   (if it exists) opens first, as member 0, so that the handle shares the
   store's locks and log and reads what the store committed (a log of the
   heap alone, NAME.dat-wal, would be one the store never reads).
   Otherwise nothing: in rollback mode a heap handle keeps its own journal
   (NAME.dat-journal) and honours the store's. (pager_wal.c) */
int pager_join_store_log(pager_group *g, const char *path);
/* A group of X.ndx alone: X.dat joins as member 1 when it exists (and,
   with only_with, when X<only_with> exists too). WAL mode joins it always
   (one log for the pair); udb_journal_hot / udb_recover join it while
   X.dat-journal (a raw heap writer's) exists, so that a store's
   interrupted heap write is seen and rolled back through its index file,
   as the store's own open does. (pager.c) */
int pager_join_dat(pager_group *g, const char *only_with);
/* Member 0 is X.ndx and X.dat has a write-ahead log of its own
   (X.dat-wal, a heap handle's alone): X.dat's path (malloc'd), for
   udb_recover to recover it too; NULL otherwise. (pager.c) */
char *pager_heap_log(pager_group *g);
int pager_readonly(const pager_group *g);
int pager_state(const pager_group *g);
const udb_os *pager_os(const pager_group *g);

/* The pages of f that changed under this handle since the last call (the
   commits of other handles it read in, a remapping, a rollback of the
   files): 1 when it is not known which, every page then counts as changed;
   0 with the *n pages (not sorted, maybe repeated) in *pages, valid until
   the next transaction begins. The record starts over. (pager.c) */
int pager_changes(pager_file *f, const uint64_t **pages, size_t *n);

/* ---- transactions ---------------------------------------------------------- */
/* Read transaction: shared locks, hot-journal check and change detection.
   *changed = 1 when the files changed since this group last looked (the
   caller must reload anything it decoded from them). */
int pager_read_begin(pager_group *g, int *changed);
void pager_read_end(pager_group *g);
/* Write transaction: the writer lock, then as a read transaction. */
int pager_write_begin(pager_group *g, int *changed);
int pager_commit(pager_group *g);
/* Mark the transaction failed half-way: only rollback is allowed now. */
void pager_poison(pager_group *g);
/* Was the open write transaction poisoned (only a rollback may follow)? */
int pager_poisoned(const pager_group *g);
/* Discard every change of the transaction, in memory and on disk. */
int pager_rollback(pager_group *g);
/* Between operations: spill dirty pages to the files when the transaction
   holds more than the dirty limit. */
int pager_op_end(pager_group *g);
/* Roll back a hot journal now (dbe recover). *found = 1 if there was one. */
int pager_recover(pager_group *g, int *found);
/* *hot = 1 if a hot journal covers a file of the group (without touching
   it); an error if the journal cannot be read or belongs to another file. */
int pager_hot_journal(pager_group *g, int *hot);

/* ---- access ----------------------------------------------------------------------- */
const uint8_t *pager_oob(pager_file *f, uint64_t pos, size_t len);
uint8_t *pager_put_slow(pager_file *f, uint64_t pos, size_t len);

/* Bytes [pos, pos+len) for reading, or NULL (error set) when outside the file. */
static inline const uint8_t *pager_get(pager_file *f, uint64_t pos, size_t len)
{
    if (pos > f->size || len > f->size - pos)
        return pager_oob(f, pos, len);
    return f->base + pos;
}

/* The same without an error: for hints (prefetching), never for data. */
static inline const uint8_t *pager_peek(const pager_file *f, uint64_t pos, size_t len)
{
    return pos > f->size || len > f->size - pos ? NULL : f->base + pos;
}

/* Bytes [pos, pos+len) for writing (inside a write transaction), or NULL. */
static inline uint8_t *pager_put(pager_file *f, uint64_t pos, size_t len)
{
    if (pos <= f->size && len <= f->size - pos && len) {
        uint64_t p0 = pos >> f->pshift, p1 = (pos + len - 1) >> f->pshift;
        if (p1 - p0 <= 1 && (f->dirty[p0 >> 6] >> (p0 & 63) & 1) &&
            (f->dirty[p1 >> 6] >> (p1 & 63) & 1)) /* a node straddles two pages */
            return f->base + pos;
    }
    return pager_put_slow(f, pos, len);
}

static inline uint64_t pager_size(const pager_file *f) { return f->size; }
/* The bytes of changed pages a transaction keeps before it spills. */
size_t pager_dirty_limit(const pager_file *f);
/* The first range [*start, *end) at or after off, within the file, that may
   hold bytes other than zeros: the holes of a sparse file are skipped while
   the handle shows the file as it is on disk (else, or when the system
   cannot tell, the rest of the file). 0, or 1 when nothing follows. */
int pager_next_data(pager_file *f, uint64_t off, uint64_t *start, uint64_t *end);
/* The size at the start of the transaction (what is committed). */
static inline uint64_t pager_committed_size(const pager_file *f) { return f->orig_size; }

/* Between operations: make sure every file can grow by headroom bytes
   (at least half its size) without moving its mapping. */
int pager_prepare(pager_group *g, uint64_t headroom);
#define PAGER_OP_HEADROOM ((uint64_t)256 << 20)

/* Grow the logical size to newsize (new bytes read as zero) and return the
   old size in *at. Growth is limited per operation by the reservation. */
int pager_extend(pager_file *f, uint64_t newsize, uint64_t *at);
/* Replace bytes [pos, pos+len) that this transaction appended (pos at or
   past the committed size) with what fill produces, front to back (fill
   may read the old bytes through pager_get until it has produced them
   all). Rollback mode, when every page there has its own copy in memory:
   the whole pages go straight to the file through a small buffer, as
   write-behind does (the writer lock is tried, never waited for); else
   they are built in scratch memory first. Returns fill's error or the
   pager's; the transaction is poisoned when something was written. */
typedef int (*pager_fill_fn)(void *arg, uint8_t *buf, size_t n);
/* 1 when pager_rewrite of those bytes goes straight to the file or needs
   at most the dirty limit of scratch memory. */
int pager_rewritable(const pager_file *f, uint64_t pos, uint64_t len);
int pager_rewrite(pager_file *f, uint64_t pos, uint64_t len, pager_fill_fn fill, void *arg);
/* Keep the pages f appends in memory until commit (no write-behind; a
   spill writes them and keeps the copies), while they are at most twice
   the dirty limit: for a caller that will rewrite them (pager_rewrite). */
static inline void pager_hold(pager_file *f, int on) { f->hold = on; }
/* Shrink the logical size; the file is truncated at commit. */
int pager_truncate(pager_file *f, uint64_t newsize);

/* WAL mode: copy what the log holds into the files as far as the readers
   allow (wait: for another checkpoint, up to the lock timeout). Nothing to
   do in rollback mode. */
int pager_checkpoint(pager_group *g, int wait);
/* The journal mode settled on (UDB_JOURNAL_ROLLBACK or WAL); 0 before the
   first transaction. */
int pager_journal_mode(const pager_group *g);

/* Copy the members files[0..n) of the group, as the open transaction sees
   them, into the new files dst[0..n) (never overwritten: UDB_EXISTS),
   synced unless UDB_SYNC_OFF. Only those: a group may hold a file its
   handle does not own (an index file opened alone in WAL mode takes its
   store's heap in). On failure the files it created are removed.
   (pager_copy.c) */
int pager_copy(pager_group *g, pager_file *const *files, const char *const *dst, int n);

/* Statistics of a group. */
typedef struct pager_stats {
    uint64_t commits, pages_written, journal_pages, spills;
} pager_stats;
void pager_get_stats(const pager_group *g, pager_stats *out);

#endif
