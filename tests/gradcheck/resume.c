/*
 * resume.c: a model's training state restores to the same bits, through
 * the generated NnrtModel descriptor (version 2) alone, as the driver's
 * --checkpoint/--resume will use it.
 *
 * Model A trains K1 one-step epochs (so the schedule moves) and K2 more
 * steps into the next epoch.  Its parameters (save) and every state
 * tensor (state_ptr) are copied into model B, created from another seed
 * (other weights, another RNG stream).  Then A and B both train K3 steps,
 * the first ending that epoch and the rest one-step epochs: every loss,
 * every learning rate (get_lr), the prediction buffer (pred) and the
 * final parameters must agree bit for
 * bit.  A control model C gets the parameters only: when the model has
 * optimizer slots, C must differ (else the test would prove nothing).
 * Also: the _n wrappers agree with the single-input ones, and forward_n
 * with eval_loss_n's output.  Several inputs are driven through the _n
 * wrappers only.
 *
 *   cc -std=c99 -DMODEL_DESC=NAME_model -Iruntime resume.c DIR/NAME.c libnnrt.a -lz -lm
 *   ./resume TMPDIR
 * Exit status 0 when everything agrees, 1 otherwise.
 */
#include "nnrt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const NnrtModel MODEL_DESC;
#define M (&MODEL_DESC)

#define B 4     /* samples per step */
#define K1 3
#define K2 2
#define K3 5
#define NBATCH (K1 + K2 + K3)

static uint64_t lcg = 88172645463325252ull;

