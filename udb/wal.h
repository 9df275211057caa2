/*
 * wal.h — the write-ahead log file (P-wal): a header naming the files it
 * belongs to, then batches of page changes (byte runs over the page as it
 * was, or over zeros), each batch chained to the one before by crc32. Writing batches, validating the header, and the
 * recovery scan that keeps exactly the committed transactions.
 * Part of the pager layer: knows no data-file layout and nothing of the
 * shared memory or of locks; all I/O goes through the udb_os table.
 */
#ifndef UDB_WAL_H
#define UDB_WAL_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "udb.h"

#define WAL_MAX_FILES 2
#define WAL_NAME_MAX 200
/* no file of either layout comes near this; bounds page numbers and sizes */
#define WAL_MAX_FILE_SIZE ((uint64_t)1 << 52)

typedef struct wal_member {
    char name[WAL_NAME_MAX + 1]; /* base name, no directory */
    uint64_t size, dev, ino;     /* when the log was created */
    uint32_t crc0;               /* crc32 of its first page then (zero-padded) */
    const uint8_t *first;        /* wal_belongs' now[]: the first page as read (psize
                                    bytes, zeros past the end), or NULL; else unused */
} wal_member;

typedef struct wal_log {
    const udb_os *os;
    udb_err *err;
    int fd;
    char *path;
    unsigned psize, nfiles;
    uint64_t salt, logseq;
    uint32_t hcrc;               /* the header's crc32: the chain starts here */
    wal_member m[WAL_MAX_FILES];
    uint8_t *wbuf;               /* a batch on its way out */
    size_t wcap;
    const uint8_t *map;          /* read-only mapping of the log (wal_map) */
    uint64_t maplen, mapok;      /* mapped; known to lie inside the file */
    uint64_t alloc;              /* the file is known to be at least this long */
    int refused;                 /* wal_open: a symbolic link, not opened */
} wal_log;

/* A point in the log after a committed transaction (or the header). */
typedef struct wal_pos {
    uint64_t end;                /* byte offset of the next batch */
    uint64_t txn;                /* id of the last committed transaction */
    uint32_t crc;                /* chain value for the next batch */
    uint64_t sizes[WAL_MAX_FILES]; /* logical file sizes */
} wal_pos;

/* One page's change to append: the page's bytes from zfrom on start as
   zeros, then the runs in data[0..len) (wal_diff) go over it; crc is the
   crc32 of the whole page after the change. */
typedef struct wal_entry {
    unsigned file;
    uint64_t page;
    uint32_t crc, zfrom;
    const uint8_t *data;
    size_t len;                  /* at most psize + 16 */
} wal_entry;

/* Where a committed frame lies: the change of page page of file file,
   len bytes of runs at log offset off. */
typedef struct wal_frame {
    uint64_t page, off;
    unsigned file;
    uint32_t crc;                /* crc32 of the page after the change */
    uint32_t zfrom, len;
} wal_frame;

/* The most entries one batch holds for a page size. */
unsigned wal_batch_max(unsigned psize);
/* The change data a writer puts into one batch (one more page's may go
   over it). */
#define WAL_BATCH_DATA ((size_t)1 << 20)
/* Small commits grow the log by zeros up to a multiple of this (wal_append). */
#define WAL_GROW ((uint64_t)1 << 20)

/* The runs that turn page `before` (NULL: zeros) into `after` over bytes
   [from, to), written to out (room for to - from + 8 bytes); returns their
   length (0: no difference). */
size_t wal_diff(uint8_t *out, const uint8_t *before, const uint8_t *after, unsigned from, unsigned to);
/* Apply a frame's change to page (psize bytes): zeros from zfrom, then the
   runs. UDB_CORRUPT (no message) when a run leaves the page or the data. */
int wal_apply(uint8_t *page, unsigned psize, uint32_t zfrom, const uint8_t *data, size_t len);

