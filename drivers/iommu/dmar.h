/*
 * The DMAR table (DMA Remapping Reporting), Intel Virtualization Technology for Directed I/O
 * Architecture Specification, chapter 8: the remapping hardware units (DRHD), the memory some
 * devices are set up to reach (RMRR), and the device scopes that tie devices to units. A pure
 * parser, unit-tested on the host.
 *
 * Layout (offsets in bytes):
 *   header (36) | host address width - 1, u8 @36 | flags u8 @37 | reserved 10 | structures from @48,
 *   each {type u16 @0, length u16 @2}
 *   DRHD (0): flags u8 @4 (bit 0 INCLUDE_PCI_ALL), size u8 @5 (bits 3:0: register set is 2^N
 *             4 KiB pages), segment u16 @6, register base u64 @8, device scopes from @16
 *   RMRR (1): reserved u16 @4, segment u16 @6, base u64 @8, limit u64 @16, device scopes from @24
 *   device scope: type u8 @0, length u8 @1, reserved u16, enumeration ID u8 @4, start bus u8 @5,
 *             path of {device u8, function u8} pairs from @6
 * Other structure types (ATSR, RHSA, ANDD, SATC, SIDP) are length-checked and skipped.
 * There may be any number of units (Xeon Scalable has one per IIO stack), segments and RMRRs: the
 * arrays come from the caller's allocator, sized by a first pass over the table.
 */
#ifndef POSTERN_DMAR_H
#define POSTERN_DMAR_H

#include "lib/types.h"
#include "iommu.h"

#define DMAR_STRUCT_OFFSET        48
#define DMAR_TYPE_DRHD            0
#define DMAR_TYPE_RMRR            1
#define DMAR_DRHD_LEN             16
#define DMAR_RMRR_LEN             24
#define DMAR_SCOPE_MIN_LEN        6
#define DMAR_DRHD_INCLUDE_PCI_ALL BIT(0)
#define DMAR_FLAG_INTR_REMAP      BIT(0)

/* Device scope types (8.3.1). */
enum dmar_scope_type {
    DMAR_SCOPE_PCI_ENDPOINT = 1,
    DMAR_SCOPE_PCI_SUBHIERARCHY = 2,
    DMAR_SCOPE_IOAPIC = 3,
    DMAR_SCOPE_HPET = 4,
    DMAR_SCOPE_ACPI_NAMESPACE = 5,
};

#define DMAR_MAX_SCOPES 16 /* kept per DRHD (all are counted) */
#define DMAR_MAX_PATH   8  /* {device, function} pairs kept per scope (a deeper RMRR scope is refused) */

struct dmar_scope {
    u8 type;    /* enum dmar_scope_type */
    u8 enum_id; /* I/O APIC or HPET ID, ACPI device number */
    u8 start_bus;
    u8 path_len; /* {device, function} pairs in the path */
    u16 bdf;     /* start_bus and the first pair: the device itself when path_len == 1 */
    u8 path[DMAR_MAX_PATH][2];
};

struct dmar_drhd {
    hpa_t base; /* register block */
    u64 mmio_size;
    u16 segment;
    bool include_all; /* every device in the segment not claimed by another unit */
    u32 scopes;       /* scope entries in the table (only the first DMAR_MAX_SCOPES are kept) */
    struct dmar_scope scope[DMAR_MAX_SCOPES];
};

struct dmar_rmrr {
    u64 base, limit; /* inclusive limit */
    u16 segment;
    u32 scopes;
    struct dmar_scope *scope; /* all of them */
};

struct dmar_info {
    u8 haw;   /* host address width in bits */
    u8 flags; /* DMAR_FLAG_* */
    u32 units;
    struct dmar_drhd *drhd;
    u32 rmrrs;
    struct dmar_rmrr *rmrr;
    u32 segments; /* distinct PCI segments among the units */
};

/* Parse a DMAR table of len bytes; the arrays come from mem (zeroed; NULL when out of memory).
 * Returns 0, or -1 with a one-line reason: truncated structures or scopes, a scope path deeper
 * than DMAR_MAX_PATH in an RMRR, bad checksum, no DRHD, an invalid register base, an RMRR whose
 * limit lies below its base, out of memory. */
int dmar_parse(const u8 *t, u32 len, struct dmar_info *out, iommu_mem_fn mem, char *err, size_t errsz);

#endif
