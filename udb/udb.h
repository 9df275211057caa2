/*
 * udb.h — the public API of udb: key -> position -> record storage that reads
 * and writes the files of the EMDX (classic, 32-bit positions) and UDB
 * (wide, 64-bit positions) libraries.
 *
 * Conventions: opaque handles; functions return 0 (UDB_OK) or a negative
 * UDB_* code; out-parameters come last; udb_errmsg() gives the detail of the
 * last failure on a handle. The library keeps no global state, never prints,
 * never exits. Handles are safe to share between threads.
 */
#ifndef UDB_H
#define UDB_H

#include <stddef.h>
#include <stdint.h>

/* What the shared library exports: it is built with -fvisibility=hidden,
   and every function declared here and in mdx.h is marked UDB_API. */
#ifndef UDB_API
#if defined(__GNUC__) || defined(__clang__)
#define UDB_API __attribute__((visibility("default")))
#else
#define UDB_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define UDB_VERSION "0.1.0"

/* ---- return codes ------------------------------------------------------ */
enum {
    UDB_OK = 0,
    UDB_NOTFOUND = -1,  /* key absent, or cursor cannot move further      */
    UDB_EXISTS = -2,    /* UNIQUE index already holds the key              */
    UDB_CORRUPT = -3,   /* file structure damaged (message names offset)   */
    UDB_IO = -4,        /* operating system I/O error                      */
    UDB_INVAL = -5,     /* bad argument or definition                      */
    UDB_LOCKED = -6,    /* another handle holds a conflicting lock         */
    UDB_NOMEM = -7,     /* out of memory                                   */
    UDB_READONLY = -8,  /* write on a read-only handle                     */
    UDB_RANGE = -9,     /* value does not fit the layout (32-bit classic)  */
    UDB_STALE = -10,    /* cursor invalidated by a change elsewhere        */
    UDB_RECOVER = -11,  /* hot journal pending and the handle cannot roll
                           it back (read-only): run `dbe recover`          */
    UDB_ABORTED = -12,  /* an earlier failure poisoned the transaction:
                           roll it back                                    */
    UDB_FORMAT = -13,   /* not a file of either layout / unsupported shape */
};

/* A sentence saying what a code means ("not found: no record with that
   key, ..."); udb_errmsg() gives the detail of a failure. Never NULL. */
UDB_API const char *udb_strerror(int code);
/* The code's name ("UDB_NOTFOUND", ...; "UDB_UNKNOWN" for other values).
   Never NULL. */
UDB_API const char *udb_errname(int code);

/* ---- layouts, key types, attributes ------------------------------------ */
enum { UDB_LAYOUT_AUTO = 0, UDB_LAYOUT_CLASSIC = 1, UDB_LAYOUT_WIDE = 2 };

enum {
    UDB_KEY_VOID = 0,   /* index not initialised */
    UDB_KEY_BLOCK = 1,      /* bytes, memcmp order                       */
    UDB_KEY_NUM_BLOCK = 2,  /* unsigned little-endian number of keysize bytes */
    UDB_KEY_INTEGER = 3,    /* int16 little-endian (first 2 bytes)       */
    UDB_KEY_LONG_INT = 4,   /* int32 little-endian (first 4 bytes)       */
    UDB_KEY_STRING = 5,     /* NUL-terminated, strcmp order (unsigned)   */
    UDB_KEY_LOGICAL = 6,    /* byte 0: zero = false < non-zero = true    */
    UDB_KEY_CHARACTER = 7,  /* byte 0: signed (classic) / unsigned (wide)*/
};

enum { UDB_UNIQUE = 1, UDB_ALLOW_DELETE = 2 };

enum { UDB_SYNC_FULL = 0, UDB_SYNC_NORMAL = 1, UDB_SYNC_OFF = 2 };

/* journal modes (udb_options.journal; doc/api.md "Journal modes") */
enum { UDB_JOURNAL_DEFAULT = 0, UDB_JOURNAL_ROLLBACK = 1, UDB_JOURNAL_WAL = 2 };
#define UDB_JOURNAL_WAL UDB_JOURNAL_WAL /* for #ifdef: this udb has WAL mode */

/* open flags */
enum {
    UDB_RDONLY = 1,       /* never write; no journal rollback            */
    UDB_EXCLUSIVE = 2,    /* take the locks once for the handle's life   */
    UDB_RAW = 4,          /* udb_ndx_* / udb_heap_*: allow a writable open
                             of a record store's own file (see
                             udb_store_owner); raw access that can break
                             the store                                   */
};

