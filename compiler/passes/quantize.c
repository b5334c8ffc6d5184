/*
 * quantize.c: the int8 graph of nnc --quantize int8 (quantize.h).
 *
 * Assumes the inference IR after lower_1d and fold_batchnorm, before any
 * fusion (main.c runs no other optional pass with --quantize), with the
 * weights as constants (every parameter's IrNode.value).  Guarantees every node the output needs has a
 * QuantKind, every int8 value a scale and zero point from the weights
 * file, and the sizes of its kernels' scratch; memplan.c places the buffers
 * (mem_plan_int8(), called by the driver after quant_plan()).
 *
 * The arithmetic is TensorFlow Lite's int8 scheme, written out in
 * docs/quantization.md; tests/quant/qref.py is its NumPy reference, and
 * the weights, biases and multipliers computed here equal its to the bit
 * (tests/quant/run.sh checks).
 *
 * Which range a value takes: its own (NAME.scale / NAME.zero_point in the
 * weights file); a value whose only reader is a maxpool or a view shares
 * that reader's (TFLite's maxpool and reshape keep their input's scale and
 * zero point, and the training program's fused conv + relu + maxpool
 * kernel never holds the relu's value, so calibration measures the pool's).
 */
#include "quantize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_algo.h"

void quant_multiplier(double m, int32_t *mult, int32_t *shift)
{
    int e = 0;
    if (m <= 0) {
        *mult = 0;
        *shift = 0;
        return;
    }
    double q = frexp(m, &e);
    int64_t qf = (int64_t)round(q * 2147483648.0); /* round(): half away from zero, as TfLiteRound */
    if (qf == ((int64_t)1 << 31)) {
        qf /= 2;
        e++;
    }
    if (e < -31) {
        e = 0;
        qf = 0;
    }
    *mult = (int32_t)qf;
    *shift = e;
}

/* An int8 value of float x at (scale, zp), as TFLite's quantize rounds
 * it: round(x / scale) half away from zero, plus zp, saturated. */
static int32_t quant_value(double x, double scale, int32_t zp)
{
    double q = round(x / scale) + zp;
    return q < -128 ? -128 : q > 127 ? 127 : (int32_t)q;
}

/* The range of the value called name; a conv2d/dense with a batchnorm
 * folded into it is "conv+bn" (fold_batchnorm.c), and its value is the
 * batchnorm's, which calibration measured under the batchnorm's name. */
static const QuantRange *find_range(const QuantRange *r, int n, const char *name)
{
    const char *plus = name ? strrchr(name, '+') : NULL;
    for (int i = 0; name && i < n; i++)
        if (strcmp(r[i].name, plus ? plus + 1 : name) == 0)
            return &r[i];
    return NULL;
}

static int is_view(Op op)
{
    return op == OP_FLATTEN || op == OP_RESHAPE || op == OP_DROPOUT;
}

/* Operators whose int8 output keeps their input's scale and zero point. */
static int shares_range(Op op)
{
    return op == OP_MAXPOOL || op == OP_AVGPOOL || op == OP_GLOBAL_AVGPOOL || is_view(op);
}

static int is_clamp(Op op)
{
    return op == OP_RELU || op == OP_RELU6 || op == OP_HARDTANH;
}

/* Operators that run in float between a dequantize and a quantize
 * (kernels_int8.c writes them). */
static int float_ok(Op op)
{
    return op == OP_SOFTMAX || op == OP_LOG_SOFTMAX || op == OP_SIGMOID || op == OP_TANH || op == OP_RELU ||
           op == OP_RELU6 || op == OP_HARDTANH;
}

/* The readers of each node among the needed ones: count and the last. */
typedef struct Readers {
    int *count, *one;
} Readers;

/* The range value v takes (the file comment): its own, or its only
 * reader's when that is a maxpool or a view. */
static const QuantRange *range_of(const Ir *ir, const Readers *rd, int v, const QuantRange *r, int nr)
{
    for (;;) {
        const QuantRange *q = find_range(r, nr, ir->nodes[v].name);
        if (q)
            return q;
        if (rd->count[v] != 1 || v == ir->output)
            return NULL;
        int u = rd->one[v];
        if (!shares_range(ir->nodes[u].op))
            return NULL;
        v = u;
    }
}

