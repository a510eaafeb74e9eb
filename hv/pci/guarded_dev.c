/* See guarded_dev.h; the design is in docs/pci.md. */
#include "pci/guarded_dev.h"
#include "arch/x86_64/cpu.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "core/guest_physmap.h"
#include "core/mmio_emul.h"
#include "pci/trap_page.h"
#include "lib/page_alloc.h"
#include "guard/border_views.h"
#include "guard/privilege.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define BAR_PERMS (NPT_READ | NPT_WRITE | NPT_UNCACHED)

/* The MSI-X capability (PCI Local Bus 3.0, 6.8.2). */
#define PCI_STATUS_CAP_LIST BIT(4)
#define PCI_CAP_PTR         0x34
#define PCI_CAP_ID_MSIX     0x11
#define MSIX_CTRL           2 /* bits 10:0: table size - 1 */
#define MSIX_TABLE          4 /* bits 2:0: BAR indicator (BIR), 31:3: offset */
#define MSIX_PBA            8
#define MSIX_ENTRY_SIZE     16

#ifdef HOST_TEST
/* Host tests see the forwarded port accesses instead of executing IN/OUT. */
u32 host_test_port_in(u16 port, u8 size);
void host_test_port_out(u16 port, u8 size, u32 value);
static u32 port_in(u16 port, u8 size) { return host_test_port_in(port, size); }
static void port_out(u16 port, u8 size, u32 value) { host_test_port_out(port, size, value); }
#else
static u32 port_in(u16 port, u8 size) { return port_in_sized(port, size); }
static void port_out(u16 port, u8 size, u32 value) { port_out_sized(port, size, value); }
#endif

static bool is_mem(const struct pci_bar *b) { return b->kind == PCI_BAR_MEM32 || b->kind == PCI_BAR_MEM64; }

/* A memory BAR the nested page tables cannot split off: its page is trapped (trap_page.h). */
static bool sub_page(const struct pci_bar *b) { return is_mem(b) && b->size && b->size < PAGE_SIZE; }

/* A memory BAR of page size or more in no view: every access exits (a trap_all device's). */
static bool trapped_large(const struct guarded_dev *g, const struct pci_bar *b)
{
    return g->trap_all && is_mem(b) && b->size >= PAGE_SIZE;
}

/* Where a guest may put a memory BAR: aligned (a sub-page BAR to its size, as the hardware has
 * it; others to a page), in device space of the machine's memory map (never on RAM or the
 * hypervisor's pages), within what the nested tables cover. */
static bool gpa_usable(const struct guarded_dev *g, u64 gpa, u64 size)
{
    const struct vm *vm = g->vm;

    return IS_ALIGNED(gpa, size < PAGE_SIZE ? size : PAGE_SIZE) && gpa + size > gpa &&
           gpa + size <= npt_limit(&vm->npt) && !gmem_overlaps(&vm->mem, gpa, size) &&
           (!vm->physmap || physmap_device_range_ok(vm->physmap, ALIGN_DOWN(gpa, PAGE_SIZE),
                                                    ALIGN_UP(gpa + size, PAGE_SIZE) - ALIGN_DOWN(gpa, PAGE_SIZE)));
}

/* Whether page off of BAR i holds the MSI-X table or PBA (mapped to the device in both views). */
static bool page_open(const struct guarded_dev *g, int i, u64 off)
{
    for (int r = 0; r < g->open_count; r++)
        if (g->open[r].bar == i && off >= g->open[r].off && off - g->open[r].off < g->open[r].len)
            return true;
    return false;
}

/* What the normal view maps at page off of BAR i. */
static void normal_page(const struct guarded_dev *g, int i, u64 off, hpa_t *hpa, u32 *perms)
{
    if (page_open(g, i, off)) {
        *hpa = g->host.bar[i].base + off;
        *perms = BAR_PERMS;
    } else {
        *hpa = g->zero_page;
        *perms = NPT_READ;
    }
}

/* Install BAR i at gpa in both views: zero page (read-only) in the normal one, except the MSI-X
 * pages, which are the device in both; the device in the privileged one. */