/* ---- operating-system table (for fault injection) ---------------------- */
/* Every function returns 0 or a negative errno value. */
typedef struct udb_os {
    void *ctx;
    int (*open)(void *ctx, const char *path, int flags, int *fd);
    int (*close)(void *ctx, int fd);
    int (*pread)(void *ctx, int fd, void *buf, size_t n, uint64_t off, size_t *got);
    int (*pwrite)(void *ctx, int fd, const void *buf, size_t n, uint64_t off);
    int (*fsync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, uint64_t size);
    /* size and modification time (ns) of a regular file */
    int (*fstat)(void *ctx, int fd, uint64_t *size, int64_t *mtime_ns);
    /* non-blocking byte-range lock; type: 0 unlock, 1 shared, 2 exclusive,
       3 test only: would an exclusive lock be granted (nothing is taken;
       works on read-only descriptors); returns -EAGAIN when another
       holder conflicts */
    int (*lock)(void *ctx, int fd, int type, uint64_t start, uint64_t len);
    int (*unlink)(void *ctx, const char *path);
    /* map len bytes at addr (MAP_FIXED when addr != NULL): fd >= 0 maps the
       file privately (copy-on-write) from offset off, fd < 0 maps zeroed
       anonymous memory; prot: 0 none, 1 read, 3 read+write */
    int (*map)(void *ctx, void *addr, size_t len, int prot, int fd, uint64_t off,
               void **out);
    int (*unmap)(void *ctx, void *addr, size_t len);
    unsigned (*page_size)(void *ctx);
    void (*sleep_ms)(void *ctx, unsigned ms);
    uint64_t (*entropy)(void *ctx);
    /* may be NULL: start writing [off, off+len) of the file to disk now
       (a hint; durability still comes from fsync) */
    void (*writeback)(void *ctx, int fd, uint64_t off, uint64_t len);
    /* may be NULL: device and inode number of the file (tells a file from
       a copy of it) */
    int (*file_id)(void *ctx, int fd, uint64_t *dev, uint64_t *ino);
    /* may be NULL (fsync is used): make the file's data durable, and its
       size, but not its times (fdatasync) */
    int (*datasync)(void *ctx, int fd);
    /* may be NULL (every byte may be data): the first range [*start, *end)
       at or after off that may hold data, the holes of a sparse file
       skipped (-ENXIO when none follows); scans that look for non-zero
       blocks (repair) use it */
    int (*next_data)(void *ctx, int fd, uint64_t off, uint64_t *start, uint64_t *end);
} udb_os;

/* map(): prot | UDB_MAP_SHARED maps the file shared (stores reach the
   file and every process mapping it), not copy-on-write */
enum { UDB_MAP_SHARED = 8 };

/* open() flags for udb_os.open; NOFOLLOW: fail (-ELOOP) when the last part
   of path is a symbolic link, and never block opening it (a FIFO) */
enum { UDB_OS_READ = 0, UDB_OS_RDWR = 1, UDB_OS_CREATE = 2, UDB_OS_EXCL = 4, UDB_OS_NOFOLLOW = 8 };
/* SOLE: fail (-EMLINK) when the file has other names (hard links): a
   journal, log or shared-memory file planted as a hard link to another
   file would have udb write into that file */
enum { UDB_OS_SOLE = 16 };

/* The POSIX implementation (a constant table). */
UDB_API const udb_os *udb_os_posix(void);

/* ---- options ------------------------------------------------------------ */
/* Progress of a long call (udb_repair, udb_convert, udb_ndx_check,
   udb_store_check, udb_store_compact): phase names the step ("check",
   "repair scan", ...), total is 0 when not known in advance. Called when a
   phase starts, every 4096 items (records, blocks; 1 MiB of a byte scan)
   and when it ends. It runs inside the call, with the handle locked: it
   must not call udb. It never changes what the call does. */
typedef void (*udb_progress_fn)(void *arg, const char *phase, uint64_t done, uint64_t total);

typedef struct udb_options {
    int layout;             /* UDB_LAYOUT_*: AUTO detects on open; create
                               defaults to WIDE                            */
    int flags;              /* UDB_RDONLY | UDB_EXCLUSIVE | UDB_RAW        */
    int sync;               /* UDB_SYNC_FULL (default) / NORMAL / OFF      */
    size_t dirty_limit;     /* bytes of uncommitted pages kept in memory
                               before they spill to the file (0 = 512 MiB) */
    unsigned lock_timeout_ms; /* wait this long for locks; 0 = fail at once;
                                 udb_options_init (and NULL options) give
                                 5000 ms                                   */
    const udb_os *os;       /* NULL = udb_os_posix()                       */
    int journal;            /* UDB_JOURNAL_DEFAULT / ROLLBACK / WAL        */
    size_t wal_autocheckpoint; /* WAL mode: checkpoint when the log holds
                               this many bytes not yet in the files
                               (0 = 4 MiB)                                 */
    udb_progress_fn progress; /* NULL = no progress reports              */
    void *progress_arg;     /* passed to progress                          */
    int place_index;        /* record stores: a transaction that appends a
                               large stretch of records lays it out at
                               commit in key order of index place_index + 1
                               (0 = index 1); UDB_PLACE_OFF keeps arrival
                               order                                       */
} udb_options;

