/* IDT setup and the C side of the trap stubs (traps.asm). */
#include "arch/x86_64/traps.h"
#include "core/panic.h"
#include "core/mce.h"
#include "arch/x86_64/cpu.h"
#include "core/vcpu.h"
#include "lib/log.h"

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

/* Written by the NMI handler, which can interrupt any host code but never itself (the CPU blocks
 * NMIs until its IRET): the counts only ever grow there, and traps_nmi_take's decrement is one
 * locked instruction, so an NMI between its read and its write cannot be lost. */
static volatile u64 nmis_pending, nmis_for_guest, nmis_own;
static traps_own_nmi_fn own_nmi_check;

void traps_set_own_nmi_check(traps_own_nmi_fn fn) { own_nmi_check = fn; }

u64 traps_nmi_pending(void) { return nmis_pending; }

bool traps_nmi_take(void)
{
    u64 old = nmis_pending;
    while (old) {
        if (__atomic_compare_exchange_n(&nmis_pending, &old, old - 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
    return false;
}

void traps_nmi_from_exit(void)
{
    if (own_nmi_check && own_nmi_check()) {
        __atomic_add_fetch(&nmis_own, 1, __ATOMIC_SEQ_CST);
        return;
    }
    __atomic_add_fetch(&nmis_pending, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&nmis_for_guest, 1, __ATOMIC_SEQ_CST);
}

/* Both backends' wait for a halted guest: IF opens only for the HLT (the STI shadow covers the
 * gap). An interrupt is recorded by x86_trap and returned; an NMI, counted there, ends the wait
 * too (WAIT_NMI: the exit path injects it when the guest can take it). */
int traps_wait_for_event(bool (*line_ready)(void))
{
    traps_pending_event = TRAP_NONE;
    while (traps_pending_event == TRAP_NONE && !nmis_pending) {
        if (!line_ready) {
            __asm__ volatile("sti; hlt; cli" ::: "memory");
            continue;
        }
        /* The hypervisor's line has no interrupt to wake a HLT (not COM1's): short PAUSE steps
         * with interrupts open, the line checked between them. */
        __asm__ volatile("sti" ::: "memory");
        for (int i = 0; i < WAIT_STEP_PAUSES; i++)
            cpu_relax();
        __asm__ volatile("cli" ::: "memory");
        if (traps_pending_event == TRAP_NONE && !nmis_pending && line_ready())
            return WAIT_LINE;
    }
    return traps_pending_event != TRAP_NONE ? traps_pending_event : WAIT_NMI;
}

void traps_nmi_stats(u64 *for_guest, u64 *own)
{
    *for_guest = nmis_for_guest;
    *own = nmis_own;
}

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


static u64 host_rdmsr(u32 msr) { return rdmsr(msr); }

static struct mce_range hv_memory[2];
static volatile u32 mce_for_guest;

void traps_set_hv_memory(u64 image_base, u64 image_size, u64 pool_base, u64 pool_size)
{
    hv_memory[0].base = image_base;
    hv_memory[0].size = image_size;
    hv_memory[1].base = pool_base;
    hv_memory[1].size = pool_size;
}

bool traps_mce_take(void) { return __atomic_exchange_n(&mce_for_guest, 0, __ATOMIC_SEQ_CST) != 0; }

void x86_trap(struct trap_frame *f);
void x86_trap(struct trap_frame *f)
{
    if (f->vector == TRAP_NMI_VECTOR) {
        /* Counted for the guest (or claimed by the hypervisor's own check). An NMI that lands
         * between traps_wait_for_event's check and its HLT would leave it asleep: resume past the
         * STI;HLT (FB F4) or the HLT, and the loop checks again. */
        const volatile u8 *at = (const volatile u8 *)(uintptr_t)f->rip;
        traps_nmi_from_exit();
        if (at[0] == 0xfb && at[1] == 0xf4)
            f->rip += 2;
        else if (at[0] == 0xf4)
            f->rip++;
        return;
    }
    if (f->vector >= 32) {
        /* Leave the interrupt unacknowledged for the guest, and return with IF clear so no
         * second one is taken before the waiter runs. */
        traps_pending_event = (int)f->vector;
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
         * what and where. With GIF set during host work (svm_world_switch.asm) a machine check that
         * is the guest's can land here too: one the interrupted code can restart from, with no
         * corrupt context and no address in the hypervisor's memory, is handed to the guest at the
         * next entry (its handler reads and clears the banks, MCIP included); any other stops the
         * machine (docs/events.md). */
        mce_report(host_rdmsr, false, f->rip);
        if (!mce_host_recoverable(host_rdmsr, hv_memory, 2))
            panic_trap("machine check", f);
        LOG("mce: not in the hypervisor's memory and restartable (RIPV): the hypervisor goes on, the guest gets "
            "the machine check");
        mce_for_guest = 1;
        return;
    }
    panic_trap(exception_names[f->vector] ? exception_names[f->vector] : "exception", f);
}
