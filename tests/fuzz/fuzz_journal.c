/*
 * fuzz_journal.c — libFuzzer target: journal playback. Crafted journals
 * t.ndx-journal and t.dat-journal beside an index file, a heap file or a
 * store (fuzzed, or a valid store built at start-up), opened read-only and
 * then writable, or recovered with udb_recover.
 *
 * Input (tests/fuzz/README.md): part 0 control bytes, part 1 t.ndx, part 2
 * t.dat (both empty: the built-in store), part 3 t.ndx-journal, part 4
 * t.dat-journal. Control byte 0: bits 0-1 the kind (index file, heap
 * file, store, udb_recover: of t.dat with bit 2), bit 3 the built-in
 * store's layout (wide), bits 4-7 modulo 3 the layout option, bit 6
 * sync NORMAL; byte 1: bit 0 a write of its own, bit 1 UDB_EXCLUSIVE,
 * bits 2-7 what to write, bit 6 the data files' checksums made right first,
 * bit 7 the journals' crc32s; byte 2: bit 0 UDB_RAW for a writable index-
 * or heap-level open (of a store's own file, refused without it).
 *
 * The writable pass reads the files again only when its open changed them
 * (played a journal back): else the read-only pass read the same bytes.
 *
 * Invariants: no file but t.ndx, t.dat and their journals is ever opened
 * for writing, written, truncated or unlinked (the decoys of fz.h); the
 * read-only pass opens nothing for writing; without a hot journal and
 * without a write of its own an open changes no byte; after a writable
 * open or udb_recover succeeded no journal of the file is hot.
 */
#include <stdlib.h>
#include <string.h>
#include "fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDX FZ_NAME ".ndx"
#define DAT FZ_NAME ".dat"
#define NDXJ FZ_NAME ".ndx-journal"
#define DATJ FZ_NAME ".dat-journal"

static const char *const group[] = {NDX, DAT, NDXJ, DATJ, NULL};
static uint8_t *builtin[2][2]; /* [wide][0 ndx, 1 dat] */
static size_t builtin_len[2][2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int w = 0; w < 2; w++) {
        memfs *m = fz_begin(NULL, 0, group);
        if (fz_make(m, w ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC, 0, 12))
            abort();
        for (int k = 0; k < 2; k++) {
            const uint8_t *p = memfs_get(m, k ? DAT : NDX, &builtin_len[w][k]);
            if (!p || !(builtin[w][k] = malloc(builtin_len[w][k])))
                abort();
            memcpy(builtin[w][k], p, builtin_len[w][k]);
        }
        fz_end();
    }
    return 0;
}

/* A copy of the data files, to see whether an open changed them (its
   buffers kept from one execution to the next). */
typedef struct snap {
    uint8_t *p[2];
    size_t n[2], cap[2];
    int present[2];
    uint64_t gen;               /* memfs_generation: unchanged, so are the files */
} snap;

static void snap_take(memfs *m, snap *s)
{
    for (int k = 0; k < 2; k++) {
        const uint8_t *p = memfs_get(m, k ? DAT : NDX, &s->n[k]);
        s->present[k] = p != NULL;
        if (p && s->n[k] > s->cap[k] && !(s->p[k] = realloc(s->p[k], s->cap[k] = 2 * s->n[k])))
            abort();
        if (p && s->n[k])
            memcpy(s->p[k], p, s->n[k]);
    }
    s->gen = memfs_generation(m);
}

static int snap_same(memfs *m, const snap *s)
{
    if (memfs_generation(m) == s->gen)
        return 1;
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        const uint8_t *p = memfs_get(m, k ? DAT : NDX, &n);
        if ((p != NULL) != s->present[k] || (p && (n != s->n[k] || (n && memcmp(p, s->p[k], n)))))
            return 0;
    }
    return 1;
}

static int walk_heap(void *arg, const udb_hole *h)
{
    (void)arg;
    (void)h;
    return 0;
}

/* Do the files differ from what the read-only pass read (the generation
   then, or 0 when it read nothing)? */
static int changed_since(memfs *m, uint64_t gen)
{
    return !gen || memfs_generation(m) != gen;
}

/* kind 0 index file, 1 heap file, 2 store; write: one change of our own;
   read: the generation the files were read at (0: never). */
