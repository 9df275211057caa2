/*
 * pagemap.h — where the newest committed image of a page lies in the
 * write-ahead log: a hash from (file, page) to a log offset, kept by each
 * WAL-mode handle for the log's current generation. Part of the pager
 * layer; owns nothing but its table.
 */
#ifndef UDB_PAGEMAP_H
#define UDB_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pagemap {
    uint64_t *key;              /* file << 56 | page, + 1 (0: empty) */
    uint64_t *off;
    size_t cap, n;              /* cap: a power of two or 0 */
} pagemap;

/* 0, or -1 when out of memory (the map is then unchanged). */
int pagemap_put(pagemap *m, unsigned file, uint64_t page, uint64_t off);
/* The offset recorded for the page, or 0 when none. */
uint64_t pagemap_get(const pagemap *m, unsigned file, uint64_t page);
void pagemap_clear(pagemap *m);
void pagemap_free(pagemap *m);

#endif
