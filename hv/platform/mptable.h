/*
 * An Intel MultiProcessor Specification 1.4 table for the guest, built when the firmware published
 * no ACPI (OVMF under Bochs): the floating pointer and the configuration table that tell Linux
 * where its I/O APIC is and how the ISA and PCI interrupt lines reach it. Without either, Linux
 * runs on the 8259 PIC alone and the hypervisor's emulated COM1 gets no IRQ 4 (guest_irq.h).
 * Pure logic, unit-tested; the platform it describes is probed by hv/platform/legacy_platform.c.
 */
#ifndef POSTERN_MPTABLE_H
#define POSTERN_MPTABLE_H

#include "lib/types.h"

#define MPTABLE_MAX_PCI      32 /* PCI (device, INTx pin) pairs with an interrupt entry */
#define MPTABLE_ISA_IRQS     16
#define MPTABLE_ISA_MIN_PINS 16   /* ISA IRQs 0-15 go to the pin of the same number (IRQ 0 to 2) */
#define MPTABLE_APIC_ID_MAX  0xfe /* 0xff means "all local APICs" in interrupt entries */

/* A PCI device's INTx line on bus 0 and the I/O APIC pin it drives. */
struct mptable_pci_irq {
    u8 dev; /* device number, 0-31 */
    u8 pin; /* 0 = INTA# ... 3 = INTD# */
    u8 ioapic_pin;
};

/* What the table describes: one processor (the guest's only vCPU, on the BSP), one I/O APIC, the
 * ISA bus with the PC's legacy IRQs, PCI bus 0. */
struct mptable_platform {
    u8 bsp_apic_id, lapic_version;
    u32 cpu_signature, cpu_features; /* CPUID.1 EAX and EDX, as the processor entry carries them */
    u32 lapic_addr;
    u8 ioapic_id, ioapic_version, ioapic_pins;
    u32 ioapic_addr;
    u32 pci_count;
    struct mptable_pci_irq pci[MPTABLE_MAX_PCI];
};

/* Bytes mptable_build needs for p (floating pointer and configuration table). */
u32 mptable_size(const struct mptable_platform *p);

/*
 * Write the floating pointer at buf (guest-physical gpa, 16-byte aligned, below 4 GiB) and the
 * configuration table right after it. Every field of p is checked (APIC IDs, pins within the
 * I/O APIC, PCI device and pin numbers, the count) and nothing is written past buf + size.
 * Returns 0 and the bytes used, or -1 with a one-line reason.
 */
int mptable_build(u8 *buf, u32 size, gpa_t gpa, const struct mptable_platform *p, u32 *used, char *err, size_t errsz);

/*
 * The I/O APIC pin a PCI bus-0 device's INTx drives on Bochs's i440FX: its PIIX3 forwards PIRQ n
 * to I/O APIC input 16 + n, and device d's INTx (pin 0-3) is PIRQ (d + pin - 1) mod 4 (the i440FX
 * swizzle, PCI device 1 being the PIIX3 itself). Measured from Debian's Bochs 2.7 plugins, see
 * docs/lab/platform-notes.md.
 */
u8 mptable_piix_ioapic_pin(u8 dev, u8 pin);

#endif
