/*
 * kernels.c: one C function per IR node, specialised to its shapes.
 *
 * Each kernel takes the batch size n (1 <= n <= the compiled maximum) and
 * its operands in node-input order (ir_operands: a node inlined into it
 * stands for its own operands), then its output: every loop bound but n
 * is a constant.  Forward and backward of each operator sit side by side
 * (the backward rule is in autodiff.c's comment).  Numerics follow the
 * PyTorch CPU kernels of torch 1.13: softmax multiplies by 1/sum,
 * log_softmax is x - max - log(sum), max pooling keeps the first maximum and
 * propagates NaN, average pooling counts padding (count_include_pad).
 * Accumulation is in the scalar type `real` (float; double in the
 * gradient-check build), as PyTorch's, except losses, which sum the
 * batch in double.
 */
#include "kernels.h"

#include "autodiff.h"
#include "conv_algo.h"
#include "fuse_conv_pool.h"
#include "kmem.h"
#include "ops_impl.h"
#include "target.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const IrNode *kern_node(const Emitter *e, int id)
{
    return &e->ir->nodes[id];
}

ll kern_numel(const IrNode *n)
{
    return n->shape.rank == 0 ? 1 : shape_numel(&n->shape);
}

#define flit emit_float

/* The forward op a node computes or differentiates. */
Op kern_fwd_op(const Ir *ir, const IrNode *n)
{
    return n->op == OP_GRAD ? ir->nodes[n->fwd].op : n->op;
}

/* What node id computes, for kernel names: "dense_dw", "accumulate". */
static void what_name(const Ir *ir, int id, char *buf, size_t len)
{
    const IrNode *n = &ir->nodes[id];
    if (n->op == OP_GRAD) {
        const IrNode *f = &ir->nodes[n->fwd];
        /* the record's name for input `which`, or the last one before it */
        const char *const *gw = op_impl[f->op]->grad_what;
        int k = n->which < 2 ? n->which : 2;
        while (k > 0 && !gw[k])
            k--;
        const char *what = gw[k] ? gw[k] : "dx";
        if (n->epilogue != OP_COUNT) /* the backward of f(act(x)), fuse_act_grad.c */
            snprintf(buf, len, "%s_%s_%s", op_info[f->op].name, op_info[n->epilogue].name, what);
        else
            snprintf(buf, len, "%s_%s", op_info[f->op].name, what);
    } else if (n->op == OP_UPDATE) {
        snprintf(buf, len, "%s", op_info[ir->optimizer->op].name);
    } else if (n->op == OP_ADD && n->phase == PH_BACKWARD) {
        snprintf(buf, len, "accumulate");
    } else if (n->epilogue != OP_COUNT) {
        snprintf(buf, len, "%s_%s", op_info[n->op].name, op_info[n->epilogue].name);
    } else {
        snprintf(buf, len, "%s", op_info[n->op].name);
    }
}

/*
 * "k<id>_<what>", id the node (three digits at least), what as
 * what_name() says.  A kernel computing nodes inlined into it is
 * "k<id>_fused_<what>_<what>...", one part per node it computes, in the
 * order it computes them (ascending ids, node id last):
 * k014_fused_gelu_add_relu, k052_fused_relu_dx_tanh_dx_accumulate.  A
 * list that does not fit ends with "_and<N>more".
 */
const char *kern_name(const Ir *ir, int id, char *buf, size_t len)
{
    char what[64];
    int nk = ir_kernel_nodes(ir, id, NULL, 0);
    if (nk == 1) {
        what_name(ir, id, what, sizeof what);
        snprintf(buf, len, "k%03d_%s", id, what);
        return buf;
    }
    int *nodes = arena_alloc(ir->arena, (size_t)nk * sizeof *nodes);
    ir_kernel_nodes(ir, id, nodes, nk);
    size_t k = (size_t)snprintf(buf, len, "k%03d_fused", id);
    for (int j = 0; j < nk; j++) {
        what_name(ir, nodes[j], what, sizeof what);
        if (k + 1 + strlen(what) + 16 >= len) {
            snprintf(buf + k, len - k, "_and%dmore", nk - j);
            break;
        }
        k += (size_t)snprintf(buf + k, len - k, "_%s", what);
    }
    return buf;
}

int kern_supported(const Ir *ir, int id)
{
    return kern_op_supported(kern_fwd_op(ir, &ir->nodes[id]));
}

int kern_op_supported(Op op)
{
    return kern_ops[op]->supported;
}

