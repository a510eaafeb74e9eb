/*
 * The guest's CR4 on SVM, and what VMRUN refused.
 *
 * CR4 writes are intercepted (AMD APM Vol. 2 §15.9, exit 14h) so every bit the guest sets is checked
 * against the CPUID policy it was shown (hv/exits.c exit_cr4_check): a bit whose feature it is not
 * shown faults as on a CPU without it. Without the intercept the guest's MOV would reach the CPU's
 * own check, which on QEMU 7.2's TCG is not the guest's CPUID (docs/events.md "CPU models").
 * QEMU gives no decode assist (EXITINFO1 bit 63), so the MOV is decoded here: 0F 22 /r, REX in
 * 64-bit mode.
 *
 * When VMRUN refuses the guest state (VMEXIT_INVALID) the report names the field: the checks of
 * §15.5.1 are redone (svm_vmrun_check.c); if none fails, the fields changed since the last state
 * the CPU accepted are named instead, with the guest instruction that changed CR4.
 */
#include "arch/x86_64/svm/svm.h"
#include "arch/x86_64/svm/svm_vmrun_check.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "core/cpuid_policy.h"
#include "core/guest_access.h"
#include "core/gva.h"
#include "exits.h"
#include "lib/lib.h"
#include "lib/log.h"

#define CR4_PAGING_BITS (BIT(4) | BIT(5) | BIT(7) | BIT(12) | BIT(17) | BIT(20) | BIT(21) | BIT(22))
#define SEG_ATTR_L      BIT(9)

/* MOV CR4, reg at RIP: the register number and the instruction length, or false. */
static bool decode_mov_to_cr4(struct vcpu *v, int *gpr, unsigned *len)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;
    bool long64 = (vmcb->save.efer & EFER_LMA) && (vmcb->save.cs.attrib & SEG_ATTR_L);
    u32 access = GVA_FETCH | (vmcb->save.cpl == 3 ? GVA_USER : GVA_SUPERVISOR);
    u8 b[8];
    unsigned i = 0, rex = 0, modrm;

    if (!guest_read_virt(v, v->regs[REG_RIP], b, sizeof(b), access) &&
        !guest_read_virt(v, v->regs[REG_RIP], b, 4, access))
        return false;
    while (i < 4 && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0x2e || b[i] == 0x3e || b[i] == 0x26 || b[i] == 0x36 ||
                     b[i] == 0x64 || b[i] == 0x65 || b[i] == 0xf2 || b[i] == 0xf3))
        i++;
    if (long64 && (b[i] & 0xf0) == 0x40)
        rex = b[i++];
    if (i + 3 > sizeof(b) || b[i] != 0x0f || b[i + 1] != 0x22)
        return false;
    modrm = b[i + 2];
    if ((((modrm >> 3) & 7) | ((rex & 4) << 1)) != 4)
        return false;
    *gpr = (int)((modrm & 7) | ((rex & 1) << 3));
    *len = i + 3;
    return true;
}

void svm_on_cr4_write(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);
    struct vmcb *vmcb = s->vmcb;
    bool long64 = (vmcb->save.efer & EFER_LMA) && (vmcb->save.cs.attrib & SEG_ATTR_L);
    int gpr;
    unsigned len;
    u64 old = vmcb->save.cr4, value;

    if (!decode_mov_to_cr4(v, &gpr, &len)) {
        exit_unexpected(v, "CR4 write: no MOV to CR4 at the guest's RIP", vmcb->control.exit_code,
                        vmcb->control.exit_info1, 0);
        return;
    }
    value = long64 ? v->regs[gpr] : (u32)v->regs[gpr];
    if (!exit_cr4_check(v, old, value))
        return;
    vmcb->save.cr4 = value;
    /* A native MOV to CR4 flushes the TLB when a paging bit changes (PGE toggling is Linux's global
     * flush without INVPCID); done by VMRUN's flush here. */
    if ((old ^ value) & CR4_PAGING_BITS)
        vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
    if (old != value) {
        s->cr4_write_rip = v->regs[REG_RIP];
        s->cr4_write_old = old;
    }
    svm_skip_insn(v, len);
}

/* Before every VMRUN: a few fields, a few stores. */
void svm_note_entry(struct svm_vcpu *s)
{
    const struct vmcb *vmcb = s->vmcb;
    s->entry = (struct svm_entry_state){ vmcb->save.cr0,          vmcb->save.cr3,      vmcb->save.cr4, vmcb->save.efer,
                                         vmcb->save.dr6,          vmcb->save.dr7,      vmcb->save.rip, vmcb->save.rsp,
                                         vmcb->control.event_inj, vmcb->save.cs.attrib };
}

