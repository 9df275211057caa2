/*
 * fuzz_writes.c — libFuzzer target: sequences of writes decoded from the
 * input (append / delete / define / bulk load / order / cursor moves and
 * changes on an index file; put / update / delete / cursor delete / compact / bulk load
 * on a store; begin / commit / rollback, close and reopen, injected I/O
 * faults) applied to a fuzzed index file or store, then a check.
 *
 * Input (tests/fuzz/README.md): part 0 the program (byte 0 the setup:
 * bit 0 store, 1 which built-in store, 2-3 layout option, 4 UDB_EXCLUSIVE,
 * 5-6 dirty limit, 7 sync OFF; byte 1: bit 0 checksums made right first,
 * bit 1 for the classic layout, else wide; then the operations), part 1
 * t.ndx, part 2 t.dat (both absent: a small valid file built at start-up).
 *
 * Invariants, while the file checked clean before the writes, no call
 * returned UDB_CORRUPT and no fault was injected ("strict"):
 *   - a failed call changed nothing: the digest of every record is the one
 *     before it (documented: UDB_IO, UDB_CORRUPT, UDB_NOMEM, UDB_RANGE and
 *     a failed bulk load poison an explicit transaction instead, and commit
 *     must then refuse);
 *   - a key just appended / put / updated reads back (the newest record of
 *     its key), a key just deleted is gone;
 *   - rollback restores the digest at begin; close and reopen keep it.
 * And whenever the file checked clean before and no call returned
 * UDB_CORRUPT (faults or not): after the last operation, the handle closed,
 * the faults off, the file reopens writable (recovering a hot journal) and
 * checks clean.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDX FZ_NAME ".ndx"
#define DAT FZ_NAME ".dat"
#define MAXKEYS 16
#define MAXOPS 32
#define BATCH_MAX (64u << 10)
#define DIGEST_MAX_BYTES (256u << 10) /* bigger files: no digests (speed) */

static const char *const group[] = {NDX, DAT, NDX "-journal", DAT "-journal", NULL};
static uint8_t *builtin[3][2]; /* [kind][0 ndx, 1 dat], wide */
static size_t builtin_len[3][2];
static int builtin_known[3][3], builtin_check[3][3]; /* [kind][layout option]: the check's
                                                        result once known (the same bytes
                                                        check the same every time) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int kind = 0; kind < 3; kind++) {
        memfs *m = fz_begin(NULL, 0, group);
        if (fz_make(m, kind == 1 ? UDB_LAYOUT_CLASSIC : UDB_LAYOUT_WIDE, kind, 10))
            abort();
        for (int k = 0; k < 2; k++) {
            const uint8_t *p = memfs_get(m, k ? DAT : NDX, &builtin_len[kind][k]);
            if (p && !(builtin[kind][k] = malloc(builtin_len[kind][k])))
                abort();
            if (p)
                memcpy(builtin[kind][k], p, builtin_len[kind][k]);
        }
        fz_end();
    }
    return 0;
}

typedef struct wst {
    memfs *m;
    fz_in in;
    int store;
    udb_options o;
    udb_ndx *d;
    udb_store *s;
    udb_cursor *c;
    udb_store_cursor *sc;
    int clean0, corrupt, faulted, digests;
    uint64_t gen0;              /* memfs_generation when the first check ran */
    int txn, poisoned;          /* an explicit transaction is open; a call poisoned it */
    uint64_t txn_digest;
    int txn_digest_ok;
    uint64_t dig;               /* the digest of the records now, */
    int dig_ok;                 /* known: no call that may change them since */
    uint8_t key[MAXKEYS][64];
    unsigned nkeys;
    size_t ks[65];              /* key size per index, 0: not asked yet */
    uint8_t kbuf[64 * 64];      /* keys being built */
    uint8_t vbuf[4096];
    udb_val val;
} wst;

static wst the_wst; /* one execution at a time: no 10 KB allocation each */

static int strict(const wst *w)
{
    return w->clean0 && !w->corrupt && !w->faulted;
}

static unsigned count(wst *w) { return w->store ? udb_store_count(w->s) : udb_ndx_count(w->d); }

