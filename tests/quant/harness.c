/*
 * tests/quant/harness.c: runs an int8 model file nnc --quantize int8
 * wrote, for tests/quant/run.py.  Built with -DMODEL=NAME and
 * -include DIR/NAME.c (the static helpers are reached too).
 *
 *   harness int8 IN OUT    int8 samples in IN (raw, n x NAME_INPUT_SIZE) ->
 *                          NAME_forward_int8 -> OUT (raw int8)
 *   harness float IN OUT   float32 samples -> NAME_forward -> float32 OUT
 *   harness arith IN OUT   int32 triples (acc, mult, shift) -> nnc_requant ->
 *                          int32, and pairs (a, b) of nnc_srdhm, (x, e) of
 *                          nnc_rdpot after them: IN holds n, then the cases
 */
#include <stdio.h>
#include <stdlib.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(x) CAT(MODEL, x)

static unsigned char arena[FN(_ARENA_BYTES)] __attribute__((aligned(16)));

static void *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    void *p;
    if (!f)
        exit(2);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)*len + 1);
    if (!p || fread(p, 1, (size_t)*len, f) != (size_t)*len)
        exit(2);
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    long len;
    void *in;
    FILE *out;
    FN() *m = FN(_init)(arena, sizeof arena);
    if (argc != 4 || !m)
        return 2;
    in = slurp(argv[2], &len);
    out = fopen(argv[3], "wb");
    if (!out)
        return 2;
    if (argv[1][0] == 'i') {
        int n = (int)(len / FN(_INPUT_SIZE));
        int8_t *y = malloc((size_t)n * FN(_OUTPUT_SIZE));
        FN(_forward_int8)(m, n, in, y);
        fwrite(y, 1, (size_t)n * FN(_OUTPUT_SIZE), out);
        free(y);
    } else if (argv[1][0] == 'f') {
        int n = (int)(len / 4 / FN(_INPUT_SIZE));
        float *y = malloc((size_t)n * FN(_OUTPUT_SIZE) * 4);
        FN(_forward)(m, n, in, y);
        fwrite(y, 4, (size_t)n * FN(_OUTPUT_SIZE), out);
        free(y);
    } else {
        const int32_t *v = in;
        int32_t n = v[0], i, r;
        for (i = 0; i < n; i++) {
            r = nnc_requant(v[1 + 3 * i], v[2 + 3 * i], (int)v[3 + 3 * i]);
            fwrite(&r, 4, 1, out);
        }
        for (i = 0; i < n; i++) {
            r = nnc_srdhm(v[1 + 3 * i], v[2 + 3 * i]);
            fwrite(&r, 4, 1, out);
        }
        for (i = 0; i < n; i++) {
            r = nnc_rdpot(v[1 + 3 * i], (int)(v[3 + 3 * i] < 0 ? -v[3 + 3 * i] : 0));
            fwrite(&r, 4, 1, out);
        }
    }
    fclose(out);
    free(in);
    return 0;
}
