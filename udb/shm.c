/*
 * shm.c — the shared-memory region of WAL mode: format, seqlocked views,
 * reader slots, robust mutexes. Owns the region's layout (doc/format.md,
 * "The shared-memory file"); must not do file I/O beyond the slot locks.
 *
 * Seqlock: a publisher makes seq odd, stores the fields, makes seq even
 * again; a reader retries until it saw the same even seq before and after.
 * Publishers of one view are serialised by a mutex (the caller's).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif
#include "shm.h"

static const char MAGIC[8] = {'u', 'd', 'b', 'S', 'H', 'M', 0, 1};
#define VERSION 1u

_Static_assert(sizeof(shm_hdr) <= SHM_SLOTS_OFF, "shm header too large");
_Static_assert(SHM_SLOTS_OFF + SHM_SLOTS * sizeof(shm_slot) <= SHM_SIZE, "shm slots too large");

void shm_attach(shm *s, void *base, int fd, const udb_os *os)
{
    s->h = base;
    s->slots = (shm_slot *)((char *)base + SHM_SLOTS_OFF);
    s->fd = fd;
    s->slot = -1;
    s->os = os;
}

static int mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a))
        return UDB_NOMEM;
    int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) ||
             pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) || pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc ? UDB_IO : 0;
}

int shm_format(shm *s, unsigned psize, const shm_view *v)
{
    shm_hdr *h = s->h;
    atomic_store(&h->ready, 0);
    memset((char *)h + sizeof h->magic, 0, SHM_SIZE - sizeof h->magic);
    memcpy(h->magic, MAGIC, 8);
    h->version = VERSION;
    h->psize = psize;
    int rc = mutex_init(&h->writer.mu);
    if (!rc)
        rc = mutex_init(&h->sync.mu);
    if (!rc)
        rc = mutex_init(&h->ckpt.mu);
    if (rc)
        return rc;
    atomic_store(&h->view.seq, 0);
    atomic_store(&h->tail.seq, 0);
    shm_publish(&h->view, v);
    shm_publish(&h->tail, v);
    atomic_store(&h->synced, v->end);
    atomic_store(&h->backfill, 0);
    atomic_store(&h->ready, 1);
    return 0;
}

int shm_ready(const shm *s, unsigned psize)
{
    const shm_hdr *h = s->h;
    return !memcmp(h->magic, MAGIC, 8) && h->version == VERSION && h->psize == psize &&
           atomic_load(&h->ready) == 1;
}

uint64_t shm_snap(uint64_t gen, uint64_t end, unsigned psize)
{
    uint64_t g = gen & 0xffff;
    return (g ? g : 1) << 48 | ((end / psize) & (((uint64_t)1 << 48) - 1));
}

/* ---- seqlocked views ------------------------------------------------------------ */
#define SPINS (1u << 22)

int shm_read(const shm_seqview *sv, shm_view *v)
{
    shm_seqview *w = (shm_seqview *)sv;
    for (unsigned spin = 0; spin < SPINS; spin++) {
        uint64_t s1 = atomic_load_explicit(&w->seq, memory_order_acquire);
        if (s1 & 1) {
            if ((spin & 1023) == 1023)
                sched_yield();
            continue;
        }
        v->gen = atomic_load_explicit(&w->gen, memory_order_relaxed);
        v->logseq = atomic_load_explicit(&w->logseq, memory_order_relaxed);
        v->end = atomic_load_explicit(&w->end, memory_order_relaxed);
        v->txn = atomic_load_explicit(&w->txn, memory_order_relaxed);
        v->crc = (uint32_t)atomic_load_explicit(&w->crc, memory_order_relaxed);
        for (int i = 0; i < SHM_FILES; i++)
            v->sizes[i] = atomic_load_explicit(&w->sizes[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&w->seq, memory_order_relaxed) == s1)
            return 0;
    }
    return UDB_LOCKED;
}

int shm_read_ge(const shm_seqview *sv, uint64_t *gen, uint64_t *end)
{
    shm_view v = {0};
    int rc = shm_read(sv, &v);
    *gen = v.gen;
    *end = v.end;
    return rc;
}

void shm_publish(shm_seqview *sv, const shm_view *v)
{
    uint64_t s = atomic_load_explicit(&sv->seq, memory_order_relaxed);
    atomic_store_explicit(&sv->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&sv->gen, v->gen, memory_order_relaxed);
    atomic_store_explicit(&sv->logseq, v->logseq, memory_order_relaxed);
    atomic_store_explicit(&sv->end, v->end, memory_order_relaxed);
    atomic_store_explicit(&sv->txn, v->txn, memory_order_relaxed);
    atomic_store_explicit(&sv->crc, v->crc, memory_order_relaxed);
    for (int i = 0; i < SHM_FILES; i++)
        atomic_store_explicit(&sv->sizes[i], v->sizes[i], memory_order_relaxed);
    atomic_store_explicit(&sv->seq, s + 2, memory_order_release);
}

/* ---- where the log started over ------------------------------------------------------ */
/* base_gen goes to 0 before base_end changes and gets its value after:
   a reader that sees the same base_gen before and after reading base_end
   has the pair of one shm_set_base. */
