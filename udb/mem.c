/*
 * mem.c — large scratch arrays (mem.h): anonymous mappings, huge pages
 * asked for. Owns nothing else; must not touch files.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem.h"

#define HUGE ((size_t)2 << 20)

static size_t rounded(size_t len)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    return (len + ps - 1) / ps * ps;
}

/* len bytes of anonymous memory, committed only where touched. */
static void *anon(size_t len)
{
    int fl = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
    fl |= MAP_NORESERVE; /* reserved at the largest size, used as far as needed */
#endif
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, fl, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

void *mem_big(size_t len)
{
    if (!len || len > SIZE_MAX - 2 * HUGE)
        return NULL;
    size_t full = rounded(len) + HUGE, keep = rounded(len); /* room to start on a huge page */
    uint8_t *m = anon(full);
    if (!m)
        return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (m + full > p + keep)
        munmap(p + keep, (size_t)(m + full - (p + keep)));
#ifdef MADV_HUGEPAGE
    madvise(p, keep, MADV_HUGEPAGE); /* a hint */
#endif
    return p;
}

void *mem_zeroed(size_t len)
{
    if (!len || len > SIZE_MAX - HUGE)
        return NULL;
    void *m = anon(rounded(len));
#ifdef MADV_NOHUGEPAGE
    if (m)
        madvise(m, rounded(len), MADV_NOHUGEPAGE); /* a word written costs a page, not 2 MiB */
#endif
    return m;
}

void mem_big_free(void *p, size_t len)
{
    if (p)
        munmap(p, rounded(len));
}