static double rnd(void)
{
    lcg ^= lcg << 13;
    lcg ^= lcg >> 7;
    lcg ^= lcg << 17;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

static float *xs_data[16];     /* per input: [NBATCH * B, numel] */
static int32_t tc[NBATCH * B];
static float *tf;

static int nb(void) { return M->max_batch < B ? M->max_batch : B; }

static const void *target(int k)
{
    return M->target_kind == NNRT_TARGET_CLASS ? (const void *)(tc + k * nb())
                                               : (const void *)(tf + (size_t)k * nb() * M->target_numel);
}

static void batch(int k, const float **xs)
{
    for (int i = 0; i < M->ninputs; i++)
        xs[i] = xs_data[i] + (size_t)k * nb() * M->inputs[i].numel;
}

static float step(void *m, int k)
{
    const float *xs[16];
    batch(k, xs);
    return M->train_step_n(m, nb(), xs, target(k));
}

static void epoch_end(void *m, double loss)
{
    if (M->epoch_end_loss)
        M->epoch_end_loss(m, loss);
    else
        M->epoch_end(m);
}

static int fails;

static void check(int ok, const char *what, int k)
{
    if (!ok) {
        printf("FAIL %s (step %d)\n", what, k);
        fails++;
    }
}

/* The whole file, malloc()ed; *len its size. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "resume: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int same_params(void *a, void *b, const char *dir)
{
    char pa[512], pb[512];
    NnrtErr err;
    size_t la, lb;
    snprintf(pa, sizeof pa, "%s/a.safetensors", dir);
    snprintf(pb, sizeof pb, "%s/b.safetensors", dir);
    if (M->save(a, pa, &err) < 0 || M->save(b, pb, &err) < 0) {
        fprintf(stderr, "resume: %s\n", err.msg);
        exit(2);
    }
    unsigned char *fa = slurp(pa, &la), *fb = slurp(pb, &lb);
    int same = la == lb && memcmp(fa, fb, la) == 0;
    free(fa);
    free(fb);
    return same;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[512];
    NnrtErr err;
    if (M->ninputs < 1 || M->ninputs > 16 || !M->train_step_n || !M->state_ptr || !M->get_lr) {
        printf("FAIL descriptor: no version-2 training fields\n");
        return 1;
    }
    int n = nb();
    for (int i = 0; i < M->ninputs; i++) {
        size_t len = (size_t)NBATCH * n * M->inputs[i].numel;
        xs_data[i] = malloc(len * sizeof(float));
        for (size_t j = 0; j < len; j++)
            xs_data[i][j] = (float)(rnd() * 2 - 1);
    }
    for (int s = 0; s < NBATCH * n; s++)
        tc[s] = (int32_t)(rnd() * (double)M->target_numel);
    tf = malloc((size_t)NBATCH * n * M->target_numel * sizeof(float));
    for (size_t j = 0; j < (size_t)NBATCH * n * M->target_numel; j++)
        tf[j] = (float)rnd();

    void *a = M->create(3), *b = M->create(1234), *c = M->create(1234);
    if (!a || !b || !c)
        return 2;

    /* the _n wrappers against the single-input API */
    if (M->ninputs == 1 && M->train_step && M->forward) {
        void *a2 = M->create(3);
        const float *xs[16];
        batch(0, xs);
        float l1 = M->train_step(a2, n, xs[0], target(0));
        float l2 = step(a, 0);
        check(memcmp(&l1, &l2, sizeof l1) == 0, "train_step_n differs from train_step", 0);
        M->destroy(a2);
        M->destroy(a);
        a = M->create(3);
    }

    int k = 0;
    for (; k < K1; k++)
        epoch_end(a, step(a, k)); /* short epochs: the schedule moves */
    for (; k < K1 + K2; k++)
        step(a, k);

    /* checkpoint: parameters through save/load, state through state_ptr */
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    if (M->save(a, path, &err) < 0 || M->load(b, path, &err) < 0 || M->load(c, path, &err) < 0) {
        fprintf(stderr, "resume: %s\n", err.msg);
        return 2;
    }
    int slots = 0;
    for (int i = 0; i < M->nstate; i++) {
        const NnrtParamDesc *d = &M->state[i];
        size_t bytes = (size_t)nnrt_param_numel(d) * nnrt_dtype_size(d->dtype);
        memcpy(M->state_ptr(b, i), M->state_ptr(a, i), bytes);
        slots += d->name[0] != '_' && nnrt_param_numel(d) > 0;
    }

    int differs = 0;
    for (; k < NBATCH; k++) {
        double lra = M->get_lr(a), lrb = M->get_lr(b);
        check(memcmp(&lra, &lrb, sizeof lra) == 0, "get_lr differs", k);
        float la = step(a, k), lb = step(b, k), lc = step(c, k);
        check(memcmp(&la, &lb, sizeof la) == 0, "loss differs", k);
        differs |= memcmp(&la, &lc, sizeof la) != 0;
        if (M->pred)
            check(memcmp(M->pred(a), M->pred(b), (size_t)n * M->target_numel * sizeof(float)) == 0,
                  "pred differs", k);
        if (k != K1 + K2) {
            epoch_end(a, la);
            epoch_end(b, lb);
            epoch_end(c, lc);
        }
    }
    check(same_params(a, b, dir), "parameters differ after the resumed steps", k);
    differs |= !same_params(a, c, dir);
    if (slots > 0)
        check(differs, "restoring the parameters alone already gives the same bits: the state is not tested", k);

    /* forward_n is eval_loss_n's output, and pred is the loss's input */
    if (M->forward_n && M->eval_loss_n) {
        const float *xs[16];
        float *o1 = malloc((size_t)n * M->output_numel * sizeof(float));
        float *o2 = malloc((size_t)n * M->output_numel * sizeof(float));
        batch(0, xs);
        M->forward_n(a, n, xs, o1);
        float l = M->eval_loss_n(a, n, xs, target(0), o2);
        check(memcmp(o1, o2, (size_t)n * M->output_numel * sizeof(float)) == 0, "forward_n differs from eval_loss_n",
              0);
        check(isfinite(l), "eval_loss_n is not finite", 0);
        free(o1);
        free(o2);
    }
    printf("%s: %d state tensors (%d optimizer slots), %d steps resumed: %s\n", M->name, M->nstate, slots,
           K3, fails ? "FAILED" : "bit-identical");
    M->destroy(a);
    M->destroy(b);
    M->destroy(c);
    return fails ? 1 : 0;
}
