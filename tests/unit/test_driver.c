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
    int64_t inf_at;   /* after this step the weights are infinite but
                         its loss (computed before the update) is not */
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

static void *sm_create_inf(uint64_t seed)
{
    Softmax *m = sm_create(seed);
    if (m)
        m->inf_at = 6; /* the last step of epoch 2 at batch 50 */
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
    if (m->steps + 1 == m->inf_at)
        m->w[1] = INFINITY; /* as lr 1e39 would make it */
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

/* The softmax model with cross_entropy(..., ignore_index = -100) and
 * reduction mean or sum, as the generated code computes it: samples
 * labelled -100 add nothing, the mean divides by the others (0/0 = NaN
 * when there are none). */
static float ig_loss(const float *probs, int n, const int32_t *y, int sum)
{
    double s = 0;
    int i, k = 0;
    for (i = 0; i < n; i++)
        if (y[i] != -100) {
            s -= log(probs[i * NC + y[i]]);
            k++;
        }
    return (float)(sum ? s : s / k);
}

static float ig_step(void *vm, int n, const float *x, const void *t, int sum)
{
    Softmax *m = vm;
    const int32_t *y = t;
    float probs[MAXB * NC], dw[NC * NF] = {0}, db[NC] = {0};
    int i, c, f, k = 0;
    sm_logits(m, n, x, m->logits, probs);
    for (i = 0; i < n; i++)
        k += y[i] != -100;
    for (i = 0; i < n; i++)
        for (c = 0; y[i] != -100 && c < NC; c++) {
            float d = (probs[i * NC + c] - (c == y[i])) /
                      (sum ? 1.0f : (float)k);
            db[c] += d;
            for (f = 0; f < NF; f++)
                dw[c * NF + f] += d * x[i * NF + f];
        }
    for (c = 0; k && c < NC * NF; c++)
        m->w[c] -= (float)m->lr * dw[c];
    for (c = 0; k && c < NC; c++)
        m->b[c] -= (float)m->lr * db[c];
    return ig_loss(probs, n, y, sum);
}

static float ig_mean_step(void *vm, int n, const float *x, const void *t)
{
    return ig_step(vm, n, x, t, 0);
}

static float ig_sum_step(void *vm, int n, const float *x, const void *t)
{
    return ig_step(vm, n, x, t, 1);
}

static float ig_mean_eval(void *vm, int n, const float *x, const void *t,
                          float *out)
{
    float logits[MAXB * NC];
    sm_logits(vm, n, x, logits, out);
    return ig_loss(out, n, t, 0);
}

static float ig_sum_eval(void *vm, int n, const float *x, const void *t,
                         float *out)
{
    float logits[MAXB * NC];
    sm_logits(vm, n, x, logits, out);
    return ig_loss(out, n, t, 1);
}

#define IGNORE_MODEL(step, eval, is_sum)                                   \
    {                                                                      \
        .name = "softmax", .source = "softmax.nn", .max_batch = MAXB,      \
        .input_rank = 1, .input_dims = {NF}, .input_numel = NF,            \
        .target_kind = NNRT_TARGET_CLASS, .target_numel = NC,              \
        .output_rank = 1, .output_dims = {NC}, .output_numel = NC,         \
        .train_batch = 16, .train_epochs = 2, .train_shuffle = 1,          \
        .train_seed = 7, .lr = 0.5, .nparams = 2, .params = sm_params,     \
        .arena_bytes = sizeof(Softmax), .flops_per_sample = 2 * NC * NF,   \
        .create = sm_create, .destroy = sm_destroy, .load = sm_load,       \
        .save = sm_save, .forward = sm_forward, .train_step = step,        \
        .eval_loss = eval, .set_lr = sm_set_lr, .epoch_end = sm_epoch_end, \
        .train_logits = sm_train_logits,                                   \
        .loss_kind = NNRT_LOSS_CROSS_ENTROPY, .has_ignore_index = 1,       \
        .ignore_index = -100, .loss_reduction_sum = is_sum                 \
    }

static const NnrtModel ignore_mean_model =
    IGNORE_MODEL(ig_mean_step, ig_mean_eval, 0);
static const NnrtModel ignore_sum_model =
    IGNORE_MODEL(ig_sum_step, ig_sum_eval, 1);
static const NnrtModel softmax_nan_model = SOFTMAX_MODEL(sm_create_nan);
static const NnrtModel softmax_inf_model = SOFTMAX_MODEL(sm_create_inf);

/* ---- version-2 models ----
 *
 * Momentum: the softmax regression above with SGD momentum 0.9
 * (torch.optim.SGD: v = 0.9 v + g; w -= lr v) and a schedule that halves
 * the learning rate after every epoch, described with the version-2
 * fields: pred, loss_kind, get_lr and the training state (momentum
 * buffers, lr, step and epoch counters) that --checkpoint saves and
 * --resume restores.  A variant's validation loss follows a script, for
 * --save-best and --patience. */
typedef struct Mom {
    float w[NC * NF], b[NC];
    float vw[NC * NF], vb[NC]; /* momentum buffers */
    double lr;                 /* "__lr__" */
    int64_t step, epochs;      /* "__step__", "__epochs__" */
    float logits[MAXB * NC];   /* pred: [n, 3] of the last call */
    int scripted;
    int64_t state_inf_at; /* after this step a momentum buffer is
                             infinite, the weights not yet */
} Mom;

static const NnrtParamDesc mom_state[5] = {
    {"fc.weight.momentum_buffer", NNRT_F32, 2, {NC, NF}, 0},
    {"fc.bias.momentum_buffer", NNRT_F32, 1, {NC}, 0},
    {"__lr__", NNRT_F64, 1, {1}, 0},
    {"__step__", NNRT_I64, 1, {1}, 0},
    {"__epochs__", NNRT_I64, 1, {1}, 0},
};

static const NnrtInputDesc mom_inputs[1] = {{"x", 1, {NF}, NF}};

static void *mom_create(uint64_t seed)
{
    Mom *m = calloc(1, sizeof *m);
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

static void *mom_create_scripted(uint64_t seed)
{
    Mom *m = mom_create(seed);
    if (m)
        m->scripted = 1;
    return m;
}

static void *mom_create_state_inf(uint64_t seed)
{
    Mom *m = mom_create(seed);
    if (m)
        m->state_inf_at = 6; /* the last step of epoch 2 at batch 50 */
    return m;
}

static int mom_load(void *vm, const char *path, NnrtErr *err)
{
    Mom *m = vm;
    void *dst[2];
    dst[0] = m->w;
    dst[1] = m->b;
    return nnrt_st_load_params(path, sm_params, 2, dst, err);
}

static int mom_save(const void *vm, const char *path, NnrtErr *err)
{
    const Mom *m = vm;
    const void *src[2];
    src[0] = m->w;
    src[1] = m->b;
    return nnrt_st_save_params(path, sm_params, 2, src, err);
}

/* The softmax functions work on the Softmax layout; copy in and out. */
static void mom_to_sm(const Mom *m, Softmax *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->w, m->w, sizeof s->w);
    memcpy(s->b, m->b, sizeof s->b);
}

static void mom_forward(void *vm, int n, const float *x, float *out)
{
    Softmax s;
    float logits[MAXB * NC];
    mom_to_sm(vm, &s);
    sm_logits(&s, n, x, logits, out);
}

static void mom_forward_n(void *vm, int n, const float *const *xs, float *out)
{
    mom_forward(vm, n, xs[0], out);
}

/* Validation losses of the scripted variant, epoch by epoch: the best is
 * epoch 2's. */
static const float script[] = {1.0f, 0.5f, 0.7f, 0.8f, 0.9f, 0.95f, 0.99f};

static float mom_eval_loss(void *vm, int n, const float *x, const void *t,
                           float *out)
{
    Mom *m = vm;
    Softmax s;
    float l;
    mom_to_sm(m, &s);
    sm_logits(&s, n, x, m->logits, out);
    l = sm_loss(out, n, t);
    if (m->scripted)
        l = script[m->epochs < 7 ? m->epochs : 6];
    return l;
}

static float mom_eval_loss_n(void *vm, int n, const float *const *xs,
                             const void *t, float *out)
{
    return mom_eval_loss(vm, n, xs[0], t, out);
}

static float mom_train_step(void *vm, int n, const float *x, const void *t)
{
    Mom *m = vm;
    const int32_t *y = t;
    float probs[MAXB * NC], dw[NC * NF] = {0}, db[NC] = {0};
    Softmax s;
    int i, c, f;
    mom_to_sm(m, &s);
    sm_logits(&s, n, x, m->logits, probs);
    for (i = 0; i < n; i++)
        for (c = 0; c < NC; c++) {
            float d = (probs[i * NC + c] - (c == y[i])) / (float)n;
            db[c] += d;
            for (f = 0; f < NF; f++)
                dw[c * NF + f] += d * x[i * NF + f];
        }
    for (c = 0; c < NC * NF; c++) {
        m->vw[c] = 0.9f * m->vw[c] + dw[c];
        m->w[c] -= (float)m->lr * m->vw[c];
    }
    for (c = 0; c < NC; c++) {
        m->vb[c] = 0.9f * m->vb[c] + db[c];
        m->b[c] -= (float)m->lr * m->vb[c];
    }
    if (++m->step == m->state_inf_at)
        m->vw[0] = INFINITY;
    return sm_loss(probs, n, y);
}

static float mom_train_step_n(void *vm, int n, const float *const *xs,
                              const void *t)
{
    return mom_train_step(vm, n, xs[0], t);
}

static const float *mom_pred(const void *vm)
{
    return ((const Mom *)vm)->logits;
}

static void mom_set_lr(void *vm, double lr)
{
    ((Mom *)vm)->lr = lr;
}

static double mom_get_lr(const void *vm)
{
    return ((const Mom *)vm)->lr;
}

static void mom_epoch_end(void *vm)
{
    Mom *m = vm;
    m->lr *= 0.5;
    m->epochs++;
}

static void *mom_state_ptr(void *vm, int i)
{
    Mom *m = vm;
    void *p[5];
    p[0] = m->vw;
    p[1] = m->vb;
    p[2] = &m->lr;
    p[3] = &m->step;
    p[4] = &m->epochs;
    return p[i];
}

#define MOM_MODEL(create_fn)                                               \
    {                                                                      \
        .name = "mom", .source = "mom.nn", .max_batch = MAXB,              \
        .input_rank = 1, .input_dims = {NF}, .input_numel = NF,            \
        .target_kind = NNRT_TARGET_CLASS, .target_numel = NC,              \
        .output_rank = 1, .output_dims = {NC}, .output_numel = NC,         \
        .train_batch = 16, .train_epochs = 2, .train_shuffle = 1,          \
        .train_seed = 7, .lr = 0.5, .nparams = 2, .params = sm_params,     \
        .arena_bytes = sizeof(Mom), .flops_per_sample = 2 * NC * NF,       \
        .create = create_fn, .destroy = sm_destroy, .load = mom_load,      \
        .save = mom_save, .forward = mom_forward,                          \
        .train_step = mom_train_step, .eval_loss = mom_eval_loss,          \
        .set_lr = mom_set_lr, .epoch_end = mom_epoch_end,                  \
        .ninputs = 1, .inputs = mom_inputs, .forward_n = mom_forward_n,    \
        .train_step_n = mom_train_step_n, .eval_loss_n = mom_eval_loss_n,  \
        .pred = mom_pred, .loss_kind = NNRT_LOSS_CROSS_ENTROPY,            \
        .nstate = 5, .state = mom_state, .state_ptr = mom_state_ptr,       \
        .get_lr = mom_get_lr                                               \
    }

static const NnrtModel mom_model = MOM_MODEL(mom_create);
static const NnrtModel mom_scripted_model = MOM_MODEL(mom_create_scripted);
static const NnrtModel mom_state_inf_model = MOM_MODEL(mom_create_state_inf);

/* Two inputs, a linear regression with plain SGD:
 *   pred = b + wa . img + wv . v      img [3, 2, 4], v [2], pred [1]
 *   loss = mean (pred - y)^2          (F.mse_loss)
 * The same functions with loss_kind BCE test the binary metrics (pred is
 * then read as a logit). */
enum { NA = 24, NV = 2 };

typedef struct Lin {
    float wa[NA], wv[NV], b[1];
    float pred[MAXB];
} Lin;

static const NnrtParamDesc lin_params[3] = {
    {"wa", NNRT_F32, 1, {NA}, 1},
    {"wv", NNRT_F32, 1, {NV}, 1},
    {"b", NNRT_F32, 1, {1}, 1},
};

static const NnrtInputDesc lin_inputs[2] = {{"img", 3, {3, 2, 4}, NA},
                                            {"v", 1, {NV}, NV}};

static void *lin_create(uint64_t seed)
{
    (void)seed;
    return calloc(1, sizeof(Lin));
}

static int lin_load(void *vm, const char *path, NnrtErr *err)
{
    Lin *m = vm;
    void *dst[3];
    dst[0] = m->wa;
    dst[1] = m->wv;
    dst[2] = m->b;
    return nnrt_st_load_params(path, lin_params, 3, dst, err);
}

static int lin_save(const void *vm, const char *path, NnrtErr *err)
{
    const Lin *m = vm;
    const void *src[3];
    src[0] = m->wa;
    src[1] = m->wv;
    src[2] = m->b;
    return nnrt_st_save_params(path, lin_params, 3, src, err);
}

static void lin_forward_n(void *vm, int n, const float *const *xs, float *out)
{
    Lin *m = vm;
    int i, k;
    for (i = 0; i < n; i++) {
        float z = m->b[0];
        for (k = 0; k < NA; k++)
            z += m->wa[k] * xs[0][i * NA + k];
        for (k = 0; k < NV; k++)
            z += m->wv[k] * xs[1][i * NV + k];
        out[i] = m->pred[i] = z;
    }
}

static float lin_eval_loss_n(void *vm, int n, const float *const *xs,
                             const void *t, float *out)
{
    const float *y = t;
    double s = 0;
    int i;
    lin_forward_n(vm, n, xs, out);
    for (i = 0; i < n; i++)
        s += (double)(out[i] - y[i]) * (out[i] - y[i]);
    return (float)(s / n);
}

static float lin_train_step_n(void *vm, int n, const float *const *xs,
                              const void *t)
{
    Lin *m = vm;
    const float *y = t;
    float out[MAXB], loss = lin_eval_loss_n(vm, n, xs, t, out);
    int i, k;
    for (i = 0; i < n; i++) {
        float d = 2 * (out[i] - y[i]) / (float)n * 0.01f; /* lr 0.01 */
        m->b[0] -= d;
        for (k = 0; k < NA; k++)
            m->wa[k] -= d * xs[0][i * NA + k];
        for (k = 0; k < NV; k++)
            m->wv[k] -= d * xs[1][i * NV + k];
    }
    return loss;
}

static const float *lin_pred(const void *vm)
{
    return ((const Lin *)vm)->pred;
}

#define LIN_MODEL(kind)                                                    \
    {                                                                      \
        .name = "lin", .source = "lin.nn", .max_batch = MAXB,              \
        .input_rank = 3, .input_dims = {3, 2, 4}, .input_numel = NA,       \
        .target_kind = NNRT_TARGET_F32, .target_numel = 1,                 \
        .output_rank = 1, .output_dims = {1}, .output_numel = 1,           \
        .train_batch = 8, .train_epochs = 1, .train_shuffle = 0,           \
        .train_seed = 1, .lr = 0.01, .nparams = 3, .params = lin_params,   \
        .arena_bytes = sizeof(Lin), .flops_per_sample = 2 * (NA + NV),     \
        .create = lin_create, .destroy = sm_destroy, .load = lin_load,     \
        .save = lin_save, .ninputs = 2, .inputs = lin_inputs,              \
        .forward_n = lin_forward_n, .train_step_n = lin_train_step_n,      \
        .eval_loss_n = lin_eval_loss_n, .pred = lin_pred, .loss_kind = kind \
    }

static const NnrtModel lin_model = LIN_MODEL(NNRT_LOSS_MSE);
static const NnrtModel lin_bce_model = LIN_MODEL(NNRT_LOSS_BCE);

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


/* ---- version 2 (issues 11, 15, 16) ---- */

/* A uint8 .npy file [dims...] (nnrt_save_npy writes float32 only). */
static void write_npy_u8(const char *path, int rank, const int64_t *dims,
                         const uint8_t *v)
{
    char hdr[128], shape[64] = "";
    size_t n = 0, len, total = 1;
    int k;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (k = 0; k < rank; k++) {
        n += (size_t)snprintf(shape + n, sizeof shape - n, "%lld,",
                              (long long)dims[k]);
        total *= (size_t)dims[k];
    }
    len = (size_t)snprintf(hdr, sizeof hdr,
                           "{'descr': '|u1', 'fortran_order': False, "
                           "'shape': (%s), }",
                           shape);
    while ((10 + len + 1) % 64)
        hdr[len++] = ' ';
    hdr[len++] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(len & 0xff), f);
    fputc((int)(len >> 8), f);
    fwrite(hdr, 1, len, f);
    fwrite(v, 1, total, f);
    fclose(f);
}

