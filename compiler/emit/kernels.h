/*
 * kernels.h: the kernel emitters (kernels.c, kernels_act.c,
 * kernels_conv.c, kernels_norm.c): one C function per kernel, printed
 * through emitter.h.  The first part is what emit_c.c (and nnc's --help)
 * asks of them; the rest is what they share among themselves.  Below
 * emit_c.c: nothing here calls the model emitter.
 */
#ifndef NNC_KERNELS_H
#define NNC_KERNELS_H

#include "emitter.h"
#include "ir.h"
#include "memplan.h"

/* What a kernel takes besides n and its operands: the mode (training or
 * eval) and the model's random stream. */
enum { KP_TRAINING = 1, KP_RNG = 2 };
int kern_extra(const Emitter *e, int id);

/* kernels.c: can node id be emitted?  (An op with no kernel yet: 0.) */
int kern_supported(const Ir *ir, int id);
int kern_op_supported(Op op);

/*
 * The kernel record of each operator, the kernel layer's half of its
 * implementation (the other half, ops_impl.h's OpImpl, is data every
 * phase reads).  Each kernel family file defines the rows of its ops
 * beside their emitters: kernels.c (dense, im2col conv2d, relu, sigmoid,
 * tanh, add, mul, softmax, pooling, structure, losses, the update and
 * each optimizer's rule), kernels_act.c (the other activations, glu,
 * normalize, prelu, dropout, rrelu), kernels_norm.c (batchnorm,
 * layernorm, lppool, global_avgpool); kernels_ops.c the rows of ops no
 * kernel computes (the 1-D ops, lowered first; gradients, computed by
 * their forward op's row; initialisers, schedules, train) and
 * kern_ops[], by ops.def, so an op without a row does not link.
 */
struct KernPointwise; /* kernels_act.c */

/* What an optimizer's update rule is given (kernels.c's update kernel):
 * the optimizer, its weight decay (0 when it has none), and the bounds
 * of the loop over the parameter's elements (C expressions: the chunk
 * of a thread, or 0 and the element count). */
typedef struct KernUpdate {
    Op op;
    const Value *args;
    double wd;
    const char *lo, *hi;
} KernUpdate;

typedef struct KernOp {
    Op op;          /* the row of ops.def (checked) */
    int supported;  /* the back end compiles it (kern_op_supported()) */
    /* Defines the kernel of node id, a forward node of op or one of its
     * gradients.  NULL: the op has none of its own (element-wise, a view,
     * or no computation). */
    void (*define)(Emitter *e, int id);
    /* An element-wise op's forward and backward formulas for forward
     * node f (kernels_act.c; relu, sigmoid, tanh and mul have theirs in
     * kern_elementwise_stmt): 1 when written. */
    int (*pointwise)(const IrNode *f, struct KernPointwise *p);
    /* An optimizer's update of one parameter, torch.optim's rule, in
     * the update kernel's loop. */
    void (*update)(Emitter *e, const KernUpdate *u);
    /* An element-wise loss's loop body (kernels.c's pointwise loss
     * kernel), forward or backward (bwd); pw: a pos_weight[] of `last`
     * values exists. */
    void (*loss_elem)(Emitter *e, const IrNode *f, int bwd, int pw, long long last);
} KernOp;

#define OP(id, name, kind, nin, shape, args) extern const KernOp kern_op_##id;
#include "ops.def"
#undef OP

/* kern_ops[op]: the kernel record of op, for every op < OP_COUNT. */
extern const KernOp *const kern_ops[OP_COUNT];

/* kernels_conv.c: the static function dotsum() (direct conv2d dW). */
void kern_dotsum_emit(Emitter *e);

/* kernels.c: the function k<id>_<what>(...) computing node id. */
void kern_define(Emitter *e, int id);

/* kernels.c: the kernel's name, "k012_dense" or "k031_dense_dw"; a
 * kernel computing nodes inlined into it is named for all of them,
 * "k014_fused_gelu_add_relu" (kern_name's comment).  Buffers for it
 * take KERN_NAME_MAX bytes. */
#define KERN_NAME_MAX 128
const char *kern_name(const Ir *ir, int id, char *buf, size_t n);

/*
 * kernels.c: the element count node id's kernel takes as an argument, or
 * -1 when every size is a constant in its body.  The element-wise kernels
 * (ir_elementwise) take len, the elements per sample (all of them for a
 * value without a batch), after n: kNNN_relu(n, len, x, y); the
 * optimizer's update kernels take len, the parameter's elements, after
 * lr and t.  Their bodies then differ from another node's only where the
 * operation does, and emit_c.c writes one function for the kernels whose
 * text is the same.  Their loops' trip counts depend on n or are long
 * anyway, so the constant bought no speed; the GEMM, convolution,
 * pooling and reduction kernels keep their shapes as constants, which the
 * C compiler unrolls and vectorises by (docs/architecture.md).
 */
long long kern_count_arg(const Ir *ir, int id);

/* kernels.c: forward FLOPs per sample of node id (multiply-adds count 2). */
double kern_flops(const Ir *ir, int id);

/* ---- shared by the kernel emitters ---------------------------------------- */

typedef long long ll;

const IrNode *kern_node(const Emitter *e, int id);
ll kern_numel(const IrNode *n);

