/*
 * xfer_read.c — reading import's input as records of fields: TSV lines
 * (fields split at TABs), CSV records (RFC 4180: a quoted field may hold
 * the separator, doubled quotes and line breaks; the separator is a comma
 * or, for import --tsv, a TAB; a UTF-8 byte order mark at the start is
 * skipped) and JSON lines (one object of strings, numbers and
 * {"base64": "..."} objects per line). Blank lines are skipped. Knows
 * nothing of keys, values or udb.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

enum { XR_BAD = -3 };   /* a CSV field ended in an error (err says which) */

__attribute__((format(printf, 2, 3))) static int bad(xreader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return -1;
}

void xr_free(xreader *r)
{
    free(r->buf);
    free(r->dec);
    free(r->raw);
    r->buf = r->dec = r->raw = NULL;
}

/* Room for n more bytes in *p (holding *len of *cap); -1 when out of memory. */
static int reserve(char **p, size_t len, size_t *cap, size_t n)
{
    if (*cap - len >= n)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c - len < n)
        c *= 2;
    char *q = realloc(*p, c);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int dec_reserve(xreader *r, size_t n)
{
    return reserve(&r->dec, r->dlen, &r->dcap, n);
}

ssize_t xf_getline(char **buf, size_t *cap, FILE *in)
{
    ssize_t n = getline(buf, cap, in);
    if (n < 0)
        return n;
    if (n && (*buf)[n - 1] == '\n')
        n--;
    if (n && (*buf)[n - 1] == '\r')
        n--;
    (*buf)[n] = 0;
    return n;
}

/* The next non-blank line, without its line end, in r->buf. */
static int read_line(xreader *r, size_t *len)
{
    for (;;) {
        ssize_t n = xf_getline(&r->buf, &r->cap, r->in);
        if (n < 0)
            return ferror(r->in) ? -2 : 1;
        r->line++;
        *len = (size_t)n;
        if (n)
            return 0;
    }
}

/* ---- TSV ------------------------------------------------------------------------------------ */
static int next_tsv(xreader *r)
{
    size_t n;
    int rc = read_line(r, &n);
    if (rc)
        return rc;
    r->start = r->line;
    r->nf = 0;
    for (char *p = r->buf, *end = r->buf + n;;) {
        char *tab = memchr(p, '\t', (size_t)(end - p));
        if (r->nf == XR_MAXFIELDS)
            return bad(r, "more than %d fields", XR_MAXFIELDS);
        r->f[r->nf++] = (xfield){p, (size_t)((tab ? tab : end) - p), 0, 0};
        if (!tab)
            return 0;
        *tab = 0;
        p = tab + 1;
    }
}

/* ---- CSV ------------------------------------------------------------------------------------ */
/* One character of the input (what unread gave back first); the record's
   text keeps it when keep_raw asks for that. */
static int rd(xreader *r)
{
    int c = r->npend ? r->pend[--r->npend] : getc(r->in);
    if (c != EOF && r->keep_raw) {
        if (reserve(&r->raw, r->rlen, &r->rcap, 1))
            r->nomem = 1;
        else
            r->raw[r->rlen++] = (char)c;
    }
    return c;
}

static void unrd(xreader *r, int c)
{
    if (c == EOF)
        return;
    r->pend[r->npend++] = c;
    if (r->keep_raw && r->rlen)
        r->rlen--;
}

static int put_byte(xreader *r, int c)
{
    if (dec_reserve(r, 1))
        return -1;
    r->dec[r->dlen++] = (char)c;
    return 0;
}

/* After the opening quote; returns what follows the closing quote. */
static int csv_quoted(xreader *r)
{
    for (;;) {
        int c = rd(r);
        if (c == EOF) {
            bad(r, "the input ends inside a quoted field");
            return XR_BAD;
        }
        if (c == '"' && (c = rd(r)) != '"') {
            if (c == '\r' && (c = rd(r)) != '\n')
                unrd(r, c), c = '\r';
            if (c == r->sep || c == '\n' || c == EOF)
                return c;
            bad(r, "text after a closing quote (a quote inside a field is written \"\")");
            return XR_BAD;
        }
        r->line += c == '\n';
        if (put_byte(r, c))
            return XR_BAD;
    }
}

