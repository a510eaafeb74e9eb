/*
 * Decoding what a VM exit reports (Intel SDM Vol. 3C §28.2.1 exit qualifications, §25.9.2
 * interruption information, §31.4 VM-instruction error numbers). Pure: vmx_exit.c reads the VMCS
 * fields and hands the numbers here; the unit tests check each layout bit by bit.
 */
#ifndef POSTERN_VMX_QUAL_H
#define POSTERN_VMX_QUAL_H

#include "lib/types.h"

/* EPT violation (Table 28-7). */
struct ept_violation {
    bool read, write, fetch;             /* the access that faulted */
    bool readable, writable, executable; /* what the EPT entry allowed */
    bool linear_valid;                   /* a guest-linear address is in the VMCS */
    bool nmi_unblocked_by_iret;
};
struct ept_violation vmx_decode_ept_violation(u64 qual);

/* Control-register access (Table 28-3). */
enum cr_access_type { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };
struct cr_access {
    u8 cr; /* 0, 3, 4 or 8 */
    enum cr_access_type type;
    u8 gpr; /* the general-purpose register of a MOV (x86 numbering, as enum vcpu_reg) */
    bool lmsw_memory;
    u16 lmsw_source;
};
struct cr_access vmx_decode_cr_access(u64 qual);

/* I/O instruction (Table 28-5). */
struct io_access {
    u16 port;
    u8 size; /* 1, 2 or 4 */
    bool in, string, rep, immediate;
};
/* False when the size field holds a value the SDM does not define. */
bool vmx_decode_io(u64 qual, struct io_access *io);

/* VM-exit / IDT-vectoring / VM-entry interruption information (Tables 25-17, 25-18). */
enum intr_type {
    INTR_TYPE_EXTERNAL = 0,
    INTR_TYPE_NMI = 2,
    INTR_TYPE_HW_EXCEPTION = 3,
    INTR_TYPE_SW_INTERRUPT = 4,
    INTR_TYPE_PRIV_SW_EXCEPTION = 5,
    INTR_TYPE_SW_EXCEPTION = 6,
    INTR_TYPE_OTHER = 7,
};
#define INTR_INFO_VALID       BIT(31)
#define INTR_INFO_ERROR_VALID BIT(11)
#define INTR_INFO_NMI_UNBLOCK BIT(12)
struct intr_info {
    bool valid;
    u8 vector;
    enum intr_type type;
    bool has_error;
    bool nmi_unblocked_by_iret;
};
struct intr_info vmx_decode_intr_info(u32 info);
/* The word VM entry takes to inject an event (§26.6.1). */
static inline u32 vmx_intr_info(u8 vector, enum intr_type type, bool has_error)
{
    return INTR_INFO_VALID | (has_error ? INTR_INFO_ERROR_VALID : 0) | ((u32)type << 8) | vector;
}

/* The VM-instruction error number of a VMfailValid, as the SDM names it (never NULL). */
const char *vmx_insn_error_name(u32 error);
/* A basic exit reason's name (Appendix C), or NULL for one this file does not name. */
const char *vmx_exit_reason_name(u32 reason);

#endif
