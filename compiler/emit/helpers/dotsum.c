/*
 * compiler/emit/helpers/dotsum.c: dotsum(), the batched dot products of the
 * direct conv2d weight gradient (what and why: compiler/emit/kernels_conv.c's
 * comment), carried by the generated code after the GEMM, whose vector
 * macros (GEMM_LANES, vgemm, GLOAD, GVFMA) it uses.
 *
 * Real C, compiled alone (with gemm.c, as the generated file has it) by
 * tests/unit/test_helpers.c, and embedded by the build like gemm.c
 * (scripts/embed_c.c, build/helpers/dotsum.inc): kern_dotsum_emit()
 * prints dotsum_source, then dotsum_fn_source once and once per run-time
 * dispatch copy (gemm_isa_begin()).
 */
#include "gemm.c"

/*@ dotsum_source */
/* part[m, n, l] (+)= sum over samples s < ns and k = l mod 16 < K (a multiple of
 * 16) of A[s sa + m lda + k] B[s sb + boff[n] + k], samples in order; sum16()
 * then adds the 16 partial sums in a fixed tree.  The same bits from the vector
 * code and the plain loops, on any thread count (threads split the outputs). */
#ifdef NNC_VECTOR
/* DOT_MB x DOT_NB outputs of DOT_H vectors (their 16 lanes) in registers;
 * expressions, not #if, so that the dispatch copies (gemm_isa_begin())
 * see their own GEMM_LANES */
#define DOT_MB (GEMM_LANES == 16 ? 4 : 2)
#define DOT_NB (GEMM_LANES == 16 ? 6 : 3)
#define DOT_H (16 / GEMM_LANES)
/* GVFMA: see the GEMM */
#if defined(__clang__)
#define NNC_UNROLL _Pragma("unroll")
#else
#define NNC_UNROLL _Pragma("GCC unroll 8")
#endif
#endif
static real sum16(const real *t)
{
    return (((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))) +
           (((t[8] + t[9]) + (t[10] + t[11])) + ((t[12] + t[13]) + (t[14] + t[15])));
}
/* block blk of the outputs: DOT_MB x DOT_NB of them (one in the plain build) */
#ifdef NNC_VECTOR
#define DOT_BLOCKS(M, N) (((M) + DOT_MB - 1) / DOT_MB * (((N) + DOT_NB - 1) / DOT_NB))
#else
#define DOT_BLOCKS(M, N) ((M) * (N))
#endif
/*@ end */
/*@ dotsum_fn_source */
static void dotsum_block(int blk, int M, int N, int K, int ns, const real *A, long sa, long lda, const real *B,
                         long sb, const int *boff, real *part, int first)
{
#ifdef NNC_VECTOR
    int nbn = (N + DOT_NB - 1) / DOT_NB;
    int m0 = blk / nbn * DOT_MB, n0 = blk % nbn * DOT_NB;
    int mb = M - m0 < DOT_MB ? M - m0 : DOT_MB, nb = N - n0 < DOT_NB ? N - n0 : DOT_NB;
    long ao[DOT_MB], bo[DOT_NB];
    for (int i = 0; i < DOT_MB; i++)
        ao[i] = (long)(m0 + (i < mb ? i : mb - 1)) * lda;
    for (int j = 0; j < DOT_NB; j++)
        bo[j] = boff[n0 + (j < nb ? j : nb - 1)];
    vgemm acc[DOT_MB][DOT_NB][DOT_H];
    memset(acc, 0, sizeof acc);
    if (!first)
        for (int i = 0; i < mb; i++)
            for (int j = 0; j < nb; j++)
                memcpy(acc[i][j], part + ((long)(m0 + i) * N + n0 + j) * 16, sizeof acc[i][j]);
    for (int s = 0; s < ns; s++) {
        const real *as = A + (long)s * sa, *bs = B + (long)s * sb;
        for (int k = 0; k < K; k += GEMM_LANES) {
            int h = k / GEMM_LANES % DOT_H;
            vgemm av[DOT_MB], bv;
            NNC_UNROLL
            for (int i = 0; i < DOT_MB; i++)
                GLOAD(av[i], as + ao[i] + k);
            NNC_UNROLL
            for (int j = 0; j < DOT_NB; j++) {
                GLOAD(bv, bs + bo[j] + k);
                NNC_UNROLL
                for (int i = 0; i < DOT_MB; i++)
                    GVFMA(acc[i][j][h], av[i], bv);
            }
        }
    }
    for (int i = 0; i < mb; i++)
        for (int j = 0; j < nb; j++)
            memcpy(part + ((long)(m0 + i) * N + n0 + j) * 16, acc[i][j], sizeof acc[i][j]);
#else
    int m = blk / N, n = blk % N;
    real *t = part + ((long)m * N + n) * 16;
    (void)M;
    if (first)
        memset(t, 0, 16 * sizeof(real));
    for (int s = 0; s < ns; s++)
        for (int k = 0; k < K; k++)
            t[k % 16] = FMADD(A[(long)s * sa + (long)m * lda + k], B[(long)s * sb + boff[n] + k], t[k % 16]);
#endif
}
/* Every block, on the calling thread (the caller splits the samples) */
static void dotsum(int M, int N, int K, int ns, const real *A, long sa, long lda, const real *B, long sb,
                   const int *boff, real *part, int first)
{
    for (int blk = 0; blk < DOT_BLOCKS(M, N); blk++)
        dotsum_block(blk, M, N, K, ns, A, sa, lda, B, sb, boff, part, first);
}

/*@ end */
