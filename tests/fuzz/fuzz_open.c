/*
 * fuzz_open.c — libFuzzer target: arbitrary bytes as a MultiIndex or heap
 * file of either layout. Open, walk every index both ways, find keys that
 * were seen, check; walk the holes chain and read. Anything but a clean
 * error or a correct answer (crash, hang, sanitizer report) is a finding,
 * and so is any attempt to change a file (the handles are read-only).
 *
 * Input (tests/fuzz/README.md): one control byte, then the file itself (no
 * container). Control byte: bit 0 opens the file as a heap file, else as
 * an index file; bits 1-7 modulo 3 the layout option (0 detected, 1
 * classic, 2 wide forced). One open per input: the fuzzer picks the
 * open by flipping a byte, and an execution costs one open, not six.
 */
#include <stdint.h>
#include "fz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hole_fn(void *arg, const udb_hole *h)
{
    (void)arg;
    (void)h;
    return 0;
}

static void open_ndx(const char *path, const udb_options *o)
{
    udb_ndx *d;
    if (udb_ndx_open(path, o, &d) == 0) {
        uint8_t keys[4 * 64];
        size_t ks;
        for (unsigned i = 1; i <= udb_ndx_count(d) && i <= 16; i++) {
            udb_index_info inf;
            udb_ndx_info(d, i, &inf);
            fz_ndx_walk(d, i, keys, 4, &ks);
        }
        fz_ndx_check(d);
    }
    udb_ndx_close(d);
}

static void open_heap(const char *path, const udb_options *o)
{
    udb_heap *h;
    if (udb_heap_open(path, o, &h) == 0) {
        udb_heap_info inf;
        uint8_t b[32];
        udb_heap_info_get(h, &inf);
        udb_heap_holes(h, hole_fn, NULL);
        udb_heap_check(h, NULL, NULL, NULL);
        udb_heap_read(h, 3, b, sizeof b);
    }
    udb_heap_close(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = FZ_NAME ".ndx";
    unsigned c = size ? data[0] : 0;
    memfs *m = fz_begin(data, size, NULL);
    memfs_put(m, path, size ? data + 1 : data, size ? size - 1 : 0);
    udb_options o;
    fz_options(&o, (int)(c >> 1) % 3, UDB_RDONLY | UDB_EXCLUSIVE);
    if (c & 1)
        open_heap(path, &o);
    else
        open_ndx(path, &o);
    fz_end();
    return 0;
}
