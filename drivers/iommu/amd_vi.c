/*
 * AMD-Vi back end: see amd_vi.h. Section numbers are those of AMD's IOMMU specification (48882).
 *
 * Bring-up order (§3.3.x, as Linux's early_enable_iommu does it): translation off, device table
 * base, command buffer, event log, exclusion range off, control flags, then IommuEn; then every
 * cache the unit may hold is invalidated and a COMPLETION_WAIT proves the commands ran.
 */
#include "amd_vi.h"
#include "arch/x86_64/cpu.h"
#include "lib/bytes.h"
#include "lib/phys.h"
#include "ivrs.h"
#include "lib/lib.h"
#include "lib/log.h"

/* ---------------------------------------------------------------- page-table and DTE encoding */
#define PTE_PR         BIT(0)
#define PTE_NEXT_SHIFT 9
#define PTE_NEXT_MASK  (7ull << PTE_NEXT_SHIFT)
#define PTE_ADDR_MASK  0x000ffffffffff000ull
#define PTE_IR         BIT(61)
#define PTE_IW         BIT(62)

#define DTE_V          BIT(0)
#define DTE_TV         BIT(1)
#define DTE_MODE_SHIFT 9
#define DTE_IR         BIT(61)
#define DTE_IW         BIT(62)

static u64 level_bytes(int level) { return 1ull << (PAGE_SHIFT + 9 * (level - 1)); }

static u64 pt_table_entry(hpa_t next, int level)
{
    /* Tables grant both directions; the leaf decides. QEMU 7.2 checks IR/IW on every level. */
    return (next & PTE_ADDR_MASK) | ((u64)(level - 1) << PTE_NEXT_SHIFT) | PTE_PR | PTE_IR | PTE_IW;
}

static u64 pt_leaf_entry(hpa_t pa, int level, u32 perms)
{
    u64 e = pa & PTE_ADDR_MASK; /* NextLevel 0: a PTE, sized by the level it sits in */
    if (!(perms & (NPT_READ | NPT_WRITE)))
        return 0;
    e |= PTE_PR;
    if (perms & NPT_READ)
        e |= PTE_IR;
    if (perms & NPT_WRITE)
        e |= PTE_IW;
    return e;
}

static bool pt_present(u64 e) { return e & PTE_PR; }
static bool pt_is_leaf(u64 e, int level) { return level == 1 || (e & PTE_NEXT_MASK) == 0; }
static hpa_t pt_address(u64 e, int level)
{
    u64 mask = PTE_ADDR_MASK;
    if (level > 1 && pt_is_leaf(e, level))
        mask &= ~(level_bytes(level) - 1);
    return e & mask;
}
static u32 pt_perms(u64 e)
{
    u32 p = 0;
    if ((e & PTE_PR) && (e & PTE_IR))
        p |= NPT_READ;
    if ((e & PTE_PR) && (e & PTE_IW))
        p |= NPT_WRITE;
    return p;
}

const struct npt_format amd_vi_pt_format = {
    .name = "AMD-Vi I/O page table",
    .levels = AMD_VI_LEVELS,
    .large_pages = true, /* 2 MiB PTEs at level 2: QEMU 7.2's walk sizes a NextLevel-0 entry by its level */
    .table_entry = pt_table_entry,
    .leaf_entry = pt_leaf_entry,
    .present = pt_present,
    .is_leaf = pt_is_leaf,
    .address = pt_address,
    .perms = pt_perms,
};

void amd_vi_dte(u8 dte[AMD_VI_DTE_SIZE], hpa_t root, int levels, u16 domain)
{
    memset(dte, 0, AMD_VI_DTE_SIZE);
    wr64(dte, 0, DTE_V | DTE_TV | ((u64)levels << DTE_MODE_SHIFT) | (root & PTE_ADDR_MASK) | DTE_IR | DTE_IW);
    wr64(dte, 8, domain); /* DomainID bits 15:0; I, SE, SA, IoCtl, SysMgt all 0 */
    /* qword 2: IV=0 (interrupts untranslated), qword 3 reserved */
}

