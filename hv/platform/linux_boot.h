/*
 * Loading a Linux bzImage into guest RAM per the x86 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"). See docs/guest-boot.md.
 */
#ifndef POSTERN_LINUX_BOOT_H
#define POSTERN_LINUX_BOOT_H

#include "lib/types.h"
#include "core/guest_entry.h"
#include "core/guest_mem.h"
#include "core/guest_physmap.h"
#include "platform/e820.h"

/* The boot protocol version the 64-bit entry needs (2.12: xloadflags with XLF_KERNEL_64). */
#define LINUX_BOOT_MIN_VERSION 0x020c

/* Where things went, for the log and for tests. */
struct linux_boot_layout {
    gpa_t boot_area;  /* boot_params, cmdline, GDT, page tables (guest_layout.h) */
    gpa_t kernel_gpa; /* protected-mode kernel load address (code32_start) */
    u64 kernel_size;  /* bytes copied there */
    u64 init_size;    /* bytes the kernel needs from kernel_gpa while it decompresses */
    gpa_t initrd_gpa; /* 0 when there is no initrd */
    u64 initrd_size;
    bool initrd_in_place; /* used where the loader read it: no copy */
};

#define LINUX_BOOT_MAX_BUSY 4

/* What to boot. Memory is identity-mapped, so the loader's buffers are guest RAM: busy lists
 * the ones placement must not overwrite before they are copied: the kernel file and the initrd
 * file, both (the initrd's own entry is ignored where it is used in place). */
struct linux_boot_input {
    const u8 *bzimage;
    u64 bzsize;
    const u8 *initrd; /* NULL when there is none */
    u64 initrd_size;
    gpa_t initrd_gpa;    /* where initrd is in guest RAM (it is used in place when it may be), or 0 */
    const char *cmdline; /* NULL: empty */
    gpa_t acpi_rsdp;     /* 0: none (the kernel then scans for one) */
    const struct phys_range *busy;
    u32 nbusy;
};

/* Is this a bzImage the 64-bit boot protocol can start? The loader asks before ExitBootServices so a
 * wrong kernel file is refused while the firmware can still print why. 0, or -1 with a reason. */
int linux_boot_check(const u8 *bzimage, u64 bzsize, char *err, size_t errsz);

/*
 * Validate the bzImage, then lay out the guest in the usable RAM of map (which goes into
 * boot_params as it is): the boot area (boot_params with the setup header, e820 map, cmdline,
 * initrd and acpi_rsdp_addr; a GDT and identity page tables for the first 4 GiB) as low as it fits,
 * the kernel at pref_address or the lowest aligned place above, the initrd where it is or as high
 * as the kernel allows. Fills entry with the register state for the kernel's 64-bit entry point.
 * layout may be NULL. Returns 0, or -1 with a one-line reason in err; on error guest RAM may be
 * partly written.
 */
int linux_boot_prepare(const struct guest_mem *gm, const struct e820_map *map, const struct linux_boot_input *in,
                       struct guest_entry *entry, struct linux_boot_layout *layout, char *err, size_t errsz);

#endif
