/* UNIT-SOURCES: hv/guard/border_views.c hv/guard/guard.c tests/unit/guard_mem_host.c hv/pci/guarded_dev.c hv/pci/trap_page.c hv/pci/pci_vdev.c drivers/pci/pci_enum.c hv/core/npt.c hv/core/guest_physmap.c hv/core/vm.c hv/core/vcpu.c hv/core/event_queue.c hv/guard/privilege.c hv/lib/fmt.c */
/*
 * The guarded device (selective NIC passthrough): the two nested-paging views it builds, the O(1)
 * view switch on raise/lower, dropped unprivileged writes, I/O BAR forwarding only while
 * privileged, and BAR relocation by the guest (the real BAR address stays unreachable); the MSI-X
 * table and PBA pages, the device in both views (they move with their BAR), and MSI-X
 * capabilities that cannot work refused; a sub-page BAR: its page trapped in every view, its
 * bytes forwarded only while privileged, the rest of the page forwarded to what was there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pci/guarded_dev.h"
#include "guard/border_views.h"
#include "core/mmio_emul.h"
#include "pci/trap_page.h"
#include "lib/page_alloc.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/guest_physmap.h"

/* ---------------------------------------------------------------- fakes */
struct page_pool hv_pages;
static void *pages[8192];
static int npages;

hpa_t page_alloc(struct page_pool *p, u64 n, u64 align)
{
    void *q = aligned_alloc(4096, 4096 * n);
    memset(q, 0, 4096 * n);
    pages[npages++] = q;
    return (hpa_t)(uintptr_t)q;
}
/* Tables are freed in the teardown; border views are never built here (wrappers-only border). */
bool page_free(struct page_pool *p, hpa_t pa, u64 n) { return true; }
static hpa_t table_page(void) { return page_alloc(&hv_pages, 1, 1); }

#include "log_capture.h" /* logbuf: every LOG line since setup */

#define NIC_BDF  ((0 << 8) | (3 << 3))
#define BAR0     0xfeb80000ull /* 128 KiB memory BAR */
#define BAR1     0xc000u       /* 64-port I/O BAR */
#define BAR3     0xfeba0000ull /* 16 KiB memory BAR: the MSI-X table at +0, the PBA at +0x2000 (QEMU's e1000e) */
#define MSIX_CAP 0xa0

static u32 cfg[64]; /* the NIC's config space, dwords; BAR registers behave like hardware */
static u32 fake_read(void *ctx, u16 bdf, u16 off, u8 size)
{
    u32 dw = cfg[off / 4];
    return size == 4 ? dw : (dw >> (8 * (off & 3))) & ((1u << (8 * size)) - 1);
}
static void fake_write(void *ctx, u16 bdf, u16 off, u8 size, u32 value)
{
    u32 shift = 8 * (off & 3), mask = size == 4 ? ~0u : ((1u << (8 * size)) - 1) << shift;
    u32 dw = (cfg[off / 4] & ~mask) | ((value << shift) & mask);
    if (off / 4 == 4)
        dw = (dw & ~0x1ffffu) | 0; /* 128 KiB, mem32 */
    if (off / 4 == 5)
        dw = (dw & ~0x3fu) | 1; /* 64 ports */
    if (off / 4 == 7)
        dw = dw & ~0x3fffu; /* 16 KiB, mem32 */
    cfg[off / 4] = dw;
}
const struct pci_cfg_access pci_host = { fake_read, fake_write, NULL };

static hpa_t root_now;
static u32 view_now, flushes, intercepts[65536 / 32];
static u8 injected;
static void f_set_root(struct vcpu *v, hpa_t root, u32 view)
{
    root_now = root;
    view_now = view;
}
static void f_flush(struct vcpu *v) { flushes++; }
static void f_io(struct vcpu *v, u16 port, bool on)
{
    if (on)
        intercepts[port / 32] |= 1u << (port % 32);
}
static void f_inject(struct vcpu *v, u8 vec, bool has_err, u32 err) { injected = vec; }
static const struct vcpu_ops fake_ops = { .name = "fake",
                                          .set_nested_root = f_set_root,
                                          .flush_nested_tlb = f_flush,
                                          .set_io_intercept = f_io,
                                          .inject_exception = f_inject };
