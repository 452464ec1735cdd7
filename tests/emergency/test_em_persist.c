/*
 * tests/emergency/test_em_persist.c -- persistence and restore: restarts in
 * the same process and across a killed process (SIGKILL right after halt
 * returns), corrupt files, a failing state store, the store being more
 * restrictive than the file, state_dir creation, and a file that cannot be
 * written (resume refused, halt kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/emergency/em_test.h"
#include "troupe/state.h"

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void expect(tr_emergency *em, const char *id, tr_emergency_state s,
                   const char *reason_part)
{
    tr_emergency_status st;
    assert_ok(tr_emergency_status_get(em_ctl(em, id), &st));
    if (st.state != s)
        fail_msg("%s: state %s, want %s (reason %s)", id,
                 tr_emergency_state_name(st.state), tr_emergency_state_name(s),
                 st.reason);
    if (reason_part && !strstr(st.reason, reason_part))
        fail_msg("%s: reason '%s' lacks '%s'", id, st.reason, reason_part);
}

static void restart_restores(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    assert_ok(tr_emergency_halt(tr_emergency_global(em), "suspicious market"));
    assert_ok(tr_emergency_halt(em_ctl(em, "bot_x"), "bot x broke"));
    assert_ok(tr_emergency_alert(em_ctl(em, "bot_y"), "careful", NULL));
    assert_ok(tr_emergency_resume(em_ctl(em, "bot_y"), "fine again"));
    assert_ok(tr_emergency_shutdown(em_ctl(em, "bot_z"), "end of day"));
    (void)em_ctl(em, "bot_never_changed");
    tr_emergency_free(em);

    em = em_open(dir, NULL, NULL);
    expect(em, "default", TR_EMERGENCY_HALT, "suspicious market");
    tr_emergency_status st;
    assert_ok(tr_emergency_status_get(tr_emergency_global(em), &st));
    assert_string_equal(st.halt_reason, "suspicious market");
    assert_int_equal(st.version, 1);
    expect(em, "bot_x", TR_EMERGENCY_HALT, "bot x broke");
    expect(em, "bot_y", TR_EMERGENCY_NORMAL, "fine again");
    assert_int_equal(em_version(em_ctl(em, "bot_y")), 2);
    expect(em, "bot_z", TR_EMERGENCY_SHUTDOWN, "end of day");
    assert_false(tr_emergency_can_trade(em_ctl(em, "bot_y"))); /* global */
    assert_false(exists(dir, "emergency-bot_never_changed.json"));
    /* resumed comes back normal; versions go on */
    assert_ok(tr_emergency_resume(tr_emergency_global(em), "all clear"));
    assert_int_equal(em_version(tr_emergency_global(em)), 2);
    tr_emergency_free(em);
    em = em_open(dir, NULL, NULL);
    expect(em, "default", TR_EMERGENCY_NORMAL, "all clear");
    assert_int_equal(em_version(tr_emergency_global(em)), 2);
    assert_true(tr_emergency_can_trade(em_ctl(em, "bot_y")));
    /* no temp file is left behind */
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_null(strstr(de->d_name, ".tmp"));
    closedir(d);
    tr_emergency_free(em);
    em_rmdir(dir);
}

static void kill9_after_halt(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tr_emergency *em = NULL;
        tr_config_emergency l = em_limits();
        tr_emergency_opts o = {.state_dir = dir, .limits = &l};
        tr_emergency_controller *b = NULL;
        if (tr_emergency_new(&em, &o) != 0 ||
            tr_emergency_controller_get(em, "bot_k", &b) != 0 ||
            tr_emergency_halt(b, "bot k halted") != 0 ||
            tr_emergency_halt(tr_emergency_global(em), "killed next") != 0)
            _exit(3);
        raise(SIGKILL); /* no free, no flush, no atexit */
        _exit(4);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    tr_emergency *em = em_open(dir, NULL, NULL);
    expect(em, "default", TR_EMERGENCY_HALT, "killed next");
    expect(em, "bot_k", TR_EMERGENCY_HALT, "bot k halted");
    assert_false(tr_emergency_can_trade(tr_emergency_global(em)));
    tr_emergency_free(em);
    em_rmdir(dir);
}

