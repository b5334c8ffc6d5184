/*
 * ops_linear.c: the implementation record of dense (nn.Linear).
 * ops_impl.h says what each field means.
 */
#include "ops_impl.h"

/* 2 I O: a multiply and an add per weight. */
static double dense_flops(Op op, const Value *args, const OpDims *d)
{
    (void)op, (void)args;
    return 2.0 * d->in * d->out;
}

const OpImpl op_impl_DENSE = {
    .op = OP_DENSE,
    .nparams = 2, .params = {PR_WEIGHT, PR_BIAS}, .bias_arg = 1,
    .wiring = W_LINEAR,
    .grad_what = {"dx", "dw", "db"},
    .gemm = 1,
    .act_grad_fold = AGF_WITH_Y,
    .mem = OM_DENSE,
    .flops = dense_flops,
};
