/*
 * gemm.h: the matrix multiply emitted into generated code (gemm.c).
 */
#ifndef NNC_GEMM_H
#define NNC_GEMM_H

#include "emit_c.h"

/* K block of the emitted GEMM; its pack scratch is GEMM_PACK_KC x 16. */
#define GEMM_PACK_KC 256

/* Write the GEMM: gemm_part() (vector and plain versions) and the macros
 * GEMM (on the calling thread) and GEMM_PAR (split over the threads). */
void gemm_emit(Emitter *e);

/* Scalars of pack scratch a call needs, for threads threads. */
int64_t gemm_pack_floats(int threads);

#endif
