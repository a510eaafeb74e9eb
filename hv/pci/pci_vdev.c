/*
 * Configuration-space virtualization for a passed-through device (pci_vdev.h).
 *
 * BAR registers are virtual. A register reads (bar_gpa & size mask) | the real BAR's type bits,
 * exactly what hardware would hold after the guest's writes, so the guest can size a BAR (write
 * all ones, read the mask back) and move it. The physical BARs are never written: the device stays
 * where the firmware put it and bar_moved tells the hypervisor where the guest wants it, so it can
 * map the guest's address to the real one.
 *
 * A BAR is mapped when the guest's command register enables its kind of decoding (MEM for memory
 * BARs, IO for I/O BARs) and its address is usable: not 0, not the value a sizing write leaves
 * (all address bits set, in either register of a 64-bit BAR, or the BAR at the very top of its
 * space, which is what byte-wise sizing leaves). bar_moved is called whenever the effective
 * mapping changes: mapped on or off, or moved while mapped. A 64-bit BAR is one address across
 * two registers; after a write to either half its whole value is reconsidered, so the guest's
 * usual sequence (lower half, then upper half) may report an intermediate address, as the device
 * would decode it, and then the final one. Sizing a BAR with decoding on reports it unmapped and
 * then mapped again at its restored address; with decoding off (what Linux does) nothing at all.
 *
 * The command register: the guest owns IO, MEM, MASTER, parity and SERR response, and INTx
 * disable; its writes of those reach the device, so the device decodes whenever the guest has
 * decoding on. The other bits (special cycles, MWI, VGA snoop, fast back-to-back: the device's
 * bus behaviour) are the hypervisor's and guest writes to them are dropped. Reads return the
 * guest's view (`command`) of its bits merged with the device's current other bits, so the
 * guest's view holds even if the hypervisor changes the device's bits behind it.
 *
 * The expansion ROM BAR reads 0 (no ROM) and ignores writes: a ROM would be one more window to
 * map and nothing in the guest needs the NIC's option ROM. Status (RW1C) and everything else in
 * the 256-byte header, capabilities (MSI, MSI-X, PCIe) included, go to the device as they are.
 * Extended configuration space (offsets 256-4095, through ECAM) reads the device's own and drops
 * writes (counted in ext_writes_dropped): its capabilities include some that would change the
 * device behind the hypervisor's back (Resizable BAR grows a BAR past what is guarded, SR-IOV
 * creates functions with BARs and DMA of their own), and nothing the guarded driver needs is there.
 *
 * Accesses are 1, 2 or 4 bytes, naturally aligned; partial accesses to a virtual register are a
 * read-modify-write of its virtual dword, as on hardware.
 */
#include "pci/pci_vdev.h"
#include "lib/lib.h"

#define GUEST_CMD_BITS (PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_PARITY | PCI_CMD_SERR | PCI_CMD_INTX_OFF)

static u32 ones(u8 size) { return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu; }

static bool valid(u16 off, u8 size)
{
    return (size == 1 || size == 2 || size == 4) && (off & (size - 1)) == 0 && off < PCI_ECAM_CFG_SIZE;
}

static u32 dev_rd(struct pci_vdev *d, u16 off, u8 size) { return d->cfg->read(d->cfg->ctx, d->host->bdf, off, size); }

static void dev_wr(struct pci_vdev *d, u16 off, u8 size, u32 value)
{
    d->cfg->write(d->cfg->ctx, d->host->bdf, off, size, value);
}

static int num_bars(const struct pci_vdev *d)
{
    switch (d->host->header_type) {
    case PCI_HEADER_NORMAL:
        return PCI_NUM_BARS;
    case PCI_HEADER_BRIDGE:
        return 2;
    default:
        return 0;
    }
}

static u16 rom_off(const struct pci_vdev *d)
{
    return d->host->header_type == PCI_HEADER_BRIDGE ? PCI_BRIDGE_ROM_BAR : PCI_ROM_BAR;
}

