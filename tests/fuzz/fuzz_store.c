/*
 * fuzz_store.c — libFuzzer target: a fuzzed t.ndx + t.dat pair opened as a
 * record store: frames, inflate, the store descriptor, the check. Every
 * index is walked both ways with values, scanned (ranges and prefixes),
 * seeked and read by key; the store is checked; a few writes follow
 * (put, update, delete, cursor delete, compact) and a second check.
 *
 * Input (tests/fuzz/README.md): part 0 control bytes, part 1 t.ndx,
 * part 2 t.dat. Control byte 0 bit 5: the checksums and frame crc32s are
 * made right first (bit 6: for the classic layout, else wide).
 *
 * Invariants: a read-only handle changes no byte; when the check calls the
 * store clean every record reads back ("read": a known open bug class as
 * of this target's writing, see tests/fuzz/README.md).
 */
#include <stdlib.h>
#include <string.h>
#include "fz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDX FZ_NAME ".ndx"
#define DAT FZ_NAME ".dat"
#define MAXK 8
#define BATCH_MAX (64u << 10)

static const char *const group[] = {NDX, DAT, NDX "-journal", NULL};

typedef struct sst {
    udb_store *s;
    fz_in in;
    udb_val v;
    uint8_t keys[MAXK][64];
    size_t klen[MAXK];
    unsigned nk;
} sst;

static int scan_fn(void *arg, const udb_item *key, const void *val, size_t len)
{
    unsigned *n = arg;
    (void)key;
    (void)val;
    (void)len;
    return ++*n > 5000; /* stop a long scan: its value is returned */
}

static void read_index(sst *t, unsigned ix)
{
    udb_store_cursor *c;
    udb_item it;
    udb_index_info inf;
    udb_store_index_info(t->s, ix, &inf);
    if (udb_store_cursor_open(t->s, ix, &c))
        return;
    int n = 0;
    for (int rc = udb_store_cursor_first(c, &it, &t->v); !rc && n < 20000;
         rc = udb_store_cursor_next(c, &it, &t->v), n++)
        if (t->nk < MAXK && it.keysize <= 64 && (n & (n - 1)) == 0) {
            memcpy(t->keys[t->nk], it.key, it.keysize);
            t->klen[t->nk++] = it.keysize;
        }
    for (int rc = udb_store_cursor_last(c, &it, NULL); !rc && n > 0; rc = udb_store_cursor_prev(c, &it, NULL))
        n--;
    for (unsigned k = 0; k < t->nk; k++) {
        udb_store_cursor_seek(c, t->keys[k], t->klen[k], &it, &t->v);
        udb_store_cursor_current(c, &it, &t->v);
        udb_store_get(t->s, ix, t->keys[k], t->klen[k], &t->v);
    }
    udb_store_cursor_close(c);
    unsigned seen = 0;
    const uint8_t *a = t->nk ? t->keys[0] : NULL, *b = t->nk > 1 ? t->keys[t->nk - 1] : NULL;
    udb_store_scan(t->s, ix, a, a ? t->klen[0] : 0, b, b ? t->klen[t->nk - 1] : 0, NULL, 0, scan_fn,
                   &seen);
    seen = 0;
    if (a)
        udb_store_scan(t->s, ix, NULL, 0, NULL, 0, a, 1 + fz_u8(&t->in) % t->klen[0], scan_fn, &seen);
}

/* Returns the number of writes tried. */
static unsigned writes(sst *t)
{
    unsigned n = udb_store_count(t->s), nops = fz_u8(&t->in) % 8;
    udb_key keys[64];
    uint8_t kb[64][16];
    for (unsigned i = 0; i < nops; i++) {
        unsigned op = fz_u8(&t->in), ix = n ? 1 + fz_u8(&t->in) % n : 1, k = t->nk ? fz_u8(&t->in) % t->nk : 0;
        size_t vl = fz_u8(&t->in) * 3u;
        uint8_t val[800];
        memset(val, (int)op, vl);
        switch (op % 5) {
        case 0:
            for (unsigned j = 0; j < n && j < 64; j++) {
                memset(kb[j], 0, sizeof kb[j]);
                kb[j][0] = (uint8_t)('A' + (op + j) % 26);
                keys[j] = (udb_key){kb[j], 1 + j % 3};
            }
            udb_store_put(t->s, keys, val, vl);
            break;
        case 1:
            if (t->nk)
                udb_store_update(t->s, ix, t->keys[k], t->klen[k], val, vl);
            break;
        case 2:
            if (t->nk)
                udb_store_delete(t->s, ix, t->keys[k], t->klen[k], NULL);
            break;
        case 3: {
            udb_store_cursor *c;
            udb_item it;
            if (!udb_store_cursor_open(t->s, ix, &c) && !udb_store_cursor_last(c, &it, NULL))
                udb_store_cursor_delete(c);
            udb_store_cursor_close(c);
            break;
        }
        default: /* in key order of index ix every other time */
            udb_store_compact_order(t->s, k % 2 ? ix : 0);
            break;
        }
    }
    return nops;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_part part[FZ_MAXPARTS];
    fz_split(data, size, part);
    if (fz_ndx_batch(part[1].p, part[1].n) > BATCH_MAX)
        return 0; /* every growth would write megabytes (fuzz_repair.c) */
    sst t;
    memset(&t, 0, sizeof t);
    t.in = (fz_in){part[0].p, part[0].n, 0};
    unsigned c0 = fz_u8(&t.in);
    memfs *m = fz_begin(data, size, group);
    fz_plant_pair(part[1], part[2], c0 & 0x20, c0 & 0x40 ? UDB_LAYOUT_CLASSIC : UDB_LAYOUT_WIDE);
    int rdonly = c0 & 4;
    uint64_t gen = memfs_generation(m);
    if (rdonly)
        fz_allow(NULL); /* the guard fails any change as it is tried */
    udb_options o;
    fz_options(&o, (int)(c0 % 3), (rdonly ? UDB_RDONLY : 0) | (c0 & 8 ? UDB_EXCLUSIVE : 0));
    o.dirty_limit = c0 & 0x10 ? 16384 : 0;
    if (!udb_store_open(FZ_NAME, &o, &t.s)) {
        for (unsigned ix = 1; ix <= udb_store_count(t.s) && ix <= 8; ix++)
            read_index(&t, ix);
        uint64_t h;
        int rc = fz_store_check(t.s), bad;
        if (!rc && (bad = fz_store_digest(t.s, &h)) && bad != UDB_NOMEM)
            fz_fail("read", "the store checks clean but a record does not read: %s (%s)", udb_errname(bad),
                    udb_store_errmsg(t.s));
        if (!rdonly && writes(&t)) /* (nothing written: the check above said it all) */
            fz_store_check(t.s);
    }
    udb_store_close(t.s);
    if (rdonly && memfs_generation(m) != gen)
        fz_fail("changed", "a read-only store handle changed its files");
    udb_val_free(&t.v);
    fz_end();
    return 0;
}