static int session(memfs *m, int kind, const udb_options *o, int write, unsigned seed, uint64_t *read)
{
    uint8_t k[64] = {0};
    int rc;
    k[0] = (uint8_t)('a' + seed % 26);
    if (kind == 0) {
        udb_ndx *d;
        if (!(rc = udb_ndx_open(NDX, o, &d)) && changed_since(m, *read)) {
            uint8_t keys[4 * 64];
            size_t ks;
            for (unsigned ix = 1; ix <= udb_ndx_count(d) && ix <= 4; ix++)
                fz_ndx_walk(d, ix, keys, 4, &ks);
            fz_ndx_check(d);
            *read = memfs_generation(m);
        }
        if (!rc && write && udb_ndx_count(d))
            udb_ndx_append(d, 1 + seed % udb_ndx_count(d), k, 1, seed);
        udb_ndx_close(d);
    } else if (kind == 1) {
        udb_heap *h;
        int64_t pos;
        if (!(rc = udb_heap_open(DAT, o, &h)) && changed_since(m, *read)) {
            udb_heap_info inf;
            udb_heap_info_get(h, &inf);
            udb_heap_holes(h, walk_heap, NULL);
            udb_heap_read(h, seed % 64, k, 16);
            *read = memfs_generation(m);
        }
        if (!rc && write && !udb_heap_alloc(h, 1 + seed % 300, &pos))
            udb_heap_write(h, pos, k, 1);
        udb_heap_close(h);
    } else {
        udb_store *s;
        if (!(rc = udb_store_open(FZ_NAME, o, &s)) && changed_since(m, *read)) {
            uint64_t dig;
            fz_store_digest(s, &dig);
            fz_store_check(s);
            *read = memfs_generation(m);
        }
        udb_key keys[64];
        for (unsigned i = 0; i < 64; i++)
            keys[i] = (udb_key){k, 1};
        if (!rc && write)
            udb_store_put(s, keys, k, 8);
        udb_store_close(s);
    }
    return rc;
}

/* The journals a handle on path honours: its own, for t.dat the store's
   t.ndx-journal when it names t.dat; with datj (t.dat itself, or the store
   and udb_recover of t.ndx while t.dat exists) also t.dat-journal, a raw
   heap writer's. */
static int hot_for(const char *path, int datj)
{
    return fz_journal_hot(NDXJ, !strcmp(path, NDX) ? NULL : "t.dat") ||
           (datj && fz_journal_hot(DATJ, NULL));
}

static void no_hot_journal(const char *path, int datj)
{
    if (hot_for(path, datj))
        fz_fail("recover", "a journal of %s is still hot after it opened writable or recovered", path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_part part[FZ_MAXPARTS];
    fz_split(data, size, part);
    fz_in c = {part[0].p, part[0].n, 0};
    unsigned c0 = fz_u8(&c), c1 = fz_u8(&c), c2 = fz_u8(&c);
    memfs *m = fz_begin(data, size, group);
    int wide = c0 >> 3 & 1, kind = c0 & 3;
    if (!fz_plant_pair(part[1], part[2], c1 & 0x40, wide ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC))
        for (int k = 0; k < 2; k++)
            memfs_put(m, k ? DAT : NDX, builtin[wide][k], builtin_len[wide][k]);
    for (int k = 0; k < 2; k++) {
        static uint8_t *j; /* a journal to fix, kept from one execution to the next */
        static size_t cap;
        fz_part jp = part[3 + k];
        if (c1 & 0x80 && jp.n) {
            if (jp.n > cap && !(j = realloc(j, cap = 2 * jp.n)))
                abort();
            memcpy(j, jp.p, jp.n);
            fz_fix_journal(j, jp.n);
            jp.p = j;
        }
        fz_plant(k ? DATJ : NDXJ, jp);
    }
    const char *path = kind == 1 || (kind == 3 && c0 & 4) ? DAT : NDX;
    size_t datn;
    int datj = !strcmp(path, DAT) || (kind >= 2 && memfs_get(m, DAT, &datn));
    int hot = hot_for(path, datj);
    udb_options o;
    static snap before;
    uint64_t read = 0;
    snap_take(m, &before);

    /* read-only: nothing may be opened for writing, nothing may change */
    fz_allow(NULL);
    fz_options(&o, (int)(c0 >> 4) % 3, UDB_RDONLY | (c1 & 2 ? UDB_EXCLUSIVE : 0));
    session(m, kind == 3 ? (c0 & 4 ? 1 : 0) : kind, &o, 0, c1, &read);
    if (!snap_same(m, &before))
        fz_fail("changed", "a read-only open changed %s", path);
    fz_allow(group);

    fz_options(&o, (int)(c0 >> 4) % 3, (c1 & 2 ? UDB_EXCLUSIVE : 0) | (c2 & 1 ? UDB_RAW : 0));
    o.sync = c0 & 0x40 ? UDB_SYNC_NORMAL : UDB_SYNC_FULL;
    int rc;
    if (kind == 3) {
        int found = 0;
        char msg[256];
        rc = udb_recover(path, &o, &found, msg, sizeof msg);
    } else {
        rc = session(m, kind, &o, c1 & 1, c1 >> 2, &read);
    }
    if (!rc)
        no_hot_journal(path, datj);
    if (!hot && !(c1 & 1) && !snap_same(m, &before))
        fz_fail("changed", "%s changed without a hot journal or a write", path);
    fz_end();
    return 0;
}