static bool map_bar(struct guarded_dev *g, int i, u64 gpa)
{
    const struct pci_bar *b = &g->host.bar[i];

    if (sub_page(b)) { /* its page leaves every view: each access exits (guarded_dev_nested_fault) */
        if (!trap_page_get(g->vm, gpa))
            return false;
        g->bar_live[i] = true;
        g->live_gpa[i] = gpa;
        return true;
    }
    if (trapped_large(g, b)) { /* in no view: each access exits */
        if (!vm_npt_unmap(g->vm, gpa, b->size))
            return false;
        g->bar_live[i] = true;
        g->live_gpa[i] = gpa;
        return true;
    }
    if (!npt_fork(&g->vm->npt_priv, &g->vm->npt, gpa, b->size))
        return false;
    for (u64 off = 0; off < b->size; off += PAGE_SIZE) {
        hpa_t hpa;
        u32 perms;
        normal_page(g, i, off, &hpa, &perms);
        if (!npt_map(&g->vm->npt, gpa + off, hpa, PAGE_SIZE, perms))
            return false;
    }
    if (!npt_map(&g->vm->npt_priv, gpa, b->base, b->size, BAR_PERMS))
        return false;
    g->bar_live[i] = true;
    g->live_gpa[i] = gpa;
    vm_npt_changed(g->vm);
    return true;
}

static void unmap_bar(struct guarded_dev *g, int i)
{
    if (!g->bar_live[i])
        return;
    if (sub_page(&g->host.bar[i]))
        trap_page_put(g->vm, g->live_gpa[i]);
    else
        vm_npt_unmap(g->vm, g->live_gpa[i], g->host.bar[i].size);
    g->bar_live[i] = false;
}

static void flush_all(struct guarded_dev *g)
{
    for (u32 i = 0; i < g->vm->vcpu_count; i++)
        vcpu_ops->flush_nested_tlb(g->vm->vcpu[i]);
}

/* pci_vdev callback: the guest moved a BAR or switched decoding. */
static void bar_moved(struct pci_vdev *d, int i, bool mapped, u64 gpa, void *ctx)
{
    struct guarded_dev *g = ctx;
    const struct pci_bar *b = &g->host.bar[i];

    if (b->kind == PCI_BAR_IO) {
        g->bar_live[i] = mapped;
        g->live_gpa[i] = gpa; /* ports: guarded_dev_io looks them up */
        for (u32 c = 0; c < g->vm->vcpu_count; c++)
            guarded_dev_attach_vcpu(g, g->vm->vcpu[c]);
        return;
    }
    if (!is_mem(b))
        return;
    if (g->bar_live[i] && mapped && g->live_gpa[i] == gpa)
        return;
    unmap_bar(g, i);
    if (mapped) {
        if (!gpa_usable(g, gpa, b->size)) {
            LOG("pci: guest put BAR%d of the guarded device at 0x%llx, outside device space (on RAM or the "
                "hypervisor's memory, or beyond the nested tables): left unmapped",
                i, (unsigned long long)gpa);
        } else if (!map_bar(g, i, gpa)) {
            LOG("pci: out of hypervisor memory (or trapped-page slots) moving BAR%d of the guarded device: left "
                "unmapped",
                i);
            unmap_bar(g, i);
        } else {
            g->stats.bar_moves++;
        }
    }
    flush_all(g);
}

static bool held(const struct guarded_dev *g, const struct vcpu *v)
{
    return privilege_is_raised(g->privs, g->handle, v->id);
}

static void raise(u32 vcpu_id, void *state)
{
    struct guarded_dev *g = state;
    struct vcpu *v = vm_vcpu(g->vm, vcpu_id);
    if (!v)
        return;
    border_view_set_device(v, true); /* the device's view (inside a module's in view, its copy with the BARs) */
    g->stats.raises++;
}

static void lower(u32 vcpu_id, void *state)
{
    struct guarded_dev *g = state;
    struct vcpu *v = vm_vcpu(g->vm, vcpu_id);
    if (!v)
        return;
    border_view_set_device(v, false);
    g->stats.lowers++;
}

static const struct privilege_ops guarded_dev_ops = { .raise = raise, .lower = lower };

