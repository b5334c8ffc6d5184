/*
 * compile.h: one compilation of one .nn file, phase by phase.
 */
#ifndef NNC_COMPILE_H
#define NNC_COMPILE_H

#include <stdio.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "ir.h"
#include "memplan.h"
#include "version.h"

/* Largest source file accepted, in bytes. */
#define NNC_MAX_SOURCE (16u << 20)

/* All state of one compilation; no globals, so tests can run many. */
typedef struct Compilation {
    Arena arena;
    Diag diag;
    Module *module;     /* after parsing */
    Ir *ir;             /* after lowering */
    MemPlan *plan;      /* after compile_back; nnc --inference --weights sets every
                         * parameter's IrNode.value before it */
    const char *last_pass; /* the last pass that ran, for dumps */
} Compilation;

/* What the back half of the pipeline needs to know. */
typedef struct BackOptions {
    int max_batch;      /* --batch, or the train block's batch */
    int inference;      /* --inference: no backward graph, no optimizer */
    int opt_level;      /* -O0 .. -O2 */
    int threads;        /* --threads */
    unsigned disabled;  /* --disable: bit i turns off compile_passes[i] (an optional one) */
    const struct Target *target; /* --target (target.h); NULL: host */
    const char *dump_after;
    FILE *dump;
} BackOptions;

/* CompilePass.flags. */
enum {
    PASS_FRONT = 1,     /* run by compile_front (every use of nnc), the rest by compile_back */
    PASS_OPTIONAL = 2,  /* runs at -O1 and up, --disable NAME turns it off alone; results
                         * never depend on it beyond rounding */
    PASS_TRAINING = 4,  /* skipped by --inference (nothing to differentiate) */
    PASS_UNSHAPED = 8,  /* runs before shapes are known: ir_verify asks for none */
    PASS_NO_IR = 16     /* changes no IR node: not verified, no --dump-after (memplan,
                         * whose result --emit memory prints) */
};

/*
 * One pass of the pipeline.  compile_passes[] lists them in the order they
 * run; compile_front and compile_back are one loop over it, and nnc's
 * --help, --disable and --dump-after (their lists and their errors) are
 * made from it, so a pass is added by adding its row.
 */
typedef struct CompilePass {
    const char *name;   /* --disable / --dump-after NAME, the pass in ir_verify's errors */
    /* Run the pass on c (o is NULL for PASS_FRONT ones).  Returns 0, or 1
     * after reporting errors to c->diag, which stops the compilation. */
    int (*run)(Compilation *c, const BackOptions *o);
    unsigned flags;     /* PASS_* */
    const char *after;  /* the passes it must run after, space-separated ("" for
                         * none): their rows come earlier (compile_check_passes) */
    const char *what;   /* one line for --help: what it does */
    const char *skipped; /* when --inference skips this PASS_TRAINING pass, --dump-after
                          * NAME prints the IR headed "NAME (skipped)" if set ("autodiff
                          * (inference: nothing to differentiate)"); NULL: prints nothing */
} CompilePass;

/* The pipeline, in order; compile_npasses rows, then one whose name is NULL. */
extern const CompilePass compile_passes[];
extern const int compile_npasses;

/* Index of name in compile_passes, or -1. */
int compile_pass(const char *name);

/*
 * Check a pass table (n rows) for what compile_passes must satisfy: every
 * name in a row's `after` names a row that comes earlier, names are
 * unique, at most 32 rows (BackOptions.disabled has a bit per row),
 * PASS_FRONT rows first.  Returns 0, or -1 with the first violation
 * written to why (at most size bytes: "autodiff must run after
 * fuse_loss, which comes later").
 */
int compile_check_passes(const CompilePass *t, int n, char *why, size_t size);

/*
 * The names of the rows of compile_passes with all the flags in `with`
 * and none in `without`, in pipeline order, separated by ", " and
 * wrapped: a line (of at most width columns) is ended after a comma and
 * the next starts with indent spaces; the first line has first columns
 * taken already.  Written to f, without a final newline.
 */
void compile_print_passes(FILE *f, unsigned with, unsigned without, int first, int indent, int width);

/*
 * The front end: parse, sema, lower, shape, with ir_verify() after each IR
 * pass and the IR printed to dump after the pass named dump_after (NULL for
 * none).  src holds len bytes and may contain anything.  Returns 0 when the
 * model is well formed (c->ir complete, every shape known), 1 when errors
 * were reported to c->diag (print them with diag_flush).
 */
int compile_front(Compilation *c, const char *path, const char *src, uint32_t len,
                  const char *dump_after, FILE *dump);

/* compile_front, with warnings shown as errors when werror is set
 * (nnc -Werror): then warnings also make it return 1. */
int compile_front_werror(Compilation *c, const char *path, const char *src, uint32_t len,
                         const char *dump_after, FILE *dump, int werror);

/*
 * The back half: the rows of compile_passes without PASS_FRONT that run
 * under o (autodiff unless inference, the optional passes at -O1 and up,
 * memplan), with ir_verify() and the optional dump after each.  Returns
 * 0, or 1 after reporting errors (an operator that cannot be trained yet).
 */
int compile_back(Compilation *c, const BackOptions *o);

/* Release everything the compilation allocated. */
void compile_free(Compilation *c);

#endif
