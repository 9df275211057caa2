/*
 * json.c — bytes and keys as JSON values (json.h): the UTF-8 test, string
 * escapes, base64. Writes to the stream it is given; parses nothing.
 */
#include <string.h>
#include "dbe.h"

int dbe_utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], k, lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, lo = c == 0xe0 ? 0xa0 : lo, hi = c == 0xed ? 0x9f : hi;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, lo = c == 0xf0 ? 0x90 : lo, hi = c == 0xf4 ? 0x8f : hi;
        else
            return 0;
        if (n - i <= k || p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (unsigned j = 2; j <= k; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
        i += k + 1;
    }
    return 1;
}

void dbe_json_string(FILE *f, const uint8_t *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        int c = p[i];
        const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                      : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (e)
            fputs(e, f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void dbe_base64(FILE *f, const uint8_t *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        fputc(a[v >> 18], f);
        fputc(a[v >> 12 & 63], f);
        fputc(i + 1 < n ? a[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? a[v & 63] : '=', f);
    }
}

void dbe_json_bytes(FILE *f, const uint8_t *p, size_t n)
{
    if (dbe_utf8_valid(p, n)) {
        dbe_json_string(f, p, n);
        return;
    }
    fputs("{\"base64\": \"", f);
    dbe_base64(f, p, n);
    fputs("\"}", f);
}

void dbe_json_key(FILE *f, const udb_index_info *inf, const uint8_t *key)
{
    int t = inf->def.keytype;
    if (t == UDB_KEY_STRING) {
        dbe_json_bytes(f, key, strnlen((const char *)key, inf->def.keysize));
        return;
    }
    int quote = t != UDB_KEY_INTEGER && t != UDB_KEY_LONG_INT;
    if (quote)
        fputc('"', f);
    dbe_key_print(f, inf, UDB_LAYOUT_AUTO, key, 0);
    if (quote)
        fputc('"', f);
}
