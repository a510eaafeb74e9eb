/*
 * Interrupts from the hypervisor's emulated ISA devices (today: the guest's COM1, hv/console/console.c),
 * delivered the way the guest programmed its interrupt hardware.
 *
 * The guest owns the real local APIC and I/O APIC (Postern does not virtualize them). An emulated
 * device's interrupt line rising is therefore delivered as a real edge would be: the I/O APIC pin
 * the line is wired to (MADT: I/O APIC base + interrupt source overrides) names the vector the
 * guest chose, and the hypervisor sends that vector to this CPU as a self-IPI through the local
 * APIC. The guest then takes and EOIs it like any edge-triggered interrupt from that pin, because
 * its local APIC really has it in IRR/ISR. A pin the guest masked keeps the edge pending until it
 * unmasks it (a real edge would be lost; a late, spurious interrupt is harmless to an 8250 driver).
 *
 * The MADT walk (guest_irq_route) is pure logic and unit-tested on the host.
 */
#ifndef POSTERN_GUEST_IRQ_H
#define POSTERN_GUEST_IRQ_H

#include "lib/types.h"

struct isa_irq_route {
    hpa_t ioapic; /* MMIO base of the I/O APIC serving the GSI */
    u32 gsi_base; /* its first GSI */
    u32 gsi;      /* the ISA IRQ's GSI after interrupt source overrides */
};

/* Where ISA IRQ `irq` arrives, from a MADT (header included, length checked by the caller).
 * Returns 0, or -1 with a reason when no I/O APIC serves it. */
int guest_irq_route(const u8 *madt, u32 len, u8 irq, struct isa_irq_route *out, char *err, size_t errsz);

/* Find the route for irq in the firmware's MADT. Returns 0 or -1 with a reason. Without firmware
 * ACPI (rsdp 0) the route given by guest_irq_use_route, if any, is the one. */
int guest_irq_init(hpa_t rsdp, u8 irq, char *err, size_t errsz);
/* The route the hypervisor described to the guest itself (legacy_platform.h: the MP table's). */
void guest_irq_use_route(const struct isa_irq_route *r);
/* The device's line rose (an edge). */
void guest_irq_edge(void);
/* Called on every exit: delivers an edge held back while the guest had the pin masked. */
void guest_irq_poll(void);
/* Counters for the admin shell: edges sent, edges held while masked. */
void guest_irq_counts(u64 *sent, u64 *held);

#endif
