/*
 * /postern/postern.cfg: the loader's plain-text configuration (docs/boot.md has the reference).
 *
 * Pure logic with no UEFI dependency: the loader hands it the file's bytes, the host unit tests
 * (tests/unit/test_config.c) hand it strings. Uses nothing beyond memset from hv/lib/lib.h.
 */
#ifndef POSTERN_BOOT_CONFIG_H
#define POSTERN_BOOT_CONFIG_H

#include "core/boot_info.h"
#include "lib/types.h"

#define CONFIG_PATH                "/postern/postern.cfg"
#define CONFIG_FILE_MAX            (64u * 1024) /* the loader refuses a bigger postern.cfg */
#define CONFIG_LINE_MAX            4096         /* characters on one line, without the line ending */
#define CONFIG_SIZE_MAX            GiB(1024)    /* sanity bound for every size */
#define CONFIG_GUEST_RAM_MIN       MiB(64)
#define CONFIG_HV_MEMORY_MIN       MiB(16)
#define CONFIG_HV_MEMORY_DEFAULT   MiB(64)
#define CONFIG_SERIAL_PORT_DEFAULT 0x3f8
#define CONFIG_SERIAL_PORT_MAX     0xfff8 /* a 16550 decodes 8 ports */
#define CONFIG_SERIAL_BAUD_DEFAULT 115200
#define CONFIG_SERIAL_MMIO_MAX                                                                                         \
    ((1ull << 52) - 32) /* a physical address (52 bits), 8 registers 4 bytes apart below it */
#define CONFIG_ERR_MAX               160
#define CONFIG_NIC_PRIVILEGE_DEFAULT "nic" /* a comfortable size for the err buffer */

struct postern_config {
    char kernel[BOOT_NAME_MAX];     /* ESP path, '/'-separated, always set after a successful parse */
    char initrd[BOOT_NAME_MAX];     /* "" when absent */
    char cmdline[BOOT_CMDLINE_MAX]; /* "" when absent */
    u64 guest_ram;                  /* cap on the guest's usable RAM, multiple of 2 MiB, >= 64 MiB; 0: all */
    u64 hv_memory;                  /* bytes, multiple of 4 KiB, >= 16 MiB */
    u16 serial_port;                /* "serial = io:PORT" or the older "serial_port = PORT" */
    u32 serial_baud;
    bool serial_auto; /* "serial = auto": the loader takes the port from ACPI's SPCR */
    bool serial_pci;  /* "serial = pci BB:DD.F": the loader takes BAR 0 (I/O or memory) of that function */
    u16 serial_pci_bdf;
    u8 serial_space;      /* enum uart_space: UART_IO (serial_port), or "serial = mmio8:ADDR | mmio32:ADDR" */
    u64 serial_mmio;      /* the MMIO UART's physical address (serial_space != UART_IO) */
    bool serial_set;      /* "serial =" seen (it and serial_port exclude each other) */
    bool serial_port_set; /* "serial_port =" seen */
    bool serial_baud_set; /* "serial_baud =" seen: it wins over SPCR's speed */
    char gmeta[BOOT_MAX_GMETA][BOOT_NAME_MAX];
    u32 gmeta_count;
    struct boot_binding bindings[BOOT_MAX_BINDINGS]; /* "bind = MODULE PRIVILEGE", repeatable */
    u32 binding_count;
    bool guarded_nic_set; /* "guarded_nic = DEVICE [PRIVILEGE]" */
    struct pci_match guarded_nic;
    char guarded_nic_privilege[BOOT_PRIVILEGE_NAME_MAX];     /* default "nic" */
    struct boot_guarded guarded_more[BOOT_MAX_GUARDED_MORE]; /* further guarded_nic lines (repeatable) */
    u32 guarded_more_count;
    struct pci_match pci_hide[BOOT_MAX_PCI_HIDE]; /* "pci_hide = DEVICE", repeatable */
    u32 pci_hide_count;
    u32 iommu_mode;                /* "iommu = auto|required|off", enum boot_iommu_mode */
    char admin_key[BOOT_NAME_MAX]; /* "admin_key = PATH" ("" when absent) */
    u32 sig_policy;                /* "metadata_signatures = required|hash-only", enum boot_sig_policy */
    bool border_npt;               /* "border = npt|wrappers" (default npt) */
};

/*
 * Parse len bytes of text (need not be NUL-terminated) into *out. Returns 0, or -1 with a one-line
 * message in err such as "postern.cfg:3: unknown key 'foo'" (always NUL-terminated when errsize > 0).
 * *out is fully written either way (defaults, then whatever was parsed before the error).
 */
int config_parse(const char *text, size_t len, struct postern_config *out, char *err, size_t errsize);

/* The keys config_parse accepts, one per i from 0, then NULL (docs/boot.md's table lists the same). */
const char *config_key_name(size_t i);

#endif
