/*
 * measure.c: how much of its arena a model's batch-1 inference code
 * writes (tests/run_arena.sh builds it once per example).
 *
 *   cc -std=c99 -DMODEL=NAME -IDIR measure.c DIR/NAME.c -lm
 *   ./measure
 *
 * The arena is exactly NAME_ARENA_BYTES from the heap (so AddressSanitizer
 * sees any byte past it).  NAME_init, then every byte after the model's
 * struct filled with a pattern, then NAME_forward on one input (every
 * input of the model, deterministic values in [0, 1)); a byte that differs
 * from the pattern was written.  Two runs with two patterns, so that a byte
 * written with the pattern's own value still counts.  The struct (the
 * first NAME_ARENA_ALIGN bytes, docs/embedded.md section 3) counts as
 * written.  Prints one line:
 *
 *   arena: B bytes, W written, U untouched
 *
 * Exit status 1 when init refuses the arena.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MODEL
#error "compile with -DMODEL=name (the model's C name)"
#endif

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STR2(a) #a
#define STR(a) STR2(a)
#define FN(suffix) CAT(MODEL, suffix)

#include STR(MODEL.h)

#define ARENA_BYTES FN(_ARENA_BYTES)
#define ARENA_ALIGN FN(_ARENA_ALIGN)
#define IN_SIZE FN(_INPUT_x_SIZE)
#define OUT_SIZE FN(_OUTPUT_SIZE)

static float x[IN_SIZE];
static float out[OUT_SIZE];
static unsigned char written[ARENA_BYTES];

/* Init, paint the buffers with pat, one forward; mark what changed. */
static int run(unsigned char *arena, unsigned char pat)
{
    MODEL *m = FN(_init)(arena, ARENA_BYTES);
    if (!m)
        return 0;
    memset(arena + ARENA_ALIGN, pat, ARENA_BYTES - ARENA_ALIGN);
    FN(_forward)(m, 1, x, out);
    for (size_t k = 0; k < ARENA_BYTES; k++)
        written[k] |= k < ARENA_ALIGN || arena[k] != pat;
    return 1;
}

int main(void)
{
    uint32_t s = 12345;
    for (size_t i = 0; i < IN_SIZE; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 16777216.0f;
    }
    void *mem = NULL;
    if (posix_memalign(&mem, ARENA_ALIGN, ARENA_BYTES) != 0) {
        fprintf(stderr, "measure: out of memory\n");
        return 1;
    }
    if (!run(mem, 0xa5) || !run(mem, 0x5a)) {
        fprintf(stderr, "measure: " STR(MODEL) "_init refused an aligned arena of NAME_ARENA_BYTES\n");
        return 1;
    }
    size_t w = 0;
    for (size_t k = 0; k < ARENA_BYTES; k++)
        w += written[k];
    printf("arena: %zu bytes, %zu written, %zu untouched\n", (size_t)ARENA_BYTES, w, (size_t)ARENA_BYTES - w);
    free(mem);
    return 0;
}
