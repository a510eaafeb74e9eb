/*
 * AMD SVM bring-up and the guest VMCB (AMD APM Vol. 2 §15). The steps follow the manual's order:
 * detect (§15.4), enable (EFER.SVME, VM_HSAVE_PA), build the VMCB with its intercepts (§15.9-15.13),
 * nested paging (§15.25), then VMRUN (svm_world_switch.asm, the exit table in svm_exit.c).
 */
#include "arch/x86_64/svm/svm.h"
#include "arch/x86_64/svm/svm_erratum383.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/host_cpu.h"
#include "arch/x86_64/traps.h"
#include "lib/platform_report.h"
#include "lib/page_alloc.h"
#include "core/guest_mem.h"
#include "core/msr_policy.h"
#include "core/npt.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "exits.h"

#define CPUID_SVM_FEATURES  0x8000000a
#define SVM_FEAT_NP         BIT(0)
#define SVM_FEAT_NRIPS      BIT(3)
#define SVM_FEAT_VMCB_CLEAN BIT(5)
#define SVM_FEAT_FLUSH_ASID BIT(6)
#define SVM_FEAT_VGIF       BIT(16)
#define CPUID_EXT1_ECX_SVM  BIT(2)
#define VM_CR_SVMDIS        BIT(4)

#define GUEST_ASID 1

struct virt_caps svm_caps;
int svm_wait_for_event(struct vcpu *v, bool (*line_ready)(void));
static void svm_set_idle_intercepts(struct vcpu *v, bool on);

/* Erratum 383's fallback: the x86 format without 2 MiB leaves. */
static struct npt_format npt_format_x86_4k;
static bool erratum383_small_pages;

/* 1 GiB leaves where the CPU has 1 GiB pages (nested walks use the host's paging features); only
 * 4 KiB ones where erratum 383 cannot be worked around. */
static const struct npt_format *svm_nested_format(void)
{
    if (!erratum383_small_pages)
        return host_cpu_has_1g_pages() ? &npt_format_x86_1g : &npt_format_x86;
    npt_format_x86_4k = npt_format_x86;
    npt_format_x86_4k.large_pages = false;
    return &npt_format_x86_4k;
}

/* AMD family 10h erratum 383 (svm_erratum383.h): KVM's MSR workaround, DC_CFG bit 47. It is checked
 * by reading the MSR back (QEMU's TCG, for one, drops writes to MSRs it does not model); where it
 * does not stick, every nested page is 4 KiB, which the erratum cannot hit. */
static void erratum383_apply(void)
{
    bool osvw = cpuid(0x80000001u, 0).ecx & BIT(9);
    u64 len = osvw ? rdmsr(MSR_OSVW_ID_LENGTH) : 0;
    u64 status = osvw && len > ERRATUM383_OSVW_ID ? rdmsr(MSR_OSVW_STATUS) : 0;

    if (!erratum383_affected(cpuid(1, 0).eax, osvw, len, status))
        return;
    wrmsr(MSR_AMD64_DC_CFG, rdmsr(MSR_AMD64_DC_CFG) | DC_CFG_ERRATUM383_WA);
    if (rdmsr(MSR_AMD64_DC_CFG) & DC_CFG_ERRATUM383_WA) {
        exits_dc_cfg_guarded = true;
        LOG("svm: family 10h erratum 383: DC_CFG bit 47 set (KVM's workaround); guest writes to DC_CFG keep it");
    } else {
        erratum383_small_pages = true;
        LOG("svm: family 10h erratum 383: DC_CFG bit 47 does not stick (read back 0x%llx): 4 KiB nested pages only",
            (unsigned long long)rdmsr(MSR_AMD64_DC_CFG));
    }
}


