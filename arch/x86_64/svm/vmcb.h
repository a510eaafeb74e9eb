/*
 * The Virtual Machine Control Block, AMD APM Vol. 2 Appendix B ("Layout of VMCB").
 * Offsets are checked at compile time against the manual's table.
 */
#ifndef POSTERN_SVM_VMCB_H
#define POSTERN_SVM_VMCB_H

#include "lib/types.h"

/* Intercept vector 3 (offset 00Ch), Table B-1. */
#define INTERCEPT_INTR      BIT(0)
#define INTERCEPT_NMI       BIT(1)
#define INTERCEPT_SMI       BIT(2)
#define INTERCEPT_VINTR     BIT(4)
#define INTERCEPT_INIT      BIT(3)
#define INTERCEPT_CPUID     BIT(18)
#define INTERCEPT_IRET      BIT(20)
#define INTERCEPT_INVD      BIT(22)
#define INTERCEPT_PAUSE     BIT(23)
#define INTERCEPT_HLT       BIT(24)
#define INTERCEPT_INVLPGA   BIT(26)
#define INTERCEPT_IOIO_PROT BIT(27)
#define INTERCEPT_MSR_PROT  BIT(28)
#define INTERCEPT_SHUTDOWN  BIT(31)
/* Intercept vector 4 (offset 010h). */
#define INTERCEPT_VMRUN       BIT(0)
#define INTERCEPT_VMMCALL     BIT(1)
#define INTERCEPT_VMLOAD      BIT(2)
#define INTERCEPT_VMSAVE      BIT(3)
#define INTERCEPT_STGI        BIT(4)
#define INTERCEPT_CLGI        BIT(5)
#define INTERCEPT_SKINIT      BIT(6)
#define INTERCEPT_WBINVD      BIT(9)
#define INTERCEPT_MONITOR     BIT(10)
#define INTERCEPT_MWAIT       BIT(11) /* unconditionally */
#define INTERCEPT_MWAIT_ARMED BIT(12) /* only if the monitor hardware is armed */
#define INTERCEPT_XSETBV      BIT(13)
#define INTERCEPT_CR_WRITE(n) BIT(n) /* intercept_cr_write, §15.9.1 */

/* VINTR (offset 060h), §15.21.4: a virtual interrupt the hypervisor requests only to get an exit
 * when the guest can take one (interrupt window). */
#define VINTR_V_IRQ        BIT(8)
#define VINTR_V_GIF        BIT(9)
#define VINTR_V_INTR_PRIO  (0xfull << 16)
#define VINTR_V_IGN_TPR    BIT(20)
#define VINTR_V_GIF_ENABLE BIT(25)

/* TLB_CONTROL (offset 05Ch). */
#define TLB_CONTROL_DO_NOTHING 0
#define TLB_CONTROL_FLUSH_ALL  1

/* EVENTINJ (offset 0A8h), §15.20. */
#define EVENTINJ_VALID          BIT(31)
#define EVENTINJ_ERR_VALID      BIT(11)
#define EVENTINJ_TYPE_INTR      (0ull << 8)
#define EVENTINJ_TYPE_NMI       (2ull << 8)
#define EVENTINJ_TYPE_EXCEPTION (3ull << 8)
#define EVENTINJ_TYPE_SOFT      (4ull << 8)
#define EVENTINJ_TYPE_MASK      (7ull << 8)
/* EXITINTINFO (offset 088h), §15.7.2, has EVENTINJ's format: the event whose delivery the exit
 * interrupted. */

#define NP_ENABLE BIT(0)

