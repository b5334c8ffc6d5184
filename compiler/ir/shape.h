/*
 * shape.h: shape inference.
 */
#ifndef NNC_SHAPE_H
#define NNC_SHAPE_H

#include "ir.h"

/*
 * Give every node its per-sample shape and dtype, in one forward walk, by
 * the rule named for its op in ops.def.  Layers also give their parameters
 * their shapes (PyTorch layouts: dense.weight [out, in], conv2d.weight
 * [out, in/groups, kh, kw]).  A node whose inputs failed is poisoned
 * silently, so one mistake is reported once.  Returns the number of errors
 * reported to d.
 */
int shape_infer(Ir *ir, Diag *d);

#endif
