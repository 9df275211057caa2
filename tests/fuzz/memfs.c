/*
 * memfs.c — the in-memory udb_os table (memfs.h). Owns its files, descriptors,
 * locks and the bookkeeping of the maps it hands out; knows nothing about
 * what the files hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "memfs.h"

#define MAXFD 64
#define FD_BASE 1000            /* never a real descriptor of a small process */
#define MAXLOCK 8               /* locked bytes per descriptor */
#define PATH_CAP 4096
#define NAME_CAP 255
#define LIMIT_DEFAULT ((uint64_t)64 << 20)
#define SPARE_MAX 8             /* address ranges kept for reuse */
#define SPARE_KEEP ((size_t)1 << 20) /* ... with the pages they had this far in */
#define POOL_DATA_MAX ((uint64_t)1 << 20) /* file buffers kept for reuse up to this size */

typedef struct mnode {
    char path[PATH_CAP + 1];    /* as created (kept once unlinked: open descriptors name it) */
    int linked;
    uint8_t *data;
    uint64_t size, cap;
    int64_t mtime;
    unsigned refs;              /* descriptors and maps holding it */
} mnode;

typedef struct mlk {
    uint64_t byte;
    int type;                   /* 1 shared, 2 exclusive */
} mlk;

typedef struct mfd {
    int used, writable;
    mnode *nd;                  /* NULL: a directory */
    mlk lk[MAXLOCK];
    unsigned nlk;
} mfd;

typedef struct mreg {           /* a private map of a file */
    uint8_t *addr;
    size_t pages;
    mnode *nd;
    uint64_t off;
    int prot;                   /* of the accessible pages */
    uint8_t *acc;               /* per page: 1 shows the file, 0 PROT_NONE */
} mreg;

typedef struct mrange {         /* address space handed out with addr == NULL */
    uint8_t *addr;
    size_t len;
    size_t touched;             /* no page from here on was ever accessible */
} mrange;

typedef struct mpend {          /* a page that follows a change of its file */
    size_t reg, page;
} mpend;

struct memfs {
    udb_os os;
    mnode **nodes;
    size_t nnodes, capnodes;
    mnode **pool;               /* nodes gone, kept with their buffers: an execution
                                   builds its files without the allocator */
    size_t npool, cappool;
    char (*dirs)[PATH_CAP + 1];
    size_t ndirs, capdirs;
    mfd fds[MAXFD];
    int fd_hi;                  /* no slot from here on was used since the reset */
    mreg *regs;
    size_t nregs, capregs;
    mrange *res;
    size_t nres, capres;
    mrange spare[SPARE_MAX];    /* returned ranges, PROT_NONE, emptied beyond
                                   SPARE_KEEP: a new range of the same size
                                   reuses one, and a file mapped into it is
                                   copied onto pages that exist (no page tables
                                   and pages built and torn down each time) */
    unsigned nspare;
    mpend *pend;
    size_t npend, cappend;
    memfs_guard_fn guard;
    void *garg;
    uint64_t limit;
    long fail_at, changes;
    int fail_err, crash, crashed;
    int64_t clock;
    uint64_t gen;               /* files created, changed or unlinked so far */
    uint64_t entropy;
    size_t ps;
    uint8_t *zero;              /* one page of zeros */
};

/* ---- small helpers ---------------------------------------------------------------- */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

/* Equal strings, compared here: strcmp's interceptor would hand every
   path memfs looks up to libFuzzer as a comparison made by the code under
   test (and cost as much as the lookup). */
static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Absolute path without ".", ".." or empty components. */
static int norm(const char *in, char *out)
{
    size_t o = 0;
    if (strlen(in) >= PATH_CAP)
        return -ENAMETOOLONG;
    for (const char *s = in; *s;) {
        while (*s == '/')
            s++;
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l > NAME_CAP)
            return -ENAMETOOLONG;
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[--o] != '/')
                ;
        } else if (l && !(l == 1 && s[0] == '.')) {
            out[o++] = '/';
            memcpy(out + o, s, l);
            o += l;
        }
        s += l;
    }
    if (!o)
        out[o++] = '/';
    out[o] = 0;
    return 0;
}

