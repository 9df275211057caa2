/*
 * pager_txn.c — transactions of a pager group: locks, hot-journal recovery,
 * change detection, commit, spill, write-behind (on the group's helper
 * thread) and rollback.
 * Owns the order of writes and syncs that makes commit atomic; must not
 * know about any data-file layout.
 *
 * Locks (byte-range, on every file of the group, far beyond the data):
 *   reader:  shared PENDING+SHARED (one call), release PENDING
 *   writer:  exclusive RESERVED for the whole transaction (queued behind
 *            shared WAITQ when it has to wait)
 *   commit:  the journal written and synced under RESERVED; then exclusive
 *            PENDING (no new readers), exclusive SHARED (readers drained),
 *            then the file pages change
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "crc32.h"
#include "journal.h"
#include "lockwait.h"
#include "pager_int.h"

/* ---- locks ----------------------------------------------------------------- */
static const char *lock_name(uint64_t byte)
{
    return byte == LOCK_RESERVED ? "another writer" : byte == LOCK_SHARED ? "a reader or writer"
                                                                          : "a committing writer";
}

static int timed_out(pager_group *g, const pager_file *f, uint64_t byte, uint64_t waited_us)
{
    return udb_err_set(g->err, UDB_LOCKED, "%s is locked by %s (waited %u ms)", f->path,
                       lock_name(byte), (unsigned)(waited_us / 1000));
}

/* Take a byte-range lock within lock_timeout_ms. Between tries, steps of
   1, 2, 4 ... step_max ms (the poll that notices holders in other
   processes): with the system's own udb_os table the wait ends early when
   another handle of this process releases a lock on the file (lockwait.c);
   with any other table it is os->sleep_ms (the table's notion of time). */
static int lock_wait_len(pager_group *g, pager_file *f, int type, uint64_t byte, uint64_t len,
                         unsigned step_max)
{
    lockwait *w = lockwait_live(g->lw);
    uint64_t limit = (uint64_t)g->lock_timeout_ms * 1000, waited = 0, t0 = 0;
    unsigned step = 1000, most = step_max * 1000; /* microseconds */
    for (;;) {
        uint32_t seen = w ? lockwait_gen(w) : 0;
        int rc = g->os->lock(g->os->ctx, f->fd, type, byte, len);
        if (rc == 0)
            return 0;
        if (rc != -EAGAIN)
            return pager_oserr(g, rc, "cannot lock", f->path);
        if (w) {
            uint64_t now = lockwait_now_us();
            t0 = t0 ? t0 : now;
            waited = now - t0;
        }
        if (waited >= limit)
            return timed_out(g, f, byte, waited);
        unsigned s = step < limit - waited ? step : (unsigned)(limit - waited);
        if (w) {
            lockwait_wait(w, seen, s);
        } else {
            g->os->sleep_ms(g->os->ctx, (s + 999) / 1000);
            waited += (s + 999) / 1000 * 1000;
        }
        step = step * 2 < most ? step * 2 : most;
    }
}

int pager_lock_wait(pager_group *g, pager_file *f, int type, uint64_t byte)
{
    return lock_wait_len(g, f, type, byte, 1, 4);
}

/* A lock of this group was released: wake this process's waiters. */
static void released(pager_group *g)
{
    lockwait *w = lockwait_live(g->lw);
    if (w)
        lockwait_notify(w);
}

static void unlock(pager_group *g, pager_file *f, uint64_t byte)
{
    g->os->lock(g->os->ctx, f->fd, 0, byte, 1);
    lockwait *w = lockwait_live(g->lw);
    if (w && byte == LOCK_RESERVED && f->idx == 0)
        lockwait_unhold(w, g);
    released(g);
}

/* Shared PENDING+SHARED in one call (a committing writer holds PENDING
   exclusively, so no new reader slips in), then drop PENDING. */
static int lock_read(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        int rc = lock_wait_len(g, f, 1, LOCK_PENDING, 2, 4);
        if (!rc)
            unlock(g, f, LOCK_PENDING);
        if (rc) {
            while (i-- > 0) {
                unlock(g, g->files[i], LOCK_SHARED);
                g->files[i]->locks &= ~(unsigned)LK_READ;
            }
            return rc;
        }
        f->locks |= LK_READ;
    }
    return 0;
}

/* Is another writer queued for RESERVED on f (WAITQ held)? */
static int queued(pager_group *g, pager_file *f)
{
    return g->os->lock(g->os->ctx, f->fd, 3, LOCK_WAITQ, 1) == -EAGAIN; /* a test: one call */
}

/* reserve() with lockwait: this process's writers wait in a line and
   only the first tries the lock, at each release in the process, and a
   millisecond apart when no handle of the process holds it (the holder is
   in another process; 16 ms when one does, in case it is gone unseen);
   the line keeps the order among threads, WAITQ and the wait when behind
   the order with other processes. */
static int reserve_in_line(pager_group *g, pager_file *f, lockwait *w, int behind)
{
    lockwait_turn t;
    uint64_t limit = (uint64_t)g->lock_timeout_ms * 1000, t0 = lockwait_now_us();
    g->os->lock(g->os->ctx, f->fd, 1, LOCK_WAITQ, 1);
    int rc, alone = lockwait_join(w, &t);
    if (behind && alone && g->lock_timeout_ms > 1) /* the waiters are in other processes */
        lockwait_wait(w, lockwait_gen(w), 1000);
    for (;;) {
        uint32_t seen = lockwait_gen(w);
        int first = lockwait_first(w, &t);
        rc = first ? g->os->lock(g->os->ctx, f->fd, 2, LOCK_RESERVED, 1) : -EAGAIN;
        if (rc != -EAGAIN) {
            rc = rc < 0 ? pager_oserr(g, rc, "cannot lock", f->path) : 0;
            if (!rc)
                lockwait_hold(w, g);
            break;
        }
        uint64_t waited = lockwait_now_us() - t0;
        if (waited >= limit) {
            rc = timed_out(g, f, LOCK_RESERVED, waited);
            break;
        }
        uint64_t step = first && !lockwait_held_here(w) ? 1000 : 16000;
        lockwait_wait_turn(w, &t, seen, (unsigned)(limit - waited < step ? limit - waited : step));
    }
    lockwait_leave(w, &t);
    g->os->lock(g->os->ctx, f->fd, 0, LOCK_WAITQ, 1);
    return rc;
}

/* RESERVED on f. A writer that has to wait queues (WAITQ shared while it
   polls, every millisecond: the same pace for every waiter), and a writer
   coming back while others are queued queues behind them, sleeping one
   step before its first try, instead of taking the lock the moment it is
   free: the lock goes round the waiting writers instead of to whoever
   just released it. With lockwait, writers of one process take their
   turns in arrival order (reserve_in_line). */
