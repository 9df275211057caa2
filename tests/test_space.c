/*
 * test_space.c — the heap's in-memory map of holes (udb/space.c) against a
 * model (a sorted array): random adds, removes and resizes of up to tens of
 * thousands of holes, so that blocks split, empty and go; after every step
 * the neighbour queries (space_before, space_after, space_around), the walk in position
 * order (space_first, space_next), the count and bytes, and space_fit (never
 * a hole too small; none only when no larger size class holds one) agree
 * with the model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "space.h"
#include "testutil.h"

static uint64_t seed = 0x5eed5;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

#define SLOT 64 /* hole i of the model may lie in [i*SLOT, i*SLOT+SLOT) */

typedef struct {
    space_hole **h;   /* per slot: the hole there, or NULL */
    size_t slots, count;
    uint64_t bytes;
} model;

/* The last hole at or before pos, and the first after it, from the model. */
static space_hole *m_before(const model *m, int64_t pos)
{
    for (int64_t i = pos < 0 ? -1 : pos / SLOT; i >= 0; i--)
        if ((size_t)i < m->slots && m->h[i] && m->h[i]->pos <= pos)
            return m->h[i];
    return NULL;
}

static space_hole *m_after(const model *m, int64_t pos)
{
    for (size_t i = pos < 0 ? 0 : (size_t)(pos / SLOT); i < m->slots; i++)
        if (m->h[i] && m->h[i]->pos > pos)
            return m->h[i];
    return NULL;
}

static void check_all(const space *s, const model *m)
{
    assert_int_equal(s->count, m->count);
    assert_int_equal(s->bytes, m->bytes);
    const space_hole *h = space_first(s);
    for (size_t i = 0; i < m->slots; i++)
        if (m->h[i]) {
            assert_ptr_equal(h, m->h[i]);
            h = space_next(s, h);
        }
    assert_null(h);
}

static void check_queries(const space *s, const model *m)
{
    for (int q = 0; q < 8; q++) {
        int64_t pos = (int64_t)(rnd() % (m->slots * SLOT + 2 * SLOT)) - SLOT;
        space_hole *b, *a;
        space_around(s, pos, &b, &a);
        assert_ptr_equal(space_before(s, pos), m_before(m, pos));
        assert_ptr_equal(space_after(s, pos), m_after(m, pos));
        assert_ptr_equal(b, m_before(m, pos));
        assert_ptr_equal(a, m_after(m, pos));
    }
    int64_t n = (int64_t)(rnd() % (SLOT - 1)) + 1; /* below 64: classes of 8 bytes */
    space_hole *f = space_fit(s, n);
    if (f)
        assert_true(f->size >= n);
    else /* none in a larger class (a class of its own may hide one: a bounded scan) */
        for (size_t i = 0; i < m->slots; i++)
            assert_true(!m->h[i] || m->h[i]->size < (n / 8 + 1) * 8);
}

static void step(space *s, model *m, size_t i, int big)
{
    space_hole *h = m->h[i];
    int64_t lo = (int64_t)i * SLOT;
    if (!h) {
        int64_t off = (int64_t)(rnd() % (SLOT / 2)), size = (int64_t)(rnd() % (SLOT / 2)) + 1;
        assert_non_null(h = space_add(s, lo + off, size));
        assert_int_equal(h->pos, lo + off);
        m->h[i] = h;
        m->count++;
        m->bytes += (uint64_t)size;
    } else if (!big || rnd() % 3 == 0) {
        m->count--;
        m->bytes -= (uint64_t)h->size;
        space_remove(s, h);
        m->h[i] = NULL;
    } else { /* grow or shrink at either end, staying in its slot */
        int64_t pos = lo + (int64_t)(rnd() % (SLOT / 2)), size = (int64_t)(rnd() % (SLOT / 2)) + 1;
        m->bytes += (uint64_t)(size - h->size);
        space_resize(s, h, pos, size);
        assert_int_equal(h->pos, pos);
        assert_int_equal(h->size, size);
    }
}

static void run(size_t slots, size_t steps, int fill_in_order)
{
    space s;
    model m = {calloc(slots, sizeof *m.h), slots, 0, 0};
    assert_non_null(m.h);
    space_init(&s);
    if (fill_in_order) /* ascending, then descending: the ends of the blocks */
        for (size_t i = 0; i < slots; i++)
            step(&s, &m, i % 2 ? i : slots - 1 - i, 0);
    for (size_t k = 0; k < steps; k++) {
        step(&s, &m, (size_t)(rnd() % slots), k < steps / 2);
        if (k % 97 == 0)
            check_queries(&s, &m);
        if (k % 4099 == 0)
            check_all(&s, &m);
    }
    check_all(&s, &m);
    /* empty it in random order: blocks go, the map stays usable */
    for (size_t i = 0; i < slots; i++)
        if (m.h[(i * 7919) % slots])
            step(&s, &m, (i * 7919) % slots, 0);
    check_all(&s, &m);
    assert_null(space_first(&s));
    assert_null(space_before(&s, 1 << 20));
    assert_null(space_fit(&s, 1));
    step(&s, &m, slots / 2, 0);
    check_all(&s, &m);
    space_free(&s);
    free(m.h);
}

static void test_small(void **st)
{
    (void)st;
    for (size_t slots = 1; slots <= 300; slots += 37)
        run(slots, 4000, 0);
}

static void test_many(void **st)
{
    (void)st;
    run(40009, 400000, 1);
    run(20011, 200000, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_small), cmocka_unit_test(test_many)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
