/*
 * Where the hypervisor puts the guest's boot structures in guest-physical memory (the Linux x86
 * 64-bit boot protocol, Documentation/x86/boot.rst). Linux copies boot_params and builds its own
 * page tables early, so the low pages may be "usable" in the e820 map.
 */
#ifndef POSTERN_GUEST_LAYOUT_H
#define POSTERN_GUEST_LAYOUT_H

#define GUEST_GDT_GPA         0x1000ull /* null, null, __BOOT_CS=0x10 (64-bit code), __BOOT_DS=0x18 */
#define GUEST_PML4_GPA        0x2000ull
#define GUEST_PDPT_GPA        0x3000ull
#define GUEST_PD_GPA          0x4000ull /* 4 pages: identity map of the first 4 GiB, 2 MiB pages */
#define GUEST_BOOT_PARAMS_GPA 0x8000ull /* struct boot_params, "zero page" */
#define GUEST_CMDLINE_GPA     0x9000ull /* up to GUEST_CMDLINE_MAX bytes incl. NUL */
#define GUEST_CMDLINE_MAX     2048
#define GUEST_LOW_RAM_END     0x9f000ull /* e820: [0, this) usable, [this, 1 MiB) reserved */
#define GUEST_MPTABLE_GPA     0xf0000ull /* without firmware ACPI: the MP table (Linux scans 0xF0000-0xFFFFF) */
#define GUEST_MPTABLE_SIZE    0x1000u
#define GUEST_HIGH_RAM_START  0x100000ull
#define GUEST_KERNEL_GPA      0x1000000ull /* 16 MiB, unless the kernel's pref_address says otherwise */
#define GUEST_ACPI_SIZE       0x100000ull  /* the last MiB of guest RAM: copy of ACPI tables (e820 NVS) */

#endif
