/*
 * emitter.h: the indenting C printer at the bottom of the back end
 * (emitter.c).  The kernels (kernels*.c, gemm.c) and the model emitter
 * (emit_c.c) write through it; it includes no header of theirs nor of
 * the IR, so that neither depends on the other through it
 * (docs/architecture.md, "Layers").
 */
#ifndef NNC_EMITTER_H
#define NNC_EMITTER_H

#include <stddef.h>
#include <stdio.h>

#include "arena.h"

/* What the code being written is for: emit_c()'s options, which the
 * kernels read too (inference). */
typedef struct EmitOptions {
    const char *name;       /* C identifier of the model: NAME_create, ... */
    const char *source;     /* the .nn path, for the header comment */
    const char *cmdline;    /* how nnc was run, for the header comment */
    int max_batch;
    int inference;          /* --inference: no training code, no runtime, no heap */
    int threads;            /* --threads: OpenMP threads of the parallel loops (1: none) */
} EmitOptions;

/* The indenting printer every emitter writes through.  ir and plan are
 * the model being written (ir.h, memplan.h), for the kernels and
 * emit_c.c; the printer itself only carries them. */
typedef struct Emitter {
    FILE *f;
    int indent;
    const struct Ir *ir;
    const struct MemPlan *plan;
    const EmitOptions *opt;
    int training;       /* the schedule being written runs in training mode */
    int threads;        /* the generated code's threads (Ir.threads): emit_par_begin's loops */
    /* emit_par_begin .. emit_par_end: the loop being captured */
    FILE *par_saved;
    char *par_text;
    size_t par_len;
    const char *par_cond;
} Emitter;

/* One line: indent levels of four blanks (none for an empty line), the
 * printf text, a newline. */
void emit_line(Emitter *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* n fixed lines of C (a helper's source: the GEMM, dotsum()), each as
 * emit_line(e, "%s", line) writes it. */
void emit_lines(Emitter *e, const char *const *lines, size_t n);

/* text as a block comment of lines within 79 columns at e's indent,
 * words kept whole (a word longer than a line gets a line of its own);
 * left open for more lines (" * ...") unless close. */
void emit_wrapped(Emitter *e, int close, const char *text);

/*
 * A loop split over the threads only when cond (C text, e.g. "n > 1")
 * holds: call emit_par_begin just before the loop's first line and
 * emit_par_end after its last.  OpenMP's if clause still starts a team of
 * one, about a microsecond a region (measured at batch 1), so with threads
 * the loop is written twice, under the pragma when cond holds and plain
 * otherwise; without threads, once and plain.  Not nested.
 */
void emit_par_begin(Emitter *e, const char *cond);
void emit_par_end(Emitter *e);

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

/*
 * The opening of a generated file (NAME.h, NAME.c): a comment saying it is
 * `what` for model `model`, written by this nnc from e->opt->source by
 * e->opt->cmdline, not to be edited, and why its C names (e->opt->name)
 * differ from the model's name when they do.  Strings through
 * emit_c_comment(), in arena a.
 */
void emit_file_comment(Emitter *e, Arena *a, const char *what, const char *model);

/* NAME.h's include guard, its includes (<stddef.h>, <stdint.h>) and the
 * extern "C" that lets C++ (Arduino, mbed, Zephyr) link it under its C
 * names; emit_header_end() closes both. */
void emit_header_begin(Emitter *e);
void emit_header_end(Emitter *e);

#endif
