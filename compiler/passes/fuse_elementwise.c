/*
 * fuse_elementwise.c: chains of element-wise operators computed in one
 * loop, forward and backward.
 *
 * The element-wise nodes are those whose kernel is one statement per
 * element over inputs of the node's own shape (ir_elementwise() in
 * ir.c, from op_elementwise() in ops.c, so that this pass needs nothing
 * of the emitter): relu, sigmoid, tanh, add, mul and the activations of
 * the pointwise() table in kernels_act.c (leaky_relu, relu6, hardtanh, elu,
 * selu, celu, gelu, hardsigmoid, logsigmoid, tanhshrink, silu, mish,
 * softplus, softsign, hardshrink, softshrink, threshold, hardswish,
 * step); the gradients of all of these; and the backward pass's add that
 * accumulates two contributions to one gradient.  Not among them:
 * dropout and rrelu (random draws in training, a mask kept after y),
 * normalize and prelu (per-channel constants or weights), glu, softmax,
 * the pools, norms and losses (each element depends on others).
 *
 * Rule: an element-wise node P is inlined into the node C that reads it
 * (P.inlined_into = C: C's kernel computes P's value in a local, P gets
 * no buffer and runs no kernel) when
 *
 *   1. C is element-wise too, and no earlier pass fused either of them
 *      (fused_into, epilogue, inlined_into set, or a node inlined into
 *      it): their kernels are then another pass's (fuse_epilogue's dense
 *      and conv2d, a later fuse_act_grad's).
 *   2. P has as many elements as C and both are batched or both are not,
 *      so that one index i walks P, C and C's other inputs (every input
 *      of an element-wise node has the node's shape).
 *   3. C is P's only reader, counting every node: a view of P (flatten,
 *      reshape, an activation fused_into it) is a reader, and so is every
 *      backward node that reads P's value (autodiff.c: the gradients of
 *      relu, sigmoid and tanh read their output y, those of the other
 *      activations and of mul their inputs).  P's value exists only while
 *      C's loop is at element i, so nothing else may want it.  This is
 *      why the pass runs after autodiff (the backward readers exist) and
 *      after fuse_epilogue (which decides which activations are views).
 *   4. P is neither the model's output nor the loss's prediction: the
 *      caller and the training driver read those after the schedule.
 *   5. P and C belong to the same phase (forward or backward), so to the
 *      same schedule function of the generated code.
 *   6. C's kernel would then compute at most FUSE_MAX_NODES nodes and
 *      read at most FUSE_MAX_OPERANDS operands (ir_operands): the fused
 *      function stays readable, its parameter list far within the 127
 *      that C99 guarantees, and a longer chain saves little more traffic.
 *
 * Chains of any length form by repeated application: in P -> C -> D,
 * P is inlined into C and C into D, and D's kernel computes all three
 * (ir_kernel_of).  In training the forward chains are those whose inner
 * values no gradient reads: add, mul and the pointwise() activations
 * into an add, or into the relu, sigmoid or tanh that ends the chain
 * ((h + r) -> relu, gelu(h) + r); backward, the gradients of a chain of
 * activations and the accumulations between them.  In inference no
 * gradient reads anything, so every element-wise value read by one
 * element-wise node alone fuses into it (up to rule 6).
 *
 * The fused kernel (kernels.c, elementwise_kernel()) evaluates each node's
 * own statement in order, one element at a time, each intermediate in a
 * local `real`: the same operations on the same values as the unfused
 * kernels, which store and reload each intermediate as a real.  Results
 * are identical to the unfused kernels' bit for bit, given ISO C floating
 * point (nnc --exe compiles with -std=c99; GCC's GNU modes would contract
 * a multiply in one statement and an add in the next into one fused
 * multiply-add, which the stored intermediate prevents), and so equal
 * -O0's up to the rounding of the other passes (conv_algo's sums).
 */
#include "fuse_elementwise.h"

#include <stdlib.h>

static int64_t numel(const IrNode *n)
{
    return shape_numel(&n->shape);
}

int fuse_elementwise(Ir *ir)
{
    int n = ir->n;
    int *readers = calloc((size_t)n, sizeof *readers);
    int *seen = malloc((size_t)n * sizeof *seen);       /* the last reader counted */
    int *size = malloc((size_t)n * sizeof *size);       /* nodes a kernel computes */
    unsigned char *ok = calloc((size_t)n, 1);
    if (!readers || !seen || !size || !ok)
        diag_internal("fuse_elementwise", "out of memory");

    /* Readers of each node, each reader once; a view reads what it views. */
    for (int i = 0; i < n; i++)
        seen[i] = -1;
    for (int i = 0; i < n; i++) {
        const IrNode *r = &ir->nodes[i];
        for (int j = 0; j <= r->nin; j++) {
            int x = j < r->nin ? r->in[j] : r->fused_into;
            if (x >= 0 && seen[x] != i) {
                seen[x] = i;
                readers[x]++;
            }
        }
    }

    /* Rule 1: element-wise nodes no earlier pass fused. */
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        ok[i] = ir_elementwise(ir, i) && nd->fused_into < 0 && nd->epilogue == OP_COUNT &&
                nd->inlined_into < 0;
        size[i] = 1;
    }
    for (int i = 0; i < n; i++)
        if (ir->nodes[i].inlined_into >= 0)
            ok[ir->nodes[i].inlined_into] = 0;

    int pred = ir->loss >= 0 ? ir->nodes[ir->loss].in[0] : -1;
    int fused = 0;
    for (int c = 0; c < n; c++) {
        if (!ok[c])
            continue;
        IrNode *cn = &ir->nodes[c];
        for (int j = 0; j < cn->nin; j++) {
            int p = cn->in[j];
            IrNode *pn = &ir->nodes[p];
            if (!ok[p] || pn->inlined_into >= 0)                       /* 1; mul(p, p) */
                continue;
            if (numel(pn) != numel(cn) || pn->batched != cn->batched)  /* 2 */
                continue;
            if (readers[p] != 1)                                        /* 3 */
                continue;
            if (p == ir->output || p == pred)                           /* 4 */
                continue;
            if (pn->phase != cn->phase)                                 /* 5 */
                continue;
            if (size[c] + size[p] > FUSE_MAX_NODES)                     /* 6 */
                continue;
            pn->inlined_into = c;
            if (ir_operands(ir, c, NULL, 0) > FUSE_MAX_OPERANDS) {
                pn->inlined_into = -1;
                continue;
            }
            size[c] += size[p];
            fused++;
        }
    }
    free(readers);
    free(seen);
    free(size);
    free(ok);
    return fused;
}
