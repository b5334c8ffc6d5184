/*
 * memplan.h: static memory planning of one arena.
 */
#ifndef NNC_MEMPLAN_H
#define NNC_MEMPLAN_H

#include <stdio.h>

#include "ir.h"

/* Offsets are in floats (4 bytes); every buffer starts on a 64-byte line. */
#define MEM_ALIGN 16

/* The element type of what a node keeps after its value (mem_aux_floats):
 * each element takes one 4-byte slot of the arena, and the kernels that
 * write and read the region access it through a pointer of this type
 * only (int32_t for MEM_I32), so no slot is read as another type than it
 * was written (C99 6.5p7). */
typedef enum { MEM_F32, MEM_I32 } MemType;

typedef struct MemPlan {
    int64_t *offset;    /* per node: float offset of its buffer; -1 when it has none */
    int64_t *size;      /* per node: floats it owns (0 for views and externals) */
    int *root;          /* per node: the node whose buffer it uses (views: flatten, reshape) */
    int64_t *scratch;   /* per node: float offset of its kernel's scratch, live only while
                         * the kernel runs; -1 when it needs none */
    int64_t *scratch_size;
    int64_t total;      /* floats in the arena */
    int64_t persistent; /* floats of parameters and optimizer state, at the start */
    int64_t naive;      /* floats if every buffer had its own place */
    int64_t bound;      /* the lower bound: persistent + parameter gradients +
                         * the most activation floats live at one time */
    int *last_use;      /* per node: position of the last reader of its buffer */
    MemType *aux_type;  /* per node: the element type of what it keeps after its value
                         * (mem_aux_floats(), at offset + max_batch numel) */
    int max_batch;
} MemPlan;

/*
 * Plan the nodes with include[i] != 0, executed in id order, for batches of
 * up to max_batch samples.  Parameters and optimizer state live for the
 * whole program and come first, in id order; every other buffer lives from
 * the node that writes it to its last reader (liveness over the schedule)
 * and takes the lowest offset free for that interval.  A buffer never
 * overlaps the inputs of the node that writes it, so kernels need not be
 * written for aliasing.  Inputs and targets are the caller's memory;
 * flatten and reshape (and their gradients) are views of their operand;
 * a node inlined into another's kernel (IrNode.inlined_into) has no
 * buffer, and its inputs are read when that kernel runs.
 * keep_live: a node (the output) that must survive to the end, or -1; the
 * loss always does.
 */
MemPlan *mem_plan(const Ir *ir, const unsigned char *include, int max_batch, int keep_live);

/* MEM_I32 for max pooling's argmax (integers above 2^24, which a float
 * cannot hold, are exact), else MEM_F32. */
MemType mem_aux_type(const IrNode *n);

/* What a node keeps after its value for its gradient, in scalars:
 * batchnorm's batch mean and 1/std per channel, layernorm's per row,
 * dropout's mask and rrelu's slopes per element, max pooling's argmax
 * (for max_batch samples). */
int64_t mem_aux_floats(const Ir *ir, const IrNode *n, int max_batch);

/* Scratch node n's kernel uses only while it runs, in scalars: gemm's
 * pack, a convolution's (and its gradients') im2col matrices or padded
 * planes (conv_aux_floats()); 0 for none.  The kernel takes it as its
 * last argument. */
int64_t mem_scratch_floats(const Ir *ir, const IrNode *n, int max_batch);

/* --emit memory: every buffer, the arena size and what reuse saved. */
void mem_dump(const Ir *ir, const MemPlan *plan, FILE *f);

#endif
