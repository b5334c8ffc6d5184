/*
 * kernels_int8.c: the C of nnc --quantize int8 (quantize.h's plan).
 *
 * Writes NAME.h and NAME.c: the weights as const int8_t / int32_t arrays,
 * TensorFlow Lite's fixed-point helpers, one function per node of the
 * int8 graph (plain C99, int32 accumulation, requantize, clamp), the
 * schedule over one sample, and the API: NAME_init on the caller's arena,
 * NAME_forward (float in, float out: quantizes the input, dequantizes the
 * output) and NAME_forward_int8 (int8 in and out, their scales and zero
 * points in the header).  The arithmetic is docs/quantization.md's;
 * tests/quant/qref.py computes the same integers.  On x86 with AVX-512
 * VNNI and VBMI the dense and conv2d products take intrinsic kernels
 * instead (nnc_x86_*, under NNC_I8X86: directly with -march, by run-time
 * dispatch in a plain build), with their own copy of the weights; the
 * same integers.  Nothing here depends on
 * the float path's kernels: an int8 file needs only libm (for the float
 * ops and for roundf in quantizing the input).
 */
#include "kernels_int8.h"

#include <stdlib.h>
#include <string.h>

#include "cident.h"
#include "conv_algo.h"

typedef long long ll;

/* TFLite's reference arithmetic (tensorflow/lite/kernels/internal/common.h,
 * after gemmlowp's fixedpoint.h), docs/quantization.md: what every
 * requantizing kernel calls. */
static const char *const int8_requant[] = {
    "/* SaturatingRoundingDoublingHighMul (gemmlowp): the high 32 bits of 2ab,",
    " * rounded half away from zero; only INT32_MIN * INT32_MIN saturates. */",
    "static int32_t nnc_srdhm(int32_t a, int32_t b)",
    "{",
    "    int64_t ab = (int64_t)a * (int64_t)b;",
    "    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));",
    "    if (a == INT32_MIN && b == INT32_MIN)",
    "        return INT32_MAX;",
    "    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));",
    "}",
    "",
    "/* RoundingDivideByPOT (gemmlowp): x / 2^e rounded half away from zero. */",
    "static int32_t nnc_rdpot(int32_t x, int e)",
    "{",
    "    int32_t mask = (int32_t)((UINT32_C(1) << e) - 1u);",
    "    int32_t rem = x & mask;",
    "    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);",
    "    /* an arithmetic shift, spelt so that C99 defines it for x < 0: ~x >= 0 */",
    "    int32_t q = x >= 0 ? x >> e : ~(~x >> e);",
    "    return q + (rem > threshold ? 1 : 0);",
    "}",
    "",
    "/* nnc_rdpot(nnc_srdhm(acc, mult), e) for mult >= 0 and e in [1, 31], what",
    " * the kernels' multipliers are, in one multiply-add (SMLAL on Cortex-M4):",
    " * floor((acc mult + 2^30 + 2^(30 + e) - [acc < 0] 2^31) / 2^(31 + e)), the",
    " * high word shifted right e - 1 (docs/quantization.md derives it).  Cores",
    " * without a 32 x 32 -> 64-bit multiply (Thumb-1: Cortex-M0/M0+/M23, where",
    " * int64_t products call a library routine; or -DNNC_RQ32) take the same",
    " * integers in 32-bit pieces: both roundings are half away from zero, so",
    " * the result is sign(acc) times that of |acc|, and |acc| mult is four",
    " * 16 x 16-bit products. */",
    "#if defined(NNC_RQ32) || (defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB == 1)",
    "static int32_t nnc_rq(int32_t acc, int32_t mult, int e)",
    "{",
    "    uint32_t u = acc < 0 ? 0u - (uint32_t)acc : (uint32_t)acc, m = (uint32_t)mult;",
    "    uint32_t ul = u & 0xFFFFu, uh = u >> 16, ml = m & 0xFFFFu, mh = m >> 16;",
    "    uint32_t mid = uh * ml + ul * mh; /* < 2^32: uh <= 2^15, mh < 2^15 */",
    "    uint32_t lo = ul * ml, hi = uh * mh + (mid >> 16), t;",
    "    /* (hi, lo) = |acc| mult + 2^30 + 2^(30 + e), a 64-bit sum in two words */",
    "    t = lo + (mid << 16);",
    "    hi += t < lo;",
    "    lo = t + (e == 1 ? 0xC0000000u : 0x40000000u);",
    "    hi += (lo < t) + (e == 1 ? 0u : UINT32_C(1) << (e - 2));",
    "    hi >>= e - 1;",
    "    return acc < 0 ? -(int32_t)hi : (int32_t)hi;",
    "}",
    "#else",
    "#if defined(__GNUC__)",
    "__attribute__((always_inline))",
    "#endif",
    "static inline int32_t nnc_rq(int32_t acc, int32_t mult, int e)",
    "{",
    "    int64_t r = e == 1 ? (int64_t)0xC0000000u : (int64_t)(UINT32_C(1) << (e - 2)) * 4294967296 + 0x40000000;",
    "    int64_t v = (int64_t)acc * mult + r - (acc < 0 ? (int64_t)1 << 31 : 0);",
    "    /* arithmetic shifts, spelt so that C99 defines them for v, hi < 0 */",
    "    int32_t hi = (int32_t)(v >= 0 ? v >> 32 : ~(~v >> 32));",
    "    return hi >= 0 ? hi >> (e - 1) : ~(~hi >> (e - 1));",
    "}",
    "#endif",
    "",
    "/* MultiplyByQuantizedMultiplier (TFLite): acc * mult * 2^(shift - 31), a",
    " * positive shift applied first (saturating where TFLite would overflow). */",
    "static int32_t nnc_requant(int32_t acc, int32_t mult, int shift)",
    "{",
    "    if (mult >= 0 && shift < 0)",
    "        return nnc_rq(acc, mult, -shift);",
    "    if (shift > 0) {",
    "        int64_t v = (int64_t)acc * ((int64_t)1 << shift);",
    "        acc = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;",
    "    }",
    "    return nnc_rdpot(nnc_srdhm(acc, mult), shift > 0 ? 0 : -shift);",
    "}",
    "",
};