/*
 * The memory a kernel has besides its operands and its value: the regions
 * node id's kernel declared (kmem.h), as the plan placed them.  A kernel
 * addresses a region only through these, by the name its family declared
 * it under, so a region it uses and was not given, or one sized apart
 * from the kernel, is a compiler bug here (diag_internal, exit status 70)
 * instead of a silent write past its end.
 *   kern_region      the placed region (never NULL)
 *   kern_region_at   its offset in scalars (memplan.h's slots) from the kernel's base: the
 *                    node's buffer (KM_SAVED: y + at) or the scratch block
 *                    (scratch + at)
 *   kern_region_ptr  "scratch", "scratch + 40" or, for KM_THREAD, this
 *                    thread's copy, "scratch + 40 + (size_t)NNC_THREAD * 512"
 *   kern_region_ctype "int32_t" or "real", the type it is accessed through
 */
const MemRegion *kern_region(const Emitter *e, int id, const char *name);
ll kern_region_at(const Emitter *e, int id, const char *name);
const char *kern_region_ptr(const Emitter *e, int id, const char *name);
const char *kern_region_ctype(const Emitter *e, int id, const char *name);

/* The pack argument of a GEMM call of node id's kernel over N columns and
 * K rows of B (sbn_is_1: B contiguous in n; boff: rows by offsets):
 * "scratch + 40" (its region "pack") or "NULL" when such a call never
 * packs (target_gemm_pack_floats()).  A call needing more pack than the
 * kernel declared is a compiler bug. */
const char *kern_gemm_pack(const Emitter *e, int id, ll N, ll K, int sbn_is_1, int boff);

/* The forward op a node computes (OP_GRAD: the op it differentiates). */
Op kern_fwd_op(const Ir *ir, const IrNode *n);

/* "[n, 256]" for a shape comment. */
void kern_shape_comment(const IrNode *n, char *buf, size_t len);

/* The operands of node id's kernel (ir_operands), in *ops (arena
 * memory); returns how many. */
int kern_operands(const Emitter *e, int id, int **ops);

/* The parameter name of operand x of node id's kernel: names[j] for the
 * first input j of id that is x, else (an operand brought in by a node
 * inlined into id, or names NULL) "x<x>", "x12". */
const char *kern_operand_name(const Emitter *e, int id, const char *const *names, int x);

/* static void kNNN_what(int n[, int training][, NnrtRng *rng],
 *     const real *restrict OPERAND, ..., real *restrict out) {
 * one parameter per operand (kern_operands), named by
 * kern_operand_name(names): names has one entry per node input, or is
 * NULL.  An input given twice is one parameter, and its later names are
 * declared as aliases of it.  The function body follows. */
void kern_signature(Emitter *e, int id, const char *const *names, const char *out);

/* Close the function. */
void kern_end(Emitter *e);

/* memset(buf, 0, ...) for node n's whole value. */
void kern_zero(Emitter *e, const char *buf, const IrNode *n);

/*
 * The C statement computing one element of element-wise node id
 * (ir_elementwise): in[j] is the C expression of input j's element,
 * a name or a subscript (it may be evaluated several times), and out the
 * lvalue the result is assigned to: "y[i] = TANH(x[i]);".  Sets *scoped
 * when the statement declares locals (v, d, ...), so that two of them
 * need blocks of their own in one loop.  Every element-wise kernel, lone
 * or fused, is written from these statements.  Arena memory.
 */
const char *kern_elementwise_stmt(const Ir *ir, int id, const char *const *in, const char *out, int *scoped);

/* kernels_act.c: the statement of node id (or its forward node) from
 * the pointwise() table, as kern_elementwise_stmt(), or NULL when the
 * table has no row for it (its rows are the op_elementwise() ops other
 * than relu, sigmoid, tanh and mul). */
const char *kern_act_stmt(const Ir *ir, int id, const char *const *in, const char *out);

/* A whole kernel looping i over every element of node id, body stmt. */
void kern_elementwise(Emitter *e, int id, const char *const *names, const char *out, const char *stmt);

/* A pooling kernel: loops over (s, c, oh, ow) and the window (kh, kw),
 * padding skipped; pre opens each output (yi, plane known), inner sees
 * each input xi, post closes it.  Every "%lld" in pre and post becomes
 * the window's area.  zero_buf, if not NULL, is cleared first. */
void kern_pool(Emitter *e, int id, const char *const *names, const char *out, const char *zero_buf, const char *pre,
               const char *inner, const char *post);

/* Split a shape at axis: elements before it, along it, after it. */
void kern_axis_split(const IrNode *n, int axis, ll *outer, ll *len, ll *inner);
int kern_norm_axis(const IrNode *f, const char *arg);

/* The activation fuse_epilogue.c folded into node n, as a C expression
 * of the real v (just "v" when none). */
const char *kern_epilogue_expr(const IrNode *n);

/* dx of relu, sigmoid or tanh as a C expression of its output `yv` and
 * the incoming gradient `gv`: their backward alone and folded into
 * another kernel (fuse_act_grad.c).  The PyTorch formulas, in autodiff.c. */
const char *kern_act_grad_expr(Op op);

/* kernels_conv.c: direct convolution (conv_algo.c chose it for node id's
 * product), and the static function dotsum() their dW kernels call. */
void kern_conv_forward_direct(Emitter *e, int id);
void kern_conv_pool_direct(Emitter *e, int id);
void kern_conv_dx_direct(Emitter *e, int id);
void kern_conv_dw_direct(Emitter *e, int id);
/* conv2d's bias gradient, for any conv_algo (it reads dy alone). */
void kern_conv_db(Emitter *e, int id);

/* The class label a loss node's ignore_index skips (cross_entropy, nll
 * and their fused form), or INT64_MIN when the model writes none: the
 * default -100 matches no label (labels are 0..K-1), so nothing is
 * skipped and the generated train_step refuses -100 like any other label
 * out of range. */
long long kern_loss_ignore_index(const IrNode *loss);

#endif
