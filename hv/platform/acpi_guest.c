/*
 * The guest gets its own copy of the firmware's ACPI tables, not the originals, for three reasons:
 *
 *  - One CPU. Postern runs one guest on one processor; the other cores stay with the firmware
 *    (parked) and later with the hypervisor. Linux starts every enabled processor it finds in the
 *    MADT with INIT/SIPI, so the guest's MADT lists only the bootstrap processor. This is how
 *    "the guest must not start other processors" is decided: the guest never learns they exist.
 *    A guest that writes INIT/SIPI to the local APIC ICR by hand could still wake them; stopping
 *    that needs the LAPIC trapped or the APs parked by the hypervisor (docs/guest-boot.md).
 *  - The IOMMU belongs to the hypervisor: IVRS (AMD-Vi) and DMAR (VT-d) are left out, so the guest
 *    neither programs it nor expects DMA remapping.
 *  - PCI configuration space reaches the guest only through the hypervisor, which decides what each
 *    function shows: the emulated ports 0xCF8/0xCFC, and the ECAM windows MCFG names, which are
 *    kept in the copy (so the guest has PCIe extended configuration space) but never mapped: every
 *    access faults and is emulated (hv/pci/pci_ecam.h). The hypervisor reads MCFG for itself
 *    (out->ecam). A window that would overlap guest RAM (guest RAM at guest-physical 0 reaching
 *    that high) cannot be trapped: then MCFG is left out and the guest has the ports only.
 *
 * Everything else is copied byte for byte; pointers between tables (XSDT/RSDT entries, the FADT's
 * DSDT and FACS) are rewritten to the copies and checksums recomputed.
 *
 * The firmware's tables are input we check, not trust: every pointer is followed only after the
 * header it leads to has a plausible length and a valid checksum (acpi_host.c), and no table is
 * read past its own length. Layout of the structures: ACPI 6.5 chapter 5.
 */
#include "platform/acpi_guest.h"
#include "platform/acpi_host.h"
#include "lib/bytes.h"
#include "core/guest_layout.h"
#include "lib/lib.h"
#include "lib/log.h"

#define FACS_MIN_LEN 64
#define FACS_ALIGN   64 /* the FACS must be 64-byte aligned (5.2.10) */
#define RSDP_ALIGN   16
#define TABLE_ALIGN  8

/* FADT fields (5.2.9, Table 5.9): byte offsets, with the length a table needs to contain them. */
#define FADT_FIRMWARE_CTRL      36  /* u32 */
#define FADT_DSDT               40  /* u32 */
#define FADT_SMI_CMD            48  /* u32, I/O port; ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT follow */
#define FADT_ACPI_ENABLE        52  /* u8 */
#define FADT_ACPI_DISABLE       53  /* u8 */
#define FADT_S4BIOS_REQ         54  /* u8 */
#define FADT_PSTATE_CNT         55  /* u8 */
#define FADT_CST_CNT            95  /* u8, ACPI 2.0 */
#define FADT_PM1A_CNT_BLK       64  /* u32, I/O port */
#define FADT_PM1B_CNT_BLK       68  /* u32, I/O port */
#define FADT_FLAGS              112 /* u32 */
#define FADT_RESET_REG          116 /* GAS */
#define FADT_RESET_VALUE        128 /* u8 */
#define FADT_X_FIRMWARE_CTRL    132 /* u64 */
#define FADT_X_DSDT             140 /* u64 */
#define FADT_X_PM1A_CNT_BLK     172 /* GAS */
#define FADT_X_PM1B_CNT_BLK     184 /* GAS */
#define FADT_MIN_LEN            116 /* ACPI 1.0's FADT: everything up to FLAGS */
#define FADT_FLAG_RESET_REG_SUP BIT(10)
#define GAS_LEN                 12
#define GAS_SPACE               0 /* u8 */
#define GAS_ADDRESS             4 /* u64 */

