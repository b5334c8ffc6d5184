/*
 * conv_algo.h: how each conv2d is computed (conv_algo.c).
 */
#ifndef NNC_CONV_ALGO_H
#define NNC_CONV_ALGO_H

#include "ir.h"

#include <stdint.h>

/* IrNode.conv_algo's bits, CONV_DIRECT_*, are in ir.h (dump.c prints
 * them). */

/* The most filters CONV_DIRECT_OC takes: 4 vectors of 16 (8 of 8), at
 * least one output position's sums in registers. */
#define CONV_OC_MAX 64

/* A conv2d's geometry, NCHW, per sample: input [C, H, W], output
 * [F, OH, OW], kernel KH x KW, stride, padding top/left (PyTorch's
 * 'same' puts the odd one at the bottom/right), dilation, G groups of CG
 * input channels and FG filters. */
typedef struct {
    long long C, H, W, F, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, G, CG, FG;
} Conv;

/* Geometry of conv2d node f whose input is node x (shapes inferred). */
Conv conv_geometry(const IrNode *f, const IrNode *x);

/*
 * The padded planes of direct convolution (conv_algo.c's comment):
 * rows HP = OH + (KH-1) DH and row length WP = OW + (KW-1) DW of the
 * zero-padded input; Q = OH WP outputs over the padded width; XP scalars a
 * padded sample takes with its tail; Q16, Q rounded up to 16 (dW's sums).
 * For dx: the output gradient padded to HP2 x WP2, Q2 = H WP2, DYP scalars
 * per sample.
 */
typedef struct {
    long long HP, WP, Q, XP, Q16;
    long long P2T, P2L, HP2, WP2, Q2, DYP;
} ConvDirect;
ConvDirect conv_direct_geometry(const Conv *c);

/* Is the padded input of a CONV_DIRECT_OC layer the input itself?  Its
 * kernel reads no scalar past its windows, so without padding it needs no
 * copy. */
int conv_oc_in_place(const Conv *c, const ConvDirect *d);

/*
 * Polyphase planes: a direct forward (over the padded width) whose max
 * pooling fuse_conv_pool.c inlined it into, with windows Ph x Pw that
 * tile the output (kernel = stride), is computed one window tap (dh, dw)
 * at a time: phase plane (a, b) of a channel holds the padded input's
 * rows a, a + Ph, ... and columns b, b + Pw, ..., PHq x PWq of them, so
 * the outputs at (Ph ph + dh, Pw pw + dw) for every (ph, pw) are again one
 * product over windows of those planes, N = PH PWq columns (PH pooled
 * rows).  The pooling then takes the maximum of Ph Pw planes of outputs
 * element by element, contiguous loops the compiler vectorises, instead
 * of gathering every window from strided rows.  XP: scalars of a sample's
 * planes with the GEMM's tail.
 */
typedef struct {
    long long Ph, Pw, PHq, PWq, N, XP;
} ConvPhase;

/* Fill *p and return 1 when conv2d node conv is computed in polyphase
 * planes: inlined into a maxpool whose windows tile (kernel = stride),
 * over the padded width (not CONV_DIRECT_OC), undilated, and no more panels of 32
 * columns than the padded width takes. */
int conv_phase_geometry(const Ir *ir, const IrNode *conv, ConvPhase *p);

/* Samples a direct dW kernel pads and sums at a time (its scratch):
 * CONV_DW_CHUNK, or fewer when the batch is smaller. */
#define CONV_DW_CHUNK 8
int conv_dw_chunk(int max_batch);

/* Runs of samples a direct dW kernel (and every conv2d db kernel) sums
 * separately and then adds in a fixed tree: CONV_DW_RUNS, or fewer when
 * the batch is smaller.  Fixed whatever the thread count, so that the sums
 * are too; the threads split the runs as other kernels split samples. */
#define CONV_DW_RUNS 8
int conv_dw_runs(int max_batch);

/*
 * The pass: set conv_algo on every conv2d node (-O1 and up; at -O0 every
 * product stays im2col + GEMM).  Returns the number of products made
 * direct.
 */
int conv_algo(Ir *ir);

#endif
