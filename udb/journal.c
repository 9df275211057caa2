/*
 * journal.c — the rollback journal: NAME-journal beside the first file of a
 * group. Owns the journal's byte format and its playback; must not know about
 * any data-file layout.
 *
 * Header (512 bytes at offset 0), little-endian:
 *   0 magic "udbjrnl\1"  8 state (1 hot, 2 clean)  12 page size
 *   16 commit counter    24 salt (random per transaction)  32 file count
 *   40 + 216*i: original size of file i (8), name length (2), name (200)
 *   508 crc32 (zlib's polynomial, crc32.c) of bytes 0..507
 * Records from offset 512, each 32 + page size bytes:
 *   0 magic "1rec"  4 file  8 page number  16 salt
 *   24 crc32 of bytes 0..23 and the page image  28 zero  32 page image
 * A journal is hot when its header is valid and says hot. Playback applies
 * records while they carry the header's salt and a valid crc, then truncates
 * each file to its original size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "crc32.h"
#include "endian.h"
#include "journal.h"

#define JHDR 512u
#define RHDR 32u
#define NAME_MAX_LEN 200u
#define STATE_HOT 1u
#define STATE_CLEAN 2u
#define JBUF_CAP ((size_t)1 << 20)
#define JSHRINK ((uint64_t)4 << 20)
static const uint8_t MAGIC[8] = {'u', 'd', 'b', 'j', 'r', 'n', 'l', 1};
#define RMAGIC 0x63657231u

typedef struct jhdr {
    unsigned state, psize, nfiles;
    uint64_t counter, salt;
    uint64_t orig[PAGER_MAX_FILES];
    char name[PAGER_MAX_FILES][NAME_MAX_LEN + 1];
} jhdr;

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static char *str_cat(const char *a, size_t alen, const char *b)
{
    size_t bl = strlen(b);
    char *s = malloc(alen + bl + 1);
    if (s) {
        memcpy(s, a, alen);
        memcpy(s + alen, b, bl + 1);
    }
    return s;
}

int journal_attach(pager_group *g, const char *path0)
{
    size_t n = strlen(path0);
    g->jpath = str_cat(path0, n, "-journal");
    if (!g->jpath)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    if (strlen(base_name(path0)) > NAME_MAX_LEN)
        return udb_err_set(g->err, UDB_INVAL, "file name too long: %s", path0);
    /* a heap file X.dat may belong to the store X, whose journal is X.ndx-journal */
    if (n > 4 && !strcmp(path0 + n - 4, ".dat")) {
        char *ndx = str_cat(path0, n - 4, ".ndx");
        if (!ndx)
            return udb_err_set(g->err, UDB_NOMEM, "out of memory");
        g->xjpath = str_cat(ndx, strlen(ndx), "-journal");
        free(ndx);
        if (!g->xjpath)
            return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    }
    return 0;
}

void journal_close(pager_group *g)
{
    if (g->jfd >= 0)
        g->os->close(g->os->ctx, g->jfd);
    g->jfd = -1;
    free(g->jpath);
    free(g->xjpath);
    free(g->jbuf);
}

/* ---- header ------------------------------------------------------------------ */
static void hdr_encode(uint8_t *b, const jhdr *h)
{
    memset(b, 0, JHDR);
    memcpy(b, MAGIC, 8);
    st32(b + 8, h->state);
    st32(b + 12, h->psize);
    st64(b + 16, h->counter);
    st64(b + 24, h->salt);
    st32(b + 32, h->nfiles);
    for (unsigned i = 0; i < h->nfiles; i++) {
        uint8_t *e = b + 40 + 216 * i;
        size_t l = strlen(h->name[i]);
        st64(e, h->orig[i]);
        st16(e + 8, (uint16_t)l);
        memcpy(e + 10, h->name[i], l);
    }
    st32(b + 508, udb_crc32(0, b, 508));
}

/* 0 = valid header decoded; 1 = no valid header */
static int hdr_decode(const uint8_t *b, jhdr *h)
{
    if (memcmp(b, MAGIC, 8) || ld32(b + 508) != udb_crc32(0, b, 508))
        return 1;
    h->state = ld32(b + 8);
    h->psize = ld32(b + 12);
    h->counter = ld64(b + 16);
    h->salt = ld64(b + 24);
    h->nfiles = ld32(b + 32);
    if (h->nfiles < 1 || h->nfiles > PAGER_MAX_FILES || h->psize < 512 || h->psize > (1u << 16) ||
        (h->psize & (h->psize - 1)))
        return 1;
    for (unsigned i = 0; i < h->nfiles; i++) {
        const uint8_t *e = b + 40 + 216 * i;
        unsigned l = ld16(e + 8);
        if (l == 0 || l > NAME_MAX_LEN)
            return 1;
        h->orig[i] = ld64(e);
        memcpy(h->name[i], e + 10, l);
        h->name[i][l] = 0;
    }
    return 0;
}

