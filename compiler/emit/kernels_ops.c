/*
 * kernels_ops.c: kern_ops[], the kernel records of the family files
 * (kernels.c, kernels_act.c, kernels_norm.c) in ops.def's order, and the
 * rows of the ops no kernel computes.  kernels.h says what a row is.
 */
#include "kernels.h"

#define NO_KERNEL(id) const KernOp kern_op_##id = {.op = OP_##id}

/* Lowered to conv2d, maxpool and avgpool on a [C, 1, L] view
 * (lower_1d()) before the back end sees them. */
NO_KERNEL(CONV1D);
NO_KERNEL(MAXPOOL1D);
NO_KERNEL(AVGPOOL1D);

/* A gradient is computed by the row of its forward op. */
NO_KERNEL(GRAD);

/* Written by the model emitter (emit_c.c): initialisation, the schedule
 * of the training loop. */
NO_KERNEL(INIT_DEFAULT);
NO_KERNEL(INIT_HE_NORMAL);
NO_KERNEL(INIT_HE_UNIFORM);
NO_KERNEL(INIT_XAVIER_NORMAL);
NO_KERNEL(INIT_XAVIER_UNIFORM);
NO_KERNEL(INIT_ZEROS);
NO_KERNEL(INIT_NORMAL);
NO_KERNEL(INIT_UNIFORM);
NO_KERNEL(SCHED_CONSTANT);
NO_KERNEL(SCHED_STEP);
NO_KERNEL(SCHED_EXPONENTIAL);
NO_KERNEL(SCHED_COSINE);
NO_KERNEL(SCHED_PLATEAU);
NO_KERNEL(TRAIN);

#define OP(id, name, kind, nin, shape, args) [OP_##id] = &kern_op_##id,
const KernOp *const kern_ops[OP_COUNT] = {
#include "ops.def"
};
#undef OP
