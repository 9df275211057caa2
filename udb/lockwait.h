/*
 * lockwait.h — in-process wake-ups and a queue for byte-range lock waits
 * (rollback journal mode). Every handle of a process on one file (device,
 * inode) shares a generation counter that each of its lock releases bumps;
 * a thread waiting for a lock sleeps until the counter moves or its poll
 * step ends, so it wakes the moment another handle of its process lets go.
 * Writers of the process waiting for the writer lock line up in arrival
 * order and only the first in line tries it. Holders in other processes
 * are still noticed by polling (the step). After a fork the child starts
 * a table of its own; entries inherited from the parent are not used.
 * Part of the pager layer: no I/O, nothing of files beyond their identity.
 */
#ifndef UDB_LOCKWAIT_H
#define UDB_LOCKWAIT_H

#include <stdint.h>

typedef struct lockwait lockwait;

/* A place in the line of a process's writers (on the waiter's stack). */
typedef struct lockwait_turn {
    struct lockwait_turn *next;
} lockwait_turn;

/* The entry of (dev, ino), made on first use; NULL when out of memory. */
lockwait *lockwait_get(uint64_t dev, uint64_t ino);
void lockwait_put(lockwait *w);

/* w when it was made in this process (not inherited over fork), else NULL. */
lockwait *lockwait_live(lockwait *w);

/* The generation now: read it before trying a lock. */
uint32_t lockwait_gen(lockwait *w);

/* A lock on the file was released: wake this process's waiters. */
void lockwait_notify(lockwait *w);

/* Sleep until the generation differs from seen or us microseconds pass. */
void lockwait_wait(lockwait *w, uint32_t seen, unsigned us);

/* Join the end of the line (returns whether the line was empty); leave
   it (anywhere in it: a timeout) before the lock's holder is known. */
int lockwait_join(lockwait *w, lockwait_turn *t);
void lockwait_leave(lockwait *w, lockwait_turn *t);
/* Is t first in line? Is nobody in line? */
int lockwait_first(lockwait *w, const lockwait_turn *t);
int lockwait_idle(lockwait *w);

/* Sleep until t is first in line and, if it was first already, the
   generation differs from seen; or until us microseconds pass. */
void lockwait_wait_turn(lockwait *w, lockwait_turn *t, uint32_t seen, unsigned us);

/* Handle h of this process holds (or no longer holds) the writer lock:
   the first in line then waits for its release instead of polling. */
void lockwait_hold(lockwait *w, const void *h);
void lockwait_unhold(lockwait *w, const void *h);
int lockwait_held_here(lockwait *w);

/* Microseconds of CLOCK_MONOTONIC (the waits' own clock). */
uint64_t lockwait_now_us(void);

#endif
