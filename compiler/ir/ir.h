/*
 * ir.h: the typed dataflow graph every phase after sema works on.
 *
 * Nodes live in one dense array in topological order: a node's inputs are
 * ids of earlier nodes.  Shapes are per sample (the batch dimension is
 * implicit and never stored).  Parameters are nodes of their own (OP_PARAM)
 * placed just before the layer that uses them, so autodiff treats weights
 * and activations alike; in inference code each carries its constant
 * values (IrNode.value), so no pass keeps a table of them by node id.
 */
#ifndef NNC_IR_H
#define NNC_IR_H

#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "ops.h"

#define IR_MAX_RANK 6

/* Per-sample shape; rank 0 is a scalar (a loss). */
typedef struct Shape {
    int rank;
    int64_t d[IR_MAX_RANK];
} Shape;

typedef enum DType {
    DT_F32,
    DT_CLASS,   /* int32 class label per sample; Shape holds [K] */
    DT_I64      /* batchnorm's num_batches_tracked */
} DType;

enum { PH_FORWARD, PH_BACKWARD, PH_UPDATE };

/* IrNode.conv_algo of a conv2d node, set by the conv_algo pass: which of
 * its three products run as direct convolution; the others use im2col +
 * GEMM.  CONV_DIRECT_OC (with CONV_DIRECT_FWD): the direct forward
 * vectorised over the output channels, at the exact output positions,
 * instead of over the padded width (conv_algo.c). */
enum { CONV_DIRECT_FWD = 1, CONV_DIRECT_DX = 2, CONV_DIRECT_DW = 4, CONV_DIRECT_OC = 8 };

typedef struct IrNode {
    Op op;
    int *in;            /* input node ids, all smaller than this node's */
    int nin;
    const Value *args;  /* op_info[op].nargs resolved values, or NULL */
    Shape shape;        /* set by shape inference */
    int shape_known;
    DType dtype;
    const char *name;   /* value name for dumps and comments, or NULL */
    Span span;          /* the .nn text this node comes from */
    int poison;         /* depends on a reported error; skipped by passes */

    int batched;        /* has the implicit batch dimension (activations) */
    int phase;          /* PH_FORWARD, PH_BACKWARD or PH_UPDATE */
    int fwd;            /* OP_GRAD: the forward node; OP_STATE/UPDATE: the parameter */
    int which;          /* OP_GRAD: which input of fwd (loss: 0, the prediction) */
    Op epilogue;        /* fuse_epilogue: the activation this node's kernel applies, or OP_COUNT */
    int fused_into;     /* fuse_epilogue: the node computing this one's value, or -1;
                         * this node is then a view of fused_into's buffer */
    int inlined_into;   /* fuse_elementwise (and later fusions): the node whose kernel
                         * computes this node's value in registers (or its own scratch),
                         * or -1.  This node then has no buffer of its own and runs no
                         * kernel; its reads happen when that kernel runs.  No node may
                         * be a view of it.  Chains form: P inlined into C inlined into
                         * D are all computed by D's kernel (ir_kernel_of). */
    int conv_algo;      /* conv_algo: CONV_DIRECT_* bits of a conv2d, 0 for im2col + GEMM */

    /* OP_PARAM (and OP_STATE) only: */
    const char *param;  /* state_dict name, "fc1.weight"; states "fc1.weight.exp_avg" */
    const float *value; /* OP_PARAM of inference code (nnc --inference --weights): its
                         * constant values, shape_numel(&shape) of them in PyTorch's
                         * layout ([out, in, kh, kw]); a DT_I64 one's (num_batches_tracked)
                         * hold int64 bytes nothing reads.  NULL in training code and
                         * for any other node.  Set once by name when the weights are
                         * loaded; travels with the node, so a pass that copies or
                         * renumbers nodes carries it (ir_add starts it NULL), and a
                         * pass that changes a parameter's values (fold_batchnorm)
                         * points it at the new ones. */
    ParamRole role;
    int trainable;      /* 0 for running statistics */
    int layer;          /* the node that owns it */
} IrNode;

