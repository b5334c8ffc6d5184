/*
 * gradcheck.c: the generated backward pass against central finite
 * differences, in a double-precision build of the generated code.
 *
 * Built once per model: the generated NAME.c is included with NNC_DOUBLE,
 * so every kernel computes in double and exposes gc_params[] (where each
 * trainable parameter and its gradient live in the arena).  For each
 * parameter, up to SAMPLES elements p are checked:
 *
 *   (L(p + h) - L(p - h)) / 2h  ~  dL/dp from run_backward,
 *
 * with h = 1e-6 and random inputs and targets, so a wrong gradient rule
 * (a transposed index, a missing term, a wrong 1/n) shows as a relative
 * error of order one, while the check's own error is about 1e-9.  They
 * agree when |fd - analytic| <= 1e-4 (|fd| + |analytic|) + 1e-8.
 *   cc -DNNC_DOUBLE -DMODEL_C='"dir/NAME.c"' -Idir -Iruntime gradcheck.c libnnrt.a -lz -lm
 */
#include MODEL_C

#include <stdio.h>
#include <stdlib.h>

#define SAMPLES 12
#define BATCH 3

static uint64_t lcg = 88172645463325252ull;

static double rnd(void)
{
    lcg ^= lcg << 13;
    lcg ^= lcg >> 7;
    lcg ^= lcg << 17;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

/* The random stream as it was for the analytic gradient, so dropout and
 * rrelu draw the same masks for every evaluation. */
static NnrtRng rng0;

static double loss(gc_model *m, const double *x, const void *t)
{
    m->rng = rng0;
    run_loss(m, BATCH, x, t);
    return m->a[GC_LOSS_AT];
}

int main(void)
{
    gc_model *m = GC_CREATE(7);
    static double x[BATCH * GC_INPUT_NUMEL];
    static double tf[BATCH * GC_TARGET_NUMEL];
    static int32_t tc[BATCH];
    const void *t = GC_TARGET_CLASSES ? (const void *)tc : (const void *)tf;
    int bad = 0, checked = 0;
    if (!m) {
        fprintf(stderr, "gradcheck: out of memory\n");
        return 2;
    }
    for (int i = 0; i < BATCH * GC_INPUT_NUMEL; i++)
        x[i] = rnd() * 2 - 1;
    for (int i = 0; i < BATCH; i++)
        tc[i] = GC_TARGET_CLASSES ? (int32_t)(rnd() * GC_TARGET_CLASSES) : 0;
    for (int i = 0; i < BATCH * GC_TARGET_NUMEL; i++)
        tf[i] = rnd(); /* probabilities need not sum to one for the gradient */

    /* Perturb the weights a little so no ReLU sits at 0 and no two pooled
     * values tie, where the derivative is not defined. */
    for (int k = 0; k < GC_NPARAMS; k++)
        for (size_t i = 0; i < gc_params[k].numel; i++)
            m->a[gc_params[k].param + i] += 1e-3 * (rnd() - 0.5);

    rng0 = m->rng;
    run_loss(m, BATCH, x, t);
    run_backward(m, BATCH, x, t);
    size_t total = 0;
    for (int k = 0; k < GC_NPARAMS; k++)
        total += gc_params[k].numel;
    double *g = malloc(total * sizeof *g);
    if (!g)
        return 2;
    size_t at = 0;
    for (int k = 0; k < GC_NPARAMS; k++)
        for (size_t i = 0; i < gc_params[k].numel; i++)
            g[at++] = m->a[gc_params[k].grad + i];

    at = 0;
    for (int k = 0; k < GC_NPARAMS; k++) {
        size_t n = gc_params[k].numel;
        double worst = 0;
        for (int s = 0; s < SAMPLES && s < (int)n; s++) {
            size_t i = n <= SAMPLES ? (size_t)s : (size_t)(rnd() * (double)n);
            double *p = &m->a[gc_params[k].param + i], p0 = *p, h = 1e-6;
            *p = p0 + h;
            double lp = loss(m, x, t);
            *p = p0 - h;
            double lm = loss(m, x, t);
            *p = p0;
            double fd = (lp - lm) / (2 * h), an = g[at + i];
            /* Relative error, with an absolute floor far above the
             * difference quotient's rounding (about 1e-16 / h times the
             * loss) and far below any gradient a wrong rule would give. */
            double diff = fabs(fd - an), err = diff / (fabs(fd) + fabs(an) + 1e-30);
            if (diff > 1e-8 && err > worst)
                worst = err;
            checked++;
            if (diff > 1e-4 * (fabs(fd) + fabs(an)) + 1e-8) {
                printf("  %s[%zu]: analytic %.10g, finite difference %.10g\n", gc_params[k].name, i, an, fd);
                bad++;
            }
        }
        printf("%-24s worst relative error %.2e\n", gc_params[k].name, worst);
        at += n;
    }
    free(g);
    GC_DESTROY(m);
    printf("%d of %d gradient elements agree\n", checked - bad, checked);
    return bad ? 1 : 0;
}
