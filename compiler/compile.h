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

#define NNC_VERSION "0.1.0"

/* Largest source file accepted, in bytes. */
#define NNC_MAX_SOURCE (16u << 20)

/* All state of one compilation; no globals, so tests can run many. */
typedef struct Compilation {
    Arena arena;
    Diag diag;
    Module *module;     /* after parsing */
    Ir *ir;             /* after lowering */
    MemPlan *plan;      /* after compile_back */
    const char *last_pass; /* the last pass that ran, for dumps */
} Compilation;

/* What the back half of the pipeline needs to know. */
typedef struct BackOptions {
    int max_batch;      /* --batch, or the train block's batch */
    int inference;      /* --inference: no backward graph, no optimizer */
    int opt_level;      /* -O0 .. -O2 */
    int threads;        /* --threads */
    unsigned disabled;  /* --disable: bit i turns off compile_optional_passes[i] */
    const char *dump_after;
    FILE *dump;
} BackOptions;

/* Names accepted by --dump-after, in pipeline order; NULL-terminated. */
extern const char *const compile_passes[];

/* The passes -O1 and up run, each of which --disable NAME turns off
 * alone; NULL-terminated.  Results never depend on them beyond rounding. */
extern const char *const compile_optional_passes[];

/* Index of name in compile_optional_passes, or -1. */
int compile_optional_pass(const char *name);

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
 * The back half: autodiff (unless inference), memory planning, with
 * ir_verify() and the optional dump after each.  Returns 0, or 1 after
 * reporting errors (an operator that cannot be trained yet).
 */
int compile_back(Compilation *c, const BackOptions *o);

/* Release everything the compilation allocated. */
void compile_free(Compilation *c);

#endif