/* A trap_all device's privilege: nothing to switch, each access checks it. */
static void raise_count(u32 vcpu_id, void *state) { ((struct guarded_dev *)state)->stats.raises++; }
static void lower_count(u32 vcpu_id, void *state) { ((struct guarded_dev *)state)->stats.lowers++; }
static const struct privilege_ops trapped_dev_ops = { .raise = raise_count, .lower = lower_count };

/* The offset of capability id in the device's list, 0 when it has none. */
static u16 find_cap(const struct pci_cfg_access *cfg, u16 bdf, u8 id)
{
    u32 ptr;

    if (!(cfg->read(cfg->ctx, bdf, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return 0;
    ptr = cfg->read(cfg->ctx, bdf, PCI_CAP_PTR, 1) & 0xfc;
    for (int n = 0; n < 48 && ptr >= 0x40; n++) { /* 48 capabilities fill the 192 bytes: a loop ends here */
        u32 hdr = cfg->read(cfg->ctx, bdf, (u16)ptr, 2);
        if ((hdr & 0xff) == id)
            return (u16)ptr;
        ptr = (hdr >> 8) & 0xfc;
    }
    return 0;
}

struct msix_part {
    const char *what;
    int bar;
    u64 off, len;
};

/* An MSI-X structure's location register (table or PBA) and length: checked against the BARs. */
static int msix_part(struct guarded_dev *g, const char *bdf, struct msix_part *p, const char *what, u32 reg, u64 len,
                     char *err, size_t errsz)
{
    const struct pci_bar *b;

    p->what = what;
    p->bar = (int)(reg & 7);
    p->off = reg & ~7u;
    p->len = len;
    b = p->bar < PCI_NUM_BARS ? &g->host.bar[p->bar] : NULL;
    if (b && sub_page(b)) {
        fmt_snprintf(err, errsz,
                     "guarded device %s: MSI-X %s in BAR%d, which is smaller than a page: not supported (the guest "
                     "kernel programs MSI-X, and a trapped page would give it one exit per access)",
                     bdf, what, p->bar);
        return -1;
    }
    if (!b || !is_mem(b) || !b->size) {
        fmt_snprintf(err, errsz,
                     "guarded device %s: MSI-X %s in BAR%d, which is not a memory BAR: the guest kernel could not set "
                     "up its interrupts",
                     bdf, what, p->bar);
        return -1;
    }
    if (p->off + len > b->size) {
        fmt_snprintf(err, errsz,
                     "guarded device %s: MSI-X %s at BAR%d+0x%llx (%llu bytes) runs past the BAR's end (0x%llx bytes)",
                     bdf, what, p->bar, (unsigned long long)p->off, (unsigned long long)len,
                     (unsigned long long)b->size);
        return -1;
    }
    return 0;
}

/* The pages of the MSI-X table and PBA become open: the device in both views. The guest kernel's
 * PCI core programs the table (message address and data, mask bits), not the driver, so with the
 * pages guarded no interrupt could ever be set up. What the table controls is the interrupt
 * message: a 4-byte write the device makes to the entry's address when the vector fires. In the
 * interrupt range that reaches the APIC, which is the guest's anyway; anywhere else it is DMA like
 * any other, confined to guest RAM by the IOMMU. The guest could arrange the same through the MSI
 * capability in configuration space, which is passed through (docs/pci.md, "MSI-X"). */
static int open_msix(struct guarded_dev *g, const char *bdf, char *err, size_t errsz)
{
    const struct pci_cfg_access *cfg = &pci_host;
    u16 cap = find_cap(cfg, g->host.bdf, PCI_CAP_ID_MSIX);
    struct msix_part part[2];
    u32 vectors;

    if (!cap)
        return 0;
    vectors = (cfg->read(cfg->ctx, g->host.bdf, cap + MSIX_CTRL, 2) & 0x7ff) + 1;
    if (msix_part(g, bdf, &part[0], "table", cfg->read(cfg->ctx, g->host.bdf, cap + MSIX_TABLE, 4),
                  (u64)vectors * MSIX_ENTRY_SIZE, err, errsz) != 0 ||
        msix_part(g, bdf, &part[1], "PBA", cfg->read(cfg->ctx, g->host.bdf, cap + MSIX_PBA, 4),
                  ALIGN_UP(vectors, 64) / 8, err, errsz) != 0)
        return -1;
    for (int k = 0; k < 2; k++) {
        struct msix_part *p = &part[k];
        u64 start = ALIGN_DOWN(p->off, PAGE_SIZE), end = ALIGN_UP(p->off + p->len, PAGE_SIZE);
        int r;

        for (r = 0; r < g->open_count; r++) {
            struct guarded_open_range *o = &g->open[r];
            if (o->bar == p->bar && start <= o->off + o->len && end >= o->off) { /* touching or sharing a page */
                u64 o_end = o->off + o->len;
                o->off = start < o->off ? start : o->off;
                o->len = (end > o_end ? end : o_end) - o->off;
                break;
            }
        }
        if (r == g->open_count) {
            g->open[r] = (struct guarded_open_range){ .bar = p->bar, .off = start, .len = end - start };
            g->open_count++;
        }
        LOG("pci: guarded device %s: MSI-X %s at BAR%d+0x%llx, %llu bytes (%u vectors): %s BAR%d+0x%llx-0x%llx %s "
            "(the guest kernel programs MSI-X)",
            bdf, p->what, p->bar, (unsigned long long)p->off, (unsigned long long)p->len, vectors,
            end - start > PAGE_SIZE ? "its pages" : "its page", p->bar, (unsigned long long)start,
            (unsigned long long)end - 1,
            g->trap_all               ? "answer everyone (forwarded)"
            : end - start > PAGE_SIZE ? "map to the device in both views"
                                      : "maps to the device in both views");
    }
    /* Page granularity: the rest of an open page is open too, whatever the device has there. */
    for (int r = 0; r < g->open_count; r++) {
        const struct guarded_open_range *o = &g->open[r];
        u64 at = o->off, end = o->off + o->len;

        while (at < end) {
            u64 next = end; /* the start of the next MSI-X structure at or after at */
            bool inside = false;
            for (int k = 0; k < 2; k++) {
                if (part[k].bar != o->bar)
                    continue;
                if (at >= part[k].off && at < part[k].off + part[k].len) {
                    at = part[k].off + part[k].len;
                    inside = true;
                    break;
                }
                if (part[k].off > at && part[k].off < next)
                    next = part[k].off;
            }
            if (inside)
                continue;
            LOG("pci: guarded device %s: BAR%d+0x%llx-0x%llx shares a page with MSI-X and is reachable without the "
                "privilege too (page granularity)",
                bdf, o->bar, (unsigned long long)at, (unsigned long long)next - 1);
            at = next;
        }
    }
    return 0;
}

static int init(struct guarded_dev *g, struct vm *vm, struct privilege_registry *privs, const struct pci_dev *dev,
                const char *privilege, int kind, char *err, size_t errsz);
enum { OWNS_VIEW, SHARES_VIEW, TRAPPED };

int guarded_dev_init(struct guarded_dev *g, struct vm *vm, struct privilege_registry *privs, const struct pci_dev *dev,
                     const char *privilege, char *err, size_t errsz)
{
    return init(g, vm, privs, dev, privilege, OWNS_VIEW, err, errsz);
}

int guarded_dev_init_more(struct guarded_dev *g, struct vm *vm, struct privilege_registry *privs,
                          const struct pci_dev *dev, const char *privilege, bool shares_view, char *err, size_t errsz)
{
    return init(g, vm, privs, dev, privilege, shares_view ? SHARES_VIEW : TRAPPED, err, errsz);
}

static int init(struct guarded_dev *g, struct vm *vm, struct privilege_registry *privs, const struct pci_dev *dev,
                const char *privilege, int kind, char *err, size_t errsz)
{
    char bdf[8];

    memset(g, 0, sizeof(*g));
    g->trap_all = kind == TRAPPED;
    g->host = *dev;
    g->vm = vm;
    g->privs = privs;
    pci_bdf_str(dev->bdf, bdf);
    if (strlen(privilege) >= sizeof(g->privilege)) {
        fmt_snprintf(err, errsz, "guarded device %s: privilege name too long", bdf);
        return -1;
    }
    memcpy(g->privilege, privilege, strlen(privilege) + 1);
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *b = &dev->bar[i];
        if (!is_mem(b) || !b->size)
            continue;
        if (!IS_ALIGNED(b->base, b->size < PAGE_SIZE ? b->size : PAGE_SIZE)) {
            fmt_snprintf(err, errsz, "guarded device %s: BAR%d (0x%llx, %llu bytes) is not aligned to its size", bdf, i,
                         (unsigned long long)b->base, (unsigned long long)b->size);
            return -1;
        }
        if (!gpa_usable(g, b->base, b->size)) {
            fmt_snprintf(err, errsz,
                         "guarded device %s: BAR%d at 0x%llx+0x%llx is not in device space (it overlaps RAM or the "
                         "hypervisor's memory)",
                         bdf, i, (unsigned long long)b->base, (unsigned long long)b->size);
            return -1;
        }
    }
    if (open_msix(g, bdf, err, errsz) != 0)
        return -1;
    g->zero_page = page_alloc(&hv_pages, 1, 1);
    if (!g->zero_page) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for the guarded device");
        return -1;
    }
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *b = &dev->bar[i];
        /* The real page of a sub-page BAR stays trapped for good, wherever the guest moves the BAR,
         * as the real address of a larger BAR stays unmapped: one reference of its own. */
        if (sub_page(b)) {
            if (!trap_page_get(vm, b->base)) {
                fmt_snprintf(err, errsz, "guarded device %s: no trapped-page slot or table memory for BAR%d", bdf, i);
                return -1;
            }
            LOG("pci: guarded device %s: BAR%d 0x%llx+0x%llx is smaller than a page: page 0x%llx is trapped in every "
                "view, the BAR's bytes answer only the privilege, the rest of the page is forwarded",
                bdf, i, (unsigned long long)b->base, (unsigned long long)b->size,
                (unsigned long long)ALIGN_DOWN(b->base, PAGE_SIZE));
        }
    }
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        if (is_mem(&dev->bar[i]) && dev->bar[i].size && !map_bar(g, i, dev->bar[i].base)) {
            fmt_snprintf(err, errsz, "out of hypervisor memory for the guarded device's nested page tables");
            return -1;
        }
        if (dev->bar[i].kind == PCI_BAR_IO && dev->bar[i].size) {
            g->bar_live[i] = true;
            g->live_gpa[i] = dev->bar[i].base;
        }
    }
    /* The view's owner registers its privilege (raise and lower switch the view); a device sharing
     * the view uses that registration; a trapped one registers its own, or uses the component
     * that offers it already. */
    if (kind == OWNS_VIEW)
        g->handle = privilege_register(privs, g->privilege, &guarded_dev_ops, g);
    else if ((g->handle = privilege_lookup(privs, g->privilege)) < 0 && kind == TRAPPED)
        g->handle = privilege_register(privs, g->privilege, &trapped_dev_ops, g);
    if (g->handle < 0) {
        fmt_snprintf(err, errsz, "guarded device %s: cannot register privilege '%s': %s", bdf, g->privilege,
                     privilege_strerror(g->handle));
        return -1;
    }
    /* After the views exist: the callback edits them. */
    pci_vdev_init(&g->vdev, &g->host, &pci_host, bar_moved, g);
    return 0;
}

