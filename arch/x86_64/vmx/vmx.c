/*
 * Intel VT-x bring-up and the guest VMCS, in the SDM's order (Vol. 3C): detect and enable VMX
 * (§24.6-24.7: CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, VMXON), the VMCS
 * (§25: controls chosen from the capability MSRs by vmx_caps.c, guest and host state), EPT
 * (§29.3, entries from ept.c through hv/core/npt.c), then VMLAUNCH/VMRESUME (vmx_world_switch.asm,
 * the exit table in vmx_exit.c). The vcpu_ops members match the SVM backend's one for one.
 */
#include "arch/x86_64/vmx/vmx.h"
#include "arch/x86_64/vmx/ept.h"
#include "arch/x86_64/vmx/vmx_bitmaps.h"
#include "arch/x86_64/vmx/vmx_qual.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/host_cpu.h"
#include "arch/x86_64/traps.h"
#include "lib/page_alloc.h"
#include "core/guest_mem.h"
#include "lib/lib.h"
#include "lib/log.h"

#define CPUID1_ECX_VMX   BIT(5)
#define CPUID1_ECX_XSAVE BIT(26)
#define CR4_OSXSAVE      BIT(18)
#define GUEST_VPID       1
/* Preemption-timer units (TSC / 2^IA32_VMX_MISC[4:0]) the IRET watch lets the guest run. */
#define VMX_PREEMPTION_STEP 50
#define INVEPT_ALL_CONTEXT  2
/* Guest interruptibility state (§25.4.2, Table 25-3). */
#define BLOCKING_BY_STI    BIT(0)
#define BLOCKING_BY_MOV_SS BIT(1)

struct vmx_controls vmx_ctl;
static struct vmx_cap_msrs vmx_caps_msrs;
static u32 vmwrite_failures;

static u64 read_msr(u32 msr) { return rdmsr(msr); }

static bool vmx_probe(struct virt_caps *caps, char *why, size_t why_size)
{
    memset(caps, 0, sizeof(*caps));
    cpu_vendor(caps->vendor);
    if (strcmp(caps->vendor, "GenuineIntel")) {
        fmt_snprintf(why, why_size, "CPU vendor %s: the VT-x backend needs an Intel CPU", caps->vendor);
        return false;
    }
    if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX)) {
        fmt_snprintf(why, why_size, "this CPU has no VT-x (CPUID.1:ECX.VMX = 0)");
        return false;
    }
    vmx_read_caps(&vmx_caps_msrs, read_msr);
    /* §24.7: locked without "VMX outside SMX" means the firmware turned VT-x off for good. */
    if ((vmx_caps_msrs.feature_control & FEATURE_CONTROL_LOCK) &&
        !(vmx_caps_msrs.feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
        fmt_snprintf(why, why_size,
                     "VT-x is disabled by firmware (IA32_FEATURE_CONTROL locked with VMX off): enable "
                     "VT-x/virtualization in the firmware setup");
        return false;
    }
    if (VMX_BASIC_REGION_SIZE(vmx_caps_msrs.basic) > PAGE_SIZE) {
        fmt_snprintf(why, why_size, "this CPU's VMCS is larger than a page (IA32_VMX_BASIC 0x%llx)",
                     (unsigned long long)vmx_caps_msrs.basic);
        return false;
    }
    if (!vmx_choose_controls(&vmx_caps_msrs, &vmx_ctl, why, why_size))
        return false;
    caps->vmx = true;
    caps->nested_paging = true;
    caps->vpid = vmx_ctl.vpid;
    caps->unrestricted_guest = vmx_ctl.unrestricted;
    return true;
}

/* ---- VMX instructions with their failure checks ---- */

static bool vmx_insn_ok(u8 failed) { return !failed; }

static bool vmxon(hpa_t region)
{
    u8 failed;
    __asm__ volatile("vmxon %[pa]; setna %[f]" : [f] "=qm"(failed) : [pa] "m"(region) : "cc", "memory");
    return vmx_insn_ok(failed);
}

static bool vmclear(hpa_t vmcs)
{
    u8 failed;
    __asm__ volatile("vmclear %[pa]; setna %[f]" : [f] "=qm"(failed) : [pa] "m"(vmcs) : "cc", "memory");
    return vmx_insn_ok(failed);
}

