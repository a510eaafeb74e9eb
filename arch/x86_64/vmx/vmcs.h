/*
 * The VMCS: field encodings, control bits, exit reasons and the VMX capability MSRs
 * (Intel SDM Vol. 3C, Appendix B "Field Encoding in VMCS", Chapter 25 "VM-Execution Controls",
 * Appendix A "VMX Capability Reporting Facility", Appendix C "VMX Basic Exit Reasons").
 *
 * An encoding is 32 bits (SDM §25.11.2): bit 0 access type (0 full, 1 high half of a 64-bit
 * field), bits 9:1 index, bits 11:10 type (control, read-only data, guest state, host state),
 * bits 14:13 width (16-bit, 64-bit, 32-bit, natural). VMCS_ENC builds one from those parts so
 * every named field below states its width and type, and the unit test checks each against the
 * accessor the backend uses for it.
 */
#ifndef POSTERN_VMX_VMCS_H
#define POSTERN_VMX_VMCS_H

#include "lib/types.h"
#include "arch/x86_64/cpu.h" /* MSR_FEATURE_CONTROL */

enum vmcs_width { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };
enum vmcs_type { VMCS_CTL = 0, VMCS_RO = 1, VMCS_GUEST = 2, VMCS_HOST = 3 };

#define VMCS_ENC(width, type, index) (((u32)(width) << 13) | ((u32)(type) << 10) | ((u32)(index) << 1))
static inline enum vmcs_width vmcs_field_width(u32 enc) { return (enum vmcs_width)((enc >> 13) & 3); }
static inline enum vmcs_type vmcs_field_type(u32 enc) { return (enum vmcs_type)((enc >> 10) & 3); }
static inline u32 vmcs_field_index(u32 enc) { return (enc >> 1) & 0x1ff; }

