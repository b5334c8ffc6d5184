/*
 * ops_conv.c: the implementation records of conv2d and conv1d
 * (nn.Conv2d, nn.Conv1d).  ops_impl.h says what each field means.
 */
#include "ops_impl.h"

/* PyTorch: padding = 'same' is not supported for strided convolutions.
 * value_pair reads conv1d's integer stride as (n, n). */
static void conv_check(Diag *d, Span span, Op op, const Value *a)
{
    (void)span;
    int64_t st[2];
    value_pair(op_arg(op, a, "stride"), st);
    if (op_arg(op, a, "padding")->kind == V_IDENT && (st[0] != 1 || st[1] != 1))
        diag_error(d, op_arg(op, a, "padding")->span, "padding = same needs stride 1");
}

/* 2 (C / groups) kh kw per output element. */
static double conv2d_flops(Op op, const Value *args, const OpDims *d)
{
    const Value *k = op_arg(op, args, "kernel");
    int64_t kk[2];
    value_pair(k, kk);
    double cg = d->in_channels / op_num(op, args, "groups");
    return 2.0 * cg * (double)(kk[0] * kk[1]) * d->out;
}

const OpImpl op_impl_CONV2D = {
    .op = OP_CONV2D,
    .check = conv_check,
    .nparams = 2, .params = {PR_WEIGHT, PR_BIAS}, .bias_arg = 1,
    .wiring = W_LINEAR,
    .grad_what = {"dx", "dw", "db"},
    .gemm = 1,
    .act_grad_fold = AGF_WITH_Y,
    .mem = OM_CONV,
    .flops = conv2d_flops,
};

/* Lowered to conv2d before anything but sema and shape inference sees it. */
const OpImpl op_impl_CONV1D = {
    .op = OP_CONV1D,
    .check = conv_check,
    .is_1d = 1, .as_2d = OP_CONV2D,
    .nparams = 2, .params = {PR_WEIGHT, PR_BIAS}, .bias_arg = 1,
};
