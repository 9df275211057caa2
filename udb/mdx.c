/*
 * mdx.c — the legacy EMDX DLL API (mdx.h) as a thin layer over the public
 * udb API: integer handles, the active index, one udb_cursor per index, the
 * originals' return values and error numbers. Uses only udb.h; must not
 * reach the library's internals (mindex, pager, layout) or file bytes.
 *
 * The handle table below is the one piece of global mutable state in udb.
 * The legacy API identifies open files by small integers, so something
 * process-wide has to map them to udb_ndx handles. The table is confined to
 * this file, has the original DLL's fixed size, and is guarded by
 * table_lock: every MDX* call holds it from start to end, which also
 * serialises the per-handle state (active index, cursors, error number)
 * between threads. Nothing else in udb is global.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "mdx.h"
#include "udb.h"

_Static_assert(ftVOID == UDB_KEY_VOID && ftBLOCK == UDB_KEY_BLOCK &&
                   ftNUMBLOCK == UDB_KEY_NUM_BLOCK && ftINTEGER == UDB_KEY_INTEGER &&
                   ftLONGINT == UDB_KEY_LONG_INT && ftSTRING == UDB_KEY_STRING &&
                   ftLOGICAL == UDB_KEY_LOGICAL && ftCHARACTER == UDB_KEY_CHARACTER,
               "ft* key types are udb's key types");
_Static_assert(attUNQUEE == UDB_UNIQUE && attDELETE == UDB_ALLOW_DELETE,
               "att* attributes are udb's attributes");

typedef struct mdx_index {
    udb_cursor *cur;            /* opened on first use of a defined index */
    int keytype;
    unsigned keysize;
} mdx_index;

typedef struct mdx_slot {
    int used;
    udb_ndx *ndx;               /* NULL: the open or create failed */
    unsigned count;             /* indexes in the file */
    unsigned active;            /* 1-based */
    mdx_index *ix;              /* count entries */
    int error;                  /* legacy error number; stays until cleared */
} mdx_slot;

static mdx_slot table[MDX_MAX_HANDLES];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* What the failing call was doing, for the error number (see legacy_error). */
enum { OP_READ, OP_WRITE, OP_OPEN, OP_CREATE, OP_DEFINE };

/* The legacy error number for a failing udb return code (doc/mdx.md). */
static int legacy_error(int rc, int op)
{
    static const int io[] = {errREAD, errWRITE, errOPEN, errCREATE, errWRITE};
    static const int refused[] = {errERROR, errERROR, errOPEN, errCREATE, errINIT};
    switch (rc) {
    case UDB_NOMEM: return errMEMERROR;
    case UDB_CORRUPT: return errBADDATA;
    case UDB_FORMAT: return errBADFILEDATA;
    case UDB_STALE: return errPOINTER;
    case UDB_RANGE: return errGETFILESIZE;
    case UDB_IO:
    case UDB_LOCKED:
    case UDB_READONLY:
    case UDB_RECOVER: return io[op];
    default: return refused[op]; /* NOTFOUND (no such file), EXISTS, INVAL, ABORTED */
    }
}

static void fail(mdx_slot *s, int rc, int op)
{
    s->error = legacy_error(rc, op);
}

/* Every call runs between lock() (or enter()) and leave(). */
static void lock(void)
{
    pthread_mutex_lock(&table_lock);
}

static void leave(void)
{
    pthread_mutex_unlock(&table_lock);
}

/* Lock the table; handle h's slot, or NULL when h is not open. */
static mdx_slot *enter(int h)
{
    lock();
    return h >= 0 && h < MDX_MAX_HANDLES && table[h].used ? &table[h] : NULL;
}

/* 1 when the slot holds an open file; else errBADFILEHANDLE unless the
   error number already says why the open failed. */
static int live(mdx_slot *s)
{
    if (s->ndx)
        return 1;
    if (s->error == errOK)
        s->error = errBADFILEHANDLE;
    return 0;
}

/* ---- handles --------------------------------------------------------------- */
static void slot_close(mdx_slot *s)
{
    for (unsigned i = 0; i < s->count; i++)
        udb_cursor_close(s->ix[i].cur);
    free(s->ix);
    udb_ndx_close(s->ndx);
    memset(s, 0, sizeof *s);
}

/* The lowest free handle, or -1 when all MDX_MAX_HANDLES are in use. */
static int slot_free(void)
{
    for (int h = 0; h < MDX_MAX_HANDLES; h++)
        if (!table[h].used)
            return h;
    return -1;
}

/* Fill slot h with the outcome (rc, d) of an open or create. A failed one
   still holds the handle, which reports the error, as in the original. */
