/*
 * model.c — the in-memory reference index for the randomized tests.
 */
#include <stdlib.h>
#include <string.h>
#include "model.h"

void model_init(model *m, int type, unsigned ks, int classic, int unique)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->ks = ks;
    m->classic = classic;
    m->unique = unique;
    m->cur = -1;
}

void model_free(model *m)
{
    free(m->r);
    m->r = NULL;
}

static int sgn(long long v) { return (v > 0) - (v < 0); }

int model_cmp(const model *m, const uint8_t *a, const uint8_t *b)
{
    switch (m->type) {
    case 1: /* BLOCK */
        return sgn(memcmp(a, b, m->ks));
    case 2: /* NUM_BLOCK: last byte most significant */
        for (unsigned i = m->ks; i-- > 0;)
            if (a[i] != b[i])
                return a[i] < b[i] ? -1 : 1;
        return 0;
    case 3:
        return sgn((long long)(int16_t)(a[0] | a[1] << 8) - (int16_t)(b[0] | b[1] << 8));
    case 4: {
        int32_t x = (int32_t)((uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 | (uint32_t)a[3] << 24);
        int32_t y = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
        return sgn((long long)x - y);
    }
    case 5: {
        size_t la = strnlen((const char *)a, m->ks), lb = strnlen((const char *)b, m->ks);
        int c = memcmp(a, b, la < lb ? la : lb);
        return c ? sgn(c) : sgn((long long)la - (long long)lb);
    }
    case 6:
        return sgn((a[0] != 0) - (b[0] != 0));
    case 7:
        if (m->classic)
            return sgn((long long)(int8_t)a[0] - (int8_t)b[0]);
        return sgn((long long)a[0] - b[0]);
    }
    return 0;
}

size_t model_lower(const model *m, const uint8_t *key)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (model_cmp(m, m->r[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int model_has(const model *m, const uint8_t *key)
{
    size_t i = model_lower(m, key);
    return i < m->n && model_cmp(m, m->r[i].key, key) == 0;
}

static void model_grow(model *m)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 256;
        m->r = realloc(m->r, m->cap * sizeof *m->r);
    }
}

void model_push(model *m, const uint8_t *key, int64_t dp)
{
    model_grow(m);
    memset(m->r[m->n].key, 0, sizeof m->r[m->n].key);
    memcpy(m->r[m->n].key, key, m->ks);
    m->r[m->n++].dp = dp;
}

int model_append(model *m, const uint8_t *key, int64_t dp)
{
    if (m->unique && model_has(m, key))
        return -1;
    model_grow(m);
    size_t i = model_lower(m, key); /* newest first: in front of the run */
    memmove(m->r + i + 1, m->r + i, (m->n - i) * sizeof *m->r);
    memset(m->r[i].key, 0, sizeof m->r[i].key);
    memcpy(m->r[i].key, key, m->ks);
    m->r[i].dp = dp;
    m->n++;
    m->cur = (long)i;
    return 0;
}

/* Remove [i, j); the cursor goes to what followed, else what preceded. */
static void remove_range(model *m, size_t i, size_t j)
{
    memmove(m->r + i, m->r + j, (m->n - j) * sizeof *m->r);
    m->n -= j - i;
    if (i < m->n)
        m->cur = (long)i;
    else
        m->cur = i > 0 ? (long)i - 1 : -1;
}

size_t model_delete_key(model *m, const uint8_t *key)
{
    size_t i = model_lower(m, key), j = i;
    while (j < m->n && model_cmp(m, m->r[j].key, key) == 0)
        j++;
    if (j > i)
        remove_range(m, i, j);
    return j - i;
}

int model_delete_cur(model *m, model_rec *removed)
{
    if (m->cur < 0 || (size_t)m->cur >= m->n)
        return -1;
    if (removed)
        *removed = m->r[m->cur];
    remove_range(m, (size_t)m->cur, (size_t)m->cur + 1);
    return 0;
}

/* On an empty index both leave the cursor on the EOF leaf. */
int model_first(model *m)
{
    m->cur = 0;
    return m->n ? 0 : -1;
}

int model_last(model *m)
{
    m->cur = (long)m->n - 1;
    if (!m->n)
        m->cur = 0;
    return m->n ? 0 : -1;
}

int model_next(model *m)
{
    if (m->cur < 0 || (size_t)m->cur + 1 >= m->n)
        return -1;
    m->cur++;
    return 0;
}

int model_prev(model *m)
{
    if (m->cur <= 0)
        return -1;
    if ((size_t)m->cur > m->n)
        return -1;
    m->cur--;
    return 0;
}

int model_seek(model *m, const uint8_t *key)
{
    m->cur = (long)model_lower(m, key);
    return (size_t)m->cur < m->n ? 0 : -1;
}

int model_find(model *m, const uint8_t *key)
{
    size_t i = model_lower(m, key);
    m->cur = (long)i;
    return i < m->n && model_cmp(m, m->r[i].key, key) == 0 ? 0 : -1;
}
