/*
 * fuse_conv_pool.c: conv2d (+ relu, sigmoid or tanh) + maxpool as one
 * kernel.
 *
 * Rule: a maxpool M without padding whose input is a conv2d C, or the
 * activation fuse_epilogue folded into C (a view of C), takes C inline
 * (C's inlined_into = M) when
 *   - C's forward is direct convolution (conv_algo.c): its kernel already
 *     computes a sample's whole output into scratch (over the padded width,
 *     or position-major with CONV_DIRECT_OC), so M pools from there while
 *     it is in cache, and the output is never stored.  When M's windows
 *     tile, the kernel computes C in polyphase planes instead (ConvPhase in
 *     conv_algo.h), one window tap at a time, and pooling is an
 *     element-wise maximum of contiguous rows;
 *   - M is C's only reader.  Views (C's activation, and the activation's
 *     gradient that fuse_act_grad.c folded into M's backward) do not count:
 *     they read nothing of their own.  C's own gradients read C's inputs,
 *     never its output, and relu, sigmoid and tanh's backward after max
 *     pooling reads the pooled value once fuse_act_grad has run, so in
 *     training this holds exactly when fuse_act_grad folded that backward;
 *   - C is neither the output nor the loss's prediction.
 * M keeps, as before, where each maximum came from as an offset into the
 * (now unstored) [OH, OW] plane, so its backward is unchanged.  Each pooled
 * value is the maximum of the same activated values in the same order:
 * the same bits as unfused.
 *
 * Runs after conv_algo.  Why: in fashion_lenet the pooling passes read the
 * convolutions' outputs back from memory, a sixth of the forward pass at
 * batch 1.
 */
#include "fuse_conv_pool.h"

#include "conv_algo.h"

#include <stdlib.h>

int fuse_conv_pool_conv(const Ir *ir, int id)
{
    const IrNode *m = &ir->nodes[id];
    if (m->op != OP_MAXPOOL)
        return -1;
    int v = m->in[0];
    int c = ir->nodes[v].fused_into >= 0 ? ir->nodes[v].fused_into : v;
    return ir->nodes[c].op == OP_CONV2D && ir->nodes[c].inlined_into == id ? c : -1;
}

int fuse_conv_pool(Ir *ir)
{
    /* Views fused into a kernel (C's activation, the activation's
     * gradient folded into M's backward) read nothing: ir_readers(). */
    int *readers = ir_readers(ir);

    int fused = 0;
    for (int i = 0; i < ir->nforward; i++) {
        IrNode *m = &ir->nodes[i];
        if (m->op != OP_MAXPOOL || m->poison || m->inlined_into >= 0)
            continue;
        int64_t pad[2];
        value_pair(op_arg(OP_MAXPOOL, m->args, "padding"), pad);
        if (pad[0] != 0 || pad[1] != 0)
            continue;
        int v = m->in[0];
        int c = ir->nodes[v].fused_into >= 0 ? ir->nodes[v].fused_into : v;
        IrNode *conv = &ir->nodes[c];
        if (conv->op != OP_CONV2D || !(conv->conv_algo & CONV_DIRECT_FWD) || conv->inlined_into >= 0 || conv->poison)
            continue;
        /* C read by M alone, directly or through its activation's view */
        int through = v != c;
        if (readers[c] != (through ? 0 : 1) || (through && readers[v] != 1))
            continue;
        int pred = ir->loss >= 0 ? ir->nodes[ir->loss].in[0] : -1;
        if (c == ir->output || v == ir->output || c == pred || v == pred)
            continue;
        conv->inlined_into = i;
        fused++;
    }
    free(readers);
    return fused;
}
