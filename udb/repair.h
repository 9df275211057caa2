/*
 * repair.h — state shared by repair.c (finding leaves and fragments) and
 * repair_build.c (attributing them, rebuilding the file). Nothing else
 * includes it.
 */
#ifndef UDB_REPAIR_H
#define UDB_REPAIR_H

#include "api_int.h"
#include "layout.h"

typedef struct rcand {          /* a leaf-shaped block: valid checksum */
    int64_t pos, next, prev, dp;
    unsigned size;
    int frag;                   /* fragment it belongs to, -1 none */
    int tree_ix;                /* a tree's bottom item points here, -1 none */
    int fwd_ok, back_ok;        /* the neighbour links back */
    int on_free;                /* on the free-leaf list of index on_free - 1, 0 none */
    int live;                   /* judged a leaf of some chain */
    int doubt;                  /* a free leaf's shape, kept as a record (DOUBT_*) */
} rcand;

enum { DOUBT_NONE, DOUBT_LISTED, DOUBT_LINK };

typedef struct rfrag {          /* leaves whose links agree, in chain order */
    size_t first, last, count;
    unsigned size;
    int owner;                  /* index (0-based), -1 none */
    int eof;                    /* ends at an EOF leaf */
} rfrag;

typedef struct rrec {
    const uint8_t *key;
    int64_t dp;
    int64_t leaf;               /* where it was found */
    uint64_t order;             /* chain order, for stable sorting */
} rrec;

typedef struct rep_index {
    lay_info info;
    lay_tree T;
    int usable, info_ok;
    rrec *rec;
    size_t nrec;
    udb_repair_index stat;
} rep_index;

typedef struct rspan {         /* the bytes [a, b) of a block */
    int64_t a, b;
} rspan;

typedef struct rctx {
    const lay *L;
    struct pager_file *pf;      /* the file read (its holes are skipped) */
    const uint8_t *d;
    uint64_t size, body;
    unsigned n;
    rep_index *ix;
    rcand *cand;
    size_t ncand, capcand;
    long *hash;
    size_t hcap;
    rfrag *frag;
    size_t nfrag, capfrag;
    unsigned kmax;
    uint8_t *kbuf;
    udb_err *err;
    udb_problem_fn fn;
    void *arg;
    uint64_t problems, notes;
    uint64_t dropped, doubtful; /* records not kept / kept in doubt, each reported */
    struct rgap *gap;           /* the links of chain leaves that lead nowhere */
    size_t ngap;
    struct rspan *nodes;        /* the sound tree nodes the walks passed, the free nodes */
    size_t nnodes, capnodes;
    progress pr;                /* udb_options.progress */
    const char *write_phase;    /* its phase name while the new file is written */
    uint64_t scan_done, scan_total; /* bytes: one pass per leaf size */
    uint64_t fed, to_feed;      /* records given to the new file */
} rctx;

/* The array p (*cap elements of elem bytes, n in use) with room for one
   more: p, or p grown to twice (first when empty) with *cap updated; NULL
   when out of memory (p is then still valid). */
void *rep_room(void *p, size_t n, size_t *cap, size_t elem, size_t first);
const rcand *rep_find(const rctx *c, int64_t pos, unsigned size);
int rep_is_eof(const rctx *c, const rcand *a);
int rep_analyse(rctx *c, api_base *b, pager_file *pf, int layout);
int rep_attribute(rctx *c);
/* Mark the leaves the sound parts of each index's tree point at; note the
   bytes of the nodes passed and of the free nodes. */
int rep_tree_marks(rctx *c);
int rep_collect(rctx *c);
void rep_free(rctx *c);
/* Sort an index's records by key, equal keys in their order. */
int rep_sort(rep_index *x);
/* A new file at path: every usable index of c defined (maxitems / keysize
   replaced when not 0) and bulk loaded with its records. */
int rep_write_new(rctx *c, const char *path, const udb_options *opts, unsigned maxitems,
                  unsigned keysize, udb_err *err);
void rep_say(rctx *c, int sev, int64_t off, unsigned index, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A finding about one record: index (1-based, 0 unknown), its key shown
   as text of the index's type (keytype 0: bytes in hex), data position,
   the leaf it was found in, and why. A UDB_PROBLEM counts as dropped, a
   UDB_NOTE as kept in doubt. */
void rep_record(rctx *c, int sev, unsigned index, int keytype, const uint8_t *key, unsigned ks,
                int64_t dp, int64_t leaf, const char *fmt, ...) __attribute__((format(printf, 9, 10)));
/* Is a a free leaf's shape: prev -1, data position 0, key all zero? */
int rep_free_shaped(const rctx *c, const rcand *a);
/* Sort spans by start; 1 when [a, b) overlaps one of them (pmax: the
   running maximum of the ends, filled by rep_spans_sort). */
void rep_spans_sort(rspan *s, size_t n, int64_t *pmax);
int rep_spans_overlap(const rspan *s, const int64_t *pmax, size_t n, int64_t a, int64_t b);

#endif
