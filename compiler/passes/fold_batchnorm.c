/*
 * fold_batchnorm.c: batchnorm folded into the dense or conv2d before it,
 * for inference code whose weights are constants (nnc --inference
 * --weights).
 *
 * Rule: a batchnorm B whose input is a dense or conv2d L, with L read by
 * B alone (not the output, not read by anything else), is folded into L.
 * In eval mode B is an affine map per channel c (dim 0 of its per-sample
 * shape, which is L's output channel):
 *
 *   B(y)[c] = (y[c] - running_mean[c]) * s[c] + beta[c],
 *   s[c]    = gamma[c] / sqrt(running_var[c] + eps)
 *
 * and L is linear per output channel, so B(L(x)) = L'(x) with
 *
 *   w'[c, ...] = w[c, ...] * s[c]
 *   b'[c]      = (b[c] - running_mean[c]) * s[c] + beta[c]   (b = 0 without a bias)
 *
 * as PyTorch's torch.nn.utils.fusion.fuse_conv_bn_eval and
 * fuse_linear_bn_eval compute it (fuse_conv_bn_weights: rsqrt(var + eps),
 * in float32 there; here in double, rounded once to float).  A layer with
 * bias = false gets a bias parameter named PREFIX.bias.  Nothing may sit
 * between L and B: flatten, reshape and the activations are not linear
 * per channel (or move the channel), so a batchnorm after them stays, as
 * does one whose folded values would not be finite floats (fold_fits).
 *
 * Assumes shapes are known and the IR is the forward graph (inference
 * skips autodiff).  Guarantees: B and its parameters are gone, B's
 * readers and the output read L instead, the nodes stay in topological
 * order (renumbered), every parameter keeps its IrNode.value but L's
 * weight and bias, which hold the folded values, and the outputs equal
 * the unfolded code's up to rounding (a product of two floats is rounded
 * once more, or less).
 */
#include "fold_batchnorm.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The parameter of layer node id with role r, or -1. */
static int param_of(const Ir *ir, int id, ParamRole r)
{
    const IrNode *n = &ir->nodes[id];
    for (int j = 0; j < n->nin; j++) {
        const IrNode *p = &ir->nodes[n->in[j]];
        if (p->op == OP_PARAM && p->layer == id && p->role == r)
            return n->in[j];
    }
    return -1;
}

/* The folded values, computed in double: s[c] = gamma[c] / sqrt(var[c] +
 * eps), w'[c, k] = w[c, k] * s[c], b'[c] = (b[c] - mean[c]) * s[c] +
 * beta[c] (b = 0 without a bias), each passed to put(): the float it
 * becomes, at index c * per + k of the weight (k < per) or c of the bias. */
typedef struct {
    const float *w, *b, *gamma, *beta, *mean, *var;
    double eps;
    int64_t C, per;
} Fold;

static Fold fold_of(const Ir *ir, int l, int b)
{
    Fold f;
    const IrNode *nd = ir->nodes;
    int lw = param_of(ir, l, PR_WEIGHT), lb = param_of(ir, l, PR_BIAS);
    f.w = nd[lw].value;
    f.b = lb >= 0 ? nd[lb].value : NULL;
    f.gamma = nd[param_of(ir, b, PR_WEIGHT)].value;
    f.beta = nd[param_of(ir, b, PR_BIAS)].value;
    f.mean = nd[param_of(ir, b, PR_RUNNING_MEAN)].value;
    f.var = nd[param_of(ir, b, PR_RUNNING_VAR)].value;
    f.eps = op_num(OP_BATCHNORM, ir->nodes[b].args, "eps");
    f.C = ir->nodes[l].shape.d[0];
    /* [C, ...]: dense [C, in], conv2d [C, in / groups, kh, kw] */
    f.per = shape_numel(&ir->nodes[lw].shape) / f.C;
    return f;
}

/* Is every folded value a finite float?  A variance at or below -eps, or
 * a product past FLT_MAX, would turn what the unfolded code computes
 * channel by channel into NaN or infinity weights (and a double outside
 * float's range has no float value in C): such a batchnorm stays. */
