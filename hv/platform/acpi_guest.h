/*
 * The guest's ACPI tables: a filtered copy of the firmware's, in an area of ACPI_GUEST_AREA_SIZE
 * bytes of guest memory the loader set aside as ACPI NVS below 4 GiB (boot_info.guest_acpi_base). Why a copy and what is filtered: see the top of acpi_guest.c and docs/guest-boot.md.
 */
#ifndef POSTERN_ACPI_GUEST_H
#define POSTERN_ACPI_GUEST_H

#include "lib/types.h"
#include "core/boot_info.h"
#include "core/guest_mem.h"

#define ACPI_GUEST_AREA_SIZE BOOT_GUEST_ACPI_SIZE

/* Generic Address Structure address spaces (ACPI 6.5, 5.2.3.2). */
#define ACPI_GAS_SYSTEM_MEMORY 0
#define ACPI_GAS_SYSTEM_IO     1

/* What the hypervisor needs to know about the platform the guest was given. */
#define ACPI_MAX_ECAM 16 /* MCFG entries: one per segment (or per bus range of one); more are logged */

/* A PCI Express configuration window (ECAM) the MCFG table names: base is bus bus_start's
 * configuration space (the entry's base + bus_start << 20), size covers buses up to bus_end. */
struct acpi_ecam_window {
    u64 base, size;
    u16 segment;
    u8 bus_start, bus_end;
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
    u64 bytes_used;                              /* of ACPI_GUEST_AREA_SIZE */
    struct acpi_ecam_window ecam[ACPI_MAX_ECAM]; /* from MCFG; firmware often marks them reserved */
    u32 ecam_count;
    bool ecam_truncated; /* MCFG had more than ACPI_MAX_ECAM windows: the rest are not used */
    bool mcfg_kept;      /* the guest's copy has the MCFG: its windows are trapped (docs/pci.md, ECAM);
                          * false with windows when one lies inside guest RAM */
};

/*
 * Copy the firmware tables reachable from host_rsdp into the guest's ACPI area at area_base,
 * dropping IVRS and DMAR (and MCFG when a window would overlap guest RAM) and reducing the MADT to
 * the processor whose APIC ID is bsp_apic_id. Host tables are read
 * through phys_to_virt() and checked (signature, length, checksum) before use.
 * Returns 0 and fills out, or -1 with a one-line reason in err (the area is then left zeroed or
 * partly written; the guest must not be started with it).
 */
int acpi_guest_build(const struct guest_mem *gm, gpa_t area_base, hpa_t host_rsdp, u32 bsp_apic_id,
                     struct acpi_guest_info *out, char *err, size_t errsz);

#endif
