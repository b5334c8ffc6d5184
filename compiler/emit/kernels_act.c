/*
 * kernels_act.c: activations and the other element-wise functions, each
 * forward (y from x) and backward (dx from dy and x) side by side.
 *
 * The formulas are those of the PyTorch 1.13 CPU kernels, operation for
 * operation where the order changes rounding (aten/src/ATen/native/cpu/
 * Activation.cpp, UnaryOpsKernel.cpp; F.glu, F.prelu, F.dropout, F.rrelu).
 * `v` is x[i] and `d` is dy[i]; constants are the .nn arguments.  The
 * element-wise ones are a row of pointwise() each: expressions that
 * kern_elementwise_stmt() turns into the statement of their own kernel or
 * of a fused one (fuse_elementwise.c).
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

#define flit emit_float

/* Forward and backward of one element-wise op as C expressions: the
 * forward of v (x[i]), the backward of v and d (dy[i]); each may need
 * declarations first (fpre, bpre: whole statements, each ending "; "). */
typedef struct KernPointwise {
    char fpre[256], fwd[512], bpre[512], bwd[512];
} Pointwise;

/* Forward and backward formulas, one function per op: the kernel record's
 * pointwise (kernels.h).  A(name) is the op's argument, F and B write the
 * forward and backward expressions, FPRE and BPRE their declarations. */
#define A(name) op_num(op, a, name)
#define F(...) snprintf(p->fwd, sizeof p->fwd, __VA_ARGS__)
#define B(...) snprintf(p->bwd, sizeof p->bwd, __VA_ARGS__)
#define FPRE(...) snprintf(p->fpre, sizeof p->fpre, __VA_ARGS__)
#define BPRE(...) snprintf(p->bpre, sizeof p->bpre, __VA_ARGS__)

static int pw_leaky_relu(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48];
    F("v > 0.0f ? v : v * %s", flit(A("negative_slope"), b1));
    B("v > 0.0f ? d : d * %s", flit(A("negative_slope"), b1));
    return 1;
}

static int pw_relu6(const IrNode *f, Pointwise *p)
{
    (void)f;
    F("v <= 0.0f ? 0.0f : v >= 6.0f ? 6.0f : v");
    B("v > 0.0f && v < 6.0f ? d : 0.0f");
    return 1;
}

static int pw_hardtanh(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48], b2[48];
    F("v <= %s ? %s : v >= %s ? %s : v", flit(A("min_val"), b1), b1, flit(A("max_val"), b2), b2);
    B("v > %s && v < %s ? d : 0.0f", b1, b2);
    return 1;
}

static int pw_elu(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48];
    /* elu: x <= 0 ? (exp(x) - 1) alpha : x */
    F("v <= 0.0f ? (EXP(v) - 1.0f) * %s : v", flit(A("alpha"), b1));
    B("v <= 0.0f ? d * %s * EXP(v) : d", b1);
    return 1;
}

static int pw_selu(const IrNode *f, Pointwise *p)
{
    (void)f;
    char b1[48], b2[48];
    /* elu with alpha 1.6732632423543772848170429916717 and scale
     * 1.0507009873554804934193349852946, coefficients in float */
    float alpha = 1.6732632423543772848170429916717f, scale = 1.0507009873554804934193349852946f;
    F("v <= 0.0f ? (EXP(v) - 1.0f) * %s : v * %s", flit((double)(alpha * scale), b1), flit(scale, b2));
    B("v <= 0.0f ? d * %s * EXP(v) : d * %s", b1, b2);
    return 1;
}

static int pw_celu(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48], b2[48];
    /* elu with input scale 1/alpha */
    double al = A("alpha");
    F("v <= 0.0f ? (EXP(v * %s) - 1.0f) * %s : v", flit(1.0 / al, b1), flit(al, b2));
    B("v <= 0.0f ? d * %s * %s * EXP(v * %s) : d", b1, b2, b1);
    return 1;
}