hpa_t amd_vi_build_devtab(hpa_t root, int levels, u16 domain, iommu_alloc_fn alloc)
{
    u8 dte[AMD_VI_DTE_SIZE];
    hpa_t pa = alloc(AMD_VI_DEVTAB_SIZE / PAGE_SIZE);

    if (!pa)
        return 0;
    amd_vi_dte(dte, root, levels, domain);
    u8 *t = phys_to_virt(pa);
    for (u32 i = 0; i < AMD_VI_DEVICE_IDS; i++)
        memcpy(t + (u64)i * AMD_VI_DTE_SIZE, dte, AMD_VI_DTE_SIZE);
    return pa;
}

/* ---------------------------------------------------------------- command buffer */
static bool cmd_space(struct amd_vi *u)
{
    u32 next = (u->cmd_tail + AMD_VI_ENTRY_BYTES) % AMD_VI_RING_BYTES;
    for (u32 n = 0; next == u->cmd_head; n++) {
        if (n == IOMMU_POLL_LIMIT)
            return false;
        /* The unit only reads what the tail register says is there: publish before waiting. */
        reg_wr64(&u->regs, AMD_VI_CMD_TAIL, u->cmd_tail);
        cpu_relax();
        u->cmd_head = (u32)(reg_rd64(&u->regs, AMD_VI_CMD_HEAD) & AMD_VI_RING_PTR_MASK);
    }
    return true;
}

static bool cmd_queue(struct amd_vi *u, u64 lo, u64 hi)
{
    if (!cmd_space(u))
        return false;
    wr64(u->cmd, u->cmd_tail, lo);
    wr64(u->cmd, u->cmd_tail + 8, hi);
    u->cmd_tail = (u->cmd_tail + AMD_VI_ENTRY_BYTES) % AMD_VI_RING_BYTES;
    return true;
}

static u64 opcode(u64 op) { return op << 60; }

/* Publish the queued commands and wait until a COMPLETION_WAIT behind them has stored its value. */
static bool cmd_sync(struct amd_vi *u)
{
    hpa_t sem = virt_to_phys((const void *)u->sem);
    u64 want = ++u->sem_seq;

    /* COMPLETION_WAIT: S (store) bit 0, store address bits 51:3, data in the second quadword. */
    if (!cmd_queue(u, (sem & 0x000ffffffffffff8ull) | BIT(0) | opcode(AMD_VI_CMD_COMPLETION_WAIT), want))
        return false;
    iommu_wmb();
    reg_wr64(&u->regs, AMD_VI_CMD_TAIL, u->cmd_tail);
    for (u32 n = 0; n < IOMMU_POLL_LIMIT; n++) {
        if (*u->sem == want)
            return true;
        cpu_relax();
    }
    return false;
}

/* Forget every device table entry and translation the unit may have cached. */
static bool invalidate_all(struct amd_vi *u)
{
    if (u->efr & AMD_VI_EFR_IA_SUP)
        return cmd_queue(u, opcode(AMD_VI_CMD_INVALIDATE_ALL), 0) && cmd_sync(u);
    for (u32 id = 0; id < AMD_VI_DEVICE_IDS; id++)
        if (!cmd_queue(u, id | opcode(AMD_VI_CMD_INVALIDATE_DEVTAB), 0))
            return false;
    /* INVALIDATE_IOMMU_PAGES for each whole domain: S=1, PDE=1, address 7FFF_FFFF_FFFF_F000h. */
    for (u32 d = AMD_VI_DOMAIN; d <= (u->domains ? u->domains : AMD_VI_DOMAIN); d++)
        if (!cmd_queue(u, ((u64)d << 32) | opcode(AMD_VI_CMD_INVALIDATE_PAGES),
                       0x7ffffffffffff000ull | BIT(1) | BIT(0)))
            return false;
    return cmd_sync(u);
}

/* ---------------------------------------------------------------- bring-up */
static u64 control_flags(const struct amd_vi *u)
{
    u64 c = AMD_VI_CTRL_COHERENT;
    if (u->ivhd_flags & IVHD_FLAG_HT_TUN_EN)
        c |= AMD_VI_CTRL_HT_TUN_EN;
    if (u->ivhd_flags & IVHD_FLAG_PASS_PW)
        c |= AMD_VI_CTRL_PASS_PW;
    if (u->ivhd_flags & IVHD_FLAG_RES_PASS_PW)
        c |= AMD_VI_CTRL_RES_PASS_PW;
    if (u->ivhd_flags & IVHD_FLAG_ISOC)
        c |= AMD_VI_CTRL_ISOC;
    return c;
}

