/*
 * two_inputs.c: the C API of a model with two inputs, as a program that
 * embeds it calls it: two_inputs_forward(m, n, a, b, out) and the
 * descriptor's forward_n agree; the learning rate the next step uses
 * (get_lr) follows warmup = 3 and plateau(factor = 0.5, patience = 0)
 * exactly, through epoch_end_loss and through epoch_end (the mean of the
 * epoch's train_step losses).
 *   cc -std=c99 -Iruntime -IDIR two_inputs.c DIR/two_inputs.c libnnrt.a -lz -lm
 */
#include "two_inputs.h"
#include "nnrt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

extern const NnrtModel two_inputs_model;

static int fails;

static void expect_lr(const two_inputs *m, double want, const char *when)
{
    double got = two_inputs_get_lr(m), viadesc = two_inputs_model.get_lr(m);
    if (got != want || viadesc != want) {
        printf("FAIL: lr %s is %.17g (descriptor %.17g), want %.17g\n", when, got, viadesc, want);
        fails++;
    }
}

int main(void)
{
    enum { N = 4 };
    float a[N * 6], b[N * 16], o1[N * 3], o2[N * 3];
    int32_t y[N] = {0, 1, 2, 1};
    two_inputs *m = two_inputs_create(5);
    if (!m)
        return 2;
    for (int i = 0; i < N * 6; i++)
        a[i] = (float)sin(0.3 * i);
    for (int i = 0; i < N * 16; i++)
        b[i] = (float)cos(0.7 * i);

    const float *xs[2] = {a, b};
    two_inputs_forward(m, N, a, b, o1);
    two_inputs_model.forward_n(m, N, xs, o2);
    if (memcmp(o1, o2, sizeof o1) != 0) {
        printf("FAIL: forward_n differs from two_inputs_forward\n");
        fails++;
    }
    if (two_inputs_model.ninputs != 2 || strcmp(two_inputs_model.inputs[1].name, "b") != 0 ||
        two_inputs_model.inputs[1].numel != 16 || two_inputs_model.inputs[1].rank != 3 ||
        two_inputs_model.loss_kind != NNRT_LOSS_CROSS_ENTROPY || two_inputs_model.forward) {
        printf("FAIL: descriptor fields (ninputs, inputs, loss_kind, no single-input forward)\n");
        fails++;
    }

    expect_lr(m, 0.01 * (1.0 / 3.0), "of step 1 (warm-up 1/3)");
    float l1 = two_inputs_train_step(m, N, a, b, y);
    expect_lr(m, 0.01 * (2.0 / 3.0), "of step 2 (warm-up 2/3)");
    two_inputs_train_step(m, N, a, b, y);
    expect_lr(m, 0.01, "of step 3 (warm-up over)");
    two_inputs_epoch_end_loss(m, 1.0);          /* best 1 */
    expect_lr(m, 0.01, "after an improving epoch");
    two_inputs_epoch_end_loss(m, 0.99995);      /* within threshold 1e-4: bad */
    expect_lr(m, 0.005, "after an epoch within the threshold (patience 0)");
    two_inputs_epoch_end_loss(m, 0.5);          /* better */
    expect_lr(m, 0.005, "after a better epoch");
    /* epoch_end: the mean of this epoch's train_step losses, 2 steps */
    float l2 = two_inputs_train_step(m, N, a, b, y);
    float l3 = two_inputs_train_step(m, N, a, b, y);
    two_inputs_epoch_end(m);
    double mean = ((double)l2 * N + (double)l3 * N) / (2.0 * N);
    expect_lr(m, mean < 0.5 * (1 - 1e-4) ? 0.005 : 0.0025, "after epoch_end on the training loss");
    printf("two_inputs: losses %.6g %.6g %.6g, epoch mean %.6g%s\n", l1, l2, l3, mean, fails ? ", FAILED" : "");
    two_inputs_destroy(m);
    return fails != 0;
}
