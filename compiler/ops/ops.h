/*
 * ops.h: the operator table (ops.def) as C data, and the resolved argument
 * values that sema attaches to calls.
 *
 * Every phase asks this table what an operator is: its kind, how many tensor
 * operands it takes, its arguments with their types, ranges and PyTorch
 * defaults.  Nothing else in the compiler lists operators by name.
 */
#ifndef NNC_OPS_H
#define NNC_OPS_H

#include <stdint.h>
#include <stdio.h>

#include "diag.h"

typedef enum Op {
#define OP(id, name, kind, nin, shape, args) OP_##id,
#include "ops.def"
#undef OP
    OP_COUNT
} Op;

typedef enum OpKind {
    K_LAYER,    /* has parameters: dense, conv2d, ... */
    K_FUNC,     /* activations, element-wise and structural functions */
    K_LOSS,
    K_OPTIM,
    K_INIT,
    K_SCHED,
    K_TRAIN,
    K_IR        /* made by the compiler; never written in a .nn file */
} OpKind;

#define KINDS(k) (1u << (k))
#define KINDS_GRAPH (KINDS(K_LAYER) | KINDS(K_FUNC))

typedef enum ArgType {
    AT_INT,     /* integer */
    AT_FLOAT,   /* number */
    AT_BOOL,    /* true | false */
    AT_INT2,    /* integer, or [h, w] */
    AT_PAD,     /* integer, [h, w], or same */
    AT_PAD1,    /* integer, or same (the 1-D operators) */
    AT_FLOATS,  /* number, or a list of numbers (one per channel) */
    AT_SHAPE,   /* list of integers, one of them may be -1 */
    AT_ENUM,    /* one identifier of ArgSpec.choices */
    AT_INIT,    /* initialiser: he_normal, normal(0.01), ... */
    AT_SCHED,   /* schedule: constant, step(10), ... */
    AT_DIM      /* axis of the per-sample shape; negative counts from the end */
} ArgType;

typedef enum Range {
    R_NONE,     /* not a number */
    R_ANY,
    R_POS,      /* (0, inf) */
    R_NONNEG,   /* [0, inf) */
    R_UNIT,     /* [0, 1] */
    R_UNIT_OPEN,/* [0, 1) */
    R_COUNT,    /* integers [1, 2^24] */
    R_SIZE,     /* integers [0, 2^24] */
    R_SEED      /* integers [0, 2^53] */
} Range;

typedef struct ArgSpec {
    const char *name;
    ArgType type;
    const char *dflt;       /* NULL: required; "=k": the value of argument k */
    Range range;
    const char *choices;    /* AT_ENUM: "a|b|c" */
} ArgSpec;

typedef struct OpInfo {
    const char *name;
    OpKind kind;
    int ntensors;           /* tensor operands first; -1: two or more */
    const ArgSpec *args;
    int nargs;
} OpInfo;

extern const OpInfo op_info[OP_COUNT];

/* The op called name among the kinds in mask (KINDS(...)), or OP_COUNT. */
Op op_lookup(const char *name, unsigned mask);

/* The closest name in mask within a small edit distance, or NULL. */
const char *op_suggest(const char *name, unsigned mask);

/* "layer", "loss", ... for messages. */
const char *op_kind_name(OpKind k);

/* Index of argument name of op, or -1. */
int op_arg_index(Op op, const char *name);

/* Is op an element-wise function: y[i] from x[i] alone (or a[i] and b[i]
 * for mul), so that its kernel, and its gradient's, is one C statement
 * per element over inputs of its own shape (kernels.c's
 * kern_elementwise_stmt writes it, fuse_elementwise.c fuses such
 * kernels)?  Its record says so (ops_impl.h's elementwise): relu,
 * sigmoid, tanh, mul and the ops with a pointwise formula in their
 * kernel record (kernels_act.c), which must exist exactly for these ops
 * (tests/unit/test_passes.c checks both ways).  add is not one: it is
 * element-wise as a node, forward or the backward pass's accumulation
 * (ir_elementwise), not as an op with a gradient formula. */
int op_elementwise(Op op);

/* What a parameter is to its layer; fixes its name suffix and initial
 * value.  A layer's record (ops_impl.h) lists its roles in PyTorch's
 * state_dict order. */
typedef enum ParamRole {
    PR_WEIGHT,
    PR_BIAS,
    PR_RUNNING_MEAN,
    PR_RUNNING_VAR,
    PR_NUM_BATCHES_TRACKED
} ParamRole;

/* A resolved argument value.  Numbers are doubles: every integer argument
 * is range-checked to at most 2^53, so the conversion is exact. */
typedef enum ValueKind { V_NONE, V_NUM, V_BOOL, V_LIST, V_IDENT, V_CALL } ValueKind;

typedef struct Value {
    ValueKind kind;
    Span span;              /* where the user wrote it; empty for defaults */
    int is_default;
    double num;             /* V_NUM; V_BOOL: 0 or 1 */
    double *list;           /* V_LIST */
    int n;
    const char *ident;      /* V_IDENT */
    Op op;                  /* V_CALL: an initialiser or schedule */
    struct Value *args;     /* V_CALL: op_info[op].nargs resolved values */
} Value;

/* The value of argument name of op in args; aborts (internal error) if the
 * op has no such argument, which would be a bug in the caller. */
const Value *op_arg(Op op, const Value *args, const char *name);
double op_num(Op op, const Value *args, const char *name);

/* An INT2/PAD value as (h, w); "same" is reported as (-1, -1). */
void value_pair(const Value *v, int64_t out[2]);

/* Does x lie in r?  And r in words, for messages ("> 0", "in [0, 1]"). */
int range_ok(Range r, double x);
const char *range_text(Range r);

/* Print a value as it would be written in .nn ("[3, 3]", "normal(0.01)"). */
void value_print(FILE *f, const Value *v);

#endif
