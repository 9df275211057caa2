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
#include "json.h"

enum { EX_OK = 0, EX_ABSENT = 1, EX_USAGE = 2 };

typedef struct dbe_opts {
    int layout;          /* --layout, UDB_LAYOUT_AUTO when not given */
    int json, raw, reverse, all;
    unsigned index;      /* -i N, 0 when not given */
    int sync;            /* --sync */
    int journal;         /* --journal (UDB_JOURNAL_*), DEFAULT when not given */
    int compress, hex, keys, sorted;        /* flags of the store commands */
    const char *from, *to, *prefix, *format; /* their values, NULL when absent */
    const char *output;  /* -o OUT of repair, NULL when absent */
    const char *limit;   /* --limit N of scan, NULL when absent */
    unsigned maxitems, keysize; /* --maxitems, --keysize of convert, 0 when absent */
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

/* `dbe --raw COMMAND`: index- and heap-level writes to a record store's
   own files are allowed (UDB_RAW); set by main before the command runs. */
extern int dbe_raw;
/* The command being run ("append"...), for messages; set by main. */
extern const char *dbe_command;
/* udb_options of a command: its layout and sync, read-only unless
   writable (then UDB_RAW with dbe --raw), progress on a terminal. */
void dbe_options(udb_options *opts, const dbe_opts *o, int writable);
/* A writable index-level use of path, a record store's own file, without
   dbe --raw: prints which store it belongs to and the store commands to
   use; returns EX_USAGE. EX_OK when path is no store's or --raw was given. */
int dbe_refuse_store_file(const char *cmd, const char *path);
/* What a command needs its file to be (dbe_not_kind). */
enum { DBE_NEED_NDX, DBE_NEED_HEAP, DBE_NEED_UDB, DBE_NEED_STORE };
/* path (an argument of cmd) could not be opened as what cmd needs: one
   message saying what it is instead (a record store or one of its files,
   a file of the other kind, an empty file, no udb file; libmsg, the
   library's message of the failed open, otherwise) and what to use;
   returns the exit code (2 when path does not exist, else 1). */
int dbe_not_kind(const char *cmd, const char *path, const dbe_opts *o, int need, const char *libmsg);
/* 1 when path itself begins with a store descriptor: a record store's heap. */
int dbe_store_heap(const char *path);
/* Open path read-only as a MultiIndex file or, failing that, as a heap
   file: the other handle is NULL. Prints on failure; close both with
   dbe_close_any. */
int dbe_open_any(const char *path, const dbe_opts *o, udb_ndx **d, udb_heap **h);
void dbe_close_any(udb_ndx *d, udb_heap *h);
/* Open an index file (read-only unless writable) with a forced layout; a
   writable open of a store's index file is refused (dbe_refuse_store_file);
   a file of another kind is named (dbe_not_kind). */
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
/* Take every "--index SPEC", "--index=SPEC" and "-i SPEC" out of argv
   (*argc shrinks) into specs (room for *argc entries); n of them. */
int dbe_take_index_specs(const char *cmd, int *argc, char **argv, const char **specs, unsigned *n);
/* create / create-store arguments: the --index specs parsed into *defs
   (n of them; the caller frees *defs, also on failure), the options of
   optnames into o (o->layout defaults to wide). EX_OK or the exit code of
   the message printed. */
int dbe_create_args(const char *cmd, int argc, char **argv, const char *optnames, dbe_opts *o,
                    udb_index_def **defs, unsigned *n);

/* Nodes and item slots in use per level of an index's tree (1 = bottom). */
enum { DBE_MAX_LEVELS = 64 };
typedef struct dbe_levels {
    unsigned levels;
    uint64_t nodes[DBE_MAX_LEVELS + 1], items[DBE_MAX_LEVELS + 1];
} dbe_levels;
/* Walk index ix's tree to count them; a udb code. */
int dbe_tree_levels(udb_ndx *d, unsigned ix, dbe_levels *out);

/* The findings and summary of a check, as dbe check prints them. */
void dbe_print_finding(void *arg, int severity, int64_t off, unsigned index, const char *text);
int dbe_print_check_summary(const udb_check_report *rep);

/* Help text: lead, padded to indent, then text word-wrapped to fit 80
   columns, continuation lines indented by indent. */
void dbe_wrap(FILE *f, const char *lead, size_t indent, const char *text);

/* Progress on a terminal (stderr), one line rewritten in place (CR, the
   text, ESC [K) and cleared at the end; quiet in a pipe. DBE_PROGRESS=1
   in the environment shows it anyway, as plain text without escapes,
   ended by a newline (for the tests). At most 5 updates a second, but a
   new phase (another what) at once. */
void dbe_progress(const char *what, uint64_t done, uint64_t total);
void dbe_progress_end(void);
/* The library's progress callback (udb_options.progress): dbe_progress. */
void dbe_progress_cb(void *arg, const char *phase, uint64_t done, uint64_t total);

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
/* "libedit" when the session has line editing and history on a terminal. */
const char *dbe_session_editing(void);
int cmd_create_store(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_heap(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_dot(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_textdump(int argc, char **argv);
int cmd_textload(int argc, char **argv);

#endif