/* From the field's first character c; returns the character that ends it. */
static int csv_plain(xreader *r, int c)
{
    for (; c != r->sep && c != '\n' && c != EOF; c = rd(r)) {
        if (c == '"' && !r->lenient) {
            bad(r, "a quote inside a field that does not start with one");
            return XR_BAD;
        }
        if (c == '\r') {
            int d = rd(r);
            if (d == '\n')
                return d;
            unrd(r, d);
        }
        if (put_byte(r, c))
            return XR_BAD;
    }
    return c;
}

/* Fields of one record; c is its first character. */
static int csv_fields(xreader *r, int c)
{
    for (;;) {
        if (r->nf == XR_MAXFIELDS)
            return bad(r, "more than %d fields", XR_MAXFIELDS);
        r->off[r->nf] = r->dlen;
        c = c == '"' ? csv_quoted(r) : csv_plain(r, c);
        if (c == XR_BAD || put_byte(r, 0))
            return c == XR_BAD ? -1 : bad(r, "out of memory");
        r->f[r->nf].n = r->dlen - 1 - r->off[r->nf];
        r->f[r->nf].num = r->f[r->nf].bytes = 0;
        r->nf++;
        if (c != r->sep)
            break;
        c = rd(r);
    }
    r->line += c == '\n';
    if (c == '\n' && r->rlen && r->raw[r->rlen - 1] == '\n') /* the record's text ends before */
        r->rlen -= r->rlen > 1 && r->raw[r->rlen - 2] == '\r' ? 2 : 1;
    if (r->nomem)
        return bad(r, "out of memory");
    for (unsigned i = 0; i < r->nf; i++)
        r->f[i].p = r->dec + r->off[i];
    return 0;
}

/* A UTF-8 byte order mark at the very start is no part of the data. */
static void skip_bom(xreader *r)
{
    int c = rd(r), d, e;
    r->bom_seen = 1;
    if (c != 0xef) {
        unrd(r, c);
        return;
    }
    d = rd(r);
    e = d == 0xbb ? rd(r) : EOF;
    if (e == 0xbf)
        return;
    unrd(r, e);
    unrd(r, d);
    unrd(r, c);
}

static int next_csv(xreader *r)
{
    int c;
    if (!r->sep)
        r->sep = ',';
    if (!r->bom_seen)
        skip_bom(r);
    while ((c = rd(r)) == '\n' || c == '\r')
        r->line += c == '\n';
    if (c == EOF)
        return ferror(r->in) ? -2 : 1;
    r->start = r->line + 1;
    r->dlen = 0;
    r->nf = 0;
    if (r->rlen) { /* the record's text starts with c, the last byte read */
        r->raw[0] = (char)c;
        r->rlen = 1;
    }
    if (csv_fields(r, c) == 0)
        return 0;
    while (c != '\n' && c != EOF) /* resynchronise at the next line */
        c = rd(r);
    r->line += c == '\n';
    return -1;
}

/* ---- JSON lines ----------------------------------------------------------------------------- */
static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (unsigned)d;
    }
    return 0;
}