/* MADT (5.2.12): 8 bytes after the header, then {type, length} entries. */
#define MADT_ENTRIES        44
#define MADT_LAPIC          0   /* u8 uid @2, u8 apic id @3, u32 flags @4 */
#define MADT_LAPIC_NMI      4   /* u8 uid @2 (0xff: all) */
#define MADT_X2APIC         9   /* u32 x2apic id @4, u32 flags @8, u32 uid @12 */
#define MADT_X2APIC_NMI     0xa /* u32 uid @4 (0xffffffff: all) */
#define MADT_LAPIC_LEN      8
#define MADT_LAPIC_NMI_LEN  6
#define MADT_X2APIC_LEN     16
#define MADT_X2APIC_NMI_LEN 12
#define MADT_CPU_ENABLED    BIT(0)
#define UID8_ALL            0xff
#define UID32_ALL           0xffffffffu

/* Tables the hypervisor keeps for itself. */
static const char *const dropped[] = { "IVRS", "DMAR" };


/* Make the bytes [0, len) sum to zero by adjusting the byte at cksum_off. */
static void fix_checksum(u8 *p, u64 len, u64 cksum_off)
{
    p[cksum_off] = 0;
    p[cksum_off] = (u8)-acpi_sum8(p, len);
}

/* The guest's ACPI area, filled front to back. */
struct area {
    const struct guest_mem *gm;
    gpa_t base;
    u64 used;
};

static u8 *area_alloc(struct area *a, u64 len, u64 align, const char *what, gpa_t *gpa, char *err, size_t errsz)
{
    u64 off = ALIGN_UP(a->used, align);

    if (off > ACPI_GUEST_AREA_SIZE || len > ACPI_GUEST_AREA_SIZE - off) {
        fmt_snprintf(err, errsz, "ACPI: tables do not fit in the guest's %lu KiB ACPI area (full at %s)",
                     (u64)ACPI_GUEST_AREA_SIZE >> 10, what);
        return NULL;
    }
    a->used = off + len;
    *gpa = a->base + off;
    return gmem_ptr(a->gm, *gpa, len); /* inside the area, which init_area checked */
}

/* Give back the tail of the last allocation (the MADT shrinks once filtered). */
static void area_trim(struct area *a, gpa_t gpa, u64 len) { a->used = gpa - a->base + len; }

/* Copy a validated host table into the area. */
static u8 *copy_table(struct area *a, const u8 *src, u32 len, u64 align, gpa_t *gpa, char *err, size_t errsz)
{
    char sig[5];

    acpi_sig_str(src, sig);
    u8 *dst = area_alloc(a, len, align, sig, gpa, err, errsz);
    if (dst)
        memcpy(dst, src, len);
    return dst;
}

/* A 32-bit pointer field and, if the table is long enough, its 64-bit twin: both get the copy's
 * address (equal values keep ACPICA from complaining), the 32-bit one 0 when the copy is above
 * 4 GiB. */
static int set_ptr_pair(u8 *t, u32 len, u64 off32, u64 off64, gpa_t gpa, const char *what, char *err, size_t errsz)
{
    bool has64 = len >= off64 + 8;

    if (gpa > 0xffffffffull && !has64) {
        fmt_snprintf(err, errsz, "ACPI: FACP too short for a 64-bit %s pointer and the copy is above 4 GiB", what);
        return -1;
    }
    wr32(t, off32, gpa > 0xffffffffull ? 0 : (u32)gpa);
    if (has64)
        wr64(t, off64, gpa);
    return 0;
}

/* An I/O port from the FADT: the X_ GAS wins when present and non-zero (5.2.9). */
static u16 pm1_port(const u8 *fadt, u32 len, u64 off32, u64 off_gas)
{
    if (len >= off_gas + GAS_LEN && rd64(fadt, off_gas + GAS_ADDRESS) != 0) {
        u64 addr = rd64(fadt, off_gas + GAS_ADDRESS);
        if (rd8(fadt, off_gas + GAS_SPACE) != ACPI_GAS_SYSTEM_IO || addr > 0xffff)
            return 0;
        return (u16)addr;
    }
    u32 port = rd32(fadt, off32);
    return port > 0xffff ? 0 : (u16)port;
}

