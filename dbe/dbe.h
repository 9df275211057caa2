/*
 * dbe.h — what the parts of dbe share: exit codes, option parsing helpers,
 * key text <-> bytes, opening files of either kind, messages.
 */
#ifndef DBE_H
#define DBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "udb.h"

enum { EX_OK = 0, EX_ABSENT = 1, EX_USAGE = 2 };

typedef struct dbe_opts {
    int layout;          /* --layout, UDB_LAYOUT_AUTO when not given */
    int json, raw, reverse, all;
    unsigned index;      /* -i N, 0 when not given */
    int sync;            /* --sync */
    int compress, hex, keys, sorted;        /* flags of the store commands */
    const char *from, *to, *prefix, *format; /* their values, NULL when absent */
} dbe_opts;

/* Exit code for a udb return code: 0, 1 (absent / damaged), 2 (I/O, usage). */
int dbe_exit_code(int rc);
/* Exit code for a failed open: a missing file is an I/O error (2). */
int dbe_open_exit(int rc);
/* "dbe: " + message on stderr; returns code. */
int dbe_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dbe_usage(const char *cmd);
/* Parse common options out of argv in place; returns the count of the
   remaining positional arguments, or -1 after printing a usage error. */
int dbe_parse_opts(int argc, char **argv, dbe_opts *o, const char *allowed);
int dbe_parse_layout(const char *s, int *layout);
int dbe_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
int dbe_parse_int64(const char *s, int64_t *out);

/* Keys as text: parse by the index's key type into a keysize buffer; format
   for listing (raw = the manifests' 0x form for non-STRING keys). */
int dbe_key_parse(const udb_index_info *inf, int layout, const char *text, uint8_t *out,
                  size_t *len, char *err, size_t errlen);
void dbe_key_print(FILE *f, const udb_index_info *inf, int layout, const uint8_t *key, int raw);
const char *dbe_type_name(int keytype);
int dbe_type_parse(const char *s);
const char *dbe_attrs_name(unsigned attrs);
/* C escapes (\\ \n \t \r \xHH) into at most max bytes; the count or -1.
   out may be s itself (decoding in place). */
long dbe_unescape(const char *s, uint8_t *out, size_t max);
/* Bytes with C escapes: printable ASCII as is, \\ \n \t, \xHH otherwise. */
void dbe_escape(FILE *f, const uint8_t *p, size_t n);

/* Open an index file (read-only unless writable) with a forced layout. */
int dbe_open_ndx(const char *path, const dbe_opts *o, int writable, udb_ndx **out);
/* Create path with one index per definition, in one transaction; refuses
   an existing path and leaves no file behind on failure. Prints errors. */
int dbe_create_file(const char *path, const dbe_opts *o, int layout, const udb_index_def *defs,
                    unsigned n);
/* Records of an index, by walking it (0 when it cannot be read). */
uint64_t dbe_count_records(udb_ndx *d, unsigned ix);
/* 1 when index ix holds no record (0 also when it cannot be read). */
int dbe_index_empty(udb_ndx *d, unsigned ix);
/* TYPE:KEYSIZE[:ATTRS[:MAXITEMS]] into def, checked for layout. */
int dbe_parse_index_spec(const char *spec, int layout, udb_index_def *def, char *err, size_t errlen);
/* Take every "--index SPEC", "--index=SPEC" and "-i SPEC" out of argv. */
int dbe_take_index_specs(const char *cmd, int *argc, char **argv, const char **specs, unsigned *n);

/* The findings and summary of a check, as dbe check prints them. */
void dbe_print_finding(void *arg, int severity, int64_t off, unsigned index, const char *text);
int dbe_print_check_summary(const udb_check_report *rep);

/* Progress on a terminal (stderr), quiet in a pipe. */
void dbe_progress(const char *what, uint64_t done, uint64_t total);
void dbe_progress_end(void);
/* "what..." on a terminal for a step that reports no progress of its own;
   cleared by dbe_progress_end. */
void dbe_progress_busy(const char *what);

/* command entry points: argv[0] is the command name */
int cmd_info(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_append(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_session(int argc, char **argv);
int cmd_create_store(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_heap(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);

#endif
