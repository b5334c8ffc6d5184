/*
 * host.c: board.h on a hosted system (the host reference build, and
 * AArch64 Linux under qemu-aarch64): stdout, exit(), and, built with
 * -DBOARD_COUNT_FD=N (the Makefile's CORE=aarch64), instruction counts
 * from QEMU's TCG plugin tests/targets/insn_count.c: user-mode QEMU has no
 * -icount, so the plugin counts the guest's instructions and a read() of
 * 8 bytes from descriptor N returns the count so far.  Without the plugin
 * (or natively) that read fails and nothing is counted.
 */
#include <stdio.h>
#include <stdlib.h>
#ifdef BOARD_COUNT_FD
#include <unistd.h>
#endif

#include "board.h"

void board_puts(const char *s)
{
    fputs(s, stdout);
}

void board_exit(int status)
{
    fflush(stdout);
    exit(status);
}

#ifdef BOARD_COUNT_FD
static int can_count = -1; /* unknown until asked */
static uint64_t started;   /* the count at board_count_start */
static uint64_t overhead;  /* what an empty start/stop pair counts */

/* The plugin's instruction count into *v; 0 when there is no plugin. */
static int read_count(uint64_t *v)
{
    return read(BOARD_COUNT_FD, v, sizeof *v) == (ssize_t)sizeof *v;
}

/* The instructions since board_count_start, the read()s' own included. */
static uint64_t count_raw(void)
{
    uint64_t now;
    return read_count(&now) ? now - started : 0;
}

int board_can_count(void)
{
    if (can_count < 0) {
        can_count = read_count(&started);
        if (can_count) {
            /* The instructions of the read()s themselves between two
             * counts: the same every time (TCG is deterministic), taken
             * off every count. */
            board_count_start();
            overhead = count_raw();
        }
    }
    return can_count;
}

void board_count_start(void)
{
    if (!read_count(&started))
        started = 0;
}

uint32_t board_count_stop(int *overflow)
{
    uint64_t n = count_raw();
    n = n > overhead ? n - overhead : 0;
    *overflow = n > UINT32_MAX;
    return (uint32_t)n;
}

uint32_t board_count_loop(uint32_t n, uint32_t *per_iter)
{
    int overflow;
    *per_iter = 0;
    if (!board_can_count())
        return 0;
    *per_iter = 2;
    uint64_t left = n;
    board_count_start();
#if defined(__aarch64__)
    /* n iterations of two instructions: subs, b.ne */
    __asm__ volatile("1:\tsubs %0, %0, #1\n\tb.ne 1b" : "+r"(left) : : "cc");
#else
#error "BOARD_COUNT_FD: board_count_loop has a loop only for AArch64"
#endif
    uint32_t got = board_count_stop(&overflow);
    return overflow ? 0 : got;
}
#else
int board_can_count(void)
{
    return 0;
}

void board_count_start(void)
{
}

uint32_t board_count_stop(int *overflow)
{
    *overflow = 0;
    return 0;
}

uint32_t board_count_loop(uint32_t n, uint32_t *per_iter)
{
    (void)n;
    *per_iter = 0;
    return 0;
}
#endif

uintptr_t board_stack_limit(void)
{
    return 0;
}
