/*
 * actors/emergency/em_persist.c -- the controller's durable state: a small
 * JSON file per controller under state_dir, the state store key
 * emergency:{id}, and the restore at start.
 *
 * DESIGN
 *
 * Record (file and key hold the same JSON text):
 *   {"controller_id":"bot_001","state":"halt","version":7,
 *    "reason":"...","halt_reason":"...","updated_ms":1769336123501,
 *    "updated_at":"2026-01-25T10:15:23.501Z"}
 *
 * File write, atomic and durable: write <dir>/.emergency-<id>.json.<pid>.tmp,
 * fsync it, rename over <dir>/emergency-<id>.json, fsync the directory.  A
 * crash at any point leaves either the old file or the new one, never a
 * torn one (the temp name starts with '.', so restore never picks it up;
 * the pid keeps two processes sharing a directory apart).  Callers hold the
 * controller's mutex, so one controller's writes never interleave.
 *
 * Store write: tr_state_set, fire-and-forget (any thread, never blocks a
 * worker); its failures are logged, never fatal -- the file is the durable
 * copy for the memory backend, the key is what Redis shares.
 *
 * Restore (tr_emergency_new, on the host's main thread): per controller,
 * the file and (with a store) the key, each ABSENT, OK or BAD.  BAD means
 * halt (fail closed); the result is the most restrictive of the candidates
 * (ties: the higher version).  A BAD file is renamed to <path>.corrupt for
 * the operator, and the result is written back so that file and key agree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/emergency/emergency_internal.h"
#include "runtime/atomics.h"
#include "troupe/codec.h"
#include "troupe/log.h"

#define MAX_FILE 65536

int tr__em_mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n >= sizeof(path))
        return tr__em_fail(TR_EIO, "emergency: state_dir %s: path too long",
                           dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        struct stat st;
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return tr__em_fail(TR_EIO, "emergency: cannot create state_dir "
                               "%s (%s): %s", dir, path, strerror(errno));
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            return tr__em_fail(TR_EIO, "emergency: cannot create state_dir "
                               "%s: %s is not a directory", dir, path);
        path[i] = c;
    }
    return 0;
}

static void file_path(const tr_emergency *em, const char *id, char *buf,
                      size_t cap)
{
    snprintf(buf, cap, "%s/emergency-%s.json", em->state_dir, id);
}

/* The record as JSON text into js (NUL-terminated). */
static int encode(const char *id, const tr__em_record *rec, tr_buf *js)
{
    char ts[TR__EM_TS_MAX];
    tr__em_iso8601(rec->updated_ms, ts);
    tr_buf mp;
    tr_buf_init(&mp);
    tr_mp_write_map(&mp, 7);
    tr_mp_write_cstr(&mp, "controller_id");
    tr_mp_write_cstr(&mp, id);
    tr_mp_write_cstr(&mp, "state");
    tr_mp_write_cstr(&mp, tr_emergency_state_name(rec->state));
    tr_mp_write_cstr(&mp, "version");
    tr_mp_write_uint(&mp, rec->version);
    tr_mp_write_cstr(&mp, "reason");
    tr_mp_write_cstr(&mp, rec->reason ? rec->reason : "");
    tr_mp_write_cstr(&mp, "halt_reason");
    tr_mp_write_cstr(&mp, rec->halt_reason ? rec->halt_reason : "");
    tr_mp_write_cstr(&mp, "updated_ms");
    tr_mp_write_uint(&mp, rec->updated_ms);
    tr_mp_write_cstr(&mp, "updated_at");
    tr_mp_write_cstr(&mp, ts);
    int rc = tr_buf_error(&mp);
    if (rc == 0)
        rc = tr_json_from_mp(js, mp.data, mp.len, NULL);
    if (rc == 0 && !tr_buf_cstr(js))
        rc = TR_ENOMEM;
    tr_buf_fini(&mp);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_file(const tr_emergency *em, const char *id, const char *text,
                      size_t len, char *why, size_t why_cap)
{
    char path[4300], tmp[4400];
    file_path(em, id, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s/.emergency-%s.json.%ld.tmp", em->state_dir,
             id, (long)getpid());
    const char *step = "open", *what = tmp;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto fail;
    step = "write";
    if (write_all(fd, text, len) != 0 || write_all(fd, "\n", 1) != 0)
        goto fail_fd;
    step = "fsync";
    if (fsync(fd) != 0)
        goto fail_fd;
    close(fd);
    step = "rename";
    if (rename(tmp, path) != 0) {
        snprintf(why, why_cap, "rename %s to %s: %s", tmp, path,
                 strerror(errno));
        unlink(tmp);
        return TR_EIO;
    }
    step = "fsync directory";
    what = em->state_dir;
    int dfd = open(em->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        goto fail;
    int frc = fsync(dfd);
    close(dfd);
    if (frc != 0)
        goto fail;
    return 0;
fail_fd:
    snprintf(why, why_cap, "%s %s: %s", step, what, strerror(errno));
    close(fd);
    unlink(tmp);
    return TR_EIO;
fail:
    snprintf(why, why_cap, "%s %s: %s", step, what, strerror(errno));
    return TR_EIO;
}

static void store_key(const char *id, char *key, size_t cap)
{
    tr_state_key(key, cap, TR_STATE_KEY_EMERGENCY, id, NULL);
}

static void store_write(tr_emergency *em, const char *id, const char *text,
                        size_t len)
{
    if (!em->state)
        return;
    char key[TR_EMERGENCY_ID_MAX + 16];
    store_key(id, key, sizeof(key));
    int rc = tr_state_set(em->state, key, text, len);
    if (rc != 0)
        tr_log(TR_LOG_LEVEL_ERROR, TR__EM_MODULE,
               "controller %s: state store write of %s failed: %s", id, key,
               tr_err_name(rc));
}

int tr__em_persist(tr_emergency_controller *ctl, const tr__em_record *rec,
                   char *why, size_t why_cap)
{
    tr_buf js;
    tr_buf_init(&js);
    int rc = encode(ctl->id, rec, &js);
    if (rc != 0) {
        snprintf(why, why_cap, "encoding: %s", tr_err_name(rc));
        tr_buf_fini(&js);
        return rc;
    }
    rc = write_file(ctl->em, ctl->id, (const char *)js.data, js.len, why,
                    why_cap);
    /* The store copy is written even when the file failed: it may be the
     * only durable copy left. */
    store_write(ctl->em, ctl->id, (const char *)js.data, js.len);
    tr_buf_fini(&js);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Restore
 * ------------------------------------------------------------------------ */

enum { ABSENT, OK, BAD };

typedef struct loaded {
    int status;
    tr_emergency_state state;
    uint64_t version, updated_ms;
    char reason[TR_EMERGENCY_REASON_MAX];
    char halt_reason[TR_EMERGENCY_REASON_MAX];
    char why[TR_EMERGENCY_REASON_MAX]; /* BAD: the fail-closed reason */
} loaded;

static bool get_str(tr_mp_val map, const char *key, char *dst, size_t cap)
{
    tr_mp_val v;
    const char *s;
    size_t n;
    if (tr_mp_map_get(map, key, &v) != 0 || tr_mp_get_str(v, &s, &n) != 0)
        return false;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* Parse a record for controller id; false (and why) when it is not one. */
static bool parse(const char *id, const char *text, size_t len, loaded *out,
                  char *why, size_t cap)
{
    tr_buf mp;
    tr_buf_init(&mp);
    tr_codec_error ce;
    tr_mp_val root, v;
    bool ok = false;
    char sid[TR_EMERGENCY_ID_MAX + 1], st[16];
    if (tr_json_to_mp(&mp, text, len, &ce) != 0)
        snprintf(why, cap, "invalid JSON: %s", ce.text);
    else if (tr_mp_read(mp.data, mp.len, &root, NULL) != 0 ||
             tr_mp_typeof(root) != TR_MP_MAP)
        snprintf(why, cap, "not a JSON object");
    else if (!get_str(root, "controller_id", sid, sizeof(sid)) ||
             strcmp(sid, id) != 0)
        snprintf(why, cap, "controller_id missing or not \"%s\"", id);
    else if (!get_str(root, "state", st, sizeof(st)) ||
             tr_emergency_state_parse(st, &out->state) != 0)
        snprintf(why, cap, "state missing or not one of normal, alert, "
                 "halt, shutdown");
    else if (tr_mp_map_get(root, "version", &v) != 0 ||
             tr_mp_get_uint(v, &out->version) != 0 ||
             out->version >= (UINT64_C(1) << 62))
        snprintf(why, cap, "version missing or not an unsigned integer");
    else {
        ok = true;
        if (!get_str(root, "reason", out->reason, sizeof(out->reason)))
            out->reason[0] = '\0';
        if (!get_str(root, "halt_reason", out->halt_reason,
                     sizeof(out->halt_reason)))
            out->halt_reason[0] = '\0';
        if (tr_mp_map_get(root, "updated_ms", &v) != 0 ||
            tr_mp_get_uint(v, &out->updated_ms) != 0)
            out->updated_ms = 0;
    }
    tr_buf_fini(&mp);
    return ok;
}

static void load_file(const tr_emergency *em, const char *id, loaded *out)
{
    char path[4300], why[300];
    file_path(em, id, path, sizeof(path));
    out->status = BAD;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            out->status = ABSENT;
            return;
        }
        snprintf(why, sizeof(why), "%s", strerror(errno));
    } else {
        char *buf = malloc(MAX_FILE + 1);
        ssize_t n = -1;
        size_t got = 0;
        while (buf && got <= MAX_FILE &&
               (n = read(fd, buf + got, MAX_FILE + 1 - got)) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            got += (size_t)n;
        }
        close(fd);
        if (!buf)
            snprintf(why, sizeof(why), "out of memory");
        else if (n < 0)
            snprintf(why, sizeof(why), "%s", strerror(errno));
        else if (got > MAX_FILE)
            snprintf(why, sizeof(why), "larger than %d bytes", MAX_FILE);
        else if (parse(id, buf, got, out, why, sizeof(why)))
            out->status = OK;
        free(buf);
    }
    if (out->status == BAD)
        snprintf(out->why, sizeof(out->why), "state file %.250s unreadable: %.140s",
                 path, why);
}

static void load_store(tr_emergency *em, const char *id, loaded *out)
{
    char key[TR_EMERGENCY_ID_MAX + 16], why[300];
    store_key(id, key, sizeof(key));
    char *json = NULL;
    size_t len = 0;
    int rc = tr_state_get_sync(em->state, key, &json, &len,
                               em->store_timeout_ms);
    out->status = BAD;
    if (rc == TR_ENOENT)
        out->status = ABSENT;
    else if (rc != 0)
        snprintf(why, sizeof(why), "%s (%s)", tr_strerror(rc),
                 tr_err_name(rc));
    else if (parse(id, json, len, out, why, sizeof(why)))
        out->status = OK;
    free(json);
    if (out->status == BAD)
        snprintf(out->why, sizeof(out->why),
                 "state store key %.140s unreadable: %.200s", key, why);
}

/* Is a more restrictive than b (ties: newer)? */
static bool wins(const loaded *a, const loaded *b)
{
    return a->state > b->state ||
           (a->state == b->state && a->version > b->version);
}

static int restore_one(tr_emergency_controller *ctl)
{
    tr_emergency *em = ctl->em;
    loaded *src = calloc(2, sizeof(loaded));
    if (!src)
        return TR_ENOMEM;
    load_file(em, ctl->id, &src[0]);
    if (em->state)
        load_store(em, ctl->id, &src[1]);
    uint64_t maxv = src[0].version > src[1].version ? src[0].version
                                                    : src[1].version;
    for (int i = 0; i < 2; i++)
        if (src[i].status == BAD) { /* fail closed */
            src[i].state = TR_EMERGENCY_HALT;
            src[i].version = maxv + 1;
            src[i].updated_ms = tr__em_now(em);
            tr__em_copy(src[i].reason, sizeof(src[i].reason), src[i].why);
            tr__em_copy(src[i].halt_reason, sizeof(src[i].halt_reason),
                        src[i].why);
            tr_log(TR_LOG_LEVEL_ERROR, TR__EM_MODULE,
                   "controller %s restored as halt: %s", ctl->id, src[i].why);
        }
    const loaded *best = NULL;
    for (int i = 0; i < 2; i++)
        if (src[i].status != ABSENT && (!best || wins(&src[i], best)))
            best = &src[i];
    int rc = 0;
    if (best) {
        tr__em_publish(ctl, best->state, best->version);
        tr__em_copy(ctl->reason, sizeof(ctl->reason), best->reason);
        tr__em_copy(ctl->halt_reason, sizeof(ctl->halt_reason),
                    best->halt_reason);
        ctl->updated_ms = best->updated_ms;
        if (src[0].status == BAD) {
            char path[4300], keep[4400];
            file_path(em, ctl->id, path, sizeof(path));
            snprintf(keep, sizeof(keep), "%s.corrupt", path);
            rename(path, keep);
        }
        tr__em_record rec = {best->state, best->version, best->updated_ms,
                             best->reason, best->halt_reason};
        char why[300];
        if (src[0].status != OK || best != &src[0] ||
            (em->state && (src[1].status != OK || wins(&src[0], &src[1])))) {
            /* The file is bad or missing, or file and key disagree: write
             * the winner to both. */
            if (tr__em_persist(ctl, &rec, why, sizeof(why)) != 0) {
                tr__em_copy(ctl->persist_error, sizeof(ctl->persist_error),
                            why);
                tr_log(TR_LOG_LEVEL_ERROR, TR__EM_MODULE,
                       "controller %s: restored state not persisted: %s",
                       ctl->id, why);
            }
        }
        if (best->state != TR_EMERGENCY_NORMAL)
            tr_log(TR_LOG_LEVEL_WARN, TR__EM_MODULE,
                   "controller %s restored in state %s: %s", ctl->id,
                   tr_emergency_state_name(best->state), best->reason);
    }
    free(src);
    return rc;
}

int tr__em_restore_all(tr_emergency *em)
{
    int rc = restore_one(em->global);
    if (rc != 0)
        return rc;
    DIR *d = opendir(em->state_dir);
    if (!d)
        return tr__em_fail(TR_EIO, "emergency: cannot list state_dir %s: %s",
                           em->state_dir, strerror(errno));
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t n = strlen(name);
        if (n <= 15 || strncmp(name, "emergency-", 10) != 0 ||
            strcmp(name + n - 5, ".json") != 0)
            continue;
        char id[TR_EMERGENCY_ID_MAX + 1];
        if (n - 15 >= sizeof(id) - 1)
            continue;
        memcpy(id, name + 10, n - 15);
        id[n - 15] = '\0';
        if (!tr__em_valid_id(id) || strcmp(id, em->global->id) == 0)
            continue;
        tr_emergency_controller *ctl;
        pthread_mutex_lock(&em->mu);
        rc = tr__em_ctl_create(em, id, &ctl);
        pthread_mutex_unlock(&em->mu);
        if (rc == 0)
            rc = restore_one(ctl);
    }
    closedir(d);
    return rc;
}