/* The int64 value of a one-element tensor of a safetensors file. */
static int64_t st_i64(const char *path, const char *name)
{
    NnrtSafetensors st;
    NnrtErr e;
    const NnrtStTensor *t;
    int64_t v;
    ck_assert_msg(nnrt_st_read(path, &st, &e) == 0, "%s", e.msg);
    t = nnrt_st_find(&st, name);
    ck_assert_msg(t != NULL, "%s has no %s", path, name);
    ck_assert_int_eq(t->dtype, NNRT_I64);
    memcpy(&v, t->data, sizeof v);
    nnrt_st_free(&st);
    return v;
}

/* Lines of s that start with `prefix`. */
static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    while (s && *s) {
        if (strncmp(s, prefix, len) == 0)
            n++;
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    return n;
}

START_TEST(steps_cross_epochs)
{
    /* 12 samples, batch 4: 3 steps an epoch; --steps 5 runs 5 (the old
     * driver stopped at the end of the default single epoch, after 3). */
    float x[12 * NF];
    int32_t y[12];
    int64_t d[2] = {12, NF};
    NnrtErr e;
    Run r;
    const char *a[] = {"mom", "train", "--data", tpath("x12.npy"),
                       "--labels", tpath("y12.csv"), "--batch", "4",
                       "--steps", "5", "--checkpoint", tpath("c.st"),
                       NULL};
    make_data(12, 4, x, y);
    ck_assert_int_eq(nnrt_save_npy(tpath("x12.npy"), x, 2, d, &e), 0);
    write_labels_csv(tpath("y12.csv"), 12, y);
    run(&r, &mom_model, a);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    /* The model counted its steps; the checkpoint holds its count. */
    ck_assert_int_eq(st_i64(tpath("c.st"), "__step__"), 5);
    ck_assert_int_eq(st_i64(tpath("c.st"), "__driver__.step"), 5);
    /* The schedule stepped once: only epoch 1 was whole. */
    ck_assert_int_eq(st_i64(tpath("c.st"), "__epochs__"), 1);
    ck_assert_has(r.out, "epoch 1/2");
    ck_assert_has(r.out, "epoch 2/2");
    ck_assert_has(r.out, "stopped after 5 steps (2 of this epoch's 3)");
    ck_assert_has(r.out, "steps=5\n");
    ck_assert_int_eq(count_lines(r.out, "epoch 1/2"), 1);
    ck_assert(strstr(r.out, "epoch 1/2  loss") &&
              !strstr(strstr(r.out, "epoch 1/2"), "stopped after 3"));
}
END_TEST