static int is_dir(const memfs *m, const char *p)
{
    if (same(p, "/"))
        return 1;
    for (size_t i = 0; i < m->ndirs; i++)
        if (same(m->dirs[i], p))
            return 1;
    return 0;
}

static int parent_is_dir(const memfs *m, const char *p)
{
    char par[PATH_CAP + 1];
    const char *s = strrchr(p, '/');
    size_t l = s == p ? 1 : (size_t)(s - p);
    memcpy(par, p, l);
    par[l] = 0;
    return is_dir(m, par);
}

static mnode *find(const memfs *m, const char *p)
{
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i]->linked && same(m->nodes[i]->path, p))
            return m->nodes[i];
    return NULL;
}

/* A node no longer in the tree goes to the pool (its buffer with it,
   unless large). */
static void node_release(memfs *m, mnode *nd)
{
    if (nd->cap > POOL_DATA_MAX || grow((void **)&m->pool, &m->cappool, m->npool + 1, sizeof *m->pool)) {
        free(nd->data);
        nd->data = NULL;
        nd->cap = 0;
    }
    if (m->npool < m->cappool)
        m->pool[m->npool++] = nd;
    else
        free(nd);
}

static void node_put(memfs *m, mnode *nd)
{
    if (nd->refs || nd->linked)
        return;
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i] == nd) {
            m->nodes[i] = m->nodes[--m->nnodes];
            break;
        }
    node_release(m, nd);
}

static mnode *node_new(memfs *m, const char *p)
{
    if (grow((void **)&m->nodes, &m->capnodes, m->nnodes + 1, sizeof *m->nodes))
        return NULL;
    mnode *nd = m->npool ? m->pool[--m->npool] : calloc(1, sizeof *nd);
    if (!nd)
        return NULL;
    memcpy(nd->path, p, strlen(p) + 1); /* normalised: shorter than PATH_CAP */
    nd->linked = 1;
    nd->size = 0;
    nd->refs = 0;
    nd->mtime = ++m->clock;
    m->gen++;
    m->nodes[m->nnodes++] = nd;
    return nd;
}

static void unlink_node(memfs *m, mnode *nd)
{
    m->gen++;
    nd->linked = 0;
    node_put(m, nd);
}

static mfd *fd_of(memfs *m, int fd)
{
    unsigned i = (unsigned)(fd - FD_BASE);
    return i < MAXFD && m->fds[i].used ? &m->fds[i] : NULL;
}

static mfd *file_fd(memfs *m, int fd)
{
    mfd *f = fd_of(m, fd);
    return f && f->nd ? f : NULL;
}

static int refused(memfs *m, const char *op, const char *path)
{
    return m->guard && m->guard(m->garg, op, path);
}

/* 0: go ahead; else the error of an injected fault. */
static int fault(memfs *m)
{
    m->changes++;
    if (m->crashed)
        return -EIO;
    if (m->changes != m->fail_at)
        return 0;
    m->crashed = m->crash;
    return -m->fail_err;
}

/* ---- maps of files ------------------------------------------------------------------ */
static int page_mirrors(const memfs *m, const mreg *r, size_t i)
{
    uint64_t fo = r->off + i * m->ps, size = r->nd->size;
    size_t n = fo < size ? (size_t)(size - fo < m->ps ? size - fo : m->ps) : 0;
    const uint8_t *p = r->addr + i * m->ps;
    return (!n || !memcmp(p, r->nd->data + fo, n)) && !memcmp(p + n, m->zero, m->ps - n);
}