static bool svm_probe(struct virt_caps *caps, char *why, size_t why_size)
{
    struct cpuid_regs r;

    memset(caps, 0, sizeof(*caps));
    cpu_vendor(caps->vendor);
    if (strcmp(caps->vendor, "AuthenticAMD") && strcmp(caps->vendor, "HygonGenuine")) {
        fmt_snprintf(why, why_size, "CPU vendor %s: the SVM backend needs AMD SVM", caps->vendor);
        return false;
    }
    if (cpuid(0x80000000, 0).eax < CPUID_SVM_FEATURES || !(cpuid(0x80000001, 0).ecx & CPUID_EXT1_ECX_SVM)) {
        fmt_snprintf(why, why_size, "this CPU has no AMD SVM (CPUID 8000_0001h ECX.SVM = 0)");
        return false;
    }
    /* §15.4: SVMDIS set means firmware disabled SVM (and usually locked it). */
    if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
        fmt_snprintf(why, why_size,
                     "SVM is disabled by firmware (VM_CR.SVMDIS = 1): enable SVM/virtualization in the firmware setup");
        return false;
    }
    r = cpuid(CPUID_SVM_FEATURES, 0);
    caps->svm = true;
    caps->asid_count = r.ebx;
    caps->nested_paging = r.edx & SVM_FEAT_NP;
    caps->nrip_save = r.edx & SVM_FEAT_NRIPS;
    caps->vmcb_clean = r.edx & SVM_FEAT_VMCB_CLEAN;
    caps->flush_by_asid = r.edx & SVM_FEAT_FLUSH_ASID;
    caps->vgif = r.edx & SVM_FEAT_VGIF;
    if (!caps->nested_paging) {
        fmt_snprintf(why, why_size, "this CPU's SVM has no nested paging (CPUID 8000_000Ah EDX.NP = 0)");
        return false;
    }
    if (caps->asid_count < 3) {
        fmt_snprintf(why, why_size, "SVM reports %u ASIDs; at least 3 are needed (host, two guest views)",
                     caps->asid_count);
        return false;
    }
    return true;
}

/* The platform report's line for SVM: what Postern uses, and what it would use but this CPU lacks. */
static void svm_report_fill(struct report_sink *s, const void *ctx)
{
    const struct virt_caps *c = ctx;
    char used[120], missing[120];
    const struct {
        bool have;
        const char *name;
    } f[] = { { c->nrip_save, "nrip-save" }, { c->vmcb_clean, "vmcb-clean" }, { c->flush_by_asid, "flush-by-asid" } };
    size_t nu, nm;

    nu = (size_t)fmt_snprintf(used, sizeof(used), "nested paging, %u ASIDs%s", c->asid_count, npt_x86_nx ? ", NX" : "");
    missing[0] = 0;
    nm = 0;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].have && nu < sizeof(used))
            nu += (size_t)fmt_snprintf(used + nu, sizeof(used) - nu, ", %s", f[i].name);
        else if (!f[i].have && nm < sizeof(missing))
            nm += (size_t)fmt_snprintf(missing + nm, sizeof(missing) - nm, "%s%s", nm ? ", " : "", f[i].name);
    }
    report_line(s, "SVM used: %s; missing: %s", used, nm ? missing : "nothing");
}

static bool svm_enable(char *why, size_t why_size)
{
    hpa_t hsave;

    if (!svm_probe(&svm_caps, why, why_size))
        return false;
    /* §15.30.4: the host save area VMRUN writes the host state to. */
    hsave = page_alloc(&hv_pages, 1, 1);
    if (!hsave) {
        fmt_snprintf(why, why_size, "out of hypervisor memory for the SVM host save area");
        return false;
    }
    /* EFER.NXE in the host makes the NX bit of nested page-table entries mean no-execute (APM
     * §15.25.5: nested walks use the host's EFER); without NX the bit is reserved and the border
     * cannot be enforced by execute permissions (hv/guard/border_views.h). */
    if (cpu_has_nx()) {
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME | EFER_NXE);
        npt_x86_nx = true;
    } else {
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    }
    wrmsr(MSR_VM_HSAVE_PA, hsave);
    erratum383_apply();
    LOG("svm: enabled; nested paging, %u ASIDs, nrip-save %s, vmcb-clean %s, flush-by-asid %s", svm_caps.asid_count,
        svm_caps.nrip_save ? "yes" : "no", svm_caps.vmcb_clean ? "yes" : "no", svm_caps.flush_by_asid ? "yes" : "no");
    platform_report_add(REPORT_CPU, svm_report_fill, &svm_caps);
    return true;
}

/* ---- I/O and MSR permission maps (§15.10, §15.11) ---- */

