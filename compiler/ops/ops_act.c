/*
 * ops_act.c: the implementation records of the activations and the other
 * element-wise functions (torch.nn.functional's), softmax, log_softmax,
 * glu and prelu.  ops_impl.h says what each field means.
 *
 * The element-wise formulas with arguments are kernels_act.c's
 * pointwise() rows; relu, sigmoid and tanh keep theirs here, since the
 * passes fuse them into the layer before (fuse_epilogue.c) and fold
 * their backward into its gradient (fuse_act_grad.c).
 */
#include "ops_impl.h"

/* PyTorch raises for the same combinations. */
static void rrelu_check(Diag *d, Span span, Op op, const Value *a)
{
    if (op_num(op, a, "lower") > op_num(op, a, "upper"))
        diag_error(d, span, "rrelu needs lower <= upper, got lower = %g, upper = %g", op_num(op, a, "lower"),
                   op_num(op, a, "upper"));
}

static void hardtanh_check(Diag *d, Span span, Op op, const Value *a)
{
    if (op_num(op, a, "min_val") >= op_num(op, a, "max_val"))
        diag_error(d, span, "hardtanh needs min_val < max_val, got %g and %g", op_num(op, a, "min_val"),
                   op_num(op, a, "max_val"));
}

static void celu_check(Diag *d, Span span, Op op, const Value *a)
{
    (void)span;
    if (op_num(op, a, "alpha") == 0)
        diag_error(d, op_arg(op, a, "alpha")->span, "celu's alpha must not be 0");
}

/* relu keeps NaN (torch.relu propagates it). */
const OpImpl op_impl_RELU = {
    .op = OP_RELU,
    .wiring = W_Y,
    .elementwise = 1,
    .epilogue = "v > 0.0f ? v : (v != v ? v : 0.0f)",
    .act_grad = "yv > 0.0f ? gv : 0.0f",
};

const OpImpl op_impl_SIGMOID = {
    .op = OP_SIGMOID,
    .wiring = W_Y,
    .elementwise = 1,
    .epilogue = "1.0f / (1.0f + EXP(-v))",
    .act_grad = "gv * (1.0f - yv) * yv",
};

const OpImpl op_impl_TANH = {
    .op = OP_TANH,
    .wiring = W_Y,
    .elementwise = 1,
    .epilogue = "TANH(v)",
    .act_grad = "gv * (1.0f - yv * yv)",
};

/* The rest differentiate from x, by kernels_act.c's pointwise() rows. */
#define POINTWISE(id) const OpImpl op_impl_##id = {.op = OP_##id, .wiring = W_X, .elementwise = 1}
POINTWISE(LEAKY_RELU);
POINTWISE(RELU6);
POINTWISE(ELU);
POINTWISE(SELU);
POINTWISE(GELU);
POINTWISE(HARDSIGMOID);
POINTWISE(LOGSIGMOID);
POINTWISE(TANHSHRINK);
POINTWISE(SILU);
POINTWISE(MISH);
POINTWISE(SOFTPLUS);
POINTWISE(SOFTSIGN);
POINTWISE(HARDSHRINK);
POINTWISE(SOFTSHRINK);
POINTWISE(THRESHOLD);
POINTWISE(HARDSWISH);
POINTWISE(STEP); /* zeros, as PyTorch's grad is zero, not None */
#undef POINTWISE

const OpImpl op_impl_CELU = {.op = OP_CELU, .check = celu_check, .wiring = W_X, .elementwise = 1};
const OpImpl op_impl_HARDTANH = {.op = OP_HARDTANH, .check = hardtanh_check, .wiring = W_X, .elementwise = 1};

/* y keeps the random slope of every element after it when training. */
const OpImpl op_impl_RRELU = {
    .op = OP_RRELU,
    .check = rrelu_check,
    .wiring = W_Y,
    .mem = OM_ACT,
    .kernel_args = OPK_TRAINING | OPK_RNG,
};

const OpImpl op_impl_GLU = {.op = OP_GLU, .wiring = W_X};

/* max, exp, sum, divide (or log) per element. */
static double softmax_flops(Op op, const Value *args, const OpDims *d)
{
    (void)op, (void)args;
    return 4.0 * d->out;
}

const OpImpl op_impl_SOFTMAX = {.op = OP_SOFTMAX, .wiring = W_Y, .flops = softmax_flops};
const OpImpl op_impl_LOG_SOFTMAX = {.op = OP_LOG_SOFTMAX, .wiring = W_Y, .flops = softmax_flops};

const OpImpl op_impl_PRELU = {
    .op = OP_PRELU,
    .nparams = 1, .params = {PR_WEIGHT},
    .wiring = W_PRELU,
};
