/*
 * fuse_elementwise.h: chains of element-wise operators in one loop.
 */
#ifndef NNC_FUSE_ELEMENTWISE_H
#define NNC_FUSE_ELEMENTWISE_H

#include "ir.h"

/* Most nodes one fused kernel computes, and most operands it reads
 * (fuse_elementwise.c, rule 6). */
#define FUSE_MAX_NODES 32
#define FUSE_MAX_OPERANDS 16

/*
 * Inline element-wise nodes into the element-wise node that alone reads
 * them (IrNode.inlined_into), forward and backward, so that each chain
 * becomes one kernel.  Runs after autodiff and fuse_epilogue.  Returns
 * the number of nodes inlined.
 */
int fuse_elementwise(Ir *ir);

#endif
