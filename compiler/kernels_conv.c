/*
 * kernels_conv.c: direct convolution kernels (the padded-width
 * formulation of conv_algo.c) and dotsum(), the batched dot products of
 * their weight gradient.
 *
 * Forward and dx: one sample per iteration (samples in parallel), its
 * input copied into zero-padded planes in per-thread scratch, one gemm()
 * whose B rows are the tap windows of those planes (a table of offsets,
 * kNNN_taps[]), and the padded output copied back to NCHW with the fused
 * activation applied on the way.  Each output is a sum over the taps in
 * order, as in the im2col kernels.
 *
 * dW: CONV_DW_CHUNK samples (or the whole batch, if smaller) at a time, their inputs and output gradients
 * are padded (samples in parallel), then dotsum() adds their part of
 * every dw[f, tap], one dot product over the batch and the padded
 * positions kept in 16 partial sums (lane l takes the positions
 * q = l mod 16), samples in order; sum16() adds the 16 in a fixed tree.  The threads split the outputs, not the sums, so every
 * thread count gives the same bits, and so do the vector code (16 lanes,
 * or two vectors of 8) and the plain loops.
 */
#include "kernels.h"

#include "fuse_conv_pool.h"

#include "conv_algo.h"
#include "gemm.h"

#include <stdio.h>
#include <string.h>

static ll align16(ll x)
{
    return (x + 15) / 16 * 16;
}

/* static const int NAME[taps] = {...}: where tap (c, kh, kw) of a group's
 * kernel starts in padded planes of hp x wp. */
static void tap_table(Emitter *e, const char *name, ll C, ll KH, ll KW, ll DH, ll DW, ll hp, ll wp)
{
    char line[200];
    size_t len = 0;
    emit_line(e, "static const int %s[%lld] = {", name, C * KH * KW);
    for (ll c = 0; c < C; c++)
        for (ll kh = 0; kh < KH; kh++)
            for (ll kw = 0; kw < KW; kw++) {
                len += (size_t)snprintf(line + len, sizeof line - len, "%lld, ", c * hp * wp + kh * DH * wp + kw * DW);
                if (len > 100) {
                    emit_line(e, "    %s", line);
                    len = 0;
                }
            }
    if (len)
        emit_line(e, "    %s", line);
    emit_line(e, "};");
}

/* Copy rows x rows of width w from src (row stride w) into planes of
 * hp x wp at (top, left), channel after channel. */
static void pad_copy(Emitter *e, const char *dst, const char *src, ll C, ll H, ll W, ll hp, ll wp, ll top, ll left,
                     ll total)
{
    emit_line(e, "memset(%s, 0, %lld * sizeof(real));", dst, total);
    emit_line(e, "for (int c = 0; c < %lld; c++)", C);
    emit_line(e, "    for (int h = 0; h < %lld; h++)", H < hp - top ? H : hp - top);
    emit_line(e, "        memcpy(%s + ((size_t)c * %lld + h + %lld) * %lld + %lld, %s + ((size_t)c * %lld + h) * %lld,", dst, hp,
              top, wp, left, src, H, W);
    emit_line(e, "               %lld * sizeof(real));", W < wp - left ? W : wp - left);
}

/* Inside a sample loop: sample s of x padded into this thread's slab of
 * scratch (xp) and the convolution over the padded width into yp,
 * [F, Q], bias added; both forward kernels continue from yp. */
