/*
 * autodiff.c: the backward graph and the optimizer update, derived from
 * one gradient rule per operator.
 *
 * A rule sees forward node i and dy, the gradient of the loss with respect
 * to node i's value (already summed over all consumers, since consumers
 * come later in topological order and are visited first), and adds the
 * contributions to its inputs' gradients.  A contribution is a new OP_GRAD
 * node whose inputs are dy and the forward values the kernel needs; the
 * kernel emitter (kernels.c) knows, for each (op, which), what it computes:
 *
 *   dense   dx = dy W            dW = dy^T x       db = sum_n dy
 *   conv2d  dx = conv_transpose  dW = corr(x, dy)  db = sum_{n,h,w} dy
 *   relu    dx = dy * (y > 0)    sigmoid dx = dy y (1 - y)   tanh dx = dy (1 - y^2)
 *   softmax dx = y (dy - sum(dy y))        log_softmax dx = dy - exp(y) sum(dy)
 *   maxpool dx = dy routed to the first maximum of each window (as PyTorch),
 *           whose place the forward pass keeps after y
 *   avgpool dx = dy / (kh kw) spread over each window
 *   flatten, reshape: dx = dy viewed in x's shape
 *   +       da = dy, db = dy     *  da = dy b, db = dy a
 *   concat  dx_k = the k-th slice of dy
 *   losses  d pred from (pred, target); the 1/n of the mean is inside
 *   element-wise activations: dx from dy and x (the formulas in kernels.c)
 *   dropout, rrelu: dx = dy * the mask or slope kept after y
 *   batchnorm, layernorm: dx, dweight, dbias from dy, x and the mean and
 *           1/std kept after y (training mode: the batch statistics)
 *   prelu   dx from dy, x, weight; dweight from dy and x
 *   glu     dx = [dy sigmoid(b), dy a sigmoid(b) (1 - sigmoid(b))]
 *   normalize dx = dy / std;  global_avgpool dx = dy / (H W)
 *   lppool  dx = dy y^(1-p) x^(p-1)
 */
#include "autodiff.h"

#include "ops_impl.h"

#include <string.h>

typedef struct {
    Ir *ir;
    Diag *d;
    int *grad;          /* per forward node: its gradient node, or -1 */
    unsigned char *needs; /* per forward node: depends on a trainable parameter */
} Ad;

static int add_node(Ad *A, Op op, const int *in, int nin, int fwd, int which, const Shape *shape, int batched)
{
    int id = ir_add(A->ir, op, in, nin, NULL, A->ir->nodes[fwd].span);
    IrNode *n = &A->ir->nodes[id];
    n->fwd = fwd;
    n->which = which;
    n->shape = *shape;
    n->shape_known = 1;
    n->batched = batched;
    n->phase = PH_BACKWARD;
    n->dtype = DT_F32;
    return id;
}

/* Add contribution c to the gradient of forward node x. */
static void contribute(Ad *A, int x, int c)
{
    if (A->grad[x] < 0) {
        A->grad[x] = c;
        return;
    }
    int in[2] = {A->grad[x], c};
    const IrNode *xn = &A->ir->nodes[x];
    A->grad[x] = add_node(A, OP_ADD, in, 2, x, 0, &xn->shape, xn->batched);
}

/* A gradient node for input `which` of node i, with inputs dy, saved... */
static void grad(Ad *A, int i, int which, int dy, int s1, int s2)
{
    const IrNode *n = &A->ir->nodes[i];
    int x = n->in[which];
    if (!A->needs[x])
        return;
    int in[3], nin = 0;
    if (dy >= 0)
        in[nin++] = dy;
    if (s1 >= 0)
        in[nin++] = s1;
    if (s2 >= 0)
        in[nin++] = s2;
    const IrNode *xn = &A->ir->nodes[x];
    contribute(A, x, add_node(A, OP_GRAD, in, nin, i, which, &xn->shape, xn->batched));
}

/* grad() with three saved values. */
static void grad3(Ad *A, int i, int which, int dy, int s1, int s2, int s3)
{
    const IrNode *n = &A->ir->nodes[i];
    int x = n->in[which];
    if (!A->needs[x])
        return;
    int in[4] = {dy, s1, s2, s3};
    const IrNode *xn = &A->ir->nodes[x];
    contribute(A, x, add_node(A, OP_GRAD, in, 4, i, which, &xn->shape, xn->batched));
}

/* The op's gradient wiring, from its record (ops_impl.h). */
static Wiring wiring(Op op)
{
    return op_impl[op]->wiring;
}

