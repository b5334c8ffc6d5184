/*
 * fuse_conv_pool.h: a direct convolution, its activation and the max
 * pooling after it as one kernel.
 */
#ifndef NNC_FUSE_CONV_POOL_H
#define NNC_FUSE_CONV_POOL_H

#include "ir.h"

/*
 * Inline a conv2d computed by direct convolution into the maxpool that
 * reads it (rules in fuse_conv_pool.c).  Returns the number of
 * convolutions inlined.
 */
int fuse_conv_pool(Ir *ir);

/* The conv2d node inlined into maxpool node id, or -1. */
int fuse_conv_pool_conv(const Ir *ir, int id);

#endif