static int copy_facs(struct area *a, hpa_t pa, gpa_t *gpa, char *err, size_t errsz)
{
    /* No checksum, so only the signature and the length at offset 4 vouch for it. */
    if (pa == 0 || pa > ~0ull - ACPI_MAX_TABLE_LEN) {
        fmt_snprintf(err, errsz, "ACPI: FACP points to an invalid FACS address 0x%lx", pa);
        return -1;
    }
    const u8 *facs = phys_to_virt(pa);
    u32 len = rd32(facs, 4);
    if (memcmp(facs, "FACS", 4) != 0 || len < FACS_MIN_LEN || len > ACPI_MAX_TABLE_LEN) {
        fmt_snprintf(err, errsz, "ACPI: FACS at 0x%lx has a bad signature or length %u", pa, len);
        return -1;
    }
    return copy_table(a, facs, len, FACS_ALIGN, gpa, err, errsz) ? 0 : -1;
}

/* FADT: copy it, its DSDT and its FACS; note the power-off and reset registers. */
static int copy_fadt(struct area *a, const u8 *src, u32 len, gpa_t *gpa, struct acpi_guest_info *out, char *err,
                     size_t errsz)
{
    gpa_t dsdt_gpa, facs_gpa;
    u32 dsdt_len;

    if (len < FADT_MIN_LEN) {
        fmt_snprintf(err, errsz, "ACPI: FACP is %u bytes, shorter than the %u of ACPI 1.0", len, FADT_MIN_LEN);
        return -1;
    }
    u8 *fadt = copy_table(a, src, len, TABLE_ALIGN, gpa, err, errsz);
    if (!fadt)
        return -1;

    hpa_t dsdt = rd32(src, FADT_DSDT);
    if (len >= FADT_X_DSDT + 8 && rd64(src, FADT_X_DSDT) != 0)
        dsdt = rd64(src, FADT_X_DSDT);
    if (dsdt) {
        const u8 *t = acpi_host_table(dsdt, "DSDT", "FACP", &dsdt_len, err, errsz);
        if (!t || !copy_table(a, t, dsdt_len, TABLE_ALIGN, &dsdt_gpa, err, errsz) ||
            set_ptr_pair(fadt, len, FADT_DSDT, FADT_X_DSDT, dsdt_gpa, "DSDT", err, errsz))
            return -1;
    }

    hpa_t facs = rd32(src, FADT_FIRMWARE_CTRL);
    if (len >= FADT_X_FIRMWARE_CTRL + 8 && rd64(src, FADT_X_FIRMWARE_CTRL) != 0)
        facs = rd64(src, FADT_X_FIRMWARE_CTRL);
    if (facs) { /* hardware-reduced platforms have none */
        if (copy_facs(a, facs, &facs_gpa, err, errsz) ||
            set_ptr_pair(fadt, len, FADT_FIRMWARE_CTRL, FADT_X_FIRMWARE_CTRL, facs_gpa, "FACS", err, errsz))
            return -1;
    }
    fix_checksum(fadt, len, offsetof(struct acpi_hdr, checksum));

    out->pm1a_cnt_port = pm1_port(src, len, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
    out->pm1b_cnt_port = pm1_port(src, len, FADT_PM1B_CNT_BLK, FADT_X_PM1B_CNT_BLK);
    out->smi_cmd_port = rd32(src, FADT_SMI_CMD);
    out->acpi_enable = rd8(src, FADT_ACPI_ENABLE);
    out->acpi_disable = rd8(src, FADT_ACPI_DISABLE);
    out->s4bios_req = rd8(src, FADT_S4BIOS_REQ);
    out->pstate_cnt = rd8(src, FADT_PSTATE_CNT);
    out->cst_cnt = len > FADT_CST_CNT ? rd8(src, FADT_CST_CNT) : 0;
    out->has_reset_reg = len > FADT_RESET_VALUE && (rd32(src, FADT_FLAGS) & FADT_FLAG_RESET_REG_SUP);
    if (out->has_reset_reg) {
        out->reset_space = rd8(src, FADT_RESET_REG + GAS_SPACE);
        out->reset_addr = rd64(src, FADT_RESET_REG + GAS_ADDRESS);
        out->reset_value = rd8(src, FADT_RESET_VALUE);
    }
    return 0;
}

/* The bootstrap processor as the MADT names it: its UIDs tie NMI entries to it. */
struct bsp {
    u32 apic_id;
    bool has_uid8, has_uid32;
    u8 uid8;
    u32 uid32;
};

/*
 * Which MADT entries the guest sees: every non-processor entry (I/O APICs, interrupt source
 * overrides, NMI sources...), the BSP's own LAPIC/x2APIC entries, and the local-APIC NMI entries
 * that apply to the BSP - its UID or "all processors". NMI entries for processors the guest does
 * not have are dropped: they would name UIDs absent from the table.
 */
static bool madt_keep(const u8 *e, const struct bsp *bsp)
{
    switch (e[0]) {
    case MADT_LAPIC:
        return rd8(e, 3) == bsp->apic_id;
    case MADT_X2APIC:
        return rd32(e, 4) == bsp->apic_id;
    case MADT_LAPIC_NMI:
        return rd8(e, 2) == UID8_ALL || (bsp->has_uid8 && rd8(e, 2) == bsp->uid8);
    case MADT_X2APIC_NMI:
        return rd32(e, 4) == UID32_ALL || (bsp->has_uid32 && rd32(e, 4) == bsp->uid32);
    default:
        return true;
    }
}

static u8 madt_min_len(u8 type)
{
    switch (type) {
    case MADT_LAPIC:
        return MADT_LAPIC_LEN;
    case MADT_X2APIC:
        return MADT_X2APIC_LEN;
    case MADT_LAPIC_NMI:
        return MADT_LAPIC_NMI_LEN;
    case MADT_X2APIC_NMI:
        return MADT_X2APIC_NMI_LEN;
    default:
        return 2;
    }
}

/* Validate every entry, count the enabled processors, find the BSP. */
static int madt_scan(const u8 *src, u32 len, struct bsp *bsp, u32 *cpus, char *err, size_t errsz)
{
    *cpus = 0;
    for (u32 off = MADT_ENTRIES; off < len;) {
        const u8 *e = src + off;
        if (len - off < 2 || e[1] < madt_min_len(e[0]) || e[1] > len - off) {
            fmt_snprintf(err, errsz, "ACPI: APIC (MADT) entry at offset %u is malformed", off);
            return -1;
        }
        if (e[0] == MADT_LAPIC) {
            *cpus += (rd32(e, 4) & MADT_CPU_ENABLED) != 0;
            if (rd8(e, 3) == bsp->apic_id) {
                bsp->has_uid8 = true;
                bsp->uid8 = rd8(e, 2);
            }
        } else if (e[0] == MADT_X2APIC) {
            *cpus += (rd32(e, 8) & MADT_CPU_ENABLED) != 0;
            if (rd32(e, 4) == bsp->apic_id) {
                bsp->has_uid32 = true;
                bsp->uid32 = rd32(e, 12);
            }
        }
        off += e[1];
    }
    if (!bsp->has_uid8 && !bsp->has_uid32) {
        fmt_snprintf(err, errsz, "ACPI: APIC (MADT) has no processor with the BSP's APIC ID %u", bsp->apic_id);
        return -1;
    }
    return 0;
}

static int copy_madt(struct area *a, const u8 *src, u32 len, u32 bsp_apic_id, gpa_t *gpa, struct acpi_guest_info *out,
                     char *err, size_t errsz)
{
    struct bsp bsp = { .apic_id = bsp_apic_id };

    if (len < MADT_ENTRIES) {
        fmt_snprintf(err, errsz, "ACPI: APIC (MADT) is %u bytes, too short", len);
        return -1;
    }
    /* Work on our own copy so the entries we validated are the ones we filter. */
    u8 *madt = copy_table(a, src, len, TABLE_ALIGN, gpa, err, errsz);
    if (!madt || madt_scan(madt, len, &bsp, &out->cpus_in_madt, err, errsz))
        return -1;

    u32 n = MADT_ENTRIES;
    for (u32 off = MADT_ENTRIES; off < len;) {
        u8 elen = madt[off + 1];
        if (madt_keep(madt + off, &bsp)) {
            memmove(madt + n, madt + off, elen);
            n += elen;
        }
        off += elen;
    }
    memset(madt + n, 0, len - n);
    wr32(madt, offsetof(struct acpi_hdr, length), n);
    fix_checksum(madt, n, offsetof(struct acpi_hdr, checksum));
    area_trim(a, *gpa, n);
    out->cpus_kept = 1;
    return 0;
}

static bool is_dropped(const u8 *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(dropped); i++)
        if (memcmp(t, dropped[i], 4) == 0)
            return true;
    return false;
}

