/*
 * fuzz_repair.c — libFuzzer target: udb_repair (to a new file, or in place
 * through t.ndx.repair-tmp) and udb_convert (to either layout, maxitems and
 * key size kept or changed) on a fuzzed index file.
 *
 * Input (tests/fuzz/README.md): part 0 control bytes, part 1 t.ndx. Control
 * byte 0: bits 0-1 the operation, 2-3 the layout option, 4 checksums made
 * right first (5: for the classic layout, else wide), 6 maxitems changed,
 * 7 key size changed; bytes 1 and 2 the new maxitems and key size.
 *
 * An input whose index infos ask for growth batches beyond BATCH_MAX is
 * skipped: the new file gets one batch per index, and writing and checking
 * megabytes per execution finds nothing the small batches do not.
 *
 * Invariants: whatever the input, a repair or conversion that succeeded
 * leaves an output that opens and checks clean ("check"); when the input
 * checked clean, a repair keeps every record of every index and a
 * conversion that reported no problem and kept the key size too ("lost");
 * only t.ndx, the output, the temporary file and their journals are ever
 * written.
 */
#include <stdlib.h>
#include <string.h>
#include "fz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDX FZ_NAME ".ndx"
#define OUT FZ_NAME ".out.ndx"
#define TMP NDX ".repair-tmp"
#define MAXIX 64
#define BATCH_MAX (64u << 10)  /* growth batches the library caps at 16 MiB: each
                                  repair would write and check megabytes */

static const char *const group[] = {NDX, NDX "-journal", TMP, TMP "-journal", OUT, OUT "-journal", NULL};

static void on_problem(void *arg, int severity, int64_t offset, unsigned index, const char *text)
{
    (void)offset;
    (void)index;
    (void)text;
    *(unsigned *)arg += severity == UDB_PROBLEM;
}

/* Records per index (up to MAXIX); the number of indexes, or -1 when the
   file does not open. *lay: the layout it opened with. */
static int census(const char *path, int layout, uint64_t *n, int *clean, int *lay)
{
    udb_options o;
    udb_ndx *d;
    fz_options(&o, layout, UDB_RDONLY);
    int rc = udb_ndx_open(path, &o, &d), ni = -1;
    *clean = 0;
    *lay = rc ? layout : udb_ndx_layout(d);
    if (!rc) {
        *clean = fz_ndx_check(d) == 0;
        ni = (int)(udb_ndx_count(d) < MAXIX ? udb_ndx_count(d) : MAXIX);
        for (int ix = 0; ix < ni; ix++) {
            udb_cursor *c;
            udb_item it;
            n[ix] = 0;
            if (udb_cursor_open(d, (unsigned)ix + 1, &c))
                continue;
            for (int r = udb_cursor_first(c, &it); !r && n[ix] < 1000000; r = udb_cursor_next(c, &it))
                n[ix]++;
            udb_cursor_close(c);
        }
    }
    udb_ndx_close(d);
    return ni;
}

/* The census of an output in the layout it was written in: when that is
   not known (the input did not open), a file the detection calls ambiguous
   (one without an initialised index may be) is taken in either layout,
   forced, as documented: the one that checks clean, if any. */
static int census_out(const char *path, int layout, uint64_t *n, int *clean)
{
    int lay, ni = census(path, layout, n, clean, &lay);
    if (layout || ni >= 0)
        return ni;
    for (int l = UDB_LAYOUT_CLASSIC; l <= UDB_LAYOUT_WIDE && !*clean; l++) {
        int c, k = census(path, l, n, &c, &lay);
        if (k >= 0) {
            ni = k;
            *clean = c;
        }
    }
    return ni;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_part part[FZ_MAXPARTS];
    fz_split(data, size, part);
    fz_in c = {part[0].p, part[0].n, 0};
    unsigned c0 = fz_u8(&c), maxitems = fz_u8(&c), keysize = fz_u8(&c);
    fz_begin(data, size, group);
    if (fz_ndx_batch(part[1].p, part[1].n) <= BATCH_MAX &&
        fz_plant_pair(part[1], (fz_part){0}, c0 & 0x10, c0 & 0x20 ? UDB_LAYOUT_CLASSIC : UDB_LAYOUT_WIDE)) {
        uint64_t before[MAXIX], after[MAXIX];
        int clean0, clean1, layout = (int)(c0 >> 2) % 3, op = c0 & 3, in_layout;
        int n0 = census(NDX, layout, before, &clean0, &in_layout), rc;
        if (fz_ndx_batch_in(part[1].p, part[1].n, n0 >= 0 ? in_layout : layout) > BATCH_MAX)
            goto out; /* the layout the repair reads it in asks for megabytes */
        unsigned problems = 0;
        udb_options o;
        fz_options(&o, layout, 0);
        const char *out = op == 1 ? NDX : OUT;
        if (op < 2) {
            udb_repair_report rep;
            rc = udb_repair(NDX, op == 1 ? NULL : OUT, &o, on_problem, &problems, &rep);
            udb_repair_report_free(&rep);
            layout = n0 >= 0 ? in_layout : layout; /* a repair keeps the layout */
        } else {
            o.layout = op == 2 ? UDB_LAYOUT_CLASSIC : UDB_LAYOUT_WIDE;
            maxitems = c0 & 0x40 ? maxitems % 40 : 0;
            keysize = c0 & 0x80 ? keysize % 70 : 0;
            rc = udb_convert(NDX, OUT, &o, maxitems, keysize, on_problem, &problems);
            layout = o.layout;
        }
        if (!rc) {
            int n1 = census_out(out, layout, after, &clean1);
            if (!clean1)
                fz_fail("check", "%s succeeded but its output %s", op < 2 ? "repair" : "convert",
                        n1 < 0 ? "does not open" : "does not check clean");
            int keeps = op < 2 || (!problems && !keysize);
            for (int ix = 0; clean0 && keeps && ix < n0 && ix < n1; ix++)
                if (after[ix] != before[ix])
                    fz_fail("lost", "%s of a clean file: index %d had %llu records, now %llu",
                            op < 2 ? "repair" : "convert", ix + 1, (unsigned long long)before[ix],
                            (unsigned long long)after[ix]);
        }
    }
out:
    fz_end();
    return 0;
}
