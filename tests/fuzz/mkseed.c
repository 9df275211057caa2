/*
 * mkseed.c — writes the seed corpus of every fuzz target (make fuzz-seeds):
 *   mkseed DIR        (run from the repository root: reads tests/fixtures)
 * DIR/TARGET/NAME for fuzz_open, fuzz_journal, fuzz_store, fuzz_writes and
 * fuzz_repair, in the container format of tests/fuzz/README.md. The files
 * come from the small fixtures and from udb itself on memfs; hot journals
 * from transactions cut short by an injected crash, and one journal built
 * byte by byte from the documented format (udb/journal.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "crc32.h"
#include "fz.h"
#include "wal.h"

#define NDX FZ_NAME ".ndx"
#define DAT FZ_NAME ".dat"
#define NDXJ NDX "-journal"
#define DATJ DAT "-journal"
#define SMALL_FIXTURE (32u << 10)

static const char *out_dir;
static const char *const all[] = {NDX, DAT, NDXJ, DATJ, NULL};

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        if (!(b->p = realloc(b->p, b->cap)))
            abort();
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* The container: part 0 (control), then each file (absent: empty). */
static void emit(const char *target, const char *name, const uint8_t *ctl, size_t nctl,
                 const buf *files, unsigned nfiles)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(ctl, 1, nctl, f);
    for (unsigned i = 0; i < nfiles; i++) {
        fwrite(FZ_SEP, 1, FZ_SEP_LEN, f);
        if (files[i].n) /* an absent file: p is NULL */
            fwrite(files[i].p, 1, files[i].n, f);
    }
    fclose(f);
}

static buf grab(memfs *m, const char *path)
{
    buf b = {0};
    size_t n = 0;
    const uint8_t *p = memfs_get(m, path, &n);
    if (p)
        put(&b, p, n);
    return b;
}

static buf load(const char *path)
{
    buf b = {0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, n);
    fclose(f);
    return b;
}

static void drop(buf *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(b[i].p);
}

static const char *const fixtures[] = {"classic/l16_heap.dat", "classic/l16_types.ndx", "wide/m64_empty.ndx",
                                       "wide/m64_heap.dat",    "wide/m64_heap.ndx"};
#define NFIX (sizeof fixtures / sizeof fixtures[0])

/* ---- fuzz_open and fuzz_repair: one file ------------------------------------------------------ */
/* fuzz_open's input: a control byte (bit 0 heap file, bits 1-7 the layout
   option), then the file; each file opened as what it is, the layout
   detected and forced. */
static void emit_open(const char *name, const buf *b, int heap, int layout)
{
    char full[80];
    for (int forced = 0; forced < 2; forced++) {
        buf c = {0};
        uint8_t ctl = (uint8_t)(heap | (forced ? layout : UDB_LAYOUT_AUTO) << 1);
        put(&c, &ctl, 1);
        put(&c, b->p, b->n);
        snprintf(full, sizeof full, "%s%s", name, forced ? "-forced" : "");
        emit("fuzz_open", full, c.p, c.n, NULL, 0);
        free(c.p);
    }
}

static void single_files(void)
{
    for (unsigned i = 0; i < NFIX; i++) {
        char path[256], name[64];
        snprintf(path, sizeof path, "tests/fixtures/%s", fixtures[i]);
        buf b = load(path);
        const char *base = strchr(fixtures[i], '/') + 1;
        emit_open(base, &b, strstr(base, ".dat") != NULL,
                  strstr(fixtures[i], "wide/") ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC);
        for (unsigned op = 0; op < 4 && strstr(base, ".ndx"); op++) {
            uint8_t ctl[3] = {(uint8_t)(op | 0x40), 5, 0};
            snprintf(name, sizeof name, "%s-op%u", base, op);
            emit("fuzz_repair", name, ctl, sizeof ctl, &b, 1);
        }
        free(b.p);
    }
    for (int w = 0; w < 2; w++)
        for (int kind = 0; kind < 3; kind++) {
            memfs *m = fz_begin(NULL, 0, all);
            if (fz_make(m, w ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC, kind, 16 + 8 * kind))
                abort();
            buf f[2] = {grab(m, NDX), grab(m, DAT)};
            char name[64];
            for (int k = 0; k < 2; k++)
                if (f[k].n) {
                    snprintf(name, sizeof name, "made-%s-%d.%s", w ? "wide" : "classic", kind, k ? "dat" : "ndx");
                    emit_open(name, &f[k], k, w ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC);
                }
            uint8_t ctl[3] = {0, 0, 0};
            for (unsigned op = 0; op < 4; op++) { /* repair to a file, in place, convert */
                ctl[0] = (uint8_t)op;
                snprintf(name, sizeof name, "made-%s-%d-op%u", w ? "wide" : "classic", kind, op);
                emit("fuzz_repair", name, ctl, sizeof ctl, f, 1);
            }
            ctl[0] = (uint8_t)(kind & 1);
            if (f[1].n) { /* a damaged leaf area: repair has work */
                buf d = {0};
                put(&d, f[0].p, f[0].n);
                for (size_t i = d.n / 2; i < d.n; i += 97)
                    d.p[i] ^= 0x5a;
                snprintf(name, sizeof name, "damaged-%s-%d", w ? "wide" : "classic", kind);
                emit("fuzz_repair", name, ctl, sizeof ctl, &d, 1);
                free(d.p);
            }
            drop(f, 2);
            fz_end();
        }
}

