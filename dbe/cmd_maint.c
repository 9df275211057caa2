/*
 * cmd_maint.c — dbe's maintenance commands: heap (the holes tables of a
 * HeapFile), read (a hex dump of any file's bytes), recover (roll a hot
 * journal back), the store and hot-journal halves of check, and the hex
 * dump. Reads files through udb_heap_* / udb_ndx_* and, for the bytes of
 * index files, read-only system calls; never writes but through recover.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dbe_store.h"

enum { CHUNK = 65536 };

/* ---- hex dump ---------------------------------------------------------------------------- */
void dbe_dump_start(dbe_dump *d, FILE *f, uint64_t base)
{
    memset(d, 0, sizeof *d);
    d->f = f;
    d->off = base;
}

static void dump_line(dbe_dump *d)
{
    if (d->have_prev && d->fill == 16 && !memcmp(d->line, d->prev, 16)) {
        if (!d->starred)
            fputs("*\n", d->f);
        d->starred = 1;
    } else {
        fprintf(d->f, "%08llx  ", (unsigned long long)d->off);
        for (size_t i = 0; i < 16; i++) {
            if (i < d->fill)
                fprintf(d->f, "%02x ", d->line[i]);
            else
                fputs("   ", d->f);
            if (i == 7)
                fputc(' ', d->f);
        }
        fputs(" |", d->f);
        for (size_t i = 0; i < d->fill; i++)
            fputc(d->line[i] >= 0x20 && d->line[i] <= 0x7e ? d->line[i] : '.', d->f);
        fputs("|\n", d->f);
        d->starred = 0;
    }
    memcpy(d->prev, d->line, 16);
    d->have_prev = 1;
    d->off += d->fill;
    d->fill = 0;
}

void dbe_dump_feed(dbe_dump *d, const uint8_t *p, size_t n)
{
    while (n) {
        size_t k = 16 - d->fill < n ? 16 - d->fill : n;
        memcpy(d->line + d->fill, p, k);
        d->fill += k;
        p += k;
        n -= k;
        if (d->fill == 16)
            dump_line(d);
    }
}

void dbe_dump_end(dbe_dump *d)
{
    if (d->fill)
        dump_line(d);
    if (d->have_prev)
        fprintf(d->f, "%08llx\n", (unsigned long long)d->off);
}

/* The file of a store's that a command on arg opens: NAME + ext for a store
   or one of its files when that file exists (said on stderr when it is not
   the file named), else arg itself (a heap alone has its own journal); a
   fresh buffer or NULL. */
static char *store_path(const char *arg, const char *ext)
{
    int named_file;
    struct stat sb;
    char *name = dbe_store_of(arg, &named_file);
    char *path = name ? dbe_with_ext(name, ext) : NULL;
    if (path && named_file && stat(path, &sb)) {
        free(path);
        path = NULL;
    }
    if (path && named_file && strcmp(path, arg))
        dbe_say_store(name);
    free(name);
    return path ? path : strdup(arg);
}

/* ---- heap ------------------------------------------------------------------------------- */
typedef struct holes {
    udb_hole *h;
    size_t n, cap;
} holes;

static int hole_keep(void *arg, const udb_hole *hole)
{
    holes *hs = arg;
    if (hs->n == hs->cap) {
        size_t k = hs->cap ? 2 * hs->cap : 64;
        udb_hole *p = realloc(hs->h, k * sizeof *p);
        if (!p)
            return UDB_NOMEM;
        hs->h = p;
        hs->cap = k;
    }
    hs->h[hs->n++] = *hole;
    return 0;
}

/* A holes table's header as stored: checksum, records in use (2 bytes),
   next table (a position of the layout's width). */
static int table_head(udb_heap *h, int layout, int64_t at, unsigned *used, int64_t *next)
{
    uint8_t b[11];
    size_t pw = layout == UDB_LAYOUT_CLASSIC ? 4 : 8;
    int rc = udb_heap_read(h, at, b, 3 + pw);
    if (rc)
        return rc;
    uint64_t v = 0;
    for (size_t i = 0; i < pw; i++)
        v |= (uint64_t)b[3 + i] << (8 * i);
    *used = (unsigned)(b[1] | b[2] << 8);
    *next = pw == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
    return 0;
}

