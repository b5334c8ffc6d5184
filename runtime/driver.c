/*
 * driver.c: the command line of a generated program (spec section 11).
 *
 *   PROG train | eval | predict | info  [options]
 *
 * The driver knows a model only through its NnrtModel: shapes, defaults
 * from the .nn train block, and function pointers.  It owns everything
 * around the model: argument checking, loading and checking data files
 * against the model's shapes, batching and shuffling, progress, test
 * evaluation, checkpoints, and the NaN guard.
 *
 * Guarantees: never crashes on bad arguments or files; exit status 0 ok,
 * 1 training or data failure, 2 usage error; a checkpoint is only ever
 * written from weights whose every step had a finite loss, and always
 * atomically, so after a failure the last good checkpoint is intact.
 */
#include "nnrt_impl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct Ctx {
    const NnrtModel *m;
    const char *prog;
    FILE *out, *errs;
} Ctx;

typedef struct Opts {
    const char *cmd;
    const char *data, *labels, *test_data, *test_labels;
    const char *weights, *output, *init, *save;
    long epochs, batch, steps; /* 0: not given */
    double lr;                 /* 0: not given */
    uint64_t seed;
    int have_seed, no_shuffle, quiet;
} Opts;

/* The data of one data/labels pair, converted for the model. */
typedef struct Data {
    int64_t n;     /* samples */
    float *x;      /* [n, input_numel] */
    int32_t *cls;  /* [n] for CLASS targets */
    float *y;      /* [n, target_numel] for F32 targets */
} Data;

static int fail(const Ctx *c, int status, const char *fmt, ...)
    NNRT_PRINTF(3, 4);

/* "nnc model NAME: message" on the error stream. */
static void say(const Ctx *c, const char *fmt, va_list ap)
{
    fprintf(c->errs, "nnc model %s: ", c->m->name ? c->m->name : "?");
    vfprintf(c->errs, fmt, ap);
    fputc('\n', c->errs);
}

static int fail(const Ctx *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(c, fmt, ap);
    va_end(ap);
    return status;
}

static void usage(const Ctx *c, FILE *f)
{
    const char *p = c->prog;
    fprintf(f,
            "usage: %s train --data X --labels Y [--test-data X2 "
            "--test-labels Y2]\n"
            "         [--epochs N] [--batch N] [--lr F] [--seed N] "
            "[--steps N] [--no-shuffle]\n"
            "         [--init W.safetensors] [--save W.safetensors] "
            "[--quiet]\n"
            "       %s eval --weights W.safetensors --data X --labels Y\n"
            "       %s predict --weights W.safetensors --data X --output "
            "OUT.npy\n"
            "       %s info\n"
            "Data files are .npy, IDX (optionally .gz) or .csv; their first "
            "dimension\ncounts samples.\n",
            p, p, p, p);
}

/* A usage error: the reason, then the usage text, status 2. */
static int bad_usage(const Ctx *c, const char *fmt, ...) NNRT_PRINTF(2, 3);

static int bad_usage(const Ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(c, fmt, ap);
    va_end(ap);
    usage(c, c->errs);
    return EXIT_USAGE;
}

/* ---- arguments ---- */

