/*
 * The guest's ACPI tables: a filtered copy of the firmware's, in the last GUEST_ACPI_SIZE bytes of
 * guest RAM. Why a copy and what is filtered: see the top of acpi_guest.c and docs/guest-boot.md.
 */
#ifndef POSTERN_ACPI_GUEST_H
#define POSTERN_ACPI_GUEST_H

#include "lib/types.h"
#include "core/guest_mem.h"

/* Generic Address Structure address spaces (ACPI 6.5, 5.2.3.2). */
#define ACPI_GAS_SYSTEM_MEMORY 0
#define ACPI_GAS_SYSTEM_IO     1

/* What the hypervisor needs to know about the platform the guest was given. */
#define ACPI_MAX_ECAM 4

/* A PCI Express configuration window (ECAM) the MCFG table names: device memory the guest needs. */
struct acpi_ecam_window {
    u64 base, size;
};

struct acpi_guest_info {
    gpa_t rsdp_gpa;     /* for boot_params.acpi_rsdp_addr */
    u16 pm1a_cnt_port;  /* FADT PM1a/PM1b control block, 0 when absent or not in I/O space: */
    u16 pm1b_cnt_port;  /* the guest's S5 (power-off) write lands here */
    bool has_reset_reg; /* FADT RESET_REG, valid only when the FADT says RESET_REG_SUP */
    u8 reset_space;     /* ACPI_GAS_* */
    u64 reset_addr;
    u8 reset_value;
    u32 smi_cmd_port; /* FADT SMI_CMD (0: none) and the commands written there (docs/msr.md) */
    u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt, cst_cnt;
    u32 cpus_in_madt;                            /* enabled processor entries (LAPIC + x2APIC) in the firmware's MADT */
    u32 cpus_kept;                               /* processors the guest's MADT lists: 1 */
    u32 tables;                                  /* tables listed in the guest's XSDT/RSDT */
    u64 bytes_used;                              /* of GUEST_ACPI_SIZE */
    struct acpi_ecam_window ecam[ACPI_MAX_ECAM]; /* from MCFG; firmware often marks them reserved */
    u32 ecam_count;
};

/*
 * Copy the firmware tables reachable from host_rsdp into the guest's ACPI area, dropping IVRS and
 * DMAR and reducing the MADT to the processor whose APIC ID is bsp_apic_id. Host tables are read
 * through phys_to_virt() and checked (signature, length, checksum) before use.
 * Returns 0 and fills out, or -1 with a one-line reason in err (the area is then left zeroed or
 * partly written; the guest must not be started with it).
 */
int acpi_guest_build(const struct guest_mem *gm, hpa_t host_rsdp, u32 bsp_apic_id, struct acpi_guest_info *out,
                     char *err, size_t errsz);

#endif
