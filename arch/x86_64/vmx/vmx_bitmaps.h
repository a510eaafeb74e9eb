/* The VMX I/O and MSR bitmaps (Intel SDM Vol. 3C §25.6.4, §25.6.9): which port and MSR accesses
 * exit. Pure: unit-tested against the SDM's layout. */
#ifndef POSTERN_VMX_BITMAPS_H
#define POSTERN_VMX_BITMAPS_H

#include "lib/types.h"

#define VMX_MSR_BITMAP_SIZE 4096
#define VMX_IO_BITMAP_SIZE  8192 /* A (ports 0-7FFFh) then B (8000h-FFFFh) */

/* Reads of 0-1FFFh at offset 0, of C0000000h-C0001FFFh at 1 KiB; writes 2 KiB above each. MSRs
 * outside both ranges always exit; false for them (nothing to set). */
bool vmx_msr_bitmap_set(u8 *map, u32 msr, bool read, bool write);
/* A and B as one 64 Ki-bit map. */
void vmx_io_bitmap_set(u8 *map, u16 port, bool on);

#endif
