/*
 * test_driver.c: the generated-program driver (nnrt_main) run end to end
 * on a hand-written model, with argv arrays and small data files the
 * tests write.
 *
 * The model is softmax regression, 4 features -> 3 classes, plain SGD:
 *   logits = x W^T + b             W [3, 4], b [3]
 *   loss   = mean_i -log softmax(logits_i)[y_i]     (F.cross_entropy)
 *   dlogits = (softmax - onehot) / n; dW = dlogits^T x; db = sum dlogits
 * Its gradient is checked against finite differences, so the training
 * tests exercise a real optimizer, not a stub.  A variant returns NaN at a
 * chosen step to test the NaN guard.
 */
#include "nnrt.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NF = 4, NC = 3, MAXB = 64 };

typedef struct Softmax {
    float w[NC * NF]; /* fc.weight [3, 4] */
    float b[NC];      /* fc.bias [3] */
    double lr;
    int64_t steps;    /* optimizer steps taken */
    int64_t nan_at;   /* this step (1-based) returns NaN; 0: never */
    float logits[MAXB * NC]; /* [n, 3] of the last train_step */
} Softmax;

static const NnrtParamDesc sm_params[2] = {
    {"fc.weight", NNRT_F32, 2, {NC, NF}, 1},
    {"fc.bias", NNRT_F32, 1, {NC}, 1},
};

static void *sm_create(uint64_t seed)
{
    Softmax *m = calloc(1, sizeof *m);
    NnrtRng r;
    int k;
    if (!m)
        return NULL;
    nnrt_rng_seed(&r, seed);
    for (k = 0; k < NC * NF; k++)
        m->w[k] = 0.1f * nnrt_rng_normal(&r);
    m->lr = 0.5;
    return m;
}

static void *sm_create_nan(uint64_t seed)
{
    Softmax *m = sm_create(seed);
    if (m)
        m->nan_at = 5;
    return m;
}

static void sm_destroy(void *m)
{
    free(m);
}

static int sm_load(void *vm, const char *path, NnrtErr *err)
{
    Softmax *m = vm;
    void *dst[2];
    dst[0] = m->w;
    dst[1] = m->b;
    return nnrt_st_load_params(path, sm_params, 2, dst, err);
}

static int sm_save(const void *vm, const char *path, NnrtErr *err)
{
    const Softmax *m = vm;
    const void *src[2];
    src[0] = m->w;
    src[1] = m->b;
    return nnrt_st_save_params(path, sm_params, 2, src, err);
}

/* logits [n, 3] and probs [n, 3] of x [n, 4]. */
static void sm_logits(const Softmax *m, int n, const float *x, float *logits,
                      float *probs)
{
    int i, c, f;
    for (i = 0; i < n; i++) {
        float mx = -INFINITY, s = 0;
        for (c = 0; c < NC; c++) {
            float z = m->b[c];
            for (f = 0; f < NF; f++)
                z += m->w[c * NF + f] * x[i * NF + f];
            logits[i * NC + c] = z;
            if (z > mx)
                mx = z;
        }
        for (c = 0; c < NC; c++)
            s += probs[i * NC + c] = expf(logits[i * NC + c] - mx);
        for (c = 0; c < NC; c++)
            probs[i * NC + c] /= s;
    }
}

static void sm_forward(void *vm, int n, const float *x, float *out)
{
    float logits[MAXB * NC];
    sm_logits(vm, n, x, logits, out);
}

static float sm_loss(const float *probs, int n, const int32_t *y)
{
    double s = 0;
    int i;
    for (i = 0; i < n; i++)
        s -= log(probs[i * NC + y[i]]);
    return (float)(s / n);
}

static float sm_eval_loss(void *vm, int n, const float *x, const void *t,
                          float *out)
{
    float logits[MAXB * NC];
    sm_logits(vm, n, x, logits, out);
    return sm_loss(out, n, t);
}

