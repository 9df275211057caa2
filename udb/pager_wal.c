/*
 * pager_wal.c — the journal modes of a pager group and the life of WAL
 * mode: settling the mode on the first transaction (mode locks, a pending
 * log recovered, the shared memory joined), checkpoints (in the caller's
 * thread or a helper thread), the last handle's clean-up (doc/api.md
 * "WAL mode", doc/format.md "Write-ahead log mode"). Transactions are
 * pager_walrw.c's, the log's bytes wal.c's, the shared region's shm.c's.
 * Must not know about any data-file layout.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "journal.h"
#include "pager_int.h"

static int paths(pager_group *g)
{
    if (g->wal_path)
        return 0;
    const char *p = g->files[0]->path;
    size_t n = strlen(p);
    g->wal_path = pager_path_cat(p, n, "-wal");
    g->shm_path = pager_path_cat(p, n, "-shm");
    if (n > 4 && !strcmp(p + n - 4, ".dat")) /* a store's heap: the store's log */
        g->xwal_path = pager_path_cat(p, n - 4, ".ndx-wal");
    if (!g->wal_path || !g->shm_path || (n > 4 && !strcmp(p + n - 4, ".dat") && !g->xwal_path))
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    return 0;
}

/* Make the log durable (its data and size: fdatasync where there is one). */
int pw_sync_log(pager_group *g)
{
    int rc = g->os->datasync ? g->os->datasync(g->os->ctx, g->log.fd) : g->os->fsync(g->os->ctx, g->log.fd);
    return rc < 0 ? pager_oserr(g, rc, "cannot sync", g->log.path) : 0;
}

int pw_try_lock(pager_group *g, int type, uint64_t byte)
{
    return g->os->lock(g->os->ctx, g->files[0]->fd, type, byte, 1);
}

/* ---- what the files are now --------------------------------------------------- */
/* Member i as it is: name, size, inode, the crc of its first page up to
   limit bytes (a file's logical size: bytes a shrinking commit left past
   it do not count); with keep (a page of the log's size), the first page
   stays there for wal_belongs. */
static int member_now(pager_group *g, int i, wal_member *m, uint8_t *keep, uint64_t limit)
{
    pager_file *f = g->files[i];
    int64_t mt;
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", pager_base_name(f->path));
    int rc = g->os->fstat(g->os->ctx, f->fd, &m->size, &mt);
    if (rc < 0)
        return pager_oserr(g, rc, "cannot stat", f->path);
    if (g->os->file_id && g->os->file_id(g->os->ctx, f->fd, &m->dev, &m->ino) < 0)
        m->dev = m->ino = 0;
    unsigned ps = 1u << f->pshift;
    uint8_t *b = keep ? keep : calloc(1, ps);
    size_t got = 0;
    if (!b)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    memset(b, 0, ps);
    rc = g->os->pread(g->os->ctx, f->fd, b, ps, 0, &got);
    if (rc >= 0)
        m->crc0 = wal_page0_crc(b, got < limit ? got : (size_t)limit, ps);
    if (keep)
        m->first = keep;
    else
        free(b);
    return rc < 0 ? pager_oserr(g, rc, "cannot read", f->path) : 0;
}

/* ---- copying frames into the data files ------------------------------------------ */
typedef struct frames {
    wal_frame *f;
    size_t n, cap;
    uint64_t after;             /* only frames beyond this log offset */
    pager_group *g;
} frames;

static int keep_frame(void *arg, const wal_frame *fr)
{
    frames *l = arg;
    if (fr->off < l->after)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        wal_frame *x = realloc(l->f, cap * sizeof *x);
        if (!x)
            return udb_err_set(l->g->err, UDB_NOMEM, "out of memory (checkpoint)");
        l->f = x;
        l->cap = cap;
    }
    l->f[l->n++] = *fr;
    return 0;
}

static int cmp_frame(const void *a, const void *b)
{
    const wal_frame *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->page != y->page)
        return x->page < y->page ? -1 : 1;
    return (x->off > y->off) - (x->off < y->off);
}

#define COPY_RUN 2048 /* pages written by one call: 8 MiB with 4 KiB pages */

/* Give every file its size (only let it grow unless exact: a file is cut
   shorter only by a handle alone on it, since another may map the pages
   beyond), then sync them (unless sync OFF). */
static int set_sizes(pager_group *g, const uint64_t *sizes, int exact)
{
    int rc = 0;
    for (int i = 0; i < g->nfiles && !rc; i++) {
        pager_file *f = g->files[i];
        uint64_t now;
        int64_t mt;
        int r = g->os->fstat(g->os->ctx, f->fd, &now, &mt);
        if (r < 0)
            return pager_oserr(g, r, "cannot stat", f->path);
        if ((now < sizes[i] || (exact && now > sizes[i])) &&
            (r = g->os->ftruncate(g->os->ctx, f->fd, sizes[i])) < 0)
            rc = pager_oserr(g, r, "cannot truncate", f->path);
    }
    for (int i = 0; i < g->nfiles && !rc && g->sync != UDB_SYNC_OFF; i++) {
        int r = g->os->fsync(g->os->ctx, g->files[i]->fd);
        if (r < 0)
            rc = pager_oserr(g, r, "cannot sync", g->files[i]->path);
    }
    return rc;
}

