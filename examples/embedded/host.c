/*
 * host.c: board.h on a hosted system (the host reference build, and
 * AArch64 Linux under qemu-aarch64): stdout, exit(), and no instruction
 * counter (user-mode QEMU has none that is reliable without a TCG plugin).
 */
#include <stdio.h>
#include <stdlib.h>

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

uintptr_t board_stack_limit(void)
{
    return 0;
}
