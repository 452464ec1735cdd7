/*
 * cli/main.c -- `troupe <command> [args]`: dispatch to cli/cmd_<command>.c.
 *
 * Exit codes (the contract): 0 success, 1 a workflow failed, 2 bad usage or
 * invalid input, 3 refused or stopped by the emergency controller.
 */
#include <stdio.h>
#include <string.h>

#define TR_CMD(n)                                                              \
    int tr_cmd_##n(int argc, char **argv);                                     \
    extern const char tr_cmd_##n##_help[];
#include "commands.inc"
#undef TR_CMD

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
#define TR_CMD(n) {#n, tr_cmd_##n, tr_cmd_##n##_help},
#include "commands.inc"
#undef TR_CMD
};

static void usage(FILE *out)
{
    fprintf(out, "usage: troupe <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n`troupe <command> --help` describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "troupe: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