static int reserve(pager_group *g, pager_file *f)
{
    int behind = queued(g, f);
    lockwait *w = f->idx == 0 ? lockwait_live(g->lw) : NULL;
    if (!behind && (!w || lockwait_idle(w))) {
        int r = g->os->lock(g->os->ctx, f->fd, 2, LOCK_RESERVED, 1);
        if (r == 0 && w)
            lockwait_hold(w, g);
        if (r != -EAGAIN)
            return r < 0 ? pager_oserr(g, r, "cannot lock", f->path) : 0;
    }
    if (w)
        return reserve_in_line(g, f, w, behind);
    g->os->lock(g->os->ctx, f->fd, 1, LOCK_WAITQ, 1);
    if (behind && g->lock_timeout_ms > 1)
        g->os->sleep_ms(g->os->ctx, 1);
    int rc = lock_wait_len(g, f, 2, LOCK_RESERVED, 1, 1);
    g->os->lock(g->os->ctx, f->fd, 0, LOCK_WAITQ, 1);
    return rc;
}

int pager_writer_alive(pager_group *g, int member)
{
    pager_file *f = g->files[member];
    if (f->locks & LK_RESERVED)
        return 0; /* this handle is the writer: a hot journal is a crashed one's */
    int rc = g->os->lock(g->os->ctx, f->fd, 1, LOCK_RESERVED, 1); /* shared: read-only too */
    if (rc == 0)
        unlock(g, f, LOCK_RESERVED);
    return rc == -EAGAIN;
}

static int lock_reserved(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        int rc = reserve(g, g->files[i]);
        if (rc) {
            while (i-- > 0) {
                unlock(g, g->files[i], LOCK_RESERVED);
                g->files[i]->locks &= ~(unsigned)LK_RESERVED;
            }
            return rc;
        }
        g->files[i]->locks |= LK_RESERVED;
    }
    return 0;
}

/* Exclusive access before file pages change: no reader may look. */
static int lock_excl(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        if (f->locks & LK_EXCL)
            continue;
        int rc = pager_lock_wait(g, f, 2, LOCK_PENDING);
        if (!rc && (rc = pager_lock_wait(g, f, 2, LOCK_SHARED)))
            unlock(g, f, LOCK_PENDING);
        if (rc)
            return rc;
        f->locks |= LK_EXCL;
    }
    return 0;
}

/* Back from exclusive to what the transaction state needs. */
static void unlock_excl(pager_group *g, int keep_read)
{
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        if (!(f->locks & LK_EXCL))
            continue;
        if (keep_read)
            g->os->lock(g->os->ctx, f->fd, 1, LOCK_SHARED, 1);
        else
            unlock(g, f, LOCK_SHARED);
        unlock(g, f, LOCK_PENDING);
        f->locks &= ~(unsigned)LK_EXCL;
    }
}

void pager_unlock_all(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        if (f->locks)
            g->os->lock(g->os->ctx, f->fd, 0, LOCK_PENDING, 4);
        f->locks = 0;
    }
    g->long_locks = 0;
    lockwait *w = lockwait_live(g->lw);
    if (w)
        lockwait_unhold(w, g);
    released(g);
}

/* UDB_EXCLUSIVE: take the locks once for the life of the handle. */
static int take_long_locks(pager_group *g)
{
    if (!g->exclusive || g->long_locks)
        return 0;
    int rc = g->readonly ? lock_read(g) : lock_reserved(g);
    if (!rc && !g->readonly)
        rc = lock_excl(g);
    if (rc) {
        pager_unlock_all(g);
        return rc;
    }
    g->long_locks = 1;
    return 0;
}

/* ---- recovery and change detection ---------------------------------------------- */
static int drop_kept(pager_group *g);

static int recover_now(pager_group *g, int hot, int xhot)
{
    pager_note_all(g);
    int rc = drop_kept(g);
    if (rc)
        return rc;
    if (g->readonly)
        return udb_err_set(g->err, UDB_RECOVER,
                           "%s has a hot journal (an interrupted transaction): open it writable "
                           "or run `dbe recover` first",
                           g->files[0]->path);
    int had_read = g->files[0]->locks & LK_READ, had_res = g->files[0]->locks & LK_RESERVED;
    /* Never wait for RESERVED while holding SHARED: the holder of RESERVED
       may be another recoverer waiting for readers to drain. SHARED comes
       back when the exclusive locks are downgraded; on failure the caller
       drops every lock. */
    if (had_read && !had_res)
        for (int i = 0; i < g->nfiles; i++)
            unlock(g, g->files[i], LOCK_SHARED);
    rc = had_res ? 0 : lock_reserved(g);
    if (!rc)
        rc = lock_excl(g);
    if (!rc && hot)
        rc = journal_playback(g, g->jpath, 0);
    if (!rc && xhot)
        rc = journal_playback(g, g->xjpath, 0);
    if (!g->long_locks) {
        unlock_excl(g, had_read);
        if (!had_res)
            for (int i = 0; i < g->nfiles; i++)
                if (g->files[i]->locks & LK_RESERVED) {
                    unlock(g, g->files[i], LOCK_RESERVED);
                    g->files[i]->locks &= ~(unsigned)LK_RESERVED;
                }
    }
    return rc;
}

/* Roll back hot journals, then notice changes made by other handles. */
static int check_files(pager_group *g, int *changed)
{
    int hot, xhot;
    uint64_t jc, xjc;
    int rc = journal_peek(g, &hot, &jc, &xhot, &xjc);
    if (rc)
        return rc;
    if ((hot || xhot || jc != g->jcounter || xjc != g->xjcounter) && (rc = drop_kept(g)))
        return rc;
    if ((hot || xhot) && g->created)
        return udb_err_set(g->err, UDB_EXISTS,
                           "%s: the hot journal %s beside the new file was left by an earlier "
                           "file of that name and is not played onto a new one; move it away and "
                           "create again",
                           g->files[0]->path, hot ? g->jpath : g->xjpath);
    g->created = 0;
    if (hot || xhot) {
        if ((rc = recover_now(g, hot, xhot)) || (rc = journal_peek(g, &hot, &jc, &xhot, &xjc)))
            return rc;
        *changed = 1;
    }
    if (jc != g->jcounter || xjc != g->xjcounter)
        *changed = 1;
    g->jcounter = jc;
    g->xjcounter = xjc;
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        uint64_t size;
        int64_t mtime;
        if ((rc = g->os->fstat(g->os->ctx, f->fd, &size, &mtime)) < 0)
            return pager_oserr(g, rc, "cannot stat", f->path);
        if ((size != f->disk_size || mtime != f->mtime) && (rc = drop_kept(g)))
            return rc;
        if (size != f->disk_size || mtime != f->mtime)
            *changed = 1;
        f->mtime = mtime;
        if (size != f->disk_size) {
            if ((rc = pager_follow(f, size)))
                return rc;
        }
        f->size = f->orig_size = f->disk_size;
    }
    if (*changed) /* which pages, the rollback journal does not say */
        pager_note_all(g);
    g->checked = 1;
    return 0;
}