static int heap_tables(udb_heap *h, const udb_heap_info *f, const holes *hs)
{
    int64_t at = f->first_table;
    size_t k = 0;
    for (unsigned t = 1; t <= f->tables && at != -1; t++) {
        unsigned used;
        int64_t next;
        int rc = table_head(h, f->layout, at, &used, &next);
        if (rc)
            return rc;
        printf("table %u at %lld: %u record(s) in use, next %lld\n", t, (long long)at, used,
               (long long)next);
        for (; k < hs->n && hs->h[k].table == t; k++)
            printf("  hole %u: position %lld, %lld bytes\n", hs->h[k].slot,
                   (long long)hs->h[k].pos, (long long)hs->h[k].size);
        at = next;
    }
    return 0;
}

static int heap_show(udb_heap *h, const char *path)
{
    udb_heap_info f;
    holes hs = {NULL, 0, 0};
    int rc = udb_heap_info_get(h, &f);
    if (!rc)
        rc = udb_heap_holes(h, hole_keep, &hs);
    if (!rc) {
        printf("file: %s\nlayout: %s (%d-bit positions)\nsize: %llu bytes\n"
               "first holes table: %lld\nslots per table: %u (%zu bytes per table)\n",
               path, f.layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide",
               f.layout == UDB_LAYOUT_CLASSIC ? 32 : 64, (unsigned long long)f.file_size,
               (long long)f.first_table, f.table_slots, f.table_size);
        rc = heap_tables(h, &f, &hs);
    }
    if (!rc)
        printf("free: %llu hole(s), %llu bytes in %u table(s)\n", (unsigned long long)f.holes,
               (unsigned long long)f.hole_bytes, f.tables);
    free(hs.h);
    return rc == UDB_NOMEM ? dbe_fail(EX_USAGE, "heap: out of memory")
         : rc ? dbe_fail(dbe_exit_code(rc), "heap: %s", udb_heap_errmsg(h)) : EX_OK;
}

int cmd_heap(int argc, char **argv)
{
    dbe_opts o = {0};
    udb_options opts;
    udb_heap *h;
    if (dbe_parse_opts(argc, argv, &o, "layout") != 1)
        return dbe_usage("heap");
    char *path = store_path(argv[1], ".dat");
    if (!path)
        return dbe_fail(EX_USAGE, "out of memory");
    dbe_options(&opts, &o, 0);
    int rc = udb_heap_open(path, &opts, &h), ex;
    if (rc == UDB_FORMAT) {
        ex = dbe_not_kind("heap", path, &o, DBE_NEED_HEAP, udb_heap_errmsg(h));
    } else if (rc) {
        ex = dbe_fail(dbe_open_exit(rc), "heap: %s", udb_heap_errmsg(h));
    } else {
        udb_heap_begin(h); /* one snapshot for the whole listing */
        ex = heap_show(h, path);
        udb_heap_commit(h);
    }
    udb_heap_close(h);
    free(path);
    return ex;
}

/* ---- read ------------------------------------------------------------------------------------ */
/* len clamped to the bytes the file has from pos; refuses pos past the end. */
static int clamp(const char *path, uint64_t size, int64_t pos, uint64_t *len)
{
    if ((uint64_t)pos > size)
        return dbe_fail(EX_USAGE, "read: position %lld is past the end of %s (%llu bytes)",
                        (long long)pos, path, (unsigned long long)size);
    if (*len > size - (uint64_t)pos)
        *len = size - (uint64_t)pos;
    return EX_OK;
}

static int read_heap(udb_heap *h, const char *path, int64_t pos, uint64_t len)
{
    udb_heap_info f;
    dbe_dump d;
    int rc = udb_heap_info_get(h, &f);
    if (rc)
        return dbe_fail(dbe_exit_code(rc), "read: %s", udb_heap_errmsg(h));
    int ex = clamp(path, f.file_size, pos, &len);
    uint8_t *buf = ex ? NULL : malloc(CHUNK);
    if (ex || !buf)
        return ex ? ex : dbe_fail(EX_USAGE, "out of memory");
    dbe_dump_start(&d, stdout, (uint64_t)pos);
    for (uint64_t done = 0; done < len && !rc; done += CHUNK) {
        size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
        if (!(rc = udb_heap_read(h, pos + (int64_t)done, buf, n)))
            dbe_dump_feed(&d, buf, n);
    }
    dbe_dump_end(&d);
    free(buf);
    return rc ? dbe_fail(dbe_exit_code(rc), "read: %s", udb_heap_errmsg(h)) : EX_OK;
}

