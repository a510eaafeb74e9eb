/*
 * VT-d back end: see vtd.h. Section numbers are those of Intel's VT-d architecture specification.
 *
 * Bring-up (§10.4.x, the order Linux's init_dmars uses): translation off if the firmware left it
 * on, root-table pointer (GCMD.SRTP, wait for GSTS.RTPS), global context-cache and IOTLB
 * invalidation, then GCMD.TE (wait for GSTS.TES). GCMD is write-only: each write carries the
 * persistent state read from GSTS plus the one command.
 */
#include "vtd.h"
#include "arch/x86_64/cpu.h"
#include "lib/bytes.h"
#include "lib/phys.h"
#include "lib/lib.h"
#include "lib/log.h"

/* ---------------------------------------------------------------- second-level page tables */
#define SL_R         BIT(0)
#define SL_W         BIT(1)
#define SL_PS        BIT(7)
#define SL_ADDR_MASK 0x000ffffffffff000ull

static u64 level_bytes(int level) { return 1ull << (PAGE_SHIFT + 9 * (level - 1)); }

static u64 sl_table_entry(hpa_t next, int level) { return (next & SL_ADDR_MASK) | SL_R | SL_W; }

static u64 sl_leaf_entry(hpa_t pa, int level, u32 perms)
{
    u64 e = pa & SL_ADDR_MASK;
    if (perms & NPT_READ)
        e |= SL_R;
    if (perms & NPT_WRITE)
        e |= SL_W;
    if (!(e & (SL_R | SL_W)))
        return 0;
    if (level > 1)
        e |= SL_PS;
    return e;
}

static bool sl_present(u64 e) { return (e & (SL_R | SL_W)) != 0; }
static bool sl_is_leaf(u64 e, int level) { return level == 1 || (e & SL_PS); }
static hpa_t sl_address(u64 e, int level)
{
    u64 mask = SL_ADDR_MASK;
    if (level > 1 && (e & SL_PS))
        mask &= ~(level_bytes(level) - 1);
    return e & mask;
}
static u32 sl_perms(u64 e) { return ((e & SL_R) ? NPT_READ : 0) | ((e & SL_W) ? NPT_WRITE : 0); }

#define SL_FORMAT(lv, lg)                                                                                              \
    {                                                                                                                  \
        .name = "VT-d second-level", .levels = lv, .large_pages = lg, .table_entry = sl_table_entry,                   \
        .leaf_entry = sl_leaf_entry, .present = sl_present, .is_leaf = sl_is_leaf, .address = sl_address,              \
        .perms = sl_perms,                                                                                             \
    }

static const struct npt_format sl_formats[2][2] = {
    { SL_FORMAT(3, false), SL_FORMAT(3, true) },
    { SL_FORMAT(4, false), SL_FORMAT(4, true) },
};

const struct npt_format *vtd_pt_format(int levels, bool large)
{
    if (levels != 3 && levels != 4)
        return NULL;
    return &sl_formats[levels - 3][large ? 1 : 0];
}

int vtd_levels(u64 cap)
{
    u32 sagaw = VTD_CAP_SAGAW(cap);
    return (sagaw & BIT(2)) ? 4 : (sagaw & BIT(1)) ? 3 : 0;
}

/* ---------------------------------------------------------------- root and context tables */
#define RE_P         BIT(0)
#define CE_P         BIT(0)
#define CE_TT_SLPT   (0ull << 2) /* untranslated requests walk the second-level table */
#define CE_DID_SHIFT 8
#define VTD_ENTRIES  256

void vtd_root_entry(u64 re[2], hpa_t context_table)
{
    re[0] = (context_table & SL_ADDR_MASK) | RE_P;
    re[1] = 0;
}

void vtd_context_entry(u64 ce[2], hpa_t pt_root, int levels, u16 domain)
{
    /* FPD = 0: faults are recorded. */
    ce[0] = (pt_root & SL_ADDR_MASK) | CE_TT_SLPT | CE_P;
    ce[1] = vtd_aw(levels) | ((u64)domain << CE_DID_SHIFT);
}

