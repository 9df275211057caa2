/*
 * journal.c — the rollback journal: NAME-journal beside the first file of a
 * group. Owns the journal's byte format, its checks and its playback; must
 * not know about any data-file layout.
 *
 * Header (512 bytes at offset 0), little-endian:
 *   0 magic "udbjrnl\1" (records at 512) or "udbjrnl\2" (at start)
 *   8 state (1 hot, 2 clean)  12 page size
 *   16 commit counter    24 salt (random per transaction)  32 file count
 *   40 + 216*i: original size of file i (8), name length (2), name (200)
 *   472 start: the first record's offset  480 next: (clean) where the
 *   next transaction's records may begin
 *   508 crc32 (zlib's polynomial, crc32.c) of bytes 0..507
 * Records from offset start, each 32 + page size bytes:
 *   0 magic "1rec"  4 file  8 page number  16 salt
 *   24 crc32 of bytes 0..23 and the page image  28 zero  32 page image
 * or, for a run of pages that were zeros (a hole of the file), the same
 * with magic "1zer", the run's first page at 8 and its length in pages
 * at 32 (the rest of the body zero, under the crc too); or, last, a
 * commit record "1cmt": the files' sizes after the commit and the crc32
 * of every page it writes (a small commit), with which recovery keeps a
 * commit that reached the files whole: its clean header need not be
 * synced, and until it is, the next transaction's records go after these
 * (next).
 * A journal is hot when its header is valid and says hot. A hot journal is
 * hostile until checked: playback first checks the header (only the files
 * of its group, by their exact names: hdr_check), every record (files and
 * pages the header gives) and the original sizes against the files, and
 * only then applies the records and truncates each file to its original
 * size. Records end at the first that is short, carries another salt or
 * fails its crc (a torn tail). Journals and the files only a journal names
 * are never opened through a symbolic link.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crc32.h"
#include "endian.h"
#include "journal.h"

#define JHDR 512u
#define RHDR 32u
#define NAME_MAX_LEN 200u
#define JSUFFIX "-journal"
#define PSIZE_MIN 4096u   /* the page sizes udb writes with on the systems it runs on */
#define PSIZE_MAX 65536u
#define STATE_HOT 1u
#define STATE_CLEAN 2u
#define JBUF_MIN ((size_t)64 << 10) /* the journal buffer starts small, */
#define JBUF_CAP ((size_t)1 << 20)  /* doubles up to this, then is written out when full */
#define JSHRINK ((uint64_t)4 << 20)
#define JLAZY_MAX ((uint64_t)1 << 20) /* records end here at most when the clean header is not synced */
static const uint8_t MAGIC[8] = {'u', 'd', 'b', 'j', 'r', 'n', 'l', 1};
static const uint8_t MAGIC2[8] = {'u', 'd', 'b', 'j', 'r', 'n', 'l', 2}; /* records not at 512 */
#define RMAGIC 0x63657231u /* "1rec" */
#define ZMAGIC 0x72657a31u /* "1zer" */
#define CMAGIC 0x746d6331u /* "1cmt" */
#define CBODY 24u          /* a commit record's body: count, files, two sizes; then entries */
#define CENTRY 16u         /* page (8), file (4), crc32 (4) */

typedef struct jhdr {
    unsigned state, psize, nfiles;
    uint64_t counter, salt;
    uint64_t start;             /* the records' first offset */
    uint64_t next;              /* clean: where the next transaction's records may begin */
    uint64_t orig[PAGER_MAX_FILES];
    unsigned nlen[PAGER_MAX_FILES]; /* the name's length as stored (hdr_check bounds it) */
    char name[PAGER_MAX_FILES][NAME_MAX_LEN + 1];
} jhdr;

/* X.ndx-journal for the heap X.dat alone (a store's transactions cover
   it), X.dat-journal for the store X (a raw heap writer's, UDB_RAW). */
static int attach_other(pager_group *g, const char *path, size_t n, const char *ext, unsigned need,
                        int member)
{
    char *other = pager_path_cat(path, n - 4, ext);
    if (!other)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    g->xjpath = pager_path_cat(other, strlen(other), JSUFFIX);
    free(other);
    if (!g->xjpath)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    g->xjneed = need;
    g->xjmember = member;
    return 0;
}

static int ends_with(const char *s, size_t n, const char *ext)
{
    return n > 4 && !strcmp(s + n - 4, ext);
}

