/*
 * kmem.h: the memory a node's kernel needs besides its operands and its
 * value (kmem.c): the contract between the kernels and the memory plan.
 *
 * Each kernel family has one function that answers, for the compiled
 * shapes, the batch and the path the kernel will actually take, which
 * regions it uses: what it keeps after its value for the backward pass
 * (KM_SAVED), scratch for the call (KM_SCRATCH), scratch per thread
 * (KM_THREAD) and the GEMM's pack (KM_PACK).  memplan.c places exactly
 * those regions and nothing else; the kernels (kernels*.c) address each
 * one by name through the plan (mem_region(), kern_region()), which fails
 * (a compiler bug, exit status 70) for a region its family did not
 * declare.  So the kernel that uses a region and the declaration that
 * sizes it cannot disagree silently: a kernel cannot reach memory the plan
 * did not give it, and a size is written once, here.
 *
 * In the plan layer, under memplan (docs/architecture.md): it knows the
 * IR, the passes' choices (conv_algo) and the target's GEMM, nothing of
 * the C the kernels print.
 */
#ifndef NNC_KMEM_H
#define NNC_KMEM_H

#include "ir.h"

#include <stdint.h>

/* The element type of a buffer or region.  The kernels that write and
 * read one access it through a pointer of this type only (int32_t for
 * MEM_I32), so no byte is read as another type than it was written (C99
 * 6.5p7).  The float arena (memplan.h) holds MEM_F32, MEM_I32 and MEM_I64
 * (batchnorm's num_batches_tracked); the int8 arena MEM_I8. */
typedef enum { MEM_F32, MEM_I32, MEM_I64, MEM_I8 } MemType;

/* Bytes of one element of type t: 4, 4, 8, 1. */
int mem_type_bytes(MemType t);

/* Where a region lives and for how long:
 *   KM_SAVED    after the node's value, in its buffer, as long as the
 *               value (written by the forward kernel, read by the
 *               gradient's);
 *   KM_SCRATCH  while the kernel runs, one for the call;
 *   KM_THREAD   while the kernel runs, one per thread (NNC_THREAD's at
 *               NNC_THREAD times the region's stride);
 *   KM_PACK     the GEMM's pack while the kernel runs: GEMM_PACK_KC x 32
 *               scalars apart per thread, as the GEMM addresses it
 *               (target.h). */
typedef enum { KM_SAVED, KM_SCRATCH, KM_THREAD, KM_PACK } KmKind;

/* One region a kernel declares.  bytes: the whole region (KM_THREAD: one
 * thread's), a whole number of its elements. */
typedef struct {
    const char *name; /* "argmax", "col", "pack": what the kernel asks for */
    KmKind kind;
    MemType type;
    int64_t bytes;
} KmRegion;

/* The most regions one kernel declares. */
#define KM_MAX 8

/*
 * The regions node id's kernel uses when compiled for batches of up to
 * max_batch samples (ir->threads threads, ir->inference), in out[] (room
 * for KM_MAX); returns how many.  A node computed inside another's kernel
 * (inlined_into) declares nothing: the kernel that computes it declares
 * for it (a maxpool computing its conv2d declares the convolution's
 * scratch).  The order is the layout: saved regions follow the value in
 * that order; scratch regions are laid out in that order in one block,
 * consecutive KM_THREAD regions as one slab per thread (starting on a
 * MEM_ALIGN boundary).
 */
int kmem_regions(const Ir *ir, int id, int max_batch, KmRegion *out);

/* The families' answers, which kmem_regions() picks by the forward op;
 * each returns how many regions it wrote to out. */
int kmem_dense(const Ir *ir, int id, int max_batch, KmRegion *out);
int kmem_conv(const Ir *ir, int id, int max_batch, KmRegion *out);
int kmem_pool(const Ir *ir, int id, int max_batch, KmRegion *out);
int kmem_norm(const Ir *ir, int id, int max_batch, KmRegion *out);
int kmem_act(const Ir *ir, int id, int max_batch, KmRegion *out);

/* Does the few-sample dense forward (dot products, no GEMM, no pack)
 * cover every batch of node id's dense kernel?  kernels.c then emits it
 * alone. */
int kmem_dense_small_only(const Ir *ir, int id, int max_batch);

/* Is dense node id's forward computed by dot products for batches below
 * 8 (the few-sample path)? */
int kmem_dense_has_small(const Ir *ir, int id);

#endif
