/*
 * The guest's MP table (mptable.h). Layout: Intel MultiProcessor Specification 1.4, chapter 4
 * (floating pointer 4.1, configuration table header 4.2, base entries 4.3). Linux finds the
 * floating pointer by scanning the first KiB, the last KiB of base memory and 0xF0000-0xFFFFF
 * (arch/x86/kernel/mpparse.c) and takes the I/O
 * APIC, the interrupt entries and the boot processor's APIC ID from it when there is no MADT.
 */
#include "platform/mptable.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/log.h"

#define MPF_LEN                                                                                                        \
    16 /* floating pointer: "_MP_", u32 table, u8 length (paragraphs), u8 spec,
                              u8 checksum, u8 feature1..5 */
#define MPF_TABLE      4
#define MPF_PARAGRAPHS 8
#define MPF_SPEC       9
#define MPF_CHECKSUM   10
#define MPF_FEATURE1   11 /* 0: a configuration table follows (not a default configuration) */
#define MPF_FEATURE2   12 /* bit 7 IMCR present: 0, virtual-wire mode */

#define MPC_HDR_LEN                                                                                                    \
    44 /* "PCMP", u16 length, u8 spec, u8 checksum, oem[8], product[12], u32 oem
                              table, u16 oem size, u16 entries, u32 lapic, u16 ext len, u8 ext sum */
#define MPC_LENGTH   4
#define MPC_SPEC     6
#define MPC_CHECKSUM 7
#define MPC_OEM      8
#define MPC_PRODUCT  16
#define MPC_ENTRIES  34
#define MPC_LAPIC    36

#define MP_SPEC_1_4 4

#define ENT_CPU     0 /* 20 bytes: type, apic id, apic version, flags, u32 signature, u32 features */
#define ENT_BUS     1 /* 8: type, bus id, 6-char bus type */
#define ENT_IOAPIC  2 /* 8: type, id, version, flags, u32 address */
#define ENT_IOINT   3 /* 8: type, int type, u16 flags, src bus, src irq, dst I/O APIC id, dst pin */
#define ENT_LINT    4 /* 8: as ENT_IOINT, the destination a local APIC (0xff: all) and its LINTIN */
#define ENT_CPU_LEN 20
#define ENT_LEN     8

#define CPU_ENABLED    BIT(0)
#define CPU_BSP        BIT(1)
#define IOAPIC_ENABLED BIT(0)

#define INT_FIXED        0 /* "INT": vectored through the I/O APIC entry */
#define INT_NMI          1
#define INT_EXTINT       3
#define FLAGS_CONFORMING 0    /* the bus's default: ISA edge, active high */
#define FLAGS_LEVEL_LOW  0x0f /* polarity 11b active low, trigger 11b level: PCI INTx */

#define BUS_PCI       0 /* bus IDs: PCI bus 0 is 0, the ISA bus comes after it */
#define BUS_ISA       1
#define LAPIC_ALL     0xff
#define ISA_CASCADE   2 /* the 8259 cascade: no device; I/O APIC pin 2 takes IRQ 0 instead */
#define ISA_TIMER_PIN 2 /* the PIT's IRQ 0 arrives on pin 2 (the override every PC has) */

static u32 isa_entries(void) { return MPTABLE_ISA_IRQS - 1; }

static u32 entry_count(const struct mptable_platform *p)
{
    /* processor, two buses, I/O APIC, ISA IRQs, PCI lines, ExtINT and NMI local entries */
    return 1 + 2 + 1 + isa_entries() + p->pci_count + 2;
}

u32 mptable_size(const struct mptable_platform *p)
{
    u32 pci = p->pci_count > MPTABLE_MAX_PCI ? MPTABLE_MAX_PCI : p->pci_count;
    return MPF_LEN + MPC_HDR_LEN + ENT_CPU_LEN + (2 + 1 + isa_entries() + pci + 2) * ENT_LEN;
}

u8 mptable_piix_ioapic_pin(u8 dev, u8 pin) { return (u8)(16 + ((dev + pin + 3) & 3)); }

static void checksum(u8 *p, u32 len, u32 off)
{
    u8 s = 0;
    p[off] = 0;
    for (u32 i = 0; i < len; i++)
        s += p[i];
    p[off] = (u8)-s;
}

static int check(const struct mptable_platform *p, char *err, size_t errsz)
{
    if (p->bsp_apic_id > MPTABLE_APIC_ID_MAX || p->ioapic_id > MPTABLE_APIC_ID_MAX) {
        fmt_snprintf(err, errsz, "MP table: APIC ID %u / I/O APIC ID %u does not fit an 8-bit MP entry", p->bsp_apic_id,
                     p->ioapic_id);
        return -1;
    }
    if (p->ioapic_pins < MPTABLE_ISA_MIN_PINS) {
        fmt_snprintf(err, errsz, "MP table: the I/O APIC has %u pins, the ISA IRQs need %u", p->ioapic_pins,
                     MPTABLE_ISA_MIN_PINS);
        return -1;
    }
    if (p->lapic_addr == 0 || p->ioapic_addr == 0) {
        fmt_snprintf(err, errsz, "MP table: no local APIC or I/O APIC address");
        return -1;
    }
    if (p->pci_count > MPTABLE_MAX_PCI) {
        fmt_snprintf(err, errsz, "MP table: %u PCI interrupt lines, at most %u", p->pci_count, MPTABLE_MAX_PCI);
        return -1;
    }
    for (u32 i = 0; i < p->pci_count; i++) {
        const struct mptable_pci_irq *q = &p->pci[i];
        if (q->dev > 31 || q->pin > 3 || q->ioapic_pin >= p->ioapic_pins) {
            fmt_snprintf(err, errsz, "MP table: PCI line %u (device %u, pin %u, I/O APIC pin %u) is out of range", i,
                         q->dev, q->pin, q->ioapic_pin);
            return -1;
        }
    }
    return 0;
}

