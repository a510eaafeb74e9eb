/*
 * Guest-virtual → guest-physical translation and guest-virtual reads (docs/gva.md).
 *
 * A read-only software walk of the guest's own page tables, as the CPU would do it for the
 * guest's current paging mode: paging off, 32-bit (4 KiB / 4 MiB PSE), PAE (4 KiB / 2 MiB),
 * 4-level and 5-level long mode (4 KiB / 2 MiB / 1 GiB). Nothing the guest controls is trusted:
 * every page-table entry is read once, through gmem_ptr(), and a table outside guest RAM ends the
 * walk with GVA_ERR_GPA instead of a hypervisor read. Walks are bounded by the level count, so a
 * self-referencing table cannot loop. Accessed/dirty bits are never written.
 */
#ifndef POSTERN_GVA_H
#define POSTERN_GVA_H

#include "lib/types.h"
#include "core/guest_mem.h"
#include "core/vcpu.h"

/* The guest's paging state, captured from the vCPU (gva_mode_from_vcpu). efer must include LMA. */
struct gva_mode {
    u64 cr0, cr3, cr4, efer;
};

/* Architectural bits the walker looks at. */
#define GVA_CR0_WP    BIT(16)
#define GVA_CR0_PG    BIT(31)
#define GVA_CR4_PSE   BIT(4)
#define GVA_CR4_PAE   BIT(5)
#define GVA_CR4_LA57  BIT(12)
#define GVA_CR4_SMEP  BIT(20)
#define GVA_CR4_SMAP  BIT(21)
#define GVA_EFER_LMA  BIT(10)
#define GVA_EFER_NXE  BIT(11)
#define GVA_RFLAGS_AC BIT(18)

/* The physical-address width assumed for reserved-bit checks (the architectural maximum). */
#define GVA_MAXPHYADDR 52

/*
 * Access flags. Exactly one of READ/WRITE/FETCH and exactly one of USER/SUPERVISOR are required;
 * anything else is GVA_ERR_INVAL.
 *   USER        the access is made at CPL 3.
 *   SUPERVISOR  the access is made at CPL 0-2.
 *   AC          RFLAGS.AC was set (SMAP lets explicit supervisor data accesses reach user pages).
 *   IMPLICIT    an implicit supervisor access (GDT/IDT/TSS...): SMAP applies whatever AC says.
 */
#define GVA_READ       BIT(0)
#define GVA_WRITE      BIT(1)
#define GVA_FETCH      BIT(2)
#define GVA_USER       BIT(3)
#define GVA_SUPERVISOR BIT(4)
#define GVA_AC         BIT(5)
#define GVA_IMPLICIT   BIT(6)

/*
 * *fault: a #PF error code (bits 0-4 architectural) on GVA_ERR_PF, injectable with CR2 = the
 * faulting address. The other errors set a software bit (16+) on top of the access bits W/U/I:
 * they are the hypervisor's business, never to be injected as a #PF.
 */
#define GVA_PF_P          BIT(0)  /* 0: not present; 1: protection or reserved-bit violation */
#define GVA_PF_W          BIT(1)  /* the access was a write */
#define GVA_PF_U          BIT(2)  /* the access was a user-mode (CPL 3) access */
#define GVA_PF_RSVD       BIT(3)  /* a reserved bit was set in a paging-structure entry */
#define GVA_PF_I          BIT(4)  /* instruction fetch (when NX is enabled in PAE/long mode, or SMEP) */
#define GVA_FAULT_ADDR    BIT(16) /* non-canonical, or above 4 GiB outside long mode */
#define GVA_FAULT_OUTSIDE BIT(17) /* a paging structure or the data lies outside guest RAM */
#define GVA_FAULT_INVAL   BIT(18) /* bad arguments, access flags or paging mode */

/* Return values. */
#define GVA_OK        0
#define GVA_ERR_PF    (-1) /* the guest's page tables deny the access: *fault is a #PF code */
#define GVA_ERR_ADDR  (-2) /* non-canonical address (#GP/#SS on hardware) */
#define GVA_ERR_GPA   (-3) /* a page table (or, for gva_read, the data) is not in guest RAM */
#define GVA_ERR_INVAL (-4) /* NULL pointer, bad access flags, len too large, inconsistent mode */

/* The most gva_read copies in one call. */
#define GVA_READ_MAX KiB(64)

/* Translate gva for the given access. On GVA_OK *gpa is the guest-physical address (which may
 * still be outside guest RAM: device windows) and *fault is 0. fault may be NULL. */
int gva_translate(const struct guest_mem *gm, const struct gva_mode *mode, u64 gva, u32 access, u64 *gpa, u32 *fault);

/* Copy len (≤ GVA_READ_MAX) bytes at gva into dst, translating each page separately; every byte
 * must be in guest RAM. On any error dst is zeroed (no partial data) and *fault describes the
 * first page that failed. len 0 succeeds without a translation. */
int gva_read(const struct guest_mem *gm, const struct gva_mode *mode, u64 gva, void *dst, u64 len, u32 access,
             u32 *fault);

/* An 8-byte read (stack slot, return address), page-crossing allowed; *val is 0 on error. */
int gva_read_u64(const struct guest_mem *gm, const struct gva_mode *mode, u64 gva, u64 *val, u32 access, u32 *fault);

/* Capture the vCPU's paging state. */
static inline void gva_mode_from_vcpu(struct vcpu *v, struct gva_mode *m)
{
    m->cr0 = vcpu_ops->cr(v, 0);
    m->cr3 = vcpu_ops->cr(v, 3);
    m->cr4 = vcpu_ops->cr(v, 4);
    m->efer = vcpu_ops->efer(v);
}

/* Access flags for an access of the given kind (GVA_READ/WRITE/FETCH) made by the vCPU as it is
 * now: its CPL and RFLAGS.AC. */
static inline u32 gva_vcpu_access(struct vcpu *v, u32 kind)
{
    u32 a = kind | (vcpu_ops->cpl(v) == 3 ? GVA_USER : GVA_SUPERVISOR);
    if (v->regs[REG_RFLAGS] & GVA_RFLAGS_AC)
        a |= GVA_AC;
    return a;
}

#endif
