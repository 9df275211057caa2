/*
 * heap.c — HeapFile access: header, the holes-table chain as each original
 * wrote it, reading bytes. Must not know about indexes or record framing.
 */
#include "heap.h"

int heap_load(heap *h, pager_file *pf, int layout, udb_err *err)
{
    memset(h, 0, sizeof *h);
    h->pf = pf;
    h->err = err;
    h->L = lay_get(layout);
    const uint8_t *p = pager_get(pf, 0, h->L->heap_hdr_size);
    if (!p || !lay_ck_ok(p, h->L->heap_hdr_size))
        return udb_err_set(err, UDB_CORRUPT, "%s: heap header checksum mismatch at offset 0",
                           pf->path);
    h->first_table = lay_heap_first_table(h->L, p);
    h->slots = lay_heap_slots(h->L, p);
    h->tsize = lay_table_size(h->L, h->slots);
    if (h->slots == 0)
        return udb_err_set(err, UDB_CORRUPT, "%s: heap header gives 0 slots per holes table",
                           pf->path);
    return 0;
}

void heap_free(heap *h)
{
    (void)h;
}

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

int heap_read(heap *h, int64_t pos, void *buf, size_t len)
{
    if (pos < 0)
        return udb_err_set(h->err, UDB_INVAL, "negative position %lld", (long long)pos);
    const uint8_t *p = pager_get(h->pf, (uint64_t)pos, len);
    if (!p)
        return h->err->code;
    memcpy(buf, p, len);
    return 0;
}
