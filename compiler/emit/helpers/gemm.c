/*
 * compiler/emit/helpers/gemm.c: the matrix multiply the generated code carries
 * (what it computes, in which order and why: compiler/emit/gemm.c's comment).
 *
 * Real C, compiled alone by tests/unit/test_helpers.c on the macros of
 * prelude.h (the generated file's own prelude defines them there), and
 * embedded by the build: scripts/embed_c.c turns each section between
 * "@ NAME" and "@ end" markers into the string table NAME of
 * build/helpers/gemm.inc, which compiler/emit/gemm.c prints (gemm_emit()),
 * and every "#define NAME INTEGER" of a section into NNC_HELPER_NAME of
 * build/helpers/gemm_const.h (GEMM_KC is the compiler's GEMM_PACK_KC).
 * The lines outside the sections are for the standalone build only.
 *
 * Sections, in the order gemm_emit() prints them:
 *   gemm_source       the constants, flags and vector macros; opens
 *                     "#ifdef NNC_VECTOR"
 *   gemm_panel_source gemm_panel(): printed once, then once per
 *                     run-time dispatch copy (gemm_isa_begin())
 *   gemm_dot_source   gemm_dot8(): printed under "#ifdef NNC_DISPATCH",
 *                     then once per copy
 *   gemm_rest_source  "#else": the plain loops (gemm_elem(), gemm_rows());
 *                     then gemm_part() and the macros GEMM, GEMM_PAR
 * Whatever changes here changes every generated file: tests/gen pins them.
 */
#include "prelude.h"

/*@ gemm_source */
/* C[m, n] = init + sum_k A(m, k) B(k, n), in blocks of GEMM_KC added in order
 * (each a chain in k order, or 8 lanes with GEMM_K8); A(m, k) = A[m sam + k sak],
 * B(k, n) = B[k sbk + n sbn]; init: C itself (acc), bias_m[m], bias_n[n] or 0;
 * pack: GEMM_KC x GEMM_NR scalars of scratch per thread (B not contiguous in n);
 * boff: row k of B starts at B + boff[k]
 * and may be read up to GEMM_NR scalars past column N (the padded planes of
 * direct convolution), so it is never packed. */
#define GEMM_KC 256
/* flags of GEMM's acc: GEMM_ACC adds to C (init is C itself); GEMM_K8
 * sums each block of K in 8 lanes (below) rather than in one chain */
#define GEMM_ACC 1
#define GEMM_K8 2
/* The tile is 6 x GEMM_NR outputs, two vectors of GEMM_LANES; the order of
 * each sum does not depend on the width.  The AVX-512 and AVX2 copies of
 * gemm_panel() (NNC_DISPATCH) redefine GEMM_LANES, vgemm and GVFMA. */
#ifdef NNC_VECTOR
#define GEMM_LANES NNC_LANES
#else
#define GEMM_LANES 8
#endif
#define GEMM_NR (2 * GEMM_LANES)
#ifdef NNC_VECTOR
typedef real vgemm __attribute__((vector_size(GEMM_LANES * sizeof(real))));
#define GLOAD(v, p) memcpy(&(v), (p), sizeof(vgemm))
#define GSTORE(p, v) memcpy((p), &(v), sizeof(vgemm))
/* c += a b, element by element, fused where NNC_FMA says so (as FMADD is);
 * GFMA broadcasts a scalar a (a - 0 is a exactly, -0 included) */
