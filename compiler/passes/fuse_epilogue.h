/*
 * fuse_epilogue.h: activation epilogues of dense and conv2d kernels.
 */
#ifndef NNC_FUSE_EPILOGUE_H
#define NNC_FUSE_EPILOGUE_H

#include "ir.h"

/*
 * Fold an element-wise activation into the dense or conv2d kernel that
 * computes its input.  Returns the number of nodes fused.
 */
int fuse_epilogue(Ir *ir);

#endif