static void corrupt_files_fail_closed(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    write_text(dir, "emergency-default.json", "{\"controller_id\":\"def");
    write_text(dir, "emergency-bot_s.json",
               "{\"controller_id\":\"bot_s\",\"state\":\"maybe\","
               "\"version\":1}");
    write_text(dir, "emergency-bot_m.json",
               "{\"controller_id\":\"someone_else\",\"state\":\"normal\","
               "\"version\":1}");
    write_text(dir, "emergency-bot_e.json", "");
    write_text(dir, "emergency-bot_ok.json",
               "{\"controller_id\":\"bot_ok\",\"state\":\"alert\","
               "\"version\":4,\"reason\":\"hand written\"}");
    tr_emergency *em = em_open(dir, NULL, NULL);
    char want[1024];
    snprintf(want, sizeof(want), "state file %s/emergency-default.json "
             "unreadable: invalid JSON", dir);
    expect(em, "default", TR_EMERGENCY_HALT, want);
    expect(em, "bot_s", TR_EMERGENCY_HALT, "emergency-bot_s.json unreadable");
    expect(em, "bot_m", TR_EMERGENCY_HALT, "controller_id");
    expect(em, "bot_e", TR_EMERGENCY_HALT, "emergency-bot_e.json unreadable");
    expect(em, "bot_ok", TR_EMERGENCY_ALERT, "hand written");
    assert_int_equal(em_version(em_ctl(em, "bot_ok")), 4);
    assert_true(exists(dir, "emergency-default.json.corrupt"));
    tr_emergency_status st;
    assert_ok(tr_emergency_status_get(tr_emergency_global(em), &st));
    assert_non_null(strstr(st.halt_reason, "unreadable"));
    tr_emergency_free(em);
    /* the fail-closed halt was persisted: still halt, same reason */
    em = em_open(dir, NULL, NULL);
    expect(em, "default", TR_EMERGENCY_HALT, want);
    assert_ok(tr_emergency_resume(tr_emergency_global(em), "checked"));
    tr_emergency_free(em);
    em = em_open(dir, NULL, NULL);
    expect(em, "default", TR_EMERGENCY_NORMAL, "checked");
    tr_emergency_free(em);
    em_rmdir(dir);
}

/* A backend whose every operation fails. */
static int bad_open(void **self, void *arg)
{
    (void)arg;
    *self = NULL;
    return 0;
}
static void bad_close(void *self) { (void)self; }
static int bad_get(void *self, const char *k, size_t kl, const char **v,
                   size_t *vl)
{
    (void)self, (void)k, (void)kl, (void)v, (void)vl;
    return TR_EIO;
}
static int bad_set(void *self, const char *k, size_t kl, const char *v,
                   size_t vl)
{
    (void)self, (void)k, (void)kl, (void)v, (void)vl;
    return TR_EIO;
}
static int bad_del(void *self, const char *k, size_t kl)
{
    (void)self, (void)k, (void)kl;
    return TR_EIO;
}
static const tr_state_backend_ops bad_backend = {
    .name = "failing", .open = bad_open, .close = bad_close,
    .get = bad_get, .set = bad_set, .del = bad_del};

static void store_error_fails_closed(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_runtime *rt = rt_new(2);
    tr_state *st;
    tr_state_opts so = {.backend = &bad_backend};
    assert_ok(tr_state_start(rt, &so, &st));
    tr_emergency *em = em_open(dir, NULL, st);
    expect(em, "default", TR_EMERGENCY_HALT,
           "state store key emergency:default unreadable");
    tr_emergency_free(em);
    tr_state_free(st);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    /* the file got the fail-closed halt: without the store, still halt */
    em = em_open(dir, NULL, NULL);
    expect(em, "default", TR_EMERGENCY_HALT, "unreadable");
    tr_emergency_free(em);
    em_rmdir(dir);
}