/* Show the file in page i of r (or PROT_NONE beyond its end). */
static void page_load(memfs *m, mreg *r, size_t i)
{
    uint64_t fo = r->off + i * m->ps, size = r->nd->size;
    uint8_t *p = r->addr + i * m->ps;
    if (fo >= size) {
        if (r->acc[i])
            mprotect(p, m->ps, PROT_NONE);
        r->acc[i] = 0;
        return;
    }
    size_t n = (size_t)(size - fo < m->ps ? size - fo : m->ps);
    if (r->prot != (PROT_READ | PROT_WRITE) || !r->acc[i])
        mprotect(p, m->ps, PROT_READ | PROT_WRITE);
    memcpy(p, r->nd->data + fo, n);
    memset(p + n, 0, m->ps - n);
    if (r->prot != (PROT_READ | PROT_WRITE))
        mprotect(p, m->ps, r->prot);
    r->acc[i] = 1;
}

/* Before the bytes [lo, hi) of nd change: remember the pages of every map
   that still mirror the file there. */
static int change_begin(memfs *m, const mnode *nd, uint64_t lo, uint64_t hi)
{
    m->npend = 0;
    for (size_t k = 0; k < m->nregs; k++) {
        mreg *r = &m->regs[k];
        uint64_t end = r->off + r->pages * m->ps;
        if (r->nd != nd || hi <= r->off || lo >= end)
            continue;
        size_t i0 = lo > r->off ? (size_t)((lo - r->off) / m->ps) : 0;
        size_t i1 = hi < end ? (size_t)((hi - r->off + m->ps - 1) / m->ps) : r->pages;
        for (size_t i = i0; i < i1; i++)
            if (!r->acc[i] || page_mirrors(m, r, i)) {
                if (grow((void **)&m->pend, &m->cappend, m->npend + 1, sizeof *m->pend))
                    return -ENOMEM;
                m->pend[m->npend++] = (mpend){k, i};
            }
    }
    return 0;
}

static void change_end(memfs *m, mnode *nd)
{
    for (size_t k = 0; k < m->npend; k++)
        page_load(m, &m->regs[m->pend[k].reg], m->pend[k].page);
    m->npend = 0;
    nd->mtime = ++m->clock;
    m->gen++;
}

static int resize(memfs *m, mnode *nd, uint64_t size)
{
    if (size > m->limit)
        return -EFBIG;
    if (size > nd->cap) {
        uint64_t c = nd->cap ? nd->cap : 256;
        while (c < size)
            c *= 2;
        uint8_t *p = realloc(nd->data, (size_t)c);
        if (!p)
            return -ENOMEM;
        nd->data = p;
        nd->cap = c;
    }
    if (size > nd->size)
        memset(nd->data + nd->size, 0, (size_t)(size - nd->size));
    nd->size = size;
    return 0;
}

/* Forget the maps in [a, b): they were replaced or unmapped. */
static int drop_regions(memfs *m, uint8_t *a, uint8_t *b)
{
    for (size_t k = 0; k < m->nregs;) {
        mreg *r = &m->regs[k];
        uint8_t *ra = r->addr, *rb = r->addr + r->pages * m->ps;
        if (b <= ra || a >= rb) {
            k++;
            continue;
        }
        size_t keep_lo = a > ra ? (size_t)(a - ra) / m->ps : 0;
        size_t tail = b < rb ? (size_t)(rb - b) / m->ps : 0;
        if (keep_lo && tail) { /* a hole in the middle: the tail becomes a map of its own */
            if (grow((void **)&m->regs, &m->capregs, m->nregs + 1, sizeof *m->regs))
                return -ENOMEM;
            r = &m->regs[k];
            mreg t = *r;
            if (!(t.acc = malloc(tail)))
                return -ENOMEM;
            memcpy(t.acc, r->acc + r->pages - tail, tail);
            t.addr = rb - tail * m->ps;
            t.off = r->off + (r->pages - tail) * m->ps;
            t.pages = tail;
            t.nd->refs++;
            m->regs[m->nregs++] = t;
            r->pages = keep_lo;
        } else if (keep_lo) {
            r->pages = keep_lo;
        } else if (tail) {
            size_t cut = r->pages - tail;
            memmove(r->acc, r->acc + cut, tail);
            r->addr += cut * m->ps;
            r->off += cut * m->ps;
            r->pages = tail;
        } else {
            mnode *nd = r->nd;
            free(r->acc);
            m->regs[k] = m->regs[--m->nregs];
            nd->refs--;
            node_put(m, nd);
            continue;
        }
        k++;
    }
    return 0;
}

