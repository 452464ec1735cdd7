/*
 * cli/cmd_config.c -- `troupe config show`: the effective configuration.
 *
 *   troupe config show [--env development|production] [--config FILE]
 *                      [--json | --sources] [--show-secrets]
 *
 * Loads exactly as `troupe serve` would (preset, then FILE, then TROUPE_*
 * variables) and prints, on stdout, the configuration as JSON (the file
 * format: it can be saved and passed back with --config), a blank line, then
 * one line per field saying where its value came from:
 *   resilience.retry_max_attempts = 3   (preset production)
 * --json prints only the first part, --sources only the second.  Secrets are
 * "<redacted>" unless --show-secrets.  Exit 0; 2 for bad usage or an invalid
 * configuration, with every problem on stderr, one per line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "troupe/config.h"

const char tr_cmd_config_help[] =
    "show the effective configuration and its sources";
int tr_cmd_config(int argc, char **argv);

static const char usage_text[] =
    "usage: troupe config show [--env development|production] [--config FILE]\n"
    "                          [--json | --sources] [--show-secrets]\n"
    "Print the effective configuration (preset < FILE < TROUPE_* variables)\n"
    "as JSON, then where each value came from.  See docs/configuration.md.\n";

/* "troupe config: <what>[ '<arg>']", the usage, exit status 2. */
static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "troupe config: %s%s%s%s\n", what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "");
    fputs(usage_text, stderr);
    return 2;
}

int tr_cmd_config(int argc, char **argv)
{
    const char *preset = NULL, *file = NULL;
    bool json = true, sources = true;
    unsigned flags = 0;

    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "show") != 0)
        return usage(argc < 2 ? "missing subcommand" : "unknown subcommand",
                     argc < 2 ? NULL : argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--env") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return usage("missing value for", a);
            *(a[2] == 'e' ? &preset : &file) = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            sources = false;
        } else if (strcmp(a, "--sources") == 0) {
            json = false;
        } else if (strcmp(a, "--show-secrets") == 0) {
            flags |= TR_CONFIG_SHOW_SECRETS;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else {
            return usage("unknown option", a);
        }
    }
    if (!json && !sources)
        return usage("--json and --sources exclude each other", NULL);

    tr_config cfg;
    if (tr__cli_load_config("troupe config", &cfg, preset, file) != 0)
        return 2;
    int rc;

    char *jtext = json ? tr_config_to_json(&cfg, flags) : NULL;
    char *stext = sources ? tr_config_sources_text(&cfg, flags) : NULL;
    rc = 0;
    if ((json && !jtext) || (sources && !stext)) {
        fputs("troupe config: out of memory\n", stderr);
        rc = 2;
    } else {
        if (jtext)
            printf("%s\n", jtext);
        if (jtext && stext)
            putchar('\n');
        if (stext)
            fputs(stext, stdout);
        fflush(stdout);
    }
    free(jtext);
    free(stext);
    tr_config_fini(&cfg);
    return rc;
}