/* After every exit but VMEXIT_INVALID: the state the CPU last accepted. */
void svm_note_accepted(struct svm_vcpu *s)
{
    s->ok_cr0 = s->vmcb->save.cr0;
    s->ok_cr4 = s->vmcb->save.cr4;
    s->ok_efer = s->vmcb->save.efer;
}

static const char *cr4_bit_names(u64 bits, char *buf, size_t size)
{
    static const char *const names[25] = { "VME",  "PVI",   "TSD",      "DE",         "PSE",     "PAE",  "MCE",
                                           "PGE",  "PCE",   "OSFXSR",   "OSXMMEXCPT", "UMIP",    "LA57", "VMXE",
                                           "SMXE", "bit15", "FSGSBASE", "PCIDE",      "OSXSAVE", "KL",   "SMEP",
                                           "SMAP", "PKE",   "CET",      "PKS" };
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < 64 && n + 16 < size; i++)
        if (bits & BIT(i))
            n += (size_t)fmt_snprintf(buf + n, size - n, "%s%s", n ? "," : "", i < 25 ? names[i] : "reserved");
    return n ? buf : "none";
}

void svm_vmrun_refused(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);
    struct vmcb *vmcb = s->vmcb;
    struct cpuid_regs ext1 = cpuid(0x80000001u, 0);
    struct svm_check_env env = {
        .cr4_reserved = cpuid_policy_cr4_reserved(&guest_cpuid),
        .phys_bits = cpuid(0x80000000u, 0).eax >= 0x80000008u ? (cpuid(0x80000008u, 0).eax & 0xff) : 36,
        .long_mode = ext1.edx & BIT(29),
        .efer_allowed = EFER_SCE | EFER_LME | EFER_LMA | EFER_SVME | BIT(13) | ((ext1.edx & BIT(20)) ? EFER_NXE : 0) |
                        ((ext1.edx & BIT(25)) ? BIT(14) : 0) | ((ext1.ecx & BIT(17)) ? BIT(15) : 0),
    };
    char why[160], set[96], clr[96];
    const char *field;
    u64 cr4 = s->entry.cr4;

    /* QEMU 7.2's TCG writes its own (the host's) registers into the guest-state area when VMRUN's
     * checks fail (docs/events.md): the state this VMRUN was given is put back first. */
    vmcb->save.cr0 = s->entry.cr0;
    vmcb->save.cr3 = s->entry.cr3;
    vmcb->save.cr4 = s->entry.cr4;
    vmcb->save.efer = s->entry.efer;
    vmcb->save.dr6 = s->entry.dr6;
    vmcb->save.dr7 = s->entry.dr7;
    vmcb->save.rip = v->regs[REG_RIP] = s->entry.rip;
    vmcb->save.rsp = v->regs[REG_RSP] = s->entry.rsp;
    vmcb->save.cs.attrib = s->entry.cs_attrib;
    vmcb->control.event_inj = s->entry.event_inj;
    field = svm_vmrun_check(vmcb, &env, why, sizeof(why));

    if (field) {
        LOG("svm: VMRUN refused the guest state (VMEXIT_INVALID): %s", field);
    } else if (cr4 != s->ok_cr4) {
        LOG("svm: VMRUN refused the guest state (VMEXIT_INVALID): CR4 0x%llx -> 0x%llx (set %s, cleared %s) by the "
            "guest's MOV to CR4 at rip 0x%llx; every bit is offered by this CPU's CPUID and no check of AMD APM Vol. 2 "
            "15.5.1 fails: the CPU refuses a CR4 its CPUID allows",
            (unsigned long long)s->ok_cr4, (unsigned long long)cr4, cr4_bit_names(cr4 & ~s->ok_cr4, set, sizeof(set)),
            cr4_bit_names(s->ok_cr4 & ~cr4, clr, sizeof(clr)), (unsigned long long)s->cr4_write_rip);
    } else {
        LOG("svm: VMRUN refused the guest state (VMEXIT_INVALID): no check of AMD APM Vol. 2 15.5.1 fails; CR0 "
            "0x%llx (accepted 0x%llx), EFER 0x%llx (accepted 0x%llx), EVENTINJ 0x%llx",
            (unsigned long long)vmcb->save.cr0, (unsigned long long)s->ok_cr0, (unsigned long long)vmcb->save.efer,
            (unsigned long long)s->ok_efer, (unsigned long long)vmcb->control.event_inj);
    }
    exit_unexpected(v, "VMRUN refused the guest state (VMEXIT_INVALID)", vmcb->control.exit_code, 0, 0);
}