static bool vmptrld(hpa_t vmcs)
{
    u8 failed;
    __asm__ volatile("vmptrld %[pa]; setna %[f]" : [f] "=qm"(failed) : [pa] "m"(vmcs) : "cc", "memory");
    return vmx_insn_ok(failed);
}

void vmwrite(u32 field, u64 value)
{
    u8 failed;
    __asm__ volatile("vmwrite %[value], %[field]; setna %[f]"
                     : [f] "=qm"(failed)
                     : [field] "r"((u64)field), [value] "rm"(value)
                     : "cc");
    if (failed && vmwrite_failures++ == 0)
        LOG("vmx: VMWRITE of field 0x%x failed (VM-instruction error %u: %s)", field, (u32)vmread(VMCS_INSN_ERROR),
            vmx_insn_error_name((u32)vmread(VMCS_INSN_ERROR)));
}

static void invept_all(void)
{
    struct {
        u64 eptp, reserved;
    } desc = { 0, 0 };
    __asm__ volatile("invept %[desc], %[type]" ::[desc] "m"(desc), [type] "r"((u64)INVEPT_ALL_CONTEXT)
                     : "cc", "memory");
}

static bool vmx_enable(char *why, size_t why_size)
{
    struct virt_caps caps;
    hpa_t region;
    u64 fc;

    if (!vmx_probe(&caps, why, why_size))
        return false;
    /* §24.7: unlocked, set it as firmware would, then lock it. */
    fc = rdmsr(MSR_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK))
        wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
    /* §24.8: CR0 and CR4 obey the fixed bits in VMX operation (CR4.VMXE among them). */
    write_cr0(vmx_cr_fixed(read_cr0(), vmx_caps_msrs.cr0_fixed0, vmx_caps_msrs.cr0_fixed1));
    write_cr4(vmx_cr_fixed(read_cr4() | CR4_VMXE, vmx_caps_msrs.cr4_fixed0, vmx_caps_msrs.cr4_fixed1));
    /* XSETBV always exits (§26.1.2) and the hypervisor executes it for the guest: CR4.OSXSAVE on. */
    if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)
        write_cr4(read_cr4() | CR4_OSXSAVE);
    region = page_alloc(&hv_pages, 1, 1);
    if (!region) {
        fmt_snprintf(why, why_size, "out of hypervisor memory for the VMXON region");
        return false;
    }
    *(u32 *)phys_to_virt(region) = VMX_BASIC_REVISION(vmx_caps_msrs.basic);
    if (!vmxon(region)) {
        fmt_snprintf(why, why_size, "VMXON failed (CR0 0x%llx CR4 0x%llx IA32_FEATURE_CONTROL 0x%llx)",
                     (unsigned long long)read_cr0(), (unsigned long long)read_cr4(),
                     (unsigned long long)rdmsr(MSR_FEATURE_CONTROL));
        return false;
    }
    LOG("vmx: enabled; EPT%s, VPID %s, unrestricted guest %s, monitor trap flag %s, preemption timer %s, "
        "VMFUNC EPTP switching %s (VMCS revision %u)",
        vmx_ctl.ept_1gb   ? " with 1 GiB and 2 MiB pages"
        : vmx_ctl.ept_2mb ? " with 2 MiB pages"
                          : " (4 KiB pages)",
        vmx_ctl.vpid ? "yes" : "no", vmx_ctl.unrestricted ? "yes" : "no", vmx_ctl.mtf ? "yes" : "no",
        vmx_ctl.preemption_timer ? "yes" : "no", vmx_ctl.vmfunc_eptp ? "offered (unused)" : "no",
        VMX_BASIC_REVISION(vmx_caps_msrs.basic));
    return true;
}

/* ---- I/O and MSR bitmaps (§25.6.4, §25.6.9; vmx_bitmaps.c) ---- */

static void vmx_set_io_intercept(struct vcpu *v, u16 port, bool on)
{
    vmx_io_bitmap_set(to_vmx(v)->io_bitmap, port, on);
}

static void vmx_set_msr_intercept(struct vcpu *v, u32 msr, bool read, bool write)
{
    vmx_msr_bitmap_set(to_vmx(v)->msr_bitmap, msr, read, write);
}

/* ---- the VMCS ---- */

