/*
 * session_store.c — the record commands of the interactive session on a
 * record store (get put update del scan S), on the active index, through
 * udb_store_*. Keys are typed text as for dbe get; a value is the rest of
 * the line, with C escapes. Prints results on stdout; must not read input
 * or open and close the store (session.c does).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "session.h"

/* Key text of index ix (1-based) into st.key[ix - 1]; -1 after a message. */
static int store_key(session *s, unsigned ix, const char *text)
{
    char err[200];
    if (!dbe_key_parse(&s->inf[ix - 1], UDB_LAYOUT_AUTO, text, s->st.key[ix - 1],
                       &s->st.len[ix - 1], err, sizeof err))
        return 0;
    session_refuse(s, "index %u: %s", ix, err);
    return -1;
}

/* The next word at *p (cut off in place; *p moves to what follows it), or
   NULL when none is left. */
static char *next_word(char **p)
{
    char *w = *p + strspn(*p, " \t");
    if (!*w)
        return NULL;
    char *end = w + strcspn(w, " \t");
    *p = *end ? end + 1 : end;
    *end = 0;
    return w;
}

/* The value text (C escapes) decoded in place; -1 after a message. */
static long value_of(session *s, char *text)
{
    long n = dbe_unescape(text, (uint8_t *)text, strlen(text));
    if (n < 0)
        session_refuse(s, "the value has a bad escape (\\\\ \\n \\t \\r \\xHH)");
    return n;
}

static void say_keys(session *s, const char *word, unsigned from, unsigned to)
{
    printf("%s", word);
    for (unsigned i = from; i <= to; i++) {
        putchar('\t');
        dbe_key_print(stdout, &s->inf[i - 1], UDB_LAYOUT_AUTO, s->st.key[i - 1], 0);
    }
    putchar('\n');
}

void scmd_get(session *s, const char *arg)
{
    udb_val v = {0};
    unsigned ix = s->active;
    if (store_key(s, ix, arg))
        return;
    int rc = udb_store_get(s->st.s, ix, s->st.key[ix - 1], s->st.len[ix - 1], &v);
    if (rc == UDB_NOTFOUND) {
        session_say_key(s, "absent", s->st.key[ix - 1]);
    } else if (rc) {
        session_fail(s, rc, "get");
    } else {
        printf("found\t");
        dbe_key_print(stdout, &s->inf[ix - 1], UDB_LAYOUT_AUTO, s->st.key[ix - 1], 0);
        putchar('\t');
        dbe_escape(stdout, v.data, v.len);
        putchar('\n');
    }
    udb_val_free(&v);
}

/* put key... value: one key per index, then the rest of the line. */
void scmd_put(session *s, const char *arg)
{
    udb_key k[64];
    char *copy = strdup(arg), *p = copy;
    int ok = copy != NULL;
    for (unsigned i = 0; ok && i < s->nix; i++) {
        char *w = next_word(&p);
        if (!w)
            session_refuse(s, "usage: put key... value (one key for each of the %u index(es), then "
                           "the value)", s->nix);
        ok = w && !store_key(s, i + 1, w);
        k[i] = (udb_key){s->st.key[i], s->st.len[i]};
    }
    long n = ok ? value_of(s, p) : -1;
    int rc = n < 0 ? 0 : udb_store_put(s->st.s, k, p, (size_t)n);
    if (rc)
        session_fail(s, rc, "put");
    else if (n >= 0)
        say_keys(s, "added", 1, s->nix);
    free(copy);
}

/* update key value: the newest record with key in the active index. */
void scmd_update(session *s, const char *arg)
{
    unsigned ix = s->active;
    char *copy = strdup(arg), *p = copy;
    char *w = copy ? next_word(&p) : NULL;
    long n = w && !store_key(s, ix, w) ? value_of(s, p) : -1;
    int rc = n < 0 ? 0 : udb_store_update(s->st.s, ix, s->st.key[ix - 1], s->st.len[ix - 1], p,
                                          (size_t)n);
    if (rc == UDB_NOTFOUND)
        session_say_key(s, "absent", s->st.key[ix - 1]);
    else if (rc)
        session_fail(s, rc, "update");
    else if (n >= 0)
        say_keys(s, "updated", ix, ix);
    free(copy);
}

void scmd_del(session *s, const char *arg)
{
    unsigned ix = s->active;
    uint64_t removed = 0;
    if (store_key(s, ix, arg))
        return;
    int rc = udb_store_delete(s->st.s, ix, s->st.key[ix - 1], s->st.len[ix - 1], &removed);
    if (rc == UDB_NOTFOUND || (!rc && !removed)) {
        session_say_key(s, "absent", s->st.key[ix - 1]);
    } else if (rc) {
        session_fail(s, rc, "del");
    } else {
        printf("deleted\t");
        dbe_key_print(stdout, &s->inf[ix - 1], UDB_LAYOUT_AUTO, s->st.key[ix - 1], 0);
        printf("\t%" PRIu64 "\n", removed);
    }
}

typedef struct lister {
    const udb_index_info *inf;
    uint64_t n;
} lister;

static int list_line(void *arg, const udb_item *key, const void *val, size_t len)
{
    lister *l = arg;
    dbe_key_print(stdout, l->inf, UDB_LAYOUT_AUTO, key->key, 0);
    putchar('\t');
    dbe_escape(stdout, val, len);
    putchar('\n');
    l->n++;
    return 0;
}

/* scan [prefix]: key<TAB>value lines as dbe scan prints them, then the count. */
void scmd_scan(session *s, const char *arg)
{
    unsigned ix = s->active;
    lister l = {&s->inf[ix - 1], 0};
    size_t plen = 0;
    if (arg && store_key(s, ix, arg))
        return;
    if (arg)
        plen = s->st.len[ix - 1];
    int rc = udb_store_scan(s->st.s, ix, NULL, 0, NULL, 0, arg ? s->st.key[ix - 1] : NULL, plen,
                            list_line, &l);
    if (rc)
        session_fail(s, rc, "scan");
    printf("%" PRIu64 " record(s)\n", l.n);
}

void scmd_store_stats(session *s, const char *arg)
{
    (void)arg;
    printf("store: %s (%s.ndx + %s.dat), %u index(es)\n", s->st.name, s->st.name, s->st.name,
           s->nix);
    for (unsigned i = 0; i < s->nix; i++) {
        uint64_t n = 0;
        int rc = dbe_store_records(s->st.s, i + 1, &n);
        const udb_index_info *f = &s->inf[i];
        printf("index %u: %s keysize %u attrs %s maxitems %u, ", i + 1, dbe_type_name(f->def.keytype),
               f->def.keysize, dbe_attrs_name(f->def.attrs), f->def.maxitems);
        if (rc)
            printf("records unreadable (%s)", udb_strerror(rc));
        else
            printf("%" PRIu64 " record(s)", n);
        printf("%s\n", i + 1 == s->active ? " (active)" : "");
    }
    printf("transaction: %s\n", s->in_txn ? "open (BEGIN)" : "none (each command is one)");
}
