/*
 * pager_waltx.c — what a write transaction in WAL mode leaves in the log:
 * the images of its pages as they were before it changed them (kept when
 * a page is first changed), the change records its commit appends (byte
 * runs against those images, or against zeros where no image is kept),
 * and putting the images back on rollback.
 * Part of the pager layer: the log's bytes are wal.c's, the order of
 * writes, syncs and publications pager_walrw.c's; knows no data-file
 * layout.
 */
#include <stdlib.h>
#include <string.h>
#include "pager_int.h"

/* A transaction keeps images of at most dirty_limit / 32 bytes, 8 MiB at
   most; the changes of pages beyond it are logged whole, and a rollback
   then maps the files afresh. */
#define BEFORE_SHARE 32u
#define BEFORE_MAX ((size_t)8 << 20)

/* ---- images before the change ----------------------------------------------------------- */
int wal_keep_before(pager_group *g, pager_file *f, uint64_t pg)
{
    size_t ps = (size_t)1 << f->pshift;
    size_t room = g->dirty_limit / BEFORE_SHARE < BEFORE_MAX ? g->dirty_limit / BEFORE_SHARE : BEFORE_MAX;
    if ((g->npre + 1) * ps > room || ps != g->log.psize) {
        g->pre_lost = 1;
        return 0;
    }
    if (g->npre == g->cappre) {
        size_t cap = g->cappre ? 2 * g->cappre : 16;
        uint8_t *b = realloc(g->pre_buf, cap * ps);
        if (b)
            g->pre_buf = b;
        wal_before *r = b ? realloc(g->pre, cap * sizeof *r) : NULL;
        if (r)
            g->pre = r;
        if (!b || !r)
            return udb_err_set(g->err, UDB_NOMEM, "out of memory (page images of a transaction)");
        g->cappre = cap;
    }
    memcpy(g->pre_buf + g->npre * ps, f->base + pg * ps, ps);
    g->pre[g->npre] = (wal_before){pg, (unsigned)f->idx, (unsigned)g->npre};
    g->npre++;
    return 0;
}

void pw_forget_before(pager_group *g)
{
    g->npre = 0;
    g->pre_lost = 0;
}

static int cmp_before(const void *a, const void *b)
{
    const wal_before *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return (x->page > y->page) - (x->page < y->page);
}

/* Put every kept image back; 1 when a page changed without its image
   (the caller maps the files afresh). */
int pw_restore_before(pager_group *g)
{
    size_t ps = g->log.psize;
    for (size_t k = 0; k < g->npre; k++) {
        pager_file *f = g->files[g->pre[k].file];
        memcpy(f->base + g->pre[k].page * ps, g->pre_buf + (size_t)g->pre[k].slot * ps, ps);
    }
    return g->pre_lost;
}

/* ---- change records ----------------------------------------------------------------------- */
typedef struct txn_out {
    unsigned n, max;            /* entries of the batch being filled */
    size_t len;                 /* their change data in g->wdata */
    uint64_t sizes[WAL_MAX_FILES], txn;
} txn_out;

static int flush_batch(pager_group *g, txn_out *out, wal_pos *pos, int commit)
{
    for (unsigned k = 0; k < out->n; k++)
        g->went[k].data = g->wdata + g->wat[k];
    int rc = wal_append(&g->log, pos, out->txn, commit, out->sizes, g->went, out->n);
    out->n = 0;
    out->len = 0;
    return rc;
}

static int room(pager_group *g, size_t need)
{
    if (need <= g->wdcap)
        return 0;
    size_t cap = g->wdcap ? g->wdcap : 65536;
    while (cap < need)
        cap *= 2;
    uint8_t *d = realloc(g->wdata, cap);
    if (!d)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory (log batch)");
    g->wdata = d;
    g->wdcap = cap;
    return 0;
}

/* The change record of page pg of file i (before: its image, or NULL);
   an unchanged page adds nothing. */