void guarded_dev_attach_vcpu(struct guarded_dev *g, struct vcpu *v)
{
    /* Both the real ports (never reachable except through the guest's current BAR) and the
     * guest's chosen ones exit; intercepts are only ever added, so none the hypervisor needs for
     * something else is cleared. */
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *b = &g->host.bar[i];
        if (b->kind != PCI_BAR_IO || !b->size)
            continue;
        for (u64 p = 0; p < b->size; p++) {
            if (b->base + p <= 0xffff)
                vcpu_ops->set_io_intercept(v, (u16)(b->base + p), true);
            if (g->bar_live[i] && g->live_gpa[i] + p <= 0xffff)
                vcpu_ops->set_io_intercept(v, (u16)(g->live_gpa[i] + p), true);
        }
    }
}


/* An access to a sub-page BAR (its page is trapped in every view), or to the real BAR's bytes
 * after the guest moved it elsewhere. Privileged accesses to the guest's BAR reach the device;
 * everything else reads zero there (all ones at the real address: nothing decodes there as far
 * as the guest can tell) and writes go nowhere. */
static bool sub_page_access(struct guarded_dev *g, struct vcpu *v, int i, gpa_t gpa, bool write)
{
    const struct pci_bar *b = &g->host.bar[i];
    bool in_live = g->bar_live[i] && gpa >= g->live_gpa[i] && gpa - g->live_gpa[i] < b->size;
    bool open;
    u64 off = in_live ? gpa - g->live_gpa[i] : gpa - b->base;
    struct mmio_insn insn;
    const char *why = "";
    u64 value = 0;

    if (!mmio_decode(v, write, &insn, &why)) {
        LOG_RATELIMITED(g->stats.refused, 8,
                        "pci: access to the guarded device's BAR%d+0x%llx at rip 0x%llx refused (%s): #GP injected", i,
                        (unsigned long long)off, (unsigned long long)v->regs[REG_RIP], why);
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return true;
    }
    if (off + insn.size > b->size) {
        LOG_RATELIMITED(g->stats.refused, 8,
                        "pci: %u-byte access at the guarded device's BAR%d+0x%llx runs past its end (rip 0x%llx): "
                        "#GP injected",
                        insn.size, i, (unsigned long long)off, (unsigned long long)v->regs[REG_RIP]);
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return true;
    }
    /* a trap_all device's MSI-X pages answer everyone, as they do in the views (open_msix) */
    open = in_live && page_open(g, i, ALIGN_DOWN(off, PAGE_SIZE));
    if (in_live && (open || held(g, v))) {
        g->stats.mmio_forwarded++;
        if (write)
            trap_mmio_write(b->base + off, insn.size, insn_mmio_write_value(&insn, v->regs));
        else
            value = trap_mmio_read(b->base + off, insn.size);
    } else if (write) {
        LOG_RATELIMITED(g->stats.writes_dropped, 8,
                        "pci: unprivileged write to the guarded device's BAR%d+0x%llx (%u bytes) at rip 0x%llx dropped",
                        i, (unsigned long long)off, insn.size, (unsigned long long)v->regs[REG_RIP]);
    } else if (!in_live) {
        value = ~0ull;
    }
    mmio_finish(v, &insn, value);
    return true;
}

