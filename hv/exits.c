/*
 * Arch-neutral exit handlers (see exits.h). Every value taken from the guest (MSR numbers, port
 * values, guest-physical addresses) is checked here before anything acts on it.
 */
#include "exits.h"
#include "exits_msr.h"
#include "apic_trap.h"
#include "platform/apic_icr.h"
#include "arch/x86_64/cpu.h"
#include "guard/border.h"
#include "console/console.h"
#include "core/cpuid_policy.h"
#include "core/guest_access.h"
#include "core/guest_physmap.h"
#include "core/mce.h"
#include "core/hypercall.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "core/panic.h"
#include "pci/pci_policy.h"
#include "platform/acpi_guest.h"
#include "platform/smi_port.h"
#include "core/vm.h"

#define MSR_APIC_BASE            0x1bu
#define MSR_ARCH_CAPABILITIES    0x10au
#define MSR_XAPIC_DISABLE_STATUS 0xbdu
#define PM1_CNT_SLP_EN           BIT(13)
#define PORT_RESET_CONTROL       0xcf9 /* RST_CPU = bit 2 */
#define PORT_KBC_COMMAND         0x64  /* 0xfe = pulse reset line */
#define PORT_SYSCTL_A            0x92  /* bit 0 = fast reset */
#define KBC_PULSE_RESET          0xfe

static u16 watched_pm1a, watched_pm1b;
static struct smi_port_policy smi_policy;
bool exits_dc_cfg_guarded;

static bool emulate_cpuid(struct vcpu *v)
{
    u32 leaf = (u32)v->regs[REG_RAX], subleaf = (u32)v->regs[REG_RCX];
    struct cpuid_regs r = cpuid(leaf, subleaf);

    cpuid_policy_apply(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx);
    /* measured under VT-x in Bochs: Linux turned XSAVE off, CPUID still said OSXSAVE (the host's
     * CR4), and the guest's init died of #UD at XGETBV */
    cpuid_policy_os_bits(leaf, subleaf, vcpu_ops->cr(v, 4), &r.ecx);
    v->regs[REG_RAX] = r.eax;
    v->regs[REG_RBX] = r.ebx;
    v->regs[REG_RCX] = r.ecx;
    v->regs[REG_RDX] = r.edx;
    return true;
}

/* An unknown number never stops the guest, but it is noted: a guest probing the ABI is worth a
 * line (rate-limited: a loop of them cannot flood the serial line). */
static void log_unknown_hypercall(struct vcpu *v, u64 nr)
{
    static u64 unknown;
    LOG_RATELIMITED(unknown, 16, "hypercall 0x%llx from rip 0x%llx (cpl %u): unknown number, -1 returned (%llu so far)",
                    (unsigned long long)nr, (unsigned long long)v->regs[REG_RIP], vcpu_ops->cpl(v),
                    (unsigned long long)unknown);
}

/*
 * HC_TEST_UNMAP_ONCE (the event-redelivery test, docs/events.md): up to two guest-RAM pages leave
 * the nested map until the guest next touches one of them; that nested fault maps them back as
 * they were and is not reported. The guest loses nothing (the same host pages come back), so the
 * call is harmless; it is CPL 0 only. It lets a test make the CPU's own delivery of an interrupt
 * take a nested fault (the frame pushed onto an unmapped stack page): an interrupted delivery.
 */
static gpa_t unmapped_once[2];
static unsigned unmapped_count;