/* The digest of the records: computed, or (known_ok) the one known. */
static int digest(wst *w, uint64_t *h, int known_ok)
{
    if (known_ok && w->dig_ok) {
        *h = w->dig;
        return 0;
    }
    int rc = w->store ? fz_store_digest(w->s, h) : fz_ndx_digest(w->d, h);
    w->dig = *h;
    w->dig_ok = !rc;
    return rc;
}

/* Asked once per index while the handle and the definitions stay. */
static size_t keysize(wst *w, unsigned ix)
{
    udb_index_info inf;
    if (ix <= 64 && w->ks[ix])
        return w->ks[ix];
    int rc = w->store ? udb_store_index_info(w->s, ix, &inf) : udb_ndx_info(w->d, ix, &inf);
    size_t ks = rc || inf.def.keysize > 64 ? 8 : inf.def.keysize;
    if (ix <= 64)
        w->ks[ix] = ks;
    return ks;
}

/* ---- operands --------------------------------------------------------------------------- */
static unsigned pick_ix(wst *w)
{
    unsigned n = count(w), b = fz_u8(&w->in);
    return n ? 1 + b % (n < 64 ? n : 64) : 1;
}

/* A key: one seen in the file (maybe its neighbour) or literal bytes. */
static const uint8_t *pick_key(wst *w, uint8_t *buf, size_t *len, size_t ks)
{
    unsigned b = fz_u8(&w->in);
    if (b < 0xc0 && w->nkeys) {
        memcpy(buf, w->key[b % w->nkeys], 64);
        if (b & 0x80 && ks)
            buf[ks - 1]++;
        *len = b & 0x40 ? ks / 2 : ks;
        return buf;
    }
    size_t got;
    const uint8_t *p = fz_bytes(&w->in, b & 0x3f, &got);
    memset(buf, 0, 64);
    memcpy(buf, p, got);
    *len = got;
    return buf;
}

static int64_t pick_pos(wst *w)
{
    unsigned b = fz_u8(&w->in);
    return b < 0xf0 ? (int64_t)b * 13 + 1 : b == 0xff ? (int64_t)fz_u64(&w->in) : -(int64_t)(b & 15);
}

static const uint8_t *pick_val(wst *w, size_t *len)
{
    unsigned b = fz_u8(&w->in);
    if (b >= 0xe0) { /* long and compressible */
        *len = (size_t)(b - 0xe0 + 1) * 120;
        memset(w->vbuf, 'a' + (int)(b & 7), *len);
        return w->vbuf;
    }
    size_t got;
    const uint8_t *p = fz_bytes(&w->in, b & 0x7f, &got);
    memcpy(w->vbuf, p, got);
    *len = got;
    return w->vbuf;
}

static void remember_keys(wst *w)
{
    w->nkeys = 0;
    for (unsigned ix = 1; ix <= count(w) && ix <= 4; ix++) {
        size_t ks;
        uint8_t keys[4 * 64];
        unsigned n = w->store ? 0 : fz_ndx_keys(w->d, ix, keys, 4, &ks);
        if (w->store) {
            udb_store_cursor *c;
            udb_item it;
            if (udb_store_cursor_open(w->s, ix, &c))
                continue;
            for (int rc = udb_store_cursor_first(c, &it, NULL); !rc && n < 4;
                 rc = udb_store_cursor_next(c, &it, NULL))
                if (it.keysize <= 64)
                    memcpy(keys + 64 * n++, it.key, it.keysize);
            udb_store_cursor_close(c);
        }
        for (unsigned k = 0; k < n && w->nkeys < MAXKEYS; k++)
            memcpy(w->key[w->nkeys++], keys + 64 * k, 64);
    }
}

/* ---- handles -------------------------------------------------------------------------------- */
static void close_all(wst *w)
{
    w->dig_ok = 0;
    udb_cursor_close(w->c);
    udb_store_cursor_close(w->sc);
    w->c = NULL;
    w->sc = NULL;
    if (w->store)
        udb_store_close(w->s);
    else
        udb_ndx_close(w->d);
    w->s = NULL;
    w->d = NULL;
    w->txn = w->poisoned = 0;
}

