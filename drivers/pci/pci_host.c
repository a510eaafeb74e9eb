/*
 * The host's PCI configuration space, as the hypervisor reaches it: ECAM (PCI Express memory-mapped
 * configuration, the window the host's MCFG names) when pci_host_init was given one, else
 * configuration mechanism #1 (ports 0xCF8 CONFIG_ADDRESS / 0xCFC CONFIG_DATA).
 *
 * The guest never reaches these ports or the window directly: its 0xCF8/0xCFC accesses are
 * intercepted and emulated (pci_conf1.c), and its nested page tables do not map the ECAM window.
 * So the hardware CONFIG_ADDRESS latch belongs to the hypervisor alone, and a conf1 access here
 * can set it and use it without saving the guest's value.
 *
 * ECAM is device memory: the window must be mapped uncached in the hypervisor's own page tables
 * (identity map, phys_to_virt), and every access is a single volatile load or store of the
 * access's width, never split or merged by the compiler.
 *
 * Touches hardware: not linked into the unit tests.
 */
#include "drivers/pci/pci.h"
#include "arch/x86_64/cpu.h"
#include "lib/phys.h"

/* Segment 0's windows: MCFG may split the segment's buses over several entries. */
static struct {
    hpa_t base;
    u8 bus_start, bus_end;
} win[PCI_HOST_MAX_WINDOWS];
static int nwin;

void pci_host_init(hpa_t base, u8 bus_start, u8 bus_end)
{
    nwin = 0;
    pci_host_add_window(base, bus_start, bus_end);
}

bool pci_host_add_window(hpa_t base, u8 bus_start, u8 bus_end)
{
    if (!base || bus_end < bus_start)
        return true; /* nothing to add: those buses stay on the ports */
    if (nwin == PCI_HOST_MAX_WINDOWS)
        return false;
    win[nwin].base = base;
    win[nwin].bus_start = bus_start;
    win[nwin].bus_end = bus_end;
    nwin++;
    return true;
}

static u32 ones(u8 size) { return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu; }

static bool valid(u16 off, u8 size)
{
    return (size == 1 || size == 2 || size == 4) && (off & (size - 1)) == 0 && off < 4096;
}

/* The ECAM address of (bdf, off), or NULL when bdf's bus is outside the window. */
static volatile void *ecam_ptr(u16 bdf, u16 off)
{
    u8 bus = PCI_BUS(bdf);

    for (int i = 0; i < nwin; i++) {
        if (bus < win[i].bus_start || bus > win[i].bus_end)
            continue;
        /* Bus, device and function are 8+5+3 bits: bdf << 12 is bus << 20 | dev << 15 | fn << 12. */
        return phys_to_virt(win[i].base + ((u64)(bdf - ((u16)win[i].bus_start << 8)) << 12) + off);
    }
    return NULL;
}

static u32 conf1_address(u16 bdf, u16 off) { return 0x80000000u | (u32)bdf << 8 | (off & 0xfc); }

static u32 host_read(void *ctx, u16 bdf, u16 off, u8 size)
{
    volatile void *p;

    if (!valid(off, size))
        return ones(size);
    p = ecam_ptr(bdf, off);
    if (p) {
        switch (size) {
        case 1:
            return *(volatile u8 *)p;
        case 2:
            return *(volatile u16 *)p;
        default:
            return *(volatile u32 *)p;
        }
    }
    if (off >= PCI_CFG_SIZE)
        return ones(size);
    outl(0xcf8, conf1_address(bdf, off));
    switch (size) {
    case 1:
        return inb((u16)(0xcfc + (off & 3)));
    case 2:
        return inw((u16)(0xcfc + (off & 2)));
    default:
        return inl(0xcfc);
    }
}

static void host_write(void *ctx, u16 bdf, u16 off, u8 size, u32 value)
{
    volatile void *p;

    if (!valid(off, size))
        return;
    p = ecam_ptr(bdf, off);
    if (p) {
        switch (size) {
        case 1:
            *(volatile u8 *)p = (u8)value;
            break;
        case 2:
            *(volatile u16 *)p = (u16)value;
            break;
        default:
            *(volatile u32 *)p = value;
            break;
        }
        return;
    }
    if (off >= PCI_CFG_SIZE)
        return;
    outl(0xcf8, conf1_address(bdf, off));
    switch (size) {
    case 1:
        outb((u16)(0xcfc + (off & 3)), (u8)value);
        break;
    case 2:
        outw((u16)(0xcfc + (off & 2)), (u16)value);
        break;
    default:
        outl(0xcfc, value);
        break;
    }
}

const struct pci_cfg_access pci_host = { host_read, host_write, NULL };
