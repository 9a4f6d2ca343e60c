/* A minimal Cortex-M4 start-up for tests under qemu-system-arm (mps2-an386):
 * vector table, reset handler (zero .bss, enable the FPU, call main, exit),
 * and ARM semihosting output.  Test code of plainnet, not part of the package. */

#include <stdint.h>

extern uint32_t __bss_start__, __bss_end__, __stack_top__;
int main(void);
void Reset_Handler(void);
void Fault_Handler(void);
void sh_write(const char *text);
void sh_exit(int ok);

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top__, Reset_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* SYS_WRITE0: a NUL-terminated string to the host's console */
void sh_write(const char *text)
{
    semihost(0x04, text);
}

/* SYS_EXIT: ADP_Stopped_ApplicationExit (qemu exits 0) or RunTimeErrorUnknown (1) */
void sh_exit(int ok)
{
    semihost(0x18, (const void *)(ok ? 0x20026 : 0x20023));
    for (;;)
        ;
}

void Fault_Handler(void)
{
    sh_write("FAULT\n");
    sh_exit(0);
}

void Reset_Handler(void)
{
    uint32_t *p;
    for (p = &__bss_start__; p < &__bss_end__; p++)
        *p = 0;
    /* CPACR: full access to coprocessors 10 and 11 (the FPU) */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    sh_exit(main() == 0);
}
