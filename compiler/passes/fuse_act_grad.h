/*
 * fuse_act_grad.h: activation backward folded into the kernel producing
 * its incoming gradient.
 */
#ifndef NNC_FUSE_ACT_GRAD_H
#define NNC_FUSE_ACT_GRAD_H

#include "ir.h"

/*
 * Fold the backward of a relu, sigmoid or tanh into the maxpool, dense or
 * conv2d backward kernel that computes its dy (rules in fuse_act_grad.c).
 * Returns the number of nodes fused.
 */
int fuse_act_grad(Ir *ir);

#endif