/* Keep the frames of pages below their file's size, in (file, page, log)
   order. */
static void sort_frames(frames *l, const uint64_t *sizes, unsigned ps)
{
    if (!l->n)
        return; /* none past a checkpoint: no array at all */
    qsort(l->f, l->n, sizeof *l->f, cmp_frame);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->f[i].page * ps < sizes[l->f[i].file])
            l->f[n++] = l->f[i];
    l->n = n;
}

/* Build the m consecutive pages that the frames f[0..nf) change (one
   file, in page and log order) in buf: as the file holds them, then
   every frame over them in order; each page must end with the crc its
   last frame gives. Write them, up to the file's size. */
static int write_run(pager_group *g, const wal_frame *f, size_t nf, size_t m, uint64_t size, uint8_t *buf,
                     uint8_t *data)
{
    unsigned ps = g->log.psize;
    pager_file *pf = g->files[f[0].file];
    uint64_t at = f[0].page * ps;
    size_t got = 0;
    int r = g->os->pread(g->os->ctx, pf->fd, buf, m * ps, at, &got);
    if (r < 0)
        return pager_oserr(g, r, "cannot read", pf->path);
    memset(buf + got, 0, m * ps - got);
    for (size_t k = 0; k < nf; k++) {
        uint8_t *page = buf + (size_t)(f[k].page - f[0].page) * ps;
        if (f[k].len > (size_t)ps + 16 || wal_read(&g->log, data, f[k].len, f[k].off) ||
            wal_apply(page, ps, f[k].zfrom, data, f[k].len))
            return udb_err_set(g->err, UDB_CORRUPT, "%s: a committed change of page %llu does not apply",
                               g->log.path, (unsigned long long)f[k].page);
        uint64_t in = size - f[k].page * ps;
        if ((k + 1 == nf || f[k + 1].page != f[k].page) &&
            wal_page0_crc(page, in < ps ? (size_t)in : ps, ps) != f[k].crc)
            return udb_err_set(g->err, UDB_CORRUPT, "%s: page %llu of %s rebuilt from the log does not "
                               "match its checksum", g->log.path, (unsigned long long)f[k].page, pf->path);
    }
    uint64_t end = at + m * ps < size ? at + m * ps : size;
    r = g->os->pwrite(g->os->ctx, pf->fd, buf, (size_t)(end - at), at);
    return r < 0 ? pager_oserr(g, r, "cannot write", pf->path) : 0;
}

/* The run of frames from f[i] on (one file, consecutive pages, at most
   COPY_RUN of them): its end in f, its pages in *pages. */
static size_t run_of(const wal_frame *f, size_t i, size_t n, size_t *pages)
{
    size_t j;
    *pages = 1;
    for (j = i + 1; j < n && f[j].file == f[i].file; j++) {
        if (f[j].page == f[j - 1].page)
            continue;
        if (f[j].page != f[j - 1].page + 1 || *pages == COPY_RUN)
            break;
        ++*pages;
    }
    return j;
}

/* Bring every page that frames in l change (below each file's size) into
   the files, in runs of consecutive pages (large writes make large
   page-cache folios: later mappings of the files fault less), then give
   each file exactly its size when exact, else only let it grow. */
static int copy_frames(pager_group *g, frames *l, const uint64_t *sizes, int exact)
{
    unsigned ps = g->log.psize;
    sort_frames(l, sizes, ps);
    uint8_t *buf = malloc((size_t)ps * (COPY_RUN + 1) + 16);
    if (!buf)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory (checkpoint)");
    int rc = 0;
    const wal_frame *f = l->f;
    for (size_t i = 0, j, pages; i < l->n && !rc; i = j) {
        if (g->halted && atomic_load(g->halted)) { /* its handle closes: that does it (faster) */
            rc = udb_err_set(g->err, UDB_LOCKED, "the checkpoint stopped: its handle closes");
            break;
        }
        j = run_of(f, i, l->n, &pages);
        rc = write_run(g, f + i, j - i, pages, sizes[f[i].file], buf, buf + (size_t)ps * COPY_RUN);
    }
    free(buf);
    return rc ? rc : set_sizes(g, sizes, exact);
}

/* The same from this handle's mappings, when they show the log's end (the
   last handle closing): no page is read back and rebuilt, the disk starts
   on each run at once. 1 (nothing written) when a page there does not
   have the crc of its last frame: the caller rebuilds them from the log. */
