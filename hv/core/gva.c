/* Guest-virtual address translation: see gva.h and docs/gva.md. References: Intel SDM Vol. 3A
 * ch. 4 (paging), AMD APM Vol. 2 ch. 5 (page translation and protection). */
#include "core/gva.h"
#include "lib/lib.h"

#define PTE_P  BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PS BIT(7)
#define PTE_XD BIT(63)

/* Physical-address bits M-1:12 of a 64-bit entry, and the reserved bits above them. */
#define ADDR_MASK     ((BIT(GVA_MAXPHYADDR) - 1) & ~(PAGE_SIZE - 1))
#define RSVD_HIGH_LM  ((BIT(52) - 1) & ~(BIT(GVA_MAXPHYADDR) - 1)) /* 51:M; 62:52 are ignored */
#define RSVD_HIGH_PAE ((BIT(63) - 1) & ~(BIT(GVA_MAXPHYADDR) - 1)) /* 62:M */
/* PAE PDPTE: 63:M, 8:5 and 2:1 reserved (no R/W, U/S or XD there). */
#define RSVD_PDPTE (~(BIT(GVA_MAXPHYADDR) - 1) | 0x1e0ull | 0x6ull)

#define ENTRY32_ADDR  0xfffff000ull
#define PDE32_4M_ADDR 0xffc00000ull
#define PDE32_4M_RSVD BIT(21)

enum paging { PAGING_OFF, PAGING_32, PAGING_PAE, PAGING_4, PAGING_5, PAGING_BAD };

/* What the walk accumulates over the levels it visits. */
struct walk {
    bool rw; /* every level writable */
    bool us; /* every level user */
    bool xd; /* some level execute-disable (only when NX is enabled) */
    u64 gpa;
};

static enum paging paging_of(const struct gva_mode *m)
{
    bool lma = m->efer & GVA_EFER_LMA;
    if (!(m->cr0 & GVA_CR0_PG))
        return lma ? PAGING_BAD : PAGING_OFF; /* LMA is only ever set with paging on */
    if (!(m->cr4 & GVA_CR4_PAE))
        return lma ? PAGING_BAD : PAGING_32; /* long mode requires PAE */
    if (!lma)
        return PAGING_PAE;
    return (m->cr4 & GVA_CR4_LA57) ? PAGING_5 : PAGING_4;
}

static bool access_valid(u32 a)
{
    u32 kind = a & (GVA_READ | GVA_WRITE | GVA_FETCH);
    u32 priv = a & (GVA_USER | GVA_SUPERVISOR);
    if (a & ~(GVA_READ | GVA_WRITE | GVA_FETCH | GVA_USER | GVA_SUPERVISOR | GVA_AC | GVA_IMPLICIT))
        return false;
    if (kind != GVA_READ && kind != GVA_WRITE && kind != GVA_FETCH)
        return false;
    if (priv != GVA_USER && priv != GVA_SUPERVISOR)
        return false;
    return !((a & GVA_IMPLICIT) && priv != GVA_SUPERVISOR);
}

/* Read entry `index` (of `size` bytes) of the table at guest-physical `table`, once: the guest
 * may change its tables concurrently, and each decision below must use the same value. */
static bool read_entry(const struct guest_mem *gm, u64 table, u64 index, unsigned size, u64 *out)
{
    const void *p = gmem_ptr(gm, table + index * size, size);
    if (!p)
        return false;
    if (size == 8)
        *out = *(const volatile u64 *)p;
    else
        *out = *(const volatile u32 *)p;
    return true;
}

/* Outcome of one walk step, turned into a return value and error code by gva_translate. */
enum step { STEP_OK, STEP_NOT_PRESENT, STEP_RSVD, STEP_OUTSIDE };

static void accumulate(struct walk *w, u64 e, bool nx)
{
    w->rw = w->rw && (e & PTE_RW);
    w->us = w->us && (e & PTE_US);
    if (nx && (e & PTE_XD))
        w->xd = true;
}

/*
 * The 64-bit-entry levels shared by PAE (levels 2..1 below its PDPT) and long mode (levels
 * 5/4..1). Level n indexes gva bits 12+9n-1 : 12+9(n-1). At level 2 (and 3 in long mode) PS=1
 * is a large page; at levels 4 and 5 PS is reserved. Bounded by `top` iterations.
 */