/* Show the file in [p, p+len), which is read-write (fresh) or, reused,
   anything: every page is written or made PROT_NONE. */
static int map_file(memfs *m, mfd *f, uint8_t *p, size_t len, int prot, uint64_t off, int reused)
{
    mreg r = {p, len / m->ps, f->nd, off, prot, calloc(len / m->ps + 1, 1)};
    if (!r.acc || grow((void **)&m->regs, &m->capregs, m->nregs + 1, sizeof *m->regs)) {
        free(r.acc);
        return -ENOMEM;
    }
    uint64_t size = f->nd->size;
    size_t in = off < size ? (size_t)((size - off + m->ps - 1) / m->ps) : 0;
    if (in > r.pages)
        in = r.pages;
    if (in) {
        size_t n = (size_t)(size - off < (uint64_t)in * m->ps ? size - off : (uint64_t)in * m->ps);
        if (reused)
            mprotect(p, in * m->ps, PROT_READ | PROT_WRITE);
        memcpy(p, f->nd->data + off, n);
        if (reused)
            memset(p + n, 0, in * m->ps - n);
        memset(r.acc, 1, in);
    }
    if (r.pages > in)
        mprotect(p + in * m->ps, (r.pages - in) * m->ps, PROT_NONE);
    if (in && prot != (PROT_READ | PROT_WRITE))
        mprotect(p, in * m->ps, prot);
    f->nd->refs++;
    m->regs[m->nregs++] = r;
    return 0;
}

/* Take [a, a+len) out of the address space handed out. */
static int drop_reserved(memfs *m, uint8_t *a, size_t len)
{
    uint8_t *b = a + len;
    for (size_t k = 0; k < m->nres;) {
        mrange *r = &m->res[k];
        uint8_t *ra = r->addr, *rb = r->addr + r->len;
        if (b <= ra || a >= rb) {
            k++;
        } else if (a > ra && b < rb) {
            if (grow((void **)&m->res, &m->capres, m->nres + 1, sizeof *m->res))
                return -ENOMEM;
            size_t t = m->res[k].touched, cut = (size_t)(b - ra);
            m->res[m->nres++] = (mrange){b, (size_t)(rb - b), t > cut ? t - cut : 0};
            m->res[k].len = (size_t)(a - ra);
            k++;
        } else if (a > ra) {
            r->len = (size_t)(a - ra);
            k++;
        } else if (b < rb) {
            size_t cut = (size_t)(b - ra);
            r->touched = r->touched > cut ? r->touched - cut : 0;
            r->addr = b;
            r->len = (size_t)(rb - b);
            k++;
        } else {
            m->res[k] = m->res[--m->nres];
        }
    }
    return 0;
}

/* The range handed out that holds [a, a+len), or NULL. */
static mrange *reserved(memfs *m, const uint8_t *a, size_t len)
{
    for (size_t k = 0; k < m->nres; k++) {
        mrange *r = &m->res[k];
        if (a >= r->addr && len <= r->len && (size_t)(a - r->addr) <= r->len - len)
            return r;
    }
    return NULL;
}

/* A whole range handed out is being returned: keep it for reuse. */
static int keep_spare(memfs *m, uint8_t *a, size_t len)
{
    size_t k = 0;
    while (k < m->nres && (m->res[k].addr != a || m->res[k].len != len))
        k++;
    if (k == m->nres || m->nspare == SPARE_MAX)
        return 0;
    size_t t = m->res[k].touched;
    if ((t > SPARE_KEEP && madvise(a + SPARE_KEEP, t - SPARE_KEEP, MADV_DONTNEED)) ||
        (t && mprotect(a, t, PROT_NONE)))
        return 0;
    m->res[k] = m->res[--m->nres];
    m->spare[m->nspare++] = (mrange){a, len, t < SPARE_KEEP ? t : SPARE_KEEP};
    return 1;
}