#if defined(NNC_FMA) && NNC_LANES == 16
#define GVFMA_N(c, a, b) ((c) = (vgemm)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#elif defined(NNC_FMA) && NNC_LANES == 8
#define GVFMA_N(c, a, b) ((c) = (vgemm)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#elif defined(NNC_FMA) && defined(__ARM_NEON)
#define GVFMA_N(c, a, b) ((c) = (vgemm)vfmaq_f32((float32x4_t)(c), (float32x4_t)(a), (float32x4_t)(b)))
#else
#define GVFMA_N(c, a, b) ((c) += (a) * (b))
#endif
#define GVFMA GVFMA_N
#define GFMA(c, a, b) GVFMA(c, (a) - (vgemm){0}, b)
#endif
#if defined(NNC_DISPATCH) && defined(NNC_VECTOR)
typedef real vgemm_x16 __attribute__((vector_size(16 * sizeof(real))));
typedef real vgemm_x8 __attribute__((vector_size(8 * sizeof(real))));
#define GVFMA_X16(c, a, b) ((c) = (vgemm)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define GVFMA_X8(c, a, b) ((c) = (vgemm)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
/* the panel width of the copy nnc_isa picks */
#define GEMM_NR_RUN (nnc_isa == 2 ? 32 : nnc_isa == 1 ? 16 : GEMM_NR)
#else
#define GEMM_NR_RUN GEMM_NR
#endif
#ifdef NNC_VECTOR
/*@ end */
/*@ gemm_panel_source */
/* columns [n0, n0 + GEMM_NR) of GEMM below; pk: this thread's pack */
static void gemm_panel(int n0, int M, int N, int K, const real *A, long sam, long sak, const real *B, long sbk,
                       long sbn, real *C, long ldc, int acc, const real *bias_m, const real *bias_n, real *pk,
                       const int *boff)
{
    {
        int nb = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            int kb = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
            /* row k of the panel starts at bp + bo[k] (boff) or bp + k bs */
            const real *bp = B + (boff ? 0 : (long)k0 * sbk) + (long)n0 * sbn;
            const int *bo = boff ? boff + k0 : NULL;
            long bs = sbk;
            /* with boff, B is padded planes with GEMM_NR scalars of tail: read in place */
            if (sbn != 1 || (nb < GEMM_NR && !boff)) {
                /* pack the panel: kb rows of GEMM_NR, zero past N */
                for (int k = 0; k < kb; k++) {
                    const real *br = bo ? bp + bo[k] : bp + (long)k * sbk;
                    for (int j = 0; j < GEMM_NR; j++)
                        pk[k * GEMM_NR + j] = j < nb ? br[(long)j * sbn] : 0.0f;
                }
                bp = pk;
                bo = NULL;
                bs = GEMM_NR;
            }
            int first = k0 == 0 && !(acc & GEMM_ACC);
            /* without GEMM_K8, block 0's chain starts from C's initial value; every
             * other chain, and every tree of lanes, from 0, added to C after the block */
            int from_base = k0 == 0 && !(acc & GEMM_K8);
            for (int m0 = 0; m0 < M; m0 += 6) {
                int mb = M - m0 < 6 ? M - m0 : 6;
                const real *a[6];
                for (int r = 0; r < 6; r++)
                    a[r] = A + (long)(m0 + (r < mb ? r : mb - 1)) * sam + (long)k0 * sak;
                vgemm c[6][2];
/* c = what C holds before this block: C, or the bias or 0 in block 0 */
#define GEMM_BASE(c)                                                                                \
    for (int r = 0; r < 6; r++) {                                                                   \
        int m = m0 + (r < mb ? r : mb - 1);                                                         \
        if (nb == GEMM_NR && !first) {                                                              \
            GLOAD(c[r][0], C + (long)m * ldc + n0);                                                 \
            GLOAD(c[r][1], C + (long)m * ldc + n0 + GEMM_LANES);                                    \
        } else if (nb == GEMM_NR && bias_n) {                                                       \
            GLOAD(c[r][0], bias_n + n0);                                                            \
            GLOAD(c[r][1], bias_n + n0 + GEMM_LANES);                                               \
        } else if (first && !bias_n) {                                                              \
            real v = bias_m ? bias_m[m] : 0.0f;                                                     \
            c[r][0] = c[r][1] = (vgemm){0} + v;                                                     \
        } else {                                                                                    \
            real t[GEMM_NR];                                                                        \
            for (int j = 0; j < GEMM_NR; j++) {                                                     \
                int n = n0 + j;                                                                     \
                t[j] = n >= N ? 0.0f : !first ? C[(long)m * ldc + n] : bias_n[n];                  \
            }                                                                                       \
            memcpy(&c[r][0], t, sizeof(vgemm));                                                     \
            memcpy(&c[r][1], t + GEMM_LANES, sizeof(vgemm));                                        \
        }                                                                                           \
    }
#define GEMM_ZERO(c)                                                                                \
    for (int r = 0; r < 6; r++)                                                                     \
        c[r][0] = c[r][1] = (vgemm){0}
/* c += d (each output a sum of two) */
#define GEMM_ADD(c, d)                                                                              \
    for (int r = 0; r < 6; r++) {                                                                   \
        c[r][0] += d[r][0];                                                                         \
        c[r][1] += d[r][1];                                                                         \
    }
#define GEMM_STEP(br)                                                                               \
    do {                                                                                            \
        vgemm b0, b1;                                                                               \
        GLOAD(b0, (br));                                                                            \
        GLOAD(b1, (br) + GEMM_LANES);                                                               \
        real a0 = a[0][(long)k * sak], a1 = a[1][(long)k * sak], a2 = a[2][(long)k * sak];          \
        real a3 = a[3][(long)k * sak], a4 = a[4][(long)k * sak], a5 = a[5][(long)k * sak];          \
        GFMA(c[0][0], a0, b0); GFMA(c[0][1], a0, b1);                                               \
        GFMA(c[1][0], a1, b0); GFMA(c[1][1], a1, b1);                                               \
        GFMA(c[2][0], a2, b0); GFMA(c[2][1], a2, b1);                                               \
        GFMA(c[3][0], a3, b0); GFMA(c[3][1], a3, b1);                                               \
        GFMA(c[4][0], a4, b0); GFMA(c[4][1], a4, b1);                                               \
        GFMA(c[5][0], a5, b0); GFMA(c[5][1], a5, b1);                                               \
    } while (0)
                if (acc & GEMM_K8) {
                    /* lane j: the k = j mod 8 of the block in order, from 0; the lanes
                     * summed as ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)),
                     * t[] holding the pending left operands of that tree */
#if GEMM_LANES == 16
                    /* two lanes a pass, j in c and j + 1 in d (24 of the 32 vector
                     * registers): half the passes of one lane each, whose ends cost
                     * 5-10% of the dense forward */
                    vgemm t[2][6][2], d[6][2];
                    for (int j = 0; j < 8; j += 2) {
                        GEMM_ZERO(c);
                        GEMM_ZERO(d);
                        int k = j;
                        for (; k + 1 < kb; k += 8) {
                            const real *br = bo ? bp + bo[k] : bp + (long)k * bs;
                            const real *br2 = bo ? bp + bo[k + 1] : br + bs;
                            vgemm b0, b1, e0, e1;
                            GLOAD(b0, br);
                            GLOAD(b1, br + GEMM_LANES);
                            GLOAD(e0, br2);
                            GLOAD(e1, br2 + GEMM_LANES);
#define GEMM_ROW2(r)                                                                                \
    do {                                                                                            \
        real ar = a[r][(long)k * sak], ar2 = a[r][(long)(k + 1) * sak];                             \
        GFMA(c[r][0], ar, b0);                                                                      \
        GFMA(c[r][1], ar, b1);                                                                      \
        GFMA(d[r][0], ar2, e0);                                                                     \
        GFMA(d[r][1], ar2, e1);                                                                     \
    } while (0)
                            GEMM_ROW2(0);
                            GEMM_ROW2(1);
                            GEMM_ROW2(2);
                            GEMM_ROW2(3);
                            GEMM_ROW2(4);
                            GEMM_ROW2(5);
#undef GEMM_ROW2
                        }
                        if (k < kb) /* lane j's last k; lane j + 1 has none */
                            GEMM_STEP(bo ? bp + bo[k] : bp + (long)k * bs);
                        GEMM_ADD(c, d);
                        switch (j) {
                        case 0: memcpy(t[0], c, sizeof c); break;
                        case 2: GEMM_ADD(t[0], c); break;
                        case 4: memcpy(t[1], c, sizeof c); break;
                        default: GEMM_ADD(t[1], c); GEMM_ADD(t[0], t[1]); break;
                        }
                    }
#else
                    vgemm t[3][6][2];
                    for (int j = 0; j < 8; j++) {
                        GEMM_ZERO(c);
                        if (bo)
                            for (int k = j; k < kb; k += 8)
                                GEMM_STEP(bp + bo[k]);
                        else
                            for (int k = j; k < kb; k += 8)
                                GEMM_STEP(bp + (long)k * bs);
                        switch (j) {
                        case 0: memcpy(t[0], c, sizeof c); break;
                        case 1: GEMM_ADD(t[0], c); break;
                        case 2: memcpy(t[1], c, sizeof c); break;
                        case 3: GEMM_ADD(t[1], c); GEMM_ADD(t[0], t[1]); break;
                        case 4: memcpy(t[1], c, sizeof c); break;
                        case 5: GEMM_ADD(t[1], c); break;
                        case 6: memcpy(t[2], c, sizeof c); break;
                        default: GEMM_ADD(t[2], c); GEMM_ADD(t[1], t[2]); GEMM_ADD(t[0], t[1]); break;
                        }
                    }
#endif
                    GEMM_BASE(c);
                    GEMM_ADD(c, t[0]);
                } else {
                    if (from_base) {
                        GEMM_BASE(c);
                    } else {
                        GEMM_ZERO(c);
                    }
                    if (bo)
                        for (int k = 0; k < kb; k++)
                            GEMM_STEP(bp + bo[k]);
                    else
                        for (int k = 0; k < kb; k++)
                            GEMM_STEP(bp + (long)k * bs);
                    if (!from_base) {
                        vgemm s[6][2];
                        GEMM_BASE(s);
                        GEMM_ADD(c, s);
                    }
                }
#undef GEMM_STEP
#undef GEMM_ADD
#undef GEMM_ZERO
#undef GEMM_BASE
                for (int r = 0; r < mb; r++) {
                    real *cr = C + (long)(m0 + r) * ldc + n0;
                    if (nb == GEMM_NR) {
                        GSTORE(cr, c[r][0]);
                        GSTORE(cr + GEMM_LANES, c[r][1]);
                    } else {
                        real t[GEMM_NR];
                        memcpy(t, &c[r][0], sizeof(vgemm));
                        memcpy(t + GEMM_LANES, &c[r][1], sizeof(vgemm));
                        memcpy(cr, t, (size_t)nb * sizeof(real));
                    }
                }
            }
        }
    }
}
/*@ end */
/* Standalone: gemm_dot8() is only ever printed for run-time dispatch,
 * whose copies have AVX2 and FMA (lanes 8, 16) or SSE2 (lanes 4). */