static u8 *put_int(u8 *e, u8 type, u8 int_type, u8 flags, u8 bus, u8 irq, u8 dst, u8 dst_pin)
{
    e[0] = type;
    e[1] = int_type;
    wr16(e, 2, flags);
    e[4] = bus;
    e[5] = irq;
    e[6] = dst;
    e[7] = dst_pin;
    return e + ENT_LEN;
}

int mptable_build(u8 *buf, u32 size, gpa_t gpa, const struct mptable_platform *p, u32 *used, char *err, size_t errsz)
{
    if (check(p, err, errsz))
        return -1;
    u32 need = mptable_size(p);
    if (!buf || size < need) {
        fmt_snprintf(err, errsz, "MP table: %u bytes needed, %u available", need, size);
        return -1;
    }
    if (!IS_ALIGNED(gpa, 16) || gpa + need > 0x100000000ull) {
        fmt_snprintf(err, errsz, "MP table: address 0x%lx is not 16-byte aligned below 4 GiB", gpa);
        return -1;
    }
    memset(buf, 0, need);

    u8 *mpf = buf, *mpc = buf + MPF_LEN;
    memcpy(mpf, "_MP_", 4);
    wr32(mpf, MPF_TABLE, (u32)(gpa + MPF_LEN));
    mpf[MPF_PARAGRAPHS] = 1;
    mpf[MPF_SPEC] = MP_SPEC_1_4;
    checksum(mpf, MPF_LEN, MPF_CHECKSUM);

    memcpy(mpc, "PCMP", 4);
    wr16(mpc, MPC_LENGTH, (u16)(need - MPF_LEN));
    mpc[MPC_SPEC] = MP_SPEC_1_4;
    memcpy(mpc + MPC_OEM, "POSTERN ", 8);
    memcpy(mpc + MPC_PRODUCT, "LEGACY PC   ", 12);
    wr16(mpc, MPC_ENTRIES, (u16)entry_count(p));
    wr32(mpc, MPC_LAPIC, p->lapic_addr);

    /* Entries in the order the specification gives: processors, buses, I/O APICs, I/O interrupts,
     * local interrupts. */
    u8 *e = mpc + MPC_HDR_LEN;
    e[0] = ENT_CPU;
    e[1] = p->bsp_apic_id;
    e[2] = p->lapic_version;
    e[3] = CPU_ENABLED | CPU_BSP;
    wr32(e, 4, p->cpu_signature);
    wr32(e, 8, p->cpu_features);
    e += ENT_CPU_LEN;

    e[0] = ENT_BUS;
    e[1] = BUS_PCI;
    memcpy(e + 2, "PCI   ", 6);
    e += ENT_LEN;
    e[0] = ENT_BUS;
    e[1] = BUS_ISA;
    memcpy(e + 2, "ISA   ", 6);
    e += ENT_LEN;

    e[0] = ENT_IOAPIC;
    e[1] = p->ioapic_id;
    e[2] = p->ioapic_version;
    e[3] = IOAPIC_ENABLED;
    wr32(e, 4, p->ioapic_addr);
    e += ENT_LEN;

    for (u8 irq = 0; irq < MPTABLE_ISA_IRQS; irq++) {
        if (irq == ISA_CASCADE)
            continue;
        e = put_int(e, ENT_IOINT, INT_FIXED, FLAGS_CONFORMING, BUS_ISA, irq, p->ioapic_id,
                    irq == 0 ? ISA_TIMER_PIN : irq);
    }
    /* A PCI source IRQ is the device number in bits 6:2 and the INTx pin in bits 1:0 (4.3.4). */
    for (u32 i = 0; i < p->pci_count; i++)
        e = put_int(e, ENT_IOINT, INT_FIXED, FLAGS_LEVEL_LOW, BUS_PCI, (u8)(p->pci[i].dev << 2 | p->pci[i].pin),
                    p->ioapic_id, p->pci[i].ioapic_pin);

    /* The PC's local interrupt wiring: the 8259 on LINT0, NMI on LINT1, of every local APIC. */
    e = put_int(e, ENT_LINT, INT_EXTINT, FLAGS_CONFORMING, BUS_ISA, 0, LAPIC_ALL, 0);
    e = put_int(e, ENT_LINT, INT_NMI, FLAGS_CONFORMING, BUS_ISA, 0, LAPIC_ALL, 1);

    checksum(mpc, need - MPF_LEN, MPC_CHECKSUM);
    *used = (u32)(e - buf);
    return 0;
}