const struct vcpu_ops *vcpu_ops = &fake_ops;

static bool decode_ok = true;
bool mmio_complete(struct vcpu *v, bool write, u64 read_value, struct mmio_insn *insn, const char **why)
{
    if (!decode_ok) {
        *why = "test";
        return false;
    }
    memset(insn, 0, sizeof(*insn));
    insn->len = 2;
    insn->size = 4;
    insn->write = write;
    v->regs[REG_RIP] += 2;
    return true;
}

bool mmio_decode(struct vcpu *v, bool write, struct mmio_insn *insn, const char **why)
{
    if (!decode_ok) {
        *why = "test";
        return false;
    }
    memset(insn, 0, sizeof(*insn));
    insn->len = 2;
    insn->size = 4;
    insn->write = write;
    return true;
}
static u64 read_result;
void mmio_finish(struct vcpu *v, const struct mmio_insn *insn, u64 read_value)
{
    read_result = read_value;
    v->regs[REG_RIP] += insn->len;
}
u64 insn_mmio_write_value(const struct mmio_insn *in, const u64 *regs) { return regs[REG_RAX] & 0xffffffffu; }

static hpa_t mmio_seen;
static u64 mmio_value;
static int mmio_accesses;
u64 host_test_mmio_read(hpa_t hpa, u8 size)
{
    mmio_seen = hpa;
    mmio_accesses++;
    return 0xabcd1234u;
}
void host_test_mmio_write(hpa_t hpa, u8 size, u64 value)
{
    mmio_seen = hpa;
    mmio_value = value;
    mmio_accesses++;
}

static u32 port_seen, port_value;
u32 host_test_port_in(u16 port, u8 size)
{
    port_seen = port;
    return 0x12345678u;
}
void host_test_port_out(u16 port, u8 size, u32 value)
{
    port_seen = port;
    port_value = value;
}

/* ---------------------------------------------------------------- set-up */
static struct vm vm;
static struct privilege_registry privs;
static struct vcpu vcpu;
static struct guarded_dev g;
static struct pci_dev nic;

/* Guest RAM: the first 512 MiB, identity-mapped. */
static const struct gmem_range guest_ram = { 0, MiB(512) };

static int setup(void **state)
{
    memset(&vm, 0, sizeof(vm));
    memset(&vcpu, 0, sizeof(vcpu));
    memset(intercepts, 0, sizeof(intercepts));
    root_now = 0, view_now = 0, flushes = 0, injected = 0, decode_ok = true;
    mmio_seen = 0, mmio_value = 0, mmio_accesses = 0, read_result = 0;
    logbuf[0] = 0;
    memset(cfg, 0, sizeof(cfg));
    cfg[0] = 0x100e8086;
    cfg[1] = 0x3; /* IO + MEM decoding on, as the firmware leaves it */
    cfg[4] = (u32)BAR0;
    cfg[5] = BAR1 | 1;
    memset(&nic, 0, sizeof(nic));
    nic.bdf = NIC_BDF;
    nic.vendor = 0x8086;
    nic.device = 0x100e;
    nic.bar[0] = (struct pci_bar){ .base = BAR0, .size = 0x20000, .kind = PCI_BAR_MEM32 };
    nic.bar[1] = (struct pci_bar){ .base = BAR1, .size = 64, .kind = PCI_BAR_IO };
    vm.mem = (struct guest_mem){ .ranges = &guest_ram, .count = 1, .ram_bytes = MiB(512) };
    assert_true(npt_init(&vm.npt, &npt_format_x86, table_page));
    assert_true(npt_map(&vm.npt, 0, 0, MiB(512), NPT_RWX)); /* identity, as build_nested_map */
    assert_true(npt_map(&vm.npt, 0xfe000000, 0xfe000000, MiB(16), NPT_READ | NPT_WRITE | NPT_UNCACHED));
    privilege_registry_init(&privs);
    vcpu.vm = &vm;
    vm.vcpu[0] = &vcpu;
    vm.vcpu_count = 1;
    return 0;
}