static int copy_mapped(pager_group *g, frames *l, const uint64_t *sizes)
{
    unsigned ps = g->log.psize;
    for (int i = 0; i < g->nfiles; i++)
        if (g->files[i]->size != sizes[i] || ((uint64_t)1 << g->files[i]->pshift) != ps)
            return 1;
    sort_frames(l, sizes, ps);
    const wal_frame *f = l->f;
    for (size_t i = 0; i < l->n; i++) {
        if (i + 1 < l->n && f[i + 1].file == f[i].file && f[i + 1].page == f[i].page)
            continue; /* a page ends as its last frame says */
        uint64_t at = f[i].page * ps, in = sizes[f[i].file] - at;
        if (wal_page0_crc(g->files[f[i].file]->base + at, in < ps ? (size_t)in : ps, ps) != f[i].crc)
            return 1;
    }
    for (size_t i = 0, j, pages; i < l->n; i = j) {
        j = run_of(f, i, l->n, &pages);
        pager_file *pf = g->files[f[i].file];
        uint64_t at = f[i].page * ps, end = at + pages * ps, size = sizes[f[i].file];
        if (end > size)
            end = size;
        int r = g->os->pwrite(g->os->ctx, pf->fd, pf->base + at, (size_t)(end - at), at);
        if (r < 0)
            return pager_oserr(g, r, "cannot write", pf->path);
        if (g->os->writeback)
            g->os->writeback(g->os->ctx, pf->fd, at, end - at);
    }
    return set_sizes(g, sizes, 1);
}

void pw_log_start(const wal_log *w, wal_pos *p)
{
    *p = (wal_pos){.end = w->psize, .crc = w->hcrc};
    for (unsigned i = 0; i < w->nfiles; i++)
        p->sizes[i] = w->m[i].size;
}

/* Copy the committed frames after *from (NULL: the log's start) up to
   upto (0: all) of the open log into the files, those at log offsets
   below after excepted (a checkpoint copied them); *to is where the
   copied part ends (sizes there). mapped: this handle's mappings show
   upto and the files get exactly their sizes (copy_mapped). */
static int backfill(pager_group *g, const wal_pos *from, uint64_t upto, int exact, int mapped,
                    uint64_t after, wal_pos *to)
{
    wal_pos start;
    pw_log_start(&g->log, &start);
    if (from)
        start = *from;
    frames l = {.g = g, .after = after};
    int rc = 0;
    if (g->sync != UDB_SYNC_OFF && (rc = pw_sync_log(g)))
        return rc; /* before any file page changes */
    /* the mapped pages are checked against the frames' crcs instead: the
       scan reads only the batches' headers */
    rc = wal_scan(&g->log, &start, upto, to, !mapped, keep_frame, &l);
    if (!rc && to->end > start.end && mapped && (rc = copy_mapped(g, &l, to->sizes)) == 1) {
        l.n = 0; /* a page there is not as the log says: from the log after all */
        rc = wal_scan(&g->log, &start, upto, to, 1, keep_frame, &l);
        mapped = 0;
    }
    if (!rc && to->end > start.end && !mapped)
        rc = copy_frames(g, &l, to->sizes, exact);
    free(l.f);
    return rc;
}

/* Where the checkpoints have come to in the current log. */
static void backfill_pos(pager_group *g, wal_pos *p)
{
    pw_log_start(&g->log, p);
    uint64_t end = atomic_load(&g->sh.h->backfill);
    if (end > p->end) {
        p->end = end;
        p->txn = atomic_load(&g->sh.h->bf_txn);
        p->crc = (uint32_t)atomic_load(&g->sh.h->bf_crc);
    }
}

void pw_set_backfill(pager_group *g, const wal_pos *p)
{
    atomic_store(&g->sh.h->bf_txn, p->txn);
    atomic_store(&g->sh.h->bf_crc, p->crc);
    atomic_store(&g->sh.h->backfill, p->end);
}

/* The log file of view v, opened (a restart made a new one); UDB_STALE
   when the file there is already a newer one. */
int pw_current_log(pager_group *g, const shm_view *v, wal_pos *start)
{
    uint64_t seq = v->logseq;
    if (!seq) { /* no log yet (a read-only first handle) */
        if (g->log.fd >= 0)
            wal_close(&g->log);
        g->log.fd = -1;
        g->log.logseq = 0;
        return 0;
    }
    if (g->log.fd >= 0 && g->log.logseq == seq) {
        *start = (wal_pos){.end = g->log.psize, .crc = g->log.hcrc};
        for (unsigned i = 0; i < g->log.nfiles; i++)
            start->sizes[i] = g->log.m[i].size;
        return 0;
    }
    if (g->log.fd >= 0)
        wal_close(&g->log);
    g->log.fd = -1;
    int rc = wal_open(&g->log, g->os, g->err, g->wal_path, !g->readonly, start);
    if (!rc && (g->log.logseq != seq || g->log.psize != g->sh.h->psize ||
                g->log.nfiles != (unsigned)g->nfiles)) {
        wal_close(&g->log);
        g->log.fd = -1;
        return UDB_STALE; /* a newer log already: the caller starts over */
    }
    return rc;
}

