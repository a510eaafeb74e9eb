/* UNIT-SOURCES: drivers/pci/pci_enum.c hv/pci/pci_vdev.c hv/pci/pci_conf1.c hv/pci/pci_chipset.c hv/pci/pci_ecam.c hv/lib/fmt.c */
/*
 * drivers/pci against a fake configuration space that behaves like hardware: BAR registers keep
 * only their implemented bits (so all ones reads back the size mask), type bits are read-only,
 * status is write-one-to-clear, absent functions read all ones. Enumeration (multi-function,
 * bridges, loops, root buses no bridge leads to, BAR sizing that leaves bridges alone), config-file
 * matching, the guarded device's virtual config space (pci_vdev), the guest's conf1 emulation and
 * the dispatch ECAM shares with it (read-only chipset functions, extended space), the chipset
 * functions whose writes are refused, and ECAM address decoding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/pci/pci.h"
#include "pci/pci_vdev.h"
#include "pci/pci_conf1.h"
#include "pci/pci_chipset.h"
#include "pci/pci_ecam.h"

#define MAXD 64
#define CFG  4096 /* the fake's configuration space: ECAM's, extended space included */

/* ------------------------------------------------------------------ the fake configuration space */

struct fdev {
    u16 bdf;
    u8 cfg[CFG];
    u32 wmask[CFG / 4]; /* per dword: bits a write changes */
    u32 rw1c[CFG / 4];  /* per dword: write-one-to-clear bits */
};

struct wrec {
    u16 bdf, off;
    u8 size;
    u32 value;
};

static struct fdev fdevs[32];
static int nfdevs;
static struct wrec wlog[4096];
static int nwlog;
static int sizing_while_decoding; /* all ones written to a BAR while the device decoded */

static u32 ones(u8 size) { return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1; }

static struct fdev *fake_find(u16 bdf)
{
    for (int i = 0; i < nfdevs; i++)
        if (fdevs[i].bdf == bdf)
            return &fdevs[i];
    return NULL;
}

static u32 dw_get(const struct fdev *f, u16 off)
{
    return (u32)f->cfg[off] | (u32)f->cfg[off + 1] << 8 | (u32)f->cfg[off + 2] << 16 | (u32)f->cfg[off + 3] << 24;
}

static void dw_set(struct fdev *f, u16 off, u32 v)
{
    for (int i = 0; i < 4; i++)
        f->cfg[off + i] = (u8)(v >> (8 * i));
}

static u32 fake_read(void *ctx, u16 bdf, u16 off, u8 size)
{
    struct fdev *f = fake_find(bdf);

    assert_true(size == 1 || size == 2 || size == 4);
    assert_int_equal(off & (size - 1), 0);
    if (!f || off >= CFG)
        return ones(size);
    return (dw_get(f, off & ~3u) >> ((off & 3) * 8)) & ones(size);
}

static void fake_write(void *ctx, u16 bdf, u16 off, u8 size, u32 value)
{
    struct fdev *f = fake_find(bdf);
    u16 dw = off & ~3u;
    unsigned shift = (off & 3u) * 8;
    u32 be = ones(size) << shift, v = (value & ones(size)) << shift, old, neu;

    assert_true(size == 1 || size == 2 || size == 4);
    assert_int_equal(off & (size - 1), 0);
    assert_true(nwlog < (int)(sizeof(wlog) / sizeof(wlog[0])));
    wlog[nwlog++] = (struct wrec){ bdf, off, size, value };
    if (!f || off >= CFG)
        return;
    if (dw >= 0x10 && dw < 0x28 && value == 0xffffffffu && (dw_get(f, 4) & 3))
        sizing_while_decoding++;
    old = dw_get(f, dw);
    neu = (old & ~(f->wmask[dw / 4] & be)) | (v & f->wmask[dw / 4] & be);
    neu &= ~(v & f->rw1c[dw / 4]);
    dw_set(f, dw, neu);
}

static const struct pci_cfg_access fake = { fake_read, fake_write, NULL };

static struct fdev *fake_add(u8 bus, u8 dev, u8 fn, u16 vendor, u16 device, u32 class_rev, u8 header)
{
    struct fdev *f = &fdevs[nfdevs++];

    memset(f, 0, sizeof(*f));
    f->bdf = PCI_BDF(bus, dev, fn);
    dw_set(f, 0x00, (u32)device << 16 | vendor);
    dw_set(f, 0x04, 0x00100000); /* status: capability list */
    f->wmask[1] = 0x000007ff;    /* command */
    f->rw1c[1] = 0xf9000000;     /* status error bits */
    dw_set(f, 0x08, class_rev);
    dw_set(f, 0x0c, (u32)header << 16);
    f->wmask[3] = 0x0000ffff; /* cache line, latency timer */
    if ((header & 0x7f) == 1)
        f->wmask[6] = 0x00ffffff; /* bus numbers */
    f->wmask[15] = 0x000000ff;    /* interrupt line */
    for (int i = 16; i < CFG / 4; i++)
        f->wmask[i] = 0xffffffffu; /* capabilities, device-specific, extended space */
    return f;
}

static void fake_bar(struct fdev *f, int i, enum pci_bar_kind kind, u64 size, u64 base, bool pf)
{
    u16 off = (u16)(0x10 + 4 * i);
    u64 align = ~(size - 1);

    switch (kind) {
    case PCI_BAR_IO:
        /* 16 address bits stick, as on most devices */
        f->wmask[off / 4] = (u32)(align & 0xfffc);
        dw_set(f, off, (u32)base | 1);
        break;
    case PCI_BAR_MEM32:
        f->wmask[off / 4] = (u32)(align & 0xfffffff0u);
        dw_set(f, off, (u32)base | (pf ? 8 : 0));
        break;
    case PCI_BAR_MEM64:
        f->wmask[off / 4] = (u32)(align & 0xfffffff0u);
        f->wmask[off / 4 + 1] = (u32)(align >> 32);
        dw_set(f, off, (u32)base | 4 | (pf ? 8 : 0));
        dw_set(f, off + 4, (u32)(base >> 32));
        break;
    default:
        break;
    }
}

static void fake_irq(struct fdev *f, u8 line, u8 pin)
{
    f->cfg[0x3c] = line;
    f->cfg[0x3d] = pin;
}

static void fake_reset(void)
{
    nfdevs = 0;
    nwlog = 0;
    sizing_while_decoding = 0;
}

static int count_writes(u16 bdf, u16 lo, u16 hi)
{
    int n = 0;
    for (int i = 0; i < nwlog; i++)
        if (wlog[i].bdf == bdf && wlog[i].off >= lo && wlog[i].off < hi)
            n++;
    return n;
}

/* ------------------------------------------------------------------ a platform */

#define NIC_BDF PCI_BDF(0, 3, 0)

/* The guarded-NIC-like device every vdev and conf1 test uses. */
static struct fdev *add_nic(void)
{
    struct fdev *f = fake_add(0, 3, 0, 0x8086, 0x100e, 0x02000003, 0);
    fake_bar(f, 0, PCI_BAR_MEM32, 0x20000, 0xfebc0000, false);
    fake_bar(f, 1, PCI_BAR_IO, 0x20, 0xc000, false);
    fake_bar(f, 2, PCI_BAR_MEM64, 0x4000, 0x100000000ull, true);
    /* BAR 4 unimplemented */
    fake_bar(f, 5, PCI_BAR_MEM32, 0x1000, 0xfebe0000, false);
    f->wmask[0x30 / 4] = 0xfffc0001; /* a 256 KiB expansion ROM */
    dw_set(f, 0x30, 0xfeb80000);
    dw_set(f, 0x04, dw_get(f, 0x04) | 0x20000000 | 0x7); /* master abort seen; IO, MEM, MASTER */
    f->cfg[0x34] = 0x40;                                 /* MSI capability */
    dw_set(f, 0x40, 0x00805005);
    fake_irq(f, 11, 1);
    return f;
}

/*
 * Bus 0: 00.0 host bridge; 01.0 multi-function (fn 1 answers vendor 0, fn 2 present); 02.0 single
 * function with a stray fn 3; 03.0 the NIC; 04.1 without fn 0; 1e.0 bridge to bus 2; 1f.0 bridge
 * to bus 1. Bus 1: 00.0 device with a wide I/O BAR; 01.0 bridge back to bus 0; 02.0 bridge to
 * itself; 03.0 bridge to bus 2 (claimed twice). Bus 2: 00.0 with an 8 GiB 64-bit BAR, an
 * unimplemented BAR and a 64-bit BAR in the last slot.
 */
