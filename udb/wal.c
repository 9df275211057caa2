/*
 * wal.c — the write-ahead log file: header, batches, recovery scan.
 * Owns the log's byte format (doc/format.md, "The write-ahead log"); must
 * not know about data-file layouts, the shared memory or locks.
 *
 * Header (page 0), little-endian:
 *   0 magic "udbWAL\0\1"   8 version (2)   12 page size   16 salt
 *  24 log sequence   32 number of files   36 zero
 *  40 + 256*i file i: size (8), device (8), inode (8), crc32 of its first
 *     page (4), name length (2), zero (2), base name (up to 200)
 *  psize-4 crc32 of bytes 0 .. psize-5
 * Batch (whole pages): header, n entries, then the entries' change data:
 *   0 magic "udbWBT\0\2"   8 salt   16 txn id   24 flags (bit 0: commit)
 *  28 n   32 file sizes (8 x 2, commit batches)   48 crc of the batch
 *  before (the header's crc for the first)   52 crc32 of the batch's other
 *  bytes, padding included (0..51, 56..end)   56 length of the change data
 *  D   60..127 zero
 *  128 + 32*k entry k: page number (8), crc32 of the page after the change
 *     (4), file (1), zero (3), zfrom (4): the page's bytes from here on
 *     start as zeros, offset of its change data in D (4), its length (4),
 *     zero (4)
 *  L = 128 + 32*n + D bytes in all, zero-padded to whole pages.
 * A page's change data: runs of offset (4), length (4), bytes, each run
 * inside the page; the page becomes its bytes before the change below
 * zfrom, zeros from zfrom, then every run written over it in order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "crc32.h"
#include "endian.h"
#include "wal.h"

static const uint8_t HMAGIC[8] = {'u', 'd', 'b', 'W', 'A', 'L', 0, 1};
static const uint8_t BMAGIC[8] = {'u', 'd', 'b', 'W', 'B', 'T', 0, 2};
#define VERSION 2u
#define MEMBER_OFF 40u
#define MEMBER_SIZE 256u
#define ENTRY_OFF 128u
#define ENTRY_SIZE 32u
#define RUN_HDR 8u
#define SCAN_CHUNK ((size_t)1 << 20)

unsigned wal_batch_max(unsigned psize) { return (psize - ENTRY_OFF) / ENTRY_SIZE; }

static int valid_psize(unsigned ps) { return ps >= 1024 && ps <= 65536 && !(ps & (ps - 1)); }

static int oserr(wal_log *w, int rc, const char *what)
{
    return udb_err_set(w->err, UDB_IO, "%s %s: %s", what, w->path,
                       strerror(-rc));
}

uint32_t wal_page0_crc(const uint8_t *p, size_t len, unsigned psize)
{
    static const uint8_t zeros[256];
    size_t n = len < psize ? len : psize;
    uint32_t c = udb_crc32(0, p, n);
    for (size_t left = psize - n; left; ) {
        size_t k = left < sizeof zeros ? left : sizeof zeros;
        c = udb_crc32(c, zeros, k);
        left -= k;
    }
    return c;
}

/* ---- header ------------------------------------------------------------------- */
static void hdr_encode(const wal_log *w, uint8_t *b)
{
    memset(b, 0, w->psize);
    memcpy(b, HMAGIC, 8);
    st32(b + 8, VERSION);
    st32(b + 12, w->psize);
    st64(b + 16, w->salt);
    st64(b + 24, w->logseq);
    st32(b + 32, w->nfiles);
    for (unsigned i = 0; i < w->nfiles; i++) {
        uint8_t *e = b + MEMBER_OFF + MEMBER_SIZE * i;
        size_t l = strlen(w->m[i].name);
        st64(e, w->m[i].size);
        st64(e + 8, w->m[i].dev);
        st64(e + 16, w->m[i].ino);
        st32(e + 24, w->m[i].crc0);
        st16(e + 28, (uint16_t)l);
        memcpy(e + 32, w->m[i].name, l);
    }
    st32(b + w->psize - 4, udb_crc32(0, b, w->psize - 4));
}