/* Quantize a dense or conv2d's weights, bias and multipliers into q. */
static void quant_layer(const Ir *ir, int id, QuantNode *q, float s_in, int32_t z_in)
{
    const IrNode *n = &ir->nodes[id];
    const IrNode *w = &ir->nodes[n->in[1]];
    const float *wv = w->value;
    const float *bv = n->nin > 2 ? ir->nodes[n->in[2]].value : NULL;
    /* the driver loads every parameter before compile_back */
    if (!wv || (n->nin > 2 && !bv))
        diag_internal("quantize", "the parameters of node %%%d (%s) have no values", id, op_info[n->op].name);
    q->nout = (int)w->shape.d[0];
    q->wlen = shape_numel(&w->shape) / q->nout;
    q->w = malloc((size_t)(q->nout * q->wlen));
    q->bias = malloc((size_t)q->nout * sizeof *q->bias);
    q->bias_zp = malloc((size_t)q->nout * sizeof *q->bias_zp);
    q->mult = malloc((size_t)q->nout * sizeof *q->mult);
    q->shift = malloc((size_t)q->nout * sizeof *q->shift);
    q->w_scale = malloc((size_t)q->nout * sizeof *q->w_scale);
    for (int c = 0; c < q->nout; c++) {
        const float *row = wv + (int64_t)c * q->wlen;
        double maxabs = 0;
        for (int64_t i = 0; i < q->wlen; i++)
            if (fabs(row[i]) > maxabs)
                maxabs = fabs(row[i]);
        /* symmetric, [-127, 127]; a channel of zeros keeps scale 1 */
        float sw = maxabs > 0 ? (float)(maxabs / 127.0) : 1.0f;
        q->w_scale[c] = sw;
        for (int64_t i = 0; i < q->wlen; i++) {
            double v = round((double)row[i] / sw);
            q->w[c * q->wlen + i] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
        }
        double sb = (double)s_in * sw;
        double b = bv ? round((double)bv[c] / sb) : 0;
        q->bias[c] = b < -2147483648.0 ? INT32_MIN : b > 2147483647.0 ? INT32_MAX : (int32_t)b;
        /* sum (x - z_in) w = sum x w - z_in sum w, exactly: the kernels
         * add the second term from here */
        int64_t sw_sum = 0;
        for (int64_t i = 0; i < q->wlen; i++)
            sw_sum += q->w[c * q->wlen + i];
        q->bias_zp[c] = (int32_t)((int64_t)q->bias[c] - (int64_t)z_in * sw_sum);
        int32_t sh;
        quant_multiplier(sb / q->scale, &q->mult[c], &sh);
        q->shift[c] = (int8_t)sh;
    }
}

/* TFLite's int8 add (reference_ops::Add, kernels/add.cc): both inputs
 * shifted left 20 bits and scaled to 2 max(s1, s2), summed, scaled to the
 * output. */
static void quant_add(QuantNode *q, float s1, float s2)
{
    double twice = 2.0 * (s1 > s2 ? s1 : s2);
    q->nout = 3;
    q->mult = malloc(3 * sizeof *q->mult);
    q->shift = malloc(3);
    double m[3] = {s1 / twice, s2 / twice, twice / ((double)(1 << 20) * q->scale)};
    for (int k = 0; k < 3; k++) {
        int32_t sh;
        quant_multiplier(m[k], &q->mult[k], &sh);
        q->shift[k] = (int8_t)sh;
    }
}

/* concat: input k's int8 to the output's scale, m = s_k / s_out. */
static void quant_concat(const Ir *ir, const QuantPlan *p, int id, QuantNode *q)
{
    const IrNode *n = &ir->nodes[id];
    q->nout = n->nin;
    q->mult = malloc((size_t)n->nin * sizeof *q->mult);
    q->shift = malloc((size_t)n->nin);
    for (int k = 0; k < n->nin; k++) {
        int32_t sh;
        quant_multiplier((double)p->q[p->q[n->in[k]].root].scale / q->scale, &q->mult[k], &sh);
        q->shift[k] = (int8_t)sh;
    }
}

