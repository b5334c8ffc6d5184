/*
 * memplan.h: static memory planning of one arena.
 */
#ifndef NNC_MEMPLAN_H
#define NNC_MEMPLAN_H

#include <stdio.h>

#include "ir.h"
#include "kmem.h"

/*
 * The plan is in bytes, as the float32 build lays the arena out, with an
 * element type per buffer (MemPlan.type, MemRegion.decl.type): that type's
 * size gives the buffer's bytes and, for a buffer smaller than a line in
 * inference code, its alignment; every other buffer starts on a 64-byte
 * line (MEM_ALIGN).  A tiny model's arena is then what it writes rather
 * than a line per value (the generated code loads and stores vectors with
 * memcpy, so no buffer needs more than its element's alignment).
 *
 * The generated code addresses the float arena as an array of `real`
 * (float; double in the NNC_DOUBLE build of the gradient check, where the
 * same plan then takes twice the bytes): each MEM_SLOT bytes of the plan
 * is one scalar, an int32 takes one, an int64 two.  No element type of the
 * float arena is smaller than a slot, so every offset and size is a whole
 * number of slots; mem_slots() converts.
 */
#define MEM_SLOT 4
#define MEM_ALIGN 64

/* bytes (an offset or size of the float plan) in slots, the index the
 * generated code uses; a bytes that is not a whole number of slots is a
 * compiler bug (diag_internal). */
int64_t mem_slots(int64_t bytes);

/* A region a kernel declared (kmem.h), placed: what the kernel addresses. */
typedef struct {
    KmRegion decl;  /* decl.bytes: its size (KM_THREAD: one thread's) */
    int node;       /* the node whose kernel declared it */
    int64_t offset; /* bytes from the arena's start (KM_THREAD: thread 0's copy) */
    int64_t stride; /* KM_THREAD, KM_PACK: bytes from one thread's copy to the next; else 0 */
} MemRegion;

typedef struct MemPlan {
    int64_t *offset;    /* per node: byte offset of its buffer; -1 when it has none */
    int64_t *size;      /* per node: bytes it owns, its value and its KM_SAVED regions,
                         * rounded up to its alignment (0 for views and externals) */
    MemType *type;      /* per node: its value's element type */
    int *root;          /* per node: the node whose buffer it uses (views: flatten, reshape) */
    int64_t *scratch;   /* per node: byte offset of its kernel's scratch block (its
                         * KM_SCRATCH, KM_THREAD and KM_PACK regions), live only while
                         * the kernel runs; -1 when it needs none */
    int64_t *scratch_size;
    int64_t total;      /* bytes of the arena */
    int64_t persistent; /* bytes of parameters and optimizer state, at the start */
    int64_t naive;      /* bytes if every buffer had its own place */
    int64_t bound;      /* the lower bound: persistent + parameter gradients +
                         * the most activation bytes live at one time */
    int *last_use;      /* per node: position of the last reader of its buffer */
    MemRegion *regions; /* every region a planned node's kernel declared, by node */
    int nregions;
    int *region_first;  /* per node: its first entry in regions; region_count[i] of them */
    int *region_count;
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
 * buffer, and its inputs are read when that kernel runs.  Besides the
 * values, the plan places exactly the regions each kernel declares
 * (kmem_regions()): KM_SAVED ones in the node's buffer after its value,
 * the others in one scratch block live while the kernel runs
 * (MemPlan.regions, found by mem_region()).
 * keep_live: a node (the output) that must survive to the end, or -1; the
 * loss always does.
 */
MemPlan *mem_plan(const Ir *ir, const unsigned char *include, int max_batch, int keep_live);

/* The region named name that node id's kernel declared (kmem_regions()),
 * placed; NULL when it declared none of that name. */
const MemRegion *mem_region(const MemPlan *p, int id, const char *name);

/* Bytes node id's buffer takes for batches of max_batch: its value and
 * what its kernel keeps after it (KM_SAVED), unrounded. */
int64_t mem_node_bytes(const Ir *ir, int id, int max_batch);

/* The element type of node id's value: MEM_F32, MEM_I32 for class
 * labels, MEM_I64 for batchnorm's num_batches_tracked. */
MemType mem_value_type(const Ir *ir, int id);

/* --emit memory: every buffer, the arena size and what reuse saved. */
void mem_dump(const Ir *ir, const MemPlan *plan, FILE *f);

/*
 * The arena of nnc --quantize int8 for one sample (quantize.h's plan p,
 * from quant_plan()): every int8 buffer (a root; views share their
 * operand's) placed in bytes, 16-aligned, over the schedule's liveness by
 * the placement of mem_plan()'s buffers, greedy by size, or first fit in
 * schedule order where that gives a smaller arena (the output stays live
 * after the run, for the API), then the kernels' scratch
 * after them: the float ops' two buffers of scratch_floats, conv2d's
 * im2col row (col_bytes), the DSP kernels' int16 copy (two of wide_bytes)
 * and the padded input plane (pad_bytes).  Sets every root's offset,
 * float_scratch, col, wide, pad (their sizes rounded up to 16) and
 * arena_bytes.  No errors: out of memory is an internal error.
 */
struct QuantPlan;
void mem_plan_int8(const Ir *ir, struct QuantPlan *p);

#endif