static int pw_gelu(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    if (strcmp(op_arg(op, a, "approximate")->ident, "tanh") == 0) {
        /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        const char *beta = "0.797884583f", *kappa = "0.0447149985f";
        FPRE("real inner = %s * (v + %s * (v * v * v)); ", beta, kappa);
        F("0.5f * v * (1.0f + TANH(inner))");
        BPRE("real inner = %s * (v + %s * (v * v * v)), t = TANH(inner); ", beta, kappa);
        B("d * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * %s * (1.0f + 3.0f * %s * v * v))", beta, kappa);
    } else {
        /* x Phi(x) = x 0.5 (1 + erf(x / sqrt(2))) */
        F("v * 0.5f * (1.0f + ERF(v * 0.707106769f))");
        BPRE("real cdf = 0.5f * (1.0f + ERF(v * 0.707106769f)), pdf = 0.398942292f * EXP(-0.5f * v * v); ");
        B("d * (cdf + v * pdf)");
    }
    return 1;
}

static int pw_hardsigmoid(const IrNode *f, Pointwise *p)
{
    (void)f;
    FPRE("real t = v + 3.0f; t = t < 0.0f ? 0.0f : t > 6.0f ? 6.0f : t; ");
    F("t / 6.0f");
    B("v > -3.0f && v < 3.0f ? d / 6.0f : 0.0f");
    return 1;
}

static int pw_logsigmoid(const IrNode *f, Pointwise *p)
{
    (void)f;
    /* min(x, 0) - log1p(exp(-|x|)) */
    FPRE("real z = EXP(v < 0.0f ? v : -v); ");
    F("(v < 0.0f ? v : 0.0f) - LOG1P(z)");
    BPRE("real z = EXP(v < 0.0f ? v : -v); ");
    B("d * ((v < 0.0f ? 1.0f : 0.0f) - (v < 0.0f ? 1.0f : -1.0f) * (z / (1.0f + z)))");
    return 1;
}

static int pw_tanhshrink(const IrNode *f, Pointwise *p)
{
    (void)f;
    F("v - TANH(v)");
    BPRE("real t = TANH(v); ");
    B("d * t * t");
    return 1;
}

static int pw_silu(const IrNode *f, Pointwise *p)
{
    (void)f;
    F("v / (1.0f + EXP(-v))");
    BPRE("real s = 1.0f / (1.0f + EXP(-v)); ");
    B("d * s * (1.0f + v * (1.0f - s))");
    return 1;
}

static int pw_mish(const IrNode *f, Pointwise *p)
{
    (void)f;
    /* x tanh(softplus(x)) */
    F("v * TANH(LOG1P(EXP(v)))");
    BPRE("real s = 1.0f / (1.0f + EXP(-v)), t = TANH(LOG1P(EXP(v))); ");
    B("d * (t + v * s * (1.0f - t * t))");
    return 1;
}

static int pw_softplus(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48], b2[48];
    /* log1p(exp(beta x)) / beta, or x where beta x > threshold */
    F("v * %s > %s ? v : LOG1P(EXP(v * %s)) / %s", flit(A("beta"), b1), flit(A("threshold"), b2), b1, b1);
    BPRE("real z = EXP(v * %s); ", b1);
    B("v * %s > %s ? d : d * z / (z + 1.0f)", b1, b2);
    return 1;
}

static int pw_softsign(const IrNode *f, Pointwise *p)
{
    (void)f;
    F("v / (1.0f + (v < 0.0f ? -v : v))");
    BPRE("real t = 1.0f + (v < 0.0f ? -v : v); ");
    B("d / (t * t)");
    return 1;
}

static int pw_hardshrink(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48];
    F("v >= -%s && v <= %s ? 0.0f : v", flit(A("lambd"), b1), b1);
    B("v >= -%s && v <= %s ? 0.0f : d", b1, b1);
    return 1;
}

static int pw_softshrink(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48];
    F("v > %s ? v - %s : v < -%s ? v + %s : 0.0f", flit(A("lambd"), b1), b1, b1, b1);
    B("v >= -%s && v <= %s ? 0.0f : d", b1, b1);
    return 1;
}

static int pw_threshold(const IrNode *f, Pointwise *p)
{
    Op op = f->op;
    const Value *a = f->args;
    char b1[48], b2[48];
    F("v <= %s ? %s : v", flit(A("threshold"), b1), flit(A("value"), b2));
    B("v <= %s ? 0.0f : d", b1);
    return 1;
}