/* A member name: a plain base name (no '/', not "." or "..", no NUL). */
static int plain_name(const uint8_t *s, unsigned l)
{
    if (l == 0 || l > WAL_NAME_MAX || memchr(s, 0, l) || memchr(s, '/', l))
        return 0;
    return !(l == 1 && s[0] == '.') && !(l == 2 && s[0] == '.' && s[1] == '.');
}

/* Decode the header page b (psize bytes, psize from the file); 0 or a reason. */
static const char *hdr_decode(wal_log *w, const uint8_t *b, unsigned psize)
{
    if (ld32(b + 8) != VERSION)
        return "unknown version";
    if (ld32(b + psize - 4) != udb_crc32(0, b, psize - 4))
        return "header checksum mismatch";
    w->psize = psize;
    w->salt = ld64(b + 16);
    w->logseq = ld64(b + 24);
    w->nfiles = ld32(b + 32);
    if (w->nfiles < 1 || w->nfiles > WAL_MAX_FILES)
        return "bad number of files";
    for (unsigned i = 0; i < w->nfiles; i++) {
        const uint8_t *e = b + MEMBER_OFF + MEMBER_SIZE * i;
        unsigned l = ld16(e + 28);
        if (!plain_name(e + 32, l))
            return "a file name that is not a plain base name";
        w->m[i].size = ld64(e);
        w->m[i].dev = ld64(e + 8);
        w->m[i].ino = ld64(e + 16);
        w->m[i].crc0 = ld32(e + 24);
        w->m[i].first = NULL;
        if (w->m[i].size > WAL_MAX_FILE_SIZE)
            return "impossible file size";
        memcpy(w->m[i].name, e + 32, l);
        w->m[i].name[l] = 0;
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(w->m[i].name, w->m[j].name))
                return "a file named twice";
    }
    w->hcrc = ld32(b + psize - 4);
    return NULL;
}

static void start_pos(const wal_log *w, wal_pos *p)
{
    memset(p, 0, sizeof *p);
    p->end = w->psize;
    p->crc = w->hcrc;
    for (unsigned i = 0; i < w->nfiles; i++)
        p->sizes[i] = w->m[i].size;
}

static int log_init(wal_log *w, const udb_os *os, udb_err *err, const char *path)
{
    memset(w, 0, sizeof *w);
    w->os = os;
    w->err = err;
    w->fd = -1;
    if (!(w->path = strdup(path)))
        return udb_err_set(err, UDB_NOMEM, "out of memory");
    return 0;
}

void wal_close(wal_log *w)
{
    if (w->map)
        w->os->unmap(w->os->ctx, (void *)w->map, (size_t)w->maplen);
    w->map = NULL;
    w->maplen = w->mapok = 0;
    if (w->fd >= 0)
        w->os->close(w->os->ctx, w->fd);
    w->fd = -1;
    free(w->path);
    free(w->wbuf);
    w->path = NULL;
    w->wbuf = NULL;
    w->wcap = 0;
}

int wal_create(wal_log *w, const udb_os *os, udb_err *err, const char *path, unsigned psize,
               unsigned nfiles, const wal_member *m, uint64_t salt, uint64_t logseq, wal_pos *start)
{
    int rc = log_init(w, os, err, path);
    if (rc)
        return rc;
    if (!valid_psize(psize) || nfiles < 1 || nfiles > WAL_MAX_FILES) {
        wal_close(w);
        return udb_err_set(err, UDB_INVAL, "%s: bad log parameters", path);
    }
    w->psize = psize;
    w->nfiles = nfiles;
    w->salt = salt;
    w->logseq = logseq;
    for (unsigned i = 0; i < nfiles; i++)
        w->m[i] = m[i];
    uint8_t *b = malloc(psize);
    if (!b) {
        wal_close(w);
        return udb_err_set(err, UDB_NOMEM, "out of memory");
    }
    hdr_encode(w, b);
    w->hcrc = ld32(b + psize - 4);
    rc = os->open(os->ctx, path, UDB_OS_RDWR | UDB_OS_CREATE | UDB_OS_EXCL, &w->fd);
    if (rc < 0)
        rc = oserr(w, rc, "cannot create");
    else if ((rc = os->pwrite(os->ctx, w->fd, b, psize, 0)) < 0)
        rc = oserr(w, rc, "cannot write");
    free(b);
    if (rc) {
        if (w->fd >= 0)
            os->unlink(os->ctx, path);
        wal_close(w);
        return rc;
    }
    start_pos(w, start);
    return 0;
}

