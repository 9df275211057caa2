/*
 * testutil.h — helpers shared by the test programs: fixture paths, manifest
 * parsing, scratch directories, file copies, key text in the manifests' form.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "udb.h"

#define FIXTURES "tests/fixtures"

typedef struct mrec {
    char *key;      /* key text as the manifest writes it */
    int64_t dp;
} mrec;

typedef struct msection {
    unsigned index;
    mrec *rec;
    size_t n, cap;
} msection;

typedef struct manifest {
    msection *sec;
    size_t n;
} manifest;

int manifest_load(const char *path, manifest *m);
void manifest_free(manifest *m);
const msection *manifest_index(const manifest *m, unsigned index);

/* A key in the form the fixtures' manifests use (classic: 0x-hex for
   non-STRING keys; wide: plain hex). buf must hold 4*ks + 8 bytes
   (a wide STRING writes \xNN for a byte outside 0x21..0x7e). */
const char *manifest_key(int layout, const udb_index_info *inf, const uint8_t *key, char *buf);

/* A fresh directory under tests/out/ for this test; returns its path. */
const char *scratch_dir(const char *name);
/* path = dir + "/" + name in a static rotating buffer */
const char *path_in(const char *dir, const char *name);
int copy_file(const char *from, const char *to);
/* Read a whole file into malloc'd memory. */
uint8_t *read_file(const char *path, size_t *len);
int write_file(const char *path, const void *data, size_t len);

/* Open with udb_options flags (0 or UDB_RDONLY ...); a failure fails the test. */
udb_ndx *open_ndx(const char *path, int flags);
udb_heap *open_heap(const char *path, int flags);
/* udb_heap_holes callback: every hole into a hole_list (at most 4096). */
typedef struct hole_list {
    udb_hole h[4096];
    size_t n;
} hole_list;
int hole_list_add(void *arg, const udb_hole *h);
/* FNV-1a 64 (the heap manifests' record hashes). */
uint64_t fnv1a64(const uint8_t *p, size_t n);

/* Run a shell command; returns its exit status. */
int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bytes malloc has handed out now (glibc's mallinfo2), 0 where that is
   not known: other C libraries, AddressSanitizer's own allocator. */
size_t heap_in_use(void);
/* A udb_options.progress callback that samples heap_in_use at every report. */
typedef struct heap_peak {
    size_t base, most;
    unsigned reports;
} heap_peak;
void note_heap(void *arg, const char *phase, uint64_t done, uint64_t total);

/* The independent checker of a layout (tests/tools, copied from the
   project's shared/tools): its path, relative to the repository root. */
const char *checker_path(int layout);

#endif