static void build_platform(void)
{
    struct fdev *f;

    fake_reset();
    fake_add(0, 0, 0, 0x1022, 0x1480, 0x06000000, 0);
    f = fake_add(0, 1, 0, 0x1022, 0x1234, 0x0c030010, 0x80);
    fake_bar(f, 0, PCI_BAR_MEM32, 0x1000, 0xfe000000, false);
    fake_irq(f, 5, 1);
    fake_add(0, 1, 1, 0x0000, 0x0000, 0, 0);
    f = fake_add(0, 1, 2, 0x1022, 0x1235, 0x0c030020, 0);
    fake_bar(f, 0, PCI_BAR_MEM32, 0x100, 0xfe001000, true);
    fake_add(0, 2, 0, 0x1234, 0x1111, 0x03000000, 0);
    fake_add(0, 2, 3, 0x1234, 0x2222, 0x03000000, 0);
    add_nic();
    fake_add(0, 4, 1, 0x1234, 0x3333, 0x0, 0);
    f = fake_add(0, 0x1e, 0, 0x1022, 0x1453, 0x06040000, 1);
    f->cfg[0x18] = 0;
    f->cfg[0x19] = 2;
    f->cfg[0x1a] = 2;
    f = fake_add(0, 0x1f, 0, 0x1022, 0x1453, 0x06040000, 0x81); /* bridge, multi-function bit, no fn 1 */
    f->cfg[0x18] = 0;
    f->cfg[0x19] = 1;
    f->cfg[0x1a] = 1;
    fake_bar(f, 0, PCI_BAR_MEM32, 0x4000, 0xfe100000, false);
    dw_set(f, 0x04, dw_get(f, 0x04) | 0x6);

    f = fake_add(1, 0, 0, 0x10ec, 0x8168, 0x02000015, 0);
    fake_bar(f, 0, PCI_BAR_IO, 0x100, 0xe000, false);
    f->wmask[0x10 / 4] = 0xffffff00; /* this one's upper I/O address bits stick */
    fake_bar(f, 2, PCI_BAR_MEM64, 0x1000, 0xfd000000, false);
    dw_set(f, 0x04, dw_get(f, 0x04) | 0x3);
    f = fake_add(1, 1, 0, 0x1022, 0x9999, 0x06040000, 1);
    f->cfg[0x19] = 0;
    f = fake_add(1, 2, 0, 0x1022, 0x9998, 0x06040000, 1);
    f->cfg[0x19] = 1;
    f = fake_add(1, 3, 0, 0x1022, 0x9997, 0x06040000, 1);
    f->cfg[0x19] = 2;

    f = fake_add(2, 0, 0, 0x10de, 0x2204, 0x03000000, 0);
    fake_bar(f, 0, PCI_BAR_MEM64, 8ull << 30, 0x400000000ull, true);
    fake_bar(f, 3, PCI_BAR_MEM32, 0x1000000, 0xf0000000, false);
    dw_set(f, 0x24, 0x4); /* BAR 5: 64-bit type, no room for its upper half */
    f->wmask[0x24 / 4] = 0xfffff000;
    dw_set(f, 0x04, dw_get(f, 0x04) | 0x2);
}

static const struct pci_dev *find_dev(const struct pci_dev *d, int n, u16 bdf)
{
    for (int i = 0; i < n; i++)
        if (d[i].bdf == bdf)
            return &d[i];
    return NULL;
}

/* ------------------------------------------------------------------ enumeration */

static void test_enumerate_topology(void **state)
{
    static const u16 expect[] = {
        PCI_BDF(0, 0, 0), PCI_BDF(0, 1, 0),    PCI_BDF(0, 1, 2),    PCI_BDF(0, 2, 0),
        PCI_BDF(0, 3, 0), PCI_BDF(0, 0x1e, 0), PCI_BDF(0, 0x1f, 0), PCI_BDF(2, 0, 0),
        PCI_BDF(1, 0, 0), PCI_BDF(1, 1, 0),    PCI_BDF(1, 2, 0),    PCI_BDF(1, 3, 0),
    };
    struct pci_dev d[MAXD];
    int n;

    build_platform();
    n = pci_enumerate(&fake, d, MAXD);
    assert_int_equal(n, (int)(sizeof(expect) / sizeof(expect[0])));
    for (int i = 0; i < n; i++)
        assert_int_equal(d[i].bdf, expect[i]);

    assert_int_equal(d[1].vendor, 0x1022);
    assert_int_equal(d[1].device, 0x1234);
    assert_int_equal(d[1].class_rev, 0x0c030010);
    assert_int_equal(d[1].header_type, 0);
    assert_int_equal(d[1].irq_line, 5);
    assert_int_equal(d[1].irq_pin, 1);
    assert_int_equal(d[6].header_type, 1); /* multi-function bit stripped */
    assert_int_equal(d[5].header_type, 1);
}

static void test_enumerate_bars(void **state)
{
    struct pci_dev d[MAXD];
    const struct pci_dev *p;
    int n;

    build_platform();
    n = pci_enumerate(&fake, d, MAXD);

    p = find_dev(d, n, NIC_BDF);
    assert_non_null(p);
    assert_int_equal(p->vendor, 0x8086);
    assert_int_equal(p->device, 0x100e);
    assert_int_equal(p->irq_line, 11);
    assert_int_equal(p->bar[0].kind, PCI_BAR_MEM32);
    assert_int_equal(p->bar[0].base, 0xfebc0000);
    assert_int_equal(p->bar[0].size, 0x20000);
    assert_false(p->bar[0].prefetchable);
    assert_int_equal(p->bar[1].kind, PCI_BAR_IO);
    assert_int_equal(p->bar[1].base, 0xc000);
    assert_int_equal(p->bar[1].size, 0x20);
    assert_int_equal(p->bar[2].kind, PCI_BAR_MEM64);
    assert_int_equal(p->bar[2].base, 0x100000000ull);
    assert_int_equal(p->bar[2].size, 0x4000);
    assert_true(p->bar[2].prefetchable);
    assert_int_equal(p->bar[3].kind, PCI_BAR_NONE);
    assert_int_equal(p->bar[3].size, 0);
    assert_int_equal(p->bar[4].kind, PCI_BAR_NONE);
    assert_int_equal(p->bar[4].size, 0);
    assert_int_equal(p->bar[5].kind, PCI_BAR_MEM32);
    assert_int_equal(p->bar[5].size, 0x1000);

    p = find_dev(d, n, PCI_BDF(0, 1, 2));
    assert_int_equal(p->bar[0].size, 0x100);
    assert_true(p->bar[0].prefetchable);

    p = find_dev(d, n, PCI_BDF(0, 0x1f, 0)); /* a bridge: its BARs are left alone, never sized */
    assert_true(p->bars_unsized);
    assert_int_equal(p->secondary_bus, 1);
    assert_int_equal(p->bar[0].kind, PCI_BAR_NONE);
    assert_int_equal(p->bar[0].size, 0);
    assert_true(find_dev(d, n, PCI_BDF(0, 0, 0))->bars_unsized); /* the host bridge too */
    assert_false(find_dev(d, n, NIC_BDF)->bars_unsized);

    p = find_dev(d, n, PCI_BDF(1, 0, 0)); /* upper I/O bits that stick are not address bits */
    assert_int_equal(p->bar[0].kind, PCI_BAR_IO);
    assert_int_equal(p->bar[0].base, 0xe000);
    assert_int_equal(p->bar[0].size, 0x100);
    assert_int_equal(p->bar[2].kind, PCI_BAR_MEM64);
    assert_int_equal(p->bar[2].base, 0xfd000000);
    assert_int_equal(p->bar[2].size, 0x1000);
    assert_false(p->bar[2].prefetchable);

    p = find_dev(d, n, PCI_BDF(2, 0, 0));
    assert_int_equal(p->bar[0].kind, PCI_BAR_MEM64);
    assert_int_equal(p->bar[0].base, 0x400000000ull);
    assert_int_equal(p->bar[0].size, 8ull << 30);
    assert_int_equal(p->bar[1].kind, PCI_BAR_NONE);
    assert_int_equal(p->bar[2].kind, PCI_BAR_NONE);
    assert_int_equal(p->bar[3].kind, PCI_BAR_MEM32);
    assert_int_equal(p->bar[3].size, 0x1000000);
    assert_int_equal(p->bar[5].kind, PCI_BAR_NONE); /* 64-bit type in the last slot */
    assert_int_equal(p->bar[5].size, 0);
}