static bool test_unmap_once(struct vcpu *v)
{
    gpa_t pages[2] = { v->regs[REG_RBX], v->regs[REG_RCX] };
    unsigned n = pages[1] ? 2 : 1;

    if (vcpu_ops->cpl(v) != 0) {
        v->regs[REG_RAX] = (u64)(s64)HC_EPERM;
        return true;
    }
    /* Only plain guest RAM, mapped read-write-execute to its own host page in the ordinary map: never
     * a guarded module's write-protected text or private memory, whose mapping the remap would change. */
    for (unsigned i = 0; i < n; i++) {
        hpa_t hpa;
        u32 perms;
        int level;

        if ((pages[i] & (PAGE_SIZE - 1)) || !gmem_ptr(&v->vm->mem, pages[i], PAGE_SIZE) || unmapped_count ||
            !npt_lookup(&v->vm->npt, pages[i], &hpa, &perms, &level) || hpa != pages[i] /* identity */ ||
            perms != NPT_RWX) {
            v->regs[REG_RAX] = (u64)(s64)HC_EINVAL;
            return true;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (!vm_npt_unmap(v->vm, pages[i], PAGE_SIZE)) {
            v->regs[REG_RAX] = (u64)(s64)HC_EINVAL;
            return true;
        }
        unmapped_once[unmapped_count++] = pages[i];
    }
    vcpu_ops->flush_nested_tlb(v);
    LOG("test: guest-physical 0x%llx%s out of the nested map until touched", (unsigned long long)pages[0],
        n == 2 ? " and the next page" : "");
    v->regs[REG_RAX] = HC_OK;
    return true;
}

/* A nested fault on a page HC_TEST_UNMAP_ONCE took out: all of them back, the access retried. */
static bool test_remap(struct vcpu *v, gpa_t gpa)
{
    bool hit = false;

    for (unsigned i = 0; i < unmapped_count; i++)
        hit |= (gpa & ~(u64)(PAGE_SIZE - 1)) == unmapped_once[i];
    if (!hit)
        return false;
    for (unsigned i = 0; i < unmapped_count; i++)
        vm_npt_map(v->vm, unmapped_once[i], unmapped_once[i], PAGE_SIZE, NPT_RWX);
    unmapped_count = 0;
    vcpu_ops->flush_nested_tlb(v);
    LOG("test: guest-physical 0x%llx touched at rip 0x%llx: mapped back", (unsigned long long)gpa,
        (unsigned long long)v->regs[REG_RIP]);
    return true;
}

static bool hypercall(struct vcpu *v)
{
    u64 nr = v->regs[REG_RAX];
    extern const char hv_canary[];

    switch (nr) {
    case HC_VERSION:
        v->regs[REG_RBX] = HC_ABI_VERSION;
        v->regs[REG_RAX] = HC_OK;
        break;
    case HC_TEST_CANARY:
        /* Tells the memory-isolation test where a hypervisor page is, so it can try to read it.
         * Knowing the address gives nothing: no guest-physical address reaches it. */
        v->regs[REG_RBX] = (u64)(uintptr_t)hv_canary;
        v->regs[REG_RAX] = HC_OK;
        break;
    case HC_STATS_MARK:
        /* Statistics only (no guest data is read); any CPL, as the benchmark drives it from a
         * user-space tool. Bounded output per call. */
        border_mark(v->vm, (u32)(v->regs[REG_RBX] & 0xffff));
        v->regs[REG_RAX] = HC_OK;
        break;
    case HC_STATS_EXITS:
        /* Statistics only, any CPL (the idle tests drive it from user space). */
        v->regs[REG_RBX] = v->vm->hlt_exits;
        v->regs[REG_RCX] = v->vm->mwait_exits;
        v->regs[REG_RDX] = v->vm->exits;
        v->regs[REG_RAX] = HC_OK;
        break;
    case HC_TEST_FIRMWARE_PEEK: {
        /* Only firmware memory the guest can read itself anyway: nothing of the hypervisor's. */
        u64 addr = v->regs[REG_RBX];
        u32 kind = v->vm->physmap ? physmap_kind_at(v->vm->physmap, addr) : 0;
        if (!IS_ALIGNED(addr, 8) || (kind != PHYS_ACPI && kind != PHYS_NVS && kind != PHYS_FIRMWARE)) {
            v->regs[REG_RAX] = (u64)(s64)HC_EINVAL;
            break;
        }
        v->regs[REG_RBX] = *(volatile u64 *)phys_to_virt(addr);
        v->regs[REG_RAX] = HC_OK;
        break;
    }
    case HC_TEST_UNMAP_ONCE:
        return test_unmap_once(v);
    default:
        if (border_is_hypercall(nr))
            return border_hypercall(v, nr);
        log_unknown_hypercall(v, nr);
        v->regs[REG_RAX] = (u64)(s64)HC_ENOSYS;
        break;
    }
    return true;
}


/* Does this write set SLP_EN in a PM1 control register (ACPI §4.8.3.2.1)? */
static bool is_sleep_request(u16 pm1, u16 port, unsigned size, u32 value)
{
    if (!pm1)
        return false;
    if (port == pm1 && size >= 2)
        return value & PM1_CNT_SLP_EN;
    if (port == pm1 + 1)
        return value & (PM1_CNT_SLP_EN >> 8);
    return false;
}

static bool is_reset_request(u16 port, unsigned size, u32 value)
{
    /* Byte 0xcf9 sits inside the PCI CONFIG_ADDRESS dword 0xcf8: a 4-byte write there is a PCI
     * config cycle, not a reset. */
    if (port == PORT_RESET_CONTROL && size == 1)
        return value & BIT(2);
    if (port == PORT_KBC_COMMAND && size == 1)
        return value == KBC_PULSE_RESET;
    if (port == PORT_SYSCTL_A && size == 1)
        return value & BIT(0);
    return false;
}

/* A write to the software-SMI port that is not a value-only ACPI command: dropped and logged
 * (docs/msr.md, "The software-SMI port"). */
static bool smi_refused(struct vcpu *v, u16 port, unsigned size, u32 value)
{
    static u64 refused;
    const char *why = "";
    u8 command = 0;

    if (smi_port_write(&smi_policy, port, (u8)size, value, &command, &why) != SMI_REFUSE)
        return false;
    LOG_RATELIMITED(refused, 16,
                    "smi: guest write 0x%x to the SMI command port (OUT 0x%x, %u bytes) at rip 0x%llx: refused (%s) "
                    "(%llu so far)",
                    command, port, size, (unsigned long long)v->regs[REG_RIP], why, (unsigned long long)refused);
    return true;
}

static bool emulate_io(struct vcpu *v, u16 port, unsigned size, bool in)
{
    static char reason[96];
    u32 mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    u32 value = (u32)v->regs[REG_RAX] & mask;

    if (console_io(v, port, size, in, &value) || pci_policy_io(v, port, (u8)size, in, &value)) {
        if (in)
            v->regs[REG_RAX] = size == 4 ? (value & mask) : (v->regs[REG_RAX] & ~(u64)mask) | (value & mask);
        return true;
    }
    if (in) {
        /* Watched ports are read as they are; only writes can stop the machine. */
        u32 got = port_in_sized(port, size);
        v->regs[REG_RAX] = size == 4 ? got : (v->regs[REG_RAX] & ~(u64)mask) | got;
        return true;
    }
    if (smi_refused(v, port, size, value))
        return true;
    if (is_sleep_request(watched_pm1a, port, size, value) || is_sleep_request(watched_pm1b, port, size, value)) {
        fmt_snprintf(reason, sizeof(reason), "guest powered off (ACPI sleep request: port 0x%x value 0x%x)", port,
                     value);
        vcpu_stop(v, reason);
        return false;
    }
    if (is_reset_request(port, size, value)) {
        fmt_snprintf(reason, sizeof(reason), "guest requested a reset (port 0x%x value 0x%x)", port, value);
        vcpu_stop(v, reason);
        return false;
    }
    port_out_sized(port, size, value);
    return true;
}

void exits_watch_ports(struct vcpu *v, u16 pm1a_cnt, u16 pm1b_cnt)
{
    watched_pm1a = pm1a_cnt;
    watched_pm1b = pm1b_cnt;
    for (u16 p = 0; p < 2; p++) {
        if (pm1a_cnt)
            vcpu_ops->set_io_intercept(v, pm1a_cnt + p, true);
        if (pm1b_cnt)
            vcpu_ops->set_io_intercept(v, pm1b_cnt + p, true);
    }
    vcpu_ops->set_io_intercept(v, PORT_RESET_CONTROL, true);
    vcpu_ops->set_io_intercept(v, PORT_KBC_COMMAND, true);
    vcpu_ops->set_io_intercept(v, PORT_SYSCTL_A, true);
}

/* Firmware that handed over in x2APIC mode (or locked it): the guest is offered a KVM-compatible
 * CPUID block so that its Linux keeps x2APIC and its timer (docs/msr.md, "x2APIC"). */
void exits_cpuid_setup(void)
{
    u64 base = 0, caps = 0, status = 0;
    bool locked = false, on;

    if (!msr_read_safe(MSR_APIC_BASE, &base))
        base = 0;
    /* IA32_ARCH_CAPABILITIES (CPUID.7.0:EDX[29]) bit 21 says IA32_XAPIC_DISABLE_STATUS exists */
    if (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).edx & BIT(29)) && msr_read_safe(MSR_ARCH_CAPABILITIES, &caps) &&
        (caps & BIT(21)) && msr_read_safe(MSR_XAPIC_DISABLE_STATUS, &status))
        locked = status & BIT(0);
    on = cpuid_policy_wants_kvm_leaves(base, locked);
    cpuid_policy_offer_kvm_leaves(on);
    LOG("apic: the firmware left the local APIC %s%s (APIC_BASE 0x%llx): %s",
        !(base & BIT(11))  ? "disabled"
        : (base & BIT(10)) ? "in x2APIC mode"
                           : "in xAPIC mode",
        locked ? ", x2APIC locked" : "", (unsigned long long)base,
        on ? "CPUID offers a KVM-compatible block at 0x40000100 (no features) so Linux keeps x2APIC"
           : "CPUID names Postern only");
}