/* ---- transactions ---------------------------------------------------------------------- */
int pager_read_begin(pager_group *g, int *changed)
{
    int dummy = 0;
    if (!changed)
        changed = &dummy;
    *changed = 0;
    if (g->state != PAGER_NONE)
        return 0;
    int rc = wal_attach(g);
    if (!rc && g->wal)
        rc = drop_kept(g); /* WAL mode joined: checkpoints change the files */
    if (rc || g->wal)
        return rc ? rc : wal_read_begin(g, changed);
    if ((rc = take_long_locks(g)))
        return rc;
    if (!g->long_locks && (rc = lock_read(g)))
        return rc;
    if ((!g->long_locks || !g->checked) && (rc = check_files(g, changed))) {
        if (!g->long_locks)
            pager_unlock_all(g);
        return rc;
    }
    g->state = PAGER_READ;
    return 0;
}

void pager_read_end(pager_group *g)
{
    if (g->state != PAGER_READ)
        return;
    if (g->wal) {
        wal_read_end(g);
        return;
    }
    g->state = PAGER_NONE;
    if (g->long_locks)
        return;
    for (int i = 0; i < g->nfiles; i++) {
        unlock(g, g->files[i], LOCK_SHARED);
        g->files[i]->locks &= ~(unsigned)LK_READ;
    }
}

int pager_write_begin(pager_group *g, int *changed)
{
    int dummy = 0;
    if (!changed)
        changed = &dummy;
    *changed = 0;
    if (g->readonly)
        return udb_err_set(g->err, UDB_READONLY, "%s is open read-only", g->files[0]->path);
    if (g->state != PAGER_NONE)
        return udb_err_set(g->err, UDB_INVAL, "a transaction is already open");
    int rc = wal_attach(g);
    if (!rc && g->wal && !(rc = drop_kept(g)))
        rc = wal_write_begin(g, changed);
    else if (!rc && !(rc = take_long_locks(g)) && !g->long_locks)
        rc = lock_reserved(g);
    if (!rc && !g->wal && (!g->long_locks || !g->checked) && (rc = check_files(g, changed)) &&
        !g->long_locks)
        pager_unlock_all(g);
    if (rc)
        return rc;
    if (!g->wal) /* the rollback journal's records carry it */
        g->salt = g->os->entropy(g->os->ctx);
    g->jhdr_written = 0;
    g->jlen = 0;
    if (!g->wal)
        journal_begin(g);
    g->spilled = g->poisoned = g->size_changed = 0;
    g->dirty_bytes = 0;
    g->state = PAGER_WRITE;
    return 0;
}

static void end_write(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        pager_clear_bits(f, f->journaled, f->jr_lo, f->jr_hi); /* what this transaction journaled */
        f->jr_lo = UINT64_MAX;
        f->jr_hi = 0;
        f->orig_size = f->size;
    }
    g->state = PAGER_NONE;
    g->dirty_bytes = 0;
    g->spilled = g->poisoned = g->size_changed = 0;
    for (int i = 0; i < g->nfiles; i++)
        g->files[i]->wb_end = g->files[i]->wb_pages = g->files[i]->wb_again = 0;
    if (!g->long_locks)
        pager_unlock_all(g);
}

/* Write the dirty pages of f in [lo, hi) to the file, in runs. */
static int write_runs(pager_file *f, uint64_t lo, uint64_t hi)
{
    pager_group *g = f->g;
    uint64_t ps = (uint64_t)1 << f->pshift;
    for (uint64_t pg = lo; pg < hi;) {
        if (!(f->dirty[pg >> 6] >> (pg & 63) & 1)) {
            pg++;
            continue;
        }
        uint64_t end = pg;
        while (end < hi && (f->dirty[end >> 6] >> (end & 63) & 1))
            end++;
        uint64_t a = pg * ps, b = end * ps < f->size ? end * ps : f->size;
        if (a < b) {
            int rc = g->os->pwrite(g->os->ctx, f->fd, f->base + a, (size_t)(b - a), a);
            if (rc < 0)
                return pager_oserr(g, rc, "cannot write", f->path);
            g->stats.pages_written += end - pg;
        }
        pg = end;
    }
    return 0;
}

/* Write every dirty page of f to the file and fix its size. */
static int write_dirty(pager_file *f)
{
    pager_group *g = f->g;
    int rc = write_runs(f, f->dirty_lo, f->dirty_hi);
    if (rc)
        return rc;
    if (f->size < f->disk_size) {
        rc = g->os->ftruncate(g->os->ctx, f->fd, f->size);
        if (rc < 0)
            return pager_oserr(g, rc, "cannot truncate", f->path);
    }
    f->disk_size = f->size;
    return 0;
}

static int has_copy(const pager_file *f, uint64_t pg)
{
    return (int)((f->dirty[pg >> 6] | f->kept[pg >> 6]) >> (pg & 63) & 1);
}

static int is_kept(const pager_file *f, uint64_t pg) { return (int)(f->kept[pg >> 6] >> (pg & 63) & 1); }

/* Pages [a, b) show the file again: forget the copies kept there. */
static void unkeep(pager_file *f, uint64_t a, uint64_t b)
{
    if (!f->kept_pages)
        return;
    for (uint64_t pg = a > f->kept_lo ? a : f->kept_lo; pg < b && pg < f->kept_hi; pg++)
        if (is_kept(f, pg)) {
            f->kept[pg >> 6] &= ~((uint64_t)1 << (pg & 63));
            f->kept_pages--;
        }
    if (!f->kept_pages) {
        f->kept_lo = UINT64_MAX;
        f->kept_hi = 0;
    }
}

/* The pages f appended stay in memory (pager_hold) while they are at
   most twice the dirty limit. */
static int holding(const pager_file *f)
{
    return f->hold && f->size - f->orig_size <= 2 * (uint64_t)f->g->dirty_limit;
}