static int add_page(pager_group *g, txn_out *out, wal_pos *pos, int i, uint64_t pg,
                    const uint8_t *before)
{
    pager_file *f = g->files[i];
    unsigned ps = g->log.psize;
    if ((out->n == out->max || out->len >= WAL_BATCH_DATA) && flush_batch(g, out, pos, 0))
        return g->err->code;
    if (room(g, out->len + ps + 16))
        return UDB_NOMEM;
    const uint8_t *cur = f->base + pg * ps;
    uint64_t at = pg * ps, keep = f->orig_size > at ? f->orig_size - at : 0;
    uint32_t zfrom = before ? (uint32_t)(keep < ps ? keep : ps) : 0;
    uint8_t *d = g->wdata + out->len;
    size_t n = before ? wal_diff(d, before, cur, 0, zfrom) : 0;
    n += wal_diff(d + n, NULL, cur, zfrom, ps);
    if (!n && zfrom == ps)
        return 0;
    uint64_t size = f->size - at;
    g->went[out->n] = (wal_entry){(unsigned)i, pg, wal_page0_crc(cur, size < ps ? size : ps, ps),
                                  zfrom, NULL, n};
    g->wat[out->n++] = out->len;
    out->len += n;
    g->stats.pages_written++;
    return 0;
}

/* Bytes past a file's end on its last page read as zeros in the log's
   records (and so in every reader's copy). */
static void zero_tail(pager_file *f)
{
    uint64_t ps = (uint64_t)1 << f->pshift, pg = f->size / ps, r = f->size % ps;
    if (r && pg >= f->dirty_lo && pg < f->dirty_hi && (f->dirty[pg >> 6] >> (pg & 63) & 1))
        memset(f->base + f->size, 0, (size_t)(ps - r));
}

/* Append the transaction's changed pages as batches, the last one the
   commit; *pos moves past it. */
int pw_append_txn(pager_group *g, wal_pos *pos)
{
    txn_out out = {.max = wal_batch_max(g->log.psize), .txn = pos->txn + 1};
    if (!g->went)
        g->went = malloc(out.max * sizeof *g->went);
    if (!g->wat)
        g->wat = malloc(out.max * sizeof *g->wat);
    if (!g->went || !g->wat)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    if (g->npre > 1)
        qsort(g->pre, g->npre, sizeof *g->pre, cmp_before);
    size_t j = 0, ps = g->log.psize;
    int rc = 0;
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        out.sizes[i] = f->size;
        zero_tail(f);
    }
    for (int i = 0; i < g->nfiles && !rc; i++) {
        pager_file *f = g->files[i];
        uint64_t top = pager_round(f, f->size) >> f->pshift;
        for (uint64_t pg = f->dirty_lo; pg < f->dirty_hi && pg < top && !rc; pg++) {
            if (!(f->dirty[pg >> 6] >> (pg & 63) & 1))
                continue;
            while (j < g->npre && (g->pre[j].file < (unsigned)i ||
                                   (g->pre[j].file == (unsigned)i && g->pre[j].page < pg)))
                j++;
            const uint8_t *before = j < g->npre && g->pre[j].file == (unsigned)i && g->pre[j].page == pg
                                        ? g->pre_buf + (size_t)g->pre[j].slot * ps : NULL;
            rc = add_page(g, &out, pos, i, pg, before);
        }
    }
    if (!rc && !out.n) { /* nothing changed but sizes: an empty change of page 0 commits */
        static const uint8_t none[1];
        pager_file *f = g->files[0];
        uint64_t n0 = f->size < ps ? f->size : ps;
        g->went[0] = (wal_entry){0, 0, wal_page0_crc(n0 ? f->base : none, (size_t)n0, (unsigned)ps),
                                 (uint32_t)ps, NULL, 0};
        g->wat[0] = 0;
        out.n = 1;
    }
    return rc ? rc : flush_batch(g, &out, pos, 1);
}

void pw_free_txn(pager_group *g)
{
    free(g->pre_buf);
    free(g->pre);
    free(g->wdata);
    free(g->went);
    free(g->wat);
}
