/*
 * heap.h — HeapFiles: variable-length records at caller-known positions,
 * free space tracked in chained holes tables in the layout each original
 * reads back.
 * Owns the holes tables and the in-memory view of free space. Reaches bytes
 * only through the pager and their meaning only through layout; must not
 * know about indexes or record framing (store.c).
 */
#ifndef UDB_HEAP_H
#define UDB_HEAP_H

#include "err.h"
#include "layout.h"
#include "pager.h"

typedef struct heap {
    pager_file *pf;
    udb_err *err;
    const lay *L;
    int64_t first_table;
    unsigned slots;             /* HolesTableSize */
    size_t tsize;               /* bytes per table */
} heap;

int heap_load(heap *h, pager_file *pf, int layout, udb_err *err);
void heap_free(heap *h);
/* Walk the chain as stored: fn for every readable hole (stops when fn
   returns non-zero). *tables gets the number of tables. */
int heap_walk(heap *h, int (*fn)(void *arg, const udb_hole *hole), void *arg, unsigned *tables);
int heap_read(heap *h, int64_t pos, void *buf, size_t len);

#endif
