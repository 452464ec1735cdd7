/*
 * cli/cli_util.h -- helpers shared by the troupe subcommands.
 */
#ifndef TR_CLI_UTIL_H
#define TR_CLI_UTIL_H

#include "troupe/config.h"
#include "troupe/workflow.h"

/* Load the configuration (preset, file, process environment).  On failure
 * every problem goes to stderr prefixed with `cmd` and 2 is returned (the
 * exit code); 0 on success (tr_config_fini the result). */
int tr__cli_load_config(const char *cmd, tr_config *cfg, const char *preset,
                        const char *file);

/* Parse a workflow file with reg.  On failure every problem goes to stderr
 * (file:line:col: node: field: message) and the parse error is returned. */
int tr__cli_parse_workflow(const tr_node_type_registry *reg, const char *path,
                           tr_wf_plan **out);

#endif
