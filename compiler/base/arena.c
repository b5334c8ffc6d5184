/*
 * arena.c: bump allocation in blocks of at least 64 KiB.  Large requests get
 * a block of their own, so a megabyte-long identifier costs a megabyte, not
 * a quadratic number of copies.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaBlock {
    ArenaBlock *next;
    size_t size, off;
    /* data follows, max-aligned */
};

#define ALIGN 16
#define BLOCK_MIN ((size_t)64 * 1024)
#define HDR ((sizeof(ArenaBlock) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static void oom(void)
{
    fputs("nnc: error: out of memory\n", stderr);
    exit(2);
}

void *arena_alloc(Arena *a, size_t n)
{
    ArenaBlock *b = a->head;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n)
        oom();
    if (!b || b->size - b->off < need) {
        size_t size = need > BLOCK_MIN ? need : BLOCK_MIN;
        if (size > SIZE_MAX - HDR)
            oom();
        b = malloc(HDR + size);
        if (!b)
            oom();
        b->size = size;
        b->off = 0;
        /* A dedicated large block goes behind the head so the head's free
         * space is still used by later small requests. */
        if (a->head && need > BLOCK_MIN) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = (char *)b + HDR + b->off;
    b->off += need;
    a->used += need;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(Arena *a, const char *p, size_t n)
{
    char *s = arena_alloc(a, n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *s = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void *arena_grow(Arena *a, void *p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return p;
    if (need > INT32_MAX / 2)
        oom();
    int ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *q = arena_alloc(a, (size_t)ncap * elem);
    if (p && *cap)
        memcpy(q, p, (size_t)*cap * elem);
    *cap = ncap;
    return q;
}

void arena_free(Arena *a)
{
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