/* ---- recovery of a log no live handle uses ----------------------------------------- */
/* Open the log at path and make sure it is this group's: 0, UDB_NOTFOUND
   (no log, or a header that was never made durable, which holds nothing
   committed: *unsynced = 1), or an error that changed nothing. */
static int open_log(pager_group *g, const char *path, wal_pos *start, int *unsynced)
{
    *unsynced = 0;
    int rc = wal_open(&g->log, g->os, g->err, path, !g->readonly, start);
    if (rc == UDB_CORRUPT && !g->log.refused) { /* not a header: never made durable */
        *unsynced = 1;
        rc = UDB_NOTFOUND;
    }
    if (rc) {
        g->log.fd = -1;
        return rc;
    }
    wal_member now[WAL_MAX_FILES];
    uint8_t *first = malloc((size_t)g->nfiles << g->files[0]->pshift);
    if (!first)
        rc = udb_err_set(g->err, UDB_NOMEM, "out of memory");
    for (int i = 0; i < g->nfiles && !rc; i++)
        rc = member_now(g, i, &now[i], first + ((size_t)i << g->files[0]->pshift), UINT64_MAX);
    if (!rc)
        rc = wal_belongs(&g->log, (unsigned)g->nfiles, now, start);
    free(first);
    if (rc) {
        char msg[sizeof g->err->msg];
        memcpy(msg, udb_err_msg(g->err), sizeof msg);
        wal_close(&g->log);
        g->log.fd = -1;
        udb_err_set(g->err, rc, "%s; nothing was changed (move the log away to open the file "
                    "without it)", msg);
    }
    return rc;
}

/* Copy everything a pending log holds into the files and remove it (the
   caller is alone on the files). */
static int recover_log(pager_group *g)
{
    wal_pos start, to;
    int unsynced, rc = open_log(g, g->wal_path, &start, &unsynced);
    if (rc == UDB_NOTFOUND && !unsynced)
        return 0;
    if (!rc && g->readonly)
        rc = udb_err_set(g->err, UDB_RECOVER,
                         "%s has a write-ahead log with committed changes: open it writable or "
                         "run `dbe recover` first",
                         g->files[0]->path);
    else if (!rc && !(rc = backfill(g, NULL, 0, 1, 0, 0, &to)))
        rc = set_sizes(g, to.sizes, 1); /* also when it holds no commit */
    if (g->log.fd >= 0)
        wal_close(&g->log);
    g->log.fd = -1;
    if (rc == UDB_NOTFOUND) /* a log header never made durable: nothing committed */
        rc = 0;
    if (!rc && !g->readonly) {
        g->os->unlink(g->os->ctx, g->wal_path);
        g->os->unlink(g->os->ctx, g->shm_path);
    }
    return rc;
}

/* ---- attaching ------------------------------------------------------------------------ */
static int attach_rollback(pager_group *g)
{
    int rc = pager_lock_wait(g, g->files[0], 1, LOCK_RBMODE);
    if (rc)
        return rc;
    if (g->xwal_path && pager_exists(g, g->xwal_path))
        return udb_err_set(g->err, UDB_LOCKED,
                           "%s belongs to a record store with a write-ahead log (%s): open the "
                           "store, or run `dbe checkpoint` on it",
                           g->files[0]->path, g->xwal_path);
    if (pw_try_lock(g, 3, LOCK_WALMODE) != 0)
        return udb_err_set(g->err, UDB_LOCKED,
                           "%s is open in WAL mode by another handle: open it in WAL mode too",
                           g->files[0]->path);
    return pager_exists(g, g->wal_path) ? recover_log(g) : 0;
}

static int map_shm(pager_group *g, int create)
{
    int flags = UDB_OS_RDWR | UDB_OS_NOFOLLOW | UDB_OS_SOLE | (create ? UDB_OS_CREATE : 0);
    int rc = g->os->open(g->os->ctx, g->shm_path, flags, &g->shm_fd);
    if (rc < 0) {
        g->shm_fd = -1;
        if (rc == -ELOOP || rc == -EMLINK) /* planted: the first handle would format whatever it names */
            return udb_err_link(g->err, rc, "shared memory file", g->shm_path);
        return rc == -ENOENT ? UDB_NOTFOUND : pager_oserr(g, rc, "cannot open", g->shm_path);
    }
    uint64_t size;
    int64_t mt;
    void *base;
    if ((rc = g->os->fstat(g->os->ctx, g->shm_fd, &size, &mt)) < 0 ||
        (size < SHM_SIZE && (rc = g->os->ftruncate(g->os->ctx, g->shm_fd, SHM_SIZE)) < 0) ||
        (rc = g->os->map(g->os->ctx, NULL, SHM_SIZE, 3 | UDB_MAP_SHARED, g->shm_fd, 0, &base)) < 0) {
        g->os->close(g->os->ctx, g->shm_fd);
        g->shm_fd = -1;
        return pager_oserr(g, rc, "cannot map", g->shm_path);
    }
    shm_attach(&g->sh, base, g->shm_fd, g->os);
    return 0;
}

