/*
 * pager_walrw.c — transactions in WAL mode: a handle catching up with the
 * log, readers' snapshots, the writer's append, group sync, rollback.
 * Owns the order of log writes, syncs and publications that makes a WAL
 * commit atomic and durable; attaching, recovery and checkpoints are
 * pager_wal.c's, the log's bytes wal.c's, the shared region's shm.c's.
 * Must not know about any data-file layout.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pager_int.h"

/* Release the publishers' mutex and wake the committers waiting for a
   sync (group_sync). */
static void sync_unlock(pager_group *g)
{
    atomic_fetch_add(&g->sh.h->sync_seq, 1);
    shm_unlock(&g->sh.h->sync);
    if (atomic_load(&g->sh.h->sync_waiters))
        shm_wake_all(&g->sh.h->sync_seq);
}

/* ---- catching up with a view ----------------------------------------------------------- */
typedef struct overlay {
    pager_group *g;
    const shm_view *v;
    uint64_t after;             /* frames at or below are in the files already */
    int check;                  /* each changed page must have its frame's crc */
} overlay;

/* Where a view ends, as a position in its log; and a view moved to one. */
static wal_pos view_pos(const pager_group *g, const shm_view *v)
{
    wal_pos p = {.end = v->end, .txn = v->txn, .crc = v->crc};
    for (int i = 0; i < g->nfiles; i++)
        p.sizes[i] = v->sizes[i];
    return p;
}

static void view_at(const pager_group *g, shm_view *v, const wal_pos *p)
{
    v->end = p->end;
    v->txn = p->txn;
    v->crc = p->crc;
    for (int i = 0; i < g->nfiles; i++)
        v->sizes[i] = p->sizes[i];
}

/* Apply a committed frame's change to the mapping (the page shows the
   state before it: the files as of the backfill plus the frames since). */
static int put_frame(void *arg, const wal_frame *fr)
{
    overlay *o = arg;
    pager_group *g = o->g;
    if (fr->off < o->after || fr->file >= (unsigned)g->nfiles)
        return 0;
    pager_file *f = g->files[fr->file];
    uint64_t ps = (uint64_t)1 << f->pshift, at = fr->page * ps;
    if (at >= o->v->sizes[fr->file])
        return 0;
    const uint8_t *d = wal_data(&g->log, fr->off, fr->len);
    pager_note_change(f, fr->page);
    if (!d || ps != g->log.psize || wal_apply(f->base + at, (unsigned)ps, fr->zfrom, d, fr->len) ||
        (o->check && wal_page0_crc(f->base + at, (size_t)ps, (unsigned)ps) != fr->crc))
        return udb_err_set(g->err, UDB_CORRUPT, "%s: a committed change of page %llu does not apply",
                           g->log.path, (unsigned long long)fr->page);
    return 0;
}

/* The log started over at end of the old one, which this mapping had not
   reached: apply the old log's frames after the mapping up to end, read
   from the old log's bytes (the new log overwrites them from its start,
   maybe even now: so every batch's crc is checked and every page changed
   must have the crc its frame gives). 0: the mapping shows end; else the
   caller maps the files afresh. */
static int old_tail(pager_group *g, uint64_t end)
{
    wal_pos from = view_pos(g, &g->wv), to;
    if (wal_map(&g->log, end) || wal_scan(&g->log, &from, end, &to, 1, NULL, NULL) || to.end != end)
        return 1;
    shm_view most = g->wv; /* the frames of pages below either size */
    for (int i = 0; i < g->nfiles; i++) {
        if (to.sizes[i] > most.sizes[i])
            most.sizes[i] = to.sizes[i];
        if (pager_cover(g->files[i], most.sizes[i]))
            return 1;
    }
    overlay o = {g, &most, 0, 1};
    if (wal_scan(&g->log, &from, end, &to, 1, put_frame, &o) || to.end != end)
        return 1;
    view_at(g, &g->wv, &to);
    return 0;
}


/* Does any file need mapping afresh to show sizes (beyond its
   reservation)? */
