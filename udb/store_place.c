/*
 * store_place.c — commit-time placement: when a write transaction appended
 * a large stretch of records to the end of the heap, the frames of that
 * stretch are laid out again, just before the commit, in key order of one
 * index (index 1 unless udb_options.place_index names another); every
 * index's leaves appended by the transaction are laid out in its own key
 * order (mindex_place.c), with the new data positions, and the frames'
 * leaf hints follow. A key-order scan of a store loaded in random key
 * order then reads its leaves and records front to back.
 *
 * Owns that decision and the frames' new order. Reaches frames through
 * the pager (the stretch is this transaction's own bytes, rewritten by
 * pager_rewrite), leaves through mplace, free space through heap. Must not
 * do I/O or move anything the transaction did not write: the stretch lies
 * past the committed end of the heap, and nothing changes unless the
 * stretch holds no free space, every frame of it is met exactly once in
 * the placing index and every index points into it only at its frames.
 */
#include <stdlib.h>
#include "mem.h"
#include "store.h"

/* The line: a stretch under 1 MiB is a few hundred pages at most, which a
   scan reads cheaply in any order; and the walk of every index must stay
   a small share of the transaction's own work, so the stretch must be at
   least an eighth of the heap (a transaction that added 1/8 of the
   records walks 8 leaves per new record). */
#define PLACE_MIN_BYTES ((uint64_t)1 << 20)
#define PLACE_MIN_SHARE 8
#define BLK_SHIFT 12
#define AHEAD 8

typedef struct placing {
    udb_store *s;
    unsigned by;                /* the placing index */
    uint64_t start, end;        /* the stretch: [committed end, end) */
    uint64_t *starts;           /* bit r: a frame starts at start + r, not met yet */
    size_t n;                   /* frames in the stretch */
    uint64_t *src;              /* frame i of the new order is now at src[i] */
    int moves;                  /* some frame changes place */
    /* with two or more indexes: frame k (ascending) starts at old[k] and
       goes to neu[k]; hint[i * nidx + ix]: index ix's leaf for frame i */
    uint64_t *old, *neu, *dst;  /* dst[i]: where frame i of the new order goes */
    int64_t *hint;
    uint32_t *blk;              /* first k with old[k] >= start + b * 4 KiB */
    size_t nblk, cap;           /* cap: the most frames there can be */
    mplace *mp;                 /* each index's leaves, in key order */
    /* the output (fill): frame i from byte off */
    size_t i;
    uint64_t off;
} placing;

static void placing_free(placing *pl)
{
    size_t words = (size_t)((pl->end - pl->start) / 64 + 1);
    mem_big_free(pl->starts, words * 8);
    mem_big_free(pl->src, pl->cap * 8);
    mem_big_free(pl->old, pl->cap * 8);
    mem_big_free(pl->neu, pl->cap * 8);
    mem_big_free(pl->dst, pl->cap * 8);
    mem_big_free(pl->hint, pl->n * 8 * pl->s->nidx);
    free(pl->blk);
    for (unsigned i = 0; pl->mp && i < pl->s->nidx; i++)
        mplace_free(&pl->mp[i]);
    free(pl->mp);
}

/* The frame's size, or 0 when no record frame starts at pos. */
static uint64_t frame_at(udb_store *s, uint64_t pos, uint64_t end)
{
    const uint8_t *p = pager_peek(s->dat_pf, pos, 0);
    lay_frame f;
    if (!p || lay_frame_decode(p, (size_t)(end - pos), &f) || f.tag == LAY_FRAME_STORE)
        return 0;
    uint64_t need = (uint64_t)f.hdr + s->keys_len + s->hints_len + f.stored;
    return need <= end - pos ? need : 0;
}

/* Frames of the stretch, front to back. 1: they tile it; 0: something
   else lies there; < 0: out of memory. */