static void store_and_file_most_restrictive(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_runtime *rt = rt_new(2);
    tr_state *st;
    assert_ok(tr_state_start(rt, NULL, &st));
    const char *halt = "{\"controller_id\":\"default\",\"state\":\"halt\","
                       "\"version\":5,\"reason\":\"from redis\"}";
    assert_ok(tr_state_set_sync(st, "emergency:default", halt, strlen(halt),
                                RT_WAIT_MS));
    const char *bad = "not json";
    assert_ok(tr_state_set_sync(st, "emergency:bot_g", bad, strlen(bad),
                                RT_WAIT_MS));
    write_text(dir, "emergency-bot_g.json",
               "{\"controller_id\":\"bot_g\",\"state\":\"normal\","
               "\"version\":2}");
    write_text(dir, "emergency-bot_f.json",
               "{\"controller_id\":\"bot_f\",\"state\":\"shutdown\","
               "\"version\":1,\"reason\":\"file says shutdown\"}");
    const char *alert = "{\"controller_id\":\"bot_f\",\"state\":\"alert\","
                        "\"version\":9}";
    assert_ok(tr_state_set_sync(st, "emergency:bot_f", alert, strlen(alert),
                                RT_WAIT_MS));
    tr_emergency *em = em_open(dir, NULL, st);
    expect(em, "default", TR_EMERGENCY_HALT, "from redis");
    assert_int_equal(em_version(tr_emergency_global(em)), 5);
    expect(em, "bot_g", TR_EMERGENCY_HALT, "state store key emergency:bot_g");
    expect(em, "bot_f", TR_EMERGENCY_SHUTDOWN, "file says shutdown");
    /* the winner was written back to both */
    assert_ok(tr_state_sync(st, RT_WAIT_MS));
    char *v;
    assert_ok(tr_state_get_sync(st, "emergency:bot_f", &v, NULL, RT_WAIT_MS));
    assert_non_null(strstr(v, "\"state\":\"shutdown\""));
    free(v);
    assert_true(exists(dir, "emergency-default.json"));
    /* a transition writes the key */
    assert_ok(tr_emergency_resume(tr_emergency_global(em), "ok"));
    assert_ok(tr_state_sync(st, RT_WAIT_MS));
    assert_ok(tr_state_get_sync(st, "emergency:default", &v, NULL,
                                RT_WAIT_MS));
    assert_non_null(strstr(v, "\"state\":\"normal\""));
    assert_non_null(strstr(v, "\"version\":6"));
    free(v);
    tr_emergency_free(em);
    tr_state_free(st);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    em_rmdir(dir);
}

static void state_dir_creation(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    char deep[1024], file[1024], under[1100];
    snprintf(deep, sizeof(deep), "%s/a/b", dir);
    tr_emergency *em = em_open(deep, NULL, NULL);
    assert_ok(tr_emergency_halt(tr_emergency_global(em), "x"));
    tr_emergency_free(em);
    char p[1100];
    snprintf(p, sizeof(p), "%s/emergency-default.json", deep);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(rmdir(deep), 0);
    snprintf(p, sizeof(p), "%s/a", dir);
    assert_int_equal(rmdir(p), 0);
    /* a path through a regular file cannot be created */
    snprintf(file, sizeof(file), "%s/plainfile", dir);
    write_text(dir, "plainfile", "x");
    snprintf(under, sizeof(under), "%s/sub", file);
    tr_config_emergency l = em_limits();
    tr_emergency_opts o = {.state_dir = under, .limits = &l};
    tr_emergency *x = NULL;
    assert_int_equal(tr_emergency_new(&x, &o), TR_EIO);
    assert_null(x);
    assert_non_null(strstr(tr_emergency_last_error(), under));
    em_rmdir(dir);
}

static void unwritable_file(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    tr_emergency_controller *g = tr_emergency_global(em);
    assert_ok(tr_emergency_halt(g, "first"));
    /* a non-empty directory where the file goes: rename must fail */
    char p[1024], q[1100];
    snprintf(p, sizeof(p), "%s/emergency-default.json", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(q, sizeof(q), "%s/keep", p);
    FILE *f = fopen(q, "w");
    assert_non_null(f);
    fclose(f);
    /* resume is refused: the halt stays in memory and on disk */
    assert_int_equal(tr_emergency_resume(g, "too early"), TR_EIO);
    assert_non_null(strstr(tr_emergency_last_error(), "not persisted"));
    assert_int_equal(em_state(g), TR_EMERGENCY_HALT);
    /* a restricting change still happens; the status says it is not on disk */
    assert_ok(tr_emergency_shutdown(g, "worse"));
    assert_int_equal(em_state(g), TR_EMERGENCY_SHUTDOWN);
    char *js;
    assert_ok(tr_emergency_status_json(g, &js, NULL));
    assert_non_null(strstr(js, "\"persist_error\":\"rename"));
    free(js);
    tr_emergency_free(em);
    unlink(q);
    rmdir(p);
    em_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kill9_after_halt), /* first: no threads yet */
        cmocka_unit_test(restart_restores),
        cmocka_unit_test(corrupt_files_fail_closed),
        cmocka_unit_test(store_error_fails_closed),
        cmocka_unit_test(store_and_file_most_restrictive),
        cmocka_unit_test(state_dir_creation),
        cmocka_unit_test(unwritable_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