void exits_watch_smi_port(struct vcpu *v, const struct acpi_guest_info *acpi)
{
    const struct smi_port_policy *p = &smi_policy;

    smi_port_policy_init(&smi_policy, acpi->smi_cmd_port, acpi->acpi_enable, acpi->acpi_disable, acpi->s4bios_req,
                         acpi->pstate_cnt, acpi->cst_cnt);
    for (unsigned i = 0; i < p->nports; i++)
        vcpu_ops->set_io_intercept(v, p->ports[i], true);
    LOG("smi: software-SMI port 0x%x and SMI_CMD 0x%x watched: a write passes only as one of %u value-only ACPI "
        "commands (ACPI_ENABLE 0x%x, ACPI_DISABLE 0x%x, PSTATE_CNT 0x%x, CST_CNT 0x%x; 0: none), others are refused",
        SMI_PORT_APM_CNT, (unsigned)acpi->smi_cmd_port, p->nvalues, acpi->acpi_enable, acpi->acpi_disable,
        acpi->pstate_cnt, acpi->cst_cnt);
}

void exit_nested_fault(struct vcpu *v, gpa_t gpa, bool write, bool fetch)
{
    static u64 faults;

    if (test_remap(v, gpa))
        return;
    if (apic_trap_nested_fault(v, gpa, write))
        return;
    if (border_nested_fault(v, gpa, write, fetch))
        return;
    if (pci_policy_nested_fault(v, gpa, write))
        return;
    /* Nothing is mapped there: the address is neither guest RAM nor a device the guest may
     * reach (the hypervisor's own memory is such an address). The access faults in the guest. */
    LOG_RATELIMITED(faults, 16,
                    "blocked guest %s of unmapped guest-physical 0x%llx at rip 0x%llx (cpl %u): #GP injected",
                    fetch   ? "fetch"
                    : write ? "write"
                            : "read",
                    (unsigned long long)gpa, (unsigned long long)v->regs[REG_RIP], vcpu_ops->cpl(v));
    vcpu_inject_exception(v, VEC_GP, true, 0);
}

