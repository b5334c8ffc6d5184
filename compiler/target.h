/*
 * target.h: what the passes and the memory plan must know about the code
 * the kernels will be (target.c).  Today one fact: the pack scratch of
 * the GEMM that gemm.c writes into the generated code, which conv_algo.c
 * and memplan.c size and gemm.c's kernels use.  It lives here, below the
 * passes, so that neither they nor the planner include an emitter header
 * (docs/architecture.md, "Layers").
 */
#ifndef NNC_TARGET_H
#define NNC_TARGET_H

#include <stdint.h>

/* K block of the emitted GEMM; its pack scratch is GEMM_PACK_KC x 32 per
 * thread.  gemm.c's GEMM_KC, inside the generated code, must agree. */
#define GEMM_PACK_KC 256

/* Scalars of GEMM pack scratch a call needs, for threads threads (at
 * least one): room for the widest panel, 32 columns, per thread. */
int64_t target_gemm_pack_floats(int threads);

#endif