bool guarded_dev_nested_fault(struct guarded_dev *g, struct vcpu *v, gpa_t gpa, bool write)
{
    struct mmio_insn insn;
    const char *why = "";

    for (int i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *b = &g->host.bar[i];
        if ((sub_page(b) || trapped_large(g, b)) &&
            ((g->bar_live[i] && gpa >= g->live_gpa[i] && gpa - g->live_gpa[i] < b->size) ||
             (gpa >= b->base && gpa - b->base < b->size)))
            return sub_page_access(g, v, i, gpa, write);
        if (!is_mem(b) || !g->bar_live[i] || gpa < g->live_gpa[i] || gpa - g->live_gpa[i] >= b->size)
            continue;
        if (mmio_complete(v, write, 0, &insn, &why)) {
            if (write)
                LOG_RATELIMITED(g->stats.writes_dropped, 8,
                                "pci: unprivileged write to the guarded device's BAR%d+0x%llx (%u bytes) at rip 0x%llx "
                                "dropped",
                                i, (unsigned long long)(gpa - g->live_gpa[i]), insn.size,
                                (unsigned long long)(v->regs[REG_RIP] - insn.len));
            return true;
        }
        LOG_RATELIMITED(g->stats.refused, 8,
                        "pci: access to the guarded device's BAR%d+0x%llx at rip 0x%llx refused (%s): #GP injected", i,
                        (unsigned long long)(gpa - g->live_gpa[i]), (unsigned long long)v->regs[REG_RIP], why);
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return true;
    }
    return false;
}

