/*
 * crc32.c — CRC-32 as zlib's crc32() computes it (reflected polynomial
 * 0xEDB88320, initial and final inversion): on x86-64 processors with
 * carry-less multiplication, 64 bytes at a time by folding (Gopal et al.,
 * "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", Intel
 * 2009); elsewhere, and for the tail, eight bytes at a time with
 * slice-by-8 tables (crc32_tab.h). Same results as zlib either way (tested
 * against it). Owns nothing else.
 */
#include <stdatomic.h>
#include "crc32.h"
#include "crc32_tab.h"

/* c is the inverted running state */
static uint32_t crc_tables(uint32_t c, const uint8_t *p, size_t len)
{
    while (len && ((uintptr_t)p & 7)) {
        c = crc32_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    for (; len >= 8; len -= 8, p += 8) {
        uint32_t a = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t b = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = crc32_tab[7][a & 0xff] ^ crc32_tab[6][(a >> 8) & 0xff] ^ crc32_tab[5][(a >> 16) & 0xff] ^
            crc32_tab[4][a >> 24] ^ crc32_tab[3][b & 0xff] ^ crc32_tab[2][(b >> 8) & 0xff] ^
            crc32_tab[1][(b >> 16) & 0xff] ^ crc32_tab[0][b >> 24];
    }
    while (len--)
        c = crc32_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define FOLD(x, k, y) _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), \
                                                   _mm_clmulepi64_si128(x, k, 0x11)), y)

/* len >= 64, a multiple of 16; c is the inverted running state */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc_fold(uint32_t c, const uint8_t *p, size_t len)
{
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);
    __m128i x1 = _mm_loadu_si128((const __m128i *)p), x2 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32)), x4 = _mm_loadu_si128((const __m128i *)(p + 48));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)c));
    for (p += 64, len -= 64; len >= 64; p += 64, len -= 64) {
        x1 = FOLD(x1, k1k2, _mm_loadu_si128((const __m128i *)p));
        x2 = FOLD(x2, k1k2, _mm_loadu_si128((const __m128i *)(p + 16)));
        x3 = FOLD(x3, k1k2, _mm_loadu_si128((const __m128i *)(p + 32)));
        x4 = FOLD(x4, k1k2, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    x1 = FOLD(x1, k3k4, x2);
    x1 = FOLD(x1, k3k4, x3);
    x1 = FOLD(x1, k3k4, x4);
    for (; len >= 16; p += 16, len -= 16)
        x1 = FOLD(x1, k3k4, _mm_loadu_si128((const __m128i *)p));
    /* 128 -> 64 bits, then Barrett reduction to 32 */
    x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00), x2);
    x2 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
    x2 = _mm_clmulepi64_si128(_mm_and_si128(x2, low32), poly, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

static int fold_ok(void)
{
    static _Atomic int ok = -1; /* threads racing here compute the same */
    int v = atomic_load_explicit(&ok, memory_order_relaxed);
    if (v < 0) {
        v = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
        atomic_store_explicit(&ok, v, memory_order_relaxed);
    }
    return v;
}

uint32_t udb_crc32(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    if (len >= 64 && fold_ok()) {
        size_t n = len & ~(size_t)15;
        c = crc_fold(c, p, n);
        p += n;
        len -= n;
    }
    return ~crc_tables(c, p, len);
}
#else
uint32_t udb_crc32(uint32_t crc, const void *buf, size_t len)
{
    return ~crc_tables(~crc, buf, len);
}
#endif