hpa_t vtd_build_tables(hpa_t pt_root, int levels, u16 domain, iommu_alloc_fn alloc)
{
    hpa_t root = alloc(1), ctx = alloc(1);
    u64 e[2];

    if (!root || !ctx)
        return 0;
    /* Every bus gets the same context table: the policy is the same for every requester. */
    vtd_context_entry(e, pt_root, levels, domain);
    for (u32 i = 0; i < VTD_ENTRIES; i++)
        memcpy((u8 *)phys_to_virt(ctx) + i * 16, e, 16);
    vtd_root_entry(e, ctx);
    for (u32 i = 0; i < VTD_ENTRIES; i++)
        memcpy((u8 *)phys_to_virt(root) + i * 16, e, 16);
    return root;
}

/* ---------------------------------------------------------------- registers */
u32 vtd_cache_flushes; /* counted for the host tests */

void vtd_flush_cpu_caches(void)
{
    vtd_cache_flushes++;
#ifndef HOST_TEST
    __asm__ volatile("wbinvd" ::: "memory");
#endif
}

void vtd_probe(struct vtd *u)
{
    u->cap = reg_rd64(&u->regs, VTD_CAP);
    u->ecap = reg_rd64(&u->regs, VTD_ECAP);
}

static bool wait_gsts(struct vtd *u, u32 bit, bool set)
{
    for (u32 n = 0; n < IOMMU_POLL_LIMIT; n++) {
        if (((reg_rd32(&u->regs, VTD_GSTS) & bit) != 0) == set)
            return true;
        cpu_relax();
    }
    return false;
}

/* GCMD write: the persistent state (from GSTS) with `bit` set or cleared. */
static bool gcmd(struct vtd *u, u32 bit, bool set, u32 status_bit, bool oneshot)
{
    u32 state = reg_rd32(&u->regs, VTD_GSTS) & VTD_GSTS_ONESHOT_MASK;
    reg_wr32(&u->regs, VTD_GCMD, set ? state | bit : state & ~bit);
    /* One-shot commands (SRTP) report completion by setting their status bit. */
    return wait_gsts(u, status_bit, oneshot || set);
}

/* The write buffer (CAP.RWBF units only): GCMD.WBF, then wait for GSTS.WBFS to clear (§6.8). */
static bool flush_write_buffer(struct vtd *u)
{
    if (!VTD_CAP_RWBF(u->cap))
        return true;
    u32 state = reg_rd32(&u->regs, VTD_GSTS) & VTD_GSTS_ONESHOT_MASK;
    reg_wr32(&u->regs, VTD_GCMD, state | VTD_GCMD_WBF);
    return wait_gsts(u, VTD_GSTS_WBFS, false);
}

/* Protected memory regions (PLMR/PHMR units) block DMA to whatever the firmware put there, our
 * tables included: off, and wait for PMEN.PRS to say so (§10.4.16, Linux's
 * iommu_disable_protect_mem_regions). */
static bool pmen_off(struct vtd *u)
{
    if (!VTD_CAP_PLMR(u->cap) && !VTD_CAP_PHMR(u->cap))
        return true;
    reg_wr32(&u->regs, VTD_PMEN, reg_rd32(&u->regs, VTD_PMEN) & ~VTD_PMEN_EPM);
    for (u32 n = 0; n < IOMMU_POLL_LIMIT; n++) {
        if (!(reg_rd32(&u->regs, VTD_PMEN) & VTD_PMEN_PRS))
            return true;
        cpu_relax();
    }
    return false;
}

static bool wait_clear64(struct vtd *u, u32 off, u64 bit)
{
    for (u32 n = 0; n < IOMMU_POLL_LIMIT; n++) {
        if (!(reg_rd64(&u->regs, off) & bit))
            return true;
        cpu_relax();
    }
    return false;
}

static u32 iotlb_reg(const struct vtd *u) { return VTD_ECAP_IRO(u->ecap) + 8; }

static u64 iotlb_drain(const struct vtd *u)
{
    return (VTD_CAP_DRD(u->cap) ? VTD_IOTLB_DR : 0) | (VTD_CAP_DWD(u->cap) ? VTD_IOTLB_DW : 0);
}

/* Register-based invalidation (§6.5.1): global context cache, then global IOTLB. */
static bool invalidate_registers(struct vtd *u)
{
    if (!flush_write_buffer(u))
        return false;
    reg_wr64(&u->regs, VTD_CCMD, VTD_CCMD_ICC | VTD_CCMD_GLOBAL);
    if (!wait_clear64(u, VTD_CCMD, VTD_CCMD_ICC))
        return false;
    reg_wr64(&u->regs, iotlb_reg(u), VTD_IOTLB_IVT | VTD_IOTLB_GLOBAL | iotlb_drain(u));
    return wait_clear64(u, iotlb_reg(u), VTD_IOTLB_IVT);
}

