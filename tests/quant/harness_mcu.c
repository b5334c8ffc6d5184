/*
 * tests/quant/harness_mcu.c: an int8 model file nnc --quantize int8 wrote,
 * on a bare-metal Cortex-M under QEMU (examples/embedded's mps2.c,
 * startup.c and mps2.ld), for tests/quant/run.py: the generated C of the
 * core (the Cortex-M4's DSP kernels, the Cortex-M0's Thumb-1 ones) on the
 * samples the host harness ran, whose outputs run.py compares bit for bit.
 * Built with -DMODEL=NAME, -include DIR/NAME.c and -include INPUTS.h, which
 * defines NSAMPLES and `static const int8_t inputs[NSAMPLES * NAME_INPUT_SIZE]`.
 * Prints one line per sample, "out " and its int8 outputs as two hex digits
 * each, then "done".
 */
#include "board.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(x) CAT(MODEL, x)

static unsigned char arena[FN(_ARENA_BYTES)] __attribute__((aligned(16)));

int main(void)
{
    static const char hex[] = "0123456789abcdef";
    static char line[4 + 2 * FN(_OUTPUT_SIZE) + 2];
    int8_t y[FN(_OUTPUT_SIZE)];
    int s, i;
    FN() *m = FN(_init)(arena, sizeof arena);
    if (!m) {
        board_puts("FAIL: init\n");
        return 1;
    }
    for (s = 0; s < NSAMPLES; s++) {
        FN(_forward_int8)(m, 1, inputs + (long)s * FN(_INPUT_SIZE), y);
        line[0] = 'o', line[1] = 'u', line[2] = 't', line[3] = ' ';
        for (i = 0; i < FN(_OUTPUT_SIZE); i++) {
            line[4 + 2 * i] = hex[(uint8_t)y[i] >> 4];
            line[5 + 2 * i] = hex[(uint8_t)y[i] & 15];
        }
        line[4 + 2 * i] = '\n';
        line[5 + 2 * i] = '\0';
        board_puts(line);
    }
    board_puts("done\n");
    return 0;
}