static void test_enumerate_restores_everything(void **state)
{
    struct pci_dev d[MAXD];
    struct fdev before[32];
    int n;

    build_platform();
    memcpy(before, fdevs, sizeof(before));
    n = pci_enumerate(&fake, d, MAXD);
    assert_true(n > 0);
    assert_int_equal(sizing_while_decoding, 0);
    for (int i = 0; i < nfdevs; i++)
        assert_memory_equal(fdevs[i].cfg, before[i].cfg, 256);
    /* decoding was switched off around sizing for the devices that had it on */
    assert_true(count_writes(NIC_BDF, 0x04, 0x06) >= 2);
    /* and a device with decoding off is not touched in its command register */
    assert_int_equal(count_writes(PCI_BDF(0, 1, 0), 0x04, 0x06), 0);
    /* no function the scan must not see was written */
    assert_int_equal(count_writes(PCI_BDF(0, 2, 3), 0, 256), 0);
    assert_int_equal(count_writes(PCI_BDF(0, 4, 1), 0, 256), 0);
}

static void test_enumerate_max(void **state)
{
    struct pci_dev d[4];

    build_platform();
    assert_int_equal(pci_enumerate(&fake, d, 3), 3);
    assert_int_equal(d[2].bdf, PCI_BDF(0, 1, 2));
    assert_int_equal(pci_enumerate(&fake, d, 0), 0);
}

static void test_enumerate_empty(void **state)
{
    struct pci_dev d[4];

    fake_reset();
    assert_int_equal(pci_enumerate(&fake, d, 4), 0);
}

/* Root buses no bridge leads to: 0x20 (a host bridge, a bridge to 0x21 with a device behind it)
 * and 0x80 (one device), beside the platform's bus 0. */
static void add_roots(void)
{
    struct fdev *f;

    fake_add(0x20, 0, 0, 0x1022, 0x14a4, 0x06000000, 0);
    f = fake_add(0x20, 1, 0, 0x1022, 0x14a5, 0x06040000, 1);
    f->cfg[0x18] = 0x20;
    f->cfg[0x19] = 0x21;
    f->cfg[0x1a] = 0x21;
    f = fake_add(0x21, 0, 0, 0x8086, 0x10d3, 0x02000000, 0);
    fake_bar(f, 0, PCI_BAR_MEM32, 0x20000, 0xc1600000, false);
    fake_add(0x80, 0, 0, 0x8086, 0x2088, 0x08800000, 0);
}

static void test_enumerate_root_buses(void **state)
{
    struct pci_dev d[MAXD];
    u8 roots[256];
    int n, nroots, i20, i21, i80;

    build_platform();
    add_roots();
    n = pci_enumerate(&fake, d, MAXD);
    assert_int_equal(n, 12 + 4);
    /* bus 0's tree first, then each root bus in order with what hangs below it */
    i20 = (int)(find_dev(d, n, PCI_BDF(0x20, 0, 0)) - d);
    i21 = (int)(find_dev(d, n, PCI_BDF(0x21, 0, 0)) - d);
    i80 = (int)(find_dev(d, n, PCI_BDF(0x80, 0, 0)) - d);
    assert_int_equal(i20, 12);
    assert_true(i21 > i20 && i80 > i21);
    assert_int_equal(d[i21].bar[0].size, 0x20000);
    nroots = pci_root_buses(d, n, roots);
    assert_int_equal(nroots, 3);
    assert_int_equal(roots[0], 0x00);
    assert_int_equal(roots[1], 0x20);
    assert_int_equal(roots[2], 0x80);
}

static void test_enumerate_count_only(void **state)
{
    build_platform();
    add_roots();
    nwlog = 0;
    assert_int_equal(pci_enumerate(&fake, NULL, 0), 16);
    assert_int_equal(nwlog, 0); /* counting writes nothing */
    fake_reset();
    assert_int_equal(pci_enumerate(&fake, NULL, 0), 0);
}

/* A host bridge and a bridge with implemented BARs and decoding on: never a write to either. */
static void test_enumerate_bridges_keep_decoding(void **state)
{
    struct pci_dev d[MAXD];
    struct fdev *hb, *br;
    int n;

    build_platform();
    hb = fake_find(PCI_BDF(0, 0, 0));
    fake_bar(hb, 0, PCI_BAR_MEM32, 0x100000, 0xfe800000, false);
    dw_set(hb, 0x04, dw_get(hb, 0x04) | 0x7);
    br = fake_find(PCI_BDF(0, 0x1f, 0));
    n = pci_enumerate(&fake, d, MAXD);
    assert_true(n > 0);
    assert_int_equal(count_writes(hb->bdf, 0, CFG), 0);
    assert_int_equal(count_writes(br->bdf, 0, CFG), 0);
    assert_int_equal(count_writes(PCI_BDF(0, 0x1e, 0), 0, CFG), 0);
    assert_int_equal(count_writes(PCI_BDF(1, 1, 0), 0, CFG), 0);
    /* an ordinary function is still sized with its decoding off, as Linux does */
    assert_true(count_writes(NIC_BDF, 0x04, 0x06) >= 2);
    assert_int_equal(sizing_while_decoding, 0);
}

/* ------------------------------------------------------------------ matching */

static void test_match_parse_good(void **state)
{
    struct pci_match m;

    assert_true(pci_match_parse("00:03.0", &m));
    assert_true(m.by_bdf);
    assert_int_equal(m.bdf, PCI_BDF(0, 3, 0));
    assert_true(pci_match_parse("ff:1f.7", &m));
    assert_int_equal(m.bdf, 0xffff);
    assert_true(pci_match_parse("0A:1F.6", &m));
    assert_int_equal(m.bdf, PCI_BDF(0x0a, 0x1f, 6));
    assert_true(pci_match_parse("8086:100e", &m));
    assert_false(m.by_bdf);
    assert_int_equal(m.vendor, 0x8086);
    assert_int_equal(m.device, 0x100e);
    assert_true(pci_match_parse("10EC:8168", &m));
    assert_int_equal(m.vendor, 0x10ec);
    assert_int_equal(m.device, 0x8168);
}

static void test_match_parse_bad(void **state)
{
    static const char *bad[] = {
        "",          "0",         "00:20.0",   "00:ff.0",      "00:03.8",  "00:03.f",    "0:03.0",
        "000:03.0",  "00:3.0",    "00:003.0",  "00:03.00",     "00:03.",   "00:03.0 ",   " 00:03.0",
        "00-03.0",   "00:03:0",   "00.03.0",   "0g:03.0",      "00:0g.0",  "00:03.g",    "00:03.0x",
        "+0:03.0",   "-1:03.0",   "8086:100",  "8086:100e0",   "808:100e", "80860:100e", "8086-100e",
        "8086.100e", "8086:10xe", "0x86:100e", "8086:100e\n",  "8086:",    ":100e",      "8086::100e",
        "8086:+10e", "8086 100e", "00:03.0:0", "8086:100e:00", "80:86:10", "xxxxxxx",    "xxxx:xxxx",
    };
    struct pci_match m;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&m, 0x5a, sizeof(m));
        if (pci_match_parse(bad[i], &m))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_false(pci_match_parse(NULL, &m));
}

static void test_match_dev_and_str(void **state)
{
    struct pci_dev d = { .bdf = PCI_BDF(0, 3, 0), .vendor = 0x8086, .device = 0x100e };
    struct pci_match m;
    char buf[8];

    assert_true(pci_match_parse("00:03.0", &m));
    assert_true(pci_match_dev(&m, &d));
    assert_true(pci_match_parse("00:03.1", &m));
    assert_false(pci_match_dev(&m, &d));
    assert_true(pci_match_parse("8086:100e", &m));
    assert_true(pci_match_dev(&m, &d));
    assert_true(pci_match_parse("8086:100f", &m));
    assert_false(pci_match_dev(&m, &d));
    assert_true(pci_match_parse("8087:100e", &m));
    assert_false(pci_match_dev(&m, &d));

    pci_bdf_str(PCI_BDF(0, 3, 0), buf);
    assert_string_equal(buf, "00:03.0");
    pci_bdf_str(0xffff, buf);
    assert_string_equal(buf, "ff:1f.7");
    pci_bdf_str(PCI_BDF(0x2a, 0x0b, 5), buf);
    assert_string_equal(buf, "2a:0b.5");
}

/* ------------------------------------------------------------------ pci_vdev */

struct move {
    int bar;
    bool mapped;
    u64 gpa;
};
static struct move moves[64];
static int nmoves;

static void record_move(struct pci_vdev *d, int bar, bool mapped, u64 gpa, void *ctx)
{
    assert_ptr_equal(ctx, &nmoves);
    assert_true(nmoves < 64);
    assert_int_equal(d->bar_mapped[bar], mapped);
    moves[nmoves++] = (struct move){ bar, mapped, gpa };
}

#define EXPECT_MOVES(...)                                                                                              \
    do {                                                                                                               \
        static const struct move exp_[] = { __VA_ARGS__ };                                                             \
        expect_moves(exp_, (int)(sizeof(exp_) / sizeof(exp_[0])));                                                     \
    } while (0)