static int fold_fits(const Fold *f)
{
    for (int64_t c = 0; c < f->C; c++) {
        double s = (double)f->gamma[c] / sqrt((double)f->var[c] + f->eps);
        double b = ((f->b ? (double)f->b[c] : 0.0) - (double)f->mean[c]) * s + (double)f->beta[c];
        if (!(fabs(b) <= FLT_MAX))
            return 0;
        for (int64_t k = 0; k < f->per; k++)
            if (!(fabs((double)f->w[c * f->per + k] * s) <= FLT_MAX))
                return 0;
    }
    return 1;
}

/* Can batchnorm node b fold into its input?  Returns that layer, or -1. */
static int foldable(const Ir *ir, const int *readers, int b)
{
    const IrNode *bn = &ir->nodes[b];
    if (bn->op != OP_BATCHNORM || bn->poison || bn->nin < 1)
        return -1;
    int l = bn->in[0];
    const IrNode *L = &ir->nodes[l];
    if ((L->op != OP_DENSE && L->op != OP_CONV2D) || L->poison || readers[l] != 1 || l == ir->output ||
        (ir->loss >= 0 && ir->nodes[ir->loss].in[0] == l))
        return -1;
    /* the channel B normalises is L's output channel, dim 0 of both */
    if (!L->shape_known || !bn->shape_known || L->shape.rank < 1 || bn->shape.d[0] != L->shape.d[0])
        return -1;
    static const ParamRole bn_roles[] = {PR_WEIGHT, PR_BIAS, PR_RUNNING_MEAN, PR_RUNNING_VAR};
    for (int r = 0; r < 4; r++) {
        int p = param_of(ir, b, bn_roles[r]);
        if (p < 0 || !ir->nodes[p].value)
            return -1;
    }
    int lw = param_of(ir, l, PR_WEIGHT), lb = param_of(ir, l, PR_BIAS);
    if (lw < 0 || !ir->nodes[lw].value || (lb >= 0 && !ir->nodes[lb].value))
        return -1;
    Fold f = fold_of(ir, l, b);
    return fold_fits(&f) ? l : -1;
}

/* L's arguments with bias = true (a copy; L's own are shared with the AST). */
static const Value *with_bias(Arena *a, const IrNode *L)
{
    int nargs = op_info[L->op].nargs, k = op_arg_index(L->op, "bias");
    Value *v = arena_alloc(a, (size_t)nargs * sizeof *v);
    memcpy(v, L->args, (size_t)nargs * sizeof *v);
    memset(&v[k], 0, sizeof v[k]);
    v[k].kind = V_BOOL;
    v[k].num = 1;
    return v;
}

/* The folded weight and bias of layer l (old ids) from batchnorm b:
 * *nw, *nb receive new arrays of the weight's and the bias's length. */
static void fold_values(const Ir *ir, int l, int b, float **nw, float **nb)
{
    Fold f = fold_of(ir, l, b);
    *nw = arena_alloc(ir->arena, (size_t)(f.C * f.per) * sizeof **nw);
    *nb = arena_alloc(ir->arena, (size_t)f.C * sizeof **nb);
    for (int64_t c = 0; c < f.C; c++) {
        double s = (double)f.gamma[c] / sqrt((double)f.var[c] + f.eps);
        for (int64_t k = 0; k < f.per; k++)
            (*nw)[c * f.per + k] = (float)((double)f.w[c * f.per + k] * s);
        (*nb)[c] = (float)(((f.b ? (double)f.b[c] : 0.0) - (double)f.mean[c]) * s + (double)f.beta[c]);
    }
}

