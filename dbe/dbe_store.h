/*
 * dbe_store.h — what dbe's store, maintenance and transfer commands share:
 * opening a record store with its index definitions, telling a store name
 * from a file, hot-journal reports, hex dumps. Only the dbe command files
 * include it.
 */
#ifndef DBE_STORE_H
#define DBE_STORE_H

#include "dbe.h"

/* Record stores: NAME.ndx + NAME.dat. */
typedef struct dbe_store {
    udb_store *s;
    unsigned n;                 /* indexes */
    udb_index_info *inf;        /* n definitions */
    uint8_t **key;              /* n keysize buffers, filled by dbe_store_key */
    size_t *len;                /* their key lengths */
    char *name;                 /* the store's NAME (the argument may have
                                   been NAME.ndx or NAME.dat) */
} dbe_store;
/* 1 when NAME itself does not exist but NAME.ndx and NAME.dat do (or
   NAME.dat alone, when it begins with a store descriptor). */
int dbe_is_store(const char *name);
/* The store an argument names, in a fresh buffer (free it): NAME itself
   (dbe_is_store), or NAME for NAME.ndx or NAME.dat of a store (then
   *named_file is 1); NULL when it names no store. */
char *dbe_store_of(const char *arg, int *named_file);
/* "dbe: store NAME (NAME.ndx + NAME.dat)" on stderr: what a command that
   works on the whole store opened when it was given one of its files. */
void dbe_say_store(const char *name);
/* When path is NAME.ndx or NAME.dat of a store: a line on stderr saying
   that cmd reads that file alone, and how to name the whole store. */
void dbe_say_store_file(const char *cmd, const char *path);
/* NAME.ext in a fresh buffer (free it), or NULL. */
char *dbe_with_ext(const char *name, const char *ext);
/* Open the store arg names (dbe_store_of; says which when arg is one of
   its files), read-only unless writable, and read every definition; prints
   on failure (an existing arg that is no store's: dbe_not_kind) and
   returns the exit code. A failure leaves nothing open (st zeroed; closing
   it again does nothing). */
int dbe_store_open(const char *name, const dbe_opts *o, int writable, const char *cmd, dbe_store *st);
/* Close (reporting a failed close when ex is EX_OK); returns the exit code. */
int dbe_store_close(dbe_store *st, int ex);
/* Parse text as a key of index ix (1-based) into st->key[ix-1]; prints. */
int dbe_store_key(dbe_store *st, unsigned ix, const char *cmd, const char *text);
/* The records of index ix of an open store (a cursor walk in one read
   snapshot, or inside the transaction that is open); a udb code. */
int dbe_store_records(udb_store *s, unsigned ix, uint64_t *n);
/* A hot journal for path (a file, or a store's NAME.ndx)? Prints it. */
int dbe_report_hot(const char *path, const char *shown);
int dbe_check_store(const char *name, const dbe_opts *o);
/* "rebuild: ..." (what can be rebuilt from the records of the store, as
   its descriptor says) on stdout; a udb code (nothing printed) when the
   descriptor cannot be read. */
int dbe_store_rebuild_line(const char *name, const dbe_opts *o);
/* dbe info STORE: the descriptor, the definitions, what can be rebuilt. */
int dbe_info_store(const char *name, const dbe_opts *o);
/* What the store descriptor says beyond the definitions, as info shows it:
   the "descriptor:" and "rebuild:" lines, or (json) the members
   descriptor_version, compress, keyed and rebuild, each on a line of its
   own indented by 2 and followed by a comma. A udb code, nothing printed,
   when the descriptor cannot be read. */
int dbe_store_about_print(const char *name, const dbe_opts *o, int json);
/* info's lines on a defined index after its definition (the batches, the
   levels and positions of its tree, the sentinel), and the same as JSON
   members, each after ", " (attrs and initialised too): stat shows them. */
void dbe_index_places_text(const udb_index_info *f);
void dbe_index_places_json(const udb_index_info *f);

/* hexdump -C style dump of a stream of bytes starting at offset base. */
typedef struct dbe_dump {
    FILE *f;
    uint64_t off;               /* offset of line[0] */
    uint8_t line[16], prev[16];
    size_t fill;
    int have_prev, starred;
} dbe_dump;
void dbe_dump_start(dbe_dump *d, FILE *f, uint64_t base);
void dbe_dump_feed(dbe_dump *d, const uint8_t *p, size_t n);
void dbe_dump_end(dbe_dump *d);

#endif