static void unmap_shm(pager_group *g)
{
    if (g->sh.h) {
        shm_slot_release(&g->sh);
        g->os->unmap(g->os->ctx, g->sh.h, SHM_SIZE);
    }
    g->sh.h = NULL;
    if (g->shm_fd >= 0)
        g->os->close(g->os->ctx, g->shm_fd);
    g->shm_fd = -1;
}

static uint64_t new_salt(pager_group *g)
{
    uint64_t s = g->os->entropy(g->os->ctx);
    return s ? s : 1;
}

/* Start a new, empty log with sequence seq (in place when the handle has
   the log open), recording sizes (NULL: the files' own); *v becomes its
   start. */
int pw_new_log(pager_group *g, uint64_t seq, const uint64_t *sizes, shm_view *v)
{
    wal_member m[WAL_MAX_FILES];
    wal_pos start;
    int rc = 0;
    for (int i = 0; i < g->nfiles && !rc; i++) /* the logical sizes, not the files' on disk */
        rc = member_now(g, i, &m[i], NULL, sizes ? sizes[i] : UINT64_MAX);
    if (rc)
        return rc;
    for (int i = 0; sizes && i < g->nfiles; i++)
        m[i].size = sizes[i];
    if (g->log.fd >= 0 && !g->readonly) { /* reused in place: its blocks are there, a sync
                                                 writes data only */
        if ((rc = wal_reset(&g->log, m, new_salt(g), seq, &start)))
            return rc;
        goto started;
    }
    if (g->log.fd >= 0)
        wal_close(&g->log);
    g->os->unlink(g->os->ctx, g->wal_path);
    rc = wal_create(&g->log, g->os, g->err, g->wal_path, 1u << g->files[0]->pshift,
                    (unsigned)g->nfiles, m, new_salt(g), seq, &start);
    if (rc) {
        g->log.fd = -1;
        return rc;
    }
    if (g->sync == UDB_SYNC_FULL && (rc = pager_sync_dir(g, g->wal_path)))
        return rc;
started:
    v->logseq = seq;
    v->end = start.end;
    v->txn = 0;
    v->crc = start.crc;
    for (int i = 0; i < g->nfiles; i++)
        v->sizes[i] = start.sizes[i];
    return 0;
}

/* A read-only first handle reads through a pending log instead of
   copying it into the files: *v is its committed end. */
static int keep_log(pager_group *g, shm_view *v)
{
    wal_pos start, to;
    int unsynced, rc = open_log(g, g->wal_path, &start, &unsynced);
    if (rc == UDB_NOTFOUND)
        return 0;
    if (!rc)
        rc = wal_scan(&g->log, &start, 0, &to, 1, NULL, NULL);
    if (rc)
        return rc;
    v->logseq = g->log.logseq;
    v->end = to.end;
    v->txn = to.txn;
    v->crc = to.crc;
    for (int i = 0; i < g->nfiles; i++)
        v->sizes[i] = to.sizes[i]; /* the header's sizes when it holds no commit */
    return 0;
}

/* The first handle on the files: recover what a crash left, format the
   shared memory (whatever it held is not trusted). Holds its DMS byte
   exclusively. */
static int first_open(pager_group *g)
{
    shm_view v = {.gen = 1};
    int rc = 0;
    for (int i = 0; i < g->nfiles && !rc; i++) { /* as they are now: the last handle before
                                                    us may have grown them since we opened */
        int64_t mt;
        if ((rc = g->os->fstat(g->os->ctx, g->files[i]->fd, &v.sizes[i], &mt)) < 0)
            rc = pager_oserr(g, rc, "cannot stat", g->files[i]->path);
    }
    if (!rc)
        rc = !pager_exists(g, g->wal_path) ? 0 : g->readonly ? keep_log(g, &v) : recover_log(g);
    if (rc)
        return rc;
    uint64_t filled = v.logseq ? g->log.psize : 0;
    if (!g->readonly) {
        if ((rc = pw_new_log(g, 1, NULL, &v)))
            return rc;
        filled = v.end;
    }
    if ((rc = shm_format(&g->sh, 1u << g->files[0]->pshift, &v)))
        return udb_err_set(g->err, rc, "%s: cannot set up the shared memory", g->shm_path);
    if (filled == v.end && g->log.fd >= 0) {
        wal_pos bf;
        pw_log_start(&g->log, &bf);
        pw_set_backfill(g, &bf);
    } else {
        atomic_store(&g->sh.h->backfill, filled);
    }
    return 0;
}

static int shm_lock_byte(pager_group *g, int type)
{
    return g->os->lock(g->os->ctx, g->shm_fd, type, SHM_DMS_LOCK, 1);
}