static enum step walk64(const struct guest_mem *gm, u64 table, int top, u64 gva, bool nx, u64 rsvd_high, struct walk *w)
{
    for (int level = top; level >= 1; level--) {
        unsigned shift = PAGE_SHIFT + 9 * (level - 1);
        u64 offset_mask = BIT(shift) - 1;
        u64 e, rsvd = rsvd_high | (nx ? 0 : PTE_XD);
        bool leaf = level == 1;

        if (!read_entry(gm, table, (gva >> shift) & 511, 8, &e))
            return STEP_OUTSIDE;
        if (!(e & PTE_P))
            return STEP_NOT_PRESENT;
        if (level >= 4)
            rsvd |= PTE_PS;
        else if (level >= 2 && (e & PTE_PS)) {
            leaf = true;
            rsvd |= offset_mask & ~(BIT(13) - 1); /* bits shift-1:13 (bit 12 is PAT) */
        }
        if (e & rsvd)
            return STEP_RSVD;
        accumulate(w, e, nx);
        if (leaf) {
            w->gpa = (e & ADDR_MASK & ~offset_mask) | (gva & offset_mask);
            return STEP_OK;
        }
        table = e & ADDR_MASK;
    }
    return STEP_RSVD; /* unreachable: level 1 is always a leaf */
}

static enum step walk_pae(const struct guest_mem *gm, const struct gva_mode *m, u64 gva, bool nx, struct walk *w)
{
    u64 pdpte;
    /* CR3 is 32 bits outside long mode; the PDPT is 32-byte aligned. The CPU loads the four
     * PDPTEs at CR3 load (Intel) or reads them on each walk (AMD under nested paging); reading
     * them now is the latter. */
    if (!read_entry(gm, m->cr3 & 0xffffffe0ull, (gva >> 30) & 3, 8, &pdpte))
        return STEP_OUTSIDE;
    if (!(pdpte & PTE_P))
        return STEP_NOT_PRESENT;
    if (pdpte & RSVD_PDPTE)
        return STEP_RSVD;
    return walk64(gm, pdpte & ADDR_MASK, 2, gva, nx, RSVD_HIGH_PAE, w);
}

static enum step walk_32(const struct guest_mem *gm, const struct gva_mode *m, u64 gva, struct walk *w)
{
    u64 pde, pte;
    if (!read_entry(gm, m->cr3 & ENTRY32_ADDR, (gva >> 22) & 1023, 4, &pde))
        return STEP_OUTSIDE;
    if (!(pde & PTE_P))
        return STEP_NOT_PRESENT;
    if ((m->cr4 & GVA_CR4_PSE) && (pde & PTE_PS)) {
        /* 4 MiB page: bits 31:22 are address bits 31:22, bits 20:13 address bits 39:32
         * (PSE-36/40), bit 21 reserved. */
        if (pde & PDE32_4M_RSVD)
            return STEP_RSVD;
        accumulate(w, pde, false);
        w->gpa = (pde & PDE32_4M_ADDR) | (((pde >> 13) & 0xff) << 32) | (gva & (MiB(4) - 1));
        return STEP_OK;
    }
    accumulate(w, pde, false);
    if (!read_entry(gm, pde & ENTRY32_ADDR, (gva >> 12) & 1023, 4, &pte))
        return STEP_OUTSIDE;
    if (!(pte & PTE_P))
        return STEP_NOT_PRESENT;
    accumulate(w, pte, false);
    w->gpa = (pte & ENTRY32_ADDR) | (gva & (PAGE_SIZE - 1));
    return STEP_OK;
}

static bool canonical(u64 gva, unsigned bits)
{
    s64 s = (s64)(gva << (64 - bits)) >> (64 - bits);
    return (u64)s == gva;
}

/* The permission rules of Intel SDM 4.6 / AMD APM 5.6, on the accumulated bits. */
static bool permitted(const struct gva_mode *m, const struct walk *w, u32 access)
{
    bool write = access & GVA_WRITE, fetch = access & GVA_FETCH;

    if (access & GVA_USER) {
        if (!w->us)
            return false;
        if (write && !w->rw)
            return false;
        return !(fetch && w->xd);
    }
    /* supervisor */
    if (fetch) {
        if (w->us && (m->cr4 & GVA_CR4_SMEP))
            return false;
        return !w->xd;
    }
    if (w->us && (m->cr4 & GVA_CR4_SMAP) && ((access & GVA_IMPLICIT) || !(access & GVA_AC)))
        return false;
    return !(write && !w->rw && (m->cr0 & GVA_CR0_WP));
}

static void set_fault(u32 *fault, u32 value)
{
    if (fault)
        *fault = value;
}

