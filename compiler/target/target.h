/*
 * target.h: what the back end must know of the machine the generated code
 * runs on (target.c): nnc --target T.  A Target is one row of data: the
 * vector widths the code may contain, fused multiply-add, the GEMM's
 * register tile and whether it packs, how conv_algo chooses between its
 * kernels, the -march --exe builds with, and the predefined macros the
 * generated file may take as absent.  The passes (conv_algo), the
 * kernels' memory declarations (kmem.c) and the kernels read it through
 * Ir.target; nothing above consults the machine any other way.
 *
 * It lives here, below the passes and the plan, so that neither they nor
 * the planner include an emitter header (docs/architecture.md, "Layers");
 * it knows no IR (the Ir only points at it).
 */
#ifndef NNC_TARGET_H
#define NNC_TARGET_H

#include <stdint.h>
#include <stdio.h>

#include "helpers/gemm_const.h" /* build/: the constants of compiler/emit/helpers/gemm.c */

/* K block of the emitted GEMM; its pack scratch is GEMM_PACK_KC x 32 per
 * thread.  The generated code's GEMM_KC itself, written once, in
 * compiler/emit/helpers/gemm.c (scripts/embed_c.c exports it). */
#define GEMM_PACK_KC NNC_HELPER_GEMM_KC

/* Target.lanes of the host target: the width is chosen when the generated
 * file is compiled, by the C compiler's predefined macros (__AVX512F__ 16,
 * __AVX__ 8, __SSE2__ or __ARM_NEON 4, else plain loops), with run-time
 * dispatch on x86-64 without AVX. */
#define TARGET_LANES_BUILD (-1)

typedef struct Target {
    const char *name;     /* --target NAME */
    const char *what;     /* one line for --help: the cores it is for */
    int lanes;            /* floats per vector the code contains: 16, 8 or 4 (behind
                           * __GNUC__ and !NNC_SCALAR, the plain loops otherwise),
                           * 0 (plain loops only, no vector types), or TARGET_LANES_BUILD */
    const char *guard;    /* the predefined macros that say the compiler targets those
                           * vectors (lanes > 0): the vector path needs them, the plain
                           * loops are taken elsewhere, so the file compiles anywhere */
    int fma;              /* the cores have fused multiply-add (the code uses it where
                           * the compiler says so: __FMA__, __ARM_FEATURE_FMA); 0: never */
    int dispatch;         /* run-time dispatch copies (AVX-512, AVX2) on x86-64 without AVX */
    int tile_m, tile_n;   /* the GEMM's register tile conv_algo prices the padded width
                           * in, rows x columns: 6 x two vectors (the plain-loop
                           * targets price as the host, 6 x 32: target.c) */
    int gemm_packs;       /* the GEMM packs panels of B (pack scratch, KM_PACK); the plain
                           * loops read B in place */
    int filter_block;     /* CONV_DIRECT_OC's filters are rounded up to a multiple of this:
                           * 16 (whole vectors of up to 16 lanes) or the plain loops'
                           * register block, 8 */
    int price_block;      /* the filter block conv_algo prices CONV_DIRECT_OC in (16) */
    const char *march;    /* nnc --exe's default -march=, or NULL: not a target --exe
                           * builds for without CC (cross compiling is the user's) */
    const char *absent;   /* predefined macros the generated file may take as undefined
                           * (space-separated): their branches are left out, the
                           * portable ones they stand beside kept */
} Target;

/* The targets, in --help's order; target_count rows. */
extern const Target target_table[];
extern const int target_count;

/* The target called name, or NULL. */
const Target *target_find(const char *name);

/* The host target (nnc's default): the first row. */
const Target *target_host(void);

/* t, or the host target when t is NULL (an Ir no driver set up). */
const Target *target_or_host(const Target *t);

/* "host, x86-64, ..., generic": every name, for errors and --help. */
const char *target_names(void);

/*
 * Scalars of pack scratch one GEMM call of N columns and K rows of B
 * needs on target t, for threads threads (at least one).  The GEMM packs
 * a panel of GEMM_NR columns (at most 32) and min(K, GEMM_PACK_KC) rows
 * when B is not contiguous in n (sbn != 1) or a panel is partial, unless
 * B's rows are given by offsets (boff: padded planes, read in place).
 * Panels are 8, 16 or 32 columns wide by the build's lanes, so N a
 * multiple of 32 never leaves a partial one.  Thread t's pack starts
 * GEMM_PACK_KC x 32 scalars after thread t - 1's (gemm_part()), so all
 * but the last take that stride, the last only the rows it fills.  0 when
 * it never packs, and on a target whose GEMM does not pack.
 */
int64_t target_gemm_pack_floats(const Target *t, int threads, int64_t N, int64_t K, int sbn_is_1, int boff);

/* x rounded up to CONV_DIRECT_OC's filter block on t. */
int64_t target_filters(const Target *t, int64_t x);

/*
 * The generated C in for target t, to out, without what t never uses: a
 * partial preprocessor over the conditional directives (#if, #ifdef,
 * #ifndef, #elif, #else, #endif).  A condition is evaluated in each of
 * the configurations the file can be compiled in for t (the vector build
 * of t's width, and the plain loops: -DNNC_SCALAR or a compiler without
 * vector extensions) with t's absent macros undefined and every other
 * macro unknown; a condition true in all of them loses its directive and
 * keeps its text, one false in all of them loses its text, any other is
 * kept as written.  So the file still compiles anywhere, to the same
 * code as before on any compiler it was meant for.  Lines continued with
 * a backslash are one line.  Returns 0, or -1 on a read or write error.
 */
int target_prune(const Target *t, FILE *in, FILE *out);

#endif