/* Create the log at path (it must not exist) for members m[0..nfiles),
   sync it; *start is the position after the header (txn 0, sizes of m). */
int wal_create(wal_log *w, const udb_os *os, udb_err *err, const char *path, unsigned psize,
               unsigned nfiles, const wal_member *m, uint64_t salt, uint64_t logseq, wal_pos *start);
/* Start the open log over in place: a new header (salt, sequence, members)
   at offset 0; every batch after it now belongs to the old salt and is
   ignored. The file keeps its length (other handles may map it; the last
   handle removes it). */
int wal_reset(wal_log *w, const wal_member *m, uint64_t salt, uint64_t logseq, wal_pos *start);
/* Open an existing log and validate its header: UDB_NOTFOUND when there is
   no log, UDB_CORRUPT (message says why) when the header is not valid. */
int wal_open(wal_log *w, const udb_os *os, udb_err *err, const char *path, int writable,
             wal_pos *start);
void wal_close(wal_log *w);
/* Map the log for reading up to need bytes (a system call only when the
   mapping has to grow); UDB_CORRUPT when the file is shorter. Reads below
   mapok then cost no system call. */
int wal_map(wal_log *w, uint64_t need);
/* The len bytes at off of the log, in the mapping (mapped further when
   needed); NULL (error set) when the file is shorter or cannot be mapped. */
const uint8_t *wal_data(wal_log *w, uint64_t off, size_t len);
/* Copy len bytes at off of the log into dst, read from the file (not
   through the mapping: a checkpoint copying a large log does not make it
   resident in the process). UDB_CORRUPT when the file is shorter. */
int wal_read(wal_log *w, void *dst, size_t len, uint64_t off);

/* Append one batch of n (1..wal_batch_max) entries, their data together at
   most WAL_BATCH_DATA plus one page's, at pos->end for transaction txn;
   the commit batch (commit = 1) records sizes[] and moves *pos past the
   transaction (txn becomes pos->txn). Without commit only pos->end and
   pos->crc move. One write call; a small commit batch that reaches past
   the file's end also writes zeros up to the next WAL_GROW boundary, so
   that the next commits overwrite blocks the file already has (their
   data sync then needs no size change). */
int wal_append(wal_log *w, wal_pos *pos, uint64_t txn, int commit, const uint64_t *sizes,
               const wal_entry *e, unsigned n);

/* Read the transactions committed after *from: each frame of each, in log
   order, goes to fn (if not NULL) once its commit batch is validated;
   *to is the end of the last valid committed transaction. Stops quietly at
   the first batch that is torn, corrupt, out of sequence or from another
   log, and before any transaction that would end beyond upto (0: no
   limit); verify = 0 skips the batches' crcs (frames published by live
   handles: only their structure is checked). While fn sees a
   transaction's frames, to->sizes already holds that transaction's file
   sizes (to->end and to->txn still the previous one's). */
typedef int (*wal_frame_fn)(void *arg, const wal_frame *fr);
int wal_scan(wal_log *w, const wal_pos *from, uint64_t upto, wal_pos *to, int verify,
             wal_frame_fn fn, void *arg);

/* Does the log belong to these members (same count and base names, and
   per file the same inode, or a first page (now[i].crc0) that the log
   knows: as it was when the log was created or as a committed frame of
   page 0 has it)? With now[i].first, the page also counts when its bytes
   up to the file's size then (the log's start, or the frame's commit)
   match: a checkpoint or recovery that stopped (a crash) between copying
   a last page and cutting the file to its size leaves the old bytes
   beyond. 0 yes, else UDB_CORRUPT with the reason. */
int wal_belongs(wal_log *w, unsigned nfiles, const wal_member *now, const wal_pos *start);
/* crc32 of a file's first page as wal_member.crc0 wants it. */
uint32_t wal_page0_crc(const uint8_t *p, size_t len, unsigned psize);

#endif