static float sm_train_step(void *vm, int n, const float *x, const void *t)
{
    Softmax *m = vm;
    const int32_t *y = t;
    float probs[MAXB * NC], dw[NC * NF] = {0}, db[NC] = {0}, loss;
    int i, c, f;
    sm_logits(m, n, x, m->logits, probs);
    loss = sm_loss(probs, n, y);
    for (i = 0; i < n; i++)
        for (c = 0; c < NC; c++) {
            float d = (probs[i * NC + c] - (c == y[i])) / (float)n;
            db[c] += d;
            for (f = 0; f < NF; f++)
                dw[c * NF + f] += d * x[i * NF + f];
        }
    for (c = 0; c < NC * NF; c++)
        m->w[c] -= (float)m->lr * dw[c];
    for (c = 0; c < NC; c++)
        m->b[c] -= (float)m->lr * db[c];
    if (++m->steps == m->nan_at) {
        m->w[0] = NAN; /* as a diverged model would be */
        return NAN;
    }
    return loss;
}

static void sm_set_lr(void *vm, double lr)
{
    ((Softmax *)vm)->lr = lr;
}

static void sm_epoch_end(void *vm)
{
    (void)vm; /* constant schedule */
}

static const float *sm_train_logits(const void *vm)
{
    return ((const Softmax *)vm)->logits;
}

#define SOFTMAX_MODEL(create_fn)                                           \
    {                                                                      \
        .name = "softmax", .source = "softmax.nn", .max_batch = MAXB,      \
        .input_rank = 1, .input_dims = {NF}, .input_numel = NF,            \
        .target_kind = NNRT_TARGET_CLASS, .target_numel = NC,              \
        .output_rank = 1, .output_dims = {NC}, .output_numel = NC,         \
        .train_batch = 16, .train_epochs = 2, .train_shuffle = 1,          \
        .train_seed = 7, .lr = 0.5, .nparams = 2, .params = sm_params,     \
        .arena_bytes = sizeof(Softmax), .flops_per_sample = 2 * NC * NF,   \
        .create = create_fn, .destroy = sm_destroy, .load = sm_load,       \
        .save = sm_save, .forward = sm_forward,                            \
        .train_step = sm_train_step, .eval_loss = sm_eval_loss,            \
        .set_lr = sm_set_lr, .epoch_end = sm_epoch_end,                    \
        .train_logits = sm_train_logits                                    \
    }

static const NnrtModel softmax_model = SOFTMAX_MODEL(sm_create);
static const NnrtModel softmax_nan_model = SOFTMAX_MODEL(sm_create_nan);

/* ---- fixture and helpers ---- */

/* Fixture state: check's fixtures take no arguments, and each test runs
 * in its own forked process, so file-scope state is per test. */
static char tmpdir[64];
static char paths[128][128];
static int npaths;

/* A path in the test's directory, valid for the whole test (argument
 * arrays hold many at once). */
static const char *tpath(const char *name)
{
    char *b = paths[npaths++ % 128];
    snprintf(b, sizeof paths[0], "%s/%s", tmpdir, name);
    return b;
}

/* Three Gaussian blobs: class c has mean 2 in feature c. */
static void make_data(int n, uint64_t seed, float *x, int32_t *y)
{
    NnrtRng r;
    int i, f;
    nnrt_rng_seed(&r, seed);
    for (i = 0; i < n; i++) {
        y[i] = i % NC;
        for (f = 0; f < NF; f++)
            x[i * NF + f] = 0.7f * nnrt_rng_normal(&r) + (f == y[i] ? 2.0f : 0);
    }
}

static void write_labels_csv(const char *path, int n, const int32_t *y)
{
    FILE *f = fopen(path, "w");
    int i;
    ck_assert_ptr_nonnull(f);
    fprintf(f, "label\n");
    for (i = 0; i < n; i++)
        fprintf(f, "%d\n", y[i]);
    fclose(f);
}

