/*
 * mem.h — large scratch arrays (whole-file passes: placement; the pager's
 * page bitmaps of large files): anonymous mappings reserved at their
 * largest size and touched only as far as used, in huge pages where the
 * system has them (mem_big) or in small ones (mem_zeroed). A page fault per 4 KiB
 * costs more than the work done on the page on a virtual machine.
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

#endif