static int list_frames(placing *pl)
{
    uint64_t bits = pl->end - pl->start;
    int many = pl->s->nidx > 1;
    pl->nblk = (size_t)((bits >> BLK_SHIFT) + 1);
    pl->cap = (size_t)(bits / 8 + 1); /* a frame takes 8 bytes at least: reserved, not touched */
    if (!(pl->starts = mem_big((size_t)(bits / 64 + 1) * 8)) || !(pl->src = mem_big(pl->cap * 8)) ||
        (many && (!(pl->blk = malloc(pl->nblk * sizeof *pl->blk)) || !(pl->old = mem_big(pl->cap * 8)) ||
                  !(pl->neu = mem_big(pl->cap * 8)) || !(pl->dst = mem_big(pl->cap * 8)))))
        return -1;
    size_t b = 0;
    for (uint64_t pos = pl->start, len; pos < pl->end; pos += len, pl->n++) {
        if (!(len = frame_at(pl->s, pos, pl->end)) || pl->n >= UINT32_MAX || pl->n == pl->cap)
            return 0;
        if (many) {
            for (; b <= (pos - pl->start) >> BLK_SHIFT; b++)
                pl->blk[b] = (uint32_t)pl->n;
            pl->old[pl->n] = pos;
        }
        uint64_t r = pos - pl->start;
        pl->starts[r >> 6] |= (uint64_t)1 << (r & 63);
    }
    for (; many && b < pl->nblk; b++)
        pl->blk[b] = (uint32_t)pl->n;
    if (many && pl->n && !(pl->hint = mem_big(pl->n * pl->s->nidx * sizeof *pl->hint)))
        return -1;
    if (many && pl->n)
        memset(pl->hint, 0xff, pl->n * pl->s->nidx * sizeof *pl->hint); /* -1: none */
    return 1;
}

/* k of the frame that starts at pos (two or more indexes), or -1. */
static int64_t frame_no(const placing *pl, int64_t pos)
{
    if (pos < (int64_t)pl->start || (uint64_t)pos >= pl->end)
        return -1;
    size_t b = (size_t)(((uint64_t)pos - pl->start) >> BLK_SHIFT);
    size_t lo = pl->blk[b], hi = b + 1 < pl->nblk ? pl->blk[b + 1] : pl->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pl->old[mid] < (uint64_t)pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < pl->n && pl->old[lo] == (uint64_t)pos ? (int64_t)lo : -1;
}

/* Read-ahead for the placing walk: the frame at dp and its bit. */
static void touch(const placing *pl, int64_t dp)
{
    store_prefetch(pl->s, dp);
    if (dp >= (int64_t)pl->start && (uint64_t)dp < pl->end)
        __builtin_prefetch(&pl->starts[((uint64_t)dp - pl->start) >> 6]);
}

/* The placing index's leaf j: a frame of the stretch met once takes the
   next place of the new order. 0, or 1: placement skipped. */
static int take(placing *pl, size_t j, uint64_t *acc, size_t *met)
{
    mplace *p = &pl->mp[pl->by];
    int64_t dpi = mplace_dp(&pl->s->m, p, j);
    uint64_t dp = (uint64_t)dpi, r = dp - pl->start, len;
    if (dpi < (int64_t)pl->start)
        return 0;
    if (dp >= pl->end || !(pl->starts[r >> 6] >> (r & 63) & 1))
        return 1; /* past the stretch, not at a frame, or met before */
    pl->starts[r >> 6] &= ~((uint64_t)1 << (r & 63));
    if (!(len = frame_at(pl->s, dp, pl->end)) || len > pl->end - pl->start - *acc)
        return 1;
    if (pl->neu)
        pl->neu[frame_no(pl, dpi)] = pl->dst[*met] = pl->start + *acc;
    mplace_set_dp(&pl->s->m, p, j, (int64_t)(pl->start + *acc));
    pl->moves |= dp != pl->start + *acc;
    pl->src[(*met)++] = dp;
    *acc += len;
    return 0;
}

/* The new order of the frames, from the placing index. 1 when every frame
   of the stretch was met once. */
static int order_frames(placing *pl)
{
    mplace *p = &pl->mp[pl->by];
    uint64_t acc = 0;
    size_t met = 0;
    for (size_t j = 0; j < p->n; j++) {
        if (j + AHEAD < p->n)
            touch(pl, mplace_dp(&pl->s->m, p, j + AHEAD));
        if (take(pl, j, &acc, &met))
            return 0;
    }
    return met == pl->n && acc == pl->end - pl->start;
}

/* Another index: its leaves into the stretch, at frames only, n of them,
   get their frames' new positions (in the copies). */
static int follow(placing *pl, unsigned ix)
{
    mplace *p = &pl->mp[ix];
    size_t met = 0;
    for (size_t j = 0; j < p->n; j++) {
        int64_t dp = mplace_dp(&pl->s->m, p, j), k = frame_no(pl, dp);
        if (k < 0 && dp >= (int64_t)pl->start)
            return 0;
        if (k >= 0) {
            mplace_set_dp(&pl->s->m, p, j, (int64_t)pl->neu[k]);
            met++;
        }
    }
    return met == pl->n;
}