void kern_shape_comment(const IrNode *n, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    if (n->batched)
        k += (size_t)snprintf(buf + k, len - k, "n%s", n->shape.rank ? ", " : "");
    for (int i = 0; i < n->shape.rank && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (ll)n->shape.d[i]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
}

int kern_operands(const Emitter *e, int id, int **ops)
{
    int nops = ir_operands(e->ir, id, NULL, 0);
    *ops = arena_alloc(e->ir->arena, (size_t)(nops + 1) * sizeof **ops);
    ir_operands(e->ir, id, *ops, nops);
    return nops;
}

const char *kern_operand_name(const Emitter *e, int id, const char *const *names, int x)
{
    const IrNode *n = kern_node(e, id);
    for (int j = 0; names && j < n->nin; j++)
        if (n->in[j] == x)
            return names[j];
    return arena_printf(e->ir->arena, "x%d", x);
}

static const char *elem_type(const IrNode *n)
{
    return n->dtype == DT_CLASS ? "int32_t" : "real";
}

/* static void kNNN_what(int n, const float *restrict a, ..., float *restrict out);
 * counted: the element-wise kernels' form, with the element count len
 * after n and every operand [n, len] (or [len]) (kern_count_arg()). */
static void signature(Emitter *e, int id, const char *const *names, const char *out, int counted)
{
    const IrNode *n = kern_node(e, id);
    char kn[KERN_NAME_MAX], sc[160];
    int extra = kern_extra(e, id);
    int *ops, nops = kern_operands(e, id, &ops);
    const char *len = n->batched ? "[n, len]" : "[len]";
    emit_line(e, "static void %s(int n,%s%s%s", kern_name(e->ir, id, kn, sizeof kn), counted ? " size_t len," : "",
              extra & KP_TRAINING ? " int training," : "", extra & KP_RNG ? " NnrtRng *rng," : "");
    for (int k = 0; k < nops; k++) {
        const IrNode *in = kern_node(e, ops[k]);
        /* batchnorm's training pass updates its running statistics */
        int written = n->op == OP_BATCHNORM && in->op == OP_PARAM && !in->trainable && (extra & KP_TRAINING);
        kern_shape_comment(in, sc, sizeof sc);
        emit_line(e, "    %s%s *restrict %s /* %s */,", written ? "" : "const ", elem_type(in),
                  kern_operand_name(e, id, names, ops[k]),
                  in->dtype == DT_CLASS ? "[n] class labels" : counted ? len : sc);
    }
    kern_shape_comment(n, sc, sizeof sc);
    if (counted)
        snprintf(sc, sizeof sc, "%s", len);
    if (e->plan->scratch[id] >= 0) {
        emit_line(e, "    real *restrict %s /* %s */,", out, sc);
        emit_line(e, "    real *restrict scratch /* %lld scalars, while this runs */)",
                  (ll)mem_slots(e->plan->scratch_size[id]));
    } else {
        emit_line(e, "    real *restrict %s /* %s */)", out, sc);
    }
    emit_line(e, "{");
    e->indent++;
    /* An input given twice is one parameter; the body's later name for it
     * is an alias. */
    for (int j = 0; names && j < n->nin; j++) {
        const char *first = kern_operand_name(e, id, names, n->in[j]);
        if (ir_inlined_input(e->ir, id, n->in[j]) < 0 && strcmp(first, names[j]) != 0)
            emit_line(e, "const %s *%s = %s;", elem_type(kern_node(e, n->in[j])), names[j], first);
    }
}

void kern_signature(Emitter *e, int id, const char *const *names, const char *out)
{
    signature(e, id, names, out, 0);
}

ll kern_count_arg(const Ir *ir, int id)
{
    const IrNode *n = &ir->nodes[id];
    return n->op == OP_UPDATE || ir_elementwise(ir, id) ? kern_numel(n) : -1;
}

int kern_extra(const Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    if (e->opt->inference || n->op == OP_GRAD)
        return 0;
    /* maxpool keeps where the maxima were only when training */
    unsigned k = op_impl[n->op]->kernel_args;
    return (k & OPK_TRAINING ? KP_TRAINING : 0) | (k & OPK_RNG ? KP_RNG : 0);
}

void kern_end(Emitter *e)
{
    if (e->par_saved)
        emit_par_end(e);
    e->indent--;
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

void kern_zero(Emitter *e, const char *buf, const IrNode *n)
{
    if (n->batched)
        emit_line(e, "memset(%s, 0, (size_t)n * %lld * sizeof(real));", buf, kern_numel(n));
    else
        emit_line(e, "memset(%s, 0, %lld * sizeof(real));", buf, kern_numel(n));
}

/* Elements a simple loop must have before its threads pay for their
 * start (about a microsecond's work on one core). */
#define PARALLEL_MIN 32768

/* ---- dense: nn.Linear, y = x W^T + b ------------------------------------- */

/*
 * The dense forward's dot products sum in the order of GEMM_K8 (gemm.c),
 * whatever the batch: the running sum starts at the bias (or 0) and adds
 * one partial sum per block of GEMM_KC elements, in order; a block's is
 * eight chains (lane j takes the elements i = j mod 8, in order, from 0,
 * fused multiply-adds as FMADD) added as ((p0 + p1) + (p2 + p3)) + ((p4 +
 * p5) + (p6 + p7)), VSUM's tree.
 */

/* dot(): the plain loops, OB rows of w (wr0, wr1, ...) against sample s
 * of x over I elements, into y[s * O + o + b], each started from the bias
 * (or 0).  Each row's eight chains are eight named scalars, unrolled by
 * eight, so a core without vectors keeps them in registers (an array
 * indexed by i % 8 lives in memory: Cortex-M4F 13 instructions per
 * multiply-add instead of about 3), and OB rows at a time, so that each
 * element of x loaded serves OB multiply-adds (OB = 3: 24 sums in the
 * Cortex-M4F's 32 single-precision registers, about 2.5 instructions per
 * multiply-add instead of 3.5).  Blocks start at multiples of GEMM_KC, a
 * multiple of 8, so element i goes to chain i % 8 as before; the last
 * block's remainder (I % 8 elements) goes to chains 0, 1, ... */
static void dot(Emitter *e, int OB, ll I, ll O, int bias)
{
    emit_line(e, "const real *xs = x + (size_t)s * %lld;", I);
    for (int b = 0; b < OB; b++)
        emit_line(e, "real t%d = %s;", b, bias ? arena_printf(e->ir->arena, "b[o + %d]", b) : "0.0f");
    emit_line(e, "for (int k0 = 0; k0 < %lld; k0 += GEMM_KC) {", I);
    e->indent++;
    emit_line(e, "int ke = k0 + GEMM_KC < %lld ? k0 + GEMM_KC : %lld, i = k0;", I, I);
    for (int b = 0; b < OB; b++)
        emit_line(e, "real p%d0 = 0.0f, p%d1 = 0.0f, p%d2 = 0.0f, p%d3 = 0.0f, p%d4 = 0.0f, p%d5 = 0.0f, p%d6 = 0.0f, "
                  "p%d7 = 0.0f;", b, b, b, b, b, b, b, b);
    emit_line(e, "for (; i + 8 <= ke; i += 8) {");
    e->indent++;
    emit_line(e, "real v;");
    for (int j = 0; j < 8; j++) {
        emit_line(e, "v = xs[i + %d];", j);
        for (int b = 0; b < OB; b++)
            emit_line(e, "p%d%d = FMADD(v, wr%d[i + %d], p%d%d);", b, j, b, j, b, j);
    }
    e->indent--;
    emit_line(e, "}");
    for (int j = 0; j < 7 && j < I % 8; j++) {
        emit_line(e, "if (i + %d < ke) {%s", j, j ? "" : " /* the remainder, in its chains */");
        for (int b = 0; b < OB; b++)
            emit_line(e, "    p%d%d = FMADD(xs[i + %d], wr%d[i + %d], p%d%d);", b, j, j, b, j, b, j);
        emit_line(e, "}");
    }
    for (int b = 0; b < OB; b++)
        emit_line(e, "t%d = t%d + (((p%d0 + p%d1) + (p%d2 + p%d3)) + ((p%d4 + p%d5) + (p%d6 + p%d7)));", b, b, b, b, b, b, b,
                  b, b, b);
    e->indent--;
    emit_line(e, "}");
    for (int b = 0; b < OB; b++)
        emit_line(e, "y[(size_t)s * %lld + o + %d] = t%d;", O, b, b);
}

/* The rows of a few-sample dense forward in blocks of OB (the last ones
 * one at a time), for each sample the block body emits: wr0, wr1, ... are
 * its rows of w. */
static void dense_rows(Emitter *e, int OB, ll I, ll O, int bias, void (*body)(Emitter *, int, ll, ll, int))
{
    for (int rest = 0; rest < 2; rest++) {
        int ob = rest ? 1 : OB;
        if (rest && O % OB == 0)
            break;
        if (rest)
            emit_line(e, "for (int o = %lld; o < %lld; o++) {", O / OB * OB, O);
        else
            emit_line(e, "for (int o = 0; o < %lld; o += %d) {", O / OB * OB, OB);
        e->indent++;
        emit_line(e, "const real *wr0 = w + (size_t)o * %lld;", I);
        for (int b = 1; b < ob; b++)
            emit_line(e, "const real *wr%d = wr%d + %lld;", b, b - 1, I);
        emit_line(e, "for (int s = 0; s < n; s++) {");
        e->indent++;
        body(e, ob, I, O, bias);
        e->indent--;
        emit_line(e, "}");
        e->indent--;
        emit_line(e, "}");
    }
}

/*
 * A register block of dot products for the vector build: rows xr[0..SB)
 * of x against rows wr[0..OB) of w over I elements, each in the order of
 * dot() (a vector of eight lanes per block, VSUM), into
 * y[(s + a) * O + o + b], started from the bias.
 */
static void dot_block(Emitter *e, int SB, int OB, ll I, ll O, int bias)
{
    ll I8 = I / 8 * 8;
    for (int a = 0; a < SB; a++)
        emit_line(e, "const real *x%d = x + (size_t)(s + %d) * %lld;", a, a, I);
    for (int a = 0; a < SB; a++)
        for (int b = 0; b < OB; b++)
            emit_line(e, "real t%d%d = %s;", a, b, bias ? arena_printf(e->ir->arena, "b[o + %d]", b) : "0.0f");
    emit_line(e, "for (int k0 = 0; k0 < %lld; k0 += GEMM_KC) {", I);
    e->indent++;
    for (int a = 0; a < SB; a++)
        for (int b = 0; b < OB; b++)
            emit_line(e, "vreal a%d%d = {0};", a, b);
    emit_line(e, "for (int i = k0; i < (k0 + GEMM_KC < %lld ? k0 + GEMM_KC : %lld); i += 8) {", I8, I8);
    e->indent++;
    for (int b = 0; b < OB; b++) {
        emit_line(e, "vreal w%d;", b);
        emit_line(e, "VLOAD(w%d, wr%d + i);", b, b);
    }
    for (int a = 0; a < SB; a++) {
        emit_line(e, "{");
        emit_line(e, "    vreal v;");
        emit_line(e, "    VLOAD(v, x%d + i);", a);
        for (int b = 0; b < OB; b++)
            emit_line(e, "    VFMADD(a%d%d, v, w%d);", a, b, b);
        emit_line(e, "}");
    }
    e->indent--;
    emit_line(e, "}");
    if (I % 8) { /* the last elements, in their lanes, in the last block */
        emit_line(e, "if (k0 + GEMM_KC >= %lld)", I);
        emit_line(e, "    for (int j = 0; j < %lld; j++) {", I % 8);
        for (int a = 0; a < SB; a++)
            for (int b = 0; b < OB; b++)
                emit_line(e, "        a%d%d[j] = FMADD(x%d[%lld + j], wr%d[%lld + j], a%d%d[j]);", a, b, a, I8, b, I8, a, b);
        emit_line(e, "    }");
    }
    for (int a = 0; a < SB; a++) {
        if (OB == 4) { /* four sums at once */
            emit_line(e, "{");
            emit_line(e, "    real h[4];");
            emit_line(e, "    VSUM4(h, a%d0, a%d1, a%d2, a%d3);", a, a, a, a);
            for (int b = 0; b < OB; b++)
                emit_line(e, "    t%d%d = t%d%d + h[%d];", a, b, a, b, b);
            emit_line(e, "}");
            continue;
        }
        for (int b = 0; b < OB; b++)
            emit_line(e, "t%d%d = t%d%d + VSUM(a%d%d);", a, b, a, b, a, b);
    }
    e->indent--;
    emit_line(e, "}");
    for (int a = 0; a < SB; a++)
        for (int b = 0; b < OB; b++)
            emit_line(e, "y[(size_t)(s + %d) * %lld + o + %d] = t%d%d;", a, O, b, a, b);
}

/*
 * The few-sample dense forward on four-lane vectors (NEON, or SSE2 without
 * run-time dispatch), OB rows of w at a time for one sample: each row's
 * eight chains of dot() are two vectors, lanes 0-3 and 4-7, so an input
 * vector loaded serves OB fused multiply-adds and the 2 OB sums stay in
 * registers (AArch64: 8 of the 32 q registers for OB = 4).  A block's
 * eight lanes are added in VSUM's tree, so the bits are dot()'s.
 */
static void dot_block4(Emitter *e, int OB, ll I, ll O, int bias)
{
    ll I8 = I / 8 * 8;
    emit_line(e, "const real *x0 = x + (size_t)s * %lld;", I);
    for (int b = 0; b < OB; b++)
        emit_line(e, "real t%d = %s;", b, bias ? arena_printf(e->ir->arena, "b[o + %d]", b) : "0.0f");
    emit_line(e, "for (int k0 = 0; k0 < %lld; k0 += GEMM_KC) {", I);
    e->indent++;
    for (int b = 0; b < OB; b++)
        emit_line(e, "vgemm l%d = {0}, h%d = {0};", b, b);
    emit_line(e, "for (int i = k0; i < (k0 + GEMM_KC < %lld ? k0 + GEMM_KC : %lld); i += 8) {", I8, I8);
    e->indent++;
    emit_line(e, "vgemm xl, xh, wv;");
    emit_line(e, "GLOAD(xl, x0 + i);");
    emit_line(e, "GLOAD(xh, x0 + i + 4);");
    for (int b = 0; b < OB; b++) {
        emit_line(e, "GLOAD(wv, wr%d + i);", b);
        emit_line(e, "GVFMA(l%d, xl, wv);", b);
        emit_line(e, "GLOAD(wv, wr%d + i + 4);", b);
        emit_line(e, "GVFMA(h%d, xh, wv);", b);
    }
    e->indent--;
    emit_line(e, "}");
    if (I % 8) { /* the last elements, in their lanes, in the last block */
        emit_line(e, "if (k0 + GEMM_KC >= %lld)", I);
        emit_line(e, "    for (int j = 0; j < %lld; j++) {", I % 8);
        for (int b = 0; b < OB; b++) {
            if (I % 8 > 4) { /* lanes 0-3 in l, 4-7 in h */
                emit_line(e, "        if (j < 4) l%d[j] = FMADD(x0[%lld + j], wr%d[%lld + j], l%d[j]);", b, I8, b, I8, b);
                emit_line(e, "        else h%d[j - 4] = FMADD(x0[%lld + j], wr%d[%lld + j], h%d[j - 4]);", b, I8, b, I8, b);
            } else {
                emit_line(e, "        l%d[j] = FMADD(x0[%lld + j], wr%d[%lld + j], l%d[j]);", b, I8, b, I8, b);
            }
        }
        emit_line(e, "    }");
    }
    for (int b = 0; b < OB; b++)
        emit_line(e, "t%d = t%d + (((l%d[0] + l%d[1]) + (l%d[2] + l%d[3])) + ((h%d[0] + h%d[1]) + (h%d[2] + h%d[3])));", b, b,
                  b, b, b, b, b, b, b, b);
    e->indent--;
    emit_line(e, "}");
    for (int b = 0; b < OB; b++)
        emit_line(e, "y[(size_t)s * %lld + o + %d] = t%d;", O, b, b);
}

/* The fused activation of node n over count elements of out (a C
 * expression), as its own kernel would compute it (fuse_epilogue.c). */
const char *kern_epilogue_expr(const IrNode *n)
{
    const char *f = n->epilogue != OP_COUNT ? op_impl[n->epilogue]->epilogue : NULL;
    return f ? f : "v";
}

/* dx of activation op from its output `yv` and the incoming gradient `gv`
 * (a C expression): the backward of relu, sigmoid and tanh, both in their
 * own kernels and folded into the kernel computing gv (fuse_act_grad.c). */
const char *kern_act_grad_expr(Op op)
{
    if (!op_impl[op]->act_grad)
        diag_internal("emit", "no folded backward for %s", op_info[op].name);
    return op_impl[op]->act_grad;
}

/* The folded activation backward of gradient node n over its output out
 * (rows of `count` elements; y the activation's output), in place. */
static void grad_epilogue(Emitter *e, const IrNode *n, const char *out, const char *y, const char *count)
{
    emit_line(e, "/* fused %s backward */", op_info[n->epilogue].name);
    emit_line(e, "for (size_t i = 0; i < (size_t)(%s); i++) {", count);
    emit_line(e, "    real gv = %s[i], yv = %s[i];", out, y);
    emit_line(e, "    %s[i] = %s;", out, kern_act_grad_expr(n->epilogue));
    emit_line(e, "}");
}

static void epilogue(Emitter *e, const IrNode *n, const char *out, const char *count)
{
    if (n->epilogue == OP_COUNT)
        return;
    if (n->op == OP_GRAD) {
        grad_epilogue(e, n, out, "y", count);
        return;
    }
    const char *f = kern_epilogue_expr(n);
    emit_line(e, "/* fused %s */", op_info[n->epilogue].name);
    emit_line(e, "for (size_t i = 0; i < (size_t)(%s); i++) {", count);
    emit_line(e, "    real v = %s[i];", out);
    emit_line(e, "    %s[i] = %s;", out, f);
    emit_line(e, "}");
}

/*
 * The forward of a few samples (inference latency) reads W once, row by
 * row, with no packing: each output is a dot product in eight lanes
 * (dot(), dot_block()).  Larger batches go through the GEMM with GEMM_K8,
 * which sums in the same order, so a sample's outputs are the same bits
 * whatever the batch and its place in it, in the vector and plain
 * versions.
 */
static void dense_forward_small(Emitter *e, ll I, ll O, int bias, int alone)
{
    if (!alone) {
        emit_line(e, "if (n < 8) {");
        e->indent++;
    }
    emit_line(e, "#ifdef NNC_VECTOR8"); /* eight-lane vreal: AVX or wider */
    if (I * O >= PARALLEL_MIN * 4) /* rows over the threads when one sample pays */
        emit_line(e, "NNC_PARALLEL_FOR");
    emit_line(e, "for (int o = 0; o < %lld; o += 4) {", O / 4 * 4);
    e->indent++;
    emit_line(e, "const real *wr0 = w + (size_t)o * %lld, *wr1 = wr0 + %lld, *wr2 = wr1 + %lld, *wr3 = wr2 + %lld;", I, I, I,
              I);
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    dot_block(e, 1, 4, I, O, bias);
    e->indent--;
    emit_line(e, "}");
    e->indent--;
    emit_line(e, "}");
    if (O % 4) {
        emit_line(e, "for (int o = %lld; o < %lld; o++) {", O / 4 * 4, O);
        e->indent++;
        emit_line(e, "const real *wr0 = w + (size_t)o * %lld;", I);
        emit_line(e, "for (int s = 0; s < n; s++) {");
        e->indent++;
        dot_block(e, 1, 1, I, O, bias);
        e->indent--;
        emit_line(e, "}");
        e->indent--;
        emit_line(e, "}");
    }
    /* builds that dispatch: the GEMM's copy fuses or not by nnc_isa, and
     * gemm_dot8()'s copies (gemm.c) do as it does */
    emit_line(e, "#elif defined(NNC_DISPATCH) && defined(NNC_VECTOR)");
    emit_line(e, "for (int o = 0; o < %lld; o++)", O);
    emit_line(e, "    for (int s = 0; s < n; s++)");
    emit_line(e, "        y[(size_t)s * %lld + o] = NNC_ISA_CALL(gemm_dot8, (x + (size_t)s * %lld, w + (size_t)o * %lld, %lld, %s));",
              O, I, I, I, bias ? "b[o]" : "0.0f");
    /* four lanes without dispatch (AArch64): dot_block4() */
    emit_line(e, "#elif defined(NNC_VECTOR) && NNC_LANES == 4");
    dense_rows(e, 4, I, O, bias, dot_block4);
    emit_line(e, "#else");
    dense_rows(e, 3, I, O, bias, dot);
    emit_line(e, "#endif");
    if (!alone) {
        e->indent--;
        emit_line(e, "} else {");
    }
}

static void dense_forward(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    static const char *const names[] = {"x", "w", "b"};
    ll I = kern_numel(kern_node(e, n->in[0])), O = n->shape.d[0];
    kern_signature(e, id, names, "y");
    /* batches below 8 by dot products when the inputs fill a vector (dense(1)
     * too: the GEMM computes 32 columns for one); code for such batches only
     * has no GEMM, and no pack (kmem_dense()) */
    int alone = kmem_dense_small_only(e->ir, id, e->plan->max_batch), small = alone || kmem_dense_has_small(e->ir, id);
    if (small)
        dense_forward_small(e, I, O, n->nin > 2, alone);
    if (!alone) {
        emit_line(e, "%s/* y[n, %lld] = x[n, %lld] W^T + b: W^T is packed a panel at a time; dot()'s order */",
                  small ? "    " : "", O, I);
        emit_line(e, "%sGEMM_PAR(n, %lld, %lld, x, %lld, 1, w, 1, %lld, y, %lld, GEMM_K8, NULL, %s, %s, NULL);",
                  small ? "    " : "", O, I, I, I, O, n->nin > 2 ? "b" : "NULL", kern_gemm_pack(e, id, O, I, I == 1, 0));
    }
    if (small && !alone)
        emit_line(e, "}");
    epilogue(e, n, "y", arena_printf(e->ir->arena, "(size_t)n * %lld", O));
    kern_end(e);
}

static void dense_backward(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    ll I = kern_numel(kern_node(e, f->in[0])), O = f->shape.d[0];
    if (g->which == 0) {
        static const char *const names[] = {"dy", "w", "y"};
        kern_signature(e, id, names, "dx");
        emit_line(e, "/* dx[n, %lld] = dy[n, %lld] W */", I, O);
        emit_line(e, "GEMM_PAR(n, %lld, %lld, dy, %lld, 1, w, %lld, 1, dx, %lld, 0, NULL, NULL, %s, NULL);", I, O, O, I, I,
                  kern_gemm_pack(e, id, I, O, 1, 0));
        epilogue(e, g, "dx", arena_printf(e->ir->arena, "(size_t)n * %lld", I));
    } else {
        static const char *const names[] = {"dy", "x"};
        kern_signature(e, id, names, "dw");
        emit_line(e, "/* dW[%lld, %lld] = dy^T x, summed over the batch in order */", O, I);
        emit_line(e, "GEMM_PAR(%lld, %lld, n, dy, 1, %lld, x, %lld, 1, dw, %lld, 0, NULL, NULL, %s, NULL);", O, I, O, I, I,
                  kern_gemm_pack(e, id, I, e->plan->max_batch, 1, 0));
    }
    kern_end(e);
}

/* db[o] = sum of dy[:, o] over the batch, samples in order (dense; conv2d's
 * is kern_conv_db()). */
static void bias_backward(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    static const char *const names[] = {"dy"};
    ll C = f->shape.d[0];
    kern_signature(e, id, names, "db");
    if (C > 1) /* each output's sum is its own: split them over threads */
        emit_par_begin(e, arena_printf(e->ir->arena, "n * %lld >= %d", C, PARALLEL_MIN));
    emit_line(e, "for (int c = 0; c < %lld; c++) {", C);
    emit_line(e, "    real acc = 0.0f;");
    emit_line(e, "    for (int s = 0; s < n; s++)");
    emit_line(e, "        acc += dy[(size_t)s * %lld + c];", C);
    emit_line(e, "    db[c] = acc;");
    emit_line(e, "}");
    if (C > 1)
        emit_par_end(e);
    kern_end(e);
}

/*
 * Convolution as im2col + GEMM, one sample at a time.  col [K, P] holds,
 * for k = (c, kh, kw) and output position p = (oh, ow), the input value
 * the kernel tap k sees at p (0 in the padding); it lives after the
 * kernel's scratch (region "col", kmem_conv()).  With KG = CG KH KW taps per
 * group and FG filters per group:
 *   forward  y[f, p]   = b[f] + sum_k w[f, k] col[g KG + k, p]
 *   dW       dw[f, k] += sum_p dy[f, p] col[g KG + k, p]   (over samples)
 *   dx       dcol[g KG + k, p] = sum_f w[f, k] dy[f, p], then col2im
 * Sums run in the same order in the vector code and the plain loops.
 */
static void im2col(Emitter *e, const Conv *c, const char *xs, const char *col)
{
    ll P = c->OH * c->OW;
    emit_line(e, "for (int ci = 0; ci < %lld; ci++)", c->C);
    emit_line(e, "for (int kh = 0; kh < %lld; kh++)", c->KH);
    emit_line(e, "for (int kw = 0; kw < %lld; kw++) {", c->KW);
    e->indent++;
    emit_line(e, "real *cr = %s + ((size_t)(ci * %lld + kh) * %lld + kw) * %lld;", col, c->KH, c->KW, P);
    emit_line(e, "const real *plane = %s + (size_t)ci * %lld;", xs, c->H * c->W);
    emit_line(e, "for (int oh = 0; oh < %lld; oh++) {", c->OH);
    emit_line(e, "    int ih = oh * %lld - %lld + kh * %lld;", c->SH, c->PT, c->DH);
    emit_line(e, "    real *cp = cr + (size_t)oh * %lld;", c->OW);
    emit_line(e, "    if (ih < 0 || ih >= %lld) {", c->H);
    emit_line(e, "        memset(cp, 0, %lld * sizeof(real));", c->OW);
    emit_line(e, "        continue;");
    emit_line(e, "    }");
    emit_line(e, "    for (int ow = 0; ow < %lld; ow++) {", c->OW);
    emit_line(e, "        int iw = ow * %lld - %lld + kw * %lld;", c->SW, c->PL, c->DW);
    emit_line(e, "        cp[ow] = iw >= 0 && iw < %lld ? plane[(size_t)ih * %lld + iw] : 0.0f;", c->W, c->W);
    emit_line(e, "    }");
    emit_line(e, "}");
    e->indent--;
    emit_line(e, "}");
}


static void conv_forward(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    if (n->conv_algo & CONV_DIRECT_FWD) {
        kern_conv_forward_direct(e, id);
        return;
    }
    static const char *const names[] = {"x", "w", "b"};
    Conv c = conv_geometry(n, kern_node(e, n->in[0]));
    ll P = c.OH * c.OW, KG = c.CG * c.KH * c.KW;
    kern_signature(e, id, names, "y");
    emit_line(e, "/* samples in parallel; per thread an im2col matrix [%lld, %lld] and gemm's pack */",
              c.C * c.KH * c.KW, P);
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    emit_line(e, "real *col = %s;", kern_region_ptr(e, id, "col"));
    emit_line(e, "const real *xs = x + (size_t)s * %lld;", c.C * c.H * c.W);
    emit_line(e, "real *ys = y + (size_t)s * %lld;", c.F * P);
    im2col(e, &c, "xs", "col");
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    GEMM(%lld, %lld, %lld, w + (size_t)g * %lld, %lld, 1, col + (size_t)g * %lld, %lld, 1,", c.FG, P, KG,
              c.FG * KG, KG, KG * P, P);
    emit_line(e, "         ys + (size_t)g * %lld, %lld, 0, %s, NULL, %s, NULL);", c.FG * P, P,
              n->nin > 2 ? arena_printf(e->ir->arena, "b + (size_t)g * %lld", c.FG) : "NULL",
              kern_gemm_pack(e, id, P, KG, 1, 0));
    epilogue(e, n, "ys", arena_printf(e->ir->arena, "%lld", c.F * P));
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

static void conv_backward(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    if (f->conv_algo & (g->which == 1 ? CONV_DIRECT_DW : CONV_DIRECT_DX)) {
        if (g->which == 1)
            kern_conv_dw_direct(e, id);
        else
            kern_conv_dx_direct(e, id);
        return;
    }
    Conv c = conv_geometry(f, kern_node(e, f->in[0]));
    ll P = c.OH * c.OW, KG = c.CG * c.KH * c.KW;
    if (g->which == 1) {
        static const char *const names[] = {"dy", "x"};
        kern_signature(e, id, names, "dw");
        emit_line(e, "/* dW[f, tap] += dy[f, p] col[tap, p]^T, sample after sample */");
        kern_zero(e, "dw", g);
        emit_line(e, "real *col = %s;", kern_region_ptr(e, id, "col"));
        emit_line(e, "for (int s = 0; s < n; s++) {");
        e->indent++;
        emit_line(e, "const real *dys = dy + (size_t)s * %lld;", c.F * P);
        im2col(e, &c, arena_printf(e->ir->arena, "(x + (size_t)s * %lld)", c.C * c.H * c.W), "col");
        emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
        emit_line(e, "    GEMM_PAR(%lld, %lld, %lld, dys + (size_t)g * %lld, %lld, 1, col + (size_t)g * %lld, 1, %lld,", c.FG,
                  KG, P, c.FG * P, P, KG * P, P);
        emit_line(e, "             dw + (size_t)g * %lld, %lld, 1, NULL, NULL, %s, NULL);", c.FG * KG, KG,
                  kern_gemm_pack(e, id, KG, P, P == 1, 0));
        e->indent--;
        emit_line(e, "}");
        kern_end(e);
        return;
    }
    static const char *const names[] = {"dy", "w", "y"};
    kern_signature(e, id, names, "dx");
    kern_zero(e, "dx", g);
    emit_line(e, "/* samples in parallel; per thread a column gradient [%lld, %lld] */", c.C * c.KH * c.KW, P);
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    emit_line(e, "real *dcol = %s;", kern_region_ptr(e, id, "dcol"));
    emit_line(e, "const real *dys = dy + (size_t)s * %lld;", c.F * P);
    emit_line(e, "real *dxs = dx + (size_t)s * %lld;", c.C * c.H * c.W);
    emit_line(e, "/* dcol[tap, p] = sum_f w[f, tap] dy[f, p] */");
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    GEMM(%lld, %lld, %lld, w + (size_t)g * %lld, 1, %lld, dys + (size_t)g * %lld, %lld, 1,", KG, P, c.FG,
              c.FG * KG, KG, c.FG * P, P);
    emit_line(e, "         dcol + (size_t)g * %lld, %lld, 0, NULL, NULL, %s, NULL);", KG * P, P,
              kern_gemm_pack(e, id, P, c.FG, 1, 0));
    emit_line(e, "/* col2im: every tap's gradient back to the input it read */");
    emit_line(e, "for (int ci = 0; ci < %lld; ci++)", c.C);
    emit_line(e, "for (int kh = 0; kh < %lld; kh++)", c.KH);
    emit_line(e, "for (int kw = 0; kw < %lld; kw++) {", c.KW);
    emit_line(e, "    const real *cr = dcol + ((size_t)(ci * %lld + kh) * %lld + kw) * %lld;", c.KH, c.KW, P);
    emit_line(e, "    real *plane = dxs + (size_t)ci * %lld;", c.H * c.W);
    emit_line(e, "    for (int oh = 0; oh < %lld; oh++) {", c.OH);
    emit_line(e, "        int ih = oh * %lld - %lld + kh * %lld;", c.SH, c.PT, c.DH);
    emit_line(e, "        if (ih < 0 || ih >= %lld)", c.H);
    emit_line(e, "            continue;");
    emit_line(e, "        for (int ow = 0; ow < %lld; ow++) {", c.OW);
    emit_line(e, "            int iw = ow * %lld - %lld + kw * %lld;", c.SW, c.PL, c.DW);
    emit_line(e, "            if (iw >= 0 && iw < %lld)", c.W);
    emit_line(e, "                plane[(size_t)ih * %lld + iw] += cr[(size_t)oh * %lld + ow];", c.W, c.OW);
    emit_line(e, "        }");
    emit_line(e, "    }");
    emit_line(e, "}");
    if (g->epilogue != OP_COUNT)
        grad_epilogue(e, g, "dxs", arena_printf(e->ir->arena, "(y + (size_t)s * %lld)", c.C * c.H * c.W),
                      arena_printf(e->ir->arena, "%lld", c.C * c.H * c.W));
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/* ---- pooling: nn.MaxPool2d, nn.AvgPool2d ------------------------------------ */

/* The loops over (s, c, oh, ow) and the window (kh, kw) of a pooling
 * kernel; pre and post may use %lld for the window's area. */
/* text with every "%lld" replaced by the window's area. */
static const char *with_area(Emitter *e, const char *text, ll area)
{
    char num[32];
    size_t nl = (size_t)snprintf(num, sizeof num, "%lld", area), n = 0;
    for (const char *p = strstr(text, "%lld"); p; p = strstr(p + 4, "%lld"))
        n++;
    char *out = arena_alloc(e->ir->arena, strlen(text) + n * nl + 1), *o = out;
    for (const char *p = text; *p;) {
        if (strncmp(p, "%lld", 4) == 0) {
            memcpy(o, num, nl);
            o += nl;
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

void kern_pool(Emitter *e, int id, const char *const *names, const char *out, const char *zero_buf, const char *pre,
               const char *inner, const char *post)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    const IrNode *x = kern_node(e, f->in[0]);
    int64_t k[2], s[2], p[2] = {0, 0};
    value_pair(op_arg(f->op, f->args, "kernel"), k);
    value_pair(op_arg(f->op, f->args, "stride"), s);
    if (op_arg_index(f->op, "padding") >= 0) /* lppool has none */
        value_pair(op_arg(f->op, f->args, "padding"), p);
    ll C = x->shape.d[0], H = x->shape.d[1], W = x->shape.d[2], OH = f->shape.d[1], OW = f->shape.d[2];
    ll area = (ll)(k[0] * k[1]);
    kern_signature(e, id, names, out);
    if (zero_buf)
        kern_zero(e, zero_buf, n);
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++)");
    emit_line(e, "for (int c = 0; c < %lld; c++)", C);
    emit_line(e, "for (int oh = 0; oh < %lld; oh++)", OH);
    emit_line(e, "for (int ow = 0; ow < %lld; ow++) {", OW);
    e->indent++;
    emit_line(e, "size_t yi = (((size_t)s * %lld + c) * %lld + oh) * %lld + ow;", C, OH, OW);
    emit_line(e, "size_t plane = ((size_t)s * %lld + c) * %lld;", C, H * W);
    emit_line(e, "%s", with_area(e, pre, area));
    emit_line(e, "for (int kh = 0; kh < %lld; kh++) {", (ll)k[0]);
    emit_line(e, "    int ih = oh * %lld - %lld + kh;", (ll)s[0], (ll)p[0]);
    if (p[0] > 0)
        emit_line(e, "    if (ih < 0 || ih >= %lld) continue;", H);
    emit_line(e, "    for (int kw = 0; kw < %lld; kw++) {", (ll)k[1]);
    emit_line(e, "        int iw = ow * %lld - %lld + kw;", (ll)s[1], (ll)p[1]);
    if (p[1] > 0)
        emit_line(e, "        if (iw < 0 || iw >= %lld) continue;", W);
    emit_line(e, "        size_t xi = plane + (size_t)ih * %lld + iw;", W);
    emit_line(e, "        %s", inner);
    emit_line(e, "    }");
    emit_line(e, "}");
    if (post[0])
        emit_line(e, "%s", with_area(e, post, area));
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

const MemRegion *kern_region(const Emitter *e, int id, const char *name)
{
    const MemRegion *r = mem_region(e->plan, id, name);
    if (!r)
        diag_internal("kernels", "the kernel of %%%d uses region '%s', which its family did not declare (kmem.c)", id,
                      name);
    return r;
}

ll kern_region_at(const Emitter *e, int id, const char *name)
{
    const MemRegion *r = kern_region(e, id, name);
    return (ll)mem_slots(r->offset - (r->decl.kind == KM_SAVED ? e->plan->offset[id] : e->plan->scratch[id]));
}

const char *kern_region_ptr(const Emitter *e, int id, const char *name)
{
    const MemRegion *r = kern_region(e, id, name);
    ll at = kern_region_at(e, id, name);
    const char *base = at ? arena_printf(e->ir->arena, "scratch + %lld", at) : "scratch";
    if (r->decl.kind == KM_SAVED)
        diag_internal("kernels", "region '%s' of %%%d is in its buffer, not its scratch", name, id);
    if (r->decl.kind != KM_THREAD)
        return base;
    return arena_printf(e->ir->arena, "%s + (size_t)NNC_THREAD * %lld", base, (ll)mem_slots(r->stride));
}

const char *kern_region_ctype(const Emitter *e, int id, const char *name)
{
    return kern_region(e, id, name)->decl.type == MEM_I32 ? "int32_t" : "real";
}

const char *kern_gemm_pack(const Emitter *e, int id, ll N, ll K, int sbn_is_1, int boff)
{
    int threads = e->ir->threads > 1 ? e->ir->threads : 1;
    int64_t need = target_gemm_pack_floats(e->ir->target, threads, N, K, sbn_is_1, boff);
    if (need == 0)
        return "NULL";
    const MemRegion *r = kern_region(e, id, "pack");
    if (r->decl.bytes < need * MEM_SLOT)
        diag_internal("kernels", "a GEMM of %%%d's kernel packs %lld floats, its region 'pack' has %lld bytes", id,
                      (ll)need, (ll)r->decl.bytes);
    return kern_region_ptr(e, id, "pack");
}

/* Max pooling keeps, after y, where each maximum came from (its offset in
 * the sample's channel plane, int32: its region "argmax"), so the backward pass
 * routes dy straight there; in inference there is no backward and nothing
 * is kept. */
static void maxpool_forward(Emitter *e, int id)
{
    static const char *const names[] = {"x"};
    if (e->opt->inference) {
        kern_pool(e, id, names, "y", NULL, "real m = -INFINITY; /* window of %lld */",
                    "if (x[xi] > m || x[xi] != x[xi]) m = x[xi];", "y[yi] = m;");
        return;
    }
    kern_pool(e, id, names, "y", NULL,
                arena_printf(e->ir->arena, "real m = -INFINITY; size_t at = (size_t)-1; /* window of %%lld */"),
                "if (at == (size_t)-1 || x[xi] > m || x[xi] != x[xi]) { m = x[xi]; at = xi; }",
                arena_printf(e->ir->arena, "y[yi] = m; if (training) ((%s *)(void *)(y + %lld))[yi] = (int32_t)(at - plane);",
                             kern_region_ctype(e, id, "argmax"), kern_region_at(e, id, "argmax")));
}

/*
 * dy goes to where each maximum came from.  When the windows tile the
 * input exactly (stride = kernel, no padding, nothing left over), every dx
 * is written once, in order, from its own window: no zeroing and no
 * scatter.  Otherwise dx is zeroed and each dy added at its maximum, in
 * order (windows may overlap).  With a folded activation backward
 * (fuse_act_grad.c), A's output where the maximum came from is the pooled
 * value y itself.  Samples in parallel: each writes its own planes.
 */
static void maxpool_backward(Emitter *e, int id)
{
    static const char *const names[] = {"dy", "y"};
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd), *x = kern_node(e, f->in[0]);
    ll C = f->shape.d[0], OH = f->shape.d[1], OW = f->shape.d[2], H = x->shape.d[1], W = x->shape.d[2];
    int64_t k[2], st[2], pd[2];
    value_pair(op_arg(f->op, f->args, "kernel"), k);
    value_pair(op_arg(f->op, f->args, "stride"), st);
    value_pair(op_arg(f->op, f->args, "padding"), pd);
    const char *grad = g->epilogue != OP_COUNT ? kern_act_grad_expr(g->epilogue) : "gv";
    kern_signature(e, id, names, "dx");
    const char *at_type = kern_region_ctype(e, g->fwd, "argmax");
    emit_line(e, "const %s *at = (const %s *)(const void *)(y + %lld); /* where each maximum came from */", at_type,
              at_type, kern_region_at(e, g->fwd, "argmax"));
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    emit_line(e, "const real *dys = dy + (size_t)s * %lld, *ys = y + (size_t)s * %lld;", kern_numel(f), kern_numel(f));
    emit_line(e, "const %s *ats = at + (size_t)s * %lld;", at_type, kern_numel(f));
    emit_line(e, "real *dxs = dx + (size_t)s * %lld;", kern_numel(x));
    if (g->epilogue != OP_COUNT)
        emit_line(e, "/* fused %s backward */", op_info[g->epilogue].name);
    if (st[0] == k[0] && st[1] == k[1] && pd[0] == 0 && pd[1] == 0 && OH * k[0] == H && OW * k[1] == W) {
        emit_line(e, "for (int c = 0; c < %lld; c++)", C);
        emit_line(e, "for (int oh = 0; oh < %lld; oh++)", OH);
        emit_line(e, "for (int kh = 0; kh < %lld; kh++) {", (ll)k[0]);
        emit_line(e, "    size_t yi = ((size_t)c * %lld + oh) * %lld;", OH, OW);
        emit_line(e, "    int row = (oh * %lld + kh) * %lld;", (ll)k[0], W);
        emit_line(e, "    real *d = dxs + (size_t)c * %lld + row;", H * W);
        emit_line(e, "    for (int ow = 0; ow < %lld; ow++) {", OW);
        emit_line(e, "        real gv = dys[yi + ow], yv = ys[yi + ow];");
        emit_line(e, "        real v = %s;", grad);
        /* the tap of the maximum, compared as a real: GCC 12's vectoriser
         * (-O3 -mavx2 and up) miscompiled this loop comparing ints */
        emit_line(e, "        real m = (real)(ats[yi + ow] - (row + ow * %lld));", (ll)k[1]);
        emit_line(e, "        (void)yv;");
        emit_line(e, "        for (int kw = 0; kw < %lld; kw++)", (ll)k[1]);
        emit_line(e, "            d[ow * %lld + kw] = (real)kw == m ? v : 0.0f;", (ll)k[1]);
        emit_line(e, "    }");
        emit_line(e, "}");
    } else {
        emit_line(e, "memset(dxs, 0, %lld * sizeof(real));", kern_numel(x));
        emit_line(e, "for (int yi = 0; yi < %lld; yi++) {", kern_numel(f));
        emit_line(e, "    real gv = dys[yi], yv = ys[yi];");
        emit_line(e, "    (void)yv;");
        emit_line(e, "    dxs[yi / %lld * %lld + (size_t)ats[yi]] += %s;", OH * OW, H * W, grad);
        emit_line(e, "}");
    }
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

static void avgpool_forward(Emitter *e, int id)
{
    static const char *const names[] = {"x"};
    kern_pool(e, id, names, "y", NULL, "real acc = 0.0f; /* window of %lld */", "acc += x[xi];",
                "y[yi] = acc / %lld.0f;");
}

static void avgpool_backward(Emitter *e, int id)
{
    static const char *const names[] = {"dy"};
    kern_pool(e, id, names, "dx", "dx", "real d = dy[yi] / %lld.0f;", "dx[xi] += d;", "");
}

/* ---- element-wise ------------------------------------------------------------ */

/* expr with every identifier `v` replaced by x (which may be a subscript
 * or a local: no parentheses, as the formula is written for one name). */
static const char *with_operand(Arena *a, const char *expr, const char *x)
{
    size_t n = strlen(expr), nx = strlen(x), k = 0;
    char *buf = arena_alloc(a, n * (nx + 1) + 1);
    for (size_t i = 0; i < n; i++) {
        int id_before = i > 0 && (isalnum((unsigned char)expr[i - 1]) || expr[i - 1] == '_');
        int id_after = isalnum((unsigned char)expr[i + 1]) || expr[i + 1] == '_';
        if (expr[i] == 'v' && !id_before && !id_after) {
            memcpy(buf + k, x, nx);
            k += nx;
        } else {
            buf[k++] = expr[i];
        }
    }
    buf[k] = '\0';
    return buf;
}

/* relu, sigmoid, tanh: PyTorch's formulas, their records' (ops_act.c);
 * relu keeps NaN (torch.relu propagates it). */
const char *kern_elementwise_stmt(const Ir *ir, int id, const char *const *in, const char *out, int *scoped)
{
    const IrNode *n = &ir->nodes[id];
    Arena *a = ir->arena;
    int bwd = n->op == OP_GRAD;
    const char *x = in[0], *dy = in[0], *y = bwd ? in[1] : NULL;
    *scoped = 0;
    if (n->op == OP_ADD)
        return arena_printf(a, "%s = %s + %s;", out, in[0], in[1]);
    Op op = kern_fwd_op(ir, n);
    const OpImpl *r = op_impl[op];
    if (bwd && r->act_grad) {
        *scoped = 1; /* declares gv and yv */
        return arena_printf(a, "real gv = %s, yv = %s; %s = %s;", dy, y, out, r->act_grad);
    }
    if (r->epilogue) /* the formula of the fused activation, of x */
        return arena_printf(a, "%s = %s;", out, with_operand(a, r->epilogue, x));
    if (r->wiring == W_MUL) /* forward a * b; backward da = dy * b, db = dy * a */
        return arena_printf(a, "%s = %s * %s;", out, in[0], in[1]);
    *scoped = 1; /* declares v (and d) */
    const char *stmt = kern_act_stmt(ir, id, in, out);
    if (!stmt) /* op_elementwise() and the pointwise rows disagree */
        diag_internal("emit", "element-wise %s has no formula", op_info[op].name);
    return stmt;
}

/* The loop of an element-wise kernel over its len elements per sample
 * (kern_count_arg()), opened. */
static void elementwise_loop(Emitter *e, int id)
{
    if (kern_node(e, id)->batched) {
        /* elements are independent: split over threads when it pays */
        emit_par_begin(e, arena_printf(e->ir->arena, "(size_t)n * len >= %d", PARALLEL_MIN));
        emit_line(e, "for (size_t i = 0; i < (size_t)n * len; i++) {");
    } else
        emit_line(e, "(void)n;\nfor (size_t i = 0; i < len; i++) {");
}

/* The names a lone element-wise kernel gives its inputs and its output. */
static const char *const *elementwise_names(const Ir *ir, int id, const char **out)
{
    static const char *const x1[] = {"x"};
    static const char *const ab[] = {"a", "b"};
    static const char *const dyy[] = {"dy", "y"};
    static const char *const dyx[] = {"dy", "x"};
    static const char *const dyo[] = {"dy", "other"};
    const IrNode *n = &ir->nodes[id];
    *out = n->op == OP_GRAD ? "dx" : "y";
    if (n->op == OP_ADD)
        return ab;
    /* the gradient's operands are those its wiring gives it */
    switch (op_impl[kern_fwd_op(ir, n)]->wiring) {
    case W_Y:
        return n->op == OP_GRAD ? dyy : x1;
    case W_MUL:
        return n->op == OP_GRAD ? dyo : ab;
    default:
        return n->op == OP_GRAD ? dyx : x1;
    }
}

/*
 * The kernel of element-wise node id and the nodes inlined into it
 * (fuse_elementwise.c): one loop over every element, as
 * kern_elementwise(), whose body evaluates the nodes in order, each
 * intermediate in a local `real t<node>` (a block of its own when its
 * statement declares locals), the last into the output.  Each node's
 * statement is the one its own kernel would run, so the fused kernel
 * computes the same value for each element, operation for operation.
 * Operands are named x<node>.
 */
static void elementwise_kernel(Emitter *e, int id)
{
    const Ir *ir = e->ir;
    const char *out;
    const char *const *names = elementwise_names(ir, id, &out);
    int scoped, nk = ir_kernel_nodes(ir, id, NULL, 0);
    if (nk == 1) {
        const IrNode *n = kern_node(e, id);
        const char *in[2] = {NULL, NULL};
        for (int j = 0; j < n->nin && j < 2; j++)
            in[j] = arena_printf(ir->arena, "%s[i]", names[j]);
        kern_elementwise(e, id, names, out,
                         kern_elementwise_stmt(ir, id, in, arena_printf(ir->arena, "%s[i]", out), &scoped));
        return;
    }
    int *nodes = arena_alloc(ir->arena, (size_t)nk * sizeof *nodes);
    ir_kernel_nodes(ir, id, nodes, nk);
    signature(e, id, NULL, out, 1);
    elementwise_loop(e, id);
    e->indent++;
    for (int k = 0; k < nk; k++) {
        const IrNode *m = kern_node(e, nodes[k]);
        const char *in[2] = {NULL, NULL};
        for (int j = 0; j < m->nin && j < 2; j++) {
            int t = ir_inlined_input(ir, nodes[k], m->in[j]);
            in[j] = t >= 0 ? arena_printf(ir->arena, "t%d", t)
                           : arena_printf(ir->arena, "%s[i]", kern_operand_name(e, id, NULL, m->in[j]));
        }
        if (nodes[k] == id) {
            emit_line(e, "%s", kern_elementwise_stmt(ir, id, in, arena_printf(ir->arena, "%s[i]", out), &scoped));
            break;
        }
        const char *stmt = kern_elementwise_stmt(ir, nodes[k], in, arena_printf(ir->arena, "t%d", nodes[k]), &scoped);
        if (scoped) {
            emit_line(e, "real t%d;", nodes[k]);
            emit_line(e, "{ %s }", stmt);
        } else {
            emit_line(e, "real %s", stmt);
        }
    }
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

void kern_elementwise(Emitter *e, int id, const char *const *names, const char *out, const char *expr)
{
    signature(e, id, names, out, 1);
    elementwise_loop(e, id);
    emit_line(e, "    %s", expr);
    emit_line(e, "}");
    kern_end(e);
}

/* ---- softmax, log_softmax over one axis --------------------------------------- */

void kern_axis_split(const IrNode *n, int axis, ll *outer, ll *len, ll *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++)
        *outer *= n->shape.d[i];
    *len = n->shape.d[axis];
    for (int i = axis + 1; i < n->shape.rank; i++)
        *inner *= n->shape.d[i];
}

int kern_norm_axis(const IrNode *f, const char *arg)
{
    int a = (int)op_num(f->op, f->args, arg);
    return a < 0 ? a + f->shape.rank : a;
}

static void softmax_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    int log = f->op == OP_LOG_SOFTMAX;
    ll outer, len, inner;
    kern_axis_split(f, kern_norm_axis(f, "dim"), &outer, &len, &inner);
    if (n->op == OP_GRAD) {
        static const char *const names[] = {"dy", "y"};
        kern_signature(e, id, names, "dx");
    } else {
        static const char *const names[] = {"x"};
        kern_signature(e, id, names, "y");
    }
    emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++)", outer);
    emit_line(e, "for (int i = 0; i < %lld; i++) {", inner);
    e->indent++;
    emit_line(e, "size_t base = r * %lld + i;", len * inner);
    if (n->op != OP_GRAD) {
        emit_line(e, "real m = -INFINITY, sum = 0.0f;");
        emit_line(e, "for (int a = 0; a < %lld; a++)", len);
        emit_line(e, "    if (x[base + (size_t)a * %lld] > m) m = x[base + (size_t)a * %lld];", inner, inner);
        emit_line(e, "for (int a = 0; a < %lld; a++) {", len);
        emit_line(e, "    real v = EXP(x[base + (size_t)a * %lld] - m);", inner);
        if (!log)
            emit_line(e, "    y[base + (size_t)a * %lld] = v;", inner);
        emit_line(e, "    sum += v;");
        emit_line(e, "}");
        if (log) {
            emit_line(e, "real lse = LOG(sum);");
            emit_line(e, "for (int a = 0; a < %lld; a++)", len);
            emit_line(e, "    y[base + (size_t)a * %lld] = x[base + (size_t)a * %lld] - m - lse;", inner, inner);
        } else {
            emit_line(e, "real inv = 1.0f / sum;");
            emit_line(e, "for (int a = 0; a < %lld; a++)", len);
            emit_line(e, "    y[base + (size_t)a * %lld] *= inv;", inner);
        }
    } else {
        emit_line(e, "real acc = 0.0f;");
        emit_line(e, "for (int a = 0; a < %lld; a++)", len);
        if (log) {
            emit_line(e, "    acc += dy[base + (size_t)a * %lld];", inner);
            emit_line(e, "for (int a = 0; a < %lld; a++) {", len);
            emit_line(e, "    size_t k = base + (size_t)a * %lld;", inner);
            emit_line(e, "    dx[k] = dy[k] - EXP(y[k]) * acc;");
        } else {
            emit_line(e, "    acc += dy[base + (size_t)a * %lld] * y[base + (size_t)a * %lld];", inner, inner);
            emit_line(e, "for (int a = 0; a < %lld; a++) {", len);
            emit_line(e, "    size_t k = base + (size_t)a * %lld;", inner);
            emit_line(e, "    dx[k] = y[k] * (dy[k] - acc);");
        }
        emit_line(e, "}");
    }
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/* ---- concat --------------------------------------------------------------------- */

static void concat_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    int axis = kern_norm_axis(f, "axis");
    ll outer, len, inner;
    kern_axis_split(f, axis, &outer, &len, &inner);
    ll row = len * inner;
    if (n->op == OP_GRAD) {
        static const char *const names[] = {"dy"};
        ll off = 0;
        for (int k = 0; k < n->which; k++)
            off += kern_node(e, f->in[k])->shape.d[axis] * inner;
        ll chunk = kern_node(e, f->in[n->which])->shape.d[axis] * inner;
        kern_signature(e, id, names, "dx");
        emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++)", outer);
        emit_line(e, "    memcpy(dx + r * %lld, dy + r * %lld + %lld, %lld * sizeof(real));", chunk, row, off,
                  chunk);
        kern_end(e);
        return;
    }
    const char **names = arena_alloc(e->ir->arena, (size_t)n->nin * sizeof *names);
    for (int k = 0; k < n->nin; k++)
        names[k] = arena_printf(e->ir->arena, "x%d", k);
    kern_signature(e, id, names, "y");
    emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++) {", outer);
    ll off = 0;
    for (int k = 0; k < n->nin; k++) {
        ll chunk = kern_node(e, n->in[k])->shape.d[axis] * inner;
        emit_line(e, "    memcpy(y + r * %lld + %lld, x%d + r * %lld, %lld * sizeof(real));", row, off, k, chunk,
                  chunk);
        off += chunk;
    }
    emit_line(e, "}");
    kern_end(e);
}

/* ---- losses: F.mse_loss, F.cross_entropy, ... ----------------------------------- */

/* reduction = sum?  (mean, PyTorch's default, otherwise) */
static int loss_sum(const IrNode *f)
{
    return strcmp(op_arg(f->op, f->args, "reduction")->ident, "sum") == 0;
}

/* `static const real NAME[k] = {...};` for a list argument of the loss;
 * a single number is repeated k times.  0 (nothing emitted) for `none`. */
static int loss_list(Emitter *e, const IrNode *f, const char *arg, const char *name, ll k)
{
    const Value *v = op_arg(f->op, f->args, arg);
    if (v->kind != V_LIST && v->kind != V_NUM)
        return 0;
    char line[1024], fb[48];
    emit_line(e, "static const real %s[%lld] = {", name, k);
    for (ll i = 0; i < k; i += 8) {
        size_t len = 0;
        for (ll j = i; j < k && j < i + 8; j++)
            len += (size_t)snprintf(line + len, sizeof line - len, "%s, ",
                                    flit(v->kind == V_LIST ? v->list[j] : v->num, fb));
        line[len - 1] = '\0';
        emit_line(e, "    %s", line);
    }
    emit_line(e, "};");
    return 1;
}

long long kern_loss_ignore_index(const IrNode *f)
{
    if (op_arg_index(f->op, "ignore_index") < 0)
        return INT64_MIN;
    const Value *v = op_arg(f->op, f->args, "ignore_index");
    return v->is_default ? INT64_MIN : (long long)v->num;
}

/* The loop bodies of the element-wise losses (their kernel records'
 * loss_elem): d = p[i] - t[i] is declared; the forward (bwd 0) adds the
 * element's loss to acc, the backward sets dp[i] with s the reduction's
 * scale; pw: binary_cross_entropy's pos_weight[] (last of them) exists. */
static void mse_elem(Emitter *e, const IrNode *f, int bwd, int pw, ll last)
{
    (void)f, (void)pw, (void)last;
    if (bwd)
        emit_line(e, "    dp[i] = 2.0f * s * d;");
    else
        emit_line(e, "    acc += (double)(d * d);");
}

static void l1_elem(Emitter *e, const IrNode *f, int bwd, int pw, ll last)
{
    (void)f, (void)pw, (void)last;
    if (bwd)
        emit_line(e, "    dp[i] = d > 0.0f ? s : d < 0.0f ? -s : 0.0f;");
    else
        emit_line(e, "    acc += (double)(d < 0.0f ? -d : d);");
}

static void huber_elem(Emitter *e, const IrNode *f, int bwd, int pw, ll last)
{
    (void)pw, (void)last;
    char b1[48], b2[48];
    double delta = op_num(OP_HUBER, f->args, "delta");
    if (bwd) {
        emit_line(e, "    dp[i] = d < -%s ? -%s * s : d > %s ? %s * s : d * s;", flit(delta, b1), flit(delta, b1),
                  flit(delta, b1), flit(delta, b1));
    } else {
        emit_line(e, "    real a = d < 0.0f ? -d : d;");
        emit_line(e, "    acc += (double)(a < %s ? 0.5f * d * d : %s * (a - %s));", flit(delta, b1), flit(delta, b1),
                  flit(0.5 * delta, b2));
    }
}

static void bce_elem(Emitter *e, const IrNode *f, int bwd, int pw, ll last)
{
    (void)f;
    if (bwd) {
        emit_line(e, "    (void)d;");
        if (pw) {
            emit_line(e, "    real pt = pos_weight[i %% %lld] * t[i];", last);
            emit_line(e, "    dp[i] = ((pt + 1.0f - t[i]) * (1.0f / (1.0f + EXP(-p[i]))) - pt) * s;");
        } else {
            emit_line(e, "    dp[i] = (1.0f / (1.0f + EXP(-p[i])) - t[i]) * s;");
        }
        return;
    }
    emit_line(e, "    real z = p[i], m = z < 0.0f ? -z : 0.0f;");
    emit_line(e, "    (void)d;");
    if (pw) {
        emit_line(e, "    real lw = (pos_weight[i %% %lld] - 1.0f) * t[i] + 1.0f;", last);
        emit_line(e, "    acc += (double)((1.0f - t[i]) * z + lw * (m + LOG(EXP(-m) + EXP(-z - m))));");
    } else {
        emit_line(e, "    acc += (double)((1.0f - t[i]) * z + m + LOG(EXP(-m) + EXP(-z - m)));");
    }
}

/*
 * The element-wise losses over every element of the batch, then the mean
 * (divided by n times the elements per sample) or the sum:
 *   mse   (p - t)^2                                  F.mse_loss
 *   l1    |p - t|, gradient sign(p - t)              F.l1_loss
 *   huber 0.5 d^2 if |d| < delta, else delta (|d| - 0.5 delta)   F.huber_loss
 *   binary_cross_entropy from logits z, with lw = (pos_weight - 1) t + 1:
 *         (1 - t) z + lw (m + log(exp(-m) + exp(-z - m))), m = max(-z, 0),
 *         gradient sigmoid(z) - t, with pos_weight
 *         (pos_weight t + 1 - t) sigmoid(z) - pos_weight t
 *         (F.binary_cross_entropy_with_logits and its backward, torch 1.13;
 *         pos_weight broadcast over the last dimension)
 */
static void pointwise_loss_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    const IrNode *pn = kern_node(e, f->in[0]);
    ll N = kern_numel(pn);
    ll last = pn->shape.rank ? pn->shape.d[pn->shape.rank - 1] : 1;
    static const char *const names[] = {"p", "t"};
    int sum = loss_sum(f);
    kern_signature(e, id, names, n->op == OP_GRAD ? "dp" : "loss");
    int pw = f->op == OP_BINARY_CROSS_ENTROPY && loss_list(e, f, "pos_weight", "pos_weight", last);
    if (n->op == OP_GRAD) {
        if (sum)
            emit_line(e, "real s = 1.0f; /* reduction = sum */");
        else
            emit_line(e, "real s = 1.0f / (real)((size_t)n * %lld);", N);
        emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
        emit_line(e, "    real d = p[i] - t[i];");
        kern_ops[f->op]->loss_elem(e, f, 1, pw, last);
        emit_line(e, "}");
    } else {
        emit_line(e, "double acc = 0.0;");
        emit_line(e, "for (size_t i = 0; i < (size_t)n * %lld; i++) {", N);
        emit_line(e, "    real d = p[i] - t[i];");
        kern_ops[f->op]->loss_elem(e, f, 0, pw, last);
        emit_line(e, "}");
        if (sum)
            emit_line(e, "loss[0] = (real)acc; /* reduction = sum */");
        else
            emit_line(e, "loss[0] = (real)(acc / ((double)n * %lld.0));", N);
    }
    kern_end(e);
}

/*
 * The denominator of a class loss's mean, as F.nll_loss has it: the sum
 * of w[y] over the samples not ignored (their count without weights), so
 * a weighted mean; 1 for reduction = sum.  Emits `double den`.
 */
static void class_loss_den(Emitter *e, const IrNode *f, int weighted, long long ii)
{
    if (loss_sum(f)) {
        emit_line(e, "double den = 1.0; /* reduction = sum */");
        return;
    }
    if (!weighted && ii == INT64_MIN) {
        emit_line(e, "double den = (double)n;");
        return;
    }
    emit_line(e, "double den = 0.0;");
    emit_line(e, "for (int s = 0; s < n; s++)");
    if (ii != INT64_MIN)
        emit_line(e, "    if (t[s] != %lld)", ii);
    emit_line(e, "    %sden += %s;", ii != INT64_MIN ? "    " : "", weighted ? "(double)w[t[s]]" : "1.0");
}

/* nll from log-probabilities lp [n, K] and class labels:
 * -sum_s w[y_s] lp[s, y_s] / den (class_loss_den), samples labelled
 * ignore_index left out (F.nll_loss). */
static void nll_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    ll K = kern_node(e, f->in[0])->shape.d[0];
    long long ii = kern_loss_ignore_index(f);
    static const char *const names[] = {"lp", "t"};
    kern_signature(e, id, names, n->op == OP_GRAD ? "dlp" : "loss");
    int weighted = loss_list(e, f, "weight", "w", K);
    class_loss_den(e, f, weighted, ii);
    const char *wy = weighted ? "(real)w[t[s]]" : "1.0f";
    if (n->op == OP_GRAD) {
        emit_line(e, "(void)lp;");
        kern_zero(e, "dlp", n);
        emit_line(e, "real inv = (real)(1.0 / den);");
        emit_line(e, "for (int s = 0; s < n; s++)");
        if (ii != INT64_MIN)
            emit_line(e, "    if (t[s] != %lld)", ii);
        emit_line(e, "    %sdlp[(size_t)s * %lld + t[s]] = -%s * inv;", ii != INT64_MIN ? "    " : "", K, wy);
    } else {
        emit_line(e, "double acc = 0.0;");
        emit_line(e, "for (int s = 0; s < n; s++)");
        if (ii != INT64_MIN)
            emit_line(e, "    if (t[s] != %lld)", ii);
        if (weighted)
            emit_line(e, "    %sacc -= (double)(w[t[s]] * lp[(size_t)s * %lld + t[s]]);", ii != INT64_MIN ? "    " : "",
                      K);
        else
            emit_line(e, "    %sacc -= (double)lp[(size_t)s * %lld + t[s]];", ii != INT64_MIN ? "    " : "", K);
        emit_line(e, "loss[0] = (real)(acc / den);");
    }
    kern_end(e);
}

/*
 * cross_entropy from logits z [n, K] (F.cross_entropy, torch 1.13): per
 * sample, lse = log sum exp z, eps the label smoothing, w the class
 * weights (all 1 without `weight`), W = sum_k w_k;
 * class target y (skipped when it is ignore_index):
 *   (1 - eps) w_y (lse - z_y) + eps/K sum_k w_k (lse - z_k),
 *   summed and divided by den (class_loss_den: sum of w_y, the weighted
 *   mean, for both terms as PyTorch does), gradient
 *   ((1 - eps) w_y (p_k - [k = y]) + eps/K (W p_k - w_k)) / den;
 * probabilities t: sum_k c_k (lse - z_k), c_k = w_k ((1 - eps) t_k + eps/K),
 *   divided by n (mean) or 1 (sum), gradient (p_k sum_k c_k - c_k) / n.
 */
static void cross_entropy_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    const IrNode *t = kern_node(e, f->in[1]);
    int cls = t->dtype == DT_CLASS;
    ll K = kern_node(e, f->in[0])->shape.d[0];
    double eps = op_num(OP_CROSS_ENTROPY, f->args, "label_smoothing");
    long long ii = cls ? kern_loss_ignore_index(f) : INT64_MIN;
    int sum = loss_sum(f);
    char b1[48], b2[48];
    static const char *const names[] = {"z", "t"};
    kern_signature(e, id, names, n->op == OP_GRAD ? "dz" : "loss");
    int weighted = loss_list(e, f, "weight", "w", K);
    double W = 0;
    for (ll k = 0; k < K; k++) {
        const Value *v = op_arg(f->op, f->args, "weight");
        W += weighted ? v->list[k] : 1.0;
    }
    int skip = ii != INT64_MIN;
    if (cls)
        class_loss_den(e, f, weighted, ii);
    if (n->op != OP_GRAD)
        emit_line(e, "double total = 0.0;");
    else if (cls)
        emit_line(e, "real inv_n = (real)(1.0 / den);");
    else
        emit_line(e, "real inv_n = %s;", sum ? "1.0f; /* reduction = sum */" : "1.0f / (real)n;");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    if (skip && n->op == OP_GRAD) {
        emit_line(e, "if (t[s] == %lld) {", ii);
        emit_line(e, "    memset(dz + (size_t)s * %lld, 0, %lld * sizeof(real));", K, K);
        emit_line(e, "    continue;");
        emit_line(e, "}");
    } else if (skip) {
        emit_line(e, "if (t[s] == %lld)", ii);
        emit_line(e, "    continue;");
    }
    emit_line(e, "const real *zs = z + (size_t)s * %lld;", K);
    emit_line(e, "real m = -INFINITY, sum = 0.0f;");
    emit_line(e, "for (int k = 0; k < %lld; k++)", K);
    emit_line(e, "    if (zs[k] > m) m = zs[k];");
    emit_line(e, "for (int k = 0; k < %lld; k++)", K);
    emit_line(e, "    sum += EXP(zs[k] - m);");
    emit_line(e, "real lse = m + LOG(sum);");
    if (n->op != OP_GRAD) {
        if (cls) {
            emit_line(e, "real nll = %s(lse - zs[t[s]]);", weighted ? "w[t[s]] * " : "");
            if (eps != 0) {
                emit_line(e, "real smooth = 0.0f;");
                emit_line(e, "for (int k = 0; k < %lld; k++)", K);
                emit_line(e, "    smooth += %s(lse - zs[k]);", weighted ? "w[k] * " : "");
                emit_line(e, "total += (double)(%s * nll + %s * smooth);", flit(1 - eps, b1), flit(eps / (double)K, b2));
            } else {
                emit_line(e, "total += (double)nll;");
            }
        } else {
            emit_line(e, "const real *ts = t + (size_t)s * %lld;", K);
            emit_line(e, "real acc = 0.0f;");
            emit_line(e, "for (int k = 0; k < %lld; k++)", K);
            if (eps != 0)
                emit_line(e, "    acc += %s(ts[k] * %s + %s) * (lse - zs[k]);", weighted ? "w[k] * " : "",
                          flit(1 - eps, b1), flit(eps / (double)K, b2));
            else
                emit_line(e, "    acc += %sts[k] * (lse - zs[k]);", weighted ? "w[k] * " : "");
            emit_line(e, "total += (double)acc;");
        }
    } else {
        emit_line(e, "real *dzs = dz + (size_t)s * %lld;", K);
        if (cls && !weighted) {
            emit_line(e, "for (int k = 0; k < %lld; k++)", K);
            emit_line(e, "    dzs[k] = (EXP(zs[k] - lse) - %s) * inv_n;", eps != 0 ? flit(eps / (double)K, b2) : "0.0f");
            emit_line(e, "dzs[t[s]] -= %s * inv_n;", flit(1 - eps, b1));
        } else if (cls) {
            /* p_k ((1 - eps) w_y + eps/K W) - eps/K w_k - (1 - eps) w_y [k = y] */
            emit_line(e, "real wy = %s * w[t[s]];", flit(1 - eps, b1));
            emit_line(e, "real pk = wy + %s;", flit(eps / (double)K * W, b2));
            emit_line(e, "for (int k = 0; k < %lld; k++)", K);
            if (eps != 0)
                emit_line(e, "    dzs[k] = (EXP(zs[k] - lse) * pk - %s * w[k]) * inv_n;", flit(eps / (double)K, b2));
            else
                emit_line(e, "    dzs[k] = EXP(zs[k] - lse) * pk * inv_n;");
            emit_line(e, "dzs[t[s]] -= wy * inv_n;");
        } else {
            const char *wk = weighted ? "w[k] * " : "";
            emit_line(e, "const real *ts = t + (size_t)s * %lld;", K);
            emit_line(e, "real tsum = 0.0f;");
            emit_line(e, "for (int k = 0; k < %lld; k++)", K);
            emit_line(e, "    tsum += %s(ts[k] * %s + %s);", wk, flit(1 - eps, b1), flit(eps / (double)K, b2));
            emit_line(e, "for (int k = 0; k < %lld; k++)", K);
            emit_line(e, "    dzs[k] = (EXP(zs[k] - lse) * tsum - %s(ts[k] * %s + %s)) * inv_n;", wk, flit(1 - eps, b1),
                      flit(eps / (double)K, b2));
        }
    }
    e->indent--;
    emit_line(e, "}");
    if (n->op != OP_GRAD) {
        if (cls)
            emit_line(e, "loss[0] = (real)(total / den);");
        else if (sum)
            emit_line(e, "loss[0] = (real)total; /* reduction = sum */");
        else
            emit_line(e, "loss[0] = (real)(total / (double)n);");
    }
    kern_end(e);
}

