/*
 * store_maint.c — whole-store operations: compaction (records slide down
 * over the holes, the heap shrinks; or, in key order of one index, each
 * record put after the one before it, and the indexes rebuilt over them:
 * both without memory per record), the store check (indexes, holes as the
 * allocator validates them, frames, values inflated, every index's key of
 * every frame, and every byte of the heap accounted for) and the bulk
 * load. Reaches the files through heap, mindex and the pager; the index
 * rebuild is store_rebuild.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include "crc32.h"
#include "store.h"

typedef struct rec_at {
    int64_t pos, leaf;          /* leaf in index 1 */
    size_t size;
} rec_at;

static int cmp_rec(const void *a, const void *b)
{
    const rec_at *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Every record, from index 1 (each record is in it once), sorted by
   position; *out NULL when the walk fails. */
static int collect(udb_store *s, rec_at **out, size_t *n)
{
    mcursor c;
    size_t cap = 1024;
    rec_at *r = malloc(cap * sizeof *r);
    *n = 0;
    *out = NULL; /* nothing to free when the walk fails */
    int rc = r ? mcursor_init(&s->m, 0, &c) : udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
    if (rc) {
        free(r);
        return rc;
    }
    for (rc = mcursor_first(&s->m, &c); rc == 0; rc = mcursor_next(&s->m, &c)) {
        record fr;
        if ((rc = store_read(s, c.dp, &fr)))
            break;
        if (*n == cap) {
            rec_at *g = realloc(r, (cap *= 2) * sizeof *r);
            if (!g) {
                rc = udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
                break;
            }
            r = g;
        }
        r[(*n)++] = (rec_at){c.dp, c.leaf, fr.size};
    }
    mcursor_free(&c);
    if (rc != UDB_NOTFOUND) {
        free(r);
        return rc;
    }
    qsort(r, *n, sizeof *r, cmp_rec);
    *out = r;
    return 0;
}

/* ---- moving records --------------------------------------------------------------------- */
typedef struct reorder {       /* a pass of compaction */
    udb_store *s;
    unsigned ix;                /* the order's index (0-based) */
    int64_t T, S, end;          /* records placed before T; nothing live in [T, S);
                                   end: the heap's end before */
    int64_t from;               /* where the records begin (after the descriptor) */
    unsigned t;                 /* heap_used_from's table cursor */
    uint64_t n, k;              /* records placed; moves (for order_step) */
} reorder;

enum { ORDER_STEP = 64 };       /* moves (or 64 KiB chunks) between operation boundaries */

/* Spill and make room now and then: the transaction may be large. */
static int order_step(udb_store *s, uint64_t k)
{
    int rc = 0;
    if (k % ORDER_STEP == ORDER_STEP - 1 && !(rc = pager_op_end(s->b.g)))
        rc = pager_prepare(s->b.g, PAGER_OP_HEADROOM);
    return rc;
}

/* The record at p copied to q (-1: past the heap's end), each index's
   entry following it; ixleaf: its leaf in index ix when known, else -1. */
static int relocate(reorder *o, int64_t p, int64_t q, int64_t ixleaf)
{
    udb_store *s = o->s;
    int64_t leaf[STORE_MAX_INDEXES];
    record fr;
    int rc = store_read(s, p, &fr);
    for (unsigned i = 0; i < s->nidx && !rc; i++)
        if (i == o->ix && ixleaf >= 0)
            leaf[i] = ixleaf;
        else
            rc = store_locate(s, i, store_record_key(s, &fr, i), p, store_record_hint(s, &fr, i), &leaf[i]);
    size_t n = fr.size;
    uint64_t at = (uint64_t)q;
    if (rc || (q < 0 && (rc = pager_extend(s->dat_pf, pager_size(s->dat_pf) + n, &at))))
        return rc;
    uint8_t *dst = pager_put(s->dat_pf, at, n);
    const uint8_t *src = !dst ? NULL : q >= 0 && p < q + (int64_t)n ? pager_put(s->dat_pf, (uint64_t)p, n)
                                                                  : pager_get(s->dat_pf, (uint64_t)p, n);
    if (!src)
        return s->b.err.code;
    memmove(dst, src, n);
    for (unsigned i = 0; i < s->nidx && !rc; i++)
        rc = mindex_set_datapos(&s->m, i, leaf[i], (int64_t)at);
    return rc ? rc : order_step(s, ++o->k);
}

/* Every index holds exactly n entries. */
static int count_each(udb_store *s, uint64_t n)
{
    for (unsigned i = 0; i < s->nidx; i++) {
        mcursor c;
        uint64_t k = 0;
        int rc = mcursor_init(&s->m, i, &c);
        for (rc = rc ? rc : mcursor_first(&s->m, &c); rc == 0 && k <= n; rc = mcursor_next(&s->m, &c))
            k++;
        mcursor_free(&c);
        if (rc && rc != UDB_NOTFOUND)
            return rc;
        if (k != n)
            return udb_err_set(&s->b.err, UDB_CORRUPT, "index %u holds %s records than the heap (%llu); "
                               "nothing was compacted (dbe check)", i + 1, k > n ? "more" : "fewer",
                               (unsigned long long)n);
    }
    return 0;
}

/* No holes are left below end: drop the tables, give the tail back. */
static int end_heap_at(udb_store *s, uint64_t end)
{
    uint8_t *hdr = pager_put(s->dat_pf, 0, s->h.L->heap_hdr_size);
    if (!hdr)
        return s->b.err.code;
    lay_heap_hdr_set_first(s->h.L, hdr, -1);
    heap_forget(&s->h);
    s->h.first_table = -1;
    return pager_truncate(s->dat_pf, end);
}

/* ---- compaction ------------------------------------------------------------------ */
/* The heap front to back: each record slid down to T, each index's entry
   found by the key its frame holds. Memory: none per record. */
static int slide_all(reorder *o)
{
    udb_store *s = o->s;
    int64_t p, limit;
    int rc = 0;
    while (!rc && (p = heap_used_from(&s->h, o->S, o->end, &o->t, &limit)) < o->end) {
        while (!rc && p < limit) {
            record fr;
            if ((rc = store_read(s, p, &fr)))
                break;
            int64_t n = (int64_t)fr.size;
            if (n > limit - p)
                rc = udb_err_set(&s->b.err, UDB_CORRUPT, "the record at %lld runs into a hole or a "
                                 "holes table; nothing was compacted (dbe check)", (long long)p);
            else if (p != o->T)
                rc = relocate(o, p, o->T, -1);
            o->T += n;
            p += n;
            progress_tick(&s->b.prog, "compact", ++o->n, 0);
        }
        o->S = limit;
    }
    if (!rc) /* n entries in each index, naming n different records */
        rc = count_each(s, o->n);
    for (unsigned i = 0; i < s->nidx && !rc; i++)
        rc = store_holds_all(s, i, o->from, o->T);
    return rc;
}

/* A one-index store of udb 0.1 (its frames hold no key): the records
   found through index 1 (sorted by position, 24 bytes each), slid down. */
static int compact_unkeyed(udb_store *s, int64_t at)
{
    rec_at *r;
    size_t n;
    reorder o = {.s = s};
    int rc = collect(s, &r, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        progress_tick(&s->b.prog, "compact", i, n);
        if (r[i].pos < at) {
            rc = udb_err_set(&s->b.err, UDB_CORRUPT, "records at %lld overlap; compaction stopped",
                             (long long)r[i].pos);
            break;
        }
        if (r[i].pos != at)
            rc = relocate(&o, r[i].pos, at, r[i].leaf);
        at += (int64_t)r[i].size;
    }
    free(r);
    return rc ? rc : end_heap_at(s, (uint64_t)at);
}

static int compact_locked(udb_store *s)
{
    record d;
    int rc = heap_view(&s->h);
    if (rc || (rc = store_read(s, (int64_t)s->h.L->heap_hdr_size, &d)))
        return rc;
    int64_t at = d.pos + (int64_t)d.size;
    if (!s->keyed && s->nidx < 2)
        return compact_unkeyed(s, at);
    reorder o = {.s = s, .end = (int64_t)pager_size(s->dat_pf), .T = at, .S = at, .from = at};
    if ((rc = slide_all(&o)))
        return rc;
    progress_say(&s->b.prog, "compact", o.n, o.n);
    return end_heap_at(s, (uint64_t)o.T);
}

/* ---- compaction in key order ---------------------------------------------------------
   The records are taken in key order of index ix and each is put at T,
   the end of those placed before it; whatever lies where it goes is moved
   past the end of the heap first (to be placed in its turn). S runs ahead
   of T: nothing in [T, S) is live any more. A frame at S is live when
   index ix maps its key to S, else it is a copy left behind (bytes at or
   past S are never written, so such a copy is whole). Every move updates
   each index's entry. Then each index is rebuilt in its key order, from the
   frames (ix) or from a list of its entries written past the heap's end,
   and the heap ends at T. Memory: none per record. */
/* The frame at S: moved past the end when live, passed over when a copy. */
static int clear_one(reorder *o)
{
    udb_store *s = o->s;
    record fr;
    int64_t leaf;
    int rc = o->S < o->end ? store_read(s, o->S, &fr)
                           : udb_err_set(&s->b.err, UDB_CORRUPT, "%s: the records need more room than "
                                         "the heap has; nothing was reordered (dbe check)",
                                         s->dat_pf->path);
    if (rc)
        return rc;
    int64_t at = o->S;
    o->S += (int64_t)fr.size;
    rc = store_seek(s, o->ix, store_record_key(s, &fr, o->ix), at, store_record_hint(s, &fr, o->ix), &leaf);
    return rc == UDB_NOTFOUND ? 0 : rc ? rc : relocate(o, at, -1, leaf);
}

/* The record at p of n bytes, leaf its leaf in index ix, put at T. */
static int place_one(reorder *o, int64_t p, uint64_t n, int64_t leaf)
{
    int rc = 0;
    if (p == o->T && o->S == o->T) {
        o->S = o->T += (int64_t)n;
        return 0;
    }
    if (p < o->S) /* placed already, or passed over: two entries name it */
        return udb_err_set(&o->s->b.err, UDB_CORRUPT, "index %u names the record at %lld twice, or "
                           "records overlap; nothing was reordered (dbe check)", o->ix + 1, (long long)p);
    int64_t limit, S = o->S;
    while (!rc && (S = heap_used_from(&o->s->h, o->S, o->end, &o->t, &limit)) < o->T + (int64_t)n &&
           S != p) {
        o->S = S;
        rc = clear_one(o);
    }
    o->S = S;
    if (!rc && !(rc = relocate(o, p, o->T, leaf))) {
        if (o->S == p) /* it lay partly where it went: the rest of its old bytes go too */
            o->S = p + (int64_t)n;
        o->T += (int64_t)n;
        if (o->S < o->T)
            o->S = o->T;
    }
    return rc;
}

/* Every record in key order of index ix, back to back from T on. */
static int place_all(reorder *o)
{
    udb_store *s = o->s;
    mcursor c;
    int rc = mcursor_init(&s->m, o->ix, &c);
    for (rc = rc ? rc : mcursor_first(&s->m, &c); rc == 0; rc = mcursor_next(&s->m, &c)) {
        record fr;
        if ((rc = store_read(s, c.dp, &fr)) || (rc = place_one(o, c.dp, fr.size, c.leaf)))
            break;
        mcursor_moved(&s->m, &c, o->T - (int64_t)fr.size);
        progress_tick(&s->b.prog, "reorder", ++o->n, 0);
    }
    mcursor_free(&c);
    return rc == UDB_NOTFOUND ? 0 : rc;
}

/* Index i's entries (key, data position) in its order, written past the
   heap's end at *at; it must hold n, as index ix does. */
static int list_entries(udb_store *s, unsigned i, unsigned ix, uint64_t n, int64_t *at)
{
    mcursor c;
    size_t ks = s->m.ix[i].T.ks, es = ks + 8;
    uint64_t k = 0, to;
    *at = (int64_t)pager_size(s->dat_pf);
    int rc = mcursor_init(&s->m, i, &c);
    for (rc = rc ? rc : mcursor_first(&s->m, &c); rc == 0 && k < n; rc = mcursor_next(&s->m, &c), k++) {
        uint8_t *p = NULL;
        if ((rc = pager_extend(s->dat_pf, pager_size(s->dat_pf) + es, &to)) ||
            !(p = pager_put(s->dat_pf, to, es))) {
            rc = rc ? rc : s->b.err.code;
            break;
        }
        memcpy(p, c.key, ks);
        st64(p + ks, (uint64_t)c.dp);
        if ((rc = order_step(s, k)))
            break;
    }
    mcursor_free(&c);
    if (rc == UDB_NOTFOUND && k == n)
        return 0;
    if (rc && rc != UDB_NOTFOUND)
        return rc;
    return udb_err_set(&s->b.err, UDB_CORRUPT, "index %u holds %s records than index %u (%llu); "
                       "nothing was reordered (dbe check)", i + 1, k == n ? "more" : "fewer", ix + 1,
                       (unsigned long long)n);
}

/* Records in key order of index ix (0-based) from the descriptor on, then
   every index rebuilt over them: a scan reads both files front to back. */
static int order_locked(udb_store *s, unsigned ix)
{
    record d;
    int64_t list[STORE_MAX_INDEXES] = {0};
    int rc = heap_view(&s->h);
    if (!rc && !s->keyed && s->nidx < 2)
        return store_reindex(s, 0, 0, 0, NULL, 0); /* refuses: the frames hold no key */
    if (rc || (rc = store_read(s, (int64_t)s->h.L->heap_hdr_size, &d)))
        return rc;
    reorder o = {.s = s, .ix = ix, .end = (int64_t)pager_size(s->dat_pf)};
    o.T = o.S = d.pos + (int64_t)d.size;
    if (!(rc = place_all(&o)))
        progress_say(&s->b.prog, "reorder", o.n, o.n);
    for (unsigned i = 0; i < s->nidx && !rc; i++)
        if (i != ix)
            rc = list_entries(s, i, ix, o.n, &list[i]);
    if (!rc)
        rc = store_reindex(s, ix, d.pos + (int64_t)d.size, o.T, list, o.n);
    return rc ? rc : end_heap_at(s, (uint64_t)o.T);
}

int udb_store_compact_order(udb_store *s, unsigned index)
{
    api_lock(&s->b);
    int began, rc = store_index_arg(s, index ? index : 1);
    if (!rc && !(rc = api_write_begin(&s->b, &began)))
        rc = api_write_end(&s->b, began, index ? order_locked(s, index - 1) : compact_locked(s));
    api_unlock(&s->b);
    return rc;
}

int udb_store_compact(udb_store *s) { return udb_store_compact_order(s, 0); }

/* ---- check ------------------------------------------------------------------------------- */
typedef struct span {
    int64_t pos, len;
    const char *what;
} span;

typedef struct hcheck {
    udb_store *s;
    udb_problem_fn fn;
    void *arg;
    udb_check_report *rep;
    span *sp;
    size_t n, cap;
} hcheck;

__attribute__((format(printf, 3, 4))) static void problem(hcheck *c, int64_t off, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->rep->problems++;
    if (c->fn)
        c->fn(c->arg, UDB_PROBLEM, off, 0, buf);
}

static int add_span(hcheck *c, int64_t pos, int64_t len, const char *what)
{
    if (c->n == c->cap) {
        size_t k = c->cap ? 2 * c->cap : 1024;
        span *p = realloc(c->sp, k * sizeof *p);
        if (!p)
            return UDB_NOMEM;
        c->sp = p;
        c->cap = k;
    }
    c->sp[c->n++] = (span){pos, len, what};
    return 0;
}

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* A table or hole the allocator refuses. */
static void heap_bad(void *arg, int64_t pos, const char *what)
{
    problem(arg, pos, "%s", what);
}

/* Records: frame and crc32 (collect read them), the value inflates to its
   declared length, and every index (1 included) maps the record's key in
   that index to it, as a delete through any index will look for it. */
static void check_records(hcheck *c, rec_at *r, size_t n)
{
    udb_store *s = c->s;
    udb_val v = {0};
    for (size_t i = 0; i < n; i++) {
        record fr;
        progress_tick(&s->b.prog, "check heap", i, n);
        add_span(c, r[i].pos, (int64_t)r[i].size, "record");
        if (store_read(s, r[i].pos, &fr) || store_value(s, &fr, &v)) {
            problem(c, r[i].pos, "%s", udb_err_msg(&s->b.err));
            continue;
        }
        for (unsigned k = 0; k < s->nidx && s->nidx > 1; k++) {
            int64_t leaf;
            if (store_locate(s, k, store_record_key(s, &fr, k), r[i].pos, store_record_hint(s, &fr, k),
                             &leaf))
                problem(c, r[i].pos, "index %u has no entry for the record at %lld under the "
                        "record's key", k + 1, (long long)r[i].pos);
        }
    }
    udb_val_free(&v);
}

/* Every span is inside the file (checked where it was found); the sums
   are checked all the same. */
static void account(hcheck *c)
{
    int64_t at = 0, end, size = (int64_t)pager_size(c->s->dat_pf);
    qsort(c->sp, c->n, sizeof *c->sp, cmp_span);
    for (size_t i = 0; i < c->n; i++) {
        span *p = &c->sp[i];
        if (p->pos < at)
            problem(c, p->pos, "a %s at %lld overlaps what lies before it", p->what, (long long)p->pos);
        else if (p->pos > at)
            problem(c, at, "%lld bytes at %lld are neither a record, a hole nor a table",
                    (long long)(p->pos - at), (long long)at);
        if (__builtin_add_overflow(p->pos, p->len, &end) || end > size) {
            problem(c, p->pos, "a %s at %lld runs past the end of the file", p->what, (long long)p->pos);
            return;
        }
        if (end > at)
            at = end;
    }
    if (at != size)
        problem(c, at, "the heap's accounted bytes end at %lld, the file at %lld", (long long)at,
                (long long)size);
}

/* The tables and holes of the check's view (bad ones were reported and
   left out). */
static int heap_spans(hcheck *c)
{
    heap v;
    int rc = heap_check(&c->s->h, &v, heap_bad, c);
    for (unsigned i = 0; i < v.ntab && !rc; i++)
        rc = add_span(c, v.by_pos[i], (int64_t)v.tsize, "holes table");
    for (space_hole *h = space_first(&v.sp); h && !rc; h = space_next(&v.sp, h))
        rc = add_span(c, h->pos, h->size, "hole");
    heap_forget(&v);
    return rc ? udb_err_set(&c->s->b.err, rc, "out of memory") : 0;
}

static int check_heap(hcheck *c)
{
    udb_store *s = c->s;
    rec_at *r = NULL;
    size_t n = 0;
    record d;
    int64_t hs = (int64_t)s->h.L->heap_hdr_size;
    int rc = add_span(c, 0, hs, "header");
    if (store_read(s, hs, &d))
        problem(c, hs, "%s", udb_err_msg(&s->b.err));
    else if (!rc)
        rc = add_span(c, hs, (int64_t)d.size, "store descriptor");
    if (rc || (rc = heap_spans(c)))
        return rc;
    rc = collect(s, &r, &n);
    if (rc == UDB_CORRUPT) {
        problem(c, -1, "%s", udb_err_msg(&s->b.err));
        return 0;
    }
    if (rc)
        return rc;
    check_records(c, r, n);
    progress_say(&s->b.prog, "check heap", n, n);
    free(r);
    account(c);
    return 0;
}

static void count_records(udb_store *s, hcheck *c, const udb_check_report *rep)
{
    for (unsigned i = 1; i < rep->num_indexes; i++)
        if (rep->index[i].records != rep->index[0].records)
            problem(c, -1, "index %u holds %llu records, index 1 holds %llu", i + 1,
                    (unsigned long long)rep->index[i].records,
                    (unsigned long long)rep->index[0].records);
    (void)s;
}

int udb_store_check(udb_store *s, udb_problem_fn fn, void *arg, udb_check_report *rep)
{
    udb_check_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep); /* safe to free whatever happens */
    api_lock(&s->b);
    int began, rc = store_index_arg(s, 1);
    if (!rc && !(rc = api_read_begin(&s->b, &began))) {
        rc = mindex_check(&s->m, fn, arg, &s->b.prog, rep);
        if (rc == 0 || rc == UDB_CORRUPT) {
            hcheck c = {s, fn, arg, rep, NULL, 0, 0};
            count_records(s, &c, rep);
            int r2 = check_heap(&c);
            free(c.sp);
            rc = r2 ? r2 : rep->problems ? UDB_CORRUPT : 0;
            if (rc == UDB_CORRUPT)
                udb_err_set(&s->b.err, rc, "%u problem(s) found", rep->problems);
        }
        api_read_end(&s->b, began);
    }
    if (rep == &local)
        udb_check_report_free(rep);
    api_unlock(&s->b);
    return rc;
}

