/*
 * gemm.c: the one matrix-multiply routine the generated code carries.
 *
 *   C[m, n] = init + sum over k = 0, 1, ..., K-1 of A(m, k) B(k, n)
 *
 * with A(m, k) = A[m sam + k sak] and B(k, n) = B[k sbk + n sbn], so every
 * product of dense and conv2d, forward and backward, is one call with the
 * right strides; with boff, row k of B starts at B + boff[k] instead (the
 * rows of an implicit im2col matrix, all windows of one padded input).
 * The vector version works on panels of GEMM_NR columns of B (two vectors
 * of NNC_LANES: 16 with AVX-512, 8 with AVX, 4 with SSE2 or NEON), K in
 * blocks of GEMM_KC so a panel stays in L1, and 6 rows of A at a time (12
 * accumulators in registers); a panel of B not contiguous in n is packed
 * first.
 *
 * The order of each output's sum depends only on K and the call's flags,
 * never on M, N, the panel, the lanes or the thread, and both versions
 * follow it, so -DNNC_SCALAR gives the same bits.  K is cut in blocks of
 * GEMM_KC; the running sum (carried in C) starts at init and each block
 * adds one partial sum to it, so a long K never adds a small product to a
 * huge sum (16.7 million products: 1e-3 from the exact sum where one chain
 * in order is 1.4 off).  A block's partial sum is one chain in k order
 * (from init itself in block 0, so K <= GEMM_KC is one chain from init, as
 * the direct convolutions sum), or with the flag GEMM_K8 (dense's forward)
 * eight chains over k = j mod 8 added in a fixed tree: the order of dot
 * products in vectors of 8 along k, which the few-sample dense forward
 * computes (kernels.c) without packing W, so a sample's outputs do not
 * depend on the batch.  Rows 6 at a time; the last partial block repeats its last
 * row and stores only the real ones.  A call is the macro GEMM (every
 * panel on the calling thread) or GEMM_PAR (the panels split over the
 * threads), both around gemm_part(), one panel.  Built for x86-64
 * without AVX, gemm_panel() also has AVX-512 and AVX2 + FMA copies that
 * gemm_part() picks at run time (gemm_isa_begin(); docs/performance.md).
 *
 * The text itself is real C in compiler/emit/helpers/gemm.c, compiled and
 * tested alone (tests/unit/test_helpers.c) and turned by the build into
 * the tables gemm_source (the macros), gemm_panel_source (gemm_panel(),
 * once per instruction set), gemm_dot_source (gemm_dot8(), once per
 * instruction set in builds that dispatch: there vreal has no eight
 * lanes, so the few-sample dense forward calls it through NNC_ISA_CALL
 * to fuse, or not, as the GEMM copy nnc_isa picks does) and
 * gemm_rest_source (the plain loops, gemm_part(), GEMM, GEMM_PAR).
 */
#include "gemm.h"

#include <string.h>

#include "helpers/gemm.inc" /* build/: scripts/embed_c.c from compiler/emit/helpers/gemm.c */

/* The copies of run-time dispatch: the function-name suffix NNC_ISA_CALL
 * adds, the instruction sets, the lanes and the fused multiply-add. */
static const struct {
    const char *suffix, *target, *lanes, *fma;
} isa_copies[GEMM_ISA_COPIES] = {
    {"_x16", "avx512f,fma", "16", "GVFMA_X16"},
    {"_x8", "avx2,fma", "8", "GVFMA_X8"},
};

void gemm_isa_begin(Emitter *e, int copy, const char *const *fns, int nfns)
{
    emit_line(e, "/* the %s copy of %s%s for run-time dispatch: the same text, other lanes */",
              isa_copies[copy].target, fns[0], nfns > 1 ? " and its helpers" : "");
    emit_line(e, "#if defined(NNC_DISPATCH) && defined(NNC_VECTOR)");
    emit_line(e, "#if defined(__clang__)");
    emit_line(e, "#pragma clang attribute push(__attribute__((target(\"%s\"))), apply_to = function)", isa_copies[copy].target);
    emit_line(e, "#else");
    emit_line(e, "#pragma GCC push_options");
    emit_line(e, "#pragma GCC target(\"%s\")", isa_copies[copy].target);
    emit_line(e, "#endif");
    emit_line(e, "#undef GEMM_LANES");
    emit_line(e, "#define GEMM_LANES %s", isa_copies[copy].lanes);
    emit_line(e, "#define vgemm vgemm%s", isa_copies[copy].suffix);
    emit_line(e, "#undef GVFMA");
    emit_line(e, "#define GVFMA %s", isa_copies[copy].fma);
    for (int i = 0; i < nfns; i++)
        emit_line(e, "#define %s %s%s", fns[i], fns[i], isa_copies[copy].suffix);
}

void gemm_isa_end(Emitter *e, int copy, const char *const *fns, int nfns)
{
    (void)copy;
    for (int i = 0; i < nfns; i++)
        emit_line(e, "#undef %s", fns[i]);
    emit_line(e, "#undef GEMM_LANES");
    emit_line(e, "#define GEMM_LANES NNC_LANES");
    emit_line(e, "#undef vgemm");
    emit_line(e, "#undef GVFMA");
    emit_line(e, "#define GVFMA GVFMA_N");
    emit_line(e, "#if defined(__clang__)");
    emit_line(e, "#pragma clang attribute pop");
    emit_line(e, "#else");
    emit_line(e, "#pragma GCC pop_options");
    emit_line(e, "#endif");
    emit_line(e, "#endif");
}

void gemm_emit(Emitter *e)
{
    static const char *const fns[] = {"gemm_panel", "gemm_dot8"};
    emit_lines(e, gemm_source, sizeof gemm_source / sizeof gemm_source[0]);
    emit_lines(e, gemm_panel_source, sizeof gemm_panel_source / sizeof gemm_panel_source[0]);
    emit_line(e, "#ifdef NNC_DISPATCH");
    emit_lines(e, gemm_dot_source, sizeof gemm_dot_source / sizeof gemm_dot_source[0]);
    emit_line(e, "#endif");
    for (int v = 0; v < GEMM_ISA_COPIES; v++) {
        gemm_isa_begin(e, v, fns, 2);
        emit_lines(e, gemm_panel_source, sizeof gemm_panel_source / sizeof gemm_panel_source[0]);
        emit_lines(e, gemm_dot_source, sizeof gemm_dot_source / sizeof gemm_dot_source[0]);
        gemm_isa_end(e, v, fns, 2);
    }
    emit_lines(e, gemm_rest_source, sizeof gemm_rest_source / sizeof gemm_rest_source[0]);
}