/* \uXXXX (a surrogate pair: two) at p, after the backslash and u, as UTF-8. */
static const char *json_u(xreader *r, const char *p)
{
    unsigned u, lo;
    if (hex4(p, &u))
        return bad(r, "bad \\u escape"), NULL;
    p += 4;
    if (u >= 0xd800 && u <= 0xdbff) {
        if (p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return bad(r, "a \\u escape of a lone surrogate"), NULL;
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
        return bad(r, "a \\u escape of a lone surrogate"), NULL;
    }
    char *o = r->dec + r->dlen;
    int n = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    for (int i = n - 1; i > 0; i--, u >>= 6)
        o[i] = (char)(0x80 | (u & 0x3f));
    o[0] = (char)(lead[n] | u);
    r->dlen += (size_t)n;
    return p;
}

/* A JSON string at p (on its quote), decoded into r->dec. */
static const char *json_str(xreader *r, const char *p, xfield *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t at = r->dlen;
    for (p++; *p != '"'; p++) {
        const char *e;
        if (!*p)
            return bad(r, "a string does not end"), NULL;
        if (*p != '\\') {
            r->dec[r->dlen++] = *p;
        } else if (*++p == 'u') {
            if (!(p = json_u(r, p + 1)))
                return NULL;
            p--;
        } else if (*p && (e = strchr(from, *p))) {
            r->dec[r->dlen++] = to[e - from];
        } else {
            return bad(r, "bad escape \\%c in a string", *p ? *p : ' '), NULL;
        }
    }
    r->dec[r->dlen++] = 0;
    *out = (xfield){r->dec + at, r->dlen - 1 - at, 0, 0};
    return p + 1;
}

static const char *json_num(xreader *r, const char *p, xfield *out)
{
    size_t n = strspn(p, "-+0123456789.eE");
    if (!n)
        return bad(r, "values are strings or numbers"), NULL;
    *out = (xfield){r->dec + r->dlen, n, 1, 0};
    memcpy(r->dec + r->dlen, p, n);
    r->dlen += n;
    r->dec[r->dlen++] = 0;
    return p + n;
}

/* {"base64": "..."} at p (on its brace): the bytes of a field that are
   not UTF-8 (export writes them so). */
static const char *json_bytes(xreader *r, const char *p, xfield *out)
{
    xfield name;
    if (*(p = ws(p + 1)) != '"')
        return bad(r, "expected {\"base64\": \"...\"}"), NULL;
    if (!(p = json_str(r, p, &name)))
        return NULL;
    if (strcmp(name.p, "base64") || *(p = ws(p)) != ':' || *(p = ws(p + 1)) != '"')
        return bad(r, "expected {\"base64\": \"...\"}"), NULL;
    if (!(p = json_str(r, p, out)))
        return NULL;
    if (*(p = ws(p)) != '}')
        return bad(r, "expected '}' after the base64 string"), NULL;
    long n = xf_unbase64(out->p, out->n);
    if (n < 0)
        return bad(r, "not a base64 string in {\"base64\": ...}"), NULL;
    out->n = (size_t)n;
    out->p[n] = 0;
    out->bytes = 1;
    return p + 1;
}

/* One "name": value member at p into its column. */
static const char *json_member(xreader *r, const char *p)
{
    xfield name;
    unsigned col = 0;
    if (*p != '"')
        return bad(r, "expected a \"name\""), NULL;
    if (!(p = json_str(r, p, &name)))
        return NULL;
    while (col < r->ncols && strcmp(r->names[col], name.p))
        col++;
    if (col == r->ncols)
        return bad(r, "unknown name \"%.40s\"", name.p), NULL;
    if (r->f[col].p)
        return bad(r, "\"%s\" appears twice", name.p), NULL;
    p = ws(p);
    if (*p != ':')
        return bad(r, "expected ':' after \"%s\"", name.p), NULL;
    p = ws(p + 1);
    return *p == '"' ? json_str(r, p, &r->f[col]) : *p == '{' ? json_bytes(r, p, &r->f[col])
                                                     : json_num(r, p, &r->f[col]);
}

static int next_jsonl(xreader *r)
{
    size_t n;
    int rc = read_line(r, &n);
    if (rc)
        return rc;
    r->start = r->line;
    r->dlen = 0;
    if (dec_reserve(r, 2 * n + 2))
        return bad(r, "out of memory");
    for (unsigned i = 0; i < r->ncols; i++)
        r->f[i].p = NULL;
    const char *p = ws(r->buf);
    if (*p != '{')
        return bad(r, "not a JSON object");
    for (p = ws(p + 1); *p != '}';) {
        if (!(p = json_member(r, p)))
            return -1;
        p = ws(p);
        if (*p == ',')
            p = ws(p + 1);
        else if (*p != '}')
            return bad(r, "expected ',' or '}'");
    }
    if (*ws(p + 1))
        return bad(r, "text after the object");
    for (unsigned i = 0; i < r->ncols; i++)
        if (!r->f[i].p)
            return bad(r, "\"%s\" is missing", r->names[i]);
    r->nf = r->ncols;
    return 0;
}

int xr_next(xreader *r)
{
    r->err[0] = 0;
    return r->fmt == XF_TSV ? next_tsv(r) : r->fmt == XF_CSV ? next_csv(r) : next_jsonl(r);
}
