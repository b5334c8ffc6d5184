/*
 * lower.h: AST to IR.
 */
#ifndef NNC_LOWER_H
#define NNC_LOWER_H

#include "ast.h"
#include "ir.h"

/*
 * Lower a checked Module to IR in one walk over its statements: inputs and
 * targets become OP_INPUT/OP_TARGET nodes with their declared shapes, every
 * call one node, every layer's parameters OP_PARAM nodes just before it.
 * Calls that sema could not check become poisoned nodes, so shape inference
 * can still report independent errors elsewhere.  Never fails.
 */
Ir *lower_module(Arena *a, Module *m);

/*
 * The 1-D operators (conv1d, maxpool1d, avgpool1d, and global_avgpool of
 * a [C, L] value) as the 2-D ones on a [C, 1, L] view, as PyTorch's own
 * backends run them: after shape
 * inference (which checked them, named them and gave conv1d.weight its
 * PyTorch shape [out, in/groups, k]), each becomes a reshape of its input
 * to [C, 1, L] (a view, no copy), the 2-D node with its arguments as
 * pairs ([1, k], padding [0, p]) and a reshape back to [C', L'].  A unary
 * element-wise function of such a value runs on the [C, 1, L] form, so
 * the 2-D fusions apply.  The weight keeps its shape: the 2-D kernels read
 * the same [out, in/groups, 1 * k] numbers.  Rebuilds ir's node array when
 * there is anything to lower (renumbering every node); returns the number
 * of nodes lowered.  Runs before autodiff, which never sees a 1-D op.
 */
int lower_1d(Ir *ir);

/* The 2-D operator lower_1d() makes of 1-D operator op; op itself for
 * every other (nnc --list-ops reports a 1-D operator's kernels and
 * gradient through it). */
Op lower_1d_op(Op op);

#endif