/* MCFG (PCI Firmware Spec 3.0 §4.1.2): after the header and 8 reserved bytes, 16-byte entries
 * {u64 base, u16 segment, u8 start_bus, u8 end_bus, u32 reserved}; bus N sits at base + (N << 20).
 * The windows are for the hypervisor's own configuration-space access and are trapped for the
 * guest's (the top of this file). */
#define MCFG_ENTRIES_OFFSET (ACPI_HDR_LEN + 8)
#define MCFG_ENTRY_LEN      16

static void note_ecam(const u8 *t, u32 len, struct acpi_guest_info *out)
{
    u32 off;

    for (off = MCFG_ENTRIES_OFFSET; off + MCFG_ENTRY_LEN <= len && out->ecam_count < ACPI_MAX_ECAM;
         off += MCFG_ENTRY_LEN) {
        u64 base = rd64(t, off);
        u8 start = t[off + 10], end = t[off + 11];
        if (end < start || base == 0)
            continue;
        out->ecam[out->ecam_count].base = base + ((u64)start << 20);
        out->ecam[out->ecam_count].size = ((u64)(end - start) + 1) << 20;
        out->ecam[out->ecam_count].segment = rd16(t, off + 8);
        out->ecam[out->ecam_count].bus_start = start;
        out->ecam[out->ecam_count].bus_end = end;
        out->ecam_count++;
    }
    if (off + MCFG_ENTRY_LEN <= len)
        out->ecam_truncated = true;
}