START_TEST(help_lists_options_and_defaults)
{
    Run r;
    const char *top[] = {"./p", "--help", NULL};
    const char *tr[] = {"p", "train", "--help", NULL};
    const char *tr2[] = {"p", "help", "train", NULL};
    const char *ev[] = {"p", "eval", "--data", "x", "--help", NULL};
    const char *pr[] = {"p", "predict", "--help", NULL};
    const char *b[] = {"p", "train", "--data", "x", "--labels", "y",
                       "--batch", "100", NULL};
    static const char *const train_opts[] = {
        "--data FILE", "--labels FILE", "--label-column N",
        "--test-data FILE",
        "--test-labels FILE", "--val-split F", "--epochs N", "--steps N",
        "--batch N", "--lr F", "--seed N", "--no-shuffle", "--no-scale",
        "--init W", "--partial", "--strip-prefix P", "--save W",
        "--save-best W", "--patience N", "--checkpoint C", "--resume C",
        "--log FILE", "--quiet"};
    size_t k;
    run(&r, &softmax_model, top);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_has(r.out, "p train --data X");
    ck_assert_has(r.out, "p CMD --help");
    /* PROG --help lists every command's options with their defaults. */
    ck_assert_has(r.out, "--val-split F");
    ck_assert_has(r.out, "(default 2, from the model's train block)");
    ck_assert_has(r.out, "--confusion");
    ck_assert_has(r.out, "--output OUT");
    run(&r, &softmax_model, tr);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    for (k = 0; k < sizeof train_opts / sizeof train_opts[0]; k++)
        ck_assert_has(r.out, train_opts[k]);
    /* The defaults are the model's own. */
    ck_assert_has(r.out, "(default 2, from the model's train block)");
    ck_assert_has(r.out, "(default 16; compiled for at most 64)");
    ck_assert_has(r.out, "(default 0.5, from the model's optimizer)");
    ck_assert_has(r.out, "(default 7)");
    ck_assert(strstr(r.out, "--weights") == NULL);
    run(&r, &softmax_model, tr2);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_has(r.out, "--val-split F");
    run(&r, &softmax_model, ev);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_has(r.out, "--confusion");
    ck_assert_has(r.out, "--weights W");
    ck_assert(strstr(r.out, "--epochs") == NULL);
    run(&r, &softmax_model, pr);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_has(r.out, "--output OUT");
    /* A batch above the compiled one says how to rebuild. */
    run(&r, &softmax_model, b);
    ck_assert_int_eq(r.rc, 2);
    ck_assert_has(r.err, "compiled for batches of at most 64; rebuild with "
                         "`nnc --batch 100`");
}
END_TEST

/* Writes n samples of the two-input model: img [n, 3, 2, 4] (or the
 * channels-last [n, 2, 4, 3] when `nhwc`), v [n, 2], y [n, 1]. */
static void write_lin_data(int n, uint64_t seed, const char *img,
                           const char *v, const char *y, int nhwc)
{
    float *a = malloc((size_t)n * NA * sizeof *a), vv[MAXB * NV], yy[MAXB];
    int64_t da[4] = {n, 3, 2, 4}, dv[2] = {n, NV}, dy[2] = {n, 1};
    NnrtRng r;
    NnrtErr e;
    int i;
    ck_assert(n <= MAXB);
    nnrt_rng_seed(&r, seed);
    for (i = 0; i < n * NA; i++)
        a[i] = nnrt_rng_normal(&r);
    for (i = 0; i < n * NV; i++)
        vv[i] = nnrt_rng_normal(&r);
    for (i = 0; i < n; i++)
        yy[i] = a[i * NA] - 2 * vv[i * NV + 1] + 0.5f;
    if (nhwc) {
        da[1] = 2;
        da[2] = 4;
        da[3] = 3;
    }
    ck_assert_int_eq(nnrt_save_npy(img, a, 4, da, &e), 0);
    ck_assert_int_eq(nnrt_save_npy(v, vv, 2, dv, &e), 0);
    ck_assert_int_eq(nnrt_save_npy(y, yy, 2, dy, &e), 0);
    free(a);
}

/* Saves the two-input model's weights: wa all `a`, wv all `v`, b. */
static void write_lin_weights(const char *path, float a, float v, float b)
{
    float wa[NA], wv[NV];
    const void *src[3];
    NnrtErr e;
    int k;
    for (k = 0; k < NA; k++)
        wa[k] = a;
    for (k = 0; k < NV; k++)
        wv[k] = v;
    src[0] = wa;
    src[1] = wv;
    src[2] = &b;
    ck_assert_int_eq(nnrt_st_save_params(path, lin_params, 3, src, &e), 0);
}