static int open_all(wst *w)
{
    w->dig_ok = 0;
    memset(w->ks, 0, sizeof w->ks);
    int rc = w->store ? udb_store_open(FZ_NAME, &w->o, &w->s) : udb_ndx_open(NDX, &w->o, &w->d);
    if (rc) {
        close_all(w);
        return rc;
    }
    return 0;
}

static int check(wst *w)
{
    return w->store ? fz_store_check(w->s) : fz_ndx_check(w->d);
}

/* ---- one write, with the invariants around it ------------------------------------------------ */
/* What a failed call must leave as it was: outside an explicit transaction
   the data files (it rolled back), inside one the records (digest). */
typedef struct pre {
    int what;                   /* 0 nothing to compare, 1 digest, 2 files */
    uint64_t h;
    uint64_t gen;               /* memfs_generation: unchanged, the files are too */
    size_t n[2];                /* the files' sizes, SIZE_MAX: absent */
} pre;

static uint8_t *snap;           /* the files before the call (one call at a time) */
static size_t snap_cap;

static void take_files(wst *w, pre *p)
{
    const char *path[2] = {NDX, DAT};
    const uint8_t *b[2];
    size_t n[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        b[k] = memfs_get(w->m, path[k], &n[k]);
    if (!snap || n[0] + n[1] > snap_cap) {
        snap_cap = (n[0] + n[1]) * 2 + 4096;
        if (!(snap = realloc(snap, snap_cap)))
            abort();
    }
    for (int k = 0; k < 2; k++) {
        if (b[k])
            memcpy(snap + (k ? n[0] : 0), b[k], n[k]);
        p->n[k] = b[k] ? n[k] : SIZE_MAX;
    }
    p->gen = memfs_generation(w->m);
}

static void before(wst *w, pre *p)
{
    memset(p, 0, sizeof *p);
    if (strict(w) && !w->poisoned && !w->txn) {
        take_files(w, p);
        p->what = 2;
    } else if (strict(w) && !w->poisoned && w->digests && !digest(w, &p->h, 1)) {
        p->what = 1;
    }
    w->dig_ok = 0; /* the call may change the records */
}

static int poisons(int rc)
{
    return rc == UDB_IO || rc == UDB_CORRUPT || rc == UDB_NOMEM || rc == UDB_RANGE;
}

static int unchanged(wst *w, const pre *p)
{
    uint64_t h;
    if (p->what == 1)
        return digest(w, &h, 0) || h == p->h;
    if (memfs_generation(w->m) == p->gen)
        return 1;
    const char *path[2] = {NDX, DAT};
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        const uint8_t *b = memfs_get(w->m, path[k], &n);
        size_t at = k && p->n[0] != SIZE_MAX ? p->n[0] : 0;
        if ((b ? n : SIZE_MAX) != p->n[k] || (b && memcmp(b, snap + at, n)))
            return 0;
    }
    return 1;
}

/* After a write that returned rc (bulk: a bulk load, which poisons on any failure). */
static void after(wst *w, pre *p, int rc, int bulk, const char *what)
{
    fz_trace("  %s: %s", what, udb_errname(rc));
    if (rc == UDB_CORRUPT)
        w->corrupt = 1;
    if (rc && w->txn && (bulk || poisons(rc)))
        w->poisoned = 1;
    else if (rc && p->what && strict(w) && !unchanged(w, p))
        fz_fail("digest", "%s failed with %s and changed %s", what, udb_errname(rc),
                p->what == 1 ? "the records" : "the files");
}

static void expect_find(wst *w, unsigned ix, const void *k, size_t kl, int64_t dp, const char *what)
{
    int64_t got = -1;
    int rc = udb_ndx_find(w->d, ix, k, kl, &got);
    if (strict(w) && (dp < 0 ? rc != UDB_NOTFOUND : rc || got != dp))
        fz_fail("read", "index %u: after %s find gives %s / %lld, not %lld", ix, what, udb_errname(rc),
                (long long)got, (long long)dp);
}

static void expect_get(wst *w, unsigned ix, const void *k, size_t kl, const void *v, size_t vl,
                       const char *what)
{
    int rc = udb_store_get(w->s, ix, k, kl, &w->val);
    if (!strict(w) || rc == UDB_NOMEM)
        return;
    if (v ? rc || w->val.len != vl || (vl && memcmp(w->val.data, v, vl)) : rc != UDB_NOTFOUND)
        fz_fail("read", "index %u: after %s get gives %s (%zu bytes), not the %s", ix, what,
                udb_errname(rc), w->val.len, v ? "value written" : "absence");
}

