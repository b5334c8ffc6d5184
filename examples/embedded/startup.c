/*
 * startup.c: reset and the vector table for a Cortex-M (ARMv6-M and
 * ARMv7-M), in C: copy .data from flash to RAM, zero .bss, give the FPU
 * access when the build uses it, run main, and end through board_exit
 * with main's status.  A fault prints its name and exits with status 1,
 * so a crash under QEMU ends the run instead of hanging it.
 * The symbols come from mps2.ld.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"

extern uint32_t __stack_top[];
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];

int main(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CPACR: full access to coprocessors 10 and 11 (the FPU) before the
     * first floating-point instruction; the barriers make it take effect. */
    *(volatile uint32_t *)0xe000ed88u |= 0xfu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
        *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;)
        *d++ = 0;
    board_exit(main());
}

void HardFault_Handler(void)
{
    board_puts("HardFault\n");
    board_exit(1);
}

void Default_Handler(void)
{
    board_puts("unexpected exception\n");
    board_exit(1);
}

/* The ARMv6-M/ARMv7-M vector table: the initial stack pointer, then the
 * handlers of exceptions 1 (reset) to 15 (SysTick; never enabled here). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top,
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler,
    HardFault_Handler, /* MemManage (ARMv7-M) */
    HardFault_Handler, /* BusFault */
    HardFault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMonitor */
    0,
    Default_Handler,   /* PendSV */
    Default_Handler,   /* SysTick */
};
