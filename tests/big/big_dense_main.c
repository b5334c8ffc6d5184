/* big_dense.nn's one output for 8 samples of 2^24 inputs, alone and as a
 * batch of 8 (the two dense forward paths), against a float64 reference.
 * x and the weights (in [-1/4096, 1/4096], nn.Linear's initialisation for
 * 2^24 inputs) come from a hash, so PyTorch can be given the same; the bias
 * is 0.5.  torch 1.13's nn.Linear (addmm) is 5.4e-6 off on sample 0:
 * TORCH_ERR. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "big_dense.h"
#include "nnrt.h"
#define I 16777216L
#define TORCH_ERR 5.3993901731885785e-06
static uint32_t fmix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}
int main(int argc, char **argv)
{
    NnrtErr err;
    float *x = malloc(8 * I * sizeof *x), *w = malloc(I * sizeof *w), bias = 0.5f, y1[8], y8[8];
    big_dense *m = big_dense_create(1);
    if (argc < 2 || !x || !w || !m) /* argv[1]: where to write the weights */
        return 2;
    for (long i = 0; i < I; i++) {
        x[i] = (float)((double)(fmix((uint32_t)i) >> 8) / 16777216.0);
        w[i] = (float)(((double)(fmix((uint32_t)(i + I)) >> 8) / 16777216.0 * 2 - 1) / 4096);
    }
    for (long s = 1; s < 8; s++) /* the others: x turned by s 1000003 */
        for (long i = 0; i < I; i++)
            x[s * I + i] = x[(i + s * 1000003) % I];
    NnrtStTensor t[2] = {{"out.0.weight", NNRT_F32, 2, {1, I}, w, 0}, {"out.0.bias", NNRT_F32, 1, {1}, &bias, 0}};
    if (nnrt_st_write(argv[1], t, 2, &err) || big_dense_load(m, argv[1])) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    big_dense_forward(m, 8, x, y8);
    int bad = 0;
    for (int s = 0; s < 8; s++) {
        big_dense_forward(m, 1, x + s * I, &y1[s]);
        if (y1[s] != y8[s] || signbit(y1[s]) != signbit(y8[s])) {
            fprintf(stderr, "sample %d: %.9g alone, %.9g in a batch of 8\n", s, y1[s], y8[s]);
            bad = 1;
        }
        printf("%a\n", y1[s]);
    }
    double ref = bias;
    for (long i = 0; i < I; i++)
        ref += (double)x[i] * w[i];
    fprintf(stderr, "sample 0: %.9g, float64 %.9g: off by %.3g (PyTorch by %.3g)\n", y1[0], ref, y1[0] - ref, TORCH_ERR);
    if (!(fabs(y1[0] - ref) <= TORCH_ERR))
        bad = 1;
    return bad;
}
