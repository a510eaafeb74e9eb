/*
 * Loading a Linux bzImage into guest RAM per the x86 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"). See docs/guest-boot.md.
 */
#ifndef POSTERN_LINUX_BOOT_H
#define POSTERN_LINUX_BOOT_H

#include "lib/types.h"
#include "core/guest_mem.h"
#include "core/guest_entry.h"

/* The boot protocol version the 64-bit entry needs (2.12: xloadflags with XLF_KERNEL_64). */
#define LINUX_BOOT_MIN_VERSION 0x020c

/* Where things went, for the log and for tests. */
struct linux_boot_layout {
    gpa_t kernel_gpa; /* protected-mode kernel load address (code32_start) */
    u64 kernel_size;  /* bytes copied there */
    u64 init_size;    /* bytes the kernel needs from kernel_gpa while it decompresses */
    gpa_t initrd_gpa; /* 0 when there is no initrd */
    u64 initrd_size;
};

/* Is this a bzImage the 64-bit boot protocol can start? The loader asks before ExitBootServices so a
 * wrong kernel file is refused while the firmware can still print why. 0, or -1 with a reason. */
int linux_boot_check(const u8 *bzimage, u64 bzsize, char *err, size_t errsz);

/*
 * Validate bzimage, then lay out the guest: boot_params at GUEST_BOOT_PARAMS_GPA (setup header,
 * e820 map, cmdline, initrd, acpi_rsdp_addr), the kernel at its load address, the initrd at the top
 * of usable RAM, a GDT and identity page tables for the first 4 GiB. Fills entry with the register
 * state for the kernel's 64-bit entry point. acpi_rsdp_gpa may be 0 (the kernel then scans for one).
 * cmdline may be NULL (empty). layout may be NULL.
 * Returns 0, or -1 with a one-line reason in err; on error guest RAM may be partly written.
 */
int linux_boot_prepare(const struct guest_mem *gm, const u8 *bzimage, u64 bzsize, const u8 *initrd, u64 initrd_size,
                       const char *cmdline, gpa_t acpi_rsdp_gpa, struct guest_entry *entry,
                       struct linux_boot_layout *layout, char *err, size_t errsz);

#endif
