/*
 * store.c — record stores: create and open (NAME.ndx + NAME.dat, one
 * journal), framing records, put / get / update / delete keeping every
 * index and the heap in step. Cursors and scans are in store_cursor.c,
 * compaction, bulk load and the check in store_maint.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>
#include "crc32.h"
#include "store.h"

/* ---- handles ---------------------------------------------------------------------- */
static int store_reload(api_base *b)
{
    udb_store *s = (udb_store *)b;
    if (!s->loaded)
        return 0;
    heap_forget(&s->h);
    int rc = mindex_reload(&s->m, b->reload_due); /* owed after a rollback: every page */
    for (unsigned i = 0; i < s->nidx && !rc; i++) /* the frames' key layout rests on them */
        if (mindex_readable(&s->m, i) || s->m.ix[i].T.ks != s->key_size[i])
            rc = udb_err_set(&b->err, UDB_CORRUPT,
                             "index %u of the store changed its definition under this handle "
                             "(another handle rebuilt it): close and open the store again",
                             i + 1);
    return rc ? rc : heap_load(&s->h, s->dat_pf, s->layout, &b->err);
}

static int store_flush(api_base *b)
{
    udb_store *s = (udb_store *)b;
    int w = s->loaded && pager_state(b->g) == PAGER_WRITE;
    int rc = w ? heap_flush(&s->h) : 0; /* the deletes' holes, before placement looks for free space */
    if (!rc && w)
        rc = store_place(s);
    return rc || !s->loaded ? rc : mindex_flush(&s->m);
}

udb_store *store_new(const udb_options *opts, udb_store **out)
{
    udb_store *s = calloc(1, sizeof *s);
    *out = s;
    if (s)
        s->place_index = opts ? opts->place_index : 0;
    if (s && api_base_init(&s->b, opts) == 0) {
        s->b.reload = store_reload;
        s->b.flush = store_flush;
    }
    return s;
}

char *store_path(const char *name, const char *ext)
{
    size_t n = strlen(name);
    char *p = malloc(n + 5);
    if (p) {
        memcpy(p, name, n);
        memcpy(p + n, ext, 5);
    }
    return p;
}

/* Open (or create) both files of the group: the index file first, so the
   store's journal is NAME.ndx-journal. */
static int open_files(udb_store *s, const char *name, int mode)
{
    char *ndx = store_path(name, ".ndx"), *dat = store_path(name, ".dat");
    int rc = !ndx || !dat ? udb_err_set(&s->b.err, UDB_NOMEM, "out of memory") : 0;
    if (!rc && mode == PAGER_CREATE) {
        /* refuse before creating anything when either file exists */
        int fd;
        const udb_os *os = pager_os(s->b.g);
        for (int i = 0; i < 2 && !rc; i++)
            if (os->open(os->ctx, i ? dat : ndx, UDB_OS_READ, &fd) == 0) {
                os->close(os->ctx, fd);
                rc = udb_err_set(&s->b.err, UDB_EXISTS, "%s already exists", i ? dat : ndx);
            }
    }
    if (!rc)
        rc = pager_file_open(s->b.g, ndx, mode, &s->ndx_pf);
    if (!rc && !(rc = pager_file_open(s->b.g, dat, mode, &s->dat_pf)))
        pager_hold(s->dat_pf, s->place_index >= 0); /* placement rewrites what a commit appends */
    free(ndx);
    free(dat);
    return rc;
}

/* ---- whose files ---------------------------------------------------------------------- */
int store_owner(const udb_os *os, const char *path, char *name, size_t namelen)
{
    size_t n = strlen(path);
    int ndx = n > 4 && !strcmp(path + n - 4, ".ndx"), dat = n > 4 && !strcmp(path + n - 4, ".dat");
    char *dat_path = strdup(path);
    udb_options o;
    api_base b;
    pager_file *pf;
    int yes = 0;
    udb_options_init(&o);
    o.flags = UDB_RDONLY; /* a look at the first bytes: no lock, no journal */
    o.os = os;
    if (dat_path && ndx)
        memcpy(dat_path + n - 3, "dat", 3);
    if (dat_path && !api_base_init(&b, &o) && !pager_file_open(b.g, dat_path, PAGER_OPEN, &pf)) {
        uint64_t size = pager_size(pf) < 64 ? pager_size(pf) : 64;
        const uint8_t *p = pager_get(pf, 0, (size_t)size);
        for (int l = UDB_LAYOUT_CLASSIC; l <= UDB_LAYOUT_WIDE && p && !yes; l++) {
            size_t hs = lay_get(l)->heap_hdr_size;
            yes = size > hs && lay_ck_ok(p, hs) && lay_store_desc_frame(p + hs, (size_t)size - hs);
        }
    }
    if (dat_path)
        api_base_fini(&b);
    free(dat_path);
    if (yes && name && namelen)
        snprintf(name, namelen, "%.*s", (int)(ndx || dat ? n - 4 : n), path);
    return yes;
}