static void svm_set_io_intercept(struct vcpu *v, u16 port, bool on)
{
    u8 *iopm = to_svm(v)->iopm;
    if (on)
        iopm[port / 8] |= (u8)(1u << (port % 8));
    else
        iopm[port / 8] &= (u8) ~(1u << (port % 8));
}

/* Two bits per MSR (read, write) in three 2 KiB blocks covering 0000_0000h-0000_1FFFh,
 * C000_0000h-C000_1FFFh and C001_0000h-C001_1FFFh. MSRs outside them always exit. */
static void svm_set_msr_intercept(struct vcpu *v, u32 msr, bool read, bool write)
{
    u32 base;
    u32 bit;
    u8 *map = to_svm(v)->msrpm;

    if (msr <= 0x1fff)
        base = 0;
    else if (msr - 0xc0000000u <= 0x1fff)
        base = 0x800, msr -= 0xc0000000u;
    else if (msr - 0xc0010000u <= 0x1fff)
        base = 0x1000, msr -= 0xc0010000u;
    else
        return;
    bit = msr * 2;
    map += base + bit / 8;
    bit %= 8;
    *map = (u8)((*map & ~(3u << bit)) | ((read ? 1u : 0u) << bit) | ((write ? 2u : 0u) << bit));
}

static void svm_msr_policy_set(void *v, u32 msr, bool read, bool write) { svm_set_msr_intercept(v, msr, read, write); }

static void seg(struct vmcb_segment *s, u16 sel, u16 attrib, u32 limit, u64 base)
{
    s->selector = sel;
    s->attrib = attrib;
    s->limit = limit;
    s->base = base;
}

static bool svm_create(struct vcpu *v, const struct guest_entry *e, hpa_t nested_root, char *why, size_t why_size)
{
    static struct svm_vcpu svm_vcpu0; /* one vCPU for now */
    struct svm_vcpu *s = &svm_vcpu0;
    struct vmcb *vmcb;
    hpa_t iopm, msrpm;

    s->vmcb_pa = page_alloc(&hv_pages, 1, 1);
    iopm = page_alloc(&hv_pages, IOPM_SIZE / PAGE_SIZE, 1);
    msrpm = page_alloc(&hv_pages, MSRPM_SIZE / PAGE_SIZE, 1);
    if (!s->vmcb_pa || !iopm || !msrpm) {
        fmt_snprintf(why, why_size, "out of hypervisor memory for the VMCB and permission maps");
        return false;
    }
    s->vmcb = vmcb = phys_to_virt(s->vmcb_pa);
    s->iopm = phys_to_virt(iopm);
    s->msrpm = phys_to_virt(msrpm);
    s->nrip_save = svm_caps.nrip_save;
    s->exits.count = s->exit_count;
    s->exits.size = SVM_EXIT_TABLE_SIZE;
    v->arch = s;

    /* Intercepts (§15.9-15.13). Everything not listed runs natively: the guest owns its core,
     * interrupts and devices (passthrough), and the hypervisor steps in only where it must. */
    vmcb->control.intercept_misc1 = INTERCEPT_CPUID | INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN |
                                    INTERCEPT_INVLPGA | INTERCEPT_INVD | INTERCEPT_NMI | INTERCEPT_INIT;
    /* VMRUN must be intercepted (§15.5.1); the other SVM instructions would let the guest
     * touch host state, so they fault with #UD as on a CPU without SVM. */
    vmcb->control.intercept_misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |
                                    INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT;
    /* INVD would throw away dirty lines of the VMCB, the nested and IOMMU tables: done as WBINVD
     * (hv/exits.c). WBINVD too, only because QEMU 7.2's TCG checks INVD against the WBINVD
     * intercept (docs/events.md); a guest WBINVD is rare and done as it asks. */
    vmcb->control.intercept_misc2 |= INTERCEPT_WBINVD;
    /* CR4 and XCR0 writes are checked against the CPUID the guest is shown (svm_cr.c, exits.c). */
    vmcb->control.intercept_cr_write = INTERCEPT_CR_WRITE(4);
    vmcb->control.intercept_misc2 |= INTERCEPT_XSETBV;
    /* HLT, MONITOR and MWAIT exit; only a guarded module holding `idle` runs them natively
     * (svm_set_idle_intercepts, docs/idle.md). The guest sees MONITOR/MWAIT in CPUID. */
    svm_set_idle_intercepts(v, true);
    vmcb->control.intercept_exceptions = ALWAYS_INTERCEPTED_EXCEPTIONS; /* #MC: reported first */
    vmcb->control.iopm_base_pa = iopm;
    vmcb->control.msrpm_base_pa = msrpm;
    vmcb->control.guest_asid = GUEST_ASID;
    vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
    vmcb->control.np_enable = NP_ENABLE;
    vmcb->control.n_cr3 = nested_root;

    /* The MSRs the policy emulates or refuses exit (hv/core/msr_policy.c, docs/msr.md). */
    msr_policy_for_each_intercept(MSR_AMD, svm_msr_policy_set, v);

    /* Guest start state: Linux's 64-bit boot protocol (long mode, flat segments). */
    seg(&vmcb->save.cs, e->cs_sel, SEG_ATTR_CODE64, 0xffffffff, 0);
    seg(&vmcb->save.ds, e->ds_sel, SEG_ATTR_DATA, 0xffffffff, 0);
    seg(&vmcb->save.es, e->ds_sel, SEG_ATTR_DATA, 0xffffffff, 0);
    seg(&vmcb->save.ss, e->ds_sel, SEG_ATTR_DATA, 0xffffffff, 0);
    seg(&vmcb->save.fs, e->ds_sel, SEG_ATTR_DATA, 0xffffffff, 0);
    seg(&vmcb->save.gs, e->ds_sel, SEG_ATTR_DATA, 0xffffffff, 0);
    seg(&vmcb->save.gdtr, 0, 0, e->gdt_limit, e->gdt_base);
    seg(&vmcb->save.idtr, 0, 0, 0, 0);
    seg(&vmcb->save.tr, 0, SEG_ATTR_TSS64, 0x67, 0);
    seg(&vmcb->save.ldtr, 0, SEG_ATTR_LDT, 0, 0);
    vmcb->save.cpl = 0;
    vmcb->save.efer = e->efer | EFER_SVME; /* VMRUN requires guest EFER.SVME (§15.5.1); RDMSR hides it */
    vmcb->save.cr0 = e->cr0;
    vmcb->save.cr3 = e->cr3;
    vmcb->save.cr4 = e->cr4;
    vmcb->save.dr6 = 0xffff0ff0;
    vmcb->save.dr7 = 0x400;
    vmcb->save.g_pat = 0x0007040600070406ull; /* the power-on PAT */
    v->regs[REG_RIP] = e->rip;
    v->regs[REG_RSP] = e->rsp;
    v->regs[REG_RFLAGS] = e->rflags;
    v->regs[REG_RSI] = e->rsi;
    v->state = VCPU_RUNNING;
    svm_note_accepted(s); /* the start state is the reference until the first VMRUN */
    return true;
}