/* ---- bulk load ------------------------------------------------------------------------------ */
/* Records arrive sorted by index 1: they are written to the heap in that
   order (one after the other in runs of free space), index 1 is built
   bottom-up, the other indexes are appended to. */
static int load_locked(udb_store *s, udb_load_fn next, void *arg, uint64_t *loaded)
{
    mbulk b;
    store_run run = {0, 0};
    int rc = mindex_bulk_begin(&s->m, 0, &b);
    if (rc)
        return rc;
    for (;;) {
        udb_key keys[STORE_MAX_INDEXES];
        const void *val = NULL;
        size_t len = 0;
        uint8_t *k;
        int64_t pos;
        size_t size;
        int r = next(arg, keys, &val, &len);
        if (r == 1)
            break;
        if (r < 0) {
            rc = udb_err_set(&s->b.err, r, "the record source stopped the load (%d)", r);
            break;
        }
        for (unsigned i = 0; i < s->nidx && !rc; i++)
            rc = store_key_in(s, i, keys[i].data, keys[i].len, &k);
        if (rc || (rc = store_write_record(s, val, len, -1, &run, &pos, &size)) ||
            (rc = mindex_bulk_add(&b, s->keys, pos, &s->hints[0])))
            break;
        for (unsigned i = 1; i < s->nidx && !rc; i++)
            rc = mindex_append(&s->m, i, s->keys + s->key_off[i], pos, &s->hints[i]);
        if (rc || (rc = store_patch_hints(s, pos)))
            break;
        if (++*loaded % 65536 == 0 && ((rc = pager_op_end(s->b.g)) ||
                                       (rc = pager_prepare(s->b.g, PAGER_OP_HEADROOM))))
            break;
    }
    if (!rc && !(rc = store_run_end(s, &run)))
        rc = mindex_bulk_end(&b);
    mindex_bulk_free(&b);
    return rc;
}

int udb_store_load_sorted(udb_store *s, udb_load_fn next, void *arg, uint64_t *loaded)
{
    uint64_t n = 0;
    api_lock(&s->b);
    int began, rc = store_index_arg(s, 1);
    if (!rc && !next)
        rc = udb_err_set(&s->b.err, UDB_INVAL, "NULL record source");
    if (!rc && !(rc = api_write_begin(&s->b, &began))) {
        rc = load_locked(s, next, arg, &n);
        if (rc && !began)
            pager_poison(s->b.g); /* index 1 was already taken apart */
        rc = api_write_end(&s->b, began, rc);
    }
    if (loaded)
        *loaded = rc ? 0 : n;
    api_unlock(&s->b);
    return rc;
}
