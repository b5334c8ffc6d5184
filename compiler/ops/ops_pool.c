/*
 * ops_pool.c: the implementation records of the pooling operators
 * (nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d, their 1-D forms, and
 * global average pooling).  ops_impl.h says what each field means.
 */
#include "ops_impl.h"

/* kh kw per output element: one comparison or add per window element. */
static double window_flops(Op op, const Value *args, const OpDims *d)
{
    int64_t kk[2];
    value_pair(op_arg(op, args, "kernel"), kk);
    return (double)(kk[0] * kk[1]) * d->out;
}

/* y holds where the maxima were after it (training only). */
const OpImpl op_impl_MAXPOOL = {
    .op = OP_MAXPOOL,
    .wiring = W_Y,
    .act_grad_fold = AGF_IN_PLACE,
    .mem = OM_POOL,
    .kernel_args = OPK_TRAINING,
    .flops = window_flops,
};

const OpImpl op_impl_AVGPOOL = {
    .op = OP_AVGPOOL,
    .wiring = W_DY,
    .flops = window_flops,
};

const OpImpl op_impl_LPPOOL = {
    .op = OP_LPPOOL,
    .wiring = W_X_Y,
};

const OpImpl op_impl_MAXPOOL1D = {
    .op = OP_MAXPOOL1D,
    .is_1d = 1, .as_2d = OP_MAXPOOL,
};

const OpImpl op_impl_AVGPOOL1D = {
    .op = OP_AVGPOOL1D,
    .is_1d = 1, .as_2d = OP_AVGPOOL,
};

const OpImpl op_impl_GLOBAL_AVGPOOL = {
    .op = OP_GLOBAL_AVGPOOL,
    .wiring = W_DY,
};
