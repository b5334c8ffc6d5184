/* One SGD step of big_pool.nn against a float64 reference: every 2 x 2
 * window's maximum is its top right pixel, at an odd offset in the plane,
 * which a float cannot hold beyond 2^24 (the last rows); the prelu slope's
 * gradient reads x where each maximum came from. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "big_pool.h"
#include "nnrt.h"
#define S 4098
static const float *tensor(const NnrtSafetensors *st, const char *name)
{
    const NnrtStTensor *t = nnrt_st_find(st, name);
    if (!t) {
        fprintf(stderr, "no tensor %s\n", name);
        exit(2);
    }
    return t->data;
}
int main(int argc, char **argv)
{
    NnrtSafetensors a, b;
    NnrtErr err;
    float *x = malloc((size_t)S * S * sizeof *x), y = 1.0f;
    big_pool *m = big_pool_create(3);
    if (argc != 3 || !x || !m || big_pool_save(m, argv[1]) || nnrt_st_read(argv[1], &a, &err))
        return 2;
    /* faint everywhere but the last 8 rows, so the pixels past 2^24 weigh */
    for (size_t r = 0; r < S; r++)
        for (size_t c = 0; c < S; c++)
            x[r * S + c] = (r >= S - 8 ? -1.0f : -0.001f) * (r % 2 == 0 && c % 2 == 1 ? 0.5f : 1.0f);
    big_pool_train_step(m, 1, x, &y);
    if (big_pool_save(m, argv[2]) || nnrt_st_read(argv[2], &b, &err))
        return 2;
    const float *w = tensor(&a, "out.3.weight"), *bias = tensor(&a, "out.3.bias");
    double slope = tensor(&a, "out.0.weight")[0], out = bias[0], dslope = 0;
    for (size_t i = 0; i < (size_t)(S / 2) * (S / 2); i++) {
        size_t r = i / (S / 2) * 2, c = i % (S / 2) * 2 + 1; /* the window's maximum */
        out += (double)w[i] * slope * x[r * S + c];
    }
    double g = 2 * (out - y); /* mse's gradient, one element */
    for (size_t i = 0; i < (size_t)(S / 2) * (S / 2); i++) {
        size_t r = i / (S / 2) * 2, c = i % (S / 2) * 2 + 1;
        dslope += g * w[i] * x[r * S + c];
    }
    double want = slope - 0.5 * dslope, got = tensor(&b, "out.0.weight")[0];
    printf("prelu slope after one step: %.9g, float64 reference %.9g (step %.3g)\n", got, want, want - slope);
    return !(fabs(got - want) <= 1e-4 * fabs(want - slope));
}