int wal_reset(wal_log *w, const wal_member *m, uint64_t salt, uint64_t logseq, wal_pos *start)
{
    uint8_t *b = malloc(w->psize);
    if (!b)
        return udb_err_set(w->err, UDB_NOMEM, "out of memory");
    w->salt = salt;
    w->logseq = logseq;
    for (unsigned i = 0; i < w->nfiles; i++)
        w->m[i] = m[i];
    hdr_encode(w, b);
    w->hcrc = ld32(b + w->psize - 4);
    int rc = w->os->pwrite(w->os->ctx, w->fd, b, w->psize, 0);
    free(b);
    if (rc < 0)
        return oserr(w, rc, "cannot write");
    start_pos(w, start);
    return 0;
}

int wal_open(wal_log *w, const udb_os *os, udb_err *err, const char *path, int writable,
             wal_pos *start)
{
    int rc = log_init(w, os, err, path);
    if (rc)
        return rc;
    rc = os->open(os->ctx, path,
                  (writable ? UDB_OS_RDWR | UDB_OS_SOLE : UDB_OS_READ) | UDB_OS_NOFOLLOW, &w->fd);
    if (rc < 0) {
        int link = rc == -ELOOP || rc == -EMLINK;
        int code = rc == -ENOENT ? UDB_NOTFOUND
                   : link        ? udb_err_link(err, rc, "write-ahead log", path)
                                 : oserr(w, rc, "cannot open");
        if (code == UDB_NOTFOUND)
            udb_err_set(err, UDB_NOTFOUND, "no log %s", path);
        wal_close(w);
        w->refused = link;
        return code;
    }
    uint8_t head[16];
    size_t got = 0;
    const char *why = NULL;
    if ((rc = os->pread(os->ctx, w->fd, head, sizeof head, 0, &got)) < 0) {
        rc = oserr(w, rc, "cannot read");
    } else if (got < sizeof head || memcmp(head, HMAGIC, 8)) {
        why = "not a udb log";
    } else if (!valid_psize(ld32(head + 12))) {
        why = "bad page size";
    } else {
        unsigned ps = ld32(head + 12);
        uint8_t *b = malloc(ps);
        if (!b)
            rc = udb_err_set(err, UDB_NOMEM, "out of memory");
        else if ((rc = os->pread(os->ctx, w->fd, b, ps, 0, &got)) < 0)
            rc = oserr(w, rc, "cannot read");
        else if (got < ps)
            why = "header torn";
        else
            why = hdr_decode(w, b, ps);
        free(b);
    }
    if (!rc && why)
        rc = udb_err_set(err, UDB_CORRUPT, "%s: %s", path, why);
    if (rc) {
        wal_close(w);
        return rc;
    }
    start_pos(w, start);
    return 0;
}

static int log_size(wal_log *w, uint64_t *size)
{
    int64_t mt;
    int rc = w->os->fstat(w->os->ctx, w->fd, size, &mt);
    return rc < 0 ? oserr(w, rc, "cannot stat") : 0;
}

/* ---- reading ---------------------------------------------------------------------- */
int wal_map(wal_log *w, uint64_t need)
{
    if (need <= w->mapok)
        return 0;
    uint64_t size;
    int rc = log_size(w, &size);
    if (rc)
        return rc;
    if (size < need)
        return udb_err_set(w->err, UDB_CORRUPT, "%s is shorter (%llu bytes) than its committed end",
                           w->path, (unsigned long long)size);
    if (size > w->maplen) {
        uint64_t len = w->maplen ? w->maplen : (uint64_t)1 << 24;
        while (len < size)
            len *= 2;
        void *m;
        if ((rc = w->os->map(w->os->ctx, NULL, (size_t)len, 1, w->fd, 0, &m)) < 0)
            return oserr(w, rc, "cannot map");
        if (w->map)
            w->os->unmap(w->os->ctx, (void *)w->map, (size_t)w->maplen);
        w->map = m;
        w->maplen = len;
    }
    w->mapok = size; /* never touched beyond: the file is never cut while mapped */
    return 0;
}