#define UDB_PLACE_OFF (-1)

UDB_API void udb_options_init(udb_options *o);

/* ---- MultiIndex files (.ndx) -------------------------------------------- */
typedef struct udb_ndx udb_ndx;
typedef struct udb_cursor udb_cursor;

typedef struct udb_index_def {
    int keytype;            /* UDB_KEY_*                                   */
    unsigned keysize;       /* bytes per key                               */
    unsigned attrs;         /* UDB_UNIQUE | UDB_ALLOW_DELETE               */
    unsigned maxitems;      /* item slots per node (>= 3; 0 = a 4 KiB node) */
    int64_t create_nodes;   /* nodes appended per growth batch (0 = 16)    */
    int64_t create_leaves;  /* leaves appended per growth batch (0 = 64)   */
} udb_index_def;

typedef struct udb_index_info {
    udb_index_def def;
    unsigned levels;        /* node levels (1 = root is a bottom node)     */
    int64_t root, first_leaf, last_leaf, free_node, free_leaf;
    size_t node_size, leaf_size;
    int initialised;        /* keytype != VOID and a tree is recorded      */
    int sentinel_is_max;    /* stored EOF key is the true maximum          */
} udb_index_info;

/* Open an existing file. opts may be NULL (defaults, layout detected).
   The index file of a record store (NAME.ndx beside a NAME.dat that is a
   store's heap) opens only read-only (UDB_RDONLY) or with UDB_RAW: a
   writable open fails with UDB_READONLY and changes nothing (index-level
   writes would break the store; change it through udb_store_*). */
UDB_API int udb_ndx_open(const char *path, const udb_options *opts, udb_ndx **out);
/* Create a new file holding num_indexes (>= 1) undefined indexes; fails
   with UDB_EXISTS if path exists. opts->layout picks the layout (default
   wide). Refused like a writable open for NAME.ndx beside a store's
   NAME.dat (udb_store_repair rebuilds a store's lost index file). */
UDB_API int udb_ndx_create(const char *path, const udb_options *opts,
                           unsigned num_indexes, udb_ndx **out);
/* Rolls back a transaction begun explicitly and not committed; every commit
   already wrote the header and the index infos. Releases locks. NULL is a
   no-op. */
UDB_API int udb_ndx_close(udb_ndx *ndx);
UDB_API const char *udb_ndx_errmsg(const udb_ndx *ndx);
UDB_API int udb_ndx_layout(const udb_ndx *ndx);          /* UDB_LAYOUT_CLASSIC/WIDE */
        UDB_API unsigned udb_ndx_count(const udb_ndx *ndx);      /* number of indexes */
        UDB_API uint64_t udb_ndx_file_size(udb_ndx *ndx);
/* index numbers are 1-based, as in the originals */
UDB_API int udb_ndx_info(udb_ndx *ndx, unsigned index, udb_index_info *out);
/* Define (initialise) an undefined index: writes its info, its first node
   and leaf batches, the EOF leaf and the root. */
UDB_API int udb_ndx_define(udb_ndx *ndx, unsigned index, const udb_index_def *def);
/* Validate a definition for a layout; 0 or UDB_INVAL with msg (may be NULL). */
UDB_API int udb_index_def_check(int layout, const udb_index_def *def, char *msg, size_t msglen);

/* Append one (key, datapos). keylen may be shorter than the key size
   (STRING: the text, NUL added; others zero-padded). */
UDB_API int udb_ndx_append(udb_ndx *ndx, unsigned index, const void *key, size_t keylen,
                           int64_t datapos);
/* Data position of the newest record with key, or UDB_NOTFOUND. */
UDB_API int udb_ndx_find(udb_ndx *ndx, unsigned index, const void *key, size_t keylen,
                         int64_t *datapos);
/* Compare two full keysize keys by the index's key type: *result < 0, 0, > 0. */
UDB_API int udb_ndx_compare(udb_ndx *ndx, unsigned index, const void *a, const void *b,
                            int *result);
/* Remove every record with key; *removed (may be NULL) gets the count. */
UDB_API int udb_ndx_delete(udb_ndx *ndx, unsigned index, const void *key, size_t keylen,
                           uint64_t *removed);

/* Bulk load into an empty index: next() gives keys in key order (equal keys
   keep the given order) until it returns 1 (0 = one more in *key, *keylen,
   *datapos; < 0 = abort with that code). Leaves are placed in key order and
   nodes built full, bottom-up. */
typedef int (*udb_ndx_load_fn)(void *arg, const void **key, size_t *keylen, int64_t *datapos);
UDB_API int udb_ndx_load_sorted(udb_ndx *ndx, unsigned index, udb_ndx_load_fn next, void *arg,
                                uint64_t *loaded);
