/*
 * pager.c — mapping, dirty tracking, transactions, locks and change
 * detection. The journal file format lives in journal.c.
 * Owns every system call udb makes (through the udb_os table); must not
 * know about any data-file layout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "journal.h"
#include "lockwait.h"
#include "mem.h"
#include "pager_int.h"

#define RESERVE_MIN ((uint64_t)64 << 30)    /* address space per writable file */
#define RESERVE_MIN_RO ((uint64_t)1 << 30)  /* ... per read-only file */
#define ANON_CHUNK ((uint64_t)64 << 20)
#define ANON_STEP_MAX ((uint64_t)1 << 30)
#define DIRTY_LIMIT_DEFAULT ((size_t)512 << 20)
#define WAL_CKPT_DEFAULT ((uint64_t)4 << 20)

/* ---- small helpers --------------------------------------------------------- */
int pager_oserr(pager_group *g, int rc, const char *what, const char *path)
{
    return udb_err_set(g->err, UDB_IO, "%s %s: %s", what, path, strerror(-rc));
}

static uint64_t page_size(const pager_file *f) { return (uint64_t)1 << f->pshift; }

size_t pager_dirty_limit(const pager_file *f) { return f->g->dirty_limit; }

uint64_t pager_round(const pager_file *f, uint64_t n)
{
    uint64_t p = page_size(f);
    return (n + p - 1) & ~(p - 1);
}

static int bit(const uint64_t *m, uint64_t i) { return (int)(m[i >> 6] >> (i & 63) & 1); }
static void bit_set(uint64_t *m, uint64_t i) { m[i >> 6] |= (uint64_t)1 << (i & 63); }

