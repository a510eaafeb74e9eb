/* FUZZ-SOURCES: hv/pci/pci_conf1.c hv/pci/pci_vdev.c drivers/pci/pci_enum.c hv/lib/fmt.c */
/*
 * libFuzzer harness for the guest's PCI configuration mechanism #1 (hv/pci/pci_conf1.c) and
 * the virtualized device behind it (hv/pci/pci_vdev.c): a sequence of guest port accesses to
 * 0xCF8-0xCFF against a fake configuration space that behaves like hardware (as in
 * tests/unit/test_pci.c: per-dword write masks, RW1C status bits, BARs whose low address bits do
 * not stick).
 *
 * FIXTURE: bus 0 holds 00:00.0 (a host bridge, passed through), 00:03.0 (the virtualized device,
 * enumerated with pci_enumerate() and given to pci_vdev_init(), like the guarded NIC), 00:05.0
 * (hidden, like the IOMMU) and 00:06.0 (passed through, or virtualized without a vdev). Every
 * other function is absent (passed through: reads all ones).
 *
 * INPUT: byte 0: bits 2:0 the virtualized device's layout (see LAYOUTS: e1000-like, a 64-bit 8 GiB
 * BAR and a malformed last BAR, a bridge, I/O BARs and a 4 GiB BAR, no BAR, small BARs, e1000e-like,
 * unassigned BARs), bit 3 its decoding off at start, bit 4 00:06.0 virtualized without a vdev.
 * Then 5 bytes per access: op, v0..v3 (the value, little-endian):
 *   op bit 7        out (write) / in (read)
 *   op bits 6:5     size 1, 2, 4, 4
 *   op bits 2:0     port 0xCF8 + n
 *   op bit 3        a structured value: for a write to 0xCF8, CONFIG_ADDRESS built from v0 (one of
 *                   8 functions), v1 (register), v2 (bit 6: enable clear, bit 7: extended register
 *                   bits 27:24 = v2 & 0xf, bit 5: reserved bits 30:28 = v3 & 7); for a data write,
 *                   all ones (BAR sizing)
 * The hypervisor's own dispatch is followed: pci_conf1_in/out for what pci_conf1_owns() claims;
 * the others are given to pci_conf1_in/out as well and must do nothing.
 *
 * INVARIANTS (abort() on violation), after every access:
 *   - the fake only ever sees sizes 1/2/4, naturally aligned, inside the 256-byte configuration
 *     space (no access outside it reaches the fake), and never anything for the hidden function
 *     or a virtualized function without a vdev;
 *   - an access the emulation does not own, a misaligned one, one with the enable bit clear or
 *     extended register bits set reaches nothing and reads all ones; CONFIG_ADDRESS reads back
 *     the latch;
 *   - hidden: reads all ones, its configuration bytes never change;
 *   - passed through: exactly one fake access, the guest's (function, register, size, value),
 *     and a read returns what the fake returned;
 *   - virtualized: the fake is only touched at the guest's function and dword; the device's real
 *     BAR registers and ROM BAR are never written (no write to them at all, bytes unchanged);
 *     BAR and ROM registers never reach the device; other registers go through unchanged (one
 *     access, the guest's); the command register's hypervisor-owned bits never change; status
 *     (RW1C) only gets bits the guest wrote to those bytes; BAR register reads keep the real type
 *     bits and size alignment, an unimplemented BAR reads 0, the ROM BAR reads 0;
 *   - bar_moved: only for an implemented BAR; vdev->bar_mapped agrees; only on a change (mapped
 *     flag, or address while mapped); when mapped the address is non-zero, aligned to the BAR's
 *     size, inside its address space (16-bit ports, 32-bit memory, no wrap), the kind's decoding
 *     is on in the guest's command register, and it is the address the guest's BAR registers read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci_conf1.h"
#include "pci/pci_vdev.h"

static unsigned step_no;

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_pci: invariant violated: %s (line %d, access %u)\n", #c, __LINE__, step_no);         \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* The guest-owned command bits (pci_vdev.c): IO, MEM, MASTER, parity, SERR, INTx disable. */
#define GUEST_CMD_BITS 0x0547u