static void expect_moves(const struct move *exp, int n)
{
    if (nmoves != n)
        fail_msg("%d bar_moved calls, expected %d", nmoves, n);
    for (int i = 0; i < n; i++)
        if (moves[i].bar != exp[i].bar || moves[i].mapped != exp[i].mapped || moves[i].gpa != exp[i].gpa)
            fail_msg("call %d: bar %d mapped %d gpa 0x%llx, expected bar %d mapped %d gpa 0x%llx", i, moves[i].bar,
                     moves[i].mapped, (unsigned long long)moves[i].gpa, exp[i].bar, exp[i].mapped,
                     (unsigned long long)exp[i].gpa);
    nmoves = 0;
}

static void expect_no_moves(void)
{
    if (nmoves)
        fail_msg("%d unexpected bar_moved calls (first: bar %d mapped %d gpa 0x%llx)", nmoves, moves[0].bar,
                 moves[0].mapped, (unsigned long long)moves[0].gpa);
}

static struct pci_dev nic_dev;
static struct pci_vdev vd;
static struct fdev *nic;
static u8 nic_orig[256];

/* The NIC alone, enumerated, then virtualized. */
static void vdev_setup(void)
{
    struct pci_dev d[4];

    fake_reset();
    nic = add_nic();
    assert_int_equal(pci_enumerate(&fake, d, 4), 1);
    nic_dev = d[0];
    memcpy(nic_orig, nic->cfg, 256);
    nwlog = 0;
    nmoves = 0;
    pci_vdev_init(&vd, &nic_dev, &fake, record_move, &nmoves);
}

/* The physical BARs and ROM are as the firmware left them and were never written. */
static void assert_real_bars_untouched(void)
{
    assert_memory_equal(nic->cfg + 0x10, nic_orig + 0x10, 0x18);
    assert_memory_equal(nic->cfg + 0x30, nic_orig + 0x30, 4);
    assert_int_equal(count_writes(NIC_BDF, 0x10, 0x28), 0);
    assert_int_equal(count_writes(NIC_BDF, 0x30, 0x34), 0);
}

static void test_vdev_init(void **state)
{
    vdev_setup();
    EXPECT_MOVES({ 0, true, 0xfebc0000 }, { 1, true, 0xc000 }, { 2, true, 0x100000000ull }, { 5, true, 0xfebe0000 });
    assert_int_equal(nwlog, 0);
    assert_int_equal(pci_vdev_read(&vd, 0x00, 4), 0x100e8086);
    assert_int_equal(pci_vdev_read(&vd, 0x10, 4), 0xfebc0000);
    assert_int_equal(pci_vdev_read(&vd, 0x14, 4), 0xc001);
    assert_int_equal(pci_vdev_read(&vd, 0x18, 4), 0x0000000c);
    assert_int_equal(pci_vdev_read(&vd, 0x1c, 4), 0x1);
    assert_int_equal(pci_vdev_read(&vd, 0x20, 4), 0);
    assert_int_equal(pci_vdev_read(&vd, 0x24, 4), 0xfebe0000);
    assert_int_equal(pci_vdev_read(&vd, 0x04, 2), 0x7);
    assert_int_equal(pci_vdev_read(&vd, 0x3c, 2), 0x010b);

    /* decoding off at start: every BAR is still reported, unmapped */
    fake_reset();
    nic = add_nic();
    dw_set(nic, 0x04, dw_get(nic, 0x04) & ~3u);
    nmoves = 0;
    pci_vdev_init(&vd, &nic_dev, &fake, record_move, &nmoves);
    EXPECT_MOVES({ 0, false, 0xfebc0000 }, { 1, false, 0xc000 }, { 2, false, 0x100000000ull },
                 { 5, false, 0xfebe0000 });

    /* no callback at all is fine */
    pci_vdev_init(&vd, &nic_dev, &fake, NULL, NULL);
    pci_vdev_write(&vd, 0x04, 2, 0x7);
    assert_true(vd.bar_mapped[0]);
}

/* What Linux does: decoding off, each BAR sized (all ones, read, restore), decoding back on. */
static void test_vdev_sizing_decoding_off(void **state)
{
    static const u32 masks[6] = { 0xfffe0000, 0x0000ffe1, 0xffffc00c, 0xffffffff, 0, 0xfffff000 };

    vdev_setup();
    nmoves = 0;
    pci_vdev_write(&vd, 0x04, 2, 0x4);
    EXPECT_MOVES({ 0, false, 0xfebc0000 }, { 1, false, 0xc000 }, { 2, false, 0x100000000ull },
                 { 5, false, 0xfebe0000 });
    assert_int_equal(nic->cfg[0x04] & 7, 0x4);

    for (int i = 0; i < 6; i++) {
        u16 off = (u16)(0x10 + 4 * i);
        u32 orig = pci_vdev_read(&vd, off, 4);
        pci_vdev_write(&vd, off, 4, 0xffffffffu);
        assert_int_equal(pci_vdev_read(&vd, off, 4), masks[i]);
        pci_vdev_write(&vd, off, 4, orig);
        assert_int_equal(pci_vdev_read(&vd, off, 4), orig);
    }
    expect_no_moves();
    assert_real_bars_untouched();

    pci_vdev_write(&vd, 0x04, 2, 0x7);
    EXPECT_MOVES({ 0, true, 0xfebc0000 }, { 1, true, 0xc000 }, { 2, true, 0x100000000ull }, { 5, true, 0xfebe0000 });
    assert_int_equal(nic->cfg[0x04] & 7, 0x7);
    assert_real_bars_untouched();
}

/* Sizing with decoding on must not map the sizing address. */
static void test_vdev_sizing_decoding_on(void **state)
{
    vdev_setup();
    nmoves = 0;
    pci_vdev_write(&vd, 0x10, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&vd, 0x10, 4), 0xfffe0000);
    pci_vdev_write(&vd, 0x10, 4, 0xfebc0000);
    EXPECT_MOVES({ 0, false, 0xfffe0000 }, { 0, true, 0xfebc0000 });

    pci_vdev_write(&vd, 0x14, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&vd, 0x14, 4), 0xffe1);
    pci_vdev_write(&vd, 0x14, 4, 0xc001);
    EXPECT_MOVES({ 1, false, 0xffe0 }, { 1, true, 0xc000 });

    /* 64-bit: lower half sized and restored, then the upper half */
    pci_vdev_write(&vd, 0x18, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&vd, 0x18, 4), 0xffffc00c);
    pci_vdev_write(&vd, 0x18, 4, 0x0000000c);
    pci_vdev_write(&vd, 0x1c, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&vd, 0x1c, 4), 0xffffffff);
    pci_vdev_write(&vd, 0x1c, 4, 0x1);
    EXPECT_MOVES({ 2, false, 0x1ffffc000ull }, { 2, true, 0x100000000ull }, { 2, false, 0xffffffff00000000ull },
                 { 2, true, 0x100000000ull });

    /* both halves all ones at once, restored in the other order */
    pci_vdev_write(&vd, 0x18, 4, 0xffffffffu);
    pci_vdev_write(&vd, 0x1c, 4, 0xffffffffu);
    pci_vdev_write(&vd, 0x1c, 4, 0x1);
    pci_vdev_write(&vd, 0x18, 4, 0x0000000c);
    EXPECT_MOVES({ 2, false, 0x1ffffc000ull }, { 2, true, 0x100000000ull });

    /* byte-wise sizing: a BAR at the very top of its space maps nothing either */
    for (u16 off = 0x24; off < 0x28; off++)
        pci_vdev_write(&vd, off, 1, 0xff);
    assert_int_equal(pci_vdev_read(&vd, 0x24, 4), 0xfffff000);
    EXPECT_MOVES({ 5, true, 0xfebef000 }, { 5, true, 0xfefff000 }, { 5, false, 0xfffff000 });
    assert_real_bars_untouched();
}