#if !defined(NNC_DOUBLE) && (GEMM_LANES == 4 || defined(NNC_FMA))
/*@ gemm_dot_source */
/* s + sum_i a[i] b[i] over n elements in GEMM_K8's order: one partial sum per
 * block of GEMM_KC added to s, a block's eight lanes (i mod 8, in order, from
 * 0) added in VSUM's tree; fused as the gemm_panel() copy of this ISA is
 * (unused where no dense layer has 16 inputs or more) */
__attribute__((unused)) static real gemm_dot8(const real *a, const real *b, int n, real s)
{
    for (int k0 = 0; k0 < n; k0 += GEMM_KC) {
        int ke = n - k0 < GEMM_KC ? n : k0 + GEMM_KC, i = k0;
        real p[8];
#if GEMM_LANES == 4
        vgemm lo = {0}, hi = {0};
        for (; i + 8 <= ke; i += 8) {
            vgemm a0, a1, b0, b1;
            GLOAD(a0, a + i);
            GLOAD(a1, a + i + 4);
            GLOAD(b0, b + i);
            GLOAD(b1, b + i + 4);
            GVFMA(lo, a0, b0);
            GVFMA(hi, a1, b1);
        }
        memcpy(p, &lo, sizeof lo);
        memcpy(p + 4, &hi, sizeof hi);
#else
        __m256 v = _mm256_setzero_ps();
        for (; i + 8 <= ke; i += 8)
            v = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), v);
        _mm256_storeu_ps(p, v);
