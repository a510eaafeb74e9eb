/* The physical ranges Postern's own UART keeps from the guest (console.h, console_hidden_ranges). */
#include "console/console.h"

int console_hidden_ranges(const struct boot_info *bi, struct phys_range *out, int max)
{
    u64 first, last;

    if (bi->serial_space == UART_IO || max < 1)
        return 0;
    first = bi->serial_mmio & ~(u64)(PAGE_SIZE - 1);
    last = bi->serial_mmio + (bi->serial_space == UART_MMIO32 ? 32 : 8) - 1; /* 8 registers */
    out[0].base = first;
    out[0].size = ((last & ~(u64)(PAGE_SIZE - 1)) + PAGE_SIZE) - first;
    return 1;
}