/* 1 when placement can go ahead, with the new order in src and in the
   leaves' copies; 0 skips it (whatever the reason: it is optional, and
   nothing has changed). */
static int plan(placing *pl)
{
    udb_store *s = pl->s;
    int64_t from = (int64_t)pager_committed_size(s->ndx_pf);
    if (heap_free_in(&s->h, (int64_t)pl->start, (int64_t)pl->end) ||
        !pager_rewritable(s->dat_pf, pl->start, pl->end - pl->start) || list_frames(pl) <= 0 ||
        !(pl->mp = calloc(s->nidx, sizeof *pl->mp)))
        return 0;
    for (unsigned i = 0; i < s->nidx; i++)
        if (mplace_begin(&s->m, i, from, &pl->mp[i]))
            return 0;
    if (!order_frames(pl))
        return 0;
    for (unsigned i = 0; i < s->nidx; i++)
        if (i != pl->by && !follow(pl, i))
            return 0;
    return 1;
}

/* hint[i * nidx + ix]: where index ix's leaf for frame i went (dst
   ascends with i). */
static void gather_hints(placing *pl)
{
    unsigned nidx = pl->s->nidx;
    for (unsigned ix = 0; ix < nidx; ix++) {
        mplace *p = &pl->mp[ix];
        for (size_t j = 0; j < p->n; j++) {
            int64_t dp = mplace_dp(&pl->s->m, p, j);
            if (dp < (int64_t)pl->start)
                continue;
            size_t lo = 0, hi = pl->n; /* the frame i that starts at dp, by the new order */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (pl->dst[mid] < (uint64_t)dp)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < pl->n)
                pl->hint[lo * nidx + ix] = p->neu[j];
        }
    }
}

/* pager_fill_fn: the frames in their new order, n bytes at a time. */
static int fill(void *arg, uint8_t *buf, size_t n)
{
    placing *pl = arg;
    udb_store *s = pl->s;
    while (n) {
        if (pl->i + AHEAD < pl->n && !pl->off)
            store_prefetch(s, (int64_t)pl->src[pl->i + AHEAD]);
        uint64_t len = pl->i < pl->n ? frame_at(s, pl->src[pl->i], pl->end) : 0;
        const uint8_t *f = len ? pager_get(s->dat_pf, pl->src[pl->i], (size_t)len) : NULL;
        if (!f)
            return udb_err_set(&s->b.err, UDB_CORRUPT, "placement: a frame changed under it");
        size_t k = len - pl->off < n ? (size_t)(len - pl->off) : n;
        memcpy(buf, f + pl->off, k);
        if (s->hints_len) { /* the hints' bytes in this piece */
            uint8_t h[8 * STORE_MAX_INDEXES];
            uint64_t h0 = lay_frame_hdr_size(f[0]) + s->keys_len;
            for (unsigned ix = 0; ix < s->nidx; ix++)
                st64(h + 8 * ix, (uint64_t)pl->hint[pl->i * s->nidx + ix]);
            for (uint64_t b = h0 > pl->off ? h0 : pl->off; b < h0 + s->hints_len && b < pl->off + k; b++)
                buf[b - pl->off] = h[b - h0];
        }
        buf += k;
        n -= k;
        if ((pl->off += k) == len) {
            pl->i++;
            pl->off = 0;
        }
    }
    return 0;
}

int store_place(udb_store *s)
{
    if (s->place_index < 0 || (unsigned)s->place_index >= s->nidx)
        return 0;
    uint64_t start = pager_committed_size(s->dat_pf), end = pager_size(s->dat_pf);
    if (end <= start || end - start < PLACE_MIN_BYTES || (end - start) * PLACE_MIN_SHARE < end)
        return 0;
    placing pl = {.s = s, .by = (unsigned)s->place_index, .start = start, .end = end};
    udb_err saved = s->b.err; /* a plan that fails only skips placement */
    int rc = 0;
    if (!plan(&pl)) {
        s->b.err = saved;
    } else {
        for (unsigned i = 0; i < s->nidx && !rc; i++)
            rc = mplace_finish(&s->m, &pl.mp[i]);
        if (!rc && s->hints_len)
            gather_hints(&pl);
        if (!rc && (pl.moves || s->hints_len))
            rc = pager_rewrite(s->dat_pf, start, end - start, fill, &pl);
    }
    placing_free(&pl);
    if (rc)
        pager_poison(s->b.g); /* leaves may be half placed */
    return rc;
}