/* Which BAR register r belongs to: the BAR's index, or -1 when r is unimplemented. */
static int bar_of_reg(const struct pci_vdev *d, int r, bool *upper)
{
    const struct pci_bar *bar = d->host->bar;

    *upper = false;
    if (bar[r].kind != PCI_BAR_NONE && bar[r].size)
        return r;
    if (r > 0 && bar[r - 1].kind == PCI_BAR_MEM64 && bar[r - 1].size) {
        *upper = true;
        return r - 1;
    }
    return -1;
}

/* The bits of the BAR's address the guest can set: aligned to its size, within its space. */
static u64 addr_mask(const struct pci_bar *b)
{
    u64 align = ~(b->size - 1);

    switch (b->kind) {
    case PCI_BAR_IO:
        return align & 0xfffcu;
    case PCI_BAR_MEM32:
        return align & 0xfffffff0u;
    default:
        return align & ~0xfull;
    }
}

static u32 type_bits(const struct pci_bar *b)
{
    switch (b->kind) {
    case PCI_BAR_IO:
        return PCI_BAR_IO_BIT;
    case PCI_BAR_MEM64:
        return PCI_BAR_MEM_TYPE64 | (b->prefetchable ? PCI_BAR_PREFETCH : 0);
    default:
        return b->prefetchable ? PCI_BAR_PREFETCH : 0;
    }
}

/* The address bits of register r (the lower register's low bits are type bits). */
static u32 reg_field(const struct pci_bar *b, bool upper)
{
    if (upper)
        return 0xffffffffu;
    return b->kind == PCI_BAR_IO ? 0xfffcu : 0xfffffff0u;
}

static u16 cmd_view(struct pci_vdev *d, u16 dev_cmd)
{
    return (u16)((d->command & GUEST_CMD_BITS) | (dev_cmd & ~GUEST_CMD_BITS));
}

static bool bar_usable(const struct pci_vdev *d, int i)
{
    const struct pci_bar *b = &d->host->bar[i];
    u8 regs = (u8)(b->kind == PCI_BAR_MEM64 ? 3u << i : 1u << i);

    return d->bar_gpa[i] != 0 && !(d->bar_sizing & regs) && d->bar_gpa[i] != addr_mask(b);
}

static bool bar_decodes(const struct pci_vdev *d, int i)
{
    return d->command & (d->host->bar[i].kind == PCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEM);
}

/* Recompute BAR i's mapping; tell the hypervisor when it changed (or always, when forced). */
static void update_mapping(struct pci_vdev *d, int i, bool force)
{
    const struct pci_bar *b = &d->host->bar[i];
    bool mapped;

    if (b->kind == PCI_BAR_NONE || !b->size)
        return;
    mapped = bar_decodes(d, i) && bar_usable(d, i);
    if (!force && mapped == d->bar_mapped[i] && (!mapped || d->bar_map_gpa[i] == d->bar_gpa[i]))
        return;
    d->bar_mapped[i] = mapped;
    d->bar_map_gpa[i] = mapped ? d->bar_gpa[i] : 0;
    if (d->bar_moved)
        d->bar_moved(d, i, mapped, d->bar_gpa[i], d->ctx);
}

static u32 bar_reg_read(const struct pci_vdev *d, int r)
{
    bool upper;
    int i = bar_of_reg(d, r, &upper);

    if (i < 0)
        return 0;
    if (upper)
        return (u32)(d->bar_gpa[i] >> 32);
    return (u32)d->bar_gpa[i] | type_bits(&d->host->bar[i]);
}

