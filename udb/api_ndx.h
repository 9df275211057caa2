/*
 * api_ndx.h — what repair and conversion (tools built on the public API)
 * need beyond it: a bulk load that keeps the duplicates an original left in
 * a UNIQUE index. Nothing else includes it.
 */
#ifndef UDB_API_NDX_H
#define UDB_API_NDX_H

#include "udb.h"

int ndx_load(udb_ndx *d, unsigned index, udb_ndx_load_fn next, void *arg, int keep_dups,
             uint64_t *loaded);

#endif