static void hdr_of_group(pager_group *g, jhdr *h, unsigned state)
{
    memset(h, 0, sizeof *h);
    h->state = state;
    h->psize = (unsigned)1 << g->files[0]->pshift;
    h->counter = g->jcounter;
    h->salt = g->salt;
    h->nfiles = (unsigned)g->nfiles;
    for (int i = 0; i < g->nfiles; i++) {
        h->orig[i] = g->files[i]->orig_size;
        strcpy(h->name[i], base_name(g->files[i]->path));
    }
}

/* Open an existing journal read-only or read-write; -ENOENT when absent. */
static int open_journal(pager_group *g, const char *path, int create, int *fd)
{
    int flags = g->readonly ? UDB_OS_READ : UDB_OS_RDWR;
    if (create)
        flags |= UDB_OS_CREATE;
    return g->os->open(g->os->ctx, path, flags, fd);
}

/* Read the header of the journal at fd: 1 hot, 0 not hot; counter set. */
static int read_state(pager_group *g, int fd, jhdr *h, int *hot)
{
    uint8_t b[JHDR];
    size_t got = 0;
    int rc = g->os->pread(g->os->ctx, fd, b, JHDR, 0, &got);
    if (rc < 0)
        return rc;
    *hot = 0;
    if (got < JHDR || hdr_decode(b, h)) {
        memset(h, 0, sizeof *h);
        return 0;
    }
    *hot = h->state == STATE_HOT;
    return 0;
}

int journal_peek(pager_group *g, int *hot, uint64_t *counter, int *xhot, uint64_t *xcounter)
{
    jhdr h;
    int rc;
    *hot = *xhot = 0;
    *counter = *xcounter = 0;
    if (g->jfd < 0) {
        rc = open_journal(g, g->jpath, 0, &g->jfd);
        if (rc == -ENOENT)
            g->jfd = -1;
        else if (rc < 0)
            return pager_oserr(g, rc, "cannot open journal", g->jpath);
    }
    if (g->jfd >= 0) {
        if ((rc = read_state(g, g->jfd, &h, hot)) < 0)
            return pager_oserr(g, rc, "cannot read journal", g->jpath);
        *counter = h.counter;
        if (*hot && strcmp(h.name[0], base_name(g->files[0]->path)))
            return udb_err_set(g->err, UDB_RECOVER,
                               "journal %s belongs to '%s', not to %s; move it away if that file "
                               "no longer exists",
                               g->jpath, h.name[0], g->files[0]->path);
    }
    if (g->xjpath) {
        int fd;
        rc = g->os->open(g->os->ctx, g->xjpath, UDB_OS_READ, &fd);
        if (rc == 0) {
            int xh = 0;
            rc = read_state(g, fd, &h, &xh);
            g->os->close(g->os->ctx, fd);
            if (rc < 0)
                return pager_oserr(g, rc, "cannot read journal", g->xjpath);
            *xcounter = h.counter;
            for (unsigned i = 0; xh && i < h.nfiles; i++)
                if (!strcmp(h.name[i], base_name(g->files[0]->path)))
                    *xhot = 1;
        }
    }
    return 0;
}

/* ---- writing ---------------------------------------------------------------------- */
static int ensure_open_rw(pager_group *g)
{
    if (g->jfd >= 0)
        return 0;
    int rc = open_journal(g, g->jpath, 1, &g->jfd);
    if (rc < 0)
        return pager_oserr(g, rc, "cannot create journal", g->jpath);
    return 0;
}

static int flush_buf(pager_group *g)
{
    if (!g->jlen)
        return 0;
    int rc = ensure_open_rw(g);
    if (rc)
        return rc;
    rc = g->os->pwrite(g->os->ctx, g->jfd, g->jbuf, g->jlen, g->jend);
    if (rc < 0)
        return pager_oserr(g, rc, "cannot write journal", g->jpath);
    if (g->sync != UDB_SYNC_OFF && g->os->writeback) /* the commit's fsync then waits less */
        g->os->writeback(g->os->ctx, g->jfd, g->jend, g->jlen);
    g->jend += g->jlen;
    g->jlen = 0;
    g->jdurable = 0;
    return 0;
}

