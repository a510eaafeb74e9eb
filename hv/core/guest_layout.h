/*
 * Where the hypervisor puts the guest's boot structures (the Linux x86 64-bit boot protocol,
 * Documentation/arch/x86/boot.rst). They sit together in one "boot area" of usable RAM that
 * hv/platform/linux_boot.c finds in the guest's memory map (the lowest that fits, from 4 KiB up);
 * Linux copies boot_params and builds its own page tables early, so the area stays usable RAM.
 * The offsets below are from the area's start.
 */
#ifndef POSTERN_GUEST_LAYOUT_H
#define POSTERN_GUEST_LAYOUT_H

#define GUEST_STACK_OFF       0x0000ull /* one page; the entry rsp is its top */
#define GUEST_GDT_OFF         0x1000ull /* null, null, __BOOT_CS=0x10 (64-bit code), __BOOT_DS=0x18 */
#define GUEST_PML4_OFF        0x2000ull
#define GUEST_PDPT_OFF        0x3000ull
#define GUEST_PD_OFF          0x4000ull /* 4 pages: identity map of the first 4 GiB, 2 MiB pages */
#define GUEST_BOOT_PARAMS_OFF 0x8000ull /* struct boot_params, "zero page" */
#define GUEST_CMDLINE_OFF     0x9000ull /* up to GUEST_CMDLINE_MAX bytes incl. NUL */
#define GUEST_CMDLINE_MAX     2048
#define GUEST_SETUP_DATA_OFF  0xa000ull /* SETUP_E820_EXT: e820 entries beyond the zero page's 128 */
#define GUEST_SETUP_DATA_SIZE 0x5000ull /* 16-byte header + (1024 - 128) * 20 bytes */
#define GUEST_BOOT_AREA_SIZE  0xf000ull
#define GUEST_BOOT_AREA_MIN   0x1000ull /* page 0 stays free (the MP table's floating pointer, see mptable.h) */

/* Without ACPI, the MP table (floating pointer and configuration table, at most ~500 bytes) goes in
 * the first KiB of memory, the first place Linux scans for it (arch/x86/kernel/mpparse.c), from
 * byte 16 on: physical address 0 is the null pointer to gmem_ptr (guest_mem.h). */
#define GUEST_MPTABLE_GPA  0x10ull
#define GUEST_MPTABLE_SIZE 0x3f0u

#define GUEST_KERNEL_GPA 0x1000000ull /* 16 MiB: the lowest a relocatable kernel is put, unless pref_address */

#endif