int journal_attach(pager_group *g, const char *path, int idx)
{
    size_t n = strlen(path);
    if (idx == 1) { /* X.dat joining X.ndx: a store (its own journal covers both) */
        const char *p0 = g->files[0]->path;
        size_t n0 = strlen(p0);
        if (g->xjpath || !ends_with(path, n, ".dat") || !ends_with(p0, n0, ".ndx") || n0 != n ||
            memcmp(p0, path, n - 4))
            return 0;
        return attach_other(g, path, n, ".dat", 1, 1);
    }
    g->jpath = pager_path_cat(path, n, JSUFFIX);
    if (!g->jpath)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    if (strlen(pager_base_name(path)) > NAME_MAX_LEN)
        return udb_err_set(g->err, UDB_INVAL, "file name too long: %s", path);
    return ends_with(path, n, ".dat") ? attach_other(g, path, n, ".ndx", 2, 0) : 0;
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
    memcpy(b, h->start == JHDR ? MAGIC : MAGIC2, 8); /* builds before 2026-12 read records at 512 */
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
    st64(b + 472, h->start);
    st64(b + 480, h->next);
    st32(b + 508, udb_crc32(0, b, 508));
}

/* 0 = a header with a valid crc, decoded as it is (hdr_check judges its
   fields); 1 = no valid header */
static int hdr_decode(const uint8_t *b, jhdr *h)
{
    int v2 = !memcmp(b, MAGIC2, 8);
    if ((memcmp(b, MAGIC, 8) && !v2) || ld32(b + 508) != udb_crc32(0, b, 508))
        return 1;
    h->start = v2 ? ld64(b + 472) : JHDR;
    h->next = ld64(b + 480); /* 0 from earlier builds: JHDR (journal_peek bounds it) */
    h->state = ld32(b + 8);
    h->psize = ld32(b + 12);
    h->counter = ld64(b + 16);
    h->salt = ld64(b + 24);
    h->nfiles = ld32(b + 32);
    for (unsigned i = 0; i < h->nfiles && i < PAGER_MAX_FILES; i++) {
        const uint8_t *e = b + 40 + 216 * i;
        h->orig[i] = ld64(e);
        h->nlen[i] = ld16(e + 8);
        size_t l = h->nlen[i] < NAME_MAX_LEN ? h->nlen[i] : NAME_MAX_LEN;
        memcpy(h->name[i], e + 10, l);
        h->name[i][l] = 0;
    }
    return 0;
}

