/* The legacy PC's interrupt hardware, probed and described to a guest without ACPI
 * (legacy_platform.h). The table itself is pure logic in mptable.c. */
#include "platform/legacy_platform.h"
#include "arch/x86_64/cpu.h"
#include "drivers/pci/pci.h"
#include "platform/guest_irq.h"
#include "core/guest_layout.h"
#include "core/guest_physmap.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "platform/mptable.h"

#define IOAPIC_BASE         0xfec00000u /* the PC's fixed address: nothing else names it without ACPI */
#define IOAPIC_REGSEL       0x00
#define IOAPIC_WINDOW       0x10
#define IOAPIC_REG_ID       0
#define IOAPIC_REG_VER      1
#define IOAPIC_ID(r)        (((r) >> 24) & 0x0f)
#define IOAPIC_VERSION(r)   ((r)&0xff)
#define IOAPIC_MAX_REDIR(r) (((r) >> 16) & 0xff)

#define MSR_APIC_BASE      0x1bu
#define APIC_BASE_X2APIC   BIT(10)
#define APIC_BASE_ADDR     0xfffff000ull
#define MSR_X2APIC_VERSION 0x803u
#define XAPIC_VERSION      0x30

#define PIIX3_BDF PCI_BDF(0, 1, 0) /* the i440FX's PCI-to-ISA bridge */
#define PIIX3_ID  0x70008086u      /* device << 16 | vendor */

static u32 ioapic_read(u32 reg)
{
    volatile u32 *base = phys_to_virt(IOAPIC_BASE);
    base[IOAPIC_REGSEL / 4] = reg;
    return base[IOAPIC_WINDOW / 4];
}

/* The I/O APIC at its fixed address, if one answers there like an I/O APIC. */
static int probe_ioapic(const struct guest_physmap *pm, struct mptable_platform *p, char *err, size_t errsz)
{
    if (!physmap_device_range_ok(pm, IOAPIC_BASE, PAGE_SIZE)) {
        fmt_snprintf(err, errsz, "0x%x is memory in the firmware's map, not an I/O APIC", IOAPIC_BASE);
        return -1;
    }
    u32 ver = ioapic_read(IOAPIC_REG_VER);
    if (IOAPIC_VERSION(ver) < 0x10 || IOAPIC_VERSION(ver) > 0x2f || IOAPIC_MAX_REDIR(ver) + 1 < MPTABLE_ISA_MIN_PINS) {
        fmt_snprintf(err, errsz, "no I/O APIC answers at 0x%x (version register 0x%x)", IOAPIC_BASE, ver);
        return -1;
    }
    p->ioapic_addr = IOAPIC_BASE;
    p->ioapic_version = (u8)IOAPIC_VERSION(ver);
    p->ioapic_pins = (u8)(IOAPIC_MAX_REDIR(ver) + 1);
    p->ioapic_id = (u8)IOAPIC_ID(ioapic_read(IOAPIC_REG_ID));
    return 0;
}

static void probe_cpu(struct mptable_platform *p)
{
    struct cpuid_regs r = cpuid(1, 0);
    u64 base = rdmsr(MSR_APIC_BASE);

    p->bsp_apic_id = (u8)(r.ebx >> 24);
    p->cpu_signature = r.eax;
    p->cpu_features = r.edx;
    p->lapic_addr = (u32)(base & APIC_BASE_ADDR);
    if (base & APIC_BASE_X2APIC)
        p->lapic_version = (u8)rdmsr(MSR_X2APIC_VERSION);
    else
        p->lapic_version = (u8) * (volatile u32 *)phys_to_virt(p->lapic_addr + XAPIC_VERSION);
}

/* Bus 0's interrupt lines, where the wiring is known: Bochs's i440FX (mptable_piix_ioapic_pin). */
static void probe_pci(struct mptable_platform *p)
{
    const struct pci_cfg_access *cfg = &pci_host;

    if (cfg->read(cfg->ctx, PIIX3_BDF, PCI_VENDOR_ID, 4) != PIIX3_ID) {
        LOG("guest MP table: no PIIX3 at 00:01.0, so PCI interrupt wiring unknown: no PCI interrupt entries");
        return;
    }
    for (u8 dev = 0; dev < 32; dev++) {
        u8 fns = 1;
        for (u8 fn = 0; fn < fns; fn++) {
            u16 bdf = PCI_BDF(0, dev, fn);
            if (cfg->read(cfg->ctx, bdf, PCI_VENDOR_ID, 2) == 0xffff)
                continue;
            if (fn == 0 && (cfg->read(cfg->ctx, bdf, PCI_HEADER_TYPE, 1) & PCI_HEADER_MULTIFN))
                fns = 8;
            u8 pin = (u8)cfg->read(cfg->ctx, bdf, PCI_INTERRUPT_PIN, 1);
            if (pin < 1 || pin > 4)
                continue;
            bool dup = false;
            for (u32 i = 0; i < p->pci_count; i++)
                dup |= p->pci[i].dev == dev && p->pci[i].pin == pin - 1;
            if (dup || p->pci_count == MPTABLE_MAX_PCI)
                continue;
            p->pci[p->pci_count++] = (struct mptable_pci_irq){
                .dev = dev, .pin = (u8)(pin - 1), .ioapic_pin = mptable_piix_ioapic_pin(dev, (u8)(pin - 1))
            };
        }
    }
}

int legacy_platform_setup(const struct guest_physmap *pm, const struct guest_mem *gm, u8 com_irq, char *err,
                          size_t errsz)
{
    static struct mptable_platform p;
    u32 used;

    memset(&p, 0, sizeof(p));
    if (probe_ioapic(pm, &p, err, errsz))
        return -1;
    probe_cpu(&p);
    probe_pci(&p);
    u8 *buf = gmem_ptr(gm, GUEST_MPTABLE_GPA, GUEST_MPTABLE_SIZE);
    if (!buf) {
        fmt_snprintf(err, errsz, "the MP table's place [0x%llx, +0x%x) is not usable RAM in the memory map",
                     (unsigned long long)GUEST_MPTABLE_GPA, GUEST_MPTABLE_SIZE);
        return -1;
    }
    if (mptable_build(buf, GUEST_MPTABLE_SIZE, GUEST_MPTABLE_GPA, &p, &used, err, errsz))
        return -1;
    for (u32 i = 0; i < p.pci_count; i++)
        LOG("guest MP table: PCI bus 0 device %02x INT%c# -> I/O APIC pin %u", p.pci[i].dev, 'A' + p.pci[i].pin,
            p.pci[i].ioapic_pin);
    LOG("guest MP table at 0x%llx (%u bytes): CPU APIC ID %u, I/O APIC ID %u at 0x%x with %u pins, "
        "ISA IRQ 0 -> pin 2, %u PCI interrupt lines",
        (unsigned long long)GUEST_MPTABLE_GPA, used, p.bsp_apic_id, p.ioapic_id, p.ioapic_addr, p.ioapic_pins,
        p.pci_count);

    struct isa_irq_route route = { .ioapic = p.ioapic_addr, .gsi_base = 0, .gsi = com_irq == 0 ? 2 : com_irq };
    guest_irq_use_route(&route);
    return 0;
}