int gva_translate(const struct guest_mem *gm, const struct gva_mode *mode, u64 gva, u32 access, u64 *gpa, u32 *fault)
{
    struct walk w = { .rw = true, .us = true, .xd = false, .gpa = 0 };
    enum paging p;
    enum step s;
    bool nx;
    u32 code;

    if (!gm || !mode || !gpa || !access_valid(access)) {
        set_fault(fault, GVA_FAULT_INVAL);
        return GVA_ERR_INVAL;
    }
    *gpa = 0;
    p = paging_of(mode);
    nx = (mode->efer & GVA_EFER_NXE) && (p == PAGING_PAE || p == PAGING_4 || p == PAGING_5);
    code = ((access & GVA_WRITE) ? GVA_PF_W : 0) | ((access & GVA_USER) ? GVA_PF_U : 0) |
           ((access & GVA_FETCH) && (nx || (mode->cr4 & GVA_CR4_SMEP)) ? GVA_PF_I : 0);

    switch (p) {
    case PAGING_BAD:
        set_fault(fault, code | GVA_FAULT_INVAL);
        return GVA_ERR_INVAL;
    case PAGING_OFF:
    case PAGING_32:
    case PAGING_PAE:
        /* Linear addresses are 32 bits outside long mode. */
        if (gva > 0xffffffffull) {
            set_fault(fault, code | GVA_FAULT_ADDR);
            return GVA_ERR_ADDR;
        }
        break;
    case PAGING_4:
    case PAGING_5:
        if (!canonical(gva, p == PAGING_5 ? 57 : 48)) {
            set_fault(fault, code | GVA_FAULT_ADDR);
            return GVA_ERR_ADDR;
        }
        break;
    }

    switch (p) {
    case PAGING_OFF:
        *gpa = gva;
        set_fault(fault, 0);
        return GVA_OK;
    case PAGING_32:
        s = walk_32(gm, mode, gva, &w);
        break;
    case PAGING_PAE:
        s = walk_pae(gm, mode, gva, nx, &w);
        break;
    default:
        s = walk64(gm, mode->cr3 & ADDR_MASK, p == PAGING_5 ? 5 : 4, gva, nx, RSVD_HIGH_LM, &w);
        break;
    }

    switch (s) {
    case STEP_OUTSIDE:
        set_fault(fault, code | GVA_FAULT_OUTSIDE);
        return GVA_ERR_GPA;
    case STEP_NOT_PRESENT:
        set_fault(fault, code);
        return GVA_ERR_PF;
    case STEP_RSVD:
        set_fault(fault, code | GVA_PF_P | GVA_PF_RSVD);
        return GVA_ERR_PF;
    case STEP_OK:
        break;
    }
    if (!permitted(mode, &w, access)) {
        set_fault(fault, code | GVA_PF_P);
        return GVA_ERR_PF;
    }
    *gpa = w.gpa;
    set_fault(fault, 0);
    return GVA_OK;
}

int gva_read(const struct guest_mem *gm, const struct gva_mode *mode, u64 gva, void *dst, u64 len, u32 access,
             u32 *fault)
{
    u8 *d = dst;
    int rc = GVA_OK;

    if (!gm || !mode || (!dst && len) || len > GVA_READ_MAX || !access_valid(access)) {
        set_fault(fault, GVA_FAULT_INVAL);
        return GVA_ERR_INVAL;
    }
    set_fault(fault, 0);
    if (len && gva + (len - 1) < gva) { /* wraps around the address space */
        set_fault(fault, GVA_FAULT_ADDR);
        rc = GVA_ERR_ADDR;
        goto fail;
    }
    for (u64 done = 0; done < len;) {
        u64 at = gva + done;
        u64 chunk = PAGE_SIZE - (at & (PAGE_SIZE - 1));
        u64 gpa;
        const void *src;

        if (chunk > len - done)
            chunk = len - done;
        rc = gva_translate(gm, mode, at, access, &gpa, fault);
        if (rc != GVA_OK)
            goto fail;
        src = gmem_ptr(gm, gpa, chunk);
        if (!src) {
            set_fault(fault,
                      GVA_FAULT_OUTSIDE | ((access & GVA_WRITE) ? GVA_PF_W : 0) | ((access & GVA_USER) ? GVA_PF_U : 0));
            rc = GVA_ERR_GPA;
            goto fail;
        }
        memcpy(d + done, src, chunk);
        done += chunk;
    }
    return GVA_OK;

fail:
    if (len)
        memset(dst, 0, len);
    return rc;
}

int gva_read_u64(const struct guest_mem *gm, const struct gva_mode *mode, u64 gva, u64 *val, u32 access, u32 *fault)
{
    u64 v = 0;
    int rc;

    if (!val) {
        set_fault(fault, GVA_FAULT_INVAL);
        return GVA_ERR_INVAL;
    }
    rc = gva_read(gm, mode, gva, &v, sizeof(v), access, fault);
    *val = rc == GVA_OK ? v : 0;
    return rc;
}
