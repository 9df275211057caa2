/*
 * store_rebuild.c — a store's indexes rebuilt from its records
 * (udb_store_repair): the live frames of NAME.dat, those between the holes
 * and the holes tables, each checked, then every index of a new NAME.ndx
 * loaded bottom-up with them, in one journaled transaction; and what a
 * store's descriptor says (udb_store_about_get). Reads frames through
 * store.c and the holes through heap.c's view; writes NAME.ndx through
 * mindex and the frames' leaf hints through store.c. Must not change a
 * record (its hints aside) or the holes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "store.h"

enum { RB_STEP = 64 };          /* records between two operation boundaries */

typedef struct rb_entry {       /* one record under one index, for sorting */
    const uint8_t *key;
    int64_t pos;
    const lay_tree *T;
    size_t rec;
    uint64_t tie;               /* order among equal keys, ascending */
} rb_entry;

typedef struct rebuild {
    udb_store *s;
    int want_layout;
    udb_problem_fn fn;
    void *arg;
    udb_store_repair_report *rep;
    udb_index_def defs[STORE_MAX_INDEXES];
    int64_t *pos;               /* the live records' frames, in file order */
    uint8_t *keys;              /* their keys, keys_len bytes each */
    size_t n, cap;
    int64_t *leaf;              /* n * nidx: each record's leaf per index */
    int64_t *skip;              /* pairs (position, bytes) of unreadable stretches */
    size_t nskip, capskip;
    uint64_t budget;            /* bytes a resynchronisation may still check */
    uint64_t steps;
    udb_val tmp;                /* inflation check */
} rebuild;

