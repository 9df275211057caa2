/*
 * heap.h — HeapFiles: variable-length records at caller-known positions,
 * free space tracked in chained holes tables in the layout each original
 * reads back.
 * Owns the holes tables and, through space.c, the in-memory view of free
 * space (built at the first write). Reaches bytes only through the pager
 * and their meaning only through layout; must not know about indexes or
 * record framing (store.c).
 */
#ifndef UDB_HEAP_H
#define UDB_HEAP_H

#include "err.h"
#include "layout.h"
#include "pager.h"
#include "space.h"

typedef struct htable {
    int64_t pos;
    unsigned count;             /* readable holes stored in it */
    space_hole **slot;                /* slot[r], r = 1..capacity */
} htable;

/* A finding of the check: a table or hole the allocator refuses; pos is
   where its bytes are (the table), what says why. */
typedef void (*heap_bad_fn)(void *arg, int64_t pos, const char *what);

typedef struct heap {
    pager_file *pf;
    udb_err *err;
    const lay *L;
    int64_t first_table;
    unsigned slots;             /* HolesTableSize */
    size_t tsize;               /* bytes per table */
    unsigned cap;               /* holes per table the originals read back */
    /* the view of free space, built at the first write */
    int view;
    int broken;                 /* holes inconsistent: writes refused */
    char why[200];
    space sp;
    htable *tab;
    int64_t *by_pos;            /* the tables' positions, ascending */
    unsigned ntab, captab;
    unsigned *roomy;            /* tables that may have a free slot */
    unsigned nroomy;
    heap_bad_fn bad;            /* the check's copy only: hears every finding */
    void *bad_arg;
    struct heap_rel *pend;      /* releases not yet in the view (heap_release_later) */
    size_t npend, cappend;
} heap;

int heap_load(heap *h, pager_file *pf, int layout, udb_err *err);
void heap_free(heap *h);
/* Forget the view (after a rollback or another handle's change). */
void heap_forget(heap *h);
/* New file: the header only. */
int heap_format(pager_file *pf, const lay *L, unsigned slots, udb_err *err);
/* Walk the chain as stored: fn for every readable hole (stops when fn
   returns non-zero). *tables gets the number of tables. */
int heap_walk(heap *h, int (*fn)(void *arg, const udb_hole *hole), void *arg, unsigned *tables);
int heap_read(heap *h, int64_t pos, void *buf, size_t len);
/* Inside a write transaction. */
int heap_alloc(heap *h, uint64_t n, int64_t *pos);
int heap_release(heap *h, int64_t pos, uint64_t n);
/* The same, merged into the holes later, in position order: at the next
   heap_flush (before a commit) or anything that reads or allocates free
   space, which flush themselves. Many releases in random order (a big
   delete) then cost a sort and one pass, not a search each. Checked now:
   inside the file, clear of the header and the tables; a range freed
   twice shows at the flush (UDB_CORRUPT, the transaction poisoned). */
int heap_release_later(heap *h, int64_t pos, uint64_t n);
int heap_flush(heap *h);
int heap_write(heap *h, int64_t pos, const void *buf, size_t len);
/* The view, built on demand and flushed (0, or the reason the holes are
   unusable). */
int heap_view(heap *h);
/* 1 when free space may lie in [a, b) (or no view is built to tell). */
int heap_free_in(heap *h, int64_t a, int64_t b);
/* With the view built: from at on, the first byte in neither a hole nor a
   table, and in *limit the start of the next one (or end). Calls with at
   ascending share *t (0 at first). */
int64_t heap_used_from(const heap *h, int64_t at, int64_t end, unsigned *t, int64_t *limit);
/* The check: the view built afresh into v (h is left alone) by the
   allocator's own validation of every table and hole, except that each
   finding goes to bad and the validation goes on past it (bad holes are
   left out of v); h's pending releases are flushed first. 0, or an error
   that stopped it (out of memory). The caller releases v with
   heap_forget. */
int heap_check(heap *h, heap *v, heap_bad_fn bad, void *arg);

#endif