enum vmcs_field {
    /* 16-bit (B.1) */
    VMCS_VPID = VMCS_ENC(VMCS_W16, VMCS_CTL, 0),
    VMCS_EPTP_INDEX = VMCS_ENC(VMCS_W16, VMCS_CTL, 2),
    VMCS_GUEST_ES_SEL = VMCS_ENC(VMCS_W16, VMCS_GUEST, 0), /* ES CS SS DS FS GS LDTR TR, in that order */
    VMCS_GUEST_CS_SEL = VMCS_ENC(VMCS_W16, VMCS_GUEST, 1),
    VMCS_GUEST_TR_SEL = VMCS_ENC(VMCS_W16, VMCS_GUEST, 7),
    VMCS_HOST_ES_SEL = VMCS_ENC(VMCS_W16, VMCS_HOST, 0), /* ES CS SS DS FS GS TR */
    VMCS_HOST_CS_SEL = VMCS_ENC(VMCS_W16, VMCS_HOST, 1),
    VMCS_HOST_SS_SEL = VMCS_ENC(VMCS_W16, VMCS_HOST, 2),
    VMCS_HOST_DS_SEL = VMCS_ENC(VMCS_W16, VMCS_HOST, 3),
    VMCS_HOST_FS_SEL = VMCS_ENC(VMCS_W16, VMCS_HOST, 4),
    VMCS_HOST_GS_SEL = VMCS_ENC(VMCS_W16, VMCS_HOST, 5),
    VMCS_HOST_TR_SEL = VMCS_ENC(VMCS_W16, VMCS_HOST, 6),
    /* 64-bit (B.2) */
    VMCS_IO_BITMAP_A = VMCS_ENC(VMCS_W64, VMCS_CTL, 0),
    VMCS_IO_BITMAP_B = VMCS_ENC(VMCS_W64, VMCS_CTL, 1),
    VMCS_MSR_BITMAP = VMCS_ENC(VMCS_W64, VMCS_CTL, 2),
    VMCS_VMFUNC_CONTROLS = VMCS_ENC(VMCS_W64, VMCS_CTL, 12),
    VMCS_EPT_POINTER = VMCS_ENC(VMCS_W64, VMCS_CTL, 13),
    VMCS_EPTP_LIST = VMCS_ENC(VMCS_W64, VMCS_CTL, 18),
    VMCS_GUEST_PHYSICAL_ADDRESS = VMCS_ENC(VMCS_W64, VMCS_RO, 0),
    VMCS_LINK_POINTER = VMCS_ENC(VMCS_W64, VMCS_GUEST, 0),
    VMCS_GUEST_DEBUGCTL = VMCS_ENC(VMCS_W64, VMCS_GUEST, 1),
    VMCS_GUEST_PAT = VMCS_ENC(VMCS_W64, VMCS_GUEST, 2),
    VMCS_GUEST_EFER = VMCS_ENC(VMCS_W64, VMCS_GUEST, 3),
    VMCS_HOST_PAT = VMCS_ENC(VMCS_W64, VMCS_HOST, 0),
    VMCS_HOST_EFER = VMCS_ENC(VMCS_W64, VMCS_HOST, 1),
    /* 32-bit (B.3) */
    VMCS_PIN_CONTROLS = VMCS_ENC(VMCS_W32, VMCS_CTL, 0),
    VMCS_PROC_CONTROLS = VMCS_ENC(VMCS_W32, VMCS_CTL, 1),
    VMCS_EXCEPTION_BITMAP = VMCS_ENC(VMCS_W32, VMCS_CTL, 2),
    VMCS_PF_ERROR_MASK = VMCS_ENC(VMCS_W32, VMCS_CTL, 3),
    VMCS_PF_ERROR_MATCH = VMCS_ENC(VMCS_W32, VMCS_CTL, 4),
    VMCS_CR3_TARGET_COUNT = VMCS_ENC(VMCS_W32, VMCS_CTL, 5),
    VMCS_EXIT_CONTROLS = VMCS_ENC(VMCS_W32, VMCS_CTL, 6),
    VMCS_EXIT_MSR_STORE_COUNT = VMCS_ENC(VMCS_W32, VMCS_CTL, 7),
    VMCS_EXIT_MSR_LOAD_COUNT = VMCS_ENC(VMCS_W32, VMCS_CTL, 8),
    VMCS_ENTRY_CONTROLS = VMCS_ENC(VMCS_W32, VMCS_CTL, 9),
    VMCS_ENTRY_MSR_LOAD_COUNT = VMCS_ENC(VMCS_W32, VMCS_CTL, 10),
    VMCS_ENTRY_INTR_INFO = VMCS_ENC(VMCS_W32, VMCS_CTL, 11),
    VMCS_ENTRY_EXCEPTION_ERROR = VMCS_ENC(VMCS_W32, VMCS_CTL, 12),
    VMCS_ENTRY_INSN_LEN = VMCS_ENC(VMCS_W32, VMCS_CTL, 13),
    VMCS_PROC2_CONTROLS = VMCS_ENC(VMCS_W32, VMCS_CTL, 15),
    VMCS_INSN_ERROR = VMCS_ENC(VMCS_W32, VMCS_RO, 0),
    VMCS_EXIT_REASON = VMCS_ENC(VMCS_W32, VMCS_RO, 1),
    VMCS_EXIT_INTR_INFO = VMCS_ENC(VMCS_W32, VMCS_RO, 2),
    VMCS_EXIT_INTR_ERROR = VMCS_ENC(VMCS_W32, VMCS_RO, 3),
    VMCS_IDT_VECTORING_INFO = VMCS_ENC(VMCS_W32, VMCS_RO, 4),
    VMCS_IDT_VECTORING_ERROR = VMCS_ENC(VMCS_W32, VMCS_RO, 5),
    VMCS_EXIT_INSN_LEN = VMCS_ENC(VMCS_W32, VMCS_RO, 6),
    VMCS_EXIT_INSN_INFO = VMCS_ENC(VMCS_W32, VMCS_RO, 7),
    VMCS_GUEST_ES_LIMIT = VMCS_ENC(VMCS_W32, VMCS_GUEST, 0), /* ES CS SS DS FS GS LDTR TR GDTR IDTR */
    VMCS_GUEST_GDTR_LIMIT = VMCS_ENC(VMCS_W32, VMCS_GUEST, 8),
    VMCS_GUEST_IDTR_LIMIT = VMCS_ENC(VMCS_W32, VMCS_GUEST, 9),
    VMCS_GUEST_ES_AR = VMCS_ENC(VMCS_W32, VMCS_GUEST, 10), /* ES CS SS DS FS GS LDTR TR */
    VMCS_GUEST_INTERRUPTIBILITY = VMCS_ENC(VMCS_W32, VMCS_GUEST, 18),
    VMCS_GUEST_ACTIVITY = VMCS_ENC(VMCS_W32, VMCS_GUEST, 19),
    VMCS_GUEST_SYSENTER_CS = VMCS_ENC(VMCS_W32, VMCS_GUEST, 21),
    VMCS_PREEMPTION_TIMER = VMCS_ENC(VMCS_W32, VMCS_GUEST, 23),
    VMCS_HOST_SYSENTER_CS = VMCS_ENC(VMCS_W32, VMCS_HOST, 0),
    /* natural width (B.4) */
    VMCS_CR0_MASK = VMCS_ENC(VMCS_WNAT, VMCS_CTL, 0),
    VMCS_CR4_MASK = VMCS_ENC(VMCS_WNAT, VMCS_CTL, 1),
    VMCS_CR0_SHADOW = VMCS_ENC(VMCS_WNAT, VMCS_CTL, 2),
    VMCS_CR4_SHADOW = VMCS_ENC(VMCS_WNAT, VMCS_CTL, 3),
    VMCS_EXIT_QUALIFICATION = VMCS_ENC(VMCS_WNAT, VMCS_RO, 0),
    VMCS_GUEST_LINEAR_ADDRESS = VMCS_ENC(VMCS_WNAT, VMCS_RO, 5),
    VMCS_GUEST_CR0 = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 0),
    VMCS_GUEST_CR3 = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 1),
    VMCS_GUEST_CR4 = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 2),
    VMCS_GUEST_ES_BASE = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 3), /* ES CS SS DS FS GS LDTR TR GDTR IDTR */
    VMCS_GUEST_GDTR_BASE = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 11),
    VMCS_GUEST_IDTR_BASE = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 12),
    VMCS_GUEST_DR7 = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 13),
    VMCS_GUEST_RSP = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 14),
    VMCS_GUEST_RIP = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 15),
    VMCS_GUEST_RFLAGS = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 16),
    VMCS_GUEST_PENDING_DBG = VMCS_ENC(VMCS_WNAT, VMCS_GUEST, 17),
    VMCS_HOST_CR0 = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 0),
    VMCS_HOST_CR3 = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 1),
    VMCS_HOST_CR4 = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 2),
    VMCS_HOST_FS_BASE = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 3),
    VMCS_HOST_GS_BASE = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 4),
    VMCS_HOST_TR_BASE = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 5),
    VMCS_HOST_GDTR_BASE = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 6),
    VMCS_HOST_IDTR_BASE = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 7),
    VMCS_HOST_RSP = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 10),
    VMCS_HOST_RIP = VMCS_ENC(VMCS_WNAT, VMCS_HOST, 11),
};

