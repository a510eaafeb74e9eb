/* The physical ranges Postern's own console keeps from the guest (console.h, console_hidden_ranges). */
#include "console/console.h"

static u64 page_down(u64 a) { return a & ~(u64)(PAGE_SIZE - 1); }

int console_hidden_ranges(const struct boot_info *bi, struct phys_range *out, int max)
{
    int n = 0;

    if (bi->serial_space != UART_IO && n < max) {
        u64 first = page_down(bi->serial_mmio);
        u64 last = bi->serial_mmio + (bi->serial_space == UART_MMIO32 ? 32 : 8) - 1; /* 8 registers */
        out[n].base = first;
        out[n].size = page_down(last) + PAGE_SIZE - first;
        n++;
    }
    /* The framebuffer the log is drawn on (no UART answered): the guest could overwrite the log. */
    if (bi->fb_log && bi->fb.base && bi->fb.size && n < max) {
        u64 first = page_down(bi->fb.base);
        out[n].base = first;
        out[n].size = page_down(bi->fb.base + bi->fb.size - 1) + PAGE_SIZE - first;
        n++;
    }
    return n;
}
