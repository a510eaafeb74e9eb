/* The hypervisor's own IDT: exceptions in the hypervisor panic with a report; external
 * interrupts are only ever taken while waiting for a halted guest, and are recorded (not
 * acknowledged) so they can be handed to the guest. NMIs arrive whenever the hypervisor runs
 * (SVM: GIF is set outside VMRUN; VT-x: root mode never blocks them) and are counted for the
 * guest unless the hypervisor's own NMI check claims them (docs/events.md). */
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
/* The event the last wait took: a vector >= 32, or TRAP_NONE (NMIs are counted below). */
extern volatile int traps_pending_event;
/* NMIs the hypervisor's own IDT took (the platform report's events line). */

/* NMIs the hypervisor took that belong to the guest: a host-mode NMI (traps.c) or one a VT-x NMI
 * exit consumed (traps_nmi_from_exit). The backends inject them one at a time when the guest can
 * take an NMI (hv/core/event_queue.c), so none is lost and none is delivered twice. */
u64 traps_nmi_pending(void);
/* One pending NMI is being injected: the count goes down by one (false if none was pending). */
bool traps_nmi_take(void);
/* An NMI the hardware handed over outside the IDT (a VT-x NMI exit): the guest's unless the
 * hypervisor's own check claims it. */
void traps_nmi_from_exit(void);
/* The hypervisor's own NMI source (a watchdog's performance counter, say; none today): the check
 * returns true when the NMI was its own, which is then never given to the guest. */
typedef bool (*traps_own_nmi_fn)(void);
void traps_set_own_nmi_check(traps_own_nmi_fn fn);
/* NMIs counted since boot: taken for the guest, and claimed by the hypervisor's own check. */
void traps_nmi_stats(u64 *for_guest, u64 *own);
/* The hypervisor's own memory (image, page pool): a machine check there stops it; one elsewhere
 * that lets the interrupted code restart is reported and handed to the guest (docs/events.md). */
void traps_set_hv_memory(u64 image_base, u64 image_size, u64 pool_base, u64 pool_size);
/* A machine check the hypervisor took for the guest is waiting: taken off (true) once injected. */
bool traps_mce_take(void);

/* Wait on this CPU for a halted guest: an interrupt (its vector, left unacknowledged) or a pending
 * NMI (WAIT_NMI). Both backends' wait_for_event. */
int traps_wait_for_event(bool (*line_ready)(void));

#endif