/* ---- optimizer updates: torch.optim, one loop per parameter tensor ---------- */

/* Elements of a parameter a thread updates at a time (a multiple of every
 * vector width), and the fewest worth splitting over the threads (an
 * OpenMP region costs about 0.8 us here, Adam about 2 ns an element). */
#define UPDATE_CHUNK 8192
#define UPDATE_PAR_MIN 4096

/* The update rules, one per optimizer (the kernel records' update):
 * the loop from u->lo to u->hi over p, g and the states. */
static void sgd_update(Emitter *e, const KernUpdate *u)
{
    Op op = u->op;
    const Value *a = u->args;
    double wd = u->wd;
    const char *lo = u->lo, *hi = u->hi;
    char b1[48], b2[48];
    double mom = op_num(op, a, "momentum"), damp = op_num(op, a, "dampening");
    int nesterov = op_num(op, a, "nesterov") != 0;
    emit_line(e, "real lrf = (real)lr;");
    emit_line(e, "(void)t;");
    emit_line(e, "for (int i = %s; i < %s; i++) {", lo, hi);
    emit_line(e, "    real d = g[i]%s;", wd != 0 ? arena_printf(e->ir->arena, " + %s * p[i]", flit(wd, b1)) : "");
    if (mom != 0) {
        emit_line(e, "    momentum_buffer[i] = t == 1 ? d : %s * momentum_buffer[i] + %s * d;", flit(mom, b1),
                  flit(1 - damp, b2));
        if (nesterov)
            emit_line(e, "    d = d + %s * momentum_buffer[i];", flit(mom, b1));
        else
            emit_line(e, "    d = momentum_buffer[i];");
    }
    emit_line(e, "    p[i] -= lrf * d;");
    emit_line(e, "}");
}

