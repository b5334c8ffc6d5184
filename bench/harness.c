/*
 * harness.c: times one nnc-generated model through its C API.
 *
 * Build (bench/run.sh does this), with NAME the model's name:
 *
 *   build/nnc MODEL.nn [--batch N] -o DIR
 *   cc -std=c99 -O3 -march=native -DMODEL=NAME -IDIR -Iruntime \
 *      bench/harness.c DIR/NAME.c build/libnnrt.a -lz -lm -o harness_NAME
 *
 * Usage:
 *
 *   harness_NAME train --data X --labels Y --batch B --steps S
 *                [--warmup W] [--reps R]
 *       R timed runs of S optimizer steps (NAME_train_step) on consecutive
 *       real batches of B samples, after W untimed warm-up steps.
 *       Prints train_samples_per_sec (the median of the R runs).
 *
 *   harness_NAME latency --data X --calls C [--warmup W] [--reps R]
 *       R runs of C single-sample NAME_forward calls, each call timed on
 *       its own; a run's figure is the median call, the result the median
 *       of the R runs.  Prints latency_us.
 *
 *   harness_NAME throughput --data X --batch B --batches K
 *                [--warmup W] [--reps R]
 *       R timed runs of K NAME_forward calls on B samples each.  Prints
 *       infer_samples_per_sec (median of the R runs).
 *
 *   harness_NAME info
 *       Prints the model's name, max batch and forward FLOPs per sample.
 *
 * Every result line is `key=value`; `key_runs=v1,v2,...` lists the runs;
 * cpu_util is process CPU time over wall time in the timed runs (about 1
 * when a single-threaded run was not preempted).
 * One thread: the generated code has no threads yet.  Data are the first
 * --limit samples of the file (default: all), in file order, wrapping.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnrt.h"
#include "stats.h"

#ifndef MODEL
#error "compile with -DMODEL=name (the model's name in the .nn file)"
#endif

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STR2(a) #a
#define STR(a) STR2(a)
#define FN(suffix) CAT(MODEL, suffix)

/* The generated header, by name: DIR/NAME.h. */
#include STR(MODEL.h)

typedef struct MODEL Model;
extern const NnrtModel FN(_model);

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time over wall time across the timed runs: about 1 for an
 * undisturbed single-threaded run, less when the process was preempted. */
static double wall_total, cpu_total;
static double wall0, cpu0;
static void timing_start(void) { wall0 = now(); cpu0 = cpu_now(); }
static void timing_stop(void)
{
    wall_total += now() - wall0;
    cpu_total += cpu_now() - cpu0;
}
static void print_util(void)
{
    printf("cpu_util=%.2f\n", wall_total > 0 ? cpu_total / wall_total : 0.0);
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "harness(%s): %s: %s\n", STR(MODEL), what, msg);
    exit(1);
}

typedef struct {
    const char *mode, *data, *labels;
    long batch, steps, warmup, reps, calls, batches, limit;
} Opts;

static long num(const char *flag, const char *v)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 0)
        die(flag, "wants a whole number >= 0");
    return x;
}

static void parse(int argc, char **argv, Opts *o)
{
    memset(o, 0, sizeof *o);
    o->reps = 3;
    o->warmup = -1;
    if (argc < 2)
        die("usage", "harness_NAME train|latency|throughput|info [options]");
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *f = argv[i];
        if (i + 1 >= argc)
            die(f, "missing value");
        const char *v = argv[++i];
        if (!strcmp(f, "--data")) o->data = v;
        else if (!strcmp(f, "--labels")) o->labels = v;
        else if (!strcmp(f, "--batch")) o->batch = num(f, v);
        else if (!strcmp(f, "--steps")) o->steps = num(f, v);
        else if (!strcmp(f, "--warmup")) o->warmup = num(f, v);
        else if (!strcmp(f, "--reps")) o->reps = num(f, v);
        else if (!strcmp(f, "--calls")) o->calls = num(f, v);
        else if (!strcmp(f, "--batches")) o->batches = num(f, v);
        else if (!strcmp(f, "--limit")) o->limit = num(f, v);
        else die(f, "unknown option");
    }
    if (o->reps < 1)
        die("--reps", "wants at least 1");
}

/* Loads images as float [n, input_numel] (and labels as int32 if asked). */
static int64_t load(const Opts *o, float **x, int32_t **y)
{
    const NnrtModel *md = &FN(_model);
    NnrtArray a;
    NnrtErr err;
    if (!o->data)
        die("--data", "required");
    if (nnrt_load_array(o->data, &a, &err) != 0)
        die(o->data, err.msg);
    int64_t numel = nnrt_array_numel(&a);
    if (numel % md->input_numel)
        die(o->data, "sample size does not match the model's input");
    int64_t n = numel / md->input_numel;
    if (nnrt_array_to_f32(&a, x, &err) != 0)
        die(o->data, err.msg);
    nnrt_array_free(&a);
    if (y) {
        if (!o->labels)
            die("--labels", "required");
        if (nnrt_load_array(o->labels, &a, &err) != 0)
            die(o->labels, err.msg);
        if (nnrt_array_numel(&a) != n)
            die(o->labels, "not one label per image");
        if (nnrt_array_to_labels(&a, y, (int)md->target_numel, &err) != 0)
            die(o->labels, err.msg);
        nnrt_array_free(&a);
    }
    if (o->limit && o->limit < n)
        n = o->limit;
    return n;
}

