/*
 * When the firmware published no ACPI (OVMF under Bochs), the guest still needs to learn where its
 * I/O APIC is and how interrupt lines reach it: the hypervisor probes the PC's legacy interrupt
 * hardware and describes it in an MP table (mptable.h) at GUEST_MPTABLE_GPA (the first KiB of memory). Never used when
 * there is an RSDP: then the guest gets its copy of the firmware's ACPI tables (acpi_guest.h).
 */
#ifndef POSTERN_LEGACY_PLATFORM_H
#define POSTERN_LEGACY_PLATFORM_H

#include "core/guest_mem.h"
#include "core/guest_physmap.h"

/* Probe, build the table into guest memory and give guest_irq its route for ISA IRQ com_irq.
 * Returns 0, or -1 with a reason (the guest then boots without an I/O APIC, as on a bare PIC). */
int legacy_platform_setup(const struct guest_physmap *pm, const struct guest_mem *gm, u8 com_irq, char *err,
                          size_t errsz);

#endif
