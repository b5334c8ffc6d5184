/*
 * kmem.c: the regions each kernel family's kernels use (kmem.h), sized
 * for the compiled shapes and the path each kernel takes.  The layouts
 * are the kernels': kernels.c (dense, im2col convolution, pooling),
 * kernels_conv.c (direct convolution), kernels_norm.c, kernels_act.c,
 * which address every region here by its name through the plan.
 */
#include "kmem.h"

#include "conv_algo.h"
#include "fuse_conv_pool.h"
#include "ops_impl.h"
#include "target.h"

static int64_t align16(int64_t x)
{
    return (x + 15) / 16 * 16;
}

static int64_t numel_of(const IrNode *n)
{
    return n->shape.rank == 0 ? 1 : shape_numel(&n->shape);
}

int mem_type_bytes(MemType t)
{
    static const int bytes[] = {[MEM_F32] = 4, [MEM_I32] = 4, [MEM_I64] = 8, [MEM_I8] = 1};
    return bytes[t];
}

/* A region of n elements of type. */
static KmRegion region(const char *name, KmKind kind, MemType type, int64_t n)
{
    return (KmRegion){name, kind, type, n * mem_type_bytes(type)};
}

static int threads_of(const Ir *ir)
{
    return ir->threads > 1 ? ir->threads : 1;
}

/* The pack of one GEMM call (target_gemm_pack_floats()), if it needs one. */
static int pack(const Ir *ir, KmRegion *out, int k, int64_t N, int64_t K, int sbn_is_1, int boff)
{
    int64_t f = target_gemm_pack_floats(ir->target, threads_of(ir), N, K, sbn_is_1, boff);
    if (f > 0)
        out[k++] = region("pack", KM_PACK, MEM_F32, f);
    return k;
}

/* ---- dense: kernels.c's dense_forward, dense_backward ---------------------- */

int kmem_dense_has_small(const Ir *ir, int id)
{
    const IrNode *n = &ir->nodes[id];
    return numel_of(&ir->nodes[n->in[0]]) >= 16; /* (dense(1) too: the GEMM computes 32 columns for one) */
}

int kmem_dense_small_only(const Ir *ir, int id, int max_batch)
{
    (void)ir;
    (void)id;
    return max_batch < 8; /* dot products in GEMM_K8's order: the same bits, no pack on any build */
}

/* y = x W^T + b: batches below 8 by dot products (no pack), larger ones
 * by the GEMM over W^T (B = w, sbn = I: packed).  dx = dy W (B = w, rows of
 * I contiguous) and dW = dy^T x (B = x, K = the batch). */
int kmem_dense(const Ir *ir, int id, int max_batch, KmRegion *out)
{
    const IrNode *n = &ir->nodes[id];
    const IrNode *f = n->op == OP_GRAD ? &ir->nodes[n->fwd] : n;
    int64_t I = numel_of(&ir->nodes[f->in[0]]), O = f->shape.d[0];
    if (n->op == OP_DENSE)
        return kmem_dense_small_only(ir, id, max_batch) ? 0 : pack(ir, out, 0, O, I, I == 1, 0);
    if (n->which == 0)
        return pack(ir, out, 0, I, O, 1, 0);
    if (n->which == 1)
        return pack(ir, out, 0, I, max_batch, 1, 0);
    return 0; /* db: a sum over the batch */
}

/* ---- conv2d: kernels.c (im2col + GEMM), kernels_conv.c (direct) ------------- */

/* Node n is conv2d node f's forward (computed in its own kernel or inside
 * a maxpool's), or one of its gradients. */