/* Queued invalidation (§6.5.2), 128-bit descriptors. */
#define QI_CC_GLOBAL    (0x1ull | (1ull << 4))
#define QI_IOTLB_GLOBAL (0x2ull | (1ull << 4))
#define QI_IOTLB_DR     BIT(7)
#define QI_IOTLB_DW     BIT(6)
#define QI_WAIT_SW      (0x5ull | BIT(5))
#define QI_BYTES        4096

static void qi_put(struct vtd *u, u64 lo, u64 hi)
{
    wr64(u->iq, u->iq_tail, lo);
    wr64(u->iq, u->iq_tail + 8, hi);
    u->iq_tail = (u->iq_tail + 16) % QI_BYTES;
}

static bool invalidate_queued(struct vtd *u)
{
    u32 want = ++u->iq_seq;
    u64 drain = (VTD_CAP_DRD(u->cap) ? QI_IOTLB_DR : 0) | (VTD_CAP_DWD(u->cap) ? QI_IOTLB_DW : 0);

    /* The queue holds 256 descriptors and we never have more than three in flight. */
    qi_put(u, QI_CC_GLOBAL, 0);
    qi_put(u, QI_IOTLB_GLOBAL | drain, 0);
    qi_put(u, QI_WAIT_SW | ((u64)want << 32), virt_to_phys((const void *)u->iq_status));
    if (!VTD_ECAP_C(u->ecap))
        vtd_flush_cpu_caches();
    iommu_wmb();
    if (!flush_write_buffer(u))
        return false;
    reg_wr64(&u->regs, VTD_IQT, u->iq_tail);
    for (u32 n = 0; n < IOMMU_POLL_LIMIT; n++) {
        if (*u->iq_status == want)
            return true;
        if (reg_rd32(&u->regs, VTD_FSTS) & VTD_FSTS_IQE)
            return false;
        cpu_relax();
    }
    return false;
}

static bool setup_queue(struct vtd *u, iommu_alloc_fn alloc)
{
    hpa_t iq = alloc(1), st = alloc(1);

    if (!iq || !st)
        return false;
    u->iq = phys_to_virt(iq);
    u->iq_status = phys_to_virt(st);
    u->iq_tail = 0;
    reg_wr64(&u->regs, VTD_IQT, 0);
    reg_wr64(&u->regs, VTD_IQA, iq); /* QS = 0: one 4 KiB page, DW = 0: 128-bit descriptors */
    return gcmd(u, VTD_GCMD_QIE, true, VTD_GSTS_QIES, false);
}

static int fail(struct vtd *u, char *err, size_t errsz, const char *why)
{
    fmt_snprintf(err, errsz, "VT-d unit at 0x%lx: %s", u->base, why);
    return -1;
}