/* §15.9 (HLT), §15.13 (MONITOR, MWAIT): the instructions that idle the core. Lifted only for a vCPU
 * that has its physical CPU to itself and holds the `idle` privilege (hv/guard/idle.c). Both MWAIT
 * intercepts are set: the armed-only one (bit 12) on its own would let an unarmed MWAIT through. */
static void svm_set_idle_intercepts(struct vcpu *v, bool on)
{
    struct vmcb_control *c = &to_svm(v)->vmcb->control;
    if (on) {
        c->intercept_misc1 |= INTERCEPT_HLT;
        c->intercept_misc2 |= INTERCEPT_MONITOR | INTERCEPT_MWAIT | INTERCEPT_MWAIT_ARMED;
    } else {
        c->intercept_misc1 &= ~(u32)INTERCEPT_HLT;
        c->intercept_misc2 &= ~(u32)(INTERCEPT_MONITOR | INTERCEPT_MWAIT | INTERCEPT_MWAIT_ARMED);
    }
}

/* §15.20: event injection happens at the next VMRUN. */
static void svm_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
    u64 ev = vector | EVENTINJ_TYPE_EXCEPTION | EVENTINJ_VALID;
    if (has_error)
        ev |= EVENTINJ_ERR_VALID | ((u64)error << 32);
    to_svm(v)->vmcb->control.event_inj = ev;
}

static void svm_inject_interrupt(struct vcpu *v, u8 vector)
{
    to_svm(v)->vmcb->control.event_inj = vector | EVENTINJ_TYPE_INTR | EVENTINJ_VALID;
}

