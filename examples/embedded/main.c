/*
 * main.c: run a model nnc generated (--inference --batch 1) on the test
 * images of inputs.h, on a bare-metal Cortex-M under QEMU (with mps2.c and
 * startup.c) or on a hosted system (with host.c), and print per image the
 * predicted label, then what was measured:
 *
 *   cc -IGEN -IINPUTS_DIR main.c board.c GEN/fashion_lenet.c
 *
 * GEN holds NAME.c and NAME.h from nnc and model.h (#define MODEL NAME,
 * #include "NAME.h"); INPUTS_DIR holds inputs.h (make_inputs.sh).  -DNNC_DUMP adds, per image, the outputs as the hex
 * bits of their floats (tests/run_targets.sh compares them between
 * targets exactly, with tests/targets/compare_out.c).  Lines:
 *
 *   image I: label L (NAME), test label T      the prediction
 *   out I: H0 H1 ...                           (-DNNC_DUMP) the outputs' bits
 *   calibration: N x P instructions counted C  a loop of N * P instructions
 *   instructions: MEAN per inference (min A, max B; -DNNC_REPEAT=R: each
 *                 the mean of R runs on one image)
 *   stack: S bytes                              the deepest forward went
 *   arena: W bytes written of NAME_ARENA_BYTES (extent E)
 *   agree: K of N with the test labels
 *
 * Instructions and stack are measured only where board.h can (mps2.c);
 * the arena everywhere.  Exit status 0 unless something failed (init
 * refusing the arena, a counter overflow).
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "inputs.h"
#include "model.h" /* #define MODEL NAME, #include "NAME.h" (the Makefile writes it) */

#ifndef MODEL
#error "model.h must define MODEL as the model's C name"
#endif

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STR2(a) #a
#define STR(a) STR2(a)
#define FN(suffix) CAT(MODEL, suffix)

#define ARENA_BYTES FN(_ARENA_BYTES)
#define ARENA_ALIGN FN(_ARENA_ALIGN)
#define IN_SIZE FN(_INPUT_x_SIZE)
#define OUT_SIZE FN(_OUTPUT_SIZE)
#define STACK_PAINT 0xdeadbeefu
#define STACK_MARGIN 8 /* bytes under main's stack pointer left unpainted */

/* Inferences per image inside one count, which is then divided by it: a
 * model of a few hundred instructions needs more than SysTick's 40 of
 * granularity (the Makefile sets it for the textbook examples). */
#ifndef NNC_REPEAT
#define NNC_REPEAT 1
#endif

#if IN_SIZE != INPUTS_SIZE
#error "inputs.h holds images of another size than the model's input"
#endif

static unsigned char arena[ARENA_BYTES] __attribute__((aligned(ARENA_ALIGN)));
static unsigned char written[ARENA_BYTES]; /* 1 where a run changed the arena */
static float x[IN_SIZE];
static float out[OUT_SIZE];

/* Fashion-MNIST's class names, for the example's output. */
static const char *const class_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static void put_u(uint64_t v)
{
    char buf[24];
    int i = (int)sizeof buf - 1;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    board_puts(buf + i);
}

#ifdef NNC_DUMP
static void put_hex32(uint32_t v)
{
    char buf[9];
    for (int i = 7; i >= 0; i--, v >>= 4)
        buf[i] = "0123456789abcdef"[v & 15];
    buf[8] = 0;
    board_puts(buf);
}
#endif

/* Sample i of inputs.h as the model's input: pixel / 255, as the training
 * program scales uint8 data; CSV floats as they are. */
static void load(int i)
{
    for (int k = 0; k < IN_SIZE; k++)
#ifdef INPUTS_F32
        x[k] = inputs_f32[i][k];
#else
        x[k] = (float)inputs_u8[i][k] / 255.0f;
#endif
}

/* The predicted label: the largest output, or for a single output (a
 * sigmoid's probability) whether it is at least 0.5. */
