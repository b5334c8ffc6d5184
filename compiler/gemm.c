/*
 * gemm.c: the one matrix-multiply routine the generated code carries.
 *
 *   C[m, n] = init + sum over k = 0, 1, ..., K-1 of A(m, k) B(k, n)
 *
 * with A(m, k) = A[m sam + k sak] and B(k, n) = B[k sbk + n sbn], so every
 * product of dense and conv2d, forward and backward, is one call with the
 * right strides.  The vector version works on panels of 16 columns of B
 * (two 8-lane vectors), K in blocks of GEMM_KC so a panel stays in L1,
 * and 6 rows of A at a time (12 accumulators: 6 x 16 outputs in
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
    " * pack: GEMM_KC x 16 scalars of scratch per thread (B not contiguous in n);",
    " * par: split the column panels over threads. */",
    "#define GEMM_KC 256",
    "static void gemm(int M, int N, int K, const real *A, long sam, long sak, const real *B, long sbk, long sbn,",
    "                 real *C, long ldc, int acc, const real *bias_m, const real *bias_n, real *pack, int par)",
    "{",
    "    (void)par;",
    "    (void)pack;",
    "#ifdef NNC_VECTOR",
    "    /* the caller's thread: called inside a parallel loop (par = 0), the",
    "     * inner team has one thread, numbered 0, but the scratch is per caller */",
    "    int caller = NNC_THREAD;",
    "    (void)caller;",
    "    NNC_PARALLEL_FOR_IF(par)",
    "    for (int n0 = 0; n0 < N; n0 += 16) {",
    "        int nb = N - n0 < 16 ? N - n0 : 16;",
    "        real *pk = pack + (size_t)(par ? NNC_THREAD : caller) * GEMM_KC * 16;",
    "        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {",
    "            int kb = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;",
    "            const real *bp = B + (long)k0 * sbk + (long)n0 * sbn;",
    "            long bs = sbk;",
    "            if (sbn != 1 || nb < 16) {",
    "                /* pack the panel: kb rows of 16, zero past N */",
    "                for (int k = 0; k < kb; k++)",
    "                    for (int j = 0; j < 16; j++)",
    "                        pk[k * 16 + j] = j < nb ? bp[(long)k * sbk + (long)j * sbn] : 0.0f;",
    "                bp = pk;",
    "                bs = 16;",
    "            }",
    "            int first = k0 == 0 && !acc;",
    "            for (int m0 = 0; m0 < M; m0 += 6) {",
    "                int mb = M - m0 < 6 ? M - m0 : 6;",
    "                const real *a[6];",
    "                for (int r = 0; r < 6; r++)",
    "                    a[r] = A + (long)(m0 + (r < mb ? r : mb - 1)) * sam + (long)k0 * sak;",
    "                vreal c[6][2];",
    "                for (int r = 0; r < 6; r++) {",
    "                    int m = m0 + (r < mb ? r : mb - 1);",
    "                    if (nb == 16 && !first) {",
    "                        VLOAD(c[r][0], C + (long)m * ldc + n0);",
    "                        VLOAD(c[r][1], C + (long)m * ldc + n0 + 8);",
    "                    } else if (nb == 16 && bias_n) {",
    "                        VLOAD(c[r][0], bias_n + n0);",
    "                        VLOAD(c[r][1], bias_n + n0 + 8);",
    "                    } else if (first && !bias_n) {",
    "                        real v = bias_m ? bias_m[m] : 0.0f;",
    "                        c[r][0] = c[r][1] = (vreal){0} + v;",
    "                    } else {",
    "                        real t[16];",
    "                        for (int j = 0; j < 16; j++) {",
    "                            int n = n0 + j;",
    "                            t[j] = n >= N ? 0.0f : !first ? C[(long)m * ldc + n] : bias_n[n];",
    "                        }",
    "                        memcpy(&c[r][0], t, sizeof(vreal));",
    "                        memcpy(&c[r][1], t + 8, sizeof(vreal));",
    "                    }",
    "                }",
    "                for (int k = 0; k < kb; k++) {",
    "                    vreal b0, b1;",
    "                    VLOAD(b0, bp + (long)k * bs);",
    "                    VLOAD(b1, bp + (long)k * bs + 8);",
    "                    real a0 = a[0][(long)k * sak], a1 = a[1][(long)k * sak], a2 = a[2][(long)k * sak];",
    "                    real a3 = a[3][(long)k * sak], a4 = a[4][(long)k * sak], a5 = a[5][(long)k * sak];",
    "                    c[0][0] += a0 * b0; c[0][1] += a0 * b1;",
    "                    c[1][0] += a1 * b0; c[1][1] += a1 * b1;",
    "                    c[2][0] += a2 * b0; c[2][1] += a2 * b1;",
    "                    c[3][0] += a3 * b0; c[3][1] += a3 * b1;",
    "                    c[4][0] += a4 * b0; c[4][1] += a4 * b1;",
    "                    c[5][0] += a5 * b0; c[5][1] += a5 * b1;",
    "                }",
    "                for (int r = 0; r < mb; r++) {",
    "                    real *cr = C + (long)(m0 + r) * ldc + n0;",
    "                    if (nb == 16) {",
    "                        VSTORE(cr, c[r][0]);",
    "                        VSTORE(cr + 8, c[r][1]);",
    "                    } else {",
    "                        real t[16];",
    "                        memcpy(t, &c[r][0], sizeof(vreal));",
    "                        memcpy(t + 8, &c[r][1], sizeof(vreal));",
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
    "                s += A[(long)m * sam + (long)k * sak] * B[(long)k * sbk + (long)n * sbn];",
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
    return (int64_t)GEMM_PACK_KC * 16 * (threads > 1 ? threads : 1);
}