typedef struct Ir {
    Arena *arena;
    const char *model;  /* the model's name */
    IrNode *nodes;
    int n, cap;
    int output;         /* node inference returns, or -1 */
    int loss;           /* the loss node (scalar), or -1 */
    Span loss_span;     /* the loss statement */
    const Value *optimizer; /* V_CALL of an OPTIM op, or NULL */
    const Value *train;     /* op_info[OP_TRAIN] values, defaults filled */
    int nforward;           /* nodes [0, nforward) are the forward graph */
    int threads;            /* the generated code's threads (scratch per thread) */
    int inference;          /* inference-only code: nothing kept for a backward pass */
    const struct Target *target; /* --target: what the back end writes for (target.h, a
                             * layer above: only passes and kernels look inside); NULL: host */
} Ir;

Ir *ir_new(Arena *a, const char *model);

/* Append a node; returns its id.  Inputs are copied. */
int ir_add(Ir *ir, Op op, const int *in, int nin, const Value *args, Span sp);

/* Structural invariants: inputs precede users, operand counts match
 * ops.def, shapes known once shape inference ran (need_shapes).  A failure
 * is a compiler bug: reported through diag_internal naming pass. */
void ir_verify(const Ir *ir, const char *pass, int need_shapes);

/* The node whose buffer node id's value is a view of: the operand of
 * flatten and reshape (and of their gradients) and, in inference code, of
 * dropout; fused_into; -1 when id has storage of its own (or none, being
 * inlined). */
int ir_view_of(const Ir *ir, int id);

/* Is node id's kernel one statement per element, every input of the
 * node's shape: add (forward, or the backward pass's accumulation), and
 * the forward and gradient nodes of an op_elementwise() op; never a
 * poisoned node.  fuse_elementwise fuses these; kernels.c writes them
 * (kern_elementwise_stmt). */
int ir_elementwise(const Ir *ir, int id);

/* The node whose kernel computes node id: id itself, or the end of its
 * inlined_into chain. */
int ir_kernel_of(const Ir *ir, int id);

/* The node inlined into node id that id's input x stands for: x itself
 * or the node x is a view of (through any chain of views), when that
 * node's inlined_into is id; -1 otherwise (x is an ordinary operand). */
int ir_inlined_input(const Ir *ir, int id, int x);

/*
 * The operands of node id's kernel, what it reads from memory: id's
 * inputs in order, where an input standing for a node inlined into id
 * (ir_inlined_input) is replaced, recursively, by that node's own
 * operands; each node listed once, at its first occurrence.  Stores at
 * most max ids in ops (ops may be NULL when max is 0) and returns how
 * many there are, so a caller can ask for the count first.  Every
 * kernel's parameters and the arguments of its call are built from this
 * list.
 */
int ir_operands(const Ir *ir, int id, int *ops, int max);

/*
 * The nodes node id's kernel computes: the nodes inlined into it,
 * directly or not, in ascending id order (an order to evaluate them in,
 * since inputs precede their readers), then id itself; stores at most
 * max in nodes and returns how many there are (1 when nothing is
 * inlined into id).
 */
int ir_kernel_nodes(const Ir *ir, int id, int *nodes, int max);

/* For each node, how many nodes read it (malloc'ed, ir->n counts; the
 * caller frees).  A node fused into another's kernel as a view
 * (fused_into) reads nothing itself: its kernel's node does.  Flatten and
 * reshape views do count, their readers reading through them. */
int *ir_readers(const Ir *ir);

/* Set set[i] for node id and every node it reads, directly or not
 * (nothing for id < 0). */
void ir_mark_needed(const Ir *ir, int id, unsigned char *set);

/* Elements per sample, or -1 if more than 2^31 - 1. */
int64_t shape_numel(const Shape *s);

/* "[1, 28, 28]" into buf; returns buf. */
const char *shape_str(const Shape *s, char *buf, size_t n);

/* Parameter elements of layer node id (trainable ones only if trainable_only). */
int64_t ir_layer_params(const Ir *ir, int id, int trainable_only);

/* Dumps (dump.c): the IR as text, the shape table, a Graphviz graph. */
void ir_dump(const Ir *ir, FILE *f, const char *after);
void ir_dump_shapes(const Ir *ir, FILE *f);
void ir_dump_dot(const Ir *ir, FILE *f);

#endif
