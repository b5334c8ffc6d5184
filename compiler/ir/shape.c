/*
 * shape.c: per-sample shape rules for every operator of ops.def.
 *
 * Each rule sees a node whose tensor operands have known shapes and sets
 * the node's shape (and its parameters' shapes), or reports an error that
 * names the operator and the shapes involved and returns 0.  Sizes follow
 * the PyTorch modules of the same name (torch 1.13): nn.Conv2d, nn.MaxPool2d,
 * nn.AvgPool2d, nn.LPPool2d with ceil_mode = False, and so on.
 */
#include "shape.h"

#include <string.h>

typedef struct {
    Ir *ir;
    Diag *d;
} ShapeCtx;

typedef int (*ShapeRule)(ShapeCtx *c, IrNode *n);

static const Shape *in_shape(ShapeCtx *c, IrNode *n, int i)
{
    return &c->ir->nodes[n->in[i]].shape;
}

static const IrNode *in_node(ShapeCtx *c, IrNode *n, int i)
{
    return &c->ir->nodes[n->in[i]];
}

/* Set the shape of the k-th parameter of layer n (its inputs after x). */
static void set_param(ShapeCtx *c, IrNode *n, ParamRole role, int rank, const int64_t *d)
{
    for (int i = 1; i < n->nin; i++) {
        IrNode *p = &c->ir->nodes[n->in[i]];
        if (p->op == OP_PARAM && p->role == role) {
            p->shape.rank = rank;
            for (int j = 0; j < rank; j++)
                p->shape.d[j] = d[j];
            p->shape_known = 1;
        }
    }
}

static void set_shape(IrNode *n, int rank, const int64_t *d)
{
    n->shape.rank = rank;
    for (int j = 0; j < rank; j++)
        n->shape.d[j] = d[j];
}

#define SHAPE_BUF 96

static const char *str(const Shape *s, char *buf)
{
    return shape_str(s, buf, SHAPE_BUF);
}

static const char *opname(const IrNode *n)
{
    return op_info[n->op].name;
}

static int64_t arg_int(const IrNode *n, const char *name)
{
    return (int64_t)op_num(n->op, n->args, name);
}

/* A rank check with the message spec section 8 asks for. */
static int want_rank(ShapeCtx *c, IrNode *n, int rank, const char *layout, const char *hint)
{
    const Shape *x = in_shape(c, n, 0);
    if (x->rank == rank)
        return 1;
    char b[SHAPE_BUF];
    diag_error(c->d, n->span, "%s expects a %s input, got %s", opname(n), layout, str(x, b));
    if (hint)
        diag_hint(c->d, "%s", hint);
    return 0;
}

/* A per-sample axis: 0 is the first dimension after the batch. */
static int want_axis(ShapeCtx *c, IrNode *n, const char *argname, int rank, int *axis)
{
    const Value *v = op_arg(n->op, n->args, argname);
    int a = (int)v->num;
    if (a < -rank || a >= rank) {
        char b[SHAPE_BUF];
        diag_error(c->d, v->is_default ? n->span : v->span,
                   "%s: %s = %d is out of range for a rank-%d input %s", opname(n), argname, a, rank,
                   str(in_shape(c, n, 0), b));
        diag_hint(c->d, "axes count per-sample dimensions from 0 (the batch is not counted); -1 is the last");
        return 0;
    }
    *axis = a < 0 ? a + rank : a;
    return 1;
}

static int shape_none(ShapeCtx *c, IrNode *n)
{
    (void)c;
    (void)n;
    return 1;
}

static int shape_same(ShapeCtx *c, IrNode *n)
{
    n->shape = *in_shape(c, n, 0);
    return 1;
}

