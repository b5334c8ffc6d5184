/*
 * ignore_index.c: with cross_entropy(..., ignore_index = -1), a batch
 * whose labels include -1 has exactly the loss (same bits) of the batch
 * without those samples, and training on it is finite; a label outside
 * 0..K-1 that is not ignore_index still makes train_step return NaN.
 *   cc -std=c99 -Iruntime -IDIR ignore_index.c DIR/ignore_index.c libnnrt.a -lz -lm
 */
#include "ignore_index.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    ignore_index *m = ignore_index_create(1);
    float x[4 * 5], kept[2 * 5];
    int32_t y[4] = {-1, 2, -1, 0}, ykept[2] = {2, 0}, bad[4] = {0, 3, 1, 1};
    int fails = 0;
    if (!m)
        return 2;
    for (int i = 0; i < 4 * 5; i++)
        x[i] = (float)sin(1.0 + i);
    memcpy(kept, x + 5, 5 * sizeof(float));
    memcpy(kept + 5, x + 15, 5 * sizeof(float));
    float all = ignore_index_eval_loss(m, 4, x, y, NULL);
    float sub = ignore_index_eval_loss(m, 2, kept, ykept, NULL);
    if (memcmp(&all, &sub, sizeof all) != 0) {
        printf("FAIL: loss with ignored samples %.9g, without them %.9g\n", all, sub);
        fails++;
    }
    float step = ignore_index_train_step(m, 4, x, y);
    if (!isfinite(step) || memcmp(&step, &all, sizeof step) != 0) {
        printf("FAIL: train_step on ignored labels gives %.9g, want %.9g\n", step, all);
        fails++;
    }
    if (!isnan(ignore_index_train_step(m, 4, x, bad))) {
        printf("FAIL: label 3 of 3 classes accepted\n");
        fails++;
    }
    printf("ignore_index: loss %.9g with two samples ignored%s\n", all, fails ? ", FAILED" : "");
    ignore_index_destroy(m);
    return fails != 0;
}
