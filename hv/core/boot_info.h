/*
 * The hand-over from the UEFI loader (boot/) to the hypervisor (hv_main).
 *
 * Everything here is host-physical and was allocated by the loader before ExitBootServices;
 * after that the hypervisor owns the machine and this structure is its only description of it.
 */
#ifndef POSTERN_BOOT_INFO_H
#define POSTERN_BOOT_INFO_H

#include "lib/types.h"
#include "drivers/pci/pci.h"
#include "drivers/uart/uart16550.h"
#include "drivers/fb/fbcon.h"

#define BOOT_INFO_MAGIC   0x4f464e494e524550ull /* "PERNINFO" */
#define BOOT_INFO_VERSION 9

#define BOOT_CMDLINE_MAX        2048
#define BOOT_NAME_MAX           128
#define BOOT_MAX_GMETA          64 /* metadata files the loader keeps (each a boot_file; the modules themselves are allocated) */
#define BOOT_MAX_MEM_REGIONS    512
#define BOOT_MAX_BINDINGS       64
#define BOOT_MODULE_NAME_MAX    56 /* as in .gmeta: 55 printable characters + NUL */
#define BOOT_PRIVILEGE_NAME_MAX 32 /* as in .gmeta: 31 of [a-z0-9_-] + NUL */
#define BOOT_MAX_PCI_HIDE       8
#define BOOT_MAX_GUARDED_MORE   15  /* guarded_nic lines after the first (16 guarded devices) */
#define BOOT_ADMIN_KEY_MAX      128 /* admin.pub is 81 bytes (hv/guard/sigcheck.h) */

/* "iommu =": what to do about DMA confinement (docs/iommu.md). */
enum boot_iommu_mode {
    BOOT_IOMMU_AUTO = 0, /* use the IOMMU the ACPI tables describe; without one, refuse to start */
    BOOT_IOMMU_REQUIRED, /* the same (kept for existing configs) */
    BOOT_IOMMU_OFF,      /* do not use one (device DMA is not confined: the administrator's choice) */
};

/* "metadata_signatures =": which metadata the hypervisor accepts (docs/gmeta.md "Signatures"). */
enum boot_sig_policy {
    BOOT_SIG_REQUIRED = 0, /* only metadata signed with the administrator's key (admin_key) */
    BOOT_SIG_HASH_ONLY,    /* the paper's mode: unsigned metadata too (the text hash still binds it);
                              a signed one is still verified when there is a key */
};

/* Where boot_info.serial_port came from (hv_main logs it; docs/console.md "Which UART"). */
enum boot_serial_source {
    BOOT_SERIAL_CONFIG = 0, /* serial = io:PORT, serial_port = PORT, or the default COM1 */
    BOOT_SERIAL_SPCR,       /* serial = auto: ACPI's SPCR table named it */
    BOOT_SERIAL_SPCR_NONE,  /* serial = auto without a usable SPCR: COM1; serial_note says why */
    BOOT_SERIAL_PCI,        /* serial = pci BB:DD.F: that function's I/O BAR 0 */
    BOOT_SERIAL_PCI_NONE,   /* serial = pci BB:DD.F, not usable: COM1; serial_note says why */
};
#define BOOT_SERIAL_NOTE_MAX 120

/* A file the loader read from the ESP, kept in loader-allocated pages. */
struct boot_file {
    hpa_t addr; /* 0 when absent */
    u64 size;
    char path[BOOT_NAME_MAX];
};

/* The administrator's decision: module MODULE (by its metadata's name) may hold PRIVILEGE. */
struct boot_binding {
    char module[BOOT_MODULE_NAME_MAX];
    char privilege[BOOT_PRIVILEGE_NAME_MAX];
};

/* Host memory map, simplified from the UEFI one (boot/memmap.c memmap_boot_type). The guest gets
 * this map at its own addresses (docs/guest-boot.md "Memory model"): each type says what it becomes. */
enum boot_mem_type {
    BOOT_MEM_FREE = 1,     /* conventional, loader and boot-services memory: free after ExitBootServices: guest RAM */
    BOOT_MEM_FIRMWARE = 2, /* runtime-services code/data, PAL code: RAM the firmware keeps (e820 reserved) */
    BOOT_MEM_ACPI = 3,     /* ACPI reclaim: the firmware's tables (e820 ACPI) */
    BOOT_MEM_MMIO = 4,     /* memory-mapped I/O the firmware reported (e820 reserved, mapped uncached) */
    BOOT_MEM_RESERVED = 5, /* reserved (e820 reserved) */
    BOOT_MEM_NVS = 6,      /* ACPI NVS (e820 NVS) */
    BOOT_MEM_UNUSABLE = 7, /* memory with errors (e820 unusable, never mapped) */
    BOOT_MEM_PMEM = 8,     /* persistent memory (e820 7) */
    BOOT_MEM_HV = 9,       /* Postern's own (BOOT_EFI_POSTERN_MEMORY): e820 reserved, never mapped */
};
#define BOOT_MEM_TYPES 10