static void adam_update(Emitter *e, const KernUpdate *u)
{
    Op op = u->op;
    const Value *a = u->args;
    double wd = u->wd;
    const char *lo = u->lo, *hi = u->hi;
    char b1[48], b2[48], b3[48], b4[48];
    double be1 = op_num(op, a, "beta1"), be2 = op_num(op, a, "beta2"), eps = op_num(op, a, "eps");
    int ams = op == OP_OPT_ADAM && op_num(op, a, "amsgrad") != 0;
    emit_line(e, "/* bias corrections in double, as torch.optim computes them in Python */");
    emit_line(e, "double bc1 = 1.0 - pow(%.17g, (double)t);", be1);
    emit_line(e, "double bc2 = 1.0 - pow(%.17g, (double)t);", be2);
    emit_line(e, "real step_size = (real)(lr / bc1);");
    emit_line(e, "real bc2_sqrt = (real)sqrt(bc2);");
    if (op == OP_OPT_ADAMW && wd != 0)
        emit_line(e, "real decay = (real)(1.0 - lr * %.17g);", wd);
    emit_line(e, "int i0 = %s;", lo);
    if (!ams) {
        /* the same operations on vectors (square roots by the ISA's
         * instruction: sqrtf() is not vectorized where it may set errno) */
        emit_line(e, "#ifdef NNC_VSQRT");
        emit_line(e, "for (; i0 + NNC_VSQRT <= %s; i0 += NNC_VSQRT) {", hi);
        emit_line(e, "    vsq P, G, M, V;");
        emit_line(e, "    memcpy(&P, p + i0, sizeof P);");
        emit_line(e, "    memcpy(&G, g + i0, sizeof G);");
        emit_line(e, "    memcpy(&M, exp_avg + i0, sizeof M);");
        emit_line(e, "    memcpy(&V, exp_avg_sq + i0, sizeof V);");
        if (op == OP_OPT_ADAMW && wd != 0)
            emit_line(e, "    P *= decay;");
        emit_line(e, "    vsq d = G%s;", op == OP_OPT_ADAM && wd != 0 ? arena_printf(e->ir->arena, " + %s * P", flit(wd, b1)) : "");
        emit_line(e, "    M = M * %s + d * %s;", flit(be1, b1), flit(1 - be1, b2));
        emit_line(e, "    V = V * %s + d * d * %s;", flit(be2, b3), flit(1 - be2, b4));
        emit_line(e, "    vsq denom = VSQRT(V) / bc2_sqrt + %s;", flit(eps, b1));
        emit_line(e, "    P -= step_size * (M / denom);");
        emit_line(e, "    memcpy(p + i0, &P, sizeof P);");
        emit_line(e, "    memcpy(exp_avg + i0, &M, sizeof M);");
        emit_line(e, "    memcpy(exp_avg_sq + i0, &V, sizeof V);");
        emit_line(e, "}");
        emit_line(e, "#endif");
    }
    emit_line(e, "for (int i = i0; i < %s; i++) {", hi);
    if (op == OP_OPT_ADAMW && wd != 0)
        emit_line(e, "    p[i] *= decay;");
    emit_line(e, "    real d = g[i]%s;",
              op == OP_OPT_ADAM && wd != 0 ? arena_printf(e->ir->arena, " + %s * p[i]", flit(wd, b1)) : "");
    emit_line(e, "    exp_avg[i] = exp_avg[i] * %s + d * %s;", flit(be1, b1), flit(1 - be1, b2));
    emit_line(e, "    exp_avg_sq[i] = exp_avg_sq[i] * %s + d * d * %s;", flit(be2, b3), flit(1 - be2, b4));
    if (ams) {
        emit_line(e, "    if (exp_avg_sq[i] > max_exp_avg_sq[i]) max_exp_avg_sq[i] = exp_avg_sq[i];");
        emit_line(e, "    real denom = SQRT(max_exp_avg_sq[i]) / bc2_sqrt + %s;", flit(eps, b1));
    } else {
        emit_line(e, "    real denom = SQRT(exp_avg_sq[i]) / bc2_sqrt + %s;", flit(eps, b1));
    }
    emit_line(e, "    p[i] -= step_size * (exp_avg[i] / denom);");
    emit_line(e, "}");
}