static void guest_segment(enum vmcs_seg s, u16 sel, u32 ar, u32 limit, u64 base)
{
    vmwrite(vmcs_guest_sel(s), sel);
    vmwrite(vmcs_guest_ar(s), ar);
    vmwrite(vmcs_guest_limit(s), limit);
    vmwrite(vmcs_guest_base(s), base);
}

static u16 read_sel(int which)
{
    u16 s = 0;
    switch (which) {
    case 0:
        __asm__ volatile("mov %%cs, %0" : "=r"(s));
        break;
    case 1:
        __asm__ volatile("mov %%ss, %0" : "=r"(s));
        break;
    case 2:
        __asm__ volatile("mov %%ds, %0" : "=r"(s));
        break;
    case 3:
        __asm__ volatile("mov %%es, %0" : "=r"(s));
        break;
    case 4:
        __asm__ volatile("mov %%fs, %0" : "=r"(s));
        break;
    default:
        __asm__ volatile("mov %%gs, %0" : "=r"(s));
        break;
    }
    return s & 0xfff8; /* host selectors must have RPL 0 and TI 0 (§26.2.3) */
}

struct PACKED desc_ptr {
    u16 limit;
    u64 base;
};

/* §25.5: the state every VM exit loads. RSP is written by the world switch before each entry. */
static void host_state(void)
{
    struct desc_ptr gdt, idt;

    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt), "=m"(idt));
    vmwrite(VMCS_HOST_CR0, read_cr0());
    vmwrite(VMCS_HOST_CR3, read_cr3());
    vmwrite(VMCS_HOST_CR4, read_cr4());
    vmwrite(VMCS_HOST_CS_SEL, read_sel(0));
    vmwrite(VMCS_HOST_SS_SEL, read_sel(1));
    vmwrite(VMCS_HOST_DS_SEL, read_sel(2));
    vmwrite(VMCS_HOST_ES_SEL, read_sel(3));
    vmwrite(VMCS_HOST_FS_SEL, read_sel(4));
    vmwrite(VMCS_HOST_GS_SEL, read_sel(5));
    vmwrite(VMCS_HOST_TR_SEL, HOST_TR); /* hv_main loaded the hypervisor's GDT and TSS (host_cpu.h) */
    vmwrite(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmwrite(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
    vmwrite(VMCS_HOST_TR_BASE, host_cpu_tss_base());
    vmwrite(VMCS_HOST_GDTR_BASE, gdt.base);
    vmwrite(VMCS_HOST_IDTR_BASE, idt.base);
    vmwrite(VMCS_HOST_SYSENTER_CS, 0);
    vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
    if (vmx_ctl.exit & EXIT_LOAD_PAT)
        vmwrite(VMCS_HOST_PAT, rdmsr(MSR_PAT));
    vmwrite(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_landing);
}

/* Linux's 64-bit boot protocol: long mode, flat __BOOT_CS/__BOOT_DS, paging on. CR0 and CR4 bits
 * the guest may not own (the fixed bits, CR4.VMXE among them) are masked: the guest reads its own
 * values from the shadows and a write changing them exits (vmx_exit.c, on_cr_access). */
static void guest_state(struct vmx_vcpu *x, const struct guest_entry *e)
{
    guest_segment(VMCS_SEG_CS, e->cs_sel, VMX_AR_CODE64, 0xffffffff, 0);
    guest_segment(VMCS_SEG_DS, e->ds_sel, VMX_AR_DATA, 0xffffffff, 0);
    guest_segment(VMCS_SEG_ES, e->ds_sel, VMX_AR_DATA, 0xffffffff, 0);
    guest_segment(VMCS_SEG_SS, e->ds_sel, VMX_AR_DATA, 0xffffffff, 0);
    guest_segment(VMCS_SEG_FS, e->ds_sel, VMX_AR_DATA, 0xffffffff, 0);
    guest_segment(VMCS_SEG_GS, e->ds_sel, VMX_AR_DATA, 0xffffffff, 0);
    guest_segment(VMCS_SEG_LDTR, 0, VMX_AR_UNUSABLE, 0, 0);
    guest_segment(VMCS_SEG_TR, 0, VMX_AR_TSS64, 0x67, 0);
    vmwrite(VMCS_GUEST_GDTR_BASE, e->gdt_base);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, e->gdt_limit);
    vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, 0);
    x->cr0_mask = vmx_cr_mask(vmx_ctl.cr0_fixed0, vmx_ctl.cr0_fixed1);
    x->cr4_mask = vmx_cr_mask(vmx_ctl.cr4_fixed0, vmx_ctl.cr4_fixed1);
    vmwrite(VMCS_CR0_MASK, x->cr0_mask);
    vmwrite(VMCS_CR4_MASK, x->cr4_mask);
    vmwrite(VMCS_CR0_SHADOW, e->cr0);
    vmwrite(VMCS_CR4_SHADOW, e->cr4);
    vmwrite(VMCS_GUEST_CR0, vmx_cr_fixed(e->cr0, vmx_ctl.cr0_fixed0, vmx_ctl.cr0_fixed1));
    vmwrite(VMCS_GUEST_CR4, vmx_cr_fixed(e->cr4, vmx_ctl.cr4_fixed0, vmx_ctl.cr4_fixed1));
    vmwrite(VMCS_GUEST_CR3, e->cr3);
    vmwrite(VMCS_GUEST_EFER, e->efer);
    if (vmx_ctl.entry & ENTRY_LOAD_PAT)
        vmwrite(VMCS_GUEST_PAT, 0x0007040600070406ull); /* the power-on PAT */
    vmwrite(VMCS_GUEST_DR7, 0x400);
    vmwrite(VMCS_GUEST_DEBUGCTL, 0);
    vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_ACTIVITY, 0);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_LINK_POINTER, ~0ull); /* no shadow VMCS (§26.3.1.5) */
}

