/*
 * pagemap.c — the (file, page) -> log offset hash of WAL mode: open
 * addressing, linear probing, grown at half full. Owns its table only.
 */
#include <stdlib.h>
#include <string.h>
#include "pagemap.h"

static uint64_t key_of(unsigned file, uint64_t page) { return ((uint64_t)file << 56 | page) + 1; }

static size_t slot_of(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static int grow(pagemap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1024;
    uint64_t *key = calloc(cap, sizeof *key), *off = malloc(cap * sizeof *off);
    if (!key || !off) {
        free(key);
        free(off);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i]) {
            size_t j = slot_of(m->key[i], cap);
            while (key[j])
                j = (j + 1) & (cap - 1);
            key[j] = m->key[i];
            off[j] = m->off[i];
        }
    free(m->key);
    free(m->off);
    m->key = key;
    m->off = off;
    m->cap = cap;
    return 0;
}

int pagemap_put(pagemap *m, unsigned file, uint64_t page, uint64_t off)
{
    if (2 * (m->n + 1) > m->cap && grow(m))
        return -1;
    uint64_t k = key_of(file, page);
    size_t j = slot_of(k, m->cap);
    while (m->key[j] && m->key[j] != k)
        j = (j + 1) & (m->cap - 1);
    if (!m->key[j]) {
        m->key[j] = k;
        m->n++;
    }
    m->off[j] = off;
    return 0;
}

uint64_t pagemap_get(const pagemap *m, unsigned file, uint64_t page)
{
    if (!m->n)
        return 0;
    uint64_t k = key_of(file, page);
    for (size_t j = slot_of(k, m->cap); m->key[j]; j = (j + 1) & (m->cap - 1))
        if (m->key[j] == k)
            return m->off[j];
    return 0;
}

void pagemap_clear(pagemap *m)
{
    if (m->n)
        memset(m->key, 0, m->cap * sizeof *m->key);
    m->n = 0;
}

void pagemap_free(pagemap *m)
{
    free(m->key);
    free(m->off);
    memset(m, 0, sizeof *m);
}
