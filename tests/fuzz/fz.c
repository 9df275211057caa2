/*
 * fz.c — the shared part of the fuzz targets (fz.h): container, execution
 * setup and teardown on memfs, the guard, invariant failures, digests and
 * the small valid files. Calls only the public API of udb.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "crc32.h"
#include "endian.h"
#include "fz.h"

static memfs *fs;
static const uint8_t *cur_data;
static size_t cur_size;
static const char *const *cur_allowed;
static char reported[8][16];    /* classes already reported for this input */
static unsigned nreported;

static const char *const decoys[] = {"/outside/victim",     FZ_DIR "/other.ndx", FZ_DIR "/other.dat",
                                     FZ_DIR "/other.ndx-journal", FZ_NAME ".ndx.bak", FZ_DIR "/victim"};
#define NDECOYS (sizeof decoys / sizeof decoys[0])
#define DECOY_LEN 700

static uint8_t decoy[NDECOYS][DECOY_LEN];

/* ---- the container --------------------------------------------------------------------- */
void fz_split(const uint8_t *data, size_t size, fz_part parts[FZ_MAXPARTS])
{
    memset(parts, 0, FZ_MAXPARTS * sizeof *parts);
    for (unsigned k = 0; k < FZ_MAXPARTS; k++) {
        const uint8_t *s = k + 1 < FZ_MAXPARTS ? memmem(data, size, FZ_SEP, FZ_SEP_LEN) : NULL;
        size_t n = s ? (size_t)(s - data) : size;
        parts[k] = (fz_part){n ? data : NULL, n};
        if (!s)
            break;
        data = s + FZ_SEP_LEN;
        size -= n + FZ_SEP_LEN;
    }
}

/* ---- invariant failures ------------------------------------------------------------------ */
static int tolerated(const char *cls)
{
    const char *t = getenv("UDB_FUZZ_TOLERATE");
    if (!t)
        return 0;
    if (!strcmp(t, "all"))
        return 1;
    size_t l = strlen(cls);
    for (const char *s = t; (s = strstr(s, cls)); s += l)
        if ((s == t || s[-1] == ',') && (s[l] == 0 || s[l] == ','))
            return 1;
    return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static void save_input(const char *cls)
{
    const char *dir = getenv("UDB_FUZZ_SAVE");
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%016llx", dir, cls,
             (unsigned long long)fnv(0xcbf29ce484222325ULL, cur_data, cur_size));
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(cur_data, 1, cur_size, f);
        fclose(f);
    }
}

void fz_fail(const char *cls, const char *fmt, ...)
{
    for (unsigned i = 0; i < nreported; i++)
        if (!strcmp(reported[i], cls))
            return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\n*** fuzz invariant broken [%s]: ", cls);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (!tolerated(cls))
        abort();
    if (nreported < sizeof reported / sizeof reported[0])
        snprintf(reported[nreported++], sizeof reported[0], "%s", cls);
    save_input(cls);
}