/* Lay out the leaves of index `index` (0: of every defined index) in key
   order over the places they hold, in one transaction: chain, node items
   and infos follow; data positions and nodes stay. A key-order walk then
   reads the leaves front to back. UDB_CORRUPT (nothing changed) when the
   chain and the tree disagree (udb_ndx_repair). Memory: a batch of
   places at a time, at most dirty_limit / 32 bytes and as much again to
   sort them, whatever the index's size. */
UDB_API int udb_ndx_order(udb_ndx *ndx, unsigned index);

/* ---- transactions -------------------------------------------------------- */
UDB_API int udb_ndx_begin(udb_ndx *ndx);
UDB_API int udb_ndx_commit(udb_ndx *ndx);
UDB_API int udb_ndx_rollback(udb_ndx *ndx);
/* A read transaction on any handle (writable ones too): every read until
   udb_ndx_commit or udb_ndx_rollback sees one committed state. In WAL
   mode it never waits for a writer nor holds one up. */
UDB_API int udb_ndx_begin_read(udb_ndx *ndx);
/* WAL mode: copy what the log holds into the file(s) as far as readers'
   snapshots allow (waits up to lock_timeout_ms for another checkpoint);
   after the last handle closes everything is copied and the log removed.
   Nothing to do with the rollback journal. */
UDB_API int udb_ndx_checkpoint(udb_ndx *ndx);
/* Copy the file, as one committed state, into the new file dst: a read
   transaction (the caller's when one is open; refused inside a write
   transaction) while the pages are copied, so the copy is consistent while
   other handles and processes read and write (WAL mode: a snapshot that
   holds no writer up; rollback mode: writers wait for the copy, up to their
   lock timeout). The copy is the file page for page as it would be after a
   checkpoint, synced unless opts said UDB_SYNC_OFF. dst must not exist
   (UDB_EXISTS); on failure nothing is left at dst. */
UDB_API int udb_ndx_backup(udb_ndx *ndx, const char *dst);

/* ---- cursors ------------------------------------------------------------- */
typedef struct udb_item {
    const unsigned char *key;   /* keysize bytes, valid until the next call
                                   on this cursor                          */
    size_t keysize;
    int64_t datapos;
    int64_t leaf;               /* file position of the record's leaf */
} udb_item;

UDB_API int udb_cursor_open(udb_ndx *ndx, unsigned index, udb_cursor **out);
UDB_API void udb_cursor_close(udb_cursor *c);
/* Moves: 0 and *out filled (out may be NULL), or UDB_NOTFOUND when there is
   nothing to move to (the cursor stays where it was), or an error.
   UDB_STALE: the record under the cursor was removed by another cursor or
   handle; reposition with first/last/seek/find. */
UDB_API int udb_cursor_first(udb_cursor *c, udb_item *out);
UDB_API int udb_cursor_last(udb_cursor *c, udb_item *out);
UDB_API int udb_cursor_next(udb_cursor *c, udb_item *out);
UDB_API int udb_cursor_prev(udb_cursor *c, udb_item *out);
UDB_API int udb_cursor_current(udb_cursor *c, udb_item *out);
/* First record whose key is >= key (UDB_NOTFOUND: none; cursor at end). */
UDB_API int udb_cursor_seek(udb_cursor *c, const void *key, size_t keylen, udb_item *out);
/* Exact find, newest duplicate. On UDB_NOTFOUND the cursor is left on the
   next larger record, as the originals' Find did. */
UDB_API int udb_cursor_find(udb_cursor *c, const void *key, size_t keylen, udb_item *out);
/* Append through the cursor; the cursor lands on the new record. */
UDB_API int udb_cursor_append(udb_cursor *c, const void *key, size_t keylen, int64_t datapos);
/* Remove every record with key; the cursor lands on the record after the
   removed run (else before it, else nowhere), as the originals' Delete. */
UDB_API int udb_cursor_delete_key(udb_cursor *c, const void *key, size_t keylen,
                                  uint64_t *removed);
/* Remove the record under the cursor; *out gets the removed record. The
   cursor moves to the following record, else the preceding one. */
UDB_API int udb_cursor_delete(udb_cursor *c, udb_item *out);
/* Give the record under the cursor another data position (its key and
   place stay); the cursor stays on it. */
UDB_API int udb_cursor_set_datapos(udb_cursor *c, int64_t datapos);
/* The originals' BOF / EOF flags: 1 when on the first / last record, and
   both 1 at the end position (after a seek past every key, or on an empty
   index). */
UDB_API int udb_cursor_bof(udb_cursor *c);
UDB_API int udb_cursor_eof(udb_cursor *c);

/* ---- inspection ---------------------------------------------------------- */
typedef struct udb_node_view {
    unsigned level;             /* 1 = bottom (children are leaves) */
    unsigned levels;            /* levels of the tree */
    int64_t pos, next, prev;
    unsigned count, maxitems;
    size_t keysize;
    const unsigned char *keys;  /* count keys, keysize bytes each, in order */
    const int64_t *children;    /* count child positions */
} udb_node_view;