static int needs_refresh(pager_group *g, const shm_view *v, int *need)
{
    *need = 0; /* files only grow while handles share them (set_sizes) */
    for (int i = 0; i < g->nfiles && !*need; i++)
        *need = pager_round(g->files[i], v->sizes[i]) > g->files[i]->resv;
    return 0;
}

/* Map every file afresh as it is on disk, sized for v; *after = the log
   offset up to which the files hold the frames (read first). */
static int refresh_all(pager_group *g, const shm_view *v, uint64_t *after)
{
    *after = atomic_load(&g->sh.h->backfill);
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        uint64_t disk;
        int64_t mt;
        int rc = g->os->fstat(g->os->ctx, f->fd, &disk, &mt);
        if (rc < 0)
            return pager_oserr(g, rc, "cannot stat", f->path);
        if ((rc = pager_refresh(f, disk, v->sizes[i])))
            return rc;
        f->mtime = mt;
    }
    return 0;
}

/* Make the mappings show view v: after a new gen (or none yet) from the
   files as they are now plus the frames not yet copied into them, else
   plus the frames committed since the view shown. The caller protects v
   (a reader slot at v, or the writer mutex). UDB_STALE: a newer log
   exists already, start over. */
static int catch_up(pager_group *g, const shm_view *v)
{
    wal_pos start, from, to;
    /* the log started over where the old one ended (all of it in the
       files, which hold no more than v of the new one): a mapping that
       shows that end, or can be brought there from the old log's bytes,
       is kept and reads the new log from its start */
    uint64_t base;
    int next = v->gen == g->wgen + 1 && g->wgen && shm_base(&g->sh, v->gen, &base) && base >= g->wv.end &&
               (base == g->wv.end ||
                (g->log.fd >= 0 && g->log.logseq == g->wlogseq && !old_tail(g, base)));
    int rc = pw_current_log(g, v, &start), full = !next && (v->gen != g->wgen || g->log.logseq != g->wlogseq);
    if (rc)
        return rc;
    if (!full && (rc = needs_refresh(g, v, &full)))
        return rc;
    overlay o = {g, v, 0, 0};
    from = start;
    if (full) {
        rc = refresh_all(g, v, &o.after);
    } else {
        if (!next) {
            from.end = g->wv.end;
            from.txn = g->wv.txn;
            from.crc = g->wv.crc;
        }
        for (int i = 0; i < g->nfiles && !rc; i++)
            rc = pager_cover(g->files[i], v->sizes[i]);
    }
    to.end = 0;
    if (!rc && v->logseq && !(rc = wal_map(&g->log, v->end)))
        rc = wal_scan(&g->log, &from, v->end, &to, 0, put_frame, &o);
    if (!rc && to.end != v->end)
        rc = udb_err_set(g->err, UDB_CORRUPT, "%s ends at %llu, before its committed end %llu",
                         g->log.path, (unsigned long long)to.end, (unsigned long long)v->end);
    if (rc) {
        g->wgen = 0;
        return rc;
    }
    for (int i = 0; i < g->nfiles; i++)
        g->files[i]->size = g->files[i]->orig_size = v->sizes[i];
    g->wgen = v->gen;
    g->wv = *v;
    g->wlogseq = g->log.logseq;
    return 0;
}

/* ---- readers ------------------------------------------------------------------------------ */
/* A torn view (its publisher died half way): publish the tail again under
   the publishers' mutex. */
static int repair_view(pager_group *g)
{
    int died;
    int rc = shm_lock(&g->sh.h->sync, g->lock_timeout_ms, &died);
    if (rc)
        return udb_err_set(g->err, rc, "%s: the shared view is being published", g->shm_path);
    shm_view t;
    if (shm_read(&g->sh.h->view, &t) == UDB_LOCKED) {
        if (shm_read(&g->sh.h->tail, &t) || (g->log.fd >= 0 && pw_sync_log(g)))
            rc = udb_err_set(g->err, UDB_IO, "%s: the shared memory is damaged; close every "
                             "handle and open again", g->shm_path);
        else
            shm_publish(&g->sh.h->view, &t);
    }
    sync_unlock(g);
    return rc;
}

