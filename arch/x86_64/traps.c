/* IDT setup and the C side of the trap stubs (traps.asm). */
#include "arch/x86_64/traps.h"
#include "core/panic.h"
#include "core/mce.h"
#include "arch/x86_64/cpu.h"
#include "core/vcpu.h"

extern const u8 traps_stubs[];
extern const u8 msr_safe_read_insn[], msr_safe_write_insn[], msr_safe_fault[]; /* msr_safe.asm */

struct idt_gate {
    u16 offset_lo;
    u16 selector;
    u8 ist;
    u8 type_attr;
    u16 offset_mid;
    u32 offset_hi;
    u32 reserved;
} PACKED;
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");

struct PACKED idt_ptr {
    u16 limit;
    u64 base;
};

#define GATE_INTERRUPT_PRESENT 0x8e
#define STUB_SIZE              16
#define VEC_GP                 13
#define VEC_MC                 18
#define CR4_MCE                BIT(6)

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile int traps_pending_event = TRAP_NONE;

static const char *const exception_names[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved 15",
    "#MF x87",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD",
    "#VE virtualization",
    "#CP control protection",
};

void traps_init(void)
{
    u16 cs;
    struct idt_ptr p = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

    /* The hypervisor's own GDT is loaded first (host_cpu_load_gdt): the firmware's is in
     * boot-services memory, which becomes guest RAM. */
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (int i = 0; i < 256; i++) {
        u64 addr = (u64)(uintptr_t)(traps_stubs + i * STUB_SIZE);
        idt[i].offset_lo = (u16)addr;
        idt[i].selector = cs;
        idt[i].ist = 0;
        idt[i].type_attr = GATE_INTERRUPT_PRESENT;
        idt[i].offset_mid = (u16)(addr >> 16);
        idt[i].offset_hi = (u32)(addr >> 32);
        idt[i].reserved = 0;
    }
    __asm__ volatile("lidt %0" ::"m"(p));
    /* A machine check now has a handler (x86_trap): with CR4.MCE clear the CPU would shut down
     * instead (AMD APM Vol. 2 §9.3, Intel SDM Vol. 3B §16.3), and the firmware may leave it clear. */
    write_cr4(read_cr4() | CR4_MCE);
}

volatile u64 traps_nmis_seen;

static u64 host_rdmsr(u32 msr) { return rdmsr(msr); }

void x86_trap(struct trap_frame *f);
void x86_trap(struct trap_frame *f)
{
    if (f->vector >= 32 || f->vector == TRAP_NMI_VECTOR) {
        /* Leave the interrupt unacknowledged for the guest, and return with IF clear so no
         * second one is taken before the waiter runs. */
        traps_pending_event = f->vector == TRAP_NMI_VECTOR ? WAIT_NMI : (int)f->vector;
        traps_nmis_seen += f->vector == TRAP_NMI_VECTOR;
        f->rflags &= ~BIT(9);
        return;
    }
    if (f->vector == VEC_GP &&
        (f->rip == (u64)(uintptr_t)msr_safe_read_insn || f->rip == (u64)(uintptr_t)msr_safe_write_insn)) {
        f->rip = (u64)(uintptr_t)msr_safe_fault; /* msr_read_safe/msr_write_safe return false */
        return;
    }
    if (f->vector == VEC_MC) {
        /* In the hypervisor itself (the guest's own are intercepted: hv/exits.c): the banks say
         * what and where, then the machine stops (docs/events.md). */
        mce_report(host_rdmsr, false, f->rip);
        panic_trap("machine check", f);
    }
    panic_trap(exception_names[f->vector] ? exception_names[f->vector] : "exception", f);
}
