/*
 * pager_copy.c — a copy of every file of a group as the group's open
 * transaction sees it, page for page, into new files (udb_*_backup). Owns
 * writing the copies; reads only through the mappings the transaction
 * keeps. Must not know about any data-file layout.
 */
#include <errno.h>
#include "pager_int.h"

enum { COPY_CHUNK = 1 << 20 };

/* [0, size) of f into the new file at path; *made once path was created. */
static int copy_file(pager_group *g, pager_file *f, const char *path, int *made)
{
    const udb_os *os = g->os;
    uint64_t size = pager_size(f);
    int fd, rc = os->open(os->ctx, path, UDB_OS_RDWR | UDB_OS_CREATE | UDB_OS_EXCL | UDB_OS_NOFOLLOW,
                          &fd);
    if (rc == -EEXIST)
        return udb_err_set(g->err, UDB_EXISTS, "%s exists; a backup never overwrites a file", path);
    if (rc < 0)
        return pager_oserr(g, rc, "cannot create", path);
    *made = 1;
    uint64_t at = 0, end; /* the data of a sparse file; its holes stay holes in the copy */
    while (!rc && !pager_next_data(f, at, &at, &end))
        while (at < end && !rc) {
            size_t n = end - at < COPY_CHUNK ? (size_t)(end - at) : COPY_CHUNK;
            const uint8_t *p = pager_get(f, at, n);
            if (!p)
                rc = UDB_CORRUPT; /* pager_get said why */
            else if ((rc = os->pwrite(os->ctx, fd, p, n, at)) < 0)
                rc = pager_oserr(g, rc, "cannot write", path);
            at += n;
        }
    if (!rc && (rc = os->ftruncate(os->ctx, fd, size)) < 0)
        rc = pager_oserr(g, rc, "cannot size", path);
    if (!rc && g->sync != UDB_SYNC_OFF && (rc = os->fsync(os->ctx, fd)) < 0)
        rc = pager_oserr(g, rc, "cannot sync", path);
    int rc2 = os->close(os->ctx, fd);
    return rc ? rc : rc2 < 0 ? pager_oserr(g, rc2, "cannot close", path) : 0;
}

int pager_copy(pager_group *g, pager_file *const *files, const char *const *dst, int n)
{
    int made[PAGER_MAX_FILES] = {0}, rc = 0;
    if (g->state == PAGER_NONE)
        return udb_err_set(g->err, UDB_INVAL, "a copy needs a transaction");
    if (n < 1 || n > g->nfiles)
        return udb_err_set(g->err, UDB_INVAL, "a copy of %d files from a group of %d", n, g->nfiles);
    for (int i = 0; i < n && !rc; i++)
        rc = copy_file(g, files[i], dst[i], &made[i]);
    for (int i = 0; i < n && !rc && g->sync != UDB_SYNC_OFF; i++)
        rc = pager_sync_dir(g, dst[i]);
    for (int i = 0; i < n && rc; i++) /* what this copy created goes again */
        if (made[i])
            g->os->unlink(g->os->ctx, dst[i]);
    return rc;
}