/* Pages [a, b) are in the file as they are here: neither dirty nor kept. */
static void written(pager_file *f, uint64_t a, uint64_t b)
{
    for (uint64_t pg = a; pg < b; pg++)
        if (f->dirty[pg >> 6] >> (pg & 63) & 1) {
            f->dirty[pg >> 6] &= ~((uint64_t)1 << (pg & 63));
            f->g->dirty_bytes -= (size_t)1 << f->pshift;
        }
    unkeep(f, a, b);
}

/* Map the file over every run of pages in [lo, hi) that have a private
   copy (kept ones only, or dirty ones too) and are in the file. */
static int map_runs(pager_file *f, uint64_t lo, uint64_t hi, int (*copy)(const pager_file *, uint64_t))
{
    uint64_t ps = (uint64_t)1 << f->pshift, fm = pager_round(f, f->size);
    int rc = 0;
    for (uint64_t pg = lo; pg < hi && !rc;) {
        if (!copy(f, pg)) {
            pg++;
            continue;
        }
        uint64_t end = pg;
        while (end < hi && copy(f, end))
            end++;
        uint64_t a = pg * ps, b = end * ps < fm ? end * ps : fm;
        if (a < b)
            rc = pager_map_range(f, a, b, MAP_FILE_PART);
        pg = end;
    }
    return rc;
}

/* The file now holds what [0, size) holds: pages past its end read as
   zeros again, the mapping follows the new size. */
static int follow_written(pager_file *f, uint64_t hi)
{
    uint64_t ps = (uint64_t)1 << f->pshift, fm = pager_round(f, f->size);
    int rc = 0;
    if (fm < f->anon_end && (fm < f->file_mapped || hi * ps > fm))
        rc = pager_map_range(f, fm, f->anon_end, MAP_ANON_PART);
    f->file_mapped = fm;
    if (f->anon_end < fm)
        f->anon_end = fm;
    return rc;
}

/* After the dirty pages reached the file: drop the private copies (of the
   dirty pages and of those kept by a spill) so the mapping shows the file
   again. */
static int remap_written(pager_file *f)
{
    uint64_t lo = f->dirty_lo < f->kept_lo ? f->dirty_lo : f->kept_lo;
    uint64_t hi = f->dirty_hi > f->kept_hi ? f->dirty_hi : f->kept_hi;
    int rc = map_runs(f, lo, hi, has_copy);
    if (!rc)
        rc = follow_written(f, hi);
    pager_clear_dirty(f);
    unkeep(f, 0, UINT64_MAX);
    return rc;
}

/* A spill wrote f's dirty pages: keep their copies (changing one again
   costs no page fault and no journal record) and clear their dirty bits. */
static int keep_written(pager_file *f)
{
    uint64_t top = pager_round(f, f->size) >> f->pshift, hi = f->dirty_hi;
    for (uint64_t w = f->dirty_lo / 64; f->dirty_hi > f->dirty_lo && w < (f->dirty_hi + 63) / 64; w++) {
        uint64_t d = f->dirty[w];
        if (w * 64 + 64 > top) /* pages from top on are not in the file */
            d &= top > w * 64 ? ((uint64_t)1 << (top - w * 64)) - 1 : 0;
        f->kept[w] |= d;
        f->kept_pages += (uint64_t)__builtin_popcountll(d);
        f->dirty[w] = 0;
    }
    if (f->dirty_hi > f->dirty_lo && f->dirty_lo < top) {
        if (f->dirty_lo < f->kept_lo)
            f->kept_lo = f->dirty_lo;
        if ((hi < top ? hi : top) > f->kept_hi)
            f->kept_hi = hi < top ? hi : top;
    }
    f->dirty_lo = UINT64_MAX;
    f->dirty_hi = 0;
    return follow_written(f, hi);
}

/* The files may have changed under the copies kept since the last commit
   (another handle's commit, a journal played back, WAL mode joined): map
   the files over them. */
static int drop_kept_file(pager_file *f)
{
    int rc = f->kept_pages ? map_runs(f, f->kept_lo, f->kept_hi, is_kept) : 0;
    if (!rc)
        unkeep(f, 0, UINT64_MAX);
    return rc;
}

static int drop_kept(pager_group *g)
{
    int rc = 0;
    for (int i = 0; i < g->nfiles && !rc; i++)
        rc = drop_kept_file(g->files[i]);
    return rc;
}

/* Return the mapping of f to the file as it is on disk (after rollback). */
static int remap_reset(pager_file *f)
{
    uint64_t size;
    int64_t mtime;
    int rc = f->g->os->fstat(f->g->os->ctx, f->fd, &size, &mtime);
    if (rc < 0)
        return pager_oserr(f->g, rc, "cannot stat", f->path);
    uint64_t fm = pager_round(f, size), top = f->anon_end > f->file_mapped ? f->anon_end : f->file_mapped;
    rc = pager_map_range(f, 0, fm, MAP_FILE_PART);
    if (!rc && top > fm)
        rc = pager_map_range(f, fm, top, MAP_NONE_PART);
    pager_clear_dirty(f);
    pager_clear_bits(f, f->kept, f->kept_lo, f->kept_hi); /* no kept bit lies outside these */
    f->kept_lo = UINT64_MAX;
    f->kept_hi = 0;
    f->kept_pages = 0;
    f->file_mapped = f->anon_end = fm;
    f->disk_size = f->size = f->orig_size = size;
    f->mtime = mtime;
    return rc;
}

static int any_change(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++)
        if (g->files[i]->dirty_hi > g->files[i]->dirty_lo || g->files[i]->size != g->files[i]->orig_size)
            return 1;
    return g->spilled;
}

/* Before pages of the transaction go to the files (commit and spill): the
   journal synced, the readers out, every dirty page written. */
static int write_all(pager_group *g)
{
    int rc = pager_wb_finish(g);
    if (!rc) /* under RESERVED only: readers go on reading the files meanwhile
                (pager_writer_alive tells them the hot journal is live) */
        rc = journal_sync(g);
    if (!rc)
        rc = lock_excl(g);
    if (rc)
        return rc;
    g->spilled = 1; /* from here on the files may differ from their start */
    for (int i = 0; i < g->nfiles && !rc; i++)
        rc = write_dirty(g->files[i]);
    g->dirty_bytes = 0;
    return rc;
}

/* A commit of at most KEEP_PAGES pages keeps their private copies for the
   transactions after it (rollback journal): a page changed again (the
   index infos, the last page of a growing file, a busy node) then costs no
   copy-on-write fault, and the commit no remapping. The copies kept by the
   commit before and not changed since go (one commit's second chance); a
   change by another handle drops them all (check_files). */
#define KEEP_PAGES 64

static size_t dirty_pages(const pager_group *g, size_t max);

static int rekeep(pager_file *f)
{
    int rc = drop_kept_file(f);
    return rc ? rc : keep_written(f);
}