/* Can the guest keep MCFG? Only when no window lies inside guest RAM (there it could not fault). */
/* An ECAM window on guest RAM cannot be trapped (firmware never puts one there: a broken map). */
static bool mcfg_trappable(const struct acpi_guest_info *out, const struct guest_mem *gm)
{
    for (u32 i = 0; i < out->ecam_count; i++)
        if (gmem_overlaps(gm, out->ecam[i].base, out->ecam[i].size))
            return false;
    return true;
}

int acpi_guest_build(const struct guest_mem *gm, gpa_t area_base, hpa_t host_rsdp, u32 bsp_apic_id,
                     struct acpi_guest_info *out, char *err, size_t errsz)
{
    struct area a = { .gm = gm, .base = area_base, .used = 0 };
    struct acpi_host_root host;
    gpa_t rsdp_gpa, root_gpa;

    memset(out, 0, sizeof(*out));
    u8 *area = gmem_ptr(gm, a.base, ACPI_GUEST_AREA_SIZE);
    if (!area || !IS_ALIGNED(area_base, PAGE_SIZE) || area_base + ACPI_GUEST_AREA_SIZE > GiB(4)) {
        fmt_snprintf(err, errsz, "ACPI: the area at 0x%lx is not %lu KiB of page-aligned guest RAM below 4 GiB",
                     area_base, (u64)ACPI_GUEST_AREA_SIZE >> 10);
        return -1;
    }
    memset(area, 0, ACPI_GUEST_AREA_SIZE);