static void vmx_set_idle_intercepts(struct vcpu *v, bool on);

static bool vmx_create(struct vcpu *v, const struct guest_entry *e, hpa_t nested_root, char *why, size_t why_size)
{
    static struct vmx_vcpu vmx_vcpu0; /* one vCPU for now */
    struct vmx_vcpu *x = &vmx_vcpu0;
    hpa_t io, msr;

    x->vmcs_pa = page_alloc(&hv_pages, 1, 1);
    io = page_alloc(&hv_pages, 2, 1);
    msr = page_alloc(&hv_pages, 1, 1);
    if (!x->vmcs_pa || !io || !msr) {
        fmt_snprintf(why, why_size, "out of hypervisor memory for the VMCS and its bitmaps");
        return false;
    }
    x->io_bitmap = phys_to_virt(io);
    x->msr_bitmap = phys_to_virt(msr);
    x->exits.count = x->exit_count;
    x->exits.size = VMX_EXIT_TABLE_SIZE;
    v->arch = x;
    /* §25.11.3: a VMCS region starts with the revision identifier; VMCLEAR then VMPTRLD make it current. */
    *(u32 *)phys_to_virt(x->vmcs_pa) = VMX_BASIC_REVISION(vmx_caps_msrs.basic);
    if (!vmclear(x->vmcs_pa) || !vmptrld(x->vmcs_pa)) {
        fmt_snprintf(why, why_size, "VMCLEAR/VMPTRLD of the guest VMCS failed");
        return false;
    }

    /* Controls (vmx_caps.c chose them; docs/vmx.md lists them). Everything not intercepted runs
     * natively: interrupts reach the guest's IDT directly (external-interrupt exiting off), as
     * under SVM. Border control switches the rest on per vCPU (vmx_set_watch). */
    vmwrite(VMCS_PIN_CONTROLS, vmx_ctl.pin);
    vmwrite(VMCS_PROC2_CONTROLS, vmx_ctl.proc2);
    vmwrite(VMCS_EXIT_CONTROLS, vmx_ctl.exit);
    vmwrite(VMCS_ENTRY_CONTROLS, vmx_ctl.entry);
    vmwrite(VMCS_EXCEPTION_BITMAP, 0);
    vmwrite(VMCS_PF_ERROR_MASK, 0);
    vmwrite(VMCS_PF_ERROR_MATCH, 0);
    vmwrite(VMCS_CR3_TARGET_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    vmwrite(VMCS_IO_BITMAP_A, io);
    vmwrite(VMCS_IO_BITMAP_B, io + PAGE_SIZE);
    vmwrite(VMCS_MSR_BITMAP, msr);
    vmwrite(VMCS_EPT_POINTER, ept_pointer(nested_root));
    if (vmx_ctl.vpid)
        vmwrite(VMCS_VPID, GUEST_VPID);
    x->idle_intercepts = true;
    x->watch = 0;
    vmx_apply_watch(v); /* writes the processor-based controls */

    /* MSRs that reveal or control VMX: the guest sees VT-x locked off (hv/exits.c), the capability
     * MSRs fault as on a CPU without VMX. EFER as under SVM (the arch-neutral handler). */
    vmx_set_msr_intercept(v, MSR_EFER, true, true);
    vmx_set_msr_intercept(v, MSR_FEATURE_CONTROL, true, true);
    for (u32 m = MSR_VMX_BASIC; m <= MSR_VMX_LAST; m++)
        vmx_set_msr_intercept(v, m, true, true);

    guest_state(x, e);
    host_state();
    v->regs[REG_RIP] = e->rip;
    v->regs[REG_RSP] = e->rsp;
    v->regs[REG_RFLAGS] = e->rflags;
    v->regs[REG_RSI] = e->rsi;
    v->state = VCPU_RUNNING;
    x->launched = false;
    if (vmwrite_failures) {
        fmt_snprintf(why, why_size, "%u VMWRITEs to the guest VMCS failed", vmwrite_failures);
        return false;
    }
    return true;
}

/*
 * The watch (enum vcpu_watch) in VT-x terms. Interrupts: external-interrupt and NMI exiting.
 * Exceptions: the exception bitmap. The interrupt window: interrupt-window exiting.
 *
 * IRET: VT-x has no IRET exit. What border control needs from it is to see the return into an
 * interrupted module; such a return sets RFLAGS.IF (the module ran with IF=1 when interrupted).
 * So while the guest runs with IF=0 (inside the handler), interrupt-window exiting gives an exit
 * at the first instruction where IF=1 again: after the IRET, before the module's next instruction
 * (exit_irq_window checks it, as under SVM after a let-through IRET). The interrupt that caused
 * the border-out is taken by the exit (acknowledge on exit, while interrupts are watched) and
 * injected by the next entry together with the window: its delivery clears IF, so the window's
 * exit is the first instruction with IF=1 after the handler, exactly. While IF=1 and interrupts
 * are not watched (the border-out has happened, the handler has not run yet, or a handler runs
 * with IF=1), the monitor trap flag steps the guest until IF is 0 again (or, on a CPU without
 * it, the VMX-preemption timer gives an exit soon after each entry); arming the window with
 * IF=1 would exit at once, before the handler ran, and loop.
 */
void vmx_apply_watch(struct vcpu *v)
{
    struct vmx_vcpu *x = to_vmx(v);
    u32 watch = x->watch;
    bool if_set = v->regs[REG_RFLAGS] & RFLAGS_IF;
    u32 pin = vmx_ctl.pin, proc = vmx_ctl.proc & ~(u32)(PROC_HLT_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING);
    u32 exit = vmx_ctl.exit;
    /* an event this entry injects goes through an interrupt gate (Linux uses no trap gates),
     * which clears IF as it is delivered (vmx_exit.c) */
    bool injecting = vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID;

    if (watch & WATCH_INTERRUPTS) {
        pin |= PIN_EXTINT_EXITING | PIN_NMI_EXITING;
        exit |= EXIT_ACK_INTR_ON_EXIT;
    }
    if (x->idle_intercepts)
        proc |= PROC_HLT_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING;
    if ((watch & WATCH_IRQ_WINDOW) || ((watch & WATCH_IRET) && (!if_set || injecting)))
        proc |= PROC_INTR_WINDOW_EXITING;
    else if ((watch & WATCH_IRET) && if_set && !(watch & WATCH_INTERRUPTS) && vmx_ctl.mtf)
        proc |= PROC_MONITOR_TRAP_FLAG;
    else if ((watch & WATCH_IRET) && if_set && !(watch & WATCH_INTERRUPTS) && vmx_ctl.preemption_timer) {
        /* Without MTF: an exit soon after entry (vmx_exit.c, on_preemption_timer). Not at once:
         * the pending interrupt must be delivered first, and the timer's exit takes priority
         * over it (measured in Bochs: with 1 the guest never left the module's RIP). */
        pin |= PIN_PREEMPTION_TIMER;
        vmwrite(VMCS_PREEMPTION_TIMER, VMX_PREEMPTION_STEP);
    }
    vmwrite(VMCS_PIN_CONTROLS, pin);
    vmwrite(VMCS_PROC_CONTROLS, proc);
    vmwrite(VMCS_EXIT_CONTROLS, exit);
    /* #UD always: a guest VMMCALL raises it on Intel and is the hypercall (vmx_exit.c, on_exception_nmi);
     * #MC always: reported before the guest gets it (hv/exits.c) */
    vmwrite(VMCS_EXCEPTION_BITMAP,
            ((watch & WATCH_EXCEPTIONS) ? WATCHED_EXCEPTIONS : 0) | BIT(VEC_UD) | ALWAYS_INTERCEPTED_EXCEPTIONS);
}

static void vmx_set_watch(struct vcpu *v, u32 watch)
{
    to_vmx(v)->watch = watch;
    vmx_apply_watch(v);
}

/* HLT, MONITOR and MWAIT exiting (Table 25-6): lifted only for a vCPU with a core of its own that
 * holds `idle` (hv/guard/idle.c). */
static void vmx_set_idle_intercepts(struct vcpu *v, bool on)
{
    to_vmx(v)->idle_intercepts = on;
    vmx_apply_watch(v);
}

/* §26.6: the event is delivered by the next VM entry (the valid bit is cleared at every exit). */
static void vmx_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
    vmwrite(VMCS_ENTRY_INTR_INFO, vmx_intr_info(vector, INTR_TYPE_HW_EXCEPTION, has_error));
    if (has_error)
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
}

