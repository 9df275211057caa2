/*
 * heap.c — HeapFile access: header, the holes-table chain as each original
 * wrote it, and the write side: allocation from a fitting hole or the end of
 * the file, release with coalescing (now, or batched and merged in
 * position order), the end of the file given back. The
 * validation of the chain and the holes before the first write is also the
 * check's (heap_check), so the two cannot disagree.
 * Holes live in readable records only (layout.c knows which), so the
 * original of the layout reads back every hole udb stores.
 * Must not know about indexes or record framing.
 */
#include <stdio.h>
#include <stdlib.h>
#include "heap.h"
#include "mem.h"

int heap_load(heap *h, pager_file *pf, int layout, udb_err *err)
{
    memset(h, 0, sizeof *h);
    h->pf = pf;
    h->err = err;
    h->L = lay_get(layout);
    space_init(&h->sp);
    const uint8_t *p = pager_get(pf, 0, h->L->heap_hdr_size);
    if (!p || !lay_ck_ok(p, h->L->heap_hdr_size))
        return udb_err_set(err, UDB_CORRUPT, "%s: heap header checksum mismatch at offset 0",
                           pf->path);
    h->first_table = lay_heap_first_table(h->L, p);
    h->slots = lay_heap_slots(h->L, p);
    h->tsize = lay_table_size(h->L, h->slots);
    h->cap = lay_table_capacity(h->L, h->slots);
    if (h->slots == 0)
        return udb_err_set(err, UDB_CORRUPT, "%s: heap header gives 0 slots per holes table",
                           pf->path);
    return 0;
}

void heap_forget(heap *h)
{
    for (unsigned i = 0; i < h->ntab; i++)
        free(h->tab[i].slot);
    free(h->tab);
    free(h->by_pos);
    free(h->roomy);
    free(h->pend);
    space_free(&h->sp);
    h->tab = NULL;
    h->by_pos = NULL;
    h->roomy = NULL;
    h->pend = NULL;
    h->ntab = h->captab = h->nroomy = 0;
    h->npend = h->cappend = 0;
    h->view = h->broken = 0;
}

void heap_free(heap *h)
{
    heap_forget(h);
}

int heap_format(pager_file *pf, const lay *L, unsigned slots, udb_err *err)
{
    uint64_t at;
    int rc = pager_extend(pf, L->heap_hdr_size, &at);
    if (rc)
        return rc;
    uint8_t *p = pager_put(pf, 0, L->heap_hdr_size);
    if (!p)
        return err->code;
    lay_heap_hdr_encode(L, p, -1, slots);
    return 0;
}

/* ---- reading --------------------------------------------------------------------- */
/* The table at pos, checked: inside the file, checksum valid. */
static const uint8_t *table_at(heap *h, int64_t pos, unsigned no)
{
    if (pos < (int64_t)h->L->heap_hdr_size || (uint64_t)pos + h->tsize > pager_size(h->pf)) {
        udb_err_set(h->err, UDB_CORRUPT, "%s: holes table %u at offset %lld lies outside the file",
                    h->pf->path, no, (long long)pos);
        return NULL;
    }
    const uint8_t *t = pager_get(h->pf, (uint64_t)pos, h->tsize);
    if (!lay_ck_ok(t, h->tsize)) {
        udb_err_set(h->err, UDB_CORRUPT, "%s: holes table %u at offset %lld: checksum mismatch",
                    h->pf->path, no, (long long)pos);
        return NULL;
    }
    if (lay_table_numused(t) > h->slots) {
        udb_err_set(h->err, UDB_CORRUPT, "%s: holes table %u at offset %lld: %u records in %u slots",
                    h->pf->path, no, (long long)pos, lay_table_numused(t), h->slots);
        return NULL;
    }
    return t;
}

int heap_walk(heap *h, int (*fn)(void *arg, const udb_hole *hole), void *arg, unsigned *tables)
{
    int rc = heap_flush(h);
    if (rc)
        return rc;
    uint64_t limit = pager_size(h->pf) / h->tsize + 1;
    unsigned no = 0;
    for (int64_t at = h->first_table; at != -1;) {
        if (++no > limit)
            return udb_err_set(h->err, UDB_CORRUPT, "%s: the holes-table chain loops", h->pf->path);
        const uint8_t *t = table_at(h, at, no);
        if (!t)
            return h->err->code;
        unsigned n = lay_table_holes(h->L, t, h->slots);
        for (unsigned r = 1; r <= n && fn; r++) {
            udb_hole hole = {no, r, at, 0, 0};
            lay_table_hole(h->L, t, r, &hole.pos, &hole.size);
            int s = fn(arg, &hole);
            if (s)
                return s;
        }
        at = lay_table_next(h->L, t);
    }
    if (tables)
        *tables = no;
    return 0;
}

