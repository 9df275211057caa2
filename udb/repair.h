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
} rcand;

typedef struct rfrag {          /* leaves whose links agree, in chain order */
    size_t first, last, count;
    unsigned size;
    int owner;                  /* index (0-based), -1 none */
    int eof;                    /* ends at an EOF leaf */
} rfrag;

typedef struct rrec {
    const uint8_t *key;
    int64_t dp;
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

typedef struct rctx {
    const lay *L;
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
    progress pr;                /* udb_options.progress */
    const char *write_phase;    /* its phase name while the new file is written */
    uint64_t scan_done, scan_total; /* bytes: one pass per leaf size */
    uint64_t fed, to_feed;      /* records given to the new file */
} rctx;

const rcand *rep_find(const rctx *c, int64_t pos, unsigned size);
int rep_is_eof(const rctx *c, const rcand *a);
int rep_analyse(rctx *c, api_base *b, pager_file *pf, int layout);
int rep_attribute(rctx *c);
/* Mark the leaves the sound parts of each index's tree point at. */
void rep_tree_marks(rctx *c);
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

#endif
