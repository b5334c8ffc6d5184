/*
 * mps2.c: board.h for QEMU's MPS2 boards (mps2-an385 Cortex-M3,
 * mps2-an386 Cortex-M4, mps2-an500 Cortex-M7), bare metal:
 *   - console output and exit through Arm semihosting (`bkpt 0xab`;
 *     qemu-system-arm -semihosting): SYS_WRITE0 and SYS_EXIT;
 *   - instruction counts from SysTick.  QEMU clocks SysTick's processor
 *     clock source (CSR.CLKSOURCE = 1) from the board's SYSCLK, 25 MHz on
 *     every MPS2 model (hw/arm/mps2.c), and with -icount shift=0 each guest
 *     instruction advances virtual time by exactly 1 ns: one SysTick tick
 *     is 40 instructions.  board_count_loop checks that on a loop of known
 *     length (tests/run_targets.sh fails when it disagrees).
 * No interrupt is enabled: SysTick is read, never taken, so nothing
 * pushes an exception frame on the stack that main.c measures.
 */
#include "board.h"

#define SYST_CSR (*(volatile uint32_t *)0xe000e010u) /* control and status */
#define SYST_RVR (*(volatile uint32_t *)0xe000e014u) /* reload value */
#define SYST_CVR (*(volatile uint32_t *)0xe000e018u) /* current value */
#define CSR_ENABLE 1u
#define CSR_CLKSOURCE 4u        /* the processor clock, not the 1 MHz reference */
#define CSR_COUNTFLAG (1u << 16) /* counted to 0 since CSR was last read */
#define SYST_MAX 0x00ffffffu    /* a 24-bit down-counter */

#define SYSCLK_HZ 25000000u
#define NS_PER_TICK (1000000000u / SYSCLK_HZ) /* = instructions per tick */

#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u /* QEMU exits with 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u    /* QEMU exits with 1 */

/* One semihosting call: operation op, argument (or argument block) arg. */
static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s)
{
    semihost(SYS_WRITE0, s);
}

void board_exit(int status)
{
    /* On AArch32 SYS_EXIT takes the reason itself, not a block: QEMU maps
     * ApplicationExit to status 0 and any other reason to 1. */
    semihost(SYS_EXIT, (const void *)(uintptr_t)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                             : ADP_STOPPED_RUNTIME_ERROR));
    for (;;)
        ;
}

int board_can_count(void)
{
    return 1;
}

void board_count_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0; /* any write clears it and COUNTFLAG; the next tick loads RVR */
    SYST_CSR = CSR_ENABLE | CSR_CLKSOURCE;
}

uint32_t board_count_stop(int *overflow)
{
    uint32_t now = SYST_CVR;
    uint32_t csr = SYST_CSR;
    SYST_CSR = 0;
    /* COUNTFLAG: the counter went from 1 to 0 after its first reload,
     * 2^24 ticks or more have passed. */
    *overflow = (csr & CSR_COUNTFLAG) != 0;
    return (SYST_MAX - now) * NS_PER_TICK;
}

uint32_t board_count_loop(uint32_t n, uint32_t *per_iter)
{
    int overflow;
    *per_iter = 2;
    board_count_start();
    /* n iterations of two instructions: subs, bne (Thumb-1, so the M0 build
     * runs it too; GCC reads inline assembly in divided syntax unless told). */
    __asm__ volatile(".syntax unified\n1:\tsubs %0, %0, #1\n\tbne 1b\n\t.syntax divided" : "+l"(n) : : "cc");
    uint32_t got = board_count_stop(&overflow);
    return overflow ? 0 : got;
}

uintptr_t board_stack_limit(void)
{
    extern uint32_t __stack_limit[]; /* mps2.ld */
    return (uintptr_t)__stack_limit;
}