int store_guard(api_base *b, const char *path, const udb_options *opts)
{
    char name[200];
    if ((opts && (opts->flags & (UDB_RDONLY | UDB_RAW))) ||
        !store_owner(pager_os(b->g), path, name, sizeof name))
        return 0;
    return udb_err_set(&b->err, UDB_READONLY,
                       "%s belongs to the record store %s: index- and heap-level writes would "
                       "break the store; change it through udb_store_* (or open the file with "
                       "UDB_RDONLY, or with UDB_RAW for raw access)", path, name);
}

int udb_store_owner(const char *path, const udb_options *opts, char *name, size_t namelen)
{
    if (!path)
        return 0;
    return store_owner(opts && opts->os ? opts->os : udb_os_posix(), path, name, namelen);
}

/* Key offsets inside a frame, the keys buffer. */
int store_setup_keys(udb_store *s)
{
    size_t off = 0;
    for (unsigned i = 0; i < s->nidx; i++) {
        if (mindex_readable(&s->m, i))
            return s->b.err.code;
        s->key_off[i] = off;
        s->key_size[i] = s->m.ix[i].T.ks;
        off += s->m.ix[i].T.ks;
    }
    s->keys_len = s->nidx > 1 || s->keyed ? off : 0;
    s->hints_len = s->nidx > 1 ? 8 * (size_t)s->nidx : 0;
    for (unsigned i = 0; i < s->nidx; i++)
        s->hints[i] = -1;
    free(s->keys);
    s->keys = malloc(off ? off : 1);
    return s->keys ? 0 : udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
}

int store_descriptor(udb_store *s, lay_store_desc *d, udb_index_def *defs)
{
    record r;
    int64_t at = (int64_t)s->h.L->heap_hdr_size;
    if (store_read(s, at, &r) || r.f.tag != LAY_FRAME_STORE ||
        lay_store_desc_decode(r.payload, r.f.stored, STORE_MAX_INDEXES, d, defs))
        return udb_err_set(&s->b.err, UDB_FORMAT,
                           "%s is not a udb record store (no store descriptor of a version udb "
                           "reads at offset %lld); its files can be read with udb_ndx_* and udb_heap_*",
                           s->dat_pf->path, (long long)at);
    s->version = d->version;
    s->compress = (d->flags & LAY_STORE_COMPRESS) != 0;
    s->keyed = (d->flags & LAY_STORE_KEYED) != 0;
    s->nidx = d->nidx;
    return 0;
}

/* A version-2 descriptor's definitions must be the index file's: the
   frames were laid out by them. */
static int same_defs(udb_store *s, const udb_index_def *defs)
{
    for (unsigned i = 0; i < s->nidx && s->version >= 2; i++) {
        const lay_info *f = &s->m.ix[i].info;
        if (s->m.ix[i].usable &&
            (f->keytype != (unsigned)defs[i].keytype || f->keysize != defs[i].keysize))
            return udb_err_set(&s->b.err, UDB_FORMAT,
                               "index %u of %s (key type %u, key size %u) is not the one the store "
                               "descriptor of %s defines (key type %d, key size %u); "
                               "udb_store_repair rebuilds the indexes from the records",
                               i + 1, s->ndx_pf->path, f->keytype, f->keysize, s->dat_pf->path,
                               defs[i].keytype, defs[i].keysize);
    }
    return 0;
}

static int read_descriptor(udb_store *s)
{
    lay_store_desc d;
    udb_index_def defs[STORE_MAX_INDEXES];
    int rc = store_descriptor(s, &d, defs);
    if (rc)
        return rc;
    if (d.nidx != s->m.count)
        return udb_err_set(&s->b.err, UDB_FORMAT,
                           "the store descriptor names %u indexes, %s has %u", d.nidx,
                           s->ndx_pf->path, s->m.count);
    return (rc = same_defs(s, defs)) ? rc : store_setup_keys(s);
}

int udb_store_open(const char *name, const udb_options *opts, udb_store **out)
{
    udb_store *s = store_new(opts, out);
    if (!s)
        return UDB_NOMEM;
    if (!s->b.g)
        return s->b.err.code;
    int began, dl, rc = open_files(s, name, PAGER_OPEN);
    if (rc || (rc = api_read_begin(&s->b, &began)))
        return rc;
    int want = opts ? opts->layout : 0;
    if (!(rc = api_detect(&s->b, s->ndx_pf, LAY_FILE_NDX, want, &s->layout)) &&
        !(rc = api_detect(&s->b, s->dat_pf, LAY_FILE_HEAP, s->layout, &dl)) &&
        !(rc = mindex_load(&s->m, s->ndx_pf, s->layout, &s->b.err)) &&
        !(rc = heap_load(&s->h, s->dat_pf, s->layout, &s->b.err))) {
        s->loaded = 1;
        rc = read_descriptor(s);
        s->b.ready = !rc;
    }
    api_read_end(&s->b, began);
    return rc;
}

/* Version 2: every frame holds every index's key; the definitions are
   kept, so that the indexes can be rebuilt from the records alone. */
