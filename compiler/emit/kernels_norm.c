/*
 * kernels_norm.c: normalisation layers and the reducing pools.
 *
 * batchnorm (nn.BatchNorm1d on [C] and [C, L], nn.BatchNorm2d on
 * [C, H, W]): in training, statistics of the batch per channel over the
 * M = n * positions values, accumulated in double as ATen's CPU kernel
 * does; y = (x - mean) / sqrt(var + eps) * weight + bias with the biased
 * variance; running_mean and running_var move by `momentum` towards the
 * batch mean and the unbiased variance (var * M / (M - 1)), and
 * num_batches_tracked counts the batches.  In eval the running statistics
 * are used.  The batch mean and 1/std are kept after y for the backward.
 *
 * layernorm (nn.LayerNorm over the last dimension D): per row, the same
 * with the biased variance, in training and eval alike.
 *
 * lppool (nn.LPPool2d): (sum over the window of x^p)^(1/p), computed as
 * PyTorch does, through the window's mean; global_avgpool: the mean of
 * each channel.
 */
#include "kernels.h"

#include <string.h>

#define flit emit_float

/* Channels, positions per channel (BatchNorm) of node f. */
static void channels(const IrNode *f, ll *C, ll *HW)
{
    *C = f->shape.d[0];
    *HW = kern_numel(f) / *C;
}

static void batchnorm_forward(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    static const char *const names[] = {"x", "w", "b", "running_mean", "running_var", "num_batches_tracked"};
    ll C, HW;
    char b1[48], b2[48];
    channels(n, &C, &HW);
    double mom = op_num(OP_BATCHNORM, n->args, "momentum"), eps = op_num(OP_BATCHNORM, n->args, "eps");
    kern_signature(e, id, names, "y");
    /* the batch statistics kept for the backward pass: none in inference code */
    int train = !e->opt->inference;
    if (train)
        emit_line(e, "real *mean = y + %lld, *invstd = mean + %lld; /* kept for the backward pass */",
                  kern_region_at(e, id, "mean"), kern_region_at(e, id, "invstd") - kern_region_at(e, id, "mean"));
    emit_line(e, "(void)num_batches_tracked;");
    if (!e->opt->inference) {
        emit_line(e, "if (training) {");
        e->indent++;
        emit_line(e, "double count = (double)n * %lld.0;", HW);
        emit_line(e, "int64_t batches;");
        emit_line(e, "memcpy(&batches, num_batches_tracked, sizeof batches);");
        emit_line(e, "batches++;");
        emit_line(e, "memcpy(num_batches_tracked, &batches, sizeof batches);");
        emit_line(e, "for (int c = 0; c < %lld; c++) {", C);
        emit_line(e, "    double sum = 0.0, ss = 0.0;");
        emit_line(e, "    for (int s = 0; s < n; s++)");
        emit_line(e, "        for (int k = 0; k < %lld; k++)", HW);
        emit_line(e, "            sum += x[((size_t)s * %lld + c) * %lld + k];", C, HW);
        emit_line(e, "    double mu = sum / count;");
        emit_line(e, "    for (int s = 0; s < n; s++)");
        emit_line(e, "        for (int k = 0; k < %lld; k++) {", HW);
        emit_line(e, "            double d = x[((size_t)s * %lld + c) * %lld + k] - mu;", C, HW);
        emit_line(e, "            ss += d * d;");
        emit_line(e, "        }");
        emit_line(e, "    mean[c] = (real)mu;");
        emit_line(e, "    invstd[c] = (real)(1.0 / sqrt(ss / count + %.17g));", eps);
        emit_line(e, "    running_mean[c] = (real)(%.17g * mu + %.17g * running_mean[c]);", mom, 1 - mom);
        emit_line(e, "    running_var[c] = (real)(%.17g * (count > 1.0 ? ss / (count - 1.0) : ss) + %.17g * running_var[c]);",
                  mom, 1 - mom);
        emit_line(e, "    real alpha = invstd[c] * w[c], beta = b[c] - mean[c] * alpha;");
        emit_line(e, "    for (int s = 0; s < n; s++)");
        emit_line(e, "        for (int k = 0; k < %lld; k++) {", HW);
        emit_line(e, "            size_t i = ((size_t)s * %lld + c) * %lld + k;", C, HW);
        emit_line(e, "            y[i] = x[i] * alpha + beta;");
        emit_line(e, "        }");
        emit_line(e, "}");
        emit_line(e, "return;");
        e->indent--;
        emit_line(e, "}");
    }
    if (train) {
        emit_line(e, "(void)mean;");
        emit_line(e, "(void)invstd;");
    }
    emit_line(e, "for (int c = 0; c < %lld; c++) {", C);
    emit_line(e, "    real alpha = w[c] / SQRT(running_var[c] + %s), beta = b[c] - running_mean[c] * alpha;",
              flit(eps, b1));
    emit_line(e, "    for (int s = 0; s < n; s++)");
    emit_line(e, "        for (int k = 0; k < %lld; k++) {", HW);
    emit_line(e, "            size_t i = ((size_t)s * %lld + c) * %lld + k;", C, HW);
    emit_line(e, "            y[i] = x[i] * alpha + beta;");
    emit_line(e, "        }");
    emit_line(e, "}");
    (void)b2;
    kern_end(e);
}

