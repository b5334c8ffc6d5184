/*
 * fuse_epilogue.c: bias and activation applied by the GEMM kernel.
 *
 * Rule: a relu, sigmoid or tanh node A whose input L is a dense or conv2d
 * node read by A alone is folded into L: L's kernel applies the activation to each output as it stores it (the
 * bias is already added there), and A becomes a view of L's buffer.  The
 * value L held before, the pre-activation, is then never stored, which is
 * legal because nothing else reads it: L's own gradient rules read L's
 * inputs and weights, not its output, and these three activations'
 * gradients read their output y (autodiff.c), which is exactly the fused
 * value.  Activations whose gradient needs x (gelu, elu, ...) are not
 * fused.  The output and the prediction of the loss are never fused away,
 * since the caller reads them.
 *
 * Runs after autodiff, so the backward graph is unchanged; the result is
 * identical to the unfused code, element for element (the same
 * expression, applied to the same sum).
 */
#include "fuse_epilogue.h"

#include "ops_impl.h"

#include <stdlib.h>

int fuse_epilogue(Ir *ir)
{
    int *readers = ir_readers(ir);

    int fused = 0;
    for (int i = 0; i < ir->nforward; i++) {
        IrNode *a = &ir->nodes[i];
        if (!op_impl[a->op]->epilogue)
            continue;
        int l = a->in[0];
        IrNode *layer = &ir->nodes[l];
        if (!op_impl[layer->op]->gemm || layer->epilogue != OP_COUNT || readers[l] != 1)
            continue;
        if (l == ir->output || (ir->loss >= 0 && ir->nodes[ir->loss].in[0] == l))
            continue;
        layer->epilogue = a->op;
        a->fused_into = l;
        fused++;
    }
    free(readers);
    return fused;
}
