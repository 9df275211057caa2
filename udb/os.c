/*
 * os.c — the POSIX implementation of the udb_os table: the only code in udb
 * that calls the operating system. Owns errno translation (every function
 * returns 0 or -errno); must not know about files' contents.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/random.h>
#endif
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "udb.h"

static int posix_open(void *ctx, const char *path, int flags, int *fd)
{
    (void)ctx;
    /* O_NONBLOCK always: a FIFO under a file's name (a data file, a side
       file probed for existence) must not hang the open; fstat then
       refuses what is not a regular file. Regular files ignore it. */
    int f = ((flags & UDB_OS_RDWR) ? O_RDWR : O_RDONLY) | O_NONBLOCK;
    if (flags & UDB_OS_CREATE)
        f |= O_CREAT;
    if (flags & UDB_OS_EXCL)
        f |= O_EXCL;
    if (flags & UDB_OS_NOFOLLOW)
        f |= O_NOFOLLOW;
    int r;
    do
        r = open(path, f | O_CLOEXEC, 0644);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    struct stat st;
    if ((flags & UDB_OS_SOLE) && fstat(r, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1) {
        close(r);
        return -EMLINK;
    }
    *fd = r;
    return 0;
}

static int posix_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd) < 0 ? -errno : 0;
}

static int posix_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
    (void)ctx;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

static int posix_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
    (void)ctx;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        done += (size_t)r;
    }
    return 0;
}

static int posix_fsync(void *ctx, int fd)
{
    (void)ctx;
#if defined(__APPLE__)
    if (fcntl(fd, F_FULLFSYNC) == 0)
        return 0;
#endif
    return fsync(fd) < 0 ? -errno : 0;
}

static int posix_datasync(void *ctx, int fd)
{
#if defined(__linux__)
    (void)ctx;
    return fdatasync(fd) < 0 ? -errno : 0;
#else
    return posix_fsync(ctx, fd);
#endif
}

static void posix_writeback(void *ctx, int fd, uint64_t off, uint64_t len)
{
    (void)ctx;
#if defined(__linux__)
    sync_file_range(fd, (off64_t)off, (off64_t)len, SYNC_FILE_RANGE_WRITE); /* a hint */
#else
    (void)fd, (void)off, (void)len;
#endif
}

static int posix_ftruncate(void *ctx, int fd, uint64_t size)
{
    (void)ctx;
    int r;
    do
        r = ftruncate(fd, (off_t)size);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_fstat(void *ctx, int fd, uint64_t *size, int64_t *mtime_ns)
{
    (void)ctx;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    *size = (uint64_t)st.st_size;
    *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

static int posix_file_id(void *ctx, int fd, uint64_t *dev, uint64_t *ino)
{
    (void)ctx;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

static int posix_next_data(void *ctx, int fd, uint64_t off, uint64_t *start, uint64_t *end)
{
    (void)ctx;
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
    off_t s = lseek(fd, (off_t)off, SEEK_DATA), e = s < 0 ? -1 : lseek(fd, s, SEEK_HOLE);
    if (s < 0 || e < s)
        return -errno;
    *start = (uint64_t)s;
    *end = (uint64_t)e;
    return 0;
#else
    (void)fd;
    (void)off;
    (void)start;
    (void)end;
    return -EINVAL; /* the caller takes every byte for data */
#endif
}

static unsigned posix_page_size(void *ctx)
{
    (void)ctx;
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (unsigned)p : 4096;
}

/* Open-file-description locks where the system has them (Linux, and
   POSIX.1-2024): they belong to the descriptor, so two handles on one file
   in one process exclude each other like two processes do. */
static int posix_lock(void *ctx, int fd, int type, uint64_t start, uint64_t len)
{
    (void)ctx;
    struct flock fl = {0};
    fl.l_type = type == 0 ? F_UNLCK : type == 1 ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)start;
    fl.l_len = (off_t)len;
#ifdef F_OFD_SETLK
    int cmd = type == 3 ? F_OFD_GETLK : F_OFD_SETLK;
#else
    int cmd = type == 3 ? F_GETLK : F_SETLK;
#endif
    int r;
    do
        r = fcntl(fd, cmd, &fl);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return (errno == EACCES || errno == EAGAIN) ? -EAGAIN : -errno;
    return type == 3 && fl.l_type != F_UNLCK ? -EAGAIN : 0;
}

static int posix_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path) < 0 ? -errno : 0;
}

static int posix_map(void *ctx, void *addr, size_t len, int prot, int fd, uint64_t off,
                     void **out)
{
    (void)ctx;
    int fl = (prot & UDB_MAP_SHARED ? MAP_SHARED : MAP_PRIVATE) | (addr ? MAP_FIXED : 0);
    prot &= ~UDB_MAP_SHARED;
    int p = prot == 0 ? PROT_NONE : prot == 1 ? PROT_READ : PROT_READ | PROT_WRITE;
    if (fd < 0)
        fl |= MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
    /* reservations, a private writable map of a file and the anonymous
       room for its growth: a transaction copies or fills only the pages it
       changes (bounded by dirty_limit and its spills), so their whole length
       is no commit charge; without it a file larger than RAM + swap could
       not be opened writable, nor one whose growth room (a quarter of its
       size) exceeds them */
    if (prot == 0 || (prot == 3 && !(fl & MAP_SHARED)))
        fl |= MAP_NORESERVE;
#endif
    void *m = mmap(addr, len, p, fl, fd < 0 ? -1 : fd, (off_t)off);
    if (m == MAP_FAILED)
        return -errno;
#ifdef MADV_HUGEPAGE
    if (fd < 0 && prot == 3) /* new pages of a transaction: fewer faults and TLB misses */
        madvise(m, len, MADV_HUGEPAGE);
#endif
    *out = m;
    return 0;
}

static int posix_unmap(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    return munmap(addr, len) < 0 ? -errno : 0;
}

static void posix_sleep_ms(void *ctx, unsigned ms)
{
    (void)ctx;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static uint64_t posix_entropy(void *ctx)
{
    (void)ctx;
    uint64_t v = 0;
#ifdef __linux__
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v) /* one call per transaction */
        return v;
#endif
    {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
                v = 0;
            close(fd);
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec ^
         ((uint64_t)getpid() << 32);
    return v;
}

static const udb_os posix_os = {
    .ctx = NULL,
    .open = posix_open,
    .close = posix_close,
    .pread = posix_pread,
    .pwrite = posix_pwrite,
    .fsync = posix_fsync,
    .writeback = posix_writeback,
    .ftruncate = posix_ftruncate,
    .fstat = posix_fstat,
    .lock = posix_lock,
    .unlink = posix_unlink,
    .map = posix_map,
    .unmap = posix_unmap,
    .page_size = posix_page_size,
    .sleep_ms = posix_sleep_ms,
    .entropy = posix_entropy,
    .file_id = posix_file_id,
    .datasync = posix_datasync,
    .next_data = posix_next_data,
};

const udb_os *udb_os_posix(void)
{
    return &posix_os;
}