/* Commit: push journal and dirty pages to the files; drop every copy, or
   keep those of a small commit. */
static int write_out(pager_group *g)
{
    int keep = !g->spilled && dirty_pages(g, KEEP_PAGES) <= KEEP_PAGES;
    int rc = write_all(g);
    for (int i = 0; i < g->nfiles && !rc; i++)
        rc = keep ? rekeep(g->files[i]) : remap_written(g->files[i]);
    return rc;
}

/* Over the dirty limit: write every dirty page and keep its copy; the copies
   kept by the spill before that and not changed since go (a second
   chance). A transaction holds at most about twice the dirty limit in
   private pages, and the pages it keeps changing stay in memory. */
static int spill(pager_group *g)
{
    int rc = write_all(g);
    for (int i = 0; i < g->nfiles && !rc; i++) {
        pager_file *f = g->files[i];
        uint64_t hi = holding(f) ? pager_round(f, f->orig_size) >> f->pshift : UINT64_MAX;
        if (hi > f->kept_hi)
            hi = f->kept_hi;
        if (!(rc = map_runs(f, f->kept_lo, hi, is_kept))) /* a held file keeps what it appended */
            unkeep(f, 0, hi);
    }
    for (int i = 0; i < g->nfiles && !rc; i++)
        rc = keep_written(g->files[i]);
    return rc;
}

static void refresh_stat(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        uint64_t size;
        int64_t mtime;
        if (g->os->fstat(g->os->ctx, g->files[i]->fd, &size, &mtime) == 0)
            g->files[i]->mtime = mtime;
    }
}

/* A commit failed before anything was committed: roll back, keep the
   error and say so. */
static int failed_commit(pager_group *g)
{
    int keep = g->err->code;
    char msg[sizeof g->err->msg];
    memcpy(msg, udb_err_msg(g->err), sizeof msg);
    pager_rollback(g);
    udb_err_set(g->err, keep, "%s (transaction rolled back)", msg);
    return keep;
}

static int commit_wal(pager_group *g)
{
    int rc = 0;
    if (any_change(g) && (rc = wal_commit(g)) && g->wlocked) { /* nothing committed */
        return failed_commit(g);
    }
    if (g->wlocked) /* nothing changed */
        wal_rollback(g);
    for (int i = 0; i < g->nfiles; i++)
        pager_clear_dirty(g->files[i]);
    end_write(g);
    return rc;
}

/* A small commit that nothing wrote ahead (no spill, no write-behind, no
   cut) lists the crc32 of every page it writes in a commit record: its
   clean header then needs no sync (journal.c). Without one (too many
   pages, no memory for the list) the commit syncs it, as large ones do. */
/* Dirty pages of the group inside the files' sizes, counted up to max + 1. */
static size_t dirty_pages(const pager_group *g, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < g->nfiles && n <= max; i++) {
        const pager_file *f = g->files[i];
        uint64_t top = pager_round(f, f->size) >> f->pshift;
        for (uint64_t pg = f->dirty_lo; pg < f->dirty_hi && pg < top && n <= max; pg++)
            n += (size_t)(f->dirty[pg >> 6] >> (pg & 63) & 1);
    }
    return n;
}

static int commit_record(pager_group *g)
{
    size_t max = journal_commit_max(g), n = dirty_pages(g, max), k = 0;
    g->jcommit = 0; /* a commit retried (UDB_LOCKED) lists its pages again, or voids the first list */
    int fit = g->sync != UDB_SYNC_OFF && !g->spilled && !g->size_changed && n && n <= max;
    uint32_t *file = fit ? malloc(n * sizeof *file) : NULL, *crc = file ? malloc(n * sizeof *crc) : NULL;
    uint64_t *page = crc ? malloc(n * sizeof *page) : NULL;
    for (int i = 0; page && i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        uint64_t top = pager_round(f, f->size) >> f->pshift, ps = (uint64_t)1 << f->pshift;
        for (uint64_t pg = f->dirty_lo; pg < f->dirty_hi && pg < top; pg++)
            if (f->dirty[pg >> 6] >> (pg & 63) & 1) {
                uint64_t len = f->size - pg * ps < ps ? f->size - pg * ps : ps;
                file[k] = (uint32_t)i;
                page[k] = pg;
                crc[k++] = udb_crc32(0, f->base + pg * ps, (size_t)len);
            }
    }
    int rc = page ? journal_add_commit(g, file, page, crc, k)
                  : g->jcommit_any ? journal_add_commit(g, NULL, NULL, NULL, 0) : 0;
    free(file);
    free(crc);
    free(page);
    return rc;
}

int pager_commit(pager_group *g)
{
    if (g->state != PAGER_WRITE)
        return udb_err_set(g->err, UDB_INVAL, "commit without a write transaction");
    if (g->poisoned)
        return udb_err_set(g->err, UDB_ABORTED,
                           "an earlier failure in this transaction requires a rollback");
    if (g->wal)
        return commit_wal(g);
    if (!any_change(g)) {
        end_write(g);
        return 0;
    }
    int rc = commit_record(g);
    if (rc)
        return failed_commit(g);
    rc = write_out(g);
    if (rc == UDB_LOCKED && !g->spilled) {
        unlock_excl(g, 0);
        return rc; /* nothing written: the transaction stays open */
    }
    if (!rc && g->sync != UDB_SYNC_OFF && g->nfiles > 1 && g->os->writeback)
        for (int i = 0; i < g->nfiles; i++) /* the disk takes every file at once */
            g->os->writeback(g->os->ctx, g->files[i]->fd, 0, 0);
    for (int i = 0; i < g->nfiles && !rc && g->sync != UDB_SYNC_OFF; i++) {
        int r = g->os->fsync(g->os->ctx, g->files[i]->fd);
        if (r < 0)
            rc = pager_oserr(g, r, "cannot sync", g->files[i]->path);
    }
    if (!rc)
        rc = journal_finish(g);
    if (rc) {
        return failed_commit(g);
    }
    refresh_stat(g);
    g->stats.commits++;
    end_write(g);
    return 0;
}

void pager_poison(pager_group *g)
{
    if (g->state == PAGER_WRITE)
        g->poisoned = 1;
}

int pager_poisoned(const pager_group *g)
{
    return g->state == PAGER_WRITE && g->poisoned;
}

/* ---- write-behind ------------------------------------------------------------------------- */
/* The new pages of a growing file that lie well below its end are usually
   finished (records appended to a heap): write them now, so that the disk
   works while the transaction goes on and commit has less to wait for, and
   drop their private copies (memory). They lie beyond the committed size:
   the journal only has to be durable first, recovery cuts them off. A file
   whose early-written pages keep changing again is left alone for the rest
   of the transaction. Like a spill, this keeps readers out until commit. */