/* pos and len are the caller's: a range outside the file is a bad argument. */
static int arg_range(heap *h, int64_t pos, size_t len)
{
    uint64_t size = pager_size(h->pf);
    if (pos < 0 || (uint64_t)pos > size || len > size - (uint64_t)pos)
        return udb_err_set(h->err, UDB_INVAL, "%s: %zu bytes at %lld lie outside the file (%llu bytes)",
                           h->pf->path, len, (long long)pos, (unsigned long long)size);
    return 0;
}

int heap_read(heap *h, int64_t pos, void *buf, size_t len)
{
    int rc = arg_range(h, pos, len);
    if (rc)
        return rc;
    const uint8_t *p = pager_get(h->pf, (uint64_t)pos, len);
    if (!p)
        return h->err->code;
    memcpy(buf, p, len);
    return 0;
}

/* ---- the view of free space ------------------------------------------------------------ */
static int roomy_push(heap *h, unsigned t)
{
    unsigned *r = realloc(h->roomy, (h->nroomy + 1) * sizeof *r);
    if (!r)
        return udb_err_set(h->err, UDB_NOMEM, "out of memory");
    h->roomy = r;
    h->roomy[h->nroomy++] = t;
    return 0;
}

static int table_add(heap *h, int64_t pos, unsigned count)
{
    if (h->ntab == h->captab) {
        unsigned n = h->captab ? 2 * h->captab : 16;
        htable *t = realloc(h->tab, n * sizeof *t);
        if (t)
            h->tab = t;
        int64_t *b = t ? realloc(h->by_pos, n * sizeof *b) : NULL;
        if (!b)
            return udb_err_set(h->err, UDB_NOMEM, "out of memory");
        h->by_pos = b;
        h->captab = n;
    }
    htable *t = &h->tab[h->ntab];
    t->pos = pos;
    t->count = count;
    t->slot = calloc(h->cap + 1, sizeof *t->slot);
    if (!t->slot)
        return udb_err_set(h->err, UDB_NOMEM, "out of memory");
    unsigned at = h->ntab; /* keep by_pos sorted (new tables usually go last) */
    while (at > 0 && h->by_pos[at - 1] > pos)
        at--;
    memmove(h->by_pos + at + 1, h->by_pos + at, (h->ntab - at) * sizeof *h->by_pos);
    h->by_pos[at] = pos;
    h->ntab++;
    return count < h->cap ? roomy_push(h, h->ntab - 1) : 0;
}

/* A table or hole the allocator cannot use: the view is broken (writes
   refused). Returns 1 when building stops here, 0 when the check goes on. */
static int broken(heap *h, int64_t at, const char *fmt, long long a, long long b)
{
    h->broken = 1;
    snprintf(h->why, sizeof h->why, fmt, a, b);
    if (h->bad)
        h->bad(h->bad_arg, at, h->why);
    return !h->bad;
}

/* Does [pos, pos+n) touch a table or the header? */
static int hits_structure(const heap *h, int64_t pos, int64_t n)
{
    if (pos < (int64_t)h->L->heap_hdr_size)
        return 1;
    /* tables do not overlap: only the last one starting before pos + n can */
    unsigned lo = 0, hi = h->ntab;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (h->by_pos[mid] < pos + n)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && pos < h->by_pos[lo - 1] + (int64_t)h->tsize;
}

/* Is [pos, pos+n) free of holes? */
static int overlaps_hole(const heap *h, int64_t pos, int64_t n)
{
    space_hole *b = space_before(&h->sp, pos + n - 1);
    return b && b->pos + b->size > pos;
}

/* The chain's tables into the view. A table that cannot be read ends it:
   an error, or for the check a finding. */
static int view_tables(heap *h)
{
    unsigned no = 0;
    uint64_t limit = pager_size(h->pf) / h->tsize + 1;
    if (h->cap == 0 && broken(h, 0, "the header gives %lld slot(s) per holes table: a table holds no "
                              "hole (udb needs %lld or more)", h->slots, 2))
        return 0;
    for (int64_t at = h->first_table; at != -1;) {
        const uint8_t *t = ++no > limit ? NULL : table_at(h, at, no);
        if (!t) {
            int rc = no > limit ? udb_err_set(h->err, UDB_CORRUPT, "%s: the holes-table chain loops",
                                              h->pf->path)
                                : h->err->code;
            if (!h->bad)
                return rc;
            h->broken = 1;
            h->bad(h->bad_arg, at, udb_err_msg(h->err));
            return 0;
        }
        int rc = table_add(h, at, lay_table_holes(h->L, t, h->slots));
        if (rc)
            return rc;
        at = lay_table_next(h->L, t);
    }
    for (unsigned i = 0; i + 1 < h->ntab; i++) /* by position: neighbours only */
        if (h->by_pos[i] + (int64_t)h->tsize > h->by_pos[i + 1] &&
            broken(h, h->by_pos[i + 1], "the holes table at %lld overlaps the one at %lld",
                   h->by_pos[i + 1], h->by_pos[i]))
            return 0;
    return 0;
}