/* The backward of batch normalisation in training (batch statistics):
 *   dx = (dy - mean(dy) - xhat mean(dy xhat)) * invstd * w
 *   dw = sum(dy xhat), db = sum(dy)  (ATen batch_norm_backward_cpu). */
static void batchnorm_backward(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    ll C, HW;
    channels(f, &C, &HW);
    if (g->which == 2) {
        static const char *const names[] = {"dy"};
        kern_signature(e, id, names, "db");
    } else if (g->which == 1) {
        static const char *const names[] = {"dy", "x", "y"};
        kern_signature(e, id, names, "dw");
    } else {
        static const char *const names[] = {"dy", "x", "y", "w"};
        kern_signature(e, id, names, "dx");
    }
    if (g->which != 2)
        emit_line(e, "const real *mean = y + %lld, *invstd = mean + %lld;", kern_region_at(e, g->fwd, "mean"),
                  kern_region_at(e, g->fwd, "invstd") - kern_region_at(e, g->fwd, "mean"));
    emit_line(e, "for (int c = 0; c < %lld; c++) {", C);
    e->indent++;
    emit_line(e, "double %s;", g->which == 2 ? "sum = 0.0" : g->which == 1 ? "dot = 0.0" : "sum = 0.0, dot = 0.0");
    emit_line(e, "for (int s = 0; s < n; s++)");
    emit_line(e, "    for (int k = 0; k < %lld; k++) {", HW);
    emit_line(e, "        size_t i = ((size_t)s * %lld + c) * %lld + k;", C, HW);
    if (g->which != 1)
        emit_line(e, "        sum += dy[i];");
    if (g->which != 2)
        emit_line(e, "        dot += (double)(x[i] - mean[c]) * dy[i];");
    emit_line(e, "    }");
    if (g->which == 2) {
        emit_line(e, "db[c] = (real)sum;");
    } else if (g->which == 1) {
        emit_line(e, "dw[c] = (real)(dot * invstd[c]);");
    } else {
        emit_line(e, "double count = (double)n * %lld.0;", HW);
        emit_line(e, "real k = (real)(dot * invstd[c] * invstd[c] / count), gmean = (real)(sum / count);");
        emit_line(e, "real scale = invstd[c] * w[c];");
        emit_line(e, "for (int s = 0; s < n; s++)");
        emit_line(e, "    for (int j = 0; j < %lld; j++) {", HW);
        emit_line(e, "        size_t i = ((size_t)s * %lld + c) * %lld + j;", C, HW);
        emit_line(e, "        dx[i] = (dy[i] - gmean - (x[i] - mean[c]) * k) * scale;");
        emit_line(e, "    }");
    }
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

static void layernorm_forward(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    static const char *const names[] = {"x", "w", "b"};
    ll N = kern_numel(n), D = n->shape.d[n->shape.rank - 1], R = N / D;
    double eps = op_num(OP_LAYERNORM, n->args, "eps");
    kern_signature(e, id, names, "y");
    emit_line(e, "real *mean = y + %lld, *rstd = mean + %lld; /* per row, for the backward pass */",
              kern_region_at(e, id, "mean"), kern_region_at(e, id, "rstd") - kern_region_at(e, id, "mean"));
    emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++) {", R);
    e->indent++;
    emit_line(e, "const real *xr = x + r * %lld;", D);
    emit_line(e, "double sum = 0.0, ss = 0.0;");
    emit_line(e, "for (int j = 0; j < %lld; j++)", D);
    emit_line(e, "    sum += xr[j];");
    emit_line(e, "double mu = sum / %lld.0;", D);
    emit_line(e, "for (int j = 0; j < %lld; j++)", D);
    emit_line(e, "    ss += (xr[j] - mu) * (xr[j] - mu);");
    emit_line(e, "mean[r] = (real)mu;");
    emit_line(e, "rstd[r] = (real)(1.0 / sqrt(ss / %lld.0 + %.17g));", D, eps);
    emit_line(e, "for (int j = 0; j < %lld; j++)", D);
    emit_line(e, "    y[r * %lld + j] = (xr[j] - mean[r]) * rstd[r] * w[j] + b[j];", D);
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/* dx = rstd (dy w - mean(dy w) - xhat mean(dy w xhat)); dw = sum(dy xhat);
 * db = sum(dy), over rows (ATen layer_norm_backward). */
static void layernorm_backward(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    ll N = kern_numel(f), D = f->shape.d[f->shape.rank - 1], R = N / D;
    if (g->which == 2) {
        static const char *const names[] = {"dy"};
        kern_signature(e, id, names, "db");
        kern_zero(e, "db", g);
        emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++)", R);
        emit_line(e, "    for (int j = 0; j < %lld; j++)", D);
        emit_line(e, "        db[j] += dy[r * %lld + j];", D);
        kern_end(e);
        return;
    }
    if (g->which == 1) {
        static const char *const names[] = {"dy", "x", "y"};
        kern_signature(e, id, names, "dw");
    } else {
        static const char *const names[] = {"dy", "x", "y", "w"};
        kern_signature(e, id, names, "dx");
    }
    emit_line(e, "const real *mean = y + %lld, *rstd = mean + %lld;", kern_region_at(e, g->fwd, "mean"),
              kern_region_at(e, g->fwd, "rstd") - kern_region_at(e, g->fwd, "mean"));
    if (g->which == 1) {
        kern_zero(e, "dw", g);
        emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++)", R);
        emit_line(e, "    for (int j = 0; j < %lld; j++)", D);
        emit_line(e, "        dw[j] += dy[r * %lld + j] * (x[r * %lld + j] - mean[r]) * rstd[r];", D, D);
        kern_end(e);
        return;
    }
    emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++) {", R);
    e->indent++;
    emit_line(e, "double a = 0.0, bsum = 0.0;");
    emit_line(e, "for (int j = 0; j < %lld; j++) {", D);
    emit_line(e, "    real g = dy[r * %lld + j] * w[j], xhat = (x[r * %lld + j] - mean[r]) * rstd[r];", D, D);
    emit_line(e, "    a += g;");
    emit_line(e, "    bsum += g * xhat;");
    emit_line(e, "}");
    emit_line(e, "real ma = (real)(a / %lld.0), mb = (real)(bsum / %lld.0);", D, D);
    emit_line(e, "for (int j = 0; j < %lld; j++) {", D);
    emit_line(e, "    real g = dy[r * %lld + j] * w[j], xhat = (x[r * %lld + j] - mean[r]) * rstd[r];", D, D);
    emit_line(e, "    dx[r * %lld + j] = rstd[r] * (g - ma - xhat * mb);", D);
    emit_line(e, "}");
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/* lppool: y = (sum x^p)^(1/p); dx = dy y^(1-p) x^(p-1) where y > 0 (the
 * gradient PyTorch's relu(|.|) gives a window whose sum is 0 is 0). */
static void lppool_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    double p = op_num(OP_LPPOOL, f->args, "p");
    char pb[48], ib[48], qb[48];
    flit(p, pb);
    flit(1.0 / p, ib);
    flit(p - 1.0, qb);
    if (n->op == OP_GRAD) {
        static const char *const names[] = {"dy", "x", "y"};
        kern_pool(e, id, names, "dx", "dx",
                  arena_printf(e->ir->arena, "if (!(y[yi] > 0.0f)) continue; /* window of %%lld */ real g = dy[yi] * "
                                             "POW(y[yi], 1.0f - %s);", pb),
                  arena_printf(e->ir->arena, "dx[xi] += g * POW(x[xi], %s);", qb), "");
    } else {
        /* as F.lp_pool2d: the window's mean times its area, to the 1/p */
        static const char *const names[] = {"x"};
        int64_t k[2];
        value_pair(op_arg(OP_LPPOOL, f->args, "kernel"), k);
        kern_pool(e, id, names, "y", NULL, "real acc = 0.0f; /* window of %lld */",
                  arena_printf(e->ir->arena, "acc += POW(x[xi], %s);", pb),
                  arena_printf(e->ir->arena, "y[yi] = POW(acc / %lld.0f * %lld.0f, %s);", (ll)(k[0] * k[1]),
                               (ll)(k[0] * k[1]), ib));
    }
}