/* Take a snapshot of the published view into this handle's slot. */
static int snapshot(pager_group *g, shm_view *v)
{
    shm_slot *slot = &g->sh.slots[g->sh.slot];
    for (;;) {
        int rc = shm_read(&g->sh.h->view, v);
        if (rc == UDB_LOCKED) {
            if ((rc = repair_view(g)))
                return rc;
            continue;
        }
        atomic_store(&slot->snap, shm_snap(v->gen, v->end, g->sh.h->psize));
        uint64_t gen, end;
        if (shm_read_ge(&g->sh.h->view, &gen, &end) == 0 && gen == v->gen && end == v->end)
            return 0;
    }
}

int wal_read_begin(pager_group *g, int *changed)
{
    shm_view v;
    for (int tries = 0;; tries++) {
        int rc = snapshot(g, &v);
        if (!rc && v.gen == g->wgen && v.end == g->wv.end)
            break; /* nothing new: no system call */
        if (!rc)
            rc = catch_up(g, &v);
        uint64_t gen, end;
        int moved = shm_read_ge(&g->sh.h->view, &gen, &end) || gen != v.gen;
        if (!rc && !moved) {
            *changed = 1;
            break;
        }
        atomic_store(&g->sh.slots[g->sh.slot].snap, SHM_IDLE);
        g->wgen = 0; /* the log moved on while we read it: again, from the files */
        if (rc && !moved && (rc != UDB_STALE || tries > 1000))
            return rc;
        if (rc == UDB_STALE)
            g->os->sleep_ms(g->os->ctx, 1); /* a new log being published */
    }
    g->state = PAGER_READ;
    return 0;
}

void wal_read_end(pager_group *g)
{
    atomic_store_explicit(&g->sh.slots[g->sh.slot].snap, SHM_IDLE, memory_order_release);
    g->state = PAGER_NONE;
}

/* ---- writers ---------------------------------------------------------------------------- */

/* The writer mutex goes; this handle's transaction is no longer on its
   way to the log. */
static void writer_release(pager_group *g)
{
    shm_committing(&g->sh, 0);
    if (g->wlocked)
        shm_unlock(&g->sh.h->writer);
    g->wlocked = 0;
}

static int writer_fail(pager_group *g, int rc)
{
    writer_release(g);
    return rc;
}

/* The last writer died holding the mutex, or left the tail torn: find
   where the log really ends, from the start. */
static int repair_tail(pager_group *g)
{
    shm_view v;
    int rc = shm_read(&g->sh.h->view, &v);
    if (rc == UDB_LOCKED && !(rc = repair_view(g)))
        rc = shm_read(&g->sh.h->view, &v);
    if (rc)
        return udb_err_set(g->err, UDB_IO, "%s: the shared memory is damaged", g->shm_path);
    wal_pos start, to;
    if (v.logseq && !(rc = pw_current_log(g, &v, &start)))
        rc = wal_scan(&g->log, &start, 0, &to, 1, NULL, NULL);
    if (rc)
        return rc == UDB_STALE ? udb_err_set(g->err, UDB_CORRUPT, "%s was replaced", g->wal_path) : rc;
    if (v.logseq && to.end > v.end)
        view_at(g, &v, &to);
    shm_publish(&g->sh.h->tail, &v);
    return 0;
}

static void publish_view(pager_group *g, const shm_view *t)
{
    shm_view v;
    if (shm_read(&g->sh.h->view, &v) || v.gen != t->gen || v.end < t->end)
        shm_publish(&g->sh.h->view, t);
}

/* Start a new log (none yet, or every frame of the old one is in the
   files). Its header records the files' sizes as the log has them: a
   file longer on disk gets its size from it after a crash. */