static int write_descriptor(udb_store *s, const udb_index_def *defs)
{
    uint8_t d[LAY_STORE_DESC_SIZE + LAY_STORE_DEF_SIZE * STORE_MAX_INDEXES], f[16];
    size_t n = lay_store_desc_size(s->nidx);
    lay_store_desc_encode(d, (s->compress ? LAY_STORE_COMPRESS : 0) | LAY_STORE_KEYED, s->nidx, defs);
    lay_frame fr = {LAY_FRAME_STORE, (uint32_t)n, (uint32_t)n, udb_crc32(0, d, (uInt)n), 9};
    int64_t pos;
    int rc = heap_alloc(&s->h, 9 + n, &pos);
    if (rc)
        return rc;
    lay_frame_encode(f, &fr);
    if ((rc = heap_write(&s->h, pos, f, 9)) || (rc = heap_write(&s->h, pos + 9, d, n)))
        return rc;
    return 0;
}

static int create_body(udb_store *s, const udb_store_def *def)
{
    const lay *L = lay_get(s->layout);
    int rc;
    if ((rc = mindex_format(s->ndx_pf, L, def->num_indexes, &s->b.err)) ||
        (rc = mindex_load(&s->m, s->ndx_pf, s->layout, &s->b.err)))
        return rc;
    s->loaded = s->b.ready = 1;
    for (unsigned i = 0; i < def->num_indexes; i++)
        if ((rc = mindex_define(&s->m, i, &def->index[i])))
            return rc;
    s->nidx = def->num_indexes;
    s->compress = def->compress != 0;
    s->keyed = 1;
    s->version = 2;
    udb_index_def defs[STORE_MAX_INDEXES]; /* as defined: a default maxitems resolved */
    for (unsigned i = 0; i < s->nidx; i++) {
        defs[i] = def->index[i];
        defs[i].maxitems = s->m.ix[i].info.maxitems;
    }
    if ((rc = heap_format(s->dat_pf, L, def->table_slots ? def->table_slots : 256, &s->b.err)) ||
        (rc = heap_load(&s->h, s->dat_pf, s->layout, &s->b.err)) ||
        (rc = write_descriptor(s, defs)))
        return rc;
    return store_setup_keys(s);
}

int udb_store_create(const char *name, const udb_options *opts, const udb_store_def *def,
                     udb_store **out)
{
    udb_store *s = store_new(opts, out);
    if (!s)
        return UDB_NOMEM;
    if (!s->b.g)
        return s->b.err.code;
    s->layout = opts && opts->layout ? opts->layout : UDB_LAYOUT_WIDE;
    char msg[200];
    if (!def || def->num_indexes < 1 || def->num_indexes > STORE_MAX_INDEXES || !def->index)
        return udb_err_set(&s->b.err, UDB_INVAL, "a store has 1..%d indexes", STORE_MAX_INDEXES);
    if (def->table_slots == 1 || def->table_slots > 4096)
        return udb_err_set(&s->b.err, UDB_INVAL, "holes tables hold 2..4096 slots, not %u",
                           def->table_slots);
    for (unsigned i = 0; i < def->num_indexes; i++)
        if (udb_index_def_check(s->layout, &def->index[i], msg, sizeof msg))
            return udb_err_set(&s->b.err, UDB_INVAL, "index %u: %s", i + 1, msg);
    int began, rc = open_files(s, name, PAGER_CREATE);
    if (rc == UDB_EXISTS)
        return rc;
    if (!rc && !(rc = api_write_begin(&s->b, &began)))
        rc = api_write_end(&s->b, began, create_body(s, def));
    if (rc) {
        const udb_os *os = pager_os(s->b.g);
        char *ndx = store_path(name, ".ndx"), *dat = store_path(name, ".dat");
        if (ndx && s->ndx_pf)
            os->unlink(os->ctx, ndx);
        if (dat && s->dat_pf)
            os->unlink(os->ctx, dat);
        free(ndx);
        free(dat);
        s->loaded = s->b.ready = 0;
    }
    return rc;
}

int udb_store_close(udb_store *s)
{
    if (!s)
        return 0;
    int rc = 0;
    if (s->b.g) {
        api_lock(&s->b);
        if (s->b.explicit_txn)
            rc = api_rollback(&s->b);
        api_unlock(&s->b);
        if (s->loaded) {
            mindex_free(&s->m);
            heap_free(&s->h);
        }
        api_base_fini(&s->b);
    }
    free(s->keys);
    free(s->zbuf);
    for (int i = 0; i < 2; i++) {
        void *z = i ? s->zsmall : s->zs;
        if (z)
            deflateEnd(z);
        free(z);
    }
    if (s->zi)
        inflateEnd(s->zi);
    free(s->zi);
    udb_val_free(&s->tmp);
    free(s);
    return rc;
}

const char *udb_store_errmsg(const udb_store *s)
{
    return !s ? "out of memory" : api_errmsg(&s->b);
}

unsigned udb_store_count(udb_store *s) { return s->loaded ? s->nidx : 0; }

void udb_val_free(udb_val *v)
{
    if (v) {
        free(v->data);
        v->data = NULL;
        v->len = v->cap = 0;
    }
}

int val_reserve(udb_store *s, udb_val *v, size_t n)
{
    if (v->cap >= n && v->data)
        return 0;
    void *p = realloc(v->data, n ? n : 1);
    if (!p)
        return udb_err_set(&s->b.err, UDB_NOMEM, "out of memory (%zu bytes)", n);
    v->data = p;
    v->cap = n ? n : 1;
    return 0;
}

