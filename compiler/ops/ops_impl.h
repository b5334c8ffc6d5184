/*
 * ops_impl.h: one implementation record per operator, beside ops.def's
 * language row.
 *
 * ops.def says what a .nn file may write (name, arguments, shape rule);
 * an OpImpl says how the compiler implements it: the checks between its
 * arguments, the parameters it owns, its gradient wiring, whether it is a
 * view, its element-wise formulas, its FLOPs, the memory its kernel keeps
 * for the backward pass, its optimizer states or initialiser.  The
 * records are data (and pure functions of an op's arguments) in the ops
 * layer, so that every phase from sema down to the emitter can read them
 * without reaching up; the kernel emitters themselves live in the kernels
 * layer, in kernels.c's kern_ops[] table, indexed by OP_* the same way.
 *
 * The records are grouped by family, one file each: ops_linear.c,
 * ops_conv.c, ops_pool.c, ops_act.c, ops_norm.c, ops_loss.c,
 * ops_struct.c (structure and the IR's own nodes), ops_optim.c,
 * ops_train.c (initialisers, schedules, the train block).  Each defines
 * op_impl_<ID> for its rows of ops.def; ops_impl.c collects them into
 * op_impl[] by ops.def, so an operator without a record does not link,
 * and tests/unit/test_passes.c checks each record against its row.
 *
 * A field left out (zero, NULL) means "none": no check, no parameters, no
 * gradient rule, not a view, no formula, no kept memory.
 */
#ifndef NNC_OPS_IMPL_H
#define NNC_OPS_IMPL_H

#include "diag.h"
#include "ops.h"

/* How an op's gradient nodes are wired (autodiff.c's rule()): which
 * forward values each gradient kernel reads besides dy.  W_NONE: not
 * differentiable (ad_differentiable() and docs/ops.md come from it). */
typedef enum Wiring {
    W_NONE,     /* no rule */
    W_LINEAR,   /* dense, conv2d: dx from W, dW from x, db from dy alone */
    W_Y,        /* from the output (which keeps a mask, maxima, ... after it) */
    W_X,        /* from the input */
    W_DY,       /* from dy alone */
    W_X_Y,      /* lppool: from x and y */
    W_PRELU,    /* dx from x and the slopes, dweight from x */
    W_NORM,     /* batchnorm, layernorm: statistics kept after y */
    W_CONCAT,   /* each input its slice of dy */
    W_ADD,      /* dy itself to each input */
    W_MUL,      /* each input from the other */
    W_LOSS      /* from the prediction and the target, no dy */
} Wiring;

/* When a node is a view of its input, no copy and no buffer of its own
 * (ir_view_of()). */
typedef enum OpView {
    OV_NO,
    OV_ALWAYS,      /* flatten, reshape: the node and its gradient */
    OV_INFERENCE    /* dropout: the identity when compiled for inference */
} OpView;

/* The family of memory an op's kernel declares beyond its output
 * (kmem.c's kmem_<family>() functions; kmem_regions() looks the family
 * up here).  OM_DENSE and OM_CONV serve the gradient kernels too, the
 * others the forward kernel only. */
typedef enum OpMem {
    OM_NONE,
    OM_DENSE,   /* GEMM pack */
    OM_CONV,    /* im2col / direct-algorithm scratch, GEMM pack */
    OM_POOL,    /* maxpool: where the maxima were, for the backward */
    OM_NORM,    /* batchnorm, layernorm: mean and 1/std, for the backward */
    OM_ACT,     /* dropout, rrelu: the scale drawn for each element */
    OM_COUNT
} OpMem;

/* How an op's backward kernel takes in an activation's backward folded
 * into it (fuse_act_grad.c). */
typedef enum OpActGradFold {
    AGF_NO,
    AGF_IN_PLACE,   /* maxpool: over its own output, reads nothing more */
    AGF_WITH_Y      /* dense, conv2d: after the GEMM, reading the activation's y */
} OpActGradFold;

/* The extra arguments an op's kernel takes when training (kernels.c's
 * kern_extra() returns these as KP_TRAINING, KP_RNG). */
enum { OPK_TRAINING = 1, OPK_RNG = 2 };

/* The sizes kern_flops() knows of a forward node: its output and input
 * element counts per sample, and its input's channels (shape.d[0]). */
typedef struct OpDims {
    double out, in, in_channels;
} OpDims;

typedef struct OpImpl {
    Op op;                  /* the row this record implements (checked) */

    /* ---- front end ---- */
    /* Checks between arguments beyond each one's own range (PyTorch
     * raises for the same combinations): reports each fault on d at the
     * span of the argument (or span, the call's).  NULL: none. */
    void (*check)(Diag *d, Span span, Op op, const Value *args);
    /* A 1-D operator is lowered (lower_1d()) to the 2-D op as_2d on a
     * [C, 1, L] view. */
    int is_1d;
    Op as_2d;
    /* The parameters a layer owns, in PyTorch's state_dict order; with
     * bias_arg, PR_BIAS only when the argument `bias` is true. */
    int nparams;
    ParamRole params[5];
    int bias_arg;

    /* ---- IR and passes ---- */
    Wiring wiring;
    /* The gradient kernels' names by input (what_name()): "dx", "dw",
     * "db", ...; the last entry serves the inputs past it.  NULL: "dx". */
    const char *grad_what[3];
    OpView view;
    /* An element-wise function (op_elementwise()). */
    int elementwise;
    /* As a fused activation (fuse_epilogue.c): its formula over `v`, and
     * its backward from `yv` (its output) and `gv` (the incoming
     * gradient), both in its own kernels and folded into the one before
     * (fuse_act_grad.c).  NULL: never fused. */
    const char *epilogue;
    const char *act_grad;
    /* A layer whose kernel is a GEMM (dense, conv2d): takes a fused
     * activation, and brings the GEMM helper into the generated code. */
    int gemm;
    OpActGradFold act_grad_fold;

    /* ---- memory and kernels ---- */
    OpMem mem;
    unsigned kernel_args;   /* OPK_*: when training */
    /* FLOPs of one sample's forward from its sizes d (kern_flops(),
     * multiply-adds counting 2).  NULL: one per output element. */
    double (*flops)(Op op, const Value *args, const OpDims *d);

    /* ---- optimizers ---- */
    /* The state buffers of the optimizer with arguments args, named as
     * torch.optim names them, into names (NULL-terminated, at most 4):
     * their count. */
    int (*states)(Op op, const Value *args, const char **names);

    /* ---- initialisers ---- */
    /* The fill (fill_uniform, fill_normal; NULL: zeros), the scale it is
     * given (the bound or the standard deviation) from the fans, and the
     * comment naming it after the parameter. */
    const char *fill;
    double (*scale)(const Value *args, double fan_in, double fan_out);
    const char *fill_what;
} OpImpl;

/* The records, one per row of ops.def, defined in the family files. */
#define OP(id, name, kind, nin, shape, args) extern const OpImpl op_impl_##id;
#include "ops.def"
#undef OP

/* op_impl[op]: the record of op, for every op < OP_COUNT. */
extern const OpImpl *const op_impl[OP_COUNT];

/* Helpers for the family files. */
double op_flops_none(Op op, const Value *args, const OpDims *d);

#endif