void fz_trace(const char *fmt, ...)
{
    static int on = -1;
    if (on < 0)
        on = getenv("UDB_FUZZ_TRACE") != NULL;
    if (!on)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- one execution -------------------------------------------------------------------------- */
static int guard(void *arg, const char *op, const char *path)
{
    (void)arg;
    for (const char *const *a = cur_allowed; a && *a; a++)
        if (!strcmp(*a, path))
            return 0;
    fz_fail("escape", "%s of %s, a file outside the group", op, path);
    return 1;
}

memfs *fz_begin(const uint8_t *data, size_t size, const char *const *allowed)
{
    if (!fs && !(fs = memfs_new()))
        abort();
    memfs_reset(fs);
    cur_data = data;
    cur_size = size;
    cur_allowed = allowed;
    nreported = 0;
    if (!decoy[0][1])
        for (unsigned k = 0; k < NDECOYS; k++)
            for (unsigned i = 0; i < DECOY_LEN; i++)
                decoy[k][i] = (uint8_t)(i * 7 + k * 31 + 1);
    if (memfs_mkdir(fs, FZ_DIR) || memfs_mkdir(fs, "/outside"))
        abort();
    for (unsigned k = 0; k < NDECOYS; k++)
        if (memfs_put(fs, decoys[k], decoy[k], DECOY_LEN))
            abort();
    memfs_set_guard(fs, guard, NULL);
    return fs;
}

void fz_allow(const char *const *allowed)
{
    cur_allowed = allowed;
}

static uint32_t ld(const uint8_t *p, int n)
{
    uint32_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

int fz_journal_hot(const char *path, const char *member)
{
    size_t n = 0;
    const uint8_t *b = memfs_get(fs, path, &n);
    if (!b || n < 512 || (memcmp(b, "udbjrnl\1", 8) && memcmp(b, "udbjrnl\2", 8)) ||
        ld(b + 508, 4) != (uint32_t)crc32(0, b, 508))
        return 0;
    uint32_t psize = ld(b + 12, 4), nfiles = ld(b + 32, 4);
    if (ld(b + 8, 4) != 1 || nfiles < 1 || nfiles > 2 || psize < 512 || psize > 65536 ||
        (psize & (psize - 1)))
        return 0;
    int named = !member;
    for (uint32_t i = 0; i < nfiles; i++) {
        const uint8_t *e = b + 40 + 216 * i;
        uint32_t l = ld(e + 8, 2);
        if (l == 0 || l > 200)
            return 0;
        size_t sl = strnlen((const char *)e + 10, l); /* the library reads a C string */
        named |= member && strlen(member) == sl && !memcmp(e + 10, member, sl);
    }
    return named;
}

void fz_end(void)
{
    for (unsigned k = 0; k < NDECOYS; k++) {
        size_t n = 0;
        const uint8_t *p = memfs_get(fs, decoys[k], &n);
        if (!p || n != DECOY_LEN || memcmp(p, decoy[k], n))
            fz_fail("escape", "%s changed", decoys[k]);
    }
    unsigned leaks = memfs_reset(fs);
    if (leaks)
        fz_fail("leak", "%u descriptors or maps left open after every handle was closed", leaks);
}

int fz_plant(const char *path, fz_part part)
{
    if (!part.n)
        return 0;
    if (memfs_put(fs, path, part.p, part.n))
        abort();
    return 1;
}

void fz_options(udb_options *o, int layout, int flags)
{
    udb_options_init(o);
    o->os = memfs_os(fs);
    o->layout = layout;
    o->flags = flags;
    o->lock_timeout_ms = 0; /* one process, one thread: nobody to wait for */
}

/* ---- reading operations ----------------------------------------------------------------------- */
int fz_more(const fz_in *in) { return in->i < in->n; }

unsigned fz_u8(fz_in *in) { return in->i < in->n ? in->p[in->i++] : 0; }

uint64_t fz_u64(fz_in *in)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)fz_u8(in) << (8 * k);
    return v;
}

const uint8_t *fz_bytes(fz_in *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p + in->i;
    *got = in->n - in->i < n ? in->n - in->i : n;
    in->i += *got;
    return p;
}

/* ---- looking at files -------------------------------------------------------------------------- */
int fz_ndx_check(udb_ndx *d)
{
    udb_check_report rep;
    int rc = udb_ndx_check(d, NULL, NULL, &rep);
    udb_check_report_free(&rep);
    return rc;
}

int fz_store_check(udb_store *s)
{
    udb_check_report rep;
    int rc = udb_store_check(s, NULL, NULL, &rep);
    udb_check_report_free(&rep);
    return rc;
}

#define WALK_MAX 200000

int fz_ndx_digest(udb_ndx *d, uint64_t *out)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    unsigned n = udb_ndx_count(d);
    int first = 0;
    h = fnv(h, &n, sizeof n);
    for (unsigned ix = 1; ix <= n; ix++) {
        udb_cursor *c;
        udb_item it;
        int rc = udb_cursor_open(d, ix, &c), k = 0;
        for (rc = rc ? rc : udb_cursor_first(c, &it); !rc && k < WALK_MAX; rc = udb_cursor_next(c, &it), k++) {
            h = fnv(h, it.key, it.keysize);
            h = fnv(h, &it.datapos, sizeof it.datapos);
        }
        udb_cursor_close(c);
        h = fnv(h, &rc, sizeof rc);
        if (rc && rc != UDB_NOTFOUND && !first)
            first = rc;
    }
    *out = h;
    return first;
}