START_TEST(data_shapes_must_match)
{
    Run r;
    float x[20 * NF];
    int64_t flat[2] = {20, NA}, d5[5] = {20, 1, 3, 2, 4};
    float *big = calloc(20 * NA, sizeof *big);
    NnrtErr e;
    const char *nhwc[] = {"lin", "predict", "--weights", tpath("w.st"),
                          "--data", tpath("nhwc.npy"), "--data",
                          tpath("v.npy"), "--output", tpath("o.npy"), NULL};
    const char *flatc[] = {"lin", "predict", "--weights", tpath("w.st"),
                           "--data", tpath("flat.npy"), "--data",
                           tpath("v.npy"), "--output", tpath("o.npy"),
                           NULL};
    const char *ok[] = {"lin", "predict", "--weights", tpath("w.st"),
                        "--data", tpath("one.npy"), "--data", tpath("v.npy"),
                        "--output", tpath("o.npy"), NULL};
    const char *csv[] = {"lin", "predict", "--weights", tpath("w.st"),
                         "--data", tpath("flat.csv"), "--data",
                         tpath("v.npy"), "--output", tpath("o.npy"), NULL};
    write_lin_weights(tpath("w.st"), 0.1f, 0.2f, 0.3f);
    write_lin_data(20, 3, tpath("nhwc.npy"), tpath("v.npy"), tpath("y.npy"),
                   1);
    /* [N, 8, 8, 3]-style data for a [3, 8, 8]-style input. */
    run(&r, &lin_model, nhwc);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "nhwc.npy: each sample has shape [2, 4, 3], but "
                         "the model's input 'img' is [3, 2, 4]");
    ck_assert_has(r.err, "transpose");
    /* Flat rows are not images, in a binary file... */
    ck_assert_int_eq(nnrt_save_npy(tpath("flat.npy"), big, 2, flat, &e), 0);
    run(&r, &lin_model, flatc);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "flat.npy: each sample has shape [24]");
    ck_assert(strstr(r.err, "transpose") == NULL);
    /* ... but size-1 dimensions do not count, and CSV rows are flat. */
    ck_assert_int_eq(nnrt_save_npy(tpath("one.npy"), big, 5, d5, &e), 0);
    run(&r, &lin_model, ok);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    write_features_csv(tpath("flat.csv"), 20, NA, big);
    run(&r, &lin_model, csv);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    /* A rank-1 input takes any sample shape of its size (flattened). */
    make_data(20, 1, x, (int32_t *)big);
    {
        int64_t d3[3] = {20, 2, 2};
        const char *a[] = {"softmax", "predict", "--weights", tpath("sm.st"),
                           "--data", tpath("x22.npy"), "--output",
                           tpath("o.npy"), NULL};
        const char *t[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                           "--labels", tpath("train_y.csv"), "--epochs", "1",
                           "--quiet", "--save", tpath("sm.st"), NULL};
        ck_assert_int_eq(nnrt_save_npy(tpath("x22.npy"), x, 3, d3, &e), 0);
        run(&r, &softmax_model, t);
        ck_assert_int_eq(r.rc, 0);
        run(&r, &softmax_model, a);
        ck_assert_msg(r.rc == 0, "%s", r.err);
    }
    free(big);
}
END_TEST

