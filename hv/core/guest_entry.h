/* The register state a guest starts in (Linux's 64-bit boot protocol fills it). */
#ifndef POSTERN_GUEST_ENTRY_H
#define POSTERN_GUEST_ENTRY_H

#include "lib/types.h"

struct guest_entry {
    u64 rip, rsi, rsp, rflags;
    u64 cr0, cr3, cr4, efer;
    u64 gdt_base;
    u16 gdt_limit;
    u16 cs_sel, ds_sel;
};

#endif
