/*
 * ops_optim.c: the implementation records of the optimizers (torch.optim):
 * the checks between their arguments and the state buffers each keeps
 * per parameter, named as torch.optim's state_dict names them.
 * ops_impl.h says what each field means; kernels.c writes the updates.
 */
#include "ops_impl.h"

static void sgd_check(Diag *d, Span span, Op op, const Value *a)
{
    if (op_num(op, a, "nesterov") != 0 && (op_num(op, a, "momentum") <= 0 || op_num(op, a, "dampening") != 0))
        diag_error(d, span, "nesterov momentum needs momentum > 0 and dampening = 0");
}

static int sgd_states(Op op, const Value *a, const char **names)
{
    int k = 0;
    if (op_num(op, a, "momentum") != 0)
        names[k++] = "momentum_buffer";
    names[k] = NULL;
    return k;
}

static int adam_states(Op op, const Value *a, const char **names)
{
    int k = 0;
    names[k++] = "exp_avg";
    names[k++] = "exp_avg_sq";
    if (op == OP_OPT_ADAM && op_num(op, a, "amsgrad") != 0)
        names[k++] = "max_exp_avg_sq";
    names[k] = NULL;
    return k;
}

static int adagrad_states(Op op, const Value *a, const char **names)
{
    (void)op, (void)a;
    names[0] = "sum";
    names[1] = NULL;
    return 1;
}

static int rmsprop_states(Op op, const Value *a, const char **names)
{
    int k = 0;
    names[k++] = "square_avg";
    if (op_num(op, a, "momentum") > 0)
        names[k++] = "momentum_buffer";
    if (op_num(op, a, "centered") != 0)
        names[k++] = "grad_avg";
    names[k] = NULL;
    return k;
}

static int adadelta_states(Op op, const Value *a, const char **names)
{
    (void)op, (void)a;
    names[0] = "square_avg";
    names[1] = "acc_delta";
    names[2] = NULL;
    return 2;
}

const OpImpl op_impl_OPT_SGD = {.op = OP_OPT_SGD, .check = sgd_check, .states = sgd_states};
const OpImpl op_impl_OPT_ADAGRAD = {.op = OP_OPT_ADAGRAD, .states = adagrad_states};
const OpImpl op_impl_OPT_RMSPROP = {.op = OP_OPT_RMSPROP, .states = rmsprop_states};
const OpImpl op_impl_OPT_ADADELTA = {.op = OP_OPT_ADADELTA, .states = adadelta_states};
const OpImpl op_impl_OPT_ADAM = {.op = OP_OPT_ADAM, .states = adam_states};
const OpImpl op_impl_OPT_ADAMW = {.op = OP_OPT_ADAMW, .states = adam_states};