int store_index_arg(udb_store *s, unsigned index)
{
    if (!s->loaded || !s->nidx)
        return udb_err_set(&s->b.err, UDB_INVAL, "the store did not open");
    if (index < 1 || index > s->nidx)
        return udb_err_set(&s->b.err, UDB_INVAL, "no index %u (the store has %u)", index, s->nidx);
    return 0;
}

int store_key_in(udb_store *s, unsigned ix, const void *key, size_t len, uint8_t **out)
{
    const lay_tree *T = &s->m.ix[ix].T;
    uint8_t *k = s->keys + s->key_off[ix];
    if ((!key && len) || lay_key_make(T, key, len, k))
        return udb_err_set(&s->b.err, UDB_INVAL,
                           "key of %zu bytes does not fit index %u (key size %u%s)", len, ix + 1,
                           T->ks, T->keytype == UDB_KEY_STRING ? ", which includes the NUL" : "");
    *out = k;
    return 0;
}

int udb_store_index_info(udb_store *s, unsigned index, udb_index_info *out)
{
    api_lock(&s->b);
    int began, rc = store_index_arg(s, index);
    if (!rc && !(rc = api_read_begin(&s->b, &began))) {
        const mindex_index *x = &s->m.ix[index - 1];
        memset(out, 0, sizeof *out);
        out->def = (udb_index_def){(int)x->info.keytype, x->info.keysize, x->info.attrib,
                                   x->info.maxitems, x->info.create_nodes, x->info.create_leaves};
        out->levels = x->info.levels;
        out->root = x->info.root;
        out->first_leaf = x->info.first_leaf;
        out->last_leaf = x->info.last_leaf;
        out->free_node = x->info.free_node;
        out->free_leaf = x->info.free_leaf;
        out->node_size = x->T.node_size;
        out->leaf_size = x->T.leaf_size;
        out->initialised = x->usable && x->recorded;
        out->sentinel_is_max = x->sentinel_max;
        api_read_end(&s->b, began);
    }
    api_unlock(&s->b);
    return rc;
}

/* ---- frames ------------------------------------------------------------------------ */
void store_prefetch(const udb_store *s, int64_t pos)
{
    const uint8_t *p = pos > 0 ? pager_peek(s->dat_pf, (uint64_t)pos, 1) : NULL;
    if (p)
        for (int i = 0; i < 4; i++)
            __builtin_prefetch(p + 64 * i);
}

int store_read(udb_store *s, int64_t pos, record *r)
{
    uint64_t size = pager_size(s->dat_pf);
    const uint8_t *p;
    r->pos = pos;
    if (pos < (int64_t)s->h.L->heap_hdr_size || (uint64_t)pos >= size ||
        !(p = pager_get(s->dat_pf, (uint64_t)pos, 0)) ||
        lay_frame_decode(p, (size_t)(size - (uint64_t)pos), &r->f))
        return udb_err_set(&s->b.err, UDB_CORRUPT, "%s: no record frame at offset %lld",
                           s->dat_pf->path, (long long)pos);
    size_t keys = r->f.tag == LAY_FRAME_STORE ? 0 : s->keys_len;
    size_t hints = r->f.tag == LAY_FRAME_STORE ? 0 : s->hints_len;
    uint64_t need = (uint64_t)r->f.hdr + keys + hints + r->f.stored; /* < 2^34: no overflow */
    if (need > size - (uint64_t)pos)
        return udb_err_set(&s->b.err, UDB_CORRUPT, "%s: the record at offset %lld runs past the end",
                           s->dat_pf->path, (long long)pos);
    r->size = (size_t)need;
    r->keys = keys ? p + r->f.hdr : NULL;
    r->hints = hints ? p + r->f.hdr + keys : NULL;
    r->payload = p + r->f.hdr + keys + hints;
    if (udb_crc32(0, r->payload, r->f.stored) != r->f.crc)
        return udb_err_set(&s->b.err, UDB_CORRUPT, "%s: the record at offset %lld fails its crc32",
                           s->dat_pf->path, (long long)pos);
    return 0;
}

/* The most bytes deflate can produce from n stored bytes (its best ratio
   is 1032:1: 258 bytes from 2 bits). A 32-bit length field keeps every
   value within the API's largest (4 GiB - 1). */
static uint64_t inflate_bound(uint32_t n)
{
    return (uint64_t)n * 1032;
}

