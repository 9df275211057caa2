/*
 * xfer_map.c — import --csv / --tsv: the options that map the columns of
 * an ordinary CSV or TSV file onto a store's indexes and value, finding
 * the columns they name (by number, or by name in a header), and the
 * plain-text reading of a field as a key. Makes no udb calls; cmd_import.c
 * reads the records and writes them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

/* "--opt V" or "--opt=V" at argv[*i]: V, or NULL (not this option). */
static const char *opt_arg(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int xm_take_args(int *argc, char **argv, xmap *m)
{
    int out = 1, missing = 0;
    const char *v;
    memset(m, 0, sizeof *m);
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--csv") || !strcmp(a, "--tsv")) {
            if (m->on && m->sep != (a[2] == 'c' ? ',' : '\t'))
                return dbe_fail(EX_USAGE, "import: --csv or --tsv, not both");
            m->on = 1;
            m->sep = a[2] == 'c' ? ',' : '\t';
        } else if (!strcmp(a, "--header")) {
            m->header = 1;
        } else if ((v = opt_arg(*argc, argv, &i, "--key", &missing))) {
            if (m->nkeys == XF_MAXCOLS - 1)
                return dbe_fail(EX_USAGE, "import: more than %d --key", XF_MAXCOLS - 1);
            m->keyarg[m->nkeys++] = v;
        } else if (!missing && (v = opt_arg(*argc, argv, &i, "--value", &missing))) {
            if (m->valarg)
                return dbe_fail(EX_USAGE, "import: --value is given twice");
            m->valarg = v;
        } else if (missing) {
            return dbe_fail(EX_USAGE, "import: %s needs a column (a number from 1, or a name "
                            "with --header)", a);
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    if (!m->on && (m->header || m->nkeys || m->valarg))
        return dbe_fail(EX_USAGE, "import: --header, --key and --value go with --csv or --tsv");
    if (m->on && !m->nkeys)
        return dbe_fail(EX_USAGE, "import: --csv and --tsv need a --key COL for every index");
    return EX_OK;
}

void xm_free(xmap *m)
{
    for (unsigned i = 0; i < XF_MAXCOLS; i++)
        free(m->name[i]);
}

void xm_colname(const xmap *m, unsigned slot, char *buf, size_t n)
{
    unsigned col = slot < m->nkeys ? m->keycol[slot] : m->valcol;
    if (m->name[slot])
        snprintf(buf, n, "column %u (%.60s)", col + 1, m->name[slot]);
    else
        snprintf(buf, n, "column %u", col + 1);
}

/* COL as a field number of a record of nf fields (r: the header, or NULL). */
static int resolve(const char *arg, const xreader *r, unsigned nf, unsigned *col)
{
    unsigned long long n;
    for (unsigned i = 0; r && i < nf; i++)
        if (!strcmp(r->f[i].p, arg)) {
            *col = i;
            return EX_OK;
        }
    if (!dbe_parse_uint(arg, nf, &n) && n >= 1) {
        *col = (unsigned)n - 1;
        return EX_OK;
    }
    if (r)
        return dbe_fail(EX_USAGE, "import: no column '%s': the header names %u column(s) and "
                        "the columns are numbered 1..%u", arg, nf, nf);
    if (!dbe_parse_uint(arg, ~0u, &n) && n >= 1)
        return dbe_fail(EX_USAGE, "import: no column %s: the first record has %u field(s)", arg, nf);
    return dbe_fail(EX_USAGE, "import: column '%s' is not a number from 1 (names need --header)",
                    arg);
}

int xm_columns(xmap *m, const xreader *r)
{
    const xreader *names = m->header ? r : NULL;
    int ex = EX_OK;
    m->nfields = r->nf;
    for (unsigned i = 0; i <= m->nkeys && ex == EX_OK; i++) {
        const char *arg = i < m->nkeys ? m->keyarg[i] : m->valarg;
        unsigned *col = i < m->nkeys ? &m->keycol[i] : &m->valcol;
        if (!arg)
            continue;
        ex = resolve(arg, names, r->nf, col);
        if (ex == EX_OK && names && !(m->name[i] = strdup(r->f[*col].p)))
            ex = dbe_fail(EX_USAGE, "out of memory");
    }
    return ex;
}

/* At most 40 bytes of a field for a message: printable ASCII as it is,
   other bytes as \xHH. */
static const char *shown(const char *p, size_t n, char *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < 40 && o + 8 < len; i++) {
        unsigned char c = (unsigned char)p[i];
        o += (size_t)snprintf(buf + o, len - o, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
    snprintf(buf + o, len - o, "%s", n > 40 ? "..." : "");
    return buf;
}

/* A number's field without the blanks around it, into buf; NULL when too long. */
static const char *trimmed(const xfield *f, char *buf, size_t n)
{
    const char *p = f->p, *e = f->p + f->n;
    while (p < e && isblank((unsigned char)*p))
        p++;
    while (e > p && isblank((unsigned char)e[-1]))
        e--;
    if ((size_t)(e - p) >= n)
        return NULL;
    memcpy(buf, p, (size_t)(e - p));
    buf[e - p] = 0;
    return buf;
}

int xm_key(const udb_index_info *inf, const xfield *f, uint8_t *out, size_t *len, char *err,
           size_t errlen)
{
    char buf[64], show[200];
    int t = inf->def.keytype;
    size_t ks = inf->def.keysize, max = t == UDB_KEY_STRING ? ks - 1 : t == UDB_KEY_CHARACTER ? 1 : ks;
    if (t == UDB_KEY_STRING || t == UDB_KEY_BLOCK || t == UDB_KEY_CHARACTER) {
        if (t == UDB_KEY_STRING && memchr(f->p, 0, f->n)) {
            snprintf(err, errlen, "a NUL byte; STRING keys end at the NUL");
            return -1;
        }
        if (f->n > max || (t == UDB_KEY_CHARACTER && f->n != 1)) {
            snprintf(err, errlen, "'%s' is %zu bytes; a %s key of key size %zu holds %s%zu",
                     shown(f->p, f->n, show, sizeof show), f->n, dbe_type_name(t), ks,
                     t == UDB_KEY_CHARACTER ? "exactly " : "at most ", max);
            return -1;
        }
        memset(out, 0, ks);
        memcpy(out, f->p, f->n);
        *len = f->n;
        return 0;
    }
    const char *text = trimmed(f, buf, sizeof buf);
    for (const char *p = text; p && *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            text = NULL;
    if (!text) {
        snprintf(err, errlen, "'%s' is not a %s", shown(f->p, f->n, show, sizeof show),
                 dbe_type_name(t));
        return -1;
    }
    if (t != UDB_KEY_LOGICAL && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        /* dbe's form of the key's bytes, little-endian: not what a CSV file means */
        snprintf(err, errlen, "'%s' is not a decimal %s", text, dbe_type_name(t));
        return -1;
    }
    return dbe_key_parse(inf, UDB_LAYOUT_AUTO, text, out, len, err, errlen) ? -1 : 0;
}
