/*
 * names.c — what a name on dbe's command line stands for: a record store
 * (NAME, or one of its files NAME.ndx and NAME.dat), a MultiIndex file, a
 * heap file, or no udb file at all; and the one-line messages that say
 * which was opened, or what a file of the wrong kind is instead. Opens
 * files read-only, only to tell their kind; changes nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dbe_store.h"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *dbe_with_ext(const char *name, const char *ext)
{
    size_t n = strlen(name);
    char *p = malloc(n + strlen(ext) + 1);
    if (p) {
        memcpy(p, name, n);
        strcpy(p + n, ext);
    }
    return p;
}

int dbe_is_store(const char *name)
{
    char *ndx = dbe_with_ext(name, ".ndx"), *dat = dbe_with_ext(name, ".dat");
    int yes = ndx && dat && !exists(name) && exists(dat) &&
              (exists(ndx) || udb_store_owner(dat, NULL, NULL, 0)); /* NAME.ndx may be lost */
    free(ndx);
    free(dat);
    return yes;
}

/* ".ndx" or ".dat" when path ends in it, else NULL. */
static const char *store_ext(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && (!strcmp(path + n - 4, ".ndx") || !strcmp(path + n - 4, ".dat")))
        return path + n - 4;
    return NULL;
}

/* NAME when path is NAME.ndx or NAME.dat of a record store (NAME.dat
   begins with a store descriptor), else NULL. */
static char *store_of_file(const char *path)
{
    const char *ext = store_ext(path);
    if (!ext || !udb_store_owner(path, NULL, NULL, 0))
        return NULL;
    char *name = strdup(path);
    if (name)
        name[ext - path] = 0;
    return name;
}

int dbe_store_heap(const char *path)
{
    const char *ext = store_ext(path);
    return !(ext && !strcmp(ext, ".ndx")) && udb_store_owner(path, NULL, NULL, 0);
}

char *dbe_store_of(const char *arg, int *named_file)
{
    *named_file = 0;
    if (dbe_is_store(arg))
        return strdup(arg);
    char *name = store_of_file(arg);
    *named_file = name != NULL;
    return name;
}

void dbe_say_store(const char *name)
{
    fprintf(stderr, "dbe: store %s (%s.ndx + %s.dat)\n", name, name, name);
}

void dbe_say_store_file(const char *cmd, const char *path)
{
    char *name = store_of_file(path);
    if (name)
        fprintf(stderr, "dbe: %s: %s is the %s file of the store %s: this file alone "
                "(dbe %s %s: the whole store)\n", cmd, path,
                !strcmp(store_ext(path), ".ndx") ? "index" : "heap", name, cmd, name);
    free(name);
}

/* ---- the wrong kind of file ------------------------------------------------------------ */
enum { KIND_NDX, KIND_HEAP, KIND_OTHER, KIND_UNREADABLE };

/* What path opens as, read-only; KIND_UNREADABLE (why in msg, the code
   in *rc) when the open fails for another reason than the file's form. */
static int kind_of(const char *path, const dbe_opts *o, char *msg, size_t len, int *rc)
{
    udb_options opts;
    udb_ndx *d;
    udb_heap *h;
    dbe_options(&opts, o, 0);
    opts.progress = NULL;
    *rc = udb_ndx_open(path, &opts, &d);
    snprintf(msg, len, "%s", udb_ndx_errmsg(d));
    udb_ndx_close(d);
    if (*rc != UDB_FORMAT)
        return *rc ? KIND_UNREADABLE : KIND_NDX;
    int rh = udb_heap_open(path, &opts, &h);
    udb_heap_close(h);
    return rh == 0 ? KIND_HEAP : KIND_OTHER;
}

/* The store's heap file named where another kind is needed. */
static int store_heap_named(const char *cmd, const char *path, const char *name, int need)
{
    if (need == DBE_NEED_NDX)
        return dbe_fail(EX_ABSENT, "%s: %s is the HeapFile of the record store %s, not a MultiIndex "
                        "file; use dbe %s %s", cmd, path, name,
                        !strcmp(cmd, "session") ? "session" : "scan", name);
    return dbe_fail(EX_ABSENT, "%s: %s is a file of the record store %s; use dbe %s %s", cmd, path,
                    name, cmd, name);
}

/* A file udb opens, but of the other kind than needed. */
static int other_kind(const char *cmd, const char *path, int kind, int need)
{
    const char *is = kind == KIND_NDX ? "a MultiIndex file" : "a HeapFile";
    const char *not = need == DBE_NEED_NDX ? "a MultiIndex file" : need == DBE_NEED_HEAP ? "a HeapFile"
                    : "a record store";
    return dbe_fail(EX_ABSENT, "%s: %s is %s, not %s (dbe %s %s shows %s)", cmd, path, is, not,
                    kind == KIND_NDX ? "list" : "heap", path,
                    kind == KIND_NDX ? "its records" : "its holes");
}

int dbe_not_kind(const char *cmd, const char *path, const dbe_opts *o, int need, const char *libmsg)
{
    struct stat st;
    char msg[600], lib[600];
    char *name = NULL;
    int ex, rc = UDB_FORMAT;
    if (libmsg) { /* a handle's message: the opens below may overwrite it */
        snprintf(lib, sizeof lib, "%s", libmsg);
        libmsg = lib;
    }
    if (stat(path, &st)) {
        if (need != DBE_NEED_STORE && dbe_is_store(path))
            return dbe_fail(EX_ABSENT, "%s: %s is a record store (%s.ndx + %s.dat), not a single "
                            "file; dbe scan %s lists its records, dbe %s %s.ndx reads its index file",
                            cmd, path, path, path, path, cmd, path);
        return dbe_fail(EX_USAGE, "%s: %s", cmd, libmsg ? libmsg : "no such file");
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return dbe_fail(EX_ABSENT, "%s: %s is an empty file (0 bytes), not a udb file", cmd, path);
    if (need != DBE_NEED_STORE && (name = store_of_file(path)) && !strcmp(store_ext(path), ".dat")) {
        ex = store_heap_named(cmd, path, name, need);
        free(name);
        return ex;
    }
    free(name);
    if (o->layout && libmsg) /* the other layout may fit: the library's message says so */
        return dbe_fail(EX_ABSENT, "%s: %s", cmd, libmsg);
    int kind = kind_of(path, o, msg, sizeof msg, &rc);
    if (kind == KIND_NDX || kind == KIND_HEAP)
        return other_kind(cmd, path, kind, need);
    if (kind == KIND_OTHER && !strstr(msg, "ambiguous"))
        return dbe_fail(EX_ABSENT, "%s: %s is not a udb file: neither a MultiIndex file nor a "
                        "HeapFile of either layout (a udb file whose header is damaged looks the "
                        "same)", cmd, path);
    return dbe_fail(dbe_open_exit(rc), "%s: %s", cmd, kind == KIND_OTHER && libmsg ? libmsg : msg);
}