/* The dense and conv2d products (the DSP variant included). */
static const char *const int8_rows[] = {
    "/* The rows of a dense or conv2d: for r < rows, y[r * ys] = clamp(",
    " * requant(bz[r] + x . w[r], m[r], sh[r]) + zp, lo, hi), x and each row of",
    " * w k int8; e holds 2 k bytes of scratch.  With the DSP extension",
    " * (Cortex-M4/M7: __ARM_FEATURE_DSP, as CMSIS-NN) x is widened to int16 in",
    " * e, its elements reordered in fours as SXTB16 reads the weights, and two",
    " * rows take four products a step each by SMLAD.  On Thumb-1 (Cortex-M0)",
    " * two rows a pass from the int8 operands.  Otherwise x is widened",
    " * in order and four rows take int16 x int16 products a pass, the pattern",
    " * compilers vectorise as pairs of multiply-adds (x86's pmaddwd).  The",
    " * sums are the same integers either way. */",
    "#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && !defined(NNC_SCALAR)",
    "#include <arm_acle.h>",
    "#define NNC_DSP 1",
    "/* SXTB16 of v rotated right 8 bits: bytes 1 and 3 as two int16; one",
    " * instruction with GCC's and Clang's inline assembly. */",
    "#if defined(__GNUC__)",
    "static inline int32_t nnc_sxtb16_ror8(uint32_t v)",
    "{",
    "    int32_t r;",
    "    __asm__(\"sxtb16 %0, %1, ror #8\" : \"=r\"(r) : \"r\"(v));",
    "    return r;",
    "}",
    "#else",
    "#define nnc_sxtb16_ror8(v) __sxtb16((int32_t)((v) >> 8 | (v) << 24))",
    "#endif",
    "/* The four signed bytes of a and b, each the greater (SSUB8 sets a lane's",
    " * GE flag where a >= b, SEL takes a there): maxpool's 2 x 2 windows. */",
    "static inline uint32_t nnc_max8(uint32_t a, uint32_t b)",
    "{",
    "#if defined(__GNUC__)",
    "    uint32_t r;",
    "    __asm__(\"ssub8 %0, %1, %2\\n\\tsel %0, %1, %2\" : \"=&r\"(r) : \"r\"(a), \"r\"(b) : \"cc\");",
    "    return r;",
    "#else",
    "    (void)__ssub8((int8x4_t)a, (int8x4_t)b);",
    "    return (uint32_t)__sel((uint8x4_t)a, (uint8x4_t)b);",
    "#endif",
    "}",
    "/* One output: acc requantized (nnc_rq inlined for the usual shift < 0),",
    " * the zero point added, clamped to [lo, hi]: one SSAT where that is the",
    " * whole int8 range (no activation, or relu with z = -128), as the",
    " * compiler sees where lo and hi are constants. */",
    "static inline __attribute__((always_inline)) int8_t nnc_out(int32_t acc, int32_t m, int sh, int32_t zp,",
    "                                                             int32_t lo, int32_t hi)",
    "{",
    "    int32_t v = (sh < 0 ? nnc_rq(acc, m, -sh) : nnc_requant(acc, m, sh)) + zp;",
    "    if (lo == -128 && hi == 127)",
    "        return (int8_t)__ssat(v, 8);",
    "    return (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "}",
    "/* nnc_out for a shift sh in [-31, -2] (e = -sh >= 2), the row's constants",
    " * read once: e1 = e - 1 = ~sh and c = 2^(e - 2), nnc_rq's rounding term",
    " * 2^(30 + e) in the high word.  The 64-bit sum starts at c 2^32 + 2^30,",
    " * less 2^31 where acc < 0 (high word c - 1, low word 2^30 + 2^31: the",
    " * sign bit of acc or-ed into 2^30, the high word c + (acc >> 31)), SMLAL",
    " * adds acc m, and the high word shifted right e1 is nnc_rq's result: five",
    " * instructions, where nnc_out's 64-bit constant and [acc < 0] take eight. */",
    "static inline __attribute__((always_inline)) int8_t nnc_out2(int32_t acc, int32_t m, int32_t c, int e1, int32_t zp,",
    "                                                              int32_t lo, int32_t hi)",
    "{",
    "    int32_t v;",
    "#if defined(__GNUC__) && defined(__OPTIMIZE__)",
    "    int32_t l_, h_;",
    "    __asm__(\"and %[l], %[acc], #0x80000000\\n\\torr %[l], %[l], #0x40000000\\n\\tadd %[h], %[c], %[acc], asr #31\\n\\t\"",
    "            \"smlal %[l], %[h], %[acc], %[m]\\n\\tasr %[h], %[h], %[e1]\"",
    "            : [l] \"=&r\"(l_), [h] \"=&r\"(h_)",
    "            : [acc] \"r\"(acc), [m] \"r\"(m), [c] \"r\"(c), [e1] \"r\"(e1));",
    "    v = h_ + zp;",
    "#else",
    "    (void)c;",
    "    v = nnc_rq(acc, m, e1 + 1) + zp;",
    "#endif",
    "    if (lo == -128 && hi == 127)",
    "        return (int8_t)__ssat(v, 8);",
    "    return (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "}",
    "/* The inner loops in assembly: GCC at -Os keeps neither four sums nor the",
    " * pointers in registers.  nnc_dot2 (nnc_rows): two rows w0, w1 by one",
    " * widened x, p[2q], p[2q + 1] quad q's pairs, two quads a step (an odd",
    " * count enters at the second): 24 instructions for 16 multiply-adds.",
    " * nnc_dot22 (nnc_rows2): two rows by two widened inputs, p[4q .. 4q + 3]",
    " * quad q's pairs of the first, then of the second; the first input's",
    " * pairs are loaded twice so that 12 registers do: 19 instructions for 16",
    " * multiply-adds; nnc_dot12 one row by the two inputs (an odd last row,",
    " * depthwise convolution's one), 11 for 8.  All run to p == end (end >",
    " * p), w0 and w1 advanced as far.",
    " * Without optimisation (GCC cannot find the registers at -O0) or GCC's",
    " * inline assembly, the same sums in C. */",
    "#if defined(__GNUC__) && defined(__OPTIMIZE__)",
    "#define nnc_dot2(p, end, w0, w1, s0, s1)                                                                         \\",
    "    do {                                                                                                         \\",
    "        int32_t c0_, c1_, a_, b_, odd_ = (int32_t)((end - p) & 2);                                               \\",
    "        __asm__(\"cmp %[odd], #0\\n\\tbne 2f\\n\"                                                                     \\",
    "                \"1:\\n\\tldrd %[c0], %[c1], [%[p]], #8\\n\\t\"                                                        \\",
    "                \"ldr %[a], [%[w0]], #4\\n\\tsxtb16 %[b], %[a]\\n\\tsxtb16 %[a], %[a], ror #8\\n\\t\"                    \\",
    "                \"smlad %[s0], %[b], %[c0], %[s0]\\n\\tsmlad %[s0], %[a], %[c1], %[s0]\\n\\t\"                         \\",
    "                \"ldr %[a], [%[w1]], #4\\n\\tsxtb16 %[b], %[a]\\n\\tsxtb16 %[a], %[a], ror #8\\n\\t\"                    \\",
    "                \"smlad %[s1], %[b], %[c0], %[s1]\\n\\tsmlad %[s1], %[a], %[c1], %[s1]\\n\"                           \\",
    "                \"2:\\n\\tldrd %[c0], %[c1], [%[p]], #8\\n\\t\"                                                        \\",
    "                \"ldr %[a], [%[w0]], #4\\n\\tsxtb16 %[b], %[a]\\n\\tsxtb16 %[a], %[a], ror #8\\n\\t\"                    \\",
    "                \"smlad %[s0], %[b], %[c0], %[s0]\\n\\tsmlad %[s0], %[a], %[c1], %[s0]\\n\\t\"                         \\",
    "                \"ldr %[a], [%[w1]], #4\\n\\tsxtb16 %[b], %[a]\\n\\tsxtb16 %[a], %[a], ror #8\\n\\t\"                    \\",
    "                \"smlad %[s1], %[b], %[c0], %[s1]\\n\\tsmlad %[s1], %[a], %[c1], %[s1]\\n\\t\"                         \\",
    "                \"cmp %[p], %[end]\\n\\tbne 1b\"                                                                     \\",
    "                : [p] \"+r\"(p), [w0] \"+r\"(w0), [w1] \"+r\"(w1), [s0] \"+r\"(s0), [s1] \"+r\"(s1), [c0] \"=&r\"(c0_),      \\",
    "                  [c1] \"=&r\"(c1_), [a] \"=&r\"(a_), [b] \"=&r\"(b_)                                                  \\",
    "                : [end] \"r\"(end), [odd] \"r\"(odd_)                                                                \\",
    "                : \"cc\", \"memory\");                                                                               \\",
    "    } while (0)",
    "#define nnc_dot22(p, end, w0, w1, s00, s01, s10, s11)                                                            \\",
    "    do {                                                                                                         \\",
    "        int32_t c0_, c1_, a_, b_;                                                                                \\",
    "        __asm__(\"1:\\n\\tldr %[a], [%[w0]], #4\\n\\tsxtb16 %[b], %[a]\\n\\tsxtb16 %[a], %[a], ror #8\\n\\t\"              \\",
    "                \"ldrd %[c0], %[c1], [%[p]]\\n\\t\"                                                                  \\",
    "                \"smlad %[s00], %[b], %[c0], %[s00]\\n\\tsmlad %[s00], %[a], %[c1], %[s00]\\n\\t\"                     \\",
    "                \"ldrd %[c0], %[c1], [%[p], #8]\\n\\t\"                                                              \\",
    "                \"smlad %[s01], %[b], %[c0], %[s01]\\n\\tsmlad %[s01], %[a], %[c1], %[s01]\\n\\t\"                     \\",
    "                \"ldr %[a], [%[w1]], #4\\n\\tsxtb16 %[b], %[a]\\n\\tsxtb16 %[a], %[a], ror #8\\n\\t\"                    \\",
    "                \"smlad %[s11], %[b], %[c0], %[s11]\\n\\tsmlad %[s11], %[a], %[c1], %[s11]\\n\\t\"                     \\",
    "                \"ldrd %[c0], %[c1], [%[p]], #16\\n\\t\"                                                             \\",
    "                \"smlad %[s10], %[b], %[c0], %[s10]\\n\\tsmlad %[s10], %[a], %[c1], %[s10]\\n\\t\"                     \\",
    "                \"cmp %[p], %[end]\\n\\tbne 1b\"                                                                     \\",
    "                : [p] \"+r\"(p), [w0] \"+r\"(w0), [w1] \"+r\"(w1), [s00] \"+r\"(s00), [s01] \"+r\"(s01), [s10] \"+r\"(s10),  \\",
    "                  [s11] \"+r\"(s11), [c0] \"=&r\"(c0_), [c1] \"=&r\"(c1_), [a] \"=&r\"(a_), [b] \"=&r\"(b_)                \\",
    "                : [end] \"r\"(end)                                                                                 \\",
    "                : \"cc\", \"memory\");                                                                               \\",
    "    } while (0)",
    "#define nnc_dot12(p, end, w0, s0, s1)                                                                            \\",
    "    do {                                                                                                         \\",
    "        int32_t c0_, c1_, a_, b_;                                                                                \\",
    "        __asm__(\"1:\\n\\tldr %[a], [%[w0]], #4\\n\\tsxtb16 %[b], %[a]\\n\\tsxtb16 %[a], %[a], ror #8\\n\\t\"              \\",
    "                \"ldrd %[c0], %[c1], [%[p]], #8\\n\\t\"                                                              \\",
    "                \"smlad %[s0], %[b], %[c0], %[s0]\\n\\tsmlad %[s0], %[a], %[c1], %[s0]\\n\\t\"                         \\",
    "                \"ldrd %[c0], %[c1], [%[p]], #8\\n\\t\"                                                              \\",
    "                \"smlad %[s1], %[b], %[c0], %[s1]\\n\\tsmlad %[s1], %[a], %[c1], %[s1]\\n\\t\"                         \\",
    "                \"cmp %[p], %[end]\\n\\tbne 1b\"                                                                     \\",
    "                : [p] \"+r\"(p), [w0] \"+r\"(w0), [s0] \"+r\"(s0), [s1] \"+r\"(s1), [c0] \"=&r\"(c0_), [c1] \"=&r\"(c1_),    \\",
    "                  [a] \"=&r\"(a_), [b] \"=&r\"(b_)                                                                   \\",
    "                : [end] \"r\"(end)                                                                                 \\",
    "                : \"cc\", \"memory\");                                                                               \\",
    "    } while (0)",
    "#else",
    "#define nnc_dot12(p, end, w0, s0, s1)                                                                            \\",
    "    do {                                                                                                         \\",
    "        for (; p < end; p += 4, w0 += 4) {                                                                       \\",
    "            uint32_t a_;                                                                                         \\",
    "            int32_t al_, ah_;                                                                                    \\",
    "            memcpy(&a_, w0, 4);                                                                                  \\",
    "            al_ = __sxtb16((int32_t)a_), ah_ = nnc_sxtb16_ror8(a_);                                              \\",
    "            s0 = __smlad(ah_, p[1], __smlad(al_, p[0], s0));                                                     \\",
    "            s1 = __smlad(ah_, p[3], __smlad(al_, p[2], s1));                                                     \\",
    "        }                                                                                                        \\",
    "    } while (0)",
    "#define nnc_dot2(p, end, w0, w1, s0, s1)                                                                         \\",
    "    do {                                                                                                         \\",
    "        for (; p < end; p += 2, w0 += 4, w1 += 4) {                                                              \\",
    "            uint32_t a_, b_;                                                                                     \\",
    "            memcpy(&a_, w0, 4);                                                                                  \\",
    "            memcpy(&b_, w1, 4);                                                                                  \\",
    "            s0 = __smlad(nnc_sxtb16_ror8(a_), p[1], __smlad(__sxtb16((int32_t)a_), p[0], s0));                   \\",
    "            s1 = __smlad(nnc_sxtb16_ror8(b_), p[1], __smlad(__sxtb16((int32_t)b_), p[0], s1));                   \\",
    "        }                                                                                                        \\",
    "    } while (0)",
    "#define nnc_dot22(p, end, w0, w1, s00, s01, s10, s11)                                                            \\",
    "    do {                                                                                                         \\",
    "        for (; p < end; p += 4, w0 += 4, w1 += 4) {                                                              \\",
    "            uint32_t a_, b_;                                                                                     \\",
    "            int32_t al_, ah_, bl_, bh_;                                                                          \\",
    "            memcpy(&a_, w0, 4);                                                                                  \\",
    "            memcpy(&b_, w1, 4);                                                                                  \\",
    "            al_ = __sxtb16((int32_t)a_), ah_ = nnc_sxtb16_ror8(a_);                                              \\",
    "            bl_ = __sxtb16((int32_t)b_), bh_ = nnc_sxtb16_ror8(b_);                                              \\",
    "            s00 = __smlad(ah_, p[1], __smlad(al_, p[0], s00));                                                   \\",
    "            s01 = __smlad(ah_, p[3], __smlad(al_, p[2], s01));                                                   \\",
    "            s10 = __smlad(bh_, p[1], __smlad(bl_, p[0], s10));                                                   \\",
    "            s11 = __smlad(bh_, p[3], __smlad(bl_, p[2], s11));                                                   \\",
    "        }                                                                                                        \\",
    "    } while (0)",
    "#endif",
    "/* nnc_rows2 inlined into each convolution, its sizes constants there */",
    "#define NNC_ROWS2 static inline __attribute__((always_inline))",
    "#else",
    "#define NNC_ROWS2 static",
    "#if defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB == 1 && !defined(NNC_SCALAR)",
    "#define NNC_THUMB1 1",
    "#endif",
    "#endif",
    "static void nnc_rows(const int8_t *x, int k, const int8_t *w, int rows, const int32_t *bz, const int32_t *m,",
    "                     const int8_t *sh, int32_t zp, int32_t lo, int32_t hi, int8_t *y, int ys, int16_t *e)",
    "{",
    "    int r, i;",
    "#ifdef NNC_DSP",
    "    /* x widened once: e32[2q], e32[2q + 1] = quad q's (x0, x2), (x1, x3), the",
    "     * pairs SXTB16 makes of a weight word; the rows two at a time, an odd",
    "     * last one paired with itself (computed twice, stored once) */",
    "    int k4 = k & ~3;",
    "    int32_t *e32 = (int32_t *)(void *)e;",
    "    for (i = 0; i < k4; i += 4) {",
    "        uint32_t u;",
    "        memcpy(&u, x + i, 4);",
    "        e32[i / 2] = __sxtb16((int32_t)u);",
    "        e32[i / 2 + 1] = nnc_sxtb16_ror8(u);",
    "    }",
    "    for (r = 0; r < rows; r += 2) {",
    "        const int8_t *w0 = w + (size_t)r * k, *w1 = r + 1 < rows ? w0 + k : w0;",
    "        const int32_t *p = e32, *end = e32 + k4 / 2;",
    "        int32_t s0 = bz[r], s1 = r + 1 < rows ? bz[r + 1] : 0;",
    "        if (p < end)",
    "            nnc_dot2(p, end, w0, w1, s0, s1);",
    "        for (i = k4; i < k; i++) {",
    "            s0 += (int32_t)x[i] * w0[i - k4];",
    "            s1 += (int32_t)x[i] * w1[i - k4];",
    "        }",
    "        y[(size_t)r * ys] = nnc_out(s0, m[r], sh[r], zp, lo, hi);",
    "        if (r + 1 < rows)",
    "            y[(size_t)(r + 1) * ys] = nnc_out(s1, m[r + 1], sh[r + 1], zp, lo, hi);",
    "    }",
    "#elif defined(NNC_THUMB1)",
    "    /* Thumb-1 (Cortex-M0/M0+, or -DNNC_THUMB1): two rows a pass, their sums,",
    "     * the index, three pointers and two operands in the eight low",
    "     * registers; x read as int8 (nothing to widen), e unused; an odd last",
    "     * row paired with itself (computed twice, stored once) */",
    "    (void)e;",
    "    for (r = 0; r < rows; r += 2) {",
    "        const int8_t *w0 = w + (size_t)r * k, *w1 = r + 1 < rows ? w0 + k : w0;",
    "        int32_t s0 = bz[r], s1 = r + 1 < rows ? bz[r + 1] : 0, v;",
    "        for (i = 0; i < k; i++) {",
    "            int32_t a = x[i];",
    "            s0 += a * w0[i];",
    "            s1 += a * w1[i];",
    "        }",
    "        v = nnc_requant(s0, m[r], sh[r]) + zp;",
    "        y[(size_t)r * ys] = (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "        if (r + 1 < rows) {",
    "            v = nnc_requant(s1, m[r + 1], sh[r + 1]) + zp;",
    "            y[(size_t)(r + 1) * ys] = (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "        }",
    "    }",
    "#else",
    "    for (i = 0; i < k; i++)",
    "        e[i] = x[i];",
    "    for (r = 0; r + 4 <= rows; r += 4) {",
    "        const int8_t *w0 = w + (size_t)r * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;",
    "        int32_t s0 = bz[r], s1 = bz[r + 1], s2 = bz[r + 2], s3 = bz[r + 3], v, j;",
    "        for (i = 0; i < k; i++) {",
    "            s0 += e[i] * (int16_t)w0[i];",
    "            s1 += e[i] * (int16_t)w1[i];",
    "            s2 += e[i] * (int16_t)w2[i];",
    "            s3 += e[i] * (int16_t)w3[i];",
    "        }",
    "        for (j = 0; j < 4; j++) {",
    "            v = nnc_requant(j == 0 ? s0 : j == 1 ? s1 : j == 2 ? s2 : s3, m[r + j], sh[r + j]) + zp;",
    "            y[(size_t)(r + j) * ys] = (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "        }",
    "    }",
    "    for (; r < rows; r++) {",
    "        const int8_t *wr = w + (size_t)r * k;",
    "        int32_t s = bz[r], v;",
    "        for (i = 0; i < k; i++)",
    "            s += e[i] * (int16_t)wr[i];",
    "        v = nnc_requant(s, m[r], sh[r]) + zp;",
    "        y[(size_t)r * ys] = (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "    }",
    "#endif",
    "}",
    "",
};