/* ---- bulk loads ------------------------------------------------------------------------------------ */
typedef struct load {
    unsigned i, n, nidx;
    uint8_t k[64 * 64];
} load;

/* The bulk load of the moment (one at a time), of n records. */
static load *load_of(unsigned n)
{
    static load l;
    memset(&l, 0, sizeof l);
    l.n = n;
    return &l;
}

static void load_key(load *l, uint8_t *k)
{
    memset(k, 0, 64);
    snprintf((char *)k, 64, "%06u", l->i * 3);
}

static int ndx_next(void *arg, const void **key, size_t *len, int64_t *dp)
{
    load *l = arg;
    if (l->i == l->n)
        return 1;
    load_key(l, l->k);
    *key = l->k;
    *len = strlen((char *)l->k);
    *dp = l->i++ + 1;
    return 0;
}

static int store_next(void *arg, udb_key *keys, const void **val, size_t *len)
{
    load *l = arg;
    if (l->i == l->n)
        return 1;
    for (unsigned ix = 0; ix < l->nidx; ix++) {
        load_key(l, l->k + 64 * ix);
        keys[ix] = (udb_key){l->k + 64 * ix, strlen((char *)l->k + 64 * ix)};
    }
    *val = l->k;
    *len = 6 + l->i++ % 40;
    return 0;
}

/* ---- the operations -------------------------------------------------------------------------------- */
static void op_txn(wst *w, unsigned which)
{
    int rc;
    if (which == 0) { /* begin */
        rc = w->store ? udb_store_begin(w->s) : udb_ndx_begin(w->d);
        fz_trace("  begin: %s", udb_errname(rc));
        if (!rc) {
            w->txn = 1;
            w->poisoned = 0;
            w->txn_digest_ok = strict(w) && w->digests && !digest(w, &w->txn_digest, 1);
        }
        return;
    }
    if (which == 1 && w->txn) { /* commit */
        rc = w->store ? udb_store_commit(w->s) : udb_ndx_commit(w->d);
        fz_trace("  commit: %s", udb_errname(rc));
        if (w->poisoned && rc != UDB_ABORTED && strict(w))
            fz_fail("digest", "commit of a poisoned transaction gave %s, not UDB_ABORTED", udb_errname(rc));
        if (!rc) {
            w->txn = 0;
            return;
        }
        if (rc == UDB_CORRUPT)
            w->corrupt = 1;
    } /* a failed commit: roll back (UDB_INVAL if the commit already did) */
    w->dig_ok = 0;
    if (!w->txn)
        return;
    rc = w->store ? udb_store_rollback(w->s) : udb_ndx_rollback(w->d);
    fz_trace("  rollback: %s", udb_errname(rc));
    w->txn = w->poisoned = 0;
    uint64_t h;
    if (!rc && w->txn_digest_ok && strict(w) && !digest(w, &h, 0) && h != w->txn_digest)
        fz_fail("digest", "rollback did not restore the records");
}

static void op_reopen(wst *w)
{
    uint64_t h0 = 0, h;
    int ok = strict(w) && w->digests && !w->txn && !digest(w, &h0, 1);
    if (w->txn && w->txn_digest_ok) {
        ok = strict(w);
        h0 = w->txn_digest;
    }
    if (!w->store)
        fz_ndx_dump(w->d, "before close");
    close_all(w);
    int rc = open_all(w);
    fz_trace("  reopen: %s", udb_errname(rc));
    if (!rc && !w->store)
        fz_ndx_dump(w->d, "after reopen");
    if (rc && strict(w))
        fz_fail("reopen", "the file no longer opens: %s", udb_errname(rc));
    if (!rc && ok && strict(w) && !digest(w, &h, 0) && h != h0)
        fz_fail("digest", "close and reopen changed the records");
}

