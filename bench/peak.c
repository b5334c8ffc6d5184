/*
 * peak.c: the machine's peak single-precision FMA rate, measured.
 *
 *   cc -std=c99 -O2 -march=native -pthread bench/peak.c -o peak
 *   ./peak [THREADS]          (default 1)
 *
 * Each thread runs a loop of fused multiply-adds on many independent
 * accumulators (enough to cover the FMA latency on two FMA ports), so the
 * loop is bound by FMA throughput alone.  The best of several timed runs
 * is the peak.  Prints key=value lines:
 *
 *   peak_gflops_avx512=...  (512-bit FMA, when compiled with AVX-512F)
 *   peak_gflops_avx2=...    (256-bit FMA, when compiled with FMA)
 *   peak_gflops_scalar=...  (the portable fallback, when neither is there)
 *   peak_gflops=...         the largest of the above
 *   peak_isa=...            which one that was
 *
 * Each figure counts FLOPs over the CPU time of the threads that did them,
 * so other processes competing for the cores do not lower it (the peak is
 * what the cores can do, not what was left of them); the `_wall` variants
 * divide by wall-clock time instead.
 *
 * One FMA counts as 2 FLOPs per lane, the usual convention.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#define NACC 12 /* independent accumulators per thread */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float sink;

#ifdef __AVX512F__
static double loop_avx512(long iters)
{
    __m512 acc[NACC];
    const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-6f);
    for (int k = 0; k < NACC; k++)
        acc[k] = _mm512_set1_ps((float)k);
    for (long i = 0; i < iters; i++) {
        /* Written out so every accumulator stays in a register. */
        acc[0] = _mm512_fmadd_ps(acc[0], a, b);
        acc[1] = _mm512_fmadd_ps(acc[1], a, b);
        acc[2] = _mm512_fmadd_ps(acc[2], a, b);
        acc[3] = _mm512_fmadd_ps(acc[3], a, b);
        acc[4] = _mm512_fmadd_ps(acc[4], a, b);
        acc[5] = _mm512_fmadd_ps(acc[5], a, b);
        acc[6] = _mm512_fmadd_ps(acc[6], a, b);
        acc[7] = _mm512_fmadd_ps(acc[7], a, b);
        acc[8] = _mm512_fmadd_ps(acc[8], a, b);
        acc[9] = _mm512_fmadd_ps(acc[9], a, b);
        acc[10] = _mm512_fmadd_ps(acc[10], a, b);
        acc[11] = _mm512_fmadd_ps(acc[11], a, b);
    }
    __m512 s = acc[0];
    for (int k = 1; k < NACC; k++)
        s = _mm512_add_ps(s, acc[k]);
    sink = _mm512_reduce_add_ps(s);
    return 2.0 * 16 * NACC * (double)iters;
}
#endif

#ifdef __FMA__
static double loop_avx2(long iters)
{
    __m256 acc[NACC];
    const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-6f);
    for (int k = 0; k < NACC; k++)
        acc[k] = _mm256_set1_ps((float)k);
    for (long i = 0; i < iters; i++) {
        acc[0] = _mm256_fmadd_ps(acc[0], a, b);
        acc[1] = _mm256_fmadd_ps(acc[1], a, b);
        acc[2] = _mm256_fmadd_ps(acc[2], a, b);
        acc[3] = _mm256_fmadd_ps(acc[3], a, b);
        acc[4] = _mm256_fmadd_ps(acc[4], a, b);
        acc[5] = _mm256_fmadd_ps(acc[5], a, b);
        acc[6] = _mm256_fmadd_ps(acc[6], a, b);
        acc[7] = _mm256_fmadd_ps(acc[7], a, b);
        acc[8] = _mm256_fmadd_ps(acc[8], a, b);
        acc[9] = _mm256_fmadd_ps(acc[9], a, b);
        acc[10] = _mm256_fmadd_ps(acc[10], a, b);
        acc[11] = _mm256_fmadd_ps(acc[11], a, b);
    }
    __m256 s = acc[0];
    for (int k = 1; k < NACC; k++)
        s = _mm256_add_ps(s, acc[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    sink = out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
    return 2.0 * 8 * NACC * (double)iters;
}
#endif

/* Portable fallback: scalar multiply-add (fused only if the compiler and
 * target allow it), the same dependency structure. */
static double loop_scalar(long iters)
{
    float acc[NACC];
    const float a = 0.9999999f, b = 1e-6f;
    for (int k = 0; k < NACC; k++)
        acc[k] = (float)k;
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < NACC; k++)
            acc[k] = acc[k] * a + b;
    float s = 0;
    for (int k = 0; k < NACC; k++)
        s += acc[k];
    sink = s;
    return 2.0 * NACC * (double)iters;
}