int fz_store_digest(udb_store *s, uint64_t *out)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    unsigned n = udb_store_count(s);
    udb_val v = {0};
    int first = 0;
    h = fnv(h, &n, sizeof n);
    for (unsigned ix = 1; ix <= n; ix++) {
        udb_store_cursor *c;
        udb_item it;
        int rc = udb_store_cursor_open(s, ix, &c), k = 0;
        for (rc = rc ? rc : udb_store_cursor_first(c, &it, &v); !rc && k < WALK_MAX;
             rc = udb_store_cursor_next(c, &it, &v), k++) {
            h = fnv(h, it.key, it.keysize);
            h = fnv(h, v.data, v.len);
        }
        udb_store_cursor_close(c);
        h = fnv(h, &rc, sizeof rc);
        if (rc && rc != UDB_NOTFOUND && !first)
            first = rc;
    }
    udb_val_free(&v);
    *out = h;
    return first;
}

void fz_ndx_dump(udb_ndx *d, const char *title)
{
    if (!getenv("UDB_FUZZ_TRACE"))
        return;
    fprintf(stderr, "--- %s\n", title);
    for (unsigned ix = 1; ix <= udb_ndx_count(d); ix++) {
        udb_cursor *c;
        udb_item it;
        int rc = udb_cursor_open(d, ix, &c), k = 0;
        for (rc = rc ? rc : udb_cursor_first(c, &it); !rc && k < 1000; rc = udb_cursor_next(c, &it), k++) {
            fprintf(stderr, "%u: ", ix);
            for (size_t i = 0; i < it.keysize; i++)
                fprintf(stderr, "%02x", it.key[i]);
            fprintf(stderr, " %lld leaf %lld\n", (long long)it.datapos, (long long)it.leaf);
        }
        fprintf(stderr, "%u: end %s\n", ix, udb_errname(rc));
        udb_cursor_close(c);
    }
}

/* Forward from the first record, keep records 0, 1, 2, 4, 8, ... (up to
   max); with all set, walk to the end. Returns the records passed. */
static int keep_keys(udb_cursor *c, uint8_t *keys, unsigned max, size_t *ks, unsigned *kept, int all)
{
    udb_item it;
    int n = 0;
    *kept = 0;
    *ks = 0;
    for (int rc = udb_cursor_first(c, &it); !rc && n < WALK_MAX && (all || *kept < max);
         rc = udb_cursor_next(c, &it), n++)
        if (*kept < max && it.keysize <= 64 && (n < 2 || (n & (n - 1)) == 0)) {
            memcpy(keys + (*kept)++ * 64, it.key, it.keysize);
            *ks = it.keysize;
        }
    return n;
}

unsigned fz_ndx_keys(udb_ndx *d, unsigned ix, uint8_t *keys, unsigned max, size_t *ks)
{
    udb_cursor *c;
    unsigned kept = 0;
    *ks = 0;
    if (!udb_cursor_open(d, ix, &c))
        keep_keys(c, keys, max, ks, &kept, 0);
    udb_cursor_close(c);
    return kept;
}

unsigned fz_ndx_walk(udb_ndx *d, unsigned ix, uint8_t *keys, unsigned max, size_t *ks)
{
    udb_cursor *c;
    udb_item it;
    unsigned kept = 0;
    *ks = 0;
    if (udb_cursor_open(d, ix, &c))
        return 0;
    int n = keep_keys(c, keys, max, ks, &kept, 1);
    for (int rc = udb_cursor_last(c, &it); !rc && n > 0; rc = udb_cursor_prev(c, &it), n--)
        ;
    for (unsigned k = 0; k < kept; k++) {
        int64_t dp;
        udb_ndx_find(d, ix, keys + k * 64, *ks, &dp);
        udb_cursor_seek(c, keys + k * 64, *ks, &it);
        udb_cursor_find(c, keys + k * 64, *ks, &it);
        udb_cursor_bof(c);
        udb_cursor_eof(c);
    }
    udb_cursor_close(c);
    return kept;
}

