/*
 * kernels_conv.c: direct convolution kernels (conv_algo.c's formulations)
 * and dotsum(), the batched dot products of their weight gradient.
 *
 * Forward and dx: one sample per iteration (samples in parallel), its
 * input copied into zero-padded planes in per-thread scratch, one GEMM
 * whose B rows are the tap windows of those planes (a table of offsets,
 * kNNN_taps[]), and the padded output copied back to NCHW with the fused
 * activation applied on the way.  Each output is a sum over the taps in
 * order, as in the im2col kernels.  Two other forward layouts:
 * CONV_DIRECT_OC, vectorised over the filters at the exact positions
 * (oc_tile()), and polyphase planes (ConvPhase) when max pooling with
 * tiling windows reads the output (kern_conv_pool_direct()): one GEMM per
 * window tap, so that pooling is an element-wise maximum of contiguous
 * planes.  Both sum the taps in the same order: the same bits.
 *
 * dW: the batch in CONV_DW_RUNS runs of samples, each run CONV_DW_CHUNK
 * samples at a time: their inputs and output gradients are padded into
 * the thread's scratch, then dotsum() adds their part of every dw[f, tap]
 * to the run's partial sums, one dot product over the samples and the
 * padded positions kept in 16 partial sums (lane l takes the positions
 * q = l mod 16), samples in order.  The runs are then added in a fixed
 * tree and sum16() adds each weight's 16.  The threads split the runs, the
 * way every other kernel splits the samples, so each thread reads the
 * gradients it wrote; the runs do not depend on the thread count, so
 * every thread count gives the same bits, and so do the vector code (16
 * lanes, or two vectors of 8) and the plain loops.
 */
#include "kernels.h"

#include "fuse_conv_pool.h"

#include "conv_algo.h"
#include "gemm.h"
#include "helpers/dotsum.inc" /* build/: scripts/embed_c.c from compiler/emit/helpers/dotsum.c */

#include <stdio.h>
#include <string.h>

static ll align16(ll x)
{
    return (x + 15) / 16 * 16;
}

/* Where tap (c, kh, kw) of a group's kernel starts, for the output at
 * (Ph oh + dh, Pw ow + dw), in C channels of Ph x Pw planes of PHq x PWq
 * (polyphase planes, ConvPhase; Ph = Pw = 1 is the padded input itself):
 * out[(c KH + kh) KW + kw]. */
static void tap_offsets(ll C, ll KH, ll KW, ll DH, ll DW, ll Ph, ll Pw, ll PHq, ll PWq, ll dh, ll dw, ll *out)
{
    for (ll c = 0; c < C; c++)
        for (ll kh = 0; kh < KH; kh++)
            for (ll kw = 0; kw < KW; kw++) {
                ll r = dh + kh * DH, q = dw + kw * DW;
                *out++ = ((c * Ph + r % Ph) * Pw + q % Pw) * PHq * PWq + r / Ph * PWq + q / Pw;
            }
}

/* n integers, comma after each, in lines of about 100 columns. */
static void emit_ints(Emitter *e, const char *indent, const ll *v, ll n)
{
    char line[200];
    size_t len = 0;
    for (ll i = 0; i < n; i++) {
        len += (size_t)snprintf(line + len, sizeof line - len, "%lld, ", v[i]);
        if (len > 100 || i == n - 1) {
            emit_line(e, "%s%s", indent, line);
            len = 0;
        }
    }
}

/* static const int NAME[taps] = {...}: where tap (c, kh, kw) of a group's
 * kernel starts in padded planes of hp x wp. */