static int shape_dense(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    if (x->rank != 1) {
        char b[SHAPE_BUF];
        diag_error(c->d, n->span, "dense expects a rank-1 input, got %s; insert flatten", str(x, b));
        diag_hint(c->d, "write `-> flatten -> dense(...)`");
        /* An input written [64, 784] by habit (sema warns as well). */
        int64_t d0 = x->d[0];
        if (in_node(c, n, 0)->op == OP_INPUT && d0 >= 16 && d0 <= 4096 && (d0 & (d0 - 1)) == 0)
            diag_hint(c->d, "if %lld is the batch size: the batch dimension is implicit; declare one sample",
                      (long long)d0);
        return 0;
    }
    int64_t units = arg_int(n, "units");
    int64_t w[2] = {units, x->d[0]};
    set_param(c, n, PR_WEIGHT, 2, w);
    set_param(c, n, PR_BIAS, 1, w);
    set_shape(n, 1, w);
    return 1;
}

/* Output size of a window of k (dilation d) with stride s and padding
 * lo + hi over n, as nn.Conv2d documents; -1 if the window does not fit. */
static int64_t window_out(int64_t n, int64_t k, int64_t s, int64_t lo, int64_t hi, int64_t d)
{
    int64_t span = d * (k - 1) + 1;
    if (n + lo + hi < span)
        return -1;
    return (n + lo + hi - span) / s + 1;
}

/*
 * nn.Conv2d (nd = 2) and nn.Conv1d (nd = 1) on x [C, H, W] or [C, L]:
 * out [filters, OH, OW] or [filters, OL], weight [filters, C/groups, kh,
 * kw] or [filters, C/groups, k], bias [filters].  An integer argument reads
 * as (n, n) through value_pair, so the 1-D case is the 2-D loop over one
 * axis.
 */
static int conv_nd(ShapeCtx *c, IrNode *n, int nd)
{
    const Shape *x = in_shape(c, n, 0);
    char b[SHAPE_BUF];
    int64_t f = arg_int(n, "filters"), g = arg_int(n, "groups");
    int64_t k[2], s[2], dl[2], p[2];
    value_pair(op_arg(n->op, n->args, "kernel"), k);
    value_pair(op_arg(n->op, n->args, "stride"), s);
    value_pair(op_arg(n->op, n->args, "dilation"), dl);
    const Value *pv = op_arg(n->op, n->args, "padding");
    if (x->d[0] % g != 0 || f % g != 0) {
        diag_error(c->d, n->span, "%s: groups = %lld must divide both the input channels (%lld) and filters (%lld)",
                   opname(n), (long long)g, (long long)x->d[0], (long long)f);
        return 0;
    }
    int64_t out[3] = {f, 0, 0};
    for (int i = 0; i < nd; i++) {
        int64_t lo, hi;
        if (pv->kind == V_IDENT) {
            /* padding='same': total dl*(k-1), the extra one at the end. */
            int64_t total = dl[i] * (k[i] - 1);
            lo = total / 2;
            hi = total - lo;
        } else {
            value_pair(pv, p);
            lo = hi = p[i];
        }
        out[i + 1] = window_out(x->d[i + 1], k[i], s[i], lo, hi, dl[i]);
        if (out[i + 1] >= 1)
            continue;
        if (nd == 2)
            diag_error(c->d, n->span, "conv2d: a %lldx%lld kernel (dilation %lld) does not fit the input %s with padding %lld",
                       (long long)k[0], (long long)k[1], (long long)dl[i], str(x, b), (long long)lo);
        else
            diag_error(c->d, n->span, "conv1d: a kernel of %lld (dilation %lld) does not fit the input %s with padding %lld",
                       (long long)k[0], (long long)dl[0], str(x, b), (long long)lo);
        return 0;
    }
    int64_t w[4] = {f, x->d[0] / g, k[0], k[1]};
    set_param(c, n, PR_WEIGHT, 2 + nd, w);
    set_param(c, n, PR_BIAS, 1, w);
    set_shape(n, 1 + nd, out);
    return 1;
}

static int shape_conv2d(ShapeCtx *c, IrNode *n)
{
    if (!want_rank(c, n, 3, "[C, H, W]",
                   "declare the input with channels first, as f32[1, 28, 28], or insert reshape([C, H, W])"))
        return 0;
    return conv_nd(c, n, 2);
}