static void adagrad_update(Emitter *e, const KernUpdate *u)
{
    Op op = u->op;
    const Value *a = u->args;
    double wd = u->wd;
    const char *lo = u->lo, *hi = u->hi;
    char b1[48], b2[48];
    double lrd = op_num(op, a, "lr_decay"), eps = op_num(op, a, "eps");
    emit_line(e, "real clr = (real)(lr / (1.0 + (double)(t - 1) * %.17g));", lrd);
    emit_line(e, "for (int i = %s; i < %s; i++) {", lo, hi);
    emit_line(e, "    real d = g[i]%s;", wd != 0 ? arena_printf(e->ir->arena, " + %s * p[i]", flit(wd, b1)) : "");
    emit_line(e, "    sum[i] += d * d;");
    emit_line(e, "    p[i] -= clr * d / (SQRT(sum[i]) + %s);", flit(eps, b2));
    emit_line(e, "}");
}

static void rmsprop_update(Emitter *e, const KernUpdate *u)
{
    Op op = u->op;
    const Value *a = u->args;
    double wd = u->wd;
    const char *lo = u->lo, *hi = u->hi;
    char b1[48], b2[48], b3[48], b4[48];
    double al = op_num(op, a, "alpha"), eps = op_num(op, a, "eps"), mom = op_num(op, a, "momentum");
    int centered = op_num(op, a, "centered") != 0;
    emit_line(e, "real lrf = (real)lr;");
    emit_line(e, "(void)t;");
    emit_line(e, "for (int i = %s; i < %s; i++) {", lo, hi);
    emit_line(e, "    real d = g[i]%s;", wd != 0 ? arena_printf(e->ir->arena, " + %s * p[i]", flit(wd, b1)) : "");
    emit_line(e, "    square_avg[i] = square_avg[i] * %s + d * d * %s;", flit(al, b1), flit(1 - al, b2));
    if (centered) {
        emit_line(e, "    grad_avg[i] = grad_avg[i] * %s + d * %s;", flit(al, b1), flit(1 - al, b2));
        emit_line(e, "    real avg = SQRT(square_avg[i] - grad_avg[i] * grad_avg[i]) + %s;", flit(eps, b3));
    } else {
        emit_line(e, "    real avg = SQRT(square_avg[i]) + %s;", flit(eps, b3));
    }
    if (mom > 0) {
        emit_line(e, "    momentum_buffer[i] = momentum_buffer[i] * %s + d / avg;", flit(mom, b4));
        emit_line(e, "    p[i] -= lrf * momentum_buffer[i];");
    } else {
        emit_line(e, "    p[i] -= lrf * d / avg;");
    }
    emit_line(e, "}");
}