/* The guest segment registers' fields, in the VMCS's own order (ES CS SS DS FS GS LDTR TR). */
enum vmcs_seg {
    VMCS_SEG_ES,
    VMCS_SEG_CS,
    VMCS_SEG_SS,
    VMCS_SEG_DS,
    VMCS_SEG_FS,
    VMCS_SEG_GS,
    VMCS_SEG_LDTR,
    VMCS_SEG_TR
};
static inline u32 vmcs_guest_sel(enum vmcs_seg s) { return VMCS_GUEST_ES_SEL + 2 * s; }
static inline u32 vmcs_guest_limit(enum vmcs_seg s) { return VMCS_GUEST_ES_LIMIT + 2 * s; }
static inline u32 vmcs_guest_ar(enum vmcs_seg s) { return VMCS_GUEST_ES_AR + 2 * s; }
static inline u32 vmcs_guest_base(enum vmcs_seg s) { return VMCS_GUEST_ES_BASE + 2 * s; }

/* Segment access rights (SDM §25.4.1, Table 25-2): the descriptor's type..G bits, bit 16 unusable. */
#define VMX_AR_CODE64   0xa09bu /* execute/read, accessed, S, P, L, G */
#define VMX_AR_DATA     0xc093u /* read/write, accessed, S, P, D/B, G */
#define VMX_AR_TSS64    0x008bu /* busy 64-bit TSS, P */
#define VMX_AR_UNUSABLE BIT(16)