/* Join the shared memory: the first handle (the shm's DMS byte taken
   exclusively) recovers and formats it, the others wait for it ready. */
static int join_shm(pager_group *g)
{
    unsigned ps = 1u << g->files[0]->pshift;
    for (unsigned tries = 0;; tries++) {
        int rc = map_shm(g, 1);
        if (rc)
            return rc;
        if (shm_lock_byte(g, 2) == 0) {
            rc = pager_journal_recover(g);
            if (!rc)
                rc = first_open(g);
            if (!rc && shm_lock_byte(g, 1) != 0) /* downgrade */
                rc = udb_err_set(g->err, UDB_IO, "%s: cannot lock", g->shm_path);
            if (rc)
                unmap_shm(g);
            return rc;
        }
        rc = shm_lock_byte(g, 1);
        if (rc == 0 && shm_ready(&g->sh, ps))
            return 0;
        unmap_shm(g); /* being set up, or going away: again */
        if (tries * 2 >= g->lock_timeout_ms)
            return udb_err_set(g->err, UDB_LOCKED, "%s: the shared memory %s did not become ready",
                               g->files[0]->path, g->shm_path);
        g->os->sleep_ms(g->os->ctx, 2);
    }
}

static int attach_wal(pager_group *g)
{
    if (g->exclusive)
        return udb_err_set(g->err, UDB_INVAL, "UDB_EXCLUSIVE works with the rollback journal only");
    if (g->xwal_path && pager_exists(g, g->xwal_path))
        return udb_err_set(g->err, UDB_LOCKED,
                           "%s belongs to a record store with a write-ahead log (%s): open the store",
                           g->files[0]->path, g->xwal_path);
    int rc = pager_lock_wait(g, g->files[0], 1, LOCK_WALMODE);
    if (rc)
        return rc;
    if (pw_try_lock(g, 3, LOCK_RBMODE) != 0)
        return udb_err_set(g->err, UDB_LOCKED,
                           "%s is open with the rollback journal by another handle: open it in "
                           "that mode too",
                           g->files[0]->path);
    return join_shm(g);
}

int pager_join_store_log(pager_group *g, const char *path)
{
    size_t n = strlen(path);
    pager_file *f;
    if (g->nfiles || n <= 4 || strcmp(path + n - 4, ".dat"))
        return 0;
    char *log = pager_path_cat(path, n - 4, ".ndx-wal"), *ndx = pager_path_cat(path, n - 4, ".ndx");
    int rc = !log || !ndx ? udb_err_set(g->err, UDB_NOMEM, "out of memory")
             : (g->journal == UDB_JOURNAL_WAL || pager_exists(g, log)) && pager_exists(g, ndx)
                 ? pager_file_open(g, ndx, PAGER_OPEN, &f)
                 : 0;
    free(log);
    free(ndx);
    return rc;
}

int wal_recover(pager_group *g, int *found)
{
    int rc = paths(g);
    if (rc || !pager_exists(g, g->wal_path))
        return rc;
    if (g->readonly)
        return udb_err_set(g->err, UDB_RECOVER, "%s: recovery needs a writable handle",
                           g->files[0]->path);
    if ((rc = pager_join_dat(g, NULL)))
        return rc;
    *found = 2;
    return wal_attach(g); /* the first handle copies the log in; the last removes it */
}

/* A store's group (X.ndx, X.dat) beside X.dat-wal: the log of the heap
   file written alone in WAL mode (before udb joined such a handle to the
   store's log, or a crafted file). The store does not read through it, and
   a later heap handle would copy it over the store's newer commits:
   refused until `dbe recover X.dat` copies it in. */
static int heap_log_left(pager_group *g)
{
    if (g->nfiles < 2)
        return 0;
    const char *p = g->files[1]->path;
    size_t n = strlen(p);
    char *log = pager_path_cat(p, n, "-wal");
    if (!log)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    int rc = pager_exists(g, log)
                 ? udb_err_set(g->err, UDB_RECOVER,
                               "%s: the heap file has a write-ahead log of its own, %s (left by a "
                               "handle on the heap file alone); run `dbe recover %s` first",
                               g->files[0]->path, log, p)
                 : 0;
    free(log);
    return rc;
}

/* A log that is a symbolic link, or (for a writer) has other names, is
   refused before the shared memory file is made: a refused open leaves
   nothing behind. */
static int log_link_refused(pager_group *g)
{
    int fd, flags = UDB_OS_NOFOLLOW | (g->readonly ? UDB_OS_READ : UDB_OS_RDWR | UDB_OS_SOLE);
    int rc = g->os->open(g->os->ctx, g->wal_path, flags, &fd);
    if (rc == 0)
        g->os->close(g->os->ctx, fd);
    return rc == -ELOOP || rc == -EMLINK ? udb_err_link(g->err, rc, "write-ahead log", g->wal_path)
                                         : 0;
}