/* The bytes as the file holds them (index files: udb has no byte-level
   read of them, so the file is read directly). */
static int read_raw(const char *path, int64_t pos, uint64_t len)
{
    struct stat st;
    uint8_t *buf = malloc(CHUNK);
    int fd = open(path, O_RDONLY | O_NONBLOCK), ex = EX_OK; /* a FIFO: no hang */
    dbe_dump d;
    if (!buf || fd < 0 || fstat(fd, &st))
        ex = dbe_fail(EX_USAGE, "read: %s: %s", path, buf ? strerror(errno) : "out of memory");
    else if (!S_ISREG(st.st_mode))
        ex = dbe_fail(EX_USAGE, "read: %s: not a regular file", path);
    if (ex == EX_OK && !(ex = clamp(path, (uint64_t)st.st_size, pos, &len))) {
        dbe_dump_start(&d, stdout, (uint64_t)pos);
        for (uint64_t done = 0; done < len && ex == EX_OK;) {
            size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
            ssize_t got = pread(fd, buf, n, (off_t)(pos + (int64_t)done));
            if (got <= 0)
                ex = dbe_fail(EX_USAGE, "read: %s: %s", path, got ? strerror(errno) : "file shrank");
            else
                dbe_dump_feed(&d, buf, (size_t)got);
            done += got > 0 ? (uint64_t)got : 0;
        }
        dbe_dump_end(&d);
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return ex;
}

/* Heap files through udb_heap_read; index files directly, inside a read
   transaction (no commit can change them meanwhile); a file udb cannot
   open (damaged, hot journal, unknown kind) directly, with a note. */
static int read_any(const char *path, const dbe_opts *o, int64_t pos, uint64_t len)
{
    udb_options opts;
    udb_ndx *d = NULL;
    udb_heap *h = NULL;
    int ex;
    dbe_options(&opts, o, 0);
    int rc = udb_ndx_open(path, &opts, &d);
    char why[400];
    snprintf(why, sizeof why, "%s", udb_ndx_errmsg(d));
    if (rc == UDB_FORMAT && (rc = udb_heap_open(path, &opts, &h)) != UDB_FORMAT)
        snprintf(why, sizeof why, "%s", udb_heap_errmsg(h));
    if (!rc && h && !(rc = udb_heap_begin(h))) {
        ex = read_heap(h, path, pos, len);
        udb_heap_commit(h);
    } else if (!rc && !h && !(rc = udb_ndx_begin(d))) {
        ex = read_raw(path, pos, len);
        udb_ndx_commit(d);
    } else if (rc == UDB_FORMAT || rc == UDB_CORRUPT || rc == UDB_RECOVER) {
        fprintf(stderr, "dbe: read: note: udb cannot open %s (%s); these are its raw bytes\n",
                path, why);
        ex = read_raw(path, pos, len);
    } else {
        ex = dbe_fail(dbe_open_exit(rc), "read: %s", h ? udb_heap_errmsg(h) : udb_ndx_errmsg(d));
    }
    udb_ndx_close(d);
    udb_heap_close(h);
    return ex;
}

int cmd_read(int argc, char **argv)
{
    dbe_opts o = {0};
    int64_t pos;
    unsigned long long len;
    if (dbe_parse_opts(argc, argv, &o, "layout") != 3)
        return dbe_usage("read");
    if (dbe_parse_int64(argv[2], &pos) || pos < 0)
        return dbe_fail(EX_USAGE, "read: position '%s' is not a number >= 0", argv[2]);
    if (dbe_parse_uint(argv[3], UINT64_MAX, &len))
        return dbe_fail(EX_USAGE, "read: length '%s' is not a number >= 0", argv[3]);
    int ex = read_any(argv[1], &o, pos, len);
    if (ex == EX_OK && fflush(stdout))
        ex = dbe_fail(EX_USAGE, "read: writing the output failed");
    return ex;
}

/* ---- journals ----------------------------------------------------------------------------- */
int dbe_report_hot(const char *path, const char *shown)
{
    int hot = 0;
    char msg[300];
    if (udb_journal_hot(path, &hot, msg, sizeof msg) || !hot)
        return 0; /* opening reports any other trouble */
    printf("problem: hot journal: an interrupted transaction is pending for %s; its files are "
           "not checked while it is (dbe recover %s rolls it back)\nnot checked\n", shown, shown);
    return 1;
}

int cmd_recover(int argc, char **argv)
{
    dbe_opts o = {0};
    udb_options opts;
    char msg[400];
    int found = 0;
    if (dbe_parse_opts(argc, argv, &o, "layout,sync") != 1)
        return dbe_usage("recover");
    char *path = store_path(argv[1], ".ndx");
    if (!path)
        return dbe_fail(EX_USAGE, "out of memory");
    dbe_options(&opts, &o, 1);
    int rc = udb_recover(path, &opts, &found, msg, sizeof msg);
    free(path);
    if (rc)
        return dbe_fail(dbe_open_exit(rc), "recover: %s", msg);
    printf(found == 2   ? "%s: write-ahead log copied into the files\n"
           : found == 3 ? "%s: hot journal: its commit had reached the files whole and is kept\n"
           : found ? "%s: hot journal rolled back\n"
                   : "%s: no hot journal\n",
           argv[1]);
    return EX_OK;
}

int cmd_checkpoint(int argc, char **argv)
{
    dbe_opts o = {0};
    if (dbe_parse_opts(argc, argv, &o, "layout,sync") != 1)
        return dbe_usage("checkpoint");
    int rc, named_file;
    char *name = dbe_store_of(argv[1], &named_file);
    int store = name != NULL;
    free(name);
    if (store) {
        dbe_store st;
        int ex = dbe_store_open(argv[1], &o, 1, "checkpoint", &st);
        if (ex)
            return ex;
        if ((rc = udb_store_checkpoint(st.s)))
            return dbe_store_close(&st, dbe_fail(dbe_exit_code(rc), "checkpoint: %s", udb_store_errmsg(st.s)));
        dbe_store_close(&st, 0);
    } else {
        udb_ndx *d;
        udb_heap *h;
        udb_options opts;
        dbe_options(&opts, &o, 1);
        if ((rc = udb_ndx_open(argv[1], &opts, &d)) == UDB_FORMAT) {
            udb_ndx_close(d);
            d = NULL;
            if ((rc = udb_heap_open(argv[1], &opts, &h)) == 0) {
                rc = udb_heap_checkpoint(h);
                if (rc)
                    dbe_fail(dbe_exit_code(rc), "checkpoint: %s", udb_heap_errmsg(h));
                udb_heap_close(h);
                return rc ? dbe_exit_code(rc) : (printf("%s: checkpointed\n", argv[1]), EX_OK);
            }
            int ex = rc == UDB_FORMAT
                         ? dbe_not_kind("checkpoint", argv[1], &o, DBE_NEED_UDB, udb_heap_errmsg(h))
                         : dbe_fail(dbe_open_exit(rc), "%s", udb_heap_errmsg(h));
            udb_heap_close(h);
            return ex;
        }
        if (!rc && (rc = udb_ndx_checkpoint(d)))
            dbe_fail(dbe_exit_code(rc), "checkpoint: %s", udb_ndx_errmsg(d));
        else if (rc)
            dbe_fail(dbe_open_exit(rc), "%s", udb_ndx_errmsg(d));
        udb_ndx_close(d);
        if (rc)
            return dbe_exit_code(rc);
    }
    printf("%s: checkpointed\n", argv[1]);
    return EX_OK;
}

/* ---- check of a store ---------------------------------------------------------------------- */
int dbe_check_store(const char *name, const dbe_opts *o)
{
    dbe_store st;
    udb_check_report rep;
    char *ndx = dbe_with_ext(name, ".ndx");
    int hot = ndx ? dbe_report_hot(ndx, name) : 0;
    free(ndx);
    if (hot)
        return EX_ABSENT;
    int ex = dbe_store_open(name, o, 0, "check", &st);
    if (ex != EX_OK) { /* NAME.ndx lost or unreadable: say what NAME.dat can give back */
        dbe_store_rebuild_line(name, o);
        return dbe_store_close(&st, ex);
    }
    int rc = udb_store_check(st.s, dbe_print_finding, NULL, &rep);
    dbe_progress_end();
    if (rc && rc != UDB_CORRUPT)
        return dbe_store_close(&st, dbe_fail(dbe_exit_code(rc), "check: %s", udb_store_errmsg(st.s)));
    printf("store: %s.ndx + %s.dat, %u index(es)\n", name, name, st.n);
    dbe_store_rebuild_line(name, o);
    ex = dbe_print_check_summary(&rep);
    udb_check_report_free(&rep);
    return dbe_store_close(&st, ex);
}