static void op_fault(wst *w)
{
    unsigned b = fz_u8(&w->in);
    static const int errs[] = {EIO, ENOSPC, EIO, EFBIG};
    memfs_fail_at(w->m, 1 + b % 24, errs[(b >> 5) & 3], b >> 7);
    fz_trace("  fault at change %u, errno %d%s", 1 + b % 24, errs[(b >> 5) & 3], b >> 7 ? ", crash" : "");
    w->faulted = 1;
}

static void ndx_cursor(wst *w, unsigned sub)
{
    udb_item it;
    uint8_t k[64];
    size_t kl;
    pre p;
    int rc;
    if (!w->c || sub == 0) {
        udb_cursor_close(w->c);
        w->c = NULL;
        unsigned ix = pick_ix(w);
        if (udb_cursor_open(w->d, ix, &w->c))
            return;
    }
    switch (sub % 10) {
    case 1: udb_cursor_first(w->c, &it); break;
    case 2: udb_cursor_last(w->c, &it); break;
    case 3: udb_cursor_next(w->c, &it); break;
    case 4: udb_cursor_prev(w->c, &it); break;
    case 5: udb_cursor_seek(w->c, pick_key(w, k, &kl, 64), kl, &it); break;
    case 6: udb_cursor_find(w->c, pick_key(w, k, &kl, 64), kl, &it); break;
    case 7:
        before(w, &p);
        after(w, &p, udb_cursor_delete(w->c, &it), 0, "cursor delete");
        break;
    case 8: {
        int64_t dp = pick_pos(w);
        before(w, &p);
        rc = udb_cursor_set_datapos(w->c, dp);
        after(w, &p, rc, 0, "set datapos");
        if (!rc && !udb_cursor_current(w->c, &it) && it.datapos != dp && strict(w))
            fz_fail("read", "set datapos %lld reads back %lld", (long long)dp, (long long)it.datapos);
        break;
    }
    case 9: {
        pick_key(w, k, &kl, 64);
        int64_t dp = pick_pos(w);
        before(w, &p);
        after(w, &p, udb_cursor_append(w->c, k, kl, dp), 0, "cursor append");
        break;
    }
    default: udb_cursor_current(w->c, &it); break;
    }
}

static void ndx_op(wst *w, unsigned op)
{
    uint8_t k[64];
    size_t kl;
    pre p;
    unsigned ix;
    int rc;
    switch (op % 11) {
    case 0: { /* append */
        ix = pick_ix(w);
        pick_key(w, k, &kl, keysize(w, ix));
        int64_t dp = pick_pos(w);
        before(w, &p);
        fz_trace("  append ix %u keylen %zu key %.*s dp %lld", ix, kl, (int)kl, (const char *)k, (long long)dp);
        rc = udb_ndx_append(w->d, ix, k, kl, dp);
        after(w, &p, rc, 0, "append");
        if (!rc)
            expect_find(w, ix, k, kl, dp, "append");
        break;
    }
    case 1: /* delete */
        ix = pick_ix(w);
        pick_key(w, k, &kl, keysize(w, ix));
        before(w, &p);
        rc = udb_ndx_delete(w->d, ix, k, kl, NULL);
        after(w, &p, rc, 0, "delete");
        if (!rc)
            expect_find(w, ix, k, kl, -1, "delete");
        break;
    case 2: { /* find */
        int64_t dp;
        ix = pick_ix(w);
        pick_key(w, k, &kl, keysize(w, ix));
        udb_ndx_find(w->d, ix, k, kl, &dp);
        break;
    }
    case 3: ndx_cursor(w, fz_u8(&w->in)); break;
    case 4: op_txn(w, 0); break;
    case 5: op_txn(w, 1); break;
    case 6: op_txn(w, 2); break;
    case 7: { /* define */
        udb_index_def def = {(int)fz_u8(&w->in) % 9, fz_u8(&w->in) % 70, fz_u8(&w->in) % 4,
                             fz_u8(&w->in) % 40, fz_u8(&w->in) % 5, fz_u8(&w->in) % 9};
        ix = pick_ix(w);
        before(w, &p);
        after(w, &p, udb_ndx_define(w->d, ix, &def), 0, "define");
        memset(w->ks, 0, sizeof w->ks);
        break;
    }
    case 8: { /* bulk load */
        ix = pick_ix(w);
        load *l = load_of(fz_u8(&w->in) * 4);
        before(w, &p);
        after(w, &p, udb_ndx_load_sorted(w->d, ix, ndx_next, l, NULL), 1, "bulk load");
        break;
    }
    case 9: { /* leaves in key order (every index, index 1 or 2): the same records */
        uint64_t h0 = 0, h1;
        int known = strict(w) && !w->poisoned && w->digests && !digest(w, &h0, 1);
        before(w, &p);
        rc = udb_ndx_order(w->d, fz_u8(&w->in) % 3);
        after(w, &p, rc, 0, "order");
        if (!rc && known && strict(w) && !digest(w, &h1, 0) && h1 != h0)
            fz_fail("digest", "order changed the records");
        break;
    }
    default: op_reopen(w); break;
    }
}

