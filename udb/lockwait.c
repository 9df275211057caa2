/*
 * lockwait.c — in-process wake-ups for byte-range lock waits (lockwait.h):
 * a table of (device, inode) entries, each a generation counter and a line
 * of waiting writers with a mutex and condition variable, shared by every
 * handle of the process on that file. Owns nothing else; must not do I/O
 * or know about pages, journals or layouts.
 *
 * A release costs one atomic increment and one load while nobody waits:
 * the waiter counts itself before it reads the generation, the releaser
 * bumps the generation before it reads the count (both sequentially
 * consistent), so one of them always sees the other and no wake-up is lost.
 */
#include "lockwait.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct lockwait {
    lockwait *next;
    uint64_t dev, ino;
    unsigned refs, epoch;
    lockwait_turn *head, *tail; /* the line, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint32_t gen;
    _Atomic uint32_t waiters;
    _Atomic(const void *) holder; /* the handle of this process with the writer lock */
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static lockwait *table;
static lockwait *inherited; /* a fork child's entries of its parents: kept, not used */
static unsigned epoch; /* forks seen: a child sets the parent's table aside */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fork_prepare(void) { pthread_mutex_lock(&table_mu); }
static void fork_parent(void) { pthread_mutex_unlock(&table_mu); }
static void fork_child(void)
{
    if (table) { /* its entries' mutexes may be held by threads that are gone */
        lockwait *last = table;
        while (last->next)
            last = last->next;
        last->next = inherited;
        inherited = table;
        table = NULL;
    }
    epoch++;
    pthread_mutex_unlock(&table_mu);
}
static void at_fork(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }

static lockwait *entry_new(uint64_t dev, uint64_t ino)
{
    lockwait *w = calloc(1, sizeof *w);
    pthread_condattr_t a;
    if (!w || pthread_condattr_init(&a)) {
        free(w);
        return NULL;
    }
    int bad = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) || pthread_cond_init(&w->cv, &a);
    pthread_condattr_destroy(&a);
    if (bad || pthread_mutex_init(&w->mu, NULL)) {
        if (!bad)
            pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    w->dev = dev;
    w->ino = ino;
    w->epoch = epoch;
    return w;
}

lockwait *lockwait_get(uint64_t dev, uint64_t ino)
{
    pthread_once(&once, at_fork);
    pthread_mutex_lock(&table_mu);
    lockwait *w = table;
    while (w && (w->dev != dev || w->ino != ino))
        w = w->next;
    if (!w && (w = entry_new(dev, ino))) {
        w->next = table;
        table = w;
    }
    if (w)
        w->refs++;
    pthread_mutex_unlock(&table_mu);
    return w;
}

lockwait *lockwait_live(lockwait *w) { return w && w->epoch == epoch ? w : NULL; }

void lockwait_put(lockwait *w)
{
    if (!lockwait_live(w))
        return; /* the parent's: left alone */
    pthread_mutex_lock(&table_mu);
    if (--w->refs == 0) {
        lockwait **p = &table;
        while (*p != w)
            p = &(*p)->next;
        *p = w->next;
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
    }
    pthread_mutex_unlock(&table_mu);
}

uint32_t lockwait_gen(lockwait *w) { return atomic_load(&w->gen); }

void lockwait_notify(lockwait *w)
{
    atomic_fetch_add(&w->gen, 1);
    if (atomic_load(&w->waiters)) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

uint64_t lockwait_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void lockwait_wait(lockwait *w, uint32_t seen, unsigned us) { lockwait_wait_turn(w, NULL, seen, us); }

int lockwait_join(lockwait *w, lockwait_turn *t)
{
    pthread_mutex_lock(&w->mu);
    int empty = !w->head;
    t->next = NULL;
    if (w->tail)
        w->tail->next = t;
    else
        w->head = t;
    w->tail = t;
    pthread_mutex_unlock(&w->mu);
    return empty;
}

static int head_is(lockwait *w, const lockwait_turn *t)
{
    pthread_mutex_lock(&w->mu);
    int r = w->head == t;
    pthread_mutex_unlock(&w->mu);
    return r;
}

int lockwait_first(lockwait *w, const lockwait_turn *t) { return head_is(w, t); }
int lockwait_idle(lockwait *w) { return head_is(w, NULL); }

void lockwait_leave(lockwait *w, lockwait_turn *t)
{
    pthread_mutex_lock(&w->mu);
    lockwait_turn **p = &w->head, *prev = NULL;
    while (*p && *p != t)
        prev = *p, p = &(*p)->next;
    if (*p) {
        int first = t == w->head;
        *p = t->next;
        if (w->tail == t)
            w->tail = prev;
        if (first) /* the next in line tries now */
            pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

/* t NULL: until the generation moves (lockwait_wait). */
void lockwait_wait_turn(lockwait *w, lockwait_turn *t, uint32_t seen, unsigned us)
{
    uint64_t end = lockwait_now_us() + us;
    struct timespec ts = {(time_t)(end / 1000000u), (long)(end % 1000000u) * 1000L};
    atomic_fetch_add(&w->waiters, 1);
    pthread_mutex_lock(&w->mu);
    int was_first = !t || w->head == t;
    while ((t && w->head != t) || (was_first && atomic_load(&w->gen) == seen))
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&w->mu);
    atomic_fetch_sub(&w->waiters, 1);
}

void lockwait_hold(lockwait *w, const void *h) { atomic_store(&w->holder, h); }

void lockwait_unhold(lockwait *w, const void *h)
{
    const void *expect = h;
    atomic_compare_exchange_strong(&w->holder, &expect, NULL);
}

int lockwait_held_here(lockwait *w) { return atomic_load(&w->holder) != NULL; }
