/*
 * gemm.h: the matrix multiply emitted into generated code (gemm.c).
 */
#ifndef NNC_GEMM_H
#define NNC_GEMM_H

#include "emitter.h"
#include "target.h" /* GEMM_PACK_KC, its pack scratch */

/* Write the GEMM: gemm_part() (vector and plain versions) and the macros
 * GEMM (on the calling thread) and GEMM_PAR (split over the threads). */
void gemm_emit(Emitter *e);

/*
 * Run-time dispatch (NNC_DISPATCH in the generated code: x86-64 built
 * without AVX): a vector function is written once generically and then
 * GEMM_ISA_COPIES more times, copy c between gemm_isa_begin(e, c, fns, n)
 * and gemm_isa_end(e, c, fns, n).  Between them the lane macros
 * (GEMM_LANES, vgemm, GVFMA) are those of the copy's instruction set and
 * each name fns[0..n) is a macro for the copy's own name, NAME_x16
 * (AVX-512) or NAME_x8 (AVX2 + FMA), which NNC_ISA_CALL(NAME, (args))
 * calls.  The function text must use only those macros for its vectors.
 */
#define GEMM_ISA_COPIES 2
void gemm_isa_begin(Emitter *e, int copy, const char *const *fns, int nfns);
void gemm_isa_end(Emitter *e, int copy, const char *const *fns, int nfns);

#endif