const uint8_t *wal_data(wal_log *w, uint64_t off, size_t len)
{
    if (off > WAL_MAX_FILE_SIZE || len > WAL_MAX_FILE_SIZE || wal_map(w, off + len))
        return NULL;
    return w->map + off;
}

int wal_read(wal_log *w, void *dst, size_t len, uint64_t off)
{
    size_t got = 0;
    int rc = w->os->pread(w->os->ctx, w->fd, dst, len, off, &got);
    if (rc < 0)
        return oserr(w, rc, "cannot read");
    return got < len ? udb_err_set(w->err, UDB_CORRUPT, "%s: a frame lies beyond its end", w->path) : 0;
}

/* ---- page changes ---------------------------------------------------------------- */
int wal_apply(uint8_t *page, unsigned psize, uint32_t zfrom, const uint8_t *data, size_t len)
{
    if (zfrom > psize)
        return UDB_CORRUPT;
    memset(page + zfrom, 0, psize - zfrom);
    for (size_t k = 0; k < len;) {
        if (len - k < RUN_HDR)
            return UDB_CORRUPT;
        uint32_t off = ld32(data + k), n = ld32(data + k + 4);
        k += RUN_HDR;
        if (off > psize || n > psize - off || n > len - k)
            return UDB_CORRUPT;
        memcpy(page + off, data + k, n);
        k += n;
    }
    return 0;
}

static int same_at(const uint8_t *before, const uint8_t *after, size_t i)
{
    return after[i] == (before ? before[i] : 0);
}

/* The bytes of after at i (8, i aligned) xor before's (zeros without). */
static uint64_t xor_word(const uint8_t *before, const uint8_t *after, size_t i)
{
    return ld64(after + i) ^ (before ? ld64(before + i) : 0);
}

#define RUN_GAP 16 /* equal bytes that end a run (a run header costs 8) */

/* One past the last differing byte of the run that starts with the
   differing byte at i: it goes on while fewer than RUN_GAP equal bytes
   lie between differing ones; eight bytes at a time where aligned (a
   word's lowest and highest differing bytes are its first and last). */
static size_t run_end(const uint8_t *before, const uint8_t *after, size_t i, size_t to)
{
    size_t e = i + 1, j = e;
    while (j < to && j - e < RUN_GAP) {
        if (j & 7 || j + 8 > to) {
            if (!same_at(before, after, j))
                e = j + 1;
            j++;
            continue;
        }
        uint64_t x = xor_word(before, after, j);
        if (x) {
            if (j + (size_t)(__builtin_ctzll(x) / 8) - e >= RUN_GAP)
                break;
            e = j + 8 - (size_t)(__builtin_clzll(x) / 8);
        }
        j += 8;
    }
    return e;
}

size_t wal_diff(uint8_t *out, const uint8_t *before, const uint8_t *after, unsigned from, unsigned to)
{
    size_t n = 0, cap = (size_t)(to - from) + RUN_HDR;
    for (size_t i = from; i < to;) {
        while (!(i & 7) && i + 8 <= to && !xor_word(before, after, i))
            i += 8;
        if (i >= to)
            break;
        if (same_at(before, after, i)) {
            i++;
            continue;
        }
        size_t e = run_end(before, after, i, to);
        if (n + RUN_HDR + (e - i) > cap) { /* no cheaper than the whole range */
            st32(out, from);
            st32(out + 4, to - from);
            memcpy(out + RUN_HDR, after + from, to - from);
            return cap;
        }
        st32(out + n, (uint32_t)i);
        st32(out + n + 4, (uint32_t)(e - i));
        memcpy(out + n + RUN_HDR, after + i, e - i);
        n += RUN_HDR + (e - i);
        i = e;
    }
    return n;
}

/* ---- writing -------------------------------------------------------------------- */
static size_t batch_len(unsigned n, size_t data) { return ENTRY_OFF + (size_t)ENTRY_SIZE * n + data; }

static size_t round_up(size_t x, unsigned ps) { return (x + ps - 1) / ps * ps; }