/* Exit codes, Appendix C. */
#define SVM_EXIT_CR4_WRITE   0x014
#define SVM_EXIT_EXCP_BASE   0x040
#define SVM_EXIT_INTR        0x060
#define SVM_EXIT_NMI         0x061
#define SVM_EXIT_SMI         0x062
#define SVM_EXIT_INIT        0x063
#define SVM_EXIT_VINTR       0x064
#define SVM_EXIT_EXCP_LAST   0x05f
#define SVM_EXIT_CPUID       0x072
#define SVM_EXIT_IRET        0x074
#define SVM_EXIT_INVD        0x076
#define SVM_EXIT_PAUSE       0x077
#define SVM_EXIT_HLT         0x078
#define SVM_EXIT_INVLPGA     0x07a
#define SVM_EXIT_IOIO        0x07b
#define SVM_EXIT_MSR         0x07c
#define SVM_EXIT_SHUTDOWN    0x07f
#define SVM_EXIT_WBINVD      0x089
#define SVM_EXIT_VMRUN       0x080
#define SVM_EXIT_VMMCALL     0x081
#define SVM_EXIT_VMLOAD      0x082
#define SVM_EXIT_VMSAVE      0x083
#define SVM_EXIT_STGI        0x084
#define SVM_EXIT_CLGI        0x085
#define SVM_EXIT_SKINIT      0x086
#define SVM_EXIT_MONITOR     0x08a
#define SVM_EXIT_MWAIT       0x08b
#define SVM_EXIT_MWAIT_ARMED 0x08c
#define SVM_EXIT_XSETBV      0x08d
#define SVM_EXIT_NPF         0x400
#define SVM_EXIT_INVALID     0xffffffffu /* compared as 32 bits: QEMU reports it that way */
#define SVM_EXIT_TABLE_SIZE  0x401

/* IOIO EXITINFO1, §15.10.2 */
#define IOIO_TYPE_IN    BIT(0)
#define IOIO_STR        BIT(2)
#define IOIO_REP        BIT(3)
#define IOIO_SZ8        BIT(4)
#define IOIO_SZ16       BIT(5)
#define IOIO_SZ32       BIT(6)
#define IOIO_PORT_SHIFT 16

/* NPF EXITINFO1 (a page-fault error code), §15.25.6 */
#define NPF_PRESENT BIT(0)
#define NPF_WRITE   BIT(1)
#define NPF_USER    BIT(2)
#define NPF_FETCH   BIT(4)

struct vmcb_segment {
    u16 selector;
    u16 attrib;
    u32 limit;
    u64 base;
} PACKED;

struct vmcb_control {
    u16 intercept_cr_read;    /* 000h */
    u16 intercept_cr_write;   /* 002h */
    u16 intercept_dr_read;    /* 004h */
    u16 intercept_dr_write;   /* 006h */
    u32 intercept_exceptions; /* 008h */
    u32 intercept_misc1;      /* 00Ch */
    u32 intercept_misc2;      /* 010h */
    u32 intercept_misc3;      /* 014h */
    u8 reserved1[0x03c - 0x018];
    u16 pause_filter_threshold; /* 03Ch */
    u16 pause_filter_count;     /* 03Eh */
    u64 iopm_base_pa;           /* 040h */
    u64 msrpm_base_pa;          /* 048h */
    u64 tsc_offset;             /* 050h */
    u32 guest_asid;             /* 058h */
    u8 tlb_control;             /* 05Ch */
    u8 reserved2[3];
    u64 vintr;            /* 060h: V_TPR, V_IRQ, V_INTR_MASKING, ... */
    u64 interrupt_shadow; /* 068h */
    u64 exit_code;        /* 070h */
    u64 exit_info1;       /* 078h */
    u64 exit_info2;       /* 080h */
    u64 exit_int_info;    /* 088h */
    u64 np_enable;        /* 090h */
    u64 avic_apic_bar;    /* 098h */
    u64 ghcb_pa;          /* 0A0h */
    u64 event_inj;        /* 0A8h */
    u64 n_cr3;            /* 0B0h */
    u64 lbr_virt_enable;  /* 0B8h */
    u32 vmcb_clean;       /* 0C0h */
    u32 reserved3;
    u64 next_rip;      /* 0C8h */
    u8 insn_len;       /* 0D0h */
    u8 insn_bytes[15]; /* 0D1h */
    u8 reserved4[0x400 - 0x0e0];
} PACKED;

