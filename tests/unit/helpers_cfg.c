/*
 * helpers_cfg.c: the helper C of compiler/emit/helpers/ (the GEMM, dotsum())
 * built in one configuration of the generated code, for test_helpers.c.
 * The Makefile compiles this file once per configuration with its
 * compiler flags (-DNNC_SCALAR, -mavx2 -mfma, ...; see prelude.h) and
 * -DCFG=NAME, which prefixes every function below (cfg_v8_fma_gemm, ...)
 * so that all configurations link into one test.
 *
 * NNC_THREAD is helper_thread: cfg_gemm() runs gemm_part() for each part
 * as the thread OpenMP's static schedule would give it, so each part
 * packs into that thread's slice of the pack, as under GEMM_PAR, and
 * counts the pack floats a part wrote outside its thread's slice.
 */
static int helper_thread;
#define NNC_THREAD helper_thread

#include "dotsum.c" /* compiler/emit/helpers/: and gemm.c before it, as a generated file has them */

#include "helpers_cfg.h"

#define CFG_CAT2(a, b) a##_##b
#define CFG_CAT(a, b) CFG_CAT2(a, b)
#define CFG_FN(name) CFG_CAT(CFG, name)

void CFG_FN(info)(HelperInfo *h)
{
#ifdef NNC_VECTOR
    h->lanes = NNC_LANES;
#else
    h->lanes = 0;
#endif
#ifdef NNC_FMA
    h->fma = 1;
#else
    h->fma = 0;
#endif
    h->kc = GEMM_KC;
#ifdef NNC_VECTOR
    h->nr = GEMM_NR;
#else
    h->nr = 0;
#endif
    h->acc = GEMM_ACC;
    h->k8 = GEMM_K8;
#if defined(NNC_VECTOR) && !defined(NNC_DOUBLE) && (GEMM_LANES == 4 || defined(NNC_FMA))
    h->dot8 = 1;
#else
    h->dot8 = 0;
#endif
}

long CFG_FN(gemm)(int threads, int M, int N, int K, const float *A, long sam, long sak, const float *B, long sbk,
                  long sbn, float *C, long ldc, int acc, const float *bias_m, const float *bias_n, float *pack,
                  const int *boff, long np, long slice)
{
    int parts = GEMM_PARTS(M, N);
    long stray = 0;
    /* schedule(static): thread t takes a run of consecutive parts */
    int chunk = (parts + threads - 1) / threads;
    for (int p = 0; p < parts; p++) {
        helper_thread = p / chunk;
        int check = slice > 0 && threads > 1; /* (one thread: its slice is the whole pack) */
        for (long i = 0; check && i < np; i++)
            pack[i] = -7777.0f;
        gemm_part(p, M, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, pack, boff);
        /* a thread packs only into its slice: others run at the same time */
        for (long i = 0; check && i < np; i++)
            stray += pack[i] != -7777.0f && i / slice != helper_thread;
    }
    helper_thread = 0;
    return stray;
}

float CFG_FN(dot8)(const float *a, const float *b, int n, float s)
{
#if defined(NNC_VECTOR) && !defined(NNC_DOUBLE) && (GEMM_LANES == 4 || defined(NNC_FMA))
    return gemm_dot8(a, b, n, s);
#else
    (void)a, (void)b, (void)n;
    return s;
#endif
}

void CFG_FN(dotsum)(int M, int N, int K, int ns, const float *A, long sa, long lda, const float *B, long sb,
                    const int *boff, float *part, int first)
{
    dotsum(M, N, K, ns, A, sa, lda, B, sb, boff, part, first);
    (void)sum16;
}