/* The UEFI memory type the loader allocates the hypervisor's own memory with (the range
 * 0x80000000-0xffffffff is the OS loader's to use, UEFI 2.10 §7.2 AllocatePages), so that the
 * final memory map says which pages are Postern's. */
#define BOOT_EFI_POSTERN_MEMORY 0x8050534eu /* "NSP" */

/* The guest's copy of the ACPI tables (or its MP table): 1 MiB of ACPI NVS below 4 GiB, which the
 * loader allocates so that the firmware's map already describes it. */
#define BOOT_GUEST_ACPI_SIZE 0x100000ull

struct boot_mem_region {
    hpa_t base;
    u64 size;
    u32 type; /* enum boot_mem_type */
    u32 efi_type;
};

/* A guarded device after the first (postern.cfg's second and later guarded_nic lines). */
struct boot_guarded {
    struct pci_match dev;
    char privilege[BOOT_PRIVILEGE_NAME_MAX];
};

struct boot_info {
    u64 magic;
    u32 version;
    u32 flags;

    struct boot_file kernel;
    struct boot_file initrd;
    /* Every *.gmeta in /postern/ and every `gmeta =` path, up to BOOT_MAX_GMETA: the configured
     * ones first, in config order (loaded at boot), then the rest (kept for the admin shell's
     * `load NAME`). */
    struct boot_file gmeta[BOOT_MAX_GMETA];
    bool gmeta_configured[BOOT_MAX_GMETA];
    u32 gmeta_count;
    /* The administrator's public key file (admin_key =), its bytes as read; admin_key_len 0: none.
     * admin_key_path is postern.cfg's admin_key whenever it is set, also when the loader refused the file. */
    u8 admin_key[BOOT_ADMIN_KEY_MAX];
    u32 admin_key_len;
    char admin_key_path[BOOT_NAME_MAX];
    u32 sig_policy;  /* enum boot_sig_policy */
    bool border_npt; /* border = npt: the nested page tables enforce the border (hv/guard/border_views.h) */
    struct boot_binding bindings[BOOT_MAX_BINDINGS];
    u32 binding_count;

    char cmdline[BOOT_CMDLINE_MAX];

    /* PCI policy (docs/pci.md): the guarded NIC and the privilege that guards it, devices hidden
     * from the guest; everything else is passed through. */
    bool guarded_nic_set;
    struct pci_match guarded_nic;
    char guarded_nic_privilege[BOOT_PRIVILEGE_NAME_MAX];
    struct boot_guarded guarded_more[BOOT_MAX_GUARDED_MORE]; /* the second guarded_nic line and on */
    u32 guarded_more_count;
    struct pci_match pci_hide[BOOT_MAX_PCI_HIDE];
    u32 pci_hide_count;
    u32 iommu_mode; /* enum boot_iommu_mode */

    u64 guest_ram_cap;     /* guest_ram =: at most this much usable RAM for the guest; 0: all of it */
    hpa_t guest_acpi_base; /* BOOT_GUEST_ACPI_SIZE bytes of ACPI NVS below 4 GiB for the guest's tables */

    hpa_t hv_pool_base; /* pages for the hypervisor's page allocator (BOOT_EFI_POSTERN_MEMORY) */
    u64 hv_pool_size;
    hpa_t hv_image_base; /* postern.efi as loaded */
    u64 hv_image_size;

    hpa_t acpi_rsdp; /* 0 when the firmware gave none */

    u16 serial_port; /* the 16550's I/O port, whatever the config said (serial = auto resolved) */
    u8 serial_space; /* enum uart_space: UART_IO (serial_port), UART_MMIO8 or UART_MMIO32 (serial_mmio) */
    u64 serial_mmio; /* the memory-mapped UART's physical address; hidden from the guest */
    u32 serial_baud;
    u32 serial_source;                      /* enum boot_serial_source */
    char serial_note[BOOT_SERIAL_NOTE_MAX]; /* how serial = auto or pci decided, "" otherwise */
    bool serial_pci; /* the UART is PCI function serial_pci_bdf (segment 0), hidden from the guest */
    u16 serial_pci_bdf;

    /* The UEFI framebuffer (GOP) and the firmware's font, as the loader found them (boot/gop.c);
     * fb.base 0: none. fb_log is set by hv_main when no UART answered and the log is drawn there
     * instead: the framebuffer is then Postern's and hidden from the guest (console_hidden_ranges). */
    struct fb_info fb;
    bool fb_log;

    struct boot_mem_region mem[BOOT_MAX_MEM_REGIONS];
    u32 mem_count;
};

/* The hypervisor's entry, called by the loader after ExitBootServices. Never returns. */
NORETURN void hv_main(struct boot_info *bi);

#endif
