/*
 * xfer.h — what export and import share: the formats, the table a record
 * store or an index file presents (key columns, then the value or the data
 * position), and the text encodings of its fields. Only cmd_export.c,
 * cmd_import.c, xfer.c, xfer_text.c and xfer_read.c include it.
 */
#ifndef DBE_XFER_H
#define DBE_XFER_H

#include <sys/types.h>
#include "dbe_store.h"

enum { XF_TSV, XF_CSV, XF_JSONL, XF_COPY }; /* COPY: PostgreSQL's text format, export only */
enum { XF_MAXCOLS = 65 };       /* 64 indexes and the value */
enum { XR_MAXFIELDS = 1024 };   /* fields of a record read */

typedef struct xtable {
    int is_store;
    dbe_store st;               /* a store: one key column per index, then v */
    udb_ndx *d;                 /* an index file: key and datapos of index ix */
    udb_index_info dinf;
    uint8_t *dkey;              /* keysize buffer for the file's index */
    size_t dlen;
    unsigned ix;                /* -i N, 1 when not given */
    unsigned nkeys;             /* key columns */
} xtable;

/* --format: tsv (default), csv, jsonl or (export) copy. */
int xf_format(const char *s, const char *cmd, int *fmt);

/* ---- the table (xfer.c) ---- */
/* A store when NAME is one (dbe_is_store), else an index file. Prints. */
int xt_open(const char *name, const dbe_opts *o, int writable, const char *cmd, xtable *t);
int xt_close(xtable *t, int ex);
const udb_index_info *xt_inf(const xtable *t, unsigned col);
uint8_t *xt_keybuf(xtable *t, unsigned col, size_t **len);
/* Column names: k1..kN and v for a store, key and datapos for a file. */
void xt_colname(const xtable *t, unsigned col, char *buf, size_t n);
/* 1 when the store or the file's index holds no record. */
int xt_empty(xtable *t);
int xt_begin(xtable *t);
int xt_commit(xtable *t);
void xt_rollback(xtable *t);
const char *xt_errmsg(const xtable *t);

/* The keys of a store's other indexes by record (xfer.c). */
typedef struct xkeymap {
    uint8_t *e;                 /* entries: the record's position, then the key */
    size_t n, cap, size;        /* entries, room, bytes per entry */
} xkeymap;
/* One map per index but order's own (1-based; that one stays empty), in
   the caller's read transaction. Prints; free with xk_free (also after a
   failure). */
int xk_build(dbe_store *st, unsigned order, const char *cmd, xkeymap **maps);
/* The key the record at pos has in the map's index col + 1; NULL after a
   message (the store is damaged). */
const uint8_t *xk_find(const xkeymap *m, int64_t pos, unsigned col, const char *cmd);
void xk_free(xkeymap *maps, unsigned n);

/* ---- writing fields (xfer_text.c) ---- */
/* A key column: TSV dbe's key text; CSV, JSONL and COPY a STRING key's own
   bytes (quoted / escaped; JSONL: {"base64": ...} when not UTF-8), other
   types dbe's key text (JSONL: INTEGER and LONG_INT as numbers). Returns 1
   when a STRING key is not UTF-8 (CSV: written as it is; COPY: refused). */
int xf_key(FILE *f, int fmt, const udb_index_info *inf, const uint8_t *key);
/* A value: TSV C escapes, CSV \x and hex (PostgreSQL bytea), JSONL base64,
   COPY text. Returns 1 when COPY cannot carry it (a NUL, not UTF-8). */
int xf_value(FILE *f, int fmt, const uint8_t *p, size_t n);
/* A field of a text dump: bytes 0x21..0x7e as they are but backslash and
   quote, other bytes \HH; the empty field "". xd_get decodes in place:
   the byte count, or -1 when s[0..n) is not such a field. */
void xd_put(FILE *f, const uint8_t *p, size_t n);
long xd_get(char *s, size_t n);
/* Before column col of a row (separator, JSONL name), and the row's end. */
void xf_sep(FILE *f, int fmt, unsigned col, const char *name);
void xf_end(FILE *f, int fmt);

/* ---- reading records (xfer_read.c) ---- */
typedef struct xfield {
    char *p;                    /* decoded bytes, NUL-terminated */
    size_t n;
    int num;                    /* JSONL: a number, not a string */
    int bytes;                  /* JSONL: {"base64": ...}, decoded */
} xfield;

typedef struct xreader {
    FILE *in;
    int fmt;
    int sep;                    /* CSV: the separator (0: a comma) */
    int lenient;                /* CSV: a quote inside an unquoted field is data */
    int keep_raw;               /* CSV: keep each record's text in raw */
    char *raw;                  /* the record as read, without its line end */
    size_t rlen, rcap;
    int pend[4];                /* CSV: characters given back */
    unsigned npend;
    int bom_seen, nomem;
    unsigned ncols;
    char names[XF_MAXCOLS][8];  /* JSONL: column names */
    unsigned long line, start;  /* lines read; the line the record starts on */
    char *buf;                  /* TSV, JSONL: the line */
    size_t cap;
    char *dec;                  /* CSV, JSONL: decoded fields */
    size_t dlen, dcap;
    size_t off[XR_MAXFIELDS];
    xfield f[XR_MAXFIELDS];
    unsigned nf;
    char err[300];
} xreader;

/* getline without the line end (LF or CRLF): the length, or -1 at the end
   of the input or on an error. */
ssize_t xf_getline(char **buf, size_t *cap, FILE *in);
/* 0: a record in f[0..nf-1] (JSONL: in column order, nf = ncols), 1: the
   end of the input, -1: a bad record (err says why), -2: a read error. */
int xr_next(xreader *r);
void xr_free(xreader *r);
/* ---- import --csv / --tsv: a column mapping (xfer_map.c) ---- */
typedef struct xmap {
    int on;                     /* --csv or --tsv was given */
    int sep;                    /* ',' or TAB */
    int header;                 /* --header: the first record names the columns */
    const char *keyarg[XF_MAXCOLS], *valarg; /* --key COL..., --value COL (NULL: the record) */
    unsigned nkeys;
    unsigned keycol[XF_MAXCOLS], valcol; /* the fields they name, 0-based */
    unsigned nfields;           /* fields of every record (0: not known yet) */
    char *name[XF_MAXCOLS];     /* --header: the names of the keys' and the value's fields */
} xmap;

/* Take --csv, --tsv, --header, --key COL and --value COL out of argv (*argc
   shrinks). EX_OK or the exit code of the message printed. */
int xm_take_args(int *argc, char **argv, xmap *m);
/* Resolve the COLs once the first record (r's fields) is read: with
   --header it names the columns (and is no data); otherwise COLs are
   numbers and it only sets the count. Prints; EX_OK or EX_USAGE. */
int xm_columns(xmap *m, const xreader *r);
void xm_free(xmap *m);
/* "column 3 (price)" for messages: slot i of the keys, nkeys the value. */
void xm_colname(const xmap *m, unsigned slot, char *buf, size_t n);
/* A field as a key of inf (plain text: STRING, BLOCK and CHARACTER its
   bytes, numbers decimal, LOGICAL true/false); 0, or -1 with err set. */
int xm_key(const udb_index_info *inf, const xfield *f, uint8_t *out, size_t *len, char *err,
           size_t errlen);

/* Decode in place (xfer_text.c): "\x" and hex; base64. The byte count or -1. */
long xf_unhex(char *s, size_t n);
long xf_unbase64(char *s, size_t n);

#endif
