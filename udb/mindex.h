/*
 * mindex.h — the B+tree indexes of a MultiIndex file: decoded index infos,
 * search, cursors, append, delete with the originals' rebalancing rules,
 * free lists, index definition, and the integrity check.
 *
 * Owns tree shape and the in-memory copy of the index infos. Reaches bytes
 * only through pager_get/pager_put and their meaning only through layout.
 * Must not: do I/O, cache, journal, lock, or know about heaps and stores.
 *
 * Conventions: index numbers are 0-based here (the API adds one). Keys are
 * always full keysize buffers (see lay_key_make). The last item of the
 * rightmost node of every level, and the last leaf, are +infinity by
 * position, whatever their key bytes say.
 */
#ifndef UDB_MINDEX_H
#define UDB_MINDEX_H

#include "err.h"
#include "layout.h"
#include "pager.h"
#include "progress.h"

#define MINDEX_MAX_LEVELS 64

#define MINDEX_FENCES 7

typedef struct posslot {
    int64_t pos;                /* -1: empty */
    uint32_t hint;              /* the node's item count when verified */
    uint32_t fence_hi;          /* 0, or the search bound when fence[] was taken */
    uint32_t fence[MINDEX_FENCES]; /* BLOCK nodes: first 4 key bytes (big-endian)
                                   at items fence_hi * k / 8, k = 1..7: a hint */
    uint32_t vgen;              /* mindex.vgen when verified */
} posslot;

typedef struct posset {         /* open-addressing set of positions */
    posslot *slot;
    size_t cap, used;
} posset;

typedef struct mindex_index {
    lay_info info;              /* as it must be on disk after commit */
    lay_tree T;
    int usable;                 /* definition readable (key type, sizes) */
    int recorded;               /* info points at a tree */
    int sentinel_max;           /* stored EOF key is the true maximum */
    int write_checked;          /* shape verified for writing this session */
    int dirty;                  /* info must be written at commit */
    uint64_t epoch;             /* bumps on every change of this index */
    posset verified;            /* nodes whose checksum was verified */
    uint8_t *kbuf;              /* 4 keys: [0] the true maximum, [1..3] scratch */
    char why[160];              /* why unusable */
} mindex_index;

typedef struct mindex {
    pager_file *pf;
    udb_err *err;
    const lay *L;
    unsigned count;
    mindex_index *ix;
    uint64_t body;              /* first byte after the infos */
    uint64_t epoch_base;
    uint64_t hits, misses;      /* verified-node set */
    /* A verified node stays trusted while no page under it changed: every
       reload that learns which pages changed (pager_changes) stamps them,
       by hash, in pg_gen with the new vgen; one that cannot learn it sets
       all_gen. A node verified at vgen v is trusted while v >= all_gen and
       v >= the stamps of its pages. */
    uint32_t vgen, all_gen;
    uint32_t *pg_gen;           /* MINDEX_PG_GEN stamps, or NULL */
} mindex;
#define MINDEX_PG_GEN 4096

typedef struct mpath {          /* root-to-bottom path of a search */
    int64_t pos[MINDEX_MAX_LEVELS + 1];  /* pos[1] bottom .. pos[levels] root */
    unsigned j[MINDEX_MAX_LEVELS + 1];
    const uint8_t *bkey;        /* mindex_descend: the key of the bottom item
                                   taken (its leaf's), NULL for the EOF item */
    const uint8_t *leaf;        /* mindex_find_path: the leaf found, verified
                                   (NULL: not read) */
} mpath;

typedef struct mcursor {
    unsigned ix;
    int64_t leaf;               /* -1: not on a record */
    int64_t dp;
    int64_t next, prev;         /* the leaf's links when it was read (on a record) */
    uint64_t epoch;
    uint64_t steps;             /* moves since positioning (cycle guard) */
    uint8_t *key;               /* keysize bytes */
    unsigned ks;                /* the index's key size and type when opened: */
    int keytype;                /* defined anew since, the cursor is stale */
} mcursor;