static int teardown(void **state)
{
    while (npages)
        free(pages[--npages]);
    return 0;
}

/* The e1000e's layout: BAR3 with the MSI-X capability (5 vectors) pointing into it. */
static void add_msix(u32 table, u32 pba, u16 vectors)
{
    cfg[1] |= 0x10u << 16; /* status: capability list */
    cfg[0x34 / 4] = MSIX_CAP;
    cfg[0x40 / 4] = 0x00000001; /* a power management capability is no MSI-X: the walk goes on */
    cfg[0x34 / 4] = 0x40;
    cfg[0x40 / 4] |= MSIX_CAP << 8;
    cfg[MSIX_CAP / 4] = 0x11 | (u32)(vectors - 1) << 16; /* last in the list */
    cfg[MSIX_CAP / 4 + 1] = table;
    cfg[MSIX_CAP / 4 + 2] = pba;
    cfg[7] = (u32)BAR3;
    nic.bar[3] = (struct pci_bar){ .base = BAR3, .size = 0x4000, .kind = PCI_BAR_MEM32 };
}

static hpa_t lookup(const struct npt *n, gpa_t gpa, u32 *perms)
{
    hpa_t hpa = 0;
    if (!npt_lookup(n, gpa, &hpa, perms, NULL))
        return ~0ull;
    return hpa;
}

/* ---------------------------------------------------------------- tests */
/* QEMU's rtl8139: a 256-byte memory BAR1, here in the second half of its page, beside another
 * device's registers (the page is identity-mapped device memory in the fixture). */
#define SMALL      (BAR0 + 0x1100)
#define SMALL_PAGE (BAR0 + 0x1000)
#define MOVED      (BAR0 + 0x5000)