bool amd_vi_invalidate(struct amd_vi *u) { return invalidate_all(u); }

static int fail(struct amd_vi *u, char *err, size_t errsz, const char *why)
{
    reg_wr64(&u->regs, AMD_VI_CONTROL, 0);
    fmt_snprintf(err, errsz, "AMD-Vi %02x:%02x.%u: %s", u->devid >> 8, (u->devid >> 3) & 0x1f, u->devid & 7, why);
    return -1;
}

int amd_vi_enable(struct amd_vi *u, hpa_t devtab, iommu_alloc_fn alloc, char *err, size_t errsz)
{
    hpa_t cmd = alloc(1), evt = alloc(1), sem = alloc(1);

    if (!cmd || !evt || !sem)
        return fail(u, err, errsz, "out of hypervisor memory for the command buffer and event log");
    u->cmd = phys_to_virt(cmd);
    u->evt = phys_to_virt(evt);
    u->sem = phys_to_virt(sem);
    u->cmd_tail = u->cmd_head = 0;
    u->sem_seq = 0;
    u->efr = reg_rd64(&u->regs, AMD_VI_EXT_FEATURE);

    reg_wr64(&u->regs, AMD_VI_CONTROL, 0); /* whatever the firmware left on */
    iommu_wmb();
    /* Device table: base | (size in 4 KiB pages - 1). */
    reg_wr64(&u->regs, AMD_VI_DEVTAB_BASE, devtab | (AMD_VI_DEVTAB_SIZE / PAGE_SIZE - 1));
    reg_wr64(&u->regs, AMD_VI_CMDBUF_BASE, cmd | ((u64)AMD_VI_RING_LEN_LOG << 56));
    reg_wr64(&u->regs, AMD_VI_CMD_HEAD, 0);
    reg_wr64(&u->regs, AMD_VI_CMD_TAIL, 0);
    reg_wr64(&u->regs, AMD_VI_EVTLOG_BASE, evt | ((u64)AMD_VI_RING_LEN_LOG << 56));
    reg_wr64(&u->regs, AMD_VI_EVT_HEAD, 0);
    reg_wr64(&u->regs, AMD_VI_EVT_TAIL, 0);
    reg_wr64(&u->regs, AMD_VI_EXCL_BASE, 0); /* no exclusion range: nothing bypasses translation */
    reg_wr64(&u->regs, AMD_VI_EXCL_LIMIT, 0);
    reg_wr64(&u->regs, AMD_VI_STATUS, AMD_VI_STATUS_EVT_OVERFLOW); /* RW1C */

    u64 ctrl = control_flags(u) | AMD_VI_CTRL_EVT_LOG_EN | AMD_VI_CTRL_CMD_BUF_EN;
    reg_wr64(&u->regs, AMD_VI_CONTROL, ctrl);
    reg_wr64(&u->regs, AMD_VI_CONTROL, ctrl | AMD_VI_CTRL_IOMMU_EN);

    u64 st = reg_rd64(&u->regs, AMD_VI_STATUS);
    if (!(st & AMD_VI_STATUS_CMD_RUN) || !(st & AMD_VI_STATUS_EVT_RUN))
        return fail(u, err, errsz, "command buffer or event log did not start (status register)");
    if (!invalidate_all(u))
        return fail(u, err, errsz, "invalidation commands did not complete");
    LOG("iommu: AMD-Vi %02x:%02x.%u on: EFR 0x%lx, control 0x%lx, caches invalidated%s", u->devid >> 8,
        (u->devid >> 3) & 0x1f, u->devid & 7, u->efr, reg_rd64(&u->regs, AMD_VI_CONTROL),
        (u->efr & AMD_VI_EFR_IA_SUP) ? " (INVALIDATE_IOMMU_ALL)" : " (per device and domain)");
    return 0;
}