static int shape_conv1d(ShapeCtx *c, IrNode *n)
{
    if (!want_rank(c, n, 2, "[C, L]",
                   "declare the input with channels first, as f32[1, 128], or insert reshape([C, L])"))
        return 0;
    return conv_nd(c, n, 1);
}

/*
 * nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d (nd = 2) on [C, H, W] and
 * nn.MaxPool1d, nn.AvgPool1d (nd = 1) on [C, L]: the channels kept, each
 * spatial axis windowed (ceil_mode = False).
 */
static int pool_nd(ShapeCtx *c, IrNode *n, int nd)
{
    const Shape *x = in_shape(c, n, 0);
    char b[SHAPE_BUF];
    int64_t k[2], s[2], p[2] = {0, 0};
    value_pair(op_arg(n->op, n->args, "kernel"), k);
    value_pair(op_arg(n->op, n->args, "stride"), s);
    if (op_arg_index(n->op, "padding") >= 0)
        value_pair(op_arg(n->op, n->args, "padding"), p);
    int64_t out[3] = {x->d[0], 0, 0};
    for (int i = 0; i < nd; i++) {
        if (2 * p[i] > k[i]) {
            diag_error(c->d, op_arg(n->op, n->args, "padding")->span,
                       "%s: padding %lld is more than half the kernel %lld", opname(n), (long long)p[i],
                       (long long)k[i]);
            return 0;
        }
        out[i + 1] = window_out(x->d[i + 1], k[i], s[i], p[i], p[i], 1);
        if (out[i + 1] >= 1)
            continue;
        if (nd == 2)
            diag_error(c->d, n->span, "%s: a %lldx%lld window does not fit the input %s", opname(n),
                       (long long)k[0], (long long)k[1], str(x, b));
        else
            diag_error(c->d, n->span, "%s: a window of %lld does not fit the input %s with padding %lld",
                       opname(n), (long long)k[0], str(x, b), (long long)p[0]);
        return 0;
    }
    set_shape(n, 1 + nd, out);
    return 1;
}

static int shape_pool(ShapeCtx *c, IrNode *n)
{
    if (!want_rank(c, n, 3, "[C, H, W]", "pooling works on [C, H, W] values such as conv2d's output"))
        return 0;
    return pool_nd(c, n, 2);
}

static int shape_pool1d(ShapeCtx *c, IrNode *n)
{
    if (!want_rank(c, n, 2, "[C, L]", "1-D pooling works on [C, L] values such as conv1d's output"))
        return 0;
    return pool_nd(c, n, 1);
}

/* [C, H, W] -> [C] (nn.AdaptiveAvgPool2d(1) and a flatten), and [C, L] ->
 * [C] (nn.AdaptiveAvgPool1d(1)): the mean over every position of a
 * channel, whatever the rank. */
static int shape_global_avgpool(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    if (x->rank != 2 && x->rank != 3) {
        char b[SHAPE_BUF];
        diag_error(c->d, n->span, "global_avgpool expects a [C, L] or [C, H, W] input, got %s", str(x, b));
        return 0;
    }
    set_shape(n, 1, x->d);
    return 1;
}

static int shape_batchnorm(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    if (x->rank < 1 || x->rank > 3) {
        char b[SHAPE_BUF];
        diag_error(c->d, n->span, "batchnorm expects a [C], [C, L] or [C, H, W] input, got %s", str(x, b));
        return 0;
    }
    int64_t one = 1;
    set_param(c, n, PR_WEIGHT, 1, x->d);
    set_param(c, n, PR_BIAS, 1, x->d);
    set_param(c, n, PR_RUNNING_MEAN, 1, x->d);
    set_param(c, n, PR_RUNNING_VAR, 1, x->d);
    set_param(c, n, PR_NUM_BATCHES_TRACKED, 0, &one);
    n->shape = *x;
    return 1;
}

static int shape_layernorm(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    set_param(c, n, PR_WEIGHT, 1, &x->d[x->rank - 1]);
    set_param(c, n, PR_BIAS, 1, &x->d[x->rank - 1]);
    n->shape = *x;
    return 1;
}