static void slot_fill(int h, udb_ndx *d, int rc, int op)
{
    mdx_slot *s = &table[h];
    s->used = 1;
    s->active = 1;
    if (!rc) {
        s->count = udb_ndx_count(d);
        if (!(s->ix = calloc(s->count, sizeof *s->ix)))
            rc = UDB_NOMEM;
    }
    if (rc) {
        udb_ndx_close(d);
        s->count = 0;
        s->error = legacy_error(rc, op);
    } else {
        s->ndx = d;
    }
}

/* Create a classic-layout file. An existing file is replaced, as the
   original's truncating create did, but only when it opens as a MultiIndex
   file (which also rolls back a pending journal of it). */
static int create_file(const char *name, int num, udb_ndx **d)
{
    udb_options o;
    udb_options_init(&o);
    o.layout = UDB_LAYOUT_CLASSIC;
    unsigned n = num > 0 ? (unsigned)num : 0;
    int rc = udb_ndx_create(name, &o, n, d);
    if (rc != UDB_EXISTS)
        return rc;
    udb_ndx_close(*d);
    *d = NULL;
    udb_ndx *old;
    rc = udb_ndx_open(name, NULL, &old);
    udb_ndx_close(old);
    if (rc)
        return UDB_EXISTS;
    const udb_os *os = udb_os_posix();
    if (os->unlink(os->ctx, name))
        return UDB_IO;
    return udb_ndx_create(name, &o, n, d);
}

int MDXCreateFile(const char *IndexFileName, int NumIndexes)
{
    udb_ndx *d = NULL;
    lock();
    int h = slot_free();
    if (h >= 0) {
        int rc = IndexFileName ? create_file(IndexFileName, NumIndexes, &d) : UDB_INVAL;
        slot_fill(h, d, rc, OP_CREATE);
    }
    leave();
    return h;
}

int MDXOpenFile(const char *IndexFileName)
{
    udb_ndx *d = NULL;
    lock();
    int h = slot_free();
    if (h >= 0) {
        int rc = IndexFileName ? udb_ndx_open(IndexFileName, NULL, &d) : UDB_INVAL;
        slot_fill(h, d, rc, OP_OPEN);
    }
    leave();
    return h;
}

void MDXCloseFile(int MDXHandle)
{
    mdx_slot *s = enter(MDXHandle);
    if (s)
        slot_close(s);
    leave();
}

void MDXCLoseAll(void)
{
    lock();
    for (int h = 0; h < MDX_MAX_HANDLES; h++)
        if (table[h].used)
            slot_close(&table[h]);
    leave();
}

/* Every call commits before it returns: nothing is left to write. */
void MDXFlushFile(int MDXHandle)
{
    mdx_slot *s = enter(MDXHandle);
    if (s)
        live(s);
    leave();
}

/* ---- errors ------------------------------------------------------------------- */
int MDXGetError(int MDXHandle)
{
    mdx_slot *s = enter(MDXHandle);
    int e = s ? s->error : -1;
    leave();
    return e;
}

void MDXSetError(int MDXHandle, int AError)
{
    mdx_slot *s = enter(MDXHandle);
    if (s)
        s->error = AError;
    leave();
}

void MDXClearError(int MDXHandle)
{
    MDXSetError(MDXHandle, errOK);
}

/* ---- indexes ---------------------------------------------------------------------- */
/* The active index, ready for key and cursor calls (its cursor open), or
   NULL with the error number set (errINIT: the index is not defined). */
static mdx_index *ix_ready(mdx_slot *s)
{
    if (!live(s))
        return NULL;
    mdx_index *x = &s->ix[s->active - 1];
    if (x->cur)
        return x;
    udb_index_info inf;
    int rc = udb_ndx_info(s->ndx, s->active, &inf);
    if (!rc && inf.def.keytype == UDB_KEY_VOID) {
        s->error = errINIT;
        return NULL;
    }
    if (!rc)
        rc = udb_cursor_open(s->ndx, s->active, &x->cur);
    if (rc) {
        fail(s, rc, OP_READ);
        return NULL;
    }
    x->keytype = inf.def.keytype;
    x->keysize = inf.def.keysize;
    return x;
}

/* The definition of the active index (keytype 0 when undefined); 0 or -1. */
static int active_info(mdx_slot *s, udb_index_info *inf)
{
    if (!live(s))
        return -1;
    int rc = udb_ndx_info(s->ndx, s->active, inf);
    if (rc)
        fail(s, rc, OP_READ);
    return rc ? -1 : 0;
}

void MDXCreateIndex(int MDXHandle, unsigned int AKeyCode, unsigned int AKeySize,
                    unsigned int AAttrib, unsigned int ANumItems, int32_t AFreeCreateNode,
                    int32_t AFreeCreateLeave)
{
    udb_index_def def = {.keytype = (int)AKeyCode, .keysize = AKeySize, .attrs = AAttrib,
                         .maxitems = ANumItems, .create_nodes = AFreeCreateNode,
                         .create_leaves = AFreeCreateLeave};
    mdx_slot *s = enter(MDXHandle);
    int rc = s && live(s) ? udb_ndx_define(s->ndx, s->active, &def) : 0;
    if (rc)
        fail(s, rc, OP_DEFINE);
    leave();
}