/* The clamp of activation node a (relu, relu6, hardtanh) on q's scale. */
static void quant_clamp(const Ir *ir, int a, QuantNode *q)
{
    const IrNode *n = &ir->nodes[a];
    double lo = 0, hi = INFINITY;
    if (n->op == OP_RELU6)
        hi = 6;
    if (n->op == OP_HARDTANH) {
        lo = op_num(OP_HARDTANH, n->args, "min_val");
        hi = op_num(OP_HARDTANH, n->args, "max_val");
    }
    int32_t qlo = quant_value(lo, q->scale, q->zero_point);
    int32_t qhi = isinf(hi) ? 127 : quant_value(hi, q->scale, q->zero_point);
    if (qlo > q->act_min)
        q->act_min = qlo;
    if (qhi < q->act_max)
        q->act_max = qhi;
}

int64_t quant_pad_plane(const IrNode *conv, const IrNode *x, int64_t *hp, int64_t *wp)
{
    Conv c = conv_geometry(conv, x);
    int64_t eh = (c.OH - 1) * c.SH + (c.KH - 1) * c.DH + 1, ew = (c.OW - 1) * c.SW + (c.KW - 1) * c.DW + 1;
    *hp = eh > c.PT + c.H ? eh : c.PT + c.H;
    *wp = ew > c.PL + c.W ? ew : c.PL + c.W;
    if (c.PT == 0 && c.PL == 0 && eh <= c.H && ew <= c.W)
        return 0; /* every window inside the input */
    return c.C * *hp * *wp <= QUANT_PAD_MAX ? c.C * *hp * *wp : 0;
}