static void vmx_inject_interrupt(struct vcpu *v, u8 vector)
{
    vmwrite(VMCS_ENTRY_INTR_INFO, vmx_intr_info(vector, INTR_TYPE_EXTERNAL, false));
}

static void vmx_inject_nmi(struct vcpu *v) { vmwrite(VMCS_ENTRY_INTR_INFO, vmx_intr_info(2, INTR_TYPE_NMI, false)); }

/* An intercepted #PF has not written CR2 (§28.1: the exit qualification holds the address); CR2
 * is not part of the VMCS, so the hardware register, which is the guest's, gets it. */
static void vmx_reinject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2)
{
    if (vector == VEC_PF)
        write_cr2(cr2);
    vmx_inject_exception(v, vector, has_error, error);
    to_vmx(v)->reflected = true; /* vmx_exit.c: merged with an interrupted delivery as the CPU would */
}

/* Each view's EPT root has its own tag in the TLB (translations are tagged by the EPTP's EP4TA,
 * §29.4.1), so switching is one VMCS write and needs no INVEPT. */
static void vmx_set_nested_root(struct vcpu *v, hpa_t root, u32 view) { vmwrite(VMCS_EPT_POINTER, ept_pointer(root)); }
/* (No nested_view_tags: each EPT root is its own tag, so there is no limit on views.) */

