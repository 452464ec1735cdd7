/* cli/cli_util.c -- see cli_util.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli_util.h"

int tr__cli_load_config(const char *cmd, tr_config *cfg, const char *preset,
                        const char *file)
{
    tr_config_error *err = malloc(sizeof *err);
    if (err == NULL) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 2;
    }
    int rc = tr_config_load(cfg, preset, file, NULL, err);
    if (rc != 0) {
        size_t shown = err->count < TR_CONFIG_MAX_PROBLEMS ? err->count
                                                           : TR_CONFIG_MAX_PROBLEMS;
        for (size_t i = 0; i < shown; i++)
            fprintf(stderr, "%s: %s\n", cmd, err->problems[i].message);
        if (err->count > shown)
            fprintf(stderr, "%s: ... and %zu more problems\n", cmd, err->count - shown);
        fprintf(stderr, "%s: invalid configuration (%s)\n", cmd, tr_strerror(rc));
    }
    free(err);
    return rc == 0 ? 0 : 2;
}

int tr__cli_parse_workflow(const tr_node_type_registry *reg, const char *path,
                           tr_wf_plan **out)
{
    tr_wf_problems *probs = NULL;
    if (tr_wf_problems_new(&probs) != 0) {
        fprintf(stderr, "%s: out of memory\n", path);
        return TR_ENOMEM;
    }
    int rc = tr_wf_parse_file(reg, path, out, probs);
    if (rc != 0) {
        for (size_t k = 0; k < tr_wf_problems_count(probs); k++) {
            char line[1024];
            tr_wf_problem_format(tr_wf_problems_at(probs, k), line, sizeof line);
            fprintf(stderr, "%s\n", line);
        }
        if (tr_wf_problems_count(probs) == 0)
            fprintf(stderr, "%s: %s\n", path, tr_strerror(rc));
    }
    tr_wf_problems_free(probs);
    return rc;
}