QuantPlan *quant_plan(const Ir *ir, const QuantRange *ranges, int nranges,
                      const char *wpath, char *why, size_t whysize)
{
    int n = ir->n;
    QuantPlan *p = calloc(1, sizeof *p);
    unsigned char *need = calloc((size_t)n + 1, 1);
    Readers rd = {calloc((size_t)n, sizeof(int)), calloc((size_t)n, sizeof(int))};
    p->n = n;
    p->q = calloc((size_t)n, sizeof *p->q);
    p->input = -1;
    p->output = ir->output;
    ir_mark_needed(ir, ir->output, need);
    for (int i = 0; i < n; i++) {
        p->q[i].root = -1;
        p->q[i].value = i;
        for (int j = 0; need[i] && j < ir->nodes[i].nin; j++) {
            int x = ir->nodes[i].in[j];
            rd.count[x]++;
            rd.one[x] = i;
        }
    }
    why[0] = '\0';
    for (int i = 0; i < n && !why[0]; i++) {
        const IrNode *nd = &ir->nodes[i];
        QuantNode *q = &p->q[i];
        if (!need[i] || nd->op == OP_PARAM || q->kind == QK_FOLDED)
            continue;
        q->root = i;
        q->act_min = -128;
        q->act_max = 127;
        switch (nd->op) {
        case OP_INPUT:
            if (p->input >= 0) {
                snprintf(why, whysize, "--quantize int8 takes models of one input; model `%s` has more",
                         ir->model);
                continue;
            }
            p->input = i;
            q->kind = QK_INPUT;
            break;
        case OP_DENSE:
        case OP_CONV2D:
        case OP_ADD:
            q->kind = nd->op == OP_DENSE ? QK_DENSE : nd->op == OP_CONV2D ? QK_CONV2D : QK_ADD;
            /* relu, relu6 or hardtanh as the only reader: the output clamp */
            if (i != ir->output && rd.count[i] == 1 && is_clamp(ir->nodes[rd.one[i]].op)) {
                q->value = rd.one[i];
                p->q[q->value].kind = QK_FOLDED;
                p->q[q->value].root = i;
            }
            break;
        case OP_MAXPOOL:
            q->kind = QK_MAXPOOL;
            break;
        case OP_AVGPOOL:
            q->kind = QK_AVGPOOL;
            break;
        case OP_GLOBAL_AVGPOOL:
            q->kind = QK_GAP;
            break;
        case OP_CONCAT:
            q->kind = QK_CONCAT;
            break;
        default:
            if (is_view(nd->op)) {
                q->kind = QK_VIEW;
                q->root = p->q[nd->in[0]].root;
            } else if ((nd->op == OP_SOFTMAX || nd->op == OP_LOG_SOFTMAX) &&
                       (int)op_num(nd->op, nd->args, "dim") != -1 &&
                       (int)op_num(nd->op, nd->args, "dim") != nd->shape.rank - 1) {
                snprintf(why, whysize, "%s (value '%s') over an axis other than the last has no int8 code yet",
                         op_info[nd->op].name, nd->name ? nd->name : "?");
                continue;
            } else if (float_ok(nd->op) && nd->nin == 1) {
                q->kind = QK_FLOAT;
                int64_t k = shape_numel(&nd->shape);
                if (k > p->scratch_floats)
                    p->scratch_floats = k;
                if (shape_numel(&ir->nodes[nd->in[0]].shape) > p->scratch_floats)
                    p->scratch_floats = shape_numel(&ir->nodes[nd->in[0]].shape);
            } else {
                snprintf(why, whysize, "%s (value '%s') has no int8 kernel and no float fallback yet",
                         op_info[nd->op].name, nd->name ? nd->name : "?");
                continue;
            }
        }
        /* the scale and zero point: the input's for maxpool and views,
         * else the calibrated range of the value the buffer holds */
        if (q->kind == QK_MAXPOOL || q->kind == QK_VIEW || q->kind == QK_AVGPOOL || q->kind == QK_GAP) {
            const QuantNode *x = &p->q[p->q[nd->in[0]].root];
            q->scale = x->scale;
            q->zero_point = x->zero_point;
        } else {
            const QuantRange *r = range_of(ir, &rd, q->value, ranges, nranges);
            if (!r) {
                const char *v = ir->nodes[q->value].name ? ir->nodes[q->value].name : "?";
                snprintf(why, whysize,
                         "%s: no calibrated range for value '%s' (tensors %s.scale and %s.zero_point; "
                         "PROG calibrate writes them)",
                         wpath, v, v, v);
                continue;
            }
            q->scale = r->scale;
            q->zero_point = r->zero_point;
        }
        if (q->kind == QK_DENSE || q->kind == QK_CONV2D) {
            const QuantNode *x = &p->q[p->q[nd->in[0]].root];
            quant_layer(ir, i, q, x->scale, x->zero_point);
            if (q->kind == QK_CONV2D && 2 * q->wlen > p->col_bytes)
                p->col_bytes = 2 * q->wlen; /* two output positions' taps */
            /* taps (bytes in quant_place): a row, conv2d two (nnc_rows2's DSP
             * variant widens two output positions' taps at once) */
            if ((q->kind == QK_CONV2D ? 2 : 1) * q->wlen > p->wide_bytes)
                p->wide_bytes = (q->kind == QK_CONV2D ? 2 : 1) * q->wlen;
            if (q->kind == QK_CONV2D) {
                int64_t hp, wp;
                q->pad_plane = quant_pad_plane(nd, &ir->nodes[nd->in[0]], &hp, &wp);
                if (q->pad_plane > p->pad_bytes)
                    p->pad_bytes = q->pad_plane;
            }
            if (q->value != i)
                quant_clamp(ir, q->value, q);
            p->weight_bytes += q->nout * q->wlen + q->nout * (4 + 4 + 1);
            p->float_weight_bytes += (q->nout * q->wlen + (nd->nin > 2 ? q->nout : 0)) * 4;
        }
        if (q->kind == QK_ADD) {
            quant_add(q, p->q[p->q[nd->in[0]].root].scale, p->q[p->q[nd->in[1]].root].scale);
            if (q->value != i)
                quant_clamp(ir, q->value, q);
        }
        if (q->kind == QK_CONCAT)
            quant_concat(ir, p, i, q);
    }
    if (!why[0] && p->input < 0)
        snprintf(why, whysize, "model `%s` has no input for --quantize int8", ir->model);
    free(need);
    free(rd.count);
    free(rd.one);
    if (why[0]) {
        quant_free(p);
        return NULL;
    }
    return p;
}