static int parse_long(const char *s, long lo, long hi, long *v)
{
    char *end;
    long x;
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    x = strtol(s, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *v = x;
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = (uint64_t)x;
    return 0;
}

static int parse_pos_double(const char *s, double *v)
{
    char *end;
    double x;
    if (!s || !*s)
        return -1;
    errno = 0;
    x = strtod(s, &end);
    if (errno || *end || !(x > 0) || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

/* Option table: which command takes which option. */
enum { C_TRAIN = 1, C_EVAL = 2, C_PREDICT = 4 };
typedef struct OptDef {
    const char *name;
    int value; /* takes a value */
    int cmds;  /* C_* mask */
} OptDef;

static const OptDef optdefs[] = {
    {"data", 1, C_TRAIN | C_EVAL | C_PREDICT},
    {"labels", 1, C_TRAIN | C_EVAL},
    {"test-data", 1, C_TRAIN},
    {"test-labels", 1, C_TRAIN},
    {"epochs", 1, C_TRAIN},
    {"batch", 1, C_TRAIN},
    {"lr", 1, C_TRAIN},
    {"seed", 1, C_TRAIN},
    {"steps", 1, C_TRAIN},
    {"no-shuffle", 0, C_TRAIN},
    {"init", 1, C_TRAIN},
    {"save", 1, C_TRAIN},
    {"quiet", 0, C_TRAIN},
    {"weights", 1, C_EVAL | C_PREDICT},
    {"output", 1, C_PREDICT},
};

static int parse_args(const Ctx *c, int argc, char **argv, Opts *o)
{
    int i, cmd;
    memset(o, 0, sizeof *o);
    o->cmd = argv[1];
    cmd = strcmp(o->cmd, "train") == 0     ? C_TRAIN
          : strcmp(o->cmd, "eval") == 0    ? C_EVAL
          : strcmp(o->cmd, "predict") == 0 ? C_PREDICT
                                           : 0;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        size_t len, k;
        const OptDef *d = NULL;
        if (!a || strncmp(a, "--", 2) != 0)
            return bad_usage(c, "unexpected argument '%s'", a ? a : "(null)");
        a += 2;
        eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a) : strlen(a);
        for (k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
            if (strlen(optdefs[k].name) == len &&
                strncmp(optdefs[k].name, a, len) == 0)
                d = &optdefs[k];
        if (!d)
            return bad_usage(c, "unknown option '%s'", argv[i]);
        if (!(d->cmds & cmd))
            return bad_usage(c, "option '--%s' does not apply to '%s'",
                             d->name, o->cmd);
        if (d->value) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc && argv[i + 1])
                val = argv[++i];
            else
                return bad_usage(c, "option '--%s' needs a value", d->name);
        } else if (eq) {
            return bad_usage(c, "option '--%s' takes no value", d->name);
        }
        if (strcmp(d->name, "data") == 0) o->data = val;
        else if (strcmp(d->name, "labels") == 0) o->labels = val;
        else if (strcmp(d->name, "test-data") == 0) o->test_data = val;
        else if (strcmp(d->name, "test-labels") == 0) o->test_labels = val;
        else if (strcmp(d->name, "weights") == 0) o->weights = val;
        else if (strcmp(d->name, "output") == 0) o->output = val;
        else if (strcmp(d->name, "init") == 0) o->init = val;
        else if (strcmp(d->name, "save") == 0) o->save = val;
        else if (strcmp(d->name, "no-shuffle") == 0) o->no_shuffle = 1;
        else if (strcmp(d->name, "quiet") == 0) o->quiet = 1;
        else if (strcmp(d->name, "epochs") == 0) {
            if (parse_long(val, 1, INT_MAX, &o->epochs) < 0)
                return bad_usage(c, "--epochs wants a whole number >= 1, "
                                    "got '%s'", val);
        } else if (strcmp(d->name, "batch") == 0) {
            if (parse_long(val, 1, c->m->max_batch, &o->batch) < 0)
                return bad_usage(c, "--batch wants a whole number in 1..%d "
                                    "(the largest batch this model was "
                                    "compiled for), got '%s'",
                                 c->m->max_batch, val);
        } else if (strcmp(d->name, "steps") == 0) {
            if (parse_long(val, 1, LONG_MAX, &o->steps) < 0)
                return bad_usage(c, "--steps wants a whole number >= 1, "
                                    "got '%s'", val);
        } else if (strcmp(d->name, "lr") == 0) {
            if (parse_pos_double(val, &o->lr) < 0)
                return bad_usage(c, "--lr wants a positive number, got '%s'",
                                 val);
        } else if (strcmp(d->name, "seed") == 0) {
            if (parse_u64(val, &o->seed) < 0)
                return bad_usage(c, "--seed wants a whole number in "
                                    "0..18446744073709551615, got '%s'", val);
            o->have_seed = 1;
        }
        if (val && !*val)
            return bad_usage(c, "option '--%s' has an empty value", d->name);
    }
    return 0;
}