/* ---- write-behind in the background ----------------------------------------
   With the built-in os table, a write-behind chunk (new pages only, all
   dirty) goes to a helper thread: its pages' dirty bits are cleared when it
   is handed off, so any change to one of them takes pager_put's slow path,
   and page_dirty waits for the job first. The job's pages keep their
   anonymous memory until it is finished (pager_wb_finish): then the pages
   nobody changed since are mapped from the file again. Everything that
   remaps, moves or writes the mapping finishes the job first. */
static void *wb_main(void *arg)
{
    pager_group *g = arg;
    pthread_mutex_lock(&g->wb_mu);
    for (;;) {
        while (!g->wb_busy && !g->wb_quit)
            pthread_cond_wait(&g->wb_cv, &g->wb_mu);
        if (!g->wb_busy)
            break;
        pager_file *f = g->wb_f;
        uint64_t lo = g->wb_lo, hi = g->wb_hi;
        pthread_mutex_unlock(&g->wb_mu);
        const uint8_t *src = g->wb_src ? g->wb_src : f->base + lo;
        int rc = g->os->pwrite(g->os->ctx, f->fd, src, (size_t)(hi - lo), lo);
        if (rc >= 0 && g->os->writeback)
            g->os->writeback(g->os->ctx, f->fd, lo, hi - lo); /* start the disk on it */
        pthread_mutex_lock(&g->wb_mu);
        g->wb_rc = rc < 0 ? rc : 0;
        g->wb_busy = 0;
        pthread_cond_broadcast(&g->wb_cv);
    }
    pthread_mutex_unlock(&g->wb_mu);
    return NULL;
}

static int wb_thread_ready(pager_group *g)
{
    if (g->wb_thread_on || g->wb_thread_failed || g->os != udb_os_posix())
        return g->wb_thread_on && g->wb_pid == (long)getpid();
    if (pthread_mutex_init(&g->wb_mu, NULL)) {
        g->wb_thread_failed = 1;
        return 0;
    }
    if (pthread_cond_init(&g->wb_cv, NULL)) {
        pthread_mutex_destroy(&g->wb_mu);
        g->wb_thread_failed = 1;
        return 0;
    }
    if (pthread_create(&g->wb_thread, NULL, wb_main, g)) {
        pthread_cond_destroy(&g->wb_cv);
        pthread_mutex_destroy(&g->wb_mu);
        g->wb_thread_failed = 1; /* write behind in this thread instead */
        return 0;
    }
    g->wb_thread_on = 1;
    g->wb_pid = (long)getpid();
    return 1;
}

void pager_wb_stop(pager_group *g)
{
    if (!g->wb_thread_on)
        return;
    if (g->wb_pid != (long)getpid()) { /* a fork child: the thread is not here */
        g->wb_thread_on = 0;
        g->wb_f = NULL;
        return;
    }
    pager_wb_finish(g);
    pthread_mutex_lock(&g->wb_mu);
    g->wb_quit = 1;
    pthread_cond_broadcast(&g->wb_cv);
    pthread_mutex_unlock(&g->wb_mu);
    pthread_join(g->wb_thread, NULL);
    pthread_cond_destroy(&g->wb_cv);
    pthread_mutex_destroy(&g->wb_mu);
    g->wb_thread_on = 0;
}

int pager_wb_finish(pager_group *g)
{
    pager_file *f = g->wb_f;
    if (!f)
        return 0;
    if (g->wb_pid != (long)getpid()) { /* a fork child: nobody will finish the job */
        g->wb_f = NULL;
        g->poisoned = 1;
        return udb_err_set(g->err, UDB_INVAL, "%s: a handle used across fork()", f->path);
    }
    pthread_mutex_lock(&g->wb_mu);
    while (g->wb_busy)
        pthread_cond_wait(&g->wb_cv, &g->wb_mu);
    int rc = g->wb_rc;
    pthread_mutex_unlock(&g->wb_mu);
    g->wb_f = NULL;
    if (rc < 0) {
        g->wb_src = NULL;
        g->poisoned = 1;
        return pager_oserr(g, rc, "cannot write", f->path);
    }
    if (g->wb_src) { /* a rewrite's buffer (rewrite_through): the mapping is its business */
        g->wb_src = NULL;
        return 0;
    }
    uint64_t ps = (uint64_t)1 << f->pshift;
    for (uint64_t pg = g->wb_lo / ps; pg < g->wb_hi / ps;) { /* runs of unchanged pages */
        uint64_t end = pg;
        while (end < g->wb_hi / ps && !(f->dirty[end >> 6] >> (end & 63) & 1))
            end++;
        if (end > pg && (rc = pager_map_range(f, pg * ps, end * ps, MAP_FILE_PART))) {
            g->poisoned = 1;
            return rc;
        }
        pg = end + 1;
    }
    return 0;
}

static int all_copied(const pager_file *f, uint64_t a, uint64_t b)
{
    for (uint64_t pg = a; pg < b; pg++)
        if (!has_copy(f, pg))
            return 0;
    return 1;
}

/* In this thread: write [lo, hi), start the disk on it, map the file there. */
static int write_now(pager_group *g, pager_file *f, uint64_t lo, uint64_t hi)
{
    int rc = write_runs(f, lo >> f->pshift, hi >> f->pshift);
    if (rc)
        return rc;
    if (g->os->writeback)
        g->os->writeback(g->os->ctx, f->fd, lo, hi - lo);
    return pager_map_range(f, lo, hi, MAP_FILE_PART);
}

/* To the helper thread (every page of [lo, hi) has its copy here: it writes all). */
static void hand_off(pager_group *g, pager_file *f, uint64_t lo, uint64_t hi)
{
    g->stats.pages_written += (hi - lo) >> f->pshift;
    g->wb_f = f;
    g->wb_lo = lo;
    g->wb_hi = hi;
    pthread_mutex_lock(&g->wb_mu);
    g->wb_busy = 1;
    pthread_cond_broadcast(&g->wb_cv);
    pthread_mutex_unlock(&g->wb_mu);
}