/* A spare range of len bytes, or NULL; *touched as kept. */
static void *take_spare(memfs *m, size_t len, size_t *touched)
{
    for (unsigned k = 0; k < m->nspare; k++)
        if (m->spare[k].len == len) {
            void *a = m->spare[k].addr;
            *touched = m->spare[k].touched;
            m->spare[k] = m->spare[--m->nspare];
            return a;
        }
    return NULL;
}

/* ---- the table -------------------------------------------------------------------------- */
static int m_open(void *ctx, const char *path, int flags, int *fd)
{
    memfs *m = ctx;
    char p[PATH_CAP + 1];
    int rc = norm(path, p), slot = 0;
    if (rc)
        return rc;
    while (slot < MAXFD && m->fds[slot].used)
        slot++;
    if (slot == MAXFD)
        return -EMFILE;
    int create = (flags & UDB_OS_CREATE) != 0, rw = (flags & UDB_OS_RDWR) != 0;
    mnode *nd = NULL;
    if (is_dir(m, p)) {
        if (create && (flags & UDB_OS_EXCL))
            return -EEXIST;
        if (create || rw)
            return -EISDIR;
    } else {
        nd = find(m, p);
        if (nd && create && (flags & UDB_OS_EXCL))
            return -EEXIST;
        if (!nd && (!create || !parent_is_dir(m, p)))
            return -ENOENT;
        if ((create || rw) && refused(m, "open", p))
            return -EACCES;
        if (!nd && m->crashed)
            return -EIO;
        if (!nd && !(nd = node_new(m, p)))
            return -ENOMEM;
    }
    mfd *f = &m->fds[slot];
    memset(f, 0, sizeof *f);
    if (slot >= m->fd_hi)
        m->fd_hi = slot + 1;
    f->used = 1;
    f->writable = rw;
    f->nd = nd;
    if (nd)
        nd->refs++;
    *fd = FD_BASE + slot;
    return 0;
}

static int m_close(void *ctx, int fd)
{
    memfs *m = ctx;
    mfd *f = fd_of(m, fd);
    if (!f)
        return -EBADF;
    mnode *nd = f->nd;
    memset(f, 0, sizeof *f);
    if (nd) {
        nd->refs--;
        node_put(m, nd);
    }
    return 0;
}

static int m_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
    memfs *m = ctx;
    mfd *f = fd_of(m, fd);
    if (!f)
        return -EBADF;
    if (!f->nd)
        return -EISDIR;
    uint64_t size = f->nd->size;
    size_t k = off < size ? (size_t)(size - off < n ? size - off : n) : 0;
    if (k)
        memcpy(buf, f->nd->data + off, k);
    *got = k;
    return 0;
}

static int m_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
    memfs *m = ctx;
    mfd *f = file_fd(m, fd);
    if (!f || !f->writable)
        return -EBADF;
    if (refused(m, "write", f->nd->path))
        return -EACCES;
    int rc = fault(m);
    if (rc)
        return rc;
    mnode *nd = f->nd;
    if (off > m->limit || n > m->limit - off)
        return -EFBIG;
    uint64_t lo = off < nd->size ? off : nd->size, hi = off + n > nd->size ? off + n : nd->size;
    if ((rc = change_begin(m, nd, lo, hi)) || (rc = resize(m, nd, hi)))
        return rc;
    if (n)
        memcpy(nd->data + off, buf, n);
    change_end(m, nd);
    return 0;
}

static int m_fsync(void *ctx, int fd)
{
    memfs *m = ctx;
    return fd_of(m, fd) ? fault(m) : -EBADF;
}

static int m_ftruncate(void *ctx, int fd, uint64_t size)
{
    memfs *m = ctx;
    mfd *f = file_fd(m, fd);
    if (!f || !f->writable)
        return f ? -EINVAL : -EBADF;
    if (refused(m, "truncate", f->nd->path))
        return -EACCES;
    int rc = fault(m);
    if (rc)
        return rc;
    mnode *nd = f->nd;
    if (size > m->limit)
        return -EFBIG;
    uint64_t lo = size < nd->size ? size : nd->size, hi = size < nd->size ? nd->size : size;
    if ((rc = change_begin(m, nd, lo, hi)) || (rc = resize(m, nd, size)))
        return rc;
    change_end(m, nd);
    return 0;
}

