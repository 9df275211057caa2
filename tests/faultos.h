/*
 * faultos.h — a udb_os table over the real one that counts the calls that
 * change files (write, fsync, truncate, unlink) and, at call number
 * fail_at, fails it (EIO or ENOSPC), or simulates a crash there: that call
 * (or, for a torn write, all but a prefix of it) and every later change
 * never reach the disk.
 */
#ifndef FAULTOS_H
#define FAULTOS_H

#include "udb.h"

enum { FAULT_NONE, FAULT_EIO, FAULT_ENOSPC, FAULT_CRASH, FAULT_TORN };

typedef struct fault_os {
    udb_os os;                  /* pass &f->os in udb_options.os */
    const udb_os *real;
    long calls;                 /* changing calls so far */
    uint64_t written;           /* bytes written by them */
    long syncs;                 /* syncs among them (counted, not performed) */
    long fail_at;               /* 0: never */
    int mode;
    int crashed;                /* after a crash nothing changes any more */
    uint64_t entropy;           /* deterministic salts */
} fault_os;

void fault_os_init(fault_os *f, int mode, long fail_at);

#endif