static int write_behind(pager_group *g, pager_file *f, uint64_t hi)
{
    uint64_t lo = f->file_mapped, a = lo >> f->pshift, b = hi >> f->pshift;
    unsigned wait = g->lock_timeout_ms;
    g->lock_timeout_ms = 0; /* optional work: never wait for readers */
    int rc = lock_excl(g);
    g->lock_timeout_ms = wait;
    if (!rc)
        rc = journal_sync(g);
    if (!rc)
        rc = pager_wb_finish(g);
    if (rc)
        return rc;
    g->spilled = 1;
    int background = all_copied(f, a, b) && wb_thread_ready(g);
    if (!background && (rc = write_now(g, f, lo, hi)))
        return rc;
    if (hi > f->disk_size)
        f->disk_size = hi;
    written(f, a, b); /* before the hand-off: a change now takes the slow path */
    f->file_mapped = hi;
    f->wb_end = hi;
    f->wb_pages += b - a;
    if (background)
        hand_off(g, f, lo, hi);
    return 0;
}

/* Pages [a, b) were written behind: write buf over them in the file and
   show the file there again (a page changed since loses its copy). */
static int rewrite_behind(pager_file *f, uint64_t a, uint64_t b, const uint8_t *buf)
{
    pager_group *g = f->g;
    int rc = pager_wb_finish(g);
    if (rc)
        return rc;
    rc = g->os->pwrite(g->os->ctx, f->fd, buf, (size_t)(b - a), a);
    if (rc < 0)
        return pager_oserr(g, rc, "cannot write", f->path);
    g->stats.pages_written += (b - a) >> f->pshift;
    if ((rc = map_runs(f, a >> f->pshift, b >> f->pshift, has_copy)))
        return rc;
    written(f, a >> f->pshift, b >> f->pshift);
    return 0;
}

/* Bytes [pos, pos + len) of f replaced by buf (pos at or past the
   committed size): pages written behind go to the file again. */
static int overwrite(pager_file *f, uint64_t pos, const uint8_t *buf, uint64_t len)
{
    pager_group *g = f->g;
    uint64_t ps = (uint64_t)1 << f->pshift, end = pos + len;
    uint64_t a = pager_round(f, pos), b = f->wb_end < (end & ~(ps - 1)) ? f->wb_end : end & ~(ps - 1);
    int rc = 0;
    if (a < b && (rc = rewrite_behind(f, a, b, buf + (a - pos)))) {
        g->poisoned = 1;
        return rc;
    }
    if (a >= b)
        a = b = end; /* all of it in memory */
    uint8_t *p = a > pos ? pager_put(f, pos, (size_t)(a - pos)) : f->base;
    uint8_t *q = p && b < end ? pager_put(f, b, (size_t)(end - b)) : f->base;
    if (!p || !q)
        return g->err->code;
    memcpy(f->base + pos, buf, (size_t)(a - pos));
    memcpy(f->base + b, buf + (b - pos), (size_t)(end - b));
    return 0;
}

/* Scratch memory of len bytes, in huge pages where the system has them
   (a page fault per 4 KiB costs more than the copy): *map and *maplen to
   unmap. */
static uint8_t *scratch(uint64_t len, void **map, size_t *maplen)
{
    const size_t huge = (size_t)2 << 20;
    if (len > SIZE_MAX - huge)
        return NULL;
    *maplen = (size_t)len + huge;
    *map = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED)
        return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)*map + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
    madvise(p, (size_t)len, MADV_HUGEPAGE); /* a hint */
#endif
    return p;
}

static int rewrite_in_memory(pager_file *f, uint64_t pos, uint64_t len, pager_fill_fn fill, void *arg)
{
    void *map;
    size_t maplen;
    uint8_t *tmp = scratch(len, &map, &maplen);
    if (!tmp)
        return udb_err_set(f->g->err, UDB_NOMEM, "%s: out of memory rewriting %llu bytes", f->path,
                           (unsigned long long)len);
    int rc = fill(arg, tmp, (size_t)len);
    if (!rc)
        rc = overwrite(f, pos, tmp, len);
    munmap(map, maplen);
    return rc;
}

/* 1 when every page of [a, b) has its own copy here: writing the file
   there changes nothing that fill reads. */
static int all_private(const pager_file *f, uint64_t a, uint64_t b)
{
    for (uint64_t pg = a >> f->pshift; pg < b >> f->pshift; pg++)
        if ((pg << f->pshift) < f->file_mapped && !has_copy(f, pg))
            return 0;
    return 1;
}

/* Pages [a, b) now hold in the file what fill made: show the file there,
   as write-behind does. */
static int show_written(pager_file *f, uint64_t a, uint64_t b)
{
    uint64_t fm = f->file_mapped < b ? f->file_mapped : b;
    int rc = fm > a ? map_runs(f, a >> f->pshift, fm >> f->pshift, has_copy) : 0;
    if (!rc && b > f->file_mapped && (rc = pager_map_range(f, f->file_mapped, b, MAP_FILE_PART)) == 0)
        f->file_mapped = f->wb_end = b;
    if (rc)
        return rc;
    if (b > f->disk_size)
        f->disk_size = b;
    written(f, a >> f->pshift, b >> f->pshift);
    return 0;
}

enum { BOUNCE = 8 << 20 };

/* Whole pages [a, b) straight to the file through two buffers: one is
   filled while the helper thread writes the other (or, without the
   helper, in turn here). */
static int rewrite_through(pager_file *f, uint64_t a, uint64_t b, pager_fill_fn fill, void *arg)
{
    pager_group *g = f->g;
    size_t cap = b - a < BOUNCE ? (size_t)(b - a) : BOUNCE;
    uint8_t *buf = malloc(2 * cap);
    if (!buf)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    int rc = 0, background = wb_thread_ready(g);
    for (uint64_t at = a, k = 0; at < b && !rc; at += cap, k++) {
        size_t n = b - at < cap ? (size_t)(b - at) : cap;
        uint8_t *half = buf + (k & 1) * cap;
        if ((rc = fill(arg, half, n)) || (rc = pager_wb_finish(g)))
            break;
        if (background) {
            g->wb_src = half;
            hand_off(g, f, at, at + n);
            continue;
        }
        g->stats.pages_written += n >> f->pshift;
        int w = g->os->pwrite(g->os->ctx, f->fd, half, n, at);
        rc = w < 0 ? pager_oserr(g, w, "cannot write", f->path) : 0;
        if (!rc && g->os->writeback) /* the disk works while the rest is made */
            g->os->writeback(g->os->ctx, f->fd, at, n);
    }
    int frc = pager_wb_finish(g);
    free(buf);
    return rc ? rc : frc;
}

/* The whole pages of [pos, pos + len) go straight to the file. */
static int through(const pager_file *f, uint64_t pos, uint64_t len)
{
    uint64_t ps = (uint64_t)1 << f->pshift, a = pager_round(f, pos), b = (pos + len) & ~(ps - 1);
    return !f->g->wal && a < b && f->file_mapped >= a && all_private(f, a, b);
}