/* Read-ahead for a forward scan (mindex_ahead.c): prefetch hints only. */
#define MAHEAD_DIST 16          /* leaves prefetched ahead of the cursor */
#define MAHEAD_RING 32          /* > MAHEAD_DIST */
#define MAHEAD_STREAK 4         /* cursors: nexts in a row before read-ahead */
typedef struct mahead {
    unsigned ix;
    int64_t node;               /* bottom-level node being walked; -1: done */
    unsigned item;              /* next item in it */
    uint64_t produced, at;      /* anchors produced; the one the cursor is on */
    uint64_t nodes;             /* nodes walked (loop guard) */
    unsigned streak;            /* cursors: forward moves in a row */
    int64_t ring[MAHEAD_RING];  /* anchor leaves by number */
    void (*touch)(void *arg, int64_t dp); /* prefetch what dp points at */
    void *arg;
} mahead;
/* Start at cursor c (on a record); touch may be NULL. */
void mahead_init(mindex *m, const mcursor *c, mahead *a, void (*touch)(void *, int64_t), void *arg);
/* The cursor moved forward to leaf. */
void mahead_step(mindex *m, mahead *a, int64_t leaf);
/* For public cursors: after every move or change of c (forward = it was a
   successful next). Read-ahead starts after a few nexts in a row, so that
   seek-and-step patterns pay nothing. a must start zeroed. */
void mahead_moved(mindex *m, mahead *a, const mcursor *c, int forward, void (*touch)(void *, int64_t),
                  void *arg);

/* ---- file level ------------------------------------------------------------ */
/* m must be zeroed the first time; a reload keeps its epoch count. */
int mindex_load(mindex *m, pager_file *pf, int layout, udb_err *err);
void mindex_free(mindex *m);
/* Re-read the infos after the file changed under us or a rollback, and
   forget the verification of every node on a page that changed (all of
   them when all, or when the pager cannot say which). */
int mindex_reload(mindex *m, int all);
/* Write changed infos (and the header) into the file's pages. */
int mindex_flush(mindex *m);
/* New file: header and count undefined infos. */
int mindex_format(pager_file *pf, const lay *L, unsigned count, udb_err *err);
int mindex_define(mindex *m, unsigned ix, const udb_index_def *def);
int mindex_def_check(const lay *L, const udb_index_def *def, char *msg, size_t len);
/* def's maxitems, or for 0 the default: as many items as fit a node of
   MINDEX_AUTO_NODE bytes (at least 3). */
#define MINDEX_AUTO_NODE 4096u
unsigned mindex_maxitems(const lay *L, const udb_index_def *def);

/* ---- reading ------------------------------------------------------------------ */
/* 0 when the index can be read; else UDB_FORMAT/UDB_NOTFOUND with message. */
int mindex_readable(mindex *m, unsigned ix);
const uint8_t *mindex_node(mindex *m, mindex_index *x, int64_t pos);
const uint8_t *mindex_leaf(mindex *m, mindex_index *x, int64_t pos);
/* The bottom level, node by node from the left: mbottom_start, then
   mbottom_next until NULL (*rc 0 at the end; 1 when the level is longer
   than the file could hold; an error). at: the node just given. */
typedef struct mbottom {
    int64_t at, next;
    uint64_t nodes, most;
} mbottom;
void mbottom_start(mindex *m, mindex_index *x, mbottom *b);
const uint8_t *mbottom_next(mindex *m, mindex_index *x, mbottom *b, int *rc);
/* A hint: start loading the first lines of the block at pos (a node's
   header, or a whole leaf) while other work goes on. */
static inline void mindex_prefetch(const mindex *m, int64_t pos, size_t len)
{
    const uint8_t *b = pos > 0 ? pager_peek(m->pf, (uint64_t)pos, len) : NULL;
    if (b) {
        __builtin_prefetch(b);
        __builtin_prefetch(b + (len < 128 ? len - 1 : 64));
    }
}
int mindex_descend(mindex *m, mindex_index *x, const uint8_t *key, mpath *p);
/* Exact find: *leaf = first leaf of the key's run, or UDB_NOTFOUND with
   *leaf = the first leaf after where key would be (maybe last_leaf). */