/* The gradient rule of node i; dy is its gradient.  0 if op has none. */
static int rule(Ad *A, int i, int dy)
{
    const IrNode *n = &A->ir->nodes[i];
    switch (wiring(n->op)) {
    case W_LINEAR:
        grad(A, i, 0, dy, n->in[1], -1);    /* dx from dy and W */
        grad(A, i, 1, dy, n->in[0], -1);    /* dW from dy and x */
        if (n->nin > 2)
            grad(A, i, 2, dy, -1, -1);      /* db from dy */
        return 1;
    case W_Y:
        grad(A, i, 0, dy, i, -1);
        return 1;
    case W_X:
        grad(A, i, 0, dy, n->in[0], -1);
        return 1;
    case W_DY:
        grad(A, i, 0, dy, -1, -1);
        return 1;
    case W_X_Y:
        grad(A, i, 0, dy, n->in[0], i);
        return 1;
    case W_PRELU:
        grad(A, i, 0, dy, n->in[0], n->in[1]);  /* dx from dy, x and the slopes */
        grad(A, i, 1, dy, n->in[0], -1);        /* dweight from dy and x */
        return 1;
    case W_NORM:
        /* y holds the batch mean and 1/std after it */
        grad3(A, i, 0, dy, n->in[0], i, n->in[1]);  /* dx */
        grad(A, i, 1, dy, n->in[0], i);             /* dweight */
        grad(A, i, 2, dy, -1, -1);                  /* dbias */
        return 1;
    case W_CONCAT:
        for (int k = 0; k < n->nin; k++)
            grad(A, i, k, dy, -1, -1);
        return 1;
    case W_ADD:
        for (int k = 0; k < 2; k++)
            if (A->needs[n->in[k]])
                contribute(A, n->in[k], dy);
        return 1;
    case W_MUL:
        grad(A, i, 0, dy, n->in[1], -1);    /* da = dy * b */
        grad(A, i, 1, dy, n->in[0], -1);    /* db = dy * a */
        return 1;
    case W_LOSS:
        grad(A, i, 0, -1, n->in[0], n->in[1]);  /* from pred and target */
        return 1;
    case W_NONE:
        break;
    }
    return 0;
}

int ad_differentiable(Op op)
{
    return wiring(op) != W_NONE;
}

int ad_optimizer_states(const Value *opt, const char **names)
{
    if (!op_impl[opt->op]->states) {
        names[0] = NULL;
        return 0;
    }
    return op_impl[opt->op]->states(opt->op, opt->args, names);
}

int ad_backward(Ir *ir, Diag *d)
{
    if (ir->loss < 0 || !ir->optimizer)
        return 0;
    int nf = ir->nforward, errors0 = d->nerrors;
    Ad A;
    A.ir = ir;
    A.d = d;
    A.grad = arena_alloc(ir->arena, (size_t)nf * sizeof *A.grad);
    A.needs = arena_alloc(ir->arena, (size_t)nf);
    for (int i = 0; i < nf; i++) {
        const IrNode *n = &ir->nodes[i];
        A.grad[i] = -1;
        A.needs[i] = n->op == OP_PARAM && n->trainable;
        for (int j = 0; j < n->nin; j++)
            A.needs[i] |= A.needs[n->in[j]];
    }

    int L = ir->loss;
    if (!A.needs[ir->nodes[L].in[0]]) {
        diag_error(d, ir->loss_span, "the loss depends on no parameter; there is nothing to train");
        return d->nerrors - errors0;
    }
    if (!rule(&A, L, -1)) {
        diag_error(d, ir->nodes[L].span, "training with the %s loss is not supported yet",
                   op_info[ir->nodes[L].op].name);
        return d->nerrors - errors0;
    }
    for (int i = L - 1; i >= 0; i--) {
        if (A.grad[i] < 0 || ir->nodes[i].op == OP_PARAM)
            continue;
        if (!rule(&A, i, A.grad[i]))
            diag_error(d, ir->nodes[i].span, "%s has no gradient rule yet, so it cannot be trained",
                       op_info[ir->nodes[i].op].name);
    }
    if (d->nerrors > errors0)
        return d->nerrors - errors0;

    const char *states[8];
    int nstates = ad_optimizer_states(ir->optimizer, states);
    for (int p = 0; p < nf; p++) {
        IrNode *pn = &ir->nodes[p];
        if (pn->op != OP_PARAM || !pn->trainable || A.grad[p] < 0)
            continue;
        int in[2 + 8], nin = 0;
        in[nin++] = p;
        in[nin++] = A.grad[p];
        for (int s = 0; s < nstates; s++) {
            int id = ir_add(ir, OP_STATE, NULL, 0, NULL, pn->span);
            IrNode *sn = &ir->nodes[id];
            pn = &ir->nodes[p];
            sn->param = arena_printf(ir->arena, "%s.%s", pn->param, states[s]);
            sn->name = sn->param;
            sn->shape = pn->shape;
            sn->shape_known = 1;
            sn->fwd = p;
            sn->phase = PH_UPDATE;
            in[nin++] = id;
        }
        int id = ir_add(ir, OP_UPDATE, in, nin, ir->optimizer->args, ir->nodes[p].span);
        IrNode *u = &ir->nodes[id];
        u->fwd = p;
        u->shape = ir->nodes[p].shape;
        u->shape_known = 1;
        u->phase = PH_UPDATE;
        u->name = ir->nodes[p].param;
    }
    return d->nerrors - errors0;
}
