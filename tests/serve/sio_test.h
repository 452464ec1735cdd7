/*
 * tests/serve/sio_test.h -- a minimal Engine.IO v4 / Socket.IO v4 client
 * over ws_client.h for the Socket.IO tests.
 *
 * sio_open upgrades at /socket.io/?EIO=4&transport=websocket and reads the
 * open packet (kept, parsed, in s->open); sio_connect sends CONNECT with an
 * optional token.  sio_next returns the next Socket.IO packet text (after
 * the Engine.IO '4'), answering server pings ('2' -> '3') unless
 * s->no_pong.  Ownership: the sio owns its wsc and open JSON; sio_next
 * returns a malloc'd string the caller frees.
 */
#ifndef TR_SIO_TEST_H
#define TR_SIO_TEST_H

#include "serve/ws_test.h"

typedef struct sio {
    wsc ws;
    json_t *open; /* the open packet's JSON */
    bool no_pong;
    int pings;    /* pings seen */
} sio;

#define SIO_PATH "/socket.io/?EIO=4&transport=websocket"

/* HTTP status of the upgrade (101 = open packet read into s->open). */
static inline int sio_open(sio *s, int port, const char *path)
{
    memset(s, 0, sizeof(*s));
    int st = wsc_open(&s->ws, port, path ? path : SIO_PATH, NULL, 0);
    if (st != 101)
        return st;
    char *m;
    size_t n;
    if (wsc_recv(&s->ws, &m, &n) != 0)
        return -1;
    json_error_t e;
    if (n > 0 && m[0] == '0')
        s->open = json_loadb(m + 1, n - 1, 0, &e);
    free(m);
    return s->open ? 101 : -1;
}

/* The next Socket.IO packet ("0{...}", "2[...]", "31[...]"...), or NULL on
 * close/timeout.  Engine.IO pings are answered and skipped. */
static inline char *sio_next(sio *s)
{
    for (int i = 0; i < 100000; i++) {
        char *m;
        size_t n;
        if (wsc_recv(&s->ws, &m, &n) != 0)
            return NULL;
        if (n == 1 && m[0] == '2') {
            s->pings++;
            if (!s->no_pong)
                wsc_text(&s->ws, "3");
            free(m);
            continue;
        }
        if (n > 0 && m[0] == '4') {
            memmove(m, m + 1, n);
            return m;
        }
        return m; /* other Engine.IO packets: as they are */
    }
    return NULL;
}

/* CONNECT to "/" with token (NULL = no auth payload); returns the answer. */
static inline char *sio_connect(sio *s, const char *token)
{
    char pkt[512];
    if (token)
        snprintf(pkt, sizeof pkt, "40{\"token\":\"%s\"}", token);
    else
        snprintf(pkt, sizeof pkt, "40");
    if (wsc_text(&s->ws, pkt) != 0)
        return NULL;
    return sio_next(s);
}

/* Send EVENT [name, argjson] with ack id (< 0: none) and, with an ack id,
 * return the ack's first argument (skipping events); else NULL. */
static inline json_t *sio_emit(sio *s, int ack, const char *name, const char *argjson)
{
    char pkt[4096];
    if (ack >= 0)
        snprintf(pkt, sizeof pkt, "42%d[\"%s\",%s]", ack, name, argjson);
    else
        snprintf(pkt, sizeof pkt, "42[\"%s\",%s]", name, argjson);
    if (wsc_text(&s->ws, pkt) != 0 || ack < 0)
        return NULL;
    char want[32];
    int wl = snprintf(want, sizeof want, "3%d[", ack);
    for (int i = 0; i < 100000; i++) {
        char *m = sio_next(s);
        if (m == NULL)
            return NULL;
        if (strncmp(m, want, (size_t)wl) == 0) {
            json_error_t e;
            json_t *arr = json_loads(m + wl - 1, 0, &e);
            free(m);
            json_t *a = json_incref(json_array_get(arr, 0));
            json_decref(arr);
            return a;
        }
        free(m);
    }
    return NULL;
}

/* Read workflow_event packets until execution_completed of wf, checking
 * each is of wf with seq == *next_seq (then incremented).  Returns the
 * number of events, or -1. */
static inline int sio_read_run(sio *s, const char *wf, uint64_t *next_seq)
{
    for (int n = 0; n < 1000;) {
        char *m = sio_next(s);
        if (m == NULL)
            return -1;
        json_error_t e;
        json_t *arr = strncmp(m, "2[\"workflow_event\",", 19) == 0 ? json_loads(m + 1, 0, &e)
                                                                   : NULL;
        free(m);
        if (arr == NULL)
            continue;
        n++;
        json_t *d = json_array_get(arr, 1);
        const char *w = json_string_value(json_object_get(d, "workflow_id"));
        const char *type = json_string_value(json_object_get(d, "type"));
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(d, "seq"));
        bool ok = w && strcmp(w, wf) == 0 && seq == *next_seq;
        bool done = type && strcmp(type, "execution_completed") == 0;
        json_decref(arr);
        if (!ok)
            return -1;
        (*next_seq)++;
        if (done)
            return n;
    }
    return -1;
}

static inline void sio_close(sio *s)
{
    json_decref(s->open);
    wsc_close(&s->ws);
}

#endif