static void store_cursor(wst *w, unsigned sub)
{
    udb_item it;
    uint8_t k[64];
    size_t kl;
    pre p;
    if (!w->sc || sub == 0) {
        udb_store_cursor_close(w->sc);
        w->sc = NULL;
        if (udb_store_cursor_open(w->s, pick_ix(w), &w->sc))
            return;
    }
    switch (sub % 8) {
    case 1: udb_store_cursor_first(w->sc, &it, &w->val); break;
    case 2: udb_store_cursor_last(w->sc, &it, &w->val); break;
    case 3: udb_store_cursor_next(w->sc, &it, &w->val); break;
    case 4: udb_store_cursor_prev(w->sc, &it, &w->val); break;
    case 5: udb_store_cursor_seek(w->sc, pick_key(w, k, &kl, 64), kl, &it, &w->val); break;
    case 6:
        before(w, &p);
        after(w, &p, udb_store_cursor_delete(w->sc), 0, "cursor delete");
        break;
    default: udb_store_cursor_current(w->sc, &it, NULL); break;
    }
}

static void store_put(wst *w)
{
    udb_key keys[64];
    unsigned n = count(w) < 64 ? count(w) : 64;
    size_t vl;
    for (unsigned ix = 0; ix < n; ix++) {
        size_t kl;
        pick_key(w, w->kbuf + 64 * ix, &kl, keysize(w, ix + 1));
        keys[ix] = (udb_key){w->kbuf + 64 * ix, kl};
    }
    const uint8_t *v = pick_val(w, &vl);
    pre p;
    before(w, &p);
    int rc = udb_store_put(w->s, keys, v, vl);
    after(w, &p, rc, 0, "put");
    for (unsigned ix = 0; !rc && ix < n; ix++)
        expect_get(w, ix + 1, keys[ix].data, keys[ix].len, v, vl, "put");
}

static void store_op(wst *w, unsigned op)
{
    uint8_t k[64];
    size_t kl, vl;
    pre p;
    unsigned ix;
    int rc;
    switch (op % 11) {
    case 0: store_put(w); break;
    case 1: /* get */
        ix = pick_ix(w);
        udb_store_get(w->s, ix, pick_key(w, k, &kl, keysize(w, ix)), kl, &w->val);
        break;
    case 2: { /* update */
        ix = pick_ix(w);
        pick_key(w, k, &kl, keysize(w, ix));
        const uint8_t *v = pick_val(w, &vl);
        before(w, &p);
        rc = udb_store_update(w->s, ix, k, kl, v, vl);
        after(w, &p, rc, 0, "update");
        if (!rc)
            expect_get(w, ix, k, kl, v, vl, "update");
        break;
    }
    case 3: /* delete */
        ix = pick_ix(w);
        pick_key(w, k, &kl, keysize(w, ix));
        before(w, &p);
        rc = udb_store_delete(w->s, ix, k, kl, NULL);
        after(w, &p, rc, 0, "delete");
        if (!rc)
            expect_get(w, ix, k, kl, NULL, 0, "delete");
        break;
    case 4: store_cursor(w, fz_u8(&w->in)); break;
    case 5: op_txn(w, 0); break;
    case 6: op_txn(w, 1); break;
    case 7: op_txn(w, 2); break;
    case 8: /* compact; in key order of index 1, 2 (0: as it is) */
        before(w, &p);
        rc = udb_store_compact_order(w->s, fz_u8(&w->in) % 3);
        after(w, &p, rc, 0, "compact");
        break;
    case 9: { /* bulk load */
        load *l = load_of(fz_u8(&w->in) * 4);
        l->nidx = count(w) < 64 ? count(w) : 64;
        before(w, &p);
        after(w, &p, udb_store_load_sorted(w->s, store_next, l, NULL), 1, "bulk load");
        break;
    }
    default: op_reopen(w); break;
    }
}