static int pw_hardswish(const IrNode *f, Pointwise *p)
{
    (void)f;
    FPRE("real t = v + 3.0f; t = t < 0.0f ? 0.0f : t > 6.0f ? 6.0f : t; ");
    F("v * t / 6.0f");
    B("v < -3.0f ? 0.0f : v <= 3.0f ? d * (v / 3.0f + 0.5f) : d");
    return 1;
}

static int pw_step(const IrNode *f, Pointwise *p)
{
    (void)f;
    F("v >= 0.0f ? 1.0f : 0.0f");
    BPRE("(void)v; (void)d; ");
    B("0.0f");
    return 1;
}
#undef A
#undef F
#undef B
#undef FPRE
#undef BPRE

/* The kernel record's formulas for forward node f, declarations cleared. */
static int pointwise(const IrNode *f, Pointwise *p)
{
    p->fpre[0] = p->bpre[0] = '\0';
    return kern_ops[f->op]->pointwise && kern_ops[f->op]->pointwise(f, p);
}

const char *kern_act_stmt(const Ir *ir, int id, const char *const *in, const char *out)
{
    const IrNode *n = &ir->nodes[id];
    Pointwise p;
    if (n->op == OP_GRAD) {
        if (!pointwise(&ir->nodes[n->fwd], &p))
            return NULL;
        return arena_printf(ir->arena, "real v = %s, d = %s; %s%s = %s;", in[1], in[0], p.bpre, out, p.bwd);
    }
    if (!pointwise(n, &p))
        return NULL;
    return arena_printf(ir->arena, "real v = %s; %s%s = %s;", in[0], p.fpre, out, p.fwd);
}

/* The constant of a per-channel argument (a number, or a list with one
 * value per channel): "name[c]" backed by a static array, or a literal. */
static const char *channel_const(Emitter *e, const Value *v, const char *name, const char *index, char *buf)
{
    if (v->kind != V_LIST || v->n == 1)
        return flit(v->kind == V_LIST ? v->list[0] : v->num, buf);
    char line[4096], fb[48];
    size_t k = (size_t)snprintf(line, sizeof line, "static const real %s[%d] = {", name, v->n);
    for (int i = 0; i < v->n && k < sizeof line - 64; i++)
        k += (size_t)snprintf(line + k, sizeof line - k, "%s%s", i ? ", " : "", flit(v->list[i], fb));
    snprintf(line + k, sizeof line - k, "};");
    emit_line(e, "%s", line);
    snprintf(buf, 48, "%s[%s]", name, index);
    return buf;
}

/* normalize: (x - mean[c]) / std[c], c the channel (dimension 0). */
static void normalize_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    ll N = kern_numel(f), C = f->shape.d[0], inner = N / C;
    char mb[48], sb[48];
    if (n->op == OP_GRAD) {
        static const char *const names[] = {"dy"};
        kern_signature(e, id, names, "dx");
    } else {
        static const char *const names[] = {"x"};
        kern_signature(e, id, names, "y");
    }
    const char *mean = n->op == OP_GRAD ? "" : channel_const(e, op_arg(OP_NORMALIZE, f->args, "mean"), "mean", "c", mb);
    const char *sd = channel_const(e, op_arg(OP_NORMALIZE, f->args, "std"), "sd", "c", sb);
    emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
    emit_line(e, "    size_t c = i / %lld %% %lld;", inner, C);
    emit_line(e, "    (void)c;");
    if (n->op == OP_GRAD)
        emit_line(e, "    dx[i] = dy[i] / %s;", sd);
    else
        emit_line(e, "    y[i] = (x[i] - %s) / %s;", mean, sd);
    emit_line(e, "}");
    kern_end(e);
}

