/*
 * bench/bench_util.c -- clocks, RSS, CPU pinning, run statistics and the
 * completion latch shared by the benchmarks (see bench_util.h).
 */
#include <dirent.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "troupe/engine.h"

uint64_t tr__bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tr__bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t tr__bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2)
        return -1;
    return (int64_t)resident * (int64_t)sysconf(_SC_PAGESIZE);
}

void tr__bench_trim_heap(void) { malloc_trim(0); }

void tr__bench_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

unsigned tr__bench_cpus(int *cpus, unsigned max)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    unsigned n = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE && n < max; c++)
            if (CPU_ISSET(c, &set))
                cpus[n++] = c;
    }
    if (n == 0 && max > 0) {
        cpus[0] = 0;
        n = 1;
    }
    return n;
}

int tr__bench_pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

tr__bench_stat tr__bench_summarize(const double *v, unsigned n)
{
    tr__bench_stat s = {0, 0, 0, n};
    if (n == 0)
        return s;
    double *c = malloc(n * sizeof(*c));
    if (c == NULL)
        return s;
    memcpy(c, v, n * sizeof(*c));
    qsort(c, n, sizeof(*c), cmp_double);
    s.min = c[0];
    s.max = c[n - 1];
    s.median = (n % 2) ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return s;
}

void tr__bench_latch_init(tr__bench_latch *l)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    l->count = 0;
}

void tr__bench_latch_destroy(tr__bench_latch *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}

void tr__bench_latch_add(tr__bench_latch *l, uint64_t n)
{
    pthread_mutex_lock(&l->mu);
    l->count += n;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

uint64_t tr__bench_latch_wait(tr__bench_latch *l, uint64_t n, uint64_t timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += (time_t)(timeout_ms / 1000);
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    while (l->count < n)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) != 0)
            break;
    uint64_t v = l->count;
    pthread_mutex_unlock(&l->mu);
    return v;
}

const char *tr__bench_fmt_si(char *buf, size_t len, double v)
{
    static const char suffix[] = {' ', 'k', 'M', 'G', 'T'};
    unsigned i = 0;
    double a = fabs(v);
    while (a >= 999.5 && i < sizeof(suffix) - 1) {
        a /= 1000;
        v /= 1000;
        i++;
    }
    int prec = a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2;
    if (i == 0 && v == (double)(long long)v)
        prec = 0;
    if (i == 0)
        snprintf(buf, len, "%.*f", prec, v);
    else
        snprintf(buf, len, "%.*f%c", prec, v, suffix[i]);
    return buf;
}

void tr__bench_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *de;
        char path[4096];
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

int tr__bench_engine_drain(tr_engine *eng)
{
    int rc = TR_EFULL;
    for (unsigned i = 0; i < 3000 && rc == TR_EFULL; i++)
        if ((rc = tr_bus_sync(tr_engine_bus(eng), 30000)) == TR_EFULL)
            tr__bench_sleep_ms(10);
    for (unsigned i = 0; i < 3000 && rc == 0; i++)
        if ((rc = tr_state_sync(tr_engine_state(eng), 30000)) != TR_EFULL)
            break;
        else
            tr__bench_sleep_ms(10);
    return rc;
}