static int restart(pager_group *g, shm_view *t)
{
    int rc = 0;
    shm_view n = *t;
    n.gen = t->gen + 1;
    int died;
    if (shm_lock(&g->sh.h->ckpt, 0, &died))
        return 0; /* a checkpoint is reading the log: start over another time */
    if (t->logseq && g->log.logseq != t->logseq) { /* reuse the log file itself */
        wal_pos start;
        if ((rc = pw_current_log(g, t, &start)) == UDB_STALE)
            rc = udb_err_set(g->err, UDB_CORRUPT, "%s was replaced", g->wal_path);
    }
    if (!rc)
        rc = pw_new_log(g, t->logseq + 1, t->logseq ? t->sizes : NULL, &n);
    shm_unlock(&g->sh.h->ckpt);
    if (rc)
        return rc;
    wal_pos bf;
    pw_log_start(&g->log, &bf);
    pw_set_backfill(g, &bf);
    /* before anyone sees the new log: a mapping of the old one's end is
       one of the new one's start */
    shm_set_base(&g->sh, t->logseq ? n.gen : 0, t->logseq ? t->end : 0);
    atomic_store(&g->sh.h->synced, n.end);
    shm_publish(&g->sh.h->tail, &n);
    if ((rc = shm_lock(&g->sh.h->sync, g->lock_timeout_ms, &died)))
        return udb_err_set(g->err, rc, "%s: cannot publish the new log", g->shm_path);
    shm_publish(&g->sh.h->view, &n);
    sync_unlock(g);
    *t = n;
    return 0;
}

static int group_sync(pager_group *g, uint64_t end);

/* Are the readers' snapshots all at t's end (a copy of the whole log
   overwrites no page one of them still reads from the files)? With wait,
   give readers in the middle of a call (descheduled, on a busy machine)
   up to FINISH_WAIT_MS to move on. */
#define FINISH_WAIT_MS 20
static int readers_at_end(pager_group *g, const shm_view *t, int wait)
{
    for (int ms = 0;; ms++) {
        if (shm_min_reader(&g->sh, t->gen, t->end) >= t->end)
            return 1;
        if (!wait || ms >= FINISH_WAIT_MS)
            return 0;
        g->os->sleep_ms(g->os->ctx, 1);
    }
}

/* The log starts over only when a begin finds every frame of it copied
   into the files (restart). The checkpoints after commits (on the helper
   thread) always leave the last few commits behind, since the writers go
   on meanwhile: so a begin, holding the writer mutex, copies the rest
   itself once the log is longer than wal_ckpt and the rest is small and
   no reader holds it back (the helper has just caught up: a copy of a few
   pages and the files' syncs, once per wal_ckpt of log), and once the log
   is 4 x wal_ckpt long wherever the helper is: after the helper's pass,
   the log's unsynced end made durable, readers given a moment to move on
   (a long read transaction stops it: tried again when the log has
   doubled, so that a writer beside it waits ever less often). Without
   the helper the commits' own checkpoints leave only other handles'
   commits: the same rules apply. Returns the backfill. */
static uint64_t finish_log(pager_group *g, const shm_view *t)
{
    uint64_t fill = atomic_load(&g->sh.h->backfill);
    int hard = t->end >= 4 * g->wal_ckpt && (t->gen != g->finish_gen || t->end >= g->finish_at);
    if (fill >= t->end || t->end < g->wal_ckpt || (!hard && t->end - fill > g->wal_ckpt / 2))
        return fill;
    shm_view v;
    if (shm_read(&g->sh.h->view, &v) || v.gen != t->gen || v.end < t->end) {
        /* committed, not yet durable (sync FULL: their committers sync it) */
        if (!hard || group_sync(g, t->end))
            return fill;
    }
    if (!readers_at_end(g, t, hard)) {
        if (hard) {
            g->finish_gen = t->gen;
            g->finish_at = 2 * t->end;
        }
        return fill;
    }
    if (!pager_checkpoint(g, hard))
        fill = atomic_load(&g->sh.h->backfill);
    return fill;
}

/* The writer's mapping made to show the tail t. */
static int writer_catch_up(pager_group *g, const shm_view *t)
{
    int rc = t->gen != g->wgen || t->end != g->wv.end ? catch_up(g, t) : 0;
    return rc == UDB_STALE ? udb_err_set(g->err, UDB_CORRUPT, "%s was replaced", g->wal_path) : rc;
}

