/*
 * fuse_loss.c: nll(log_softmax(z, dim = -1), y) computed as one kernel.
 *
 * Rule: when the loss is nll and its input is a log_softmax of rank-1
 * logits that no other node reads, the loss becomes cross_entropy(z, y)
 * with no label smoothing and nll's weight, ignore_index and reduction,
 * which is the same function (F.cross_entropy is defined as exactly this
 * composition), and training no longer computes
 * the log_softmax (inference still does when it is the output).  The backward is then softmax(z) - onehot(y) over n in one
 * pass instead of two kernels and a buffer.  Runs before autodiff;
 * results agree with the unfused code up to rounding.
 */
#include "fuse_loss.h"

int fuse_loss(Ir *ir)
{
    if (ir->loss < 0)
        return 0;
    IrNode *loss = &ir->nodes[ir->loss];
    if (loss->op != OP_NLL || loss->poison)
        return 0;
    int ls = loss->in[0];
    const IrNode *lsm = &ir->nodes[ls];
    if (lsm->op != OP_LOG_SOFTMAX || lsm->shape.rank != 1)
        return 0;
    for (int i = 0; i < ir->n; i++)
        for (int j = 0; j < ir->nodes[i].nin; j++)
            if (ir->nodes[i].in[j] == ls && i != ir->loss)
                return 0;
    /* nll's weight, ignore_index and reduction mean the same in
     * F.cross_entropy; label_smoothing stays 0 */
    Value *args = arena_alloc(ir->arena, sizeof *args * (size_t)(op_info[OP_CROSS_ENTROPY].nargs + 1));
    args[op_arg_index(OP_CROSS_ENTROPY, "label_smoothing")].kind = V_NUM;
    static const char *const kept[] = {"weight", "ignore_index", "reduction"};
    for (int k = 0; k < 3; k++)
        args[op_arg_index(OP_CROSS_ENTROPY, kept[k])] = *op_arg(OP_NLL, loss->args, kept[k]);
    loss = &ir->nodes[ir->loss];
    loss->op = OP_CROSS_ENTROPY;
    loss->args = args;
    loss->in[0] = lsm->in[0];
    return 1;
}
