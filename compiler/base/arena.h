/*
 * arena.h: one bump allocator per compilation.
 *
 * Everything the compiler builds (tokens' text, AST, IR, strings) lives in
 * the Arena of its Compilation and is released at once by arena_free(), so
 * no phase frees anything and tests can run many compilations in one
 * process.  Allocation failure is reported and exits with status 2: there
 * is no sensible way to go on compiling without memory.
 */
#ifndef NNC_ARENA_H
#define NNC_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
    ArenaBlock *head;   /* newest block first */
    size_t used;        /* bytes handed out, for --emit stats */
} Arena;

/* n zeroed bytes aligned for any type; never NULL. */
void *arena_alloc(Arena *a, size_t n);

/* Copy of p[0..n) plus a NUL terminator. */
char *arena_strndup(Arena *a, const char *p, size_t n);

/* printf into the arena. */
char *arena_printf(Arena *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Grow an array of elem-byte items to hold at least need items; returns the
 * (possibly moved) array and updates *cap.  Old storage stays in the arena. */
void *arena_grow(Arena *a, void *p, int *cap, int need, size_t elem);

void arena_free(Arena *a);

/* Append x to the growable array (p, n, cap) held in arena a. */
#define ARENA_PUSH(a, p, n, cap, x)                                       \
    do {                                                                  \
        if ((n) >= (cap))                                                 \
            (p) = arena_grow((a), (p), &(cap), (n) + 1, sizeof *(p));     \
        (p)[(n)++] = (x);                                                 \
    } while (0)

#endif