static int shape_prelu(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    int64_t np = arg_int(n, "num_parameters");
    if (np != 1 && np != x->d[0]) {
        char b[SHAPE_BUF];
        diag_error(c->d, op_arg(n->op, n->args, "num_parameters")->span,
                   "prelu: num_parameters must be 1 or the channel count %lld of the input %s, got %lld",
                   (long long)x->d[0], str(x, b), (long long)np);
        return 0;
    }
    set_param(c, n, PR_WEIGHT, 1, &np);
    n->shape = *x;
    return 1;
}

static int shape_glu(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    int ax;
    if (!want_axis(c, n, "dim", x->rank, &ax))
        return 0;
    if (x->d[ax] % 2 != 0) {
        char b[SHAPE_BUF];
        diag_error(c->d, n->span, "glu halves dimension %d of %s, which is odd", ax, str(x, b));
        return 0;
    }
    n->shape = *x;
    n->shape.d[ax] /= 2;
    return 1;
}

static int shape_softmax(ShapeCtx *c, IrNode *n)
{
    int ax;
    if (!want_axis(c, n, "dim", in_shape(c, n, 0)->rank, &ax))
        return 0;
    n->shape = *in_shape(c, n, 0);
    return 1;
}

static int shape_normalize(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    const char *names[2] = {"mean", "std"};
    for (int i = 0; i < 2; i++) {
        const Value *v = op_arg(n->op, n->args, names[i]);
        if (v->kind == V_LIST && v->n != 1 && v->n != x->d[0]) {
            char b[SHAPE_BUF];
            diag_error(c->d, v->span, "normalize: %s has %d values; the input %s has %lld channel%s",
                       names[i], v->n, str(x, b), (long long)x->d[0], x->d[0] == 1 ? "" : "s");
            return 0;
        }
    }
    n->shape = *x;
    return 1;
}

static int shape_flatten(ShapeCtx *c, IrNode *n)
{
    int64_t numel = shape_numel(in_shape(c, n, 0));
    set_shape(n, 1, &numel);
    return 1;
}

static int shape_reshape(ShapeCtx *c, IrNode *n)
{
    const Shape *x = in_shape(c, n, 0);
    const Value *v = op_arg(n->op, n->args, "shape");
    char b[SHAPE_BUF];
    if (v->n > IR_MAX_RANK) {
        diag_error(c->d, v->span, "reshape: at most %d dimensions, got %d", IR_MAX_RANK, v->n);
        return 0;
    }
    int64_t numel = shape_numel(x), known = 1, d[IR_MAX_RANK];
    int infer = -1;
    for (int i = 0; i < v->n; i++) {
        d[i] = (int64_t)v->list[i];
        if (d[i] == -1)
            infer = i;
        else if (known > INT32_MAX / d[i])
            known = (int64_t)INT32_MAX + 1;
        else
            known *= d[i];
    }
    if (infer >= 0 && known <= numel && numel % known == 0)
        d[infer] = numel / known;
    else if (infer < 0 && known == numel)
        infer = -2;
    else
        infer = -3;
    if (infer == -3) {
        char b2[SHAPE_BUF];
        Shape t = {v->n, {0}};
        for (int i = 0; i < v->n; i++)
            t.d[i] = (int64_t)v->list[i];
        diag_error(c->d, v->span, "reshape: %s has %lld elements; they cannot be shaped as %s", str(x, b),
                   (long long)numel, str(&t, b2));
        return 0;
    }
    set_shape(n, v->n, d);
    return 1;
}

static const char *verb(const IrNode *n)
{
    return n->op == OP_ADD ? "add" : "multiply";
}

static int shape_equal(ShapeCtx *c, IrNode *n)
{
    const Shape *a = in_shape(c, n, 0), *b = in_shape(c, n, 1);
    if (a->rank != b->rank || memcmp(a->d, b->d, (size_t)a->rank * sizeof a->d[0]) != 0) {
        char x[SHAPE_BUF], y[SHAPE_BUF];
        diag_error(c->d, n->span, "cannot %s values of shapes %s and %s", verb(n), str(a, x), str(b, y));
        diag_hint(c->d, "element-wise `+` and `*` need equal shapes; nothing is broadcast");
        return 0;
    }
    n->shape = *a;
    return 1;
}