int mindex_find(mindex *m, unsigned ix, const uint8_t *key, int64_t *leaf);
/* The same, keeping the search path (for mindex_delete_found). */
int mindex_find_path(mindex *m, unsigned ix, const uint8_t *key, int64_t *leaf, mpath *p);
/* UDB_NOTFOUND, with the message that index ix holds no record with key
   (a full key): for the API's lookups, not for the searches inside. */
int mindex_missing(mindex *m, unsigned ix, const uint8_t *key);

int mcursor_init(mindex *m, unsigned ix, mcursor *c);
void mcursor_free(mcursor *c);
/* Place the cursor on leaf (or nowhere for -1 / last_leaf). */
int mcursor_set(mindex *m, mcursor *c, int64_t leaf);
/* 0, or UDB_STALE when c's index was defined anew since c was opened. */
int mcursor_bound(mindex *m, mcursor *c);
int mcursor_valid(mindex *m, mcursor *c);
/* Only data positions changed since c moved (mindex_set_datapos), its
   record's now dp: c stays where it is, current. */
void mcursor_moved(mindex *m, mcursor *c, int64_t dp);
int mcursor_first(mindex *m, mcursor *c);
int mcursor_last(mindex *m, mcursor *c);
int mcursor_next(mindex *m, mcursor *c);
int mcursor_prev(mindex *m, mcursor *c);
int mcursor_seek(mindex *m, mcursor *c, const uint8_t *key);
int mcursor_find(mindex *m, mcursor *c, const uint8_t *key);
int mcursor_bof(mindex *m, mcursor *c);
int mcursor_eof(mindex *m, mcursor *c);

/* ---- writing (inside a write transaction) ------------------------------------------ */
/* Append (key, dp); *leaf gets the new record's leaf. UDB_EXISTS on a
   UNIQUE index that has the key (nothing changed). */
int mindex_append(mindex *m, unsigned ix, const uint8_t *key, int64_t dp, int64_t *leaf);
/* The same in two steps, so that other work (writing the record) overlaps
   the cache misses of the leaves the append will change: find refuses a
   UNIQUE duplicate and starts fetching; at links the record in (index ix
   must not have changed in between: UDB_INVAL). */
typedef struct mappend {
    unsigned ix;
    int same;                   /* the key is already in the index */
    uint64_t epoch;
    mpath p;
} mappend;
int mindex_append_find(mindex *m, unsigned ix, const uint8_t *key, mappend *a);
int mindex_append_at(mindex *m, mappend *a, const uint8_t *key, int64_t dp, int64_t *leaf);
/* Remove all records with key. *removed = count; *landing = the leaf after
   the run, else before it, else -1. */
int mindex_delete_key(mindex *m, unsigned ix, const uint8_t *key, uint64_t *removed,
                      int64_t *landing);
/* Remove the record at leaf; *landing as above. */
int mindex_delete_leaf(mindex *m, unsigned ix, int64_t leaf, int64_t *landing);
/* The same for a leaf just found by mindex_find_path with path p (no index
   change since); *last = 0 when the next record has the same key. */
int mindex_delete_found(mindex *m, unsigned ix, int64_t leaf, const mpath *p, int64_t *landing,
                        int *last);
/* Shape check (and sentinel upgrade) before the first change of an index. */
int mindex_prepare_write(mindex *m, unsigned ix);
/* What the file makes writes to index ix refuse (the shape check of the
   first change, a tree too deep to grow), with the refusal's code and
   message; 0 when nothing does. Reads only (for the check). */
