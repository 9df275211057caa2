/*
 * xfer_text.c — the text of export and import: writing key and value
 * fields as TSV (C escapes), CSV (RFC 4180 quoting, values as PostgreSQL
 * bytea hex), JSON lines (values base64, keys that are not UTF-8 as
 * {"base64": ...}) and PostgreSQL's COPY text format; decoding hex and
 * base64 back (xfer_read.c reads the records). Knows field encodings only;
 * makes no udb calls.
 */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

int xf_format(const char *s, const char *cmd, int *fmt)
{
    if (!s || !strcmp(s, "tsv"))
        *fmt = XF_TSV;
    else if (!strcmp(s, "csv"))
        *fmt = XF_CSV;
    else if (!strcmp(s, "jsonl") || !strcmp(s, "json"))
        *fmt = XF_JSONL;
    else if (!strcmp(s, "copy") && !strcmp(cmd, "export"))
        *fmt = XF_COPY;
    else if (!strcmp(s, "copy"))
        return dbe_fail(EX_USAGE, "%s: --format copy is for export only (import reads tsv, csv "
                        "and jsonl)", cmd);
    else
        return dbe_fail(EX_USAGE, "%s: --format takes tsv, csv, jsonl%s, not '%s'", cmd,
                        strcmp(cmd, "export") ? "" : " or copy", s);
    return EX_OK;
}

/* ---- writing ------------------------------------------------------------------------------ */
static void xf_csv(FILE *f, const uint8_t *p, size_t n)
{
    int quote = n == 0 || (n == 2 && p[0] == '\\' && p[1] == '.'); /* "" is not NULL; \. not the end */
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
    if (!quote) {
        fwrite(p, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            fputc('"', f);
        fputc(p[i], f);
    }
    fputc('"', f);
}

/* COPY text format: backslash, TAB, LF and CR escaped, other bytes as they are. */
static void copy_text(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *e = p[i] == '\\' ? "\\\\" : p[i] == '\t' ? "\\t" : p[i] == '\n' ? "\\n"
                      : p[i] == '\r' ? "\\r" : NULL;
        if (e)
            fputs(e, f);
        else
            fputc(p[i], f);
    }
}

int xf_key(FILE *f, int fmt, const udb_index_info *inf, const uint8_t *key)
{
    int t = inf->def.keytype;
    if (fmt != XF_TSV && t == UDB_KEY_STRING) {
        size_t n = strnlen((const char *)key, inf->def.keysize);
        int text = dbe_utf8_valid(key, n);
        if (fmt == XF_CSV) {
            xf_csv(f, key, n);
        } else if (fmt == XF_COPY) {
            copy_text(f, key, n);
        } else if (text) {
            dbe_json_string(f, key, n);
        } else {
            fputs("{\"base64\": \"", f);
            dbe_base64(f, key, n);
            fputs("\"}", f);
        }
        return !text;
    }
    int quote = fmt == XF_JSONL && t != UDB_KEY_INTEGER && t != UDB_KEY_LONG_INT;
    if (quote)
        fputc('"', f);
    dbe_key_print(f, inf, UDB_LAYOUT_AUTO, key, 0);
    if (quote)
        fputc('"', f);
    return 0;
}

int xf_value(FILE *f, int fmt, const uint8_t *p, size_t n)
{
    if (fmt == XF_COPY) {
        copy_text(f, p, n);
        return memchr(p, 0, n) || !dbe_utf8_valid(p, n);
    }
    if (fmt == XF_TSV) {
        dbe_escape(f, p, n);
    } else if (fmt == XF_CSV) {
        fputs("\\x", f);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%02x", p[i]);
    } else {
        fputc('"', f);
        dbe_base64(f, p, n);
        fputc('"', f);
    }
    return 0;
}

void xd_put(FILE *f, const uint8_t *p, size_t n)
{
    if (!n)
        fputs("\"\"", f);
    for (size_t i = 0; i < n; i++) {
        if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
            fputc(p[i], f);
        else
            fprintf(f, "\\%02x", p[i]);
    }
}

void xf_sep(FILE *f, int fmt, unsigned col, const char *name)
{
    if (fmt == XF_JSONL)
        fprintf(f, "%s\"%s\": ", col ? ", " : "{", name);
    else if (col)
        fputc(fmt == XF_CSV ? ',' : '\t', f);
}

void xf_end(FILE *f, int fmt)
{
    fputs(fmt == XF_JSONL ? "}\n" : "\n", f);
}

/* ---- decoding ------------------------------------------------------------------------------- */
static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

long xf_unhex(char *s, size_t n)
{
    if (n < 2 || s[0] != '\\' || s[1] != 'x' || n % 2)
        return -1;
    for (size_t i = 2; i < n; i += 2) {
        int a = hexval(s[i]), b = hexval(s[i + 1]);
        if (a < 0 || b < 0)
            return -1;
        s[i / 2 - 1] = (char)(a << 4 | b);
    }
    return (long)(n / 2 - 1);
}

long xd_get(char *s, size_t n)
{
    size_t out = 0;
    if (n == 2 && s[0] == '"' && s[1] == '"')
        return 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '\\') {
            int a = i + 2 < n ? hexval(s[i + 1]) : -1, b = a < 0 ? -1 : hexval(s[i + 2]);
            if (b < 0)
                return -1;
            c = a << 4 | b;
            i += 2;
        } else if (c <= 0x20 || c >= 0x7f || c == '"') {
            return -1;
        }
        s[out++] = (char)c;
    }
    return (long)out;
}

static int b64val(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
         : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
}

long xf_unbase64(char *s, size_t n)
{
    size_t out = 0;
    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int pad = (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=');
        int v[4];
        for (int j = 0; j < 4; j++)
            v[j] = j >= 4 - pad ? 0 : b64val(s[i + j]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || (pad && i + 4 < n))
            return -1;
        unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        s[out++] = (char)(w >> 16);
        if (pad < 2)
            s[out++] = (char)(w >> 8);
        if (pad < 1)
            s[out++] = (char)w;
    }
    return (long)out;
}
