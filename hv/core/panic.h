/* The hypervisor's last words: reason, guest registers, backend state, the last exits; then halt. */
#ifndef POSTERN_PANIC_H
#define POSTERN_PANIC_H

#include "lib/types.h"

struct trap_frame;
struct vcpu;

NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* An exception in the hypervisor itself. */
NORETURN void panic_trap(const char *what, const struct trap_frame *f);
/* The vCPU whose registers a panic report shows (set by hv_main). */
void panic_set_vcpu(struct vcpu *v);
/* Print the guest's registers (also used when the guest stops). */
void dump_guest_regs(struct vcpu *v);

#endif