/* Every hole of the tables: inside the file, clear of the header, the
   tables and the holes before it. */
static int view_holes(heap *h)
{
    int64_t size = (int64_t)pager_size(h->pf);
    for (unsigned i = 0; i < h->ntab; i++) {
        const uint8_t *t = pager_get(h->pf, (uint64_t)h->tab[i].pos, h->tsize);
        for (unsigned r = 1; r <= h->tab[i].count; r++) {
            int64_t p, n;
            lay_table_hole(h->L, t, r, &p, &n);
            const char *why = n <= 0 || p < 0 || p > size || n > size - p
                                  ? "a hole at %lld (%lld bytes) lies outside the file"
                              : hits_structure(h, p, n) || overlaps_hole(h, p, n)
                                  ? "a hole at %lld (%lld bytes) overlaps the header, a holes table or "
                                    "another hole"
                                  : NULL;
            if (why) {
                if (broken(h, h->tab[i].pos, why, p, n))
                    return 0;
                continue;
            }
            space_hole *ho = space_add(&h->sp, p, n);
            if (!ho)
                return udb_err_set(h->err, UDB_NOMEM, "out of memory");
            ho->table = i;
            ho->rec = r;
            h->tab[i].slot[r] = ho;
        }
    }
    return 0;
}

static int build_view(heap *h)
{
    if (!h->view) {
        int rc = view_tables(h);
        if (!rc && (!h->broken || h->bad)) /* the allocator stops at the first finding */
            rc = view_holes(h);
        if (rc) {
            heap_forget(h);
            return rc;
        }
        h->view = 1;
    }
    return 0;
}

int heap_check(heap *h, heap *v, heap_bad_fn bad, void *arg)
{
    int rc = heap_flush(h);
    if (rc)
        return rc;
    *v = (heap){.pf = h->pf, .err = h->err, .L = h->L, .first_table = h->first_table,
                .slots = h->slots, .tsize = h->tsize, .cap = h->cap, .bad = bad, .bad_arg = arg};
    space_init(&v->sp);
    return build_view(v);
}

/* The view built, usable for writes; pending releases stay pending. */
static int view_ok(heap *h)
{
    int rc = build_view(h);
    if (rc)
        return rc;
    if (h->broken)
        return udb_err_set(h->err, UDB_CORRUPT, "%s: %s; writes are refused", h->pf->path, h->why);
    return 0;
}

int heap_view(heap *h)
{
    int rc = view_ok(h);
    return rc ? rc : heap_flush(h);
}

int heap_free_in(heap *h, int64_t a, int64_t b)
{
    if (!h->view || h->broken || h->npend)
        return 1;
    const space_hole *x = space_before(&h->sp, a), *y = space_after(&h->sp, a);
    return (x && x->pos + x->size > a) || (y && y->pos < b);
}

/* From at on (ascending calls share *t, 0 at first): the first byte that is
   neither in a hole of the view nor in a table, and in *limit where the
   used stretch from it ends (the next hole or table, or end). */
int64_t heap_used_from(const heap *h, int64_t at, int64_t end, unsigned *t, int64_t *limit)
{
    for (;;) {
        while (*t < h->ntab && h->by_pos[*t] + (int64_t)h->tsize <= at)
            ++*t;
        int64_t tb = *t < h->ntab ? h->by_pos[*t] : INT64_MAX;
        space_hole *ho = space_before(&h->sp, at), *nx = space_after(&h->sp, at);
        if (at < end && ho && ho->pos + ho->size > at)
            at = ho->pos + ho->size;
        else if (at < end && tb <= at)
            at = tb + (int64_t)h->tsize;
        else {
            *limit = end < tb ? end : tb;
            if (nx && nx->pos < *limit)
                *limit = nx->pos;
            return at;
        }
    }
}

/* ---- holes on disk --------------------------------------------------------------------------- */
static uint8_t *table_w(heap *h, unsigned t)
{
    return pager_put(h->pf, (uint64_t)h->tab[t].pos, h->tsize);
}

