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

/* What an op's gradient nodes read besides dy: the one list of which ops
 * have a rule (ad_differentiable() and docs/ops.md come from it). */
typedef enum Wiring {
    W_NONE,     /* no rule */
    W_LINEAR,   /* dense, conv2d: dx from W, dW from x, db from dy alone */
    W_Y,        /* from the output (which keeps a mask, maxima, ... after it) */
    W_X,        /* from the input */
    W_DY,       /* from dy alone */
    W_X_Y,      /* lppool: from x and y */
    W_PRELU,    /* dx from x and the slopes, dweight from x */
    W_NORM,     /* batchnorm, layernorm: statistics kept after y */
    W_CONCAT,   /* each input its slice of dy */
    W_ADD,      /* dy itself to each input */
    W_MUL,      /* each input from the other */
    W_LOSS      /* from the prediction and the target, no dy */
} Wiring;

static Wiring wiring(Op op)
{
    switch (op) {
    case OP_DENSE:
    case OP_CONV2D:
        return W_LINEAR;
    case OP_RELU:
    case OP_SIGMOID:
    case OP_TANH:
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_DROPOUT:                        /* y holds the mask after it */
    case OP_RRELU:                          /* and the random slopes */
    case OP_MAXPOOL:                        /* and where the maxima were */
        return W_Y;
    case OP_LEAKY_RELU:
    case OP_RELU6:
    case OP_ELU:
    case OP_SELU:
    case OP_CELU:
    case OP_GELU:
    case OP_HARDSIGMOID:
    case OP_LOGSIGMOID:
    case OP_HARDTANH:
    case OP_TANHSHRINK:
    case OP_SILU:
    case OP_MISH:
    case OP_SOFTPLUS:
    case OP_SOFTSIGN:
    case OP_HARDSHRINK:
    case OP_SOFTSHRINK:
    case OP_THRESHOLD:
    case OP_HARDSWISH:
    case OP_STEP:                           /* zeros, as PyTorch's grad is zero, not None */
    case OP_GLU:
        return W_X;
    case OP_NORMALIZE:
    case OP_GLOBAL_AVGPOOL:
    case OP_AVGPOOL:
    case OP_FLATTEN:
    case OP_RESHAPE:
        return W_DY;
    case OP_LPPOOL:
        return W_X_Y;
    case OP_PRELU:
        return W_PRELU;
    case OP_BATCHNORM:
    case OP_LAYERNORM:
        return W_NORM;
    case OP_CONCAT:
        return W_CONCAT;
    case OP_ADD:
        return W_ADD;
    case OP_MUL:
        return W_MUL;
    case OP_MSE:
    case OP_L1:
    case OP_HUBER:
    case OP_BINARY_CROSS_ENTROPY:
    case OP_NLL:
    case OP_CROSS_ENTROPY:
        return W_LOSS;
    default:
        return W_NONE;
    }
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
    int k = 0;
    const Value *a = opt->args;
    switch (opt->op) {
    case OP_OPT_SGD:
        if (op_num(opt->op, a, "momentum") != 0)
            names[k++] = "momentum_buffer";
        break;
    case OP_OPT_ADAM:
    case OP_OPT_ADAMW:
        names[k++] = "exp_avg";
        names[k++] = "exp_avg_sq";
        if (opt->op == OP_OPT_ADAM && op_num(opt->op, a, "amsgrad") != 0)
            names[k++] = "max_exp_avg_sq";
        break;
    case OP_OPT_ADAGRAD:
        names[k++] = "sum";
        break;
    case OP_OPT_RMSPROP:
        names[k++] = "square_avg";
        if (op_num(opt->op, a, "momentum") > 0)
            names[k++] = "momentum_buffer";
        if (op_num(opt->op, a, "centered") != 0)
            names[k++] = "grad_avg";
        break;
    case OP_OPT_ADADELTA:
        names[k++] = "square_avg";
        names[k++] = "acc_delta";
        break;
    default:
        break;
    }
    names[k] = NULL;
    return k;
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