static void vmx_flush_nested_tlb(struct vcpu *v) { invept_all(); }

/* §25.4.1: SS.DPL is the CPL. */
static u8 vmx_cpl(struct vcpu *v) { return (u8)((vmread(vmcs_guest_ar(VMCS_SEG_SS)) >> 5) & 3); }

/* The guest's view: masked bits from the read shadow, the rest from the register. */
static u64 vmx_cr(struct vcpu *v, int n)
{
    struct vmx_vcpu *x = to_vmx(v);
    switch (n) {
    case 0:
        return (vmread(VMCS_GUEST_CR0) & ~x->cr0_mask) | (vmread(VMCS_CR0_SHADOW) & x->cr0_mask);
    case 2:
        return read_cr2();
    case 3:
        return vmread(VMCS_GUEST_CR3);
    case 4:
        return (vmread(VMCS_GUEST_CR4) & ~x->cr4_mask) | (vmread(VMCS_CR4_SHADOW) & x->cr4_mask);
    default:
        return 0;
    }
}

static u64 vmx_efer(struct vcpu *v) { return vmread(VMCS_GUEST_EFER); }

/* LMA is the CPU's (and the "IA-32e mode guest" entry control must match it, §26.3.1.1); SVME is
 * AMD's bit, reserved on Intel. */