static void direct_forward_sample(Emitter *e, const IrNode *n, const Conv *c, const ConvDirect *d, const char *taps)
{
    ll KG = c->CG * c->KH * c->KW, slab = d->XP + align16(c->F * d->Q), pack = slab * e->ir->threads;
    emit_line(e, "real *xp = scratch + (size_t)NNC_THREAD * %lld, *yp = xp + %lld;", slab, d->XP);
    emit_line(e, "const real *xs = x + (size_t)s * %lld;", c->C * c->H * c->W);
    pad_copy(e, "xp", "xs", c->C, c->H, c->W, d->HP, d->WP, c->PT, c->PL, d->XP);
    emit_line(e, "for (int g = 0; g < %lld; g++)", c->G);
    emit_line(e, "    gemm(%lld, %lld, %lld, w + (size_t)g * %lld, %lld, 1, xp + (size_t)g * %lld, 0, 1,", c->FG, d->Q, KG,
              c->FG * KG, KG, c->CG * d->HP * d->WP);
    emit_line(e, "         yp + (size_t)g * %lld, %lld, 0, %s, NULL, scratch + %lld, 0, %s);", c->FG * d->Q, d->Q,
              n->nin > 2 ? arena_printf(e->ir->arena, "b + (size_t)g * %lld", c->FG) : "NULL", pack, taps);
}