int pager_rewritable(const pager_file *f, uint64_t pos, uint64_t len)
{
    return through(f, pos, len) || len <= f->g->dirty_limit;
}

int pager_rewrite(pager_file *f, uint64_t pos, uint64_t len, pager_fill_fn fill, void *arg)
{
    pager_group *g = f->g;
    uint64_t ps = (uint64_t)1 << f->pshift, end = pos + len;
    if (g->state != PAGER_WRITE || g->poisoned || pos < f->orig_size || pos > f->size || len > f->size - pos)
        return udb_err_set(g->err, UDB_INVAL, "%s: rewrite of bytes the transaction did not append",
                           f->path);
    uint64_t a = pager_round(f, pos), b = end & ~(ps - 1);
    if (!through(f, pos, len))
        return rewrite_in_memory(f, pos, len, fill, arg);
    unsigned wait = g->lock_timeout_ms;
    g->lock_timeout_ms = 0; /* as write-behind: never wait for readers */
    int rc = lock_excl(g);
    g->lock_timeout_ms = wait;
    if (rc == UDB_LOCKED) { /* readers active: in memory, written at commit */
        if (!g->spilled)
            unlock_excl(g, 0);
        return rewrite_in_memory(f, pos, len, fill, arg);
    }
    uint8_t *head = rc ? NULL : malloc(2 * ps), *tail = head ? head + ps : NULL; /* written last:
                                                                       fill may read them */
    if (!rc && !head)
        rc = udb_err_set(g->err, UDB_NOMEM, "out of memory");
    if (!rc && !(rc = journal_sync(g)) && !(rc = pager_wb_finish(g))) {
        g->spilled = 1;
        if (!(rc = fill(arg, head, (size_t)(a - pos))) && !(rc = rewrite_through(f, a, b, fill, arg)))
            rc = fill(arg, tail, (size_t)(end - b));
    }
    uint8_t *ph = !rc && a > pos ? pager_put(f, pos, (size_t)(a - pos)) : f->base;
    uint8_t *pt = !rc && ph && end > b ? pager_put(f, b, (size_t)(end - b)) : f->base;
    if (!rc && (!ph || !pt))
        rc = g->err->code;
    if (!rc && !(rc = show_written(f, a, b))) {
        memcpy(f->base + pos, head, (size_t)(a - pos));
        memcpy(f->base + b, tail, (size_t)(end - b));
    }
    free(head);
    if (rc)
        g->poisoned = 1;
    return rc;
}

#define WB_CHUNK_MAX ((uint64_t)8 << 20)

static int maybe_write_behind(pager_group *g)
{
    uint64_t chunk = g->dirty_limit / 32, lag = g->dirty_limit / 64;
    if (chunk > WB_CHUNK_MAX) { /* big enough for the disk, small enough for memory */
        chunk = WB_CHUNK_MAX;
        lag = WB_CHUNK_MAX / 2;
    }
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        uint64_t ps = (uint64_t)1 << f->pshift;
        if (holding(f) || f->size < lag + ps || 4 * f->wb_again > f->wb_pages)
            continue;
        uint64_t hi = (f->size - lag) & ~(ps - 1);
        int rc = 0;
        if (hi > f->file_mapped + chunk && f->file_mapped >= pager_round(f, f->orig_size) &&
            (rc = write_behind(g, f, hi)))
            return rc;
    }
    return 0;
}

int pager_op_end(pager_group *g)
{
    if (g->state != PAGER_WRITE || g->poisoned || g->wal)
        return 0;
    if (g->dirty_bytes <= g->dirty_limit) {
        int rc = maybe_write_behind(g);
        if (rc == UDB_LOCKED && !g->spilled) {
            unlock_excl(g, 0);
            return 0; /* readers active: later */
        }
        if (rc)
            g->poisoned = 1;
        return rc;
    }
    int rc = spill(g);
    if (rc == UDB_LOCKED && !g->spilled) {
        unlock_excl(g, 0);
        return 0; /* readers active: keep the pages in memory for now */
    }
    if (rc)
        g->poisoned = 1;
    else
        g->stats.spills++;
    return rc;
}

int pager_rollback(pager_group *g)
{
    if (g->state == PAGER_READ) {
        pager_read_end(g);
        return 0;
    }
    if (g->state != PAGER_WRITE)
        return 0;
    int rc = 0;
    pager_note_all(g);
    if (g->wal) {
        rc = wal_rollback(g);
        end_write(g);
        return rc;
    }
    pager_wb_finish(g); /* its pages are beyond the old size: whatever it wrote is cut off */
    if (g->spilled) {
        /* the files hold pages of this transaction: restore them */
        int r = lock_excl(g);
        if (!r)
            r = journal_playback(g, g->jpath, 1);
        if (r)
            g->checked = 0; /* the hot journal stays: the next transaction plays it back, even
                               with the handle's locks held for good (UDB_EXCLUSIVE) */
        rc = r;
    }
    if (any_change(g) || g->spilled)
        for (int i = 0; i < g->nfiles; i++) {
            int r = remap_reset(g->files[i]);
            if (r && !rc)
                rc = r;
        }
    if (g->spilled)
        journal_reset(g);
    else if (journal_cancel(g) && !rc) /* a synced journal of a commit that wrote nothing */
        rc = g->err->code;
    end_write(g);
    return rc;
}

int pager_journal_recover(pager_group *g)
{
    int hot, xhot;
    uint64_t jc, xjc;
    int rc = journal_peek(g, &hot, &jc, &xhot, &xjc);
    return rc || !(hot || xhot) ? rc : recover_now(g, hot, xhot);
}

int pager_recover(pager_group *g, int *found)
{
    int hot, xhot;
    uint64_t jc, xjc;
    *found = 0;
    if (g->state != PAGER_NONE)
        return udb_err_set(g->err, UDB_INVAL, "recover inside a transaction");
    int rc = wal_recover(g, found);
    if (rc || *found)
        return rc;
    rc = journal_peek(g, &hot, &jc, &xhot, &xjc);
    if (rc || !(hot || xhot))
        return rc;
    *found = 1;
    if ((rc = recover_now(g, hot, xhot)))
        return rc;
    if (g->jkept && !xhot)
        *found = 3; /* the commit had reached the files whole: kept */
    int changed = 0;
    if ((rc = pager_read_begin(g, &changed)))
        return rc;
    pager_read_end(g);
    return 0;
}

int pager_hot_journal(pager_group *g, int *hot)
{
    int xhot = 0;
    uint64_t jc, xjc;
    *hot = 0;
    int rc = journal_peek(g, hot, &jc, &xhot, &xjc);
    *hot = *hot || xhot;
    return rc;
}