int kmem_conv(const Ir *ir, int id, int max_batch, KmRegion *out)
{
    const IrNode *n = &ir->nodes[id];
    int fused = n->op == OP_MAXPOOL ? fuse_conv_pool_conv(ir, id) : -1;
    const IrNode *f = fused >= 0 ? &ir->nodes[fused] : n->op == OP_GRAD ? &ir->nodes[n->fwd] : n;
    Conv c = conv_geometry(f, &ir->nodes[f->in[0]]);
    ConvDirect d = conv_direct_geometry(&c);
    int64_t KG = c.CG * c.KH * c.KW, P = c.OH * c.OW, col = c.C * c.KH * c.KW * P;
    int k = 0;
    if (n->op != OP_GRAD) {
        if (f->conv_algo & CONV_DIRECT_OC) {
            /* the weights by tap and the bias, in blocks of filters (target.h); per
             * thread the output, position-major, and the padded sample */
            int64_t FP = target_filters(ir->target, c.F);
            out[k++] = region("wt", KM_SCRATCH, MEM_F32, KG * FP);
            out[k++] = region("bt", KM_SCRATCH, MEM_F32, FP);
            out[k++] = region("yp", KM_THREAD, MEM_F32, align16(P * FP));
            if (!conv_oc_in_place(&c, &d))
                out[k++] = region("xp", KM_THREAD, MEM_F32, align16(c.C * d.HP * d.WP));
            return k;
        }
        ConvPhase ph;
        if (conv_phase_geometry(ir, f, &ph)) { /* a sample's phase planes, its output per window tap */
            out[k++] = region("xp", KM_THREAD, MEM_F32, ph.XP);
            out[k++] = region("yp", KM_THREAD, MEM_F32, align16(ph.Ph * ph.Pw * c.F * ph.N));
            return pack(ir, out, k, ph.N, KG, 1, 1);
        }
        if (f->conv_algo & CONV_DIRECT_FWD) { /* a padded sample, the padded output */
            out[k++] = region("xp", KM_THREAD, MEM_F32, d.XP);
            out[k++] = region("yp", KM_THREAD, MEM_F32, align16(c.F * d.Q));
            return pack(ir, out, k, d.Q, KG, 1, 1);
        }
        out[k++] = region("col", KM_THREAD, MEM_F32, col); /* a sample's im2col matrix */
        return pack(ir, out, k, P, KG, 1, 0);
    }
    if (n->which == 0) {
        if (f->conv_algo & CONV_DIRECT_DX) { /* the flipped kernel; per thread padded dy, dx over its width */
            out[k++] = region("wt", KM_SCRATCH, MEM_F32, align16(c.C * c.FG * c.KH * c.KW));
            out[k++] = region("dyp", KM_THREAD, MEM_F32, d.DYP);
            out[k++] = region("dxp", KM_THREAD, MEM_F32, align16(c.C * d.Q2));
            return pack(ir, out, k, d.Q2, c.FG * c.KH * c.KW, 1, 1);
        }
        out[k++] = region("dcol", KM_THREAD, MEM_F32, col); /* a sample's column gradient */
        return pack(ir, out, k, P, c.FG, 1, 0);
    }
    if (n->which == 1) {
        if (f->conv_algo & CONV_DIRECT_DW) {
            /* 16 partial sums per weight per run; per thread a chunk's padded
             * inputs and its dy over the padded width */
            int64_t S = conv_dw_chunk(max_batch);
            out[k++] = region("part", KM_SCRATCH, MEM_F32, conv_dw_runs(max_batch) * align16(c.F * KG * 16));
            out[k++] = region("xp", KM_THREAD, MEM_F32, S * d.XP);
            out[k++] = region("dyp", KM_THREAD, MEM_F32, S * c.F * d.Q16);
            return k;
        }
        out[k++] = region("col", KM_SCRATCH, MEM_F32, col); /* one sample's im2col matrix at a time */
        return pack(ir, out, k, KG, P, P == 1, 0);
    }
    /* db: per run of samples, per channel 16 lane sums and, when the
     * positions are not a multiple of 16, the rest */
    int64_t HW = numel_of(f) / c.F;
    out[k++] = region("part", KM_SCRATCH, MEM_F32, conv_dw_runs(max_batch) * align16(c.F * (16 + (HW % 16 != 0))));
    return k;
}

/* ---- pooling: max pooling keeps where each maximum came from --------------- */

int kmem_pool(const Ir *ir, int id, int max_batch, KmRegion *out)
{
    const IrNode *n = &ir->nodes[id];
    int k = 0;
    if (n->op == OP_MAXPOOL && fuse_conv_pool_conv(ir, id) >= 0)
        k = kmem_conv(ir, id, max_batch, out); /* the convolution computed inside it */
    if (n->op == OP_MAXPOOL && !ir->inference) /* int32: offsets above 2^24 stay exact */
        out[k++] = region("argmax", KM_SAVED, MEM_I32, (int64_t)max_batch * numel_of(n));
    return k;
}

/* ---- normalisation: the statistics the backward pass reads ------------------ */

int kmem_norm(const Ir *ir, int id, int max_batch, KmRegion *out)
{
    const IrNode *n = &ir->nodes[id];
    if (n->op == OP_BATCHNORM && !ir->inference) { /* the batch's mean and 1/std per channel */
        out[0] = region("mean", KM_SAVED, MEM_F32, n->shape.d[0]);
        out[1] = region("invstd", KM_SAVED, MEM_F32, n->shape.d[0]);
        return 2;
    }
    if (n->op == OP_LAYERNORM) { /* per row; written in inference code too */
        int64_t rows = (int64_t)max_batch * (numel_of(n) / n->shape.d[n->shape.rank - 1]);
        out[0] = region("mean", KM_SAVED, MEM_F32, rows);
        out[1] = region("rstd", KM_SAVED, MEM_F32, rows);
        return 2;
    }
    return 0;
}

/* ---- activations: the random ones keep their draw --------------------------- */

int kmem_act(const Ir *ir, int id, int max_batch, KmRegion *out)
{
    const IrNode *n = &ir->nodes[id];
    if ((n->op == OP_DROPOUT || n->op == OP_RRELU) && !ir->inference) { /* the scale of every element */
        out[0] = region("scale", KM_SAVED, MEM_F32, (int64_t)max_batch * numel_of(n));
        return 1;
    }
    return 0;
}

/* The declaration function of each memory family (ops_impl.h's OpMem; an
 * op's record names its family), and whether its gradient kernels
 * declare through it too. */
typedef struct {
    int (*declare)(const Ir *ir, int id, int max_batch, KmRegion *out);
    int grad_too;
} KmFamily;

static const KmFamily families[OM_COUNT] = {
    [OM_NONE] = {NULL, 0},
    [OM_DENSE] = {kmem_dense, 1},
    [OM_CONV] = {kmem_conv, 1},
    [OM_POOL] = {kmem_pool, 0},
    [OM_NORM] = {kmem_norm, 0},
    [OM_ACT] = {kmem_act, 0},
};

int kmem_regions(const Ir *ir, int id, int max_batch, KmRegion *out)
{
    const IrNode *n = &ir->nodes[id];
    if (n->inlined_into >= 0 || n->poison)
        return 0;
    Op op = n->op == OP_GRAD ? ir->nodes[n->fwd].op : n->op;
    const KmFamily *f = &families[op_impl[op]->mem];
    if (!f->declare || (n->op == OP_GRAD && !f->grad_too))
        return 0;
    return f->declare(ir, id, max_batch, out);
}
