/* x86 exception facts both virtualization backends need (Intel SDM Vol. 3A Table 6-1, AMD APM
 * Vol. 2 Table 8-1). */
#ifndef POSTERN_X86_EXCEPTIONS_H
#define POSTERN_X86_EXCEPTIONS_H

#include "lib/types.h"

/* Does the CPU push an error code for this exception vector? */
static inline bool exception_has_error_code(u8 vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 ||
           vector == 30;
}

/* Exceptions border control watches while a vCPU holds a module's privilege: faults with a
 * well-defined RIP that can be re-delivered unchanged. #DB, #BP and #OF (traps), NMI (its own
 * intercept) and #MC (always intercepted, below) are left out. */
#define WATCHED_EXCEPTIONS                                                                                             \
    (BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(16) | BIT(17) | BIT(19))

/* Exceptions both backends intercept always: #MC (vector 18), reported before the guest gets it
 * (hv/exits.c, exit_machine_check). */
#define ALWAYS_INTERCEPTED_EXCEPTIONS BIT(18)

#endif
