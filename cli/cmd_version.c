/* cli/cmd_version.c -- `troupe version`. */
#include <stdio.h>

const char tr_cmd_version_help[] = "print the version";
int tr_cmd_version(int argc, char **argv);

int tr_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("troupe %s\n", TROUPE_VERSION);
    return 0;
}