unsigned int MDXGetNumIndexes(int MDXHandle)
{
    mdx_slot *s = enter(MDXHandle);
    unsigned n = s && live(s) ? s->count : 0;
    leave();
    return n;
}

/* 0 or a number beyond the last index selects index 1, as the original. */
void MDXSetActiveIndex(int MDXHandle, unsigned int AIndexNo)
{
    mdx_slot *s = enter(MDXHandle);
    if (s && live(s))
        s->active = AIndexNo >= 1 && AIndexNo <= s->count ? AIndexNo : 1;
    leave();
}

enum { INF_TYPE, INF_SIZE, INF_UNIQUE, INF_DELETE };

/* One field of the active index's definition; 0 when there is none. */
static unsigned info_field(int h, int what)
{
    udb_index_info inf;
    mdx_slot *s = enter(h);
    int ok = s && !active_info(s, &inf);
    leave();
    if (!ok)
        return 0;
    switch (what) {
    case INF_TYPE: return (unsigned)inf.def.keytype;
    case INF_SIZE: return inf.def.keysize;
    case INF_UNIQUE: return inf.def.attrs & attUNQUEE;
    default: return inf.def.attrs & attDELETE;
    }
}

unsigned int MDXGetKeyType(int MDXHandle) { return info_field(MDXHandle, INF_TYPE); }
unsigned int MDXGetKeySize(int MDXHandle) { return info_field(MDXHandle, INF_SIZE); }
int MDXUnque(int MDXHandle) { return (int)info_field(MDXHandle, INF_UNIQUE); }
int MDXCanDelete(int MDXHandle) { return (int)info_field(MDXHandle, INF_DELETE); }

/* ---- keys and positions ------------------------------------------------------------ */
/* 1 when the caller gave a key; else errPOINTER. */
static int key_given(mdx_slot *s, const void *key)
{
    if (key)
        return 1;
    s->error = errPOINTER;
    return 0;
}

/* Bytes of a caller's key to hand to udb: a STRING key ends at its NUL
   (the original compared them with strcmp, so a shorter buffer was fine);
   every other key is keysize bytes, as the original read it. */
static size_t key_len(const mdx_index *x, const void *key)
{
    return x->keytype == UDB_KEY_STRING ? strnlen(key, x->keysize) : x->keysize;
}

/* 1 when a data position fits the legacy 32 bits; else errGETFILEPOS. */
static int pos_fits(mdx_slot *s, int64_t dp)
{
    if (dp >= INT32_MIN && dp <= INT32_MAX)
        return 1;
    s->error = errGETFILEPOS;
    return 0;
}

static int compare(mdx_slot *s, const void *a, const void *b)
{
    mdx_index *x = ix_ready(s);
    if (!x || !key_given(s, a) || !key_given(s, b))
        return 0;
    /* the index as the file has it now: another writer may have defined it
       anew since its key size was noted (udb_ndx_compare reads that many) */
    udb_index_info inf;
    size_t ks = x->keysize;
    if (udb_ndx_info(s->ndx, s->active, &inf) == 0 && inf.def.keysize > ks)
        ks = inf.def.keysize;
    uint8_t *k = calloc(2, ks);
    if (!k) {
        s->error = errMEMERROR;
        return 0;
    }
    memcpy(k, a, key_len(x, a));
    memcpy(k + ks, b, key_len(x, b));
    int r = 0, rc = udb_ndx_compare(s->ndx, s->active, k, k + ks, &r);
    free(k);
    if (rc)
        fail(s, rc, OP_READ);
    return (r > 0) - (r < 0);
}

int MDXCompare(int MDXHandle, const void *AKey1, const void *AKey2)
{
    mdx_slot *s = enter(MDXHandle);
    int r = s ? compare(s, AKey1, AKey2) : 0;
    leave();
    return r;
}

/* ---- records --------------------------------------------------------------------------- */
/* 1: a new distinct key; 0: a duplicate stored, or refused (error set).
   The look-up and the insert share one transaction, so the answer is
   exact even while other handles write. */
static int append(mdx_slot *s, const void *key, int32_t dp)
{
    mdx_index *x = ix_ready(s);
    if (!x || !key_given(s, key))
        return 0;
    size_t len = key_len(x, key);
    int had = UDB_NOTFOUND, rc = udb_ndx_begin(s->ndx);
    if (!rc) {
        had = udb_ndx_find(s->ndx, s->active, key, len, NULL);
        rc = had && had != UDB_NOTFOUND ? had : udb_cursor_append(x->cur, key, len, dp);
        if (!rc)
            rc = udb_ndx_commit(s->ndx);
        if (rc) /* also after a commit that failed and left the transaction open */
            udb_ndx_rollback(s->ndx);
    }
    if (rc) {
        fail(s, rc, OP_WRITE);
        return 0;
    }
    return had == UDB_NOTFOUND;
}