START_TEST(uint8_scaling)
{
    /* uint8 inputs are divided by 255 (unless --no-scale); uint8 targets
     * are values.  The model's prediction is the mean of img (wa = 1/24):
     * img all 255 gives 1 scaled, 255 unscaled; targets 200. */
    uint8_t img[10 * NA], v[10 * NV], y[10];
    int64_t di[4] = {10, 3, 2, 4}, dv[2] = {10, NV}, dy[1] = {10};
    Run r;
    const char *ev[] = {"lin", "eval", "--weights", tpath("w.st"), "--data",
                        tpath("img.npy"), "--data", tpath("v.npy"),
                        "--labels", tpath("y.npy"), NULL};
    const char *ev_ns[] = {"lin", "eval", "--weights", tpath("w.st"),
                           "--data", tpath("img.npy"), "--data",
                           tpath("v.npy"), "--labels", tpath("y.npy"),
                           "--no-scale", NULL};
    memset(img, 255, sizeof img);
    memset(v, 0, sizeof v);
    memset(y, 200, sizeof y);
    write_npy_u8(tpath("img.npy"), 4, di, img);
    write_npy_u8(tpath("v.npy"), 2, dv, v);
    write_npy_u8(tpath("y.npy"), 1, dy, y);
    write_lin_weights(tpath("w.st"), 1.0f / NA, 0, 0);
    run(&r, &lin_model, ev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    /* pred 1, target 200: MAE 199 (the old driver: target 200/255). */
    ck_assert(fabs(value_after(r.out, "mae=") - 199.0) < 1e-3);
    ck_assert(fabs(value_after(r.out, "loss=") - 199.0 * 199.0) < 0.1);
    run(&r, &lin_model, ev_ns);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(fabs(value_after(r.out, "mae=") - 55.0) < 1e-3);
}
END_TEST

START_TEST(predict_csv_output)
{
    Run r;
    NnrtArray a, b;
    NnrtErr e;
    int64_t i;
    const char *t[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--epochs", "1",
                       "--quiet", "--save", tpath("w.st"), NULL};
    const char *pn[] = {"softmax", "predict", "--weights", tpath("w.st"),
                        "--data", tpath("test_x.csv"), "--output",
                        tpath("p.npy"), NULL};
    const char *pc[] = {"softmax", "predict", "--weights", tpath("w.st"),
                        "--data", tpath("test_x.csv"), "--output",
                        tpath("p.CSV"), NULL};
    const char *px[] = {"softmax", "predict", "--weights", tpath("w.st"),
                        "--data", tpath("test_x.csv"), "--output",
                        tpath("p.txt"), NULL};
    run(&r, &softmax_model, t);
    ck_assert_int_eq(r.rc, 0);
    run(&r, &softmax_model, pn);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run(&r, &softmax_model, pc);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_int_eq(nnrt_load_array(tpath("p.npy"), &a, &e), 0);
    ck_assert_msg(nnrt_load_array(tpath("p.CSV"), &b, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(b.rank, 2);
    ck_assert_int_eq(b.dims[0], NTEST);
    ck_assert_int_eq(b.dims[1], NC);
    for (i = 0; i < NTEST * NC; i++)
        ck_assert(((const float *)a.data)[i] ==
                  (float)((const double *)b.data)[i]);
    nnrt_array_free(&a);
    nnrt_array_free(&b);
    run(&r, &softmax_model, px);
    ck_assert_int_eq(r.rc, 2);
    ck_assert_has(r.err, "p.txt: the name must end in .npy");
    ck_assert(access(tpath("p.txt"), F_OK) != 0);
}
END_TEST

START_TEST(progress_shows_lr_and_time)
{
    Run r;
    const char *a[] = {"mom", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--epochs", "3",
                       NULL};
    const char *b[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--epochs", "2",
                       "--lr", "0.125", NULL};
    run(&r, &mom_model, a);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    /* get_lr: the schedule halves the rate every epoch. */
    ck_assert_has(r.out, "lr 0.5  ");
    ck_assert_has(r.out, "lr 0.25  ");
    ck_assert_has(r.out, "lr 0.125  ");
    ck_assert_has(r.out, "elapsed ");
    ck_assert_has(strstr(r.out, "epoch 1/3"), "eta ");
    /* No get_lr: the configured rate. */
    run(&r, &softmax_model, b);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.out, "lr 0.125  ");
}
END_TEST

START_TEST(nonfinite_weights_never_saved)
{
    /* The weights turn infinite at the last step of epoch 2, whose losses
     * (computed before each update) are all finite: w.st keeps epoch 1's
     * weights and the run fails.  The old driver saved the infinities. */
    Run r;
    const char *good[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                          "--labels", tpath("train_y.csv"), "--batch", "50",
                          "--epochs", "1", "--save", tpath("e1.st"), NULL};
    const char *bad[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                         "--labels", tpath("train_y.csv"), "--batch", "50",
                         "--epochs", "3", "--save", tpath("w.st"),
                         "--checkpoint", tpath("c.st"), NULL};
    const char *ev[] = {"softmax", "eval", "--weights", tpath("w.st"),
                        "--data", tpath("test_x.csv"), "--labels",
                        tpath("test_y.csv"), NULL};
    run(&r, &softmax_inf_model, good);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run(&r, &softmax_inf_model, bad);
    ck_assert_int_eq(r.rc, 1);
    /* The index as nnrt_array_check_finite() gives it, in the tensor's
     * own dims. */
    ck_assert_has(r.err, "the weights are not finite after epoch 2 (step 6 "
                         "overall): 'fc.weight' holds +Inf at [0, 1]");
    ck_assert_has(r.err, "w.st keeps the weights of epoch 1");
    ck_assert_has(r.err, "c.st keeps the checkpoint of epoch 1");
    ck_assert(same_file(tpath("w.st"), tpath("e1.st")));
    ck_assert_int_eq(st_i64(tpath("c.st"), "__driver__.epoch"), 2);
    ck_assert(!leftover_tmp());
    {
        /* Finite weights, an infinite momentum buffer: no checkpoint. */
        const char *st[] = {"mom", "train", "--data", tpath("train_x.npy"),
                            "--labels", tpath("train_y.csv"), "--batch",
                            "50", "--epochs", "3", "--checkpoint",
                            tpath("m.st"), NULL};
        run(&r, &mom_state_inf_model, st);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "the training state "
                             "'fc.weight.momentum_buffer' holds ");
        ck_assert_has(r.err, "Inf at [0, 0] (row, column from 0) after "
                             "epoch 2; stopped without writing");
        ck_assert_int_eq(st_i64(tpath("m.st"), "__driver__.epoch"), 2);
        ck_assert_int_eq(st_i64(tpath("m.st"), "__step__"), 3);
    }
    run(&r, &softmax_model, ev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
}
END_TEST

START_TEST(nonfinite_weights_and_loss_reported)
{
    Run r;
    float w[NC * NF], b[NC] = {0};
    const void *src[2];
    NnrtErr e;
    int k;
    const char *init[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                          "--labels", tpath("train_y.csv"), "--init",
                          tpath("nan.st"), NULL};
    const char *ev[] = {"softmax", "eval", "--weights", tpath("huge.st"),
                        "--data", tpath("test_x.csv"), "--labels",
                        tpath("test_y.csv"), NULL};
    for (k = 0; k < NC * NF; k++)
        w[k] = 0;
    src[0] = w;
    src[1] = b;
    b[2] = NAN;
    ck_assert_int_eq(nnrt_st_save_params(tpath("nan.st"), sm_params, 2, src,
                                         &e), 0);
    run(&r, &softmax_model, init);
    ck_assert_int_eq(r.rc, 1);
    /* Refused by the model's loader (nnrt_st_load_params). */
    ck_assert_has(r.err, "nan.st: tensor 'fc.bias' holds NaN at index 2");
    /* Finite weights whose loss overflows: eval fails, loudly. */
    b[2] = 0;
    for (k = 0; k < NC * NF; k++)
        w[k] = k % 2 ? 3e38f : -3e38f;
    ck_assert_int_eq(nnrt_st_save_params(tpath("huge.st"), sm_params, 2, src,
                                         &e), 0);
    run(&r, &softmax_model, ev);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "the loss over ");
    ck_assert_has(r.err, "huge.st");
    ck_assert(strstr(r.out, "loss=") == NULL);
    /* Non-finite data is named by file, sample and element. */
    {
        float x[NTRAIN * NF];
        int32_t y[NTRAIN];
        int64_t d[2] = {NTRAIN, NF};
        const char *a[] = {"softmax", "train", "--data", tpath("bad_x.npy"),
                           "--labels", tpath("train_y.csv"), NULL};
        make_data(NTRAIN, 1, x, y);
        x[7 * NF + 2] = NAN;
        ck_assert_int_eq(nnrt_save_npy(tpath("bad_x.npy"), x, 2, d, &e), 0);
        run(&r, &softmax_model, a);
        ck_assert_int_eq(r.rc, 1);
        /* Refused by the reader, which names the index. */
        ck_assert_has(r.err, "bad_x.npy: NaN at [7, 2]");
    }
}
END_TEST

START_TEST(metrics_by_target_kind)
{
    /* Regression (MSE): MAE and RMSE; binary cross-entropy: accuracy at
     * 0.5 (logit > 0); each against the same sums done here. */
    Run r;
    NnrtArray p, y;
    NnrtErr e;
    double mae = 0, mse = 0, acc = 0;
    int i;
    const char *ev[] = {"lin", "eval", "--weights", tpath("w.st"), "--data",
                        tpath("img.npy"), "--data", tpath("v.npy"),
                        "--labels", tpath("y.npy"), NULL};
    const char *pr[] = {"lin", "predict", "--weights", tpath("w.st"),
                        "--data", tpath("img.npy"), "--data", tpath("v.npy"),
                        "--output", tpath("p.npy"), NULL};
    const char *bev[] = {"lin", "eval", "--weights", tpath("w.st"), "--data",
                         tpath("img.npy"), "--data", tpath("v.npy"),
                         "--labels", tpath("yb.npy"), NULL};
    write_lin_data(40, 5, tpath("img.npy"), tpath("v.npy"), tpath("y.npy"),
                   0);
    write_lin_weights(tpath("w.st"), 0.05f, -0.5f, 0.1f);
    run(&r, &lin_model, pr);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_int_eq(nnrt_load_array(tpath("p.npy"), &p, &e), 0);
    ck_assert_int_eq(nnrt_load_array(tpath("y.npy"), &y, &e), 0);
    for (i = 0; i < 40; i++) {
        double d = (double)((const float *)p.data)[i] -
                   (double)((const float *)y.data)[i];
        mae += fabs(d);
        mse += d * d;
    }
    run(&r, &lin_model, ev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(fabs(value_after(r.out, "mae=") - mae / 40) < 1e-5);
    ck_assert(fabs(value_after(r.out, "rmse=") - sqrt(mse / 40)) < 1e-5);
    ck_assert(strstr(r.out, "accuracy=") == NULL);
    /* Binary targets: y > 0.5 as 0/1 floats. */
    {
        float yb[40];
        int64_t d[2] = {40, 1};
        for (i = 0; i < 40; i++) {
            yb[i] = ((const float *)y.data)[i] > 0.5f ? 1.0f : 0.0f;
            acc += (((const float *)p.data)[i] > 0) == (yb[i] > 0.5f);
        }
        ck_assert_int_eq(nnrt_save_npy(tpath("yb.npy"), yb, 2, d, &e), 0);
    }
    run(&r, &lin_bce_model, bev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(fabs(value_after(r.out, "accuracy=") - acc / 40) < 1e-9);
    ck_assert(strstr(r.out, "mae=") == NULL);
    nnrt_array_free(&p);
    nnrt_array_free(&y);
}
END_TEST

START_TEST(eval_confusion)
{
    Run r;
    NnrtArray p;
    NnrtErr e;
    float xte[NTEST * NF];
    int32_t yte[NTEST];
    int64_t conf[NC][NC] = {{0}};
    int i, c;
    char want[64];
    const char *t[] = {"mom", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--epochs", "1",
                       "--quiet", "--save", tpath("w.st"), NULL};
    const char *pr[] = {"mom", "predict", "--weights", tpath("w.st"),
                        "--data", tpath("test_x.csv"), "--output",
                        tpath("p.npy"), NULL};
    const char *ev[] = {"mom", "eval", "--weights", tpath("w.st"), "--data",
                        tpath("test_x.csv"), "--labels", tpath("test_y.csv"),
                        "--confusion", NULL};
    const char *bad[] = {"lin", "eval", "--weights", "w", "--data", "a",
                         "--data", "b", "--labels", "y", "--confusion", NULL};
    run(&r, &mom_model, t);
    ck_assert_int_eq(r.rc, 0);
    run(&r, &mom_model, pr);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(nnrt_load_array(tpath("p.npy"), &p, &e), 0);
    make_data(NTEST, 2, xte, yte);
    for (i = 0; i < NTEST; i++) {
        const float *q = (const float *)p.data + i * NC;
        int best = 0;
        for (c = 1; c < NC; c++)
            if (q[c] > q[best])
                best = c;
        conf[yte[i]][best]++;
    }
    nnrt_array_free(&p);
    run(&r, &mom_model, ev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.out, "confusion matrix (rows: true class, columns: "
                         "predicted class)");
    for (i = 0; i < NC; i++) {
        int64_t tp = conf[i][i], pc = 0, ac = 0;
        for (c = 0; c < NC; c++) {
            pc += conf[c][i];
            ac += conf[i][c];
        }
        snprintf(want, sizeof want, "%6d %7lld %7lld %7lld\n", i,
                 (long long)conf[i][0], (long long)conf[i][1],
                 (long long)conf[i][2]);
        ck_assert_has(r.out, want);
        snprintf(want, sizeof want, "class=%d precision=%.4f recall=%.4f",
                 i, pc ? (double)tp / pc : 0.0, ac ? (double)tp / ac : 0.0);
        ck_assert_has(r.out, want);
    }
    run(&r, &lin_model, bad);
    ck_assert_int_eq(r.rc, 2);
    ck_assert_has(r.err, "--confusion needs class targets");
}
END_TEST

START_TEST(val_split_deterministic)
{
    Run r;
    char first[16384];
    const char *a[] = {"mom", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--val-split", "0.2",
                       "--seed", "3", "--epochs", "2", "--quiet", "--save",
                       tpath("a.st"), NULL};
    const char *b[] = {"mom", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--val-split", "0.2",
                       "--seed", "3", "--epochs", "2", "--quiet", "--save",
                       tpath("b.st"), NULL};
    const char *c[] = {"mom", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--val-split", "0.2",
                       "--seed", "4", "--epochs", "2", "--quiet", NULL};
    const char *bad[] = {"mom", "train", "--data", tpath("train_x.npy"),
                         "--labels", tpath("train_y.csv"), "--val-split",
                         "1.5", NULL};
    const char *tiny[] = {"mom", "train", "--data", tpath("train_x.npy"),
                          "--labels", tpath("train_y.csv"), "--val-split",
                          "0.001", NULL};
    run(&r, &mom_model, a);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.out, "val_loss=");
    ck_assert_has(r.out, "val_accuracy=");
    ck_assert_has(r.out, "train_accuracy=");
    strcpy(first, r.out);
    run(&r, &mom_model, b);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(same_file(tpath("a.st"), tpath("b.st")));
    ck_assert(value_after(first, "val_loss=") ==
              value_after(r.out, "val_loss="));
    run(&r, &mom_model, c);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(value_after(first, "val_loss=") !=
              value_after(r.out, "val_loss="));
    run(&r, &mom_model, bad);
    ck_assert_int_eq(r.rc, 2);
    run(&r, &mom_model, tiny);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "leaves 0 for validation");
}
END_TEST

START_TEST(save_best_and_patience)
{
    /* Scripted validation losses 1.0, 0.5, 0.7, 0.8, ...: the best is
     * epoch 2; with --patience 2 the run stops after epoch 4. */
    Run r;
    const char *two[] = {"mom", "train", "--data", tpath("train_x.npy"),
                         "--labels", tpath("train_y.csv"), "--epochs", "2",
                         "--quiet", "--save", tpath("e2.st"), NULL};
    const char *a[] = {"mom", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--test-data",
                       tpath("test_x.csv"), "--test-labels",
                       tpath("test_y.csv"), "--epochs", "7", "--patience",
                       "2", "--save-best", tpath("best.st"), "--save",
                       tpath("last.st"), NULL};
    const char *no_val[] = {"mom", "train", "--data", tpath("train_x.npy"),
                            "--labels", tpath("train_y.csv"), "--patience",
                            "2", NULL};
    run(&r, &mom_scripted_model, two);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run(&r, &mom_scripted_model, a);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.out, "epoch 4/7");
    ck_assert(strstr(r.out, "epoch 5/7") == NULL);
    ck_assert_has(r.out, "stopped early: the validation loss has not "
                         "improved for 2 epochs (best 0.500000 at epoch 2)");
    ck_assert_has(r.out, "best_epoch=2\n");
    ck_assert_has(r.out, "stopped_early_at_epoch=4\n");
    ck_assert(same_file(tpath("best.st"), tpath("e2.st")));
    ck_assert(!same_file(tpath("last.st"), tpath("e2.st")));
    run(&r, &mom_scripted_model, no_val);
    ck_assert_int_eq(r.rc, 2);
    ck_assert_has(r.err, "need validation data");
    {
        /* A run shorter than an epoch still keeps its best weights. */
        const char *short_run[] = {"mom", "train", "--data",
                                   tpath("train_x.npy"), "--labels",
                                   tpath("train_y.csv"), "--val-split",
                                   "0.2", "--steps", "2", "--quiet",
                                   "--save-best", tpath("b2.st"), NULL};
        run(&r, &mom_model, short_run);
        ck_assert_msg(r.rc == 0, "%s", r.err);
        ck_assert_has(r.out, "best_epoch=1\n");
        ck_assert(access(tpath("b2.st"), F_OK) == 0);
    }
}
END_TEST