/* prelu: x > 0 ? x : w[c] x, one slope or one per channel (dimension 0). */
static void prelu_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    ll N = kern_numel(f), C = f->shape.d[0], inner = N / C;
    ll P = kern_numel(kern_node(e, f->in[1]));
    const char *c = P == 1 ? "0" : "c";
    if (n->op != OP_GRAD) {
        static const char *const names[] = {"x", "w"};
        kern_signature(e, id, names, "y");
        emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
        emit_line(e, "    size_t c = i / %lld %% %lld;", inner, C);
        emit_line(e, "    (void)c;");
        emit_line(e, "    y[i] = x[i] > 0.0f ? x[i] : w[%s] * x[i];", c);
        emit_line(e, "}");
    } else if (n->which == 0) {
        static const char *const names[] = {"dy", "x", "w"};
        kern_signature(e, id, names, "dx");
        emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
        emit_line(e, "    size_t c = i / %lld %% %lld;", inner, C);
        emit_line(e, "    (void)c;");
        emit_line(e, "    dx[i] = x[i] > 0.0f ? dy[i] : w[%s] * dy[i];", c);
        emit_line(e, "}");
    } else {
        static const char *const names[] = {"dy", "x"};
        kern_signature(e, id, names, "dw");
        kern_zero(e, "dw", n);
        emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
        emit_line(e, "    size_t c = i / %lld %% %lld;", inner, C);
        emit_line(e, "    (void)c;");
        emit_line(e, "    if (!(x[i] > 0.0f))");
        emit_line(e, "        dw[%s] += x[i] * dy[i];", c);
        emit_line(e, "}");
    }
    kern_end(e);
}

/* glu: the first half of dimension dim times sigmoid of the second. */
static void glu_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    const IrNode *x = kern_node(e, f->in[0]);
    int axis = (int)op_num(OP_GLU, f->args, "dim");
    if (axis < 0)
        axis += x->shape.rank;
    ll outer, len, inner;
    kern_axis_split(x, axis, &outer, &len, &inner);
    ll half = len / 2 * inner;
    if (n->op == OP_GRAD) {
        static const char *const names[] = {"dy", "x"};
        kern_signature(e, id, names, "dx");
    } else {
        static const char *const names[] = {"x"};
        kern_signature(e, id, names, "y");
    }
    emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++)", outer);
    emit_line(e, "for (size_t j = 0; j < %lld; j++) {", half);
    e->indent++;
    emit_line(e, "real a = x[r * %lld + j], b = x[r * %lld + %lld + j];", 2 * half, 2 * half, half);
    emit_line(e, "real s = 1.0f / (1.0f + EXP(-b));");
    if (n->op == OP_GRAD) {
        emit_line(e, "real d = dy[r * %lld + j];", half);
        emit_line(e, "dx[r * %lld + j] = d * s;", 2 * half);
        emit_line(e, "dx[r * %lld + %lld + j] = (1.0f - s) * s * a * d;", 2 * half, half);
    } else {
        emit_line(e, "y[r * %lld + j] = a * s;", half);
    }
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/*
 * dropout (inverted): in training each element is kept with probability
 * 1 - p and scaled by 1/(1 - p); the scale (0 or 1/(1 - p)) is kept after
 * y for the backward pass.  rrelu: in training a slope drawn from
 * U(lower, upper) for each x <= 0 (kept after y); in eval the slope
 * (lower + upper) / 2, as F.rrelu.
 */
static void random_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    ll N = kern_numel(f);
    char b1[48], b2[48];
    int train = !e->opt->inference;
    if (n->op == OP_GRAD) {
        static const char *const names[] = {"dy", "y"};
        kern_signature(e, id, names, "dx");
        emit_line(e, "const real *scale = y + %lld; /* kept by the forward pass */", kern_region_at(e, n->fwd, "scale"));
        emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++)", N);
        emit_line(e, "    dx[i] = dy[i] * scale[i];");
        kern_end(e);
        return;
    }
    static const char *const names[] = {"x"};
    kern_signature(e, id, names, "y");
    if (f->op == OP_DROPOUT) {
        double p = op_num(OP_DROPOUT, f->args, "p");
        if (train) {
            emit_line(e, "if (training) {");
            emit_line(e, "    real *scale = y + %lld;", kern_region_at(e, id, "scale"));
            emit_line(e, "    for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
            if (p >= 1)
                emit_line(e, "        scale[i] = 0.0f;");
            else
                emit_line(e, "        scale[i] = nnrt_rng_uniform(rng) < %s ? 0.0f : %s;", flit(p, b1),
                          flit(1.0 / (1.0 - p), b2));
            emit_line(e, "        y[i] = x[i] * scale[i];");
            emit_line(e, "    }");
            emit_line(e, "    return;");
            emit_line(e, "}");
        }
        emit_line(e, "memcpy(y, x, (size_t)n * %lld * sizeof(real));", N);
    } else {
        double lo = op_num(OP_RRELU, f->args, "lower"), hi = op_num(OP_RRELU, f->args, "upper");
        if (train) {
            emit_line(e, "if (training) {");
            emit_line(e, "    real *scale = y + %lld;", kern_region_at(e, id, "scale"));
            emit_line(e, "    for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
            emit_line(e, "        scale[i] = x[i] <= 0.0f ? %s + %s * nnrt_rng_uniform(rng) : 1.0f;", flit(lo, b1),
                      flit(hi - lo, b2));
            emit_line(e, "        y[i] = x[i] * scale[i];");
            emit_line(e, "    }");
            emit_line(e, "    return;");
            emit_line(e, "}");
        }
        emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++)", N);
        emit_line(e, "    y[i] = x[i] > 0.0f ? x[i] : x[i] * %s;", flit((lo + hi) / 2, b1));
    }
    kern_end(e);
}

