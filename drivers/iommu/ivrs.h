/*
 * The IVRS table (I/O Virtualization Reporting Structure), AMD I/O Virtualization Technology
 * (IOMMU) Specification, 48882 rev 3.x, §5.2: which AMD-Vi units exist, where their registers are,
 * which PCI function each one is, what it supports, which requester IDs devices use (aliases), and
 * which memory some devices must reach at its own address (IVMD). A pure parser: it reads the
 * bytes it is given and nothing else, so it is unit-tested on the host.
 *
 * Layout (offsets in bytes):
 *   header (36) | IVinfo u32 @36 | reserved 8 @40 | IVDB: blocks from @48, each {type u8 @0, ..., length u16 @2}
 *   IVHD 10h: flags u8 @1, DeviceID u16 @4, capability offset u16 @6, base u64 @8, segment u16 @16,
 *             IOMMU info u16 @18, feature reporting u32 @20, device entries from @24
 *   IVHD 11h/40h: the same up to @20 (IOMMU attributes u32), EFR register image u64 @24,
 *             EFR2 image u64 @32, device entries from @40
 *   device entry: type u8 @0, DeviceID u16 @1, DTE setting u8 @3; types below 40h are 4 bytes,
 *             40h-7Fh 8 bytes (alias: source DeviceID u16 @5; special: handle u8 @4, DeviceID
 *             u16 @5, variety u8 @7), F0h (ACPI HID) 22 + UID length (u8 @21)
 *   IVMD 20h/21h/22h: flags u8 @1, DeviceID u16 @4, auxiliary u16 @6 (22h: last DeviceID),
 *             segment u16 @8, start u64 @16, length u64 @24
 * A firmware may describe one IOMMU several times with different IVHD types for different
 * operating systems; like Linux we use the highest type we understand and ignore the others.
 * There may be any number of units and segments (a 2-socket EPYC has 8 IVHDs): the arrays come
 * from the caller's allocator, sized by a first pass over the table.
 */
#ifndef POSTERN_IVRS_H
#define POSTERN_IVRS_H

#include "lib/types.h"
#include "iommu.h"

#define IVRS_IVDB_OFFSET 48
#define IVHD_TYPE_10H    0x10
#define IVHD_TYPE_11H    0x11
#define IVHD_TYPE_40H    0x40
#define IVHD_LEN_10H     24
#define IVHD_LEN_11H     40
#define IVMD_LEN         32
#define IVMD_TYPE_ALL    0x20 /* every device */
#define IVMD_TYPE_SELECT 0x21 /* one DeviceID */
#define IVMD_TYPE_RANGE  0x22 /* DeviceID .. auxiliary DeviceID */

/* IVHD flags (byte 1), which the control register mirrors (§5.2.2.2). */
#define IVHD_FLAG_HT_TUN_EN   BIT(0)
#define IVHD_FLAG_PASS_PW     BIT(1)
#define IVHD_FLAG_RES_PASS_PW BIT(2)
#define IVHD_FLAG_ISOC        BIT(3)

/* IVMD flags (byte 1, §5.2.2.3). */
#define IVMD_FLAG_UNITY     BIT(0)
#define IVMD_FLAG_IR        BIT(1)
#define IVMD_FLAG_IW        BIT(2)
#define IVMD_FLAG_EXCLUSION BIT(3)

/* IVHD device entry types (§5.2.2.5). */
#define IVHD_DEV_PAD4        0x00
#define IVHD_DEV_ALL         0x01
#define IVHD_DEV_SELECT      0x02
#define IVHD_DEV_RANGE_START 0x03
#define IVHD_DEV_RANGE_END   0x04
#define IVHD_DEV_ALIAS       0x42
#define IVHD_DEV_ALIAS_RANGE 0x43
#define IVHD_DEV_EXT_RANGE   0x47
#define IVHD_DEV_SPECIAL     0x48
#define IVHD_DEV_ACPI_HID    0xf0

/* Special device varieties (entry 48h). */
#define IVHD_SPECIAL_IOAPIC 1
#define IVHD_SPECIAL_HPET   2

/* Register block size: 16 KiB, or 512 KiB when the unit has performance counters (EFR.PCSup,
 * or for type 10h non-zero counter/bank fields in the feature reporting word, as Linux reads it). */
#define AMD_VI_MMIO_SIZE    KiB(16)
#define AMD_VI_MMIO_SIZE_PC KiB(512)

struct ivrs_unit {
    u8 type;        /* IVHD type it came from */
    u8 flags;       /* IVHD_FLAG_* */
    u16 devid;      /* the IOMMU's own PCI function (bus << 8 | devfn) */
    u16 cap_offset; /* its capability block in that function's config space */
    hpa_t base;     /* register block */
    u64 mmio_size;
    u16 segment;
    u16 info; /* IOMMU info: MSI number, unit ID */
    u32 attr; /* type 10h: feature reporting; 11h/40h: IOMMU attributes */
    bool has_efr;
    u64 efr;         /* 11h/40h: the Extended Feature Register as the firmware saw it */
    u32 dev_entries; /* device entries in its IVHD */
};

/* A requester ID that a device's DMA carries instead of its own (entries 42h/43h): a device behind
 * a PCIe-to-PCI bridge, for instance. */
struct ivrs_alias {
    u16 segment;
    u16 first, last; /* the devices, inclusive (one for entry 42h, a range for 43h) */
    u16 alias;       /* the requester ID the IOMMU sees */
};

/* An I/O APIC or HPET and the requester ID its interrupts carry (entry 48h). */
struct ivrs_special {
    u16 segment;
    u8 variety; /* IVHD_SPECIAL_* */
    u8 handle;  /* I/O APIC ID or HPET number */
    u16 devid;
};

/* Memory the firmware says some devices must reach at its own address (an IVMD block). */
struct ivrs_ivmd {
    u8 type;  /* IVMD_TYPE_* */
    u8 flags; /* IVMD_FLAG_* */
    u16 segment;
    u16 first, last; /* DeviceIDs named, inclusive (20h: 0..0xffff) */
    u64 start, length;
};

struct ivrs_info {
    u32 ivinfo; /* VAsize, PAsize, GVAsize, EFRSup... (§5.2.1) */
    u8 type;    /* the IVHD type used */
    u32 units;
    struct ivrs_unit *unit;
    u32 aliases;
    struct ivrs_alias *alias;
    u32 specials;
    struct ivrs_special *special;
    u32 ivmds;
    struct ivrs_ivmd *ivmd;
    u32 segments; /* distinct PCI segments among the units */
};

/* Parse an IVRS table of len bytes (its header already checked by the ACPI walker). The arrays
 * come from mem (zeroed; NULL when out of memory). Returns 0, or -1 with a one-line reason:
 * truncated or overlapping blocks or device entries, no IVHD of a supported type, a zero or
 * unaligned register base, an IVMD whose range wraps or whose DeviceIDs run backwards, out of
 * memory. */
int ivrs_parse(const u8 *t, u32 len, struct ivrs_info *out, iommu_mem_fn mem, char *err, size_t errsz);

#endif
