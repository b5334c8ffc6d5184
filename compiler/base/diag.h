/*
 * diag.h: diagnostics for .nn source.
 *
 * A message names file:line:col, shows the source line and puts a caret and
 * tildes under the offending span, as gcc and rustc do.  Messages are
 * buffered and printed in source order by diag_flush(), so errors found by
 * different phases (sema, shape) come out in the order a reader meets them.
 * Compiler bugs do not come through here as user errors: diag_internal()
 * prints the pass name and exits with status 70.
 */
#ifndef NNC_DIAG_H
#define NNC_DIAG_H

#include <stdint.h>
#include <stdio.h>

#include "arena.h"

/* Byte offsets [start, end) into the source text. */
typedef struct Span {
    uint32_t start, end;
} Span;

typedef struct DiagMsg DiagMsg;

typedef struct Diag {
    Arena *arena;
    const char *path;       /* as given on the command line */
    const char *src;        /* the whole file; may hold NUL bytes */
    uint32_t len;
    uint32_t *line_start;   /* offset of each line's first byte */
    int nlines;
    int nerrors, nwarnings;
    int max_errors;         /* diag_full() once reached; default 50 */
    int last_dropped;       /* the last error came after max_errors */
    int werror;             /* -Werror: warnings are shown as errors, "[-Werror]"; the
                               caller fails when nwarnings > 0 */
    DiagMsg *msgs;
    int nmsgs, cap;
} Diag;

#if defined(__GNUC__)
#define DIAG_PRINTF(i, j) __attribute__((format(printf, i, j)))
#define DIAG_NORETURN __attribute__((noreturn))
#else
#define DIAG_PRINTF(i, j)
#define DIAG_NORETURN
#endif

void diag_init(Diag *d, Arena *a, const char *path, const char *src, uint32_t len);

/* An error at sp.  Returns nothing: callers go on to find further errors. */
void diag_error(Diag *d, Span sp, const char *fmt, ...) DIAG_PRINTF(3, 4);

/* A warning at sp: a model that compiles but is probably not what was
 * meant.  Counted in nwarnings, never in nerrors, so the phases run the
 * same with and without -Werror (which only changes how it is shown). */
void diag_warning(Diag *d, Span sp, const char *fmt, ...) DIAG_PRINTF(3, 4);

/* A "hint:" line attached to the last error or warning. */
void diag_hint(Diag *d, const char *fmt, ...) DIAG_PRINTF(2, 3);

/* A located "note:" (with its own caret) attached to the last message. */
void diag_note(Diag *d, Span sp, const char *fmt, ...) DIAG_PRINTF(3, 4);

/* True once max_errors errors were reported: phases stop looking. */
int diag_full(const Diag *d);

/* 1-based line and byte column of an offset. */
void diag_linecol(const Diag *d, uint32_t off, int *line, int *col);

/* Print every buffered message in source order to f and forget them. */
void diag_flush(Diag *d, FILE *f);

/* A compiler bug: report it with the pass that found it and exit 70. */
void diag_internal(const char *pass, const char *fmt, ...) DIAG_PRINTF(2, 3) DIAG_NORETURN;

/* Levenshtein distance, capped at limit+1; for "did you mean" hints. */
int diag_edit_distance(const char *a, const char *b, int limit);

#endif
