/*
 * How the IOMMU back ends reach a register block. On the machine that is uncached MMIO at the
 * unit's host-physical base (identity-mapped, like all host memory); the host unit tests give a
 * model of the device instead (tests/unit/test_iommu_hw.c), so the enable sequences and the fault
 * readers run there too.
 *
 * Widths follow the manuals: AMD-Vi registers are 64-bit; VT-d has 32-bit registers (GCMD, GSTS,
 * FSTS, and the dword of a fault record that holds F) and 64-bit ones. QEMU 7.2's VT-d model
 * asserts on the wrong width for several of them (docs/iommu.md), so each caller picks the width
 * its manual gives.
 */
#ifndef POSTERN_IOMMU_REGS_H
#define POSTERN_IOMMU_REGS_H

#include "lib/types.h"

struct iommu_regs {
    u32 (*rd32)(void *ctx, u32 off);
    u64 (*rd64)(void *ctx, u32 off);
    void (*wr32)(void *ctx, u32 off, u32 v);
    void (*wr64)(void *ctx, u32 off, u64 v);
    void *ctx;
};

static inline u32 reg_rd32(const struct iommu_regs *r, u32 off) { return r->rd32(r->ctx, off); }
static inline u64 reg_rd64(const struct iommu_regs *r, u32 off) { return r->rd64(r->ctx, off); }
static inline void reg_wr32(const struct iommu_regs *r, u32 off, u32 v) { r->wr32(r->ctx, off, v); }
static inline void reg_wr64(const struct iommu_regs *r, u32 off, u64 v) { r->wr64(r->ctx, off, v); }

/* Where the back ends get their tables: a zeroed, 4 KiB aligned run of npages contiguous pages
 * (host-physical, identity-mapped); 0 when out of memory. */
typedef hpa_t (*iommu_alloc_fn)(u64 npages);

/* Make every store to memory so far visible before the next register write (the device reads the
 * tables we wrote after it sees the register). x86 keeps stores in order; this also stops the
 * compiler from moving them. */
static inline void iommu_wmb(void) { __asm__ volatile("" ::: "memory"); }

/* Polling budget for a register or memory word the hardware is expected to change "soon" (command
 * completion, status bits). There is no timer in the hypervisor yet, so it is a count of reads:
 * tens of milliseconds on hardware, far longer than any IOMMU takes. */
#define IOMMU_POLL_LIMIT 10000000u

#endif