int store_value(udb_store *s, const record *r, udb_val *out)
{
    if (r->f.tag == LAY_FRAME_DEFLATE && r->f.raw > inflate_bound(r->f.stored))
        return udb_err_set(&s->b.err, UDB_CORRUPT,
                           "%s: the record at offset %lld declares %lu bytes, more than its %lu "
                           "compressed bytes can hold",
                           s->dat_pf->path, (long long)r->pos, (unsigned long)r->f.raw,
                           (unsigned long)r->f.stored);
    int rc = val_reserve(s, out, r->f.raw);
    if (rc)
        return rc;
    if (r->f.tag != LAY_FRAME_DEFLATE) {
        memcpy(out->data, r->payload, r->f.stored);
        out->len = r->f.stored;
        return 0;
    }
    z_stream *z = s->zi;
    if (!z) { /* one stream for every read: no state and window allocated per value */
        if (!(z = calloc(1, sizeof *z)) || inflateInit(z) != Z_OK) {
            free(z);
            return udb_err_set(&s->b.err, UDB_NOMEM, "out of memory (inflate)");
        }
        s->zi = z;
    } else if (inflateReset(z) != Z_OK) {
        return udb_err_set(&s->b.err, UDB_NOMEM, "inflate cannot start over");
    }
    uint8_t none; /* room for a byte a stream of no bytes must not produce */
    z->next_in = (Bytef *)(uintptr_t)r->payload;
    z->avail_in = r->f.stored;
    z->next_out = r->f.raw ? out->data : &none;
    z->avail_out = r->f.raw ? r->f.raw : 1;
    if (inflate(z, Z_FINISH) != Z_STREAM_END || z->total_out != r->f.raw)
        return udb_err_set(&s->b.err, UDB_CORRUPT,
                           "%s: the record at offset %lld does not inflate to the %lu bytes it declares",
                           s->dat_pf->path, (long long)r->pos, (unsigned long)r->f.raw);
    out->len = r->f.raw;
    return 0;
}

const uint8_t *store_record_key(udb_store *s, const record *r, unsigned ix)
{
    return r->keys ? r->keys + s->key_off[ix] : s->keys + s->key_off[ix];
}

int64_t store_record_hint(const udb_store *s, const record *r, unsigned ix)
{
    (void)s;
    return r->hints ? (int64_t)ld64(r->hints + 8 * (size_t)ix) : -1;
}

static void encode_hints(const udb_store *s, uint8_t *p)
{
    for (unsigned i = 0; i < s->nidx && s->hints_len; i++)
        st64(p + 8 * (size_t)i, (uint64_t)s->hints[i]);
}

void store_hint_set(const udb_store *s, uint8_t *frame, unsigned ix, int64_t leaf)
{
    if (s->hints_len)
        st64(frame + lay_frame_hdr_size(frame[0]) + s->keys_len + 8 * (size_t)ix, (uint64_t)leaf);
}

int store_patch_hint(udb_store *s, int64_t pos, unsigned ix, int64_t leaf)
{
    if (!s->hints_len)
        return 0;
    const uint8_t *p = pager_get(s->dat_pf, (uint64_t)pos, 1);
    uint64_t at = p ? (uint64_t)pos + lay_frame_hdr_size(p[0]) + s->keys_len + 8 * (uint64_t)ix : 0;
    uint8_t *w = p ? pager_put(s->dat_pf, at, 8) : NULL;
    if (!w)
        return s->b.err.code;
    st64(w, (uint64_t)leaf);
    return 0;
}

int store_patch_hints(udb_store *s, int64_t pos)
{
    if (!s->hints_len)
        return 0;
    const uint8_t *p = pager_get(s->dat_pf, (uint64_t)pos, 1);
    if (!p)
        return s->b.err.code;
    size_t off = lay_frame_hdr_size(p[0]) + s->keys_len;
    uint8_t *w = pager_put(s->dat_pf, (uint64_t)pos + off, s->hints_len);
    if (!w)
        return s->b.err.code;
    encode_hints(s, w);
    return 0;
}

/* A value as its frame holds it: deflated into s->zbuf when that pays
   (valid until the next pack), else the caller's bytes. */
typedef struct packed {
    const uint8_t *data;
    size_t dlen, len;
    unsigned tag;
} packed;

static int pack(udb_store *s, const void *val, size_t len, packed *pk)
{
    pk->tag = LAY_FRAME_PLAIN;
    pk->data = val;
    pk->dlen = pk->len = len;
    if (len > UINT32_MAX)
        return udb_err_set(&s->b.err, UDB_INVAL, "a record holds at most 4 GiB");
    if (!s->compress || len < 64 || len > UINT32_MAX / 2)
        return 0;
    uLong bound = compressBound(len);
    if (s->zcap < bound) {
        uint8_t *z = realloc(s->zbuf, bound);
        if (!z)
            return udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
        s->zbuf = z;
        s->zcap = bound;
    }
    /* one stream for every put, set up once; values of at most 1 KiB get
       one with a 1 KiB window and a 2,048-entry hash, whose reset clears
       4 KiB instead of 64 (the same level 6 and zlib format; a window the
       size of the value finds the same matches) */
    int small = len <= 1024;
    void **slot = small ? &s->zsmall : &s->zs;
    z_stream *z = *slot;
    if (!z) {
        if (!(z = calloc(1, sizeof *z)) ||
            deflateInit2(z, 6, Z_DEFLATED, small ? 10 : 15, small ? 4 : 8, Z_DEFAULT_STRATEGY) !=
                Z_OK) {
            free(z);
            return udb_err_set(&s->b.err, UDB_NOMEM, "out of memory (deflate)");
        }
        *slot = z;
    } else if (deflateReset(z) != Z_OK) {
        return udb_err_set(&s->b.err, UDB_NOMEM, "deflate cannot start over");
    }
    z->next_in = (Bytef *)(uintptr_t)val;
    z->avail_in = (uInt)len;
    z->next_out = s->zbuf;
    z->avail_out = (uInt)bound;
    if (deflate(z, Z_FINISH) == Z_STREAM_END && z->total_out + 4 < len) {
        pk->tag = LAY_FRAME_DEFLATE;
        pk->data = s->zbuf;
        pk->dlen = z->total_out;
    }
    return 0;
}

