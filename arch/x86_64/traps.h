/* The hypervisor's own IDT: exceptions in the hypervisor panic with a report; external
 * interrupts and NMIs are only ever taken while waiting for a halted guest, and are recorded
 * (not acknowledged) so they can be handed to the guest. */
#ifndef POSTERN_X86_TRAPS_H
#define POSTERN_X86_TRAPS_H

#include "lib/types.h"

struct trap_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
    u64 vector, error;
    u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#define TRAP_NONE (-1)
/* wait_for_event without HLT: PAUSEs with interrupts open between two looks at the serial line */
#define WAIT_STEP_PAUSES 64
#define TRAP_NMI_VECTOR  2

void traps_init(void);
/* The event the last wait took: a vector >= 32, WAIT_NMI, or TRAP_NONE. */
extern volatile int traps_pending_event;
/* NMIs the hypervisor's own IDT took (the platform report's events line). */
extern volatile u64 traps_nmis_seen;

#endif
