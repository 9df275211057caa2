/*
 * testutil.c — helpers shared by the test programs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

int manifest_load(const char *path, manifest *m)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    memset(m, 0, sizeof *m);
    if (!f)
        return -1;
    msection *cur = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab) {
            unsigned ix;
            if (sscanf(line, "index %u", &ix) == 1) {
                m->sec = realloc(m->sec, (m->n + 1) * sizeof *m->sec);
                cur = &m->sec[m->n++];
                memset(cur, 0, sizeof *cur);
                cur->index = ix;
            }
            continue;
        }
        if (!cur)
            continue;
        *tab = 0;
        if (cur->n == cur->cap) {
            cur->cap = cur->cap ? cur->cap * 2 : 64;
            cur->rec = realloc(cur->rec, cur->cap * sizeof *cur->rec);
        }
        cur->rec[cur->n].key = strdup(line);
        cur->rec[cur->n].dp = strtoll(tab + 1, NULL, 10);
        cur->n++;
    }
    fclose(f);
    return 0;
}

void manifest_free(manifest *m)
{
    for (size_t i = 0; i < m->n; i++) {
        for (size_t j = 0; j < m->sec[i].n; j++)
            free(m->sec[i].rec[j].key);
        free(m->sec[i].rec);
    }
    free(m->sec);
    memset(m, 0, sizeof *m);
}

const msection *manifest_index(const manifest *m, unsigned index)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->sec[i].index == index)
            return &m->sec[i];
    return NULL;
}

const char *manifest_key(int layout, const udb_index_info *inf, const uint8_t *key, char *buf)
{
    unsigned ks = inf->def.keysize;
    char *p = buf;
    if (inf->def.keytype == UDB_KEY_STRING) {
        size_t n = strnlen((const char *)key, ks);
        int plain = n > 0;
        for (size_t i = 0; i < n; i++)
            if (layout == UDB_LAYOUT_CLASSIC ? key[i] < 0x21 || key[i] > 0x7e
                                             : key[i] <= 32 || key[i] >= 127 || key[i] == 92)
                plain = 0;
        if (layout == UDB_LAYOUT_CLASSIC && n >= 2 && key[0] == '0' && key[1] == 'x')
            plain = 0;
        if (plain || layout == UDB_LAYOUT_WIDE) {
            for (size_t i = 0; i < n; i++)
                p += (key[i] > 32 && key[i] < 127 && key[i] != 92) ? sprintf(p, "%c", key[i])
                                                                   : sprintf(p, "\\x%02x", key[i]);
            *p = 0;
            return buf;
        }
    }
    if (layout == UDB_LAYOUT_CLASSIC)
        p += sprintf(p, "0x");
    for (unsigned i = 0; i < ks; i++)
        p += sprintf(p, "%02x", key[i]);
    return buf;
}

const char *scratch_dir(const char *name)
{
    static char dir[512];
    mkdir("tests/out", 0755);
    snprintf(dir, sizeof dir, "tests/out/%s-XXXXXX", name);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        abort();
    }
    return dir;
}

const char *path_in(const char *dir, const char *name)
{
    static char bufs[8][600];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return d;
}

int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) || w != len ? -1 : 0;
}

int copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *d = read_file(from, &n);
    if (!d)
        return -1;
    int rc = write_file(to, d, n);
    free(d);
    return rc;
}

int run_cmd(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

udb_ndx *open_ndx(const char *path, int flags)
{
    udb_options o;
    udb_options_init(&o);
    o.flags = flags;
    udb_ndx *d;
    if (udb_ndx_open(path, &o, &d))
        fail_msg("open %s: %s", path, udb_ndx_errmsg(d));
    return d;
}

udb_heap *open_heap(const char *path, int flags)
{
    udb_options o;
    udb_options_init(&o);
    o.flags = flags;
    udb_heap *h;
    if (udb_heap_open(path, &o, &h))
        fail_msg("open %s: %s", path, udb_heap_errmsg(h));
    return h;
}

uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int hole_list_add(void *arg, const udb_hole *h)
{
    hole_list *l = arg;
    assert_true(l->n < sizeof l->h / sizeof l->h[0]);
    l->h[l->n++] = *h;
    return 0;
}

const char *checker_path(int layout)
{
    const char *p = layout == UDB_LAYOUT_CLASSIC ? "tests/tools/classic_check.py" : "tests/tools/wide_check.py";
    if (access(p, R_OK) != 0)
        fail_msg("independent checker %s missing (run the tests from the repository root)", p);
    return p;
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33) && !defined(__SANITIZE_ADDRESS__)
#include <malloc.h>
size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#else
size_t heap_in_use(void) { return 0; }
#endif

void note_heap(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    (void)phase, (void)done, (void)total;
    heap_peak *h = arg;
    size_t now = heap_in_use();
    h->most = now > h->most ? now : h->most;
    h->reports++;
}