static void test_vdev_relocate(void **state)
{
    vdev_setup();
    nmoves = 0;
    pci_vdev_write(&vd, 0x10, 4, 0xe0000000);
    assert_int_equal(pci_vdev_read(&vd, 0x10, 4), 0xe0000000);
    /* unaligned and type bits ignored: same address, no call */
    pci_vdev_write(&vd, 0x10, 4, 0xe001234f);
    assert_int_equal(pci_vdev_read(&vd, 0x10, 4), 0xe0000000);
    EXPECT_MOVES({ 0, true, 0xe0000000 });
    assert_int_equal(vd.bar_gpa[0], 0xe0000000);

    pci_vdev_write(&vd, 0x14, 4, 0xd000);
    pci_vdev_write(&vd, 0x14, 4, 0xd01f);
    assert_int_equal(pci_vdev_read(&vd, 0x14, 4), 0xd001);
    EXPECT_MOVES({ 1, true, 0xd000 });

    /* 64-bit: lower then upper, each step reported with the whole address */
    pci_vdev_write(&vd, 0x18, 4, 0x00400000);
    pci_vdev_write(&vd, 0x1c, 4, 0x2);
    assert_int_equal(pci_vdev_read(&vd, 0x18, 4), 0x0040000c);
    assert_int_equal(pci_vdev_read(&vd, 0x1c, 4), 0x2);
    EXPECT_MOVES({ 2, true, 0x100400000ull }, { 2, true, 0x200400000ull });
    assert_int_equal(vd.bar_gpa[2], 0x200400000ull);
    assert_int_equal(vd.bar_gpa[3], 0);
    /* upper half first, then lower */
    pci_vdev_write(&vd, 0x1c, 4, 0x0);
    pci_vdev_write(&vd, 0x18, 4, 0xc0000000);
    EXPECT_MOVES({ 2, true, 0x00400000ull }, { 2, true, 0xc0000000ull });
    /* an address whose lower half is high is not a sizing value */
    pci_vdev_write(&vd, 0x18, 4, 0xffffc000);
    pci_vdev_write(&vd, 0x1c, 4, 0x1);
    EXPECT_MOVES({ 2, true, 0xffffc000ull }, { 2, true, 0x1ffffc000ull });

    /* address 0 is unusable; moving away maps again */
    pci_vdev_write(&vd, 0x24, 4, 0);
    pci_vdev_write(&vd, 0x24, 4, 0xfe000000);
    EXPECT_MOVES({ 5, false, 0 }, { 5, true, 0xfe000000 });

    /* the unimplemented BAR stays 0 */
    pci_vdev_write(&vd, 0x20, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&vd, 0x20, 4), 0);
    expect_no_moves();
    assert_real_bars_untouched();

    /* while decoding is off, moves are silent; turning it on reports the final place */
    pci_vdev_write(&vd, 0x04, 2, 0x5);
    EXPECT_MOVES({ 0, false, 0xe0000000 }, { 2, false, 0x1ffffc000ull }, { 5, false, 0xfe000000 });
    pci_vdev_write(&vd, 0x10, 4, 0xd0000000);
    pci_vdev_write(&vd, 0x10, 4, 0xd0020000);
    expect_no_moves();
    pci_vdev_write(&vd, 0x04, 2, 0x7);
    EXPECT_MOVES({ 0, true, 0xd0020000 }, { 2, true, 0x1ffffc000ull }, { 5, true, 0xfe000000 });
    assert_real_bars_untouched();
}

static void test_vdev_partial_bar_access(void **state)
{
    vdev_setup();
    nmoves = 0;
    assert_int_equal(pci_vdev_read(&vd, 0x12, 2), 0xfebc);
    assert_int_equal(pci_vdev_read(&vd, 0x13, 1), 0xfe);
    assert_int_equal(pci_vdev_read(&vd, 0x10, 1), 0x00);
    assert_int_equal(pci_vdev_read(&vd, 0x14, 1), 0x01);
    assert_int_equal(pci_vdev_read(&vd, 0x15, 1), 0xc0);
    assert_int_equal(pci_vdev_read(&vd, 0x18, 2), 0x000c);
    assert_int_equal(pci_vdev_read(&vd, 0x1c, 2), 0x0001);

    pci_vdev_write(&vd, 0x13, 1, 0xd0);
    assert_int_equal(pci_vdev_read(&vd, 0x10, 4), 0xd0bc0000);
    pci_vdev_write(&vd, 0x12, 2, 0xe002);
    assert_int_equal(pci_vdev_read(&vd, 0x10, 4), 0xe0020000);
    pci_vdev_write(&vd, 0x11, 1, 0xff); /* below the BAR's alignment: no effect */
    assert_int_equal(pci_vdev_read(&vd, 0x10, 4), 0xe0020000);
    pci_vdev_write(&vd, 0x15, 1, 0xd0);
    assert_int_equal(pci_vdev_read(&vd, 0x14, 4), 0xd001);
    pci_vdev_write(&vd, 0x1e, 2, 0x0003); /* upper half of the 64-bit BAR's upper register */
    assert_int_equal(pci_vdev_read(&vd, 0x1c, 4), 0x00030001);
    pci_vdev_write(&vd, 0x1a, 1, 0x80);
    assert_int_equal(pci_vdev_read(&vd, 0x18, 4), 0x0080000c);
    EXPECT_MOVES({ 0, true, 0xd0bc0000 }, { 0, true, 0xe0020000 }, { 1, true, 0xd000 },
                 { 2, true, 0x0003000100000000ull }, { 2, true, 0x0003000100800000ull });
    assert_real_bars_untouched();
}

static void test_vdev_rom_hidden(void **state)
{
    vdev_setup();
    assert_int_equal(pci_vdev_read(&vd, 0x30, 4), 0);
    assert_int_equal(pci_vdev_read(&vd, 0x32, 2), 0);
    assert_int_equal(pci_vdev_read(&vd, 0x31, 1), 0);
    pci_vdev_write(&vd, 0x30, 4, 0xffffffffu);
    assert_int_equal(pci_vdev_read(&vd, 0x30, 4), 0);
    pci_vdev_write(&vd, 0x30, 4, 0xfeb80001);
    pci_vdev_write(&vd, 0x30, 1, 0x01);
    assert_int_equal(pci_vdev_read(&vd, 0x30, 4), 0);
    assert_real_bars_untouched();
}

static void test_vdev_command(void **state)
{
    vdev_setup();
    nmoves = 0;
    /* the guest sets every bit: only its own reach the device */
    pci_vdev_write(&vd, 0x04, 2, 0xffff);
    assert_int_equal(dw_get(nic, 0x04) & 0xffff, 0x0547);
    assert_int_equal(pci_vdev_read(&vd, 0x04, 2), 0x0547);
    assert_int_equal(vd.command, 0xffff);
    expect_no_moves();

    /* a device bit the hypervisor owns shows through; the guest cannot clear it */
    nic->cfg[0x04] |= 0x10;
    assert_int_equal(pci_vdev_read(&vd, 0x04, 2), 0x0557);
    pci_vdev_write(&vd, 0x04, 2, 0x0000);
    assert_int_equal(dw_get(nic, 0x04) & 0xffff, 0x0010);
    assert_int_equal(pci_vdev_read(&vd, 0x04, 2), 0x0010);
    EXPECT_MOVES({ 0, false, 0xfebc0000 }, { 1, false, 0xc000 }, { 2, false, 0x100000000ull },
                 { 5, false, 0xfebe0000 });

    /* IO alone: only the I/O BAR */
    pci_vdev_write(&vd, 0x04, 2, PCI_CMD_IO);
    EXPECT_MOVES({ 1, true, 0xc000 });
    assert_int_equal(dw_get(nic, 0x04) & 0xffff, 0x0011);
    /* MEM by a byte write, MASTER too */
    pci_vdev_write(&vd, 0x04, 1, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER);
    EXPECT_MOVES({ 0, true, 0xfebc0000 }, { 2, true, 0x100000000ull }, { 5, true, 0xfebe0000 });
    assert_int_equal(dw_get(nic, 0x04) & 0xffff, 0x0017);
    /* INTx disable by the high byte: the low byte stays */
    pci_vdev_write(&vd, 0x05, 1, 0x04);
    assert_int_equal(dw_get(nic, 0x04) & 0xffff, 0x0417);
    assert_int_equal(pci_vdev_read(&vd, 0x05, 1), 0x04);
    assert_int_equal(pci_vdev_read(&vd, 0x04, 1), 0x17);
    /* IO off: only the I/O BAR unmapped */
    pci_vdev_write(&vd, 0x04, 1, PCI_CMD_MEM | PCI_CMD_MASTER);
    EXPECT_MOVES({ 1, false, 0xc000 });
    /* the same value again changes nothing */
    pci_vdev_write(&vd, 0x04, 2, 0x0406);
    expect_no_moves();
    /* the command byte writes never touched status */
    assert_int_equal(dw_get(nic, 0x04) >> 16, 0x2010);
    /* a dword write is filtered the same way, and leaves status alone when its half is 0 */
    nic->cfg[0x04] &= (u8)~0x10;
    pci_vdev_write(&vd, 0x04, 4, 0x0000ffff);
    assert_int_equal(dw_get(nic, 0x04), 0x20100547);
    assert_int_equal(pci_vdev_read(&vd, 0x04, 4), 0x20100547);
    EXPECT_MOVES({ 1, true, 0xc000 });
    assert_real_bars_untouched();
}

