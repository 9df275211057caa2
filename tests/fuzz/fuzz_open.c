/*
 * fuzz_open.c — libFuzzer target: arbitrary bytes as a MultiIndex or heap
 * file of either layout. Open, walk every index both ways, find keys that
 * were seen, check; walk the holes chain and read. Anything but a clean
 * error or a correct answer (crash, hang, sanitizer report) is a finding,
 * and so is any attempt to change a file (the handles are read-only).
 *
 * Input: the file itself, no container (tests/fuzz/README.md).
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = FZ_NAME ".ndx";
    memfs *m = fz_begin(data, size, NULL);
    memfs_put(m, path, data, size);
    udb_options o;
    fz_options(&o, 0, UDB_RDONLY | UDB_EXCLUSIVE);
    for (int layout = 0; layout <= 2; layout++) {
        o.layout = layout;
        udb_ndx *d;
        if (udb_ndx_open(path, &o, &d) == 0) {
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
    fz_end();
    return 0;
}