/* The size of the frame of a packed value. */
static size_t packed_size(const udb_store *s, const packed *pk)
{
    return lay_frame_hdr_size(pk->tag) + s->keys_len + s->hints_len + pk->dlen;
}

#define RUN_BYTES ((uint64_t)1 << 20)

static int run_take(udb_store *s, store_run *r, size_t size, int64_t *pos)
{
    int rc;
    if ((uint64_t)(r->end - r->next) < size) {
        if ((rc = store_run_end(s, r))) /* at the end of the file: cut off, so the next run follows */
            return rc;
        uint64_t want = size > RUN_BYTES ? size : RUN_BYTES;
        if ((rc = heap_alloc(&s->h, want, &r->next)))
            return rc;
        r->end = r->next + (int64_t)want;
    }
    *pos = r->next;
    r->next += (int64_t)size;
    return 0;
}

int store_run_end(udb_store *s, store_run *r)
{
    int rc = r->next < r->end ? heap_release(&s->h, r->next, (uint64_t)(r->end - r->next)) : 0;
    r->next = r->end = 0;
    return rc;
}

/* Write a packed value's frame (keys from s->keys) at at_or_neg, or where
   run or the heap gives room (*pos); *size: the frame's bytes. */
static int write_packed(udb_store *s, const packed *pk, int64_t at_or_neg, store_run *run,
                        int64_t *pos, size_t *size)
{
    lay_frame f = {pk->tag, (uint32_t)pk->dlen, (uint32_t)pk->len,
                   udb_crc32(0, pk->data, (uInt)pk->dlen), lay_frame_hdr_size(pk->tag)};
    int rc;
    *size = packed_size(s, pk);
    if (at_or_neg >= 0)
        *pos = at_or_neg;
    else if ((rc = run ? run_take(s, run, *size, pos) : heap_alloc(&s->h, *size, pos)))
        return rc;
    uint8_t *p = pager_put(s->dat_pf, (uint64_t)*pos, *size);
    if (!p)
        return s->b.err.code;
    lay_frame_encode(p, &f);
    memcpy(p + f.hdr, s->keys, s->keys_len);
    encode_hints(s, p + f.hdr + s->keys_len);
    memcpy(p + f.hdr + s->keys_len + s->hints_len, pk->data, pk->dlen);
    return 0;
}

/* The same for a value as the caller has it (deflated here when that pays). */
int store_write_record(udb_store *s, const void *val, size_t len, int64_t at_or_neg, store_run *run,
                       int64_t *pos, size_t *size)
{
    packed pk;
    int rc = pack(s, val, len, &pk);
    return rc ? rc : write_packed(s, &pk, at_or_neg, run, pos, size);
}

/* ---- records --------------------------------------------------------------------------- */
/* A hint is trusted only when the leaf there is a live leaf of this size
   holding exactly this key and this record's position. */
static int hint_ok(udb_store *s, mindex_index *x, int64_t hint, const uint8_t *key, int64_t pos)
{
    if (hint < (int64_t)s->m.body || hint == x->info.last_leaf ||
        (uint64_t)hint + x->T.leaf_size > pager_size(s->ndx_pf))
        return 0;
    const uint8_t *l = pager_get(s->ndx_pf, (uint64_t)hint, x->T.leaf_size);
    if (!lay_ck_ok(l, x->T.leaf_size) || lay_leaf_datapos(&x->T, l) != pos ||
        memcmp(lay_leaf_key(&x->T, l), key, x->T.ks) || lay_leaf_next(&x->T, l) == -1)
        return 0;
    int64_t prev = lay_leaf_prev(&x->T, l);
    return prev == -1 ? hint == x->info.first_leaf : 1;
}

int store_seek(udb_store *s, unsigned ix, const uint8_t *key, int64_t pos, int64_t hint, int64_t *leaf)
{
    mindex_index *x = &s->m.ix[ix];
    if (hint_ok(s, x, hint, key, pos)) {
        *leaf = hint;
        return 0;
    }
    mpath p;
    int rc = mindex_descend(&s->m, x, key, &p);
    if (rc)
        return rc;
    uint64_t limit = pager_size(s->ndx_pf) / x->T.leaf_size + 2;
    for (int64_t at = p.pos[0]; at != x->info.last_leaf && limit--;) {
        const uint8_t *l = mindex_leaf(&s->m, x, at);
        if (!l)
            return s->b.err.code;
        if (lay_cmp(&x->T, lay_leaf_key(&x->T, l), key) != 0)
            break;
        if (lay_leaf_datapos(&x->T, l) == pos) {
            *leaf = at;
            return 0;
        }
        at = lay_leaf_next(&x->T, l);
    }
    return UDB_NOTFOUND;
}

int store_locate(udb_store *s, unsigned ix, const uint8_t *key, int64_t pos, int64_t hint,
                 int64_t *leaf)
{
    int rc = store_seek(s, ix, key, pos, hint, leaf);
    if (rc != UDB_NOTFOUND)
        return rc;
    return udb_err_set(&s->b.err, UDB_CORRUPT,
                       "index %u has no entry for the record at offset %lld of %s", ix + 1,
                       (long long)pos, s->dat_pf->path);
}