static bool halt(struct vcpu *v)
{
    int ev;

    v->vm->hlt_exits++;
    if (!(v->regs[REG_RFLAGS] & RFLAGS_IF)) {
        /* Only an NMI could wake it, and nothing sends one: this is how a guest stops for good. */
        vcpu_stop(v, "guest halted with interrupts disabled");
        return false;
    }
    console_before_halt(); /* what the line brought, the guest's held COM1 interrupt, all output */
    ev = vcpu_ops->wait_for_event(v, console_line_ready_fn());
    if (ev == WAIT_LINE) {
        /* A byte on a line whose interrupt cannot wake the CPU: serve it, and let the guest run
         * its HLT again (RIP stays) unless the poll gave it an interrupt to take first. */
        console_poll();
        return false;
    }
    /* The interrupt is taken after the HLT (1 byte, F4): that is where its IRET returns. */
    /* An NMI is not injected here: it is counted (arch/x86_64/traps.c), and the backend's exit
     * path injects it when the guest can take one (hv/core/event_queue.c, docs/events.md). */
    if (ev != WAIT_NMI)
        vcpu_inject_external(v, ev, v->regs[REG_RIP] + 1);
    return true;
}

/* MONITOR/MWAIT while intercepted (every vCPU not holding `idle`). A NOP is a correct MWAIT: it
 * may return at any time for implementation-specific reasons (AMD APM Vol. 3, MWAIT), and the
 * caller re-checks its condition. Waiting like HLT instead could miss the store the guest is
 * monitoring for. Its exceptions (#UD for ECX extensions not offered, #GP for bad ones) come
 * before the intercept, from the CPU. */
