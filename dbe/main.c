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
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void help(FILE *f)
{
    fprintf(f, "usage: dbe COMMAND [ARGS]   (dbe --help, dbe COMMAND --help)\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  dbe %-52s %s\n", commands[i].usage, commands[i].help);
    fprintf(f, "\nKeys are typed text: decimal for INTEGER/LONG_INT/NUM_BLOCK, 0x... hex for any\n"
               "type, C escapes (\\\\ \\n \\t \\xHH) in strings. Exit status: 0 success, 1 absent\n"
               "or damaged, 2 usage or I/O error. See dbe(1).\n");
}

int dbe_usage(const char *cmd)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, cmd)) {
            fprintf(stderr, "usage: dbe %s\n", commands[i].usage);
            return EX_USAGE;
        }
    help(stderr);
    return EX_USAGE;
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
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            for (int a = 2; a < argc; a++)
                if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
                    printf("usage: dbe %s\n  %s\n", commands[i].usage, commands[i].help);
                    return EX_OK;
                }
            return commands[i].run(argc - 1, argv + 1);
        }
    return dbe_fail(EX_USAGE, "unknown command '%s' (dbe --help lists them)", argv[1]);
}
