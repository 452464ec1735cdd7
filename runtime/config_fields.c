/*
 * runtime/config_fields.c -- the table of configuration fields.
 *
 * Adding a field is adding a member to tr_config (troupe/config.h), a row
 * here, bumping TR_CONFIG_NFIELDS and a line in docs/configuration.md.
 * Defaults are text in the environment-variable syntax ("2", "1s", "a,b"),
 * parsed and range-checked like any other source, so a wrong default fails
 * the config tests instead of shipping.  Names follow the seed plan
 * (ResilienceConfig.retry_max_attempts, circuit_timeout_seconds,
 * EmergencyConfig.daily_loss_limit, ...).
 */
#include "runtime/config_fields.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(tr_config_backend) == sizeof(int) &&
                   sizeof(tr_config_log_format) == sizeof(int) &&
                   sizeof(tr_config_log_level) == sizeof(int) &&
                   sizeof(tr_config_slow_client) == sizeof(int),
               "enum fields are stored through an int");

const char *const tr__cfg_presets[2] = {"development", "production"};

static const char *const backends[] = {"memory", "redis", NULL};
static const char *const log_formats[] = {"console", "json", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error",
                                         NULL};
static const char *const slow_policies[] = {"drop", "disconnect", NULL};

/* "65535" -> true; digits only, value in [lo, hi], at most 5 digits. */
static bool port_ok(const char *s, size_t n, long lo, long hi)
{
    if (n == 0 || n > 5)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi;
}

/* host[:port] where host is a name/IPv4 or [IPv6]; port required if need_port.
 * Returns the length consumed (stops at '/' or end), or 0 when invalid. */
static size_t host_port(const char *s, bool need_port, long port_lo)
{
    size_t n = strcspn(s, "/");
    const char *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1)
            return 0;
        hlen = (size_t)(close - s) + 1;
        colon = (hlen < n) ? s + hlen : NULL;
        if (colon && *colon != ':')
            return 0;
    } else {
        colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        if (hlen == 0)
            return 0;
        for (size_t i = 0; i < hlen; i++)
            if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' ||
                  s[i] == '_'))
                return 0;
    }
    if (!colon)
        return need_port ? 0 : n;
    if (!port_ok(colon + 1, n - hlen - 1, port_lo, 65535))
        return 0;
    return n;
}

/* redis://[user[:password]@]host[:port][/db]  (or rediss://) */
static bool check_redis_url(const char *s)
{
    if (strncmp(s, "redis://", 8) == 0)
        s += 8;
    else if (strncmp(s, "rediss://", 9) == 0)
        s += 9;
    else
        return false;
    const char *at = strrchr(s, '@');
    if (at) {
        if (memchr(s, '/', (size_t)(at - s)))
            return false;
        s = at + 1;
    }
    size_t n = host_port(s, false, 1);
    if (n == 0)
        return false;
    s += n;
    if (*s == '\0')
        return true;
    return port_ok(s + 1, strlen(s + 1), 0, 99999); /* "/db": a number */
}

/* host:port, port 0 (any free port) .. 65535 */
static bool check_listen(const char *s)
{
    size_t n = host_port(s, true, 0);
    return n != 0 && s[n] == '\0';
}

/* [A-Za-z0-9_.-]+ */
static bool check_ident(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}

/* "*" or an origin: http(s)://host[:port], no path */
static bool check_origin(const char *s)
{
    if (strcmp(s, "*") == 0)
        return true;
    if (strncmp(s, "http://", 7) == 0)
        s += 7;
    else if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else
        return false;
    size_t n = host_port(s, false, 1);
    return n != 0 && s[n] == '\0';
}

#define OFF(member) offsetof(tr_config, member)
#define NUM(path, env, type, member, lo, hi, dev, prod)                        \
    {path, env, type, OFF(member), lo, hi, NULL, NULL, NULL, 0, {dev, prod}}
#define ENUMF(path, env, member, names, dev, prod)                             \
    {path, env, TR__CFG_ENUM, OFF(member), 0, 0, names, NULL, NULL, 0,      \
     {dev, prod}}
#define STR(path, env, member, lo, hi, chk, exp, fl, dev, prod)                \
    {path, env, TR__CFG_STRING, OFF(member), lo, hi, NULL, chk, exp, fl,    \
     {dev, prod}}