static void batch_header(const wal_log *w, uint8_t *b, const wal_pos *pos, uint64_t txn, int commit,
                         const uint64_t *sizes, const wal_entry *e, unsigned n, size_t data)
{
    memset(b, 0, batch_len(n, 0));
    memcpy(b, BMAGIC, 8);
    st64(b + 8, w->salt);
    st64(b + 16, txn);
    st32(b + 24, commit ? 1u : 0u);
    st32(b + 28, n);
    for (unsigned i = 0; commit && i < w->nfiles; i++)
        st64(b + 32 + 8 * i, sizes[i]);
    st32(b + 48, pos->crc);
    st32(b + 56, (uint32_t)data);
    size_t at = 0;
    for (unsigned k = 0; k < n; k++) {
        uint8_t *x = b + ENTRY_OFF + ENTRY_SIZE * k;
        st64(x, e[k].page);
        st32(x + 8, e[k].crc);
        x[12] = (uint8_t)e[k].file;
        st32(x + 16, e[k].zfrom);
        st32(x + 20, (uint32_t)at);
        st32(x + 24, (uint32_t)e[k].len);
        at += e[k].len;
    }
}

static uint32_t batch_crc(const uint8_t *b, size_t len)
{
    return udb_crc32(udb_crc32(0, b, 52), b + 56, len - 56);
}

/* The log's blocks past end, written as zeros up to the next WAL_GROW
   boundary when end is near the file's end: an append must change the
   file's size and so makes each commit's data sync write the inode too
   (measured here: 3.2-4.3k appends + fdatasync/s against 6.3-6.7k
   overwrites). Zeros are no batch: a scan stops there as at any end.
   Only beyond the file's end as it is on disk: no frame is ever there. */
static int grow(wal_log *w, uint64_t end)
{
    static const uint8_t zeros[65536];
    if (end + w->psize <= w->alloc)
        return 0;
    uint64_t size;
    int rc = log_size(w, &size);
    if (rc)
        return rc;
    uint64_t at = size > end ? size : end, to = (end + WAL_GROW) / WAL_GROW * WAL_GROW;
    while (at < to && to <= WAL_MAX_FILE_SIZE) {
        size_t k = to - at < sizeof zeros ? (size_t)(to - at) : sizeof zeros;
        if ((rc = w->os->pwrite(w->os->ctx, w->fd, zeros, k, at)) < 0)
            return oserr(w, rc, "cannot write");
        at += k;
    }
    w->alloc = at > size ? at : size;
    return 0;
}

int wal_append(wal_log *w, wal_pos *pos, uint64_t txn, int commit, const uint64_t *sizes,
               const wal_entry *e, unsigned n)
{
    size_t ps = w->psize, data = 0;
    if (n < 1 || n > wal_batch_max(w->psize))
        return udb_err_set(w->err, UDB_INVAL, "%s: bad batch of %u pages", w->path, n);
    for (unsigned k = 0; k < n; k++) {
        if (e[k].file >= w->nfiles || e[k].page > WAL_MAX_FILE_SIZE / ps || e[k].zfrom > ps ||
            e[k].len > ps + RUN_HDR * 2)
            return udb_err_set(w->err, UDB_INVAL, "%s: page out of range", w->path);
        data += e[k].len;
    }
    if (data > WAL_BATCH_DATA + ps + RUN_HDR * 2)
        return udb_err_set(w->err, UDB_INVAL, "%s: batch too large", w->path);
    size_t len = batch_len(n, data), total = round_up(len, w->psize);
    if (w->wcap < total) {
        uint8_t *b = realloc(w->wbuf, total);
        if (!b)
            return udb_err_set(w->err, UDB_NOMEM, "out of memory");
        w->wbuf = b;
        w->wcap = total;
    }
    batch_header(w, w->wbuf, pos, txn, commit, sizes, e, n, data);
    uint8_t *d = w->wbuf + batch_len(n, 0);
    for (unsigned k = 0; k < n; k++) {
        memcpy(d, e[k].data, e[k].len);
        d += e[k].len;
    }
    memset(w->wbuf + len, 0, total - len);
    uint32_t crc = batch_crc(w->wbuf, total);
    st32(w->wbuf + 52, crc);
    int rc = w->os->pwrite(w->os->ctx, w->fd, w->wbuf, total, pos->end);
    if (rc < 0)
        return oserr(w, rc, "cannot write");
    if (pos->end + total > w->alloc)
        w->alloc = pos->end + total;
    if (commit && total <= WAL_GROW / 16 && (rc = grow(w, pos->end + total)))
        return rc;
    pos->end += total;
    pos->crc = crc;
    if (commit) {
        pos->txn = txn;
        for (unsigned i = 0; i < w->nfiles; i++)
            pos->sizes[i] = sizes[i];
    }
    return 0;
}