static void adadelta_update(Emitter *e, const KernUpdate *u)
{
    Op op = u->op;
    const Value *a = u->args;
    double wd = u->wd;
    const char *lo = u->lo, *hi = u->hi;
    char b1[48], b2[48], b3[48];
    double rho = op_num(op, a, "rho"), eps = op_num(op, a, "eps");
    emit_line(e, "real lrf = (real)lr;");
    emit_line(e, "(void)t;");
    emit_line(e, "for (int i = %s; i < %s; i++) {", lo, hi);
    emit_line(e, "    real d = g[i]%s;", wd != 0 ? arena_printf(e->ir->arena, " + %s * p[i]", flit(wd, b1)) : "");
    emit_line(e, "    square_avg[i] = square_avg[i] * %s + d * d * %s;", flit(rho, b1), flit(1 - rho, b2));
    emit_line(e, "    real std = SQRT(square_avg[i] + %s);", flit(eps, b3));
    emit_line(e, "    real delta = SQRT(acc_delta[i] + %s) / std * d;", flit(eps, b3));
    emit_line(e, "    acc_delta[i] = acc_delta[i] * %s + delta * delta * %s;", flit(rho, b1), flit(1 - rho, b2));
    emit_line(e, "    p[i] -= lrf * delta;");
    emit_line(e, "}");
}

