/*
 * harness.c: the embedding API of one generated model (spec section 10),
 * used as a firmware engineer would, from C99 or from C++ (one source for
 * both; tests/run_embed.sh builds it each way and under ASan + UBSan).
 *
 *   cc  -std=c99   -DMODEL=NAME [-DTRAINING] -IDIR harness.c DIR/NAME.c -lm
 *   c++ -std=c++11 -DMODEL=NAME [-DTRAINING] -IDIR -x c++ harness.c NAME.o
 *   ./harness X.csv WANT.csv [n]
 *
 * X.csv holds samples of the model's input x, WANT.csv the outputs the
 * training program predicts for them (training code: n, the samples of
 * X.csv to run; its outputs follow from its seed, so WANT.csv is "-").
 * Checks, each a line on stderr when it fails (exit status 1):
 *   - NAME_arena_bytes() is NAME_ARENA_BYTES;
 *   - NAME_init refuses (NULL) a NULL arena, one byte too few, and arenas
 *     misaligned by 1, 4, 8 and NAME_ARENA_ALIGN / 2 bytes, and writes
 *     not one byte of the memory it was given then;
 *   - an arena of exactly NAME_ARENA_BYTES (static, with a guard pattern
 *     after it that must survive; and from posix_memalign, so ASan sees
 *     any byte past it) gives outputs that match WANT.csv, the whole batch
 *     and one sample at a time;
 *   - training code: NAME_create (which aligns malloc's memory) works.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
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
#define GUARD 4096          /* bytes after the arena that nothing may touch */
#define PATTERN 0xa5

#ifdef TRAINING
#define INIT(arena, bytes) FN(_init)((arena), (bytes), 1)
#else
#define INIT(arena, bytes) FN(_init)((arena), (bytes))
#endif

/* One arena and its guard, aligned as the header asks: C++11's alignas
 * in C++, the GCC/Clang attribute in C99. */
#ifdef __cplusplus
alignas(ARENA_ALIGN) static unsigned char mem[ARENA_ALIGN + ARENA_BYTES + GUARD];
#else
static unsigned char mem[ARENA_ALIGN + ARENA_BYTES + GUARD] __attribute__((aligned(ARENA_ALIGN)));
#endif

static int failures;

static void fail(const char *what)
{
    fprintf(stderr, "FAIL: %s: %s\n", STR(MODEL), what);
    failures++;
}

/* Is every byte of p[0, n) the pattern? */
static int untouched(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != PATTERN)
            return 0;
    return 1;
}

/* The floats of a CSV file (commas and newlines between them); *n counts
 * them.  NULL for "-" or an unreadable file. */
static float *read_csv(const char *path, size_t *n)
{
    *n = 0;
    if (strcmp(path, "-") == 0)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1024;
    float *v = (float *)malloc(cap * sizeof *v);
    float x;
    while (v && fscanf(f, "%f", &x) == 1) {
        if (*n == cap) {
            float *w = (float *)realloc(v, 2 * cap * sizeof *v);
            if (!w) {
                free(v);
                v = NULL;
                break;
            }
            v = w;
            cap *= 2;
        }
        v[(*n)++] = x;
        int c;
        while ((c = fgetc(f)) == ',' || c == '\n' || c == '\r' || c == ' ')
            ;
        if (c != EOF)
            ungetc(c, f);
    }
    fclose(f);
    return v;
}

/* Do got and want agree up to rounding (a batch and single samples sum
 * in different orders)? */
static int agree(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])))) {
            fprintf(stderr, "element %zu: %g, expected %g\n", i, (double)got[i], (double)want[i]);
            return 0;
        }
    return 1;
}

/* Run every sample through a model placed in arena, as a batch and one
 * at a time; compare with want when there is one. */
static void run(void *arena, const float *x, int n, const float *want, const char *where)
{
    char what[160];
    MODEL *m = INIT(arena, ARENA_BYTES);
    if (!m) {
        snprintf(what, sizeof what, "init refuses an aligned arena of exactly %s_ARENA_BYTES (%s)", STR(MODEL), where);
        fail(what);
        return;
    }
    float *out = (float *)malloc((size_t)n * OUT_SIZE * sizeof *out);
    float one[OUT_SIZE];
    if (!out) {
        fail("out of memory");
        return;
    }
    FN(_forward)(m, n, x, out);
    if (want && !agree(out, want, (size_t)n * OUT_SIZE)) {
        snprintf(what, sizeof what, "forward on %d samples differs from the training program's predict (%s)", n, where);
        fail(what);
    }
    for (int s = 0; s < n; s++) {
        FN(_forward)(m, 1, x + (size_t)s * IN_SIZE, one);
        if (!agree(one, out + (size_t)s * OUT_SIZE, OUT_SIZE)) {
            snprintf(what, sizeof what, "sample %d alone differs from the batch (%s)", s, where);
            fail(what);
            break;
        }
    }
    free(out);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s X.csv WANT.csv|- [n]\n", argv[0]);
        return 2;
    }
    size_t nx, nw;
    float *x = read_csv(argv[1], &nx);
    float *want = read_csv(argv[2], &nw);
    int n = (int)(nx / IN_SIZE);
    if (argc > 3 && atoi(argv[3]) < n)
        n = atoi(argv[3]);
    if (!x || n < 1 || (want && nw != (size_t)n * OUT_SIZE)) {
        fprintf(stderr, "%s: bad data: %zu inputs, %zu outputs\n", argv[0], nx, nw);
        return 2;
    }

    if (FN(_arena_bytes)() != ARENA_BYTES)
        fail("arena_bytes() is not ARENA_BYTES");

    /* Refusals write nothing: not in the arena, not after it. */
    unsigned char *arena = mem + ARENA_ALIGN;
    memset(mem, PATTERN, sizeof mem);
    if (INIT(NULL, ARENA_BYTES))
        fail("init accepts a NULL arena");
    if (INIT(arena, ARENA_BYTES - 1))
        fail("init accepts an arena one byte too small");
    if (INIT(arena, 0))
        fail("init accepts an arena of 0 bytes");
    static const size_t offs[] = {1, 4, 8, ARENA_ALIGN / 2};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++)
        if (offs[k] % ARENA_ALIGN != 0 && INIT(arena - offs[k], ARENA_BYTES + offs[k])) {
            char what[96];
            snprintf(what, sizeof what, "init accepts an arena misaligned by %zu bytes", offs[k]);
            fail(what);
        }
    if (!untouched(mem, sizeof mem))
        fail("init wrote into memory it refused");

    /* Exactly ARENA_BYTES: nothing after it is written, by init or forward. */
    run(arena, x, n, want, "static arena");
    if (!untouched(arena + ARENA_BYTES, GUARD))
        fail("init or forward wrote past ARENA_BYTES");
    if (!untouched(mem, ARENA_ALIGN))
        fail("init or forward wrote before the arena");

    /* The same from the heap, exactly sized: AddressSanitizer reports any
     * byte read or written past it. */
    void *heap = NULL;
    if (posix_memalign(&heap, ARENA_ALIGN, ARENA_BYTES) != 0) {
        fail("posix_memalign");
    } else {
        run(heap, x, n, want, "posix_memalign'd arena");
        free(heap);
    }
#ifdef TRAINING
    /* NAME_create aligns what malloc gives it. */
    MODEL *m = FN(_create)(1);
    if (!m)
        fail("create");
    FN(_destroy)(m);
#endif
    free(x);
    free(want);
    if (failures == 0)
        printf("%s: ok (%d samples, arena %lu bytes)\n", STR(MODEL), n, (unsigned long)ARENA_BYTES);
    return failures ? 1 : 0;
}