int wal_write_begin(pager_group *g, int *changed)
{
    shm_committing(&g->sh, 1);
    int died, rc = shm_lock(&g->sh.h->writer, g->lock_timeout_ms, &died);
    if (rc)
        return writer_fail(g, udb_err_set(g->err, UDB_LOCKED, "%s is locked by another writer (waited %u ms)",
                           g->files[0]->path, g->lock_timeout_ms));
    g->wlocked = 1;
    if (atomic_load(&g->sh.h->broken))
        return writer_fail(g, udb_err_set(g->err, UDB_IO,
                                          "%s: a commit could not be made durable; close every "
                                          "handle and open the file again",
                                          g->wal_path));
    shm_view t;
    if ((died || shm_read(&g->sh.h->tail, &t)) && (rc = repair_tail(g)))
        return writer_fail(g, rc);
    shm_read(&g->sh.h->tail, &t);
    uint64_t fill = t.logseq ? finish_log(g, &t) : 0;
    uint64_t old_gen = g->wgen, old_end = g->wv.end;
    if (!t.logseq || (fill == t.end && t.end > g->sh.h->psize)) {
        /* the mapping at the old log's end first: then it is kept */
        if (t.logseq && (rc = writer_catch_up(g, &t)))
            return writer_fail(g, rc);
        if ((rc = restart(g, &t)))
            return writer_fail(g, rc);
    }
    if ((rc = writer_catch_up(g, &t)))
        return writer_fail(g, rc);
    *changed = old_gen != t.gen || old_end != t.end;
    return 0;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Group commit: when the last sync covered several transactions (other
   writers are committing too), let as many more append before this sync,
   so that it covers them as well: wait while fewer have appended since
   the leader began to gather (those waiting already not counted: counting
   them made smaller batches, more syncs and 10-20% fewer commits/s in
   W2's commit4 here) and while other handles' transactions are on their
   way to the log (their slot flag), at most as long as the last sync took
   (they would otherwise wait for the next sync; GATHER_MAX_US at most)
   and until a quarter of that, GATHER_IDLE_US at least, passes without an
   append (a long transaction, a dead owner's flag; with a slow sync the
   others, just woken from the last one, need longer than 200 µs on a busy
   machine, and each one that misses this sync waits for the next). The
   leader sleeps on append_seq meanwhile, which every append bumps (it spun
   on sched_yield before: on two cores that took the CPU from the very
   committers it waited for, 11% of W2's commit4). A lone writer syncs at
   once. */
#define GATHER_IDLE_US 200u
#define GATHER_MAX_US 2000u
static void gather(pager_group *g, uint64_t txn0)
{
    shm_hdr *h = g->sh.h;
    uint64_t expect = atomic_load(&h->last_batch);
    if (expect < 2)
        return;
    uint64_t start = now_us(), seen = start, most = g->last_sync_us < GATHER_MAX_US ? g->last_sync_us
                                                                                    : GATHER_MAX_US;
    uint64_t idle = most / 4 > GATHER_IDLE_US ? most / 4 : GATHER_IDLE_US;
    for (uint64_t txn = txn0;;) {
        uint32_t seq = atomic_load(&h->append_seq);
        uint64_t t = now_us();
        shm_view v;
        if (!shm_read(&h->tail, &v) && v.txn != txn) {
            txn = v.txn;
            seen = t;
        }
        if ((txn - txn0 + 1 >= expect && !shm_committers(&g->sh)) || t - seen > idle ||
            t - start > most)
            break;
        uint64_t until = seen + idle < start + most ? seen + idle : start + most;
        atomic_fetch_add(&h->gathering, 1);
        shm_wait(&h->append_seq, seq, (unsigned)(until - t) + 1);
        atomic_fetch_sub(&h->gathering, 1);
    }
}

/* Sync the log as the leader (holding the publishers' mutex): every
   commit appended by now becomes durable and visible to readers. */
static int lead_sync(pager_group *g, uint64_t end, int died)
{
    int rc = 0;
    shm_view t;
    if (atomic_load(&g->sh.h->synced) < end) {
        uint64_t before = atomic_load(&g->sh.h->synced_txn);
        if (!shm_read(&g->sh.h->tail, &t))
            gather(g, t.txn);
        if ((rc = shm_read(&g->sh.h->tail, &t)) == 0) {
            uint64_t t0 = now_us();
            rc = pw_sync_log(g);
            g->last_sync_us = now_us() - t0;
            if (rc) {
                atomic_store(&g->sh.h->broken, 1);
            } else {
                atomic_store(&g->sh.h->last_batch, t.txn > before ? t.txn - before : 1);
                atomic_store(&g->sh.h->synced_txn, t.txn);
                atomic_store(&g->sh.h->synced, t.end);
                publish_view(g, &t);
            }
        } else {
            rc = udb_err_set(g->err, UDB_IO, "%s: the shared memory is damaged", g->shm_path);
        }
    } else if (died && !shm_read(&g->sh.h->tail, &t)) {
        publish_view(g, &t);
    }
    return rc;
}

/* Make the log durable up to end, for this commit and every other one
   appended by then (group commit), and publish it to readers. One
   committer leads the sync, holding the publishers' mutex through it; the
   others wait on sync_seq and return as soon as a sync covered them (10 ms
   at most per wait: a leader that died leaves the mutex to the next). */
static int group_sync(pager_group *g, uint64_t end)
{
    shm_hdr *h = g->sh.h;
    for (;;) {
        uint32_t seq = atomic_load(&h->sync_seq);
        if (atomic_load(&h->synced) >= end)
            return 0;
        if (atomic_load(&h->broken))
            return udb_err_set(g->err, UDB_IO, "%s: the log could not be made durable", g->wal_path);
        int died, rc = shm_trylock(&h->sync, &died);
        if (rc == UDB_LOCKED) {
            atomic_fetch_add(&h->sync_waiters, 1);
            shm_wait(&h->sync_seq, seq, 10000);
            atomic_fetch_sub(&h->sync_waiters, 1);
            continue;
        }
        if (rc)
            return udb_err_set(g->err, UDB_IO, "%s: cannot lock the log for its sync", g->wal_path);
        rc = lead_sync(g, end, died);
        sync_unlock(g);
        return rc;
    }
}

int wal_commit(pager_group *g)
{
    wal_pos pos = view_pos(g, &g->wv);
    int rc = pw_append_txn(g, &pos);
    if (rc)
        return rc; /* the caller rolls back; the frames beyond the tail are ignored */
    shm_view t = g->wv;
    view_at(g, &t, &pos);
    shm_publish(&g->sh.h->tail, &t);
    atomic_fetch_add(&g->sh.h->append_seq, 1);
    if (atomic_load(&g->sh.h->gathering))
        shm_wake_all(&g->sh.h->append_seq); /* a leader waits for this append */
    g->wv = t; /* the mapping shows it: the dirty pages are its images */
    pw_forget_before(g);
    if (g->sync != UDB_SYNC_FULL) {
        int died;
        if (!shm_lock(&g->sh.h->sync, UINT32_MAX / 2, &died)) {
            publish_view(g, &t);
            sync_unlock(g);
        }
    }
    writer_release(g);
    if (g->sync == UDB_SYNC_FULL && (rc = group_sync(g, t.end)))
        return rc;
    g->stats.commits++;
    if (t.end - atomic_load(&g->sh.h->backfill) >= g->wal_ckpt)
        pw_auto_checkpoint(g);
    return 0;
}

int wal_rollback(pager_group *g)
{
    int rc = 0, lost = pw_restore_before(g);
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        pager_clear_dirty(f);
        f->size = f->orig_size = g->wv.sizes[i];
    }
    pw_forget_before(g);
    if (lost) { /* a page changed without its image: map everything afresh */
        shm_view t = g->wv;
        g->wgen = 0;
        rc = catch_up(g, &t);
    }
    writer_release(g);
    return rc;
}