int store_unlink(udb_store *s, const record *r, unsigned skip, int64_t skip_leaf)
{
    int last;
    return store_unlink_found(s, r, skip, skip_leaf, NULL, &last);
}

int store_unlink_found(udb_store *s, const record *r, unsigned skip, int64_t skip_leaf,
                       const mpath *path, int *last)
{
    int64_t landing, leaf;
    int rc, dummy;
    *last = 1;
    for (unsigned i = 0; i < s->nidx; i++) {
        if (i == skip && skip_leaf < 0)
            continue;
        if (i == skip)
            rc = mindex_delete_found(&s->m, i, skip_leaf, path, &landing, last);
        else if (!(rc = store_locate(s, i, store_record_key(s, r, i), r->pos,
                                     store_record_hint(s, r, i), &leaf)))
            rc = mindex_delete_found(&s->m, i, leaf, NULL, &landing, &dummy);
        if (rc)
            return rc;
    }
    return heap_release_later(&s->h, r->pos, r->size);
}

/* ---- put, get, update, delete ---------------------------------------------------------------- */
/* Index 1 gets its leaf first (its UNIQUE refusal changes nothing), the
   record is written, then the leaf learns the record's position. */
static int put_locked(udb_store *s, const udb_key *keys, const void *val, size_t len)
{
    uint8_t *k;
    int rc;
    for (unsigned i = 0; i < s->nidx; i++)
        if ((rc = store_key_in(s, i, keys[i].data, keys[i].len, &k)))
            return rc;
    for (unsigned i = 1; i < s->nidx; i++) {
        int64_t leaf;
        if (!(s->m.ix[i].info.attrib & UDB_UNIQUE))
            continue;
        rc = mindex_find(&s->m, i, s->keys + s->key_off[i], &leaf);
        if (rc == 0)
            return udb_err_set(&s->b.err, UDB_EXISTS, "index %u is UNIQUE and already holds the key",
                               i + 1);
        if (rc != UDB_NOTFOUND)
            return rc;
    }
    int64_t pos;
    size_t size;
    mappend a; /* the record is written while index 1's leaves arrive */
    if ((rc = mindex_append_find(&s->m, 0, s->keys, &a)) ||
        (rc = store_write_record(s, val, len, -1, NULL, &pos, &size)) ||
        (rc = mindex_append_at(&s->m, &a, s->keys, pos, &s->hints[0])))
        return rc;
    for (unsigned i = 1; i < s->nidx; i++)
        if ((rc = mindex_append(&s->m, i, s->keys + s->key_off[i], pos, &s->hints[i])))
            return rc;
    return store_patch_hints(s, pos); /* where each index keeps this record */
}

int udb_store_put(udb_store *s, const udb_key *keys, const void *val, size_t len)
{
    api_lock(&s->b);
    int began, rc = store_index_arg(s, 1);
    if (!rc && (!keys || (!val && len)))
        rc = udb_err_set(&s->b.err, UDB_INVAL, "NULL keys or value");
    if (!rc && !(rc = api_write_begin(&s->b, &began)))
        rc = api_write_end(&s->b, began, put_locked(s, keys, val, len));
    api_unlock(&s->b);
    return rc;
}

/* The newest record with key in index ix: its leaf, frame and the path.
   neighbours: also start fetching the leaves around it (a delete's).
   say_missing: UDB_NOTFOUND sets the message naming the key. */
static int find_record_path(udb_store *s, unsigned ix, const void *key, size_t keylen, int64_t *leaf,
                            record *r, mpath *p, int neighbours, int say_missing)
{
    uint8_t *k;
    int rc = store_key_in(s, ix, key, keylen, &k);
    if (!rc && !(rc = mindex_readable(&s->m, ix)) &&
        (rc = mindex_find_path(&s->m, ix, k, leaf, p)) == UDB_NOTFOUND && say_missing)
        rc = mindex_missing(&s->m, ix, k);
    if (rc)
        return rc;
    mindex_index *x = &s->m.ix[ix];
    const uint8_t *l = p->leaf ? p->leaf : mindex_leaf(&s->m, x, *leaf);
    if (!l)
        return s->b.err.code;
    int64_t dp = lay_leaf_datapos(&x->T, l);
    store_prefetch(s, dp);
    if (neighbours) {
        mindex_prefetch(&s->m, lay_leaf_prev(&x->T, l), x->T.leaf_size);
        mindex_prefetch(&s->m, lay_leaf_next(&x->T, l), x->T.leaf_size);
    }
    return store_read(s, dp, r);
}

static int find_record(udb_store *s, unsigned ix, const void *key, size_t keylen, int64_t *leaf,
                       record *r)
{
    mpath p;
    return find_record_path(s, ix, key, keylen, leaf, r, &p, 0, 1);
}

