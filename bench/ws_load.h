/*
 * bench/ws_load.h -- a WebSocket load client for `troupe bench fanout`.
 *
 * DESIGN
 *  - Subscribers: N connections opened and upgraded one by one with blocking
 *    sockets (RFC 6455 handshake, masked client frames), each subscribed to
 *    workflow:<wf>; the "subscribed" answer gives the room's last seq.  Then
 *    the sockets go non-blocking into ONE epoll set served by `threads`
 *    threads (each owns a slice of the connections).  A thread reads into a
 *    64 KB buffer (a partial frame is carried in a 1 KB per-connection tail),
 *    parses unmasked server frames, and for a workflow_event scans (no JSON
 *    parse) "seq": and "sent_ns": : latency = now - sent_ns goes into a
 *    preallocated histogram (1 us buckets < 100 ms, 1 ms above; exact max), the seq is checked
 *    against the connection's next expected one (a jump = a gap; going back
 *    = a protocol error).  A `dropped` marker is counted.  Any other frame,
 *    a close or a malformed frame is a protocol error.
 *  - Publisher: one blocking connection, `publish` frames of the contract's
 *    node_completed shape with "sent_ns" (CLOCK_MONOTONIC) inside, paced by
 *    clock_nanosleep(TIMER_ABSTIME) at `rate`/s, or unpaced (rate 0).  Its
 *    "published" answers are drained with MSG_DONTWAIT reads between sends.
 *  - CPU: tr__wsl_cpu_ns sums the CPU clocks of every load thread
 *    (pthread_getcpuclockid), so the caller can subtract the client from the
 *    process's CPU and keep the server's.
 *  - Idle connections: tr__wsl_idle_fork forks a child that opens and
 *    upgrades K connections (stack memory and syscalls only: the parent is
 *    multi-threaded), reports how many on a pipe and holds them until
 *    tr__wsl_idle_end kills it (SIGKILL: the kernel closes them).
 * Ownership: a tr__wsl owns its sockets, threads and buffers.
 */
#ifndef TR_BENCH_WS_LOAD_H
#define TR_BENCH_WS_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* latency histogram: 1 us buckets below 100 ms, then 1 ms buckets to 100 s */
#define TR__WSL_HIST_US 100000u
#define TR__WSL_HIST_N (2 * TR__WSL_HIST_US + 1)

typedef struct tr__wsl tr__wsl;

typedef struct tr__wsl_figs {
    uint64_t delivered;   /* workflow_event frames received, all connections */
    uint64_t gaps;        /* seqs skipped                                     */
    uint64_t markers;     /* `dropped` frames                                 */
    uint64_t proto_errors;
    uint64_t bytes;       /* event frame bytes (headers included)             */
    uint64_t last_rx_ns;  /* when the last event arrived                      */
    double p50_ms, p99_ms, max_ms;
} tr__wsl_figs;

/* Open n subscribers on 127.0.0.1:port, subscribed to workflow:wf, served by
 * `threads` epoll threads.  0 or -1 (reason on stderr; nothing left open). */
int tr__wsl_open(tr__wsl **out, int port, unsigned n, unsigned threads, const char *wf);
/* Totals so far (histogram percentiles computed at the call). */
void tr__wsl_figs_get(tr__wsl *l, tr__wsl_figs *f);
/* Deliveries so far (cheap: no histogram work). */
uint64_t tr__wsl_delivered(tr__wsl *l);
/* CPU time of the load threads (subscribers and publisher), nanoseconds. */
uint64_t tr__wsl_cpu_ns(tr__wsl *l);
/* Publish `events` node_completed events to workflow:wf at rate/s (0 =
 * unpaced) from a thread of the load client; returns at once. */
int tr__wsl_publish_start(tr__wsl *l, const char *wf, uint64_t events, double rate);
/* Wait for the publisher: 0, or -1 (send failure or an error answer). */
int tr__wsl_publish_join(tr__wsl *l, uint64_t *sent_ns_first, uint64_t *sent_ns_last);
/* Stop the threads, close everything, free.  l may be NULL. */
void tr__wsl_close(tr__wsl *l);

/* Fork a child holding up to k idle upgraded /ws connections; *opened gets
 * how many it managed.  Returns the child's pid or -1. */
pid_t tr__wsl_idle_fork(int port, unsigned k, unsigned *opened);
/* Kill the child (its connections close) and reap it. */
void tr__wsl_idle_end(pid_t pid);

#endif