/* ---- fuzz_store and fuzz_writes: stores and index files ---------------------------------------- */
static void store_files(void)
{
    /* fuzz_writes: the setup byte (bit 0 store, 1 built-in kind, 2-3 layout,
       4 exclusive, 5-6 dirty limit, 7 sync off), the options byte (0), then
       the operations */
    static const uint8_t progs[][24] = {
        {0, 0, 0, 7, 1, 0x20, 0, 3, 1, 3, 3, 0xc1, 'x', 1, 0, 1, 1, 9},
        {0x61, 0, 4, 0, 0, 0, 0, 0x21, 3, 0, 2, 0, 5, 0, 3, 0, 0, 8, 0x10, 6, 9},
        {0x20, 0, 4, 0, 0x81, 'q', 7, 5, 7, 0, 0, 0, 0xf8, 0x83, 0, 0, 0xc2, 'a', 'b', 9},
        {0x10, 0, 8, 1, 9, 3, 5, 9},
    };
    static const uint8_t sprogs[][24] = {
        {0x01, 0, 0, 0xc1, 'k', 0x81, 4, 'v', 'a', 'l', 'u', 1, 0, 2, 1, 0xe2, 3, 0, 1},
        {0x21, 0, 5, 0, 0xc2, 'n', 'e', 0, 0xe3, 4, 1, 1, 4, 6, 6, 7, 8, 10},
        {0x63, 0, 5, 3, 0, 0, 0, 0x10, 0xf9, 0xe1, 2, 0, 0, 0xe0, 8, 7},
        {0x41, 0, 9, 40, 5, 0, 0xc3, 'a', 'b', 'c', 0xc1, 'z', 0x10, 7, 10},
    };
    unsigned np = 0;
    for (int w = 0; w < 2; w++)
        for (int kind = 0; kind < 3; kind++) {
            memfs *m = fz_begin(NULL, 0, all);
            if (fz_make(m, w ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC, kind, 20))
                abort();
            buf f[2] = {grab(m, NDX), grab(m, DAT)};
            char name[64];
            snprintf(name, sizeof name, "made-%s-%d", w ? "wide" : "classic", kind);
            if (kind < 2) {
                uint8_t ctl[8] = {(uint8_t)(w << 3), 3, 0, 1, 2, 3, 4, 5};
                emit("fuzz_store", name, ctl, sizeof ctl, f, 2);
                ctl[0] |= 4; /* read-only */
                strcat(name, "-ro");
                emit("fuzz_store", name, ctl, sizeof ctl, f, 2);
                name[strlen(name) - 3] = 0;
                const uint8_t *p = sprogs[np % 4];
                uint8_t prog[24];
                memcpy(prog, p, sizeof prog);
                prog[0] = (uint8_t)((prog[0] & ~2) | (kind << 1) | 1); /* a store */
                emit("fuzz_writes", name, prog, sizeof prog, f, 2);
            } else {
                uint8_t prog[24];
                memcpy(prog, progs[np % 4], sizeof prog);
                prog[0] &= (uint8_t)~1;
                emit("fuzz_writes", name, prog, sizeof prog, f, 1);
            }
            np++;
            drop(f, 2);
            fz_end();
        }
    for (unsigned i = 0; i < NFIX; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fixtures/%s", fixtures[i]);
        if (!strstr(path, ".ndx"))
            continue;
        buf b = load(path);
        uint8_t prog[24];
        memcpy(prog, progs[i % 4], sizeof prog);
        prog[0] &= (uint8_t)~1; /* an index file */
        emit("fuzz_writes", strchr(fixtures[i], '/') + 1, prog, sizeof prog, &b, 1);
        free(b.p);
    }
}

/* ---- fuzz_journal --------------------------------------------------------------------------------- */
/* A transaction of kind (0 index file, 1 heap file, 2 store) cut short by
   a crash at the at-th change. */
