/*
 * shm.h — the shared-memory file of WAL mode (P-shm), mapped by every handle
 * of every process on the files: the view readers take snapshots of, the
 * writers' tail, the durable and checkpointed ends, the reader slots and the
 * robust process-shared mutexes (writer, sync, checkpoint).
 * Part of the pager layer: no I/O of its own except the byte locks that
 * prove a slot's owner alive (through the udb_os table); knows nothing of
 * the log's format or of data files.
 */
#ifndef UDB_SHM_H
#define UDB_SHM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "udb.h"

#define SHM_SIZE 16384u
#define SHM_SLOTS 190u
#define SHM_SLOTS_OFF 4096u
#define SHM_FILES 2
/* byte k + SHM_SLOT_LOCK of the shm file: held by the owner of slot k */
#define SHM_SLOT_LOCK ((uint64_t)1 << 20)
/* held shared by every handle using the region, exclusively by the first
   (while it sets the region up) and by the last (while it removes it) */
#define SHM_DMS_LOCK (SHM_SLOT_LOCK - 1)
#define SHM_IDLE 0u

/* A published state of the log: what a snapshot sees. */
typedef struct shm_view {
    uint64_t gen, logseq, end, txn; /* logseq: which log file */
    uint64_t sizes[SHM_FILES];
    uint32_t crc;               /* chain value at end (writers append after it) */
} shm_view;

typedef struct shm_mutex {
    _Alignas(64) pthread_mutex_t mu;
} shm_mutex;

typedef struct shm_seqview {
    _Alignas(64) _Atomic uint64_t seq;
    _Atomic uint64_t gen, logseq, end, txn, crc;
    _Atomic uint64_t sizes[SHM_FILES];
} shm_seqview;

typedef struct shm_hdr {
    char magic[8];
    uint32_t version, psize;
    _Atomic uint32_t ready;     /* 1: initialised by the first handle */
    _Atomic uint32_t mode;      /* journal mode of the live handles */
    _Atomic uint64_t synced;    /* log bytes known durable */
    _Atomic uint64_t backfill;  /* log bytes copied into the data files */
    _Atomic uint64_t bf_txn, bf_crc; /* the log's txn and chain there (under ckpt) */
    _Atomic uint32_t broken;    /* a log sync failed: every writer fails */
    shm_mutex writer, sync, ckpt;
    shm_seqview view;           /* for readers: committed and durable */
    shm_seqview tail;           /* for writers: committed, maybe not durable */
    _Alignas(64) _Atomic uint32_t sync_seq; /* +1 whenever the sync mutex is
                                   released: the word committers wait on */
    _Atomic uint32_t sync_waiters; /* committers waiting on sync_seq */
    _Atomic uint64_t synced_txn, last_batch; /* the transaction id the last
                                   sync reached; how many it covered */
    _Atomic uint32_t append_seq; /* +1 at every commit appended to the log:
                                   the word a gathering sync leader waits on */
    _Atomic uint32_t gathering; /* leaders waiting on append_seq */
    _Atomic uint64_t base_gen, base_end; /* the log of gen base_gen starts
                                   where gen base_gen - 1 ended, at log offset
                                   base_end, every frame of it in the files
                                   (shm_set_base, shm_base) */
} shm_hdr;

typedef struct shm_slot {
    _Alignas(64) _Atomic uint64_t snap; /* SHM_IDLE, or shm_snap(gen, end) */
    _Atomic int64_t pid;        /* owner (diagnostics) */
    _Atomic uint32_t committing; /* 1: the owner's write transaction is on its
                                   way to the log (waits for or holds the
                                   writer mutex); group commit waits for it */
} shm_slot;

typedef struct shm {
    shm_hdr *h;
    shm_slot *slots;
    int fd;                     /* the shm file (byte locks) */
    int slot;                   /* this handle's slot, -1 none */
    const udb_os *os;
} shm;

/* Point s at the mapped region base (SHM_SIZE bytes, shared). */
void shm_attach(shm *s, void *base, int fd, const udb_os *os);
/* Format the region afresh (the caller is alone on the files). */
int shm_format(shm *s, unsigned psize, const shm_view *v);
/* Does the region hold a live, initialised header of this version? */
int shm_ready(const shm *s, unsigned psize);

/* The packed snapshot a slot holds: gen (16 bits, never 0) and end in pages. */
uint64_t shm_snap(uint64_t gen, uint64_t end, unsigned psize);

/* A consistent copy of a view: 0, or UDB_LOCKED when it stays half
   published (its publisher died in the middle: the caller repairs it under
   the publishers' mutex). */
int shm_read(const shm_seqview *sv, shm_view *v);
/* gen and end only (cheap check that nothing moved); same results */
int shm_read_ge(const shm_seqview *sv, uint64_t *gen, uint64_t *end);
void shm_publish(shm_seqview *sv, const shm_view *v);

/* A new log of gen starts where the log before ended, at end, every
   frame of it copied into the files (0, 0: not so). */
void shm_set_base(shm *s, uint64_t gen, uint64_t end);
/* Where the log of gen - 1 ended when the log of gen started: 1 and *end,
   or 0 when not known. */
int shm_base(const shm *s, uint64_t gen, uint64_t *end);

/* Take a free slot for this handle (byte lock proves it ours); UDB_LOCKED
   when all are taken by live handles. */
int shm_slot_claim(shm *s);
void shm_slot_release(shm *s);
/* The smallest end any active reader of gen needs (limit when none);
   0 when a reader of another gen is active. Clears slots of dead owners. */
uint64_t shm_min_reader(shm *s, uint64_t gen, uint64_t limit);

/* How many other handles' write transactions are on their way to the log
   (slot flag committing; a dead owner's flag goes with its slot). */
unsigned shm_committers(const shm *s);
void shm_committing(shm *s, int on);

/* Wait until *w no longer holds old (a wake from shm_wake_all, or at most
   timeout_us; may return early). Linux: a futex; elsewhere: a yield. */
void shm_wait(_Atomic uint32_t *w, uint32_t old, unsigned timeout_us);
void shm_wake_all(_Atomic uint32_t *w);

/* Robust process-shared mutex with a timeout: 0, or UDB_LOCKED after
   timeout_ms; *owner_died = 1 when the last owner died holding it. */
int shm_lock(shm_mutex *m, unsigned timeout_ms, int *owner_died);
/* The same without waiting: 0, or UDB_LOCKED while another holds it. */
int shm_trylock(shm_mutex *m, int *owner_died);
void shm_unlock(shm_mutex *m);

#endif