    if (acpi_host_root(host_rsdp, &host, err, errsz))
        return -1;
    bool xsdt = host.xsdt;
    u64 esize = xsdt ? 8 : 4;

    /* RSDP first, then the root table sized for every entry (shrunk once the dropped ones are known). */
    u32 rsdp_len = xsdt ? RSDP_V2_LEN : RSDP_V1_LEN;
    u8 *rsdp = area_alloc(&a, rsdp_len, RSDP_ALIGN, "RSDP", &rsdp_gpa, err, errsz);
    u8 *groot = rsdp ? area_alloc(&a, ACPI_HDR_LEN + host.count * esize, TABLE_ALIGN, xsdt ? "XSDT" : "RSDT", &root_gpa,
                                  err, errsz)
                     : NULL;
    if (!groot)
        return -1;
    if (!xsdt && root_gpa > 0xffffffffull) {
        fmt_snprintf(err, errsz, "ACPI: firmware has only an RSDT but the guest's ACPI area is above 4 GiB");
        return -1;
    }
    memcpy(groot, host.table, ACPI_HDR_LEN);

    u32 kept = 0;
    for (u32 i = 0; i < host.count; i++) {
        hpa_t pa = acpi_host_entry(&host, i);
        const u8 *t;
        u32 len;
        gpa_t gpa;
        int rc;

        if (pa == 0)
            continue; /* seen in the wild; nothing to copy */
        if (!(t = acpi_host_table(pa, NULL, xsdt ? "XSDT" : "RSDT", &len, err, errsz)))
            return -1;
        if (memcmp(t, "MCFG", 4) == 0) {
            note_ecam(t, len, out); /* the hypervisor needs the windows either way */
            out->mcfg_kept = mcfg_trappable(out, gm);
            if (!out->mcfg_kept)
                continue;
        }
        if (is_dropped(t))
            continue;
        if (memcmp(t, "FACP", 4) == 0)
            rc = copy_fadt(&a, t, len, &gpa, out, err, errsz);
        else if (memcmp(t, "APIC", 4) == 0)
            rc = copy_madt(&a, t, len, bsp_apic_id, &gpa, out, err, errsz);
        else
            rc = copy_table(&a, t, len, TABLE_ALIGN, &gpa, err, errsz) ? 0 : -1;
        if (rc)
            return -1;
        if (xsdt)
            wr64(groot, ACPI_HDR_LEN + kept * esize, gpa);
        else
            wr32(groot, ACPI_HDR_LEN + kept * esize, (u32)gpa);
        kept++;
    }
    u32 groot_len = ACPI_HDR_LEN + kept * esize;
    wr32(groot, offsetof(struct acpi_hdr, length), groot_len);
    fix_checksum(groot, groot_len, offsetof(struct acpi_hdr, checksum));

    memcpy(rsdp, host.rsdp, rsdp_len);
    struct acpi_rsdp *gr = (struct acpi_rsdp *)rsdp;
    if (xsdt) {
        gr->rsdt = 0; /* one root table, not two to keep in step */
        gr->length = RSDP_V2_LEN;
        gr->xsdt = root_gpa;
        fix_checksum(rsdp, RSDP_V1_LEN, offsetof(struct acpi_rsdp, checksum));
        fix_checksum(rsdp, RSDP_V2_LEN, offsetof(struct acpi_rsdp, ext_checksum));
    } else {
        gr->revision = 0; /* we only wrote the 20-byte ACPI 1.0 form */
        gr->rsdt = (u32)root_gpa;
        fix_checksum(rsdp, RSDP_V1_LEN, offsetof(struct acpi_rsdp, checksum));
    }

    out->rsdp_gpa = rsdp_gpa;
    out->tables = kept;
    out->bytes_used = a.used;
    return 0;
}