static void global_avgpool_kernel(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    const IrNode *f = n->op == OP_GRAD ? kern_node(e, n->fwd) : n;
    const IrNode *x = kern_node(e, f->in[0]);
    ll C = x->shape.d[0], HW = x->shape.d[1] * x->shape.d[2];
    if (n->op == OP_GRAD) {
        static const char *const names[] = {"dy"};
        kern_signature(e, id, names, "dx");
        emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++)", C);
        emit_line(e, "    for (int k = 0; k < %lld; k++)", HW);
        emit_line(e, "        dx[r * %lld + k] = dy[r] / %lld.0f;", HW, HW);
    } else {
        static const char *const names[] = {"x"};
        kern_signature(e, id, names, "y");
        emit_line(e, "for (size_t r = 0; r < (size_t)n * %lld; r++) {", C);
        emit_line(e, "    real acc = 0.0f;");
        emit_line(e, "    for (int k = 0; k < %lld; k++)", HW);
        emit_line(e, "        acc += x[r * %lld + k];", HW);
        emit_line(e, "    y[r] = acc / %lld.0f;", HW);
        emit_line(e, "}");
    }
    kern_end(e);
}

/* Forward or backward (batchnorm, layernorm). */
static void batchnorm_define(Emitter *e, int id)
{
    if (kern_node(e, id)->op == OP_GRAD)
        batchnorm_backward(e, id);
    else
        batchnorm_forward(e, id);
}

static void layernorm_define(Emitter *e, int id)
{
    if (kern_node(e, id)->op == OP_GRAD)
        layernorm_backward(e, id);
    else
        layernorm_forward(e, id);
}

/* The kernel records of this family (kernels.h). */
const KernOp kern_op_BATCHNORM = {.op = OP_BATCHNORM, .supported = 1, .define = batchnorm_define};
const KernOp kern_op_LAYERNORM = {.op = OP_LAYERNORM, .supported = 1, .define = layernorm_define};
const KernOp kern_op_LPPOOL = {.op = OP_LPPOOL, .supported = 1, .define = lppool_kernel};
const KernOp kern_op_GLOBAL_AVGPOOL = {.op = OP_GLOBAL_AVGPOOL, .supported = 1, .define = global_avgpool_kernel};