/* ---------------------------------------------------------------- the fake configuration space */
struct fdev {
    u16 bdf;
    u8 cfg[256];
    u32 wmask[64];
    u32 rw1c[64];
};

struct acc {
    u16 bdf, off;
    u8 size;
    bool write;
    u32 value; /* written, or returned */
};

static struct fdev fdevs[8];
static int nfdevs;
static struct acc alog[64];
static int nalog;
static bool armed; /* the fixture is set up: strict checks on */
static u16 forbidden[2];
static int nforbidden;

#define HOST_BDF   PCI_BDF(0, 0, 0)
#define NIC_BDF    PCI_BDF(0, 3, 0)
#define HIDDEN_BDF PCI_BDF(0, 5, 0)
#define OTHER_BDF  PCI_BDF(0, 6, 0)

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

static void fake_check(u16 bdf, u16 off, u8 size)
{
    CHECK(size == 1 || size == 2 || size == 4);
    CHECK((off & (size - 1)) == 0);
    CHECK(off < PCI_CFG_SIZE && off + size <= PCI_CFG_SIZE);
    for (int i = 0; i < nforbidden; i++)
        CHECK(bdf != forbidden[i]);
}

static void log_acc(u16 bdf, u16 off, u8 size, bool write, u32 value)
{
    if (!armed)
        return;
    CHECK(nalog < (int)(sizeof(alog) / sizeof(alog[0])));
    alog[nalog++] = (struct acc){ bdf, off, size, write, value };
}

static u32 fake_read(void *ctx, u16 bdf, u16 off, u8 size)
{
    struct fdev *f = fake_find(bdf);
    u32 v;

    fake_check(bdf, off, size);
    v = f ? (dw_get(f, off & ~3u) >> ((off & 3) * 8)) & ones(size) : ones(size);
    log_acc(bdf, off, size, false, v);
    return v;
}

static void fake_write(void *ctx, u16 bdf, u16 off, u8 size, u32 value)
{
    struct fdev *f = fake_find(bdf);
    u16 dw = off & ~3u;
    unsigned shift = (off & 3u) * 8;
    u32 be = ones(size) << shift, v = (value & ones(size)) << shift, old, neu;

    fake_check(bdf, off, size);
    log_acc(bdf, off, size, true, value);
    if (!f)
        return;
    old = dw_get(f, dw);
    neu = (old & ~(f->wmask[dw / 4] & be)) | (v & f->wmask[dw / 4] & be);
    neu &= ~(v & f->rw1c[dw / 4]);
    dw_set(f, dw, neu);
}

static const struct pci_cfg_access fake = { fake_read, fake_write, NULL };

static struct fdev *fake_add(u16 bdf, u16 vendor, u16 device, u32 class_rev, u8 header)
{
    struct fdev *f = &fdevs[nfdevs++];

    memset(f, 0, sizeof(*f));
    f->bdf = bdf;
    dw_set(f, 0x00, (u32)device << 16 | vendor);
    dw_set(f, 0x04, 0x00100000);
    f->wmask[1] = 0x000007ff;
    f->rw1c[1] = 0xf9000000;
    dw_set(f, 0x08, class_rev);
    dw_set(f, 0x0c, (u32)header << 16);
    f->wmask[3] = 0x0000ffff;
    if ((header & 0x7f) == 1)
        f->wmask[6] = 0x00ffffff;
    f->wmask[15] = 0x000000ff;
    for (int i = 16; i < 64; i++)
        f->wmask[i] = 0xffffffffu;
    return f;
}