int journal_add(pager_group *g, pager_file *f, uint64_t pg)
{
    size_t ps = (size_t)1 << f->pshift, rec = RHDR + ps;
    if (!g->jbuf) {
        g->jbuf = malloc(JBUF_CAP);
        if (!g->jbuf)
            return udb_err_set(g->err, UDB_NOMEM, "out of memory (journal buffer)");
        g->jcap = JBUF_CAP;
    }
    if (g->jlen + rec > g->jcap) {
        int rc = flush_buf(g);
        if (rc)
            return rc;
    }
    if (g->jend < JHDR)
        g->jend = JHDR;
    uint8_t *r = g->jbuf + g->jlen;
    st32(r, RMAGIC);
    st32(r + 4, (uint32_t)f->idx);
    st64(r + 8, pg);
    st64(r + 16, g->salt);
    memcpy(r + RHDR, f->base + (pg << f->pshift), ps);
    uint32_t c = udb_crc32(0, r, 24);
    st32(r + 24, udb_crc32(c, r + RHDR, ps));
    st32(r + 28, 0);
    g->jlen += rec;
    g->stats.journal_pages++;
    return 0;
}

/* The journal's directory entry must be durable before data pages change
   (FULL and NORMAL): else a power loss could lose a hot journal. */
static int sync_dir(pager_group *g)
{
    if (g->jdir_synced || g->sync == UDB_SYNC_OFF)
        return 0;
    const char *slash = strrchr(g->jpath, '/');
    char *dir = slash ? str_cat(g->jpath, (size_t)(slash - g->jpath) + (slash == g->jpath), "")
                      : str_cat(".", 1, "");
    if (!dir)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    int fd, rc = g->os->open(g->os->ctx, dir, UDB_OS_READ, &fd);
    if (rc == 0) {
        g->os->fsync(g->os->ctx, fd); /* best effort: some systems refuse */
        g->os->close(g->os->ctx, fd);
    }
    free(dir);
    g->jdir_synced = 1;
    return 0;
}

int journal_sync(pager_group *g)
{
    int rc = ensure_open_rw(g);
    if (rc)
        return rc;
    if (g->jhdr_written && !g->jlen && g->jdurable)
        return 0; /* a write-behind after an earlier sync: nothing new to make durable */
    if (!g->jhdr_written) {
        uint8_t b[JHDR];
        jhdr h;
        hdr_of_group(g, &h, STATE_HOT);
        hdr_encode(b, &h);
        if ((rc = g->os->pwrite(g->os->ctx, g->jfd, b, JHDR, 0)) < 0)
            return pager_oserr(g, rc, "cannot write journal", g->jpath);
        if (g->jend < JHDR)
            g->jend = JHDR;
        g->jhdr_written = 1;
        g->jdurable = 0;
    }
    if ((rc = flush_buf(g)))
        return rc;
    /* a stale record from an older transaction right after ours would be
       rejected by its salt; nothing to clear */
    if (g->sync != UDB_SYNC_OFF && (rc = g->os->fsync(g->os->ctx, g->jfd)) < 0)
        return pager_oserr(g, rc, "cannot sync journal", g->jpath);
    if ((rc = sync_dir(g)))
        return rc;
    g->jdurable = 1;
    return 0;
}

static int write_clean(pager_group *g, int fd, const char *path, jhdr *h, int sync)
{
    uint8_t b[JHDR];
    h->state = STATE_CLEAN;
    h->counter++;
    hdr_encode(b, h);
    int rc = g->os->pwrite(g->os->ctx, fd, b, JHDR, 0);
    if (rc == 0 && sync)
        rc = g->os->fsync(g->os->ctx, fd);
    return rc < 0 ? pager_oserr(g, rc, "cannot write journal", path) : 0;
}

int journal_finish(pager_group *g)
{
    jhdr h;
    int rc = ensure_open_rw(g);
    if (rc)
        return rc;
    hdr_of_group(g, &h, STATE_CLEAN);
    if ((rc = write_clean(g, g->jfd, g->jpath, &h, g->sync == UDB_SYNC_FULL)))
        return rc;
    g->jcounter = h.counter;
    /* Give space back, but only once the clean header is durable: a
       shortened journal whose header still read hot would roll committed
       pages back to nothing. */
    if (g->jend > JSHRINK && (g->sync != UDB_SYNC_NORMAL || g->os->fsync(g->os->ctx, g->jfd) == 0))
        g->os->ftruncate(g->os->ctx, g->jfd, JHDR); /* harmless if it fails */
    journal_reset(g);
    return 0;
}