static int shape_concat(ShapeCtx *c, IrNode *n)
{
    const Shape *a = in_shape(c, n, 0);
    int ax;
    if (!want_axis(c, n, "axis", a->rank, &ax))
        return 0;
    Shape out = *a;
    for (int i = 1; i < n->nin; i++) {
        const Shape *b = in_shape(c, n, i);
        int ok = b->rank == a->rank;
        for (int j = 0; ok && j < a->rank; j++)
            ok = j == ax || a->d[j] == b->d[j];
        if (!ok) {
            char x[SHAPE_BUF], y[SHAPE_BUF];
            diag_error(c->d, n->span, "concat on axis %d: shapes %s and %s differ in another dimension",
                       ax, str(a, x), str(b, y));
            return 0;
        }
        out.d[ax] += b->d[ax];
    }
    n->shape = out;
    return 1;
}

/* A loss's per-class or per-output list argument (weight, pos_weight):
 * `none`, or exactly k numbers, one per `unit` (a single number too when
 * scalar_ok, as PyTorch broadcasts a one-element pos_weight). */
static int loss_list_ok(ShapeCtx *c, IrNode *n, const char *arg, int64_t k, const char *unit, int scalar_ok)
{
    const Value *v = op_arg(n->op, n->args, arg);
    if ((v->kind == V_LIST && v->n == k) || v->kind == V_IDENT || (v->kind == V_NUM && scalar_ok))
        return 1;
    if (v->kind == V_LIST)
        diag_error(c->d, v->span, "`%s` of %s has %d entries; it needs %lld, one per %s", arg, opname(n), v->n,
                   (long long)k, unit);
    else
        diag_error(c->d, v->span, "`%s` of %s must be a list of %lld numbers, one per %s", arg, opname(n),
                   (long long)k, unit);
    return 0;
}

/* mse, l1, huber, binary_cross_entropy: an f32 target of the same shape. */
static int shape_loss_same(ShapeCtx *c, IrNode *n)
{
    const IrNode *t = in_node(c, n, 1);
    const Shape *p = in_shape(c, n, 0);
    char x[SHAPE_BUF], y[SHAPE_BUF];
    if (t->dtype != DT_F32) {
        diag_error(c->d, n->span, "%s needs an f32 target shaped like the prediction %s; `%s` is class[%lld]",
                   opname(n), str(p, x), t->name, (long long)t->shape.d[0]);
        diag_hint(c->d, "declare `target %s : f32[...]`, or use cross_entropy for class labels", t->name);
        return 0;
    }
    if (t->shape.rank != p->rank || memcmp(t->shape.d, p->d, (size_t)p->rank * sizeof p->d[0]) != 0) {
        diag_error(c->d, n->span, "%s: the prediction is %s but the target `%s` is %s", opname(n), str(p, x),
                   t->name, str(&t->shape, y));
        return 0;
    }
    /* pos_weight broadcasts over the last dimension, as in PyTorch */
    if (n->op == OP_BINARY_CROSS_ENTROPY &&
        !loss_list_ok(c, n, "pos_weight", p->rank ? p->d[p->rank - 1] : 1, "output (the last dimension)", 1))
        return 0;
    n->shape.rank = 0;
    return 1;
}