static void sub_page_bar_is_trapped_and_forwarded(void **state)
{
    char err[160];
    int h;

    nic.bar[0] = (struct pci_bar){ .base = SMALL, .size = 0x100, .kind = PCI_BAR_MEM32 };
    cfg[4] = (u32)SMALL;
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    assert_non_null(strstr(logbuf, "smaller than a page: page 0xfeb81000 is trapped in every view"));
    /* the page is in no view: every access exits */
    assert_int_equal(lookup(&vm.npt, SMALL_PAGE, NULL), ~0ull);
    assert_true(!vm.npt_priv.root || lookup(&vm.npt_priv, SMALL_PAGE, NULL) == ~0ull);
    /* unprivileged: the BAR reads zero, a write goes nowhere, the device is never touched */
    read_result = 0x77;
    assert_true(guarded_dev_nested_fault(&g, &vcpu, SMALL + 0x10, false));
    assert_int_equal(read_result, 0);
    vcpu.regs[REG_RAX] = 0x10;
    assert_true(guarded_dev_nested_fault(&g, &vcpu, SMALL + 0x37, true));
    assert_int_equal(mmio_accesses, 0);
    assert_int_equal(g.stats.writes_dropped, 1);
    /* the rest of the page is someone else's: not this device's, forwarded to what was mapped */
    assert_false(guarded_dev_nested_fault(&g, &vcpu, SMALL_PAGE + 0x40, false));
    assert_true(trap_page_forward(&vcpu, SMALL_PAGE + 0x40, false));
    assert_int_equal(mmio_seen, SMALL_PAGE + 0x40);
    assert_int_equal(read_result, 0xabcd1234u);
    assert_false(trap_page_forward(&vcpu, BAR0 + 0x3000, false)); /* not a trapped page */
    /* privileged: the BAR's bytes reach the device */
    h = privilege_lookup(&privs, "nic");
    privilege_activate(&privs, h);
    privilege_raise(&privs, h, 0);
    mmio_accesses = 0;
    assert_true(guarded_dev_nested_fault(&g, &vcpu, SMALL + 0x10, false));
    assert_int_equal(mmio_seen, SMALL + 0x10);
    assert_int_equal(read_result, 0xabcd1234u);
    vcpu.regs[REG_RAX] = 0x5a;
    assert_true(guarded_dev_nested_fault(&g, &vcpu, SMALL + 0x44, true));
    assert_int_equal(mmio_seen, SMALL + 0x44);
    assert_int_equal(mmio_value, 0x5a);
    assert_int_equal(g.stats.mmio_forwarded, 2);
    /* an access running past the BAR's end is refused */
    assert_true(guarded_dev_nested_fault(&g, &vcpu, SMALL + 0xfe, false));
    assert_int_equal(injected, VEC_GP);
    assert_int_equal(mmio_accesses, 2);
    /* the guest moves the BAR to another page: both pages stay trapped; the real address reads
     * all ones even with the privilege (it is reached only through the guest's BAR) */
    pci_vdev_write(&g.vdev, 0x10, 4, (u32)MOVED);
    assert_true(g.bar_live[0]);
    assert_int_equal(g.live_gpa[0], MOVED);
    assert_int_equal(lookup(&vm.npt, MOVED, NULL), ~0ull);
    assert_int_equal(lookup(&vm.npt, SMALL_PAGE, NULL), ~0ull);
    assert_true(guarded_dev_nested_fault(&g, &vcpu, SMALL + 0x10, false));
    assert_int_equal(read_result, ~0ull);
    assert_true(guarded_dev_nested_fault(&g, &vcpu, MOVED + 0x10, false));
    assert_int_equal(mmio_seen, SMALL + 0x10); /* translated to the real BAR */
    /* and back: the page it left is mapped again as it was, the real page stays trapped */
    pci_vdev_write(&g.vdev, 0x10, 4, (u32)SMALL);
    assert_int_equal(lookup(&vm.npt, MOVED, NULL), MOVED);
    assert_int_equal(lookup(&vm.npt, SMALL_PAGE, NULL), ~0ull);
}

/* A second guarded device under another privilege: none of its pages in either view, each access
 * checks that privilege; under the first's privilege it shares the privileged view instead. */
static void more_devices_share_the_view_or_are_trapped(void **state)
{
    static struct guarded_dev g2, g3;
    struct pci_dev other = nic;
    char err[160];
    int h;

    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    other.bdf = NIC_BDF + 8;
    other.bar[0].base = 0xfeb00000;
    other.bar[1].size = 0;
    assert_int_equal(guarded_dev_init_more(&g2, &vm, &privs, &other, "disk", false, err, sizeof(err)), 0);
    assert_true(g2.trap_all);
    assert_int_equal(lookup(&vm.npt, 0xfeb00000, NULL), ~0ull);
    assert_int_equal(lookup(&vm.npt_priv, 0xfeb1f000, NULL), ~0ull);
    assert_true(guarded_dev_nested_fault(&g2, &vcpu, 0xfeb00008, false));
    assert_int_equal(read_result, 0);
    assert_int_equal(mmio_accesses, 0);
    /* `nic` held: still nothing of the other device */
    h = privilege_lookup(&privs, "nic");
    privilege_activate(&privs, h);
    privilege_raise(&privs, h, 0);
    assert_true(guarded_dev_nested_fault(&g2, &vcpu, 0xfeb00008, false));
    assert_int_equal(mmio_accesses, 0);
    h = privilege_lookup(&privs, "disk");
    assert_true(h >= 0);
    privilege_activate(&privs, h);
    privilege_raise(&privs, h, 0);
    assert_true(guarded_dev_nested_fault(&g2, &vcpu, 0xfeb00008, false));
    assert_int_equal(mmio_seen, 0xfeb00008);
    assert_int_equal(g2.stats.raises, 1);
    /* a third under `nic`: in the privileged view, the first's registration */
    other.bdf = NIC_BDF + 16;
    other.bar[0].base = 0xfea00000;
    assert_int_equal(guarded_dev_init_more(&g3, &vm, &privs, &other, "nic", true, err, sizeof(err)), 0);
    assert_false(g3.trap_all);
    assert_int_equal(g3.handle, g.handle);
    assert_int_equal(lookup(&vm.npt, 0xfea00000, NULL), g3.zero_page);
    assert_int_equal(lookup(&vm.npt_priv, 0xfea00000, NULL), 0xfea00000);
}