static void bar_reg_write(struct pci_vdev *d, int r, u32 v)
{
    bool upper;
    int i = bar_of_reg(d, r, &upper);
    const struct pci_bar *b;
    u64 gpa;
    u32 field;

    if (i < 0)
        return;
    b = &d->host->bar[i];
    field = reg_field(b, upper);
    if (upper)
        gpa = (u64)v << 32 | (d->bar_gpa[i] & 0xffffffffu);
    else
        gpa = (d->bar_gpa[i] & ~0xffffffffull) | (v & field);
    d->bar_gpa[i] = gpa & addr_mask(b);
    if ((v & field) == field)
        d->bar_sizing |= (u8)(1u << r);
    else
        d->bar_sizing &= (u8) ~(1u << r);
    update_mapping(d, i, false);
}

static void set_command(struct pci_vdev *d, u16 cmd)
{
    u16 dev = (u16)dev_rd(d, PCI_COMMAND, 2);
    u16 want = (u16)((dev & ~GUEST_CMD_BITS) | (cmd & GUEST_CMD_BITS));

    d->command = cmd;
    if (want != dev)
        dev_wr(d, PCI_COMMAND, 2, want);
    for (int i = 0; i < num_bars(d); i++)
        update_mapping(d, i, false);
}

void pci_vdev_init(struct pci_vdev *d, const struct pci_dev *host, const struct pci_cfg_access *cfg,
                   pci_bar_moved_fn bar_moved, void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->host = host;
    d->cfg = cfg;
    d->bar_moved = bar_moved;
    d->ctx = ctx;
    d->command = (u16)dev_rd(d, PCI_COMMAND, 2);
    for (int i = 0; i < num_bars(d); i++)
        if (host->bar[i].kind != PCI_BAR_NONE && host->bar[i].size)
            d->bar_gpa[i] = host->bar[i].base & addr_mask(&host->bar[i]);
    for (int i = 0; i < num_bars(d); i++)
        update_mapping(d, i, true);
}

static bool is_bar_reg(const struct pci_vdev *d, u16 dw) { return dw >= PCI_BAR0 && dw < PCI_BAR0 + 4 * num_bars(d); }

u32 pci_vdev_read(struct pci_vdev *d, u16 off, u8 size)
{
    u16 dw = off & ~3u;
    unsigned shift = (off & 3u) * 8;

    if (!valid(off, size))
        return ones(size);
    if (off >= PCI_CFG_SIZE)
        return dev_rd(d, off, size);
    if (is_bar_reg(d, dw))
        return (bar_reg_read(d, (dw - PCI_BAR0) / 4) >> shift) & ones(size);
    if (dw == rom_off(d))
        return 0;
    if (dw == PCI_COMMAND && off < PCI_STATUS) {
        u32 dev = dev_rd(d, PCI_COMMAND, size == 4 ? 4 : 2);
        u32 v = (dev & 0xffff0000u) | cmd_view(d, (u16)dev);
        return (v >> shift) & ones(size);
    }
    return dev_rd(d, off, size);
}

void pci_vdev_write(struct pci_vdev *d, u16 off, u8 size, u32 value)
{
    u16 dw = off & ~3u;
    unsigned shift = (off & 3u) * 8;
    u32 m = ones(size) << shift;

    if (!valid(off, size))
        return;
    if (off >= PCI_CFG_SIZE) {
        d->ext_writes_dropped++;
        return;
    }
    if (is_bar_reg(d, dw)) {
        int r = (dw - PCI_BAR0) / 4;
        u32 cur = bar_reg_read(d, r);
        bar_reg_write(d, r, (cur & ~m) | ((value << shift) & m));
        return;
    }
    if (dw == rom_off(d))
        return;
    if (dw == PCI_COMMAND) {
        if (off < PCI_STATUS) {
            u32 cur = cmd_view(d, (u16)dev_rd(d, PCI_COMMAND, 2));
            set_command(d, (u16)((cur & ~m) | ((value << shift) & m)));
        }
        /* Status is RW1C: only what the guest wrote, at the guest's width, reaches it. */
        if (size == 4)
            dev_wr(d, PCI_STATUS, 2, value >> 16);
        else if (off >= PCI_STATUS)
            dev_wr(d, off, size, value);
        return;
    }
    dev_wr(d, off, size, value);
}