void exit_monitor(struct vcpu *v) { vcpu_ops->skip_insn(v, 3); /* 0F 01 C8 */ }

void exit_mwait(struct vcpu *v)
{
    v->vm->mwait_exits++;
    vcpu_ops->skip_insn(v, 3); /* 0F 01 C9 */
}

/*
 * The handlers the backends' exit tables point at. Each finishes its instruction itself when the
 * emulation is done (vcpu_ops->skip_insn, as KVM's skip_emulated_instruction); when it is not (a
 * fault was injected, the guest stopped, border control moved RIP itself) RIP stays. The length
 * given is the instruction's, for backends that cannot read it from the hardware; 0 where it
 * varies (port I/O), which every backend reports itself.
 */
static void done(struct vcpu *v, bool finished, unsigned len)
{
    if (finished)
        vcpu_ops->skip_insn(v, len);
}

void exit_cpuid(struct vcpu *v) { done(v, emulate_cpuid(v), 2); }    /* 0F A2 */
void exit_rdmsr(struct vcpu *v) { done(v, exits_msr(v, false), 2); } /* 0F 32: hv/exits_msr.c */
void exit_wrmsr(struct vcpu *v) { done(v, exits_msr(v, true), 2); }  /* 0F 30 */
void exit_hypercall(struct vcpu *v) { done(v, hypercall(v), 3); }    /* 0F 01 D9 */
void exit_hlt(struct vcpu *v) { done(v, halt(v), 1); }               /* F4 */
void exit_io(struct vcpu *v, u16 port, unsigned size, bool in) { done(v, emulate_io(v, port, size, in), 0); }

/* INVD (0F 08) invalidates the caches without writing them back: dirty lines of the hypervisor's
 * own structures would be lost. SVM intercepts it (INTERCEPT_INVD), VT-x exits on it always
 * (§26.1.2); either way it is done as WBINVD, which keeps every store (docs/events.md). */
static void invd_as_wbinvd(struct vcpu *v, const char *how)
{
    static u64 invds;

    wbinvd();
    LOG_RATELIMITED(invds, 16, "guest INVD at rip 0x%llx (cpl %u): done as WBINVD%s (%llu so far)",
                    (unsigned long long)v->regs[REG_RIP], vcpu_ops->cpl(v), how, (unsigned long long)invds);
    vcpu_ops->skip_insn(v, 2);
}

void exit_invd(struct vcpu *v) { invd_as_wbinvd(v, ""); }

/* WBINVD (0F 09) is intercepted on SVM only because QEMU 7.2's TCG checks a guest INVD against the
 * WBINVD intercept (docs/events.md): the instruction at RIP tells them apart. Either way the
 * caches are written back and invalidated, which is WBINVD's effect. */
void exit_wbinvd(struct vcpu *v)
{
    u8 insn[2];
    u32 access = GVA_FETCH | (vcpu_ops->cpl(v) == 3 ? GVA_USER : GVA_SUPERVISOR);

    if (guest_read_virt(v, v->regs[REG_RIP], insn, sizeof(insn), access) && insn[0] == 0x0f && insn[1] == 0x08) {
        invd_as_wbinvd(v, " (the CPU reported it as a WBINVD exit)");
        return;
    }
    wbinvd();
    vcpu_ops->skip_insn(v, 2);
}

static u64 guest_rdmsr(u32 msr) { return rdmsr(msr); }

/* A machine check in guest mode (#MC is intercepted always, on both backends): reported with the
 * banks' status and address, then delivered to the guest as the CPU would have (its handler reads
 * and clears the banks, which stay as they were: docs/events.md). */