static void sub_page_bar_with_msix_is_refused(void **state)
{
    char err[200];

    add_msix(0 | 3, 0x2000 | 3, 5);
    nic.bar[3].size = 0x800;
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "smaller than a page: not supported"));
}

static void views_differ_only_at_the_bars(void **state)
{
    char err[160];
    u32 perms;
    int h;

    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    /* normal view: every BAR page is the zero page, read-only */
    assert_int_equal(lookup(&vm.npt, BAR0, &perms), g.zero_page);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0x1f000, &perms), g.zero_page);
    assert_int_equal(perms & NPT_WRITE, 0);
    /* privileged view: the device */
    assert_int_equal(lookup(&vm.npt_priv, BAR0 + 0x1f123, &perms), BAR0 + 0x1f123);
    assert_true(perms & NPT_WRITE);
    /* everything else is the same in both */
    assert_int_equal(lookup(&vm.npt_priv, BAR0 + 0x20000, NULL), BAR0 + 0x20000);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0x20000, NULL), BAR0 + 0x20000);
    assert_int_equal(lookup(&vm.npt_priv, MiB(100), NULL), MiB(100)); /* guest RAM, identity */
    /* the privilege is registered; raising swaps the root (once the exit is handled: border
     * control picks the view), lowering swaps it back */
    h = privilege_lookup(&privs, "nic");
    assert_true(h >= 0);
    assert_int_equal(privilege_activate(&privs, h), 0);
    assert_int_equal(privilege_raise(&privs, h, 0), 0);
    border_view_after_exit(&vcpu);
    assert_int_equal(root_now, vm.npt_priv.root);
    assert_int_equal(view_now, VIEW_PRIVILEGED);
    assert_int_equal(privilege_lower(&privs, h, 0), 0);
    border_view_after_exit(&vcpu);
    assert_int_equal(root_now, vm.npt.root);
    assert_int_equal(view_now, VIEW_NORMAL);
    assert_int_equal(g.stats.raises, 1);
    assert_int_equal(g.stats.lowers, 1);
}

static void unprivileged_writes_are_dropped_and_undecodable_ones_refused(void **state)
{
    char err[160];

    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    vcpu.regs[REG_RIP] = 0x1000;
    assert_true(guarded_dev_nested_fault(&g, &vcpu, BAR0 + 0x5400, true));
    assert_int_equal(vcpu.regs[REG_RIP], 0x1002);
    assert_int_equal(g.stats.writes_dropped, 1);
    assert_int_equal(injected, 0);
    decode_ok = false;
    assert_true(guarded_dev_nested_fault(&g, &vcpu, BAR0 + 8, true));
    assert_int_equal(injected, VEC_GP);
    assert_int_equal(vcpu.regs[REG_RIP], 0x1002);
    /* not this device's: left to the caller */
    assert_false(guarded_dev_nested_fault(&g, &vcpu, BAR0 + 0x20000, true));
}

static void io_bar_answers_only_while_privileged(void **state)
{
    char err[160];
    u32 value = 0xdead;
    int h;

    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    guarded_dev_attach_vcpu(&g, &vcpu);
    assert_true(intercepts[BAR1 / 32] & 1u);
    assert_true(guarded_dev_io(&g, &vcpu, BAR1 + 4, 4, true, &value));
    assert_int_equal(value, 0); /* unprivileged: reads zero */
    port_seen = 0;
    assert_true(guarded_dev_io(&g, &vcpu, BAR1, 4, false, &value));
    assert_int_equal(port_seen, 0); /* and the write went nowhere */
    h = privilege_lookup(&privs, "nic");
    privilege_activate(&privs, h);
    privilege_raise(&privs, h, 0);
    assert_true(guarded_dev_io(&g, &vcpu, BAR1 + 4, 4, true, &value));
    assert_int_equal(value, 0x12345678u);
    assert_int_equal(port_seen, BAR1 + 4);
    value = 0x55;
    assert_true(guarded_dev_io(&g, &vcpu, BAR1, 4, false, &value));
    assert_int_equal(port_value, 0x55);
    assert_false(guarded_dev_io(&g, &vcpu, 0x3f8, 1, true, &value));
}

