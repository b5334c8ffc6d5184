/*
 * ops_norm.c: the implementation records of the normalisation operators
 * (nn.BatchNorm, nn.LayerNorm, and normalize, the fixed per-channel
 * standardisation of the input).  ops_impl.h says what each field means.
 */
#include "ops_impl.h"

/* The statistics after y: mean and 1/std per channel (or sample). */
const OpImpl op_impl_BATCHNORM = {
    .op = OP_BATCHNORM,
    .nparams = 5,
    .params = {PR_WEIGHT, PR_BIAS, PR_RUNNING_MEAN, PR_RUNNING_VAR, PR_NUM_BATCHES_TRACKED},
    .wiring = W_NORM,
    .mem = OM_NORM,
    .kernel_args = OPK_TRAINING,
};

const OpImpl op_impl_LAYERNORM = {
    .op = OP_LAYERNORM,
    .nparams = 2, .params = {PR_WEIGHT, PR_BIAS},
    .wiring = W_NORM,
    .mem = OM_NORM,
};

static void normalize_check(Diag *d, Span span, Op op, const Value *a)
{
    (void)span;
    const Value *sd = op_arg(op, a, "std");
    for (int i = 0; i < (sd->kind == V_LIST ? sd->n : 1); i++)
        if ((sd->kind == V_LIST ? sd->list[i] : sd->num) == 0) {
            diag_error(d, sd->span, "normalize's std must not be 0");
            break;
        }
}

const OpImpl op_impl_NORMALIZE = {
    .op = OP_NORMALIZE,
    .check = normalize_check,
    .wiring = W_DY,
};