int wal_attach(pager_group *g)
{
    if (g->attached)
        return 0;
    int rc = paths(g);
    if (rc || (rc = heap_log_left(g)))
        return rc;
    const char *log = pager_exists(g, g->wal_path) ? g->wal_path
                      : g->xwal_path && pager_exists(g, g->xwal_path) ? g->xwal_path : NULL;
    if (g->created && log)
        return udb_err_set(g->err, UDB_EXISTS,
                           "%s: the write-ahead log %s beside the new file was left by an earlier "
                           "file of that name and is not applied to a new one; move it away and "
                           "create again",
                           g->files[0]->path, log);
    int want = g->journal;
    if (want == UDB_JOURNAL_DEFAULT) /* the mode of the handles open now or of a log a crash
                                        left, else the rollback journal */
        want = !g->exclusive && (pw_try_lock(g, 3, LOCK_WALMODE) != 0 || pager_exists(g, g->wal_path))
                   ? UDB_JOURNAL_WAL
                   : UDB_JOURNAL_ROLLBACK;
    if (want == UDB_JOURNAL_WAL) {
        if (!(rc = pager_join_dat(g, NULL)) && !(rc = heap_log_left(g)) &&
            !(rc = log_link_refused(g)) && !(rc = attach_wal(g)) &&
            !(rc = shm_slot_claim(&g->sh)
                       ? udb_err_set(g->err, UDB_LOCKED, "%s: every reader slot is taken", g->shm_path)
                       : 0))
            g->wal = 1;
        else
            unmap_shm(g);
    } else {
        rc = attach_rollback(g);
    }
    if (!rc) {
        g->attached = 1;
    } else {
        pw_try_lock(g, 0, LOCK_RBMODE);
        pw_try_lock(g, 0, LOCK_WALMODE);
    }
    return rc;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */
/* Does a file's mapped part now reach past its end (a checkpoint alone
   on the files cut it to its exact size)? The pages there would fault. */
static int maps_past_end(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        uint64_t size;
        int64_t mt;
        if (g->os->fstat(g->os->ctx, g->files[i]->fd, &size, &mt) < 0 || size < g->files[i]->file_mapped)
            return 1;
    }
    return 0;
}

int pager_checkpoint(pager_group *g, int wait)
{
    if (!g->attached || !g->wal)
        return 0;
    if (g->readonly)
        return udb_err_set(g->err, UDB_READONLY, "%s is open read-only", g->files[0]->path);
    int died, rc = shm_lock(&g->sh.h->ckpt, wait ? g->lock_timeout_ms : 0, &died);
    if (rc)
        return udb_err_set(g->err, UDB_LOCKED, "%s: another checkpoint is running", g->files[0]->path);
    shm_view v;
    if ((rc = shm_read(&g->sh.h->view, &v)) == 0 && v.logseq) {
        wal_pos start;
        uint64_t limit = shm_min_reader(&g->sh, v.gen, v.end), fill = atomic_load(&g->sh.h->backfill);
        if (limit > fill && !(rc = pw_current_log(g, &v, &start))) {
            wal_pos from, to;
            /* alone on the files (the DMS byte exclusively): they may get
               exactly their sizes; this handle then maps them afresh if
               one got shorter than its mapped part */
            int alone = limit == v.end && !g->ck_bg && shm_lock_byte(g, 2) == 0;
            backfill_pos(g, &from);
            rc = backfill(g, &from, limit, alone, 0, 0, &to);
            if (!rc)
                pw_set_backfill(g, &to);
            if (alone) {
                shm_lock_byte(g, 1);
                if (rc || maps_past_end(g))
                    g->wgen = 0;
            }
        }
        if (rc == UDB_STALE)
            rc = 0; /* a new log started: nothing of the old one is left to copy */
    }
    shm_unlock(&g->sh.h->ckpt);
    return rc;
}

/* ---- checkpoints in the background ------------------------------------------------------- */
/* After a commit, the copy into the files need not hold up the caller:
   a helper thread of the handle runs it (with the built-in os table; the
   test tables keep it in the caller's thread, deterministic). The thread
   sees only ck_ctx: a copy of the group made by the handle's thread while
   no transaction runs, whose own log descriptor it opens and closes; what
   it shares with the handle are the files' descriptors (pwrite, fstat,
   ftruncate, fsync are safe from two threads) and the shared memory. A
   checkpoint that fails here is simply run again later. */
static void *ck_main(void *arg)
{
    pager_group *g = arg;
    pthread_mutex_lock(&g->ck_mu);
    for (;;) {
        while (!g->ck_want && !g->ck_quit)
            pthread_cond_wait(&g->ck_cv, &g->ck_mu);
        if (g->ck_quit)
            break;
        g->ck_want = 0;
        g->ck_busy = 1;
        pager_group *c = g->ck_ctx;
        pthread_mutex_unlock(&g->ck_mu);
        pager_checkpoint(c, 0);
        if (c->log.fd >= 0)
            wal_close(&c->log);
        c->log.fd = -1;
        pthread_mutex_lock(&g->ck_mu);
        g->ck_busy = 0;
        pthread_cond_broadcast(&g->ck_cv);
    }
    pthread_mutex_unlock(&g->ck_mu);
    return NULL;
}

