/*
 * session_cmd.c — the record commands of the interactive session on an
 * index file (A D F N L . + - T R S), each on the active index through
 * that index's own cursor, as the originals' one POSITION per index.
 * Prints results on stdout; must not read input or open and close the
 * file (session.c does).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "session.h"

/* The active index's cursor (opened when first needed), or NULL after a
   message. */
static udb_cursor *session_cursor(session *s)
{
    unsigned i = s->active - 1;
    if (s->inf[i].def.keytype == UDB_KEY_VOID) {
        session_refuse(s, "index %u is not defined", s->active);
        return NULL;
    }
    int rc = s->cur[i] ? 0 : udb_cursor_open(s->ndx, s->active, &s->cur[i]);
    if (rc)
        session_fail(s, rc, "opening a cursor");
    return s->cur[i];
}

/* A typed word as a key of the active index into s->key, or -1 after a
   message. STRING keys are the word itself, as the originals' cin >> word;
   other types are typed text (dbe_key_parse). */
static int session_key(session *s, const char *word, size_t *len)
{
    const udb_index_info *f = &s->inf[s->active - 1];
    char err[200];
    size_t n = strlen(word);
    if (f->def.keytype != UDB_KEY_STRING) {
        if (!dbe_key_parse(f, s->layout, word, s->key, len, err, sizeof err))
            return 0;
        session_refuse(s, "%s", err);
        return -1;
    }
    if (n >= f->def.keysize) {
        session_refuse(s, "key '%s' has %zu characters; index %u holds at most %u (the original "
                       "test program overran the key silently)", word, n, s->active,
                       f->def.keysize - 1);
        return -1;
    }
    memset(s->key, 0, f->def.keysize);
    memcpy(s->key, word, n);
    *len = n;
    return 0;
}

/* "word<TAB>key<TAB>datapos": a record reached or changed. */
static void say_record(session *s, const char *word, const uint8_t *key, int64_t dp)
{
    printf("%s\t", word);
    dbe_key_print(stdout, &s->inf[s->active - 1], s->layout, key, 0);
    printf("\t%" PRId64 "\n", dp);
}

void session_say_key(session *s, const char *word, const uint8_t *key)
{
    printf("%s\t", word);
    dbe_key_print(stdout, &s->inf[s->active - 1], s->layout, key, 0);
    putchar('\n');
}

void scmd_append(session *s, const char *arg)
{
    size_t len;
    udb_cursor *c = session_cursor(s);
    if (!c || session_key(s, arg, &len))
        return;
    int64_t dp = s->counter++;  /* spent even when the append fails, as TEST.CPP */
    int rc = udb_cursor_append(c, s->key, len, dp);
    if (rc)
        session_fail(s, rc, "A");
    else
        say_record(s, "added", s->key, dp);
}

void scmd_delete(session *s, const char *arg)
{
    size_t len;
    uint64_t removed;
    udb_cursor *c = session_cursor(s);
    if (!c || session_key(s, arg, &len))
        return;
    int rc = udb_cursor_delete_key(c, s->key, len, &removed);
    if (rc == UDB_NOTFOUND) {
        session_say_key(s, "absent", s->key);
    } else if (rc) {
        session_fail(s, rc, "D");
    } else {
        printf("deleted\t");
        dbe_key_print(stdout, &s->inf[s->active - 1], s->layout, s->key, 0);
        printf("\t%" PRIu64 "\n", removed);
    }
}

/* A miss leaves the cursor on the next larger record, as the originals. */
void scmd_find(session *s, const char *arg)
{
    size_t len;
    udb_item it;
    udb_cursor *c = session_cursor(s);
    if (!c || session_key(s, arg, &len))
        return;
    int rc = udb_cursor_find(c, s->key, len, &it);
    if (rc == UDB_NOTFOUND)
        session_say_key(s, "absent", s->key);
    else if (rc)
        session_fail(s, rc, "F");
    else
        say_record(s, "found", it.key, it.datapos);
}

/* Keys "1".."count" with data positions 1..count through the cursor. */
static int fill(session *s, udb_cursor *c, uint64_t count)
{
    char text[24];
    size_t len;
    for (uint64_t i = 1; i <= count; i++) {
        snprintf(text, sizeof text, "%" PRIu64, i);
        if (session_key(s, text, &len))
            return UDB_INVAL;
        int rc = udb_cursor_append(c, s->key, len, (int64_t)i);
        if (rc) {
            session_fail(s, rc, "N");
            return rc;
        }
        dbe_progress("N", i, count);
    }
    return 0;
}

/* One transaction unless a BEGIN is open; the counter then goes on from
   count + 1, as TEST.CPP's loop leaves it. */
void scmd_fill(session *s, const char *arg)
{
    unsigned long long count;
    if (dbe_parse_uint(arg, INT64_MAX - 1, &count)) {
        session_refuse(s, "N takes a count 0..%" PRId64 ", not '%s'", INT64_MAX - 1, arg);
        return;
    }
    udb_cursor *c = session_cursor(s);
    int own = !s->in_txn, rc;
    if (!c)
        return;
    if (own && (rc = udb_ndx_begin(s->ndx))) {
        session_fail(s, rc, "N");
        return;
    }
    rc = fill(s, c, count);
    dbe_progress_end();
    if (own && rc)
        udb_ndx_rollback(s->ndx);
    else if (own && (rc = udb_ndx_commit(s->ndx)))
        session_fail(s, rc, "N");
    if (rc) {
        session_refuse(s, "N %s stopped; %s", arg,
                       own ? "nothing was added" : "what it added stays in the open transaction");
        return;
    }
    s->counter = (int64_t)count + 1;
    printf("filled\t%llu\n", count);
}

