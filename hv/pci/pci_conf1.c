/*
 * The guest's configuration mechanism #1, emulated (pci_conf1.h).
 *
 * CONFIG_ADDRESS (0xCF8) is a dword register: a dword write latches it, a dword read returns the
 * latch as written. Byte and word accesses to 0xCF8-0xCFB are not configuration cycles on PC
 * chipsets (0xCF9 is the reset control register), so they are not ours.
 *
 * CONFIG_DATA (0xCFC-0xCFF): an access of size 1, 2 or 4 at 0xCFC + k, k a multiple of the size,
 * is a configuration access to register (address & 0xFC) + k of bus (23:16), device (15:11),
 * function (10:8), when the enable bit (31) is set. Enable clear: reads all ones, writes dropped.
 * AMD's extended register bits (27:24, "IO ECS") would reach offsets >= 256: treated as a hidden
 * device whatever the function's mode. Other accesses touching 0xCFC-0xCFF (misaligned, or a dword
 * straddling 0xCFB/0xCFC) are owned as well, so they never reach the hardware; they read all ones
 * and are dropped.
 *
 * The function's mode (mode_of) decides the rest (pci_guest_cfg_*, which ECAM shares): PASSTHROUGH
 * goes to the host's configuration space, HIDDEN reads all ones (no function there) and drops
 * writes, VIRTUALIZED goes to the function's pci_vdev, READONLY reads the host and refuses writes
 * (reported through refused), BRIDGE passes through but keeps the bus numbers. Without a mode_of
 * every function passes through.
 */
#include "pci/pci_conf1.h"

#define CONF1_ENABLE  BIT(31)
#define CONF1_EXT_REG (0xfu << 24)

static u32 ones(u8 size) { return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu; }

static bool touches_data(u16 port, u8 size) { return port <= PCI_CONF1_DATA + 3 && port + size > PCI_CONF1_DATA; }

bool pci_conf1_owns(u16 port, u8 size)
{
    if (size != 1 && size != 2 && size != 4)
        return false;
    if (port == PCI_CONF1_ADDRESS)
        return size == 4;
    return touches_data(port, size);
}

static bool cfg_valid(u16 off, u8 size)
{
    return (size == 1 || size == 2 || size == 4) && (off & (size - 1)) == 0 && off < 4096;
}

#define BUS_NUMBERS_FIRST 0x18 /* primary, secondary, subordinate: 0x18-0x1a */
#define BUS_NUMBERS_END   0x1b

/* A bridge write with its bus-number bytes replaced by the current ones (refused if they differ). */
static u32 keep_bus_numbers(struct pci_conf1 *c, u16 bdf, u16 off, u8 size, u32 value)
{
    u32 mask = 0, now;

    for (u8 k = 0; k < size; k++)
        if (off + k >= BUS_NUMBERS_FIRST && off + k < BUS_NUMBERS_END)
            mask |= 0xffu << (8 * k);
    if (!mask)
        return value;
    now = c->host->read(c->host->ctx, bdf, off, size);
    if ((value ^ now) & mask) {
        if (c->refused)
            c->refused(bdf, off, size, value, c->ctx);
        value = (value & ~mask) | (now & mask);
    }
    return value;
}

u32 pci_guest_cfg_read(struct pci_conf1 *c, u16 bdf, u16 off, u8 size)
{
    struct pci_vdev *vdev = NULL;
    enum pci_guest_mode mode;

    if (!cfg_valid(off, size))
        return ones(size);
    mode = c->mode_of ? c->mode_of(bdf, &vdev, c->ctx) : PCI_PASSTHROUGH;
    switch (mode) {
    case PCI_VIRTUALIZED:
        return vdev ? pci_vdev_read(vdev, off, size) : ones(size);
    case PCI_PASSTHROUGH:
    case PCI_READONLY:
    case PCI_BRIDGE:
        return c->host->read(c->host->ctx, bdf, off, size);
    default:
        return ones(size);
    }
}

void pci_guest_cfg_write(struct pci_conf1 *c, u16 bdf, u16 off, u8 size, u32 value)
{
    struct pci_vdev *vdev = NULL;
    enum pci_guest_mode mode;

    if (!cfg_valid(off, size))
        return;
    value &= ones(size);
    mode = c->mode_of ? c->mode_of(bdf, &vdev, c->ctx) : PCI_PASSTHROUGH;
    switch (mode) {
    case PCI_VIRTUALIZED:
        if (vdev)
            pci_vdev_write(vdev, off, size, value);
        break;
    case PCI_PASSTHROUGH:
        c->host->write(c->host->ctx, bdf, off, size, value);
        break;
    case PCI_READONLY:
        if (c->refused)
            c->refused(bdf, off, size, value, c->ctx);
        break;
    case PCI_BRIDGE:
        c->host->write(c->host->ctx, bdf, off, size, keep_bus_numbers(c, bdf, off, size, value));
        break;
    default:
        break;
    }
}

/* The target of a data access: false when it goes nowhere (all ones / dropped). */
static bool target(struct pci_conf1 *c, u16 port, u8 size, u16 *bdf, u16 *reg)
{
    u16 k = (u16)(port - PCI_CONF1_DATA);

    if (port < PCI_CONF1_DATA || k + size > 4 || (k & (size - 1)))
        return false;
    if (!(c->address & CONF1_ENABLE) || (c->address & CONF1_EXT_REG))
        return false;
    *bdf = (u16)(c->address >> 8);
    *reg = (u16)((c->address & 0xfc) + k);
    return true;
}

u32 pci_conf1_in(struct pci_conf1 *c, u16 port, u8 size)
{
    u16 bdf, reg;

    if (port == PCI_CONF1_ADDRESS && size == 4)
        return c->address;
    if (!pci_conf1_owns(port, size) || !target(c, port, size, &bdf, &reg))
        return ones(size);
    return pci_guest_cfg_read(c, bdf, reg, size);
}

void pci_conf1_out(struct pci_conf1 *c, u16 port, u8 size, u32 value)
{
    u16 bdf, reg;

    if (port == PCI_CONF1_ADDRESS && size == 4) {
        c->address = value;
        return;
    }
    if (!pci_conf1_owns(port, size) || !target(c, port, size, &bdf, &reg))
        return;
    pci_guest_cfg_write(c, bdf, reg, size, value);
}
