/*
 * mem.h — large scratch arrays (whole-file passes: placement; the pager's
 * page bitmaps of large files): anonymous mappings reserved at their
 * largest size and touched only as far as used, in huge pages where the
 * system has them (mem_big) or in small ones (mem_zeroed). A page fault per 4 KiB
 * costs more than the work done on the page on a virtual machine. And the
 * one sort of positions the whole-file passes and the heap's deferred
 * releases share (mem_sort_pos).
 * Owns nothing else; must not touch files.
 */
#ifndef UDB_MEM_H
#define UDB_MEM_H

#include <stddef.h>

/* len bytes reading as zero, or NULL. */
void *mem_big(size_t len);
/* len bytes reading as zero, in small pages, committed only where written
   (sparse bitmaps of huge files), or NULL. */
void *mem_zeroed(size_t len);
/* Release what mem_big or mem_zeroed returned for len (NULL is a no-op). */
void mem_big_free(void *p, size_t len);

/* Sort n elements of size bytes (8 or 16) by their first 8 bytes, a
   non-negative int64_t (a file position): an LSD radix sort a byte at a
   time over as many bytes as the largest position has, qsort for a few.
   -1 when out of memory for the copy (a unchanged). */
int mem_sort_pos(void *a, size_t n, size_t size);

#endif