/* ---- checks of a hot header ------------------------------------------------------------ */
__attribute__((format(printf, 3, 4))) static int refuse(pager_group *g, const char *jpath,
                                                        const char *fmt, ...)
{
    char why[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return udb_err_set(g->err, UDB_CORRUPT,
                       "journal %s refused, nothing changed: %s (inspect it; once it is removed "
                       "the files open as they are)",
                       jpath, why);
}

/* A name from a journal as text: bytes other than printable ASCII as \xNN,
   cut to fit out. */
static const char *shown(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = 0;
    return out;
}

/* The names a journal at jpath may give, in order: the file it is named
   after, then for X.ndx the store's heap X.dat. Returns how many. */
static unsigned group_names(const char *jpath, char want[PAGER_MAX_FILES][NAME_MAX_LEN + 1])
{
    const char *b = pager_base_name(jpath);
    size_t n = strlen(b) - (sizeof JSUFFIX - 1); /* journal_attach made it: at most 200 */
    memcpy(want[0], b, n);
    want[0][n] = 0;
    if (n <= 4 || strcmp(want[0] + n - 4, ".ndx"))
        return 1;
    memcpy(want[1], want[0], n - 4);
    memcpy(want[1] + n - 4, ".dat", 5);
    return 2;
}

/* The first file's name is a file name, only not this group's: a journal
   copied from elsewhere. */
static int foreign(pager_group *g, const char *jpath, const char *name, const char *want)
{
    char a[80];
    if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return 0;
    return udb_err_set(g->err, UDB_RECOVER,
                       "journal %s belongs to '%s', not to %s; move it away if that file no "
                       "longer exists",
                       jpath, shown(a, sizeof a, name), want);
}

/* A hot header names only the files of its group, by their exact names, in
   the journal's directory, with sizes and a page size udb can have written. */
static int hdr_check(pager_group *g, const char *jpath, const jhdr *h)
{
    char want[PAGER_MAX_FILES][NAME_MAX_LEN + 1], a[80];
    unsigned nw = group_names(jpath, want), ps = 1u << g->files[0]->pshift;
    if (h->nfiles < 1 || h->nfiles > nw)
        return refuse(g, jpath, "it names %u file(s); its group is %s%s%s", h->nfiles, want[0],
                      nw > 1 ? " and " : "", nw > 1 ? want[1] : "");
    if (h->psize != ps && (h->psize < PSIZE_MIN || h->psize > PSIZE_MAX || (h->psize & (h->psize - 1))))
        return refuse(g, jpath, "page size %u is not one udb writes", h->psize);
    if (h->start < JHDR || h->start > JLAZY_MAX)
        return refuse(g, jpath, "its records would begin at offset %llu (udb writes them from 512 "
                      "to %llu)", (unsigned long long)h->start, (unsigned long long)JLAZY_MAX);
    for (unsigned i = 0; i < h->nfiles; i++) {
        if (h->nlen[i] > NAME_MAX_LEN)
            return refuse(g, jpath, "the name of file %u is %u bytes long, over its %u-byte field", i,
                          h->nlen[i], NAME_MAX_LEN);
        if (strlen(h->name[i]) != h->nlen[i])
            return refuse(g, jpath, "the name of file %u holds a NUL byte", i);
        if (strcmp(h->name[i], want[i])) {
            int rc = i ? 0 : foreign(g, jpath, h->name[i], want[i]);
            return rc ? rc : refuse(g, jpath, "file %u is '%s', not %s (only the files of its group, "
                                    "in its directory)", i, shown(a, sizeof a, h->name[i]), want[i]);
        }
        if (h->orig[i] > INT64_MAX)
            return refuse(g, jpath, "original size %llu of %s is impossible",
                          (unsigned long long)h->orig[i], want[i]);
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
    h->start = g->jstart >= JHDR ? g->jstart : JHDR;
    h->next = JHDR;
    h->nfiles = (unsigned)g->nfiles;
    for (int i = 0; i < g->nfiles; i++) {
        h->orig[i] = g->files[i]->orig_size;
        strcpy(h->name[i], pager_base_name(g->files[i]->path));
    }
}

/* Open a journal, or a file only a journal names, never through a symbolic
   link (nor waiting on a FIFO). */
static int jopen(pager_group *g, const char *path, int flags, int *fd)
{
    return g->os->open(g->os->ctx, path, flags | UDB_OS_NOFOLLOW, fd);
}

static int jopen_err(pager_group *g, int rc, const char *what, const char *jpath)
{
    if (rc == -ELOOP || rc == -EMLINK)
        return udb_err_link(g->err, rc, "journal", jpath);
    return pager_oserr(g, rc, what, jpath);
}

/* Open an existing journal read-only or read-write; -ENOENT when absent. */
static int open_journal(pager_group *g, const char *path, int create, int *fd)
{
    int flags = g->readonly ? UDB_OS_READ : UDB_OS_RDWR | UDB_OS_SOLE; /* never written shared */
    if (create)
        flags |= UDB_OS_CREATE;
    return jopen(g, path, flags, fd);
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

static int peek_check(pager_group *g, int fd, const char *jpath, const jhdr *h, unsigned need);

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
            return jopen_err(g, rc, "cannot open journal", g->jpath);
    }
    g->jnext = JHDR;
    if (g->jfd >= 0) {
        if ((rc = read_state(g, g->jfd, &h, hot)) < 0)
            return pager_oserr(g, rc, "cannot read journal", g->jpath);
        *counter = h.counter;
        if (h.state == STATE_CLEAN && h.next > JHDR && h.next <= JLAZY_MAX)
            g->jnext = h.next; /* past a commit whose clean header may not be on disk */
        if (*hot && pager_writer_alive(g, 0))
            *hot = 0; /* a live writer's commit: the files are as committed until it takes them */
        if (*hot && (rc = peek_check(g, g->jfd, g->jpath, &h, 1)))
            return rc;
    }
    if (g->xjpath) {
        int fd, xh = 0;
        rc = jopen(g, g->xjpath, UDB_OS_READ, &fd);
        if (rc == -ENOENT)
            return 0;
        if (rc < 0)
            return jopen_err(g, rc, "cannot open journal", g->xjpath);
        rc = read_state(g, fd, &h, &xh);
        if (rc < 0) {
            rc = pager_oserr(g, rc, "cannot read journal", g->xjpath);
        } else {
            *xcounter = h.counter;
            if (xh && pager_writer_alive(g, g->xjmember))
                xh = 0;
            *xhot = xh && h.nfiles == g->xjneed; /* checked next: it names the member */
            if (xh)
                rc = peek_check(g, fd, g->xjpath, &h, g->xjneed);
        }
        g->os->close(g->os->ctx, fd);
        return rc;
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
        return jopen_err(g, rc, "cannot create journal", g->jpath);
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

/* Room for a record of rec bytes in the buffer: it grows (a small
   transaction touches little memory); at JBUF_CAP, or when it cannot
   grow, it is written out instead. */
static int jbuf_room(pager_group *g, size_t rec)
{
    if (g->jlen + rec <= g->jcap)
        return 0;
    if (g->jcap < JBUF_CAP) {
        size_t cap = g->jcap ? g->jcap : JBUF_MIN;
        while (cap < g->jlen + rec && cap < JBUF_CAP)
            cap *= 2;
        uint8_t *p = realloc(g->jbuf, cap);
        if (p) {
            g->jbuf = p;
            g->jcap = cap;
            if (g->jlen + rec <= cap)
                return 0;
        }
    }
    int rc = flush_buf(g); /* also when the buffer could not grow */
    if (!rc && rec > g->jcap)
        rc = udb_err_set(g->err, UDB_NOMEM, "out of memory (journal buffer)");
    return rc;
}

/* Room for a record of f's page size, its header filled in but for the
   crc; the caller writes the body and the crc. NULL: *rc says why. */
static uint8_t *rec_begin(pager_group *g, pager_file *f, uint32_t magic, uint64_t pg, int *rc)
{
    size_t rec = RHDR + ((size_t)1 << f->pshift);
    if ((*rc = jbuf_room(g, rec)))
        return NULL;
    if (g->jend < JHDR)
        g->jend = JHDR;
    uint8_t *r = g->jbuf + g->jlen;
    st32(r, magic);
    st32(r + 4, (uint32_t)f->idx);
    st64(r + 8, pg);
    st64(r + 16, g->salt);
    st32(r + 28, 0);
    g->jlen += rec;
    return r;
}

int journal_add(pager_group *g, pager_file *f, uint64_t pg)
{
    size_t ps = (size_t)1 << f->pshift;
    int rc;
    uint8_t *r = rec_begin(g, f, RMAGIC, pg, &rc);
    if (!r)
        return rc;
    memcpy(r + RHDR, f->base + (pg << f->pshift), ps);
    st32(r + 24, udb_crc32(udb_crc32(0, r, 24), r + RHDR, ps));
    g->stats.journal_pages++;
    return 0;
}

/* Queue a record saying pages [pg, pg + n) of f held zeros (they lay in a
   hole of the file): rollback writes zeros there, no image needed. */
int journal_add_zeros(pager_group *g, pager_file *f, uint64_t pg, uint64_t n)
{
    size_t ps = (size_t)1 << f->pshift;
    int rc;
    uint8_t *r = rec_begin(g, f, ZMAGIC, pg, &rc);
    if (!r)
        return rc;
    memset(r + RHDR, 0, ps);
    st64(r + RHDR, n);
    st32(r + 24, udb_crc32(udb_crc32(0, r, 24), r + RHDR, ps));
    return 0;
}

void journal_begin(pager_group *g)
{
    g->jstart = g->jend = g->jnext >= JHDR ? g->jnext : JHDR;
    g->jcommit = g->jcommit_any = 0;
}

size_t journal_commit_max(const pager_group *g)
{
    return (((size_t)1 << g->files[0]->pshift) - CBODY) / CENTRY;
}

int journal_add_commit(pager_group *g, const uint32_t *file, const uint64_t *page, const uint32_t *crc,
                       size_t n)
{
    size_t ps = (size_t)1 << g->files[0]->pshift;
    int rc;
    if (n > journal_commit_max(g))
        return udb_err_set(g->err, UDB_INVAL, "a commit record lists at most %zu pages",
                           journal_commit_max(g));
    uint8_t *r = rec_begin(g, g->files[0], CMAGIC, 0, &rc);
    if (!r)
        return rc;
    uint8_t *b = r + RHDR;
    memset(b, 0, ps);
    st32(b, (uint32_t)n);
    st32(b + 4, (uint32_t)g->nfiles);
    for (int i = 0; i < g->nfiles; i++) /* void: a size no file has, so it never matches */
        st64(b + 8 + 8 * i, page ? g->files[i]->size : (uint64_t)INT64_MAX);
    for (size_t k = 0; k < n; k++) {
        uint8_t *e = b + CBODY + CENTRY * k;
        st64(e, page[k]);
        st32(e + 8, file[k]);
        st32(e + 12, crc[k]);
    }
    st32(r + 24, udb_crc32(udb_crc32(0, r, 24), b, ps));
    g->jcommit = page != NULL;
    g->jcommit_any = 1;
    return 0;
}

/* The journal's directory entry must be durable before data pages change
   (FULL and NORMAL): else a power loss could lose a hot journal. */
static int sync_dir(pager_group *g)
{
    if (g->jdir_synced || g->sync == UDB_SYNC_OFF)
        return 0;
    int rc = pager_sync_dir(g, g->jpath);
    g->jdir_synced = !rc;
    return rc;
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
    /* The clean header is synced unless the commit record makes the commit
       durable without it (FULL), or the policy does not ask for it (NORMAL:
       a crash may roll the commit back). Not synced, it may reach the disk
       after the next transaction's records: those go past these (next),
       so that a crash finds this transaction whole, never torn. */
    int lazy = g->sync != UDB_SYNC_OFF && (g->jcommit || g->sync == UDB_SYNC_NORMAL) && g->jend <= JLAZY_MAX;
    h.next = lazy ? g->jend : JHDR;
    if ((rc = write_clean(g, g->jfd, g->jpath, &h, g->sync != UDB_SYNC_OFF && !lazy)))
        return rc;
    g->jcounter = h.counter;
    g->jnext = h.next;
    /* Give space back once the clean header is durable: a shortened
       journal whose header still read hot would roll committed pages back
       to nothing. */
    if (g->jend > JSHRINK && !lazy)
        g->os->ftruncate(g->os->ctx, g->jfd, JHDR); /* harmless if it fails */
    journal_reset(g);
    return 0;
}

int journal_cancel(pager_group *g)
{
    int rc = 0;
    if (g->jhdr_written && g->jfd >= 0) {
        jhdr h;
        hdr_of_group(g, &h, STATE_CLEAN);
        h.next = h.start; /* not synced: what lies before stays as it is */
        if (!(rc = write_clean(g, g->jfd, g->jpath, &h, 0)))
            g->jcounter = h.counter;
        g->jnext = h.start;
    }
    journal_reset(g);
    return rc;
}

void journal_reset(pager_group *g)
{
    g->jstart = g->jend = g->jnext >= JHDR ? g->jnext : JHDR;
    g->jlen = 0;
    g->jhdr_written = 0;
}

/* ---- checks and playback ------------------------------------------------------------ */
/* The descriptor of member name (checked by hdr_check), from the group or
   opened in the journal's directory: for writing (locked) when write. */
static int member_fd(pager_group *g, const char *jpath, const char *name, int write, int *fd, int *opened)
{
    *opened = 0;
    const char *slash = strrchr(jpath, '/');
    size_t dl = slash ? (size_t)(slash - jpath) + 1 : 0;
    char *path = pager_path_cat(jpath, dl, name);
    if (!path)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    for (int i = 0; i < g->nfiles; i++)
        if (!strcmp(g->files[i]->path, path)) {
            *fd = g->files[i]->fd;
            free(path);
            return 0;
        }
    int rc = jopen(g, path, write ? UDB_OS_RDWR : UDB_OS_READ, fd);
    if (rc == 0) {
        *opened = 1;
        if (write && g->os->lock(g->os->ctx, *fd, 2, LOCK_PENDING, 3) < 0)
            rc = udb_err_set(g->err, UDB_LOCKED, "cannot roll back %s: %s is in use", jpath, path);
    } else if (rc == -ELOOP) {
        rc = refuse(g, jpath, "%s is a symbolic link, which playback never follows to a file it "
                    "opens itself (open the store, whose files are then the caller's)", path);
    } else {
        rc = pager_oserr(g, rc, "cannot open journal member", path);
    }
    free(path);
    return rc;
}

/* Pages of file i the header gives: those its original size reaches into. */
static uint64_t orig_pages(const jhdr *h, unsigned i)
{
    return h->orig[i] / h->psize + (h->orig[i] % h->psize != 0);
}

enum { REC_END, REC_OK, REC_BAD };

/* Pages a checked record restores: 1, a zero record's run, none for the
   commit record. */
static uint64_t rec_pages(const uint8_t *r)
{
    return ld32(r) == ZMAGIC ? ld64(r + RHDR) : ld32(r) == CMAGIC ? 0 : 1;
}

/* A commit record's fields against the header: 0, or why says what is
   wrong. Sizes up to 2^63 - 1, pages inside them. */
static int commit_bad(const jhdr *h, const uint8_t *r, uint64_t off, char *why, size_t wl)
{
    const uint8_t *b = r + RHDR;
    uint64_t n = ld32(b), size[PAGER_MAX_FILES] = {0};
    if (ld32(b + 4) != h->nfiles || ld32(r + 4) || ld64(r + 8) || n > (h->psize - CBODY) / CENTRY)
        return snprintf(why, wl, "the commit record at offset %llu lists %llu page(s) of %u file(s) "
                        "(the header names %u; a record holds at most %u pages)", (unsigned long long)off,
                        (unsigned long long)n, ld32(b + 4), h->nfiles, (h->psize - CBODY) / CENTRY), 1;
    for (unsigned i = 0; i < h->nfiles; i++)
        if ((size[i] = ld64(b + 8 + 8 * i)) > INT64_MAX)
            return snprintf(why, wl, "the commit record at offset %llu gives %s a size of %llu bytes",
                            (unsigned long long)off, h->name[i], (unsigned long long)size[i]), 1;
    for (uint64_t k = 0; k < n; k++) {
        const uint8_t *e = b + CBODY + CENTRY * k;
        unsigned fi = ld32(e + 8);
        uint64_t pg = ld64(e);
        if (fi >= h->nfiles)
            return snprintf(why, wl, "the commit record at offset %llu lists a page of file %u of %u",
                            (unsigned long long)off, fi, h->nfiles), 1;
        if (pg >= size[fi] / h->psize + (size[fi] % h->psize != 0))
            return snprintf(why, wl, "the commit record at offset %llu lists page %llu of %s, beyond "
                            "the size of %llu bytes it gives", (unsigned long long)off,
                            (unsigned long long)pg, h->name[fi], (unsigned long long)size[fi]), 1;
    }
    return 0;
}

/* The record at off, read into r: REC_END where the records end (short,
   another transaction's salt, a torn tail whose page never reached the
   file), REC_BAD when it names a file or page the header does not give
   (why says which), else REC_OK; or -errno. */
static int read_record(const udb_os *os, int jfd, const jhdr *h, uint8_t *r, uint64_t off, char *why,
                       size_t wl)
{
    size_t rec = RHDR + h->psize, got = 0;
    int rc = os->pread(os->ctx, jfd, r, rec, off, &got);
    if (rc < 0)
        return rc;
    uint32_t magic = got >= rec ? ld32(r) : 0;
    if ((magic != RMAGIC && magic != ZMAGIC && magic != CMAGIC) || ld64(r + 16) != h->salt ||
        ld32(r + 24) != udb_crc32(udb_crc32(0, r, 24), r + RHDR, h->psize))
        return REC_END;
    if (magic == CMAGIC)
        return commit_bad(h, r, off, why, wl) ? REC_BAD : REC_OK;
    unsigned fi = ld32(r + 4);
    unsigned long long pg = ld64(r + 8), n = magic == ZMAGIC ? ld64(r + RHDR) : 1;
    if (fi >= h->nfiles)
        snprintf(why, wl, "the record at offset %llu is for file %u of %u", (unsigned long long)off, fi,
                 h->nfiles);
    else if (pg >= orig_pages(h, fi) || n > orig_pages(h, fi) - pg)
        snprintf(why, wl, "the record at offset %llu restores %llu page(s) from page %llu of %s, "
                 "beyond its original size of %llu bytes", (unsigned long long)off, n, pg, h->name[fi],
                 (unsigned long long)h->orig[fi]);
    else if (!n)
        snprintf(why, wl, "the record at offset %llu restores no page", (unsigned long long)off);
    else
        return REC_OK;
    return REC_BAD;
}

/* Zeros over [a, b) of file fd (a zero record), as far as the file
   reaches now (what lies beyond comes back as zeros when the file is
   truncated to its original size); holes of the file are zeros already. */
static int write_zeros(pager_group *g, const char *jpath, int fd, uint64_t a, uint64_t b)
{
    static const uint8_t zeros[65536];
    uint64_t size, s, e;
    int64_t mtime;
    int rc = g->os->fstat(g->os->ctx, fd, &size, &mtime);
    if (b > size)
        b = size;
    while (!rc && a < b) {
        s = a, e = b;
        if (g->os->next_data && (rc = g->os->next_data(g->os->ctx, fd, a, &s, &e)) != 0) {
            if (rc == -ENXIO)
                return 0;
            s = a, e = b, rc = 0; /* cannot tell: every byte */
        }
        if (s < a || e <= s)
            s = a, e = b;
        if (s >= b)
            return 0;
        size_t n = e - s < sizeof zeros ? (size_t)(e - s) : sizeof zeros;
        if (n > b - s)
            n = (size_t)(b - s);
        rc = g->os->pwrite(g->os->ctx, fd, zeros, n, s);
        a = s + n;
    }
    return rc < 0 ? pager_oserr(g, rc, "cannot restore page from", jpath) : 0;
}

static int apply_record(pager_group *g, const char *jpath, const jhdr *h, const uint8_t *r, const int *fds)
{
    if (ld32(r) == CMAGIC)
        return 0; /* the commit did not reach the files: nothing to restore from it */
    unsigned fi = ld32(r + 4);
    uint64_t at = ld64(r + 8) * h->psize; /* read_record: below the original size, < 2^63 */
    if (ld32(r) == ZMAGIC) { /* n pages, within the original size */
        uint64_t end = (ld64(r + 8) + ld64(r + RHDR)) * h->psize;
        return write_zeros(g, jpath, fds[fi], at, end < h->orig[fi] ? end : h->orig[fi]);
    }
    size_t n = h->orig[fi] - at < h->psize ? (size_t)(h->orig[fi] - at) : h->psize;
    int rc = g->os->pwrite(g->os->ctx, fds[fi], r + RHDR, n, at);
    return rc < 0 ? pager_oserr(g, rc, "cannot restore page from", jpath) : 0;
}

/* fds NULL: check every record and count them (*n), and the pages they
   restore per file (saturating); *cmt = the offset of the last record when
   it is a commit record, else 0. Else
   apply the *n records checked before, each checked again as it is read:
   a journal that changed since stops playback with an error, and what was
   written lies inside the checked files and sizes. */
static int walk_records(pager_group *g, int jfd, const char *jpath, const jhdr *h, const int *fds,
                        uint64_t *n, uint64_t *per_file, uint64_t *cmt)
{
    size_t rec = RHDR + h->psize;
    uint8_t *r = malloc(rec);
    if (!r)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    char why[200];
    int rc = 0, st = REC_OK;
    uint64_t k = 0, off = h->start;
    for (; !rc && st != REC_END && (!fds || k < *n); k += st == REC_OK, off += rec) {
        st = read_record(g->os, jfd, h, r, off, why, sizeof why);
        if (st < 0)
            rc = pager_oserr(g, st, "cannot read journal", jpath);
        else if (st != REC_OK && fds)
            rc = udb_err_set(g->err, UDB_CORRUPT,
                             "journal %s changed while it was played back (record at offset %llu); "
                             "recover again", jpath, (unsigned long long)off);
        else if (st == REC_BAD)
            rc = refuse(g, jpath, "%s", why);
        else if (st == REC_OK && fds)
            rc = apply_record(g, jpath, h, r, fds);
        else if (st == REC_OK) {
            uint64_t *c = &per_file[ld32(r + 4)], add = rec_pages(r);
            *c = add > UINT64_MAX - *c ? UINT64_MAX : *c + add;
            *cmt = ld32(r) == CMAGIC ? off : 0;
        }
    }
    if (!fds)
        *n = k;
    free(r);
    return rc;
}

/* A file shorter than its original size gets the bytes it lacks from the
   journal (a commit that shrank it journaled every page it cut off): an
   original size neither the file nor the records make up is refused. */
static int sizes_check(pager_group *g, const char *jpath, const jhdr *h, const int *fds,
                       const uint64_t *per_file)
{
    for (unsigned i = 0; i < h->nfiles; i++) {
        uint64_t size;
        int64_t mtime;
        int rc = g->os->fstat(g->os->ctx, fds[i], &size, &mtime);
        if (rc == -EINVAL)
            return refuse(g, jpath, "%s is not a regular file", h->name[i]);
        if (rc < 0)
            return pager_oserr(g, rc, "cannot stat", h->name[i]);
        if (h->orig[i] > size && (h->orig[i] - size - 1) / h->psize >= per_file[i])
            return refuse(g, jpath, "it gives %s an original size of %llu bytes; the file has %llu "
                          "and the journal restores %llu page(s) of it", h->name[i],
                          (unsigned long long)h->orig[i], (unsigned long long)size,
                          (unsigned long long)per_file[i]);
    }
    return 0;
}

static int restore_sizes(pager_group *g, const jhdr *h, const int *fds)
{
    for (unsigned i = 0; i < h->nfiles; i++) {
        int r1 = g->os->ftruncate(g->os->ctx, fds[i], h->orig[i]);
        int r2 = r1 < 0 ? r1 : g->os->fsync(g->os->ctx, fds[i]);
        if (r2 < 0)
            return pager_oserr(g, r2, "cannot restore", h->name[i]);
    }
    return 0;
}

/* The member files of a hot journal whose header passed hdr_check, and
   everything else it says, checked before anything is written: every
   record, and the original sizes against the files. m->nrec: the records. */
typedef struct members {
    int fd[PAGER_MAX_FILES], opened[PAGER_MAX_FILES];
    unsigned n;
    uint64_t nrec;
    uint64_t cmt;               /* offset of the commit record ending the records, or 0 */
} members;

static int journal_check(pager_group *g, int jfd, const char *jpath, const jhdr *h, int write, members *m)
{
    uint64_t per_file[PAGER_MAX_FILES] = {0};
    int rc = walk_records(g, jfd, jpath, h, NULL, &m->nrec, per_file, &m->cmt);
    for (; !rc && m->n < h->nfiles; m->n++) /* members_close closes what opened */
        rc = member_fd(g, jpath, h->name[m->n], write, &m->fd[m->n], &m->opened[m->n]);
    return rc ? rc : sizes_check(g, jpath, h, m->fd, per_file);
}

static void members_close(pager_group *g, const members *m)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->opened[i])
            g->os->close(g->os->ctx, m->fd[i]);
}

/* A hot journal journal_peek met, covering this group when it names need
   files: its header is checked; a read-only handle, which cannot play it
   back, checks the rest now too, so that it reports a hostile journal as
   such and not as an interrupted transaction. */
static int peek_check(pager_group *g, int fd, const char *jpath, const jhdr *h, unsigned need)
{
    members m = {{0}, {0}, 0, 0, 0};
    int rc = hdr_check(g, jpath, h);
    if (rc || !g->readonly || h->nfiles < need)
        return rc;
    rc = journal_check(g, fd, jpath, h, 0, &m);
    members_close(g, &m);
    return rc;
}

/* Do the files hold what the commit record at off says the commit wrote
   (their sizes, the crc32 of every page it lists)? 1 yes, 0 no, or an error. */
static int commit_done(pager_group *g, int jfd, const char *jpath, const jhdr *h, uint64_t off,
                       const int *fds)
{
    char why[200];
    uint8_t *r = malloc(2 * (size_t)(RHDR + h->psize)), *page = r ? r + RHDR + h->psize : NULL;
    if (!r)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    int rc = read_record(g->os, jfd, h, r, off, why, sizeof why), done = rc == REC_OK && ld32(r) == CMAGIC;
    if (rc < 0)
        done = pager_oserr(g, rc, "cannot read journal", jpath);
    const uint8_t *b = r + RHDR;
    for (unsigned i = 0; done == 1 && i < h->nfiles; i++) {
        uint64_t size;
        int64_t mtime;
        if ((rc = g->os->fstat(g->os->ctx, fds[i], &size, &mtime)) < 0)
            done = pager_oserr(g, rc, "cannot stat", h->name[i]);
        else
            done = size == ld64(b + 8 + 8 * i);
    }
    for (uint32_t k = 0, n = ld32(b); done == 1 && k < n; k++) {
        const uint8_t *e = b + CBODY + CENTRY * k;
        unsigned fi = ld32(e + 8);
        uint64_t at = ld64(e) * h->psize, size = ld64(b + 8 + 8 * fi); /* commit_bad: at < size */
        size_t len = size - at < h->psize ? (size_t)(size - at) : h->psize, got = 0;
        if ((rc = g->os->pread(g->os->ctx, fds[fi], page, len, at, &got)) < 0)
            done = pager_oserr(g, rc, "cannot read", h->name[fi]);
        else
            done = got == len && udb_crc32(0, page, len) == ld32(e + 12);
    }
    free(r);
    return done;
}

/* The files hold the whole commit: make them durable, then the journal clean. */
static int keep_commit(pager_group *g, const char *jpath, jhdr *h, int jfd, const int *fds)
{
    for (unsigned i = 0; i < h->nfiles; i++) {
        int rc = g->os->fsync(g->os->ctx, fds[i]);
        if (rc < 0)
            return pager_oserr(g, rc, "cannot sync", h->name[i]);
    }
    h->next = JHDR;
    return write_clean(g, jfd, jpath, h, 1);
}

/* Check everything the hot journal says, then obey it: the records, the
   original sizes, a clean header; or, after a crash (not undo), when its
   commit record finds the files as the commit left them, nothing but the
   clean header. h is the copy checked and obeyed. */
static int play(pager_group *g, int jfd, const char *jpath, jhdr *h, members *m, int undo)
{
    int rc = hdr_check(g, jpath, h), done = 0;
    if (!rc)
        rc = journal_check(g, jfd, jpath, h, 1, m);
    if (!rc && m->cmt && !undo && (done = commit_done(g, jfd, jpath, h, m->cmt, m->fd)) < 0)
        rc = done;
    if (!rc && done == 1 && !(rc = keep_commit(g, jpath, h, jfd, m->fd)))
        g->jkept = 1;
    if (rc || done == 1)
        return rc;
    if (!rc)
        rc = walk_records(g, jfd, jpath, h, m->fd, &m->nrec, NULL, NULL);
    if (!rc)
        rc = restore_sizes(g, h, m->fd);
    h->next = JHDR;
    return rc ? rc : write_clean(g, jfd, jpath, h, 1);
}

int journal_playback(pager_group *g, const char *jpath, int undo)
{
    int own = !strcmp(jpath, g->jpath);
    int jfd = own ? g->jfd : -1, rc, hot = 0;
    if (jfd < 0 && (rc = open_journal(g, jpath, 0, &jfd)) < 0)
        return rc == -ENOENT ? 0 : jopen_err(g, rc, "cannot open journal", jpath);
    if (own)
        g->jfd = jfd;
    jhdr h;
    members m = {{0}, {0}, 0, 0, 0};
    g->jkept = 0;
    if ((rc = read_state(g, jfd, &h, &hot)) < 0)
        rc = pager_oserr(g, rc, "cannot read journal", jpath);
    else if (hot && !(rc = play(g, jfd, jpath, &h, &m, undo)) && own) {
        g->jcounter = h.counter;
        g->jnext = JHDR; /* the clean header is synced */
    }
    members_close(g, &m);
    if (!own && jfd >= 0)
        g->os->close(g->os->ctx, jfd);
    return rc;
}