/* ---------------------------------------------------------------- events */
static const char *event_name(u32 code)
{
    static const char *const names[] = {
        [0x1] = "ILLEGAL_DEV_TABLE_ENTRY", [0x2] = "IO_PAGE_FAULT",          [0x3] = "DEV_TAB_HARDWARE_ERROR",
        [0x4] = "PAGE_TAB_HARDWARE_ERROR", [0x5] = "ILLEGAL_COMMAND_ERROR",  [0x6] = "COMMAND_HARDWARE_ERROR",
        [0x7] = "IOTLB_INV_TIMEOUT",       [0x8] = "INVALID_DEVICE_REQUEST", [0x9] = "INVALID_PPR_REQUEST",
        [0xa] = "EVENT_COUNTER_ZERO",
    };
    return code < ARRAY_SIZE(names) && names[code] ? names[code] : "reserved";
}

/* Event record (§2.5): DeviceID bits 15:0, EventCode bits 63:60, flags bits 59:48 (for
 * IO_PAGE_FAULT: I = bit 51 (interrupt request), RW = bit 53 (1: write)), address bits 127:64. */
void amd_vi_event_str(const u8 ev[AMD_VI_ENTRY_BYTES], char *buf, size_t n)
{
    u64 lo = rd64(ev, 0), addr = rd64(ev, 8);
    u32 code = (u32)(lo >> 60);
    u16 dev = (u16)lo;
    unsigned bus = dev >> 8, slot = (dev >> 3) & 0x1f, fn = dev & 7;

    if (code == AMD_VI_EVT_IO_PAGE_FAULT && !(lo & BIT(51)))
        fmt_snprintf(buf, n, "iommu: blocked DMA %s by %02x:%02x.%u to guest-physical 0x%lx",
                     lo & BIT(53) ? "write" : "read", bus, slot, fn, addr);
    else
        fmt_snprintf(buf, n, "iommu: event type %u (%s) device %02x:%02x.%u address 0x%lx (raw %016lx %016lx)", code,
                     event_name(code), bus, slot, fn, addr, lo, addr);
}

u32 amd_vi_poll_events(struct amd_vi *u)
{
    char line[160];
    u32 logged = 0;

    if (!u->evt)
        return 0;
    u32 head = (u32)(reg_rd64(&u->regs, AMD_VI_EVT_HEAD) & AMD_VI_RING_PTR_MASK) % AMD_VI_RING_BYTES;
    u32 tail = (u32)(reg_rd64(&u->regs, AMD_VI_EVT_TAIL) & AMD_VI_RING_PTR_MASK) % AMD_VI_RING_BYTES;
    while (head != tail) {
        amd_vi_event_str(u->evt + head, line, sizeof(line));
        LOG("%s", line);
        memset(u->evt + head, 0, AMD_VI_ENTRY_BYTES);
        head = (head + AMD_VI_ENTRY_BYTES) % AMD_VI_RING_BYTES;
        logged++;
    }
    if (logged)
        reg_wr64(&u->regs, AMD_VI_EVT_HEAD, head);

    if (reg_rd64(&u->regs, AMD_VI_STATUS) & AMD_VI_STATUS_EVT_OVERFLOW) {
        /* The log stops when full (§3.4.13): turn it off, clear the flag, restart it empty. */
        u64 ctrl = reg_rd64(&u->regs, AMD_VI_CONTROL);
        LOG("iommu: AMD-Vi %02x:%02x.%u event log overflowed: events were lost", u->devid >> 8, (u->devid >> 3) & 0x1f,
            u->devid & 7);
        reg_wr64(&u->regs, AMD_VI_CONTROL, ctrl & ~AMD_VI_CTRL_EVT_LOG_EN);
        reg_wr64(&u->regs, AMD_VI_STATUS, AMD_VI_STATUS_EVT_OVERFLOW);
        reg_wr64(&u->regs, AMD_VI_EVT_HEAD, 0);
        reg_wr64(&u->regs, AMD_VI_EVT_TAIL, 0);
        reg_wr64(&u->regs, AMD_VI_CONTROL, ctrl | AMD_VI_CTRL_EVT_LOG_EN);
        logged++;
    }
    u->events += logged;
    return logged;
}