int vtd_enable(struct vtd *u, hpa_t root_table, iommu_alloc_fn alloc, char *err, size_t errsz)
{
    u32 gsts = reg_rd32(&u->regs, VTD_GSTS);

    if ((gsts & VTD_GSTS_TES) && !gcmd(u, VTD_GCMD_TE, false, VTD_GSTS_TES, false))
        return fail(u, err, errsz, "translation left on by the firmware does not turn off");
    /* The queue is needed when the firmware turned it on (register-based invalidation is then
     * forbidden, §6.5.2) or the unit does scalable mode, where the registers may be absent. */
    u->queued = (gsts & VTD_GSTS_QIES) || (VTD_ECAP_QI(u->ecap) && VTD_ECAP_SMTS(u->ecap));
    /* Interrupt remapping uses the queue for its own invalidations: off first (Linux does the same
     * in intel_cleanup_irq_remapping before QI). Ours stays off (docs/iommu.md). */
    if ((gsts & VTD_GSTS_IRES) && !gcmd(u, VTD_GCMD_IRE, false, VTD_GSTS_IRES, false))
        return fail(u, err, errsz, "interrupt remapping left on by the firmware does not turn off");
    if ((gsts & VTD_GSTS_QIES) && !gcmd(u, VTD_GCMD_QIE, false, VTD_GSTS_QIES, false))
        return fail(u, err, errsz, "the firmware's invalidation queue does not turn off");
    if (!pmen_off(u))
        return fail(u, err, errsz, "protected memory regions (PMEN) do not turn off");

    if (!VTD_ECAP_C(u->ecap))
        vtd_flush_cpu_caches(); /* root, context and page tables must be in memory, not only cached */
    iommu_wmb();
    reg_wr64(&u->regs, VTD_RTADDR, root_table); /* TTM = 00b: legacy root and context entries */
    if (!gcmd(u, VTD_GCMD_SRTP, true, VTD_GSTS_RTPS, true))
        return fail(u, err, errsz, "root-table pointer not latched (GSTS.RTPS)");

    if (u->queued) {
        if (!setup_queue(u, alloc))
            return fail(u, err, errsz, "invalidation queue did not start");
        if (!invalidate_queued(u))
            return fail(u, err, errsz, "queued invalidation did not complete");
    } else if (!invalidate_registers(u)) {
        return fail(u, err, errsz, "context-cache or IOTLB invalidation did not complete");
    }
    if (!gcmd(u, VTD_GCMD_TE, true, VTD_GSTS_TES, false))
        return fail(u, err, errsz, "translation did not turn on (GSTS.TES)");
    LOG("iommu: VT-d unit at 0x%lx on: CAP 0x%lx ECAP 0x%lx, %s invalidation%s%s%s", u->base, u->cap, u->ecap,
        u->queued ? "queued" : "register-based", VTD_ECAP_C(u->ecap) ? "" : ", walks do not snoop (caches flushed)",
        VTD_CAP_RWBF(u->cap) ? ", write buffer flushed" : "",
        (gsts & (VTD_GSTS_IRES | VTD_GSTS_QIES)) ? ", firmware's interrupt remapping/queue turned off" : "");
    return 0;
}

bool vtd_invalidate(struct vtd *u)
{
    if (!VTD_ECAP_C(u->ecap))
        vtd_flush_cpu_caches();
    iommu_wmb();
    return u->queued ? invalidate_queued(u) : invalidate_registers(u);
}

/* ---------------------------------------------------------------- faults */
/* Fault record (§11.4.14): lo = faulting page address (bits 63:12); hi = source ID bits 15:0,
 * fault reason bits 39:32, T bit 62 (1: read), F bit 63. */
void vtd_fault_str(u64 lo, u64 hi, char *buf, size_t n)
{
    u16 sid = (u16)hi;
    u32 reason = (u32)((hi >> 32) & 0xff);

    fmt_snprintf(buf, n, "iommu: blocked DMA %s by %02x:%02x.%u to guest-physical 0x%lx (VT-d fault reason 0x%x)",
                 (hi & VTD_FRCD_T) ? "read" : "write", sid >> 8, (sid >> 3) & 0x1f, sid & 7, lo & ~(u64)0xfff, reason);
}

u32 vtd_poll_faults(struct vtd *u)
{
    char line[160];
    u32 logged = 0;
    u32 fsts = reg_rd32(&u->regs, VTD_FSTS);

    if (!(fsts & (VTD_FSTS_PPF | VTD_FSTS_PFO | VTD_FSTS_IQE)))
        return 0;
    u32 fro = VTD_CAP_FRO(u->cap), nfr = VTD_CAP_NFR(u->cap);
    /* Records fill round-robin from FSTS.FRI; read from there until one is empty. */
    for (u32 k = 0, i = VTD_FSTS_FRI(fsts) % nfr; k < nfr; k++, i = (i + 1) % nfr) {
        u64 hi = reg_rd64(&u->regs, fro + i * 16 + 8);
        if (!(hi & VTD_FRCD_F))
            break;
        vtd_fault_str(reg_rd64(&u->regs, fro + i * 16), hi, line, sizeof(line));
        LOG("%s", line);
        reg_wr32(&u->regs, fro + i * 16 + 12, (u32)(VTD_FRCD_F >> 32)); /* F is RW1C */
        logged++;
    }
    if (fsts & VTD_FSTS_PFO) {
        LOG("iommu: VT-d unit at 0x%lx: fault records overflowed: faults were lost", u->base);
        logged++;
    }
    if (fsts & VTD_FSTS_IQE) {
        LOG("iommu: VT-d unit at 0x%lx: invalidation queue error", u->base);
        logged++;
    }
    reg_wr32(&u->regs, VTD_FSTS, fsts & (VTD_FSTS_PFO | VTD_FSTS_IQE)); /* RW1C */
    u->faults += logged;
    return logged;
}