int MDXAppend(int MDXHandle, const void *AKey, int32_t ADataPos)
{
    mdx_slot *s = enter(MDXHandle);
    int r = s ? append(s, AKey, ADataPos) : 0;
    leave();
    return r;
}

static int32_t find(mdx_slot *s, const void *key)
{
    mdx_index *x = ix_ready(s);
    if (!x || !key_given(s, key))
        return -1;
    udb_item it;
    int rc = udb_cursor_find(x->cur, key, key_len(x, key), &it);
    if (rc && rc != UDB_NOTFOUND)
        fail(s, rc, OP_READ);
    return !rc && pos_fits(s, it.datapos) ? (int32_t)it.datapos : -1;
}

int32_t MDXFind(int MDXHandle, const void *AKey)
{
    mdx_slot *s = enter(MDXHandle);
    int32_t r = s ? find(s, AKey) : -1;
    leave();
    return r;
}

static int delete_key(mdx_slot *s, const void *key)
{
    mdx_index *x = ix_ready(s);
    if (!x || !key_given(s, key))
        return 0;
    uint64_t n = 0;
    int rc = udb_cursor_delete_key(x->cur, key, key_len(x, key), &n);
    if (rc && rc != UDB_NOTFOUND)
        fail(s, rc, OP_WRITE);
    return !rc && n > 0;
}

int MDXDelete(int MDXHandle, const void *AKey)
{
    mdx_slot *s = enter(MDXHandle);
    int r = s ? delete_key(s, AKey) : 0;
    leave();
    return r;
}

/* The removed record's position, or -1 (also when its position would not
   fit: then nothing is removed). */
static int32_t delete_current(mdx_slot *s)
{
    mdx_index *x = ix_ready(s);
    if (!x)
        return -1;
    udb_item it;
    int rc = udb_cursor_current(x->cur, &it);
    if (rc == UDB_NOTFOUND || (!rc && !pos_fits(s, it.datapos)))
        return -1;
    if (!rc)
        rc = udb_cursor_delete(x->cur, &it);
    if (rc) {
        fail(s, rc, OP_WRITE);
        return -1;
    }
    return (int32_t)it.datapos;
}

int32_t MDXDeleteCurrent(int MDXHandle)
{
    mdx_slot *s = enter(MDXHandle);
    int32_t r = s ? delete_current(s) : -1;
    leave();
    return r;
}

/* ---- the cursor -------------------------------------------------------------------------- */
typedef int (*move_fn)(udb_cursor *c, udb_item *out);

/* Move the active index's cursor; the key is copied to key (keysize
   bytes, if key is not NULL) only when a position is returned. */
static int32_t move(int h, move_fn how, void *key)
{
    mdx_slot *s = enter(h);
    mdx_index *x = s ? ix_ready(s) : NULL;
    int32_t r = -1;
    udb_item it;
    int rc = x ? how(x->cur, &it) : UDB_NOTFOUND;
    if (rc && rc != UDB_NOTFOUND)
        fail(s, rc, OP_READ);
    if (!rc && pos_fits(s, it.datapos)) {
        if (key)
            memcpy(key, it.key, it.keysize);
        r = (int32_t)it.datapos;
    }
    leave();
    return r;
}

int32_t MDXGetFirst(int MDXHandle, void *AKey) { return move(MDXHandle, udb_cursor_first, AKey); }
int32_t MDXGetNext(int MDXHandle, void *AKey) { return move(MDXHandle, udb_cursor_next, AKey); }
int32_t MDXGetPrev(int MDXHandle, void *AKey) { return move(MDXHandle, udb_cursor_prev, AKey); }
int32_t MDXGetCurrent(int MDXHandle, void *AKey)
{
    return move(MDXHandle, udb_cursor_current, AKey);
}

/* The BOF / EOF flag; 1 while an error is pending, as the original. */
static int flag(int h, int (*get)(udb_cursor *c))
{
    mdx_slot *s = enter(h);
    int r = 0;
    if (s && (s->error != errOK || !live(s)))
        r = 1;
    else if (s && s->ix[s->active - 1].cur)
        r = get(s->ix[s->active - 1].cur) != 0;
    leave();
    return r;
}

int MDXGetEOF(int MDXHandle) { return flag(MDXHandle, udb_cursor_eof); }
int MDXGetBOF(int MDXHandle) { return flag(MDXHandle, udb_cursor_bof); }