/* ---- scanning --------------------------------------------------------------------- */
typedef struct scan {
    wal_log *w;
    uint8_t *hdr, *buf;         /* a header page; chunks of a batch */
    wal_frame *fr;              /* frames of the transaction being read */
    size_t nfr, capfr;
    uint64_t fsize;
    unsigned n;                 /* the batch read: entries, */
    int commit;                 /* its commit flag, */
    uint64_t len;               /* its length before padding */
    size_t chunk;               /* bytes of buf */
} scan;

static int read_at(scan *s, uint8_t *dst, size_t len, uint64_t off)
{
    wal_log *w = s->w;
    size_t got = 0;
    if (off + len <= w->mapok) {
        memcpy(dst, w->map + off, len);
        return 0;
    }
    return w->os->pread(w->os->ctx, w->fd, dst, len, off, &got) < 0 || got < len;
}

/* Validate the batch at off for txn after chain (its header page and its
   entries; with verify its crc over every byte too); 0 = valid. */
static int batch_ok(scan *s, uint64_t off, uint64_t txn, uint32_t chain, int verify)
{
    wal_log *w = s->w;
    const uint8_t *b = s->hdr;
    uint64_t ps = w->psize;
    if (off > s->fsize || s->fsize - off < ps || read_at(s, s->hdr, ps, off))
        return 1;
    s->n = ld32(b + 28);
    s->commit = ld32(b + 24) == 1;
    uint64_t data = ld32(b + 56);
    if (memcmp(b, BMAGIC, 8) || ld64(b + 8) != w->salt || ld64(b + 16) != txn || ld32(b + 24) > 1 ||
        s->n < 1 || s->n > wal_batch_max(w->psize) || ld32(b + 48) != chain)
        return 1;
    s->len = batch_len(s->n, data);
    uint64_t total = round_up((size_t)s->len, w->psize);
    if (total > s->fsize - off)
        return 1; /* torn off */
    for (unsigned i = 0; s->commit && i < w->nfiles; i++)
        if (ld64(b + 32 + 8 * i) > WAL_MAX_FILE_SIZE)
            return 1;
    for (unsigned k = 0; k < s->n; k++) {
        const uint8_t *x = b + ENTRY_OFF + ENTRY_SIZE * k;
        if (x[12] >= w->nfiles || x[13] || x[14] || x[15] || ld64(x) > WAL_MAX_FILE_SIZE / ps ||
            ld32(x + 16) > ps || (uint64_t)ld32(x + 20) + ld32(x + 24) > data || ld32(x + 28))
            return 1;
    }
    if (!verify)
        return 0;
    uint32_t c = udb_crc32(0, b, 52);
    for (uint64_t at = 56; at < total;) {
        size_t k = total - at < s->chunk ? (size_t)(total - at) : s->chunk;
        if (read_at(s, s->buf, k, off + at))
            return 1;
        c = udb_crc32(c, s->buf, k);
        at += k;
    }
    return c != ld32(b + 52);
}

static int keep_frames(scan *s, uint64_t off)
{
    unsigned n = s->n;
    if (s->nfr + n > s->capfr) {
        size_t cap = s->capfr ? s->capfr : 256;
        while (cap < s->nfr + n)
            cap *= 2;
        wal_frame *f = realloc(s->fr, cap * sizeof *f);
        if (!f)
            return udb_err_set(s->w->err, UDB_NOMEM, "out of memory (log scan)");
        s->fr = f;
        s->capfr = cap;
    }
    uint64_t data = off + batch_len(n, 0);
    for (unsigned k = 0; k < n; k++) {
        const uint8_t *x = s->hdr + ENTRY_OFF + ENTRY_SIZE * k;
        wal_frame *f = &s->fr[s->nfr++];
        f->page = ld64(x);
        f->crc = ld32(x + 8);
        f->file = x[12];
        f->zfrom = ld32(x + 16);
        f->off = data + ld32(x + 20);
        f->len = ld32(x + 24);
    }
    return 0;
}