static void guest_moves_the_bar_and_the_real_address_stays_unreachable(void **state)
{
    char err[160];
    const u64 moved = 0xf0000000ull;

    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    /* the guest sizes BAR0 with decoding off, then moves it, then turns decoding on */
    pci_vdev_write(&g.vdev, 0x04, 2, 0);
    pci_vdev_write(&g.vdev, 0x10, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&g.vdev, 0x10, 4), 0xfffe0000u);
    pci_vdev_write(&g.vdev, 0x10, 4, (u32)moved);
    pci_vdev_write(&g.vdev, 0x04, 2, 3);
    assert_int_equal(cfg[4], (u32)BAR0); /* the real BAR never moves */
    assert_int_equal(lookup(&vm.npt_priv, moved + 0x10, NULL), BAR0 + 0x10);
    assert_int_equal(lookup(&vm.npt, moved + 0x10, NULL), g.zero_page + 0x10);
    assert_int_equal(lookup(&vm.npt, BAR0, NULL), ~0ull);
    assert_int_equal(lookup(&vm.npt_priv, BAR0, NULL), ~0ull);
    assert_true(flushes > 0);
    /* a BAR placed over guest RAM is refused: nothing mapped there changes */
    pci_vdev_write(&g.vdev, 0x10, 4, 0x100000);
    assert_int_equal(lookup(&vm.npt_priv, 0x100000, NULL), 0x100000 /* guest RAM, identity */);
    assert_false(g.bar_live[0]);
}

static void unguardable_devices_are_refused(void **state)
{
    char err[160];

    nic.bar[0].size = 0x800;
    nic.bar[0].base = BAR0 + 0x400; /* not aligned to its size */
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not aligned to its size"));
    nic.bar[0].base = BAR0;
    nic.bar[0].size = 0x20000;
    nic.bar[0].base = 0x10000000; /* inside guest RAM */
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is not in device space"));
}

/* With the machine's memory map (identity-mapped guest memory): a BAR may sit anywhere in device
 * space, above 4 GiB too, but never on the hypervisor's pages or on RAM the map names. */
static void bars_live_in_device_space_of_the_memory_map(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0, MiB(512), BOOT_MEM_FREE, 7 },
        { 0xfe000000, MiB(16), BOOT_MEM_MMIO, 11 },
    };
    static const struct phys_range hv[] = { { GiB(6), MiB(2) } };
    static struct guest_physmap pm;
    char err[160];

    assert_int_equal(physmap_build(fw, 2, hv, 1, 0, &pm, err, sizeof(err)), 0);
    vm.physmap = &pm;
    nic.bar[0] = (struct pci_bar){ .base = GiB(6), .size = 0x20000, .kind = PCI_BAR_MEM64 };
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is not in device space"));
    nic.bar[0].base = GiB(6) + MiB(2); /* just above: device space */
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    assert_int_equal(lookup(&vm.npt_priv, GiB(6) + MiB(2) + 0x123, NULL), GiB(6) + MiB(2) + 0x123);
    assert_int_equal(lookup(&vm.npt, GiB(6) + MiB(2), NULL), g.zero_page);
}

