/*
 * fixsum.c — recompute the checksums of damaged files as an attacker
 * would, so that a damage reaches past the checksum checks (tests/dbe_hostile.sh):
 *   fixsum ndx NDX [DAT] wide|classic   the index file's header, infos, nodes,
 *                                       leaves, free lists; a store's or heap's
 *                                       frames, descriptor, header, holes tables
 *   fixsum journal JOURNAL              a rollback journal's header and records
 *   fixsum log LOG                      a write-ahead log's header and batch chain
 * Uses the fuzz harness's fixers (fz.c); writes the files in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fz.h"

static uint8_t *load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long len;
    *n = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)len + 1)))
        *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

static int save(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b, 1, n, f) == n;
    return (f && fclose(f)) || !ok;
}

int main(int argc, char **argv)
{
    size_t n = 0, dn = 0;
    uint8_t *a = argc > 2 ? load(argv[2], &n) : NULL, *d = NULL;
    if (!a) {
        fprintf(stderr, "usage: fixsum ndx NDX [DAT] wide|classic | journal J | log LOG\n");
        return 2;
    }
    if (!strcmp(argv[1], "journal")) {
        fz_fix_journal(a, n);
    } else if (!strcmp(argv[1], "log")) {
        fz_fix_log(a, n);
    } else if (!strcmp(argv[1], "ndx") && argc > 3) {
        if (argc > 4 && !(d = load(argv[3], &dn)))
            return 2;
        fz_fix_files(a, n, d, dn, !strcmp(argv[argc - 1], "classic") ? UDB_LAYOUT_CLASSIC : UDB_LAYOUT_WIDE);
    } else {
        return 2;
    }
    int rc = save(argv[2], a, n) || (d && save(argv[3], d, dn));
    free(a);
    free(d);
    return rc ? 2 : 0;
}