/* ---- data ---- */

static void data_free(Data *d)
{
    free(d->x);
    free(d->cls);
    free(d->y);
    memset(d, 0, sizeof *d);
}

/* Loads samples (and, if ypath, their targets) and checks them against
 * the model: same sample count, per-sample sizes, label range. */
static int load_data(const Ctx *c, const char *xpath, const char *ypath,
                     Data *d)
{
    const NnrtModel *m = c->m;
    NnrtArray a;
    NnrtErr err;
    int64_t per, numel;
    char shape[160], want[160];
    int rc;

    memset(d, 0, sizeof *d);
    if ((rc = nnrt_load_array(xpath, &a, &err)) != 0)
        return fail(c, EXIT_FAIL, "%s", err.msg);
    numel = nnrt_array_numel(&a);
    nnrt__fmt_dims(shape, sizeof shape, a.rank, a.dims);
    if (a.rank < 1 || a.dims[0] == 0) {
        nnrt_array_free(&a);
        return fail(c, EXIT_FAIL, "%s: no samples (shape %s)", xpath, shape);
    }
    d->n = a.dims[0];
    per = numel / d->n;
    if (per != m->input_numel) {
        nnrt_array_free(&a);
        nnrt__fmt_dims(want, sizeof want, m->input_rank, m->input_dims);
        return fail(c, EXIT_FAIL,
                    "%s: shape %s is %lld samples of %lld values, but the "
                    "model's input %s has %lld values per sample",
                    xpath, shape, (long long)d->n, (long long)per, want,
                    (long long)m->input_numel);
    }
    if (d->n > INT32_MAX) {
        nnrt_array_free(&a);
        return fail(c, EXIT_FAIL, "%s: %lld samples is more than %ld",
                    xpath, (long long)d->n, (long)INT32_MAX);
    }
    rc = nnrt_array_to_f32(&a, &d->x, &err);
    nnrt_array_free(&a);
    if (rc)
        return fail(c, EXIT_FAIL, "%s: %s", xpath, err.msg);
    if (!ypath)
        return 0;

    if ((rc = nnrt_load_array(ypath, &a, &err)) != 0) {
        data_free(d);
        return fail(c, EXIT_FAIL, "%s", err.msg);
    }
    numel = nnrt_array_numel(&a);
    nnrt__fmt_dims(shape, sizeof shape, a.rank, a.dims);
    if (a.rank < 1 || a.dims[0] != d->n) {
        rc = fail(c, EXIT_FAIL,
                  "%s has %lld samples but %s has %lld %s (shape %s)", xpath,
                  (long long)d->n, ypath,
                  (long long)(a.rank < 1 ? 0 : a.dims[0]),
                  m->target_kind == NNRT_TARGET_CLASS ? "labels" : "targets",
                  shape);
        goto out;
    }
    per = numel / d->n;
    if (m->target_kind == NNRT_TARGET_CLASS) {
        if (per != 1) {
            rc = fail(c, EXIT_FAIL,
                      "%s: shape %s has %lld values per sample; class labels "
                      "need one integer per sample",
                      ypath, shape, (long long)per);
            goto out;
        }
        if (m->target_numel > INT_MAX) {
            rc = fail(c, EXIT_FAIL, "too many classes");
            goto out;
        }
        if (nnrt_array_to_labels(&a, &d->cls, (int)m->target_numel, &err)) {
            rc = fail(c, EXIT_FAIL, "%s: %s", ypath, err.msg);
            goto out;
        }
    } else {
        if (per != m->target_numel) {
            rc = fail(c, EXIT_FAIL,
                      "%s: shape %s has %lld values per sample, the model's "
                      "target has %lld",
                      ypath, shape, (long long)per,
                      (long long)m->target_numel);
            goto out;
        }
        if (nnrt_array_to_f32(&a, &d->y, &err)) {
            rc = fail(c, EXIT_FAIL, "%s: %s", ypath, err.msg);
            goto out;
        }
    }
    rc = 0;
out:
    nnrt_array_free(&a);
    if (rc)
        data_free(d);
    return rc;
}

