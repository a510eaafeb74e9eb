/* panic(): report everything useful on the serial line and stop this CPU. */
#include "core/panic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/traps.h"
#include "core/exit_trace.h"
#include "lib/log.h"
#include "core/vcpu.h"
#include "drivers/uart/uart16550.h"
#include <stdarg.h>

static struct vcpu *panic_vcpu;

void panic_set_vcpu(struct vcpu *v) { panic_vcpu = v; }

void dump_guest_regs(struct vcpu *v)
{
    static const char *const names[VCPU_NREGS] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8",
                                                   "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags" };
    LOG("guest registers (vcpu %u):", v->id);
    for (int i = 0; i < VCPU_NREGS; i += 3) {
        if (i + 2 < VCPU_NREGS)
            LOG("  %-6s %016llx  %-6s %016llx  %-6s %016llx", names[i], (unsigned long long)v->regs[i], names[i + 1],
                (unsigned long long)v->regs[i + 1], names[i + 2], (unsigned long long)v->regs[i + 2]);
        else
            LOG("  %-6s %016llx", names[i], (unsigned long long)v->regs[i]);
    }
    if (vcpu_ops && vcpu_ops->dump)
        vcpu_ops->dump(v);
}

static NORETURN void panic_tail(void)
{
    if (panic_vcpu)
        dump_guest_regs(panic_vcpu);
    exit_trace_dump();
    LOG("PANIC: hypervisor halted");
    uart_flush();
    cpu_halt_forever();
}

void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    cli();
    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    LOG("PANIC: %s", buf);
    panic_tail();
}

void panic_trap(const char *what, const struct trap_frame *f)
{
    LOG("PANIC: %s in the hypervisor (vector %llu, error 0x%llx) at rip 0x%llx", what, (unsigned long long)f->vector,
        (unsigned long long)f->error, (unsigned long long)f->rip);
    LOG("  rsp 0x%llx rflags 0x%llx cr2 0x%llx", (unsigned long long)f->rsp, (unsigned long long)f->rflags,
        (unsigned long long)read_cr2());
    LOG("  rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx", (unsigned long long)f->rax,
        (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx, (unsigned long long)f->rsi,
        (unsigned long long)f->rdi);
    panic_tail();
}