static int crash_txn(memfs *m, int kind, int layout, long at)
{
    udb_options o;
    udb_options_init(&o);
    o.os = memfs_os(m);
    o.layout = layout;
    o.lock_timeout_ms = 0;
    o.flags = kind == 1 ? UDB_RAW : 0; /* the heap file of a store */
    const udb_os *os = memfs_os(m); /* the clean journals of the files' making go: the crashed */
    os->unlink(os->ctx, NDXJ);      /* transaction's records then start at 512 (a small seed) */
    os->unlink(os->ctx, DATJ);
    memfs_fail_at(m, at, EIO, 1);
    char v[600];
    memset(v, 'v', sizeof v);
    if (kind == 0) {
        udb_ndx *d;
        if (!udb_ndx_open(NDX, &o, &d)) {
            udb_ndx_begin(d);
            for (int i = 0; i < 40; i++)
                udb_ndx_append(d, 1, v + i, 3, i);
            udb_ndx_commit(d);
        }
        udb_ndx_close(d);
    } else if (kind == 1) {
        udb_heap *h;
        int64_t pos;
        if (!udb_heap_open(DAT, &o, &h)) {
            udb_heap_begin(h);
            for (int i = 0; i < 8 && !udb_heap_alloc(h, 500, &pos); i++)
                udb_heap_write(h, pos, v, 500);
            udb_heap_write(h, 2, v, 40);
            udb_heap_commit(h);
        }
        udb_heap_close(h);
    } else {
        udb_store *s;
        if (!udb_store_open(FZ_NAME, &o, &s)) {
            udb_store_begin(s);
            for (int i = 0; i < 12; i++) {
                int32_t n = i;
                char k[16];
                snprintf(k, sizeof k, "j%d", i);
                udb_key keys[2] = {{k, strlen(k)}, {&n, 4}};
                udb_store_put(s, keys, v, 100 + 40 * (size_t)i);
            }
            udb_store_delete(s, 2, &(int32_t){0}, 4, NULL);
            udb_store_commit(s);
        }
        udb_store_close(s);
    }
    long changes = memfs_changes(m);
    memfs_fail_at(m, 0, 0, 0);
    return changes >= at;
}

/* A hot journal written from the documented format: page 0 of t.ndx
   as zeros (a zero record), then as it is now, page size 512 or 1024, so
   playback restores it. */
static buf hand_journal(memfs *m, uint32_t psize)
{
    uint8_t h[512] = "udbjrnl\1";
    size_t n = 0;
    const uint8_t *p = memfs_get(m, NDX, &n);
    h[8] = 1;
    memcpy(h + 12, &psize, 4);
    h[16] = 7;
    memset(h + 24, 0x5c, 8);
    h[32] = 1;
    uint64_t orig = n;
    memcpy(h + 40, &orig, 8);
    h[48] = 5;
    memcpy(h + 50, "t.ndx", 5);
    uint32_t c = (uint32_t)crc32(0, h, 508);
    memcpy(h + 508, &c, 4);
    buf b = {0};
    put(&b, h, sizeof h);
    uint8_t z[32 + 4096] = "1zer"; /* page 0 was zeros (a cut-off hole), then its image */
    memset(z + 16, 0x5c, 8);
    z[32] = 1;
    c = (uint32_t)crc32(crc32(0, z, 24), z + 32, psize);
    memcpy(z + 24, &c, 4);
    put(&b, z, 32 + psize);
    uint8_t r[32 + 4096] = "1rec";
    memset(r + 16, 0x5c, 8);
    memcpy(r + 32, p, n < psize ? n : psize);
    c = (uint32_t)crc32(crc32(0, r, 24), r + 32, psize);
    memcpy(r + 24, &c, 4);
    put(&b, r, 32 + psize);
    return b;
}