/* A new, empty table at the end of the file, linked at the end of the chain. */
static int new_table(heap *h)
{
    uint64_t at;
    int rc = pager_extend(h->pf, pager_size(h->pf) + h->tsize, &at);
    if (rc)
        return rc;
    uint8_t *t = pager_put(h->pf, at, h->tsize);
    if (!t)
        return h->err->code;
    lay_table_encode(h->L, t, h->slots, -1, NULL, NULL, 0);
    uint8_t *prev = h->ntab ? table_w(h, h->ntab - 1) : pager_put(h->pf, 0, h->L->heap_hdr_size);
    if (!prev)
        return h->err->code;
    if (h->ntab)
        lay_table_set_next(h->L, prev, (int64_t)at);
    else
        lay_heap_hdr_set_first(h->L, prev, (int64_t)at);
    if (!h->ntab)
        h->first_table = (int64_t)at;
    return table_add(h, (int64_t)at, 0);
}

static int store_hole(heap *h, int64_t pos, int64_t size)
{
    while (h->nroomy && h->tab[h->roomy[h->nroomy - 1]].count >= h->cap)
        h->nroomy--;
    int rc;
    if (!h->nroomy && (rc = new_table(h)))
        return rc;
    unsigned ti = h->roomy[h->nroomy - 1];
    htable *t = &h->tab[ti];
    uint8_t *tb = table_w(h, ti);
    space_hole *ho = tb ? space_add(&h->sp, pos, size) : NULL;
    if (!ho)
        return tb ? udb_err_set(h->err, UDB_NOMEM, "out of memory") : h->err->code;
    unsigned r = ++t->count;
    lay_table_set_hole(h->L, tb, r, pos, size);
    lay_table_set_count(h->L, tb, t->count);
    ho->table = ti;
    ho->rec = r;
    t->slot[r] = ho;
    return 0;
}

/* Drop a hole: the table's last record moves into its slot. */
static int drop_hole(heap *h, space_hole *ho)
{
    htable *t = &h->tab[ho->table];
    uint8_t *tb = table_w(h, ho->table);
    if (!tb)
        return h->err->code;
    unsigned r = ho->rec, last = t->count;
    if (r != last) {
        space_hole *mv = t->slot[last];
        lay_table_set_hole(h->L, tb, r, mv->pos, mv->size);
        mv->rec = r;
        t->slot[r] = mv;
    }
    t->slot[last] = NULL;
    lay_table_set_count(h->L, tb, --t->count);
    if (last == h->cap && roomy_push(h, ho->table))
        return h->err->code;
    space_remove(&h->sp, ho);
    return 0;
}

static int resize_hole(heap *h, space_hole *ho, int64_t pos, int64_t size)
{
    uint8_t *tb = table_w(h, ho->table);
    if (!tb)
        return h->err->code;
    lay_table_set_hole(h->L, tb, ho->rec, pos, size);
    space_resize(&h->sp, ho, pos, size);
    return 0;
}

/* ---- allocation and release ------------------------------------------------------------------- */
int heap_alloc(heap *h, uint64_t n, int64_t *pos)
{
    int rc = heap_view(h);
    if (rc)
        return rc;
    if (n == 0 || n > (uint64_t)lay_maxpos(h->L))
        return udb_err_set(h->err, UDB_INVAL, "cannot allocate %llu bytes", (unsigned long long)n);
    space_hole *ho = space_fit(&h->sp, (int64_t)n);
    if (ho) {
        *pos = ho->pos;
        if (ho->size == (int64_t)n)
            return drop_hole(h, ho);
        return resize_hole(h, ho, ho->pos + (int64_t)n, ho->size - (int64_t)n);
    }
    uint64_t at, size = pager_size(h->pf);
    if (size + n - 1 > (uint64_t)lay_maxpos(h->L))
        return udb_err_set(h->err, UDB_RANGE, "%s: the %s layout cannot address past %lld bytes",
                           h->pf->path, h->L->name, (long long)lay_maxpos(h->L));
    if ((rc = pager_extend(h->pf, size + n, &at)))
        return rc;
    *pos = (int64_t)at;
    return 0;
}

/* [pos, pos+n) inside the file, past the header? */
static int release_arg(heap *h, int64_t pos, uint64_t n)
{
    int64_t size = (int64_t)pager_size(h->pf);
    if (n == 0 || pos < (int64_t)h->L->heap_hdr_size || pos > size || n > (uint64_t)(size - pos))
        return udb_err_set(h->err, UDB_INVAL, "%s: cannot free %llu bytes at %lld (file %lld bytes)",
                           h->pf->path, (unsigned long long)n, (long long)pos, (long long)size);
    return 0;
}