static void svm_inject_nmi(struct vcpu *v)
{
    to_svm(v)->vmcb->control.event_inj = 2 | EVENTINJ_TYPE_NMI | EVENTINJ_VALID;
}

static void svm_reinject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2)
{
    if (vector == VEC_PF)
        to_svm(v)->vmcb->save.cr2 = cr2;
    svm_inject_exception(v, vector, has_error, error);
    to_svm(v)->reflected = true; /* svm_exit.c: merged with an interrupted delivery as the CPU would */
}

/*
 * The interrupt and NMI intercepts come from two places: border control's watch (svm_set_watch)
 * and the event path's needs (the NMI tracking's IRET, the window for held and pending events:
 * svm_exit.c). NMIs are always intercepted: every NMI the CPU takes in guest mode then reaches the
 * hypervisor's IDT once GIF is set after #VMEXIT (svm_world_switch.asm), is counted there and
 * injected by the event path, which alone knows when the guest is in its NMI handler
 * (docs/events.md). The host tick adds its INTR intercept or window (svm_tick.c).
 */
void svm_apply_intercepts(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);
    struct vmcb_control *c = &s->vmcb->control;
    u32 watch = s->border_watch;
    u32 misc = c->intercept_misc1 & ~(INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_IRET | INTERCEPT_VINTR);
    u64 window = VINTR_V_IRQ | VINTR_V_INTR_PRIO | VINTR_V_IGN_TPR | VINTR_V_GIF | VINTR_V_GIF_ENABLE;

    if (s->event_need & NMI_TRACK_IRET)
        watch |= WATCH_IRET;
    if (s->event_need & NMI_TRACK_IRQ_WINDOW)
        watch |= WATCH_IRQ_WINDOW;
    misc |= INTERCEPT_NMI;
    if (watch & WATCH_INTERRUPTS)
        misc |= INTERCEPT_INTR;
    if (watch & WATCH_IRET)
        misc |= INTERCEPT_IRET;
    /* The interrupt window: a virtual interrupt nobody will receive (VINTR is intercepted), at the
     * highest priority, so the exit comes at the first instruction boundary with IF=1. QEMU's TCG
     * considers a virtual interrupt only with vGIF on, so vGIF is enabled (GIF set) where offered. */
    c->vintr &= ~window;
    if (watch & WATCH_IRQ_WINDOW) {
        misc |= INTERCEPT_VINTR;
        c->vintr |= VINTR_V_IRQ | VINTR_V_INTR_PRIO | VINTR_V_IGN_TPR;
        if (svm_caps.vgif)
            c->vintr |= VINTR_V_GIF | VINTR_V_GIF_ENABLE;
    }
    u64 vintr = c->vintr;
    svm_tick_intercepts(v, &misc, &vintr);
    c->vintr = vintr;
    c->intercept_misc1 = misc;
    c->intercept_exceptions = ((watch & WATCH_EXCEPTIONS) ? WATCHED_EXCEPTIONS : 0) | ALWAYS_INTERCEPTED_EXCEPTIONS;
}

static void svm_set_watch(struct vcpu *v, u32 watch)
{
    to_svm(v)->border_watch = watch;
    svm_apply_intercepts(v);
}

/* One ASID per view: translations cached for one nested root are never used with the other, so
 * switching is a field write (APM §15.16: the TLB is tagged by ASID). Edits to the tables still
 * flush everything (svm_flush_nested_tlb), which covers both. */
static void svm_set_nested_root(struct vcpu *v, hpa_t root, u32 view)
{
    struct vmcb_control *c = &to_svm(v)->vmcb->control;
    u32 asid = GUEST_ASID + view;
    /* Fewer ASIDs than views (border control refuses registrations past the last: this is only a
     * backstop): the views past the last ASID share it, flushed on every switch. */
    if (asid >= svm_caps.asid_count) {
        asid = svm_caps.asid_count - 1;
        if (c->n_cr3 != root)
            c->tlb_control = TLB_CONTROL_FLUSH_ALL;
    }
    c->n_cr3 = root;
    c->guest_asid = asid;
}

/* ASID 0 is the host's; guest view n runs under ASID GUEST_ASID + n. */
static u32 svm_nested_view_tags(void) { return svm_caps.asid_count - GUEST_ASID; }

