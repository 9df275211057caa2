/*
 * fz.h — what the fuzz targets share: the container that splits one input
 * into several files (tests/fuzz/README.md), the in-memory file system each
 * execution runs on, the guard that aborts when the library changes a file
 * outside the allowed set, a byte reader for operations, digests of a
 * file's records, and the small valid files the targets and mkseed start
 * from.
 */
#ifndef FZ_H
#define FZ_H

#include <stddef.h>
#include <stdint.h>
#include "memfs.h"
#include "udb.h"

/* ---- the container: part0 SEP part1 SEP part2 ... ---------------------------------- */
#define FZ_SEP "=UDBFZ=\n"
#define FZ_SEP_LEN 8
#define FZ_MAXPARTS 8

typedef struct fz_part {
    const uint8_t *p;
    size_t n;                   /* 0: the part is absent or empty */
} fz_part;

/* Split data into parts (the rest past FZ_MAXPARTS - 1 separators stays in
   the last part); parts not present are empty. */
void fz_split(const uint8_t *data, size_t size, fz_part parts[FZ_MAXPARTS]);

/* ---- one execution --------------------------------------------------------------------- */
/* The files of every target live in the directory FZ_DIR as FZ_NAME.ndx,
   FZ_NAME.dat and their journals. FZ_DIR also holds files of no group
   (other.ndx, other.dat, t.ndx.bak, victim) and /outside/victim lies outside
   it: none of them may ever be opened for writing, written, truncated or
   unlinked. */
#define FZ_DIR "/d"
#define FZ_NAME FZ_DIR "/t"

/* Start an execution on the input data: a fresh file system with the
   decoy files, the guard allowing only the paths in allowed (NULL-ended). */
memfs *fz_begin(const uint8_t *data, size_t size, const char *const *allowed);
/* Change the allowed paths (NULL: none) for the rest of the execution. */
void fz_allow(const char *const *allowed);
/* Is the journal at path hot by the documented format (valid header, state
   1), and, with member != NULL, does it name the file member (a base name)? */
int fz_journal_hot(const char *path, const char *member);
/* End it: every handle must be closed (a descriptor or map still open is
   a finding), the decoys unchanged. */
void fz_end(void);
/* Plant the bytes of part at path when it is not empty; 1 if planted. */
int fz_plant(const char *path, fz_part part);

/* A broken invariant of class cls ("escape", "leak", "check", "read",
   "digest", "recover"): abort, unless UDB_FUZZ_TOLERATE lists cls (comma
   separated, or "all"); then it is reported once per distinct input on
   stderr, the input saved in UDB_FUZZ_SAVE (a directory) when set, and the
   execution goes on. */
void fz_fail(const char *cls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* With UDB_FUZZ_TRACE set: print a line on stderr (for triage). */
void fz_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* udb_options for the in-memory file system. */
void fz_options(udb_options *o, int layout, int flags);

/* ---- reading operations from bytes ----------------------------------------------------------- */
typedef struct fz_in {
    const uint8_t *p;
    size_t n, i;
} fz_in;

int fz_more(const fz_in *in);
unsigned fz_u8(fz_in *in);            /* 0 at the end */
uint64_t fz_u64(fz_in *in);
/* Up to n bytes (fewer at the end); *got set. */
const uint8_t *fz_bytes(fz_in *in, size_t n, size_t *got);

/* ---- looking at files ---------------------------------------------------------------------------- */
/* Check; 0 when clean, else the code (the report is freed). */
int fz_ndx_check(udb_ndx *d);
int fz_store_check(udb_store *s);
/* A hash of every record of every index in order (keys, positions or
   values); the return code of the first failing read, else 0. */
int fz_ndx_digest(udb_ndx *d, uint64_t *out);
int fz_store_digest(udb_store *s, uint64_t *out);
/* With UDB_FUZZ_TRACE set: every record of every index, on stderr. */
void fz_ndx_dump(udb_ndx *d, const char *title);
/* Walk an index both ways, find and seek a few keys; keep up to max keys
   (keysize bytes each, ks set) in keys. Returns the keys kept. */
unsigned fz_ndx_walk(udb_ndx *d, unsigned ix, uint8_t *keys, unsigned max, size_t *ks);
/* The keys fz_ndx_walk keeps, read forward no further than needed. */
unsigned fz_ndx_keys(udb_ndx *d, unsigned ix, uint8_t *keys, unsigned max, size_t *ks);

/* ---- checksums made right --------------------------------------------------------------------- */
/* An attacker computes checksums; a fuzzer's mutation breaks them, and
   then the code behind them is never reached. These rewrite the checksums
   of what the documented formats (doc/format.md, udb/journal.c) reach from
   the start of a file, in place: */
/* an index file of the layout: the header, every info, the leaf chain and
   the free leaves of each index, its nodes level by level from the root,
   the free nodes; and, with dat != NULL, the frames of a store's heap that
   index 1 points at (and the descriptor), and the heap's header and holes
   tables */
void fz_fix_files(uint8_t *ndx, size_t nn, uint8_t *dat, size_t dn, int layout);
/* a journal: the header's crc32 and every record's that carries the magic */
void fz_fix_journal(uint8_t *j, size_t n);
/* a write-ahead log: the header's crc32 and every batch's chain value */
void fz_fix_log(uint8_t *b, size_t n);
/* The largest growth batch (create_nodes or create_leaves blocks, as the
   library caps it) an index info of the file asks for, in bytes, read as
   either layout: a file that asks for megabytes makes every write slow. */
uint64_t fz_ndx_batch(const uint8_t *ndx, size_t nn);
/* the same read in one layout (UDB_LAYOUT_AUTO: the larger of the two) */
uint64_t fz_ndx_batch_in(const uint8_t *ndx, size_t nn, int layout);
/* Plant FZ_NAME.ndx and FZ_NAME.dat from the parts (empty: not planted),
   with fix their checksums made right for the layout first. Returns how
   many were planted. */
int fz_plant_pair(fz_part ndx, fz_part dat, int fix, int layout);

/* ---- valid files ------------------------------------------------------------------------------------ */
/* Build in m (at FZ_NAME) a small store of the layout: kind 0 two indexes
   (STRING 12 UNIQUE, LONG_INT with duplicates), kind 1 one BLOCK index with
   compression, kind 2 an index file (FZ_NAME.ndx only) with four indexes of
   assorted types, one left undefined. n records. 0 or a udb code. */
int fz_make(memfs *m, int layout, int kind, unsigned n);

#endif