/* conv2d's two output positions at a time. */
static const char *const int8_rows2[] = {
    "#ifdef NNC_DSP",
    "/* The rows of a conv2d for two output positions whose taps are given",
    " * widened: e32[4q .. 4q + 3] = quad q's (x0, x2), (x1, x3) of the first",
    " * position, then of the second, for the k4 (a multiple of 4) first taps;",
    " * t0[0 .. k - k4) and t1[..] the last taps of each, int8; each row of w",
    " * k int8.  Two rows by two positions a step, four SMLAD per weight word;",
    " * an odd last row (a depthwise convolution's only one) by the two",
    " * positions; y0[r * ys], y1[r * ys] as nnc_rows's y. */",
    "NNC_ROWS2 void nnc_rows2w(const int32_t *e32, const int8_t *t0, const int8_t *t1, int k4, int k, const int8_t *w,",
    "                          int rows, const int32_t *bz, const int32_t *m, const int8_t *sh, int32_t zp, int32_t lo,",
    "                          int32_t hi, int8_t *y0, int8_t *y1, int ys, int rq)",
    "{",
    "    int r, i;",
    "    for (r = 0; r + 1 < rows; r += 2) {",
    "        const int8_t *w0 = w + (size_t)r * k, *w1 = w0 + k;",
    "        const int32_t *p = e32, *end = e32 + k4;",
    "        int32_t s00 = bz[r], s01 = s00, s10 = bz[r + 1], s11 = s10;",
    "        if (p < end)",
    "            nnc_dot22(p, end, w0, w1, s00, s01, s10, s11);",
    "        for (i = k4; i < k; i++) {",
    "            int32_t a0 = t0[i - k4], a1 = t1[i - k4], b0 = w0[i - k4], b1 = w1[i - k4];",
    "            s00 += a0 * b0;",
    "            s01 += a1 * b0;",
    "            s10 += a0 * b1;",
    "            s11 += a1 * b1;",
    "        }",
    "        {",
    "            /* each row's multiplier and shift read once for its two outputs",
    "             * (a store through int8_t * could alias them) */",
    "            int32_t m0 = m[r], m1 = m[r + 1];",
    "            int sh0 = sh[r], sh1 = sh[r + 1];",
    "            int8_t v0, v1;",
    "            if (rq) {",
    "                /* e - 1 = ~sh, the rounding term's high word 2^(e - 2) */",
    "                int e0 = ~sh0, e1 = ~sh1;",
    "                int32_t c0 = (int32_t)1 << (e0 - 1), c1 = (int32_t)1 << (e1 - 1);",
    "                v0 = nnc_out2(s00, m0, c0, e0, zp, lo, hi), v1 = nnc_out2(s01, m0, c0, e0, zp, lo, hi);",
    "                y0[(size_t)r * ys] = v0;",
    "                y1[(size_t)r * ys] = v1;",
    "                v0 = nnc_out2(s10, m1, c1, e1, zp, lo, hi), v1 = nnc_out2(s11, m1, c1, e1, zp, lo, hi);",
    "            } else {",
    "                v0 = nnc_out(s00, m0, sh0, zp, lo, hi), v1 = nnc_out(s01, m0, sh0, zp, lo, hi);",
    "                y0[(size_t)r * ys] = v0;",
    "                y1[(size_t)r * ys] = v1;",
    "                v0 = nnc_out(s10, m1, sh1, zp, lo, hi), v1 = nnc_out(s11, m1, sh1, zp, lo, hi);",
    "            }",
    "            y0[(size_t)(r + 1) * ys] = v0;",
    "            y1[(size_t)(r + 1) * ys] = v1;",
    "        }",
    "    }",
    "    if (r < rows) {",
    "        const int8_t *w0 = w + (size_t)r * k;",
    "        const int32_t *p = e32, *end = e32 + k4;",
    "        int32_t s0 = bz[r], s1 = s0, m0 = m[r];",
    "        int sh0 = sh[r];",
    "        if (p < end)",
    "            nnc_dot12(p, end, w0, s0, s1);",
    "        for (i = k4; i < k; i++) {",
    "            s0 += (int32_t)t0[i - k4] * w0[i - k4];",
    "            s1 += (int32_t)t1[i - k4] * w0[i - k4];",
    "        }",
    "        y0[(size_t)r * ys] = nnc_out(s0, m0, sh0, zp, lo, hi);",
    "        y1[(size_t)r * ys] = nnc_out(s1, m0, sh0, zp, lo, hi);",
    "    }",
    "}",
    "#endif",
    "",
    "/* nnc_rows for two inputs x0 and x1 (two output positions of a conv2d)",
    " * at once, into y0 and y1; e holds 4 k bytes of scratch.  With the DSP",
    " * extension both widened into e once, then nnc_rows2w; otherwise",
    " * nnc_rows twice.  The same integers either way. */",
    "NNC_ROWS2 void nnc_rows2(const int8_t *x0, const int8_t *x1, int k, const int8_t *w, int rows, const int32_t *bz,",
    "                         const int32_t *m, const int8_t *sh, int32_t zp, int32_t lo, int32_t hi, int8_t *y0,",
    "                         int8_t *y1, int ys, int16_t *e)",
    "{",
    "#ifdef NNC_DSP",
    "    /* x0 and x1 widened once, interleaved as nnc_rows2w reads them */",
    "    int i, k4 = k & ~3;",
    "    int32_t *e32 = (int32_t *)(void *)e;",
    "    for (i = 0; i < k4; i += 4) {",
    "        uint32_t u, v;",
    "        memcpy(&u, x0 + i, 4);",
    "        memcpy(&v, x1 + i, 4);",
    "        e32[i] = __sxtb16((int32_t)u);",
    "        e32[i + 1] = nnc_sxtb16_ror8(u);",
    "        e32[i + 2] = __sxtb16((int32_t)v);",
    "        e32[i + 3] = nnc_sxtb16_ror8(v);",
    "    }",
    "    nnc_rows2w(e32, x0 + k4, x1 + k4, k4, k, w, rows, bz, m, sh, zp, lo, hi, y0, y1, ys, 0);",
    "#else",
    "    nnc_rows(x0, k, w, rows, bz, m, sh, zp, lo, hi, y0, ys, e);",
    "    nnc_rows(x1, k, w, rows, bz, m, sh, zp, lo, hi, y1, ys, e);",
    "#endif",
    "}",
    "",
};

/* The x86 prelude: which VNNI kernel a build has (none, direct, run-time
 * dispatch) and the vectoriser's cost model for the plain loops. */
static const char *const int8_x86_prelude[] = {
    "/* x86: the dense and conv2d products by AVX-512 VNNI (vpdpbusd: four",
    " * u8 x s8 products and their sum into each int32 lane), sixteen rows (output",
    " * channels) or sixteen output positions (a conv2d's, windows spread by",
    " * AVX-512 VBMI's vpermb) a pass, and the requantization on sixteen sums at once;",
    " * the same integers as nnc_rows (tests/quant checks every level against",
    " * the NumPy reference).  The input x is read as u8 x + 128 and the bias is",
    " * bz - 128 sum(w) (w_xb), exact in integers.  With -march on a CPU that",
    " * has AVX-512 VNNI and VBMI (Ice Lake, Zen 4 and later) it is called directly; in a build for",
    " * x86-64 without it (plain cc -O2) by GCC 8+ or Clang 8+ NNC_I8X86_ON picks",
    " * it at run time when the CPU has it (nnc_isa8, set once at start-up: 2",
    " * AVX-512 VNNI and VBMI, 1 AVX2, 0 neither) and the plain loops otherwise.",
    " * -DNNC_NO_DISPATCH turns the run-time choice off, -DNNC_ISA_MAX=N caps the",
    " * level (0 or 1: the plain loops; tests build each), -DNNC_SCALAR turns",
    " * the x86 kernel off. */",
    "#if defined(__x86_64__) && !defined(NNC_SCALAR) && \\",
    "    ((defined(__clang__) && __clang_major__ >= 8) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 8))",
    "#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__) && \\",
    "    defined(__AVX512VBMI__)",
    "#define NNC_I8X86 1",
    "#define NNC_I8X86_TARGET __attribute__((unused))",
    "#define NNC_I8X86_ON 1",
    "#elif !defined(NNC_NO_DISPATCH)",
    "#define NNC_I8X86 1",
    "#define NNC_I8X86_DISPATCH 1",
    "#define NNC_I8X86_TARGET __attribute__((unused, target(\"avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi\")))",
    "#ifndef NNC_ISA_MAX",
    "#define NNC_ISA_MAX 2",
    "#endif",
    "static int nnc_isa8;",
    "__attribute__((constructor)) static void nnc_isa8_init(void)",
    "{",
    "    __builtin_cpu_init();",
    "    nnc_isa8 = __builtin_cpu_supports(\"avx512bw\") && __builtin_cpu_supports(\"avx512vl\") &&",
    "                       __builtin_cpu_supports(\"avx512vnni\") && __builtin_cpu_supports(\"avx512vbmi\")",
    "                   ? 2",
    "                   : __builtin_cpu_supports(\"avx2\");",
    "    if (nnc_isa8 > NNC_ISA_MAX)",
    "        nnc_isa8 = NNC_ISA_MAX;",
    "}",
    "#define NNC_I8X86_ON (nnc_isa8 == 2)",
    "#endif",
    "#endif",
    "#ifdef NNC_I8X86",
    "#include <immintrin.h>",
    "#endif",
    "/* The loops that stay plain in a build without -march (pooling, im2col,",
    " * the plain products) are left to GCC's vectoriser, which at -O2 (GCC 12+,",
    " * its \"very cheap\" cost model) takes no loop that needs a run-time alias",
    " * check or a scalar epilogue, and before GCC 12 none; so GCC gets the cost",
    " * model of -fvect-cost-model=cheap here, as the float file does.  Integer",
    " * sums are exact in any order: the same integers. */",
    "#if defined(NNC_I8X86_DISPATCH) && !defined(__clang__) && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)",
    "#pragma GCC optimize(\"tree-vectorize\", \"vect-cost-model=cheap\")",
    "#endif",
};