void quant_free(QuantPlan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        free(p->q[i].w);
        free(p->q[i].bias);
        free(p->q[i].bias_zp);
        free(p->q[i].mult);
        free(p->q[i].shift);
        free(p->q[i].w_scale);
    }
    free(p->q);
    free(p);
}

static const char *const kind_names[] = {"-",           "input",      "int8 dense", "int8 conv2d",
                                         "int8 maxpool", "int8 avgpool", "int8 global_avgpool", "int8 add",
                                         "int8 concat", "view",       "folded",     "float"};

void quant_dump(const Ir *ir, const QuantPlan *p, FILE *f)
{
    char sb[64];
    fprintf(f, "; model %s, int8 graph (nnc --quantize int8)\n", ir->model);
    for (int i = 0; i < ir->n; i++) {
        const QuantNode *q = &p->q[i];
        const IrNode *n = &ir->nodes[i];
        if (q->kind == QK_NONE)
            continue;
        fprintf(f, "%%%d = %s %s", i, kind_names[q->kind], q->kind == QK_INPUT ? n->name : op_info[n->op].name);
        for (int j = 0; j < n->nin; j++)
            if (ir->nodes[n->in[j]].op != OP_PARAM)
                fprintf(f, "%s%%%d", j ? ", " : "(", n->in[j]);
        fprintf(f, "%s : %s", n->nin ? ")" : "", shape_str(&n->shape, sb, sizeof sb));
        if (q->kind == QK_FOLDED) {
            fprintf(f, " = the clamp of %%%d", q->root);
        } else if (q->kind == QK_FLOAT) {
            fprintf(f, " = dequantize %%%d, %s in float, quantize scale=%.9g zero_point=%d", n->in[0],
                    op_info[n->op].name, (double)q->scale, q->zero_point);
        } else {
            fprintf(f, " scale=%.9g zero_point=%d", (double)q->scale, q->zero_point);
            if (q->act_min > -128 || q->act_max < 127)
                fprintf(f, " clamp=[%d, %d]", q->act_min, q->act_max);
        }
        if (n->name)
            fprintf(f, "  ; %s", n->name);
        fputc('\n', f);
    }
}

void quant_dump_memory(const Ir *ir, const QuantPlan *p, FILE *f)
{
    fprintf(f, "; memory of model %s, int8 (nnc --quantize int8), one sample per run\n", ir->model);
    for (int i = 0; i < ir->n; i++) {
        const QuantNode *q = &p->q[i];
        if (q->offset < 0)
            continue;
        fprintf(f, "buffer %%%-4d %-14s int8 %8lld bytes at %8lld%s\n", i, kind_names[q->kind],
                (long long)shape_numel(&ir->nodes[i].shape), (long long)q->offset,
                q->kind == QK_FLOAT ? "  (float op: dequantize, compute, quantize)" : "");
    }
    if (p->scratch_floats)
        fprintf(f, "float scratch %lld bytes at %lld (the float ops' input and output)\n",
                (long long)(2 * p->scratch_floats * 4), (long long)p->float_scratch);
    if (p->col_bytes)
        fprintf(f, "im2col row %lld bytes at %lld (conv2d's taps of one output position)\n", (long long)p->col_bytes,
                (long long)p->col);
    if (p->wide_bytes)
        fprintf(f, "int16 row %lld bytes at %lld (the DSP kernels' widened input, Cortex-M4/M7)\n",
                (long long)p->wide_bytes, (long long)p->wide);
    if (p->pad_bytes)
        fprintf(f, "padded plane %lld bytes at %lld (a conv2d's input with its padding, no border checks)\n",
                (long long)p->pad_bytes, (long long)p->pad);
    fprintf(f, "arena %lld bytes\n", (long long)p->arena_bytes);
    fprintf(f, "weights %lld bytes int8 (weights int8, biases, multipliers and shifts int32) against %lld float32: "
               "%.1f%%\n",
            (long long)p->weight_bytes, (long long)p->float_weight_bytes,
            p->float_weight_bytes ? 100.0 * (double)p->weight_bytes / (double)p->float_weight_bytes : 0.0);
}