void shm_set_base(shm *s, uint64_t gen, uint64_t end)
{
    atomic_store(&s->h->base_gen, 0);
    atomic_store(&s->h->base_end, end);
    atomic_store(&s->h->base_gen, gen);
}

int shm_base(const shm *s, uint64_t gen, uint64_t *end)
{
    uint64_t g0 = atomic_load(&s->h->base_gen);
    *end = atomic_load(&s->h->base_end);
    return g0 && g0 == gen && atomic_load(&s->h->base_gen) == g0;
}

/* ---- reader slots ------------------------------------------------------------------ */
int shm_slot_claim(shm *s)
{
    if (s->slot >= 0)
        return 0;
    for (unsigned k = 0; k < SHM_SLOTS; k++) {
        if (s->os->lock(s->os->ctx, s->fd, 2, SHM_SLOT_LOCK + k, 1) != 0)
            continue; /* a live owner, or an error: try the next */
        atomic_store(&s->slots[k].snap, SHM_IDLE);
        atomic_store(&s->slots[k].committing, 0);
        atomic_store(&s->slots[k].pid, (int64_t)getpid());
        s->slot = (int)k;
        return 0;
    }
    return UDB_LOCKED;
}

void shm_slot_release(shm *s)
{
    if (s->slot < 0)
        return;
    atomic_store(&s->slots[s->slot].snap, SHM_IDLE);
    atomic_store(&s->slots[s->slot].committing, 0);
    s->os->lock(s->os->ctx, s->fd, 0, SHM_SLOT_LOCK + (uint64_t)s->slot, 1);
    s->slot = -1;
}

/* The owner of slot k is gone when its byte can be locked. */
static int slot_dead(shm *s, unsigned k)
{
    if ((int)k == s->slot)
        return 0;
    if (s->os->lock(s->os->ctx, s->fd, 2, SHM_SLOT_LOCK + k, 1) != 0)
        return 0;
    atomic_store(&s->slots[k].snap, SHM_IDLE);
    atomic_store(&s->slots[k].committing, 0);
    s->os->lock(s->os->ctx, s->fd, 0, SHM_SLOT_LOCK + k, 1);
    return 1;
}

unsigned shm_committers(const shm *s)
{
    unsigned n = 0;
    for (unsigned k = 0; k < SHM_SLOTS; k++)
        n += (int)k != s->slot && atomic_load_explicit(&s->slots[k].committing, memory_order_relaxed);
    return n;
}

void shm_committing(shm *s, int on)
{
    if (s->slot >= 0)
        atomic_store(&s->slots[s->slot].committing, (uint32_t)on);
}

uint64_t shm_min_reader(shm *s, uint64_t gen, uint64_t limit)
{
    unsigned psize = s->h->psize;
    uint64_t g = shm_snap(gen, 0, psize) >> 48;
    for (unsigned k = 0; k < SHM_SLOTS; k++) {
        uint64_t v = atomic_load(&s->slots[k].snap);
        if (v == SHM_IDLE)
            continue;
        uint64_t end = (v & (((uint64_t)1 << 48) - 1)) * psize;
        if ((v >> 48) == g && end >= limit)
            continue;
        if (slot_dead(s, k))
            continue;
        if ((v >> 48) != g)
            return 0;
        limit = end;
    }
    return limit;
}

/* ---- waiting for a word to change ---------------------------------------------------- */
void shm_wait(_Atomic uint32_t *w, uint32_t old, unsigned timeout_us)
{
#ifdef __linux__
    struct timespec ts = {(time_t)(timeout_us / 1000000), (long)(timeout_us % 1000000) * 1000L};
    if (atomic_load(w) == old) /* a shared futex: the word lives in a file mapping */
        syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, old, &ts, NULL, 0);
#else
    (void)timeout_us;
    if (atomic_load(w) == old)
        sched_yield();
#endif
}

void shm_wake_all(_Atomic uint32_t *w)
{
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
#else
    (void)w;
#endif
}

/* ---- robust mutexes ------------------------------------------------------------------- */
static int lock_result(shm_mutex *m, int rc, int *owner_died)
{
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&m->mu);
        *owner_died = 1;
        return 0;
    }
    if (rc == EBUSY || rc == ETIMEDOUT)
        return UDB_LOCKED;
    return rc ? UDB_IO : 0;
}

int shm_trylock(shm_mutex *m, int *owner_died)
{
    *owner_died = 0;
    return lock_result(m, pthread_mutex_trylock(&m->mu), owner_died);
}

int shm_lock(shm_mutex *m, unsigned timeout_ms, int *owner_died)
{
    *owner_died = 0;
    int rc = pthread_mutex_trylock(&m->mu);
    if (rc == EBUSY) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        rc = timeout_ms ? pthread_mutex_timedlock(&m->mu, &ts) : EBUSY;
    }
    return lock_result(m, rc, owner_died);
}

void shm_unlock(shm_mutex *m)
{
    pthread_mutex_unlock(&m->mu);
}