static int m_fstat(void *ctx, int fd, uint64_t *size, int64_t *mtime_ns)
{
    memfs *m = ctx;
    mfd *f = fd_of(m, fd);
    if (!f)
        return -EBADF;
    if (!f->nd)
        return -EINVAL;
    *size = f->nd->size;
    *mtime_ns = f->nd->mtime;
    return 0;
}

static mlk *held(mfd *f, uint64_t byte)
{
    for (unsigned i = 0; i < f->nlk; i++)
        if (f->lk[i].byte == byte)
            return &f->lk[i];
    return NULL;
}

static int m_lock(void *ctx, int fd, int type, uint64_t start, uint64_t len)
{
    memfs *m = ctx;
    mfd *f = file_fd(m, fd);
    if (!f)
        return -EBADF;
    if (len == 0 || len > MAXLOCK || type < 0 || type > 3 || start > UINT64_MAX - len)
        return -EINVAL;
    for (uint64_t b = start; type && b < start + len; b++)
        for (int i = 0; i < m->fd_hi; i++) {
            mfd *o = &m->fds[i];
            mlk *l = o != f && o->used && o->nd == f->nd ? held(o, b) : NULL;
            if (l && (type >= 2 || l->type == 2))
                return -EAGAIN;
        }
    if (type == 3) /* a test: would an exclusive lock be granted? */
        return 0;
    for (uint64_t b = start; b < start + len; b++) {
        mlk *l = held(f, b);
        if (!type && l)
            *l = f->lk[--f->nlk];
        else if (type && l)
            l->type = type;
        else if (type && f->nlk == MAXLOCK)
            return -ENOLCK;
        else if (type)
            f->lk[f->nlk++] = (mlk){b, type};
    }
    return 0;
}

static int m_unlink(void *ctx, const char *path)
{
    memfs *m = ctx;
    char p[PATH_CAP + 1];
    int rc = norm(path, p);
    if (rc)
        return rc;
    mnode *nd = find(m, p);
    if (!nd)
        return is_dir(m, p) ? -EISDIR : -ENOENT;
    if (refused(m, "unlink", p))
        return -EACCES;
    if ((rc = fault(m)))
        return rc;
    unlink_node(m, nd);
    return 0;
}

static int m_map(void *ctx, void *addr, size_t len, int prot, int fd, uint64_t off, void **out)
{
    memfs *m = ctx;
    if (prot & UDB_MAP_SHARED)
        return -ENODEV; /* no shared maps here: WAL mode's shared memory fails to open */
    int p = prot == 0 ? PROT_NONE : prot == 1 ? PROT_READ : PROT_READ | PROT_WRITE;
    mfd *f = NULL;
    if (fd >= 0 && !(f = fd_of(m, fd)))
        return -EBADF;
    if (f && !f->nd)
        return -ENODEV;
    if (prot == 0)
        f = NULL; /* nothing to see: address space only */
    if (!len || (uintptr_t)addr % m->ps || (f && off % m->ps))
        return -EINVAL;
    len = (len + m->ps - 1) / m->ps * m->ps;
    int fl = MAP_PRIVATE | MAP_ANONYMOUS | (addr ? MAP_FIXED : 0);
    if (!f && prot == 0)
        fl |= MAP_NORESERVE;
    /* over address space handed out, a file or nothing is laid on the pages
       there (no fresh pages to fault in); fresh memory must be zeros */
    mrange *in = addr ? reserved(m, addr, len) : NULL;
    size_t touched = 0, end = in ? (size_t)((uint8_t *)addr - in->addr) + len : 0;
    int reuse = in && (f || !prot);
    void *r = reuse ? addr : !addr && !f && !prot ? take_spare(m, len, &touched) : NULL;
    if (reuse && !f && mprotect(addr, len, PROT_NONE))
        return -errno;
    if (in && prot && end > in->touched)
        in->touched = end;
    if (!r)
        r = mmap(addr, len, f ? PROT_READ | PROT_WRITE : p, fl, -1, 0);
    if (r == MAP_FAILED)
        return -errno;
    int rc = drop_regions(m, r, (uint8_t *)r + len);
    if (!rc && !addr)
        rc = grow((void **)&m->res, &m->capres, m->nres + 1, sizeof *m->res);
    if (!rc && !addr)
        m->res[m->nres++] = (mrange){r, len, touched};
    if (!rc && f)
        rc = map_file(m, f, r, len, p, off, reuse);
    if (rc) { /* what was at addr is gone, as after a failed MAP_FIXED */
        if (!addr)
            drop_reserved(m, r, len);
        if (addr)
            mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        else
            munmap(r, len);
        return rc;
    }
    *out = r;
    return 0;
}

