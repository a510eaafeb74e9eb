/* Edges from emulated ISA devices, delivered as the guest programmed its I/O APIC (guest_irq.h). */
#include "platform/guest_irq.h"
#include "platform/acpi_host.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/log.h"

/* MADT (ACPI 6.5 §5.2.12): 44-byte header+fields, then {type, length} entries. */
#define MADT_ENTRIES      44
#define MADT_IOAPIC       1 /* u8 id @2, u32 address @4, u32 gsi_base @8 */
#define MADT_ISO          2 /* u8 bus @2, u8 source @3, u32 gsi @4, u16 flags @8 */
#define MADT_IOAPIC_LEN   12
#define MADT_ISO_LEN      10
#define IOAPIC_PINS_GUESS 24 /* a GSI this far past an I/O APIC's base is taken to be its pin */

int guest_irq_route(const u8 *madt, u32 len, u8 irq, struct isa_irq_route *out, char *err, size_t errsz)
{
    u32 gsi = irq, off;
    bool found = false;

    if (len < MADT_ENTRIES) {
        fmt_snprintf(err, errsz, "MADT of %u bytes has no entries", len);
        return -1;
    }
    /* An interrupt source override moves an ISA IRQ to another GSI. */
    for (off = MADT_ENTRIES; off + 2 <= len && madt[off + 1] >= 2 && off + madt[off + 1] <= len; off += madt[off + 1])
        if (madt[off] == MADT_ISO && madt[off + 1] >= MADT_ISO_LEN && madt[off + 2] == 0 && madt[off + 3] == irq)
            gsi = rd32(madt, off + 4);
    /* The I/O APIC with the highest base not above the GSI serves it. */
    for (off = MADT_ENTRIES; off + 2 <= len && madt[off + 1] >= 2 && off + madt[off + 1] <= len; off += madt[off + 1]) {
        u32 base;
        if (madt[off] != MADT_IOAPIC || madt[off + 1] < MADT_IOAPIC_LEN)
            continue;
        base = rd32(madt, off + 8);
        if (base > gsi || gsi - base >= IOAPIC_PINS_GUESS || (found && base < out->gsi_base))
            continue;
        out->ioapic = rd32(madt, off + 4);
        out->gsi_base = base;
        found = true;
    }
    if (!found) {
        fmt_snprintf(err, errsz, "no I/O APIC in the MADT serves ISA IRQ %u (GSI %u)", irq, gsi);
        return -1;
    }
    out->gsi = gsi;
    return 0;
}

#ifndef HOST_TEST
#include "arch/x86_64/cpu.h"
#include "core/guest_mem.h"

#define IOAPIC_REGSEL      0x00
#define IOAPIC_WINDOW      0x10
#define IOAPIC_RTE_LO(pin) (0x10 + 2 * (pin))
#define RTE_VECTOR         0xffu
#define RTE_DELIVERY       (7u << 8) /* 0 fixed, 1 lowest priority */
#define RTE_MASKED         BIT(16)

#define MSR_APIC_BASE       0x1bu
#define APIC_BASE_ENABLE    BIT(11)
#define APIC_BASE_X2APIC    BIT(10)
#define MSR_X2APIC_SELF_IPI 0x83fu
#define XAPIC_ICR_LO        0x300
#define ICR_PENDING         BIT(12)
#define ICR_SELF            (1u << 18)

static struct isa_irq_route route;
static bool ready, held;
static u64 sent_count, held_count;

static volatile u32 *reg32(hpa_t base, u32 off) { return (volatile u32 *)phys_to_virt(base + off); }

/* The pin's vector if the guest has it unmasked with a fixed/lowest-priority delivery, else -1.
 * IOREGSEL is the guest's too: it may have exited between selecting a register and using it. */
static int pin_vector(void)
{
    u32 sel = *reg32(route.ioapic, IOAPIC_REGSEL), rte;
    *reg32(route.ioapic, IOAPIC_REGSEL) = IOAPIC_RTE_LO(route.gsi - route.gsi_base);
    rte = *reg32(route.ioapic, IOAPIC_WINDOW);
    *reg32(route.ioapic, IOAPIC_REGSEL) = sel;
    if ((rte & RTE_MASKED) || (rte & RTE_DELIVERY) > (1u << 8) || (rte & RTE_VECTOR) < 0x10)
        return -1;
    return (int)(rte & RTE_VECTOR);
}

static bool self_ipi(u8 vector)
{
    u64 base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE))
        return false;
    if (base & APIC_BASE_X2APIC) {
        wrmsr(MSR_X2APIC_SELF_IPI, vector);
        return true;
    }
    volatile u32 *icr = reg32(base & ~0xfffull, XAPIC_ICR_LO);
    for (int spins = 0; (*icr & ICR_PENDING) && spins < 100000; spins++)
        cpu_relax();
    *icr = ICR_SELF | vector;
    return true;
}

void guest_irq_use_route(const struct isa_irq_route *r)
{
    route = *r;
    ready = true;
}

int guest_irq_init(hpa_t rsdp, u8 irq, char *err, size_t errsz)
{
    const u8 *madt;
    u32 len;
    if (!rsdp && ready)
        return 0;
    int r = acpi_host_find(rsdp, "APIC", &madt, &len, err, errsz);
    if (r <= 0) {
        if (r == 0)
            fmt_snprintf(err, errsz, "the firmware has no MADT");
        return -1;
    }
    if (guest_irq_route(madt, len, irq, &route, err, errsz) != 0)
        return -1;
    ready = true;
    return 0;
}

void guest_irq_edge(void)
{
    int vec;
    if (!ready)
        return;
    vec = pin_vector();
    if (vec >= 0 && self_ipi((u8)vec)) {
        sent_count++;
        held = false;
    } else if (!held) {
        held = true;
        held_count++;
    }
}

void guest_irq_poll(void)
{
    if (held)
        guest_irq_edge();
}

void guest_irq_counts(u64 *sent, u64 *heldp)
{
    *sent = sent_count;
    *heldp = held_count;
}
#endif
