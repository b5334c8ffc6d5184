/*
 * conv_algo.c: choose, per conv2d layer and per product (forward, dx, dW),
 * between im2col + GEMM and direct convolution.
 *
 * Direct convolution here is the "padded-width" formulation: the input of
 * one sample is copied once into zero-padded planes of HP rows of WP, and
 * the output is computed over the padded width, Q = OH WP positions per
 * filter, of which OW of every WP are kept.  With stride 1, the input a
 * tap (c, kh, kw) sees at output position q = oh WP + ow is the padded
 * plane at q + c HP WP + kh DH WP + kw DW: every tap's row of the im2col
 * matrix is a window of the same array, so the GEMM reads B's rows in
 * place (the GEMM's boff) and no im2col matrix is built.  The price is the
 * WP - OW columns of every row computed and dropped.
 *   forward  ypad[f, q] = b[f] + sum_tap w[f, tap] xpad[off(tap) + q]
 *   dx       the forward of the output gradient padded by (K-1) D - P on
 *            each side, with the kernel flipped and its two channel axes
 *            swapped: dx is a full correlation of dy with w
 *   dW       dw[f, tap] = sum_s sum_q dypad[s, f, q] xpad[s, off(tap) + q],
 *            a dot product over q (dypad is zero in the dropped columns),
 *            in 16 partial sums (dotsum() in the generated code)
 *
 * The forward has a second direct form, CONV_DIRECT_OC: vectorised over
 * the output channels instead of the positions, as oneDNN's direct
 * kernels block them (nChw16c).  Lane f of an accumulator is filter f, the
 * weights are read as rows wt[tap, f] (transposed once per call) and the
 * input as one broadcast scalar per position and tap, so every position
 * computed is a kept one (no padded width); the output is position-major,
 * [OH OW, F rounded up to 16], which max pooling then reads a vector of
 * filters at a time.  The cost is the filters rounded up to 16.
 *
 * Rules: a product is direct when the layer has stride 1 and at least half
 * of each padded row is kept (OW >= WP / 2: otherwise the dropped columns
 * cost more than im2col's copy), and for dx when the padding is at most
 * (K-1) D (the flipped convolution needs non-negative padding).  Measured
 * on fashion_lenet (bench/run.sh): direct beats im2col on both layers in
 * all three products.  The forward is CONV_DIRECT_OC (stride 1, one group,
 * at most CONV_OC_MAX filters) when it computes fewer multiply-adds: its
 * OH OW positions times the filters rounded up to 16, against the padded
 * width's Q positions in panels of 32 times the filters in blocks of 6
 * (fashion_lenet's second layer: 1,600 against 2,880 per tap; its first,
 * 6 filters, stays over the padded width).  Every other case keeps im2col
 * + GEMM, which handles any stride, padding and dilation.  The two agree
 * to rounding (the sums run over the taps in the same order; dW's sums are
 * split differently).
 */
#include "conv_algo.h"

#include "ops.h"
#include "target.h"

Conv conv_geometry(const IrNode *f, const IrNode *x)
{
    Conv c;
    int64_t k[2], s[2], d[2], p[2];
    value_pair(op_arg(OP_CONV2D, f->args, "kernel"), k);
    value_pair(op_arg(OP_CONV2D, f->args, "stride"), s);
    value_pair(op_arg(OP_CONV2D, f->args, "dilation"), d);
    const Value *pv = op_arg(OP_CONV2D, f->args, "padding");
    if (pv->kind == V_IDENT) {
        /* padding='same': the odd one out goes at the bottom/right. */
        p[0] = d[0] * (k[0] - 1) / 2;
        p[1] = d[1] * (k[1] - 1) / 2;
    } else {
        value_pair(pv, p);
    }
    c.C = x->shape.d[0];
    c.H = x->shape.d[1];
    c.W = x->shape.d[2];
    c.F = f->shape.d[0];
    c.OH = f->shape.d[1];
    c.OW = f->shape.d[2];
    c.KH = k[0];
    c.KW = k[1];
    c.SH = s[0];
    c.SW = s[1];
    c.PT = p[0];
    c.PL = p[1];
    c.DH = d[0];
    c.DW = d[1];
    c.G = (long long)op_num(OP_CONV2D, f->args, "groups");
    c.CG = c.C / c.G;
    c.FG = c.F / c.G;
    return c;
}

static long long align16(long long x)
{
    return (x + 15) / 16 * 16;
}