static void update_kernel(Emitter *e, int id)
{
    const IrNode *u = kern_node(e, id);
    const Value *opt = e->ir->optimizer;
    const Value *a = opt->args;
    Op op = opt->op;
    ll N = kern_numel(u);
    char kn[KERN_NAME_MAX];
    const char *states[8];
    int ns = ad_optimizer_states(opt, states);
    emit_line(e, "static void %s(double lr, int64_t t, int len, real *restrict p,", kern_name(e->ir, id, kn, sizeof kn));
    emit_line(e, "    const real *restrict g%s", ns ? "," : ")");
    for (int s = 0; s < ns; s++)
        emit_line(e, "    real *restrict %s%s", states[s], s + 1 < ns ? "," : ")");
    emit_line(e, "{");
    e->indent++;
    double wd = op_arg_index(op, "weight_decay") >= 0 ? op_num(op, a, "weight_decay") : 0;
    /* Large tensors in chunks over the threads: every element's update is
     * independent, and the vector and plain loops give the same bits, so
     * the split changes nothing. */
    const char *lo = "0", *hi = "len";
    int chunked = e->ir->threads > 1 && N >= UPDATE_PAR_MIN;
    if (chunked) {
        /* at most UPDATE_CHUNK, and no fewer chunks than threads */
        ll per = (N + e->ir->threads - 1) / e->ir->threads, chunk = per < UPDATE_CHUNK ? (per + 63) / 64 * 64 : UPDATE_CHUNK;
        lo = "c0";
        hi = "c1";
        emit_line(e, "NNC_PARALLEL_FOR");
        emit_line(e, "for (int c0 = 0; c0 < len; c0 += %lld) {", chunk);
        e->indent++;
        emit_line(e, "int c1 = c0 + %lld < len ? c0 + %lld : len;", chunk, chunk);
    }
    KernUpdate up = {op, a, wd, lo, hi};
    if (!kern_ops[op]->update)
        diag_internal("emit", "no update rule for %s", op_info[op].name);
    kern_ops[op]->update(e, &up);
    if (chunked) {
        e->indent--;
        emit_line(e, "}");
    }
    e->indent--;
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

/* Forward, dx and dW, or db (dense, conv2d). */
static void dense_define(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    if (n->op != OP_GRAD)
        dense_forward(e, id);
    else if (n->which == 2)
        bias_backward(e, id);
    else
        dense_backward(e, id);
}

static void conv2d_define(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    if (n->op != OP_GRAD)
        conv_forward(e, id);
    else if (n->which == 2)
        kern_conv_db(e, id);
    else
        conv_backward(e, id);
}

/* The forward of a maxpool with its convolution inlined
 * (fuse_conv_pool.c) is the direct convolution's. */
static void maxpool_define(Emitter *e, int id)
{
    if (kern_node(e, id)->op == OP_GRAD)
        maxpool_backward(e, id);
    else if (fuse_conv_pool_conv(e->ir, id) >= 0)
        kern_conv_pool_direct(e, id);
    else
        maxpool_forward(e, id);
}

static void avgpool_define(Emitter *e, int id)
{
    if (kern_node(e, id)->op == OP_GRAD)
        avgpool_backward(e, id);
    else
        avgpool_forward(e, id);
}

void kern_define(Emitter *e, int id)
{
    if (ir_elementwise(e->ir, id)) {
        elementwise_kernel(e, id);
        return;
    }
    Op op = kern_fwd_op(e->ir, kern_node(e, id));
    if (!kern_ops[op]->define)
        diag_internal("emit", "no kernel for %s", op_info[op].name);
    kern_ops[op]->define(e, id);
}

/* The kernel records of this family (kernels.h).  relu, sigmoid, tanh,
 * add and mul are element-wise: kern_elementwise_stmt() writes them. */
#define ROW(id, fn) const KernOp kern_op_##id = {.op = OP_##id, .supported = 1, .define = fn}
ROW(DENSE, dense_define);
ROW(CONV2D, conv2d_define);
ROW(RELU, NULL);
ROW(SIGMOID, NULL);
ROW(TANH, NULL);
ROW(ADD, NULL);
ROW(MUL, NULL);
ROW(SOFTMAX, softmax_kernel);
ROW(LOG_SOFTMAX, softmax_kernel);
ROW(MAXPOOL, maxpool_define);
ROW(AVGPOOL, avgpool_define);
ROW(FLATTEN, NULL); /* views */
ROW(RESHAPE, NULL);
ROW(CONCAT, concat_kernel);
#define LOSS_ROW(id, fn) \
    const KernOp kern_op_##id = {.op = OP_##id, .supported = 1, .define = pointwise_loss_kernel, .loss_elem = fn}
LOSS_ROW(MSE, mse_elem);
LOSS_ROW(L1, l1_elem);
LOSS_ROW(HUBER, huber_elem);
LOSS_ROW(BINARY_CROSS_ENTROPY, bce_elem);
#undef LOSS_ROW
ROW(NLL, nll_kernel);
ROW(CROSS_ENTROPY, cross_entropy_kernel);
ROW(INPUT, NULL); /* values the caller passes, or the arena holds */
ROW(TARGET, NULL);
ROW(PARAM, NULL);
ROW(STATE, NULL);
ROW(UPDATE, update_kernel);
#undef ROW

/* The optimizers: an update node's kernel (update_kernel) runs the rule. */
const KernOp kern_op_OPT_SGD = {.op = OP_OPT_SGD, .update = sgd_update};
const KernOp kern_op_OPT_ADAM = {.op = OP_OPT_ADAM, .update = adam_update};
const KernOp kern_op_OPT_ADAMW = {.op = OP_OPT_ADAMW, .update = adam_update};
const KernOp kern_op_OPT_ADAGRAD = {.op = OP_OPT_ADAGRAD, .update = adagrad_update};
const KernOp kern_op_OPT_RMSPROP = {.op = OP_OPT_RMSPROP, .update = rmsprop_update};
const KernOp kern_op_OPT_ADADELTA = {.op = OP_OPT_ADADELTA, .update = adadelta_update};

double kern_flops(const Ir *ir, int id)
{
    const IrNode *n = &ir->nodes[id];
    if (n->op == OP_PARAM || n->op == OP_INPUT || n->op == OP_TARGET || n->phase != PH_FORWARD)
        return 0;
    double out = (double)kern_numel(n);
    if (!op_impl[n->op]->flops)
        return out;
    const IrNode *x = n->nin > 0 ? &ir->nodes[n->in[0]] : NULL;
    OpDims d = {out, x ? (double)kern_numel(x) : 0, x && x->shape.rank > 0 ? (double)x->shape.d[0] : 0};
    return op_impl[n->op]->flops(n->op, n->args, &d);
}