static void svm_flush_nested_tlb(struct vcpu *v)
{
    /* Without FlushByAsid (QEMU's TCG) the whole TLB goes; that is also correct on hardware. */
    to_svm(v)->vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
}

static u8 svm_cpl(struct vcpu *v) { return to_svm(v)->vmcb->save.cpl; }

static u64 svm_cr(struct vcpu *v, int n)
{
    struct vmcb_save *s = &to_svm(v)->vmcb->save;
    switch (n) {
    case 0:
        return s->cr0;
    case 2:
        return s->cr2;
    case 3:
        return s->cr3;
    case 4:
        return s->cr4;
    default:
        return 0;
    }
}

static u64 svm_efer(struct vcpu *v) { return to_svm(v)->vmcb->save.efer; }

/* LMA is the CPU's to set (it follows CR0.PG with LME); SVME must stay on for VMRUN. */
static void svm_set_efer(struct vcpu *v, u64 efer)
{
    struct vmcb_save *s = &to_svm(v)->vmcb->save;
    s->efer = (efer & ~EFER_LMA) | (s->efer & EFER_LMA) | EFER_SVME;
}

static void svm_dump(struct vcpu *v)
{
    struct vmcb *vmcb;
    if (!v->arch)
        return;
    vmcb = to_svm(v)->vmcb;
    LOG("  vmcb: exitcode 0x%llx info1 0x%llx info2 0x%llx intinfo 0x%llx", (unsigned long long)vmcb->control.exit_code,
        (unsigned long long)vmcb->control.exit_info1, (unsigned long long)vmcb->control.exit_info2,
        (unsigned long long)vmcb->control.exit_int_info);
    LOG("  cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx cpl %u", (unsigned long long)vmcb->save.cr0,
        (unsigned long long)vmcb->save.cr2, (unsigned long long)vmcb->save.cr3, (unsigned long long)vmcb->save.cr4,
        (unsigned long long)vmcb->save.efer, vmcb->save.cpl);
    LOG("  cs 0x%x/0x%llx ss 0x%x idtr 0x%llx/0x%x gdtr 0x%llx/0x%x", vmcb->save.cs.selector,
        (unsigned long long)vmcb->save.cs.base, vmcb->save.ss.selector, (unsigned long long)vmcb->save.idtr.base,
        vmcb->save.idtr.limit, (unsigned long long)vmcb->save.gdtr.base, vmcb->save.gdtr.limit);
}

const struct vcpu_ops svm_vcpu_ops = {
    .name = "AMD SVM",
    .probe = svm_probe,
    .nested_format = svm_nested_format,
    .enable = svm_enable,
    .create = svm_create,
    .run_once = svm_run_once,
    .skip_insn = svm_skip_insn,
    .set_io_intercept = svm_set_io_intercept,
    .set_msr_intercept = svm_set_msr_intercept,
    .inject_exception = svm_inject_exception,
    .inject_interrupt = svm_inject_interrupt,
    .inject_nmi = svm_inject_nmi,
    .reinject_exception = svm_reinject_exception,
    .set_watch = svm_set_watch,
    .set_idle_intercepts = svm_set_idle_intercepts,
    .set_nested_root = svm_set_nested_root,
    .nested_view_tags = svm_nested_view_tags,
    .flush_nested_tlb = svm_flush_nested_tlb,
    .cpl = svm_cpl,
    .cr = svm_cr,
    .efer = svm_efer,
    .set_efer = svm_set_efer,
    .dump = svm_dump,
    .report_exits = svm_report_exits,
    .wait_for_event = svm_wait_for_event,
    .set_host_tick = svm_set_host_tick,
};

/* The guest halted with IF=1. GIF is set in the hypervisor (svm_world_switch.asm) and RFLAGS.IF
 * holds interrupts back; traps_wait_for_event opens IF just for a HLT (or PAUSE steps, when the
 * line must be watched): the interrupt lands in traps.c, which records its vector without
 * acknowledging it, and the exit path injects it into the guest, whose handler then EOIs the
 * local APIC. */
int svm_wait_for_event(struct vcpu *v, bool (*line_ready)(void))
{
    (void)v;
    return traps_wait_for_event(line_ready);
}
