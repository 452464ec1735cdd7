/*
 * tests/serve/ws_client.h -- a minimal RFC 6455 client for the /ws tests.
 *
 * Raw blocking socket (every read bounded by SO_RCVTIMEO), a handshake with
 * the RFC's fixed key (the Sec-WebSocket-Accept is checked), masked client
 * frames with a fixed mask, and a buffered reader of unmasked server frames
 * (continuations are joined).  A close frame is answered with a close and
 * its status code kept in wsc.close_code.  Ownership: wsc owns its read
 * buffer; wsc_recv returns a malloc'd payload the caller frees.
 */
#ifndef TR_WS_CLIENT_H
#define TR_WS_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

typedef struct wsc {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    int close_code; /* 0 = none seen, else the server's close code */
    bool closed;
} wsc;

static inline int wsc_fill(wsc *c)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 65536;
        c->buf = realloc(c->buf, c->cap);
    }
    ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (r <= 0)
        return -1;
    c->len += (size_t)r;
    return 0;
}

static inline void wsc_consume(wsc *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Connect and upgrade.  Returns the HTTP status (101 on success; c->fd is
 * then open), or -1.  headers: extra "Name: value\r\n" lines or NULL.
 * rcvbuf > 0 shrinks the socket's receive buffer (slow-client tests). */
static inline int wsc_open(wsc *c, int port, const char *path, const char *headers, int rcvbuf)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, port, headers ? headers : "");
    if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    char *end = NULL;
    for (int i = 0; i < 1000 && end == NULL; i++) {
        if (wsc_fill(c) != 0)
            return -1;
        c->buf[c->len < c->cap ? c->len : c->cap - 1] = '\0';
        end = strstr((char *)c->buf, "\r\n\r\n");
    }
    if (end == NULL)
        return -1;
    int status = -1;
    sscanf((char *)c->buf, "HTTP/1.%*d %d", &status);
    if (status == 101 && strstr((char *)c->buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == NULL)
        status = -2; /* wrong Sec-WebSocket-Accept */
    wsc_consume(c, (size_t)(end + 4 - (char *)c->buf));
    return status;
}

/* One masked frame (fin set). */
static inline int wsc_send(wsc *c, int opcode, const void *data, size_t len)
{
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t hl = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4;
    unsigned char *f = malloc(hl + len);
    f[0] = (unsigned char)(0x80 | opcode);
    size_t p = 2;
    if (len < 126) {
        f[1] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        f[1] = 0x80 | 126;
        f[2] = (unsigned char)(len >> 8);
        f[3] = (unsigned char)len;
        p = 4;
    } else {
        f[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        p = 10;
    }
    memcpy(f + p, mask, 4);
    for (size_t i = 0; i < len; i++)
        f[p + 4 + i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
    size_t off = 0;
    int rc = 0;
    while (off < hl + len) {
        ssize_t w = send(c->fd, f + off, hl + len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            rc = -1;
            break;
        }
        off += (size_t)w;
    }
    free(f);
    return rc;
}

static inline int wsc_text(wsc *c, const char *s)
{
    return wsc_send(c, 1, s, strlen(s));
}

/* Next data message (text/binary, continuations joined).  Pings are
 * answered; a close is answered and ends with -1 (close_code set). */
static inline int wsc_recv(wsc *c, char **out, size_t *outlen)
{
    char *msg = NULL;
    size_t mlen = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        while (c->len < 2)
            if (wsc_fill(c) != 0)
                goto fail;
        int op = c->buf[0] & 0x0f, fin = c->buf[0] & 0x80;
        uint64_t len = c->buf[1] & 0x7f;
        size_t hl = 2;
        if (len == 126)
            hl = 4;
        else if (len == 127)
            hl = 10;
        while (c->len < hl)
            if (wsc_fill(c) != 0)
                goto fail;
        if (len == 126)
            len = (uint64_t)c->buf[2] << 8 | c->buf[3];
        else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | c->buf[2 + i];
        }
        while (c->len < hl + len)
            if (wsc_fill(c) != 0)
                goto fail;
        const unsigned char *pl = c->buf + hl;
        if (op == 8) {
            c->close_code = len >= 2 ? (pl[0] << 8 | pl[1]) : 1005;
            c->closed = true;
            wsc_send(c, 8, pl, len >= 2 ? 2 : 0);
            wsc_consume(c, hl + len);
            goto fail;
        }
        if (op == 9) {
            wsc_send(c, 10, pl, (size_t)len);
        } else if (op != 10) {
            msg = realloc(msg, mlen + len + 1);
            memcpy(msg + mlen, pl, len);
            mlen += len;
            msg[mlen] = '\0';
            if (fin) {
                wsc_consume(c, hl + len);
                *out = msg;
                *outlen = mlen;
                return 0;
            }
        }
        wsc_consume(c, hl + len);
    }
fail:
    free(msg);
    return -1;
}

/* Next message parsed as JSON (NULL on close, EOF, timeout or bad JSON). */
static inline json_t *wsc_json(wsc *c)
{
    char *m;
    size_t n;
    if (wsc_recv(c, &m, &n) != 0)
        return NULL;
    json_error_t e;
    json_t *j = json_loadb(m, n, 0, &e);
    free(m);
    return j;
}

/* Send a JSON text and read the answer (skipping workflow_event, emergency_event and metrics frames). */
static inline json_t *wsc_op(wsc *c, const char *text)
{
    if (wsc_text(c, text) != 0)
        return NULL;
    for (int i = 0; i < 100000; i++) {
        json_t *j = wsc_json(c);
        if (j == NULL)
            return NULL;
        const char *ev = json_string_value(json_object_get(j, "event"));
        if (ev && strcmp(ev, "workflow_event") != 0 && strcmp(ev, "emergency_event") != 0 &&
            strcmp(ev, "metrics") != 0)
            return j;
        json_decref(j);
    }
    return NULL;
}

static inline const char *wsc_event(json_t *j)
{
    return json_string_value(json_object_get(j, "event"));
}

static inline json_t *wsc_data(json_t *j, const char *key)
{
    return json_object_get(json_object_get(j, "data"), key);
}

/* Send an op; true when its answer is the event `event`. */
static inline bool wsc_op_answers(wsc *c, const char *text, const char *event)
{
    json_t *j = wsc_op(c, text);
    bool ok = j != NULL && wsc_event(j) != NULL && strcmp(wsc_event(j), event) == 0;
    json_decref(j);
    return ok;
}

static inline void wsc_close(wsc *c)
{
    if (c->fd > 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
}

#endif