__attribute__((format(printf, 4, 5))) static void say(rebuild *c, int sev, int64_t off,
                                                     const char *fmt, ...)
{
    char buf[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (c->fn)
        c->fn(c->arg, sev, off, 0, buf);
}

/* Between operations now and then: dirty pages may spill, files may grow. */
static int step(rebuild *c)
{
    udb_store *s = c->s;
    int rc = 0;
    if (++c->steps % RB_STEP == 0 && !(rc = pager_op_end(s->b.g)))
        rc = pager_prepare(s->b.g, PAGER_OP_HEADROOM);
    return rc;
}

/* ---- definitions ------------------------------------------------------------------------ */
/* A growth batch as a definition takes it (0: the default). */
static int64_t batch(int64_t n)
{
    return n > 0 && n <= INT32_MAX ? n : 0;
}

static udb_index_def def_of_info(const lay_info *f)
{
    return (udb_index_def){(int)f->keytype, f->keysize, f->attrib, f->maxitems,
                           batch(f->create_nodes), batch(f->create_leaves)};
}

/* NAME.ndx's definitions, when its header and every index info read. */
static int defs_of_infos(rebuild *c, udb_index_def *out, char *why, size_t n)
{
    udb_store *s = c->s;
    int layout, ok = 0;
    if (pager_size(s->ndx_pf) == 0)
        snprintf(why, n, "it is empty");
    else if (api_detect(&s->b, s->ndx_pf, LAY_FILE_NDX, s->layout, &layout) ||
             mindex_load(&s->m, s->ndx_pf, s->layout, &s->b.err))
        snprintf(why, n, "%s", udb_err_msg(&s->b.err));
    else if (s->m.count != s->nidx)
        snprintf(why, n, "it has %u indexes, the store %u", s->m.count, s->nidx);
    else
        ok = 1;
    for (unsigned i = 0; ok && i < s->nidx; i++) {
        const mindex_index *x = &s->m.ix[i];
        const lay_info *f = &x->info;
        if (!(ok = x->usable))
            snprintf(why, n, "index %u: %s", i + 1, x->why);
        out[i] = def_of_info(f);
    }
    mindex_free(&s->m);
    return ok ? 0 : -1;
}

/* The first index whose key type or size differ (1-based), 0 when none. */
static unsigned differ(const udb_index_def *a, const udb_index_def *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (a[i].keytype != b[i].keytype || a[i].keysize != b[i].keysize)
            return i + 1;
    return 0;
}

static const char *source_name(int from)
{
    return from == UDB_DEFS_INFOS ? "the index infos" : from == UDB_DEFS_DESCRIPTOR
                                                            ? "the store descriptor" : "the caller";
}

/* The caller's definitions: used when nothing else has them, else they
   must agree with what was found. */
static int given_defs(rebuild *c, const udb_store_def *given, int *from)
{
    udb_store *s = c->s;
    unsigned i;
    if (given->num_indexes != s->nidx || !given->index)
        return udb_err_set(&s->b.err, UDB_INVAL,
                           "the store has %u index(es): give one definition for each, not %u",
                           s->nidx, given->num_indexes);
    if (*from && (i = differ(c->defs, given->index, s->nidx)))
        return udb_err_set(&s->b.err, UDB_INVAL,
                           "index %u: the definition given (key type %d, key size %u) is not the "
                           "store's (key type %d, key size %u, from %s)", i,
                           given->index[i - 1].keytype, given->index[i - 1].keysize,
                           c->defs[i - 1].keytype, c->defs[i - 1].keysize, source_name(*from));
    if (!*from) {
        memcpy(c->defs, given->index, s->nidx * sizeof *c->defs);
        *from = UDB_DEFS_CALLER;
    }
    return 0;
}

/* Infos, else the descriptor (version 2), else the caller's. */
static int choose_defs(rebuild *c, const udb_index_def *desc, const udb_store_def *given)
{
    udb_store *s = c->s;
    char why[480], msg[200];
    int from = 0, rc;
    unsigned i;
    if (defs_of_infos(c, c->defs, why, sizeof why))
        say(c, UDB_NOTE, -1, "%s: the index definitions cannot be read (%s)", s->ndx_pf->path, why);
    else if (s->version >= 2 && (i = differ(c->defs, desc, s->nidx)))
        say(c, UDB_PROBLEM, -1, "index %u: %s defines key type %d, key size %u, the store descriptor "
            "key type %d, key size %u (the frames were written by the descriptor's): the "
            "descriptor's definitions are used", i, s->ndx_pf->path, c->defs[i - 1].keytype,
            c->defs[i - 1].keysize, desc[i - 1].keytype, desc[i - 1].keysize);
    else
        from = UDB_DEFS_INFOS;
    if (!from && s->version >= 2) {
        memcpy(c->defs, desc, s->nidx * sizeof *c->defs);
        from = UDB_DEFS_DESCRIPTOR;
    }
    if (given && (rc = given_defs(c, given, &from)))
        return rc;
    if (!from)
        return udb_err_set(&s->b.err, UDB_INVAL,
                           "the index definitions are lost: %s cannot give them and the store "
                           "descriptor of %s (version 1, udb 0.1) does not hold them; give them as "
                           "the store was created", s->ndx_pf->path, s->dat_pf->path);
    for (i = 0; i < s->nidx; i++)
        if (udb_index_def_check(s->layout, &c->defs[i], msg, sizeof msg))
            return udb_err_set(&s->b.err, UDB_INVAL, "index %u: the definition from %s is not "
                               "usable: %s", i + 1, source_name(from), msg);
    c->rep->defs_from = from;
    return 0;
}

/* ---- the live records -------------------------------------------------------------------- */
/* The frame at pos, inside [pos, limit): NULL when it is a record as udb
   writes it (size, crc32, inflation, keys in normal form), else why not.
   budget (when not NULL) pays for the crc32. */
static const char *frame_check(rebuild *c, int64_t pos, int64_t limit, record *r, uint64_t *budget)
{
    udb_store *s = c->s;
    const uint8_t *p = pager_get(s->dat_pf, (uint64_t)pos, 0);
    size_t avail = (size_t)(limit - pos);
    lay_frame f;
    if (!p || lay_frame_decode(p, avail, &f))
        return "no record frame starts there";
    if (f.tag == LAY_FRAME_STORE)
        return "a second store descriptor";
    if (f.hdr + s->keys_len + s->hints_len + f.stored > avail)
        return "the frame runs into free space, a holes table or the end of the file";
    if (f.tag == LAY_FRAME_DEFLATE && f.raw > 1032 * (uint64_t)f.stored + 64) /* deflate's limit */
        return "its length before compression is more than deflate can give";
    if (budget && *budget < f.stored)
        return "out of budget";
    if (budget)
        *budget -= f.stored;
    if (store_read(s, pos, r) || (r->f.tag == LAY_FRAME_DEFLATE && store_value(s, r, &c->tmp)))
        return udb_err_msg(&s->b.err);
    for (unsigned i = 0; i < s->nidx; i++) {
        const lay_tree *T = &s->m.ix[i].T;
        const uint8_t *k = r->keys + s->key_off[i];
        uint8_t *norm = s->keys + s->key_off[i];
        if (lay_key_make(T, k, T->ks, norm) || memcmp(norm, k, T->ks))
            return "a key in the frame is not one udb writes";
    }
    return NULL;
}

/* The next position in [from, limit) where a sound frame starts, else
   limit. What the crc32s may cost is bounded over the whole walk. */
static int64_t resync(rebuild *c, int64_t from, int64_t limit)
{
    const uint8_t *d = pager_get(c->s->dat_pf, 0, (size_t)limit);
    record r;
    uint64_t data = 0, data_end = 0; /* a frame begins with a byte that is not 0: the holes
                                        of a sparse file are passed over, not read */
    for (int64_t at = from; d && at < limit && c->budget; at++) {
        if ((uint64_t)at >= data_end) {
            if (pager_next_data(c->s->dat_pf, (uint64_t)at, &data, &data_end) || data >= (uint64_t)limit)
                return limit;
            at = (int64_t)data;
        }
        if ((d[at] == LAY_FRAME_PLAIN || d[at] == LAY_FRAME_DEFLATE) &&
            !frame_check(c, at, limit, &r, &c->budget))
            return at;
    }
    return limit;
}

/* Bytes in use that hold no sound frame: reported, freed after the load. */
static int skipped(rebuild *c, int64_t at, int64_t next, const char *why)
{
    udb_store *s = c->s;
    if (c->nskip == c->capskip) {
        size_t k = c->capskip ? 2 * c->capskip : 64;
        int64_t *p = realloc(c->skip, 2 * k * sizeof *p);
        if (!p)
            return udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
        c->skip = p;
        c->capskip = k;
    }
    c->skip[2 * c->nskip] = at;
    c->skip[2 * c->nskip++ + 1] = next - at;
    c->rep->bad_frames++;
    c->rep->bytes_skipped += (uint64_t)(next - at);
    say(c, UDB_PROBLEM, at, "no sound record at offset %lld (%s): the %lld bytes up to %lld are "
        "skipped and become free space; a record in them is lost", (long long)at, why,
        (long long)(next - at), (long long)next);
    return 0;
}

static int keep(rebuild *c, const record *r)
{
    udb_store *s = c->s;
    if (c->n == c->cap) {
        size_t k = c->cap ? 2 * c->cap : 4096;
        int64_t *p = realloc(c->pos, k * sizeof *p);
        if (p)
            c->pos = p;
        uint8_t *q = p ? realloc(c->keys, k * s->keys_len) : NULL;
        if (!q)
            return udb_err_set(&s->b.err, UDB_NOMEM, "out of memory (%zu records)", k);
        c->keys = q;
        c->cap = k;
    }
    c->pos[c->n] = r->pos;
    memcpy(c->keys + c->n * s->keys_len, r->keys, s->keys_len);
    c->n++;
    return 0;
}

/* Frames one after the other in [at, limit), the space between two holes
   or tables: a bad one is reported and passed over to the next sound one. */
static int stretch(rebuild *c, int64_t at, int64_t limit)
{
    record r;
    char why[480];
    int rc = 0;
    while (at < limit && !rc) {
        const char *bad = frame_check(c, at, limit, &r, NULL);
        if (!bad) {
            rc = keep(c, &r);
            at += (int64_t)r.size;
            continue;
        }
        snprintf(why, sizeof why, "%s", bad); /* before resync's checks overwrite it */
        int64_t next = resync(c, at + 1, limit);
        rc = skipped(c, at, next, why);
        at = next;
    }
    return rc;
}

/* Every stretch of the heap between the descriptor, holes and tables. */
static int walk(rebuild *c, int64_t at)
{
    udb_store *s = c->s;
    heap *h = &s->h;
    int64_t end = (int64_t)pager_size(s->dat_pf), limit;
    unsigned t = 0;
    int64_t report = 1 << 20;   /* the next progress report: every MiB */
    int rc = 0;
    c->budget = 4 * (uint64_t)end + (1u << 20);
    progress_say(&s->b.prog, "rebuild scan", 0, (uint64_t)end);
    while (!rc && (at = heap_used_from(h, at, end, &t, &limit)) < end) {
        rc = stretch(c, at, limit);
        at = limit;
        if (at >= report && at < end) {
            progress_say(&s->b.prog, "rebuild scan", (uint64_t)at, (uint64_t)end);
            report = at + (1 << 20);
        }
    }
    progress_say(&s->b.prog, "rebuild scan", (uint64_t)end, (uint64_t)end);
    c->rep->holes = h->sp.count;
    return rc;
}

/* ---- the new index file ---------------------------------------------------------------- */
static int format_ndx(rebuild *c)
{
    udb_store *s = c->s;
    int rc;
    if ((rc = pager_truncate(s->ndx_pf, 0)) ||
        (rc = mindex_format(s->ndx_pf, lay_get(s->layout), s->nidx, &s->b.err)) ||
        (rc = mindex_load(&s->m, s->ndx_pf, s->layout, &s->b.err)))
        return rc;
    s->loaded = 1;
    for (unsigned i = 0; i < s->nidx; i++)
        if ((rc = mindex_define(&s->m, i, &c->defs[i])))
            return rc;
    return store_setup_keys(s);
}

static int cmp_entry(const void *a, const void *b)
{
    const rb_entry *x = a, *y = b;
    int k = lay_cmp(x->T, x->key, y->key);
    return k ? k : (x->tie > y->tie) - (x->tie < y->tie);
}

static void clash(rebuild *c, unsigned ix, const rb_entry *a, const rb_entry *b)
{
    c->rep->unique_clashes++;
    say(c, UDB_PROBLEM, b->pos, "index %u is UNIQUE, but the records at %lld and %lld have the same "
        "key: both are kept (one may be a deleted record whose hole was lost)", ix + 1,
        (long long)a->pos, (long long)b->pos);
}

static int load_index(rebuild *c, unsigned ix, rb_entry *e)
{
    udb_store *s = c->s;
    mindex_index *x = &s->m.ix[ix];
    mbulk b;
    for (size_t k = 0; k < c->n; k++)
        e[k] = (rb_entry){c->keys + k * s->keys_len + s->key_off[ix], c->pos[k], &x->T, k,
                          UINT64_MAX - (uint64_t)c->pos[k]};
    /* equal keys: the highest position first */
    qsort(e, c->n, sizeof *e, cmp_entry);
    int rc = mindex_bulk_begin(&s->m, ix, &b);
    b.keep_duplicates = 1;
    b.shared = 1;
    for (size_t k = 0; k < c->n && !rc; k++) {
        int64_t leaf;
        if (k && (x->info.attrib & UDB_UNIQUE) && !lay_cmp(&x->T, e[k - 1].key, e[k].key))
            clash(c, ix, &e[k - 1], &e[k]);
        if (!(rc = mindex_bulk_add(&b, e[k].key, e[k].pos, &leaf)) && c->leaf)
            c->leaf[e[k].rec * s->nidx + ix] = leaf;
        if (!rc)
            rc = step(c);
        progress_tick(&s->b.prog, "rebuild index", k, c->n);
    }
    if (!rc)
        rc = mindex_bulk_end(&b);
    mindex_bulk_free(&b);
    return rc;
}

/* Every index loaded; each frame's leaf hints then name its new leaves. */
static int load_all(rebuild *c)
{
    udb_store *s = c->s;
    rb_entry *e = malloc((c->n ? c->n : 1) * sizeof *e);
    int rc = e ? 0 : udb_err_set(&s->b.err, UDB_NOMEM, "out of memory (%zu records)", c->n);
    if (!rc && s->hints_len && !(c->leaf = malloc((c->n ? c->n : 1) * s->nidx * sizeof *c->leaf)))
        rc = udb_err_set(&s->b.err, UDB_NOMEM, "out of memory (%zu records)", c->n);
    for (unsigned i = 0; i < s->nidx && !rc; i++)
        rc = load_index(c, i, e);
    free(e);
    for (size_t k = 0; k < c->n && !rc && c->leaf; k++) {
        memcpy(s->hints, c->leaf + k * s->nidx, s->nidx * sizeof *s->hints);
        if (!(rc = store_patch_hints(s, c->pos[k])))
            rc = step(c);
    }
    progress_say(&s->b.prog, "rebuild index", c->n, c->n);
    return rc;
}

/* ---- the whole rebuild ----------------------------------------------------------------- */
static int refuse_unkeyed(udb_store *s)
{
    return udb_err_set(&s->b.err, UDB_FORMAT,
                       "%s belongs to a one-index store written by udb 0.1 (store descriptor "
                       "version 1): its frames hold no key, so the index cannot be rebuilt from "
                       "the records (udb_repair can rebuild %s from its own leaves)",
                       s->dat_pf->path, s->ndx_pf->path);
}

static int open_heap_desc(rebuild *c, lay_store_desc *d, udb_index_def *defs, int64_t *desc_end)
{
    udb_store *s = c->s;
    record r;
    int rc;
    if ((rc = api_detect(&s->b, s->dat_pf, LAY_FILE_HEAP, c->want_layout, &s->layout)) ||
        (rc = heap_load(&s->h, s->dat_pf, s->layout, &s->b.err)) ||
        (rc = store_descriptor(s, d, defs)) ||
        (rc = store_read(s, (int64_t)s->h.L->heap_hdr_size, &r)))
        return rc;
    *desc_end = r.pos + (int64_t)r.size;
    return 0;
}

static int rebuild_locked(rebuild *c, const udb_store_def *given)
{
    udb_store *s = c->s;
    udb_index_def desc[STORE_MAX_INDEXES];
    lay_store_desc d;
    int64_t at;
    int rc = open_heap_desc(c, &d, desc, &at);
    if (rc)
        return rc;
    c->rep->num_indexes = s->nidx;
    c->rep->size_before = pager_size(s->ndx_pf);
    if (!s->keyed && s->nidx < 2)
        return refuse_unkeyed(s);
    if ((rc = choose_defs(c, desc, given)))
        return rc;
    if ((rc = heap_view(&s->h)) != UDB_CORRUPT && rc)
        return rc;
    if (rc)
        return udb_err_set(&s->b.err, UDB_CORRUPT,
                           "the holes tables cannot be trusted (%s): freed space keeps its old "
                           "frames, so a deleted record cannot be told from a live one; nothing "
                           "was rebuilt", udb_err_msg(&s->b.err));
    if ((rc = format_ndx(c)) || (rc = walk(c, at)))
        return rc;
    if (!c->n && c->rep->bad_frames)
        return udb_err_set(&s->b.err, UDB_CORRUPT,
                           "not one frame of %s reads as a record with these definitions (are they "
                           "the store's?); nothing was rebuilt", s->dat_pf->path);
    if ((rc = load_all(c)))
        return rc;
    for (size_t k = 0; k < c->nskip && !rc; k++)
        rc = heap_release(&s->h, c->skip[2 * k], (uint64_t)c->skip[2 * k + 1]);
    if (rc)
        return rc;
    c->rep->records = c->n;
    c->rep->size_after = pager_size(s->ndx_pf);
    return 0;
}

/* ---- reindex after a reordering compaction --------------------------------------------- */
/* One entry into a bulk load; the frame at dp gets its hint. */
static int reindex_add(rebuild *c, mbulk *b, unsigned ix, const uint8_t *key, int64_t dp)
{
    int64_t leaf;
    int rc = mindex_bulk_add(b, key, dp, &leaf);
    if (!rc)
        rc = store_patch_hint(c->s, dp, ix, leaf);
    progress_tick(&c->s->b.prog, "rebuild index", b->count, 0);
    return rc ? rc : step(c);
}

/* Index ix from the frames in [from, to), which lie in its key order. */
static int reindex_heap(rebuild *c, mbulk *b, unsigned ix, int64_t from, int64_t to)
{
    udb_store *s = c->s;
    uint8_t *key = malloc(s->m.ix[ix].T.ks);
    int rc = key ? 0 : udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
    for (int64_t at = from; at < to && !rc;) {
        record r;
        if (!(rc = store_read(s, at, &r))) {
            memcpy(key, store_record_key(s, &r, ix), s->m.ix[ix].T.ks);
            rc = reindex_add(c, b, ix, key, at);
            at += (int64_t)r.size;
        }
    }
    free(key);
    return rc;
}

/* Index i from n entries (key, then the data position in 8 bytes) at src
   of NAME.dat, in key order; each must name a frame that index ix (built
   already) holds, with i's key. */
static int reindex_list(rebuild *c, mbulk *b, unsigned i, unsigned ix, int64_t src, uint64_t n)
{
    udb_store *s = c->s;
    size_t ks = s->m.ix[i].T.ks, es = ks + 8;
    uint8_t *e = malloc(es);
    int rc = e ? 0 : udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
    for (uint64_t k = 0; k < n && !rc; k++) {
        const uint8_t *p = pager_get(s->dat_pf, (uint64_t)src + k * es, es);
        record r;
        int64_t leaf;
        if (!p) {
            rc = s->b.err.code;
            break;
        }
        memcpy(e, p, es);
        int64_t dp = (int64_t)ld64(e + ks);
        if (!(rc = store_read(s, dp, &r)) && !memcmp(store_record_key(s, &r, i), e, ks) &&
            !(rc = store_seek(s, ix, store_record_key(s, &r, ix), dp, store_record_hint(s, &r, ix), &leaf)))
            rc = reindex_add(c, b, i, e, dp);
        else if (!rc || rc == UDB_NOTFOUND)
            rc = udb_err_set(&s->b.err, UDB_CORRUPT, "index %u names a record at %lld that does not "
                             "hold its key; nothing was reordered (dbe check)", i + 1, (long long)dp);
    }
    free(e);
    return rc;
}

/* Every frame of the n back to back in [from, to) is in index i under its
   key: with n entries in the index, it names each once. */
int store_holds_all(udb_store *s, unsigned i, int64_t from, int64_t to)
{
    int rc = 0;
    for (int64_t at = from, k = 0; at < to && !rc; k++) {
        record r;
        int64_t leaf;
        if (!(rc = store_read(s, at, &r)) &&
            (rc = store_seek(s, i, store_record_key(s, &r, i), at, store_record_hint(s, &r, i), &leaf)) ==
                UDB_NOTFOUND)
            rc = udb_err_set(&s->b.err, UDB_CORRUPT, "index %u lacks the record at %lld and names "
                             "another twice (dbe check)", i + 1, (long long)at);
        if (rc)
            break;
        at += (int64_t)r.size;
        if (k % RB_STEP == RB_STEP - 1 && !(rc = pager_op_end(s->b.g)))
            rc = pager_prepare(s->b.g, PAGER_OP_HEADROOM);
    }
    return rc;
}

/* The indexes of a sound store rebuilt inside the caller's write
   transaction (udb_store_compact_order) once its n records lie back to
   back in [from, to) in key order of index ix: a new NAME.ndx, index ix
   loaded from those frames, then every other index i from list[i] (its n
   entries in its old order, see reindex_list) and checked to hold every
   frame, each index's leaves and nodes in its key order, every frame's
   hints naming its new leaves.
   Memory: a key and the loaders' paths, whatever n. */
int store_reindex(udb_store *s, unsigned ix, int64_t from, int64_t to, const int64_t *list, uint64_t n)
{
    udb_store_repair_report rep;
    memset(&rep, 0, sizeof rep);
    rebuild c = {.s = s, .rep = &rep};
    if (!s->keyed && s->nidx < 2)
        return refuse_unkeyed(s);
    for (unsigned i = 0; i < s->nidx; i++)
        c.defs[i] = def_of_info(&s->m.ix[i].info);
    mindex_free(&s->m);
    int rc = format_ndx(&c);
    for (unsigned k = 0; k < s->nidx && !rc; k++) {
        unsigned i = k ? k - (k <= ix) : ix; /* ix first: the others are checked against it */
        mbulk b;
        if (!(rc = mindex_bulk_begin(&s->m, i, &b))) {
            b.keep_duplicates = 1;
            b.shared = 1;
            rc = i == ix ? reindex_heap(&c, &b, i, from, to) : reindex_list(&c, &b, i, ix, list[i], n);
            if (!rc && b.count != n)
                rc = udb_err_set(&s->b.err, UDB_CORRUPT, "index %u: %llu records read back of "
                                 "%llu; nothing was reordered (dbe check)", i + 1,
                                 (unsigned long long)b.count, (unsigned long long)n);
            if (!rc)
                rc = mindex_bulk_end(&b);
        }
        mindex_bulk_free(&b);
        if (!rc && i != ix)
            rc = store_holds_all(s, i, from, to);
    }
    progress_say(&s->b.prog, "rebuild index", n, n);
    return rc;
}

/* NAME.ndx is opened, or created when missing (*made: the caller removes
   it again on failure); NAME.dat opened. */
static int open_pair(udb_store *s, const char *name, int *made)
{
    char *ndx = store_path(name, ".ndx"), *dat = store_path(name, ".dat");
    const udb_os *os = pager_os(s->b.g);
    int fd, rc = ndx && dat ? 0 : udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
    *made = 0;
    if (!rc && (rc = os->open(os->ctx, dat, UDB_OS_READ, &fd)) < 0)
        rc = udb_err_set(&s->b.err, rc == -ENOENT ? UDB_NOTFOUND : UDB_IO, "cannot open %s: %s", dat,
                         strerror(-rc));
    else if (!rc)
        os->close(os->ctx, fd);
    if (!rc && (rc = pager_file_open(s->b.g, ndx, PAGER_OPEN, &s->ndx_pf)) == UDB_NOTFOUND)
        *made = !(rc = pager_file_open(s->b.g, ndx, PAGER_CREATE, &s->ndx_pf));
    if (!rc)
        rc = pager_file_open(s->b.g, dat, PAGER_OPEN, &s->dat_pf);
    free(ndx);
    free(dat);
    return rc;
}

/* The handle's decoded state when it never became a loaded store. */
static void unload(udb_store *s)
{
    if (!s->loaded) {
        heap_free(&s->h);
        mindex_free(&s->m);
    }
}

int udb_store_repair(const char *name, const udb_options *opts, const udb_store_def *def,
                     udb_problem_fn fn, void *arg, udb_store_repair_report *rep)
{
    udb_store_repair_report local;
    udb_store *s;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (!store_new(opts, &s))
        return UDB_NOMEM;
    rebuild c = {.s = s, .want_layout = opts ? opts->layout : 0, .fn = fn, .arg = arg, .rep = rep};
    int made = 0, began, rc = s->b.g ? 0 : s->b.err.code;
    if (!rc && opts && (opts->flags & UDB_RDONLY))
        rc = udb_err_set(&s->b.err, UDB_INVAL, "a repair writes: the options must not be read-only");
    if (!rc && !name)
        rc = udb_err_set(&s->b.err, UDB_INVAL, "NULL store name");
    if (!rc && !(rc = open_pair(s, name, &made)) && !(rc = api_write_begin(&s->b, &began)))
        rc = api_write_end(&s->b, began, rebuild_locked(&c, def));
    if (rc && fn)
        fn(arg, UDB_PROBLEM, -1, 0, udb_store_errmsg(s));
    if (rc && made) {
        const udb_os *os = pager_os(s->b.g);
        os->unlink(os->ctx, s->ndx_pf->path);
    }
    unload(s);
    free(c.pos);
    free(c.keys);
    free(c.leaf);
    free(c.skip);
    udb_val_free(&c.tmp);
    int rc2 = udb_store_close(s);
    return rc ? rc : rc2;
}

/* ---- what the descriptor says ----------------------------------------------------------- */
int udb_store_about_get(const char *name, const udb_options *opts, udb_store_about *out,
                        char *msg, size_t msglen)
{
    udb_options o;
    udb_store *s;
    lay_store_desc d;
    if (opts)
        o = *opts;
    else
        udb_options_init(&o);
    o.flags = (o.flags | UDB_RDONLY) & ~UDB_EXCLUSIVE;
    memset(out, 0, sizeof *out);
    if (!store_new(&o, &s))
        return UDB_NOMEM;
    char *dat = name ? store_path(name, ".dat") : NULL;
    int began = 0, rc = s->b.g ? 0 : s->b.err.code;
    if (!rc && !dat)
        rc = udb_err_set(&s->b.err, name ? UDB_NOMEM : UDB_INVAL, name ? "out of memory" : "NULL name");
    if (!rc && !(rc = pager_join_store_log(s->b.g, dat)) && /* the store's log, when there is one */
        !(rc = pager_file_open(s->b.g, dat, PAGER_OPEN, &s->dat_pf)) &&
        !(rc = api_read_begin(&s->b, &began))) {
        if (!(rc = api_detect(&s->b, s->dat_pf, LAY_FILE_HEAP, o.layout, &s->layout)) &&
            !(rc = heap_load(&s->h, s->dat_pf, s->layout, &s->b.err)) &&
            !(rc = store_descriptor(s, &d, out->index))) {
            out->layout = s->layout;
            out->version = d.version;
            out->num_indexes = d.nidx;
            out->compress = s->compress;
            out->keyed = s->keyed || d.nidx > 1;
            out->defs = d.version >= 2;
        }
        api_read_end(&s->b, began);
    }
    if (msg && msglen)
        snprintf(msg, msglen, "%s", rc ? udb_store_errmsg(s) : "");
    free(dat);
    unload(s);
    udb_store_close(s);
    return rc;
}