/* Index of the largest of v[0..n-1] (the first on ties, as torch.argmax). */
static int64_t argmax(const float *v, int64_t n)
{
    int64_t i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static int64_t count_correct(const float *logits, int64_t width,
                             const int32_t *labels, int n)
{
    int64_t correct = 0;
    int i;
    for (i = 0; i < n; i++)
        correct += argmax(logits + (int64_t)i * width, width) == labels[i];
    return correct;
}

/* Accuracy is argmax of the model output against the label, meaningful
 * when the output has one score per class. */
static int has_accuracy(const NnrtModel *m)
{
    return m->target_kind == NNRT_TARGET_CLASS &&
           m->output_numel == m->target_numel;
}

/* Mean loss and accuracy (-1 if not applicable) over a whole data set, in
 * eval mode, in batches of max_batch. */
static int evaluate(const Ctx *c, void *model, const Data *d, double *loss,
                    double *acc)
{
    const NnrtModel *m = c->m;
    float *logits = malloc((size_t)m->max_batch * (size_t)m->output_numel *
                           sizeof *logits);
    double sum = 0;
    int64_t i, correct = 0;
    if (!logits)
        return fail(c, EXIT_FAIL, "out of memory for evaluation");
    for (i = 0; i < d->n; i += m->max_batch) {
        int nb = (int)(d->n - i < m->max_batch ? d->n - i : m->max_batch);
        const void *t = m->target_kind == NNRT_TARGET_CLASS
                            ? (const void *)(d->cls + i)
                            : (const void *)(d->y + i * m->target_numel);
        float l = m->eval_loss(model, nb, d->x + i * m->input_numel, t,
                               logits);
        sum += (double)l * nb;
        if (has_accuracy(m))
            correct += count_correct(logits, m->output_numel, d->cls + i, nb);
    }
    free(logits);
    *loss = sum / (double)d->n;
    *acc = has_accuracy(m) ? (double)correct / (double)d->n : -1;
    return 0;
}

/* ---- commands ---- */

static void *create_model(const Ctx *c, uint64_t seed)
{
    void *model = c->m->create(seed);
    if (!model)
        fail(c, EXIT_FAIL, "out of memory creating the model");
    return model;
}

static int load_weights(const Ctx *c, void *model, const char *path)
{
    NnrtErr err;
    if (c->m->load(model, path, &err) != 0)
        return fail(c, EXIT_FAIL, "%s", err.msg);
    return 0;
}

static int cmd_train(const Ctx *c, const Opts *o)
{
    const NnrtModel *m = c->m;
    Data tr, te;
    NnrtRng rng;
    NnrtProgress pg;
    NnrtErr err;
    void *model = NULL;
    int32_t *perm = NULL;
    float *xb = NULL, *yb = NULL;
    int32_t *cb = NULL;
    int batch, epochs, shuffle, rc = EXIT_FAIL, epoch;
    uint64_t seed;
    int64_t steps_per_epoch, global = 0, i, samples = 0;
    double train_time = 0, test_loss = 0, test_acc = -1, train_loss = 0;
    int have_test = o->test_data != NULL;

    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    batch = o->batch ? (int)o->batch
            : (m->train_batch >= 1 && m->train_batch <= m->max_batch)
                ? m->train_batch : m->max_batch;
    epochs = o->epochs ? (int)o->epochs
             : m->train_epochs >= 1 ? m->train_epochs : 1;
    shuffle = m->train_shuffle && !o->no_shuffle;
    seed = o->have_seed ? o->seed : m->train_seed;

    if (load_data(c, o->data, o->labels, &tr))
        return EXIT_FAIL;
    if (have_test && load_data(c, o->test_data, o->test_labels, &te))
        goto done;
    model = create_model(c, seed);
    if (!model)
        goto done;
    if (o->init && load_weights(c, model, o->init))
        goto done;
    if (o->lr > 0 && m->set_lr)
        m->set_lr(model, o->lr);

    perm = malloc((size_t)tr.n * sizeof *perm);
    xb = malloc((size_t)batch * (size_t)m->input_numel * sizeof *xb);
    if (m->target_kind == NNRT_TARGET_CLASS)
        cb = malloc((size_t)batch * sizeof *cb);
    else
        yb = malloc((size_t)batch * (size_t)m->target_numel * sizeof *yb);
    if (!perm || !xb || (!cb && !yb)) {
        fail(c, EXIT_FAIL, "out of memory for batches");
        goto done;
    }
    nnrt_rng_seed(&rng, seed);
    steps_per_epoch = (tr.n + batch - 1) / batch;

    for (epoch = 1; epoch <= epochs; epoch++) {
        int64_t step;
        int stop = 0;
        char extra[128] = "";
        double t0;
        for (i = 0; i < tr.n; i++)
            perm[i] = (int32_t)i;
        if (shuffle)
            nnrt_rng_shuffle(&rng, perm, tr.n);
        nnrt_progress_begin(&pg, c->out, epoch, epochs, steps_per_epoch,
                            o->quiet);
        t0 = nnrt_seconds();
        for (step = 0; step < steps_per_epoch; step++) {
            int64_t first = step * batch;
            int nb = (int)(tr.n - first < batch ? tr.n - first : batch), k;
            const void *target;
            float loss;
            int64_t correct = -1;
            /* Gather the batch: the model takes contiguous rows. */
            for (k = 0; k < nb; k++) {
                int64_t s = perm[first + k];
                memcpy(xb + (int64_t)k * m->input_numel,
                       tr.x + s * m->input_numel,
                       (size_t)m->input_numel * sizeof *xb);
                if (cb)
                    cb[k] = tr.cls[s];
                else
                    memcpy(yb + (int64_t)k * m->target_numel,
                           tr.y + s * m->target_numel,
                           (size_t)m->target_numel * sizeof *yb);
            }
            target = cb ? (const void *)cb : (const void *)yb;
            loss = m->train_step(model, nb, xb, target);
            global++;
            if (!isfinite(loss)) {
                if (pg.tty && !pg.quiet)
                    fputc('\n', c->out);
                fail(c, EXIT_FAIL,
                     "loss is %s at epoch %d, step %lld (step %lld "
                     "overall); stopped without saving these weights",
                     isnan(loss) ? "NaN" : "infinite", epoch,
                     (long long)step + 1, (long long)global);
                if (o->save && epoch > 1)
                    fprintf(c->errs, "%s keeps the weights of epoch %d\n",
                            o->save, epoch - 1);
                goto done;
            }
            if (cb && m->train_logits && m->output_numel == m->target_numel) {
                const float *lg = m->train_logits(model);
                if (lg)
                    correct = count_correct(lg, m->target_numel, cb, nb);
            }
            nnrt_progress_update(&pg, nb, loss, correct);
            samples += nb;
            if (o->steps && global >= o->steps) {
                stop = 1;
                break;
            }
        }
        train_time += nnrt_seconds() - t0;
        train_loss = nnrt_progress_loss(&pg);
        if (!stop && m->epoch_end)
            m->epoch_end(model); /* the schedule steps on whole epochs */
        if (have_test) {
            if (evaluate(c, model, &te, &test_loss, &test_acc))
                goto done;
            if (test_acc >= 0)
                snprintf(extra, sizeof extra,
                         "test_loss %.4f  test_acc %.4f", test_loss,
                         test_acc);
            else
                snprintf(extra, sizeof extra, "test_loss %.4f", test_loss);
        }
        nnrt_progress_end(&pg, extra);
        if (o->save && m->save(model, o->save, &err) != 0) {
            fail(c, EXIT_FAIL, "%s", err.msg);
            goto done;
        }
        if (stop)
            break;
    }
    fprintf(c->out, "train_loss=%.6f\n", train_loss);
    if (have_test) {
        fprintf(c->out, "test_loss=%.6f\n", test_loss);
        if (test_acc >= 0)
            fprintf(c->out, "test_accuracy=%.4f\n", test_acc);
    }
    fprintf(c->out, "samples_per_sec=%.1f\n",
            train_time > 0 ? (double)samples / train_time : 0.0);
    rc = EXIT_OK;
done:
    if (model)
        m->destroy(model);
    free(perm);
    free(xb);
    free(yb);
    free(cb);
    data_free(&tr);
    data_free(&te);
    return rc;
}

static int cmd_eval(const Ctx *c, const Opts *o)
{
    Data d;
    void *model;
    double loss, acc;
    int rc = EXIT_FAIL;
    if (load_data(c, o->data, o->labels, &d))
        return EXIT_FAIL;
    model = create_model(c, c->m->train_seed);
    if (model && load_weights(c, model, o->weights) == 0 &&
        evaluate(c, model, &d, &loss, &acc) == 0) {
        if (acc >= 0)
            fprintf(c->out, "loss=%.6f accuracy=%.4f\n", loss, acc);
        else
            fprintf(c->out, "loss=%.6f\n", loss);
        rc = EXIT_OK;
    }
    if (model)
        c->m->destroy(model);
    data_free(&d);
    return rc;
}

static int cmd_predict(const Ctx *c, const Opts *o)
{
    const NnrtModel *m = c->m;
    Data d;
    void *model;
    float *out = NULL;
    int rc = EXIT_FAIL, k;
    int64_t dims[NNRT_MAX_RANK], i;
    NnrtErr err;

    if (m->output_rank + 1 > NNRT_MAX_RANK)
        return fail(c, EXIT_FAIL, "output of rank %d is too large to save",
                    m->output_rank);
    if (load_data(c, o->data, NULL, &d))
        return EXIT_FAIL;
    model = create_model(c, m->train_seed);
    if (!model || load_weights(c, model, o->weights))
        goto done;
    out = malloc((size_t)d.n * (size_t)m->output_numel * sizeof *out);
    if (!out) {
        fail(c, EXIT_FAIL, "out of memory for %lld outputs", (long long)d.n);
        goto done;
    }
    for (i = 0; i < d.n; i += m->max_batch) {
        int nb = (int)(d.n - i < m->max_batch ? d.n - i : m->max_batch);
        m->forward(model, nb, d.x + i * m->input_numel,
                   out + i * m->output_numel);
    }
    dims[0] = d.n;
    for (k = 0; k < m->output_rank; k++)
        dims[k + 1] = m->output_dims[k];
    if (nnrt_save_npy(o->output, out, m->output_rank + 1, dims, &err)) {
        fail(c, EXIT_FAIL, "%s", err.msg);
        goto done;
    }
    rc = EXIT_OK;
done:
    if (model)
        m->destroy(model);
    free(out);
    data_free(&d);
    return rc;
}

static int cmd_info(const Ctx *c)
{
    const NnrtModel *m = c->m;
    char dims[160];
    int i;
    int64_t total = 0, trainable = 0;
    size_t bytes = 0, w = 4;
    FILE *f = c->out;

    fprintf(f, "model %s", m->name);
    if (m->source)
        fprintf(f, " (compiled from %s)", m->source);
    fprintf(f, "\ninput    f32 %s, %lld values per sample\n",
            nnrt__fmt_dims(dims, sizeof dims, m->input_rank, m->input_dims),
            (long long)m->input_numel);
    if (m->target_kind == NNRT_TARGET_CLASS)
        fprintf(f, "target   class[%lld] (int32 labels)\n",
                (long long)m->target_numel);
    else if (m->target_kind == NNRT_TARGET_F32)
        fprintf(f, "target   f32, %lld values per sample\n",
                (long long)m->target_numel);
    else
        fprintf(f, "target   none (inference only)\n");
    fprintf(f, "output   f32 %s, %lld values per sample\n",
            nnrt__fmt_dims(dims, sizeof dims, m->output_rank, m->output_dims),
            (long long)m->output_numel);
    for (i = 0; i < m->nparams; i++)
        if (strlen(m->params[i].name) > w)
            w = strlen(m->params[i].name);
    fprintf(f, "parameters:\n");
    for (i = 0; i < m->nparams; i++) {
        const NnrtParamDesc *p = &m->params[i];
        int64_t n = nnrt_param_numel(p);
        fprintf(f, "  %-*s  %-3s %-20s %12lld%s\n", (int)w, p->name,
                nnrt_dtype_name(p->dtype),
                nnrt__fmt_dims(dims, sizeof dims, p->rank, p->dims),
                (long long)n, p->trainable ? "" : "  (buffer)");
        total += n;
        if (p->trainable)
            trainable += n;
        bytes += (size_t)n * nnrt_dtype_size(p->dtype);
    }
    fprintf(f, "total parameters: %lld (%lld trainable), %zu bytes\n",
            (long long)total, (long long)trainable, bytes);
    fprintf(f, "arena bytes: %zu\n", m->arena_bytes);
    fprintf(f, "forward FLOPs per sample: %.0f\n", m->flops_per_sample);
    fprintf(f, "max batch: %d\n", m->max_batch);
    if (m->target_kind != NNRT_TARGET_NONE)
        fprintf(f,
                "train defaults: batch %d, epochs %d, shuffle %s, seed "
                "%llu, lr %g\n",
                m->train_batch, m->train_epochs,
                m->train_shuffle ? "true" : "false",
                (unsigned long long)m->train_seed, m->lr);
    return EXIT_OK;
}

int nnrt_main_io(const NnrtModel *model, int argc, char **argv, FILE *out,
                 FILE *errs)
{
    Ctx c;
    Opts o;
    int rc, trains;
    const char *slash;

    c.m = model;
    c.out = out ? out : stdout;
    c.errs = errs ? errs : stderr;
    c.prog = argc > 0 && argv && argv[0] ? argv[0] : "PROG";
    slash = strrchr(c.prog, '/');
    if (slash && slash[1])
        c.prog = slash + 1;
    if (!model)
        return EXIT_USAGE;
    if (argc < 2 || !argv || !argv[1])
        return bad_usage(&c, "no command given");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(&c, c.out);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "info") == 0) {
        if (argc > 2)
            return bad_usage(&c, "'info' takes no arguments");
        return cmd_info(&c);
    }
    if (strcmp(argv[1], "train") && strcmp(argv[1], "eval") &&
        strcmp(argv[1], "predict"))
        return bad_usage(&c, "unknown command '%s'", argv[1]);
    if ((rc = parse_args(&c, argc, argv, &o)) != 0)
        return rc;

    trains = strcmp(o.cmd, "predict") != 0;
    if (trains && (model->target_kind == NNRT_TARGET_NONE ||
                   !model->train_step || !model->eval_loss))
        return bad_usage(&c, "this model has no loss, so it cannot '%s'; "
                             "it supports predict and info",
                         o.cmd);
    if (!o.data)
        return bad_usage(&c, "'%s' needs --data", o.cmd);
    if (strcmp(o.cmd, "predict") != 0 && !o.labels)
        return bad_usage(&c, "'%s' needs --labels", o.cmd);
    if (strcmp(o.cmd, "train") != 0 && !o.weights)
        return bad_usage(&c, "'%s' needs --weights", o.cmd);
    if (strcmp(o.cmd, "predict") == 0 && !o.output)
        return bad_usage(&c, "'predict' needs --output");
    if (!o.test_data != !o.test_labels)
        return bad_usage(&c, "--test-data and --test-labels go together");

    if (strcmp(o.cmd, "train") == 0)
        return cmd_train(&c, &o);
    if (strcmp(o.cmd, "eval") == 0)
        return cmd_eval(&c, &o);
    return cmd_predict(&c, &o);
}

int nnrt_main(const NnrtModel *model, int argc, char **argv)
{
    return nnrt_main_io(model, argc, argv, stdout, stderr);
}
