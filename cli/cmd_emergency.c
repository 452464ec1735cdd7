/*
 * cli/cmd_emergency.c -- `troupe emergency ACTION [--controller ID]
 *                        [--reason TEXT] [--context JSON] [--config FILE]
 *                        [--env NAME]`, ACTION one of status, halt, alert,
 *                        resume, shutdown, reset.
 *
 * DESIGN
 * Offline operator control of a host's kill switch.  The command loads the
 * configuration exactly as `troupe run` does (preset, FILE, TROUPE_*), opens
 * the controller set over its state_dir with tr_emergency_new -- no runtime,
 * no bus, no state store -- applies the transition to one controller (the
 * global one by default, or --controller BOT_ID), and prints the
 * controller's status JSON on stdout.  The transition is persisted to
 * <state_dir>/emergency-<id>.json (fsync'd) before the command exits, so an
 * operator can halt a host's state before (re)starting it, or resume it
 * after reading why it halted.
 *
 * What it does NOT do: reach a host that is running.  A live `troupe run` /
 * `troupe serve` reads the files only at start-up, and its own next
 * transition of that controller rewrites the file.  Nor does it write the
 * state store key emergency:{id} (no store is opened): with a shared Redis
 * store, a restart takes the more restrictive of file and key, so an
 * offline halt always holds, but an offline resume of a controller whose
 * key says halt does not (fail closed).  docs/emergency.md, "CLI".
 *
 * Exit: 0 done (a no-op transition included; status always); 2 bad usage,
 * an invalid configuration, a state_dir that cannot be opened, a
 * transition the table refuses, or one that could not be written to the
 * state file (a halt stands in memory only, which here ends with the
 * process) -- the reason on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "troupe/emergency.h"
#include "troupe/log.h"

const char tr_cmd_emergency_help[] =
    "kill switch: status|halt|alert|resume|shutdown|reset of a state_dir";
int tr_cmd_emergency(int argc, char **argv);

static const char usage_text[] =
    "usage: troupe emergency status|halt|alert|resume|shutdown|reset\n"
    "                        [--controller ID] [--reason TEXT] [--context JSON]\n"
    "                        [--config FILE] [--env development|production]\n"
    "Apply a transition to the emergency controller ID (default: the global\n"
    "controller, emergency.controller_id) stored in the configuration's state_dir,\n"
    "then print its status JSON.  Offline: a running host does not see it until it\n"
    "restarts.  --context (alert only) is a JSON value kept in the status.\n"
    "Exit 0; 2 bad usage, bad configuration, or a refused transition.\n";

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "troupe emergency: %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "",
            arg ? "'" : "");
    fputs(usage_text, stderr);
    return 2;
}

enum action { A_STATUS, A_HALT, A_ALERT, A_RESUME, A_SHUTDOWN, A_RESET, A_COUNT };
static const char *const action_names[A_COUNT] = {"status", "halt",     "alert",
                                                  "resume", "shutdown", "reset"};

static int apply(enum action a, tr_emergency_controller *ctl, const char *reason,
                 const char *context)
{
    switch (a) {
    case A_HALT: return tr_emergency_halt(ctl, reason);
    case A_ALERT: return tr_emergency_alert(ctl, reason, context);
    case A_RESUME: return tr_emergency_resume(ctl, reason);
    case A_SHUTDOWN: return tr_emergency_shutdown(ctl, reason);
    case A_RESET: return tr_emergency_reset(ctl, reason);
    default: return 0;
    }
}

int tr_cmd_emergency(int argc, char **argv)
{
    const char *ctl_id = NULL, *reason = NULL, *context = NULL, *file = NULL, *preset = NULL;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc < 2)
        return usage("missing action", NULL);
    enum action a = A_COUNT;
    for (int k = 0; k < A_COUNT; k++)
        if (strcmp(argv[1], action_names[k]) == 0)
            a = (enum action)k;
    if (a == A_COUNT)
        return usage("unknown action", argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = !strcmp(o, "--controller") ? &ctl_id
                            : !strcmp(o, "--reason")   ? &reason
                            : !strcmp(o, "--context")  ? &context
                            : !strcmp(o, "--config")   ? &file
                            : !strcmp(o, "--env")      ? &preset
                                                       : NULL;
        if (slot == NULL)
            return usage("unknown option", o);
        if (i + 1 >= argc)
            return usage("missing value for", o);
        *slot = argv[++i];
    }
    if (context != NULL && a != A_ALERT)
        return usage("--context is for alert only", NULL);
    if (reason != NULL && a == A_STATUS)
        return usage("--reason is for transitions, not status", NULL);

    tr_config cfg;
    if (tr__cli_load_config("troupe emergency", &cfg, preset, file) != 0)
        return 2;
    tr_log_config lc = TR_LOG_CONFIG_INIT; /* restore warnings go to stderr */
    lc.format = cfg.log_format == TR_CONFIG_LOG_JSON ? TR_LOG_FORMAT_JSON : TR_LOG_FORMAT_CONSOLE;
    tr_log_configure(&lc);

    tr_emergency *em = NULL;
    tr_emergency_opts eo = {.state_dir = cfg.state_dir, .limits = &cfg.emergency};
    int rc = tr_emergency_new(&em, &eo);
    if (rc != 0) {
        fprintf(stderr, "troupe emergency: cannot open the state in %s: %s\n", cfg.state_dir,
                tr_emergency_last_error()[0] ? tr_emergency_last_error() : tr_strerror(rc));
        tr_config_fini(&cfg);
        return 2;
    }
    int status = 0;
    tr_emergency_controller *ctl = NULL;
    if ((rc = tr_emergency_controller_get(em, ctl_id, &ctl)) != 0) {
        fprintf(stderr, "troupe emergency: bad controller id '%s': %s\n", ctl_id ? ctl_id : "",
                tr_strerror(rc));
        status = 2;
    }
    char defreason[96];
    snprintf(defreason, sizeof defreason, "troupe emergency %s (operator)", action_names[a]);
    if (status == 0 && (rc = apply(a, ctl, reason ? reason : defreason, context)) != 0) {
        const char *why = tr_emergency_last_error();
        fprintf(stderr, "troupe emergency: %s refused: %s\n", action_names[a],
                why[0] ? why : tr_strerror(rc));
        status = 2;
    }
    char *js = NULL;
    if (status == 0 && tr_emergency_status_json(ctl, &js, NULL) == 0) {
        puts(js);
        /* A halt stands in memory even when its file cannot be written; here
         * memory dies with the process, so an unpersisted change failed. */
        if (a != A_STATUS && strstr(js, "\"persist_error\"") != NULL) {
            fprintf(stderr, "troupe emergency: %s NOT persisted in %s (see persist_error)\n",
                    action_names[a], cfg.state_dir);
            status = 2;
        }
        free(js);
    } else if (status == 0) {
        status = 2;
    }
    tr_emergency_free(em);
    tr_config_fini(&cfg);
    return status;
}