static int m_unmap(void *ctx, void *addr, size_t len)
{
    memfs *m = ctx;
    if ((uintptr_t)addr % m->ps)
        return -EINVAL;
    len = (len + m->ps - 1) / m->ps * m->ps;
    int rc = drop_regions(m, addr, (uint8_t *)addr + len);
    if (!rc && keep_spare(m, addr, len))
        return 0;
    if (!rc)
        rc = drop_reserved(m, addr, len);
    if (rc)
        return rc;
    return munmap(addr, len) < 0 ? -errno : 0;
}

static unsigned m_page_size(void *ctx)
{
    return (unsigned)((memfs *)ctx)->ps;
}

static void m_sleep_ms(void *ctx, unsigned ms)
{
    (void)ctx;
    (void)ms;
}

static uint64_t m_entropy(void *ctx)
{
    memfs *m = ctx;
    m->entropy = m->entropy * 6364136223846793005ULL + 1442695040888963407ULL;
    return m->entropy;
}

static void m_writeback(void *ctx, int fd, uint64_t off, uint64_t len)
{
    (void)ctx;
    (void)fd;
    (void)off;
    (void)len;
}

/* Holes as a file system with page-sized blocks would have them: every
   page of zeros is one (so that fuzzed files exercise the callers' skips). */
static int zero_page(const memfs *m, const mnode *nd, uint64_t pg)
{
    uint64_t a = pg * m->ps, n = nd->size - a < m->ps ? nd->size - a : m->ps;
    return !memcmp(nd->data + a, m->zero, (size_t)n);
}

static int m_next_data(void *ctx, int fd, uint64_t off, uint64_t *start, uint64_t *end)
{
    memfs *m = ctx;
    mfd *f = file_fd(m, fd);
    if (!f)
        return -EBADF;
    const mnode *nd = f->nd;
    uint64_t pg = off / m->ps, pages = (nd->size + m->ps - 1) / m->ps;
    while (pg < pages && zero_page(m, nd, pg))
        pg++;
    if (off >= nd->size || pg == pages)
        return -ENXIO;
    *start = pg * m->ps > off ? pg * m->ps : off;
    while (pg < pages && !zero_page(m, nd, pg))
        pg++;
    *end = pg * m->ps < nd->size ? pg * m->ps : nd->size;
    return 0;
}

/* ---- the public side -------------------------------------------------------------------- */
memfs *memfs_new(void)
{
    memfs *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    long ps = sysconf(_SC_PAGESIZE);
    m->ps = ps > 0 ? (size_t)ps : 4096;
    if (!(m->zero = calloc(1, m->ps))) {
        free(m);
        return NULL;
    }
    m->os = (udb_os){.ctx = m,
                     .open = m_open,
                     .close = m_close,
                     .pread = m_pread,
                     .pwrite = m_pwrite,
                     .fsync = m_fsync,
                     .ftruncate = m_ftruncate,
                     .fstat = m_fstat,
                     .lock = m_lock,
                     .unlink = m_unlink,
                     .map = m_map,
                     .unmap = m_unmap,
                     .page_size = m_page_size,
                     .sleep_ms = m_sleep_ms,
                     .entropy = m_entropy,
                     .writeback = m_writeback,
                     .next_data = m_next_data};
    memfs_reset(m);
    return m;
}

