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

static udb_heap *heap_new(const udb_options *opts, udb_heap **out)
{
    udb_heap *h = calloc(1, sizeof *h);
    *out = h;
    if (h && api_base_init(&h->b, opts) == 0)
        h->b.reload = heap_reload;
    return h;
}

int udb_heap_open(const char *path, const udb_options *opts, udb_heap **out)
{
    udb_heap *h = heap_new(opts, out);
    if (!h)
        return UDB_NOMEM;
    if (!h->b.g)
        return h->b.err.code;
    int began, rc;
    if ((rc = store_guard(&h->b, path, opts)) || (rc = pager_join_store_log(h->b.g, path)) ||
        (rc = pager_file_open(h->b.g, path, PAGER_OPEN, &h->pf)) ||
        (rc = api_read_begin(&h->b, &began)))
        return rc;
    rc = api_detect(&h->b, h->pf, LAY_FILE_HEAP, opts ? opts->layout : 0, &h->layout);
    if (!rc && !(rc = heap_load(&h->h, h->pf, h->layout, &h->b.err)))
        h->loaded = h->b.ready = 1;
    api_read_end(&h->b, began);
    return rc;
}

int udb_heap_create(const char *path, const udb_options *opts, unsigned table_slots, udb_heap **out)
{
    udb_heap *h = heap_new(opts, out);
    if (!h)
        return UDB_NOMEM;
    if (!h->b.g)
        return h->b.err.code;
    h->layout = opts && opts->layout ? opts->layout : UDB_LAYOUT_WIDE;
    if (table_slots == 0)
        table_slots = 256;
    if (table_slots < 2 || table_slots > 4096)
        return udb_err_set(&h->b.err, UDB_INVAL, "holes tables hold 2..4096 slots, not %u", table_slots);
    int began, rc = pager_file_open(h->b.g, path, PAGER_CREATE, &h->pf);
    if (rc)
        return rc;
    if (!(rc = api_write_begin(&h->b, &began)) &&
        !(rc = heap_format(h->pf, lay_get(h->layout), table_slots, &h->b.err)) &&
        !(rc = heap_load(&h->h, h->pf, h->layout, &h->b.err)))
        h->loaded = h->b.ready = 1;
    rc = api_write_end(&h->b, began, rc);
    if (rc) {
        const udb_os *os = pager_os(h->b.g);
        os->unlink(os->ctx, path);
        h->b.ready = 0;
    }
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
    return !h ? "out of memory" : api_errmsg(&h->b);
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

typedef struct heap_findings {
    udb_problem_fn fn;
    void *arg;
    unsigned problems;
} heap_findings;

static void heap_finding(void *arg, int64_t pos, const char *what)
{
    heap_findings *f = arg;
    f->problems++;
    if (f->fn)
        f->fn(f->arg, UDB_PROBLEM, pos, 0, what);
}

int udb_heap_check(udb_heap *h, udb_problem_fn fn, void *arg, udb_check_report *rep)
{
    heap_findings f = {fn, arg, 0};
    if (rep)
        memset(rep, 0, sizeof *rep);
    api_lock(&h->b);
    int began, rc = loaded(h);
    if (!rc && !(rc = api_read_begin(&h->b, &began))) {
        heap v;
        rc = heap_check(&h->h, &v, heap_finding, &f);
        heap_forget(&v);
        api_read_end(&h->b, began);
        if (!rc && f.problems)
            rc = udb_err_set(&h->b.err, UDB_CORRUPT, "%u problem(s) found", f.problems);
    }
    if (rep)
        rep->problems = f.problems;
    api_unlock(&h->b);
    return rc;
}

/* ---- changes --------------------------------------------------------------------------- */
enum { H_ALLOC, H_FREE, H_WRITE };

static int heap_change(udb_heap *h, int how, int64_t pos, uint64_t n, const void *buf, int64_t *out)
{
    api_lock(&h->b);
    int began, rc = loaded(h);
    if (!rc && !(rc = api_write_begin(&h->b, &began))) {
        if (how == H_ALLOC)
            rc = heap_alloc(&h->h, n, out);
        else if (how == H_FREE)
            rc = heap_release(&h->h, pos, n);
        else
            rc = heap_write(&h->h, pos, buf, (size_t)n);
        rc = api_write_end(&h->b, began, rc);
    }
    api_unlock(&h->b);
    return rc;
}

int udb_heap_alloc(udb_heap *h, uint64_t n, int64_t *pos)
{
    return heap_change(h, H_ALLOC, 0, n, NULL, pos);
}

int udb_heap_free(udb_heap *h, int64_t pos, uint64_t n)
{
    return heap_change(h, H_FREE, pos, n, NULL, NULL);
}

int udb_heap_write(udb_heap *h, int64_t pos, const void *buf, size_t len)
{
    if (!buf && len)
        return udb_err_set(&h->b.err, UDB_INVAL, "NULL buffer");
    return heap_change(h, H_WRITE, pos, len, buf, NULL);
}

#define LOCKED_CALL(h, call)    \
    do {                        \
        api_lock(&(h)->b);      \
        int rc_ = (call);       \
        api_unlock(&(h)->b);    \
        return rc_;             \
    } while (0)

int udb_heap_begin(udb_heap *h) { LOCKED_CALL(h, api_begin(&h->b)); }
int udb_heap_commit(udb_heap *h) { LOCKED_CALL(h, api_commit(&h->b)); }
int udb_heap_rollback(udb_heap *h) { LOCKED_CALL(h, api_rollback(&h->b)); }
int udb_heap_begin_read(udb_heap *h) { LOCKED_CALL(h, api_begin_read(&h->b)); }
int udb_heap_checkpoint(udb_heap *h) { LOCKED_CALL(h, api_checkpoint(&h->b)); }
int udb_heap_backup(udb_heap *h, const char *dst)
{
    LOCKED_CALL(h, api_backup(&h->b, &h->pf, dst ? &dst : NULL, 1));
}