/* nnc_x86_rows(): the VNNI product and requantization (int8_x86_prelude). */
static const char *const int8_x86_rows[] = {
    "#ifdef NNC_I8X86",
    "/* nnc_requant of 16 sums acc by multipliers mv and right shifts e (shift",
    " * <= 0 for each: -shift), plus zp, clamped to [lo, hi]: 16 int8. */",
    "NNC_I8X86_TARGET static inline __m128i nnc_x86_requant(__m512i acc, __m512i mv, __m512i e, int32_t zp, int32_t lo,",
    "                                                       int32_t hi)",
    "{",
    "    const __m512i rnd = _mm512_set1_epi64((long long)1 << 30), one = _mm512_set1_epi32(1);",
    "    __m512i s, ev, od, mask, q;",
    "    /* nnc_srdhm: (a M + 2^30) >> 31 (M >= 0: no saturation; the reference's",
    "     * truncating division is this floor), the low 32 bits of each 64-bit",
    "     * product, even and odd lanes apart */",
    "    ev = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(acc, mv), rnd), 31);",
    "    od = _mm512_srli_epi64(",
    "        _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), _mm512_srli_epi64(mv, 32)), rnd), 31);",
    "    s = _mm512_mask_blend_epi32((__mmask16)0xAAAA, ev, _mm512_slli_epi64(od, 32));",
    "    /* nnc_rdpot by e: (s >> e) + (rem > (mask >> 1) + (s < 0)) */",
    "    mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, e), one);",
    "    q = _mm512_srav_epi32(s, e);",
    "    q = _mm512_mask_add_epi32(",
    "        q,",
    "        _mm512_cmpgt_epi32_mask(_mm512_and_si512(s, mask),",
    "                                _mm512_sub_epi32(_mm512_srli_epi32(mask, 1), _mm512_srai_epi32(s, 31))),",
    "        q, one);",
    "    q = _mm512_add_epi32(q, _mm512_set1_epi32(zp));",
    "    q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(lo)), _mm512_set1_epi32(hi));",
    "    return _mm512_cvtepi32_epi8(q);",
    "}",
    "",
    "/* The requantization of 16 rows' sums acc (rows r0.. of a block, fewer at",
    " * the end) as nnc_requant does, into y[r * ys]: xm, xr the block's",
    " * multipliers and right shifts; left: some row's shift is positive (then",
    " * nnc_requant itself, with m and sh, on every row). */",
    "NNC_I8X86_TARGET static inline void nnc_x86_out(__m512i acc, int r0, int rows, const int32_t *xm, const int32_t *xr,",
    "                                                int left, const int32_t *m, const int8_t *sh, int32_t zp, int32_t lo,",
    "                                                int32_t hi, int8_t *y, int ys)",
    "{",
    "    int8_t out[16];",
    "    int i, n = rows - r0 < 16 ? rows - r0 : 16;",
    "    if (left) {",
    "        int32_t a[16];",
    "        _mm512_storeu_si512((void *)a, acc);",
    "        for (i = 0; i < n; i++) {",
    "            int32_t v = nnc_requant(a[i], m[r0 + i], sh[r0 + i]) + zp;",
    "            y[(size_t)(r0 + i) * ys] = (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "        }",
    "        return;",
    "    }",
    "    if (ys == 1) {",
    "        _mm_mask_storeu_epi8(y + r0, (__mmask16)((1u << n) - 1u),",
    "                             nnc_x86_requant(acc, _mm512_loadu_si512((const void *)xm),",
    "                                             _mm512_loadu_si512((const void *)xr), zp, lo, hi));",
    "        return;",
    "    }",
    "    _mm_storeu_si128((__m128i *)(void *)out, nnc_x86_requant(acc, _mm512_loadu_si512((const void *)xm),",
    "                                                             _mm512_loadu_si512((const void *)xr), zp, lo, hi));",
    "    for (i = 0; i < n; i++)",
    "        y[(size_t)(r0 + i) * ys] = out[i];",
    "}",
    "",
    "/* The rows of nnc_rows by VNNI: x k int8; wx the rows in blocks of 16, each",
    " * block [(k + 3) / 4][16][4] (row r's taps 4j..4j+3 in lane r % 16 of step",
    " * j, zeros past k and past rows); xb, xm, xr each block's 16 biases (bz -",
    " * 128 sum w), multipliers and right shifts (-shift; zeros past rows);",
    " * left, m, sh, y[r * ys] as nnc_x86_out(). */",
    "NNC_I8X86_TARGET static void nnc_x86_rows(const int8_t *x, int k, const int8_t *wx, int rows, const int32_t *xb,",
    "                                          const int32_t *xm, const int32_t *xr, int left, const int32_t *m,",
    "                                          const int8_t *sh, int32_t zp, int32_t lo, int32_t hi, int8_t *y, int ys)",
    "{",
    "    int k4 = (k + 3) / 4, kf = k / 4, k16 = kf & ~3, r0, j;",
    "    uint32_t tail = 0;",
    "    const __m512i flip = _mm512_set1_epi32((int)0x80808080u);",
    "    /* the last step's taps past k read as zeros (their weights are zeros),",
    "     * never past x's end */",
    "    if (kf < k4)",
    "        memcpy(&tail, x + 4 * kf, (size_t)(k - 4 * kf));",
    "    for (r0 = 0; r0 < rows; r0 += 16, wx += (size_t)k4 * 64, xb += 16, xm += 16, xr += 16) {",
    "        __m512i a0 = _mm512_loadu_si512((const void *)xb), a1 = _mm512_setzero_si512();",
    "        __m512i a2 = _mm512_setzero_si512(), a3 = _mm512_setzero_si512();",
    "        /* four sums, each step's vpdpbusd waiting on the one four steps back */",
    "        for (j = 0; j < k16; j += 4) {",
    "            uint32_t u[4];",
    "            memcpy(u, x + 4 * j, 16);",
    "            a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(_mm512_set1_epi32((int)u[0]), flip),",
    "                                     _mm512_loadu_si512((const void *)(wx + (size_t)j * 64)));",
    "            a1 = _mm512_dpbusd_epi32(a1, _mm512_xor_si512(_mm512_set1_epi32((int)u[1]), flip),",
    "                                     _mm512_loadu_si512((const void *)(wx + (size_t)j * 64 + 64)));",
    "            a2 = _mm512_dpbusd_epi32(a2, _mm512_xor_si512(_mm512_set1_epi32((int)u[2]), flip),",
    "                                     _mm512_loadu_si512((const void *)(wx + (size_t)j * 64 + 128)));",
    "            a3 = _mm512_dpbusd_epi32(a3, _mm512_xor_si512(_mm512_set1_epi32((int)u[3]), flip),",
    "                                     _mm512_loadu_si512((const void *)(wx + (size_t)j * 64 + 192)));",
    "        }",
    "        for (; j < kf; j++) {",
    "            uint32_t u;",
    "            memcpy(&u, x + 4 * j, 4);",
    "            a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(_mm512_set1_epi32((int)u), flip),",
    "                                     _mm512_loadu_si512((const void *)(wx + (size_t)j * 64)));",
    "        }",
    "        if (kf < k4)",
    "            a1 = _mm512_dpbusd_epi32(a1, _mm512_xor_si512(_mm512_set1_epi32((int)tail), flip),",
    "                                     _mm512_loadu_si512((const void *)(wx + (size_t)kf * 64)));",
    "        nnc_x86_out(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)), r0, rows, xm, xr, left, m,",
    "                    sh, zp, lo, hi, y, ys);",
    "    }",
    "}",
    "",
    "/* One output position of a conv2d by VNNI, its window read row by row",
    " * where it lies: x0 the tap (0, 0, 0), cs and rs the steps between",
    " * channels and between kernel rows, c channels, kh rows of kw taps; wx the",
    " * rows in blocks of 16, each [c][kh][(kw + 3) / 4][16][4] (taps past kw",
    " * zero); the rest as nnc_x86_rows().  The taps past kw of a row's last",
    " * step are not read (a masked load). */",
    "NNC_I8X86_TARGET static void nnc_x86_window(const int8_t *x0, int cs, int rs, int c, int kh, int kw,",
    "                                            const int8_t *wx, int rows, const int32_t *xb, const int32_t *xm,",
    "                                            const int32_t *xr, int left, const int32_t *m, const int8_t *sh,",
    "                                            int32_t zp, int32_t lo, int32_t hi, int8_t *y, int ys)",
    "{",
    "    const __m512i flip = _mm512_set1_epi32((int)0x80808080u);",
    "    const __mmask16 last = (__mmask16)((1u << (kw - (kw - 1) / 4 * 4)) - 1u);",
    "    int kg = (kw + 3) / 4, r0, ci, ky, g;",
    "    for (r0 = 0; r0 < rows; r0 += 16, xb += 16, xm += 16, xr += 16) {",
    "        __m512i a0 = _mm512_loadu_si512((const void *)xb), a1 = _mm512_setzero_si512();",
    "        const int8_t *w = wx + (size_t)(r0 / 16) * c * kh * kg * 64;",
    "        for (ci = 0; ci < c; ci++)",
    "            for (ky = 0; ky < kh; ky++) {",
    "                const int8_t *row = x0 + (size_t)ci * cs + (size_t)ky * rs;",
    "                for (g = 0; g + 1 < kg; g++, w += 64) {",
    "                    uint32_t u;",
    "                    memcpy(&u, row + 4 * g, 4);",
    "                    a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(_mm512_set1_epi32((int)u), flip),",
    "                                             _mm512_loadu_si512((const void *)w));",
    "                }",
    "                a1 = _mm512_dpbusd_epi32(",
    "                    a1, _mm512_xor_si512(_mm512_broadcastd_epi32(_mm_maskz_loadu_epi8(last, row + 4 * g)), flip),",
    "                    _mm512_loadu_si512((const void *)w));",
    "                w += 64;",
    "            }",
    "        nnc_x86_out(_mm512_add_epi32(a0, a1), r0, rows, xm, xr, left, m, sh, zp, lo, hi, y, ys);",
    "    }",
    "}",
    "",
    "/* The output row segment of a conv2d of horizontal stride and dilation 1,",
    " * by VNNI with the positions in the lanes: n <= 16 positions from input",
    " * column ix0 (negative in the padding) of output row with input row iy0,",
    " * every row (filter) of a group: x the group's c channels [h, w], kh",
    " * kernel rows dh apart of kw <= 16 taps; wp [rows][c][kh][(kw + 3) / 4]",
    " * the taps as u32 words of four (zeros past kw); xb, xm, xr, left, m, sh",
    " * per row as nnc_x86_rows(); zx the input's zero point (the padding);",
    " * y[r * ys + i] the output of row r at position i.  Each kernel row's",
    " * input bytes are loaded once (a masked load, never outside the row) and",
    " * spread into the sixteen positions' windows of four taps by vpermb, the",
    " * padding's bytes set to zx; eight rows a pass. */",
    "NNC_I8X86_TARGET static void nnc_x86_conv16(const int8_t *x, int c, int h, int w, int kh, int kw, int dh, int iy0,",
    "                                            int ix0, int n, const int32_t *wp, int rows, const int32_t *xb,",
    "                                            const int32_t *xm, const int32_t *xr, int left, const int32_t *m,",
    "                                            const int8_t *sh, int32_t zx, int32_t zp, int32_t lo, int32_t hi,",
    "                                            int8_t *y, int ys)",
    "{",
    "    static const int8_t spread[64] = {0,  1,  2,  3,  1,  2,  3,  4,  2,  3,  4,  5,  3,  4,  5,  6,",
    "                                      4,  5,  6,  7,  5,  6,  7,  8,  6,  7,  8,  9,  7,  8,  9,  10,",
    "                                      8,  9,  10, 11, 9,  10, 11, 12, 10, 11, 12, 13, 11, 12, 13, 14,",
    "                                      12, 13, 14, 15, 13, 14, 15, 16, 14, 15, 16, 17, 15, 16, 17, 18};",
    "    const __m512i flip = _mm512_set1_epi8((char)0x80), zv = _mm512_set1_epi8((char)(zx ^ 0x80));",
    "    int kg = (kw + 3) / 4, first = ix0 < 0 ? 0 : ix0, end = ix0 + n + kg * 4 - 1, f0, i, ci, ky, g;",
    "    __m512i idx[4];",
    "    __mmask64 ok[4], lm;",
    "    if (end > w)",
    "        end = w;",
    "    lm = end > first ? (__mmask64)(~0ULL >> (64 - (end - first))) : 0;",
    "    /* the window bytes of step g: position p's taps 4g..4g+3 are the loaded",
    "     * bytes p + 4g + (ix0 - first) + 0..3, those outside [0, end - first)",
    "     * padding */",
    "    for (g = 0; g < kg; g++) {",
    "        idx[g] = _mm512_add_epi8(_mm512_loadu_si512((const void *)spread), _mm512_set1_epi8((char)(4 * g + ix0 - first)));",
    "        ok[g] = _mm512_cmpge_epi8_mask(idx[g], _mm512_setzero_si512()) &",
    "                _mm512_cmplt_epi8_mask(idx[g], _mm512_set1_epi8((char)(end - first)));",
    "    }",
    "    for (f0 = 0; f0 < rows; f0 += 8) {",
    "        int nf = rows - f0 < 8 ? rows - f0 : 8;",
    "        const int32_t *wf = wp + (size_t)f0 * c * kh * kg;",
    "        size_t fs = (size_t)c * kh * kg; /* one row's words */",
    "        __m512i a[8], xv[4], a0 = _mm512_set1_epi32(xb[f0]), a1, a2, a3, a4, a5, a6, a7;",
    "        a1 = _mm512_set1_epi32(nf > 1 ? xb[f0 + 1] : 0);",
    "        a2 = _mm512_set1_epi32(nf > 2 ? xb[f0 + 2] : 0);",
    "        a3 = _mm512_set1_epi32(nf > 3 ? xb[f0 + 3] : 0);",
    "        a4 = _mm512_set1_epi32(nf > 4 ? xb[f0 + 4] : 0);",
    "        a5 = _mm512_set1_epi32(nf > 5 ? xb[f0 + 5] : 0);",
    "        a6 = _mm512_set1_epi32(nf > 6 ? xb[f0 + 6] : 0);",
    "        a7 = _mm512_set1_epi32(nf > 7 ? xb[f0 + 7] : 0);",
    "        for (ci = 0; ci < c; ci++)",
    "            for (ky = 0; ky < kh; ky++, wf += kg) {",
    "                int iy = iy0 + ky * dh;",
    "                if (iy >= 0 && iy < h) {",
    "                    __m512i v = _mm512_xor_si512(",
    "                        _mm512_maskz_loadu_epi8(lm, x + ((size_t)ci * h + (size_t)iy) * w + first), flip);",
    "                    for (g = 0; g < kg; g++)",
    "                        xv[g] = _mm512_mask_permutexvar_epi8(zv, ok[g], idx[g], v);",
    "                } else {",
    "                    for (g = 0; g < kg; g++)",
    "                        xv[g] = zv;",
    "                }",
    "                for (g = 0; g < kg; g++) {",
    "                    /* rows past nf: no product (a predictable branch) */",
    "                    a0 = _mm512_dpbusd_epi32(a0, xv[g], _mm512_set1_epi32(wf[g]));",
    "                    if (nf > 1)",
    "                        a1 = _mm512_dpbusd_epi32(a1, xv[g], _mm512_set1_epi32(wf[fs + g]));",
    "                    if (nf > 2)",
    "                        a2 = _mm512_dpbusd_epi32(a2, xv[g], _mm512_set1_epi32(wf[2 * fs + g]));",
    "                    if (nf > 3)",
    "                        a3 = _mm512_dpbusd_epi32(a3, xv[g], _mm512_set1_epi32(wf[3 * fs + g]));",
    "                    if (nf > 4)",
    "                        a4 = _mm512_dpbusd_epi32(a4, xv[g], _mm512_set1_epi32(wf[4 * fs + g]));",
    "                    if (nf > 5)",
    "                        a5 = _mm512_dpbusd_epi32(a5, xv[g], _mm512_set1_epi32(wf[5 * fs + g]));",
    "                    if (nf > 6)",
    "                        a6 = _mm512_dpbusd_epi32(a6, xv[g], _mm512_set1_epi32(wf[6 * fs + g]));",
    "                    if (nf > 7)",
    "                        a7 = _mm512_dpbusd_epi32(a7, xv[g], _mm512_set1_epi32(wf[7 * fs + g]));",
    "                }",
    "            }",
    "        a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3, a[4] = a4, a[5] = a5, a[6] = a6, a[7] = a7;",
    "        for (i = 0; i < nf; i++) {",
    "            int r = f0 + i;",
    "            int8_t *yr = y + (size_t)r * ys;",
    "            if (left) {",
    "                int32_t s[16];",
    "                int p;",
    "                _mm512_storeu_si512((void *)s, a[i]);",
    "                for (p = 0; p < n; p++) {",
    "                    int32_t v = nnc_requant(s[p], m[r], sh[r]) + zp;",
    "                    yr[p] = (int8_t)(v < lo ? lo : v > hi ? hi : v);",
    "                }",
    "                continue;",
    "            }",
    "            _mm_mask_storeu_epi8(yr, (__mmask16)((1u << n) - 1u),",
    "                                 nnc_x86_requant(a[i], _mm512_set1_epi32(xm[r]), _mm512_set1_epi32(xr[r]), zp, lo, hi));",
    "        }",
    "    }",
    "}",
    "#endif",
};

/* The input's quantization (NAME_forward). */
static const char *const int8_quantize[] = {
    "/* float to int8 at (scale, zero point), as TFLite's quantize: round(x / s)",
    " * half away from zero, plus the zero point, saturated.  A quotient beyond",
    " * +-300 saturates either way, so it is made +-300 first (NaN too, by its",
    " * sign; on the bits: a float compare-and-select is control flow to GCC's",
    " * vectoriser); within, its fraction is exact, and C's truncating",
    " * conversion plus the fraction's test is roundf(), without the library",
    " * call. */",
    "static int8_t nnc_quantize(float x, float scale, int32_t zp)",
    "{",
    "    float r = x / scale, f;",
    "    int32_t v, b;",
    "    memcpy(&b, &r, 4);",
    "    b = (b & INT32_MAX) > 0x43960000 ? (b & INT32_MIN) | 0x43960000 : b; /* 0x43960000: 300.0f */",
    "    memcpy(&r, &b, 4);",
    "    v = (int32_t)r;",
    "    f = r - (float)v;",
    "    v += (f >= 0.5f ? 1 : 0) - (f <= -0.5f ? 1 : 0) + zp;",
    "    v = v < -128 ? -128 : v;",
    "    return (int8_t)(v > 127 ? 127 : v);",
    "}",
    "",
    "/* q[i] = nnc_quantize(x[i], scale, zp) for i < n: a loop compilers",
    " * vectorise (restrict: the int8 stores do not alias the floats). */",
    "static void nnc_quantize_n(const float *restrict x, int8_t *restrict q, int n, float scale, int32_t zp)",
    "{",
    "    int i;",
    "    for (i = 0; i < n; i++)",
    "        q[i] = nnc_quantize(x[i], scale, zp);",
    "}",
    "",
};

static ll numel(const IrNode *n)
{
    return n->shape.rank == 0 ? 1 : shape_numel(&n->shape);
}

static const char *flt(double x, char *buf)
{
    return emit_float(x, buf);
}

/* "static const T NAME[N] = {...};" with 16 numbers a line. */
static void emit_array(Emitter *e, const char *type, const char *name, ll n, const void *v, int bytes)
{
    emit_line(e, "static const %s %s[%lld] = {", type, name, n);
    char line[256];
    size_t k = 0;
    for (ll i = 0; i < n; i++) {
        long x = bytes == 1 ? ((const int8_t *)v)[i] : ((const int32_t *)v)[i];
        k += (size_t)snprintf(line + k, sizeof line - k, "%s%ld,", k ? " " : "", x);
        if (i % 16 == 15 || i == n - 1) {
            emit_line(e, "    %s", line);
            k = 0;
        }
    }
    emit_line(e, "};");
}

/* The steps of 4 taps a row of node q's weights takes in the x86 VNNI
 * kernels: (K + 3) / 4 for nnc_x86_rows() (kw 0), kernel rows of kw taps
 * each in (kw + 3) / 4 steps for nnc_x86_window(). */
static ll x86_steps(const QuantNode *q, ll kw)
{
    return kw ? (ll)q->wlen / kw * ((kw + 3) / 4) : ((ll)q->wlen + 3) / 4;
}

/* nnc_x86_conv16()'s copy of conv2d id's weights, under NNC_I8X86: w_xp
 * [out][in / groups][kh][(kw + 3) / 4] u32 words of four taps, the first
 * in the low byte (x86 is little-endian), zeros past kw. */
static void emit_x86_words(Emitter *e, const QuantNode *q, int id, ll kw)
{
    const Ir *ir = e->ir;
    ll K = (ll)q->wlen, rows = K / kw, kg = (kw + 3) / 4, n = (ll)q->nout * rows * kg;
    int32_t *v = arena_alloc(ir->arena, (size_t)n * 4);
    for (ll f = 0; f < q->nout; f++)
        for (ll r = 0; r < rows; r++)
            for (ll g = 0; g < kg; g++) {
                uint32_t u = 0;
                for (ll t = 0; t < 4 && 4 * g + t < kw; t++)
                    u |= (uint32_t)(uint8_t)q->w[f * K + r * kw + 4 * g + t] << (8 * t);
                v[(f * rows + r) * kg + g] = (int32_t)u;
            }
    emit_line(e, "#ifdef NNC_I8X86");
    emit_array(e, "int32_t", arena_printf(ir->arena, "w_xp%d", id), n, v, 4);
    emit_line(e, "#endif");
}

