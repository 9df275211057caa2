/*
 * store.h — record stores: NAME.ndx (the indexes) + NAME.dat (the records),
 * committed together. A record is framed (length, crc32, optional deflate,
 * the record's keys when there are several indexes) and written once in the
 * heap; every index maps its key to the record's position.
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
    unsigned nidx;
    size_t keys_len;            /* key bytes in each frame (0 with one index) */
    size_t hints_len;           /* leaf hints in each frame (0 with one index) */
    size_t key_off[STORE_MAX_INDEXES];
    uint8_t *keys;              /* normalised keys of every index */
    int64_t hints[STORE_MAX_INDEXES]; /* leaf of each index for the frame
                                         being written (-1: unknown) */
    uint8_t *zbuf;              /* compression scratch */
    size_t zcap;
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
    const uint8_t *keys;        /* the keys area (NULL with one index) */
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
   right (checked), else found by walking the key's run. */
int store_locate(udb_store *s, unsigned ix, const uint8_t *key, int64_t pos, int64_t hint,
                 int64_t *leaf);
/* The record's leaf hint for index ix (-1 none). */
int64_t store_record_hint(const udb_store *s, const record *r, unsigned ix);
/* Write s->hints into the frame at pos. */
int store_patch_hints(udb_store *s, int64_t pos);
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
int store_index_arg(udb_store *s, unsigned index);
int val_reserve(udb_store *s, udb_val *v, size_t n);

#endif
