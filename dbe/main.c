/*
 * main.c — dbe: the test and maintenance tool of udb. Dispatches
 * subcommands; without one it runs the interactive session of the
 * originals' test programs. Owns the help texts.
 */
#include <stdlib.h>
#include <string.h>
#include "dbe.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
} command;

static const command commands[] = {
    {"info", cmd_info, "info FILE [--json] [--layout L]",
     "layout, header and every index's definition and counters (heap files too)"},
    {"list", cmd_list, "list FILE [-i N] [--reverse] [--raw] [--layout L]",
     "one line per record: key<TAB>datapos, in traversal order"},
    {"find", cmd_find, "find FILE [-i N] KEY [--all] [--layout L]",
     "data position of KEY (newest duplicate; --all: every one); exit 1 if absent"},
    {"check", cmd_check, "check FILE [--layout L]",
     "verify every structure; prints each problem with its offset; exit 0 only when clean"},
    {"create", cmd_create,
     "create FILE --index TYPE:KEYSIZE[:ATTRS[:MAXITEMS]]... [--layout wide|classic]",
     "new MultiIndex file, one index per --index (ATTRS: none, unique, delete, unique+delete)"},
    {"append", cmd_append, "append FILE [-i N] KEY DATAPOS",
     "add one record; exit 1 if a UNIQUE index already holds KEY"},
    {"delete", cmd_delete, "delete FILE [-i N] KEY",
     "remove every record with KEY; prints how many; exit 1 if none"},
    {"load", cmd_load, "load FILE [-i N] < key<TAB>datapos lines",
     "add every line in one transaction; any bad line: nothing is loaded, exit 2"},
    {"session", cmd_session, "[session] [--layout classic|wide] FILE",
     "the originals' interactive test program: C(reate) or O(pen), then A D F N L . + - T R C S "
     "X; H lists them"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void help(FILE *f)
{
    fprintf(f, "usage: dbe COMMAND [ARGS]   (dbe --help, dbe COMMAND --help)\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strlen(commands[i].usage) > 52)
            fprintf(f, "  dbe %s\n  %-56s %s\n", commands[i].usage, "", commands[i].help);
        else
            fprintf(f, "  dbe %-52s %s\n", commands[i].usage, commands[i].help);
    }
    fprintf(f, "\nKeys are typed text: decimal for INTEGER/LONG_INT/NUM_BLOCK, 0x... hex for any\n"
               "type, C escapes (\\\\ \\n \\t \\xHH) in strings. Exit status: 0 success, 1 absent\n"
               "or damaged, 2 usage or I/O error. See dbe(1).\n");
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
        fprintf(stderr, "usage: dbe %s\n", c->usage);
    else
        help(stderr);
    return EX_USAGE;
}

static int run(const command *c, int argc, char **argv)
{
    for (int a = 1; a < argc; a++)
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            printf("usage: dbe %s\n  %s\n", c->usage, c->help);
            return EX_OK;
        }
    return c->run(argc, argv);
}

/* "dbe FILE" and "dbe --layout L FILE" start a session; a bare word is
   taken for a mistyped command unless it looks like a file name. */
static int starts_session(const char *arg)
{
    return !strncmp(arg, "--layout", 8) || !strncmp(arg, "--sync", 6) || strchr(arg, '/') ||
           strchr(arg, '.');
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return EX_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        help(stdout);
        return EX_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dbe (udb) %s\n", udb_version());
        return EX_OK;
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