START_TEST(resume_is_bit_identical)
{
    /* Shuffled, momentum, a schedule: a run cut mid-epoch (--steps 5 of
     * 3 a epoch) or at an epoch's end, then resumed with the same
     * options, ends with the same bits as one run (--lr does not reset
     * the schedule's position). */
    Run r;
    const char *whole[] = {"mom", "train", "--data", tpath("train_x.npy"),
                           "--labels", tpath("train_y.csv"), "--batch", "50",
                           "--epochs", "4", "--lr", "0.4", "--quiet", "--save",
                           tpath("a.st"), "--checkpoint", tpath("ca.st"),
                           NULL};
    const char *cut[] = {"mom", "train", "--data", tpath("train_x.npy"),
                         "--labels", tpath("train_y.csv"), "--batch", "50",
                         "--steps", "5", "--lr", "0.4", "--quiet",
                         "--checkpoint",
                         tpath("cb.st"), NULL};
    const char *resume[] = {"mom", "train", "--data", tpath("train_x.npy"),
                            "--labels", tpath("train_y.csv"), "--batch",
                            "50", "--epochs", "4", "--lr", "0.4", "--quiet",
                            "--save", tpath("b.st"), "--resume",
                            tpath("cb.st"),
                            "--checkpoint", tpath("cb2.st"), NULL};
    const char *e1[] = {"mom", "train", "--data", tpath("train_x.npy"),
                        "--labels", tpath("train_y.csv"), "--batch", "50",
                        "--epochs", "1", "--lr", "0.4", "--quiet",
                        "--checkpoint",
                        tpath("cc.st"), NULL};
    const char *resume2[] = {"mom", "train", "--data", tpath("train_x.npy"),
                             "--labels", tpath("train_y.csv"), "--batch",
                             "50", "--epochs", "4", "--lr", "0.4", "--quiet",
                             "--save", tpath("c.st"), "--resume",
                             tpath("cc.st"), NULL};
    const char *other_batch[] = {"mom", "train", "--data",
                                 tpath("train_x.npy"), "--labels",
                                 tpath("train_y.csv"), "--batch", "30",
                                 "--resume", tpath("cc.st"), NULL};
    const char *not_ck[] = {"mom", "train", "--data", tpath("train_x.npy"),
                            "--labels", tpath("train_y.csv"), "--resume",
                            tpath("a.st"), NULL};
    run(&r, &mom_model, whole);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_int_eq(st_i64(tpath("ca.st"), "__step__"), 12);
    run(&r, &mom_model, cut);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_int_eq(st_i64(tpath("cb.st"), "__driver__.epoch_step"), 2);
    run(&r, &mom_model, resume);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.out, "steps=12\n");
    ck_assert(same_file(tpath("a.st"), tpath("b.st")));
    ck_assert(same_file(tpath("ca.st"), tpath("cb2.st")));
    run(&r, &mom_model, e1);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run(&r, &mom_model, resume2);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(same_file(tpath("a.st"), tpath("c.st")));
    run(&r, &mom_model, other_batch);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "written by a run with batch 50");
    run(&r, &mom_model, not_ck);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "a.st: no tensor '__driver__.epoch'");
    /* A checkpoint serves as weights, too. */
    {
        const char *ev[] = {"mom", "eval", "--weights", tpath("ca.st"),
                            "--data", tpath("test_x.csv"), "--labels",
                            tpath("test_y.csv"), NULL};
        const char *ev2[] = {"mom", "eval", "--weights", tpath("a.st"),
                             "--data", tpath("test_x.csv"), "--labels",
                             tpath("test_y.csv"), NULL};
        char first[16384];
        run(&r, &mom_model, ev);
        ck_assert_msg(r.rc == 0, "%s", r.err);
        strcpy(first, r.out);
        run(&r, &mom_model, ev2);
        ck_assert_msg(r.rc == 0, "%s", r.err);
        ck_assert_str_eq(first, r.out);
    }
}
END_TEST

START_TEST(several_inputs)
{
    Run r;
    const char *t[] = {"lin", "train", "--data", tpath("img.npy"), "--data",
                       tpath("v.npy"), "--labels", tpath("y.npy"),
                       "--epochs", "3", "--quiet", "--save", tpath("a.st"),
                       NULL};
    const char *named[] = {"lin", "train", "--data", "v=" , "--data",
                           tpath("img.npy"), "--labels", tpath("y.npy"),
                           "--epochs", "3", "--quiet", "--save",
                           tpath("b.st"), NULL};
    const char *one[] = {"lin", "train", "--data", tpath("img.npy"),
                         "--labels", tpath("y.npy"), NULL};
    const char *p1[] = {"lin", "predict", "--weights", tpath("a.st"),
                        "--data", tpath("img.npy"), "--data", tpath("v.npy"),
                        "--output", tpath("p1.npy"), NULL};
    const char *p2[] = {"lin", "predict", "--weights", tpath("a.st"),
                        "--data", "", "--data", "", "--output",
                        tpath("p2.npy"), NULL};
    char vname[200], iname[200];
    write_lin_data(40, 6, tpath("img.npy"), tpath("v.npy"), tpath("y.npy"),
                   0);
    run(&r, &lin_model, t);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.out, "train_mae=");
    ck_assert_has(r.out, "train_rmse=");
    /* NAME=FILE in any order trains the same. */
    snprintf(vname, sizeof vname, "v=%s", tpath("v.npy"));
    named[3] = vname;
    run(&r, &lin_model, named);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(same_file(tpath("a.st"), tpath("b.st")));
    run(&r, &lin_model, one);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "the model has 2 inputs but 1 data file was given");
    run(&r, &lin_model, p1);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    snprintf(iname, sizeof iname, "img=%s", tpath("img.npy"));
    p2[5] = vname;
    p2[7] = iname;
    run(&r, &lin_model, p2);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(same_file(tpath("p1.npy"), tpath("p2.npy")));
}
END_TEST