/* cross_entropy and nll: logits [K] against class[K] (or f32[K]). */
static int shape_loss_class(ShapeCtx *c, IrNode *n)
{
    const IrNode *t = in_node(c, n, 1);
    const Shape *p = in_shape(c, n, 0);
    char x[SHAPE_BUF], y[SHAPE_BUF];
    if (p->rank != 1) {
        diag_error(c->d, n->span, "%s expects rank-1 logits [K], got %s", opname(n), str(p, x));
        diag_hint(c->d, "insert flatten, or end the model with dense(K)");
        return 0;
    }
    if (t->dtype == DT_F32 && n->op == OP_NLL) {
        diag_error(c->d, n->span, "nll needs a class[%lld] target; `%s` is f32%s", (long long)p->d[0], t->name,
                   str(&t->shape, y));
        return 0;
    }
    if (t->shape.rank != 1 || t->shape.d[0] != p->d[0]) {
        diag_error(c->d, n->span, "%s: the logits are %s but the target `%s` is %s%s", opname(n), str(p, x),
                   t->name, t->dtype == DT_CLASS ? "class" : "f32", str(&t->shape, y));
        diag_hint(c->d, "the last layer needs one output per class");
        return 0;
    }
    if (!loss_list_ok(c, n, "weight", p->d[0], "class", 0))
        return 0;
    /* PyTorch: "ignore_index is not supported for floating point target" */
    const Value *ii = op_arg(n->op, n->args, "ignore_index");
    if (t->dtype == DT_F32 && ii->num >= 0) {
        diag_error(c->d, ii->is_default ? n->span : ii->span,
                   "`ignore_index` of %s applies to class targets only; `%s` is f32%s", opname(n), t->name,
                   str(&t->shape, y));
        return 0;
    }
    n->shape.rank = 0;
    return 1;
}

static const ShapeRule rules[OP_COUNT] = {
#define OP(id, name, kind, nin, shape, args) shape_##shape,
#include "ops.def"
#undef OP
};

int shape_infer(Ir *ir, Diag *d)
{
    ShapeCtx c = {ir, d};
    int errors0 = d->nerrors;
    for (int i = 0; i < ir->n; i++) {
        IrNode *n = &ir->nodes[i];
        n->batched = n->op != OP_PARAM && op_info[n->op].kind != K_LOSS;
        if (n->op == OP_PARAM)
            continue;
        if (n->op == OP_INPUT || n->op == OP_TARGET) {
            if (!n->poison && shape_numel(&n->shape) < 0) {
                diag_error(d, n->span, "`%s` has more than 2^31 elements per sample", n->name);
                n->poison = 1;
            }
            continue;
        }
        int bad = n->poison;
        for (int j = 0; j < n->nin && !bad; j++) {
            const IrNode *in = &ir->nodes[n->in[j]];
            bad = in->poison || (in->op != OP_PARAM && !in->shape_known);
        }
        if (bad || !rules[n->op](&c, n)) {
            n->poison = 1;
            continue;
        }
        n->dtype = DT_F32;
        n->shape_known = 1;
        if (shape_numel(&n->shape) < 0) {
            char b[SHAPE_BUF];
            diag_error(d, n->span, "%s makes a value of shape %s, more than 2^31 elements per sample",
                       op_info[n->op].name, str(&n->shape, b));
            n->poison = 1;
        }
        for (int j = 1; j < n->nin && !n->poison; j++) {
            const IrNode *p = &ir->nodes[n->in[j]];
            if (p->op == OP_PARAM && p->layer == i && shape_numel(&p->shape) < 0) {
                char b[SHAPE_BUF];
                diag_error(d, n->span, "parameter %s would have shape %s, more than 2^31 elements",
                           p->param, str(&p->shape, b));
                n->poison = 1;
            }
        }
    }
    ir->nforward = ir->n;

    /* A loss that no trainable parameter reaches cannot be minimised
     * (torch.optim refuses an empty parameter list too): a warning here,
     * an error when training code is asked for (autodiff.c). */
    if (ir->loss >= 0 && !ir->nodes[ir->loss].poison && d->nerrors == errors0) {
        unsigned char *reach = arena_alloc(ir->arena, (size_t)ir->n);
        for (int i = 0; i < ir->n; i++) {
            const IrNode *n = &ir->nodes[i];
            reach[i] = n->op == OP_PARAM && n->trainable;
            for (int j = 0; j < n->nin; j++)
                reach[i] |= reach[n->in[j]];
        }
        if (!reach[ir->loss])
            diag_warning(d, ir->loss_span, "the loss depends on no parameter; there is nothing to train");
    }
    return d->nerrors - errors0;
}