static void bit_clr(uint64_t *m, uint64_t i) { m[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

/* Page pg's original image is in the journal (its range is cleared at the
   end of the transaction, not the whole bitmap). */
static void mark_journaled(pager_file *f, uint64_t pg)
{
    bit_set(f->journaled, pg);
    if (pg < f->jr_lo)
        f->jr_lo = pg;
    if (pg >= f->jr_hi)
        f->jr_hi = pg + 1;
}

/* Bitmaps of more than BITS_SMALL bytes (files over 16 GiB) are anonymous
   memory that reads as zero and is committed only where a bit is set: a
   huge sparse file costs the words its transactions touch, not three bits
   for each of its pages. Smaller ones come from malloc (sanitizers watch
   them). */
#define BITS_SMALL ((size_t)512 << 10)

static uint64_t *bits_alloc(size_t words)
{
    return words * 8 > BITS_SMALL ? mem_zeroed(words * 8) : calloc(words, 8);
}

static void bits_free(uint64_t *m, size_t words)
{
    if (words * 8 > BITS_SMALL)
        mem_big_free(m, words * 8);
    else
        free(m);
}

/* The words of a bitmap of `have` words that hold the bits of pages
   [lo, hi): [*a, *b); 0 when there are none. */
static int bit_range(uint64_t lo, uint64_t hi, size_t have, size_t *a, size_t *b)
{
    *a = (size_t)(lo / 64);
    *b = (size_t)((hi + 63) / 64);
    if (*b > have)
        *b = have;
    return hi > lo && *b > *a;
}

void pager_clear_bits(const pager_file *f, uint64_t *m, uint64_t lo, uint64_t hi)
{
    size_t a, b;
    if (bit_range(lo, hi, f->bit_words, &a, &b))
        memset(m + a, 0, (b - a) * 8);
}

void pager_clear_dirty(pager_file *f)
{
    pager_clear_bits(f, f->dirty, f->dirty_lo, f->dirty_hi);
    f->dirty_lo = UINT64_MAX;
    f->dirty_hi = 0;
}

/* Move bitmap *m of have words into d: the words of pages [lo, hi), the
   only ones that can hold set bits. */
static void bits_move(uint64_t **m, uint64_t *d, size_t have, uint64_t lo, uint64_t hi)
{
    size_t a, b;
    if (*m && bit_range(lo, hi, have, &a, &b))
        memcpy(d + a, *m + a, (b - a) * 8);
    bits_free(*m, have);
    *m = d;
}

/* Make the bitmaps cover pages [0, pages). A read-only handle changes no
   page and has none (a huge sparse file costs it no memory). */
static int bits_reserve(pager_file *f, uint64_t pages)
{
    size_t words = (size_t)((pages + 63) / 64);
    if (words <= f->bit_words || f->g->readonly)
        return 0;
    size_t n = f->bit_words ? f->bit_words : 64;
    while (n < words)
        n *= 2;
    uint64_t *d = bits_alloc(n), *j = bits_alloc(n), *k = bits_alloc(n);
    if (!d || !j || !k) {
        bits_free(d, n);
        bits_free(j, n);
        bits_free(k, n);
        return udb_err_set(f->g->err, UDB_NOMEM, "out of memory (page bitmaps)");
    }
    bits_move(&f->dirty, d, f->bit_words, f->dirty_lo, f->dirty_hi);
    bits_move(&f->journaled, j, f->bit_words, f->jr_lo, f->jr_hi);
    bits_move(&f->kept, k, f->bit_words, f->kept_lo, f->kept_hi);
    f->bit_words = n;
    return 0;
}

/* ---- mapping ----------------------------------------------------------------- */
/* WAL mode lays log pages over the mapping, read-only handles too (the
   mapping is private: nothing reaches the file). */
static int prot_of(const pager_file *f) { return f->g->readonly && !f->g->wal ? 1 : 3; }

/* Map [a, b) of the reservation: the file, anonymous memory, or nothing. */
int pager_map_range(pager_file *f, uint64_t a, uint64_t b, int what)
{
    if (a >= b)
        return 0;
    /* fresh anonymous memory (or none, mapped fresh before use) joins the
       zero tail when it reaches it; file pages push the tail back */
    if (what == MAP_FILE_PART ? b > f->zero_from : a <= f->zero_from && b >= f->zero_from)
        f->zero_from = what == MAP_FILE_PART ? b : a;
    void *out;
    int rc;
    if (what == MAP_FILE_PART)
        rc = f->g->os->map(f->g->os->ctx, f->base + a, b - a, prot_of(f), f->fd, a, &out);
    else
        rc = f->g->os->map(f->g->os->ctx, f->base + a, b - a, what == MAP_ANON_PART ? 3 : 0,
                           -1, 0, &out);
    if (rc < 0)
        return pager_oserr(f->g, rc, "cannot map", f->path);
    return 0;
}

/* Reserve address space for the file: generous, but settle for less
   (down to the file itself) where the system limits address space. */
static int reserve(pager_file *f, uint64_t size)
{
    uint64_t want = f->g->readonly ? RESERVE_MIN_RO : RESERVE_MIN, floor = pager_round(f, size) + page_size(f);
    while (want < 4 * size)
        want *= 2;
    for (;;) {
        void *m;
        int rc = f->g->os->map(f->g->os->ctx, NULL, want, 0, -1, 0, &m);
        if (rc == 0) {
            f->base = m;
            f->resv = want;
            return 0;
        }
        if (want <= floor)
            return udb_err_set(f->g->err, UDB_NOMEM,
                               "cannot reserve %llu bytes of address space for %s",
                               (unsigned long long)want, f->path);
        want = want / 2 > floor ? want / 2 : floor;
    }
}

/* Fresh mapping of the file as it is on disk now (no dirty pages). */
/* ---- what changed under the mapping ------------------------------------------------ */
void pager_note_change(pager_file *f, uint64_t pg)
{
    if (f->chg_n < PAGER_CHG_MAX)
        f->chg[f->chg_n++] = pg;
    else
        f->chg_all = 1;
}

void pager_note_all(pager_group *g)
{
    for (int i = 0; i < g->nfiles; i++)
        g->files[i]->chg_all = 1;
}

int pager_changes(pager_file *f, const uint64_t **pages, size_t *n)
{
    int all = f->chg_all;
    *pages = f->chg;
    *n = all ? 0 : f->chg_n;
    f->chg_n = 0;
    f->chg_all = 0;
    return all;
}

static int map_fresh(pager_file *f)
{
    f->chg_all = 1;
    if (f->base)
        f->g->os->unmap(f->g->os->ctx, f->base, f->resv);
    f->base = NULL;
    int rc = reserve(f, f->disk_size);
    if (rc)
        return rc;
    f->file_mapped = pager_round(f, f->disk_size);
    f->anon_end = f->file_mapped;
    return pager_map_range(f, 0, f->file_mapped, MAP_FILE_PART);
}

/* Follow the on-disk size after another process changed it (no dirty pages). */
int pager_follow(pager_file *f, uint64_t newsize)
{
    f->chg_all = 1;
    f->disk_size = newsize;
    if (4 * newsize > f->resv || newsize > f->resv)
        return map_fresh(f);
    uint64_t fm = pager_round(f, newsize);
    int rc = 0;
    if (fm > f->file_mapped)
        rc = pager_map_range(f, f->file_mapped, fm, MAP_FILE_PART);
    else if (fm < f->file_mapped)
        rc = pager_map_range(f, fm, f->anon_end, MAP_NONE_PART);
    if (rc)
        return rc;
    if (f->anon_end < fm || fm < f->file_mapped)
        f->anon_end = fm;
    f->file_mapped = fm;
    return 0;
}

/* Move the mapping to a larger reservation, keeping the transaction's
   changed pages. Only between operations: pointers into the old mapping
   die. */
static int relocate(pager_file *f, uint64_t need)
{
    int wrc = pager_wb_finish(f->g); /* the helper reads the old mapping */
    if (wrc)
        return wrc;
    uint8_t *old = f->base;
    size_t old_resv = f->resv;
    uint64_t fm = f->file_mapped, ae = f->anon_end, ps = page_size(f);
    f->base = NULL;
    int rc = reserve(f, need);
    if (rc) {
        f->base = old;
        return rc;
    }
    if (f->resv < need) {
        f->g->os->unmap(f->g->os->ctx, f->base, f->resv);
        f->base = old;
        f->resv = old_resv;
        return udb_err_set(f->g->err, UDB_NOMEM, "%s: not enough address space to grow to %llu bytes",
                           f->path, (unsigned long long)need);
    }
    if ((rc = pager_map_range(f, 0, fm, MAP_FILE_PART)) || (rc = pager_map_range(f, fm, ae, MAP_ANON_PART))) {
        f->g->os->unmap(f->g->os->ctx, f->base, f->resv);
        f->base = old;
        f->resv = old_resv;
        return rc;
    }
    for (uint64_t pg = f->dirty_lo; pg < f->dirty_hi; pg++)
        if (bit(f->dirty, pg))
            memcpy(f->base + pg * ps, old + pg * ps, (size_t)ps);
    for (uint64_t pg = f->kept_lo; pg < f->kept_hi; pg++) /* as they are: no file behind them beyond file_mapped */
        if (bit(f->kept, pg))
            memcpy(f->base + pg * ps, old + pg * ps, (size_t)ps);
    f->g->os->unmap(f->g->os->ctx, old, old_resv);
    return 0;
}

int pager_cover(pager_file *f, uint64_t size)
{
    uint64_t need = pager_round(f, size);
    if (need > f->resv)
        return udb_err_set(f->g->err, UDB_NOMEM, "%s: %llu bytes exceed the address space reserved",
                           f->path, (unsigned long long)size);
    int rc = bits_reserve(f, need >> f->pshift);
    if (!rc && need > f->anon_end) {
        uint64_t end = need + ANON_CHUNK < f->resv ? need + ANON_CHUNK : f->resv;
        if (!(rc = pager_map_range(f, f->anon_end, end, MAP_ANON_PART)))
            f->anon_end = end;
    }
    return rc;
}

int pager_refresh(pager_file *f, uint64_t disk_size, uint64_t size)
{
    f->chg_all = 1;
    f->disk_size = disk_size;
    if (f->base)
        f->g->os->unmap(f->g->os->ctx, f->base, f->resv);
    f->base = NULL;
    int rc = reserve(f, size > disk_size ? size : disk_size);
    if (rc)
        return rc;
    f->file_mapped = f->anon_end = pager_round(f, disk_size);
    f->zero_from = f->file_mapped;
    if ((rc = pager_map_range(f, 0, f->file_mapped, MAP_FILE_PART)))
        return rc;
    return pager_cover(f, size);
}

int pager_prepare(pager_group *g, uint64_t headroom)
{
    for (int i = 0; i < g->nfiles; i++) {
        pager_file *f = g->files[i];
        uint64_t room = headroom > f->size / 2 ? headroom : f->size / 2;
        if (f->size + room > f->resv) {
            int rc = relocate(f, 2 * (f->size + room));
            if (rc)
                return rc;
        }
    }
    return 0;
}

const char *pager_base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

char *pager_path_cat(const char *a, size_t alen, const char *b)
{
    size_t bl = strlen(b);
    char *s = malloc(alen + bl + 1);
    if (s) {
        memcpy(s, a, alen);
        memcpy(s + alen, b, bl + 1);
    }
    return s;
}

int pager_exists(pager_group *g, const char *path)
{
    int fd;
    if (g->os->open(g->os->ctx, path, UDB_OS_READ, &fd) != 0)
        return 0;
    g->os->close(g->os->ctx, fd);
    return 1;
}

/* X+ext for a group whose member 0 is X.ndx (*out NULL otherwise). */
static int sibling(pager_group *g, const char *ext, char **out)
{
    const char *p = g->nfiles ? g->files[0]->path : "";
    size_t n = strlen(p);
    *out = NULL;
    if (n <= 4 || strcmp(p + n - 4, ".ndx"))
        return 0;
    return (*out = pager_path_cat(p, n - 4, ext)) ? 0 : udb_err_set(g->err, UDB_NOMEM, "out of memory");
}

int pager_join_dat(pager_group *g, const char *only_with)
{
    char *dat = NULL, *with = NULL;
    pager_file *f;
    int rc = g->nfiles == 1 ? sibling(g, ".dat", &dat) : 0;
    if (!rc && dat && only_with)
        rc = sibling(g, only_with, &with);
    if (!rc && dat && pager_exists(g, dat) && (!only_with || pager_exists(g, with)))
        rc = pager_file_open(g, dat, PAGER_OPEN, &f);
    free(dat);
    free(with);
    return rc;
}

char *pager_heap_log(pager_group *g)
{
    char *dat = NULL, *log = NULL;
    if (sibling(g, ".dat", &dat) || sibling(g, ".dat-wal", &log) || !log || !pager_exists(g, log)) {
        free(dat);
        dat = NULL;
    }
    free(log);
    return dat;
}

/* Make the directory entry of path durable (best effort: some systems
   refuse to sync a directory). */
int pager_sync_dir(pager_group *g, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + (slash == path) : 1;
    char *dir = malloc(n + 1);
    if (!dir)
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    memcpy(dir, slash ? path : ".", n);
    dir[n] = 0;
    int fd;
    if (g->os->open(g->os->ctx, dir, UDB_OS_READ, &fd) == 0) {
        g->os->fsync(g->os->ctx, fd);
        g->os->close(g->os->ctx, fd);
    }
    free(dir);
    return 0;
}

int pager_journal_mode(const pager_group *g)
{
    return !g->attached ? 0 : g->wal ? UDB_JOURNAL_WAL : UDB_JOURNAL_ROLLBACK;
}

/* ---- group and files ------------------------------------------------------------ */
int pager_group_open(const udb_options *opts, udb_err *err, pager_group **out)
{
    udb_options d;
    if (!opts) {
        udb_options_init(&d);
        opts = &d;
    }
    pager_group *g = calloc(1, sizeof *g);
    if (!g)
        return udb_err_set(err, UDB_NOMEM, "out of memory");
    g->os = opts->os ? opts->os : udb_os_posix();
    g->err = err;
    g->readonly = (opts->flags & UDB_RDONLY) != 0;
    g->exclusive = (opts->flags & UDB_EXCLUSIVE) != 0;
    g->sync = opts->sync;
    g->lock_timeout_ms = opts->lock_timeout_ms;
    g->dirty_limit = opts->dirty_limit ? opts->dirty_limit : DIRTY_LIMIT_DEFAULT;
    g->jfd = -1;
    g->journal = opts->journal;
    g->wal_ckpt = opts->wal_autocheckpoint ? opts->wal_autocheckpoint : WAL_CKPT_DEFAULT;
    g->log.fd = -1;
    g->shm_fd = -1;
    *out = g;
    return 0;
}

int pager_readonly(const pager_group *g) { return g->readonly; }
int pager_state(const pager_group *g) { return g->state; }
const udb_os *pager_os(const pager_group *g) { return g->os; }

static void file_free(pager_file *f)
{
    if (!f)
        return;
    if (f->base)
        f->g->os->unmap(f->g->os->ctx, f->base, f->resv);
    if (f->fd >= 0)
        f->g->os->close(f->g->os->ctx, f->fd);
    bits_free(f->dirty, f->bit_words);
    bits_free(f->journaled, f->bit_words);
    bits_free(f->kept, f->bit_words);
    free(f->path);
    free(f);
}

void pager_group_close(pager_group *g)
{
    if (!g)
        return;
    if (g->state == PAGER_WRITE)
        pager_rollback(g);
    else if (g->state == PAGER_READ)
        pager_read_end(g);
    pager_wb_stop(g);
    wal_detach(g);
    pager_unlock_all(g);
    for (int i = 0; i < g->nfiles; i++)
        file_free(g->files[i]);
    journal_close(g);
    lockwait_put(g->lw);
    pw_free_txn(g);
    free(g->wal_path);
    free(g->shm_path);
    free(g->xwal_path);
    free(g);
}

static int file_stat(pager_file *f, uint64_t *size, int64_t *mtime)
{
    int rc = f->g->os->fstat(f->g->os->ctx, f->fd, size, mtime);
    if (rc == -EINVAL)
        return udb_err_set(f->g->err, UDB_INVAL, "%s is not a regular file", f->path);
    return rc < 0 ? pager_oserr(f->g, rc, "cannot stat", f->path) : 0;
}

int pager_file_open(pager_group *g, const char *path, int mode, pager_file **out)
{
    if (g->nfiles >= PAGER_MAX_FILES)
        return udb_err_set(g->err, UDB_INVAL, "too many files in one group");
    if (mode == PAGER_CREATE && g->readonly)
        return udb_err_set(g->err, UDB_READONLY, "cannot create %s read-only", path);
    pager_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return udb_err_set(g->err, UDB_NOMEM, "out of memory");
    }
    f->g = g;
    f->fd = -1;
    unsigned ps = g->os->page_size(g->os->ctx);
    while (((unsigned)1 << f->pshift) < ps)
        f->pshift++;
    int flags = g->readonly ? UDB_OS_READ : UDB_OS_RDWR;
    if (mode == PAGER_CREATE)
        flags |= UDB_OS_CREATE | UDB_OS_EXCL;
    int rc = g->os->open(g->os->ctx, path, flags, &f->fd);
    if (rc < 0) {
        int code = rc == -EEXIST ? UDB_EXISTS : rc == -ENOENT ? UDB_NOTFOUND
                   : rc == -EACCES || rc == -EROFS ? UDB_READONLY : UDB_IO;
        udb_err_set(g->err, code, "cannot %s %s: %s", mode == PAGER_CREATE ? "create" : "open",
                    path, strerror(-rc));
        file_free(f);
        return code;
    }
    f->idx = g->nfiles;
    g->files[g->nfiles++] = f;
    uint64_t dev, ino;
    if (f->idx == 0 && !g->lw && g->os == udb_os_posix() &&
        g->os->file_id(g->os->ctx, f->fd, &dev, &ino) == 0)
        g->lw = lockwait_get(dev, ino); /* NULL (out of memory): waits poll */
    if ((rc = file_stat(f, &f->disk_size, &f->mtime)) || (rc = map_fresh(f)) ||
        (rc = bits_reserve(f, pager_round(f, f->disk_size) >> f->pshift))) {
        g->files[--g->nfiles] = NULL;
        file_free(f);
        return rc;
    }
    f->size = f->orig_size = f->disk_size;
    f->dirty_lo = f->kept_lo = f->jr_lo = UINT64_MAX;
    if (mode == PAGER_CREATE)
        g->created = 1;
    if (f->idx <= 1 && (rc = journal_attach(g, path, f->idx)) != 0) {
        g->files[--g->nfiles] = NULL;
        file_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* ---- access --------------------------------------------------------------------- */
const uint8_t *pager_oob(pager_file *f, uint64_t pos, size_t len)
{
    udb_err_set(f->g->err, UDB_CORRUPT, "%s: %zu bytes at offset %llu lie outside the file (%llu bytes)",
                f->path, len, (unsigned long long)pos, (unsigned long long)f->size);
    return NULL;
}

int pager_next_data(pager_file *f, uint64_t off, uint64_t *start, uint64_t *end)
{
    const pager_group *g = f->g;
    uint64_t s = off, e = f->size;
    if (off >= f->size)
        return 1;
    /* what the handle shows may differ from the file: pages of a WAL, of
       this transaction, a size not yet on disk */
    int as_on_disk = !g->wal && !g->spilled && f->dirty_hi <= f->dirty_lo && f->size == f->disk_size;
    if (as_on_disk && g->os->next_data) {
        int rc = g->os->next_data(g->os->ctx, f->fd, off, &s, &e);
        if (rc == -ENXIO || (!rc && s >= f->size))
            return 1;
        if (rc || s < off || e <= s)
            s = off, e = f->size; /* cannot tell: every byte */
        else if (e > f->size)
            e = f->size;
    }
    *start = s;
    *end = e;
    return 0;
}

/* First change of a page in this transaction. */
static int page_dirty(pager_file *f, uint64_t pg)
{
    pager_group *g = f->g;
    if (g->wb_f == f && pg >= g->wb_lo >> f->pshift && pg < g->wb_hi >> f->pshift) {
        int rc = pager_wb_finish(g); /* the page is being written behind: wait */
        if (rc)
            return rc;
    }
    uint64_t orig_pages = pager_round(f, f->orig_size) >> f->pshift;
    if (!g->wal && pg < orig_pages && !bit(f->journaled, pg)) {
        int rc = journal_add(g, f, pg);
        if (rc)
            return rc;
        mark_journaled(f, pg);
    } else if (g->wal && pg < orig_pages) {
        int rc = wal_keep_before(g, f, pg);
        if (rc)
            return rc;
    } else if (pg < f->wb_end >> f->pshift) {
        f->wb_again++; /* written behind, changed again */
    }
    if (f->kept_pages && bit(f->kept, pg)) { /* spilled: its copy is here still */
        bit_clr(f->kept, pg);
        f->kept_pages--;
    }
    bit_set(f->dirty, pg);
    if (pg < f->dirty_lo)
        f->dirty_lo = pg;
    if (pg + 1 > f->dirty_hi)
        f->dirty_hi = pg + 1;
    g->dirty_bytes += page_size(f);
    return 0;
}

uint8_t *pager_put_slow(pager_file *f, uint64_t pos, size_t len)
{
    pager_group *g = f->g;
    if (g->state != PAGER_WRITE) {
        udb_err_set(g->err, g->readonly ? UDB_READONLY : UDB_INVAL,
                    "%s: write outside a write transaction", f->path);
        return NULL;
    }
    if (!len || pos > f->size || len > f->size - pos) {
        pager_oob(f, pos, len);
        return NULL;
    }
    for (uint64_t pg = pos >> f->pshift; pg <= (pos + len - 1) >> f->pshift; pg++)
        if (!bit(f->dirty, pg) && page_dirty(f, pg)) {
            g->poisoned = 1;
            return NULL;
        }
    return f->base + pos;
}

int pager_extend(pager_file *f, uint64_t newsize, uint64_t *at)
{
    pager_group *g = f->g;
    if (g->state != PAGER_WRITE)
        return udb_err_set(g->err, UDB_INVAL, "%s: extend outside a write transaction", f->path);
    uint64_t old = f->size;
    if (at)
        *at = old;
    if (newsize <= old)
        return 0;
    if (newsize > f->resv)
        return udb_err_set(g->err, UDB_NOMEM, "%s: growth to %llu bytes exceeds the address space reserved",
                           f->path, (unsigned long long)newsize);
    int rc = bits_reserve(f, pager_round(f, newsize) >> f->pshift);
    if (rc)
        return rc;
    uint64_t need = pager_round(f, newsize);
    if (need > f->anon_end) {
        /* a quarter more (at most ANON_STEP_MAX: room a system that charges
           every writable page up front must grant), in whole pages: a
           mapping must start on a page */
        uint64_t step = f->anon_end / 4 > ANON_CHUNK ? f->anon_end / 4 : ANON_CHUNK;
        uint64_t end = pager_round(f, f->anon_end + (step < ANON_STEP_MAX ? step : ANON_STEP_MAX));
        if (end < need)
            end = need;
        if (end > f->resv)
            end = f->resv;
        if ((rc = pager_map_range(f, f->anon_end, end, MAP_ANON_PART)))
            return rc;
        f->anon_end = end;
    }
    f->size = newsize;
    if (!pager_put_slow(f, old, (size_t)(newsize - old))) {
        f->size = old;
        return g->err->code ? g->err->code : UDB_IO;
    }
    if (old < f->zero_from) /* the rest is fresh memory, zero already */
        memset(f->base + old, 0, (size_t)((newsize < f->zero_from ? newsize : f->zero_from) - old));
    if (newsize > f->zero_from)
        f->zero_from = newsize;
    return 0;
}

/* Pages [pg, end) of f, not journaled yet, are cut off: their images are
   the file's on disk (a page this transaction wrote was journaled first).
   Whole pages in a hole of the file are zeros: one zero record per run,
   so that cutting a huge sparse tail costs no journal the size of it. */
static int journal_cut(pager_file *f, uint64_t pg, uint64_t end)
{
    pager_group *g = f->g;
    while (pg < end) {
        uint64_t s = 0, e = 0, holes = pg, data_end = pg + 1;
        int os = g->os->next_data ? g->os->next_data(g->os->ctx, f->fd, pg << f->pshift, &s, &e) : -1;
        if (os == -ENXIO)
            holes = end; /* no data from here on */
        else if (!os && s >= pg << f->pshift && e > s) { /* else: cannot tell, every page */
            holes = s >> f->pshift;
            data_end = pager_round(f, e) >> f->pshift;
        }
        if (holes > end)
            holes = end;
        if (data_end > end)
            data_end = end;
        int rc = holes > pg ? journal_add_zeros(g, f, pg, holes - pg) : 0;
        for (; !rc && holes > pg; pg++)
            mark_journaled(f, pg);
        for (; !rc && pg < data_end; pg++)
            if (!(rc = journal_add(g, f, pg)))
                mark_journaled(f, pg);
        if (rc)
            return rc;
    }
    return 0;
}

int pager_truncate(pager_file *f, uint64_t newsize)
{
    pager_group *g = f->g;
    if (g->state != PAGER_WRITE)
        return udb_err_set(g->err, UDB_INVAL, "%s: truncate outside a write transaction", f->path);
    if (newsize >= f->size)
        return 0;
    /* pages that existed at transaction start and are cut off must be
       journaled so that rollback can restore them */
    uint64_t orig_pages = g->wal ? 0 : pager_round(f, f->orig_size) >> f->pshift;
    for (uint64_t pg = newsize >> f->pshift; pg < orig_pages;) {
        uint64_t run = pg;
        while (run < orig_pages && !bit(f->journaled, run))
            run++;
        int rc = run > pg ? journal_cut(f, pg, run) : 0;
        if (rc) {
            g->poisoned = 1;
            return rc;
        }
        pg = run > pg ? run : pg + 1;
    }
    if (newsize & (page_size(f) - 1) && !pager_put_slow(f, newsize - 1, 1))
        return g->err->code;
    f->size = newsize;
    g->size_changed = 1;
    return 0;
}

void pager_get_stats(const pager_group *g, pager_stats *out)
{
    *out = g->stats;
}