struct vmcb_save {
    struct vmcb_segment es, cs, ss, ds, fs, gs; /* 400h .. 450h */
    struct vmcb_segment gdtr, ldtr, idtr, tr;   /* 460h .. 490h */
    u8 reserved1[0x4cb - 0x4a0];
    u8 cpl; /* 4CBh */
    u32 reserved2;
    u64 efer; /* 4D0h */
    u8 reserved3[0x548 - 0x4d8];
    u64 cr4;    /* 548h */
    u64 cr3;    /* 550h */
    u64 cr0;    /* 558h */
    u64 dr7;    /* 560h */
    u64 dr6;    /* 568h */
    u64 rflags; /* 570h */
    u64 rip;    /* 578h */
    u8 reserved4[0x5d8 - 0x580];
    u64 rsp;                                     /* 5D8h */
    u64 s_cet, ssp, isst_addr;                   /* 5E0h .. 5F0h */
    u64 rax;                                     /* 5F8h */
    u64 star, lstar, cstar, sfmask;              /* 600h .. 618h */
    u64 kernel_gs_base;                          /* 620h */
    u64 sysenter_cs, sysenter_esp, sysenter_eip; /* 628h .. 638h */
    u64 cr2;                                     /* 640h */
    u8 reserved5[0x668 - 0x648];
    u64 g_pat;                                        /* 668h */
    u64 dbgctl;                                       /* 670h */
    u64 br_from, br_to, last_excp_from, last_excp_to; /* 678h .. 690h */
    u8 reserved6[0x1000 - 0x698];
} PACKED;

struct vmcb {
    struct vmcb_control control;
    struct vmcb_save save;
} PACKED;

#define VMCB_OFFSET(f) __builtin_offsetof(struct vmcb, f)
_Static_assert(VMCB_OFFSET(control.intercept_misc1) == 0x00c, "VMCB layout");
_Static_assert(VMCB_OFFSET(control.iopm_base_pa) == 0x040, "VMCB layout");
_Static_assert(VMCB_OFFSET(control.guest_asid) == 0x058, "VMCB layout");
_Static_assert(VMCB_OFFSET(control.exit_code) == 0x070, "VMCB layout");
_Static_assert(VMCB_OFFSET(control.np_enable) == 0x090, "VMCB layout");
_Static_assert(VMCB_OFFSET(control.event_inj) == 0x0a8, "VMCB layout");
_Static_assert(VMCB_OFFSET(control.n_cr3) == 0x0b0, "VMCB layout");
_Static_assert(VMCB_OFFSET(control.next_rip) == 0x0c8, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.es) == 0x400, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.tr) == 0x490, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.cpl) == 0x4cb, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.efer) == 0x4d0, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.cr4) == 0x548, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.rflags) == 0x570, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.rip) == 0x578, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.rsp) == 0x5d8, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.rax) == 0x5f8, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.star) == 0x600, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.cr2) == 0x640, "VMCB layout");
_Static_assert(VMCB_OFFSET(save.g_pat) == 0x668, "VMCB layout");
_Static_assert(sizeof(struct vmcb) == PAGE_SIZE, "the VMCB is one 4 KiB page");

/* Segment attribute encoding in the VMCB (§15.5.1): type[3:0] S[4] DPL[6:5] P[7] AVL[8] L[9] DB[10] G[11]. */
#define SEG_ATTR_CODE64 0x0a9b
#define SEG_ATTR_DATA   0x0c93
#define SEG_ATTR_TSS64  0x008b
#define SEG_ATTR_LDT    0x0082

/* The SVM MSR permission map covers three MSR ranges, 2 bits each (§15.11). */
#define MSRPM_SIZE (2 * PAGE_SIZE)
#define IOPM_SIZE  (3 * PAGE_SIZE)

#endif
