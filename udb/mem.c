/*
 * mem.c — large scratch arrays (mem.h): anonymous mappings, huge pages
 * asked for; the radix sort of positions. Owns nothing else; must not
 * touch files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

static int cmp_pos(const void *a, const void *b)
{
    int64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x > y) - (x < y);
}

static uint64_t key_at(const uint8_t *e)
{
    uint64_t k;
    memcpy(&k, e, sizeof k);
    return k;
}

/* One pass: src's elements into dst by the byte of their key at bit sh. */
static void radix_pass(const uint8_t *src, uint8_t *dst, size_t n, size_t size, unsigned sh)
{
    size_t at[256] = {0};
    for (size_t i = 0; i < n; i++)
        at[key_at(src + i * size) >> sh & 255]++;
    for (size_t d = 0, sum = 0; d < 256; d++) {
        size_t c = at[d];
        at[d] = sum;
        sum += c;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = src + i * size;
        uint8_t *to = dst + at[key_at(e) >> sh & 255]++ * size;
        if (size == 8) /* constant sizes: one move each */
            memcpy(to, e, 8);
        else
            memcpy(to, e, 16);
    }
}

int mem_sort_pos(void *a, size_t n, size_t size)
{
    if (n < 256) {
        qsort(a, n, size, cmp_pos);
        return 0;
    }
    size_t len = n * size;
    int big = len > ((size_t)1 << 20); /* a mapping costs system calls */
    uint8_t *tmp = big ? mem_big(len) : malloc(len), *src = a, *dst = tmp;
    if (!tmp)
        return -1;
    uint64_t most = 0;
    for (size_t i = 0; i < n; i++)
        most |= key_at(src + i * size);
    for (unsigned sh = 0; sh < 64 && most >> sh; sh += 8) {
        radix_pass(src, dst, n, size, sh);
        uint8_t *t = src;
        src = dst, dst = t;
    }
    if (src != (uint8_t *)a)
        memcpy(a, src, len);
    if (big)
        mem_big_free(tmp, len);
    else
        free(tmp);
    return 0;
}
