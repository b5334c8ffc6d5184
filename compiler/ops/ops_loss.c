/*
 * ops_loss.c: the implementation records of the losses: (prediction,
 * target) -> scalar, differentiated from both without a dy.  ops_impl.h
 * says what each field means.
 */
#include "ops_impl.h"

const OpImpl op_impl_MSE = {.op = OP_MSE, .wiring = W_LOSS};
const OpImpl op_impl_L1 = {.op = OP_L1, .wiring = W_LOSS};
const OpImpl op_impl_HUBER = {.op = OP_HUBER, .wiring = W_LOSS};
const OpImpl op_impl_CROSS_ENTROPY = {.op = OP_CROSS_ENTROPY, .wiring = W_LOSS};
const OpImpl op_impl_BINARY_CROSS_ENTROPY = {.op = OP_BINARY_CROSS_ENTROPY, .wiring = W_LOSS};
const OpImpl op_impl_NLL = {.op = OP_NLL, .wiring = W_LOSS};
