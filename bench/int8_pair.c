/*
 * int8_pair.c: batch-1 latency of a model's int8 inference code against
 * its float32 inference code, side by side in one process.
 *
 * Build (bench/run.sh does this), with NAME the model's name, F the
 * directory of `nnc MODEL.nn --inference --weights W` and Q that of
 * `nnc MODEL.nn --inference --weights Q.safetensors --quantize int8`:
 *
 *   cc -std=c99 FLAGS -DNAME_arena_bytes=f32_arena_bytes -DNAME_init=f32_init \
 *      -DNAME_forward=f32_forward -c F/NAME.c -o f32.o
 *   cc -std=c99 FLAGS -DNAME_arena_bytes=i8_arena_bytes -DNAME_init=i8_init \
 *      -DNAME_forward=i8_forward -c Q/NAME.c -o i8.o
 *   cc -std=c99 FLAGS -DOUTPUT_SIZE=N -Iruntime bench/int8_pair.c f32.o i8.o build/libnnrt.a -lz -lm
 *
 * (the two files define the same names; the -D options rename each one's
 * API, so both link into one program).  Both APIs are the same shape:
 * arena_bytes(), init(arena, bytes), forward(m, n, float x, float out).
 *
 * Usage:
 *
 *   int8_pair --data X --calls C [--warmup W] [--reps R]
 *       R runs; in each, C single-sample calls of each build on the same
 *       images, alternating float32 and int8 call by call (so that the
 *       machine's noise and drift fall on both), each call timed on its
 *       own.  A run's figure for a build is its median call; prints
 *       f32_latency_us and int8_latency_us (the medians of the R runs),
 *       int8_over_f32 (the median over the runs of the run's int8 / f32),
 *       the *_runs lists, and agree: the fraction of calls whose two
 *       outputs pick the same class (a check that both builds ran the
 *       same model, not a test).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnrt.h"
#include "stats.h"

/* values per sample out of the model (-DOUTPUT_SIZE=NAME_OUTPUT_SIZE) */
#ifndef OUTPUT_SIZE
#error "compile with -DOUTPUT_SIZE=N, the model's output values per sample"
#endif

/* The two builds' APIs, renamed at compile time (see above); each model
 * is an opaque pointer into its own arena. */
size_t f32_arena_bytes(void);
void *f32_init(void *arena, size_t arena_bytes);
void f32_forward(void *m, int n, const float *x, float *out);
size_t i8_arena_bytes(void);
void *i8_init(void *arena, size_t arena_bytes);
void i8_forward(void *m, int n, const float *x, float *out);

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "int8_pair: %s: %s\n", what, msg);
    exit(1);
}

static long num(const char *flag, const char *v)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 0)
        die(flag, "wants a whole number >= 0");
    return x;
}

/* A model's arena, 64-byte aligned (both builds ask for at most that). */
static void *arena(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        die("arena", "out of memory");
    return p;
}

static int argmax(const float *v, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[k])
            k = i;
    return k;
}

int main(int argc, char **argv)
{
    const char *data = NULL;
    long calls = 300, warm = 50, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            die(argv[i], "missing value");
        const char *f = argv[i], *v = argv[++i];
        if (!strcmp(f, "--data")) data = v;
        else if (!strcmp(f, "--calls")) calls = num(f, v);
        else if (!strcmp(f, "--warmup")) warm = num(f, v);
        else if (!strcmp(f, "--reps")) reps = num(f, v);
        else die(f, "unknown option (--data, --calls, --warmup, --reps)");
    }
    if (!data)
        die("--data", "required");
    if (calls < 1 || reps < 1)
        die("--calls/--reps", "want at least 1");

    NnrtArray a;
    NnrtErr err;
    float *x;
    if (nnrt_load_array(data, &a, &err) != 0)
        die(data, err.msg);
    /* images [n, ...]: one sample is everything after the first dimension */
    int64_t n = a.rank > 0 ? a.dims[0] : 1, in = n ? nnrt_array_numel(&a) / n : 0;
    if (n < 1 || in < 1)
        die(data, "no samples");
    if (nnrt_array_to_f32(&a, &x, &err) != 0)
        die(data, err.msg);
    nnrt_array_free(&a);

    void *mf = f32_init(arena(f32_arena_bytes()), f32_arena_bytes());
    void *mq = i8_init(arena(i8_arena_bytes()), i8_arena_bytes());
    if (!mf || !mq)
        die("init", "a model refused its arena");
    float of[OUTPUT_SIZE], oq[OUTPUT_SIZE];
    double *tf = malloc((size_t)calls * sizeof *tf), *tq = malloc((size_t)calls * sizeof *tq);
    double *rf = malloc((size_t)reps * sizeof *rf), *rq = malloc((size_t)reps * sizeof *rq);
    double *rr = malloc((size_t)reps * sizeof *rr);
    if (!tf || !tq || !rf || !rq || !rr)
        die("timing", "out of memory");
    int64_t next = 0;
    long same = 0, total = 0;
    for (long c = 0; c < warm; c++, next = (next + 1) % n) {
        f32_forward(mf, 1, x + next * in, of);
        i8_forward(mq, 1, x + next * in, oq);
    }
    for (long r = 0; r < reps; r++) {
        for (long c = 0; c < calls; c++, next = (next + 1) % n) {
            /* alternate which build goes first, call by call */
            double t0, t1, t2;
            if (c & 1) {
                t0 = now();
                i8_forward(mq, 1, x + next * in, oq);
                t1 = now();
                f32_forward(mf, 1, x + next * in, of);
                t2 = now();
                tq[c] = t1 - t0;
                tf[c] = t2 - t1;
            } else {
                t0 = now();
                f32_forward(mf, 1, x + next * in, of);
                t1 = now();
                i8_forward(mq, 1, x + next * in, oq);
                t2 = now();
                tf[c] = t1 - t0;
                tq[c] = t2 - t1;
            }
            same += argmax(of, OUTPUT_SIZE) == argmax(oq, OUTPUT_SIZE);
            total++;
        }
        rf[r] = 1e6 * median(tf, (int)calls);
        rq[r] = 1e6 * median(tq, (int)calls);
        rr[r] = rq[r] / rf[r];
    }
    print_runs("f32_latency_us", rf, (int)reps);
    print_runs("int8_latency_us", rq, (int)reps);
    print_runs("int8_over_f32", rr, (int)reps);
    printf("f32_latency_us=%.3f\n", median(rf, (int)reps));
    printf("int8_latency_us=%.3f\n", median(rq, (int)reps));
    printf("int8_over_f32=%.3f\n", median(rr, (int)reps));
    printf("agree=%.4f\n", (double)same / (double)total);
    free(tf);
    free(tq);
    free(rf);
    free(rq);
    free(rr);
    free(x);
    return 0;
}
