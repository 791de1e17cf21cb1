/* Timing shared by the benchmark's C programs (the floors and the UM-Bridge client). */
#ifndef MAAS_BENCH_TIMING_H
#define MAAS_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the n round-trip times and gives their median and 99th percentile (nearest rank). */
static void percentiles(double *t, long n, double *p50, double *p99) {
    qsort(t, (size_t)n, sizeof *t, compare_doubles);
    long at50 = (long)(0.50 * n + 0.999999) - 1, at99 = (long)(0.99 * n + 0.999999) - 1;
    *p50 = t[at50 < 0 ? 0 : at50];
    *p99 = t[at99 < 0 ? 0 : at99];
}

#endif
