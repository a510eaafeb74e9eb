/* VM-exit information decoding: see vmx_qual.h. */
#include "arch/x86_64/vmx/vmx_qual.h"
#include "arch/x86_64/vmx/vmcs.h"

struct ept_violation vmx_decode_ept_violation(u64 q)
{
    struct ept_violation v = {
        .read = q & BIT(0),
        .write = q & BIT(1),
        .fetch = q & BIT(2),
        .readable = q & BIT(3),
        .writable = q & BIT(4),
        .executable = q & BIT(5),
        .linear_valid = q & BIT(7),
        .nmi_unblocked_by_iret = q & BIT(12),
    };
    return v;
}

struct cr_access vmx_decode_cr_access(u64 q)
{
    struct cr_access c = {
        .cr = (u8)(q & 0xf),
        .type = (enum cr_access_type)((q >> 4) & 3),
        .lmsw_memory = q & BIT(6),
        .gpr = (u8)((q >> 8) & 0xf),
        .lmsw_source = (u16)(q >> 16),
    };
    return c;
}

bool vmx_decode_io(u64 q, struct io_access *io)
{
    static const u8 sizes[8] = { 1, 2, 0, 4, 0, 0, 0, 0 };

    io->size = sizes[q & 7];
    io->in = q & BIT(3);
    io->string = q & BIT(4);
    io->rep = q & BIT(5);
    io->immediate = q & BIT(6);
    io->port = (u16)(q >> 16);
    return io->size != 0;
}

struct intr_info vmx_decode_intr_info(u32 info)
{
    struct intr_info i = {
        .valid = info & INTR_INFO_VALID,
        .vector = (u8)info,
        .type = (enum intr_type)((info >> 8) & 7),
        .has_error = info & INTR_INFO_ERROR_VALID,
        .nmi_unblocked_by_iret = info & INTR_INFO_NMI_UNBLOCK,
    };
    return i;
}

/* SDM Vol. 3C §31.4, Table 31-1. */
static const char *const insn_errors[] = {
    [1] = "VMCALL executed in VMX root operation",
    [2] = "VMCLEAR with invalid physical address",
    [3] = "VMCLEAR with VMXON pointer",
    [4] = "VMLAUNCH with non-clear VMCS",
    [5] = "VMRESUME with non-launched VMCS",
    [6] = "VMRESUME after VMXOFF",
    [7] = "VM entry with invalid control field(s)",
    [8] = "VM entry with invalid host-state field(s)",
    [9] = "VMPTRLD with invalid physical address",
    [10] = "VMPTRLD with VMXON pointer",
    [11] = "VMPTRLD with incorrect VMCS revision identifier",
    [12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
    [13] = "VMWRITE to read-only VMCS component",
    [15] = "VMXON executed in VMX root operation",
    [16] = "VM entry with invalid executive-VMCS pointer",
    [17] = "VM entry with non-launched executive VMCS",
    [18] = "VM entry with executive-VMCS pointer not VMXON pointer",
    [19] = "VMCALL with non-clear VMCS",
    [20] = "VMCALL with invalid VM-exit control fields",
    [22] = "VMCALL with incorrect MSEG revision identifier",
    [23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
    [24] = "VMCALL with invalid SMM-monitor features",
    [25] = "VM entry with invalid VM-execution control fields in executive VMCS",
    [26] = "VM entry with events blocked by MOV SS",
    [28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_name(u32 error)
{
    if (error < ARRAY_SIZE(insn_errors) && insn_errors[error])
        return insn_errors[error];
    return "unknown VM-instruction error";
}

static const char *const exit_names[VMX_EXIT_TABLE_SIZE] = {
    [VMX_EXIT_EXCEPTION_NMI] = "exception-nmi",
    [VMX_EXIT_EXTERNAL_INTERRUPT] = "external-interrupt",
    [VMX_EXIT_TRIPLE_FAULT] = "triple-fault",
    [VMX_EXIT_INIT] = "init",
    [VMX_EXIT_SIPI] = "sipi",
    [VMX_EXIT_INTERRUPT_WINDOW] = "interrupt-window",
    [VMX_EXIT_NMI_WINDOW] = "nmi-window",
    [VMX_EXIT_TASK_SWITCH] = "task-switch",
    [VMX_EXIT_CPUID] = "cpuid",
    [VMX_EXIT_GETSEC] = "getsec",
    [VMX_EXIT_HLT] = "hlt",
    [VMX_EXIT_INVD] = "invd",
    [VMX_EXIT_INVLPG] = "invlpg",
    [VMX_EXIT_RDPMC] = "rdpmc",
    [VMX_EXIT_RDTSC] = "rdtsc",
    [VMX_EXIT_RSM] = "rsm",
    [VMX_EXIT_VMCALL] = "vmcall",
    [VMX_EXIT_VMCLEAR] = "vmclear",
    [VMX_EXIT_VMLAUNCH] = "vmlaunch",
    [VMX_EXIT_VMPTRLD] = "vmptrld",
    [VMX_EXIT_VMPTRST] = "vmptrst",
    [VMX_EXIT_VMREAD] = "vmread",
    [VMX_EXIT_VMRESUME] = "vmresume",
    [VMX_EXIT_VMWRITE] = "vmwrite",
    [VMX_EXIT_VMXOFF] = "vmxoff",
    [VMX_EXIT_VMXON] = "vmxon",
    [VMX_EXIT_CR_ACCESS] = "cr-access",
    [VMX_EXIT_MOV_DR] = "mov-dr",
    [VMX_EXIT_IO] = "io",
    [VMX_EXIT_RDMSR] = "rdmsr",
    [VMX_EXIT_WRMSR] = "wrmsr",
    [VMX_EXIT_INVALID_GUEST_STATE] = "invalid-guest-state",
    [VMX_EXIT_MSR_LOADING] = "msr-loading",
    [VMX_EXIT_MWAIT] = "mwait",
    [VMX_EXIT_MONITOR_TRAP_FLAG] = "monitor-trap-flag",
    [VMX_EXIT_MONITOR] = "monitor",
    [VMX_EXIT_PAUSE] = "pause",
    [VMX_EXIT_MACHINE_CHECK] = "machine-check",
    [VMX_EXIT_PREEMPTION_TIMER] = "preemption-timer",
    [VMX_EXIT_EPT_VIOLATION] = "ept-violation",
    [VMX_EXIT_EPT_MISCONFIG] = "ept-misconfig",
    [VMX_EXIT_INVEPT] = "invept",
    [VMX_EXIT_INVVPID] = "invvpid",
    [VMX_EXIT_XSETBV] = "xsetbv",
    [VMX_EXIT_VMFUNC] = "vmfunc",
};

const char *vmx_exit_reason_name(u32 reason) { return reason < VMX_EXIT_TABLE_SIZE ? exit_names[reason] : NULL; }