static int train(const Opts *o)
{
    const NnrtModel *md = &FN(_model);
    float *x;
    int32_t *y;
    int64_t n = load(o, &x, &y), in = md->input_numel;
    int b = (int)o->batch;
    if (b < 1 || b > md->max_batch || b > n)
        die("--batch", "out of range for this build (see max_batch in info)");
    if (o->steps < 1)
        die("--steps", "wants at least 1");
    int64_t nbatches = n / b, next = 0;
    long warm = o->warmup < 0 ? 2 : o->warmup;
    Model *m = FN(_create)(1);
    if (!m)
        die("create", "out of memory");
    double *runs = malloc((size_t)o->reps * sizeof *runs);
    float loss = 0;
    /* Consecutive whole batches of the file, wrapping; the data are
     * contiguous so no copy is timed. */
    for (long s = 0; s < warm; s++, next = (next + 1) % nbatches)
        loss = FN(_train_step)(m, b, x + next * b * in, y + next * b);
    for (long r = 0; r < o->reps; r++) {
        timing_start();
        double t0 = now();
        for (long s = 0; s < o->steps; s++, next = (next + 1) % nbatches)
            loss = FN(_train_step)(m, b, x + next * b * in, y + next * b);
        double dt = now() - t0;
        timing_stop();
        runs[r] = (double)o->steps * b / dt;
        if (!isfinite(loss))
            die("train", "loss is not finite");
    }
    print_runs("train_samples_per_sec", runs, (int)o->reps);
    printf("train_samples_per_sec=%.1f\n", median(runs, (int)o->reps));
    printf("train_last_loss=%.6f\n", loss);
    print_util();
    FN(_destroy)(m);
    free(runs);
    free(x);
    free(y);
    return 0;
}

static int latency(const Opts *o)
{
    const NnrtModel *md = &FN(_model);
    float *x;
    int64_t n = load(o, &x, NULL), in = md->input_numel;
    long calls = o->calls ? o->calls : 1000;
    long warm = o->warmup < 0 ? 50 : o->warmup;
    Model *m = FN(_create)(1);
    if (!m)
        die("create", "out of memory");
    float *out = malloc((size_t)md->output_numel * sizeof *out);
    double *t = malloc((size_t)calls * sizeof *t);
    double *runs = malloc((size_t)o->reps * sizeof *runs);
    double sink = 0;
    int64_t next = 0;
    for (long c = 0; c < warm; c++, next = (next + 1) % n) {
        FN(_forward)(m, 1, x + next * in, out);
        sink += out[0];
    }
    for (long r = 0; r < o->reps; r++) {
        timing_start();
        for (long c = 0; c < calls; c++, next = (next + 1) % n) {
            double t0 = now();
            FN(_forward)(m, 1, x + next * in, out);
            t[c] = now() - t0;
            sink += out[0];
        }
        timing_stop();
        runs[r] = 1e6 * median(t, (int)calls);
    }
    print_runs("latency_us", runs, (int)o->reps);
    printf("latency_us=%.3f\n", median(runs, (int)o->reps));
    print_util();
    if (!isfinite(sink))
        die("latency", "output is not finite");
    FN(_destroy)(m);
    free(out);
    free(t);
    free(runs);
    free(x);
    return 0;
}

static int throughput(const Opts *o)
{
    const NnrtModel *md = &FN(_model);
    float *x;
    int64_t n = load(o, &x, NULL), in = md->input_numel;
    int b = (int)o->batch;
    long k = o->batches ? o->batches : 10;
    long warm = o->warmup < 0 ? 2 : o->warmup;
    if (b < 1 || b > n)
        die("--batch", "out of range");
    int64_t nbatches = n / b, next = 0;
    Model *m = FN(_create)(1);
    if (!m)
        die("create", "out of memory");
    float *out = malloc((size_t)b * (size_t)md->output_numel * sizeof *out);
    double *runs = malloc((size_t)o->reps * sizeof *runs);
    double sink = 0;
    for (long c = 0; c < warm; c++, next = (next + 1) % nbatches) {
        FN(_forward)(m, b, x + next * b * in, out);
        sink += out[0];
    }
    for (long r = 0; r < o->reps; r++) {
        timing_start();
        double t0 = now();
        for (long c = 0; c < k; c++, next = (next + 1) % nbatches) {
            FN(_forward)(m, b, x + next * b * in, out);
            sink += out[0];
        }
        runs[r] = (double)k * b / (now() - t0);
        timing_stop();
    }
    print_runs("infer_samples_per_sec", runs, (int)o->reps);
    printf("infer_samples_per_sec=%.1f\n", median(runs, (int)o->reps));
    print_util();
    if (!isfinite(sink))
        die("throughput", "output is not finite");
    FN(_destroy)(m);
    free(out);
    free(runs);
    free(x);
    return 0;
}

int main(int argc, char **argv)
{
    Opts o;
    parse(argc, argv, &o);
    if (!strcmp(o.mode, "train"))
        return train(&o);
    if (!strcmp(o.mode, "latency"))
        return latency(&o);
    if (!strcmp(o.mode, "throughput"))
        return throughput(&o);
    if (!strcmp(o.mode, "info")) {
        printf("model=%s\nmax_batch=%d\nforward_flops_per_sample=%.0f\n",
               FN(_model).name, FN(_model).max_batch,
               FN(_model).flops_per_sample);
        return 0;
    }
    die(o.mode, "unknown mode (train, latency, throughput, info)");
    return 2;
}
