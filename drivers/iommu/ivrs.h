/*
 * The IVRS table (I/O Virtualization Reporting Structure), AMD I/O Virtualization Technology
 * (IOMMU) Specification, 48882 rev 3.x, §5.2: which AMD-Vi units exist, where their registers are,
 * which PCI function each one is, and what it supports. A pure parser: it reads the bytes it is
 * given and nothing else, so it is unit-tested on the host.
 *
 * Layout (offsets in bytes):
 *   header (36) | IVinfo u32 @36 | reserved 8 @40 | IVDB: blocks from @48, each {type u8 @0, ..., length u16 @2}
 *   IVHD 10h: flags u8 @1, DeviceID u16 @4, capability offset u16 @6, base u64 @8, segment u16 @16,
 *             IOMMU info u16 @18, feature reporting u32 @20, device entries from @24
 *   IVHD 11h/40h: the same up to @20 (IOMMU attributes u32), EFR register image u64 @24,
 *             EFR2 image u64 @32, device entries from @40
 *   IVMD 20h/21h/22h: memory blocks some devices must reach (reported, not mapped: default deny)
 * A firmware may describe one IOMMU several times with different IVHD types for different
 * operating systems; like Linux we use the highest type we understand and ignore the others.
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

/* IVHD flags (byte 1), which the control register mirrors (§5.2.2.2). */
#define IVHD_FLAG_HT_TUN_EN   BIT(0)
#define IVHD_FLAG_PASS_PW     BIT(1)
#define IVHD_FLAG_RES_PASS_PW BIT(2)
#define IVHD_FLAG_ISOC        BIT(3)

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
    u64 efr; /* 11h/40h: the Extended Feature Register as the firmware saw it */
};

struct ivrs_info {
    u32 ivinfo; /* VAsize, PAsize, GVAsize, EFRSup... (§5.2.1) */
    u8 type;    /* the IVHD type used */
    u32 units;
    struct ivrs_unit unit[IOMMU_MAX_UNITS];
    u32 ivmd_blocks; /* IVMD blocks seen (memory the firmware says some device must reach) */
};

/* Parse an IVRS table of len bytes (its header already checked by the ACPI walker). Returns 0, or
 * -1 with a one-line reason: truncated or overlapping blocks, no IVHD of a supported type, a unit
 * in a segment other than 0, a zero or unaligned register base, more than IOMMU_MAX_UNITS units. */
int ivrs_parse(const u8 *t, u32 len, struct ivrs_info *out, char *err, size_t errsz);

#endif