void journal_reset(pager_group *g)
{
    g->jend = JHDR;
    g->jlen = 0;
    g->jhdr_written = 0;
}

/* ---- playback ----------------------------------------------------------------------- */
/* The descriptor of member name, from the group or opened for playback. */
static int member_fd(pager_group *g, const char *jpath, const char *name, int *fd, int *opened)
{
    *opened = 0;
    const char *slash = strrchr(jpath, '/');
    size_t dl = slash ? (size_t)(slash - jpath) + 1 : 0;
    char *path = str_cat(jpath, dl, name);
    if (!path)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    for (int i = 0; i < g->nfiles; i++)
        if (!strcmp(g->files[i]->path, path)) {
            *fd = g->files[i]->fd;
            free(path);
            return 0;
        }
    int rc = g->os->open(g->os->ctx, path, UDB_OS_RDWR, fd);
    if (rc == 0) {
        rc = g->os->lock(g->os->ctx, *fd, 2, LOCK_PENDING, 3);
        if (rc < 0) {
            g->os->close(g->os->ctx, *fd);
            rc = udb_err_set(g->err, UDB_LOCKED, "cannot roll back %s: %s is in use", jpath, path);
            free(path);
            return rc;
        }
        *opened = 1;
    } else {
        rc = pager_oserr(g, rc, "cannot open journal member", path);
    }
    free(path);
    return rc;
}

static int apply_records(pager_group *g, int jfd, const char *jpath, const jhdr *h, const int *fds)
{
    size_t rec = RHDR + h->psize;
    uint8_t *r = malloc(rec);
    if (!r)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    int rc = 0;
    for (uint64_t off = JHDR;; off += rec) {
        size_t got = 0;
        if ((rc = g->os->pread(g->os->ctx, jfd, r, rec, off, &got)) < 0) {
            rc = pager_oserr(g, rc, "cannot read journal", jpath);
            break;
        }
        if (got < rec || ld32(r) != RMAGIC || ld64(r + 16) != h->salt || ld32(r + 4) >= h->nfiles)
            break;
        uint32_t c = udb_crc32(0, r, 24);
        if (ld32(r + 24) != udb_crc32(c, r + RHDR, h->psize))
            break; /* torn tail: its page was never written to the file */
        unsigned fi = ld32(r + 4);
        uint64_t at = ld64(r + 8) * h->psize;
        if (at >= h->orig[fi])
            continue;
        size_t n = h->orig[fi] - at < h->psize ? (size_t)(h->orig[fi] - at) : h->psize;
        if ((rc = g->os->pwrite(g->os->ctx, fds[fi], r + RHDR, n, at)) < 0) {
            rc = pager_oserr(g, rc, "cannot restore page from", jpath);
            break;
        }
    }
    free(r);
    return rc;
}

int journal_playback(pager_group *g, const char *jpath)
{
    int own = !strcmp(jpath, g->jpath);
    int jfd = own ? g->jfd : -1, rc, hot = 0;
    if (jfd < 0 && (rc = open_journal(g, jpath, 0, &jfd)) < 0)
        return rc == -ENOENT ? 0 : pager_oserr(g, rc, "cannot open journal", jpath);
    if (own)
        g->jfd = jfd;
    jhdr h;
    int fds[PAGER_MAX_FILES], opened[PAGER_MAX_FILES] = {0};
    unsigned nf = 0;
    if ((rc = read_state(g, jfd, &h, &hot)) < 0) {
        rc = pager_oserr(g, rc, "cannot read journal", jpath);
        goto out;
    }
    if (!hot)
        goto out;
    for (; nf < h.nfiles; nf++)
        if ((rc = member_fd(g, jpath, h.name[nf], &fds[nf], &opened[nf])))
            goto out;
    if ((rc = apply_records(g, jfd, jpath, &h, fds)))
        goto out;
    for (unsigned i = 0; i < nf; i++) {
        int r1 = g->os->ftruncate(g->os->ctx, fds[i], h.orig[i]);
        int r2 = r1 < 0 ? r1 : g->os->fsync(g->os->ctx, fds[i]);
        if (r2 < 0) {
            rc = pager_oserr(g, r2, "cannot restore", h.name[i]);
            goto out;
        }
    }
    rc = write_clean(g, jfd, jpath, &h, 1);
    if (own && !rc)
        g->jcounter = h.counter;
out:
    for (unsigned i = 0; i < nf; i++)
        if (opened[i])
            g->os->close(g->os->ctx, fds[i]);
    if (!own && jfd >= 0)
        g->os->close(g->os->ctx, jfd);
    return rc;
}