bool guarded_dev_io(struct guarded_dev *g, struct vcpu *v, u16 port, u8 size, bool in, u32 *value)
{
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *b = &g->host.bar[i];
        bool in_guest_bar, in_real_bar;
        if (b->kind != PCI_BAR_IO || !b->size)
            continue;
        in_guest_bar = g->bar_live[i] && port >= g->live_gpa[i] && port + size <= g->live_gpa[i] + b->size;
        in_real_bar = port + size > b->base && port < b->base + b->size;
        if (!in_guest_bar && !in_real_bar)
            continue;
        if (in_guest_bar && held(g, v)) {
            u16 real = (u16)(b->base + (port - g->live_gpa[i]));
            g->stats.io_forwarded++;
            if (in)
                *value = port_in(real, size);
            else
                port_out(real, size, *value);
            return true;
        }
        /* Unprivileged: the guest's BAR reads zero; the real ports, wherever the guest moved its
         * BAR, read as nothing there (all ones). Writes go nowhere. */
        LOG_RATELIMITED(g->stats.io_blocked, 8,
                        "pci: unprivileged %s of port 0x%x (guarded device BAR%d) at rip 0x%llx blocked",
                        in ? "read" : "write", port, i, (unsigned long long)v->regs[REG_RIP]);
        if (in)
            *value = in_guest_bar ? 0 : 0xffffffffu;
        return true;
    }
    return false;
}