static void test_vdev_status_rw1c(void **state)
{
    vdev_setup();
    assert_int_equal(pci_vdev_read(&vd, 0x06, 2), 0x2010);
    assert_int_equal(pci_vdev_read(&vd, 0x04, 4), 0x20100007);
    /* a dword write to command keeps status unless ones are written there */
    pci_vdev_write(&vd, 0x04, 4, 0x00000007);
    assert_int_equal(dw_get(nic, 0x04), 0x20100007);
    /* write one to clear, by word and by byte */
    pci_vdev_write(&vd, 0x06, 2, 0x2000);
    assert_int_equal(dw_get(nic, 0x04) >> 16, 0x0010);
    nic->cfg[0x07] |= 0x20;
    pci_vdev_write(&vd, 0x07, 1, 0x20);
    assert_int_equal(dw_get(nic, 0x04) >> 16, 0x0010);
    /* and by a dword write together with the command */
    nic->cfg[0x07] |= 0x20;
    pci_vdev_write(&vd, 0x04, 4, 0xffff0003);
    assert_int_equal(dw_get(nic, 0x04), 0x00100003);
    assert_int_equal(vd.command, 0x0003);
}

static void test_vdev_passthrough_and_limits(void **state)
{
    vdev_setup();
    /* the MSI capability goes to the device */
    assert_int_equal(pci_vdev_read(&vd, 0x34, 1), 0x40);
    assert_int_equal(pci_vdev_read(&vd, 0x40, 4), 0x00805005);
    pci_vdev_write(&vd, 0x44, 4, 0xfee00000);
    pci_vdev_write(&vd, 0x42, 2, 0x0081);
    assert_int_equal(dw_get(nic, 0x44), 0xfee00000);
    assert_int_equal(dw_get(nic, 0x40), 0x00815005);
    assert_int_equal(pci_vdev_read(&vd, 0x44, 4), 0xfee00000);
    pci_vdev_write(&vd, 0x3c, 1, 10);
    assert_int_equal(nic->cfg[0x3c], 10);
    assert_int_equal(pci_vdev_read(&vd, 0x08, 4), 0x02000003);
    assert_int_equal(pci_vdev_read(&vd, 0xff, 1), 0);

    /* extended configuration space: the device's own reads, writes dropped and counted */
    dw_set(nic, 0x100, 0x14020001); /* AER, next 0x140 */
    dw_set(nic, 0xffc, 0x12345678);
    nwlog = 0;
    assert_int_equal(pci_vdev_read(&vd, 0x100, 4), 0x14020001);
    assert_int_equal(pci_vdev_read(&vd, 0xffe, 2), 0x1234);
    assert_int_equal(pci_vdev_read(&vd, 0x102, 1), 0x02);
    pci_vdev_write(&vd, 0x100, 4, 0);
    pci_vdev_write(&vd, 0xffc, 1, 0);
    assert_int_equal(vd.ext_writes_dropped, 2);
    assert_int_equal(dw_get(nic, 0x100), 0x14020001);
    /* and bad accesses */
    assert_int_equal(pci_vdev_read(&vd, 0x1000, 4), 0xffffffffu);
    pci_vdev_write(&vd, 0x41, 2, 0);
    pci_vdev_write(&vd, 0x42, 4, 0);
    pci_vdev_write(&vd, 0x40, 3, 0);
    assert_int_equal(pci_vdev_read(&vd, 0x41, 2), 0xffff);
    assert_int_equal(pci_vdev_read(&vd, 0x40, 3), 0xffffffffu);
    assert_int_equal(nwlog, 0);
}

/* ------------------------------------------------------------------ conf1 */

static enum pci_guest_mode modes[8];
static u16 mode_bdf[8];
static int nmodes;
static struct pci_vdev *mode_vdev;
static int mode_calls;

static enum pci_guest_mode test_mode_of(u16 bdf, struct pci_vdev **vdev, void *ctx)
{
    assert_ptr_equal(ctx, &nmodes);
    mode_calls++;
    for (int i = 0; i < nmodes; i++)
        if (mode_bdf[i] == bdf) {
            if (modes[i] == PCI_VIRTUALIZED)
                *vdev = mode_vdev;
            return modes[i];
        }
    return PCI_PASSTHROUGH;
}

static struct pci_conf1 c1;

static void conf1_setup(void)
{
    vdev_setup();
    nmoves = 0;
    fake_add(0, 0, 0, 0x1022, 0x1480, 0x06000000, 0);
    fake_add(0, 5, 0, 0x1022, 0x1490, 0x08060000, 0); /* to be hidden, like the IOMMU */
    nmodes = 0;
    mode_bdf[nmodes] = NIC_BDF;
    modes[nmodes++] = PCI_VIRTUALIZED;
    mode_bdf[nmodes] = PCI_BDF(0, 5, 0);
    modes[nmodes++] = PCI_HIDDEN;
    mode_vdev = &vd;
    mode_calls = 0;
    memset(&c1, 0, sizeof(c1));
    c1.host = &fake;
    c1.mode_of = test_mode_of;
    c1.ctx = &nmodes;
    nwlog = 0;
}

static u32 addr(u16 bdf, u8 reg) { return 0x80000000u | (u32)bdf << 8 | reg; }

static void test_conf1_owns(void **state)
{
    assert_true(pci_conf1_owns(0xcf8, 4));
    assert_false(pci_conf1_owns(0xcf8, 1));
    assert_false(pci_conf1_owns(0xcf8, 2));
    assert_false(pci_conf1_owns(0xcf9, 1));
    assert_false(pci_conf1_owns(0xcfa, 2));
    assert_false(pci_conf1_owns(0xcfb, 1));
    assert_true(pci_conf1_owns(0xcfc, 1));
    assert_true(pci_conf1_owns(0xcfc, 2));
    assert_true(pci_conf1_owns(0xcfc, 4));
    assert_true(pci_conf1_owns(0xcfd, 1));
    assert_true(pci_conf1_owns(0xcfe, 2));
    assert_true(pci_conf1_owns(0xcff, 1));
    /* misaligned or straddling accesses to the data port are owned (and go nowhere) */
    assert_true(pci_conf1_owns(0xcfd, 2));
    assert_true(pci_conf1_owns(0xcfe, 4));
    assert_true(pci_conf1_owns(0xcfa, 4));
    assert_false(pci_conf1_owns(0xcf4, 4));
    assert_false(pci_conf1_owns(0xd00, 1));
    assert_false(pci_conf1_owns(0xcf7, 1));
    assert_false(pci_conf1_owns(0x3f8, 1));
    assert_false(pci_conf1_owns(0xcfc, 3));
}

static void test_conf1_latch_and_enable(void **state)
{
    conf1_setup();
    pci_conf1_out(&c1, 0xcf8, 4, 0x80000000);
    assert_int_equal(pci_conf1_in(&c1, 0xcf8, 4), 0x80000000);
    pci_conf1_out(&c1, 0xcf8, 4, 0x7fffffff);
    assert_int_equal(pci_conf1_in(&c1, 0xcf8, 4), 0x7fffffff);

    /* enable bit clear: nothing is a configuration access */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0) & ~0x80000000u);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xffffffffu);
    assert_int_equal(pci_conf1_in(&c1, 0xcfe, 2), 0xffff);
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x44) & ~0x80000000u);
    pci_conf1_out(&c1, 0xcfc, 4, 0x12345678);
    assert_int_equal(nwlog, 0);
    assert_int_equal(mode_calls, 0);

    /* enabled */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0x14801022);
    /* the latch does not change by data accesses, and is not a config register */
    assert_int_equal(pci_conf1_in(&c1, 0xcf8, 4), 0x80000000);
    /* an absent function passes through and reads all ones */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 9, 0), 0));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xffffffffu);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 2), 0xffff);
}

