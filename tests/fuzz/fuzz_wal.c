/*
 * fuzz_wal.c — libFuzzer target: arbitrary bytes as a write-ahead log
 * (udb/wal.c, doc/format.md "The log, P-wal"), below the pager: open and
 * validate the header, scan the committed transactions (with and without
 * the batches' crcs, and up to a limit), read every committed frame's
 * change and apply it to a page, ask whether the log belongs to files.
 * Anything but a clean refusal or a correct answer is a finding: a crash,
 * a sanitizer report, a frame or a run outside its batch or page, a scan
 * that ends past the file, or a write to any file (the log is read only).
 *
 * Input: one control byte, then the log. Control byte bit 0: make the
 * checksums right first (the header's crc, then every batch's chain and
 * crc in turn, as an attacker who knows the format would), so that
 * mutations of entries, lengths and runs are not all stopped by a crc.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "crc32.h"
#include "fz.h"
#include "wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    wal_frame f[512];
    size_t n;
} seen;

static int collect(void *arg, const wal_frame *fr)
{
    seen *s = arg;
    if (s->n < 512)
        s->f[s->n++] = *fr;
    return 0;
}

static void apply_all(wal_log *w, const seen *s, uint64_t size)
{
    uint8_t *page = calloc(1, w->psize), *d = malloc((size_t)w->psize + 16);
    for (size_t i = 0; page && d && i < s->n; i++) {
        const wal_frame *fr = &s->f[i];
        if (fr->off > size || fr->len > size - fr->off || fr->file >= w->nfiles)
            fz_fail("read", "frame %zu lies outside the log or its files", i);
        if (fr->len > (size_t)w->psize + 16)
            continue; /* what a checkpoint refuses before reading */
        if (wal_read(w, d, fr->len, fr->off))
            fz_fail("read", "a committed frame cannot be read back");
        int rc = wal_apply(page, w->psize, fr->zfrom, d, fr->len);
        if (rc && rc != UDB_CORRUPT)
            fz_fail("read", "wal_apply returned %d", rc);
    }
    free(page);
    free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = FZ_NAME ".ndx-wal";
    unsigned c = size ? data[0] : 0;
    size_t n = size ? size - 1 : 0;
    uint8_t *log = malloc(n + 1);
    memcpy(log, size ? data + 1 : data, n);
    if (c & 1)
        fz_fix_log(log, n);
    memfs *m = fz_begin(data, size, NULL); /* nothing may be written */
    memfs_put(m, path, log, n);
    free(log);
    const udb_os *os = memfs_os(m);
    udb_err err = {0};
    wal_log w;
    wal_pos start, to, to2;
    if (wal_open(&w, os, &err, path, 0, &start) == 0) {
        static seen s;
        s.n = 0;
        if (wal_scan(&w, &start, 0, &to, 1, collect, &s) == 0) {
            if (to.end > n || to.end < start.end)
                fz_fail("read", "the scan ends at %llu, the log has %zu bytes",
                        (unsigned long long)to.end, n);
            apply_all(&w, &s, n);
            /* the same without the crcs, and stopped half way */
            if (wal_scan(&w, &start, to.end, &to2, 0, NULL, NULL) == 0 && to2.txn < to.txn)
                fz_fail("read", "an unverified scan up to the end found fewer transactions");
            wal_scan(&w, &start, start.end + (to.end - start.end) / 2, &to2, 1, NULL, NULL);
        }
        wal_member now[WAL_MAX_FILES];
        memcpy(now, w.m, sizeof now);
        static uint8_t first[65536]; /* a first page from the input's bytes */
        for (size_t i = 0; i < w.psize && w.psize <= sizeof first; i++)
            first[i] = n ? data[i % n] : 0;
        for (unsigned i = 0; i < w.nfiles; i++) {
            now[i].ino ^= 1; /* another inode: the log must know the first page */
            now[i].first = w.psize <= sizeof first ? first : NULL;
            now[i].size = n ? data[n - 1] * 64u : w.psize; /* shorter or longer than a page */
        }
        wal_belongs(&w, w.nfiles, now, &start);
        wal_close(&w);
    }
    fz_end();
    return 0;
}