void guarded_dev_report(const struct guarded_dev *g)
{
    char bdf[8];
    pci_bdf_str(g->host.bdf, bdf);
    LOG("pci: guarded device %s (%s): raises %llu lowers %llu, unprivileged MMIO writes dropped %llu, port accesses "
        "blocked %llu forwarded %llu, sub-page MMIO forwarded %llu, refused %llu, BAR moves %llu",
        bdf, g->privilege, (unsigned long long)g->stats.raises, (unsigned long long)g->stats.lowers,
        (unsigned long long)g->stats.writes_dropped, (unsigned long long)g->stats.io_blocked,
        (unsigned long long)g->stats.io_forwarded, (unsigned long long)g->stats.mmio_forwarded,
        (unsigned long long)g->stats.refused, (unsigned long long)g->stats.bar_moves);
}

/* make bench: what one privilege change costs here (switching the nested root) against the
 * paper's way (rewriting the BAR's entries: 2 per 4 KiB page of a 32 KiB window = 16 entries in
 * its prototype; here every page of every memory BAR). Rewrites map each page to what it already
 * is, so nothing changes; the TLB flush the edit would need is not included. */
void guarded_dev_measure(struct guarded_dev *g, struct vcpu *v)
{
    enum { ROUNDS = 64 };
    u64 t0, t_switch, t_edit, entries = 0;

    t0 = rdtsc();
    for (int r = 0; r < ROUNDS; r++) {
        vcpu_ops->set_nested_root(v, g->vm->npt_priv.root, VIEW_PRIVILEGED);
        vcpu_ops->set_nested_root(v, g->vm->npt.root, VIEW_NORMAL);
    }
    t_switch = rdtsc() - t0;
    t0 = rdtsc();
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < PCI_NUM_BARS; i++) {
            const struct pci_bar *b = &g->host.bar[i];
            if (!is_mem(b) || !g->bar_live[i] || sub_page(b) || trapped_large(g, b))
                continue;
            for (u64 off = 0; off < b->size; off += PAGE_SIZE) {
                hpa_t hpa;
                u32 perms;
                normal_page(g, i, off, &hpa, &perms);
                npt_map(&g->vm->npt, g->live_gpa[i] + off, hpa, PAGE_SIZE, perms);
                npt_map(&g->vm->npt, g->live_gpa[i] + off, hpa, PAGE_SIZE, perms);
                if (r == 0)
                    entries += 2;
            }
        }
    }
    t_edit = rdtsc() - t0;
    border_view_apply(v); /* back on the view its state calls for */
    LOG("bench: privilege change: view switch %llu cycles, rewriting %llu BAR entries %llu cycles (+ TLB flush)",
        (unsigned long long)(t_switch / (2 * ROUNDS)), (unsigned long long)entries,
        (unsigned long long)(t_edit / (2 * ROUNDS)));
}