static void test_conf1_sizes_and_offsets(void **state)
{
    struct fdev *host_bridge;

    conf1_setup();
    host_bridge = fake_find(PCI_BDF(0, 0, 0));
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0x08));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0x06000000);
    assert_int_equal(pci_conf1_in(&c1, 0xcfe, 2), 0x0600);
    assert_int_equal(pci_conf1_in(&c1, 0xcff, 1), 0x06);
    assert_int_equal(pci_conf1_in(&c1, 0xcfd, 1), 0x00);
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0x00));
    assert_int_equal(pci_conf1_in(&c1, 0xcfe, 2), 0x1480);
    assert_int_equal(pci_conf1_in(&c1, 0xcfd, 1), 0x10);
    /* bits 1:0 of the latch are not part of the register number */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0x03));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 2), 0x1022);

    /* writes land at (address & 0xfc) + k, at their size, only their own bytes */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0x44));
    pci_conf1_out(&c1, 0xcfc, 4, 0x11223344);
    assert_int_equal(dw_get(host_bridge, 0x44), 0x11223344);
    pci_conf1_out(&c1, 0xcfe, 2, 0xaabb);
    assert_int_equal(dw_get(host_bridge, 0x44), 0xaabb3344);
    pci_conf1_out(&c1, 0xcfd, 1, 0x1234cc);
    assert_int_equal(dw_get(host_bridge, 0x44), 0xaabbcc44);
    assert_int_equal(nwlog, 3);
    assert_int_equal(wlog[2].off, 0x45);
    assert_int_equal(wlog[2].size, 1);
    assert_int_equal(wlog[2].value, 0xcc);

    /* misaligned: nothing */
    assert_int_equal(pci_conf1_in(&c1, 0xcfd, 2), 0xffff);
    assert_int_equal(pci_conf1_in(&c1, 0xcfe, 4), 0xffffffffu);
    pci_conf1_out(&c1, 0xcfd, 2, 0);
    pci_conf1_out(&c1, 0xcff, 4, 0);
    assert_int_equal(nwlog, 3);
    assert_int_equal(dw_get(host_bridge, 0x44), 0xaabbcc44);

    /* the last register */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0xfc));
    pci_conf1_out(&c1, 0xcff, 1, 0x5a);
    assert_int_equal(host_bridge->cfg[0xff], 0x5a);
    assert_int_equal(pci_conf1_in(&c1, 0xcff, 1), 0x5a);
}

static void test_conf1_hidden(void **state)
{
    struct fdev *iommu;
    u8 before[256];

    conf1_setup();
    iommu = fake_find(PCI_BDF(0, 5, 0));
    memcpy(before, iommu->cfg, 256);
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 5, 0), 0x00));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xffffffffu);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 2), 0xffff);
    assert_int_equal(pci_conf1_in(&c1, 0xcfe, 1), 0xff);
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 5, 0), 0x04));
    pci_conf1_out(&c1, 0xcfc, 2, 0x0);
    pci_conf1_out(&c1, 0xcfc, 4, 0xffffffffu);
    assert_int_equal(nwlog, 0);
    assert_memory_equal(iommu->cfg, before, 256);
    assert_true(mode_calls > 0);
}

static void test_conf1_virtualized(void **state)
{
    conf1_setup();
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x00));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0x100e8086);
    /* size BAR 0 through the ports */
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x10));
    pci_conf1_out(&c1, 0xcfc, 4, 0xffffffffu);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xfffe0000);
    pci_conf1_out(&c1, 0xcfc, 4, 0xd0000000);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xd0000000);
    assert_int_equal(pci_conf1_in(&c1, 0xcfe, 2), 0xd000);
    /* partial write through the data port at an offset */
    pci_conf1_out(&c1, 0xcff, 1, 0xc0);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xc0000000);
    EXPECT_MOVES({ 0, false, 0xfffe0000 }, { 0, true, 0xd0000000 }, { 0, true, 0xc0000000 });
    /* the ROM is absent */
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x30));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0);
    /* capability through */
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x44));
    pci_conf1_out(&c1, 0xcfc, 4, 0xfee01000);
    assert_int_equal(dw_get(nic, 0x44), 0xfee01000);
    /* command through the vdev: the guest's own bits only */
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x04));
    pci_conf1_out(&c1, 0xcfc, 2, 0xffff);
    assert_int_equal(dw_get(nic, 0x04) & 0xffff, 0x0547);
    assert_real_bars_untouched();

    /* a virtualized function without a vdev reads as nothing */
    mode_vdev = NULL;
    nwlog = 0;
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x00));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xffffffffu);
    pci_conf1_out(&c1, 0xcfc, 4, 0);
    assert_int_equal(nwlog, 0);
}

static void test_conf1_extended_register_bits(void **state)
{
    conf1_setup();
    /* AMD's bits 27:24 name registers 0x100-0xfff: hidden, whatever the function's mode */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0x00) | 0x01000000);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xffffffffu);
    pci_conf1_out(&c1, 0xcfc, 4, 0);
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x10) | 0x0f000000);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xffffffffu);
    pci_conf1_out(&c1, 0xcfc, 4, 0xffffffffu);
    assert_int_equal(nwlog, 0);
    expect_no_moves();
    /* reserved bits 30:28 are ignored, as by the chipset */
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0x00) | 0x70000000);
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0x14801022);
}

static void test_conf1_no_policy(void **state)
{
    conf1_setup();
    c1.mode_of = NULL;
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 5, 0), 0x00));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0x14901022);
    pci_conf1_out(&c1, 0xcf8, 4, addr(NIC_BDF, 0x10));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 4), 0xfebc0000);
}

/* ------------------------------------------------------------------ chipset functions, ECAM */

static struct pci_dev mkdev(u16 bdf, u16 vendor, u16 device, u32 class_rev)
{
    struct pci_dev d;
    memset(&d, 0, sizeof(d));
    d.bdf = bdf;
    d.vendor = vendor;
    d.device = device;
    d.class_rev = class_rev;
    return d;
}

static void test_chipset_write_refused(void **state)
{
    struct pci_dev d;

    d = mkdev(PCI_BDF(0, 0, 0), 0x1022, 0x1480, 0x06000000); /* EPYC root complex: SMN at 0x60/0x64 */
    assert_non_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(0x40, 0, 0), 0x1022, 0x1480, 0x06000000); /* another socket's root complex */
    assert_non_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(0, 0, 2), 0x1022, 0x1481, 0x08060000); /* AMD IOMMU function */
    assert_non_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(0, 0x18, 3), 0x1022, 0x1653, 0x0b400000); /* data fabric, whatever its class */
    assert_non_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(0, 0x18, 3), 0x1d94, 0x1653, 0x0b400000); /* Hygon's */
    assert_non_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(0x64, 5, 0), 0x8086, 0x2024, 0x08800000); /* Xeon IIO VT-d function */
    assert_non_null(pci_chipset_write_refused(&d));
    /* ordinary functions: NICs, bridges, the LPC bridge, AMD devices elsewhere, other 0880s */
    d = mkdev(PCI_BDF(0, 3, 0), 0x8086, 0x100e, 0x02000000);
    assert_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(0, 1, 1), 0x1022, 0x1483, 0x06040000);
    assert_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(0, 0x1f, 0), 0x8086, 0x2918, 0x06010000);
    assert_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(1, 0x18, 0), 0x1022, 0x1234, 0x02000000);
    assert_null(pci_chipset_write_refused(&d));
    d = mkdev(PCI_BDF(2, 0, 0), 0x1b36, 0x0005, 0x08800000);
    assert_null(pci_chipset_write_refused(&d));
}

static int nrefused;
static struct wrec last_refused;

static void test_refused(u16 bdf, u16 off, u8 size, u32 value, void *ctx)
{
    nrefused++;
    last_refused = (struct wrec){ bdf, off, size, value };
}

/* PCI_READONLY through both conf1 and the dispatch ECAM uses: reads the device, writes refused. */
static void test_guest_cfg_readonly(void **state)
{
    struct fdev *host_bridge;

    conf1_setup();
    host_bridge = fake_find(PCI_BDF(0, 0, 0));
    modes[0] = PCI_READONLY;
    mode_bdf[0] = PCI_BDF(0, 0, 0);
    c1.refused = test_refused;
    nrefused = 0;
    host_bridge->cfg[0x60] = 0x11;
    pci_conf1_out(&c1, 0xcf8, 4, addr(PCI_BDF(0, 0, 0), 0x60));
    assert_int_equal(pci_conf1_in(&c1, 0xcfc, 1), 0x11);
    pci_conf1_out(&c1, 0xcfc, 4, 0x13b10000); /* SMN index */
    assert_int_equal(nrefused, 1);
    assert_int_equal(last_refused.off, 0x60);
    assert_int_equal(last_refused.value, 0x13b10000);
    assert_int_equal(pci_guest_cfg_read(&c1, PCI_BDF(0, 0, 0), 0x0, 4), 0x14801022);
    pci_guest_cfg_write(&c1, PCI_BDF(0, 0, 0), 0x64, 2, 0xabcd1234); /* value masked to the size */
    assert_int_equal(nrefused, 2);
    assert_int_equal(last_refused.value, 0x1234);
    pci_guest_cfg_write(&c1, PCI_BDF(0, 0, 0), 0x104, 4, 1); /* extended space too */
    assert_int_equal(nrefused, 3);
    assert_int_equal(nwlog, 0);
    assert_int_equal(host_bridge->cfg[0x60], 0x11);
    /* no callback: still refused */
    c1.refused = NULL;
    pci_guest_cfg_write(&c1, PCI_BDF(0, 0, 0), 0x60, 4, 0);
    assert_int_equal(nwlog, 0);
}