static int ck_ready(pager_group *g)
{
    if (g->ck_on || g->ck_failed || g->os != udb_os_posix())
        return g->ck_on && g->ck_pid == (long)getpid();
    g->ck_ctx = malloc(sizeof *g->ck_ctx + sizeof(udb_err));
    if (!g->ck_ctx || pthread_mutex_init(&g->ck_mu, NULL)) {
        free(g->ck_ctx);
        g->ck_ctx = NULL;
        g->ck_failed = 1;
        return 0;
    }
    if (pthread_cond_init(&g->ck_cv, NULL) || pthread_create(&g->ck_thread, NULL, ck_main, g)) {
        pthread_mutex_destroy(&g->ck_mu);
        free(g->ck_ctx);
        g->ck_ctx = NULL;
        g->ck_failed = 1; /* checkpoint in this thread instead */
        return 0;
    }
    g->ck_on = 1;
    g->ck_pid = (long)getpid();
    return 1;
}

/* Run an automatic checkpoint: on the helper thread when there is one
   (unless it is still busy with the last), else here. */
void pw_auto_checkpoint(pager_group *g)
{
    if (!ck_ready(g)) {
        pager_checkpoint(g, 0); /* best effort: readers may hold it back */
        return;
    }
    pthread_mutex_lock(&g->ck_mu);
    if (!g->ck_busy && !g->ck_want) {
        pager_group *c = g->ck_ctx;
        *c = *g; /* the fields it reads, as they are between transactions */
        c->err = (udb_err *)(c + 1);
        c->log = (wal_log){.fd = -1};
        c->ck_on = 0;
        c->ck_bg = 1;
        c->halted = &g->ck_halt;
        g->ck_want = 1;
        pthread_cond_broadcast(&g->ck_cv);
    }
    pthread_mutex_unlock(&g->ck_mu);
}

/* The handle goes: the helper thread ends (after its checkpoint). */
static void ck_stop(pager_group *g)
{
    if (!g->ck_on)
        return;
    g->ck_on = 0;
    if (g->ck_pid != (long)getpid()) /* a fork child: the thread is not here */
        return;
    pthread_mutex_lock(&g->ck_mu);
    g->ck_quit = 1;
    atomic_store(&g->ck_halt, 1); /* pages it wrote are committed ones: the close copies on */
    pthread_cond_broadcast(&g->ck_cv);
    pthread_mutex_unlock(&g->ck_mu);
    pthread_join(g->ck_thread, NULL);
    pthread_cond_destroy(&g->ck_cv);
    pthread_mutex_destroy(&g->ck_mu);
    free(g->ck_ctx);
    g->ck_ctx = NULL;
}

/* ---- the handle goes ------------------------------------------------------------------------- */
void wal_detach(pager_group *g)
{
    ck_stop(g);
    if (!g->attached || !g->wal) {
        g->attached = 0;
        return;
    }
    if (g->wlocked)
        shm_unlock(&g->sh.h->writer);
    g->wlocked = 0;
    shm_slot_release(&g->sh);
    if (!g->readonly && shm_lock_byte(g, 2) == 0) {
        /* the last handle: every frame into the files, then the side files go */
        int died;
        shm_view v;
        int locked = !shm_lock(&g->sh.h->ckpt, 0, &died);
        if (locked && !shm_read(&g->sh.h->view, &v) && v.logseq) {
            wal_pos start, to;
            int rc = pw_current_log(g, &v, &start);
            int mapped = !rc && g->state == PAGER_NONE && g->wgen == v.gen && g->wv.end == v.end &&
                         g->wlogseq == g->log.logseq;
            /* from the log's start for the sizes at its end; what the
               checkpoints copied already stays */
            if (!rc && !backfill(g, NULL, v.end, 1, mapped, atomic_load(&g->sh.h->backfill), &to) &&
                to.end == v.end &&
                !set_sizes(g, to.sizes, 1)) {
                atomic_store(&g->sh.h->ready, 0); /* an opener waiting for it starts over */
                g->os->unlink(g->os->ctx, g->wal_path);
                g->os->unlink(g->os->ctx, g->shm_path);
            }
        }
        /* before the region goes: a robust mutex still held in unmapped
           memory stays on the thread's robust list, and the thread's next
           robust mutex walks into it */
        if (locked)
            shm_unlock(&g->sh.h->ckpt);
    }
    unmap_shm(g);
    if (g->log.fd >= 0)
        wal_close(&g->log);
    g->log.fd = -1;
    g->attached = g->wal = 0;
}
