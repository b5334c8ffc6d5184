/*
 * compiler/emit/helpers/prelude.h: what a generated file defines before its
 * helpers, for compiling the helpers of this folder on their own
 * (tests/unit/test_helpers.c).  Never embedded: these are the lines of
 * the prelude emit_c.c writes (real, the lanes, fused multiply-add,
 * FMADD, NNC_ISA_CALL, the threads), copied for a file built without
 * run-time dispatch and without OpenMP, the configurations a test can
 * choose with the compiler's flags:
 *
 *   -DNNC_SCALAR                 the plain loops (no vector type)
 *   (x86-64 default, SSE2)       4 lanes, no FMA
 *   -mavx                        8 lanes, no FMA
 *   -mavx2 -mfma                 8 lanes, FMA
 *   -mavx512f -mfma              16 lanes, FMA
 *   -DNNC_SCALAR -mfma           the plain loops with fmaf() (as a Cortex-M4F)
 *
 * NNC_THREAD (the calling thread's number, 0 here) may be given as
 * -DNNC_THREAD=expr, so that a test can run gemm_part() as each thread.
 */
#ifndef NNC_HELPERS_PRELUDE_H
#define NNC_HELPERS_PRELUDE_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#ifdef NNC_DOUBLE
typedef double real;
#else
typedef float real;
#endif

#if defined(__GNUC__) && !defined(NNC_SCALAR)
#if defined(__AVX512F__)
#define NNC_LANES 16
#elif defined(__AVX__)
#define NNC_LANES 8
#elif defined(__SSE2__) || defined(__ARM_NEON) || defined(__aarch64__)
#define NNC_LANES 4
#endif
#endif
#ifdef NNC_LANES
#define NNC_VECTOR 1
#endif

#if !defined(NNC_DOUBLE) && defined(__GNUC__) && (defined(__FMA__) || defined(__AVX512F__))
#define NNC_FMA 1
#include <immintrin.h>
#elif !defined(NNC_DOUBLE) && defined(__ARM_FEATURE_FMA)
#define NNC_FMA 1
#if defined(NNC_VECTOR) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif
#endif
#if defined(NNC_VECTOR) && defined(__AVX__)
#include <immintrin.h> /* gemm_dot8()'s eight-lane intrinsics (the dispatch copies') */
#endif

#define NNC_ISA_CALL(fn, args) fn args
#ifdef NNC_FMA
#define FMADD(a, b, c) fmaf((a), (b), (c))
#else
#define FMADD(a, b, c) ((a) * (b) + (c))
#endif

#define NNC_PARALLEL_FOR
#ifndef NNC_THREAD
#define NNC_THREAD 0
#endif

#endif