/* Every node of an index's tree, level by level from the root, left to
   right along each level. fn returns non-zero to stop (returned). */
UDB_API int udb_ndx_walk_tree(udb_ndx *ndx, unsigned index,
                              int (*fn)(void *arg, const udb_node_view *node), void *arg);

typedef struct udb_stats {
    uint64_t commits, pages_written, journal_pages, spills;
    uint64_t node_cache_hits, node_cache_misses; /* nodes whose checksum was
                                                    already verified / not */
} udb_stats;
UDB_API int udb_ndx_stats(udb_ndx *ndx, udb_stats *out);

/* ---- integrity check ----------------------------------------------------- */
typedef struct udb_check_index {
    uint64_t records, distinct, nodes, leaves, free_nodes, free_leaves;
    unsigned levels;
} udb_check_index;

typedef struct udb_check_report {
    unsigned num_indexes;
    udb_check_index *index;     /* num_indexes entries                       */
    unsigned problems;          /* number of problems found                  */
    unsigned notes;             /* number of notes                           */
    unsigned long long unaccounted_bytes;
    int stale_infos;            /* infos do not describe the body (unclean
                                   exit of an original)                      */
} udb_check_report;

enum { UDB_NOTE = 0, UDB_PROBLEM = 1 };

/* Called once per finding: severity UDB_PROBLEM (damage: the check fails)
   or UDB_NOTE (a defect the original wrote that udb reads correctly),
   offset (-1 if none), index (0 = the file), text. */
typedef void (*udb_problem_fn)(void *arg, int severity, int64_t offset, unsigned index,
                               const char *text);

/* Full structural check, plus what the first write to each index would
   refuse (a leaf chain out of key order, infos that do not lead to the
   edges of the tree, a tree too deep to grow: problems naming `dbe
   repair`), so that it passes only on files udb reads and writes. Returns
   0 when clean, UDB_CORRUPT when problems were found (each one reported
   through fn), or another error. rep may be NULL; free it with
   udb_check_report_free. */
UDB_API int udb_ndx_check(udb_ndx *ndx, udb_problem_fn fn, void *arg, udb_check_report *rep);
UDB_API void udb_check_report_free(udb_check_report *rep);

/* ---- repair and conversion --------------------------------------------------- */
typedef struct udb_repair_index {
    uint64_t records;          /* records the rebuilt index holds */
    uint64_t fragments;        /* pieces the leaf chain was found in */
    uint64_t breaks;           /* places where the chain was broken */
    uint64_t out_of_order;     /* neighbouring records out of key order */
    uint64_t duplicates;       /* records whose key equals the previous one */
} udb_repair_index;

typedef struct udb_repair_report {
    unsigned num_indexes;
    udb_repair_index *index;
    uint64_t leaves_found;     /* leaves on a chain (EOF leaves included;
                                  not the shorter blocks inside real leaves
                                  that look like leaves of another size) */
    uint64_t size_before, size_after;
    uint64_t leaves_lost;      /* of those, on chains no index claims: their
                                  records are not recovered */
    uint64_t records_dropped;  /* records found but not kept, each named
                                  through fn (a UDB_PROBLEM) */
    uint64_t records_doubtful; /* records kept although a free leaf's shape
                                  speaks against them, each named through
                                  fn (a UDB_NOTE) */
} udb_repair_report;

/* Rebuild every index of the MultiIndex file at path from its leaves:
   each leaf with a valid checksum whose chain links agree, that a sound
   tree node points at, or that fills the gap between two broken links is
   salvaged (data position 0 included: a free leaf is told by its links and
   the free lists, not by its bytes alone); the infos, trees and free lists
   are rebuilt (keys in order, duplicates in their chain order). A healthy
   file keeps every record. The result goes to out (a new file) or, with
   out == NULL, replaces path in one journaled transaction. Findings (what
   was lost and why) are reported through fn; every record found but not
   kept is named ("record KEY (data position DP, leaf at OFFSET) WHY", a
   UDB_PROBLEM at its leaf), and so is every record kept in doubt (a
   UDB_NOTE). rep may be NULL; free it with udb_repair_report_free. */
UDB_API int udb_repair(const char *path, const char *out, const udb_options *opts,
                       udb_problem_fn fn, void *arg, udb_repair_report *rep);
UDB_API void udb_repair_report_free(udb_repair_report *rep);

/* Copy every index (definition, records, duplicate order) of in to a new
   file out in opts->layout, with maxitems / keysize changed when not 0.
   Refuses (UDB_RANGE) data positions or sizes the target layout cannot
   address; an index the original left out of key order is sorted (noted
   through fn). */
UDB_API int udb_convert(const char *in, const char *out, const udb_options *opts, unsigned maxitems,
                        unsigned keysize, udb_problem_fn fn, void *arg);

