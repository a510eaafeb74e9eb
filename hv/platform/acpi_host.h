/*
 * The host's (firmware's) ACPI tables, read where the firmware left them: RSDP → XSDT (or RSDT)
 * → tables. One walker for everything that needs a host table (the guest's filtered copy in
 * acpi_guest.c, the IOMMU's IVRS/DMAR in drivers/iommu/).
 *
 * The firmware's tables are input we check, not trust: a table is handed out only after its
 * signature is printable (or the expected one), its length is plausible and its checksum is valid,
 * and nothing here reads past a length it has checked. Host tables are reached through
 * phys_to_virt(). Layout of the structures: ACPI 6.5 chapter 5.
 */
#ifndef POSTERN_ACPI_HOST_H
#define POSTERN_ACPI_HOST_H

#include "lib/types.h"

#define ACPI_HDR_LEN       36
#define ACPI_MAX_TABLE_LEN MiB(1) /* more than any sane table */
#define RSDP_V1_LEN        20     /* the part the ACPI 1.0 checksum covers */
#define RSDP_V2_LEN        36

/* The header every ACPI table starts with (5.2.6). */
struct acpi_hdr {
    char sig[4];
    u32 length;
    u8 revision;
    u8 checksum;
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    u32 creator_id;
    u32 creator_revision;
} PACKED;

/* Root System Description Pointer (5.2.5.3). */
struct acpi_rsdp {
    char sig[8];
    u8 checksum; /* over the first 20 bytes */
    char oem_id[6];
    u8 revision; /* 0: ACPI 1.0, RSDT only; >= 2: length/XSDT/extended checksum valid */
    u32 rsdt;
    u32 length;
    u64 xsdt;
    u8 ext_checksum; /* over length bytes */
    u8 reserved[3];
} PACKED;

_Static_assert(sizeof(struct acpi_hdr) == ACPI_HDR_LEN, "ACPI header layout");
_Static_assert(sizeof(struct acpi_rsdp) == RSDP_V2_LEN, "RSDP layout");

/* The root table the RSDP leads to, validated. */
struct acpi_host_root {
    const struct acpi_rsdp *rsdp;
    const u8 *table; /* the XSDT, or the RSDT when the firmware has no XSDT */
    u32 len;
    bool xsdt;
    u32 count; /* entries (8 bytes each in an XSDT, 4 in an RSDT) */
};

/* Check the RSDP at rsdp_pa and the root table it names. Returns 0, or -1 with a reason. */
int acpi_host_root(hpa_t rsdp_pa, struct acpi_host_root *root, char *err, size_t errsz);
/* The physical address in root entry i (< root->count); 0 for an empty slot. */
hpa_t acpi_host_entry(const struct acpi_host_root *root, u32 i);
/* Follow a firmware pointer to a table: plausible address and length, the expected signature (any
 * printable one when expect is NULL), valid checksum. `from` names the pointer's owner for the
 * message. Returns the table and its length, or NULL with a reason. */
const u8 *acpi_host_table(hpa_t pa, const char *expect, const char *from, u32 *len, char *err, size_t errsz);
/* The first table with signature sig among the root table's entries. Returns 1 and the table,
 * 0 when there is none, -1 with a reason when the RSDP, the root or any entry is malformed. */
int acpi_host_find(hpa_t rsdp_pa, const char sig[4], const u8 **table, u32 *len, char *err, size_t errsz);

/* The FADT's ACPI PM timer: its I/O port (0 when there is none, it is memory-mapped or the
 * tables are unusable) and whether it counts 32 bits (TMR_VAL_EXT) rather than 24. */
u16 acpi_host_pm_timer(hpa_t rsdp_pa, bool *is_32bit);

/* For a parser handed a table and its length: signature sig, a header length equal to len and at
 * least min_len, valid checksum. Returns 0, or -1 with "SIG: ..." in err. */
int acpi_table_check(const u8 *t, u32 len, const char sig[4], u32 min_len, char *err, size_t errsz);
/* The byte sum of [p, p+len): 0 for a valid ACPI checksum. */
u8 acpi_sum8(const u8 *p, u64 len);
/* A table signature safe to print, whatever the firmware put there ('?' for unprintable bytes). */
void acpi_sig_str(const void *sig, char out[5]);

#endif