void exit_machine_check(struct vcpu *v)
{
    mce_report(guest_rdmsr, true, v->regs[REG_RIP]);
    vcpu_reinject_exception(v, VEC_MC, false, 0, 0);
}

/* An INIT reached the guest's core (SVM's INIT intercept; VT-x exits on INIT always). The guest's
 * own INITs are caught at its ICR (hv/apic_trap.c), so this one came from elsewhere; a core that
 * receives INIT resets, so the guest is stopped as for a reset request (docs/events.md). */
void exit_init(struct vcpu *v)
{
    LOG("guest core received INIT at rip 0x%llx: treated as a reset request", (unsigned long long)v->regs[REG_RIP]);
    vcpu_stop(v, "guest requested a reset (INIT signal)");
}

void exit_triple_fault(struct vcpu *v)
{
    LOG("guest triple fault (SHUTDOWN) at rip 0x%llx", (unsigned long long)v->regs[REG_RIP]);
    dump_guest_regs(v);
    vcpu_stop(v, "guest triple fault");
}

#define CR4_LA57    BIT(12)
#define CR4_OSXSAVE BIT(18)

bool exit_cr4_check(struct vcpu *v, u64 old, u64 value)
{
    static u64 refused;
    const char *why;
    char buf[64];
    int bit;

    why = cpuid_policy_cr4_check(&guest_cpuid, value, &bit);
    if (why) {
        fmt_snprintf(buf, sizeof(buf), "%s (bit %d) is reserved: its feature is not in the guest's CPUID", why, bit);
    } else if (((old ^ value) & CR4_LA57) && (vcpu_ops->efer(v) & EFER_LMA)) {
        fmt_snprintf(buf, sizeof(buf), "LA57 (bit 12) may not change in long mode");
    } else {
        return true;
    }
    LOG_RATELIMITED(refused, 8, "guest MOV to CR4 0x%llx at rip 0x%llx: %s: #GP", (unsigned long long)value,
                    (unsigned long long)v->regs[REG_RIP], buf);
    vcpu_inject_exception(v, VEC_GP, true, 0);
    return false;
}

/* XSETBV (0F 01 D1). The hypervisor itself never uses extended state, so the guest's XCR0 is loaded
 * as it asks once the checks pass. XSETBV in the host needs the host's CR4.OSXSAVE: set at the
 * first guest XSETBV, which the guest can only reach with CR4.OSXSAVE set, i.e. after the CPU
 * accepted that bit in its CR4 (VMRUN's check): so setting it here cannot be refused. */
void exit_xsetbv(struct vcpu *v)
{
    static u64 refused;
    u32 index = (u32)v->regs[REG_RCX];
    u64 value = ((v->regs[REG_RDX] & 0xffffffffu) << 32) | (v->regs[REG_RAX] & 0xffffffffu);
    const char *why = vcpu_ops->cpl(v) != 0 ? "CPL is not 0" : cpuid_policy_xcr0_check(&guest_cpuid, index, value);

    if (why) {
        LOG_RATELIMITED(refused, 8, "guest XSETBV XCR%u 0x%llx at rip 0x%llx: %s: #GP", index,
                        (unsigned long long)value, (unsigned long long)v->regs[REG_RIP], why);
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return;
    }
    if (!(read_cr4() & CR4_OSXSAVE))
        write_cr4(read_cr4() | CR4_OSXSAVE);
    __asm__ volatile("xsetbv" ::"c"(index), "a"((u32)value), "d"((u32)(value >> 32)));
    vcpu_ops->skip_insn(v, 3);
}

void exit_forbidden_insn(struct vcpu *v, const char *name)
{
    LOG("guest executed %s at rip 0x%llx: #UD injected", name, (unsigned long long)v->regs[REG_RIP]);
    vcpu_inject_exception(v, VEC_UD, false, 0);
}

void exit_unexpected(struct vcpu *v, const char *what, u64 code, u64 info1, u64 info2)
{
    LOG("%s: exit code 0x%llx info1 0x%llx info2 0x%llx at rip 0x%llx", what, (unsigned long long)code,
        (unsigned long long)info1, (unsigned long long)info2, (unsigned long long)v->regs[REG_RIP]);
    dump_guest_regs(v);
    vcpu_stop(v, "unexpected exit");
}
