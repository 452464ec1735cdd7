/*
 * tests/serve/serve_test.h -- fixtures for the HTTP API tests: an engine on a
 * fresh state_dir plus a server on 127.0.0.1:0, and a tiny raw-socket HTTP/1.1
 * client (one request at a time on a keep-alive connection; responses read
 * by Content-Length; every read bounded by a socket timeout).
 */
#ifndef TR_SERVE_TEST_H
#define TR_SERVE_TEST_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "troupe/serve.h"

typedef struct sfx {
    tr_config cfg;
    tr_engine *e;
    tr_serve *srv;
    int port;
    char dir[64];
} sfx;

static inline void sfx_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* token: NULL or "" for no auth. */
static inline sfx *sfx_new(const char *token, int64_t max_payload)
{
    sfx *f = calloc(1, sizeof(*f));
    if (f == NULL || tr_config_load(&f->cfg, "development", NULL, (char *[]){NULL}, NULL) != 0)
        return NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/troupe-serve-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return NULL;
    free(f->cfg.server.auth_token);
    f->cfg.server.auth_token = strdup(token ? token : "");
    if (max_payload > 0)
        f->cfg.server.max_payload = max_payload;
    tr_engine_opts eo = {.config = &f->cfg, .workers = 2, .state_dir = f->dir};
    if (tr_engine_new(&f->e, &eo) != 0)
        return NULL;
    tr_serve_opts so = {.engine = f->e, .config = &f->cfg, .listen = "127.0.0.1:0"};
    if (tr_serve_start(&f->srv, &so) != 0)
        return NULL;
    f->port = tr_serve_port(f->srv);
    return f;
}

static inline void sfx_free(sfx *f)
{
    if (f == NULL)
        return;
    tr_serve_stop(f->srv);
    tr_engine_free(f->e, 5000);
    tr_config_fini(&f->cfg);
    sfx_rmdir(f->dir);
    free(f);
}

static inline int http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one response: status (or -1) and a malloc'd NUL-terminated body. */
static inline int http_read(int fd, char **body, int *connection_close)
{
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    char *hend = NULL;
    *body = NULL;
    for (;;) {
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        buf[len] = '\0';
        if (hend == NULL && (hend = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            size_t want = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
            size_t hlen = (size_t)(hend - buf) + 4;
            while (len < hlen + want) {
                if (len + 1 >= cap)
                    buf = realloc(buf, cap *= 2);
                ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
                if (r <= 0)
                    break;
                len += (size_t)r;
            }
            buf[len] = '\0';
            hend = buf + hlen - 4;
            int status = -1;
            sscanf(buf, "HTTP/1.1 %d", &status);
            if (connection_close)
                *connection_close = strcasestr(buf, "\r\nconnection: close") != NULL &&
                                    strcasestr(buf, "\r\nconnection: close") < hend;
            *body = strndup(hend + 4, want);
            free(buf);
            return status;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)r;
    }
}

static inline int http_do(int fd, const char *method, const char *path, const char *auth,
                          const char *body, char **out)
{
    char head[2048];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                     method, path, auth ? "Authorization: Bearer " : "", auth ? auth : "",
                     auth ? "\r\n" : "", blen);
    if (send_all(fd, head, (size_t)n) != 0 || (blen && send_all(fd, body, blen) != 0))
        return -1;
    return http_read(fd, out, NULL);
}

/* One request on a new connection; *json gets the parsed body (or NULL). */
static inline int http1(int port, const char *method, const char *path, const char *auth,
                        const char *body, json_t **json)
{
    int fd = http_connect(port);
    char *b = NULL;
    int st = fd >= 0 ? http_do(fd, method, path, auth, body, &b) : -1;
    if (fd >= 0)
        close(fd);
    if (json) {
        json_error_t jerr;
        *json = b ? json_loads(b, JSON_DECODE_ANY, &jerr) : NULL;
    }
    free(b);
    return st;
}

#endif
