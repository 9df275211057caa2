/*
 * store.h — record stores: NAME.ndx (the indexes) + NAME.dat (the records),
 * committed together. A record is framed (length, crc32, optional deflate,
 * every index's key: with one index too since store descriptor version 2)
 * and written once in the heap; every index maps its key to the record's
 * position.
 * Owns the record framing logic and keeping the indexes and the heap in
 * step; reaches bytes through mindex, heap and the pager, their encoding
 * through layout. Must not do I/O itself.
 */
#ifndef UDB_STORE_H
#define UDB_STORE_H

#include "api_int.h"
#include "heap.h"
#include "mindex.h"

#define STORE_MAX_INDEXES 64

struct udb_store {
    api_base b;
    pager_file *ndx_pf, *dat_pf;
    mindex m;
    heap h;
    int loaded, layout, compress;
    int keyed;                  /* frames hold the key also with one index */
    int place_index;            /* commit-time placement by this index
                                   (0-based; -1: off), store_place.c */
    unsigned version;           /* of the store descriptor */
    unsigned nidx;
    size_t keys_len;            /* key bytes in each frame (0 with one index,
                                   unless keyed) */
    size_t hints_len;           /* leaf hints in each frame (0 with one index) */
    size_t key_off[STORE_MAX_INDEXES];
    unsigned key_size[STORE_MAX_INDEXES]; /* each index's, at open (a reload checks) */
    uint8_t *keys;              /* normalised keys of every index */
    int64_t hints[STORE_MAX_INDEXES]; /* leaf of each index for the frame
                                         being written (-1: unknown) */
    uint8_t *zbuf;              /* compression scratch */
    size_t zcap;
    void *zi;                   /* an inflate stream kept for every read */
    void *zs;                   /* a deflate stream kept for every put
                                   (z_stream; NULL until the first) */
    void *zsmall;               /* the same for values of at most 1 KiB */
    udb_val tmp;                /* scratch value (scan) */
};

struct udb_store_cursor {
    udb_store *s;
    mcursor c;
    mahead ahead;
};

/* A record's frame as found in the heap. */
typedef struct record {
    int64_t pos;
    lay_frame f;
    size_t size;                /* bytes the frame occupies */
    const uint8_t *keys;        /* the keys area (NULL with one index, unless keyed) */
    const uint8_t *hints;       /* the leaf hints (NULL with one index) */
    const uint8_t *payload;     /* stored payload */
} record;

/* A hint: start loading the first lines of the frame at pos. */
void store_prefetch(const udb_store *s, int64_t pos);
int store_read(udb_store *s, int64_t pos, record *r);
int store_value(udb_store *s, const record *r, udb_val *out);
/* The key of index ix of the record (from the frame, or the caller's key
   with one index). */
const uint8_t *store_record_key(udb_store *s, const record *r, unsigned ix);
/* The leaf of index ix that maps key to pos: the record's hint when it is
   right (checked), else found by walking the key's run. store_seek: the
   same, UDB_NOTFOUND (no message) when the index has no such entry;
   store_locate calls that corruption. */
int store_seek(udb_store *s, unsigned ix, const uint8_t *key, int64_t pos, int64_t hint, int64_t *leaf);
int store_locate(udb_store *s, unsigned ix, const uint8_t *key, int64_t pos, int64_t hint,
                 int64_t *leaf);
/* The record's leaf hint for index ix (-1 none). */
int64_t store_record_hint(const udb_store *s, const record *r, unsigned ix);
/* Set the leaf hint for index ix in the frame bytes at frame (a copy). */
void store_hint_set(const udb_store *s, uint8_t *frame, unsigned ix, int64_t leaf);
/* Write s->hints into the frame at pos; store_patch_hint: index ix's only. */
int store_patch_hints(udb_store *s, int64_t pos);
int store_patch_hint(udb_store *s, int64_t pos, unsigned ix, int64_t leaf);
/* Every index rebuilt after a reordering compaction, in the open write
   transaction (store_rebuild.c: from the frames in [from, to) for index
   ix, from the entry lists at list[i] of NAME.dat for the others). */
int store_reindex(udb_store *s, unsigned ix, int64_t from, int64_t to, const int64_t *list, uint64_t n);
/* UDB_CORRUPT unless every frame back to back in [from, to) is in index i
   under its key (store_rebuild.c). */
int store_holds_all(udb_store *s, unsigned i, int64_t from, int64_t to);
/* Remove the record at pos from every index but skip (and from skip too
   when skip_leaf >= 0), then free its space. */
int store_unlink(udb_store *s, const record *r, unsigned skip, int64_t skip_leaf);
/* The same, with the path that found skip_leaf (or NULL); *last = 0 when
   the record after it in index skip has the same key. */
int store_unlink_found(udb_store *s, const record *r, unsigned skip, int64_t skip_leaf,
                       const mpath *path, int *last);
/* A stretch of the heap that a bulk writer fills record after record:
   one allocation per stretch instead of one per record. */
typedef struct store_run {
    int64_t next, end;
} store_run;
/* Give the unused rest of a run back to the heap. */
int store_run_end(udb_store *s, store_run *run);
/* Frame val with the keys in s->keys at at_or_neg (>= 0) or at a freshly
   allocated position (from run when not NULL); *pos and *size describe
   the frame. */
int store_write_record(udb_store *s, const void *val, size_t len, int64_t at_or_neg, store_run *run,
                       int64_t *pos, size_t *size);
int store_key_in(udb_store *s, unsigned ix, const void *key, size_t len, uint8_t **out);
/* Before a commit: a large stretch of records this transaction appended
   to the heap is laid out in key order (store_place.c). An error only
   after something moved (the transaction is then poisoned). */
int store_place(udb_store *s);
/* ---- for the rebuild (store_rebuild.c) ---- */
/* A handle not yet opened (NULL: out of memory); close with udb_store_close. */
udb_store *store_new(const udb_options *opts, udb_store **out);
/* NAME + ext in a fresh buffer, or NULL. */
char *store_path(const char *name, const char *ext);
/* Read the store descriptor at the start of the loaded heap: *d, the
   version-2 definitions into defs (STORE_MAX_INDEXES entries), and the
   handle's compress / keyed / version / nidx; UDB_FORMAT when there is
   none of a version udb reads. */
int store_descriptor(udb_store *s, lay_store_desc *d, udb_index_def *defs);
/* Key offsets inside a frame and the keys buffer, from the loaded indexes. */
int store_setup_keys(udb_store *s);
/* 1 when the heap file of path (path itself, or NAME.dat for NAME.ndx)
   begins with a store descriptor; name gets NAME. Reads its first bytes
   through a read-only pager group of its own over os. */
int store_owner(const udb_os *os, const char *path, char *name, size_t namelen);
int store_index_arg(udb_store *s, unsigned index);
int val_reserve(udb_store *s, udb_val *v, size_t n);

#endif
