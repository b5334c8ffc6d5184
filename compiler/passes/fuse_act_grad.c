/*
 * fuse_act_grad.c: activation backward applied by the kernel that
 * computes its incoming gradient.
 *
 * Rule: let A be a relu, sigmoid or tanh, G its gradient node (dx from dy
 * and A's output y), and P = G's dy.  If P is the input gradient (which 0)
 * of a maxpool, dense or conv2d node F that reads A, P is read by G alone
 * and P has no epilogue yet, then P's kernel applies A's backward to each
 * gradient it stores (P's epilogue becomes A) and G becomes a view of P.
 * P is then the whole of A's gradient: were A read by anything besides F,
 * autodiff would have summed the parts first and G's dy would be that sum.
 *
 * What the epilogue reads for y:
 *   - maxpool: nothing new.  Its backward routes each dy to where the
 *     window's maximum came from, and there A's output equals the pooled
 *     value m, which the kernel reads anyway; elsewhere the gradient is 0,
 *     the same as A's backward of 0.  So A's output is not read by the
 *     backward pass at all any more and its buffer dies in the forward
 *     pass.  Windows that do not overlap (stride >= kernel) give each
 *     position one contribution: the same bits as unfused.  Overlapping
 *     windows compute f'(m) dy1 + f'(m) dy2 for f'(m) (dy1 + dy2): relu is
 *     still exact (f' is 0 or 1), sigmoid and tanh agree up to rounding.
 *   - dense, conv2d: A's output, appended to P's inputs; the kernel applies
 *     the backward right after its GEMM, while dx is in cache.  The same
 *     expression on the same values: the same bits.
 *
 * Runs after autodiff and fuse_epilogue (A may itself be a view of the
 * dense or conv2d kernel before it).  Why: relu's backward after max
 * pooling was a full pass over the convolution's output in the training
 * profile of fashion_lenet, and it kept that output alive for it.
 */
#include "fuse_act_grad.h"

#include "ops_impl.h"

#include <stdlib.h>

int fuse_act_grad(Ir *ir)
{
    int *readers = ir_readers(ir);

    int fused = 0;
    for (int i = ir->nforward; i < ir->n; i++) {
        IrNode *g = &ir->nodes[i];
        if (g->op != OP_GRAD || g->poison || g->nin != 2)
            continue;
        int a = g->fwd;
        Op act = ir->nodes[a].op;
        if (!op_impl[act]->act_grad)
            continue;
        IrNode *p = &ir->nodes[g->in[0]];
        if (p->op != OP_GRAD || p->which != 0 || p->poison || readers[g->in[0]] != 1 || p->epilogue != OP_COUNT ||
            p->fused_into >= 0)
            continue;
        const IrNode *f = &ir->nodes[p->fwd];
        OpActGradFold fold = op_impl[f->op]->act_grad_fold;
        if (f->in[0] != a || fold == AGF_NO)
            continue;
        if (fold == AGF_WITH_Y) {
            int *in = arena_alloc(ir->arena, (size_t)(p->nin + 1) * sizeof *in);
            for (int j = 0; j < p->nin; j++)
                in[j] = p->in[j];
            in[p->nin] = g->in[1];
            p->in = in;
            p->nin++;
        }
        p->epilogue = act;
        g->fused_into = g->in[0];
        fused++;
    }
    free(readers);
    return fused;
}
