/*
 * stats.h: the clock and the medians of the bench's timing programs
 * (harness.c, int8_pair.c), included by both; static, header-only, C99
 * with POSIX's clock_gettime (the includer defines _POSIX_C_SOURCE).
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n), n >= 1; sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "KEY_runs=v0,v1,..." on a line: every run's figure, for the report. */
static void print_runs(const char *key, const double *v, int n)
{
    printf("%s_runs=", key);
    for (int i = 0; i < n; i++)
        printf("%s%.6g", i ? "," : "", v[i]);
    printf("\n");
}

#endif
