/*
 * faultos.c — the fault-injecting udb_os table for the crash tests.
 */
#include <errno.h>
#include <string.h>
#include "faultos.h"

/* 0: perform the call; else the value to return instead. */
static int fault(fault_os *f, int is_write)
{
    if (f->crashed)
        return -EIO;
    f->calls++;
    if (f->calls != f->fail_at)
        return 0;
    switch (f->mode) {
    case FAULT_EIO:
        return -EIO;
    case FAULT_ENOSPC:
        return is_write ? -ENOSPC : -EIO;
    case FAULT_CRASH:
        f->crashed = 1;
        return -EIO;
    case FAULT_TORN:
        return is_write ? 1 : (f->crashed = 1, -EIO);
    default:
        return 0;
    }
}

static int f_open(void *ctx, const char *path, int flags, int *fd)
{
    fault_os *f = ctx;
    if ((flags & UDB_OS_CREATE) && f->crashed)
        return -EIO;
    return f->real->open(f->real->ctx, path, flags, fd);
}

static int f_close(void *ctx, int fd)
{
    fault_os *f = ctx;
    return f->real->close(f->real->ctx, fd);
}

static int f_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
    fault_os *f = ctx;
    return f->real->pread(f->real->ctx, fd, buf, n, off, got);
}

static int f_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
    fault_os *f = ctx;
    int r = fault(f, 1);
    if (r == 1) { /* torn: a prefix lands, then the process dies */
        f->crashed = 1;
        size_t keep = n > 1 ? n / 2 + (size_t)(f->fail_at % 7) : 0;
        if (keep >= n)
            keep = n - 1;
        if (keep)
            f->real->pwrite(f->real->ctx, fd, buf, keep, off);
        return -EIO;
    }
    if (!r)
        f->written += n;
    return r ? r : f->real->pwrite(f->real->ctx, fd, buf, n, off);
}

/* Counted and faulted, but not performed: the tests model a process
   crash, after which the operating system still holds every completed
   write, so a real sync would only cost time. */
static int f_fsync(void *ctx, int fd)
{
    fault_os *f = ctx;
    (void)fd;
    int r = fault(f, 0);
    f->syncs += !r;
    return r;
}

static int f_ftruncate(void *ctx, int fd, uint64_t size)
{
    fault_os *f = ctx;
    int r = fault(f, 0);
    return r ? r : f->real->ftruncate(f->real->ctx, fd, size);
}

static int f_fstat(void *ctx, int fd, uint64_t *size, int64_t *mtime)
{
    fault_os *f = ctx;
    return f->real->fstat(f->real->ctx, fd, size, mtime);
}

static int f_lock(void *ctx, int fd, int type, uint64_t start, uint64_t len)
{
    fault_os *f = ctx;
    return f->real->lock(f->real->ctx, fd, type, start, len);
}

static int f_unlink(void *ctx, const char *path)
{
    fault_os *f = ctx;
    int r = fault(f, 0);
    return r ? r : f->real->unlink(f->real->ctx, path);
}

static int f_map(void *ctx, void *addr, size_t len, int prot, int fd, uint64_t off, void **out)
{
    fault_os *f = ctx;
    return f->real->map(f->real->ctx, addr, len, prot, fd, off, out);
}

static int f_unmap(void *ctx, void *addr, size_t len)
{
    fault_os *f = ctx;
    return f->real->unmap(f->real->ctx, addr, len);
}

static unsigned f_page_size(void *ctx)
{
    fault_os *f = ctx;
    return f->real->page_size(f->real->ctx);
}

static void f_sleep(void *ctx, unsigned ms)
{
    fault_os *f = ctx;
    f->real->sleep_ms(f->real->ctx, ms);
}

static int f_file_id(void *ctx, int fd, uint64_t *dev, uint64_t *ino)
{
    fault_os *f = ctx;
    return f->real->file_id(f->real->ctx, fd, dev, ino);
}

static int f_next_data(void *ctx, int fd, uint64_t off, uint64_t *start, uint64_t *end)
{
    fault_os *f = ctx;
    return f->real->next_data(f->real->ctx, fd, off, start, end);
}

static uint64_t f_entropy(void *ctx)
{
    fault_os *f = ctx;
    f->entropy = f->entropy * 6364136223846793005ULL + 1442695040888963407ULL;
    return f->entropy;
}

void fault_os_init(fault_os *f, int mode, long fail_at)
{
    memset(f, 0, sizeof *f);
    f->real = udb_os_posix();
    f->mode = mode;
    f->fail_at = fail_at;
    f->entropy = 42;
    f->os = (udb_os){.ctx = f,
                     .open = f_open,
                     .close = f_close,
                     .pread = f_pread,
                     .pwrite = f_pwrite,
                     .fsync = f_fsync,
                     .ftruncate = f_ftruncate,
                     .fstat = f_fstat,
                     .lock = f_lock,
                     .unlink = f_unlink,
                     .map = f_map,
                     .unmap = f_unmap,
                     .page_size = f_page_size,
                     .sleep_ms = f_sleep,
                     .entropy = f_entropy,
                     .file_id = f_file_id,
                     .next_data = f_next_data,
                     .datasync = f_fsync};
}