#endif
        for (; i < ke; i++) /* the last block's last elements, in their lanes */
            p[i % 8] = FMADD(a[i], b[i], p[i % 8]);
        s = s + (((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])));
    }
    return s;
}
/*@ end */
#endif
/*@ gemm_rest_source */
#else
/* element (m, n) of GEMM below, in its order */
static void gemm_elem(int m, int n, int K, const real *A, long sam, long sak, const real *B, long sbk, long sbn,
                     real *C, long ldc, int acc, const real *bias_m, const real *bias_n, const int *boff)
{
    {
        real s = acc & GEMM_ACC ? C[(long)m * ldc + n] : bias_m ? bias_m[m] : bias_n ? bias_n[n] : 0.0f;
        const real *b = B + (long)n * sbn;
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            int ke = K - k0 < GEMM_KC ? K : k0 + GEMM_KC;
            if (acc & GEMM_K8) {
                /* eight named chains (registers on a core without vectors; an
                 * array indexed by k % 8 would live in memory), k0 a multiple of 8 */
                const real *a = A + (long)m * sam;
                real p0 = 0.0f, p1 = 0.0f, p2 = 0.0f, p3 = 0.0f, p4 = 0.0f, p5 = 0.0f, p6 = 0.0f, p7 = 0.0f;
                int k = k0;
#define GEMM_K8_A(j) a[(long)(k + (j)) * sak]
#define GEMM_K8_B(j) b[boff ? boff[k + (j)] : (long)(k + (j)) * sbk]
                for (; k + 8 <= ke; k += 8) {
                    p0 = FMADD(GEMM_K8_A(0), GEMM_K8_B(0), p0);
                    p1 = FMADD(GEMM_K8_A(1), GEMM_K8_B(1), p1);
                    p2 = FMADD(GEMM_K8_A(2), GEMM_K8_B(2), p2);
                    p3 = FMADD(GEMM_K8_A(3), GEMM_K8_B(3), p3);
                    p4 = FMADD(GEMM_K8_A(4), GEMM_K8_B(4), p4);
                    p5 = FMADD(GEMM_K8_A(5), GEMM_K8_B(5), p5);
                    p6 = FMADD(GEMM_K8_A(6), GEMM_K8_B(6), p6);
                    p7 = FMADD(GEMM_K8_A(7), GEMM_K8_B(7), p7);
                }
                if (k + 0 < ke) p0 = FMADD(GEMM_K8_A(0), GEMM_K8_B(0), p0);
                if (k + 1 < ke) p1 = FMADD(GEMM_K8_A(1), GEMM_K8_B(1), p1);
                if (k + 2 < ke) p2 = FMADD(GEMM_K8_A(2), GEMM_K8_B(2), p2);
                if (k + 3 < ke) p3 = FMADD(GEMM_K8_A(3), GEMM_K8_B(3), p3);
                if (k + 4 < ke) p4 = FMADD(GEMM_K8_A(4), GEMM_K8_B(4), p4);
                if (k + 5 < ke) p5 = FMADD(GEMM_K8_A(5), GEMM_K8_B(5), p5);
                if (k + 6 < ke) p6 = FMADD(GEMM_K8_A(6), GEMM_K8_B(6), p6);
#undef GEMM_K8_A
#undef GEMM_K8_B
                s = s + (((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)));
            } else {
                real p = k0 == 0 ? s : 0.0f;
                for (int k = k0; k < ke; k++)
                    p = FMADD(A[(long)m * sam + (long)k * sak], b[boff ? boff[k] : (long)k * sbk], p);
                s = k0 == 0 ? p : s + p;
            }
        }
        C[(long)m * ldc + n] = s;
    }
}