ConvDirect conv_direct_geometry(const Conv *c)
{
    ConvDirect d;
    d.HP = c->OH + (c->KH - 1) * c->DH;
    d.WP = c->OW + (c->KW - 1) * c->DW;
    d.Q = c->OH * d.WP;
    d.Q16 = align16(d.Q);
    /* the last tap's window runs (KW-1) DW past the last plane, the GEMM
     * reads whole panels of 32 and dotsum() goes on to Q16 */
    d.XP = align16(c->C * d.HP * d.WP + (c->KW - 1) * c->DW + 32);
    d.P2T = (c->KH - 1) * c->DH - c->PT;
    d.P2L = (c->KW - 1) * c->DW - c->PL;
    d.HP2 = c->H + (c->KH - 1) * c->DH;
    d.WP2 = c->W + (c->KW - 1) * c->DW;
    d.Q2 = c->H * d.WP2;
    d.DYP = align16(c->F * d.HP2 * d.WP2 + (c->KW - 1) * c->DW + 32);
    return d;
}

int conv_oc_in_place(const Conv *c, const ConvDirect *d)
{
    return d->HP == c->H && d->WP == c->W && c->PT == 0 && c->PL == 0;
}

int conv_phase_geometry(const Ir *ir, const IrNode *conv, ConvPhase *p)
{
    if (conv->inlined_into < 0 || !(conv->conv_algo & CONV_DIRECT_FWD) || (conv->conv_algo & CONV_DIRECT_OC))
        return 0;
    const IrNode *m = &ir->nodes[conv->inlined_into];
    if (m->op != OP_MAXPOOL)
        return 0;
    int64_t k[2], st[2];
    value_pair(op_arg(OP_MAXPOOL, m->args, "kernel"), k);
    value_pair(op_arg(OP_MAXPOOL, m->args, "stride"), st);
    if (k[0] != st[0] || k[1] != st[1])
        return 0;
    Conv c = conv_geometry(conv, &ir->nodes[conv->in[0]]);
    if (c.DH != 1 || c.DW != 1)
        return 0;
    ConvDirect d = conv_direct_geometry(&c);
    p->Ph = k[0];
    p->Pw = k[1];
    p->PHq = (d.HP + p->Ph - 1) / p->Ph;
    p->PWq = (d.WP + p->Pw - 1) / p->Pw;
    p->N = m->shape.d[1] * p->PWq;
    /* every window reads inside the planes; the GEMM reads up to 32 past */
    p->XP = align16(c.C * p->Ph * p->Pw * p->PHq * p->PWq + 32);
    return p->Ph * p->Pw * ((p->N + 31) / 32) <= (d.Q + 31) / 32;
}

int conv_dw_chunk(int max_batch)
{
    return max_batch < CONV_DW_CHUNK ? max_batch : CONV_DW_CHUNK;
}

int conv_dw_runs(int max_batch)
{
    return max_batch < CONV_DW_RUNS ? max_batch : CONV_DW_RUNS;
}

/* Multiply-adds per tap that the GEMM's tiles (the target's: 6 x 32 on
 * the host) spend on the padded width, and that CONV_DIRECT_OC's blocks
 * of filters (vectors of 16) spend on the exact positions; the plain-loop
 * targets price both as the host does (target.c says why). */
static long long padded_width_work(const Target *t, const Conv *c, const ConvDirect *d)
{
    long long m = t->tile_m, n = t->tile_n;
    return (d->Q + n - 1) / n * n * ((c->FG + m - 1) / m * m) * c->G;
}

static long long oc_work(const Target *t, const Conv *c)
{
    return c->OH * c->OW * ((c->F + t->price_block - 1) / t->price_block * t->price_block);
}

static int choose(const Target *t, const Conv *c)
{
    if (c->SH != 1 || c->SW != 1)
        return 0;
    ConvDirect d = conv_direct_geometry(c);
    int algo = 0;
    if (2 * c->OW >= d.WP) {
        algo = CONV_DIRECT_FWD | CONV_DIRECT_DW;
        if (d.P2T >= 0 && d.P2L >= 0)
            algo |= CONV_DIRECT_DX;
    }
    if (c->G == 1 && c->F <= CONV_OC_MAX && oc_work(t, c) < padded_width_work(t, c, &d))
        algo |= CONV_DIRECT_FWD | CONV_DIRECT_OC;
    return algo;
}

int conv_algo(Ir *ir)
{
    int made = 0;
    for (int i = 0; i < ir->n; i++) {
        IrNode *n = &ir->nodes[i];
        if (n->op != OP_CONV2D || n->poison)
            continue;
        Conv c = conv_geometry(n, &ir->nodes[n->in[0]]);
        n->conv_algo = choose(target_or_host(ir->target), &c);
        made += (n->conv_algo & 1) + (n->conv_algo >> 1 & 1) + (n->conv_algo >> 2 & 1);
    }
    return made;
}