typedef double (*LoopFn)(long);

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    LoopFn fn;
    long iters;
    double flops, cpu; /* FLOPs done, this thread's CPU seconds */
} Job;

static void *run_job(void *p)
{
    Job *j = p;
    double c0 = thread_cpu();
    j->flops = j->fn(j->iters);
    j->cpu = thread_cpu() - c0;
    return NULL;
}

/* Best GFLOP/s of `reps` runs of `fn` on `threads` threads, each run
 * sized to take about 0.15 s.  Two figures: wall clock (FLOPs of all
 * threads over the run's wall time) and CPU time (the sum over threads of
 * each thread's FLOPs over its own CPU time: what the cores do while they
 * run the loop, which preemption by other processes does not lower). */
static double measure(LoopFn fn, int threads, int reps, double *wall_best)
{
    long iters = 1000;
    for (;;) { /* calibrate on one thread */
        double t0 = now();
        fn(iters);
        double dt = now() - t0;
        if (dt > 0.02) {
            iters = (long)((double)iters * 0.15 / dt) + 1;
            break;
        }
        iters *= 4;
    }
    double best = 0, best_wall = 0;
    pthread_t *tid = malloc((size_t)threads * sizeof *tid);
    Job *jobs = malloc((size_t)threads * sizeof *jobs);
    for (int r = 0; r < reps; r++) {
        double t0 = now(), flops = 0;
        for (int t = 0; t < threads; t++) {
            jobs[t].fn = fn;
            jobs[t].iters = iters;
            if (t == 0)
                continue;
            if (pthread_create(&tid[t], NULL, run_job, &jobs[t]) != 0) {
                fprintf(stderr, "peak: cannot create a thread\n");
                exit(1);
            }
        }
        run_job(&jobs[0]);
        for (int t = 1; t < threads; t++)
            pthread_join(tid[t], NULL);
        double dt = now() - t0, rate = 0;
        for (int t = 0; t < threads; t++) {
            flops += jobs[t].flops;
            if (jobs[t].cpu > 0)
                rate += jobs[t].flops / jobs[t].cpu;
        }
        if (flops / dt > best_wall)
            best_wall = flops / dt;
        if (rate > best)
            best = rate;
    }
    free(tid);
    free(jobs);
    *wall_best = best_wall * 1e-9;
    return best * 1e-9;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int reps = 7;
    double best = 0;
    const char *isa = "scalar";
    if (threads < 1)
        threads = 1;
    printf("threads=%d\n", threads);
#ifdef __AVX512F__
    {
        double w, g = measure(loop_avx512, threads, reps, &w);
        printf("peak_gflops_avx512=%.1f\npeak_gflops_avx512_wall=%.1f\n", g, w);
        if (g > best)
            best = g, isa = "avx512";
    }
#endif
#ifdef __FMA__
    {
        double w, g = measure(loop_avx2, threads, reps, &w);
        printf("peak_gflops_avx2=%.1f\npeak_gflops_avx2_wall=%.1f\n", g, w);
        if (g > best)
            best = g, isa = "avx2";
    }
#endif
    if (best == 0) {
        double w, g = measure(loop_scalar, threads, reps, &w);
        printf("peak_gflops_scalar=%.1f\npeak_gflops_scalar_wall=%.1f\n", g, w);
        best = g;
    }
    printf("peak_gflops=%.1f\npeak_isa=%s\n", best, isa);
    return 0;
}