void kern_conv_forward_direct(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    static const char *const names[] = {"x", "w", "b"};
    Conv c = conv_geometry(n, kern_node(e, n->in[0]));
    ConvDirect d = conv_direct_geometry(&c);
    char taps[32];
    snprintf(taps, sizeof taps, "k%03d_taps", id);
    emit_line(e, "/* tap (c, kh, kw) of a group reads the padded input at q + k%03d_taps[tap] */", id);
    tap_table(e, taps, c.CG, c.KH, c.KW, c.DH, c.DW, d.HP, d.WP);
    kern_signature(e, id, names, "y");
    emit_line(e, "/* direct: per thread the input padded to [%lld, %lld, %lld] and the output over", c.C, d.HP, d.WP);
    emit_line(e, " * the padded width, [%lld, %lld]; samples in parallel */", c.F, d.Q);
    kern_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    direct_forward_sample(e, n, &c, &d, taps);
    emit_line(e, "real *ys = y + (size_t)s * %lld;", c.F * c.OH * c.OW);
    emit_line(e, "/* the kept columns, back to NCHW%s */", n->epilogue != OP_COUNT ? ", through the fused activation" : "");
    emit_line(e, "for (int f = 0; f < %lld; f++)", c.F);
    emit_line(e, "    for (int oh = 0; oh < %lld; oh++)", c.OH);
    emit_line(e, "        for (int ow = 0; ow < %lld; ow++) {", c.OW);
    emit_line(e, "            real v = yp[(size_t)f * %lld + oh * %lld + ow];", d.Q, d.WP);
    emit_line(e, "            ys[((size_t)f * %lld + oh) * %lld + ow] = %s;", c.OH, c.OW, kern_epilogue_expr(n));
    emit_line(e, "        }");
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/*
 * conv2d by direct convolution, its fused activation and the max pooling
 * that reads it, one sample at a time (fuse_conv_pool.c): the pooling
 * reads the activated values from the padded-width output while it is in
 * cache, and the convolution's output is never stored.  Maxima, and where
 * they came from (an offset into the [OH, OW] plane, as maxpool's own
 * kernel keeps it), are found with maxpool's comparisons in maxpool's
 * order: the same bits.
 */
void kern_conv_pool_direct(Emitter *e, int id)
{
    const IrNode *m = kern_node(e, id);
    int conv = fuse_conv_pool_conv(e->ir, id);
    const IrNode *n = kern_node(e, conv);
    Conv c = conv_geometry(n, kern_node(e, n->in[0]));
    ConvDirect d = conv_direct_geometry(&c);
    ll PH = m->shape.d[1], PW = m->shape.d[2];
    int64_t k[2], st[2];
    value_pair(op_arg(OP_MAXPOOL, m->args, "kernel"), k);
    value_pair(op_arg(OP_MAXPOOL, m->args, "stride"), st);
    int keep = !e->opt->inference; /* where the maxima came from */
    char taps[32];
    snprintf(taps, sizeof taps, "k%03d_taps", id);
    emit_line(e, "/* tap (c, kh, kw) of a group reads the padded input at q + k%03d_taps[tap] */", id);
    tap_table(e, taps, c.CG, c.KH, c.KW, c.DH, c.DW, d.HP, d.WP);
    kern_signature(e, id, NULL, "y");
    if (keep) /* kept in evaluation too: the room is there */
        emit_line(e, "(void)training;");
    emit_line(e, "const real *x = %s, *w = %s;", kern_operand_name(e, id, NULL, n->in[0]),
              kern_operand_name(e, id, NULL, n->in[1]));
    if (n->nin > 2)
        emit_line(e, "const real *b = %s;", kern_operand_name(e, id, NULL, n->in[2]));
    emit_line(e, "/* direct: per thread the input padded to [%lld, %lld, %lld] and the output over", c.C, d.HP, d.WP);
    emit_line(e, " * the padded width, [%lld, %lld], pooled from there; samples in parallel */", c.F, d.Q);
    kern_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    direct_forward_sample(e, n, &c, &d, taps);
    emit_line(e, "/* max pooling [%lld, %lld] by [%lld, %lld]%s: the first maximum, NaN kept */", (ll)k[0], (ll)k[1],
              (ll)st[0], (ll)st[1], n->epilogue != OP_COUNT ? " of the activated values" : "");
    emit_line(e, "for (int f = 0; f < %lld; f++)", c.F);
    emit_line(e, "for (int ph = 0; ph < %lld; ph++) {", PH);
    e->indent++;
    emit_line(e, "real *yrow = y + ((size_t)s * %lld + f) * %lld + ph * %lld;", c.F, PH * PW, PW);
    if (keep)
        emit_line(e, "real *arow = yrow + %lld;", (ll)e->plan->max_batch * kern_numel(m));
    emit_line(e, "for (int pw = 0; pw < %lld; pw++) {", PW);
    e->indent++;
    /* Straight-line selects, not branches: which tap wins is data, and a
     * mispredicted branch per tap cost more than the convolution. */
    emit_line(e, "const real *win = yp + (size_t)f * %lld + ph * %lld + pw * %lld;", d.Q, (ll)st[0] * d.WP, (ll)st[1]);
    emit_line(e, "int at0 = ph * %lld + pw * %lld;", (ll)st[0] * c.OW, (ll)st[1]);
    emit_line(e, "real m = win[0];");
    emit_line(e, "int at = at0;");
    if (n->epilogue != OP_COUNT)
        emit_line(e, "{ real v = m; m = %s; }", kern_epilogue_expr(n));
    for (ll kh = 0; kh < k[0]; kh++)
        for (ll kw = kh == 0; kw < k[1]; kw++) {
            emit_line(e, "{");
            emit_line(e, "    real v = win[%lld];", kh * d.WP + kw);
            if (n->epilogue != OP_COUNT)
                emit_line(e, "    v = %s;", kern_epilogue_expr(n));
            emit_line(e, "    int better = v > m || v != v;");
            emit_line(e, "    m = better ? v : m;");
            emit_line(e, "    at = better ? at0 + %lld : at;", kh * c.OW + kw);
            emit_line(e, "}");
        }
    emit_line(e, "yrow[pw] = m;");
    /* kept in evaluation too (the room is there): no branch in the loop */
    if (keep)
        emit_line(e, "arow[pw] = (real)at;");
    else
        emit_line(e, "(void)at;");
    e->indent--;
    emit_line(e, "}");
    e->indent--;
    emit_line(e, "}");
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

void kern_conv_dx_direct(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    static const char *const names[] = {"dy", "w", "y"};
    Conv c = conv_geometry(f, kern_node(e, f->in[0]));
    ConvDirect d = conv_direct_geometry(&c);
    ll KK = c.KH * c.KW, KF = c.FG * KK, WT = align16(c.C * KF), DXP = align16(c.C * d.Q2), slab = d.DYP + DXP;
    ll pack = WT + slab * e->ir->threads;
    char taps[32];
    snprintf(taps, sizeof taps, "k%03d_taps", id);
    emit_line(e, "/* tap (f, kh, kw) of a group reads the padded dy at q + k%03d_taps[tap] */", id);
    tap_table(e, taps, c.FG, c.KH, c.KW, c.DH, c.DW, d.HP2, d.WP2);
    kern_signature(e, id, names, "dx");
    emit_line(e, "/* direct: dx is the convolution of dy padded to [%lld, %lld, %lld] with the kernel", c.F, d.HP2, d.WP2);
    emit_line(e, " * flipped and its channel axes swapped, wt[g][c][f, kh, kw] = w[g f][c][KH-1-kh, KW-1-kw] */");
    emit_line(e, "real *wt = scratch;");
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    for (int f = 0; f < %lld; f++)", c.FG);
    emit_line(e, "        for (int ci = 0; ci < %lld; ci++)", c.CG);
    emit_line(e, "            for (int k = 0; k < %lld; k++)", KK);
    emit_line(e, "                wt[((size_t)g * %lld + ci) * %lld + f * %lld + k] = w[(((size_t)g * %lld + f) * %lld + ci) * %lld + %lld - k];",
              c.CG, KF, KK, c.FG, c.CG, KK, KK - 1);
    kern_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    emit_line(e, "real *dyp = scratch + %lld + (size_t)NNC_THREAD * %lld, *dxp = dyp + %lld;", WT, slab, d.DYP);
    emit_line(e, "const real *dys = dy + (size_t)s * %lld;", c.F * c.OH * c.OW);
    emit_line(e, "real *dxs = dx + (size_t)s * %lld;", c.C * c.H * c.W);
    pad_copy(e, "dyp", "dys", c.F, c.OH, c.OW, d.HP2, d.WP2, d.P2T, d.P2L, d.DYP);
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    gemm(%lld, %lld, %lld, wt + (size_t)g * %lld, %lld, 1, dyp + (size_t)g * %lld, 0, 1,", c.CG, d.Q2, KF,
              c.CG * KF, KF, c.FG * d.HP2 * d.WP2);
    emit_line(e, "         dxp + (size_t)g * %lld, %lld, 0, NULL, NULL, scratch + %lld, 0, %s);", c.CG * d.Q2, d.Q2, pack, taps);
    emit_line(e, "for (int ci = 0; ci < %lld; ci++)", c.C);
    if (g->epilogue != OP_COUNT) {
        emit_line(e, "    for (int h = 0; h < %lld; h++)", c.H);
        emit_line(e, "        for (int iw = 0; iw < %lld; iw++) { /* fused %s backward */", c.W, op_info[g->epilogue].name);
        emit_line(e, "            size_t i = ((size_t)ci * %lld + h) * %lld + iw;", c.H, c.W);
        emit_line(e, "            real gv = dxp[(size_t)ci * %lld + h * %lld + iw], yv = y[(size_t)s * %lld + i];", d.Q2, d.WP2,
                  c.C * c.H * c.W);
        emit_line(e, "            dxs[i] = %s;", kern_act_grad_expr(g->epilogue));
        emit_line(e, "        }");
    } else {
        emit_line(e, "    for (int h = 0; h < %lld; h++)", c.H);
        emit_line(e, "        memcpy(dxs + ((size_t)ci * %lld + h) * %lld, dxp + (size_t)ci * %lld + h * %lld, %lld * sizeof(real));",
                  c.H, c.W, d.Q2, d.WP2, c.W);
    }
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

void kern_conv_dw_direct(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    static const char *const names[] = {"dy", "x"};
    Conv c = conv_geometry(f, kern_node(e, f->in[0]));
    ConvDirect d = conv_direct_geometry(&c);
    ll KG = c.CG * c.KH * c.KW, DYS = c.F * d.Q16;
    ll S = conv_dw_chunk(e->plan->max_batch);
    char taps[32];
    snprintf(taps, sizeof taps, "k%03d_taps", id);
    emit_line(e, "/* tap (c, kh, kw) of a group reads the padded input at q + k%03d_taps[tap] */", id);
    tap_table(e, taps, c.CG, c.KH, c.KW, c.DH, c.DW, d.HP, d.WP);
    kern_signature(e, id, names, "dw");
    emit_line(e, "/* direct: %lld samples at a time, the inputs padded to [%lld, %lld, %lld] and dy over the", S, c.C,
              d.HP, d.WP);
    emit_line(e, " * padded width, [%lld, %lld] (0 in the dropped columns); dw[f, tap] is one dot product", c.F, d.Q16);
    emit_line(e, " * over the batch and the positions, its 16 partial sums kept in part */");
    emit_line(e, "real *part = scratch, *xp = part + %lld, *dyp = xp + %lld;", align16(c.F * KG * 16), S * d.XP);
    emit_line(e, "for (int s0 = 0; s0 < n; s0 += %lld) {", S);
    e->indent++;
    emit_line(e, "int ns = n - s0 < %lld ? n - s0 : %lld;", S, S);
    kern_par_begin(e, "ns > 1");
    emit_line(e, "for (int i = 0; i < ns; i++) {");
    e->indent++;
    emit_line(e, "real *xps = xp + (size_t)i * %lld, *dyps = dyp + (size_t)i * %lld;", d.XP, DYS);
    emit_line(e, "const real *xs = x + (size_t)(s0 + i) * %lld, *dys = dy + (size_t)(s0 + i) * %lld;", c.C * c.H * c.W,
              c.F * c.OH * c.OW);
    pad_copy(e, "xps", "xs", c.C, c.H, c.W, d.HP, d.WP, c.PT, c.PL, d.XP);
    emit_line(e, "memset(dyps, 0, %lld * sizeof(real));", DYS);
    emit_line(e, "for (int f = 0; f < %lld; f++)", c.F);
    emit_line(e, "    for (int oh = 0; oh < %lld; oh++)", c.OH);
    emit_line(e, "        memcpy(dyps + (size_t)f * %lld + oh * %lld, dys + ((size_t)f * %lld + oh) * %lld, %lld * sizeof(real));",
              d.Q16, d.WP, c.OH, c.OW, c.OW);
    e->indent--;
    emit_line(e, "}");
    kern_par_end(e);
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    dotsum(%lld, %lld, %lld, ns, dyp + (size_t)g * %lld, %lld, %lld, xp + (size_t)g * %lld, %lld, %s,", c.FG,
              KG, d.Q16, c.FG * d.Q16, DYS, d.Q16, c.CG * d.HP * d.WP, d.XP, taps);
    emit_line(e, "           part + (size_t)g * %lld, s0 == 0);", c.FG * KG * 16);
    e->indent--;
    emit_line(e, "}");
    emit_line(e, "for (int i = 0; i < %lld; i++)", c.F * KG);
    emit_line(e, "    dw[i] = sum16(part + (size_t)i * 16);");
    kern_end(e);
}

/* dotsum(): see this file's comment. */
static const char *const dotsum_source[] = {
    "/* part[m, n, l] (+)= sum over samples s < ns and k = l mod 16 < K (a multiple of",
    " * 16) of A[s sa + m lda + k] B[s sb + boff[n] + k], samples in order; sum16()",
    " * then adds the 16 partial sums in a fixed tree.  The same bits from the vector",
    " * code and the plain loops, on any thread count (threads split the outputs). */",
    "#ifdef NNC_VECTOR",
    "#if GEMM_LANES == 16",
    "#define DOT_MB 4",
    "#define DOT_NB 6",
    "#else",
    "#define DOT_MB 2",
    "#define DOT_NB 3",
    "#endif",
    "#define DOT_H (16 / GEMM_LANES)",
    "/* GVFMA: see gemm() */",
    "#if defined(__clang__)",
    "#define NNC_UNROLL _Pragma(\"unroll\")",
    "#else",
    "#define NNC_UNROLL _Pragma(\"GCC unroll 8\")",
    "#endif",
    "#endif",
    "static real sum16(const real *t)",
    "{",
    "    return (((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))) +",
    "           (((t[8] + t[9]) + (t[10] + t[11])) + ((t[12] + t[13]) + (t[14] + t[15])));",
    "}",
    "static void dotsum(int M, int N, int K, int ns, const real *A, long sa, long lda, const real *B, long sb,",
    "                   const int *boff, real *part, int first)",
    "{",
    "#ifdef NNC_VECTOR",
    "    int nbm = (M + DOT_MB - 1) / DOT_MB, nbn = (N + DOT_NB - 1) / DOT_NB;",
    "    NNC_PARALLEL_FOR",
    "    for (int blk = 0; blk < nbm * nbn; blk++) {",
    "        int m0 = blk / nbn * DOT_MB, n0 = blk % nbn * DOT_NB;",
    "        int mb = M - m0 < DOT_MB ? M - m0 : DOT_MB, nb = N - n0 < DOT_NB ? N - n0 : DOT_NB;",
    "        long ao[DOT_MB], bo[DOT_NB];",
    "        for (int i = 0; i < DOT_MB; i++)",
    "            ao[i] = (long)(m0 + (i < mb ? i : mb - 1)) * lda;",
    "        for (int j = 0; j < DOT_NB; j++)",
    "            bo[j] = boff[n0 + (j < nb ? j : nb - 1)];",
    "        vgemm acc[DOT_MB][DOT_NB][DOT_H];",
    "        memset(acc, 0, sizeof acc);",
    "        if (!first)",
    "            for (int i = 0; i < mb; i++)",
    "                for (int j = 0; j < nb; j++)",
    "                    memcpy(acc[i][j], part + ((long)(m0 + i) * N + n0 + j) * 16, sizeof acc[i][j]);",
    "        for (int s = 0; s < ns; s++) {",
    "            const real *as = A + (long)s * sa, *bs = B + (long)s * sb;",
    "            for (int k = 0; k < K; k += GEMM_LANES) {",
    "                int h = k / GEMM_LANES % DOT_H;",
    "                vgemm av[DOT_MB], bv;",
    "                NNC_UNROLL",
    "                for (int i = 0; i < DOT_MB; i++)",
    "                    GLOAD(av[i], as + ao[i] + k);",
    "                NNC_UNROLL",
    "                for (int j = 0; j < DOT_NB; j++) {",
    "                    GLOAD(bv, bs + bo[j] + k);",
    "                    NNC_UNROLL",
    "                    for (int i = 0; i < DOT_MB; i++)",
    "                        GVFMA(acc[i][j][h], av[i], bv);",
    "                }",
    "            }",
    "        }",
    "        for (int i = 0; i < mb; i++)",
    "            for (int j = 0; j < nb; j++)",
    "                memcpy(part + ((long)(m0 + i) * N + n0 + j) * 16, acc[i][j], sizeof acc[i][j]);",
    "    }",
    "#else",
    "    NNC_PARALLEL_FOR",
    "    for (int m = 0; m < M; m++)",
    "        for (int n = 0; n < N; n++) {",
    "            real *t = part + ((long)m * N + n) * 16;",
    "            if (first)",
    "                memset(t, 0, 16 * sizeof(real));",
    "            for (int s = 0; s < ns; s++)",
    "                for (int k = 0; k < K; k++)",
    "                    t[k % 16] = FMADD(A[(long)s * sa + (long)m * lda + k], B[(long)s * sb + boff[n] + k], t[k % 16]);",
    "        }",
    "#endif",
    "}",
    "",
};

void kern_dotsum_emit(Emitter *e)
{
    for (size_t i = 0; i < sizeof dotsum_source / sizeof dotsum_source[0]; i++)
        emit_line(e, "%s", dotsum_source[i]);
}