START_TEST(log_csv)
{
    Run r;
    char buf[4096];
    FILE *f;
    size_t n;
    const char *a[] = {"mom", "train", "--data", tpath("train_x.npy"),
                       "--labels", tpath("train_y.csv"), "--val-split", "0.2",
                       "--test-data", tpath("test_x.csv"), "--test-labels",
                       tpath("test_y.csv"), "--epochs", "3", "--quiet",
                       "--log", tpath("log.csv"), NULL};
    run(&r, &mom_model, a);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    f = fopen(tpath("log.csv"), "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_has(buf, "epoch,step,lr,seconds,samples_per_sec,train_loss,"
                       "train_accuracy,val_loss,val_accuracy,test_loss,"
                       "test_accuracy\n");
    ck_assert_has(buf, "\n1,");
    ck_assert_has(buf, "\n3,");
    ck_assert_int_eq(count_lines(buf, ""), 4);
    ck_assert_has(buf, ",0.5,");  /* epoch 1's lr */
    ck_assert_has(buf, ",0.125,"); /* epoch 3's */
}
END_TEST

START_TEST(init_partial_and_prefix)
{
    Run r;
    NnrtParamDesc pre[3] = {{"module.fc.weight", NNRT_F32, 2, {NC, NF}, 1},
                            {"module.fc.bias", NNRT_F32, 1, {NC}, 1},
                            {"module.head.weight", NNRT_F32, 1, {2}, 1}};
    float w[NC * NF], b[NC] = {1, 2, 3}, h[2] = {0};
    const void *src[3];
    NnrtErr e;
    NnrtSafetensors st;
    int k;
    const char *strict[] = {"softmax", "train", "--data",
                            tpath("train_x.npy"), "--labels",
                            tpath("train_y.csv"), "--init", tpath("pre.st"),
                            "--strip-prefix", "module.", NULL};
    const char *partial[] = {"softmax", "train", "--data",
                             tpath("train_x.npy"), "--labels",
                             tpath("train_y.csv"), "--init", tpath("pre.st"),
                             "--strip-prefix", "module.", "--partial",
                             "--lr", "1e-30", "--steps", "1", "--quiet",
                             "--save", tpath("w.st"), NULL};
    const char *half[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                          "--labels", tpath("train_y.csv"), "--init",
                          tpath("half.st"), "--partial", "--quiet", "--steps",
                          "1", NULL};
    const char *none[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                          "--labels", tpath("train_y.csv"), "--init",
                          tpath("pre.st"), "--partial", NULL};
    const char *alone[] = {"softmax", "train", "--data", "x", "--labels",
                           "y", "--partial", NULL};
    for (k = 0; k < NC * NF; k++)
        w[k] = (float)k;
    src[0] = w;
    src[1] = b;
    src[2] = h;
    ck_assert_int_eq(nnrt_st_save_params(tpath("pre.st"), pre, 3, src, &e), 0);
    ck_assert_int_eq(nnrt_st_save_params(tpath("half.st"), sm_params, 1, src,
                                         &e), 0);
    /* Without --partial every tensor must match. */
    run(&r, &softmax_model, strict);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "head.weight");
    run(&r, &softmax_model, partial);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    /* nnrt_st_load_params_opts()'s report, one line each. */
    ck_assert_has(r.err, "pre.st: skipped 'module.head.weight': not a "
                         "parameter of this model\n");
    ck_assert_has(r.err, "loaded 2 of 2 parameters");
    /* The loaded values (one step at lr 1e-30 changes nothing). */
    ck_assert_int_eq(nnrt_st_read(tpath("w.st"), &st, &e), 0);
    ck_assert(((const float *)nnrt_st_find(&st, "fc.weight")->data)[5] ==
              5.0f);
    ck_assert(((const float *)nnrt_st_find(&st, "fc.bias")->data)[2] == 3.0f);
    nnrt_st_free(&st);
    run(&r, &softmax_model, half);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.err, "half.st: kept initialisation: 'fc.bias' (not in "
                         "the file)\n");
    ck_assert_has(r.err, "loaded 1 of 2 parameters");
    run(&r, &softmax_model, none);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "no tensor of the file matches a parameter of the "
                         "model");
    ck_assert_has(r.err, "--strip-prefix module. removes it");
    run(&r, &softmax_model, alone);
    ck_assert_int_eq(r.rc, 2);
}
END_TEST

