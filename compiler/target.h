/*
 * target.h: what the passes and the memory plan must know about the code
 * the kernels will be (target.c).  Today one fact: the pack scratch of
 * the GEMM that gemm.c writes into the generated code, which the kernels'
 * memory declarations (kmem.c) size and gemm.c's kernels use.  It lives
 * here, below the passes, so that neither they nor the planner include an
 * emitter header (docs/architecture.md, "Layers").
 */
#ifndef NNC_TARGET_H
#define NNC_TARGET_H

#include <stdint.h>

/* K block of the emitted GEMM; its pack scratch is GEMM_PACK_KC x 32 per
 * thread.  gemm.c's GEMM_KC, inside the generated code, must agree. */
#define GEMM_PACK_KC 256

/*
 * Scalars of pack scratch one GEMM call of N columns and K rows of B
 * needs, for threads threads (at least one).  The GEMM packs a panel of
 * GEMM_NR columns (at most 32) and min(K, GEMM_PACK_KC) rows when B is
 * not contiguous in n (sbn != 1) or a panel is partial, unless B's rows
 * are given by offsets (boff: padded planes, read in place).  Panels are
 * 8, 16 or 32 columns wide by the build's lanes, so N a multiple of 32
 * never leaves a partial one.  Thread t's pack starts GEMM_PACK_KC x 32
 * scalars after thread t - 1's (gemm_part()), so all but the last take
 * that stride, the last only the rows it fills.  0 when it never packs.
 */
int64_t target_gemm_pack_floats(int threads, int64_t N, int64_t K, int sbn_is_1, int boff);

#endif