static void msix_pages_are_the_device_in_both_views(void **state)
{
    char err[160];
    u32 perms;

    add_msix(0 | 3, 0x2000 | 3, 5);
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    assert_int_equal(g.open_count, 2);
    /* normal view: the table's page and the PBA's page are the device, read/write; the others of
     * BAR3, and all of BAR0, the zero page */
    assert_int_equal(lookup(&vm.npt, BAR3 + 0x8, &perms), BAR3 + 0x8);
    assert_true(perms & NPT_WRITE);
    assert_true(perms & NPT_UNCACHED);
    assert_int_equal(lookup(&vm.npt, BAR3 + 0x1000, &perms), g.zero_page);
    assert_int_equal(perms & NPT_WRITE, 0);
    assert_int_equal(lookup(&vm.npt, BAR3 + 0x2004, NULL), BAR3 + 0x2004);
    assert_int_equal(lookup(&vm.npt, BAR3 + 0x3000, NULL), g.zero_page);
    assert_int_equal(lookup(&vm.npt, BAR0, NULL), g.zero_page);
    /* privileged view: the device everywhere */
    assert_int_equal(lookup(&vm.npt_priv, BAR3 + 0x1000, NULL), BAR3 + 0x1000);
    assert_int_equal(lookup(&vm.npt_priv, BAR3 + 0x2000, NULL), BAR3 + 0x2000);
    assert_int_equal(lookup(&vm.npt_priv, BAR3 + 0x3ff8, NULL), BAR3 + 0x3ff8);
    /* logged, with what else those pages expose: 5 entries are 80 bytes, the PBA 8 */
    assert_non_null(strstr(logbuf, "MSI-X table at BAR3+0x0, 80 bytes (5 vectors): its page BAR3+0x0-0xfff maps to the "
                                   "device in both views"));
    assert_non_null(strstr(logbuf, "MSI-X PBA at BAR3+0x2000, 8 bytes"));
    assert_non_null(
        strstr(logbuf, "BAR3+0x50-0xfff shares a page with MSI-X and is reachable without the privilege too"));
    assert_non_null(strstr(logbuf, "BAR3+0x2008-0x2fff shares a page"));
    /* the bench's rewrite puts back what is there: the MSI-X pages stay the device */
    guarded_dev_measure(&g, &vcpu);
    assert_int_equal(lookup(&vm.npt, BAR3, NULL), BAR3);
    assert_int_equal(lookup(&vm.npt, BAR3 + 0x1000, NULL), g.zero_page);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0x1000, NULL), g.zero_page);
}

static void msix_sharing_a_register_bar_opens_only_its_pages(void **state)
{
    char err[160];

    /* real devices often keep the table and PBA in the register BAR: one page for both here */
    add_msix(0xe000 | 0, 0xe800 | 0, 3);
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    assert_int_equal(g.open_count, 1);
    assert_int_equal(g.open[0].bar, 0);
    assert_int_equal(g.open[0].off, 0xe000);
    assert_int_equal(g.open[0].len, 0x1000);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0xe800, NULL), BAR0 + 0xe800);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0xd000, NULL), g.zero_page);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0xf000, NULL), g.zero_page);
    assert_int_equal(lookup(&vm.npt, BAR3, NULL), g.zero_page); /* BAR3 holds nothing of MSI-X now */
    /* the gaps around and between the two structures are named */
    assert_non_null(strstr(logbuf, "BAR0+0xe030-0xe7ff shares a page"));
    assert_non_null(strstr(logbuf, "BAR0+0xe808-0xefff shares a page"));
    /* a table spanning pages opens each of them */
    teardown(state), setup(state);
    add_msix(0x1f00 | 0, 0x3000 | 0, 64); /* 1 KiB from 0x1f00: pages 0x1000 and 0x2000 */
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    assert_int_equal(g.open_count, 1); /* the PBA's page touches them: one run 0x1000-0x3fff */
    assert_int_equal(g.open[0].len, 0x3000);
    assert_non_null(
        strstr(logbuf, "MSI-X table at BAR0+0x1f00, 1024 bytes (64 vectors): its pages BAR0+0x1000-0x2fff map to"));
    assert_int_equal(lookup(&vm.npt, BAR0 + 0x2ff0, NULL), BAR0 + 0x2ff0);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0x0ff0, NULL), g.zero_page + 0xff0);
    assert_int_equal(lookup(&vm.npt, BAR0 + 0x4000, NULL), g.zero_page);
}

