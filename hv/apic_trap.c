/* The guest's INIT and SIPI: see apic_trap.h and docs/events.md. */
#include "apic_trap.h"
#include "arch/x86_64/cpu.h"
#include "core/mmio_emul.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "platform/apic_icr.h"

#define MSR_APIC_BASE     0x1bu
#define APIC_BASE_EXTD    BIT(10) /* x2APIC mode */
#define APIC_BASE_EN      BIT(11)
#define APIC_BASE_ADDR(v) ((v)&0xffffffffff000ull)
#define APIC_PAGE         0x1000u

static gpa_t apic_page; /* guest-physical = host-physical: the page is the real APIC's, never moved */
static u64 refused, resets;

void apic_trap_map(struct vm *vm)
{
    u64 base = rdmsr(MSR_APIC_BASE);

    apic_page = APIC_BASE_ADDR(base);
    if (!vm_npt_unmap(vm, apic_page, APIC_PAGE)) {
        LOG("apic: the local APIC page 0x%llx could not leave the nested map: the xAPIC ICR is not trapped",
            (unsigned long long)apic_page);
        apic_page = 0;
        return;
    }
    LOG("apic: local APIC page 0x%llx trapped (its ICR: INIT and SIPI mediated, every other access done on the "
        "real APIC)",
        (unsigned long long)apic_page);
}

void apic_trap_attach_vcpu(struct vcpu *v)
{
    vcpu_ops->set_msr_intercept(v, MSR_X2APIC_ICR, false, true);
    vcpu_ops->set_msr_intercept(v, MSR_APIC_BASE, false, true);
}

u64 apic_trap_refused(void) { return refused; }

/* The verdict carried out; false when the guest stopped. */
static bool judge(struct vcpu *v, u64 icr, bool x2apic, u64 rip)
{
    static char reason[96];
    char what[64];

    switch (apic_icr_check(icr, x2apic, v->pcpu)) {
    case ICR_PASS:
        if (x2apic)
            wrmsr(MSR_X2APIC_ICR, icr);
        else
            *(volatile u32 *)phys_to_virt(apic_page + APIC_ICR_LOW) = (u32)icr;
        return true;
    case ICR_RESET_SELF:
        resets++;
        apic_icr_describe(icr, x2apic, what, sizeof(what));
        LOG("apic: guest %s through the %s ICR at rip 0x%llx: its own core, a reset request", what,
            x2apic ? "x2APIC" : "xAPIC", (unsigned long long)rip);
        fmt_snprintf(reason, sizeof(reason), "guest requested a reset (INIT to its own core, %s ICR)",
                     x2apic ? "x2APIC" : "xAPIC");
        vcpu_stop(v, reason);
        return false;
    case ICR_REFUSE:
    default:
        LOG_RATELIMITED(refused, 32,
                        "apic: SUSPICIOUS guest %s through the %s ICR at rip 0x%llx (cpl %u): refused, the guest has "
                        "one CPU and the others are the hypervisor's (%llu so far)",
                        apic_icr_describe(icr, x2apic, what, sizeof(what)), x2apic ? "x2APIC" : "xAPIC",
                        (unsigned long long)rip, vcpu_ops->cpl(v), (unsigned long long)refused);
        return true;
    }
}

bool apic_trap_icr_msr(struct vcpu *v, u64 value)
{
    /* Outside x2APIC mode the MSR faults, as on hardware (and the host's WRMSR would too). */
    if ((rdmsr(MSR_APIC_BASE) & (APIC_BASE_EXTD | APIC_BASE_EN)) != (APIC_BASE_EXTD | APIC_BASE_EN)) {
        static u64 faulted;
        LOG_RATELIMITED(faulted, 16,
                        "apic: guest x2APIC ICR write 0x%llx at rip 0x%llx with its APIC in xAPIC mode: #GP",
                        (unsigned long long)value, (unsigned long long)v->regs[REG_RIP]);
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return false;
    }
    return judge(v, value, true, v->regs[REG_RIP]) || v->state == VCPU_RUNNING;
}

bool apic_trap_nested_fault(struct vcpu *v, gpa_t gpa, bool write)
{
    static u64 bad;
    struct mmio_insn insn;
    const char *why = NULL;
    u32 off = (u32)(gpa - apic_page);
    volatile u32 *reg;
    u64 rip = v->regs[REG_RIP];
    u64 value;

    if (!apic_page || gpa < apic_page || off >= APIC_PAGE)
        return false;
    /* APIC registers are 32 bits wide at 16-byte offsets; Linux reads and writes them with MOVs. */
    reg = (volatile u32 *)phys_to_virt(apic_page + (off & ~3u));
    if (!mmio_complete(v, write, write ? 0 : (u64)(*reg >> (8 * (off & 3))), &insn, &why)) {
        LOG_RATELIMITED(bad, 8, "apic: guest access to APIC+0x%x at rip 0x%llx not completed (%s): #GP injected", off,
                        (unsigned long long)rip, why ? why : "?");
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return true;
    }
    if (!write)
        return true;
    value = insn.has_imm ? insn.imm : insn_mmio_write_value(&insn, v->regs);
    if ((off & ~3u) == APIC_ICR_LOW) {
        u64 icr = (u32)value | ((u64) * (volatile u32 *)phys_to_virt(apic_page + APIC_ICR_HIGH) << 32);
        judge(v, icr, false, rip);
        return true;
    }
    *reg = (u32)value;
    return true;
}
