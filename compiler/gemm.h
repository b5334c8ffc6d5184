/*
 * gemm.h: the matrix multiply emitted into generated code (gemm.c).
 */
#ifndef NNC_GEMM_H
#define NNC_GEMM_H

#include "emit_c.h"

/* K block of the emitted gemm(); its pack scratch is GEMM_PACK_KC x 16. */
#define GEMM_PACK_KC 256

/* Write the static function gemm() (vector and plain versions). */
void gemm_emit(Emitter *e);

/* Scalars of pack scratch a call needs, for threads threads. */
int64_t gemm_pack_floats(int threads);

#endif
