/*
 * emit_c.h: the C emitter (emit_c.c) and the kernel emitters (kernels.c).
 */
#ifndef NNC_EMIT_C_H
#define NNC_EMIT_C_H

#include <stdio.h>

#include "ir.h"
#include "memplan.h"

typedef struct EmitOptions {
    const char *name;       /* C identifier of the model: NAME_create, ... */
    const char *source;     /* the .nn path, for the header comment */
    const char *cmdline;    /* how nnc was run, for the header comment */
    int max_batch;
    int inference;          /* --inference: no training code, no runtime, no heap */
    int threads;            /* --threads: OpenMP threads of the parallel loops (1: none) */
    const float *const *weights; /* --inference: per node id, a PARAM's values */
} EmitOptions;

/* The indenting printer every emitter writes through. */
typedef struct Emitter {
    FILE *f;
    int indent;
    const Ir *ir;
    const MemPlan *plan;
    const EmitOptions *opt;
    int training;       /* the schedule being written runs in training mode */
    /* kern_par_begin .. kern_par_end: the loop being captured */
    FILE *par_saved;
    char *par_text;
    size_t par_len;
    const char *par_cond;
} Emitter;

void emit_line(Emitter *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* n fixed lines of C (a helper's source: the GEMM, dotsum()), each as
 * emit_line(e, "%s", line) writes it. */
void emit_lines(Emitter *e, const char *const *lines, size_t n);

/*
 * Write NAME.h to h and NAME.c to c for a planned IR: the API of spec
 * section 10, one static function per kernel, the schedules, parameter
 * initialisation (PyTorch's defaults), and NAME_model for the runtime's
 * training driver.  Deterministic: the same IR gives the same bytes.
 * Returns 0, or 1 after reporting an operator with no kernel yet to d.
 */
int emit_c(const Ir *ir, const MemPlan *plan, const EmitOptions *o, Diag *d, FILE *h, FILE *c);

/* A float literal C reads back as the same float ("0.1f", "1.0f", "NAN");
 * buf holds at least 48 bytes. */
const char *emit_float(double x, char *buf);

/* s (any bytes) as the inside of a C string literal: " \\ and control
 * bytes escaped, bytes >= 0x80 in octal, no trigraph; in arena a. */
const char *emit_c_string(Arena *a, const char *s);

/* s (any bytes) safe inside a C block comment: neither * / nor / * (nor a
 * trigraph) survives, control bytes and bytes >= 0x80 are written as the
 * text \ooo; in arena a. */
const char *emit_c_comment(Arena *a, const char *s);

/* --emit kernels: the kernel functions a model becomes, in schedule order
 * (forward, backward, update), one name a line. */
void emit_kernel_list(const Ir *ir, const MemPlan *plan, FILE *f);

/* What a kernel takes besides n and its operands: the mode (training or
 * eval) and the model's random stream. */
enum { KP_TRAINING = 1, KP_RNG = 2 };
int kern_extra(const Emitter *e, int id);

/* kernels.c: is node id's kernel one statement per element, every input
 * of the node's shape: relu, sigmoid, tanh, add, mul and the activations
 * of kernels_act.c's pointwise() table, forward and their gradients, and
 * the backward pass's accumulating add?  (fuse_elementwise fuses these.) */
int kern_is_elementwise(const Ir *ir, int id);

/* kernels.c: can node id be emitted?  (An op with no kernel yet: 0.) */
int kern_supported(const Ir *ir, int id);
int kern_op_supported(Op op);

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

/* kernels.c: forward FLOPs per sample of node id (multiply-adds count 2). */
double kern_flops(const Ir *ir, int id);

#endif
