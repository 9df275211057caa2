/*
 * keys.c — keys as text in dbe: parsing typed text (decimal numbers, 0x hex
 * for any type, C escapes in strings) into a keysize buffer, printing
 * keys for listings, the C escapes of bytes, and the names of key types
 * and attributes. Owns nothing else (JSON is json.c's).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dbe.h"

static const char *type_names[] = {"VOID", "BLOCK", "NUM_BLOCK", "INTEGER",
                                   "LONG_INT", "STRING", "LOGICAL", "CHARACTER"};

const char *dbe_type_name(int t)
{
    return t >= 0 && t <= 7 ? type_names[t] : "UNKNOWN";
}

const char *dbe_attrs_name(unsigned attrs)
{
    static const char *names[] = {"none", "UNIQUE", "ALLOW_DELETE", "UNIQUE|ALLOW_DELETE"};
    return names[attrs & 3];
}

int dbe_type_parse(const char *s)
{
    static const struct { const char *n; int t; } alias[] = {
        {"block", 1}, {"num_block", 2}, {"numblock", 2}, {"integer", 3}, {"int", 3},
        {"long_int", 4}, {"longint", 4}, {"long", 4}, {"string", 5}, {"str", 5},
        {"logical", 6}, {"bool", 6}, {"character", 7}, {"char", 7}};
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++) {
        const char *a = alias[i].n, *b = s;
        while (*a && tolower((unsigned char)*b) == *a)
            a++, b++;
        if (!*a && !*b)
            return alias[i].t;
    }
    return -1;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "0x..." into bytes; returns the count or -1. */
static long parse_hex(const char *s, uint8_t *out, size_t max)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return (long)(n / 2);
}

long dbe_unescape(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (c == '\\') {
            s++;
            switch (*s) {
            case '\\': c = '\\'; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'x': {
                int a = hexval(s[1]), b = a < 0 ? -1 : hexval(s[2]);
                if (b < 0)
                    return -1;
                c = a << 4 | b;
                s += 2;
                break;
            }
            default:
                return -1;
            }
        }
        if (n >= max)
            return -1;
        out[n++] = (uint8_t)c;
    }
    return (long)n;
}

static int parse_number(const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return (!*s || errno || *end || *v < lo || *v > hi) ? -1 : 0;
}

int dbe_key_parse(const udb_index_info *inf, int layout, const char *text, uint8_t *out,
                  size_t *len, char *err, size_t errlen)
{
    unsigned ks = inf->def.keysize;
    int t = inf->def.keytype;
    long n;
    long long v;
    (void)layout;
    memset(out, 0, ks);
    if ((text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))) {
        n = parse_hex(text + 2, out, ks);
        if (n < 0) {
            snprintf(err, errlen, "'%s' is not hex of at most %u bytes", text, ks);
            return -1;
        }
        *len = (size_t)n;
        return 0;
    }
    switch (t) {
    case UDB_KEY_INTEGER:
    case UDB_KEY_LONG_INT:
        if (parse_number(text, t == UDB_KEY_INTEGER ? INT16_MIN : INT32_MIN,
                         t == UDB_KEY_INTEGER ? INT16_MAX : INT32_MAX, &v)) {
            snprintf(err, errlen, "'%s' is not a %s (decimal, %s)", text, dbe_type_name(t),
                     t == UDB_KEY_INTEGER ? "-32768..32767" : "-2147483648..2147483647");
            return -1;
        }
        for (unsigned i = 0; i < (t == UDB_KEY_INTEGER ? 2u : 4u); i++)
            out[i] = (uint8_t)((unsigned long long)v >> (8 * i));
        *len = ks;
        return 0;
    case UDB_KEY_NUM_BLOCK: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(text, &end, 10);
        if (!*text || *text == '-' || errno || *end || (ks < 8 && u >> (8 * ks))) {
            snprintf(err, errlen, "'%s' is not an unsigned number that fits %u bytes", text, ks);
            return -1;
        }
        for (unsigned i = 0; i < ks && i < 8; i++)
            out[i] = (uint8_t)(u >> (8 * i));
        *len = ks;
        return 0;
    }
    case UDB_KEY_LOGICAL: {
        static const char *yes[] = {"true", "t", "yes", "y", "1"}, *no[] = {"false", "f", "no", "n", "0"};
        for (int i = 0; i < 5; i++)
            if (!strcasecmp(text, yes[i]) || !strcasecmp(text, no[i])) {
                out[0] = !strcasecmp(text, yes[i]);
                *len = 1;
                return 0;
            }
        snprintf(err, errlen, "'%s' is not a LOGICAL (true/false, 1/0)", text);
        return -1;
    }
    default:
        n = dbe_unescape(text, out, t == UDB_KEY_STRING ? ks - 1 : ks);
        if (n < 0 || (t == UDB_KEY_CHARACTER && n != 1)) {
            snprintf(err, errlen, t == UDB_KEY_CHARACTER ? "'%s' is not one character"
                                  : "'%s' is longer than the key size %u allows or has a bad escape",
                     text, t == UDB_KEY_STRING ? ks - 1 : ks);
            return -1;
        }
        if (t == UDB_KEY_STRING && memchr(out, 0, (size_t)n)) {
            snprintf(err, errlen, "'%s' contains a NUL; STRING keys end at the NUL", text);
            return -1;
        }
        *len = (size_t)n;
        return 0;
    }
}

void dbe_key_print(FILE *f, const udb_index_info *inf, int layout, const uint8_t *key, int raw)
{
    unsigned ks = inf->def.keysize;
    int t = inf->def.keytype;
    (void)layout;
    if (t == UDB_KEY_STRING) {
        size_t n = strnlen((const char *)key, ks), skip = 0;
        if (n >= 2 && key[0] == '0' && (key[1] == 'x' || key[1] == 'X')) {
            fputs("\\x30", f); /* text, not the 0x form of bytes */
            skip = 1;
        }
        dbe_escape(f, key + skip, n - skip);
        return;
    }
    if (!raw && t == UDB_KEY_INTEGER) {
        fprintf(f, "%d", (int16_t)(key[0] | key[1] << 8));
        return;
    }
    if (!raw && t == UDB_KEY_LONG_INT) {
        fprintf(f, "%ld", (long)(int32_t)((uint32_t)key[0] | (uint32_t)key[1] << 8 |
                                          (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24));
        return;
    }
    fputs("0x", f);
    for (unsigned i = 0; i < ks; i++)
        fprintf(f, "%02x", key[i]);
}

void dbe_escape(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = p[i];
        if (c == '\\')
            fputs("\\\\", f);
        else if (c >= 0x20 && c <= 0x7e)
            fputc(c, f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else
            fprintf(f, "\\x%02x", c);
    }
}