START_TEST(label_column)
{
    /* A table with the label in its first column trains as the two files
     * do; -1 and A:B forms, errors name the file and the columns. */
    float x[NTRAIN * NF];
    int32_t y[NTRAIN];
    FILE *f;
    int i, k;
    Run r;
    const char *files[] = {"softmax", "train", "--data", tpath("train_x.npy"),
                           "--labels", tpath("train_y.csv"), "--epochs", "2",
                           "--quiet", "--save", tpath("a.st"), NULL};
    const char *table[] = {"softmax", "train", "--data", tpath("t.csv"),
                           "--label-column", "0", "--epochs", "2", "--quiet",
                           "--save", tpath("b.st"), NULL};
    const char *last[] = {"softmax", "train", "--data", tpath("u.csv"),
                          "--label-column", "-1", "--epochs", "2", "--quiet",
                          "--save", tpath("c.st"), "--test-data",
                          tpath("u.csv"), NULL};
    const char *ev[] = {"softmax", "eval", "--weights", tpath("c.st"),
                        "--data", tpath("u.csv"), "--label-column", "4:",
                        NULL};
    const char *bad[] = {"softmax", "train", "--data", tpath("t.csv"),
                         "--label-column", "7", NULL};
    const char *both[] = {"softmax", "train", "--data", tpath("t.csv"),
                          "--label-column", "0", "--labels", "y", NULL};
    make_data(NTRAIN, 1, x, y);
    f = fopen(tpath("t.csv"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "label,a,b,c,d\n");
    for (i = 0; i < NTRAIN; i++) {
        fprintf(f, "%d", y[i]);
        for (k = 0; k < NF; k++)
            fprintf(f, ",%.9g", x[i * NF + k]);
        fputc('\n', f);
    }
    fclose(f);
    f = fopen(tpath("u.csv"), "w");
    ck_assert_ptr_nonnull(f);
    for (i = 0; i < NTRAIN; i++) {
        for (k = 0; k < NF; k++)
            fprintf(f, "%.9g,", x[i * NF + k]);
        fprintf(f, "%d\n", y[i]);
    }
    fclose(f);
    run(&r, &softmax_model, files);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run(&r, &softmax_model, table);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(same_file(tpath("a.st"), tpath("b.st")));
    run(&r, &softmax_model, last);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(same_file(tpath("a.st"), tpath("c.st")));
    ck_assert_has(r.out, "test_accuracy=");
    run(&r, &softmax_model, ev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_has(r.out, "accuracy=");
    run(&r, &softmax_model, bad);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "t.csv: label column 7 is outside the 5 columns "
                         "(0..4, or -5..-1 from the end) (--label-column 7)");
    run(&r, &softmax_model, both);
    ck_assert_int_eq(r.rc, 2);
    {
        /* A:B in every form the reader resolves (a stop counting from
         * the end, through the end), a semicolon table read with --sep
         * and the header notice, which --quiet silences; a slice that
         * selects nothing, or no slice at all, is refused. */
        const char *mid[] = {"softmax", "train", "--data", tpath("t.csv"),
                             "--label-column", "0:-4", "--epochs", "2",
                             "--quiet", "--save", tpath("d.st"), NULL};
        const char *semi[] = {"softmax", "eval", "--weights", tpath("c.st"),
                              "--data", tpath("s.csv"), "--sep", ";",
                              "--label-column", "-1:", NULL};
        const char *comma[] = {"softmax", "eval", "--weights", tpath("c.st"),
                               "--data", tpath("s.csv"), "--sep", ",",
                               "--label-column", "-1", NULL};
        const char *loud[] = {"softmax", "train", "--data", tpath("t.csv"),
                              "--label-column", "0", "--epochs", "1", NULL};
        const char *empty[] = {"softmax", "train", "--data", tpath("t.csv"),
                               "--label-column", "3:1", NULL};
        const char *zero[] = {"softmax", "train", "--data", tpath("t.csv"),
                              "--label-column", "2:0", NULL};
        const char *badsep[] = {"softmax", "train", "--data", tpath("t.csv"),
                                "--label-column", "0", "--sep", ";;", NULL};
        f = fopen(tpath("s.csv"), "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "a;b;c;d;label\n");
        for (i = 0; i < NTRAIN; i++) {
            for (k = 0; k < NF; k++)
                fprintf(f, "%.9g;", x[i * NF + k]);
            fprintf(f, "%d\n", y[i]);
        }
        fclose(f);
        run(&r, &softmax_model, mid);
        ck_assert_msg(r.rc == 0, "%s", r.err);
        ck_assert(same_file(tpath("a.st"), tpath("d.st")));
        ck_assert(strstr(r.err, "header row skipped") == NULL);
        run(&r, &softmax_model, semi);
        ck_assert_msg(r.rc == 0, "%s", r.err);
        ck_assert_has(r.out, "accuracy=");
        ck_assert_has(r.err, "s.csv: header row skipped (a;b;c;d;label)\n");
        /* With ',' the rows are one field each: the file's error. */
        run(&r, &softmax_model, comma);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "s.csv: ");
        run(&r, &softmax_model, loud);
        ck_assert_msg(r.rc == 0, "%s", r.err);
        ck_assert_has(r.err, "t.csv: header row skipped (label,a,b,c,d)\n");
        run(&r, &softmax_model, empty);
        ck_assert_int_eq(r.rc, 1);
        ck_assert_has(r.err, "t.csv: label columns 3:1 select none of the 5 "
                             "columns");
        run(&r, &softmax_model, zero);
        ck_assert_int_eq(r.rc, 2);
        ck_assert_has(r.err, "--label-column wants a column N or a range");
        run(&r, &softmax_model, badsep);
        ck_assert_int_eq(r.rc, 2);
        ck_assert_has(r.err, "--sep wants one character");
    }
}
END_TEST

START_TEST(ignore_index_and_sum)
{
    /* Labels equal to ignore_index (-100, outside 0..2) are accepted and
     * left out of the loss, accuracy and the confusion matrix; with
     * reduction = sum the reported loss is the sum over the data set (and
     * over the epoch in training), what PyTorch's loss over all of it
     * would be.  The first batch of 4 is ignored entirely: its NaN mean
     * does not stop training. */
    float x[NTRAIN * NF], probs[NTRAIN * NC], logits[NTRAIN * NC];
    int32_t y[NTRAIN];
    int64_t d[2] = {NTRAIN, NF};
    double sum = 0, acc = 0, conf0 = 0;
    int i, c, k = 0, best;
    Softmax *m;
    Run r;
    NnrtErr e;
    const char *tr[] = {"softmax", "train", "--data", tpath("ig_x.npy"),
                        "--labels", tpath("ig_y.csv"), "--no-shuffle",
                        "--batch", "4", "--epochs", "1", "--save",
                        tpath("ig.st"), NULL};
    const char *ev[] = {"softmax", "eval", "--weights", tpath("ig.st"),
                        "--data", tpath("ig_x.npy"), "--labels",
                        tpath("ig_y.csv"), "--confusion", NULL};
    const char *frozen[] = {"softmax", "train", "--data", tpath("ig_x.npy"),
                            "--labels", tpath("ig_y.csv"), "--init",
                            tpath("ig.st"), "--lr", "1e-30", "--epochs",
                            "1", "--log", tpath("ig.log"), NULL};
    const char *bad[] = {"softmax", "eval", "--weights", tpath("ig.st"),
                         "--data", tpath("ig_x.npy"), "--labels",
                         tpath("ig_bad.csv"), NULL};
    FILE *f;
    char line[512];
    make_data(NTRAIN, 3, x, y);
    for (i = 0; i < NTRAIN; i++)
        if (i < 4 || i % 5 == 0)
            y[i] = -100;
    ck_assert_int_eq(nnrt_save_npy(tpath("ig_x.npy"), x, 2, d, &e), 0);
    write_labels_csv(tpath("ig_y.csv"), NTRAIN, y);
    y[9] = -99;
    write_labels_csv(tpath("ig_bad.csv"), NTRAIN, y);
    y[9] = 9 % NC;
    run(&r, &ignore_mean_model, tr);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    /* What the test computes from the saved weights. */
    m = sm_create(0);
    ck_assert_int_eq(sm_load(m, tpath("ig.st"), &e), 0);
    sm_logits(m, NTRAIN, x, logits, probs);
    for (i = 0; i < NTRAIN; i++) {
        if (y[i] == -100)
            continue;
        sum -= log(probs[i * NC + y[i]]);
        for (best = 0, c = 1; c < NC; c++)
            if (probs[i * NC + c] > probs[i * NC + best])
                best = c;
        acc += best == y[i];
        conf0 += y[i] == 0;
        k++;
    }
    sm_destroy(m);
    run(&r, &ignore_mean_model, ev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(fabs(value_after(r.out, "loss=") - sum / k) < 1e-5);
    ck_assert_msg(fabs(value_after(r.out, "accuracy=") - acc / k) < 1e-4,
                  "%s vs %f", r.out, acc / k);
    /* The confusion matrix counts only the samples not ignored. */
    snprintf(line, sizeof line, "class=0 precision=");
    ck_assert_has(r.out, line);
    ck_assert(fabs(value_after(strstr(r.out, "class=0 "), "support=") -
                   conf0) < 0.5);
    run(&r, &ignore_sum_model, ev);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(fabs(value_after(r.out, "loss=") - sum) < 1e-3 * sum);
    /* Training at lr 1e-30 changes nothing: the epoch's sum, in the
     * progress line, the key=value result and --log, is eval's. */
    run(&r, &ignore_sum_model, frozen);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert(fabs(value_after(r.out, "train_loss=") - sum) < 1e-3 * sum);
    ck_assert(fabs(value_after(r.out, "  loss ") - sum) < 1e-3 * sum);
    f = fopen(tpath("ig.log"), "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_has(line, "epoch,step,lr,seconds,samples_per_sec,train_loss,");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    {
        /* train_loss: the sixth field */
        const char *p = line;
        for (i = 0; i < 5; i++)
            p = strchr(p, ',') + 1;
        ck_assert_msg(fabs(strtod(p, NULL) - sum) < 1e-3 * sum, "%s", line);
    }
    /* Only the ignore_index is let through. */
    run(&r, &ignore_mean_model, bad);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_has(r.err, "ig_bad.csv: label at index 9 is -99");
}
END_TEST

static Suite *driver_suite(void)
{
    Suite *s = suite_create("driver");
    TCase *tc = tcase_create("driver");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, model_gradient);
    tcase_add_test(tc, ignore_index_and_sum);
    tcase_add_test(tc, train_eval_predict);
    tcase_add_test(tc, train_quiet_and_deterministic);
    tcase_add_test(tc, train_steps_replay);
    tcase_add_test(tc, nan_stops_and_keeps_checkpoint);
    tcase_add_test(tc, info);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, bad_data);
    tcase_add_test(tc, steps_cross_epochs);
    tcase_add_test(tc, help_lists_options_and_defaults);
    tcase_add_test(tc, data_shapes_must_match);
    tcase_add_test(tc, uint8_scaling);
    tcase_add_test(tc, predict_csv_output);
    tcase_add_test(tc, progress_shows_lr_and_time);
    tcase_add_test(tc, nonfinite_weights_never_saved);
    tcase_add_test(tc, nonfinite_weights_and_loss_reported);
    tcase_add_test(tc, metrics_by_target_kind);
    tcase_add_test(tc, eval_confusion);
    tcase_add_test(tc, val_split_deterministic);
    tcase_add_test(tc, save_best_and_patience);
    tcase_add_test(tc, resume_is_bit_identical);
    tcase_add_test(tc, several_inputs);
    tcase_add_test(tc, log_csv);
    tcase_add_test(tc, init_partial_and_prefix);
    tcase_add_test(tc, label_column);
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
