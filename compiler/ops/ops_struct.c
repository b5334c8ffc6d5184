/*
 * ops_struct.c: the implementation records of the structural functions
 * (flatten, reshape, dropout, add, mul, concat) and of the nodes the
 * compiler makes itself (input, target, param, grad, state, update).
 * ops_impl.h says what each field means.
 */
#include "ops_impl.h"

const OpImpl op_impl_FLATTEN = {
    .op = OP_FLATTEN,
    .wiring = W_DY,
    .view = OV_ALWAYS,
    .flops = op_flops_none,
};

const OpImpl op_impl_RESHAPE = {
    .op = OP_RESHAPE,
    .wiring = W_DY,
    .view = OV_ALWAYS,
    .flops = op_flops_none,
};

/* y holds the mask after it when training; the identity in inference. */
const OpImpl op_impl_DROPOUT = {
    .op = OP_DROPOUT,
    .wiring = W_Y,
    .view = OV_INFERENCE,
    .mem = OM_ACT,
    .kernel_args = OPK_TRAINING | OPK_RNG,
};

/* add is element-wise as a node (ir_elementwise()), not as an op with a
 * gradient formula: its gradient is dy itself. */
const OpImpl op_impl_ADD = {.op = OP_ADD, .wiring = W_ADD};

/* forward a * b; backward da = dy * b, db = dy * a */
const OpImpl op_impl_MUL = {
    .op = OP_MUL,
    .wiring = W_MUL,
    .grad_what = {"da", "db"},
    .elementwise = 1,
};

const OpImpl op_impl_CONCAT = {
    .op = OP_CONCAT,
    .wiring = W_CONCAT,
    .grad_what = {"da", "db"},
    .flops = op_flops_none,
};

const OpImpl op_impl_INPUT = {.op = OP_INPUT};
const OpImpl op_impl_TARGET = {.op = OP_TARGET};
const OpImpl op_impl_PARAM = {.op = OP_PARAM};
const OpImpl op_impl_GRAD = {.op = OP_GRAD};
const OpImpl op_impl_STATE = {.op = OP_STATE};
const OpImpl op_impl_UPDATE = {.op = OP_UPDATE};