/* Rows m and m + 1 (when R is 2) of GEMM below.  Where each element is one
 * chain in k order (no GEMM_K8), a block of 2 rows by 2 columns: each
 * element of A and B loaded serves two multiply-adds and the four sums
 * stay in registers, about 2.5 instructions per multiply-add on a
 * Cortex-M4F instead of 5 or more; every element keeps gemm_elem()'s order,
 * so the bits are the same. */
static void gemm_rows(int m, int R, int N, int K, const real *A, long sam, long sak, const real *B, long sbk,
                      long sbn, real *C, long ldc, int acc, const real *bias_m, const real *bias_n,
                      const int *boff)
{
    int n = 0;
    /* columns next to each other (sbn 1: a convolution's positions): 2 rows
     * by 4 columns, the four B elements of a k at fixed offsets from one
     * address, 8 sums in registers (Cortex-M4F: about 2.4 instructions per
     * multiply-add instead of 3.5) */
    if (R == 2 && !(acc & GEMM_K8) && sbn == 1)
        for (; n + 4 <= N; n += 4) {
            const real *a0 = A + (long)m * sam, *a1 = a0 + sam, *b0 = B + n;
            real *c0 = C + (long)m * ldc + n, *c1 = c0 + ldc;
            real s00, s01, s02, s03, s10, s11, s12, s13;
            if (acc & GEMM_ACC) {
                s00 = c0[0], s01 = c0[1], s02 = c0[2], s03 = c0[3];
                s10 = c1[0], s11 = c1[1], s12 = c1[2], s13 = c1[3];
            } else if (bias_m) {
                s00 = s01 = s02 = s03 = bias_m[m];
                s10 = s11 = s12 = s13 = bias_m[m + 1];
            } else if (bias_n) {
                s00 = s10 = bias_n[n], s01 = s11 = bias_n[n + 1];
                s02 = s12 = bias_n[n + 2], s03 = s13 = bias_n[n + 3];
            } else {
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0f;
            }
            for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
                int ke = K - k0 < GEMM_KC ? K : k0 + GEMM_KC;
                real p00 = k0 == 0 ? s00 : 0.0f, p01 = k0 == 0 ? s01 : 0.0f;
                real p02 = k0 == 0 ? s02 : 0.0f, p03 = k0 == 0 ? s03 : 0.0f;
                real p10 = k0 == 0 ? s10 : 0.0f, p11 = k0 == 0 ? s11 : 0.0f;
                real p12 = k0 == 0 ? s12 : 0.0f, p13 = k0 == 0 ? s13 : 0.0f;
                for (int k = k0; k < ke; k++) {
                    const real *bk = b0 + (boff ? boff[k] : (long)k * sbk);
                    real x0 = a0[(long)k * sak], x1 = a1[(long)k * sak], y;
                    y = bk[0];
                    p00 = FMADD(x0, y, p00);
                    p10 = FMADD(x1, y, p10);
                    y = bk[1];
                    p01 = FMADD(x0, y, p01);
                    p11 = FMADD(x1, y, p11);
                    y = bk[2];
                    p02 = FMADD(x0, y, p02);
                    p12 = FMADD(x1, y, p12);
                    y = bk[3];
                    p03 = FMADD(x0, y, p03);
                    p13 = FMADD(x1, y, p13);
                }
                s00 = k0 == 0 ? p00 : s00 + p00;
                s01 = k0 == 0 ? p01 : s01 + p01;
                s02 = k0 == 0 ? p02 : s02 + p02;
                s03 = k0 == 0 ? p03 : s03 + p03;
                s10 = k0 == 0 ? p10 : s10 + p10;
                s11 = k0 == 0 ? p11 : s11 + p11;
                s12 = k0 == 0 ? p12 : s12 + p12;
                s13 = k0 == 0 ? p13 : s13 + p13;
            }
            c0[0] = s00, c0[1] = s01, c0[2] = s02, c0[3] = s03;
            c1[0] = s10, c1[1] = s11, c1[2] = s12, c1[3] = s13;
        }
    if (R == 2 && !(acc & GEMM_K8))
        for (; n + 2 <= N; n += 2) {
            const real *a0 = A + (long)m * sam, *a1 = a0 + sam, *b0 = B + (long)n * sbn, *b1 = b0 + sbn;
            real *c0 = C + (long)m * ldc + n, *c1 = c0 + ldc;
            real s00, s01, s10, s11;
            if (acc & GEMM_ACC) {
                s00 = c0[0], s01 = c0[1], s10 = c1[0], s11 = c1[1];
            } else if (bias_m) {
                s00 = s01 = bias_m[m];
                s10 = s11 = bias_m[m + 1];
            } else if (bias_n) {
                s00 = s10 = bias_n[n];
                s01 = s11 = bias_n[n + 1];
            } else {
                s00 = s01 = s10 = s11 = 0.0f;
            }
            for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
                int ke = K - k0 < GEMM_KC ? K : k0 + GEMM_KC;
                real p00 = k0 == 0 ? s00 : 0.0f, p01 = k0 == 0 ? s01 : 0.0f;
                real p10 = k0 == 0 ? s10 : 0.0f, p11 = k0 == 0 ? s11 : 0.0f;
                for (int k = k0; k < ke; k++) {
                    long o = boff ? boff[k] : (long)k * sbk;
                    real x0 = a0[(long)k * sak], x1 = a1[(long)k * sak], y0 = b0[o], y1 = b1[o];
                    p00 = FMADD(x0, y0, p00);
                    p01 = FMADD(x0, y1, p01);
                    p10 = FMADD(x1, y0, p10);
                    p11 = FMADD(x1, y1, p11);
                }
                s00 = k0 == 0 ? p00 : s00 + p00;
                s01 = k0 == 0 ? p01 : s01 + p01;
                s10 = k0 == 0 ? p10 : s10 + p10;
                s11 = k0 == 0 ? p11 : s11 + p11;
            }
            c0[0] = s00, c0[1] = s01, c1[0] = s10, c1[1] = s11;
        }
    for (; n < N; n++)
        for (int r = 0; r < R; r++)
            gemm_elem(m + r, n, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, boff);
}
#endif