/* The x86 VNNI kernels' copy of node id's weights, under NNC_I8X86 so that
 * no other build carries it: per group (G), the rows in blocks of 16, each
 * [x86_steps][16][4] int8 (step j of row r in lane r % 16), zeros past the
 * taps and past the group's rows; w_xb the biases bz - 128 sum(w) (the
 * kernels read x as u8 x + 128), w_xm the multipliers, w_xr the right
 * shifts, 16 per block. */
static void emit_x86_weights(Emitter *e, const QuantNode *q, int id, ll G, ll kw, ll KWp)
{
    const Ir *ir = e->ir;
    int positions = kw < 0;
    if (positions) {
        emit_x86_words(e, q, id, KWp);
        kw = 0; /* no w_x: the biases and multipliers only */
    }
    ll K = (ll)q->wlen, S = x86_steps(q, kw), FG = q->nout / G, FB = (FG + 15) / 16, kg = (kw + 3) / 4;
    int8_t *w = arena_alloc(ir->arena, (size_t)(G * FB * S * 64));
    int32_t *xb = arena_alloc(ir->arena, (size_t)(G * FB * 16) * 4), *xm = arena_alloc(ir->arena, (size_t)(G * FB * 16) * 4);
    int32_t *xr = arena_alloc(ir->arena, (size_t)(G * FB * 16) * 4);
    for (ll g = 0; g < G; g++)
        for (ll b = 0; b < FB; b++)
            for (ll l = 0; l < 16; l++) {
                ll f = b * 16 + l, row = g * FG + f, at = (g * FB + b) * 16 + l;
                ll sum = 0;
                for (ll j = 0; j < S; j++)
                    for (ll t = 0; t < 4; t++) {
                        /* the tap of step j, lane byte t, or none */
                        ll k = kw ? (j % kg * 4 + t < kw ? j / kg * kw + j % kg * 4 + t : -1) : (4 * j + t < K ? 4 * j + t : -1);
                        int8_t v = f < FG && k >= 0 ? q->w[row * K + k] : 0;
                        w[(((g * FB + b) * S + j) * 16 + l) * 4 + t] = v;
                        sum += v;
                    }
                /* mod 2^32, as the kernel's int32 sums wrap */
                xb[at] = f < FG ? (int32_t)(uint32_t)(q->bias_zp[row] - 128 * sum) : 0;
                xm[at] = f < FG ? q->mult[row] : 0;
                xr[at] = f < FG && q->shift[row] < 0 ? -q->shift[row] : 0;
            }
    emit_line(e, "#ifdef NNC_I8X86");
    if (!positions)
        emit_array(e, "int8_t", arena_printf(ir->arena, "w_x%d", id), G * FB * S * 64, w, 1);
    emit_array(e, "int32_t", arena_printf(ir->arena, "w_xb%d", id), G * FB * 16, xb, 4);
    emit_array(e, "int32_t", arena_printf(ir->arena, "w_xm%d", id), G * FB * 16, xm, 4);
    emit_array(e, "int32_t", arena_printf(ir->arena, "w_xr%d", id), G * FB * 16, xr, 4);
    emit_line(e, "#endif");
}

/* How the x86 VNNI kernels take conv2d geometry c: X86_POSITIONS,
 * nnc_x86_conv16() (horizontal stride and dilation 1, kernel rows of at
 * most 16 taps, left padding below 64: its byte indices stay in int8;
 * sixteen positions a pass); else the kernel row length for
 * nnc_x86_window() (the window of each position read in place, kernel row
 * by kernel row); else 0, nnc_x86_rows() on the im2col row (rows of one
 * tap take a step each in the window kernel, dilated rows are not
 * contiguous). */
enum { X86_POSITIONS = -1 };
/* The geometry the x86 path of conv2d id sees: its own, or, where the
 * input is first copied into a plane padded with z_in (quant_pad_plane),
 * that plane's, whose windows need no padding. */
static Conv x86_conv(const Ir *ir, const QuantNode *q, int id)
{
    Conv c = conv_geometry(&ir->nodes[id], &ir->nodes[ir->nodes[id].in[0]]);
    int64_t hp, wp;
    if (q->pad_plane) {
        quant_pad_plane(&ir->nodes[id], &ir->nodes[ir->nodes[id].in[0]], &hp, &wp);
        c.H = hp, c.W = wp, c.PT = c.PL = 0;
    }
    return c;
}

static ll x86_conv_kw(const Conv *c)
{
    if (c->SW == 1 && c->DW == 1 && c->KW <= 16 && c->PL < 64)
        return X86_POSITIONS;
    return c->DW == 1 && c->KW >= 2 ? c->KW : 0;
}

/* Whether some row of a dense or conv2d shifts left (a multiplier above 1):
 * nnc_x86_rows() then requantizes by nnc_requant. */
static int any_left_shift(const QuantNode *q)
{
    for (int r = 0; r < q->nout; r++)
        if (q->shift[r] > 0)
            return 1;
    return 0;
}

/* The buffer of node id in the schedule: "A + offset". */
static const char *qbuf(const Ir *ir, const QuantPlan *p, int id)
{
    return arena_printf(ir->arena, "A + %lld", (ll)p->q[p->q[id].root].offset);
}

/* run_int8()'s locals besides the buffers, which no buffer name may take. */
static const char *const int8_locals[] = {"A", "F", "xs", "col", "wide", "pad"};

/* The name run_int8() gives root buffer r, as the float schedules name
 * theirs (emit_c.c): the value it holds once its kernel ran (a clamping
 * activation folded into it: the activation's), by the model's name for
 * it (a stage of a chain, "logits.2": "logits_2_maxpool"; the input's
 * quantized copy "x_int8"), else its operator and node id; "v<id>_" in front where that is taken by C, by
 * the generated code (cident_taken(), the int8 kernels' nnc_ family) or
 * by an earlier buffer of names[]. */
static const char *qname(const Ir *ir, const QuantPlan *p, int r, const char *const *names)
{
    Arena *a = ir->arena;
    const IrNode *n = &ir->nodes[p->q[r].value];
    const char *c = n->op == OP_INPUT ? arena_printf(a, "%s_int8", cident_identifier(a, n->name))
                                      : cident_value(a, n->name, op_info[n->op].name, p->q[r].value);
    int taken = cident_taken(c) != NULL || strncmp(c, "nnc_", 4) == 0;
    for (size_t i = 0; i < sizeof int8_locals / sizeof *int8_locals; i++)
        taken |= strcmp(c, int8_locals[i]) == 0;
    for (int j = 0; j < r; j++)
        taken |= names[j] && strcmp(names[j], c) == 0;
    return taken ? arena_printf(a, "v%d_%s", r, c) : c;
}