void memfs_free(memfs *m)
{
    if (!m)
        return;
    memfs_reset(m);
    for (unsigned k = 0; k < m->nspare; k++)
        munmap(m->spare[k].addr, m->spare[k].len);
    for (size_t i = 0; i < m->npool; i++) {
        free(m->pool[i]->data);
        free(m->pool[i]);
    }
    free(m->pool);
    free(m->nodes);
    free(m->dirs);
    free(m->regs);
    free(m->res);
    free(m->pend);
    free(m->zero);
    free(m);
}

const udb_os *memfs_os(memfs *m)
{
    return &m->os;
}

unsigned memfs_reset(memfs *m)
{
    unsigned leaks = (unsigned)(m->nregs + m->nres);
    for (size_t k = 0; k < m->nregs; k++)
        munmap(m->regs[k].addr, m->regs[k].pages * m->ps);
    for (size_t k = 0; k < m->nres; k++)
        munmap(m->res[k].addr, m->res[k].len);
    for (size_t k = 0; k < m->nregs; k++)
        free(m->regs[k].acc);
    m->nregs = m->nres = 0;
    for (int i = 0; i < m->fd_hi; i++)
        if (m->fds[i].used) {
            leaks++;
            memset(&m->fds[i], 0, sizeof m->fds[i]);
        }
    for (size_t i = 0; i < m->nnodes; i++)
        node_release(m, m->nodes[i]);
    m->nnodes = 0;
    m->ndirs = 0;
    m->fd_hi = 0;
    m->guard = NULL;
    m->limit = LIMIT_DEFAULT;
    m->fail_at = m->changes = 0;
    m->crash = m->crashed = 0;
    m->clock = 1000000000;
    m->entropy = 42;
    return leaks;
}

int memfs_mkdir(memfs *m, const char *path)
{
    char p[PATH_CAP + 1];
    int rc = norm(path, p);
    if (rc)
        return rc;
    if (is_dir(m, p) || find(m, p))
        return -EEXIST;
    if (!parent_is_dir(m, p))
        return -ENOENT;
    if (grow((void **)&m->dirs, &m->capdirs, m->ndirs + 1, sizeof *m->dirs))
        return -ENOMEM;
    memcpy(m->dirs[m->ndirs++], p, strlen(p) + 1);
    return 0;
}

int memfs_put(memfs *m, const char *path, const void *data, size_t len)
{
    char p[PATH_CAP + 1];
    int rc = norm(path, p);
    if (rc)
        return rc;
    if (is_dir(m, p) || !parent_is_dir(m, p))
        return -EISDIR;
    mnode *nd = find(m, p);
    if (nd)
        unlink_node(m, nd);
    if (!(nd = node_new(m, p)))
        return -ENOMEM;
    if ((rc = resize(m, nd, len)))
        return rc;
    if (len)
        memcpy(nd->data, data, len);
    return 0;
}

const uint8_t *memfs_get(memfs *m, const char *path, size_t *len)
{
    char p[PATH_CAP + 1];
    mnode *nd = norm(path, p) ? NULL : find(m, p);
    if (!nd)
        return NULL;
    *len = (size_t)nd->size;
    return nd->data ? nd->data : m->zero;
}

void memfs_set_guard(memfs *m, memfs_guard_fn fn, void *arg)
{
    m->guard = fn;
    m->garg = arg;
}

void memfs_set_limit(memfs *m, uint64_t bytes)
{
    m->limit = bytes ? bytes : LIMIT_DEFAULT;
}

void memfs_fail_at(memfs *m, long at, int err, int crash)
{
    m->fail_at = at;
    m->changes = 0;
    m->fail_err = err;
    m->crash = crash;
    m->crashed = 0;
}

long memfs_changes(const memfs *m)
{
    return m->changes;
}

uint64_t memfs_generation(const memfs *m)
{
    return m->gen;
}
