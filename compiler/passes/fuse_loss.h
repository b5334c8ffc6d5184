/*
 * fuse_loss.h: log_softmax + nll as one cross-entropy kernel.
 */
#ifndef NNC_FUSE_LOSS_H
#define NNC_FUSE_LOSS_H

#include "diag.h"
#include "ir.h"

/* Rewrite nll(log_softmax(z)) into cross_entropy(z).  Before autodiff.
 * Returns the number of losses rewritten. */
int fuse_loss(Ir *ir);

#endif