int wal_scan(wal_log *w, const wal_pos *from, uint64_t upto, wal_pos *to, int verify,
             wal_frame_fn fn, void *arg)
{
    scan s = {.w = w};
    int64_t mt;
    *to = *from;
    int rc = 0;
    if (upto && upto <= w->mapok)
        s.fsize = upto; /* mapped: no need to ask */
    else if ((rc = w->os->fstat(w->os->ctx, w->fd, &s.fsize, &mt)) < 0)
        return oserr(w, rc, "cannot stat");
    if (upto && upto < s.fsize)
        s.fsize = upto; /* nothing at or beyond upto is read */
    s.hdr = malloc(w->psize);
    s.chunk = s.fsize < SCAN_CHUNK ? (size_t)s.fsize + 1 : SCAN_CHUNK; /* a small log: a small buffer */
    s.buf = verify ? malloc(s.chunk) : NULL;
    if (!s.hdr || (verify && !s.buf)) {
        free(s.hdr);
        free(s.buf);
        return udb_err_set(w->err, UDB_NOMEM, "out of memory (log scan)");
    }
    uint64_t off = from->end;
    uint32_t chain = from->crc;
    while (!rc && !batch_ok(&s, off, to->txn + 1, chain, verify)) {
        if ((rc = keep_frames(&s, off)))
            break;
        chain = ld32(s.hdr + 52);
        off += round_up((size_t)s.len, w->psize);
        if (!s.commit)
            continue;
        for (unsigned i = 0; i < w->nfiles; i++)
            to->sizes[i] = ld64(s.hdr + 32 + 8 * i);
        for (size_t i = 0; fn && i < s.nfr && !rc; i++)
            rc = fn(arg, &s.fr[i]);
        s.nfr = 0;
        to->end = off;
        to->crc = chain;
        to->txn++;
    }
    free(s.hdr);
    free(s.buf);
    free(s.fr);
    return rc;
}

/* ---- does the log belong to these files? ----------------------------------------- */
typedef struct page0 {
    const wal_member *now;      /* the files now */
    const wal_pos *at;          /* the scan's position: the sizes of the frame's commit */
    unsigned nfiles, psize, seen; /* seen, bit i: file i's first page met in a frame */
} page0;

/* Is crc the first page of file now, as it is or cut at size? */
static int first_is(const wal_member *now, unsigned psize, uint64_t size, uint32_t crc)
{
    if (crc == now->crc0)
        return 1;
    if (!now->first || size >= now->size || size >= psize)
        return 0;
    return wal_page0_crc(now->first, (size_t)size, psize) == crc;
}

static int see_page0(void *arg, const wal_frame *fr)
{
    page0 *p = arg;
    if (fr->page == 0 && fr->file < p->nfiles &&
        first_is(&p->now[fr->file], p->psize, p->at->sizes[fr->file], fr->crc))
        p->seen |= 1u << fr->file;
    return 0;
}

int wal_belongs(wal_log *w, unsigned nfiles, const wal_member *now, const wal_pos *start)
{
    if (nfiles != w->nfiles)
        return udb_err_set(w->err, UDB_CORRUPT, "%s covers %u files, not %u", w->path, w->nfiles, nfiles);
    unsigned need = 0;
    for (unsigned i = 0; i < nfiles; i++) {
        if (strcmp(w->m[i].name, now[i].name))
            return udb_err_set(w->err, UDB_CORRUPT, "%s belongs to '%s', not to '%s'", w->path,
                               w->m[i].name, now[i].name);
        if (!(w->m[i].dev == now[i].dev && w->m[i].ino == now[i].ino) &&
            !first_is(&now[i], w->psize, w->m[i].size, w->m[i].crc0))
            need |= 1u << i;
    }
    if (!need)
        return 0;
    wal_pos to;
    page0 p = {now, &to, nfiles, w->psize, 0};
    int rc = wal_scan(w, start, 0, &to, 1, see_page0, &p);
    if (rc)
        return rc;
    for (unsigned i = 0; i < nfiles; i++)
        if (need & ~p.seen & (1u << i))
            return udb_err_set(w->err, UDB_CORRUPT,
                               "%s was written for another file named '%s' (its first page is "
                               "not one the log knows)",
                               w->path, now[i].name);
    return 0;
}
