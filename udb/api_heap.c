/*
 * api_heap.c — the public HeapFile API over heap.c: handles, one
 * transaction per call. Must not touch bytes.
 */
#include <stdlib.h>
#include "api_int.h"
#include "heap.h"

struct udb_heap {
    api_base b;
    pager_file *pf;
    heap h;
    int loaded;
    int layout;
};

static int heap_reload(api_base *b)
{
    udb_heap *h = (udb_heap *)b;
    if (!h->loaded)
        return 0;
    heap_free(&h->h);
    return heap_load(&h->h, h->pf, h->layout, &b->err);
}

int udb_heap_open(const char *path, const udb_options *opts, udb_heap **out)
{
    udb_heap *h = calloc(1, sizeof *h);
    *out = h;
    if (!h)
        return UDB_NOMEM;
    int began, rc = api_base_init(&h->b, opts);
    if (rc)
        return rc;
    h->b.reload = heap_reload;
    if ((rc = pager_file_open(h->b.g, path, PAGER_OPEN, &h->pf)) ||
        (rc = api_read_begin(&h->b, &began)))
        return rc;
    rc = api_detect(&h->b, h->pf, LAY_FILE_HEAP, opts ? opts->layout : 0, &h->layout);
    if (!rc && !(rc = heap_load(&h->h, h->pf, h->layout, &h->b.err)))
        h->loaded = 1;
    api_read_end(&h->b, began);
    return rc;
}

int udb_heap_close(udb_heap *h)
{
    if (!h)
        return 0;
    int rc = 0;
    if (h->b.g) {
        api_lock(&h->b);
        if (h->b.explicit_txn)
            rc = api_rollback(&h->b);
        api_unlock(&h->b);
        if (h->loaded)
            heap_free(&h->h);
        api_base_fini(&h->b);
    }
    free(h);
    return rc;
}

const char *udb_heap_errmsg(const udb_heap *h)
{
    return !h ? "out of memory" : h->b.err.code ? h->b.err.msg : "no error";
}

typedef struct hole_sum {
    uint64_t n, bytes;
} hole_sum;

static int sum_hole(void *arg, const udb_hole *hole)
{
    hole_sum *s = arg;
    s->n++;
    if (hole->size > 0)
        s->bytes += (uint64_t)hole->size;
    return 0;
}

static int loaded(udb_heap *h)
{
    return h->loaded ? 0 : udb_err_set(&h->b.err, UDB_INVAL, "the handle did not open");
}

int udb_heap_info_get(udb_heap *h, udb_heap_info *out)
{
    api_lock(&h->b);
    int began, rc = loaded(h);
    if (!rc && !(rc = api_read_begin(&h->b, &began))) {
        hole_sum s = {0, 0};
        unsigned tables = 0;
        memset(out, 0, sizeof *out);
        out->layout = h->layout;
        out->first_table = h->h.first_table;
        out->table_slots = h->h.slots;
        out->table_size = h->h.tsize;
        out->file_size = pager_size(h->pf);
        rc = heap_walk(&h->h, sum_hole, &s, &tables);
        out->tables = tables;
        out->holes = s.n;
        out->hole_bytes = s.bytes;
        api_read_end(&h->b, began);
    }
    api_unlock(&h->b);
    return rc;
}

int udb_heap_holes(udb_heap *h, int (*fn)(void *arg, const udb_hole *hole), void *arg)
{
    api_lock(&h->b);
    int began, rc = loaded(h);
    if (!rc && !(rc = api_read_begin(&h->b, &began))) {
        rc = heap_walk(&h->h, fn, arg, NULL);
        api_read_end(&h->b, began);
    }
    api_unlock(&h->b);
    return rc;
}

int udb_heap_read(udb_heap *h, int64_t pos, void *buf, size_t len)
{
    api_lock(&h->b);
    int began, rc = loaded(h);
    if (!rc && !(rc = api_read_begin(&h->b, &began))) {
        rc = heap_read(&h->h, pos, buf, len);
        api_read_end(&h->b, began);
    }
    api_unlock(&h->b);
    return rc;
}