static void msix_pages_move_with_their_bar(void **state)
{
    char err[160];
    const u64 moved = 0xf0004000ull;
    u32 perms;

    add_msix(0 | 3, 0x2000 | 3, 5);
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    pci_vdev_write(&g.vdev, 0x04, 2, 0);
    pci_vdev_write(&g.vdev, 0x1c, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&g.vdev, 0x1c, 4), 0xffffc000u);
    pci_vdev_write(&g.vdev, 0x1c, 4, (u32)moved);
    pci_vdev_write(&g.vdev, 0x04, 2, 3);
    assert_int_equal(cfg[7], (u32)BAR3); /* the real BAR never moves */
    assert_int_equal(lookup(&vm.npt, moved + 0x10, &perms), BAR3 + 0x10);
    assert_true(perms & NPT_WRITE);
    assert_int_equal(lookup(&vm.npt, moved + 0x1000, NULL), g.zero_page);
    assert_int_equal(lookup(&vm.npt, moved + 0x2000, NULL), BAR3 + 0x2000);
    assert_int_equal(lookup(&vm.npt_priv, moved + 0x3000, NULL), BAR3 + 0x3000);
    /* the old address is nothing in either view */
    assert_int_equal(lookup(&vm.npt, BAR3, NULL), ~0ull);
    assert_int_equal(lookup(&vm.npt, BAR3 + 0x2000, NULL), ~0ull);
    assert_int_equal(lookup(&vm.npt_priv, BAR3, NULL), ~0ull);
    /* decoding off: gone from both */
    pci_vdev_write(&g.vdev, 0x04, 2, 0);
    assert_int_equal(lookup(&vm.npt, moved, NULL), ~0ull);
    assert_int_equal(lookup(&vm.npt_priv, moved, NULL), ~0ull);
}

static void msix_that_cannot_work_is_refused(void **state)
{
    char err[160];

    add_msix(0 | 1, 0x2000 | 3, 5); /* the table in the I/O BAR */
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MSI-X table in BAR1, which is not a memory BAR"));
    add_msix(0 | 3, 0x2000 | 5, 5); /* the PBA in an unimplemented BAR */
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MSI-X PBA in BAR5, which is not a memory BAR"));
    add_msix(0x3f80 | 3, 0x2000 | 3, 16); /* 256 bytes from 0x3f80 of 16 KiB */
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MSI-X table at BAR3+0x3f80 (256 bytes) runs past the BAR's end (0x4000 bytes)"));
    /* no capability list at all: nothing opened */
    cfg[1] &= ~(0x10u << 16);
    assert_int_equal(guarded_dev_init(&g, &vm, &privs, &nic, "nic", err, sizeof(err)), 0);
    assert_int_equal(g.open_count, 0);
    assert_int_equal(lookup(&vm.npt, BAR3, NULL), g.zero_page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(views_differ_only_at_the_bars, setup, teardown),
        cmocka_unit_test_setup_teardown(unprivileged_writes_are_dropped_and_undecodable_ones_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(io_bar_answers_only_while_privileged, setup, teardown),
        cmocka_unit_test_setup_teardown(guest_moves_the_bar_and_the_real_address_stays_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(unguardable_devices_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bars_live_in_device_space_of_the_memory_map, setup, teardown),
        cmocka_unit_test_setup_teardown(msix_pages_are_the_device_in_both_views, setup, teardown),
        cmocka_unit_test_setup_teardown(msix_sharing_a_register_bar_opens_only_its_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(msix_pages_move_with_their_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(msix_that_cannot_work_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(sub_page_bar_is_trapped_and_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(sub_page_bar_with_msix_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(more_devices_share_the_view_or_are_trapped, setup, teardown),
    };
    return cmocka_run_group_tests_name("guarded_dev", tests, NULL, NULL);
}