static void vmx_set_efer(struct vcpu *v, u64 efer)
{
    u64 cur = vmread(VMCS_GUEST_EFER);
    vmwrite(VMCS_GUEST_EFER, (efer & ~(EFER_LMA | EFER_SVME)) | (cur & EFER_LMA));
}

static void vmx_dump(struct vcpu *v)
{
    if (!v->arch)
        return;
    LOG("  vmcs: exit reason 0x%llx qualification 0x%llx guest-physical 0x%llx intr-info 0x%llx idt-vectoring 0x%llx",
        (unsigned long long)vmread(VMCS_EXIT_REASON), (unsigned long long)vmread(VMCS_EXIT_QUALIFICATION),
        (unsigned long long)vmread(VMCS_GUEST_PHYSICAL_ADDRESS), (unsigned long long)vmread(VMCS_EXIT_INTR_INFO),
        (unsigned long long)vmread(VMCS_IDT_VECTORING_INFO));
    LOG("  cr0 0x%llx (shadow 0x%llx) cr3 0x%llx cr4 0x%llx (shadow 0x%llx) efer 0x%llx cpl %u",
        (unsigned long long)vmread(VMCS_GUEST_CR0), (unsigned long long)vmread(VMCS_CR0_SHADOW),
        (unsigned long long)vmread(VMCS_GUEST_CR3), (unsigned long long)vmread(VMCS_GUEST_CR4),
        (unsigned long long)vmread(VMCS_CR4_SHADOW), (unsigned long long)vmread(VMCS_GUEST_EFER), vmx_cpl(v));
    LOG("  cs 0x%llx ar 0x%llx ss 0x%llx idtr 0x%llx/0x%llx gdtr 0x%llx/0x%llx interruptibility 0x%llx",
        (unsigned long long)vmread(VMCS_GUEST_CS_SEL), (unsigned long long)vmread(vmcs_guest_ar(VMCS_SEG_CS)),
        (unsigned long long)vmread(vmcs_guest_sel(VMCS_SEG_SS)), (unsigned long long)vmread(VMCS_GUEST_IDTR_BASE),
        (unsigned long long)vmread(VMCS_GUEST_IDTR_LIMIT), (unsigned long long)vmread(VMCS_GUEST_GDTR_BASE),
        (unsigned long long)vmread(VMCS_GUEST_GDTR_LIMIT), (unsigned long long)vmread(VMCS_GUEST_INTERRUPTIBILITY));
}

/* The guest halted with IF=1. In VMX root operation the host's RFLAGS.IF (0 after every exit)
 * holds interrupts back; open it just for a HLT: traps.c records the vector without
 * acknowledging it at the local APIC, and the exit path injects it into the guest. */
static int vmx_wait_for_event(struct vcpu *v)
{
    traps_pending_event = TRAP_NONE;
    while (traps_pending_event == TRAP_NONE)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    return traps_pending_event;
}

/* 2 MiB and 1 GiB leaves only where the CPU's EPT has them (IA32_VMX_EPT_VPID_CAP[16], [17]). */
static const struct npt_format *vmx_nested_format(void)
{
    return vmx_ctl.ept_1gb ? &npt_format_ept_1g : vmx_ctl.ept_2mb ? &npt_format_ept : &npt_format_ept_4k;
}

const struct vcpu_ops vmx_vcpu_ops = {
    .name = "Intel VT-x",
    .probe = vmx_probe,
    .nested_format = vmx_nested_format,
    .enable = vmx_enable,
    .create = vmx_create,
    .run_once = vmx_run_once,
    .skip_insn = vmx_skip_insn,
    .set_io_intercept = vmx_set_io_intercept,
    .set_msr_intercept = vmx_set_msr_intercept,
    .inject_exception = vmx_inject_exception,
    .inject_interrupt = vmx_inject_interrupt,
    .inject_nmi = vmx_inject_nmi,
    .reinject_exception = vmx_reinject_exception,
    .set_watch = vmx_set_watch,
    .set_idle_intercepts = vmx_set_idle_intercepts,
    .set_nested_root = vmx_set_nested_root,
    .flush_nested_tlb = vmx_flush_nested_tlb,
    .cpl = vmx_cpl,
    .cr = vmx_cr,
    .efer = vmx_efer,
    .set_efer = vmx_set_efer,
    .dump = vmx_dump,
    .report_exits = vmx_report_exits,
    .wait_for_event = vmx_wait_for_event,
};