/* Every record; the cursor ends on the last one, as the originals' L. */
void scmd_list(session *s, const char *arg)
{
    udb_item it;
    uint64_t n = 0;
    udb_cursor *c = session_cursor(s);
    int rc;
    (void)arg;
    if (!c)
        return;
    for (rc = udb_cursor_first(c, &it); !rc; rc = udb_cursor_next(c, &it), n++) {
        dbe_key_print(stdout, &s->inf[s->active - 1], s->layout, it.key, 0);
        printf("\t%" PRId64 "\n", it.datapos);
    }
    if (rc != UDB_NOTFOUND)
        session_fail(s, rc, "L");
    printf("%" PRIu64 " record(s)\n", n);
}

/* Report a move: the record reached, the miss text, or the failure. */
static void say_move(session *s, int rc, const udb_item *it, const char *word, const char *miss,
                     const char *what)
{
    if (rc == UDB_NOTFOUND)
        puts(miss);
    else if (rc)
        session_fail(s, rc, what);
    else
        say_record(s, word, it->key, it->datapos);
}

void scmd_first(session *s, const char *arg)
{
    udb_item it;
    udb_cursor *c = session_cursor(s);
    (void)arg;
    if (c)
        say_move(s, udb_cursor_first(c, &it), &it, "first", "the index is empty", ".");
}

void scmd_next(session *s, const char *arg)
{
    udb_item it;
    udb_cursor *c = session_cursor(s);
    (void)arg;
    if (c && udb_cursor_eof(c))
        puts("end of index");
    else if (c)
        say_move(s, udb_cursor_next(c, &it), &it, "next", "no next record", "+");
}

void scmd_prev(session *s, const char *arg)
{
    udb_item it;
    udb_cursor *c = session_cursor(s);
    (void)arg;
    if (c && udb_cursor_bof(c))
        puts("beginning of index");
    else if (c)
        say_move(s, udb_cursor_prev(c, &it), &it, "prev", "no previous record", "-");
}

void scmd_current(session *s, const char *arg)
{
    udb_item it;
    udb_cursor *c = session_cursor(s);
    (void)arg;
    if (c)
        say_move(s, udb_cursor_current(c, &it), &it, "current", "no current record", "T");
}

/* The cursor moves to the following record, else the preceding one. */
void scmd_remove(session *s, const char *arg)
{
    udb_item it;
    udb_cursor *c = session_cursor(s);
    (void)arg;
    if (c)
        say_move(s, udb_cursor_delete(c, &it), &it, "removed", "not removed: no current record",
                 "R");
}

static void stats_cursor(session *s)
{
    udb_item it;
    udb_cursor *c = s->cur[s->active - 1];
    int rc = c ? udb_cursor_current(c, &it) : UDB_NOTFOUND;
    printf("cursor: ");
    if (!rc) {
        dbe_key_print(stdout, &s->inf[s->active - 1], s->layout, it.key, 0);
        printf(" datapos %" PRId64 "%s%s\n", it.datapos, udb_cursor_bof(c) ? ", first" : "",
               udb_cursor_eof(c) ? ", last" : "");
    } else if (rc == UDB_NOTFOUND) {
        puts(c && udb_cursor_eof(c) ? "at the end (after the last record)" : "on no record");
    } else {
        printf("%s\n", udb_strerror(rc));
    }
}

/* The handle's counters since the session opened the file. */
static void stats_handle(session *s)
{
    udb_stats st;
    udb_ndx_stats(s->ndx, &st);
    uint64_t looked = st.node_cache_hits + st.node_cache_misses;
    printf("node cache: %" PRIu64 " hit(s), %" PRIu64 " miss(es) (%.1f%% hits)\n", st.node_cache_hits,
           st.node_cache_misses, looked ? 100.0 * (double)st.node_cache_hits / (double)looked : 0.0);
    printf("written: %" PRIu64 " page(s) in %" PRIu64 " commit(s), %" PRIu64 " journal page(s), %" PRIu64
           " spill(s)\n", st.pages_written, st.commits, st.journal_pages, st.spills);
}

void scmd_stats(session *s, const char *arg)
{
    udb_index_info f;
    unsigned ix = s->active;
    int rc = udb_ndx_info(s->ndx, ix, &f);
    (void)arg;
    if (rc) {
        session_fail(s, rc, "S");
        return;
    }
    printf("file: %s (%s layout, %u indexes, %" PRIu64 " bytes)\n", s->path,
           s->layout == UDB_LAYOUT_CLASSIC ? "classic" : "wide", s->nix,
           udb_ndx_file_size(s->ndx));
    printf("index %u: %s keysize %u attrs %s maxitems %u", ix, dbe_type_name(f.def.keytype),
           f.def.keysize, dbe_attrs_name(f.def.attrs), f.def.maxitems);
    if (f.def.keytype != UDB_KEY_VOID)
        printf(", %u level(s), %" PRIu64 " record(s)", f.levels, dbe_count_records(s->ndx, ix));
    putchar('\n');
    stats_cursor(s);
    printf("next A data position: %" PRId64 "\ntransaction: %s\n", s->counter,
           s->in_txn ? "open (BEGIN)" : "none (each command is one)");
    stats_handle(s);
}
