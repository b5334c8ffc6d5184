/*
 * gemm.c: the one matrix-multiply routine the generated code carries.
 *
 *   C[m, n] = init + sum over k = 0, 1, ..., K-1 of A(m, k) B(k, n)
 *
 * with A(m, k) = A[m sam + k sak] and B(k, n) = B[k sbk + n sbn], so every
 * product of dense and conv2d, forward and backward, is one call with the
 * right strides; with boff, row k of B starts at B + boff[k] instead (the
 * rows of an implicit im2col matrix, all windows of one padded input).  The vector version works on panels of 16 columns of B
 * (two vectors of 8 lanes, or 16 with AVX-512), K in blocks of GEMM_KC so
 * a panel stays in L1, and 6 rows of A at a time (12 accumulators in
 * registers); a panel of B not contiguous in n is packed first.  The sum
 * of each output runs over k in order in both versions, k-block after
 * k-block (the running sum is carried in C), so -DNNC_SCALAR gives the
 * same bits.  Rows 6 at a time; the last partial block repeats its last
 * row and stores only the real ones.
 */
#include "gemm.h"

#include <string.h>

static const char *const gemm_source[] = {
    "/* C[m, n] = init + sum_k A(m, k) B(k, n), k in order; A(m, k) = A[m sam + k sak],",
    " * B(k, n) = B[k sbk + n sbn]; init: C itself (acc), bias_m[m], bias_n[n] or 0;",
    " * pack: GEMM_KC x GEMM_NR scalars of scratch per thread (B not contiguous in n);",
    " * par: split the column panels over threads; boff: row k of B starts at B + boff[k]",
    " * and may be read up to GEMM_NR scalars past column N (the padded planes of",
    " * direct convolution), so it is never packed. */",
    "#define GEMM_KC 256",
    "/* 16 lanes where the machine has 512-bit vectors, else 8: the tile is 6 x",
    " * GEMM_NR outputs; the order of each sum does not depend on it. */",
    "#if defined(NNC_VECTOR) && defined(__AVX512F__)",
    "#define GEMM_LANES 16",
    "#else",
    "#define GEMM_LANES 8",
    "#endif",
    "#define GEMM_NR (2 * GEMM_LANES)",
    "#ifdef NNC_VECTOR",
    "typedef real vgemm __attribute__((vector_size(GEMM_LANES * sizeof(real))));",
    "#define GLOAD(v, p) memcpy(&(v), (p), sizeof(vgemm))",
    "#define GSTORE(p, v) memcpy((p), &(v), sizeof(vgemm))",
    "/* c += a b for a scalar a, fused where NNC_FMA says so (as FMADD is) */",
    "#if defined(NNC_FMA) && GEMM_LANES == 16",
    "#define GFMA(c, a, b) ((c) = (vgemm)_mm512_fmadd_ps(_mm512_set1_ps(a), (__m512)(b), (__m512)(c)))",
    "#elif defined(NNC_FMA)",
    "#define GFMA(c, a, b) ((c) = (vgemm)_mm256_fmadd_ps(_mm256_set1_ps(a), (__m256)(b), (__m256)(c)))",
    "#else",
    "#define GFMA(c, a, b) ((c) += (a) * (b))",
    "#endif",
    "#endif",
    "static void gemm(int M, int N, int K, const real *A, long sam, long sak, const real *B, long sbk, long sbn,",
    "                 real *C, long ldc, int acc, const real *bias_m, const real *bias_n, real *pack, int par,",
    "                 const int *boff)",
    "{",
    "    (void)par;",
    "    (void)pack;",
    "#ifdef NNC_VECTOR",
    "    /* the caller's thread: called inside a parallel loop (par = 0), the",
    "     * inner team has one thread, numbered 0, but the scratch is per caller */",
    "    int caller = NNC_THREAD;",
    "    (void)caller;",
    "    NNC_PARALLEL_FOR_IF(par)",
    "    for (int n0 = 0; n0 < N; n0 += GEMM_NR) {",
    "        int nb = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;",
    "        real *pk = pack + (size_t)(par ? NNC_THREAD : caller) * GEMM_KC * GEMM_NR;",
    "        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {",
    "            int kb = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;",
    "            /* row k of the panel starts at bp + bo[k] (boff) or bp + k bs */",
    "            const real *bp = B + (boff ? 0 : (long)k0 * sbk) + (long)n0 * sbn;",
    "            const int *bo = boff ? boff + k0 : NULL;",
    "            long bs = sbk;",
    "            /* with boff, B is padded planes with GEMM_NR scalars of tail: read in place */",
    "            if (sbn != 1 || (nb < GEMM_NR && !boff)) {",
    "                /* pack the panel: kb rows of GEMM_NR, zero past N */",
    "                for (int k = 0; k < kb; k++) {",
    "                    const real *br = bo ? bp + bo[k] : bp + (long)k * sbk;",
    "                    for (int j = 0; j < GEMM_NR; j++)",
    "                        pk[k * GEMM_NR + j] = j < nb ? br[(long)j * sbn] : 0.0f;",
    "                }",
    "                bp = pk;",
    "                bo = NULL;",
    "                bs = GEMM_NR;",
    "            }",
    "            int first = k0 == 0 && !acc;",
    "            for (int m0 = 0; m0 < M; m0 += 6) {",
    "                int mb = M - m0 < 6 ? M - m0 : 6;",
    "                const real *a[6];",
    "                for (int r = 0; r < 6; r++)",
    "                    a[r] = A + (long)(m0 + (r < mb ? r : mb - 1)) * sam + (long)k0 * sak;",
    "                vgemm c[6][2];",
    "                for (int r = 0; r < 6; r++) {",
    "                    int m = m0 + (r < mb ? r : mb - 1);",
    "                    if (nb == GEMM_NR && !first) {",
    "                        GLOAD(c[r][0], C + (long)m * ldc + n0);",
    "                        GLOAD(c[r][1], C + (long)m * ldc + n0 + GEMM_LANES);",
    "                    } else if (nb == GEMM_NR && bias_n) {",
    "                        GLOAD(c[r][0], bias_n + n0);",
    "                        GLOAD(c[r][1], bias_n + n0 + GEMM_LANES);",
    "                    } else if (first && !bias_n) {",
    "                        real v = bias_m ? bias_m[m] : 0.0f;",
    "                        c[r][0] = c[r][1] = (vgemm){0} + v;",
    "                    } else {",
    "                        real t[GEMM_NR];",
    "                        for (int j = 0; j < GEMM_NR; j++) {",
    "                            int n = n0 + j;",
    "                            t[j] = n >= N ? 0.0f : !first ? C[(long)m * ldc + n] : bias_n[n];",
    "                        }",
    "                        memcpy(&c[r][0], t, sizeof(vgemm));",
    "                        memcpy(&c[r][1], t + GEMM_LANES, sizeof(vgemm));",
    "                    }",
    "                }",
    "#define GEMM_STEP(br)                                                                               \\",
    "    do {                                                                                            \\",
    "        vgemm b0, b1;                                                                               \\",
    "        GLOAD(b0, (br));                                                                            \\",
    "        GLOAD(b1, (br) + GEMM_LANES);                                                               \\",
    "        real a0 = a[0][(long)k * sak], a1 = a[1][(long)k * sak], a2 = a[2][(long)k * sak];          \\",
    "        real a3 = a[3][(long)k * sak], a4 = a[4][(long)k * sak], a5 = a[5][(long)k * sak];          \\",
    "        GFMA(c[0][0], a0, b0); GFMA(c[0][1], a0, b1);                                               \\",
    "        GFMA(c[1][0], a1, b0); GFMA(c[1][1], a1, b1);                                               \\",
    "        GFMA(c[2][0], a2, b0); GFMA(c[2][1], a2, b1);                                               \\",
    "        GFMA(c[3][0], a3, b0); GFMA(c[3][1], a3, b1);                                               \\",
    "        GFMA(c[4][0], a4, b0); GFMA(c[4][1], a4, b1);                                               \\",
    "        GFMA(c[5][0], a5, b0); GFMA(c[5][1], a5, b1);                                               \\",
    "    } while (0)",
    "                if (bo)",
    "                    for (int k = 0; k < kb; k++)",
    "                        GEMM_STEP(bp + bo[k]);",
    "                else",
    "                    for (int k = 0; k < kb; k++)",
    "                        GEMM_STEP(bp + (long)k * bs);",
    "#undef GEMM_STEP",
    "                for (int r = 0; r < mb; r++) {",
    "                    real *cr = C + (long)(m0 + r) * ldc + n0;",
    "                    if (nb == GEMM_NR) {",
    "                        GSTORE(cr, c[r][0]);",
    "                        GSTORE(cr + GEMM_LANES, c[r][1]);",
    "                    } else {",
    "                        real t[GEMM_NR];",
    "                        memcpy(t, &c[r][0], sizeof(vgemm));",
    "                        memcpy(t + GEMM_LANES, &c[r][1], sizeof(vgemm));",
    "                        memcpy(cr, t, (size_t)nb * sizeof(real));",
    "                    }",
    "                }",
    "            }",
    "        }",
    "    }",
    "#else",
    "    NNC_PARALLEL_FOR_IF(par)",
    "    for (int m = 0; m < M; m++)",
    "        for (int n = 0; n < N; n++) {",
    "            real s = acc ? C[(long)m * ldc + n] : bias_m ? bias_m[m] : bias_n ? bias_n[n] : 0.0f;",
    "            for (int k = 0; k < K; k++)",
    "                s = FMADD(A[(long)m * sam + (long)k * sak], B[(boff ? boff[k] : (long)k * sbk) + (long)n * sbn], s);",
    "            C[(long)m * ldc + n] = s;",
    "        }",
    "#endif",
    "}",
    "",
};

void gemm_emit(Emitter *e)
{
    for (size_t i = 0; i < sizeof gemm_source / sizeof gemm_source[0]; i++)
        emit_line(e, "%s", gemm_source[i]);
}

int64_t gemm_pack_floats(int threads)
{
    /* room for the widest panel, 32 columns (16-lane vectors) */
    return (int64_t)GEMM_PACK_KC * 32 * (threads > 1 ? threads : 1);
}