/* The kernel records of this family (kernels.h): the element-wise ops,
 * whose kernels kern_elementwise_stmt() writes from their formulas, and
 * the kernels of their kin. */
const KernOp kern_op_LEAKY_RELU = {.op = OP_LEAKY_RELU, .supported = 1, .pointwise = pw_leaky_relu};
const KernOp kern_op_RELU6 = {.op = OP_RELU6, .supported = 1, .pointwise = pw_relu6};
const KernOp kern_op_HARDTANH = {.op = OP_HARDTANH, .supported = 1, .pointwise = pw_hardtanh};
const KernOp kern_op_ELU = {.op = OP_ELU, .supported = 1, .pointwise = pw_elu};
const KernOp kern_op_SELU = {.op = OP_SELU, .supported = 1, .pointwise = pw_selu};
const KernOp kern_op_CELU = {.op = OP_CELU, .supported = 1, .pointwise = pw_celu};
const KernOp kern_op_GELU = {.op = OP_GELU, .supported = 1, .pointwise = pw_gelu};
const KernOp kern_op_HARDSIGMOID = {.op = OP_HARDSIGMOID, .supported = 1, .pointwise = pw_hardsigmoid};
const KernOp kern_op_LOGSIGMOID = {.op = OP_LOGSIGMOID, .supported = 1, .pointwise = pw_logsigmoid};
const KernOp kern_op_TANHSHRINK = {.op = OP_TANHSHRINK, .supported = 1, .pointwise = pw_tanhshrink};
const KernOp kern_op_SILU = {.op = OP_SILU, .supported = 1, .pointwise = pw_silu};
const KernOp kern_op_MISH = {.op = OP_MISH, .supported = 1, .pointwise = pw_mish};
const KernOp kern_op_SOFTPLUS = {.op = OP_SOFTPLUS, .supported = 1, .pointwise = pw_softplus};
const KernOp kern_op_SOFTSIGN = {.op = OP_SOFTSIGN, .supported = 1, .pointwise = pw_softsign};
const KernOp kern_op_HARDSHRINK = {.op = OP_HARDSHRINK, .supported = 1, .pointwise = pw_hardshrink};
const KernOp kern_op_SOFTSHRINK = {.op = OP_SOFTSHRINK, .supported = 1, .pointwise = pw_softshrink};
const KernOp kern_op_THRESHOLD = {.op = OP_THRESHOLD, .supported = 1, .pointwise = pw_threshold};
const KernOp kern_op_HARDSWISH = {.op = OP_HARDSWISH, .supported = 1, .pointwise = pw_hardswish};
const KernOp kern_op_STEP = {.op = OP_STEP, .supported = 1, .pointwise = pw_step};
const KernOp kern_op_GLU = {.op = OP_GLU, .supported = 1, .define = glu_kernel};
const KernOp kern_op_NORMALIZE = {.op = OP_NORMALIZE, .supported = 1, .define = normalize_kernel};
const KernOp kern_op_PRELU = {.op = OP_PRELU, .supported = 1, .define = prelu_kernel};
const KernOp kern_op_DROPOUT = {.op = OP_DROPOUT, .supported = 1, .define = random_kernel};
const KernOp kern_op_RRELU = {.op = OP_RRELU, .supported = 1, .define = random_kernel};