static void tap_table(Emitter *e, const char *name, ll C, ll KH, ll KW, ll DH, ll DW, ll hp, ll wp)
{
    ll n = C * KH * KW, *v = arena_alloc(e->ir->arena, (size_t)n * sizeof *v);
    tap_offsets(C, KH, KW, DH, DW, 1, 1, hp, wp, 0, 0, v);
    emit_line(e, "static const int %s[%lld] = {", name, n);
    emit_ints(e, "    ", v, n);
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

/* Where the forward kernels leave a sample's convolution output (bias
 * added, activation not yet): element (f, oh, ow) at yp[f sf + oh sh + ow
 * sw]; in polyphase planes (phase), output (Ph ph + dh, Pw pw + dw) at
 * yp[((dh Pw + dw) F + f) N + ph PWq + pw] instead. */
typedef struct {
    ll sf, sh, sw;
    int phase;
    ConvPhase p;
} OutLayout;

/* static const int NAME[Ph Pw][taps]: where tap (c, kh, kw) of a group's
 * kernel starts in the polyphase planes for window tap (dh, dw). */
static void phase_tap_table(Emitter *e, const char *name, const Conv *c, const ConvPhase *p)
{
    ll n = c->CG * c->KH * c->KW, *v = arena_alloc(e->ir->arena, (size_t)n * sizeof *v);
    emit_line(e, "static const int %s[%lld][%lld] = {", name, p->Ph * p->Pw, n);
    for (ll dh = 0; dh < p->Ph; dh++)
        for (ll dw = 0; dw < p->Pw; dw++) {
            tap_offsets(c->CG, c->KH, c->KW, c->DH, c->DW, p->Ph, p->Pw, p->PHq, p->PWq, dh, dw, v);
            emit_line(e, "    {");
            emit_ints(e, "        ", v, n);
            emit_line(e, "    },");
        }
    emit_line(e, "};");
}

/* Filters padded to the target's block (CONV_DIRECT_OC): whole vectors
 * of 16 lanes, or the plain loops' 8 (target.h). */
static ll oc_filters(const Emitter *e, const Conv *c)
{
    return target_filters(e->ir->target, c->F);
}

/* Before the sample loop of a CONV_DIRECT_OC kernel: the weights as
 * wt[tap, FP], lane f of a row w[f, tap] (0 past F), the bias as bt[FP]. */
static void oc_prologue(Emitter *e, int id, const IrNode *n, const Conv *c)
{
    ll KG = c->CG * c->KH * c->KW, FP = oc_filters(e, c);
    emit_line(e, "real *wt = %s, *bt = %s;", kern_region_ptr(e, id, "wt"), kern_region_ptr(e, id, "bt"));
    emit_line(e, "for (int k = 0; k < %lld; k++)", KG);
    emit_line(e, "    for (int f = 0; f < %lld; f++)", FP);
    emit_line(e, "        wt[k * %lld + f] = f < %lld ? w[(size_t)f * %lld + k] : 0.0f;", FP, c->F, KG);
    emit_line(e, "for (int f = 0; f < %lld; f++)", FP);
    emit_line(e, "    bt[f] = f < %lld ? %s : 0.0f;", c->F, n->nin > 2 ? "b[f]" : "0.0f");
}

/*
 * One register tile of a CONV_DIRECT_OC kernel: R output rows by T
 * columns from (oh, ow0), every filter: R T accumulators of FV vectors,
 * each a sum over the taps in order started from the bias, so the same
 * bits as the GEMM and as the plain loops.  Every window of the tile is at
 * a constant distance from the first, so each product reads its input
 * as a broadcast at a fixed offset and the weights' row once per tap.
 */
static void oc_tile(Emitter *e, const Conv *c, const ConvDirect *d, const char *taps, ll R, ll T, ll FV)
{
    /* The accumulators are named, a<t>_<v>, and the loop over a tap's FV
     * vectors is written out: an array indexed by a loop variable stays in
     * memory where the compiler does not unroll the loop (AArch64 -O2:
     * a load and a store around every fused multiply-add). */
    ll KG = c->CG * c->KH * c->KW, FP = oc_filters(e, c);
    emit_line(e, "{");
    e->indent++;
    emit_line(e, "const real *xt = xp + (size_t)oh * %lld + ow0;", d->WP);
    emit_line(e, "real *yt = yp + ((size_t)oh * %lld + ow0) * %lld;", c->OW, FP);
    for (ll v = 0; v < FV; v++) {
        emit_line(e, "vgemm b%lld;", v);
        emit_line(e, "GLOAD(b%lld, bt + %lld * GEMM_LANES);", v, v);
    }
    for (ll t = 0; t < R * T; t++)
        for (ll v = 0; v < FV; v++)
            emit_line(e, "vgemm a%lld_%lld = b%lld;", t, v, v);
    emit_line(e, "for (int k = 0; k < %lld; k++) {", KG);
    emit_line(e, "    const real *xk = xt + %s[k];", taps);
    emit_line(e, "    vgemm wv;");
    for (ll v = 0; v < FV; v++) {
        emit_line(e, "    GLOAD(wv, wt + (size_t)k * %lld + %lld * GEMM_LANES);", FP, v);
        for (ll r = 0; r < R; r++)
            for (ll t = 0; t < T; t++)
                emit_line(e, "    GFMA(a%lld_%lld, xk[%lld], wv);", r * T + t, v, r * d->WP + t);
    }
    emit_line(e, "}");
    for (ll v = 0; v < FV; v++)
        for (ll r = 0; r < R; r++)
            for (ll t = 0; t < T; t++)
                emit_line(e, "GSTORE(yt + %lld + %lld * GEMM_LANES, a%lld_%lld);", (r * c->OW + t) * FP, v, r * T + t, v);
    e->indent--;
    emit_line(e, "}");
}

/* The tiles of one sample for lanes-wide vectors: R x T tiles of at most
 * regs accumulators, then the partial ones at the right and the bottom. */
static void oc_tiles(Emitter *e, const Conv *c, const ConvDirect *d, const char *taps, ll lanes, ll regs)
{
    ll FV = oc_filters(e, c) / lanes;
    ll T = regs / FV < 1 ? 1 : regs / FV;
    if (T > c->OW)
        T = c->OW;
    ll R = regs / (FV * T) < 1 ? 1 : regs / (FV * T);
    if (R > c->OH)
        R = c->OH;
    ll Tr = c->OW % T, Rr = c->OH % R, OHR = c->OH - Rr, OWT = c->OW - Tr;
    for (int rest = 0; rest < 2; rest++) {
        ll r = rest ? 1 : R;
        if (rest && !Rr)
            break;
        if (rest)
            emit_line(e, "for (int oh = %lld; oh < %lld; oh++) {", OHR, c->OH);
        else
            emit_line(e, "for (int oh = 0; oh < %lld; oh += %lld) {", OHR, R);
        e->indent++;
        emit_line(e, "for (int ow0 = 0; ow0 < %lld; ow0 += %lld)", OWT, T);
        e->indent++;
        oc_tile(e, c, d, taps, r, T, FV);
        e->indent--;
        if (Tr) {
            emit_line(e, "int ow0 = %lld;", OWT);
            oc_tile(e, c, d, taps, r, Tr, FV);
        }
        e->indent--;
        emit_line(e, "}");
    }
}

/*
 * Inside a sample loop: sample s of x padded into this thread's slab of
 * scratch (xp) and its convolution into yp, bias added; both forward
 * kernels continue from yp, laid out as *out says.  Over the padded width
 * (a GEMM, [F, Q]), in polyphase planes (a GEMM per window tap, [Ph Pw,
 * F, N]) or, with CONV_DIRECT_OC, position-major with the filters in
 * vectors ([OH OW, FP]).
 */
static void direct_forward_sample(Emitter *e, int id, const IrNode *n, const Conv *c, const ConvDirect *d,
                                  const char *taps, OutLayout *out)
{
    ll KG = c->CG * c->KH * c->KW;
    if (n->conv_algo & CONV_DIRECT_OC) {
        ll FP = oc_filters(e, c);
        emit_line(e, "real *yp = %s;", kern_region_ptr(e, id, "yp"));
        emit_line(e, "const real *xs = x + (size_t)s * %lld;", c->C * c->H * c->W);
        if (!conv_oc_in_place(c, d)) {
            emit_line(e, "real *xp = yp + %lld;", kern_region_at(e, id, "xp") - kern_region_at(e, id, "yp"));
            pad_copy(e, "xp", "xs", c->C, c->H, c->W, d->HP, d->WP, c->PT, c->PL, c->C * d->HP * d->WP);
        } else {
            emit_line(e, "const real *xp = xs;");
        }
        emit_line(e, "#ifdef NNC_VECTOR");
        /* kNNN_oc(), oc_function(): taps is kNNN_taps */
        emit_line(e, "NNC_ISA_CALL(%.*s_oc, (xp, yp, wt, bt));", (int)(strlen(taps) - strlen("_taps")), taps);
        emit_line(e, "#else");
        /* the plain loops: FB filters at 2 neighbouring positions at a
         * time, so that each input value loaded serves FB multiply-adds,
         * each weight 2, and the 2 FB sums stay in registers (16 of the
         * Cortex-M4F's 32 for FB = 8: about 2 instructions per
         * multiply-add instead of 2.8; 7 with one sum in memory); each sum
         * is still one chain in tap order from the bias */
        int FB = FP % 8 == 0 ? 8 : FP % 4 == 0 ? 4 : 1;
        emit_line(e, "for (int oh = 0; oh < %lld; oh++) {", c->OH);
        e->indent++;
        for (int rest = 0; rest < 2; rest++) {
            int P = rest ? 1 : 2;
            if (rest && c->OW % 2 == 0)
                break;
            if (rest)
                emit_line(e, "{");
            else
                emit_line(e, "for (int ow = 0; ow < %lld; ow += 2) {", c->OW / 2 * 2);
            e->indent++;
            if (rest)
                emit_line(e, "int ow = %lld;", c->OW - 1);
            emit_line(e, "const real *xq = xp + oh * %lld + ow;", d->WP);
            emit_line(e, "real *yq = yp + ((size_t)oh * %lld + ow) * %lld;", c->OW, FP);
            emit_line(e, "for (int f = 0; f < %lld; f += %d) {", FP, FB);
            e->indent++;
            for (int q = 0; q < P; q++)
                for (int j = 0; j < FB; j++)
                    emit_line(e, "real a%d%d = bt[f + %d];", q, j, j);
            emit_line(e, "const real *wk = wt + f;");
            emit_line(e, "for (int k = 0; k < %lld; k++, wk += %lld) {", KG, FP);
            e->indent++;
            emit_line(e, "const real *xk = xq + %s[k];", taps);
            for (int q = 0; q < P; q++)
                emit_line(e, "real v%d = xk[%d];", q, q);
            for (int j = 0; j < FB; j++) {
                emit_line(e, "real w%d = wk[%d];", j, j);
                for (int q = 0; q < P; q++)
                    emit_line(e, "a%d%d = FMADD(w%d, v%d, a%d%d);", q, j, j, q, q, j);
            }
            e->indent--;
            emit_line(e, "}");
            for (int q = 0; q < P; q++)
                for (int j = 0; j < FB; j++)
                    emit_line(e, "yq[%lld + f + %d] = a%d%d;", q * FP, j, q, j);
            e->indent--;
            emit_line(e, "}");
            e->indent--;
            emit_line(e, "}");
        }
        e->indent--;
        emit_line(e, "}");
        emit_line(e, "#endif");
        *out = (OutLayout){1, c->OW * FP, FP, 0, {0}};
        return;
    }
    ConvPhase p;
    if (conv_phase_geometry(e->ir, n, &p)) {
        ll plane = p.PHq * p.PWq, PP = p.Ph * p.Pw;
        emit_line(e, "real *xp = %s, *yp = xp + %lld;", kern_region_ptr(e, id, "xp"),
                  kern_region_at(e, id, "yp") - kern_region_at(e, id, "xp"));
        emit_line(e, "const real *xs = x + (size_t)s * %lld;", c->C * c->H * c->W);
        emit_line(e, "/* plane (pa, pb) of channel c: the padded input's rows pa + %lld i, columns pb + %lld j */",
                  p.Ph, p.Pw);
        emit_line(e, "memset(xp, 0, %lld * sizeof(real));", p.XP);
        emit_line(e, "for (int c = 0; c < %lld; c++)", c->C);
        emit_line(e, "    for (int pa = 0; pa < %lld; pa++)", p.Ph);
        emit_line(e, "        for (int i = 0; i < %lld; i++) {", p.PHq);
        emit_line(e, "            int h = %lld * i + pa - %lld;", p.Ph, c->PT);
        emit_line(e, "            if (h < 0 || h >= %lld)", c->H);
        emit_line(e, "                continue;");
        emit_line(e, "            for (int pb = 0; pb < %lld; pb++)", p.Pw);
        emit_line(e, "                for (int j = 0; j < %lld; j++) {", p.PWq);
        emit_line(e, "                    int iw = %lld * j + pb - %lld;", p.Pw, c->PL);
        emit_line(e, "                    if (iw >= 0 && iw < %lld)", c->W);
        emit_line(e, "                        xp[((size_t)(c * %lld + pa) * %lld + pb) * %lld + i * %lld + j] =", p.Ph,
                  p.Pw, plane, p.PWq);
        emit_line(e, "                            xs[((size_t)c * %lld + h) * %lld + iw];", c->H, c->W);
        emit_line(e, "                }");
        emit_line(e, "        }");
        emit_line(e, "for (int t = 0; t < %lld; t++)", PP);
        emit_line(e, "    for (int g = 0; g < %lld; g++)", c->G);
        emit_line(e, "        GEMM(%lld, %lld, %lld, w + (size_t)g * %lld, %lld, 1, xp + (size_t)g * %lld, 0, 1,", c->FG,
                  p.N, KG, c->FG * KG, KG, c->CG * PP * plane);
        emit_line(e, "             yp + ((size_t)t * %lld + g * %lld) * %lld, %lld, 0, %s, NULL, %s, %s[t]);", c->F,
                  c->FG, p.N, p.N, n->nin > 2 ? arena_printf(e->ir->arena, "b + (size_t)g * %lld", c->FG) : "NULL",
                  kern_gemm_pack(e, id, p.N, KG, 1, 1), taps);
        *out = (OutLayout){0, 0, 0, 1, p};
        return;
    }
    emit_line(e, "real *xp = %s, *yp = xp + %lld;", kern_region_ptr(e, id, "xp"),
              kern_region_at(e, id, "yp") - kern_region_at(e, id, "xp"));
    emit_line(e, "const real *xs = x + (size_t)s * %lld;", c->C * c->H * c->W);
    pad_copy(e, "xp", "xs", c->C, c->H, c->W, d->HP, d->WP, c->PT, c->PL, d->XP);
    emit_line(e, "for (int g = 0; g < %lld; g++)", c->G);
    emit_line(e, "    GEMM(%lld, %lld, %lld, w + (size_t)g * %lld, %lld, 1, xp + (size_t)g * %lld, 0, 1,", c->FG, d->Q, KG,
              c->FG * KG, KG, c->CG * d->HP * d->WP);
    emit_line(e, "         yp + (size_t)g * %lld, %lld, 0, %s, NULL, %s, %s);", c->FG * d->Q, d->Q,
              n->nin > 2 ? arena_printf(e->ir->arena, "b + (size_t)g * %lld", c->FG) : "NULL",
              kern_gemm_pack(e, id, d->Q, KG, 1, 1), taps);
    *out = (OutLayout){d->Q, d->WP, 1, 0, {0}};
}

/* The tap table of a forward kernel, before its signature. */
static void direct_forward_taps(Emitter *e, const IrNode *n, const Conv *c, const ConvDirect *d, const char *taps)
{
    ConvPhase p;
    if (conv_phase_geometry(e->ir, n, &p)) {
        emit_line(e, "/* for window tap t, tap (c, kh, kw) of a group reads the planes at q + %s[t][tap] */", taps);
        phase_tap_table(e, taps, c, &p);
        return;
    }
    emit_line(e, "/* tap (c, kh, kw) of a group reads the padded input at q + %s[tap] */", taps);
    tap_table(e, taps, c->CG, c->KH, c->KW, c->DH, c->DW, d->HP, d->WP);
}

/* The forward kernels' first lines: what they compute where, and with
 * CONV_DIRECT_OC the weights and bias laid out for it. */
static void direct_forward_begin(Emitter *e, int id, const IrNode *n, const Conv *c, const ConvDirect *d,
                                 const char *then)
{
    if (n->conv_algo & CONV_DIRECT_OC) {
        emit_line(e, "/* direct, vectorised over the filters: per thread the input%s and the output",
                  conv_oc_in_place(c, d) ? " in place"
                                    : arena_printf(e->ir->arena, " padded to [%lld, %lld, %lld]", c->C, d->HP, d->WP));
        emit_line(e, " * position-major, [%lld, %lld]%s; samples in parallel */", c->OH * c->OW, oc_filters(e, c), then);
        oc_prologue(e, id, n, c);
        return;
    }
    ConvPhase p;
    if (conv_phase_geometry(e->ir, n, &p)) {
        emit_line(e, "/* direct in polyphase planes: per thread the input padded and split into [%lld, %lld, %lld,",
                  c->C, p.Ph * p.Pw, p.PHq);
        emit_line(e, " * %lld] and the output per window tap, [%lld, %lld, %lld]%s; samples in parallel */", p.PWq,
                  p.Ph * p.Pw, c->F, p.N, then);
        return;
    }
    emit_line(e, "/* direct: per thread the input padded to [%lld, %lld, %lld] and the output over", c->C, d->HP, d->WP);
    emit_line(e, " * the padded width, [%lld, %lld]%s; samples in parallel */", c->F, d->Q, then);
}

/*
 * Before a CONV_DIRECT_OC kernel: its vector tiles of one sample as the
 * function kNNN_oc(xp, yp, wt, bt) (padded input, output [OH OW, FP],
 * weights wt[tap, FP], bias bt[FP]), written for each vector width and,
 * with run-time dispatch, once more per instruction set (gemm_isa_begin()).
 */
static void oc_function(Emitter *e, int id, const Conv *c, const ConvDirect *d, const char *taps)
{
    const char *fn = arena_printf(e->ir->arena, "k%03d_oc", id);
    if (target_or_host(e->ir->target)->lanes == 0)
        return; /* no vectors: the plain loops alone (direct_forward_sample()) */
    emit_line(e, "#ifdef NNC_VECTOR");
    for (int v = -1; v < GEMM_ISA_COPIES; v++) {
        if (v >= 0)
            gemm_isa_begin(e, v, &fn, 1);
        emit_line(e, "static void %s(const real *xp, real *yp, const real *wt, const real *bt)", fn);
        emit_line(e, "{");
        e->indent++;
        /* accumulators: 32 vector registers with AVX-512, 16 with AVX or SSE2 */
        emit_line(e, "#if GEMM_LANES == 16");
        oc_tiles(e, c, d, taps, 16, 24);
        emit_line(e, "#elif GEMM_LANES == 8");
        oc_tiles(e, c, d, taps, 8, 12);
        emit_line(e, "#else");
        oc_tiles(e, c, d, taps, 4, 12);
        emit_line(e, "#endif");
        e->indent--;
        emit_line(e, "}");
        if (v >= 0)
            gemm_isa_end(e, v, &fn, 1);
    }
    emit_line(e, "#endif");
}

/*
 * The opening of kernel id, a direct forward of conv2d node n (id itself,
 * or the maxpool it is inlined into): its tap table and signature, x, w
 * and b named, and the sample loop (samples in parallel) down to the
 * convolution of sample s in yp; returns yp's layout.  The caller writes
 * the rest of the loop's body, then closes the loop and the function.
 */
static OutLayout direct_forward_open(Emitter *e, int id, const IrNode *n, const Conv *c, const ConvDirect *d,
                                     const char *then)
{
    static const char *const names[] = {"x", "w", "b"};
    char *taps = arena_printf(e->ir->arena, "k%03d_taps", id);
    direct_forward_taps(e, n, c, d, taps);
    if (n->conv_algo & CONV_DIRECT_OC)
        oc_function(e, id, c, d, taps);
    if (id == (int)(n - e->ir->nodes)) {
        kern_signature(e, id, names, "y");
    } else { /* n is inlined: its operands are named by node */
        kern_signature(e, id, NULL, "y");
        emit_line(e, "const real *x = %s, *w = %s;", kern_operand_name(e, id, NULL, n->in[0]),
                  kern_operand_name(e, id, NULL, n->in[1]));
        if (n->nin > 2)
            emit_line(e, "const real *b = %s;", kern_operand_name(e, id, NULL, n->in[2]));
    }
    direct_forward_begin(e, id, n, c, d, then);
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    OutLayout o;
    direct_forward_sample(e, id, n, c, d, taps, &o);
    return o;
}

void kern_conv_forward_direct(Emitter *e, int id)
{
    const IrNode *n = kern_node(e, id);
    Conv c = conv_geometry(n, kern_node(e, n->in[0]));
    ConvDirect d = conv_direct_geometry(&c);
    OutLayout o = direct_forward_open(e, id, n, &c, &d, "");
    emit_line(e, "real *ys = y + (size_t)s * %lld;", c.F * c.OH * c.OW);
    emit_line(e, "/* the kept outputs, back to NCHW%s */", n->epilogue != OP_COUNT ? ", through the fused activation" : "");
    emit_line(e, "for (int f = 0; f < %lld; f++)", c.F);
    emit_line(e, "    for (int oh = 0; oh < %lld; oh++)", c.OH);
    emit_line(e, "        for (int ow = 0; ow < %lld; ow++) {", c.OW);
    emit_line(e, "            real v = yp[(size_t)f * %lld + oh * %lld + ow * %lld];", o.sf, o.sh, o.sw);
    emit_line(e, "            ys[((size_t)f * %lld + oh) * %lld + ow] = %s;", c.OH, c.OW, kern_epilogue_expr(n));
    emit_line(e, "        }");
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/* One pooled output of kern_conv_pool_direct: the window at `win`, its
 * maximum stored to out[at] and, when keep, where it came from to
 * element out + at - y of the int32 `kept` (maxpool's layout, from
 * y + where: its region "argmax", kmem_pool()). */
typedef struct {
    const IrNode *conv;
    ll KH, KW, SH, SW, skh, skw, OW;
    int keep;
    ll where;
} PoolWindow;

static void pool_window(Emitter *e, const PoolWindow *w, const char *out, const char *at)
{
    /* Straight-line selects, not branches: which tap wins is data, and a
     * mispredicted branch per tap cost more than the convolution. */
    int act = w->conv->epilogue != OP_COUNT;
    emit_line(e, "int at0 = ph * %lld + pw * %lld;", w->SH * w->OW, w->SW);
    emit_line(e, "real m = win[0];");
    emit_line(e, "int at = at0;");
    if (act)
        emit_line(e, "{ real v = m; m = %s; }", kern_epilogue_expr(w->conv));
    for (ll kh = 0; kh < w->KH; kh++)
        for (ll kw = kh == 0; kw < w->KW; kw++) {
            emit_line(e, "{");
            emit_line(e, "    real v = win[%lld];", kh * w->skh + kw * w->skw);
            if (act)
                emit_line(e, "    v = %s;", kern_epilogue_expr(w->conv));
            emit_line(e, "    int better = v > m || v != v;");
            emit_line(e, "    m = better ? v : m;");
            emit_line(e, "    at = better ? at0 + %lld : at;", kh * w->OW + kw);
            emit_line(e, "}");
        }
    emit_line(e, "%s[%s] = m;", out, at);
    if (w->keep)
        emit_line(e, "kept[%s + %s - y] = at;", out, at);
    else
        emit_line(e, "(void)at;");
}

/* kern_conv_pool_direct's pooling of one sample from yp, window (f, ph, pw)
 * at yp[f sf + ph sph + pw spw], for the layout o. */
static void pool_loops(Emitter *e, const PoolWindow *pw, const OutLayout *o, const Conv *c, ll PH, ll PW, ll sf,
                       ll sph, ll spw)
{
    if (sf == 1) {
        /* CONV_DIRECT_OC: the filters innermost, a vector of them per tap */
        emit_line(e, "for (int ph = 0; ph < %lld; ph++)", PH);
        emit_line(e, "    for (int pw = 0; pw < %lld; pw++) {", PW);
        e->indent += 2;
        emit_line(e, "real *yo = y + (size_t)s * %lld + ph * %lld + pw;", c->F * PH * PW, PW);
        emit_line(e, "for (int f = 0; f < %lld; f++) {", c->F);
        e->indent++;
        emit_line(e, "const real *win = yp + (size_t)f * %lld + ph * %lld + pw * %lld;", sf, sph, spw);
        pool_window(e, pw, "yo", arena_printf(e->ir->arena, "(size_t)f * %lld", PH * PW));
        e->indent--;
        emit_line(e, "}");
        e->indent -= 2;
        emit_line(e, "    }");
    } else if (o->phase) {
        /* Rows (f, ph) of the output, the windows of each contiguous in every
         * plane.  All but the last rows run on to the planes' width, PWq:
         * one whole vector for fashion_lenet's 14 of 16 (1.6 us of its 11 at
         * batch 1), the extra columns computed in the planes and stored over
         * the next row's start, before that row is. */
        ll rows = c->F * PH, wide = rows * PW < o->p.PWq ? 0 : (rows * PW - o->p.PWq) / PW + 1; /* r PW + PWq <= rows PW */
        for (int last = 0; last < 2; last++) {
            ll r0 = last ? wide : 0, r1 = last ? rows : wide;
            if (r0 >= r1)
                continue;
            emit_line(e, "for (int r = %lld; r < %lld; r++) {", r0, r1);
            e->indent++;
            emit_line(e, "int f = r / %lld, ph = r %% %lld;", PH, PH);
            emit_line(e, "real *yrow = y + (size_t)s * %lld + (size_t)r * %lld;", c->F * PH * PW, PW);
            emit_line(e, "for (int pw = 0; pw < %lld; pw++) {", last ? PW : o->p.PWq);
            e->indent++;
            emit_line(e, "const real *win = yp + (size_t)f * %lld + ph * %lld + pw;", sf, sph);
            pool_window(e, pw, "yrow", "pw");
            e->indent--;
            emit_line(e, "}");
            e->indent--;
            emit_line(e, "}");
        }
    } else {
        emit_line(e, "for (int f = 0; f < %lld; f++)", c->F);
        emit_line(e, "    for (int ph = 0; ph < %lld; ph++) {", PH);
        e->indent++;
        emit_line(e, "real *yrow = y + ((size_t)s * %lld + f) * %lld + ph * %lld;", c->F, PH * PW, PW);
        emit_line(e, "for (int pw = 0; pw < %lld; pw++) {", PW);
        e->indent++;
        emit_line(e, "const real *win = yp + (size_t)f * %lld + ph * %lld + pw * %lld;", sf, sph, spw);
        pool_window(e, pw, "yrow", "pw");
        e->indent--;
        emit_line(e, "}");
        e->indent--;
        emit_line(e, "}");
    }
}

/*
 * conv2d by direct convolution, its fused activation and the max pooling
 * that reads it, one sample at a time (fuse_conv_pool.c): the pooling
 * reads the activated values from the scratch output while it is in
 * cache, and the convolution's output is never stored.  Maxima, and where
 * they came from (an offset into the [OH, OW] plane, as maxpool's own
 * kernel keeps it), are found with maxpool's comparisons in maxpool's
 * order: the same bits.  With CONV_DIRECT_OC the filters are the
 * innermost loop, contiguous in the scratch output: one vector of them
 * per window tap.
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
    OutLayout o = direct_forward_open(e, id, n, &c, &d, ", pooled from there");
    emit_line(e, "/* max pooling [%lld, %lld] by [%lld, %lld]%s: the first maximum, NaN kept */", (ll)k[0], (ll)k[1],
              (ll)st[0], (ll)st[1], n->epilogue != OP_COUNT ? " of the activated values" : "");
    /* window (f, ph, pw) at yp[f sf + ph sph + pw spw], its tap (kh, kw) at + kh skh + kw skw */
    ll sf = o.sf, sph = st[0] * o.sh, spw = st[1] * o.sw, skh = o.sh, skw = o.sw;
    if (o.phase) {
        sf = o.p.N;
        sph = o.p.PWq;
        spw = 1;
        skh = o.p.Pw * c.F * o.p.N;
        skw = c.F * o.p.N;
    }
    PoolWindow pw = {n, k[0], k[1], st[0], st[1], skh, skw, c.OW, 0, 0};
    if (keep) {
        /* where the maxima came from only when training: evaluation does not need it */
        const char *type = kern_region_ctype(e, id, "argmax");
        pw.where = kern_region_at(e, id, "argmax");
        emit_line(e, "if (training) {");
        e->indent++;
        emit_line(e, "%s *kept = (%s *)(void *)(y + %lld);", type, type, pw.where);
        pw.keep = 1;
        pool_loops(e, &pw, &o, &c, PH, PW, sf, sph, spw);
        pw.keep = 0;
        e->indent--;
        emit_line(e, "} else {");
        e->indent++;
        pool_loops(e, &pw, &o, &c, PH, PW, sf, sph, spw);
        e->indent--;
        emit_line(e, "}");
    } else {
        pool_loops(e, &pw, &o, &c, PH, PW, sf, sph, spw);
    }
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
    ll KK = c.KH * c.KW, KF = c.FG * KK;
    char taps[32];
    snprintf(taps, sizeof taps, "k%03d_taps", id);
    emit_line(e, "/* tap (f, kh, kw) of a group reads the padded dy at q + k%03d_taps[tap] */", id);
    tap_table(e, taps, c.FG, c.KH, c.KW, c.DH, c.DW, d.HP2, d.WP2);
    kern_signature(e, id, names, "dx");
    emit_line(e, "/* direct: dx is the convolution of dy padded to [%lld, %lld, %lld] with the kernel", c.F, d.HP2, d.WP2);
    emit_line(e, " * flipped and its channel axes swapped, wt[g][c][f, kh, kw] = w[g f][c][KH-1-kh, KW-1-kw] */");
    emit_line(e, "real *wt = %s;", kern_region_ptr(e, id, "wt"));
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    for (int f = 0; f < %lld; f++)", c.FG);
    emit_line(e, "        for (int ci = 0; ci < %lld; ci++)", c.CG);
    emit_line(e, "            for (int k = 0; k < %lld; k++)", KK);
    emit_line(e, "                wt[((size_t)g * %lld + ci) * %lld + f * %lld + k] = w[(((size_t)g * %lld + f) * %lld + ci) * %lld + %lld - k];",
              c.CG, KF, KK, c.FG, c.CG, KK, KK - 1);
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    emit_line(e, "real *dyp = %s, *dxp = dyp + %lld;", kern_region_ptr(e, id, "dyp"),
              kern_region_at(e, id, "dxp") - kern_region_at(e, id, "dyp"));
    emit_line(e, "const real *dys = dy + (size_t)s * %lld;", c.F * c.OH * c.OW);
    emit_line(e, "real *dxs = dx + (size_t)s * %lld;", c.C * c.H * c.W);
    pad_copy(e, "dyp", "dys", c.F, c.OH, c.OW, d.HP2, d.WP2, d.P2T, d.P2L, d.DYP);
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    GEMM(%lld, %lld, %lld, wt + (size_t)g * %lld, %lld, 1, dyp + (size_t)g * %lld, 0, 1,", c.CG, d.Q2, KF,
              c.CG * KF, KF, c.FG * d.HP2 * d.WP2);
    emit_line(e, "         dxp + (size_t)g * %lld, %lld, 0, NULL, NULL, %s, %s);", c.CG * d.Q2, d.Q2,
              kern_gemm_pack(e, id, d.Q2, KF, 1, 1), taps);
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

/* The sum of p[r PART] over runs r in [lo, hi), halves added first: a
 * fixed tree whatever the thread count. */
static const char *conv_dw_tree(Emitter *e, ll lo, ll hi, ll PART)
{
    if (hi - lo == 1)
        return arena_printf(e->ir->arena, "p[%lld]", lo * PART);
    ll mid = lo + (hi - lo) / 2;
    return arena_printf(e->ir->arena, "(%s + %s)", conv_dw_tree(e, lo, mid, PART), conv_dw_tree(e, mid, hi, PART));
}

void kern_conv_dw_direct(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    static const char *const names[] = {"dy", "x"};
    Conv c = conv_geometry(f, kern_node(e, f->in[0]));
    ConvDirect d = conv_direct_geometry(&c);
    ll KG = c.CG * c.KH * c.KW, DYS = c.F * d.Q16, PART = align16(c.F * KG * 16);
    ll S = conv_dw_chunk(e->plan->max_batch), NG = conv_dw_runs(e->plan->max_batch);
    char taps[32];
    snprintf(taps, sizeof taps, "k%03d_taps", id);
    emit_line(e, "/* tap (c, kh, kw) of a group reads the padded input at q + k%03d_taps[tap] */", id);
    tap_table(e, taps, c.CG, c.KH, c.KW, c.DH, c.DW, d.HP, d.WP);
    kern_signature(e, id, names, "dw");
    emit_line(e, "/* direct: the batch in %lld runs of samples (the same for any thread count), each", NG);
    emit_line(e, " * %lld samples at a time: the inputs padded to [%lld, %lld, %lld] and dy over the padded", S, c.C,
              d.HP, d.WP);
    emit_line(e, " * width, [%lld, %lld] (0 in the dropped columns); dw[f, tap] is one dot product", c.F, d.Q16);
    emit_line(e, " * over the run's samples and positions, 16 partial sums in part[run], and the");
    emit_line(e, " * runs are added in a fixed tree.  The threads split the runs as the other");
    emit_line(e, " * kernels split the samples, so each reads what it wrote */");
    emit_line(e, "real *part = %s;", kern_region_ptr(e, id, "part"));
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int r = 0; r < %lld; r++) {", NG);
    e->indent++;
    emit_line(e, "real *xp = %s, *dyp = xp + %lld;", kern_region_ptr(e, id, "xp"),
              kern_region_at(e, id, "dyp") - kern_region_at(e, id, "xp"));
    emit_line(e, "int lo = (int)((long)r * n / %lld), hi = (int)((long)(r + 1) * n / %lld);", NG, NG);
    emit_line(e, "if (lo == hi)");
    emit_line(e, "    memset(part + (size_t)r * %lld, 0, %lld * sizeof(real));", PART, c.F * KG * 16);
    emit_line(e, "for (int s0 = lo; s0 < hi; s0 += %lld) {", S);
    e->indent++;
    emit_line(e, "int ns = hi - s0 < %lld ? hi - s0 : %lld;", S, S);
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
    emit_line(e, "for (int g = 0; g < %lld; g++)", c.G);
    emit_line(e, "    NNC_ISA_CALL(dotsum, (%lld, %lld, %lld, ns, dyp + (size_t)g * %lld, %lld, %lld, xp + (size_t)g * %lld, %lld,",
              c.FG, KG, d.Q16, c.FG * d.Q16, DYS, d.Q16, c.CG * d.HP * d.WP, d.XP);
    emit_line(e, "                          %s, part + (size_t)r * %lld + (size_t)g * %lld, s0 == lo));", taps, PART,
              c.FG * KG * 16);
    e->indent--;
    emit_line(e, "}");
    e->indent--;
    emit_line(e, "}");
    emit_par_end(e);
    emit_line(e, "/* the runs' partial sums in a fixed tree, then each weight's 16 */");
    if (c.F * KG * 16 * NG >= 32768) /* worth a parallel region: the adds of fashion_lenet's second layer are */
        emit_line(e, "NNC_PARALLEL_FOR");
    emit_line(e, "for (int i = 0; i < %lld; i++) {", c.F * KG);
    e->indent++;
    emit_line(e, "real t[16];");
    emit_line(e, "for (int l = 0; l < 16; l++) {");
    e->indent++;
    emit_line(e, "const real *p = part + (size_t)i * 16 + l;");
    emit_line(e, "t[l] = %s;", conv_dw_tree(e, 0, NG, PART));
    e->indent--;
    emit_line(e, "}");
    emit_line(e, "dw[i] = sum16(t);");
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/*
 * db[f] = sum of dy over the batch and every position of channel f, in
 * the runs of samples of the dW kernel (the same for any thread count,
 * split over the threads as the samples are, so each reads what it wrote):
 * per run and channel, 4 x 16 partial sums (lane l of sum j takes the
 * positions p = 16 (4 i + j) + l below the last multiple of 64, samples in
 * order; the next multiples of 16 go to sums 0, 1, 2 in turn, the rest, if
 * any, to one more), then the runs added in a fixed tree and the lanes in
 * another.  Plain loops the compiler turns into vector adds without
 * reordering a sum; four chains of them, not one, since a single chain
 * waited on each add's latency (fashion_lenet's first layer, 21 us a
 * step), and by runs, not channels, since a thread reading the other's
 * samples waited on the other core's cache.
 */
void kern_conv_db(Emitter *e, int id)
{
    const IrNode *g = kern_node(e, id), *f = kern_node(e, g->fwd);
    static const char *const names[] = {"dy"};
    ll C = f->shape.d[0], HW = kern_numel(f) / C, H16 = HW / 16 * 16, H64 = HW / 64 * 64;
    int rest = H16 < HW; /* positions past the last multiple of 16: one more sum */
    ll L = 16 + rest, NG = conv_dw_runs(e->plan->max_batch), RS = align16(C * L);
    kern_signature(e, id, names, "db");
    emit_line(e, "real *part = %s; /* [run][channel][16 lanes%s] */", kern_region_ptr(e, id, "part"),
              rest ? " + the rest" : "");
    emit_par_begin(e, "n > 1");
    emit_line(e, "for (int r = 0; r < %lld; r++) {", NG);
    e->indent++;
    emit_line(e, "int lo = (int)((long)r * n / %lld), hi = (int)((long)(r + 1) * n / %lld);", NG, NG);
    emit_line(e, "for (int c = 0; c < %lld; c++) {", C);
    e->indent++;
    emit_line(e, "real t[4][16] = {{0}}%s;", rest ? ", rest = 0.0f" : "");
    emit_line(e, "for (int s = lo; s < hi; s++) {");
    emit_line(e, "    const real *p = dy + ((size_t)s * %lld + c) * %lld;", C, HW);
    if (H64) {
        emit_line(e, "    for (int k = 0; k < %lld; k += 64)", H64);
        emit_line(e, "        for (int l = 0; l < 16; l++) {");
        for (int j = 0; j < 4; j++)
            emit_line(e, "            t[%d][l] += p[k + %d + l];", j, 16 * j);
        emit_line(e, "        }");
    }
    for (ll k = H64; k < H16; k += 16) {
        emit_line(e, "    for (int l = 0; l < 16; l++)");
        emit_line(e, "        t[%lld][l] += p[%lld + l];", (k - H64) / 16, k);
    }
    if (rest) {
        emit_line(e, "    for (int k = %lld; k < %lld; k++)", H16, HW);
        emit_line(e, "        rest += p[k];");
    }
    emit_line(e, "}");
    emit_line(e, "real *pc = part + (size_t)r * %lld + (size_t)c * %lld;", RS, L);
    emit_line(e, "for (int l = 0; l < 16; l++)");
    emit_line(e, "    pc[l] = (t[0][l] + t[1][l]) + (t[2][l] + t[3][l]);");
    if (rest)
        emit_line(e, "pc[16] = rest;");
    e->indent--;
    emit_line(e, "}");
    e->indent--;
    emit_line(e, "}");
    emit_par_end(e);
    emit_line(e, "for (int c = 0; c < %lld; c++) {", C);
    e->indent++;
    emit_line(e, "real u[%lld];", L);
    emit_line(e, "for (int l = 0; l < %lld; l++) {", L);
    emit_line(e, "    const real *p = part + (size_t)c * %lld + l;", L);
    emit_line(e, "    u[l] = %s;", conv_dw_tree(e, 0, NG, RS));
    emit_line(e, "}");
    emit_line(e, "db[c] = ((((u[0] + u[1]) + (u[2] + u[3])) + ((u[4] + u[5]) + (u[6] + u[7]))) +");
    emit_line(e, "         (((u[8] + u[9]) + (u[10] + u[11])) + ((u[12] + u[13]) + (u[14] + u[15]))))%s;",
              rest ? " + u[16]" : "");
    e->indent--;
    emit_line(e, "}");
    kern_end(e);
}

/* dotsum(): see this file's comment.  Its text is real C in
 * compiler/emit/helpers/dotsum.c (compiled and tested alone, embedded by the
 * build): dotsum_source, the macros and sum16(), then dotsum_fn_source,
 * dotsum_block() and dotsum(), once per instruction set
 * (gemm_isa_begin()). */
void kern_dotsum_emit(Emitter *e)
{
    static const char *const fns[] = {"dotsum", "dotsum_block"};
    emit_lines(e, dotsum_source, sizeof dotsum_source / sizeof dotsum_source[0]);
    emit_lines(e, dotsum_fn_source, sizeof dotsum_fn_source / sizeof dotsum_fn_source[0]);
    for (int v = 0; v < GEMM_ISA_COPIES; v++) {
        gemm_isa_begin(e, v, fns, 2);
        emit_lines(e, dotsum_fn_source, sizeof dotsum_fn_source / sizeof dotsum_fn_source[0]);
        gemm_isa_end(e, v, fns, 2);
    }
}
