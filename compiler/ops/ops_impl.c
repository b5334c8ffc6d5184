/*
 * ops_impl.c: op_impl[], the implementation records of the family files
 * (ops_linear.c, ops_conv.c, ...) in ops.def's order.
 *
 * Each row is &op_impl_<ID>: an operator of ops.def whose family file has
 * no record is an undefined symbol, so the compiler does not link.
 */
#include "ops_impl.h"

#define OP(id, name, kind, nin, shape, args) [OP_##id] = &op_impl_##id,
const OpImpl *const op_impl[OP_COUNT] = {
#include "ops.def"
};
#undef OP

double op_flops_none(Op op, const Value *args, const OpDims *d)
{
    (void)op, (void)args, (void)d;
    return 0;
}
