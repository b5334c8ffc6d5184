/*
 * autodiff.h: reverse-mode differentiation of the IR, at compile time.
 */
#ifndef NNC_AUTODIFF_H
#define NNC_AUTODIFF_H

#include "ir.h"

/*
 * Append to a shape-checked IR (ir->nforward nodes) the backward graph of
 * its loss and the optimizer's update of every trainable parameter:
 *   - one OP_GRAD node per (forward node, input) whose gradient is needed,
 *     made by that op's gradient rule below, in reverse topological order;
 *   - an OP_ADD wherever a value feeds several consumers (gradients of
 *     values used more than once accumulate);
 *   - OP_STATE nodes for the optimizer's per-parameter state, named as
 *     torch.optim's state_dict names it, and one OP_UPDATE per parameter.
 * Gradients are computed only for values that depend on a trainable
 * parameter, so the input image never gets a gradient.
 * Does nothing for a model without a loss.  Returns the number of errors
 * reported to d (an operator with no gradient rule yet).
 */
int ad_backward(Ir *ir, Diag *d);

/* Has op a gradient rule? */
int ad_differentiable(Op op);

/* The names of optimizer op's per-parameter state tensors (torch.optim
 * state keys), NULL-terminated, for the given arguments. */
int ad_optimizer_states(const Value *opt, const char **names);

#endif