/* The parts GEMM is split into: panels of GEMM_NR_RUN columns (pairs of
 * rows in the plain build); gemm_part() computes part p on the calling
 * thread, its pack the calling thread's (room for the widest panel, 32 columns;
 * NULL from a call that never packs: B read in place or whole panels).  Unused
 * where every product is a few-sample dense forward (dot products, no GEMM). */
#ifdef NNC_VECTOR
#define GEMM_PARTS(M, N) (((N) + GEMM_NR_RUN - 1) / GEMM_NR_RUN)
#else
#define GEMM_PARTS(M, N) (((M) + 1) / 2)
#endif
__attribute__((unused)) static void gemm_part(int p, int M, int N, int K, const real *A, long sam, long sak,
                                              const real *B, long sbk, long sbn, real *C, long ldc, int acc,
                                              const real *bias_m, const real *bias_n, real *pack, const int *boff)
{
#ifdef NNC_VECTOR
    NNC_ISA_CALL(gemm_panel, (p * GEMM_NR_RUN, M, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n,
                              pack ? pack + (size_t)NNC_THREAD * GEMM_KC * 32 : pack, boff));
#else
    (void)pack;
    gemm_rows(2 * p, M - 2 * p < 2 ? 1 : 2, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, boff);
#endif
}

/* On the calling thread, inside a parallel loop or not: no OpenMP
 * region at all (a region of one thread still costs about a microsecond).
 * Macros, this and GEMM_PAR, so that each call site calls gemm_part() with its
 * constant shapes, for which the compiler specialises it; inside a loop
 * OpenMP outlines, a function's parameters are read from memory and the
 * generic code runs (two-thread profiles of fashion_lenet showed it). */
#define GEMM(M, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, pack, boff)                  \
    do {                                                                                            \
        for (int gp_ = 0; gp_ < GEMM_PARTS(M, N); gp_++)                                            \
            gemm_part(gp_, M, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, pack, boff); \
    } while (0)

/* GEMM with its parts split over the threads, when it has more than one and
 * at least GEMM_PAR_MIN multiply-adds (an OpenMP region costs about 0.8 us,
 * the time of some 50,000 of them); the test is constant where the shapes are */
#define GEMM_PAR_MIN 262144L
#define GEMM_PAR(M, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, pack, boff)              \
    do {                                                                                            \
        if (GEMM_PARTS(M, N) > 1 && (long)(M) * (N) * (K) >= GEMM_PAR_MIN) {                         \
            NNC_PARALLEL_FOR                                                                        \
            for (int gp_ = 0; gp_ < GEMM_PARTS(M, N); gp_++)                                        \
                gemm_part(gp_, M, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, pack,    \
                          boff);                                                                    \
        } else {                                                                                    \
            GEMM(M, N, K, A, sam, sak, B, sbk, sbn, C, ldc, acc, bias_m, bias_n, pack, boff);          \
        }                                                                                           \
    } while (0)

/*@ end */
