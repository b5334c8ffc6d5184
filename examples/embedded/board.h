/*
 * board.h: what examples/embedded/main.c needs from the machine it runs
 * on, so that one main.c runs on a bare-metal Cortex-M under QEMU (mps2.c:
 * semihosting, SysTick) and on a hosted system (host.c: stdio; the host
 * reference and AArch64 Linux under qemu-aarch64).
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

/* Write the NUL-terminated string s to the console (no newline added). */
void board_puts(const char *s);

/* End the program with status 0 (success) or nonzero (failure); does not
 * return.  Under QEMU with semihosting, QEMU's exit status is 0 or 1. */
void board_exit(int status);

/* Start counting instructions: board_count_stop() then returns the
 * instructions executed since this call, or 0 where the machine cannot
 * count (host.c natively).  Under qemu-system-arm -icount shift=0 each instruction
 * advances virtual time by 1 ns; mps2.c reads SysTick, clocked by the
 * board's 25 MHz SYSCLK, so the count has a granularity of 40
 * instructions.  The counter is 24 bits: a stretch longer than
 * 16,777,215 ticks (671 million instructions) sets *overflow.  Under
 * qemu-aarch64 host.c reads the exact count from the TCG plugin
 * tests/targets/insn_count.c, less the reads' own instructions. */
void board_count_start(void);
uint32_t board_count_stop(int *overflow);

/* Does board_count_* count (1) or not (0)? */
int board_can_count(void);

/* Run an instruction loop of exactly n iterations of `per_iter`
 * instructions (mps2.c: 2, subs and bne; host.c under qemu-aarch64: 2,
 * subs and b.ne; plus a few instructions around it), and return the
 * instructions counted; the caller compares with n * per_iter.  0 where
 * nothing counts. */
uint32_t board_count_loop(uint32_t n, uint32_t *per_iter);

/* The stack: the lowest address it may grow down to (the linker script's
 * __stack_limit), and the current stack pointer.  Host: both 0 (the
 * stack is not measured there). */
uintptr_t board_stack_limit(void);

#endif