/* ---- checksums made right -------------------------------------------------------------------------- */
#define FIX_MAX_BLOCKS 20000

static uint64_t ldn(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

/* A position of width P (-1 all ones), or -1 when [pos, pos+len) is not in the file. */
static int64_t pos_at(const uint8_t *p, unsigned P, size_t n, size_t len)
{
    uint64_t v = ldn(p, P);
    if (P == 4 && v == 0xffffffffu)
        return -1;
    return v < n && len <= n - v ? (int64_t)v : -1;
}

static void xor_fix(uint8_t *b, size_t len)
{
    uint8_t x = 0;
    for (size_t i = 1; i < len; i++)
        x ^= b[i];
    b[0] = x;
}

/* Follow a chain of blocks of len bytes through the link at off (no
   further than the blocks the file holds: a longer chain loops). */
static void fix_chain(uint8_t *d, size_t n, int64_t at, size_t len, unsigned off, unsigned P)
{
    for (size_t k = 0; at >= 0 && k < FIX_MAX_BLOCKS && k <= n / len; k++) {
        xor_fix(d + at, len);
        at = pos_at(d + at + off, P, n, len);
    }
}

typedef struct fix_ix {
    unsigned ks, maxitems, levels;
    int64_t root, first, free_node, free_leaf;
} fix_ix;

static void fix_nodes(uint8_t *d, size_t n, const fix_ix *x, unsigned P)
{
    size_t nsz = 3 + 2 * (size_t)P + (size_t)x->maxitems * (x->ks + P), lsz = 1 + 3 * (size_t)P + x->ks;
    int64_t level_first = x->root;
    unsigned done = 0;
    for (unsigned lv = x->levels; lv >= 1 && level_first >= 0 && done < FIX_MAX_BLOCKS; lv--) {
        int64_t at = level_first;
        level_first = -1;
        for (; at >= 0 && done < FIX_MAX_BLOCKS; done++) {
            unsigned cnt = (unsigned)ldn(d + at + 1, 2);
            if (cnt > x->maxitems)
                cnt = x->maxitems;
            if (level_first < 0 && cnt && lv > 1)
                level_first = pos_at(d + at + 3 + 2 * P + x->ks, P, n, nsz);
            for (unsigned j = 0; lv == 1 && j < cnt; j++) {
                int64_t leaf = pos_at(d + at + 3 + 2 * P + j * (x->ks + P) + x->ks, P, n, lsz);
                if (leaf >= 0)
                    xor_fix(d + leaf, lsz);
            }
            xor_fix(d + at, nsz);
            at = pos_at(d + at + 3, P, n, nsz);
        }
    }
}

/* Index 1's data positions: the frames of a store. */
static void fix_frames(uint8_t *dat, size_t dn, const uint8_t *ndx, size_t nn, const fix_ix *x,
                       unsigned nidx, size_t keys_len, unsigned P, unsigned hdr)
{
    size_t lsz = 1 + 3 * (size_t)P + x->ks;
    int64_t at = x->first, dp = hdr;
    for (unsigned k = 0; k < FIX_MAX_BLOCKS; k++) {
        if (dp >= 0 && (size_t)dp + 13 <= dn && (dat[dp] == 0xa5 || dat[dp] == 0xa7 || dat[dp] == 0xd5)) {
            size_t h = (dat[dp] == 0xa7 ? 13 : 9) + (dat[dp] == 0xd5 ? 0 : keys_len + (nidx > 1 ? 8 * (size_t)nidx : 0));
            uint64_t stored = ldn(dat + dp + 1, 4);
            if (h <= dn - (size_t)dp && stored <= dn - (size_t)dp - h) {
                uint32_t c = (uint32_t)crc32(0, dat + dp + h, (uInt)stored);
                for (int i = 0; i < 4; i++)
                    dat[dp + 5 + i] = (uint8_t)(c >> (8 * i));
            }
        }
        if (at < 0)
            break;
        dp = (int64_t)ldn(ndx + at + 1 + 2 * P, P);
        at = pos_at(ndx + at + 1, P, nn, lsz);
    }
}

static void fix_heap(uint8_t *d, size_t n, unsigned P)
{
    if (n < 3 + (size_t)P)
        return;
    unsigned slots = (unsigned)ldn(d + 1 + P, 2);
    size_t tsz = P == 4 ? 7 + 8 * (size_t)slots : slots ? 16 * (size_t)slots - 5 : 0;
    xor_fix(d, 3 + P);
    if (tsz >= 3 + (size_t)P)
        fix_chain(d, n, pos_at(d + 1, P, n, tsz), tsz, 3, P);
}

void fz_fix_files(uint8_t *ndx, size_t nn, uint8_t *dat, size_t dn, int layout)
{
    unsigned P = layout == UDB_LAYOUT_CLASSIC ? 4 : 8, isz = P == 4 ? 39 : 67;
    if (nn < 3)
        return;
    unsigned cnt = (unsigned)ldn(ndx + 1, 2);
    size_t keys_len = 0;
    fix_ix first = {0, 0, 0, -1, -1, -1, -1};
    for (unsigned i = 0; i < cnt && 3 + (size_t)(i + 1) * isz <= nn; i++) {
        uint8_t *f = ndx + 3 + (size_t)i * isz;
        fix_ix x = {(unsigned)ldn(f + 5, 2), (unsigned)ldn(f + 7, 2), (unsigned)ldn(f + 9 + 4 * P, 2), 0, 0, 0, 0};
        size_t nsz = 3 + 2 * (size_t)P + (size_t)x.maxitems * (x.ks + P), lsz = 1 + 3 * (size_t)P + x.ks;
        x.root = pos_at(f + 11 + 4 * P, P, nn, nsz);
        x.first = pos_at(f + 11 + 5 * P, P, nn, lsz);
        x.free_node = pos_at(f + 9 + 2 * P, P, nn, nsz);
        x.free_leaf = pos_at(f + 9 + 3 * P, P, nn, lsz);
        if (ldn(f + 3, 2) && x.maxitems && x.levels <= 64) {
            fix_chain(ndx, nn, x.first, lsz, 1, P);
            fix_chain(ndx, nn, x.free_leaf, lsz, 1, P);
            fix_chain(ndx, nn, x.free_node, nsz, 3, P);
            fix_nodes(ndx, nn, &x, P);
        }
        keys_len += x.ks;
        if (i == 0)
            first = x;
        xor_fix(f, isz);
    }
    xor_fix(ndx, 3);
    if (dat) {
        fix_frames(dat, dn, ndx, nn, &first, cnt, cnt > 1 ? keys_len : 0, P, P == 4 ? 7 : 11);
        fix_heap(dat, dn, P);
    }
}

/* Batch bytes of the plausible infos read as the layout of position width
   P; *valid gets the number of infos whose checksum holds. */
static uint64_t batch_as(const uint8_t *ndx, size_t nn, unsigned P, unsigned *valid)
{
    unsigned cnt = (unsigned)ldn(ndx + 1, 2), isz = P == 4 ? 39 : 67;
    uint64_t most = 0;
    *valid = 0;
    for (unsigned i = 0; i < cnt && 3 + (size_t)(i + 1) * isz <= nn; i++) {
        const uint8_t *f = ndx + 3 + (size_t)i * isz;
        uint64_t ks = ldn(f + 5, 2), mi = ldn(f + 7, 2), type = ldn(f + 3, 2);
        uint8_t x = 0;
        for (unsigned k = 0; k < isz; k++)
            x ^= f[k];
        *valid += !x;
        if (type < 1 || type > 7 || ks < 1 || mi < 3)
            continue; /* undefined (repair reads infos whatever their checksum) */
        uint64_t n[2] = {ldn(f + 9, P), ldn(f + 9 + P, P)};
        uint64_t bs[2] = {3 + 2 * P + mi * (ks + P), 1 + 3 * P + ks};
        for (int k = 0; k < 2; k++) { /* a negative count (huge) or a product past 64 bits: too big */
            uint64_t b = n[k] > UINT64_MAX / bs[k] ? UINT64_MAX : n[k] * bs[k];
            most = b > most ? b : most;
        }
    }
    return most;
}

uint64_t fz_ndx_batch(const uint8_t *ndx, size_t nn)
{
    unsigned vc, vw;
    if (nn < 3)
        return 0;
    uint64_t c = batch_as(ndx, nn, 4, &vc), w = batch_as(ndx, nn, 8, &vw);
    return vc != vw ? (vc > vw ? c : w) : c > w ? c : w; /* the layout more infos fit; else either */
}

uint64_t fz_ndx_batch_in(const uint8_t *ndx, size_t nn, int layout)
{
    unsigned v;
    if (nn < 3)
        return 0;
    uint64_t c = layout != UDB_LAYOUT_WIDE ? batch_as(ndx, nn, 4, &v) : 0;
    uint64_t w = layout != UDB_LAYOUT_CLASSIC ? batch_as(ndx, nn, 8, &v) : 0;
    return c > w ? c : w;
}

void fz_fix_journal(uint8_t *j, size_t n)
{
    int v2 = n >= 512 && !memcmp(j, "udbjrnl\2", 8);
    if (n < 512 || (memcmp(j, "udbjrnl\1", 8) && !v2))
        return;
    uint32_t psize = (uint32_t)ldn(j + 12, 4), c = (uint32_t)crc32(0, j, 508);
    for (int i = 0; i < 4; i++)
        j[508 + i] = (uint8_t)(c >> (8 * i));
    uint64_t start = v2 ? ldn(j + 472, 8) : 512; /* records from here (udb/journal.c) */
    for (size_t off = start < n ? (size_t)start : n; psize && psize <= 65536 && off + 32 + psize <= n;
         off += 32 + psize)
        if (!memcmp(j + off, "1rec", 4) || !memcmp(j + off, "1zer", 4) || !memcmp(j + off, "1cmt", 4)) {
            c = (uint32_t)crc32(crc32(0, j + off, 24), j + off + 32, psize);
            for (int i = 0; i < 4; i++)
                j[off + 24 + i] = (uint8_t)(c >> (8 * i));
        }
}

int fz_plant_pair(fz_part ndx, fz_part dat, int fix, int layout)
{
    if (!fix)
        return fz_plant(FZ_NAME ".ndx", ndx) + fz_plant(FZ_NAME ".dat", dat);
    static uint8_t *buf; /* both copies, kept from one execution to the next */
    static size_t cap;
    if (!buf || ndx.n + dat.n > cap) {
        cap = (ndx.n + dat.n) * 2 + 4096;
        if (!(buf = realloc(buf, cap)))
            abort();
    }
    uint8_t *a = buf, *b = buf + ndx.n;
    if (ndx.n)
        memcpy(a, ndx.p, ndx.n);
    if (dat.n)
        memcpy(b, dat.p, dat.n);
    fz_fix_files(a, ndx.n, dat.n ? b : NULL, dat.n, layout);
    return fz_plant(FZ_NAME ".ndx", (fz_part){a, ndx.n}) + fz_plant(FZ_NAME ".dat", (fz_part){b, dat.n});
}

/* ---- valid files ---------------------------------------------------------------------------------------- */
static void key_text(char *b, size_t cap, unsigned i)
{
    static const char *const w[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta"};
    snprintf(b, cap, "%s%u", w[i % 7], i * 7919 % 1000);
}

static int make_store(memfs *m, int layout, int kind, unsigned n)
{
    udb_options o;
    udb_options_init(&o);
    o.os = memfs_os(m);
    o.layout = layout;
    o.lock_timeout_ms = 0;
    udb_index_def two[2] = {{UDB_KEY_STRING, 12, UDB_UNIQUE | UDB_ALLOW_DELETE, 5, 2, 4},
                            {UDB_KEY_LONG_INT, 4, UDB_ALLOW_DELETE, 4, 2, 4}};
    udb_index_def one = {UDB_KEY_BLOCK, 8, UDB_ALLOW_DELETE, 3, 1, 3};
    udb_store_def def = {kind ? 1 : 2, kind ? &one : two, kind, 4};
    udb_store *s;
    int rc = udb_store_create(FZ_NAME, &o, &def, &s);
    for (unsigned i = 0; i < n && !rc; i++) {
        char k[16], v[200];
        int32_t num = (int32_t)(i % 5) - 2;
        key_text(k, sizeof k, i);
        size_t vl = (size_t)snprintf(v, sizeof v, "value %u of the store", i);
        if (i % 4 == 0) { /* a long, compressible one */
            memset(v + vl, 'x', 120);
            vl += 120;
        }
        udb_key keys[2] = {{k, strlen(k)}, {&num, sizeof num}};
        rc = udb_store_put(s, keys, v, vl);
    }
    for (unsigned i = 0; i < n && !rc; i += 3) { /* holes */
        char k[16];
        key_text(k, sizeof k, i);
        rc = udb_store_delete(s, 1, k, strlen(k), NULL);
    }
    int rc2 = udb_store_close(s);
    return rc ? rc : rc2;
}

static int make_ndx(memfs *m, int layout, unsigned n)
{
    udb_options o;
    udb_options_init(&o);
    o.os = memfs_os(m);
    o.layout = layout;
    o.lock_timeout_ms = 0;
    udb_index_def defs[3] = {{UDB_KEY_STRING, 10, UDB_ALLOW_DELETE, 5, 2, 4},
                             {UDB_KEY_INTEGER, 2, UDB_UNIQUE, 4, 1, 2},
                             {UDB_KEY_BLOCK, 6, UDB_ALLOW_DELETE, 3, 2, 3}};
    udb_ndx *d;
    int rc = udb_ndx_create(FZ_NAME ".ndx", &o, 4, &d);
    for (unsigned ix = 0; ix < 3 && !rc; ix++)
        rc = udb_ndx_define(d, ix + 1, &defs[ix]);
    for (unsigned i = 0; i < n && !rc; i++) {
        char k[16];
        int16_t num = (int16_t)(i * 37 - 100);
        uint8_t blk[6] = {(uint8_t)(i % 3), (uint8_t)i, 0, 0, 0, (uint8_t)(i >> 8)};
        key_text(k, sizeof k, i % (n / 2 + 1));
        if (!(rc = udb_ndx_append(d, 1, k, strlen(k), 100 + i)) &&
            !(rc = udb_ndx_append(d, 2, &num, sizeof num, 7 * i)))
            rc = udb_ndx_append(d, 3, blk, sizeof blk, i);
    }
    for (unsigned i = 0; i < n && !rc; i += 4) {
        char k[16];
        key_text(k, sizeof k, i);
        rc = udb_ndx_delete(d, 1, k, strlen(k), NULL);
        rc = rc == UDB_NOTFOUND ? 0 : rc;
    }
    int rc2 = udb_ndx_close(d);
    return rc ? rc : rc2;
}

int fz_make(memfs *m, int layout, int kind, unsigned n)
{
    return kind == 2 ? make_ndx(m, layout, n) : make_store(m, layout, kind, n);
}

/* The documented format: batches at page boundaries after the header page;
   a batch is 128 + 32 n + D bytes (D at 56), padded to whole pages. */
void fz_fix_log(uint8_t *b, size_t n)
{
    if (n < 16)
        return;
    uint32_t ps = ld32(b + 12);
    if (ps < 1024 || ps > 65536 || (ps & (ps - 1)) || n < ps)
        return;
    st32(b + ps - 4, udb_crc32(0, b, ps - 4));
    uint32_t chain = ld32(b + ps - 4);
    for (size_t off = ps; n - off >= ps;) {
        uint8_t *h = b + off;
        uint64_t len = 128 + 32 * (uint64_t)ld32(h + 28) + ld32(h + 56);
        uint64_t total = (len + ps - 1) / ps * ps;
        if (ld32(h + 28) > 4096 || total > n - off)
            return;
        st32(h + 48, chain);
        chain = udb_crc32(udb_crc32(0, h, 52), h + 56, (size_t)total - 56);
        st32(h + 52, chain);
        off += (size_t)total;
    }
}