int udb_store_get(udb_store *s, unsigned index, const void *key, size_t keylen, udb_val *out)
{
    api_lock(&s->b);
    int began, rc = store_index_arg(s, index);
    if (!rc && !out)
        rc = udb_err_set(&s->b.err, UDB_INVAL, "NULL value buffer");
    if (!rc && !(rc = api_read_begin(&s->b, &began))) {
        int64_t leaf;
        record r;
        rc = find_record(s, index - 1, key, keylen, &leaf, &r);
        if (!rc)
            rc = store_value(s, &r, out);
        api_read_end(&s->b, began);
    }
    api_unlock(&s->b);
    return rc;
}

static int update_locked(udb_store *s, unsigned ix, const void *key, size_t keylen,
                         const void *val, size_t len)
{
    int64_t leaf, pos;
    record r;
    size_t size;
    int rc = find_record(s, ix, key, keylen, &leaf, &r);
    if (rc)
        return rc;
    if (r.keys)
        memcpy(s->keys, r.keys, s->keys_len); /* the record keeps its keys */
    for (unsigned i = 0; i < s->nidx; i++)
        s->hints[i] = store_record_hint(s, &r, i);
    packed pk; /* deflated once: the locates below do not pack */
    if ((rc = pack(s, val, len, &pk)))
        return rc;
    if (packed_size(s, &pk) <= r.size) { /* in place; the tail becomes free */
        if ((rc = write_packed(s, &pk, r.pos, NULL, &pos, &size)))
            return rc;
        return size < r.size ? heap_release(&s->h, r.pos + (int64_t)size, r.size - size) : 0;
    }
    for (unsigned i = 0; i < s->nidx; i++) /* the entries stay where they are */
        if (i == ix)
            s->hints[i] = leaf;
        else if ((rc = store_locate(s, i, s->keys + s->key_off[i], r.pos, s->hints[i], &s->hints[i])))
            return rc;
    if ((rc = write_packed(s, &pk, -1, NULL, &pos, &size)))
        return rc;
    for (unsigned i = 0; i < s->nidx; i++)
        if ((rc = mindex_set_datapos(&s->m, i, s->hints[i], pos)))
            return rc;
    return heap_release_later(&s->h, r.pos, r.size);
}

int udb_store_update(udb_store *s, unsigned index, const void *key, size_t keylen, const void *val,
                     size_t len)
{
    api_lock(&s->b);
    int began, rc = store_index_arg(s, index);
    if (!rc && !val && len)
        rc = udb_err_set(&s->b.err, UDB_INVAL, "NULL value");
    if (!rc && !(rc = api_write_begin(&s->b, &began)))
        rc = api_write_end(&s->b, began, update_locked(s, index - 1, key, keylen, val, len));
    api_unlock(&s->b);
    return rc;
}

static int delete_locked(udb_store *s, unsigned ix, const void *key, size_t keylen, uint64_t *removed)
{
    int64_t leaf;
    record r;
    mpath p;
    int rc, last = 0;
    *removed = 0;
    /* one record at a time: the newest with the key, until none is left */
    while (!last && (rc = find_record_path(s, ix, key, keylen, &leaf, &r, &p, 1, !*removed)) == 0) {
        if ((rc = store_unlink_found(s, &r, ix, leaf, &p, &last)))
            return rc;
        ++*removed;
    }
    return last || (rc == UDB_NOTFOUND && *removed) ? 0 : rc;
}

int udb_store_delete(udb_store *s, unsigned index, const void *key, size_t keylen, uint64_t *removed)
{
    uint64_t n = 0;
    api_lock(&s->b);
    int began, rc = store_index_arg(s, index);
    if (!rc && !(rc = api_write_begin(&s->b, &began)))
        rc = api_write_end(&s->b, began, delete_locked(s, index - 1, key, keylen, &n));
    if (removed)
        *removed = rc ? 0 : n;
    api_unlock(&s->b);
    return rc;
}

#define LOCKED_CALL(s, call)    \
    do {                        \
        api_lock(&(s)->b);      \
        int rc_ = (call);       \
        api_unlock(&(s)->b);    \
        return rc_;             \
    } while (0)

int udb_store_begin(udb_store *s) { LOCKED_CALL(s, api_begin(&s->b)); }
int udb_store_commit(udb_store *s) { LOCKED_CALL(s, api_commit(&s->b)); }
int udb_store_rollback(udb_store *s) { LOCKED_CALL(s, api_rollback(&s->b)); }
int udb_store_begin_read(udb_store *s) { LOCKED_CALL(s, api_begin_read(&s->b)); }
int udb_store_checkpoint(udb_store *s) { LOCKED_CALL(s, api_checkpoint(&s->b)); }

int udb_store_backup(udb_store *s, const char *dst)
{
    char *path[2] = {NULL, NULL};
    pager_file *files[2] = {s->ndx_pf, s->dat_pf};
    api_lock(&s->b);
    int rc = 0;
    if (dst && s->ndx_pf && s->dat_pf) {
        path[0] = store_path(dst, ".ndx");
        path[1] = store_path(dst, ".dat");
        if (!path[0] || !path[1])
            rc = udb_err_set(&s->b.err, UDB_NOMEM, "out of memory");
    }
    if (!rc)
        rc = api_backup(&s->b, files, dst ? (const char *const *)path : NULL, 2);
    api_unlock(&s->b);
    free(path[0]);
    free(path[1]);
    return rc;
}