const tr__cfg_field tr__cfg_fields[] = {
    ENUMF("state_backend", "TROUPE_STATE_BACKEND", state_backend, backends,
          "memory", "redis"),
    ENUMF("events_backend", "TROUPE_EVENTS_BACKEND", events_backend, backends,
          "memory", "redis"),
    ENUMF("log_format", "TROUPE_LOG_FORMAT", log_format, log_formats,
          "console", "json"),
    ENUMF("log_level", "TROUPE_LOG_LEVEL", log_level, log_levels,
          "debug", "info"),
    STR("redis_url", "TROUPE_REDIS_URL", redis_url, 1, 1024, check_redis_url,
        "a URL redis://[user:password@]host[:port][/db]", TR__CFG_URL_SECRET,
        "redis://localhost:6379/0", "redis://localhost:6379/0"),
    NUM("workers", "TROUPE_WORKERS", TR__CFG_INT, workers, 0, 1024, "0", "0"),
    STR("state_dir", "TROUPE_STATE_DIR", state_dir, 1, 4095, NULL, NULL, 0,
        "./troupe-state", "/var/lib/troupe"),

    NUM("resilience.retry_max_attempts", "TROUPE_RESILIENCE_RETRY_MAX_ATTEMPTS",
        TR__CFG_INT, resilience.retry_max_attempts, 1, 100, "2", "3"),
    NUM("resilience.retry_min_wait_seconds",
        "TROUPE_RESILIENCE_RETRY_MIN_WAIT_SECONDS", TR__CFG_DURATION,
        resilience.retry_min_wait_seconds, 0, 3600, "1", "1"),
    NUM("resilience.retry_max_wait_seconds",
        "TROUPE_RESILIENCE_RETRY_MAX_WAIT_SECONDS", TR__CFG_DURATION,
        resilience.retry_max_wait_seconds, 0, 86400, "60", "60"),
    NUM("resilience.retry_exponential_base",
        "TROUPE_RESILIENCE_RETRY_EXPONENTIAL_BASE", TR__CFG_DOUBLE,
        resilience.retry_exponential_base, 1, 10, "2", "2"),
    NUM("resilience.retry_jitter", "TROUPE_RESILIENCE_RETRY_JITTER",
        TR__CFG_BOOL, resilience.retry_jitter, 0, 0, "true", "true"),
    NUM("resilience.circuit_failure_threshold",
        "TROUPE_RESILIENCE_CIRCUIT_FAILURE_THRESHOLD", TR__CFG_INT,
        resilience.circuit_failure_threshold, 1, 100000, "5", "10"),
    NUM("resilience.circuit_timeout_seconds",
        "TROUPE_RESILIENCE_CIRCUIT_TIMEOUT_SECONDS", TR__CFG_DURATION,
        resilience.circuit_timeout_seconds, 0.001, 86400, "60", "120"),
    NUM("resilience.node_timeout_seconds",
        "TROUPE_RESILIENCE_NODE_TIMEOUT_SECONDS", TR__CFG_DURATION,
        resilience.node_timeout_seconds, 0.001, 86400, "30", "30"),

    STR("emergency.controller_id", "TROUPE_EMERGENCY_CONTROLLER_ID",
        emergency.controller_id, 1, 128, check_ident,
        "1..128 characters of A-Z a-z 0-9 _ . -", 0, "default", "default"),
    NUM("emergency.daily_loss_limit", "TROUPE_EMERGENCY_DAILY_LOSS_LIMIT",
        TR__CFG_DOUBLE, emergency.daily_loss_limit, -1e12, 0, "-100", "-500"),
    NUM("emergency.max_position_size", "TROUPE_EMERGENCY_MAX_POSITION_SIZE",
        TR__CFG_DOUBLE, emergency.max_position_size, 0, 1e12, "10000", "10000"),
    NUM("emergency.max_drawdown_percent",
        "TROUPE_EMERGENCY_MAX_DRAWDOWN_PERCENT", TR__CFG_DOUBLE,
        emergency.max_drawdown_percent, 0, 100, "10", "10"),
    NUM("emergency.auto_halt", "TROUPE_EMERGENCY_AUTO_HALT", TR__CFG_BOOL,
        emergency.auto_halt, 0, 0, "true", "true"),

    STR("server.listen", "TROUPE_SERVER_LISTEN", server.listen, 1, 262,
        check_listen, "host:port with port 0..65535 (\"127.0.0.1:8001\")", 0,
        "127.0.0.1:8001", "127.0.0.1:8001"),
    STR("server.auth_token", "TROUPE_SERVER_AUTH_TOKEN", server.auth_token, 0,
        4096, NULL, NULL, TR__CFG_SECRET, "", ""),
    {"server.allowed_origins", "TROUPE_SERVER_ALLOWED_ORIGINS", TR__CFG_STRLIST,
     OFF(server.allowed_origins), 1, 1024, NULL, check_origin,
     "\"*\" or an origin http(s)://host[:port]", 0, {"*", ""}},
    NUM("server.max_payload", "TROUPE_SERVER_MAX_PAYLOAD", TR__CFG_INT,
        server.max_payload, 1024, 67108864, "1048576", "1048576"),
    NUM("server.send_queue", "TROUPE_SERVER_SEND_QUEUE", TR__CFG_INT,
        server.send_queue, 1, 1048576, "1024", "1024"),
    NUM("server.socket_send_buffer", "TROUPE_SERVER_SOCKET_SEND_BUFFER", TR__CFG_INT,
        server.socket_send_buffer, 0, 67108864, "0", "0"),
    NUM("server.history", "TROUPE_SERVER_HISTORY", TR__CFG_INT, server.history,
        0, 1000000, "1000", "1000"),
    NUM("server.rate_limit", "TROUPE_SERVER_RATE_LIMIT", TR__CFG_INT,
        server.rate_limit, 0, 1000000, "0", "100"),
    ENUMF("server.slow_client", "TROUPE_SERVER_SLOW_CLIENT", server.slow_client,
          slow_policies, "drop", "drop"),
};

_Static_assert(sizeof tr__cfg_fields / sizeof tr__cfg_fields[0] ==
                   TR_CONFIG_NFIELDS,
               "TR_CONFIG_NFIELDS must equal the number of rows");

const tr__cfg_le_rule tr__cfg_le_rules[] = {
    {"resilience.retry_min_wait_seconds", "resilience.retry_max_wait_seconds"},
};
const size_t tr__cfg_n_le_rules =
    sizeof(tr__cfg_le_rules) / sizeof(tr__cfg_le_rules[0]);

const tr__cfg_field *tr__cfg_find(const char *path)
{
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++)
        if (strcmp(tr__cfg_fields[i].path, path) == 0)
            return &tr__cfg_fields[i];
    return NULL;
}
