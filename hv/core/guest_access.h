/* Reading guest memory by guest-virtual address, in the vCPU's current paging mode (hv/core/gva.c
 * does the walk; every table and byte is checked to lie in guest RAM). */
#ifndef POSTERN_GUEST_ACCESS_H
#define POSTERN_GUEST_ACCESS_H

#include "core/gva.h"
#include "core/vcpu.h"

void guest_paging_mode(struct vcpu *v, struct gva_mode *m);
/* Copy len bytes at gva with the given GVA_* access flags; false when any byte is unreachable. */
bool guest_read_virt(struct vcpu *v, u64 gva, void *dst, u64 len, u32 access);

#endif