/* ---- HeapFiles (.dat) ------------------------------------------------------ */
typedef struct udb_heap udb_heap;

typedef struct udb_heap_info {
    int layout;
    int64_t first_table;        /* -1 if none */
    unsigned table_slots;       /* HolesTableSize */
    size_t table_size;          /* bytes per holes table on disk */
    uint64_t file_size;
    unsigned tables;            /* tables in the chain */
    uint64_t holes, hole_bytes; /* readable holes */
} udb_heap_info;

typedef struct udb_hole {
    unsigned table;             /* 1-based table number in the chain */
    unsigned slot;              /* slot as stored (classic 1.., wide 1..)  */
    int64_t table_pos;
    int64_t pos, size;
} udb_hole;

/* A record store's heap (one that begins with a store descriptor) opens
   only read-only or with UDB_RAW, as udb_ndx_open. */
UDB_API int udb_heap_open(const char *path, const udb_options *opts, udb_heap **out);
/* New heap file; table_slots = slots per holes table (0 = default 256). */
UDB_API int udb_heap_create(const char *path, const udb_options *opts, unsigned table_slots,
                            udb_heap **out);
UDB_API int udb_heap_close(udb_heap *h);
UDB_API const char *udb_heap_errmsg(const udb_heap *h);
UDB_API int udb_heap_info_get(udb_heap *h, udb_heap_info *out);
/* Walk the holes tables as stored: fn is called for every readable hole. */
UDB_API int udb_heap_holes(udb_heap *h, int (*fn)(void *arg, const udb_hole *hole), void *arg);
UDB_API int udb_heap_read(udb_heap *h, int64_t pos, void *buf, size_t len);
/* The check of a heap file: every holes table of the chain (inside the
   file, checksum, records in use, not overlapping another table) and every
   hole as the allocator validates it (inside the file, clear of the
   header, the tables and the other holes). 0 when allocation and release
   would accept the file, UDB_CORRUPT when they would refuse it (each
   problem reported through fn, index 0), or another error. rep (may be
   NULL) gets the problem count; free it with udb_check_report_free. */
UDB_API int udb_heap_check(udb_heap *h, udb_problem_fn fn, void *arg, udb_check_report *rep);
/* Reserve n bytes (a fitting hole, else the end of the file); the space is
   reserved at once: two allocations never overlap. */
UDB_API int udb_heap_alloc(udb_heap *h, uint64_t n, int64_t *pos);
/* Give n bytes at pos back (coalesced with neighbouring holes; a hole at
   the end of the file is returned to the file system at commit). */
UDB_API int udb_heap_free(udb_heap *h, int64_t pos, uint64_t n);
UDB_API int udb_heap_write(udb_heap *h, int64_t pos, const void *buf, size_t len);
UDB_API int udb_heap_begin(udb_heap *h);
UDB_API int udb_heap_commit(udb_heap *h);
UDB_API int udb_heap_rollback(udb_heap *h);
UDB_API int udb_heap_begin_read(udb_heap *h);
UDB_API int udb_heap_checkpoint(udb_heap *h);
/* As udb_ndx_backup. */
UDB_API int udb_heap_backup(udb_heap *h, const char *dst);

/* ---- record stores: NAME.ndx + NAME.dat ------------------------------------- */
typedef struct udb_store udb_store;
typedef struct udb_store_cursor udb_store_cursor;

typedef struct udb_store_def {
    unsigned num_indexes;          /* 1..64 */
    const udb_index_def *index;    /* one definition per index */
    int compress;                  /* deflate payloads (per record; plain and
                                      compressed records coexist) */
    unsigned table_slots;          /* holes-table slots (0 = default) */
} udb_store_def;

typedef struct udb_key {
    const void *data;
    size_t len;
} udb_key;

/* A caller-owned value buffer the library grows as needed (realloc);
   start with {0} and release with udb_val_free. */
typedef struct udb_val {
    void *data;
    size_t len, cap;
} udb_val;
UDB_API void udb_val_free(udb_val *v);

UDB_API int udb_store_create(const char *name, const udb_options *opts, const udb_store_def *def,
                             udb_store **out);
UDB_API int udb_store_open(const char *name, const udb_options *opts, udb_store **out);
UDB_API int udb_store_close(udb_store *s);
UDB_API const char *udb_store_errmsg(const udb_store *s);
UDB_API unsigned udb_store_count(udb_store *s);
UDB_API int udb_store_index_info(udb_store *s, unsigned index, udb_index_info *out);
/* Write the record once and add keys[i] to index i+1 for every index.
   Refused as a whole (UDB_EXISTS, nothing changed) if a UNIQUE index
   already has its key. */
UDB_API int udb_store_put(udb_store *s, const udb_key *keys, const void *val, size_t len);
/* The newest record whose key in index is key. */
UDB_API int udb_store_get(udb_store *s, unsigned index, const void *key, size_t keylen,
                          udb_val *out);