static void fake_bar(struct fdev *f, int i, enum pci_bar_kind kind, u64 size, u64 base, bool pf)
{
    u16 off = (u16)(0x10 + 4 * i);
    u64 align = ~(size - 1);

    switch (kind) {
    case PCI_BAR_IO:
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

/* ---------------------------------------------------------------- the virtualized device's layouts */
static void layout(struct fdev *f, unsigned which)
{
    switch (which) {
    case 0: /* e1000-like, as tests/unit/test_pci.c's NIC */
        fake_bar(f, 0, PCI_BAR_MEM32, 0x20000, 0xfebc0000, false);
        fake_bar(f, 1, PCI_BAR_IO, 0x20, 0xc000, false);
        fake_bar(f, 2, PCI_BAR_MEM64, 0x4000, 0x100000000ull, true);
        fake_bar(f, 5, PCI_BAR_MEM32, 0x1000, 0xfebe0000, false);
        f->wmask[0x30 / 4] = 0xfffc0001;
        dw_set(f, 0x30, 0xfeb80000);
        break;
    case 1: /* an 8 GiB 64-bit BAR, a 32-bit one, a 64-bit type in the last slot (malformed) */
        fake_bar(f, 0, PCI_BAR_MEM64, 8ull << 30, 0x400000000ull, true);
        fake_bar(f, 3, PCI_BAR_MEM32, 0x1000000, 0xf0000000, false);
        dw_set(f, 0x24, 0x4);
        f->wmask[0x24 / 4] = 0xfffff000;
        f->wmask[0x30 / 4] = 0xffff0001;
        dw_set(f, 0x30, 0xfea00001);
        break;
    case 2: /* a bridge (header type 1): two BARs, ROM at 0x38 */
        dw_set(f, 0x0c, 1u << 16);
        f->wmask[6] = 0x00ffffff;
        fake_bar(f, 0, PCI_BAR_MEM32, 0x4000, 0xfe100000, false);
        fake_bar(f, 1, PCI_BAR_IO, 0x100, 0xe000, false);
        f->wmask[0x14 / 4] = 0xffffff00; /* upper I/O address bits stick */
        f->wmask[0x38 / 4] = 0xfffff801;
        dw_set(f, 0x38, 0xfe200000);
        f->wmask[0x30 / 4] = 0xffffffff; /* I/O base/limit upper: plain registers for a bridge */
        break;
    case 3: /* the smallest I/O BAR, a bigger one, a 4 GiB 64-bit BAR */
        fake_bar(f, 0, PCI_BAR_IO, 0x4, 0xc040, false);
        fake_bar(f, 2, PCI_BAR_IO, 0x100, 0xd000, false);
        fake_bar(f, 4, PCI_BAR_MEM64, 4ull << 30, 0x800000000ull, false);
        break;
    case 4: /* no BAR, a ROM */
        f->wmask[0x30 / 4] = 0xfffe0001;
        dw_set(f, 0x30, 0xfe000000);
        break;
    case 5: /* the smallest memory BAR, 64-bit BARs back to back */
        fake_bar(f, 0, PCI_BAR_MEM32, 0x10, 0xfebf0010, false);
        fake_bar(f, 1, PCI_BAR_MEM64, 0x200000, 0xfe400000, false);
        fake_bar(f, 3, PCI_BAR_MEM32, 0x100000, 0xfd000000, true);
        fake_bar(f, 4, PCI_BAR_MEM64, 0x10000, 0x2000000000ull, true);
        break;
    case 6: /* e1000e (82574)-like */
        fake_bar(f, 0, PCI_BAR_MEM32, 0x20000, 0xfeb80000, false);
        fake_bar(f, 1, PCI_BAR_MEM32, 0x20000, 0xfeba0000, false);
        fake_bar(f, 2, PCI_BAR_IO, 0x20, 0xc080, false);
        fake_bar(f, 3, PCI_BAR_MEM32, 0x4000, 0xfebd0000, false);
        f->wmask[0x30 / 4] = 0xfffc0001;
        dw_set(f, 0x30, 0xfe800000);
        break;
    default: /* e1000-like, left unassigned by the firmware (every BAR at 0) */
        fake_bar(f, 0, PCI_BAR_MEM32, 0x20000, 0, false);
        fake_bar(f, 1, PCI_BAR_IO, 0x20, 0, false);
        fake_bar(f, 2, PCI_BAR_MEM64, 0x4000, 0, true);
        break;
    }
}

/* ---------------------------------------------------------------- policy and bar_moved */
static struct pci_dev devs[8];
static const struct pci_dev *nic_dev;
static struct pci_vdev vd;
static struct pci_conf1 c1;
static bool other_virt_novdev;
static u8 nic_snap[256], hidden_snap[256];
static int nbars;   /* BAR registers of the virtualized device: 6, or 2 for a bridge */
static u16 rom_reg; /* 0x30, or 0x38 for a bridge */
static struct {
    bool mapped;
    u64 gpa;
} track[PCI_NUM_BARS];
static int moves;
static int init_order[PCI_NUM_BARS];

static enum pci_guest_mode mode_of(u16 bdf, struct pci_vdev **vdev, void *ctx)
{
    CHECK(ctx == &c1);
    if (bdf == NIC_BDF) {
        *vdev = &vd;
        return PCI_VIRTUALIZED;
    }
    if (bdf == HIDDEN_BDF)
        return PCI_HIDDEN;
    if (bdf == OTHER_BDF && other_virt_novdev)
        return PCI_VIRTUALIZED; /* no vdev: nothing there */
    return PCI_PASSTHROUGH;
}

static bool bar_implemented(int i)
{
    return i >= 0 && i < nbars && nic_dev->bar[i].kind != PCI_BAR_NONE && nic_dev->bar[i].size != 0;
}

static u64 space_end(const struct pci_bar *b)
{
    return b->kind == PCI_BAR_IO ? 0xffffull : b->kind == PCI_BAR_MEM32 ? 0xffffffffull : ~0ull;
}

/* Where the guest's BAR registers say BAR i is (read through the vdev, which keeps them). */
static u64 bar_regs_value(int i)
{
    const struct pci_bar *b = &nic_dev->bar[i];
    u64 lo = pci_vdev_read(&vd, (u16)(PCI_BAR0 + 4 * i), 4);
    u64 v = lo & (b->kind == PCI_BAR_IO ? ~3ull : ~0xfull) & 0xffffffffull;
    if (b->kind == PCI_BAR_MEM64)
        v |= (u64)pci_vdev_read(&vd, (u16)(PCI_BAR0 + 4 * i + 4), 4) << 32;
    return v;
}

static void check_mapping(int i, bool mapped, u64 gpa)
{
    const struct pci_bar *b = &nic_dev->bar[i];
    if (!mapped)
        return;
    CHECK(gpa != 0);
    CHECK((gpa & (b->size - 1)) == 0); /* size-aligned */
    CHECK(gpa <= space_end(b) && gpa + b->size - 1 <= space_end(b) && gpa + b->size - 1 >= gpa);
    CHECK(vd.command & (b->kind == PCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEM));
}

static void bar_moved(struct pci_vdev *d, int bar, bool mapped, u64 gpa, void *ctx)
{
    CHECK(d == &vd && ctx == &track);
    CHECK(bar_implemented(bar));
    CHECK(d->bar_mapped[bar] == mapped);
    CHECK(gpa == d->bar_gpa[bar]);
    if (armed)
        CHECK(mapped != track[bar].mapped || (mapped && gpa != track[bar].gpa)); /* only on a change */
    check_mapping(bar, mapped, gpa);
    track[bar].mapped = mapped;
    track[bar].gpa = mapped ? gpa : 0;
    if (!armed && moves < PCI_NUM_BARS)
        init_order[moves] = bar;
    moves++;
}

/* ---------------------------------------------------------------- fixture */
static void fixture(u8 cfg)
{
    struct fdev *f;

    armed = false;
    nfdevs = 0;
    nalog = 0;
    nforbidden = 0;
    moves = 0;
    memset(track, 0, sizeof(track));
    other_virt_novdev = (cfg >> 4) & 1;

    f = fake_add(HOST_BDF, 0x1022, 0x1480, 0x06000000, 0);
    fake_bar(f, 0, PCI_BAR_MEM32, 0x1000, 0xfe000000, false);
    f = fake_add(NIC_BDF, 0x8086, 0x100e, 0x02000003, 0);
    layout(f, cfg & 7);
    /* IO, MEM, MASTER (unless bit 3), MWI (a hypervisor bit), master abort and a capability list */
    dw_set(f, 0x04, dw_get(f, 0x04) | 0x20000000 | 0x10 | ((cfg & 8) ? 0x4 : 0x7));
    f->cfg[0x34] = 0x40;
    dw_set(f, 0x40, 0x00805005); /* MSI */
    f->cfg[0x3c] = 11;
    f->cfg[0x3d] = 1;
    f = fake_add(HIDDEN_BDF, 0x1022, 0x1490, 0x08060000, 0);
    fake_bar(f, 0, PCI_BAR_MEM32, 0x4000, 0xfeb00000, false);
    dw_set(f, 0x04, dw_get(f, 0x04) | 0x6);
    f = fake_add(OTHER_BDF, 0x1af4, 0x1000, 0x02000000, 0);
    fake_bar(f, 0, PCI_BAR_IO, 0x20, 0xc0c0, false);

    int n = pci_enumerate(&fake, devs, (int)(sizeof(devs) / sizeof(devs[0])));
    nic_dev = NULL;
    for (int i = 0; i < n; i++)
        if (devs[i].bdf == NIC_BDF)
            nic_dev = &devs[i];
    CHECK(nic_dev != NULL);
    nbars = nic_dev->header_type == PCI_HEADER_BRIDGE ? 2 : PCI_NUM_BARS;
    rom_reg = nic_dev->header_type == PCI_HEADER_BRIDGE ? PCI_BRIDGE_ROM_BAR : PCI_ROM_BAR;
    memcpy(nic_snap, fake_find(NIC_BDF)->cfg, 256);
    memcpy(hidden_snap, fake_find(HIDDEN_BDF)->cfg, 256);

    forbidden[nforbidden++] = HIDDEN_BDF;
    if (other_virt_novdev)
        forbidden[nforbidden++] = OTHER_BDF;
    pci_vdev_init(&vd, nic_dev, &fake, bar_moved, &track);
    /* init reports every implemented BAR once, in order */
    int k = 0;
    for (int i = 0; i < PCI_NUM_BARS; i++)
        if (bar_implemented(i))
            CHECK(k < moves && init_order[k++] == i);
    CHECK(moves == k);
    memset(&c1, 0, sizeof(c1));
    c1.host = &fake;
    c1.mode_of = mode_of;
    c1.ctx = &c1;
    armed = true;
}

/* ---------------------------------------------------------------- one access */
static const u16 BDFS[8] = { NIC_BDF, HIDDEN_BDF, HOST_BDF, OTHER_BDF, PCI_BDF(0, 9, 0), PCI_BDF(1, 0, 0), 0, NIC_BDF };

static bool is_bar_dw(u16 dw) { return dw >= PCI_BAR0 && dw < PCI_BAR0 + 4 * nbars; }

/* What the real register of the virtualized device has in its type bits. */
static u32 real_type_bits(int r)
{
    u32 v = nic_snap[PCI_BAR0 + 4 * r] & 0xf;
    return (v & 1) ? 1 : v;
}

static void check_nic_read(u16 reg, u8 size, u32 got)
{
    u16 dw = reg & ~3u;
    unsigned shift = (reg & 3u) * 8;
    const struct fdev *f = fake_find(NIC_BDF);

    if (is_bar_dw(dw)) {
        CHECK(nalog == 0);
        int r = (dw - PCI_BAR0) / 4;
        u32 full = pci_vdev_read(&vd, dw, 4);
        CHECK(got == ((full >> shift) & ones(size)));
        if (bar_implemented(r)) {
            const struct pci_bar *b = &nic_dev->bar[r];
            CHECK((full & (b->kind == PCI_BAR_IO ? 3u : 0xfu)) == real_type_bits(r));
            u64 addr = full & (b->kind == PCI_BAR_IO ? ~3u : ~0xfu);
            CHECK((addr & (b->size - 1)) == 0);
            if (b->kind == PCI_BAR_IO)
                CHECK(addr <= 0xffff);
        } else if (!(r > 0 && bar_implemented(r - 1) && nic_dev->bar[r - 1].kind == PCI_BAR_MEM64)) {
            CHECK(full == 0); /* unimplemented */
        }
        return;
    }
    if (dw == rom_reg) {
        CHECK(nalog == 0 && got == 0);
        return;
    }
    if (dw == PCI_COMMAND) {
        /* the guest's view of its command bits, the device's others and its status */
        u32 dev = dw_get(f, PCI_COMMAND);
        u32 view = (dev & 0xffff0000u) | (vd.command & GUEST_CMD_BITS) | (dev & 0xffffu & ~GUEST_CMD_BITS);
        CHECK(got == ((view >> shift) & ones(size)));
        return;
    }
    /* everything else: the device's own register, one access */
    CHECK(nalog == 1 && !alog[0].write && alog[0].off == reg && alog[0].size == size);
    CHECK(got == alog[0].value);
}

static void check_nic_write(u16 reg, u8 size, u32 value)
{
    u16 dw = reg & ~3u;
    unsigned shift = (reg & 3u) * 8;

    if (is_bar_dw(dw) || dw == rom_reg) {
        CHECK(nalog == 0);
        return;
    }
    if (dw == PCI_COMMAND) {
        for (int i = 0; i < nalog; i++) {
            const struct acc *a = &alog[i];
            if (!a->write)
                continue;
            /* bytes 6-7 (status, RW1C) only as the guest wrote them */
            for (unsigned byte = a->off; byte < (unsigned)a->off + a->size; byte++) {
                if (byte < PCI_STATUS)
                    continue;
                u8 fv = (u8)(a->value >> (8 * (byte - a->off)));
                CHECK(byte >= reg && byte < (unsigned)reg + size);
                CHECK(fv == (u8)((value << shift) >> (8 * (byte - dw))));
            }
        }
        return;
    }
    CHECK(nalog == 1 && alog[0].write && alog[0].off == reg && alog[0].size == size);
    CHECK(alog[0].value == (value & ones(size)));
}

static void access(const u8 *b)
{
    bool out = b[0] & 0x80;
    u8 size = (u8)((b[0] >> 5) & 3);
    size = size == 0 ? 1 : size == 1 ? 2 : 4;
    u16 port = (u16)(PCI_CONF1_ADDRESS + (b[0] & 7));
    u32 value = (u32)b[1] | (u32)b[2] << 8 | (u32)b[3] << 16 | (u32)b[4] << 24;
    if (b[0] & 8) {
        if (out && port == PCI_CONF1_ADDRESS)
            value = ((b[3] & 0x40) ? 0 : 0x80000000u) | (u32)BDFS[b[1] & 7] << 8 | b[2] |
                    ((b[3] & 0x80) ? (u32)(b[3] & 0xf) << 24 : 0) | ((b[3] & 0x20) ? (u32)(b[4] & 7) << 28 : 0);
        else if (out)
            value = 0xffffffffu;
    }
    if (b[0] & 8 && (b[1] & 7) == 6 && out && port == PCI_CONF1_ADDRESS)
        value |= (u32)b[4] << 8; /* BDFS[6]: a raw device/function on bus 0 */

    u32 latch = c1.address;
    bool owns = pci_conf1_owns(port, size);
    CHECK(owns ==
          ((port == PCI_CONF1_ADDRESS && size == 4) || (port <= PCI_CONF1_DATA + 3 && port + size > PCI_CONF1_DATA)));
    nalog = 0;
    u32 got = 0;
    if (out)
        pci_conf1_out(&c1, port, size, value);
    else
        got = pci_conf1_in(&c1, port, size);

    /* the hypervisor's expected target, from the documented rules (pci_conf1.h / .c) */
    if (port == PCI_CONF1_ADDRESS && size == 4) {
        CHECK(owns && nalog == 0);
        if (out)
            CHECK(c1.address == value);
        else
            CHECK(got == latch);
        return;
    }
    CHECK(c1.address == latch);
    u16 k = (u16)(port - PCI_CONF1_DATA);
    bool data = port >= PCI_CONF1_DATA && k + size <= 4 && (k & (size - 1)) == 0;
    bool enabled = (latch & 0x80000000u) && !(latch & 0x0f000000u);
    u16 bdf = (u16)(latch >> 8);
    u16 reg = (u16)((latch & 0xfc) + k);
    if (!owns || !data || !enabled || bdf == HIDDEN_BDF || (bdf == OTHER_BDF && other_virt_novdev)) {
        CHECK(nalog == 0);
        if (!out)
            CHECK(got == ones(size));
        return;
    }
    CHECK(reg + size <= PCI_CFG_SIZE);
    for (int i = 0; i < nalog; i++)
        CHECK(alog[i].bdf == bdf && (alog[i].off & ~3u) == (reg & ~3u));
    if (bdf == NIC_BDF) {
        if (out)
            check_nic_write(reg, size, value);
        else
            check_nic_read(reg, size, got);
        return;
    }
    /* passed through: exactly the guest's access */
    CHECK(nalog == 1 && alog[0].off == reg && alog[0].size == size && alog[0].write == out);
    if (out)
        CHECK(alog[0].value == (value & ones(size)));
    else
        CHECK(got == alog[0].value);
}

static void check_after(void)
{
    const struct fdev *nic = fake_find(NIC_BDF);

    /* the real BARs and ROM: unchanged bytes (and no write reached them: checked per access) */
    CHECK(memcmp(nic->cfg + PCI_BAR0, nic_snap + PCI_BAR0, 4 * (size_t)nbars) == 0);
    CHECK(memcmp(nic->cfg + rom_reg, nic_snap + rom_reg, 4) == 0);
    /* the hypervisor's command bits */
    u16 cmd_now = (u16)(nic->cfg[4] | nic->cfg[5] << 8), cmd_then = (u16)(nic_snap[4] | nic_snap[5] << 8);
    CHECK(((cmd_now ^ cmd_then) & ~GUEST_CMD_BITS) == 0);
    /* the device decodes whenever the guest has decoding on (its bits reach it) */
    CHECK((cmd_now & GUEST_CMD_BITS) == (vd.command & GUEST_CMD_BITS & 0x7ff));
    CHECK(memcmp(fake_find(HIDDEN_BDF)->cfg, hidden_snap, 256) == 0);

    for (int i = 0; i < PCI_NUM_BARS; i++) {
        if (!bar_implemented(i)) {
            CHECK(!track[i].mapped);
            continue;
        }
        CHECK(track[i].mapped == vd.bar_mapped[i]);
        if (!track[i].mapped)
            continue;
        CHECK(vd.bar_map_gpa[i] == track[i].gpa);
        check_mapping(i, true, track[i].gpa);
        CHECK(bar_regs_value(i) == track[i].gpa); /* mapped where the guest's registers say */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    step_no = 0;
    fixture(data[0]);
    check_after();
    data++, size--;
    for (; size >= 5; data += 5, size -= 5, step_no++) {
        access(data);
        check_after();
    }
    return 0;
}
