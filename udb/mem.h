/*
 * mem.h — large scratch arrays (whole-file passes: placement): anonymous
 * mappings reserved at their largest size and touched only as far as
 * used, in huge pages where the system has them. A page fault per 4 KiB
 * costs more than the work done on the page on a virtual machine.
 * Owns nothing else; must not touch files.
 */
#ifndef UDB_MEM_H
#define UDB_MEM_H

#include <stddef.h>

/* len bytes reading as zero, or NULL. */
void *mem_big(size_t len);
/* Release what mem_big returned for len (NULL is a no-op). */
void mem_big_free(void *p, size_t len);

#endif
