/* VMX I/O and MSR bitmaps: see vmx_bitmaps.h. */
#include "arch/x86_64/vmx/vmx_bitmaps.h"

static void set_bit_to(u8 *byte, u8 bit, bool on)
{
    if (on)
        *byte |= (u8)(1u << bit);
    else
        *byte &= (u8) ~(1u << bit);
}

bool vmx_msr_bitmap_set(u8 *map, u32 msr, bool read, bool write)
{
    u32 base;

    if (msr <= 0x1fff)
        base = 0;
    else if (msr - 0xc0000000u <= 0x1fff)
        base = 1024, msr -= 0xc0000000u;
    else
        return false;
    set_bit_to(&map[base + msr / 8], (u8)(msr % 8), read);
    set_bit_to(&map[base + 2048 + msr / 8], (u8)(msr % 8), write);
    return true;
}

void vmx_io_bitmap_set(u8 *map, u16 port, bool on) { set_bit_to(&map[port / 8], (u8)(port % 8), on); }
