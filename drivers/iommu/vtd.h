/*
 * Intel VT-d back end, legacy (non-scalable) translation (Intel Virtualization Technology for
 * Directed I/O, Architecture Specification, rev 3.x+).
 *
 * One root table whose 256 entries all point to one context table (every bus looks the same),
 * whose 256 entries are all present, type 00b (untranslated requests through the second-level
 * table), domain 1, pointing to the one DMA page table (guest RAM only). Nothing is passed
 * through: a request that misses the page table faults and is blocked. Invalidation through the
 * context-command and IOTLB registers, or through the invalidation queue when the unit must use it.
 */
#ifndef POSTERN_VTD_H
#define POSTERN_VTD_H

#include "lib/types.h"
#include "core/npt.h"
#include "iommu_regs.h"

#define VTD_DOMAIN 1

/* Registers (§11.4). */
#define VTD_VER    0x00
#define VTD_CAP    0x08
#define VTD_ECAP   0x10
#define VTD_GCMD   0x18 /* 32-bit */
#define VTD_GSTS   0x1c /* 32-bit */
#define VTD_RTADDR 0x20
#define VTD_CCMD   0x28
#define VTD_FSTS   0x34 /* 32-bit */
#define VTD_FECTL  0x38 /* 32-bit */
#define VTD_PMEN   0x64 /* 32-bit */
#define VTD_IQH    0x80
#define VTD_IQT    0x88
#define VTD_IQA    0x90

/* GCMD / GSTS bits. */
#define VTD_GCMD_TE   BIT(31)
#define VTD_GCMD_SRTP BIT(30)
#define VTD_GCMD_WBF  BIT(27)
#define VTD_GCMD_QIE  BIT(26)
#define VTD_GCMD_IRE  BIT(25)
#define VTD_GSTS_TES  BIT(31)
#define VTD_GSTS_RTPS BIT(30)
#define VTD_GSTS_WBFS BIT(27)
#define VTD_GSTS_QIES BIT(26)
#define VTD_GSTS_IRES BIT(25)
#define VTD_PMEN_EPM  BIT(31) /* protected memory regions enabled */
#define VTD_PMEN_PRS  BIT(0)  /* ... and in force */
/* GSTS bits that are status of one-shot commands, not state to write back into GCMD (§11.4.4.1). */
#define VTD_GSTS_ONESHOT_MASK 0x96ffffffu

#define VTD_CCMD_ICC     BIT(63)
#define VTD_CCMD_GLOBAL  (1ull << 61)
#define VTD_IOTLB_IVT    BIT(63)
#define VTD_IOTLB_GLOBAL (1ull << 60)
#define VTD_IOTLB_DR     BIT(49)
#define VTD_IOTLB_DW     BIT(48)

#define VTD_FSTS_PFO    BIT(0)
#define VTD_FSTS_PPF    BIT(1)
#define VTD_FSTS_IQE    BIT(4)
#define VTD_FSTS_FRI(f) (((f) >> 8) & 0xff)
#define VTD_FRCD_F      BIT(63) /* in the upper quadword */
#define VTD_FRCD_T      BIT(62) /* 1: read request, 0: write */

/* CAP fields. */
#define VTD_CAP_RWBF(c)     (((c) >> 4) & 1) /* the unit buffers writes: flush after table changes */
#define VTD_CAP_PLMR(c)     (((c) >> 5) & 1)
#define VTD_CAP_PHMR(c)     (((c) >> 6) & 1)
#define VTD_CAP_SAGAW(c)    (((c) >> 8) & 0x1f) /* bit 1: 39-bit 3-level, bit 2: 48-bit 4-level */
#define VTD_CAP_MGAW(c)     ((u32)(((c) >> 16) & 0x3f) + 1)
#define VTD_CAP_FRO(c)      ((u32)(((c) >> 24) & 0x3ff) * 16)
#define VTD_CAP_SLLPS_2M(c) (((c) >> 34) & 1)
#define VTD_CAP_NFR(c)      ((u32)(((c) >> 40) & 0xff) + 1)
#define VTD_CAP_DWD(c)      (((c) >> 54) & 1)
#define VTD_CAP_DRD(c)      (((c) >> 55) & 1)
/* ECAP fields. */
#define VTD_ECAP_C(e)    ((e)&1) /* page walks snoop the CPU caches */
#define VTD_ECAP_QI(e)   (((e) >> 1) & 1)
#define VTD_ECAP_IRO(e)  ((u32)(((e) >> 8) & 0x3ff) * 16)
#define VTD_ECAP_SMTS(e) (((e) >> 43) & 1)

/* Second-level page-table formats (§9.8): R bit 0, W bit 1, PS bit 7 in a 2 MiB leaf, address
 * bits 51:12 (bits above the host address width must be 0). levels is 3 (39-bit) or 4 (48-bit);
 * large only when CAP.SLLPS says 2 MiB pages are supported. */
const struct npt_format *vtd_pt_format(int levels, bool large);

/* The context-entry AW field for a walk of `levels` levels (1: 39-bit, 2: 48-bit). */
static inline u8 vtd_aw(int levels) { return (u8)(levels - 2); }

/* One root entry (§9.1) and one context entry (§9.3), as two little-endian quadwords each. */
void vtd_root_entry(u64 re[2], hpa_t context_table);
void vtd_context_entry(u64 ce[2], hpa_t pt_root, int levels, u16 domain);

/* Root table + one shared context table; returns the root table, 0 when out of memory. */
hpa_t vtd_build_tables(hpa_t pt_root, int levels, u16 domain, iommu_alloc_fn alloc);

struct vtd {
    struct iommu_regs regs;
    hpa_t base; /* for messages */
    u64 cap, ecap;
    bool queued; /* invalidation through the queue, not the registers */
    u8 *iq;      /* invalidation queue (4 KiB, 256 descriptors) */
    u32 iq_tail;
    volatile u32 *iq_status;
    u32 iq_seq;
    u64 faults;
};

/* Read CAP/ECAP into u (no side effects). */
void vtd_probe(struct vtd *u);
/* The walk depth every unit can do: 4 when SAGAW allows 48-bit, else 3; 0 when neither. */
int vtd_levels(u64 cap);

/* Program one unit: translation, interrupt remapping, queued invalidation and protected memory
 * regions left on by the firmware turned off (in that order), root table pointer, write buffer
 * flushed (CAP.RWBF), context cache and IOTLB invalidated (globally), translation on. Returns 0, or -1 with a reason (translation is then left off). */
int vtd_enable(struct vtd *u, hpa_t root_table, iommu_alloc_fn alloc, char *err, size_t errsz);
/* Log and clear every pending fault record ("iommu: blocked DMA ..."); report and clear overflow.
 * Returns the number of lines logged. */
u32 vtd_poll_faults(struct vtd *u);
/* The DMA page tables changed: write them back if walks do not snoop, then invalidate the
 * context cache and IOTLB (queued or register-based, as enabled). */
bool vtd_invalidate(struct vtd *u);
/* One fault record (lo, hi quadwords) as a log line. */
void vtd_fault_str(u64 lo, u64 hi, char *buf, size_t n);

/* Write back the CPU caches so a unit whose walks do not snoop (ECAP.C = 0) sees the tables. */
void vtd_flush_cpu_caches(void);

#endif