static int release_now(heap *h, int64_t pos, uint64_t n);

int heap_release(heap *h, int64_t pos, uint64_t n)
{
    int rc = heap_view(h);
    return rc ? rc : release_now(h, pos, n);
}

typedef struct heap_rel {
    int64_t pos, len;
} heap_rel;
#define PEND_MAX ((size_t)1 << 16) /* releases kept before a flush: 1 MiB */

int heap_release_later(heap *h, int64_t pos, uint64_t n)
{
    int rc = view_ok(h);
    if (rc || (rc = release_arg(h, pos, n)))
        return rc;
    if (hits_structure(h, pos, (int64_t)n))
        return udb_err_set(h->err, UDB_INVAL, "%s: %llu bytes at %lld hold the header or a holes table",
                           h->pf->path, (unsigned long long)n, (long long)pos);
    if (h->npend == h->cappend) {
        size_t cap = h->cappend ? 2 * h->cappend : 256;
        heap_rel *p = realloc(h->pend, cap * sizeof *p);
        if (!p) /* no room to defer: now */
            return (rc = heap_flush(h)) ? rc : release_now(h, pos, n);
        h->pend = p;
        h->cappend = cap;
    }
    h->pend[h->npend++] = (heap_rel){pos, (int64_t)n};
    return h->npend < PEND_MAX ? 0 : heap_flush(h);
}

/* The n releases in position order (non-negative, checked when they were
   taken); qsort when there is no room for the sort's copy. */
static int cmp_rel(const void *a, const void *b)
{
    const heap_rel *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void sort_rel(heap_rel *a, size_t n)
{
    if (mem_sort_pos(a, n, sizeof *a))
        qsort(a, n, sizeof *a, cmp_rel);
}

int heap_flush(heap *h)
{
    size_t n = h->npend;
    if (!n)
        return 0;
    h->npend = 0;
    sort_rel(h->pend, n); /* neighbours merge in one pass over the view */
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = release_now(h, h->pend[i].pos, (uint64_t)h->pend[i].len);
    if (rc == UDB_INVAL) { /* freed twice, or over free space: the caller's records disagree */
        char m[300];
        snprintf(m, sizeof m, "%s", udb_err_msg(h->err));
        rc = udb_err_set(h->err, UDB_CORRUPT, "%s: found when this transaction's releases were merged "
                         "into the free space (dbe check)", m);
    }
    if (rc)
        pager_poison(h->pf->g);
    return rc;
}

/* Give [pos, pos+n) back now (the view built and flushed): merge with
   neighbouring holes; what reaches the end of the file leaves the file
   (at commit). */
static int release_now(heap *h, int64_t pos, uint64_t n)
{
    int rc = release_arg(h, pos, n);
    if (rc)
        return rc;
    int64_t size = (int64_t)pager_size(h->pf), len = (int64_t)n;
    space_hole *left, *right; /* the holes around pos: one of them overlaps, if any does */
    space_around(&h->sp, pos, &left, &right);
    if (hits_structure(h, pos, len) || (left && left->pos + left->size > pos) ||
        (right && right->pos < pos + len))
        return udb_err_set(h->err, UDB_INVAL,
                           "%s: %llu bytes at %lld are already free or hold a holes table",
                           h->pf->path, (unsigned long long)n, (long long)pos);
    if (left && left->pos + left->size != pos)
        left = NULL;
    if (right && right->pos != pos + len)
        right = NULL;
    int64_t a = left ? left->pos : pos, b = right ? right->pos + right->size : pos + len;
    if (b == size) { /* reaches the end: give it back */
        if ((left && (rc = drop_hole(h, left))) || (right && (rc = drop_hole(h, right))))
            return rc;
        return pager_truncate(h->pf, (uint64_t)a);
    }
    if (left && right) {
        if ((rc = drop_hole(h, right)))
            return rc;
        return resize_hole(h, left, a, b - a);
    }
    if (left || right)
        return resize_hole(h, left ? left : right, a, b - a);
    return store_hole(h, pos, len);
}

int heap_write(heap *h, int64_t pos, const void *buf, size_t len)
{
    int rc = arg_range(h, pos, len);
    if (rc || !len || (rc = build_view(h)))
        return rc;
    if (len && hits_structure(h, pos, (int64_t)len))
        return udb_err_set(h->err, UDB_INVAL,
                           "%s: writing %zu bytes at %lld would overwrite the header or a holes table",
                           h->pf->path, len, (long long)pos);
    uint8_t *p = pager_put(h->pf, (uint64_t)pos, len);
    if (!p)
        return h->err->code;
    memcpy(p, buf, len);
    return 0;
}