static void write_features_csv(const char *path, int n, int cols,
                               const float *x)
{
    FILE *f = fopen(path, "w");
    int i, k;
    ck_assert_ptr_nonnull(f);
    for (k = 0; k < cols; k++) /* a header row, one name per column */
        fprintf(f, "%c%s", 'a' + k, k + 1 < cols ? "," : "\n");
    for (i = 0; i < n; i++)
        for (k = 0; k < cols; k++)
            fprintf(f, "%.9g%s", k < NF ? x[i * NF + k] : 0.0f,
                    k + 1 < cols ? "," : "\n");
    fclose(f);
}

enum { NTRAIN = 150, NTEST = 60 };

static void setup(void)
{
    float xtr[NTRAIN * NF], xte[NTEST * NF];
    int32_t ytr[NTRAIN], yte[NTEST];
    int64_t d[2] = {NTRAIN, NF};
    NnrtErr e;
    npaths = 0;
    strcpy(tmpdir, "/tmp/nnrt-drv-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    make_data(NTRAIN, 1, xtr, ytr);
    make_data(NTEST, 2, xte, yte);
    /* Training data as .npy, test data as CSV with headers. */
    ck_assert_int_eq(nnrt_save_npy(tpath("train_x.npy"), xtr, 2, d, &e), 0);
    write_labels_csv(tpath("train_y.csv"), NTRAIN, ytr);
    write_features_csv(tpath("test_x.csv"), NTEST, NF, xte);
    write_labels_csv(tpath("test_y.csv"), NTEST, yte);
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[600];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        remove(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* The result of one nnrt_main_io run. */
typedef struct Run {
    int rc;
    char out[16384], err[16384];
} Run;

static void slurp(FILE *f, char *buf, size_t cap)
{
    size_t n;
    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs the driver on a NULL-terminated argument list (argv[0] included). */
static void run(Run *r, const NnrtModel *m, const char *const *args)
{
    char *argv[64];
    int argc = 0;
    FILE *o = tmpfile(), *e = tmpfile();
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_nonnull(e);
    while (args[argc]) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    r->rc = nnrt_main_io(m, argc, argv, o, e);
    slurp(o, r->out, sizeof r->out);
    slurp(e, r->err, sizeof r->err);
}

#define ck_assert_has(s, needle)                                           \
    ck_assert_msg(strstr((s), (needle)) != NULL, "\"%s\" lacks \"%s\"",    \
                  (s), (needle))

static double value_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    ck_assert_msg(p != NULL, "\"%s\" lacks \"%s\"", s, key);
    return strtod(p + strlen(key), NULL);
}

static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca, cb, same = fa && fb;
    while (same) {
        ca = getc(fa);
        cb = getc(fb);
        if (ca != cb)
            same = 0;
        if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static int leftover_tmp(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            found = 1;
    closedir(d);
    return found;
}

/* ---- tests ---- */

START_TEST(model_gradient)
{
    /* The fake model's update equals -lr times a central finite
     * difference of its loss, so it trains like a real model. */
    float x[8 * NF], out[8 * NC];
    int32_t y[8];
    Softmax *m = sm_create(5), *m0 = sm_create(5);
    const float eps = 1e-2f;
    int k;
    make_data(8, 9, x, y);
    m->lr = m0->lr = 1.0;
    sm_train_step(m, 8, x, y);
    for (k = 0; k < NC * NF; k++) {
        Softmax t = *m0;
        float lp, lm, fd;
        t.w[k] += eps;
        lp = sm_eval_loss(&t, 8, x, y, out);
        t.w[k] -= 2 * eps;
        lm = sm_eval_loss(&t, 8, x, y, out);
        fd = (lp - lm) / (2 * eps);
        ck_assert_msg(fabsf(fd - (m0->w[k] - m->w[k])) < 2e-3f,
                      "dW[%d]: finite difference %g, update %g", k, fd,
                      m0->w[k] - m->w[k]);
    }
    free(m);
    free(m0);
}
END_TEST

START_TEST(train_eval_predict)
{
    Run r;
    double acc, acc2;
    NnrtArray p;
    NnrtErr e;
    const float *pv;
    int i;
    const char *train[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                           "--labels", tpath("train_y.csv"), "--test-data",
                           tpath("test_x.csv"), "--test-labels",
                           tpath("test_y.csv"), "--epochs", "5", "--batch",
                           "16", "--seed", "3", "--save", tpath("w.st"),
                           NULL};
    run(&r, &softmax_model, train);
    ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
    ck_assert_has(r.out, "epoch 1/5");
    ck_assert_has(r.out, "epoch 5/5");
    ck_assert_has(r.out, "test_acc");
    ck_assert_has(r.out, "samples_per_sec=");
    acc = value_after(r.out, "test_accuracy=");
    ck_assert_msg(acc > 0.85, "test accuracy %g: %s", acc, r.out);
    ck_assert(!leftover_tmp());

    {
        const char *ev[] = {"softmax", "eval", "--weights", tpath("w.st"),
                            "--data", tpath("test_x.csv"), "--labels",
                            tpath("test_y.csv"), NULL};
        run(&r, &softmax_model, ev);
        ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
        ck_assert_has(r.out, "loss=");
        acc2 = value_after(r.out, "accuracy=");
        ck_assert(fabs(acc2 - acc) < 1e-9);
    }
    {
        const char *pr[] = {"softmax", "predict", "--weights", tpath("w.st"),
                            "--data", tpath("test_x.csv"), "--output",
                            tpath("p.npy"), NULL};
        run(&r, &softmax_model, pr);
        ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
        ck_assert_int_eq(nnrt_load_array(tpath("p.npy"), &p, &e), 0);
        ck_assert_int_eq(p.dtype, NNRT_F32);
        ck_assert_int_eq(p.rank, 2);
        ck_assert_int_eq(p.dims[0], NTEST);
        ck_assert_int_eq(p.dims[1], NC);
        pv = p.data;
        for (i = 0; i < NTEST; i++)
            ck_assert(fabsf(pv[i * NC] + pv[i * NC + 1] + pv[i * NC + 2] -
                            1.0f) < 1e-5f);
        nnrt_array_free(&p);
    }
}
END_TEST

START_TEST(train_quiet_and_deterministic)
{
    Run r;
    const char *a[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--quiet",
                       "--save", tpath("a.st"), NULL};
    const char *b[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--quiet",
                       "--save", tpath("b.st"), NULL};
    const char *c[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--quiet",
                       "--no-shuffle", "--save", tpath("c.st"), NULL};
    const char *d[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--quiet",
                       "--seed", "8", "--save", tpath("d.st"), NULL};
    run(&r, &softmax_model, a);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(strstr(r.out, "epoch") == NULL); /* quiet: summary only */
    ck_assert_has(r.out, "train_loss=");
    ck_assert_has(r.out, "samples_per_sec=");
    ck_assert(strstr(r.out, "test_accuracy=") == NULL); /* no test data */
    run(&r, &softmax_model, b);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(same_file(tpath("a.st"), tpath("b.st")));
    run(&r, &softmax_model, c);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(!same_file(tpath("a.st"), tpath("c.st")));
    run(&r, &softmax_model, d);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(!same_file(tpath("a.st"), tpath("d.st")));
}
END_TEST

START_TEST(train_steps_replay)
{
    /* With --no-shuffle and 3 batches per epoch, 4 steps in one run equal
     * one epoch, then one more step resumed from the checkpoint. */
    Run r;
    const char *four[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                          "--labels", tpath("train_y.csv"), "--no-shuffle",
                          "--batch", "50", "--epochs", "10", "--steps", "4",
                          "--quiet", "--save", tpath("four.st"), NULL};
    const char *one_epoch[] = {"softmax", "train", "--data",
                               tpath("train_x.npy"), "--labels",
                               tpath("train_y.csv"), "--no-shuffle",
                               "--batch", "50", "--epochs", "1", "--quiet",
                               "--save", tpath("e1.st"), NULL};
    const char *one_more[] = {"softmax", "train", "--data",
                              tpath("train_x.npy"), "--labels",
                              tpath("train_y.csv"), "--no-shuffle", "--batch",
                              "50", "--steps", "1", "--init", tpath("e1.st"),
                              "--quiet", "--save", tpath("five.st"), NULL};
    run(&r, &softmax_model, four);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run(&r, &softmax_model, one_epoch);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(!same_file(tpath("four.st"), tpath("e1.st")));
    run(&r, &softmax_model, one_more);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(same_file(tpath("four.st"), tpath("five.st")));
}
END_TEST

START_TEST(nan_stops_and_keeps_checkpoint)
{
    /* NaN at step 5 = epoch 2, step 2 with 3 steps per epoch. */
    Run r;
    const char *good[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                          "--labels", tpath("train_y.csv"), "--batch", "50",
                          "--epochs", "1", "--save", tpath("e1.st"), NULL};
    const char *bad[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                         "--labels", tpath("train_y.csv"), "--batch", "50",
                         "--epochs", "3", "--save", tpath("w.st"), NULL};
    run(&r, &softmax_nan_model, good);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run(&r, &softmax_nan_model, bad);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "nnc model softmax: loss is NaN at epoch 2, step 2 "
                         "(step 5 overall)");
    ck_assert_has(r.err, "keeps the weights of epoch 1");
    ck_assert_has(r.out, "epoch 1/3");
    ck_assert(strstr(r.out, "epoch 2/3") == NULL);
    ck_assert(strstr(r.out, "samples_per_sec") == NULL);
    /* The checkpoint on disk is epoch 1's, byte for byte. */
    ck_assert(same_file(tpath("w.st"), tpath("e1.st")));
    ck_assert(!leftover_tmp());
}
END_TEST

START_TEST(info)
{
    Run r;
    const char *a[] = {"softmax", "info", NULL};
    run(&r, &softmax_model, a);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_has(r.out, "model softmax (compiled from softmax.nn)");
    ck_assert_has(r.out, "fc.weight");
    ck_assert_has(r.out, "[3, 4]");
    ck_assert_has(r.out, "total parameters: 15 (15 trainable), 60 bytes");
    ck_assert_has(r.out, "input    f32 [4]");
    ck_assert_has(r.out, "output   f32 [3]");
    ck_assert_has(r.out, "arena bytes:");
    ck_assert_has(r.out, "forward FLOPs per sample: 24");
    ck_assert_str_eq(r.err, "");
}
END_TEST

/* Each of these is a usage error: exit 2, a reason and the usage text. */
START_TEST(bad_arguments)
{
    static const char *const cases[][12] = {
        {"p", NULL},
        {"p", "bogus", NULL},
        {"p", "train", NULL},
        {"p", "train", "--data", "x.npy", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--epochs", "abc",
         NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--epochs", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--epochs", "0", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--batch", "0", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--batch", "65", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--batch", "3x", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--lr", "-1", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--lr", "nan", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--seed", "-5", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--steps",
         "99999999999999999999999", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--output", "o", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--test-data", "t",
         NULL},
        {"p", "train", "--data", "x", "--labels", "y", "--frobnicate", NULL},
        {"p", "train", "--data", "x", "--labels", "y", "stray", NULL},
        {"p", "train", "--data=", "--labels", "y", NULL},
        {"p", "train", "--quiet=1", "--data", "x", "--labels", "y", NULL},
        {"p", "eval", "--data", "x", "--labels", "y", NULL},
        {"p", "predict", "--weights", "w", "--data", "x", NULL},
        {"p", "info", "--data", "x", NULL},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Run r;
        run(&r, &softmax_model, cases[k]);
        ck_assert_msg(r.rc == 2, "case %zu: rc %d (%s)", k, r.rc, r.err);
        ck_assert_has(r.err, "nnc model softmax: ");
        ck_assert_has(r.err, "usage: p train");
    }
    {
        Run r;
        const char *h[] = {"./dir/p", "--help", NULL};
        run(&r, &softmax_model, h);
        ck_assert_int_eq(r.rc, 0);
        ck_assert_has(r.out, "usage: p train");
    }
}
END_TEST

/* Data problems: exit 1 with a message naming the file(s) and numbers. */
START_TEST(bad_data)
{
    float x[NTRAIN * NF];
    int32_t y[NTRAIN];
    Run r;
    FILE *f;

    make_data(NTRAIN, 1, x, y);
    write_labels_csv(tpath("short_y.csv"), 100, y);
    write_features_csv(tpath("wide_x.csv"), NTEST, 5, x);
    y[17] = 3;
    write_labels_csv(tpath("range_y.csv"), NTRAIN, y);
    f = fopen(tpath("cut.npy"), "wb");
    fwrite("\x93NUMPY\x01\x00\x10\x00{'descr'", 1, 17, f);
    fclose(f);
    {
        const char *a[] = {"p", "train", "--data", tpath("train_x.npy"),
                           "--labels", tpath("short_y.csv"), NULL};
        run(&r, &softmax_model, a);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "train_x.npy has 150 samples but");
        ck_assert_has(r.err, "short_y.csv has 100 labels");
    }
    {
        const char *a[] = {"p", "predict", "--weights", "w", "--data",
                           tpath("wide_x.csv"), "--output", tpath("o.npy"),
                           NULL};
        run(&r, &softmax_model, a);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "wide_x.csv: shape [60, 5] is 60 samples of 5 "
                             "values, but the model's input [4] has 4");
    }
    {
        const char *a[] = {"p", "train", "--data", tpath("train_x.npy"),
                           "--labels", tpath("range_y.csv"), NULL};
        run(&r, &softmax_model, a);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "range_y.csv: label at index 17 is 3, outside "
                             "0..2");
    }
    {
        const char *a[] = {"p", "train", "--data", tpath("missing.npy"),
                           "--labels", tpath("train_y.csv"), NULL};
        run(&r, &softmax_model, a);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "missing.npy: cannot open");
    }
    {
        const char *a[] = {"p", "train", "--data", tpath("cut.npy"),
                           "--labels", tpath("train_y.csv"), NULL};
        run(&r, &softmax_model, a);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "cut.npy: truncated");
    }
    {
        /* Weights of another shape. */
        NnrtParamDesc other[2] = {{"fc.weight", NNRT_F32, 2, {2, 4}, 1},
                                  {"fc.bias", NNRT_F32, 1, {2}, 1}};
        float w[8] = {0}, b[2] = {0};
        const void *src[2];
        NnrtErr e;
        const char *a[] = {"p", "eval", "--weights", tpath("other.st"),
                           "--data", tpath("test_x.csv"), "--labels",
                           tpath("test_y.csv"), NULL};
        src[0] = w;
        src[1] = b;
        ck_assert_int_eq(nnrt_st_save_params(tpath("other.st"), other, 2, src,
                                             &e), 0);
        run(&r, &softmax_model, a);
        ck_assert_int_eq(r.rc, 1);
        /* Every problem is listed, one per line. */
        ck_assert_has(r.err, "other.st: 2 problems:\n  tensor 'fc.weight' "
                             "has shape [2, 4] in the file, the model "
                             "expects [3, 4]\n  tensor 'fc.bias' has shape "
                             "[2] in the file, the model expects [3]");
    }
}
END_TEST

static Suite *driver_suite(void)
{
    Suite *s = suite_create("driver");
    TCase *tc = tcase_create("driver");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, model_gradient);
    tcase_add_test(tc, train_eval_predict);
    tcase_add_test(tc, train_quiet_and_deterministic);
    tcase_add_test(tc, train_steps_replay);
    tcase_add_test(tc, nan_stops_and_keeps_checkpoint);
    tcase_add_test(tc, info);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, bad_data);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(driver_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