static void journal_seeds(void)
{
    static const char *const kinds[] = {"ndx", "heap", "store"};
    for (int w = 0; w < 2; w++)
        for (int kind = 0; kind < 3; kind++) {
            int layout = w ? UDB_LAYOUT_WIDE : UDB_LAYOUT_CLASSIC, made = 0;
            for (long at = 1; at < 40 && made < 3; at += 3) {
                memfs *m = fz_begin(NULL, 0, all);
                if (fz_make(m, layout, kind == 0 ? 2 : 0, 12))
                    abort();
                crash_txn(m, kind, layout, at);
                if (fz_journal_hot(NDXJ, NULL) || fz_journal_hot(DATJ, NULL)) {
                    buf f[4] = {grab(m, NDX), grab(m, DAT), grab(m, NDXJ), grab(m, DATJ)};
                    uint8_t ctl[3] = {(uint8_t)(kind | w << 3), (uint8_t)(made & 1), kind == 1}; /* UDB_RAW */
                    char name[64];
                    snprintf(name, sizeof name, "crash-%s-%s-%ld", kinds[kind], w ? "wide" : "classic", at);
                    emit("fuzz_journal", name, ctl, sizeof ctl, f, 4);
                    ctl[0] = (uint8_t)(3 | (kind == 1 ? 4 : 0) | w << 3); /* udb_recover */
                    strcat(name, "-recover");
                    emit("fuzz_journal", name, ctl, sizeof ctl, f, 4);
                    drop(f, 4);
                    made++;
                }
                fz_end();
            }
            memfs *m = fz_begin(NULL, 0, all);
            if (fz_make(m, layout, kind == 0 ? 2 : 0, 12))
                abort();
            buf f[4] = {grab(m, NDX), grab(m, DAT), hand_journal(m, w ? 512 : 1024), {0}};
            uint8_t ctl[2] = {(uint8_t)(kind == 1 ? 0 : kind | w << 3), 0};
            char name[64];
            snprintf(name, sizeof name, "hand-%s-%s", kinds[kind], w ? "wide" : "classic");
            emit("fuzz_journal", name, ctl, sizeof ctl, f, 4);
            buf none[4] = {{0}, {0}, f[2], {0}}; /* the built-in store beside it */
            strcat(name, "-builtin");
            emit("fuzz_journal", name, ctl, sizeof ctl, none, 4);
            drop(f, 4);
            fz_end();
        }
}

/* ---- fuzz_wal: logs of one and two files ------------------------------------------------------ */
/* A log as udb writes it: transactions of page changes (runs over a page
   as it was, whole new pages, an empty change), one batch or several, the
   last transaction committed or not. */
static void wal_seed(const char *name, unsigned nfiles, int ntx, unsigned per, int open_tail)
{
    static const char *const logs[] = {FZ_NAME ".ndx-wal", NULL};
    memfs *m = fz_begin(NULL, 0, logs);
    wal_member mb[2] = {{.size = 8192, .dev = 1, .ino = 2, .crc0 = 3}, {.size = 4096, .dev = 1, .ino = 4}};
    snprintf(mb[0].name, sizeof mb[0].name, "t.ndx");
    snprintf(mb[1].name, sizeof mb[1].name, "t.dat");
    udb_err err = {0};
    wal_log w;
    wal_pos pos;
    if (wal_create(&w, memfs_os(m), &err, FZ_NAME ".ndx-wal", 4096, nfiles, mb, 0x5eed, 1, &pos))
        abort();
    static uint8_t before[4096], after[4096], data[16][4096 + 16];
    for (int t = 1; t <= ntx; t++) {
        wal_entry e[16];
        unsigned n = 1 + (unsigned)t % 4;
        for (unsigned k = 0; k < n; k++) {
            memset(before, t, sizeof before);
            memcpy(after, before, sizeof after);
            for (unsigned i = 0; i < 40; i++)
                after[(i * 97 + t * 13 + k) % 4096] ^= (uint8_t)(i + 1);
            uint32_t zfrom = k == 2 ? 0 : k == 3 ? 1000 : 4096;
            size_t len = k == 2 ? 0 : wal_diff(data[k], before, after, 0, zfrom);
            len += wal_diff(data[k] + len, NULL, after, zfrom, 4096);
            e[k] = (wal_entry){k % nfiles, (uint64_t)(t + k), udb_crc32(0, after, 4096), zfrom, data[k], len};
        }
        uint64_t sizes[2] = {(uint64_t)(t + 8) * 4096, (uint64_t)(t + 2) * 4096 + 77};
        for (unsigned k = 0; k < n; k += per) {
            unsigned c = n - k < per ? n - k : per;
            int commit = k + c == n && !(open_tail && t == ntx);
            if (wal_append(&w, &pos, (uint64_t)t, commit, sizes, e + k, c))
                abort();
        }
    }
    wal_close(&w);
    buf b = grab(m, FZ_NAME ".ndx-wal");
    for (uint8_t ctl = 0; ctl < 2; ctl++) {
        buf c = {0};
        put(&c, &ctl, 1);
        put(&c, b.p, b.n);
        char full[80];
        snprintf(full, sizeof full, "%s%s", name, ctl ? "-fix" : "");
        emit("fuzz_wal", full, c.p, c.n, NULL, 0);
        free(c.p);
    }
    free(b.p);
    fz_end();
}

static void wal_seeds(void)
{
    wal_seed("wal-1file", 1, 3, 4, 0);
    wal_seed("wal-2files", 2, 5, 4, 0);
    wal_seed("wal-batches", 2, 4, 1, 0);
    wal_seed("wal-open-tail", 2, 3, 2, 1);
    wal_seed("wal-empty", 2, 0, 1, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseed DIR   (from the repository root)\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    single_files();
    store_files();
    journal_seeds();
    wal_seeds();
    return 0;
}