/* Replace the value of the newest record with key (in place when it fits,
   else moved, every index following). */
UDB_API int udb_store_update(udb_store *s, unsigned index, const void *key, size_t keylen,
                             const void *val, size_t len);
/* Remove every record whose key in index is key, from every index. */
UDB_API int udb_store_delete(udb_store *s, unsigned index, const void *key, size_t keylen,
                             uint64_t *removed);
UDB_API int udb_store_begin(udb_store *s);
UDB_API int udb_store_commit(udb_store *s);
UDB_API int udb_store_rollback(udb_store *s);
UDB_API int udb_store_begin_read(udb_store *s);
UDB_API int udb_store_checkpoint(udb_store *s);
/* As udb_ndx_backup, both files in one read transaction: dst names the
   copy, dst.ndx and dst.dat (neither may exist). */
UDB_API int udb_store_backup(udb_store *s, const char *dst);

/* Cursors: moves as udb_cursor_*; key gets the index key (may be NULL),
   val the record (may be NULL: keys only). */
UDB_API int udb_store_cursor_open(udb_store *s, unsigned index, udb_store_cursor **out);
UDB_API void udb_store_cursor_close(udb_store_cursor *c);
UDB_API int udb_store_cursor_first(udb_store_cursor *c, udb_item *key, udb_val *val);
UDB_API int udb_store_cursor_last(udb_store_cursor *c, udb_item *key, udb_val *val);
UDB_API int udb_store_cursor_next(udb_store_cursor *c, udb_item *key, udb_val *val);
UDB_API int udb_store_cursor_prev(udb_store_cursor *c, udb_item *key, udb_val *val);
UDB_API int udb_store_cursor_seek(udb_store_cursor *c, const void *k, size_t klen, udb_item *key,
                                  udb_val *val);
/* The record under the cursor (UDB_NOTFOUND: none; UDB_STALE: removed). */
UDB_API int udb_store_cursor_current(udb_store_cursor *c, udb_item *key, udb_val *val);
/* Remove the record under the cursor from every index; the cursor moves on
   as udb_cursor_delete. */
UDB_API int udb_store_cursor_delete(udb_store_cursor *c);

/* Scan index in key order: from (inclusive, NULL = first), to (inclusive,
   NULL = last), and only keys starting with prefix (STRING: text prefix;
   others: leading bytes; NULL = any). fn returns non-zero to stop: that
   value is returned as it is. Callbacks (scan, holes, check, tree walk)
   run with the handle locked: they must not call the same handle. */
typedef int (*udb_scan_fn)(void *arg, const udb_item *key, const void *val, size_t len);
UDB_API int udb_store_scan(udb_store *s, unsigned index, const void *from, size_t fromlen,
                           const void *to, size_t tolen, const void *prefix, size_t prefixlen,
                           udb_scan_fn fn, void *arg);

/* Records sorted by index 1's key, fed by next() until it returns 1 (0 =
   one more record in *keys / *val, < 0 = abort with that code): builds
   the trees bottom-up with leaves in key order. The store must be empty. */
typedef int (*udb_load_fn)(void *arg, udb_key *keys, const void **val, size_t *len);
UDB_API int udb_store_load_sorted(udb_store *s, udb_load_fn next, void *arg, uint64_t *loaded);

/* Move records so that holes close up; the heap shrinks. */
UDB_API int udb_store_compact(udb_store *s);
/* udb_store_compact, and with index 1..N also every record laid out in key
   order of that index and every index's leaves and nodes in its own key
   order (one transaction; the heap briefly holds every record twice). */
UDB_API int udb_store_compact_order(udb_store *s, unsigned index);
/* The index check of every index, plus the heap: the holes as
   udb_heap_check validates them, every record's frame and crc32, every
   compressed record inflates to its declared length, every record in every
   index once under the keys its frame holds, and every byte of the heap is
   the header, the store descriptor, a record, a hole or a holes table. */
UDB_API int udb_store_check(udb_store *s, udb_problem_fn fn, void *arg, udb_check_report *rep);

/* Is path a file of a record store: NAME.ndx or NAME.dat where NAME.dat
   (or path itself, for a heap of another name) begins with a store
   descriptor? 1 (name, when not NULL, gets NAME, cut to namelen) or 0.
   Reads a few bytes through opts->os (opts may be NULL); takes no lock. */
UDB_API int udb_store_owner(const char *path, const udb_options *opts, char *name, size_t namelen);

/* What a store's descriptor (in NAME.dat; NAME.ndx is not read) says. */
typedef struct udb_store_about {
    int layout;
    unsigned version;              /* of the descriptor: 1 (udb 0.1) or 2 */
    unsigned num_indexes;
    int compress;
    int keyed;                     /* every record's frame holds every
                                      index's key (version 2; version 1 only
                                      with two or more indexes) */
    int defs;                      /* the descriptor holds the definitions
                                      (version 2): index[0..num_indexes) */
    udb_index_def index[64];
} udb_store_about;
/* Read NAME.dat's store descriptor (read-only). UDB_FORMAT: not a store. */
UDB_API int udb_store_about_get(const char *name, const udb_options *opts, udb_store_about *out,
                                char *msg, size_t msglen);

