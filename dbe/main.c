/*
 * main.c — dbe: the test and maintenance tool of udb. Dispatches
 * subcommands; without one it runs the interactive session of the
 * originals' test programs. Owns the help texts.
 */
#include <stdlib.h>
#include <string.h>
#include "dbe_store.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
} command;

static const command commands[] = {
    {"info", cmd_info, "info FILE|STORE [--json] [--layout L]",
     "layout, header and every index's definition and counters (heap files too; a store: its "
     "descriptor, and what can be rebuilt from its records)"},
    {"list", cmd_list, "list FILE [-i N] [--reverse] [--raw] [--layout L]",
     "one line per record: key<TAB>datapos, in traversal order"},
    {"find", cmd_find, "find FILE [-i N] KEY [--all] [--layout L]",
     "data position of KEY (newest duplicate; --all: every one); exit 1 if absent"},
    {"check", cmd_check, "check FILE|STORE [--layout L]",
     "verify every structure (of a store too); prints each problem with its offset; exit 0 "
     "only when clean (a hot journal: exit 1)"},
    {"create", cmd_create,
     "create FILE --index TYPE:KEYSIZE[:ATTRS[:MAXITEMS]]... [--layout wide|classic]",
     "new MultiIndex file, one index per --index (ATTRS: none, unique, delete, unique+delete)"},
    {"append", cmd_append, "append FILE [-i N] KEY DATAPOS",
     "add one record; exit 1 if a UNIQUE index already holds KEY"},
    {"delete", cmd_delete, "delete FILE [-i N] KEY",
     "remove every record with KEY; prints how many; exit 1 if none"},
    {"load", cmd_load, "load FILE [-i N] [--sorted] < key<TAB>datapos lines",
     "add every line in one transaction; any bad line: nothing is loaded, exit 2 (--sorted: "
     "lines in key order, into an empty index)"},
    {"create-store", cmd_create_store,
     "create-store STORE --index TYPE:KEYSIZE[:ATTRS[:MAXITEMS]]... [--compress] [--layout L]",
     "new record store STORE.ndx + STORE.dat, one index per --index; --compress deflates values"},
    {"put", cmd_put, "put STORE KEY... -- VALUE",
     "add a record: one KEY per index, in index order; VALUE - reads it from stdin (binary)"},
    {"get", cmd_get, "get STORE [-i N] KEY [--hex]",
     "the value of the newest record with KEY, raw on stdout (--hex: dumped); exit 1 if absent"},
    {"del", cmd_del, "del STORE [-i N] KEY",
     "remove every record with KEY from every index; prints how many; exit 1 if none"},
    {"update", cmd_update, "update STORE [-i N] KEY -- VALUE",
     "replace the value of the newest record with KEY (one transaction; VALUE - reads stdin); "
     "exit 1 if absent"},
    {"scan", cmd_scan,
     "scan STORE [-i N] [--from K] [--to K] [--prefix P] [--keys] [--limit N] [--reverse] [--json]",
     "records in key order: key<TAB>value with C escapes (--keys: keys only; --reverse: from the "
     "last; --limit: the first N; --json: JSON lines, text that is not UTF-8 as {\"base64\": ...})"},
    {"count", cmd_count, "count STORE|FILE [-i N]",
     "the number of records (of index N of a MultiIndex FILE)"},
    {"compact", cmd_compact, "compact STORE|FILE.ndx [-i N]",
     "move records over the holes and shrink STORE.dat (-i N: also lay records and every index's "
     "leaves out in key order of index N); prints its size before and after. An index file of "
     "its own: its leaves in key order (index N, or every index)"},
    {"export", cmd_export, "export STORE|FILE [-i N] [--format tsv|csv|jsonl|copy]",
     "every record in the order of index N: keys and value (a FILE: key and datapos); csv, copy "
     "and jsonl load into PostgreSQL (doc/dbe.md)"},
    {"import", cmd_import,
     "import STORE|FILE [IN] [-i N] [--format tsv|csv|jsonl] [--sorted] | import STORE [IN] "
     "--csv|--tsv [--header] --key COL... [--value COL]",
     "read export's output (IN or stdin) back in one transaction (--sorted: bottom-up into an "
     "empty store or index); --csv/--tsv: any CSV or TSV file, the n-th --key COL (number or "
     "--header name) feeding index n, the value a column or the whole record"},
    {"textdump", cmd_textdump, "textdump STORE|FILE > DUMP",
     "the whole store or file as portable text: layout, every index definition, every record "
     "with every key and its value (a FILE: data position); dbe textload reads it back"},
    {"textload", cmd_textload, "textload NEW [DUMP]",
     "create NEW (a store: NEW.ndx + NEW.dat) from a text dump (DUMP or the standard input) with "
     "its definitions and records; any fault: no file is left"},
    {"backup", cmd_backup, "backup STORE|FILE DST",
     "a consistent copy (page for page, one read snapshot) into the new DST (a store: DST.ndx and "
     "DST.dat) while other processes read and write"},
    {"heap", cmd_heap, "heap FILE|STORE [--layout L]",
     "a heap file's header, every holes table (records in use, next) and hole, free bytes"},
    {"read", cmd_read, "read FILE POS LEN [--layout L]",
     "hexdump -C style dump of LEN bytes at POS of any file"},
    {"checkpoint", cmd_checkpoint, "checkpoint FILE|STORE",
     "WAL mode: copy the write-ahead log into the files as far as readers allow (everything, and "
     "the log removed, when no other handle is open)"},
    {"recover", cmd_recover, "recover FILE|STORE",
     "roll back a hot journal (an interrupted transaction); says whether there was one"},
    {"repair", cmd_repair, "repair FILE [-o OUT] | repair STORE [--index TYPE:KEYSIZE...]",
     "FILE: rebuild every index from its leaves, in place (one transaction) or into the new file "
     "OUT; STORE: rebuild every index from the records in STORE.dat (--index: the definitions, "
     "when STORE.ndx and the store's descriptor lack them); reports what was recovered and "
     "lost, then checks the result"},
    {"convert", cmd_convert, "convert IN OUT [--layout classic|wide] [--maxitems N] [--keysize K]",
     "copy every index into the new file OUT in another layout, node order or key size"},
    {"dump", cmd_dump, "dump FILE [-i N] [--all]",
     "index N's tree level by level (nodes with their keys and children), then its leaf chain; "
     "long levels and chains summarised unless --all"},
    {"dot", cmd_dot, "dot FILE [-i N] [--all]",
     "index N's tree as a Graphviz graph (dbe dot F | dot -Tsvg > tree.svg); large trees "
     "summarised unless --all"},
    {"stat", cmd_stat, "stat FILE|STORE [--json]",
     "per index: records, distinct keys, levels, nodes per level, fill, free blocks, bytes used "
     "and wasted; per heap: live bytes, holes, the largest; exit 1 if the check finds problems"},
    {"session", cmd_session, "[session] [--layout classic|wide] FILE|STORE",
     "the originals' interactive test program on an index file (A D F N L . + - T R C S; a new "
     "FILE: C creates it) or on a record store (get put update del scan C S); BEGIN COMMIT "
     "ROLLBACK; H (help) lists them, X (quit) ends; in a pipe exit 1 if a command failed"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void help(FILE *f)
{
    fprintf(f, "usage: dbe [--raw] COMMAND [ARGS]   (dbe --help, dbe COMMAND --help)\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        dbe_wrap(f, "  dbe ", 6, commands[i].usage);
        dbe_wrap(f, "", 8, commands[i].help);
    }
    fprintf(f, "\nKeys are typed text: decimal for INTEGER/LONG_INT/NUM_BLOCK, 0x... hex for any\n"
               "type, C escapes (\\\\ \\n \\t \\xHH) in strings. Exit status: 0 success, 1 absent\n"
               "or damaged, 2 usage or I/O error. A store is named NAME, NAME.ndx or NAME.dat.\n"
               "A record store's own NAME.ndx and NAME.dat are changed only through the store\n"
               "commands; dbe --raw COMMAND ... lets the file commands write them (and break\n"
               "the store). See dbe(1).\n");
}

/* "usage: dbe USAGE", wrapped under its first word. */
static void usage_line(FILE *f, const command *c)
{
    dbe_wrap(f, "usage: dbe ", 11, c->usage);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int dbe_usage(const char *cmd)
{
    const command *c = find_command(cmd);
    if (c)
        usage_line(stderr, c);
    else
        help(stderr);
    return EX_USAGE;
}

static int run(const command *c, int argc, char **argv)
{
    dbe_command = c->name;
    for (int a = 1; a < argc; a++)
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            usage_line(stdout, c);
            dbe_wrap(stdout, "", 2, c->help);
            return EX_OK;
        }
    return c->run(argc, argv);
}

/* "dbe FILE" and "dbe --layout L FILE" start a session; a bare word is
   taken for a mistyped command unless it looks like a file name or is a
   store. */
static int starts_session(const char *arg)
{
    return !strncmp(arg, "--layout", 8) || !strncmp(arg, "--sync", 6) || strchr(arg, '/') ||
           strchr(arg, '.') || dbe_is_store(arg);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--raw")) { /* raw access to a store's own files */
        dbe_raw = 1;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    if (argc < 2) {
        help(stderr);
        return EX_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        help(stdout);
        return EX_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dbe (udb) %s\nsession line editing: %s\n", udb_version(), dbe_session_editing());
        return EX_OK;
    }
    if (!strcmp(argv[1], "help") && argc > 2) { /* dbe help CMD */
        char *args[] = {argv[2], (char *)"--help", NULL};
        const command *h = find_command(argv[2]);
        return h ? run(h, 2, args)
                 : dbe_fail(EX_USAGE, "unknown command '%s' (dbe --help lists them)", argv[2]);
    }

    const command *c = find_command(argv[1]);
    if (c)
        return run(c, argc - 1, argv + 1);
    if (starts_session(argv[1])) {
        argv[0] = (char *)"session";
        return run(find_command("session"), argc, argv);
    }
    return dbe_fail(EX_USAGE, "unknown command '%s' (dbe --help lists them; a session on a file of "
                    "that name: dbe session %s)", argv[1], argv[1]);
}