/* Pin-based controls (§25.6.1). */
#define PIN_EXTINT_EXITING   BIT(0)
#define PIN_NMI_EXITING      BIT(3)
#define PIN_VIRTUAL_NMIS     BIT(5)
#define PIN_PREEMPTION_TIMER BIT(6)
/* Primary processor-based controls (§25.6.2, Table 25-6). */
#define PROC_INTR_WINDOW_EXITING BIT(2)
#define PROC_HLT_EXITING         BIT(7)
#define PROC_NMI_WINDOW_EXITING  BIT(22)
#define PROC_INVLPG_EXITING      BIT(9)
#define PROC_MWAIT_EXITING       BIT(10)
#define PROC_RDPMC_EXITING       BIT(11)
#define PROC_RDTSC_EXITING       BIT(12)
#define PROC_CR3_LOAD_EXITING    BIT(15)
#define PROC_CR3_STORE_EXITING   BIT(16)
#define PROC_CR8_LOAD_EXITING    BIT(19)
#define PROC_CR8_STORE_EXITING   BIT(20)
#define PROC_MOV_DR_EXITING      BIT(23)
#define PROC_UNCOND_IO_EXITING   BIT(24)
#define PROC_USE_IO_BITMAPS      BIT(25)
#define PROC_MONITOR_TRAP_FLAG   BIT(27)
#define PROC_USE_MSR_BITMAPS     BIT(28)
#define PROC_MONITOR_EXITING     BIT(29)
#define PROC_SECONDARY_CONTROLS  BIT(31)
/* Secondary processor-based controls (Table 25-7). */
#define PROC2_ENABLE_EPT         BIT(1)
#define PROC2_ENABLE_RDTSCP      BIT(3)
#define PROC2_ENABLE_VPID        BIT(5)
#define PROC2_UNRESTRICTED_GUEST BIT(7)
#define PROC2_ENABLE_INVPCID     BIT(12)
#define PROC2_ENABLE_VMFUNC      BIT(13)
#define PROC2_ENABLE_XSAVES      BIT(20)
/* VM-exit controls (§25.7.1). */
#define EXIT_SAVE_DEBUG_CONTROLS BIT(2)
#define EXIT_HOST_ADDR_SPACE_64  BIT(9)
#define EXIT_ACK_INTR_ON_EXIT    BIT(15)
#define EXIT_SAVE_PAT            BIT(18)
#define EXIT_LOAD_PAT            BIT(19)
#define EXIT_SAVE_EFER           BIT(20)
#define EXIT_LOAD_EFER           BIT(21)
/* VM-entry controls (§25.8.1). */
#define ENTRY_LOAD_DEBUG_CONTROLS BIT(2)
#define ENTRY_IA32E_GUEST         BIT(9)
#define ENTRY_LOAD_PAT            BIT(14)
#define ENTRY_LOAD_EFER           BIT(15)

/* Capability and control MSRs (Appendix A, Vol. 4 Table 2-2). */
#define MSR_VMX_BASIC           0x480u
#define MSR_VMX_PINBASED_CTLS   0x481u
#define MSR_VMX_PROCBASED_CTLS  0x482u
#define MSR_VMX_EXIT_CTLS       0x483u
#define MSR_VMX_ENTRY_CTLS      0x484u
#define MSR_VMX_MISC            0x485u
#define MSR_VMX_CR0_FIXED0      0x486u
#define MSR_VMX_CR0_FIXED1      0x487u
#define MSR_VMX_CR4_FIXED0      0x488u
#define MSR_VMX_CR4_FIXED1      0x489u
#define MSR_VMX_PROCBASED_CTLS2 0x48bu
#define MSR_VMX_EPT_VPID_CAP    0x48cu
#define MSR_VMX_TRUE_PINBASED   0x48du
#define MSR_VMX_TRUE_PROCBASED  0x48eu
#define MSR_VMX_TRUE_EXIT       0x48fu
#define MSR_VMX_TRUE_ENTRY      0x490u
#define MSR_VMX_VMFUNC          0x491u
#define MSR_VMX_LAST            MSR_VMX_VMFUNC

