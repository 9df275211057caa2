/*
 * memfs.h — an in-memory file system behind a udb_os table, for the fuzz
 * targets (and any test that wants files without touching the disk).
 *
 * Files live in malloc'd buffers under absolute, normalised paths ("/d/t.ndx";
 * "." and ".." are resolved, a relative path is taken from "/"). Directories
 * exist only when made with memfs_mkdir ("/" always exists). Everything the
 * library calls is implemented: descriptors with POSIX unlink semantics,
 * byte-range locks per open description (like OFD locks: two handles in one
 * process exclude each other), a modification clock that ticks at every
 * change, and private copy-on-write maps emulated with anonymous memory: a
 * map of a file copies its bytes; a later change of the file (by any
 * descriptor) shows through every page of a map that still holds what the
 * file held (a page nobody wrote to), as a kernel's MAP_PRIVATE does; pages
 * wholly beyond the end of the file are PROT_NONE (where a kernel raises
 * SIGBUS). A file cannot grow beyond memfs_set_limit's bytes (ENOSPC /
 * EFBIG), since every byte is real memory.
 *
 * A guard, when set, sees every call that could change a file (an open for
 * writing or creating, write, truncate, unlink) before it happens and may
 * refuse it (the call fails with EACCES). Fault injection: the n-th of those
 * calls (fsync included) fails with an errno, and with crash set every later
 * one fails too (a process that died; what was written stays).
 */
#ifndef MEMFS_H
#define MEMFS_H

#include <stddef.h>
#include <stdint.h>
#include "udb.h"

typedef struct memfs memfs;

/* op: "open", "write", "truncate", "unlink"; path: the normalised path
   (a file unlinked while open: the path it was opened with). Non-zero
   refuses the call. */
typedef int (*memfs_guard_fn)(void *arg, const char *op, const char *path);

memfs *memfs_new(void);
/* Reset (see below) and release everything. */
void memfs_free(memfs *m);
const udb_os *memfs_os(memfs *m);

/* Remove every file and directory, close what is still open, unmap what is
   still mapped; guard, faults and limit are cleared, the clock and entropy
   restart. Returns the number of descriptors and maps that were still open
   (a leak of the code under test). */
unsigned memfs_reset(memfs *m);

int memfs_mkdir(memfs *m, const char *path);
/* Create or replace the file at path with len bytes of data (no guard). */
int memfs_put(memfs *m, const char *path, const void *data, size_t len);
/* The bytes of the file at path (valid until the next change), or NULL. */
const uint8_t *memfs_get(memfs *m, const char *path, size_t *len);

void memfs_set_guard(memfs *m, memfs_guard_fn fn, void *arg);
/* Largest file size in bytes (0 = the default, 64 MiB). */
void memfs_set_limit(memfs *m, uint64_t bytes);
/* The at-th changing call from now (1 = the next) fails with -err; with
   crash every later one fails with -EIO. at = 0 disarms (and ends a crash). */
void memfs_fail_at(memfs *m, long at, int err, int crash);
/* Changing calls counted since the last memfs_fail_at / reset. */
long memfs_changes(const memfs *m);
/* Grows whenever a file is created, written, truncated or unlinked
   (memfs_put included): the same value twice means no file changed in
   between. */
uint64_t memfs_generation(const memfs *m);

#endif
