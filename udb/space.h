/*
 * space.h — the in-memory map of a heap file's holes: ordered by position
 * (sorted blocks under a directory: neighbours for coalescing, overlap
 * detection) and by size
 * (segregated size classes with a bitmap: a fitting hole without scanning).
 * Owns memory only; must not do I/O or know how holes are stored on disk.
 */
#ifndef UDB_SPACE_H
#define UDB_SPACE_H

#include <stddef.h>
#include <stdint.h>

#define SPACE_CLASSES 256

typedef struct space_hole {
    int64_t pos, size;
    unsigned table, rec;        /* where the hole is stored on disk (heap.c) */
    struct space_hole *r;       /* the next spare hole (space.c) */
    struct space_hole *cprev, *cnext; /* size-class list */
    unsigned cls;
} space_hole;

typedef struct space_slab space_slab;
typedef struct space_blk space_blk;

typedef struct space {
    space_blk **blk;            /* by position: blocks, ascending */
    int64_t *first;             /* the first position in each block */
    size_t nblk, capblk;
    space_slab *slabs;          /* where the holes live; the newest first */
    space_hole *spare;          /* freed holes, linked through r */
    space_hole *cls_head[SPACE_CLASSES];
    uint64_t cls_bits[SPACE_CLASSES / 64];
    uint64_t count, bytes;
} space;

void space_init(space *s);
void space_free(space *s);
/* Insert a new hole (must not overlap one); returns it, NULL when out of memory. */
space_hole *space_add(space *s, int64_t pos, int64_t size);
void space_remove(space *s, space_hole *h);
/* Change a hole's extent (after allocation from its front or coalescing). */
void space_resize(space *s, space_hole *h, int64_t pos, int64_t size);
/* The last hole starting at or before pos, and the first starting after it. */
space_hole *space_before(const space *s, int64_t pos);
space_hole *space_after(const space *s, int64_t pos);
/* Both at once: one search. */
void space_around(const space *s, int64_t pos, space_hole **before, space_hole **after);
/* A hole of at least n bytes (close to the smallest such), or NULL. */
space_hole *space_fit(const space *s, int64_t n);
/* Holes in position order: first, then next. */
space_hole *space_first(const space *s);
space_hole *space_next(const space *s, const space_hole *h);

#endif
