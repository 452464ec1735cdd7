/*
 * cli/cmd_validate.c -- `troupe validate [--types] FILE...`.
 *
 * Validates each file against the built-in node types (the same check
 * `troupe run`/`serve` apply before anything runs).  Every problem goes to
 * stderr, one line each (FILE[:LINE:COL]: node 'ID': FIELD: MESSAGE); each
 * valid file prints "FILE: ok (N nodes)" on stdout.  Exit 0 when every file
 * is valid, 2 when any is invalid or unreadable, or on bad usage.
 * `--types` lists the registered node types and their config fields.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "troupe/workflow.h"

const char tr_cmd_validate_help[] = "check workflow definitions (exit 2 if any is invalid)";
int tr_cmd_validate(int argc, char **argv);

static const char usage_text[] =
    "usage: troupe validate [--types] FILE...\n"
    "  Validate workflow definitions; print every problem to stderr.\n"
    "  --types  list the node types and their config fields\n"
    "  exit status: 0 all valid, 2 any invalid or unreadable, or bad usage\n";

static const char *const field_type_names[] = {
    "string", "number", "integer", "boolean", "object", "array", "any", "expression",
};

static void print_types(const tr_node_type_registry *reg)
{
    for (size_t i = 0; i < tr_node_type_count(reg); i++) {
        const tr_node_type *t = tr_node_type_at(reg, i);
        printf("%s (category %s%s)\n", t->name, tr_wf_category_name(t->default_category),
               t->blocking ? ", blocking" : "");
        for (size_t f = 0; f < t->nfields; f++) {
            const tr_wf_field *fd = &t->fields[f];
            printf("  config.%-22s %-10s %s%s%s\n", fd->name, field_type_names[fd->type],
                   fd->required ? "required" : "optional", fd->doc ? "  " : "",
                   fd->doc ? fd->doc : "");
        }
    }
}

int tr_cmd_validate(int argc, char **argv)
{
    bool types = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        }
        if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(argv[first], "--types") == 0) {
            types = true;
            continue;
        }
        fprintf(stderr, "troupe validate: unknown option '%s'\n%s", argv[first], usage_text);
        return 2;
    }
    if (first >= argc && !types) {
        fputs(usage_text, stderr);
        return 2;
    }

    tr_node_type_registry *reg = NULL;
    if (tr_node_type_registry_new(&reg) != 0 || tr_node_type_register_builtins(reg) != 0) {
        fprintf(stderr, "troupe validate: out of memory\n");
        tr_node_type_registry_free(reg);
        return 2;
    }
    if (types)
        print_types(reg);

    int status = 0;
    for (int i = first; i < argc; i++) {
        tr_wf_plan *plan = NULL;
        if (tr__cli_parse_workflow(reg, argv[i], &plan) != 0) {
            status = 2;
            continue;
        }
        printf("%s: ok (%u nodes)\n", argv[i], (unsigned)tr_wf_plan_node_count(plan));
        tr_wf_plan_free(plan);
    }
    fflush(stdout);
    tr_node_type_registry_free(reg);
    return status;
}