static int predict(const float *v, int n)
{
    if (n == 1)
        return v[0] >= 0.5f;
    int best = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

/* The model's struct: the first MODEL_BYTES of the arena, placed by init
 * (docs/embedded.md section 3); the intermediate buffers follow it, each
 * aligned to NAME_ARENA_ALIGN. */
#define MODEL_BYTES ARENA_ALIGN

/* A fresh model, its buffers then filled with byte pat (init zeroes the
 * whole arena, so the fill comes after it), run on image 0; marks in
 * written[] the bytes forward changed, and the model's struct. */
static MODEL *run_painted(unsigned char pat)
{
    MODEL *m = FN(_init)(arena, sizeof arena);
    if (!m)
        return NULL;
    memset(arena + MODEL_BYTES, pat, sizeof arena - MODEL_BYTES);
    load(0);
    FN(_forward)(m, 1, x, out);
    memset(written, 1, MODEL_BYTES);
    for (size_t k = MODEL_BYTES; k < sizeof arena; k++)
        written[k] |= arena[k] != pat;
    return m;
}

#if defined(__arm__) && !defined(__linux__)
/* The stack pointer, read where it is used (always inlined: a call would
 * itself use the stack being measured). */
static inline __attribute__((always_inline)) uintptr_t stack_pointer(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Bytes of stack one forward pass uses: paint from the stack's limit to
 * just under the current stack pointer, run, find the lowest word that
 * changed.  Inlined into main, which calls nothing between painting and
 * forward, so only forward (and what it calls) writes there. */
static inline __attribute__((always_inline)) uint32_t stack_used(MODEL *m)
{
    uintptr_t sp = stack_pointer();
    volatile uint32_t *lo = (volatile uint32_t *)board_stack_limit();
    volatile uint32_t *hi = (volatile uint32_t *)(sp - STACK_MARGIN);
    for (volatile uint32_t *p = lo; p < hi; p++)
        *p = STACK_PAINT;
    FN(_forward)(m, 1, x, out);
    volatile uint32_t *p = lo;
    while (p < hi && *p == STACK_PAINT)
        p++;
    return (uint32_t)(sp - (uintptr_t)p);
}
#define MEASURE_STACK 1
#else
#define MEASURE_STACK 0
#endif

int main(void)
{
    int status = 0;
    board_puts(STR(MODEL) ": " STR(INPUTS_N) " test images, arena ");
    put_u(ARENA_BYTES);
    board_puts(" bytes\n");

    if (board_can_count()) {
        uint32_t per;
        uint32_t n = 1000000;
        uint32_t got = board_count_loop(n, &per);
        board_puts("calibration: ");
        put_u(n);
        board_puts(" x ");
        put_u(per);
        board_puts(" instructions counted ");
        put_u(got);
        board_puts("\n");
    }

    /* The arena bytes batch-1 inference uses: the model's struct and what
     * one forward writes, from two different fills, so that a byte written
     * with the fill's own value still counts. */
    if (!run_painted(0xa5) || !run_painted(0x5a)) {
        board_puts("FAIL: init refused an aligned arena of NAME_ARENA_BYTES\n");
        board_exit(1);
    }
    size_t nwritten = 0, extent = 0;
    for (size_t k = 0; k < sizeof arena; k++)
        if (written[k]) {
            nwritten++;
            extent = k + 1;
        }

    MODEL *m = FN(_init)(arena, sizeof arena);
    if (!m) {
        board_puts("FAIL: init refused an aligned arena of NAME_ARENA_BYTES\n");
        board_exit(1);
    }
#if MEASURE_STACK
    load(0);
    uint32_t stack = stack_used(m);
#endif

    uint64_t total = 0;
    uint32_t lo = UINT32_MAX, hi = 0;
    int agree = 0;
    for (int i = 0; i < INPUTS_N; i++) {
        int overflow;
        load(i);
        board_count_start();
        for (int r = 0; r < NNC_REPEAT; r++)
            FN(_forward)(m, 1, x, out);
        uint32_t count = board_count_stop(&overflow) / NNC_REPEAT;
        if (overflow) {
            board_puts("FAIL: the instruction counter overflowed\n");
            status = 1;
        }
        total += count;
        lo = count < lo ? count : lo;
        hi = count > hi ? count : hi;
        int label = predict(out, OUT_SIZE);
        agree += label == inputs_label[i];
        board_puts("image ");
        put_u((uint64_t)i);
        board_puts(": label ");
        put_u((uint64_t)label);
        if (OUT_SIZE == 10) {
            board_puts(" (");
            board_puts(class_names[label]);
            board_puts(")");
        }
        board_puts(", test label ");
        put_u(inputs_label[i]);
        board_puts("\n");
#ifdef NNC_DUMP
        board_puts("out ");
        put_u((uint64_t)i);
        board_puts(":");
        for (int k = 0; k < OUT_SIZE; k++) {
            uint32_t bits;
            memcpy(&bits, &out[k], sizeof bits);
            board_puts(" ");
            put_hex32(bits);
        }
        board_puts("\n");
#endif
    }

    if (board_can_count()) {
        board_puts("instructions: ");
        put_u((total + INPUTS_N / 2) / INPUTS_N);
        board_puts(" per inference (min ");
        put_u(lo);
        board_puts(", max ");
        put_u(hi);
        board_puts(")\n");
    }
#if MEASURE_STACK
    board_puts("stack: ");
    put_u(stack);
    board_puts(" bytes\n");
#endif
    board_puts("arena: ");
    put_u(nwritten);
    board_puts(" bytes written of ");
    put_u(ARENA_BYTES);
    board_puts(" (extent ");
    put_u(extent);
    board_puts(")\n");
    board_puts("agree: ");
    put_u((uint64_t)agree);
    board_puts(" of " STR(INPUTS_N) " with the test labels\n");
    return status;
}