int mindex_write_refusal(mindex *m, unsigned ix);
/* Blocks from the free lists (batches appended when empty). */
int mindex_alloc_block(mindex *m, mindex_index *x, int leaves, int64_t *out);
/* k fresh blocks at the end of the file, not on any list yet */
int mindex_reserve(mindex *m, mindex_index *x, int leaves, int64_t k, int64_t *at);
/* the k blocks from at onward become the head of the free list */
int mindex_chain_free(mindex *m, mindex_index *x, int leaves, int64_t at, int64_t k);
int mindex_free_block(mindex *m, mindex_index *x, int leaves, int64_t pos);
/* Change the data position of the record at leaf. */
int mindex_set_datapos(mindex *m, unsigned ix, int64_t leaf, int64_t dp);

/* ---- placement (mindex_place.c): leaves in key order at commit ------------------------ */
typedef struct mplace {
    unsigned ix;
    int64_t from;               /* leaves at or past here may move */
    size_t n, cap, ls;          /* leaves in the chain; room (the most there
                                   can be); bytes per leaf */
    int64_t *pos;               /* where leaf j (key order) is now */
    int64_t *neu;               /* where it goes (mplace_finish) */
    uint8_t *copy;              /* leaf j's bytes */
} mplace;
/* Read the chain of index ix (p zeroed): 0, 1 when the chain and the
   bottom level disagree (nothing can move), or an error. Nothing changes. */
int mplace_begin(mindex *m, unsigned ix, int64_t from, mplace *p);
/* The data position in leaf j's copy, and a new one for it. */
int64_t mplace_dp(const mindex *m, const mplace *p, size_t j);
void mplace_set_dp(const mindex *m, mplace *p, size_t j, int64_t dp);
/* The leaves at or past from take their places in key order, with the
   copies' data positions; links, bottom items and the infos follow. The
   index must not have changed since mplace_begin. */
int mplace_finish(mindex *m, mplace *p);
void mplace_free(mplace *p);

/* ---- every leaf of an index in key order, in bounded memory (mindex_order.c) ----------- */
/* The leaves of index ix take the places they hold in key order (equal
   keys keep theirs); links, bottom items and the infos follow. UDB_CORRUPT,
   changing nothing, when the chain and the bottom level disagree. */
int mindex_order(mindex *m, unsigned ix, const progress *prog);

/* ---- bulk load: keys in order, tree built bottom-up ------------------------------------ */
typedef struct mbulk {
    mindex *m;
    unsigned ix;
    int64_t cur[MINDEX_MAX_LEVELS + 2]; /* node being filled per level, 1 = bottom */
    int64_t prev_leaf;          /* the last leaf, written when the next one comes */
    int64_t prev_prev, prev_dp; /* its predecessor and data position */
    int64_t eof_run;            /* first record whose key equals the sentinel */
    uint64_t count;
    int have_last;
    int keep_duplicates;        /* repair/convert: an original's UNIQUE index
                                   may hold duplicates, its records negative
                                   data positions; keep them */
    uint8_t *last;              /* the last key added */
    int64_t ext_next[2], ext_end[2]; /* fresh blocks still to hand out: [0] nodes, [1] leaves */
    int shared;                 /* set by a caller under which nothing else grows
                                   the file: nodes and leaves come from one stretch
                                   ([1]), grown in place, whose rest ends the file */
} mbulk;

/* The index must be empty. Equal keys keep the order they are added in. */
int mindex_bulk_begin(mindex *m, unsigned ix, mbulk *b);
int mindex_bulk_add(mbulk *b, const uint8_t *key, int64_t dp, int64_t *leaf);
int mindex_bulk_end(mbulk *b);
void mindex_bulk_free(mbulk *b);

/* ---- check ----------------------------------------------------------------------------- */
int mindex_check(mindex *m, udb_problem_fn fn, void *arg, const progress *pr, udb_check_report *rep);

/* ---- position sets ---------------------------------------------------------------------- */
int posset_add(posset *s, int64_t pos, uint32_t hint, uint32_t vgen);
posslot *posset_find(const posset *s, int64_t pos);
void posset_clear(posset *s);
void posset_free(posset *s);

#endif