#define FEATURE_CONTROL_LOCK            BIT(0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)
#define VMX_BASIC_TRUE_CTLS             BIT(55)
#define VMX_BASIC_REVISION(b)           ((u32)(b)&0x7fffffffu)
#define VMX_BASIC_REGION_SIZE(b)        ((u32)((b) >> 32) & 0x1fffu)
#define VMX_BASIC_WB                    6 /* memory type field, bits 53:50 */
#define VMX_BASIC_MEMTYPE(b)            ((u32)((b) >> 50) & 0xfu)

/* IA32_VMX_EPT_VPID_CAP (Appendix A.10). */
#define EPT_CAP_WALK_4        BIT(6)
#define EPT_CAP_WB            BIT(14)
#define EPT_CAP_2MB           BIT(16)
#define EPT_CAP_1GB           BIT(17)
#define EPT_CAP_INVEPT        BIT(20)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL    BIT(26)
#define VPID_CAP_INVVPID      BIT(32)

#define CR4_VMXE BIT(13)
#define CR0_NE   BIT(5)

/* Basic exit reasons (Appendix C). */
enum vmx_exit_reason {
    VMX_EXIT_EXCEPTION_NMI = 0,
    VMX_EXIT_EXTERNAL_INTERRUPT = 1,
    VMX_EXIT_TRIPLE_FAULT = 2,
    VMX_EXIT_INIT = 3,
    VMX_EXIT_SIPI = 4,
    VMX_EXIT_INTERRUPT_WINDOW = 7,
    VMX_EXIT_NMI_WINDOW = 8,
    VMX_EXIT_TASK_SWITCH = 9,
    VMX_EXIT_CPUID = 10,
    VMX_EXIT_GETSEC = 11,
    VMX_EXIT_HLT = 12,
    VMX_EXIT_INVD = 13,
    VMX_EXIT_INVLPG = 14,
    VMX_EXIT_RDPMC = 15,
    VMX_EXIT_RDTSC = 16,
    VMX_EXIT_RSM = 17,
    VMX_EXIT_VMCALL = 18,
    VMX_EXIT_VMCLEAR = 19,
    VMX_EXIT_VMLAUNCH = 20,
    VMX_EXIT_VMPTRLD = 21,
    VMX_EXIT_VMPTRST = 22,
    VMX_EXIT_VMREAD = 23,
    VMX_EXIT_VMRESUME = 24,
    VMX_EXIT_VMWRITE = 25,
    VMX_EXIT_VMXOFF = 26,
    VMX_EXIT_VMXON = 27,
    VMX_EXIT_CR_ACCESS = 28,
    VMX_EXIT_MOV_DR = 29,
    VMX_EXIT_IO = 30,
    VMX_EXIT_RDMSR = 31,
    VMX_EXIT_WRMSR = 32,
    VMX_EXIT_INVALID_GUEST_STATE = 33,
    VMX_EXIT_MSR_LOADING = 34,
    VMX_EXIT_MWAIT = 36,
    VMX_EXIT_MONITOR_TRAP_FLAG = 37,
    VMX_EXIT_MONITOR = 39,
    VMX_EXIT_PAUSE = 40,
    VMX_EXIT_MACHINE_CHECK = 41,
    VMX_EXIT_PREEMPTION_TIMER = 52,
    VMX_EXIT_EPT_VIOLATION = 48,
    VMX_EXIT_EPT_MISCONFIG = 49,
    VMX_EXIT_INVEPT = 50,
    VMX_EXIT_INVVPID = 53,
    VMX_EXIT_XSETBV = 55,
    VMX_EXIT_VMFUNC = 59,
    VMX_EXIT_TABLE_SIZE = 70,
};

#define VMX_EXIT_REASON_BASIC(r)   ((r)&0xffffu)
#define VMX_EXIT_REASON_ENTRY_FAIL BIT(31)

#endif