/* dense: every output a row of nnc_rows (bz = bias - z_in sum w). */
static void emit_dense(Emitter *e, const QuantPlan *p, int id)
{
    const QuantNode *q = &p->q[id];
    emit_line(e, "/* %%%d dense: [%lld] -> [%d], int8 x int8 in int32 */", id, (ll)q->wlen, q->nout);
    emit_line(e, "static void k%d_dense(const int8_t *x, int8_t *y, int16_t *e)", id);
    emit_line(e, "{");
    emit_line(e, "#ifdef NNC_I8X86");
    emit_line(e, "    if (NNC_I8X86_ON) {");
    emit_line(e, "        nnc_x86_rows(x, %lld, w_x%d, %d, w_xb%d, w_xm%d, w_xr%d, %d, w_m%d, w_sh%d, %d, %d, %d, y, 1);",
              (ll)q->wlen, id, q->nout, id, id, id, any_left_shift(q), id, id, q->zero_point, q->act_min, q->act_max);
    emit_line(e, "        return;");
    emit_line(e, "    }");
    emit_line(e, "#endif");
    emit_line(e, "    nnc_rows(x, %lld, w_q%d, %d, w_bz%d, w_m%d, w_sh%d, %d, %d, %d, y, 1, e);", (ll)q->wlen, id, q->nout, id, id,
              id, q->zero_point, q->act_min, q->act_max);
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

/* t[0 .. kw) = row[0], row[dw], ...: a memcpy for contiguous taps (a word
 * or two where unaligned loads are allowed; byte by byte on Thumb-1, where
 * memcpy is a call), else spelt out for the short rows of a kernel (no
 * loop to run per row of taps), a loop for long ones. */
static void copy_row(Emitter *e, ll kw, ll dw, const char *ind)
{
    if (dw == 1 && kw > 1 && kw <= 8) {
        emit_line(e, "#ifndef NNC_THUMB1");
        emit_line(e, "%smemcpy(t, row, %lld);", ind, kw);
        emit_line(e, "#else");
        for (ll k = 0; k < kw; k++)
            emit_line(e, "%st[%lld] = row[%lld];", ind, k, k);
        emit_line(e, "#endif");
        return;
    }
    if (kw > 8) {
        emit_line(e, "%sfor (kx = 0; kx < %lld; kx++)", ind, kw);
        emit_line(e, "%s    t[kx] = row[kx * %lld];", ind, dw);
        return;
    }
    for (ll k = 0; k < kw; k++)
        emit_line(e, "%st[%lld] = row[%lld];", ind, k, k * dw);
}

/* The DSP cores' conv2d without im2col (conv_wide): where every window
 * is inside the (padded) input, kernel rows are contiguous (dilation 1 in
 * x) and at least 4 taps wide, and the positions pair up, k<id>_wide
 * writes the two positions' taps widened straight from the input: each
 * kernel row's whole quads one word each (SXTB16 and its ROR 8 form), then
 * the rows' remaining taps, at most CONV_WIDE_REST of them, packed in
 * quads, the last (fewer than 4) as int8.  The weights' taps are reordered
 * to match under NNC_DSP (the sums do not depend on the order). */
enum { CONV_WIDE_REST = 64 };

/* 1 if conv2d node id takes conv_wide, with perm[j] (K entries, or NULL)
 * the original tap of the j-th tap in its order. */
static int conv_wide(const Ir *ir, const QuantPlan *p, int id, int *perm)
{
    const QuantNode *q = &p->q[id];
    if (q->kind != QK_CONV2D)
        return 0;
    Conv c = conv_geometry(&ir->nodes[id], &ir->nodes[ir->nodes[id].in[0]]);
    ll eh = (c.OH - 1) * c.SH + (c.KH - 1) * c.DH + 1, ew = (c.OW - 1) * c.SW + c.KW;
    int inside = q->pad_plane || (c.PT == 0 && c.PL == 0 && eh <= c.H && ew <= c.W);
    if (!inside || c.DW != 1 || c.KW < 4 || c.KW > 16 || c.OW % 2 || c.CG * c.KH * (c.KW % 4) > CONV_WIDE_REST)
        return 0;
    if (perm) {
        ll j = 0, w4 = c.KW / 4 * 4;
        for (ll r = 0; r < c.CG * c.KH; r++)
            for (ll kx = 0; kx < w4; kx++)
                perm[j++] = (int)(r * c.KW + kx);
        for (ll r = 0; r < c.CG * c.KH; r++)
            for (ll kx = w4; kx < c.KW; kx++)
                perm[j++] = (int)(r * c.KW + kx);
    }
    return 1;
}

/* conv_wide's k<id>_wide: the taps of outputs (oy, ox) and (oy, ox + 1) of
 * group g from the plane x [C, ph, pw] (the padded one, or the input),
 * widened into e32 as nnc_rows2w reads them, the last taps into t[0 ..]
 * and t[4 ..]; under NNC_DSP. */
static void emit_conv_wide(Emitter *e, int id, Conv c, ll ph, ll pw)
{
    ll nq = c.KW / 4, rest = c.CG * c.KH * (c.KW % 4);
    emit_line(e, "#ifdef NNC_DSP");
    emit_line(e, "/* %%%d conv2d: the taps of outputs (oy, ox) and (oy, ox + 1) of group g widened from the plane", id);
    emit_line(e, " * x [%lld, %lld, %lld]: each kernel row's %lld quad%s, then %lld more (conv_wide's order) */", c.C, ph, pw,
              nq, nq > 1 ? "s" : "", rest);
    emit_line(e, "static void k%d_wide(const int8_t *x, int g, int oy, int ox, int32_t *e32, int8_t *t)", id);
    emit_line(e, "{");
    emit_line(e, "    int ci, ky;");
    emit_line(e, "    const int8_t *b = x + (size_t)g * %lld + oy * %lld + ox * %lld;", c.CG * ph * pw, c.SH * pw, c.SW);
    emit_line(e, "    for (ci = 0; ci < %lld; ci++)", c.CG);
    emit_line(e, "        for (ky = 0; ky < %lld; ky++, e32 += %lld) {", c.KH, 4 * nq);
    emit_line(e, "            const int8_t *row = b + (size_t)ci * %lld + ky * %lld;", ph * pw, c.DH * pw);
    emit_line(e, "            uint32_t u, v;");
    for (ll j = 0; j < nq; j++) {
        emit_line(e, "            memcpy(&u, row + %lld, 4);", 4 * j);
        emit_line(e, "            memcpy(&v, row + %lld, 4);", 4 * j + c.SW);
        emit_line(e, "            e32[%lld] = __sxtb16((int32_t)u);", 4 * j);
        emit_line(e, "            e32[%lld] = nnc_sxtb16_ror8(u);", 4 * j + 1);
        emit_line(e, "            e32[%lld] = __sxtb16((int32_t)v);", 4 * j + 2);
        emit_line(e, "            e32[%lld] = nnc_sxtb16_ror8(v);", 4 * j + 3);
    }
    emit_line(e, "        }");
    /* the rest: tap j of the rest at b + off[j] (first position), its
     * quads' pairs (t0, t2), (t1, t3) packed as int16 */
    ll off[CONV_WIDE_REST];
    ll n = 0;
    for (ll r = 0; r < c.CG * c.KH; r++)
        for (ll kx = nq * 4; kx < c.KW; kx++)
            off[n++] = r / c.KH * ph * pw + r % c.KH * c.DH * pw + kx;
    for (ll j = 0; j + 4 <= rest; j += 4)
        for (ll h = 0; h < 4; h++) {
            ll a = off[j + h % 2] + (h / 2) * c.SW, d = off[j + h % 2 + 2] + (h / 2) * c.SW;
            emit_line(e, "    e32[%lld] = (int32_t)((uint32_t)(uint16_t)b[%lld] | (uint32_t)b[%lld] << 16);", j + h, a, d);
        }
    if (rest % 4 == 0)
        emit_line(e, "    (void)t; /* no taps left past the quads */");
    for (ll j = rest / 4 * 4; j < rest; j++) {
        emit_line(e, "    t[%lld] = b[%lld];", j % 4, off[j]);
        emit_line(e, "    t[%lld] = b[%lld];", 4 + j % 4, off[j] + c.SW);
    }
    emit_line(e, "}");
    emit_line(e, "#endif");
    emit_line(e, "%s", "");
}

/* conv2d's x86 VNNI path (NNC_I8X86_ON), as x86_conv_kw() chooses: each
 * output row sixteen positions at a time by nnc_x86_conv16(); or, the
 * group's filters as the rows, the window of each output position read in
 * place by nnc_x86_window() (from the im2col row c<id>_col() writes where
 * it reaches into the padding); or nnc_x86_rows() on the im2col row. */
static void emit_conv_x86(Emitter *e, const QuantNode *q, int id, const Conv *c, int32_t x_zero_point)
{
    ll K = (ll)q->wlen, FB = (c->FG + 15) / 16, kw = x86_conv_kw(c);
    ll gw = FB * x86_steps(q, kw < 0 ? 0 : kw) * 64;
    const char *tail = arena_printf(e->ir->arena, "%lld, w_xb%d + g * %lld, w_xm%d + g * %lld, w_xr%d + g * %lld, %d, w_m%d + g * %lld, "
                                    "w_sh%d + g * %lld, %d, %d, %d, yo, %lld);",
                                    c->FG, id, FB * 16, id, FB * 16, id, FB * 16, any_left_shift(q), id, c->FG, id, c->FG,
                                    q->zero_point, q->act_min, q->act_max, c->OH * c->OW);
    emit_line(e, "#ifdef NNC_I8X86");
    emit_line(e, "    if (NNC_I8X86_ON) {");
    if (kw == X86_POSITIONS) {
        emit_line(e, "        for (g = 0; g < %lld; g++)", c->G);
        emit_line(e, "            for (oy = 0; oy < %lld; oy++)", c->OH);
        emit_line(e, "                for (ox = 0; ox < %lld; ox += 16)", c->OW);
        emit_line(e, "                    nnc_x86_conv16(x + (size_t)g * %lld, %lld, %lld, %lld, %lld, %lld, %lld, oy * %lld - %lld, ox - %lld,",
                  c->CG * c->H * c->W, c->CG, c->H, c->W, c->KH, c->KW, c->DH, c->SH, c->PT, c->PL);
        emit_line(e, "                                   %lld - ox < 16 ? %lld - ox : 16, w_xp%d + (size_t)g * %lld, %lld, w_xb%d + g * %lld,",
                  c->OW, c->OW, id, c->FG * c->CG * c->KH * ((c->KW + 3) / 4), c->FG, id, FB * 16);
        emit_line(e, "                                   w_xm%d + g * %lld, w_xr%d + g * %lld, %d, w_m%d + g * %lld, w_sh%d + g * %lld, %d, %d, %d, %d,",
                  id, FB * 16, id, FB * 16, any_left_shift(q), id, c->FG, id, c->FG, x_zero_point, q->zero_point, q->act_min,
                  q->act_max);
        emit_line(e, "                                   y + (size_t)g * %lld + (size_t)oy * %lld + ox, %lld);", c->FG * c->OH * c->OW,
                  c->OW, c->OH * c->OW);
        emit_line(e, "        return;");
        emit_line(e, "    }");
        emit_line(e, "#endif");
        return;
    }
    emit_line(e, "        for (g = 0; g < %lld; g++)", c->G);
    emit_line(e, "            for (oy = 0; oy < %lld; oy++)", c->OH);
    emit_line(e, "                for (ox = 0; ox < %lld; ox++) {", c->OW);
    emit_line(e, "                    int8_t *yo = y + (size_t)g * %lld + (size_t)oy * %lld + ox;", c->FG * c->OH * c->OW, c->OW);
    emit_line(e, "                    const int8_t *wg = w_x%d + (size_t)g * %lld;", id, gw);
    if (kw) {
        emit_line(e, "                    int y0 = oy * %lld - %lld, x0 = ox * %lld - %lld;", c->SH, c->PT, c->SW, c->PL);
        emit_line(e, "                    if (y0 >= 0 && y0 + %lld < %lld && x0 >= 0 && x0 + %lld < %lld) {", (c->KH - 1) * c->DH, c->H,
                  c->KW - 1, c->W);
        emit_line(e, "                        nnc_x86_window(x + (size_t)g * %lld + (size_t)y0 * %lld + x0, %lld, %lld, %lld, %lld, %lld, wg, %s",
                  c->CG * c->H * c->W, c->W, c->H * c->W, c->DH * c->W, c->CG, c->KH, c->KW, tail);
        emit_line(e, "                        continue;");
        emit_line(e, "                    }");
        emit_line(e, "                    k%d_col(x, g, oy, ox, col);", id);
        emit_line(e, "                    nnc_x86_window(col, %lld, %lld, %lld, %lld, %lld, wg, %s", c->KH * c->KW, c->KW, c->CG, c->KH,
                  c->KW, tail);
    } else {
        emit_line(e, "                    k%d_col(x, g, oy, ox, col);", id);
        emit_line(e, "                    nnc_x86_rows(col, %lld, wg, %s", K, tail);
    }
    emit_line(e, "                }");
    emit_line(e, "        return;");
    emit_line(e, "    }");
    emit_line(e, "#endif");
}

/* conv2d: c<id>_col() copies the taps of one output position into a row
 * (im2col, int8, z_in where the window is outside the input, so that
 * padding adds nothing); the kernel takes two positions at a time through
 * nnc_rows2 (the group's filters as rows), an odd last one through
 * nnc_rows. */
static void emit_conv(Emitter *e, const QuantPlan *p, int id)
{
    const Ir *ir = e->ir;
    const QuantNode *q = &p->q[id];
    const QuantNode *x = &p->q[p->q[ir->nodes[id].in[0]].root];
    Conv c = conv_geometry(&ir->nodes[id], &ir->nodes[ir->nodes[id].in[0]]);
    ll K = (ll)q->wlen;
    int64_t hp = 0, wp = 0;
    int wide = conv_wide(ir, p, id, NULL);
    Conv xc = x86_conv(ir, q, id);
    if (q->pad_plane)
        quant_pad_plane(&ir->nodes[id], &ir->nodes[ir->nodes[id].in[0]], &hp, &wp);
    if (wide) {
        emit_conv_wide(e, id, c, q->pad_plane ? hp : c.H, q->pad_plane ? wp : c.W);
        emit_line(e, "#ifndef NNC_DSP"); /* k<id>_col: the other cores' */
    }
    if (q->pad_plane) {
        /* the input copied into a plane padded with z_in (quant_pad_plane):
         * k<id>_col reads that, every window inside it */
        emit_line(e, "/* %%%d conv2d: the taps of output (oy, ox) of group g, %lld of them, into t, from the", id, K);
        emit_line(e, " * padded plane x [%lld, %lld, %lld] */", c.C, (ll)hp, (ll)wp);
        emit_line(e, "static void k%d_col(const int8_t *x, int g, int oy, int ox, int8_t *t)", id);
        emit_line(e, "{");
        emit_line(e, "    int ci, ky;");
        if (c.KW > 8)
            emit_line(e, "    int kx;"); /* copy_row's loop */
        emit_line(e, "    int y0 = oy * %lld, x0 = ox * %lld;", c.SH, c.SW);
        emit_line(e, "    for (ci = 0; ci < %lld; ci++)", c.CG);
        emit_line(e, "        for (ky = 0; ky < %lld; ky++, t += %lld) {", c.KH, c.KW);
        emit_line(e, "            const int8_t *row = x + (size_t)(g * %lld + ci) * %lld + (y0 + ky * %lld) * %lld + x0;", c.CG,
                  (ll)(hp * wp), c.DH, (ll)wp);
        copy_row(e, c.KW, c.DW, "            ");
        emit_line(e, "        }");
        emit_line(e, "}");
        emit_line(e, "%s", "");
    } else {
        emit_line(e, "/* %%%d conv2d: the taps of output (oy, ox) of group g, %lld of them, into t */", id, K);
        emit_line(e, "static void k%d_col(const int8_t *x, int g, int oy, int ox, int8_t *t)", id);
        emit_line(e, "{");
        emit_line(e, "    int ci, ky, kx;");
        emit_line(e, "    int y0 = oy * %lld - %lld, x0 = ox * %lld - %lld;", c.SH, c.PT, c.SW, c.PL);
        emit_line(e, "    if (y0 >= 0 && y0 + %lld < %lld && x0 >= 0 && x0 + %lld < %lld) {", (c.KH - 1) * c.DH, c.H,
                  (c.KW - 1) * c.DW, c.W);
        emit_line(e, "        /* the window inside the input: rows copied, no checks */");
        emit_line(e, "        for (ci = 0; ci < %lld; ci++)", c.CG);
        emit_line(e, "            for (ky = 0; ky < %lld; ky++, t += %lld) {", c.KH, c.KW);
        emit_line(e, "                const int8_t *row = x + (size_t)(g * %lld + ci) * %lld + (y0 + ky * %lld) * %lld + x0;", c.CG,
                  c.H * c.W, c.DH, c.W);
        copy_row(e, c.KW, c.DW, "                ");
        emit_line(e, "            }");
        emit_line(e, "        return;");
        emit_line(e, "    }");
        /* the border: every tap z_in, then the part of each row of the window
         * inside the input, its columns kx in [ka, kb) the same for every row */
        emit_line(e, "    memset(t, %d, %lld);", x->zero_point, K);
        emit_line(e, "    {");
        emit_line(e, "        int ka = x0 >= 0 ? 0 : (-x0 + %lld) / %lld, kb = x0 >= %lld ? 0 : (%lld - x0 + %lld) / %lld;", c.DW - 1,
                  c.DW, c.W, c.W, c.DW - 1, c.DW);
        emit_line(e, "        if (kb > %lld)", c.KW);
        emit_line(e, "            kb = %lld;", c.KW);
        emit_line(e, "        for (ci = 0; ci < %lld; ci++) {", c.CG);
        emit_line(e, "            const int8_t *xc = x + (size_t)(g * %lld + ci) * %lld;", c.CG, c.H * c.W);
        emit_line(e, "            for (ky = 0; ky < %lld; ky++, t += %lld) {", c.KH, c.KW);
        emit_line(e, "                int iy = y0 + ky * %lld;", c.DH);
        emit_line(e, "                if (iy < 0 || iy >= %lld)", c.H);
        emit_line(e, "                    continue;");
        emit_line(e, "                for (kx = ka; kx < kb; kx++)");
        emit_line(e, "                    t[kx] = xc[iy * %lld + x0 + kx * %lld];", c.W, c.DW);
        emit_line(e, "            }");
        emit_line(e, "        }");
        emit_line(e, "    }");
        emit_line(e, "}");
        emit_line(e, "%s", "");
    }
    if (wide)
        emit_line(e, "#endif");
    emit_line(e, "/* %%%d conv2d: [%lld, %lld, %lld] -> [%lld, %lld, %lld], kernel %lldx%lld, stride %lldx%lld,", id,
              c.C, c.H, c.W, c.F, c.OH, c.OW, c.KH, c.KW, c.SH, c.SW);
    emit_line(e, " * padding %lldx%lld, dilation %lldx%lld, %lld groups; col: two rows of %lld taps */", c.PT, c.PL, c.DH,
              c.DW, c.G, K);
    if (q->pad_plane) {
        emit_line(e, "static void k%d_conv2d(const int8_t *x, int8_t *y, int8_t *col, int16_t *e, int8_t *pad)", id);
        emit_line(e, "{");
        emit_line(e, "    int g, oy, ox, c, r;");
        emit_line(e, "    /* x [%lld, %lld, %lld] into the plane of z_in at row %lld, column %lld */", c.C, c.H, c.W, c.PT, c.PL);
        emit_line(e, "    memset(pad, %d, %lld);", x->zero_point, (ll)q->pad_plane);
        emit_line(e, "    for (c = 0; c < %lld; c++)", c.C);
        emit_line(e, "        for (r = 0; r < %lld; r++)", c.H);
        emit_line(e, "            memcpy(pad + ((size_t)c * %lld + %lld + r) * %lld + %lld, x + ((size_t)c * %lld + r) * %lld, %lld);",
                  (ll)hp, c.PT, (ll)wp, c.PL, c.H, c.W, c.W);
        emit_line(e, "    x = pad;");
        emit_conv_x86(e, q, id, &xc, x->zero_point);
    } else {
        emit_line(e, "static void k%d_conv2d(const int8_t *x, int8_t *y, int8_t *col, int16_t *e)", id);
        emit_line(e, "{");
        emit_line(e, "    int g, oy, ox;");
        emit_conv_x86(e, q, id, &xc, x->zero_point);
    }
    emit_line(e, "    for (g = 0; g < %lld; g++) {", c.G);
    emit_line(e, "        const int8_t *w = w_q%d + (size_t)g * %lld;", id, c.FG * K);
    emit_line(e, "        const int32_t *bz = w_bz%d + g * %lld, *m = w_m%d + g * %lld;", id, c.FG, id, c.FG);
    emit_line(e, "        const int8_t *sh = w_sh%d + g * %lld;", id, c.FG);
    emit_line(e, "        for (oy = 0; oy < %lld; oy++) {", c.OH);
    emit_line(e, "            int8_t *yr = y + (size_t)g * %lld + (size_t)oy * %lld;", c.FG * c.OH * c.OW, c.OW);
    if (wide) {
        ll k4 = K / 4 * 4;
        emit_line(e, "#ifdef NNC_DSP");
        emit_line(e, "            for (ox = 0; ox < %lld; ox += 2) {", c.OW);
        emit_line(e, "                k%d_wide(x, g, oy, ox, (int32_t *)(void *)e, col);", id);
        emit_line(e, "                nnc_rows2w((const int32_t *)(void *)e, col, col + 4, %lld, %lld, w, %lld, bz, m, sh, %d, %d, %d, yr + ox,",
                  k4, K, c.FG, q->zero_point, q->act_min, q->act_max);
        int rq = 1; /* nnc_out2 where every shift is in [-31, -2] */
        for (int i = 0; i < q->nout; i++)
            rq &= q->shift[i] >= -31 && q->shift[i] <= -2;
        emit_line(e, "                           yr + ox + 1, %lld, %d);", c.OH * c.OW, rq);
        emit_line(e, "            }");
        emit_line(e, "#else");
    }
    emit_line(e, "            for (ox = 0; ox + 1 < %lld; ox += 2) {", c.OW);
    emit_line(e, "                k%d_col(x, g, oy, ox, col);", id);
    emit_line(e, "                k%d_col(x, g, oy, ox + 1, col + %lld);", id, K);
    emit_line(e, "                nnc_rows2(col, col + %lld, %lld, w, %lld, bz, m, sh, %d, %d, %d, yr + ox, yr + ox + 1, %lld, e);",
              K, K, c.FG, q->zero_point, q->act_min, q->act_max, c.OH * c.OW);
    emit_line(e, "            }");
    emit_line(e, "            if (ox < %lld) {", c.OW);
    emit_line(e, "                k%d_col(x, g, oy, ox, col);", id);
    emit_line(e, "                nnc_rows(col, %lld, w, %lld, bz, m, sh, %d, %d, %d, yr + ox, %lld, e);", K, c.FG, q->zero_point,
              q->act_min, q->act_max, c.OH * c.OW);
    emit_line(e, "            }");
    if (wide)
        emit_line(e, "#endif");
    emit_line(e, "        }");
    emit_line(e, "    }");
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

/* The pools, one window loop: maxpool (int8 max: the scale is kept;
 * padding never wins), avgpool (kernel, stride, padding; PyTorch's
 * count_include_pad: the divisor is the kernel's size) and global_avgpool
 * ([C, H, W] or [C, L] to [C]).  The averages sum q - z over the window
 * (padding adds 0), divide rounding half away from zero as TFLite's
 * average pool does, and add z back; the input's scale and zero point. */
static void emit_pool(Emitter *e, const QuantPlan *p, int id)
{
    const Ir *ir = e->ir;
    const IrNode *n = &ir->nodes[id], *x = &ir->nodes[n->in[0]];
    int32_t z = p->q[id].zero_point;
    int avg = n->op != OP_MAXPOOL;
    int64_t k[2], s[2], pd[2];
    ll C = x->shape.d[0], H = x->shape.rank == 3 ? x->shape.d[1] : 1, W = x->shape.d[x->shape.rank - 1];
    if (n->op == OP_GLOBAL_AVGPOOL) {
        k[0] = H, k[1] = W, s[0] = s[1] = 1, pd[0] = pd[1] = 0;
    } else {
        value_pair(op_arg(n->op, n->args, "kernel"), k);
        value_pair(op_arg(n->op, n->args, "stride"), s);
        value_pair(op_arg(n->op, n->args, "padding"), pd);
    }
    ll OH = n->op != OP_GLOBAL_AVGPOOL ? n->shape.d[1] : 1, OW = n->op != OP_GLOBAL_AVGPOOL ? n->shape.d[2] : 1;
    ll cnt = (ll)(k[0] * k[1]);
    /* maxpool(2) without padding: SIMD bytes on the DSP cores */
    int simd = !avg && k[0] == 2 && k[1] == 2 && s[0] == 2 && s[1] == 2 && pd[0] == 0 && pd[1] == 0 && OW >= 2;
    emit_line(e, "/* %%%d %s: [%lld, %lld, %lld] -> [%lld, %lld, %lld], %s; the input's scale */", id,
              op_info[n->op].name, C, H, W, C, OH, OW, avg ? "the mean of q - z" : "the int8 max");
    emit_line(e, "static void k%d_%s(const int8_t *x, int8_t *y)", id, op_info[n->op].name);
    emit_line(e, "{");
    if (simd) {
        /* with the DSP extension two windows a step: the byte-wise max of
         * two rows' words (SSUB8, SEL), then of its neighbouring bytes */
        emit_line(e, "#ifdef NNC_DSP");
        emit_line(e, "    int c, oy, ox;");
        emit_line(e, "    for (c = 0; c < %lld; c++)", C);
        emit_line(e, "        for (oy = 0; oy < %lld; oy++) {", OH);
        emit_line(e, "            const int8_t *r0 = x + ((size_t)c * %lld + oy * 2) * %lld;", H, W);
        emit_line(e, "            int8_t *yr = y + ((size_t)c * %lld + oy) * %lld;", OH, OW);
        emit_line(e, "            for (ox = 0; ox + 1 < %lld; ox += 2) {", OW);
        emit_line(e, "                uint32_t a, b;");
        emit_line(e, "                memcpy(&a, r0 + 2 * ox, 4);");
        emit_line(e, "                memcpy(&b, r0 + %lld + 2 * ox, 4);", W);
        emit_line(e, "                a = nnc_max8(a, b);");
        emit_line(e, "                a = nnc_max8(a, a >> 8);");
        emit_line(e, "                yr[ox] = (int8_t)(a & 0xFF);");
        emit_line(e, "                yr[ox + 1] = (int8_t)(a >> 16 & 0xFF);");
        emit_line(e, "            }");
        if (OW % 2) {
            emit_line(e, "            {");
            emit_line(e, "                int32_t u = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1];");
            emit_line(e, "                int32_t v = r0[%lld + 2 * ox] > r0[%lld + 2 * ox + 1] ? r0[%lld + 2 * ox] : r0[%lld + 2 * ox + 1];", W,
                      W, W, W);
            emit_line(e, "                yr[ox] = (int8_t)(u > v ? u : v);");
            emit_line(e, "            }");
        }
        emit_line(e, "        }");
        emit_line(e, "#else");
    }
    emit_line(e, "    int c, oy, ox, ky, kx;");
    emit_line(e, "    for (c = 0; c < %lld; c++)", C);
    emit_line(e, "        for (oy = 0; oy < %lld; oy++)", OH);
    emit_line(e, "            for (ox = 0; ox < %lld; ox++) {", OW);
    emit_line(e, "                int32_t acc = %d;", avg ? 0 : -128);
    if (pd[0] == 0 && pd[1] == 0) {
        /* no padding: every window inside the input, no checks (the loops
         * of constant length unroll) */
        emit_line(e, "                const int8_t *p = x + (c * %lld + oy * %lld) * %lld + ox * %lld;", H, (ll)s[0], W, (ll)s[1]);
        emit_line(e, "                for (ky = 0; ky < %lld; ky++)", (ll)k[0]);
        emit_line(e, "                    for (kx = 0; kx < %lld; kx++) {", (ll)k[1]);
        emit_line(e, "                        int32_t v = p[ky * %lld + kx];", W);
        if (avg)
            emit_line(e, "                        acc += v - (%d);", z);
        else
            emit_line(e, "                        acc = v > acc ? v : acc;");
        emit_line(e, "                    }");
    } else {
        emit_line(e, "                for (ky = 0; ky < %lld; ky++) {", (ll)k[0]);
        emit_line(e, "                    int iy = oy * %lld - %lld + ky;", (ll)s[0], (ll)pd[0]);
        emit_line(e, "                    if (iy < 0 || iy >= %lld)", H);
        emit_line(e, "                        continue;");
        emit_line(e, "                    for (kx = 0; kx < %lld; kx++) {", (ll)k[1]);
        emit_line(e, "                        int ix = ox * %lld - %lld + kx;", (ll)s[1], (ll)pd[1]);
        emit_line(e, "                        int32_t v = ix >= 0 && ix < %lld ? x[(c * %lld + iy) * %lld + ix] : %s;", W, H, W,
                  avg ? arena_printf(ir->arena, "(%d)", z) : "-128");
        if (avg)
            emit_line(e, "                        acc += v - (%d);", z);
        else
            emit_line(e, "                        acc = v > acc ? v : acc;");
        emit_line(e, "                    }");
        emit_line(e, "                }");
    }
    if (avg) {
        emit_line(e, "                acc = (acc > 0 ? acc + %lld : acc - %lld) / %lld + (%d);", cnt / 2, cnt / 2, cnt, z);
        emit_line(e, "                acc = acc < -128 ? -128 : acc > 127 ? 127 : acc;");
    }
    emit_line(e, "                y[(c * %lld + oy) * %lld + ox] = (int8_t)acc;", OH, OW);
    emit_line(e, "            }");
    if (simd)
        emit_line(e, "#endif");
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

/* Residual +: TFLite's int8 add, both inputs to 2 max(s1, s2) with 20
 * bits of headroom, the sum to the output's scale, the clamp. */
static void emit_add(Emitter *e, const QuantPlan *p, int id)
{
    const Ir *ir = e->ir;
    const IrNode *n = &ir->nodes[id];
    const QuantNode *q = &p->q[id], *a = &p->q[p->q[n->in[0]].root], *b = &p->q[p->q[n->in[1]].root];
    emit_line(e, "/* %%%d add: [%lld] + [%lld], rescaled (TFLite's add) */", id, numel(n), numel(n));
    emit_line(e, "static void k%d_add(const int8_t *a, const int8_t *b, int8_t *y)", id);
    emit_line(e, "{");
    emit_line(e, "    int i;");
    emit_line(e, "    for (i = 0; i < %lld; i++) {", numel(n));
    emit_line(e, "        int32_t u = nnc_requant(((int32_t)a[i] - (%d)) * (1 << 20), %ld, %d);", a->zero_point,
              (long)q->mult[0], q->shift[0]);
    emit_line(e, "        int32_t v = nnc_requant(((int32_t)b[i] - (%d)) * (1 << 20), %ld, %d);", b->zero_point,
              (long)q->mult[1], q->shift[1]);
    emit_line(e, "        int32_t s = nnc_requant(u + v, %ld, %d) + (%d);", (long)q->mult[2], q->shift[2], q->zero_point);
    emit_line(e, "        y[i] = (int8_t)(s < %d ? %d : s > %d ? %d : s);", q->act_min, q->act_min, q->act_max,
              q->act_max);
    emit_line(e, "    }");
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

/* concat along a per-sample axis: each input's block requantized to the
 * output's scale (m = s_k / s_out). */
static void emit_concat(Emitter *e, const QuantPlan *p, int id)
{
    const Ir *ir = e->ir;
    const IrNode *n = &ir->nodes[id];
    const QuantNode *q = &p->q[id];
    int axis = (int)op_num(OP_CONCAT, n->args, "axis");
    if (axis < 0)
        axis += n->shape.rank;
    ll outer = 1, row = 1;
    for (int d = 0; d < axis; d++)
        outer *= n->shape.d[d];
    for (int d = axis; d < n->shape.rank; d++)
        row *= n->shape.d[d];
    emit_line(e, "/* %%%d concat of %d inputs on axis %d, each to the output's scale */", id, n->nin, axis);
    emit_line(e, "static void k%d_concat(const int8_t *const *x, int8_t *y)", id);
    emit_line(e, "{");
    emit_line(e, "    int o, i;");
    emit_line(e, "    for (o = 0; o < %lld; o++) {", outer);
    ll at = 0;
    for (int k = 0; k < n->nin; k++) {
        const IrNode *xi = &ir->nodes[n->in[k]];
        ll inner = 1;
        for (int d = axis; d < xi->shape.rank; d++)
            inner *= xi->shape.d[d];
        emit_line(e, "        for (i = 0; i < %lld; i++) {", inner);
        emit_line(e, "            int32_t v = nnc_requant((int32_t)x[%d][o * %lld + i] - (%d), %ld, %d) + (%d);", k, inner,
                  p->q[p->q[n->in[k]].root].zero_point, (long)q->mult[k], q->shift[k], q->zero_point);
        emit_line(e, "            y[o * %lld + %lld + i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);", row, at);
        emit_line(e, "        }");
        at += inner;
    }
    emit_line(e, "    }");
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

/* A float op: dequantize x into f, the op from f into g, quantize g. */
static void emit_float_op(Emitter *e, const QuantPlan *p, int id)
{
    const Ir *ir = e->ir;
    const IrNode *n = &ir->nodes[id];
    const QuantNode *q = &p->q[id], *x = &p->q[p->q[n->in[0]].root];
    char b1[48], b2[48], b3[48];
    ll k = numel(n), last = n->shape.d[n->shape.rank - 1];
    emit_line(e, "/* %%%d %s in float: dequantize, compute, quantize */", id, op_info[n->op].name);
    emit_line(e, "static void k%d_%s(const int8_t *x, int8_t *y, float *f, float *g)", id, op_info[n->op].name);
    emit_line(e, "{");
    emit_line(e, "    int i;");
    emit_line(e, "    for (i = 0; i < %lld; i++)", k);
    emit_line(e, "        f[i] = (float)((int32_t)x[i] - (%d)) * %s;", x->zero_point, flt(x->scale, b1));
    switch (n->op) {
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
        /* over the last axis (quant_plan checks dim) */
        emit_line(e, "    for (i = 0; i < %lld; i += %lld) {", k, last);
        emit_line(e, "        float mx = f[i], sum = 0.0f;");
        emit_line(e, "        int j;");
        emit_line(e, "        for (j = 1; j < %lld; j++)", last);
        emit_line(e, "            mx = f[i + j] > mx ? f[i + j] : mx;");
        emit_line(e, "        for (j = 0; j < %lld; j++)", last);
        emit_line(e, "            sum += expf(f[i + j] - mx);");
        emit_line(e, "        for (j = 0; j < %lld; j++)", last);
        if (n->op == OP_SOFTMAX)
            emit_line(e, "            g[i + j] = expf(f[i + j] - mx) / sum;");
        else
            emit_line(e, "            g[i + j] = f[i + j] - mx - logf(sum);");
        emit_line(e, "    }");
        break;
    case OP_SIGMOID:
        emit_line(e, "    for (i = 0; i < %lld; i++)", k);
        emit_line(e, "        g[i] = 1.0f / (1.0f + expf(-f[i]));");
        break;
    case OP_TANH:
        emit_line(e, "    for (i = 0; i < %lld; i++)", k);
        emit_line(e, "        g[i] = tanhf(f[i]);");
        break;
    default: { /* relu, relu6, hardtanh not after a dense/conv2d */
        double lo = 0, hi = n->op == OP_RELU6 ? 6 : 3.0e38;
        if (n->op == OP_HARDTANH) {
            lo = op_num(OP_HARDTANH, n->args, "min_val");
            hi = op_num(OP_HARDTANH, n->args, "max_val");
        }
        emit_line(e, "    for (i = 0; i < %lld; i++)", k);
        emit_line(e, "        g[i] = f[i] < %s ? %s : f[i] > %s ? %s : f[i];", flt(lo, b1), flt(lo, b2), flt(hi, b3),
                  flt(hi, b3));
        break;
    }
    }
    emit_line(e, "    for (i = 0; i < %lld; i++)", k);
    emit_line(e, "        y[i] = nnc_quantize(g[i], %s, %d);", flt(q->scale, b1), q->zero_point);
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

static void emit_int8_header(Emitter *e, const QuantPlan *p)
{
    const Ir *ir = e->ir;
    const char *M = e->opt->name;
    const QuantNode *in = &p->q[p->input], *out = &p->q[p->q[p->output].root];
    char b[48];
    emit_file_comment(e, ir->arena, "int8 inference code", ir->model);
    emit_header_begin(e);
    emit_line(e, "/* Memory: %s_init places the model in an arena the caller owns, of", M);
    emit_line(e, " * %s_ARENA_BYTES bytes (the model and one sample's int8 buffers), at an", M);
    emit_line(e, " * address that is a multiple of %s_ARENA_ALIGN.  Nothing else is allocated. */", M);
    emit_line(e, "#define %s_ARENA_BYTES %lldul", M, (ll)(16 + p->arena_bytes));
    emit_line(e, "#define %s_ARENA_ALIGN 16", M);
    emit_line(e, "%s", "");
    emit_line(e, "/* Input %s: %lld values per sample.  %s_forward takes float32 as the", ir->nodes[p->input].name,
              numel(&ir->nodes[p->input]), M);
    emit_line(e, " * float model does; %s_forward_int8 takes int8 q = round(x / SCALE) + ZERO_POINT. */", M);
    emit_line(e, "#define %s_INPUT_SIZE %lld", M, numel(&ir->nodes[p->input]));
    emit_line(e, "#define %s_INPUT_%s_SIZE %lld /* as the float code names it */", M, ir->nodes[p->input].name,
              numel(&ir->nodes[p->input]));
    emit_line(e, "#define %s_INPUT_SCALE %s", M, flt(in->scale, b));
    emit_line(e, "#define %s_INPUT_ZERO_POINT (%d)", M, in->zero_point);
    emit_line(e, "/* Output: %lld values per sample; the real value of int8 q is", numel(&ir->nodes[p->output]));
    emit_line(e, " * (q - ZERO_POINT) * SCALE. */");
    emit_line(e, "#define %s_OUTPUT_SIZE %lld", M, numel(&ir->nodes[p->output]));
    emit_line(e, "#define %s_OUTPUT_SCALE %s", M, flt(out->scale, b));
    emit_line(e, "#define %s_OUTPUT_ZERO_POINT (%d)", M, out->zero_point);
    emit_line(e, "%s", "");
    emit_line(e, "typedef struct %s %s;", M, M);
    emit_line(e, "%s", "");
    emit_line(e, "/* %s_ARENA_BYTES, for code that sizes the arena at run time. */", M);
    emit_line(e, "size_t %s_arena_bytes(void);", M);
    emit_line(e, "/* The model in the caller's arena; NULL when arena is NULL, too small or");
    emit_line(e, " * misaligned.  The weights are compiled in (const). */");
    emit_line(e, "%s *%s_init(void *arena, size_t arena_bytes);", M, M);
    emit_line(e, "/* Inference on float32 x [n, %s_INPUT_SIZE] into out [n, %s_OUTPUT_SIZE]:", M, M);
    emit_line(e, " * quantizes x, runs the int8 graph, dequantizes the output; any n >= 1. */");
    emit_line(e, "void %s_forward(%s *m, int n, const float *x, float *out);", M, M);
    emit_line(e, "/* The int8 graph alone: x [n, %s_INPUT_SIZE] and out [n, %s_OUTPUT_SIZE]", M, M);
    emit_line(e, " * quantized as the macros above say. */");
    emit_line(e, "void %s_forward_int8(%s *m, int n, const int8_t *x, int8_t *out);", M, M);
    emit_line(e, "%s", "");
    emit_header_end(e);
}

int kern_int8_emit(const Ir *ir, const QuantPlan *p, const EmitOptions *o, FILE *h, FILE *cf)
{
    Emitter e = {0};
    const char *M = o->name;
    char b[48];
    e.ir = ir;
    e.opt = o;
    e.f = h;
    emit_int8_header(&e, p);
    e.f = cf;
    emit_file_comment(&e, e.ir->arena, "int8 inference code", e.ir->model);
    emit_line(&e, "/* weights %lld bytes (float32: %lld); arena %lld bytes; docs/quantization.md */",
              (ll)p->weight_bytes, (ll)p->float_weight_bytes, (ll)p->arena_bytes);
    emit_line(&e, "#include \"%s.h\"", M);
    emit_line(&e, "%s", "");
    emit_line(&e, "#include <math.h>");
    emit_line(&e, "#include <string.h>");
    emit_line(&e, "%s", "");
    /* the helpers the kernels below call, and only those (-Wunused) */
    int has[QK_FLOAT + 1] = {0};
    for (int i = 0; i < ir->n; i++)
        has[p->q[i].kind] = 1;
    emit_lines(&e, int8_x86_prelude, sizeof int8_x86_prelude / sizeof int8_x86_prelude[0]);
    if (has[QK_DENSE] || has[QK_CONV2D] || has[QK_ADD] || has[QK_CONCAT])
        emit_lines(&e, int8_requant, sizeof int8_requant / sizeof int8_requant[0]);
    if (has[QK_DENSE] || has[QK_CONV2D]) {
        emit_lines(&e, int8_rows, sizeof int8_rows / sizeof int8_rows[0]);
        emit_lines(&e, int8_x86_rows, sizeof int8_x86_rows / sizeof int8_x86_rows[0]);
    }
    if (has[QK_CONV2D])
        emit_lines(&e, int8_rows2, sizeof int8_rows2 / sizeof int8_rows2[0]);
    emit_lines(&e, int8_quantize, sizeof int8_quantize / sizeof int8_quantize[0]);
    /* the weights: int8 per output channel, int32 biases at s_in s_w[c],
     * each channel's multiplier and shift */
    for (int i = 0; i < ir->n; i++) {
        const QuantNode *q = &p->q[i];
        if (q->kind != QK_DENSE && q->kind != QK_CONV2D)
            continue;
        emit_line(&e, "/* %%%d %s: int8 weights [%d, %lld] ; bz: the int32 bias minus z_in sum(w) */", i,
                  ir->nodes[i].name ? ir->nodes[i].name : "", q->nout, (ll)q->wlen);
        if (conv_wide(ir, p, i, NULL)) {
            /* conv_wide's tap order on the DSP cores, every row permuted */
            int *perm = arena_alloc(ir->arena, (size_t)q->wlen * sizeof *perm);
            int8_t *wp = arena_alloc(ir->arena, (size_t)(q->nout * q->wlen));
            conv_wide(ir, p, i, perm);
            for (ll r = 0; r < q->nout; r++)
                for (ll j = 0; j < q->wlen; j++)
                    wp[r * q->wlen + j] = q->w[r * q->wlen + perm[j]];
            emit_line(&e, "#ifdef NNC_DSP");
            emit_array(&e, "int8_t", arena_printf(ir->arena, "w_q%d", i), (ll)q->nout * q->wlen, wp, 1);
            emit_line(&e, "#else");
        }
        emit_array(&e, "int8_t", arena_printf(ir->arena, "w_q%d", i), (ll)q->nout * q->wlen, q->w, 1);
        if (conv_wide(ir, p, i, NULL))
            emit_line(&e, "#endif");
        emit_array(&e, "int32_t", arena_printf(ir->arena, "w_bz%d", i), q->nout, q->bias_zp, 4);
        emit_array(&e, "int32_t", arena_printf(ir->arena, "w_m%d", i), q->nout, q->mult, 4);
        emit_array(&e, "int8_t", arena_printf(ir->arena, "w_sh%d", i), q->nout, q->shift, 1);
        if (q->kind == QK_CONV2D) {
            Conv c = x86_conv(ir, q, i);
            emit_x86_weights(&e, q, i, c.G, x86_conv_kw(&c), c.KW);
        } else {
            emit_x86_weights(&e, q, i, 1, 0, 0);
        }
        emit_line(&e, "%s", "");
    }
    for (int i = 0; i < ir->n; i++) {
        switch (p->q[i].kind) {
        case QK_DENSE:
            emit_dense(&e, p, i);
            break;
        case QK_CONV2D:
            emit_conv(&e, p, i);
            break;
        case QK_MAXPOOL:
            emit_pool(&e, p, i);
            break;
        case QK_FLOAT:
            emit_float_op(&e, p, i);
            break;
        case QK_AVGPOOL:
        case QK_GAP:
            emit_pool(&e, p, i);
            break;
        case QK_ADD:
            emit_add(&e, p, i);
            break;
        case QK_CONCAT:
            emit_concat(&e, p, i);
            break;
        default:
            break;
        }
    }
    /* the schedule: one sample, input already in its buffer */
    /* the schedule: one sample, input already in its buffer; a pointer
     * per buffer, named after its value (qname()), and per scratch */
    const char **name = calloc((size_t)ir->n, sizeof *name);
    int any_conv = 0, any_pad = 0, any_wide = 0;
    emit_line(&e, "static void run_int8(int8_t *A)");
    emit_line(&e, "{");
    for (int i = 0; i < ir->n; i++) {
        const QuantNode *q = &p->q[i];
        any_conv |= q->kind == QK_CONV2D;
        any_pad |= q->kind == QK_CONV2D && q->pad_plane;
        any_wide |= q->kind == QK_CONV2D || q->kind == QK_DENSE;
        if (q->kind == QK_NONE || q->root != i || q->offset < 0)
            continue;
        name[i] = qname(ir, p, i, name);
        char sh[96];
        emit_line(&e, "    int8_t *const %s = A + %lld; /* %s */", name[i], (ll)q->offset, shape_str(&ir->nodes[i].shape, sh, sizeof sh));
    }
    if (any_conv)
        emit_line(&e, "    int8_t *const col = A + %lld; /* conv2d's im2col rows */", (ll)p->col);
    if (any_wide)
        emit_line(&e, "    int16_t *const wide = (int16_t *)(void *)(A + %lld); /* a row or two widened to int16 */", (ll)p->wide);
    if (any_pad)
        emit_line(&e, "    int8_t *const pad = A + %lld; /* conv2d's input padded with its zero point */", (ll)p->pad);
    if (p->scratch_floats)
        emit_line(&e, "    float *F = (float *)(void *)((unsigned char *)A + %lld); /* the float ops' */", (ll)p->float_scratch);
#define QB(id) name[p->q[id].root]
    for (int i = 0; i < ir->n; i++) {
        const QuantNode *q = &p->q[i];
        const char *x = ir->nodes[i].nin && q->kind != QK_NONE ? QB(ir->nodes[i].in[0]) : "";
        if (q->kind == QK_DENSE)
            emit_line(&e, "    k%d_dense(%s, %s, wide);", i, x, QB(i));
        else if (q->kind == QK_CONV2D && q->pad_plane)
            emit_line(&e, "    k%d_conv2d(%s, %s, col, wide, pad);", i, x, QB(i));
        else if (q->kind == QK_CONV2D)
            emit_line(&e, "    k%d_conv2d(%s, %s, col, wide);", i, x, QB(i));
        else if (q->kind == QK_MAXPOOL || q->kind == QK_AVGPOOL || q->kind == QK_GAP)
            emit_line(&e, "    k%d_%s(%s, %s);", i, op_info[ir->nodes[i].op].name, x, QB(i));
        else if (q->kind == QK_ADD)
            emit_line(&e, "    k%d_add(%s, %s, %s);", i, x, QB(ir->nodes[i].in[1]), QB(i));
        else if (q->kind == QK_CONCAT) {
            emit_line(&e, "    {");
            emit_line(&e, "        const int8_t *xs[%d];", ir->nodes[i].nin);
            for (int k = 0; k < ir->nodes[i].nin; k++)
                emit_line(&e, "        xs[%d] = %s;", k, QB(ir->nodes[i].in[k]));
            emit_line(&e, "        k%d_concat(xs, %s);", i, QB(i));
            emit_line(&e, "    }");
        } else if (q->kind == QK_FLOAT)
            emit_line(&e, "    k%d_%s(%s, %s, F, F + %lld);", i, op_info[ir->nodes[i].op].name, x, QB(i),
                      (ll)p->scratch_floats);
    }
#undef QB
    free(name);
    emit_line(&e, "}");
    emit_line(&e, "%s", "");
    ll nin = numel(&ir->nodes[p->input]), nout = numel(&ir->nodes[p->output]);
    const char *xin = qbuf(ir, p, p->input), *yout = qbuf(ir, p, p->output);
    emit_line(&e, "struct %s {", M);
    emit_line(&e, "    int8_t *a; /* the buffers, 16 bytes into the arena */");
    emit_line(&e, "};");
    emit_line(&e, "typedef char NNC_MODEL_FITS[sizeof(%s) <= 16 ? 1 : -1];", M);
    emit_line(&e, "%s", "");
    emit_line(&e, "size_t %s_arena_bytes(void)", M);
    emit_line(&e, "{");
    emit_line(&e, "    return %s_ARENA_BYTES;", M);
    emit_line(&e, "}");
    emit_line(&e, "%s", "");
    emit_line(&e, "%s *%s_init(void *arena, size_t arena_bytes)", M, M);
    emit_line(&e, "{");
    emit_line(&e, "    %s *m = (%s *)arena;", M, M);
    emit_line(&e, "    if (!arena || arena_bytes < %s_ARENA_BYTES || (uintptr_t)arena %% %s_ARENA_ALIGN != 0)", M, M);
    emit_line(&e, "        return NULL;");
    emit_line(&e, "    memset(arena, 0, %s_ARENA_BYTES);", M);
    emit_line(&e, "    m->a = (int8_t *)arena + 16;");
    emit_line(&e, "    return m;");
    emit_line(&e, "}");
    emit_line(&e, "%s", "");
    emit_line(&e, "void %s_forward_int8(%s *m, int n, const int8_t *x, int8_t *out)", M, M);
    emit_line(&e, "{");
    emit_line(&e, "    int8_t *A = m->a;");
    emit_line(&e, "    int s;");
    emit_line(&e, "    for (s = 0; s < n; s++) {");
    emit_line(&e, "        memcpy(%s, x + (size_t)s * %lld, %lld);", xin, nin, nin);
    emit_line(&e, "        run_int8(A);");
    emit_line(&e, "        memcpy(out + (size_t)s * %lld, %s, %lld);", nout, yout, nout);
    emit_line(&e, "    }");
    emit_line(&e, "}");
    emit_line(&e, "%s", "");
    emit_line(&e, "void %s_forward(%s *m, int n, const float *x, float *out)", M, M);
    emit_line(&e, "{");
    emit_line(&e, "    int8_t *A = m->a;");
    emit_line(&e, "    int s, i;");
    emit_line(&e, "    for (s = 0; s < n; s++) {");
    emit_line(&e, "        nnc_quantize_n(x + (size_t)s * %lld, %s, %lld, %s_INPUT_SCALE, %s_INPUT_ZERO_POINT);", nin, xin, nin, M,
              M);
    emit_line(&e, "        run_int8(A);");
    emit_line(&e, "        for (i = 0; i < %lld; i++)", nout);
    emit_line(&e, "            out[(size_t)s * %lld + i] = (float)((int32_t)(%s)[i] - %s_OUTPUT_ZERO_POINT) * %s_OUTPUT_SCALE;",
              nout, yout, M, M);
    emit_line(&e, "    }");
    emit_line(&e, "}");
    (void)b;
    return 0;
}