static void first_problem(void *arg, int severity, int64_t offset, unsigned index, const char *text)
{
    char *b = arg;
    if (severity == UDB_PROBLEM && !b[0])
        snprintf(b, 300, "index %u, offset %lld: %s", index, (long long)offset, text);
}

static void final_check(wst *w)
{
    close_all(w);
    if (memfs_generation(w->m) == w->gen0)
        return; /* no file changed: the first check said it all */
    memfs_fail_at(w->m, 0, 0, 0);
    w->o.flags &= ~UDB_RDONLY;
    char why[300] = "";
    int rc = open_all(w);
    if (!rc)
        rc = w->store ? udb_store_check(w->s, first_problem, why, NULL)
                      : udb_ndx_check(w->d, first_problem, why, NULL);
    if (rc && !why[0])
        snprintf(why, sizeof why, "%s", w->store ? udb_store_errmsg(w->s) : udb_ndx_errmsg(w->d));
    if (rc && w->clean0 && !w->corrupt)
        fz_fail("check", "the file checked clean before the writes and %s after (%s: %s)",
                rc == UDB_CORRUPT ? "is corrupt" : "fails", udb_errname(rc), why);
    close_all(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_part part[FZ_MAXPARTS];
    fz_split(data, size, part);
    if (fz_ndx_batch(part[1].p, part[1].n) > BATCH_MAX)
        return 0; /* every growth would write megabytes (fuzz_repair.c) */
    wst *w = &the_wst;
    memset(w, 0, sizeof *w);
    w->in = (fz_in){part[0].p, part[0].n, 0};
    unsigned c0 = fz_u8(&w->in), c1 = fz_u8(&w->in);
    w->m = fz_begin(data, size, group);
    w->store = c0 & 1;
    int kind = w->store ? (c0 >> 1 & 1) : 2, layout = (int)(c0 >> 2) % 3;
    int bi = !fz_plant_pair(part[1], part[2], c1 & 1, c1 & 2 ? UDB_LAYOUT_CLASSIC : UDB_LAYOUT_WIDE);
    for (int k = 0; bi && k < 2; k++)
        if (builtin[kind][k])
            memfs_put(w->m, k ? DAT : NDX, builtin[kind][k], builtin_len[kind][k]);
    static const size_t limits[4] = {0, 16384, 65536, 1u << 20};
    fz_options(&w->o, layout, c0 & 0x10 ? UDB_EXCLUSIVE : 0);
    w->o.dirty_limit = limits[c0 >> 5 & 3];
    w->o.sync = c0 & 0x80 ? UDB_SYNC_OFF : UDB_SYNC_FULL;
    size_t n1 = 0, n2 = 0;
    memfs_get(w->m, NDX, &n1);
    memfs_get(w->m, DAT, &n2);
    w->digests = n1 + n2 <= DIGEST_MAX_BYTES;
    if (!open_all(w)) {
        int rc = bi && builtin_known[kind][layout] ? builtin_check[kind][layout] : check(w);
        if (bi) {
            builtin_check[kind][layout] = rc;
            builtin_known[kind][layout] = 1;
        }
        w->clean0 = rc == 0;
        w->gen0 = memfs_generation(w->m);
        fz_trace("opened; %s", w->clean0 ? "checks clean" : "does not check clean");
        remember_keys(w);
        for (int n = 0; n < MAXOPS && fz_more(&w->in) && (w->d || w->s); n++) {
            unsigned op = fz_u8(&w->in);
            fz_trace("op %u (%s %u)", op, w->store ? "store" : "ndx", op % (w->store ? 11 : 10));
            if (op >= 0xf8)
                op_fault(w);
            else if (w->store)
                store_op(w, op);
            else
                ndx_op(w, op);
        }
        final_check(w);
    }
    udb_val_free(&w->val);
    fz_end();
    return 0;
}
