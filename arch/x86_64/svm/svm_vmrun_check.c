/*
 * AMD APM Vol. 2 §15.5.1: VMRUN exits with VMEXIT_INVALID when the guest state is illegal. The list
 * below is the manual's, in its order, plus the EVENTINJ rule of §15.20. The hypervisor runs it
 * only after a refusal, to say which field failed; the CPU's own checks are what count.
 */
#include "arch/x86_64/svm/svm_vmrun_check.h"
#include "lib/lib.h"
#include "lib/log.h"

#define EFER_LME  BIT(8)
#define EFER_LMA  BIT(10)
#define EFER_SVME BIT(12)
#define CR0_PE    BIT(0)
#define CR0_NW    BIT(29)
#define CR0_CD    BIT(30)
#define CR0_PG    BIT(31)
#define CR4_PAE   BIT(5)
#define SEG_L     BIT(9) /* VMCB segment attrib: bits 8-11 are the descriptor's 52-55 (AVL, L, D, G) */
#define SEG_D     BIT(10)

#define fail(buf, size, ...) (fmt_snprintf((buf), (size), __VA_ARGS__), (const char *)(buf))
#define U(x)                 ((unsigned long long)(x))

const char *svm_vmrun_check(const struct vmcb *vmcb, const struct svm_check_env *env, char *buf, size_t size)
{
    const struct vmcb_save *s = &vmcb->save;
    const struct vmcb_control *c = &vmcb->control;
    u64 efer = s->efer;
    bool paging_long = (efer & EFER_LME) && (s->cr0 & CR0_PG);
    u64 ev = c->event_inj;

    if (!(efer & EFER_SVME))
        return fail(buf, size, "EFER 0x%llx: SVME (bit 12) is clear", U(efer));
    if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
        return fail(buf, size, "CR0 0x%llx: NW set with CD clear", U(s->cr0));
    if (s->cr0 >> 32)
        return fail(buf, size, "CR0 0x%llx: bits 63:32 are not zero", U(s->cr0));
    if ((efer & EFER_LMA) && env->phys_bits < 64 && (s->cr3 >> env->phys_bits))
        return fail(buf, size, "CR3 0x%llx: bits above the physical-address width (%llu) set", U(s->cr3),
                    U(env->phys_bits));
    if (s->cr4 & env->cr4_reserved)
        return fail(buf, size, "CR4 0x%llx: reserved bits 0x%llx set (reserved here: not offered by this CPU's CPUID)",
                    U(s->cr4), U(s->cr4 & env->cr4_reserved));
    if (s->dr6 >> 32)
        return fail(buf, size, "DR6 0x%llx: bits 63:32 are not zero", U(s->dr6));
    if (s->dr7 >> 32)
        return fail(buf, size, "DR7 0x%llx: bits 63:32 are not zero", U(s->dr7));
    if (efer & ~env->efer_allowed)
        return fail(buf, size, "EFER 0x%llx: reserved bits 0x%llx set", U(efer), U(efer & ~env->efer_allowed));
    if ((efer & (EFER_LME | EFER_LMA)) && !env->long_mode)
        return fail(buf, size, "EFER 0x%llx: LME/LMA set on a CPU without long mode", U(efer));
    if (paging_long && !(s->cr4 & CR4_PAE))
        return fail(buf, size, "EFER.LME and CR0.PG set with CR4.PAE clear (CR4 0x%llx, CR0 0x%llx)", U(s->cr4),
                    U(s->cr0));
    if (paging_long && !(s->cr0 & CR0_PE))
        return fail(buf, size, "EFER.LME and CR0.PG set with CR0.PE clear (CR0 0x%llx)", U(s->cr0));
    if (paging_long && (s->cr4 & CR4_PAE) && (s->cs.attrib & SEG_L) && (s->cs.attrib & SEG_D))
        return fail(buf, size, "CS attrib 0x%llx: L and D both set in long mode", U(s->cs.attrib));
    if (!(c->intercept_misc2 & BIT(0)))
        return fail(buf, size, "the VMRUN intercept is clear (control 0x%llx)", U(c->intercept_misc2));
    if (env->phys_bits < 64 && (c->msrpm_base_pa >> env->phys_bits))
        return fail(buf, size, "MSRPM_BASE_PA 0x%llx beyond the physical-address width", U(c->msrpm_base_pa));
    if (env->phys_bits < 64 && (c->iopm_base_pa >> env->phys_bits))
        return fail(buf, size, "IOPM_BASE_PA 0x%llx beyond the physical-address width", U(c->iopm_base_pa));
    if (c->guest_asid == 0)
        return fail(buf, size, "ASID %llu: 0 is the host's", U(c->guest_asid));
    if (ev & BIT(31)) {
        u64 type = (ev >> 8) & 7, vec = ev & 0xff;
        if (type == 1 || type > 4)
            return fail(buf, size, "EVENTINJ 0x%llx: reserved type %llu", U(ev), U(type));
        if (type == 3 && (vec == 2 || vec > 31))
            return fail(buf, size, "EVENTINJ 0x%llx: exception type with vector %llu (APM 15.20)", U(ev), U(vec));
    }
    return NULL;
}