/* The dispatch ECAM uses reaches offsets 256-4095, and hides what conf1 hides. */
static void test_guest_cfg_extended(void **state)
{
    struct fdev *iommu, *host_bridge;

    conf1_setup();
    host_bridge = fake_find(PCI_BDF(0, 0, 0));
    dw_set(host_bridge, 0x100, 0x14820001);
    assert_int_equal(pci_guest_cfg_read(&c1, PCI_BDF(0, 0, 0), 0x100, 4), 0x14820001);
    pci_guest_cfg_write(&c1, PCI_BDF(0, 0, 0), 0x108, 4, 0xdeadbeef);
    assert_int_equal(dw_get(host_bridge, 0x108), 0xdeadbeef);
    iommu = fake_find(PCI_BDF(0, 5, 0));
    dw_set(iommu, 0x100, 0x1);
    nwlog = 0;
    assert_int_equal(pci_guest_cfg_read(&c1, PCI_BDF(0, 5, 0), 0x100, 4), 0xffffffffu);
    assert_int_equal(pci_guest_cfg_read(&c1, PCI_BDF(0, 5, 0), 0x0, 2), 0xffff);
    pci_guest_cfg_write(&c1, PCI_BDF(0, 5, 0), 0x4, 2, 0x6);
    assert_int_equal(nwlog, 0);
    /* the guarded device's BAR through the same path: its virtual BAR only */
    pci_guest_cfg_write(&c1, NIC_BDF, 0x10, 4, 0xd0000000);
    assert_int_equal(pci_guest_cfg_read(&c1, NIC_BDF, 0x10, 4), 0xd0000000);
    assert_real_bars_untouched();
    /* bad sizes, misaligned, past 4095 */
    assert_int_equal(pci_guest_cfg_read(&c1, PCI_BDF(0, 0, 0), 0x101, 2), 0xffff);
    assert_int_equal(pci_guest_cfg_read(&c1, PCI_BDF(0, 0, 0), 0x1000, 4), 0xffffffffu);
    assert_int_equal(pci_guest_cfg_read(&c1, PCI_BDF(0, 0, 0), 0x100, 8), 0xffffffffu);
    nwlog = 0;
    pci_guest_cfg_write(&c1, PCI_BDF(0, 0, 0), 0x1000, 4, 0);
    pci_guest_cfg_write(&c1, PCI_BDF(0, 0, 0), 0x102, 4, 0);
    assert_int_equal(nwlog, 0);
}

/* A passed-through bridge keeps its bus numbers: the rest of each write goes through. */
static void test_guest_cfg_bridge_bus_numbers(void **state)
{
    struct fdev *br;
    u16 b = PCI_BDF(0, 0x1f, 0);

    build_platform();
    memset(&c1, 0, sizeof(c1));
    c1.host = &fake;
    c1.mode_of = test_mode_of;
    c1.ctx = &nmodes;
    c1.refused = test_refused;
    nmodes = 0;
    mode_bdf[nmodes] = b;
    modes[nmodes++] = PCI_BRIDGE;
    br = fake_find(b);
    br->wmask[0x18 / 4] = 0xffffffffu;
    br->wmask[0x20 / 4] = 0xfff0fff0u; /* memory base and limit */
    nrefused = 0;
    /* secondary 1 -> 7 (would move what is behind it), latency timer 0x40: numbers kept, latency written */
    pci_guest_cfg_write(&c1, b, 0x18, 4, 0x40070700);
    assert_int_equal(nrefused, 1);
    assert_int_equal(dw_get(br, 0x18), 0x40010100);
    pci_conf1_out(&c1, 0xcf8, 4, addr(b, 0x18));
    pci_conf1_out(&c1, 0xcfd, 1, 0x05); /* secondary alone, through the ports */
    assert_int_equal(nrefused, 2);
    assert_int_equal(br->cfg[0x19], 1);
    /* the same numbers again (Linux writes them back): not refused */
    pci_guest_cfg_write(&c1, b, 0x18, 4, 0x20010100);
    assert_int_equal(nrefused, 2);
    assert_int_equal(dw_get(br, 0x18), 0x20010100);
    /* everything else of the bridge is the guest's */
    pci_guest_cfg_write(&c1, b, 0x20, 4, 0xfe10fe00);
    assert_int_equal(dw_get(br, 0x20), 0xfe10fe00);
    assert_int_equal(pci_guest_cfg_read(&c1, b, 0x19, 1), 1);
    assert_int_equal(nrefused, 2);
}

static void test_ecam_decode(void **state)
{
    const struct pci_ecam_window w[] = {
        { 0xb0000000, 0, 0x00, 0xff },
        { 0xe0000000 + (0x10 << 20), 1, 0x10, 0x1f }, /* MCFG base 0xe0000000, buses 10-1f of segment 1 */
    };
    u16 bdf, off;

    assert_int_equal(pci_ecam_window_size(&w[0]), 256ull << 20);
    assert_int_equal(pci_ecam_window_size(&w[1]), 16ull << 20);
    assert_int_equal(pci_ecam_decode(w, 2, 0xb0000000, &bdf, &off), 0);
    assert_int_equal(bdf, 0);
    assert_int_equal(off, 0);
    assert_int_equal(pci_ecam_decode(w, 2, 0xb0000000 + (0x41 << 20) + (3 << 15) + (2 << 12) + 0x104, &bdf, &off), 0);
    assert_int_equal(bdf, PCI_BDF(0x41, 3, 2));
    assert_int_equal(off, 0x104);
    assert_int_equal(pci_ecam_decode(w, 2, 0xbfffffff, &bdf, &off), 0);
    assert_int_equal(bdf, PCI_BDF(0xff, 31, 7));
    assert_int_equal(off, 0xfff);
    assert_int_equal(pci_ecam_decode(w, 2, 0xc0000000, &bdf, &off), -1);
    assert_int_equal(pci_ecam_decode(w, 2, 0xafffffff, &bdf, &off), -1);
    /* a window starting at bus 0x10: its first byte is bus 0x10's */
    assert_int_equal(pci_ecam_decode(w, 2, 0xe1000000 + (1 << 15) + 0x10, &bdf, &off), 1);
    assert_int_equal(bdf, PCI_BDF(0x10, 1, 0));
    assert_int_equal(off, 0x10);
    assert_int_equal(pci_ecam_decode(w, 2, 0xe0ffffff, &bdf, &off), -1); /* bus 0x0f: not in the window */
    assert_int_equal(pci_ecam_decode(w, 2, 0xe2000000, &bdf, &off), -1);
    assert_int_equal(pci_ecam_decode(w, 0, 0xb0000000, &bdf, &off), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumerate_topology),
        cmocka_unit_test(test_enumerate_bars),
        cmocka_unit_test(test_enumerate_restores_everything),
        cmocka_unit_test(test_enumerate_max),
        cmocka_unit_test(test_enumerate_empty),
        cmocka_unit_test(test_enumerate_root_buses),
        cmocka_unit_test(test_enumerate_count_only),
        cmocka_unit_test(test_enumerate_bridges_keep_decoding),
        cmocka_unit_test(test_match_parse_good),
        cmocka_unit_test(test_match_parse_bad),
        cmocka_unit_test(test_match_dev_and_str),
        cmocka_unit_test(test_vdev_init),
        cmocka_unit_test(test_vdev_sizing_decoding_off),
        cmocka_unit_test(test_vdev_sizing_decoding_on),
        cmocka_unit_test(test_vdev_relocate),
        cmocka_unit_test(test_vdev_partial_bar_access),
        cmocka_unit_test(test_vdev_rom_hidden),
        cmocka_unit_test(test_vdev_command),
        cmocka_unit_test(test_vdev_status_rw1c),
        cmocka_unit_test(test_vdev_passthrough_and_limits),
        cmocka_unit_test(test_conf1_owns),
        cmocka_unit_test(test_conf1_latch_and_enable),
        cmocka_unit_test(test_conf1_sizes_and_offsets),
        cmocka_unit_test(test_conf1_hidden),
        cmocka_unit_test(test_conf1_virtualized),
        cmocka_unit_test(test_conf1_extended_register_bits),
        cmocka_unit_test(test_conf1_no_policy),
        cmocka_unit_test(test_chipset_write_refused),
        cmocka_unit_test(test_guest_cfg_readonly),
        cmocka_unit_test(test_guest_cfg_extended),
        cmocka_unit_test(test_guest_cfg_bridge_bus_numbers),
        cmocka_unit_test(test_ecam_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
