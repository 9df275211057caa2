/*
 * fuzz_open.c — libFuzzer target: arbitrary bytes as a MultiIndex or heap
 * file of either layout. Open, walk every index both ways, find keys that
 * were seen, check; walk the holes chain and read. Anything but a clean
 * error or a correct answer (crash, hang, sanitizer report) is a finding.
 *
 *   make fuzz FUZZ_SECONDS=600      (corpus: the fixtures)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "udb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_index(udb_ndx *d, unsigned ix)
{
    udb_cursor *c;
    udb_item it;
    unsigned char seen[64];
    size_t ks = 0;
    if (udb_cursor_open(d, ix, &c))
        return;
    int n = 0;
    for (int rc = udb_cursor_first(c, &it); !rc && n < 100000; rc = udb_cursor_next(c, &it), n++)
        if (n == 3 && it.keysize <= sizeof seen) {
            memcpy(seen, it.key, it.keysize);
            ks = it.keysize;
        }
    for (int rc = udb_cursor_last(c, &it); !rc && n > 0; rc = udb_cursor_prev(c, &it), n--)
        ;
    if (ks) {
        int64_t dp;
        udb_ndx_find(d, ix, seen, ks, &dp);
        udb_cursor_seek(c, seen, ks, &it);
        udb_cursor_bof(c);
        udb_cursor_eof(c);
    }
    udb_cursor_close(c);
}

static int hole_fn(void *arg, const udb_hole *h)
{
    (void)arg;
    (void)h;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    udb_options o;
    udb_options_init(&o);
    o.flags = UDB_RDONLY | UDB_EXCLUSIVE;
    for (int layout = 0; layout <= 2; layout++) {
        o.layout = layout;
        udb_ndx *d;
        if (udb_ndx_open(path, &o, &d) == 0) {
            for (unsigned i = 1; i <= udb_ndx_count(d) && i <= 16; i++) {
                udb_index_info inf;
                udb_ndx_info(d, i, &inf);
                walk_index(d, i);
            }
            udb_check_report rep;
            udb_ndx_check(d, NULL, NULL, &rep);
            udb_check_report_free(&rep);
        }
        udb_ndx_close(d);
        udb_heap *h;
        if (udb_heap_open(path, &o, &h) == 0) {
            udb_heap_info inf;
            uint8_t b[32];
            udb_heap_info_get(h, &inf);
            udb_heap_holes(h, hole_fn, NULL);
            udb_heap_check(h, NULL, NULL, NULL);
            udb_heap_read(h, 3, b, sizeof b);
        }
        udb_heap_close(h);
    }
    close(fd);
    return 0;
}