/* Where udb_store_repair took the index definitions from. */
enum { UDB_DEFS_INFOS = 1, UDB_DEFS_DESCRIPTOR = 2, UDB_DEFS_CALLER = 3 };

typedef struct udb_store_repair_report {
    unsigned num_indexes;
    int defs_from;                 /* UDB_DEFS_*, 0 when none was found */
    uint64_t records;              /* live records re-indexed under every index */
    uint64_t holes;                /* holes (freed space) passed over */
    uint64_t bad_frames;           /* frames that failed a check: reported, skipped */
    uint64_t bytes_skipped;        /* bytes in use that held no readable frame */
    uint64_t unique_clashes;       /* records whose key a UNIQUE index already had */
    uint64_t size_before, size_after; /* of NAME.ndx (0 before: it was missing) */
} udb_store_repair_report;

/* Rebuild every index of the store NAME from the records in NAME.dat, for
   a NAME.ndx that is damaged or missing (it is created). The live records
   are the frames between the holes and holes tables of the heap (freed
   space still holds old frames: refused with UDB_CORRUPT when the holes
   tables are damaged, as a freed record cannot be told from a live one);
   each frame is checked (tag, length, crc32, inflation, keys) and one that
   fails is reported through fn (UDB_PROBLEM, its offset) and skipped.
   Definitions: NAME.ndx's index infos when readable, else the store
   descriptor's (stores udb 0.2 writes), else def's (the caller's, as at
   create; also checked against the others when given). Records with equal
   keys are chained by position, highest first (the order of insertion is
   not kept in the records). A UNIQUE index that meets a key twice keeps
   both and reports it. One journaled transaction: a crash leaves NAME.ndx
   as it was or rebuilt. A one-index store written by udb 0.1 keeps no key
   in its frames: refused (UDB_FORMAT; udb_repair of NAME.ndx rebuilds it
   from its leaves). opts must not be read-only. rep may be NULL. */
UDB_API int udb_store_repair(const char *name, const udb_options *opts, const udb_store_def *def,
                             udb_problem_fn fn, void *arg, udb_store_repair_report *rep);

/* ---- transactions on any handle (C11 _Generic) ------------------------------------ */
#if !defined(__cplusplus)
#define udb_begin(h) \
    _Generic((h), udb_ndx *: udb_ndx_begin, udb_store *: udb_store_begin, udb_heap *: udb_heap_begin)(h)
#define udb_commit(h) \
    _Generic((h), udb_ndx *: udb_ndx_commit, udb_store *: udb_store_commit, udb_heap *: udb_heap_commit)(h)
#define udb_begin_read(h)                                                               \
    _Generic((h), udb_ndx *: udb_ndx_begin_read, udb_store *: udb_store_begin_read,      \
             udb_heap *: udb_heap_begin_read)(h)
#define udb_checkpoint(h)                                                               \
    _Generic((h), udb_ndx *: udb_ndx_checkpoint, udb_store *: udb_store_checkpoint,      \
             udb_heap *: udb_heap_checkpoint)(h)
#define udb_rollback(h)                                                                 \
    _Generic((h), udb_ndx *: udb_ndx_rollback, udb_store *: udb_store_rollback,          \
             udb_heap *: udb_heap_rollback)(h)
#define udb_errmsg(h)                                                                   \
    _Generic((h), udb_ndx *: udb_ndx_errmsg, udb_store *: udb_store_errmsg,             \
             udb_heap *: udb_heap_errmsg)(h)
#endif

/* ---- journals ------------------------------------------------------------------------ */
/* Is a hot journal (an interrupted transaction) pending for the file at
   path (a MultiIndex or heap file; a heap X.dat also looks at the store
   journal X.ndx-journal)? Changes nothing. Fails like an open would when
   the journal cannot be read (UDB_IO) or is the hot journal of another
   file (UDB_RECOVER, *hot = 1). */
UDB_API int udb_journal_hot(const char *path, int *hot, char *msg, size_t msglen);
/* Roll back a hot journal of the file at path (*found = 1; 3 when its
   commit record found the commit whole in the files, which is kept), or
   copy a write-ahead log a crash left into the files and remove it
   (*found = 2); *found = 0 when there was none. Opening a file writable does this
   too; this is the explicit form. */
UDB_API int udb_recover(const char *path, const udb_options *opts, int *found, char *msg,
                        size_t msglen);

/* Version string of the library. */
UDB_API const char *udb_version(void);

#ifdef __cplusplus
}
#endif
#endif