int fold_batchnorm(Ir *ir)
{
    int n = ir->n, nfold = 0;
    int *readers = ir_readers(ir);
    int *into = malloc((size_t)n * sizeof *into);  /* per old node: the layer a batchnorm folds into, or -1 */
    int *folded = malloc((size_t)n * sizeof *folded); /* per old layer: the batchnorm folded into it, or -1 */
    int *map = malloc((size_t)n * sizeof *map);     /* old id -> new id; -1 for a node removed */
    if (!readers || !into || !folded || !map)
        diag_internal("fold_batchnorm", "out of memory");
    for (int i = 0; i < n; i++)
        into[i] = folded[i] = -1;
    for (int i = 0; i < n; i++) {
        int l = foldable(ir, readers, i);
        if (l >= 0) {
            into[i] = l;
            folded[l] = i;
            nfold++;
        }
    }
    free(readers);
    if (nfold == 0) {
        free(into);
        free(folded);
        free(map);
        return 0;
    }

    /* New ids, in the old order: a folded batchnorm is its layer, its
     * parameters are gone, a layer that had no bias gets one just before
     * it (parameters precede their layer).  A node copied keeps its
     * value; the folded layer's parameters get new ones below. */
    int *bias_at = malloc((size_t)n * sizeof *bias_at); /* per old layer: its new bias's new id, or -1 */
    if (!bias_at)
        diag_internal("fold_batchnorm", "out of memory");
    int k = 0;
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        bias_at[i] = -1;
        if (into[i] >= 0)
            map[i] = map[into[i]];
        else if (nd->op == OP_PARAM && into[nd->layer] >= 0)
            map[i] = -1;
        else {
            if (folded[i] >= 0 && param_of(ir, i, PR_BIAS) < 0)
                bias_at[i] = k++;
            map[i] = k++;
        }
    }

    IrNode *nodes = arena_alloc(ir->arena, (size_t)k * sizeof *nodes);
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (map[i] < 0 || into[i] >= 0)
            continue;
        IrNode *c = &nodes[map[i]];
        *c = *nd;
        int extra = bias_at[i] >= 0;
        if (nd->nin + extra > 0) {
            c->in = arena_alloc(ir->arena, (size_t)(nd->nin + extra) * sizeof *c->in);
            for (int t = 0; t < nd->nin; t++)
                c->in[t] = map[nd->in[t]];
        }
        if (nd->op == OP_PARAM)
            c->layer = map[nd->layer];
        if (folded[i] < 0)
            continue;
        /* A layer that takes a batchnorm: new weight and bias values, a
         * bias parameter when it had none, and both value names, so dumps
         * and kernel comments show what it computes ("h.0+h.1"). */
        int b = folded[i], lw = param_of(ir, i, PR_WEIGHT), lb = param_of(ir, i, PR_BIAS);
        float *fw, *fb;
        fold_values(ir, i, b, &fw, &fb);
        nodes[map[lw]].value = fw; /* copied already: parameters precede their layer */
        const char *bname = ir->nodes[b].name;
        if (bname)
            c->name = nd->name ? arena_printf(ir->arena, "%s+%s", nd->name, bname) : bname;
        if (lb >= 0) {
            nodes[map[lb]].value = fb;
            continue;
        }
        const IrNode *pw = &ir->nodes[lw];
        IrNode *pb = &nodes[bias_at[i]];
        *pb = *pw;
        pb->role = PR_BIAS;
        pb->shape.rank = 1;
        pb->shape.d[0] = nd->shape.d[0];
        pb->layer = map[i];
        size_t len = strlen(pw->param);
        size_t stem = len >= 7 && strcmp(pw->param + len - 7, ".weight") == 0 ? len - 7 : len;
        pb->param = arena_printf(ir->arena, "%.*s.bias", (int)stem, pw->param);
        pb->name = pb->param;
        pb->value = fb;
        c->in[c->nin++] = bias_at[i];
        c->args = with_bias(ir->arena, nd);
    }
    free(bias_at);
    if (ir->output >= 0)
        ir->output = map[ir->output];
    if (ir->loss >= 0)
        ir->loss = map[ir->loss];
    ir->nodes = nodes;
    ir->n = k;
    ir->cap = k;
    ir->nforward = k;
    free(into);
    free(folded);
    free(map);
    return nfold;
}
